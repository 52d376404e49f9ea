import { open, readFile, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { S3AdapterError, S3WaitTimeoutError, errorCodeOf, httpStatusOf } from './s3-errors';
import { quoteEtag, unquoteEtag } from './s3-etag';
import { formatS3Url } from './s3-url';

/** Content type of verdicts and other JSON documents written to S3. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
/** Default multipart part size; S3's minimum for all but the last part is 5 MiB. */
export const DEFAULT_PART_SIZE_BYTES = 8 * 1024 * 1024;
/** S3's minimum size of every part but the last. */
export const MIN_PART_SIZE_BYTES = 5 * 1024 * 1024;
/** S3's maximum number of parts in one multipart upload. */
export const MAX_PARTS = 10_000;

/** What S3 reported about an object it stored or holds. */
export interface S3ObjectInfo {
  /** Entity tag without the surrounding quotes. */
  readonly etag: string | undefined;
  /** Version ID, when the bucket is versioned. */
  readonly versionId: string | undefined;
}

/** What HeadObject reported about an existing object. */
export interface S3ObjectHead extends S3ObjectInfo {
  /** Length in bytes. */
  readonly size: number;
  /** Content type stored with the object. */
  readonly contentType: string | undefined;
}

/** Progress of `uploadFile`, reported after each part (once for a single-request upload). */
export interface UploadProgress {
  readonly loadedBytes: number;
  readonly totalBytes: number;
  readonly partNumber: number;
  readonly partCount: number;
}

/** Options for `uploadFile`. */
export interface UploadFileOptions {
  /** Called after each part is stored. */
  readonly onProgress?: (progress: UploadProgress) => void;
  /** @default 'application/octet-stream' */
  readonly contentType?: string;
  /**
   * Size of each part; files smaller than this go up in one PutObject. Raised automatically when
   * the file would need more than 10,000 parts.
   * @default DEFAULT_PART_SIZE_BYTES (8 MiB)
   */
  readonly partSizeBytes?: number;
  /** Aborts the upload (the multipart upload is then aborted too). */
  readonly abortSignal?: AbortSignal;
}

/** Options for `waitForObject`. */
export interface WaitForObjectOptions {
  /** Give up after this long. */
  readonly timeoutMs: number;
  /** Pause between HeadObject requests. */
  readonly intervalMs: number;
  /** Stops waiting early (rejects with the signal's reason). */
  readonly abortSignal?: AbortSignal;
}

/** Writes a JSON document (e.g. a verdict) to S3, replacing any object with that key. */
export async function putJsonObject(
  client: S3Client,
  bucket: string,
  key: string,
  body: string,
  contentType: string = JSON_CONTENT_TYPE,
): Promise<S3ObjectInfo> {
  const output = await client.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }),
  );
  return { etag: unquoteEtag(output.ETag), versionId: output.VersionId };
}

/**
 * Writes an object only if no object has that key yet (`If-None-Match: *`), so a retried Lambda
 * invocation cannot overwrite the verdict an earlier attempt wrote.
 *
 * Returns true when written, false when S3 answered 412 PreconditionFailed (already there).
 * Other errors are rethrown, including 409 ConditionalRequestConflict (a concurrent write to the
 * same key), which S3 documents as retryable.
 */
export async function putIfAbsent(
  client: S3Client,
  bucket: string,
  key: string,
  body: string | Uint8Array,
  contentType: string = JSON_CONTENT_TYPE,
): Promise<boolean> {
  return putWhen(client, bucket, key, body, contentType, { IfNoneMatch: '*' });
}

/**
 * Replaces an object only if it is still the one read (`If-Match: <etag>`), so of two concurrent
 * deliveries that both read the same verdict, only one replaces it.
 *
 * Returns true when written, false when the object changed since it was read: S3 answers 412
 * PreconditionFailed when its ETag differs, 404 NoSuchKey when there is no object (or a delete
 * marker) under the key. Other errors are rethrown, including 409 ConditionalRequestConflict (a
 * concurrent write to the same key), which S3 documents as retryable.
 */
export async function putIfUnchanged(
  client: S3Client,
  bucket: string,
  key: string,
  body: string | Uint8Array,
  etag: string,
  contentType: string = JSON_CONTENT_TYPE,
): Promise<boolean> {
  return putWhen(client, bucket, key, body, contentType, { IfMatch: quoteEtag(etag) });
}

