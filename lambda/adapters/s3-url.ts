import { S3UrlError } from './s3-errors';

/** Where an S3 object lives. */
export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

const S3_SCHEME = 's3://';
/** S3's limit on an object key, in UTF-8 bytes. */
export const MAX_S3_KEY_BYTES = 1024;
// General purpose bucket naming rules:
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IPV4_LIKE = /^\d+\.\d+\.\d+\.\d+$/;

/**
 * Parses `s3://bucket/key` into its bucket and key.
 *
 * The key is taken literally, as the AWS CLI does: `%41` stays `%41`, and spaces, `+`, `?` and
 * `#` are part of the key. Throws `S3UrlError` naming the URL and what was expected.
 *
 * @example parseS3Url('s3://my-logs/2024/06/flow.log.gz') // { bucket: 'my-logs', key: '2024/06/flow.log.gz' }
 */
export function parseS3Url(url: string): S3Location {
  if (!url.startsWith(S3_SCHEME)) {
    throw new S3UrlError(`Invalid S3 URL '${url}': expected s3://bucket/key`);
  }
  const rest = url.slice(S3_SCHEME.length);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  const key = slash === -1 ? '' : rest.slice(slash + 1);
  if (bucket === '') {
    throw new S3UrlError(
      `Invalid S3 URL '${url}': the bucket name is missing (expected s3://bucket/key)`,
    );
  }
  if (!BUCKET_NAME.test(bucket) || bucket.includes('..') || IPV4_LIKE.test(bucket)) {
    throw new S3UrlError(
      `Invalid S3 URL '${url}': '${bucket}' is not a valid bucket name ` +
        '(3-63 characters: lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit)',
    );
  }
  if (key === '') {
    throw new S3UrlError(
      `Invalid S3 URL '${url}': the object key is missing (expected s3://bucket/key)`,
    );
  }
  const keyBytes = Buffer.byteLength(key, 'utf8');
  if (keyBytes > MAX_S3_KEY_BYTES) {
    throw new S3UrlError(
      `Invalid S3 URL '${url.slice(0, 80)}...': the key is ${keyBytes} bytes, more than S3's ${MAX_S3_KEY_BYTES}-byte limit`,
    );
  }
  return { bucket, key };
}

/** Formats a bucket and key as `s3://bucket/key` (the inverse of `parseS3Url`), for messages. */
export function formatS3Url(bucket: string, key: string): string {
  return `${S3_SCHEME}${bucket}/${key}`;
}
