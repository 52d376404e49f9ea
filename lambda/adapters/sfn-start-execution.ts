/**
 * Step Functions `StartExecution` (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html)
 * over HTTPS, signed with Signature Version 4
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html).
 * The function makes this one call, so a small signed request takes the place of a client
 * package; credentials and region are the S3 client's (the function's role).
 */
import { createHash, createHmac } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { ENV_SFN_ENDPOINT } from '../env-names';
import { ResidencyError } from '../engine';

/** AWS credentials as the SDK resolves them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** A request ready to send. */
export interface SignedRequest {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const sha256Hex = (data: string): string => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/** `20260101T000000Z` for a date. */
function amzDate(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/**
 * Signs a POST of an AWS JSON 1.0 protocol call to `endpoint` (path `/`, no query string).
 *
 * @param target the `X-Amz-Target` header, e.g. `AWSStepFunctions.StartExecution`
 */
export function signJsonRequest(
  endpoint: string,
  target: string,
  body: string,
  credentials: AwsCredentials,
  region: string,
  service: string,
  now: Date,
): SignedRequest {
  const url = new URL(endpoint);
  const date = amzDate(now);
  const day = date.slice(0, 8);
  const headers: Record<string, string> = {
    'content-type': 'application/x-amz-json-1.0',
    host: url.host,
    'x-amz-date': date,
    'x-amz-target': target,
    ...(credentials.sessionToken ? { 'x-amz-security-token': credentials.sessionToken } : {}),
  };
  const names = Object.keys(headers).sort();
  const signedHeaders = names.join(';');
  const canonicalRequest = ['POST', '/', '', ...names.map((n) => `${n}:${headers[n]!.trim()}`), '', signedHeaders, sha256Hex(body)].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', date, scope, sha256Hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), service), 'aws4_request');
  const signature = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return { url: `${url.origin}/`, headers, body };
}

/** Step Functions answered with an error. */
export class StepFunctionsError extends ResidencyError {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'StepFunctionsError';
  }
}

/** What {@link startExecution} did. */
export type StartOutcome = { started: true; executionArn: string } | { started: false; reason: 'already-exists' };

/**
 * Starts an execution named `name`. The name makes it idempotent: the same name and input while
 * the execution runs answers with it again, and once it has ended, `ExecutionAlreadyExists`
 * (reported as `already-exists`), so a redelivered notification never checks a log twice.
 *
 * @throws StepFunctionsError for any other error answer (throttling, access denied, ...).
 */
export async function startExecution(
  client: S3Client,
  env: Readonly<Record<string, string | undefined>>,
  stateMachineArn: string,
  name: string,
  input: unknown,
  now: () => Date = () => new Date(),
): Promise<StartOutcome> {
  const credentials = await client.config.credentials();
  const region = stateMachineArn.split(':')[3] || (await client.config.region());
  const endpoint = env[ENV_SFN_ENDPOINT]?.trim() || `https://states.${region}.amazonaws.com`;
  const body = JSON.stringify({ stateMachineArn, name, input: JSON.stringify(input) });
  const request = signJsonRequest(endpoint, 'AWSStepFunctions.StartExecution', body, credentials, region, 'states', now());
  const response = await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body });
  const text = await response.text();
  let parsed: { executionArn?: string; __type?: string; message?: string; Message?: string } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // Not JSON (a proxy's error page): reported below with the status.
  }
  if (response.ok && parsed.executionArn) return { started: true, executionArn: parsed.executionArn };
  const code = (parsed.__type ?? '').split('#').pop() || `HTTP ${response.status}`;
  if (code === 'ExecutionAlreadyExists') return { started: false, reason: 'already-exists' };
  throw new StepFunctionsError(
    `StartExecution ${name} on ${stateMachineArn}: ${code}: ${parsed.message ?? parsed.Message ?? text.slice(0, 200)}`,
    code,
    response.status,
  );
}

/** Characters Step Functions refuses in execution names. */
const NAME_UNSAFE = /[^A-Za-z0-9_-]/g;

/**
 * A deterministic execution name for one object version: a readable tail of the key and a hash
 * of bucket, key and version (or ETag), at most 80 characters as Step Functions allows.
 */
export function executionNameOf(ref: { bucket: string; key: string; versionId?: string; etag?: string }): string {
  const hash = createHash('sha256').update(`${ref.bucket}\0${ref.key}\0${ref.versionId ?? ''}\0${ref.etag ?? ''}`).digest('hex').slice(0, 40);
  const tail = (ref.key.split('/').pop() ?? '').replace(NAME_UNSAFE, '_').slice(-38);
  return tail ? `${tail}-${hash}` : hash;
}
