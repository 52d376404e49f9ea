import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import {
  S3AdapterError,
  S3ObjectNotFoundError,
  S3ObjectTooLargeError,
  S3TruncatedReadError,
  errorCodeOf,
  httpStatusOf,
} from './s3-errors';
import { quoteEtag, unquoteEtag } from './s3-etag';
import { formatS3Url } from './s3-url';

/** An S3 object opened for reading: its body as a byte stream plus what S3 said about it. */
export interface S3ObjectStream {
  /**
   * The object's bytes, streamed from S3 as they arrive (never buffered whole). Iterate it once;
   * breaking out of the loop closes the connection. Rejects with `S3TruncatedReadError` when the
   * stream ends short of `size`, and with the network error when the connection drops.
   */
  readonly body: AsyncIterable<Uint8Array>;
  /** Length in bytes (`Content-Length`). */
  readonly size: number;
  /** Entity tag without the surrounding quotes, as S3 event notifications spell it. */
  readonly etag: string | undefined;
  /** Version ID, when the bucket is versioned. */
  readonly versionId: string | undefined;
  /** Content type S3 stored with the object. */
  readonly contentType: string | undefined;
  /** Content encoding S3 stored with the object (e.g. `gzip`); the body is NOT decoded. */
  readonly contentEncoding: string | undefined;
  /** When the object was last written. */
  readonly lastModified: Date | undefined;
  /** Releases the connection without reading the body; needed only if `body` is never iterated. */
  close(): void;
}

/** Options for `openS3Object`. */
export interface OpenS3ObjectOptions {
  /** Read this version of the object (from an S3 event's `object.versionId`). */
  readonly versionId?: string;
  /**
   * Read only if the object still has this entity tag (quoted or not, e.g. an S3 event's
   * `object.eTag`); otherwise S3 answers 412 and the SDK error is rethrown.
   */
  readonly ifMatch?: string;
  /** Aborts the request (e.g. when the Lambda is about to time out). */
  readonly abortSignal?: AbortSignal;
  /** Read from this byte offset to the end (a `Range` request); `size` is then what remains. */
  readonly fromByte?: number;
}

/**
 * Opens an S3 object for streaming (GetObject).
 *
 * @throws S3ObjectNotFoundError when the bucket or key does not exist; other SDK errors unchanged.
 */
export async function openS3Object(
  client: S3Client,
  bucket: string,
  key: string,
  options: OpenS3ObjectOptions = {},
): Promise<S3ObjectStream> {
  const url = formatS3Url(bucket, key);
  let output: GetObjectCommandOutput;
  try {
    output = await client.send(
      new GetObjectCommand({
        Bucket: bucket,
        Key: key,
        VersionId: options.versionId,
        IfMatch: options.ifMatch === undefined ? undefined : quoteEtag(options.ifMatch),
        Range: options.fromByte === undefined ? undefined : `bytes=${options.fromByte}-`,
      }),
      { abortSignal: options.abortSignal },
    );
  } catch (error) {
    throw translateNotFound(error, url);
  }
  const raw = output.Body as (AsyncIterable<Uint8Array> & { destroy?: () => void }) | undefined;
  if (raw === undefined || typeof raw[Symbol.asyncIterator] !== 'function') {
    throw new S3AdapterError(`${url}: S3 returned no readable body`);
  }
  return {
    body: checkedBody(raw, output.ContentLength, url),
    size: output.ContentLength ?? 0,
    etag: unquoteEtag(output.ETag),
    versionId: output.VersionId,
    contentType: output.ContentType,
    contentEncoding: output.ContentEncoding,
    lastModified: output.LastModified,
    close: () => raw.destroy?.(),
  };
}

/**
 * Reads a small S3 object (policy JSON, MMDB file) into memory, refusing objects over `maxBytes`.
 *
 * @throws S3ObjectTooLargeError naming the URL, the size seen and the limit.
 * @throws S3ObjectNotFoundError when the bucket or key does not exist.
 */
export async function readS3ObjectToBuffer(
  client: S3Client,
  bucket: string,
  key: string,
  maxBytes: number,
  options: OpenS3ObjectOptions = {},
): Promise<Buffer> {
  const url = formatS3Url(bucket, key);
  const object = await openS3Object(client, bucket, key, options);
  const tooLarge = (seen: string): S3ObjectTooLargeError =>
    new S3ObjectTooLargeError(
      `${url}: object is ${seen}, over the ${maxBytes}-byte limit for this read`,
    );
  if (object.size > maxBytes) {
    object.close();
    throw tooLarge(`${object.size} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  // Count as well as trusting Content-Length: a proxy may not send one. Breaking out of the
  // loop closes the connection.
  for await (const chunk of object.body) {
    total += chunk.byteLength;
    if (total > maxBytes) throw tooLarge(`at least ${total} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/** Wraps the SDK body: closes it when the consumer stops early, and checks the length at the end. */
async function* checkedBody(
  raw: AsyncIterable<Uint8Array> & { destroy?: () => void },
  expectedBytes: number | undefined,
  url: string,
): AsyncGenerator<Uint8Array, void, undefined> {
  let received = 0;
  let finished = false;
  try {
    for await (const chunk of raw) {
      received += chunk.byteLength;
      yield chunk;
    }
    finished = true;
  } finally {
    if (!finished) raw.destroy?.();
  }
  if (expectedBytes !== undefined && received !== expectedBytes) {
    throw new S3TruncatedReadError(
      `${url}: read ${received} bytes but S3 announced ${expectedBytes}; the object may have been cut off`,
    );
  }
}

function translateNotFound(error: unknown, url: string): unknown {
  if (httpStatusOf(error) !== 404) return error;
  const code = errorCodeOf(error) ?? 'NotFound';
  const what = code === 'NoSuchBucket' ? 'bucket does not exist' : 'object does not exist';
  return new S3ObjectNotFoundError(`${url}: ${what} (${code})`, { cause: error });
}
