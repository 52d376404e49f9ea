import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { S3AdapterError } from './s3-errors';
import { unquoteEtag } from './s3-etag';
import { formatS3Url } from './s3-url';

/** Options for `listKeys`. */
export interface ListKeysOptions {
  /** Keys per ListObjectsV2 request; S3 caps it at 1,000 (its default). */
  readonly pageSize?: number;
  /** Aborts the listing. */
  readonly abortSignal?: AbortSignal;
}

/** One object of a listing, as ListObjectsV2 describes it. */
export interface ListedObject {
  readonly key: string;
  readonly size: number;
  /** Entity tag without the surrounding quotes. */
  readonly etag: string | undefined;
  readonly lastModified: Date | undefined;
}

/**
 * Yields every object under `prefix`, in S3's (UTF-8 binary) order, following ListObjectsV2
 * continuation tokens so listings past 1,000 keys are complete. One page is held at a time.
 *
 * @example for await (const o of listObjects(client, 'uploads', 'incoming/')) total += o.size;
 */
export async function* listObjects(
  client: S3Client,
  bucket: string,
  prefix = '',
  options: ListKeysOptions = {},
): AsyncGenerator<ListedObject, void, undefined> {
  let continuationToken: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix === '' ? undefined : prefix,
        ContinuationToken: continuationToken,
        MaxKeys: options.pageSize,
      }),
      { abortSignal: options.abortSignal },
    );
    for (const object of page.Contents ?? []) {
      if (object.Key === undefined) continue;
      yield { key: object.Key, size: object.Size ?? 0, etag: unquoteEtag(object.ETag), lastModified: object.LastModified };
    }
    continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    if (page.IsTruncated && !continuationToken) {
      // Without this check a misbehaving server would make the listing silently incomplete.
      throw new S3AdapterError(
        `${formatS3Url(bucket, prefix)}: listing is truncated but S3 sent no continuation token`,
      );
    }
  } while (continuationToken !== undefined);
}

/**
 * Yields every key under `prefix`, in S3's (UTF-8 binary) order (see {@link listObjects}).
 *
 * @example for await (const key of listKeys(client, 'verdicts', 'verdicts/2024/')) audit(key);
 */
export async function* listKeys(
  client: S3Client,
  bucket: string,
  prefix = '',
  options: ListKeysOptions = {},
): AsyncGenerator<string, void, undefined> {
  for await (const object of listObjects(client, bucket, prefix, options)) yield object.key;
}