/** A conditional PutObject: true when written, false when S3 refused it for its condition. */
async function putWhen(
  client: S3Client,
  bucket: string,
  key: string,
  body: string | Uint8Array,
  contentType: string,
  condition: { IfNoneMatch: string } | { IfMatch: string },
): Promise<boolean> {
  try {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType, ...condition }));
    return true;
  } catch (error) {
    if (httpStatusOf(error) === 412 || errorCodeOf(error) === 'PreconditionFailed') return false;
    // If-Match on a key with no object: 404 NoSuchKey. A missing bucket is a 404 too
    // (NoSuchBucket): only NoSuchKey means the object is gone.
    if ('IfMatch' in condition && errorCodeOf(error) === 'NoSuchKey') return false;
    throw error;
  }
}

/**
 * Whether an object exists (HeadObject).
 *
 * 404 means false. A HEAD response has no body, so a missing bucket is also just 404 here. Without
 * `s3:ListBucket` permission S3 answers a missing key with 403, which is rethrown, not guessed at.
 */
export async function objectExists(
  client: S3Client,
  bucket: string,
  key: string,
): Promise<boolean> {
  return (await headObjectIfExists(client, bucket, key)) !== undefined;
}

/**
 * Polls HeadObject until the object exists, and returns what S3 reports about it.
 *
 * @throws S3WaitTimeoutError naming the URL when it has not appeared within `timeoutMs`.
 */
export async function waitForObject(
  client: S3Client,
  bucket: string,
  key: string,
  options: WaitForObjectOptions,
): Promise<S3ObjectHead> {
  const deadline = Date.now() + options.timeoutMs;
  let attempts = 0;
  for (;;) {
    attempts += 1;
    const head = await headObjectIfExists(client, bucket, key, options.abortSignal);
    if (head !== undefined) return head;
    if (Date.now() + options.intervalMs > deadline) {
      throw new S3WaitTimeoutError(
        `${formatS3Url(bucket, key)}: object did not appear within ${options.timeoutMs} ms ` +
          `(${attempts} HeadObject requests)`,
      );
    }
    await sleep(options.intervalMs, undefined, { signal: options.abortSignal });
  }
}

/**
 * Uploads a local file, streaming it part by part (multipart upload) so memory stays at one
 * part however large the file is. On failure the multipart upload is aborted, so no incomplete
 * parts are left billed, and the original error is rethrown.
 */
export async function uploadFile(
  client: S3Client,
  bucket: string,
  key: string,
  filePath: string,
  options: UploadFileOptions = {},
): Promise<S3ObjectInfo> {
  const totalBytes = (await stat(filePath)).size;
  const contentType = options.contentType ?? 'application/octet-stream';
  const requestedPartSize = options.partSizeBytes ?? DEFAULT_PART_SIZE_BYTES;
  if (requestedPartSize < MIN_PART_SIZE_BYTES) {
    throw new RangeError(
      `partSizeBytes must be at least ${MIN_PART_SIZE_BYTES} (S3's minimum part size), got ${requestedPartSize}`,
    );
  }
  const abortSignal = options.abortSignal;

  if (totalBytes < requestedPartSize) {
    const output = await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: await readFile(filePath),
        ContentType: contentType,
      }),
      { abortSignal },
    );
    options.onProgress?.({ loadedBytes: totalBytes, totalBytes, partNumber: 1, partCount: 1 });
    return { etag: unquoteEtag(output.ETag), versionId: output.VersionId };
  }

  const partSize = Math.max(requestedPartSize, Math.ceil(totalBytes / MAX_PARTS));
  const partCount = Math.ceil(totalBytes / partSize);
  // CRC32 is declared up front so the per-part checksums match what the upload was created with
  // (S3 has rejected undeclared ones); Complete then has to repeat each part's checksum.
  const { UploadId: uploadId } = await client.send(
    new CreateMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      ContentType: contentType,
      ChecksumAlgorithm: 'CRC32',
    }),
    { abortSignal },
  );
  if (uploadId === undefined) {
    throw new S3AdapterError(
      `${formatS3Url(bucket, key)}: CreateMultipartUpload returned no UploadId`,
    );
  }

  const file = await open(filePath, 'r');
  try {
    const buffer = Buffer.alloc(partSize);
    const parts: CompletedPart[] = [];
    let loadedBytes = 0;
    for (let partNumber = 1; partNumber <= partCount; partNumber += 1) {
      const length = Math.min(partSize, totalBytes - loadedBytes);
      const { bytesRead } = await file.read(buffer, 0, length, loadedBytes);
      if (bytesRead !== length) {
        throw new S3AdapterError(
          `${filePath}: file changed during upload (read ${bytesRead} of ${length} bytes of part ${partNumber})`,
        );
      }
      // The buffer is reused for the next part only after this request (and its retries) finished.
      const output = await client.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: buffer.subarray(0, length),
          ContentLength: length,
          ChecksumAlgorithm: 'CRC32',
        }),
        { abortSignal },
      );
      parts.push({
        PartNumber: partNumber,
        ETag: output.ETag,
        ChecksumCRC32: output.ChecksumCRC32,
      });
      loadedBytes += length;
      options.onProgress?.({ loadedBytes, totalBytes, partNumber, partCount });
    }
    const output = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
      { abortSignal },
    );
    return { etag: unquoteEtag(output.ETag), versionId: output.VersionId };
  } catch (error) {
    await client
      .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
      .catch(() => {
        // The original error matters more; a bucket lifecycle rule
        // (AbortIncompleteMultipartUpload) removes an upload that could not be aborted.
      });
    throw error;
  } finally {
    await file.close();
  }
}

