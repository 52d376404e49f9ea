import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { UsageError } from '../engine';
import { ENV_S3_ENDPOINT } from '../env-names';

/** Longest wait for a connection to S3 to open. */
export const S3_CONNECT_TIMEOUT_MS = 10_000;
/**
 * Longest a request may go without a byte moving, body streams included: a stalled S3 read fails
 * (and is retried as an S3 fault) instead of holding a check until its time limit or forever.
 */
export const S3_IDLE_TIMEOUT_MS = 120_000;

/** The environment variables `createS3Client` looks at (usually `process.env`). */
export type S3ClientEnv = Readonly<Record<string, string | undefined>>;

/**
 * Creates the S3 client the adapters use.
 *
 * When `AWS_ENDPOINT_URL_S3` is set (a local S3-protocol server), it becomes the endpoint and
 * requests use path-style addressing (`http://host:port/bucket/key`), which local servers need.
 * Otherwise the SDK defaults apply, including its default checksum behaviour. `AWS_REGION`, when
 * present in `env`, sets the region. Connections time out after {@link S3_CONNECT_TIMEOUT_MS} and
 * idle requests after {@link S3_IDLE_TIMEOUT_MS}. `overrides` win over all of these (e.g.
 * `maxAttempts`, or `requestHandler` with other timeouts).
 *
 * @throws UsageError naming the variable when `AWS_ENDPOINT_URL_S3` is not an http(s) URL.
 */
export function createS3Client(env: S3ClientEnv, overrides: S3ClientConfig = {}): S3Client {
  const endpoint = env[ENV_S3_ENDPOINT]?.trim();
  const region = env.AWS_REGION?.trim();
  const config: S3ClientConfig = {
    requestHandler: { connectionTimeout: S3_CONNECT_TIMEOUT_MS, socketTimeout: S3_IDLE_TIMEOUT_MS },
  };
  if (region) config.region = region;
  if (endpoint) {
    assertHttpUrl(endpoint);
    config.endpoint = endpoint;
    config.forcePathStyle = true;
  }
  return new S3Client({ ...config, ...overrides });
}

function assertHttpUrl(value: string): void {
  let protocol: string | undefined;
  try {
    protocol = new URL(value).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new UsageError(
      `Environment variable ${ENV_S3_ENDPOINT} must be an http(s) URL such as http://127.0.0.1:4566, got '${value}'`,
    );
  }
}
