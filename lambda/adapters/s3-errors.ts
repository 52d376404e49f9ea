/**
 * Errors raised by the S3 adapters, each naming the `s3://` URL involved.
 *
 * SDK errors the adapters cannot say more about (throttling, access denied, network) are rethrown
 * unchanged so the caller can tell transient failures from bad input.
 */

import { ResidencyError } from '../engine';

/** Base class of the S3 adapter errors; `name` is set so logs show the subclass. */
export class S3AdapterError extends ResidencyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'S3AdapterError';
  }
}

/** A string that is not a usable `s3://bucket/key` URL. */
export class S3UrlError extends S3AdapterError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'S3UrlError';
  }
}

/** The bucket or object does not exist (S3 answered 404). */
export class S3ObjectNotFoundError extends S3AdapterError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'S3ObjectNotFoundError';
  }
}

/** An object is larger than the caller allows to be read into memory. */
export class S3ObjectTooLargeError extends S3AdapterError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'S3ObjectTooLargeError';
  }
}

/** An object's body ended before (or ran past) the length S3 announced for it. */
export class S3TruncatedReadError extends S3AdapterError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'S3TruncatedReadError';
  }
}

/** An object did not appear within the time a caller was willing to wait. */
export class S3WaitTimeoutError extends S3AdapterError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'S3WaitTimeoutError';
  }
}

/** The HTTP status of an SDK error (`$metadata.httpStatusCode`), if it has one. */
export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('$metadata' in error)) return undefined;
  const metadata = (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
  return typeof metadata?.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
}

/** The error code of an SDK error (`NoSuchKey`, `NotFound`, `PreconditionFailed`, ...). */
export function errorCodeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { name, Code } = error as { name?: unknown; Code?: unknown };
  if (typeof Code === 'string') return Code;
  return typeof name === 'string' ? name : undefined;
}

/** An SDK or network error in a few words: `NoSuchBucket: The specified bucket does not exist`. */
export function describeS3Failure(err: unknown): string {
  if (err instanceof ResidencyError) return err.message;
  const e = err as { name?: string; message?: string; code?: string; errors?: { message?: string }[] } | null;
  const message = e?.message || e?.errors?.[0]?.message || '';
  const name = e?.code ?? e?.name ?? 'Error';
  return message.includes(name) ? message : `${name}${message ? `: ${message}` : ''}`;
}