async function headObjectIfExists(
  client: S3Client,
  bucket: string,
  key: string,
  abortSignal?: AbortSignal,
): Promise<S3ObjectHead | undefined> {
  try {
    const output = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), {
      abortSignal,
    });
    return {
      etag: unquoteEtag(output.ETag),
      versionId: output.VersionId,
      size: output.ContentLength ?? 0,
      contentType: output.ContentType,
    };
  } catch (error) {
    if (httpStatusOf(error) === 404) return undefined;
    throw error;
  }
}

/**
 * Writes an object from pieces of text (a summary of a million logs is more than one string may
 * hold): one PutObject when it fits in one part, otherwise a multipart upload of
 * `partSizeBytes` parts, aborted if any part fails. Memory stays at one part.
 */
export async function putObjectFromPieces(
  client: S3Client,
  bucket: string,
  key: string,
  pieces: Iterable<string>,
  contentType: string = JSON_CONTENT_TYPE,
  partSizeBytes: number = DEFAULT_PART_SIZE_BYTES,
): Promise<S3ObjectInfo> {
  if (partSizeBytes < MIN_PART_SIZE_BYTES) {
    throw new RangeError(`partSizeBytes must be at least ${MIN_PART_SIZE_BYTES} (S3's minimum part size), got ${partSizeBytes}`);
  }
  let buffered: Buffer[] = [];
  let bufferedBytes = 0;
  let uploadId: string | undefined;
  const parts: CompletedPart[] = [];
  const flushPart = async (): Promise<void> => {
    if (uploadId === undefined) {
      // CRC32 declared up front, as uploadFile does, so each part's checksum matches the upload's.
      const created = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: contentType, ChecksumAlgorithm: 'CRC32' }));
      if (created.UploadId === undefined) throw new S3AdapterError(`${formatS3Url(bucket, key)}: CreateMultipartUpload returned no UploadId`);
      uploadId = created.UploadId;
    }
    const body = Buffer.concat(buffered, bufferedBytes);
    buffered = [];
    bufferedBytes = 0;
    const partNumber = parts.length + 1;
    const output = await client.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.byteLength, ChecksumAlgorithm: 'CRC32' }),
    );
    parts.push({ PartNumber: partNumber, ETag: output.ETag, ChecksumCRC32: output.ChecksumCRC32 });
  };
  try {
    for (const piece of pieces) {
      const bytes = Buffer.from(piece, 'utf8');
      buffered.push(bytes);
      bufferedBytes += bytes.byteLength;
      if (bufferedBytes >= partSizeBytes) await flushPart();
    }
    if (uploadId === undefined) return await putJsonObject(client, bucket, key, Buffer.concat(buffered, bufferedBytes).toString('utf8'), contentType);
    if (bufferedBytes > 0) await flushPart();
    const output = await client.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
    );
    return { etag: unquoteEtag(output.ETag), versionId: output.VersionId };
  } catch (error) {
    if (uploadId !== undefined) {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => {
        // The original error matters more; the bucket's lifecycle rule removes what is left.
      });
    }
    throw error;
  }
}
