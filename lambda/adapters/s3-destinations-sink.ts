/**
 * Writes a verdict's destinations as gzip-compressed JSON Lines under the partitioned prefix of the
 * verdict bucket, `<prefix>dt=<yyyy-MM-dd>/<verdict id>.jsonl.gz`, where the Glue table
 * (lib/constructs/verdict-catalog.ts) reads them. Write-once like the verdict: `If-None-Match: *`.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  destinationsPartitionOf,
  serializeDestinationsJsonl,
  verdictIdOf,
} from '../engine/verdict/destinations-jsonl';
import type { Verdict } from '../engine/verdict/verdict';
import { putIfAbsent } from './s3-verdict-sink';

/** Content type of the destinations objects: a gzip file (no `Content-Encoding`, so nothing unpacks it on the way). */
export const DESTINATIONS_CONTENT_TYPE = 'application/gzip';
/** Ending of the destinations objects; Athena picks the decompression by it. */
export const DESTINATIONS_SUFFIX = '.jsonl.gz';

/**
 * The key of a verdict's destinations object, or null when it has none to write (no destinations,
 * as in an error verdict, or no check time to partition by).
 */
export function destinationsKeyOf(prefix: string, verdict: Verdict, verdictKey: string): string | null {
  if ((verdict.destinations ?? []).length === 0) return null;
  const dt = destinationsPartitionOf(verdict.checkedAt);
  if (dt === null) return null;
  return `${prefix}dt=${dt}/${verdictIdOf(verdict, verdictKey)}${DESTINATIONS_SUFFIX}`;
}

/**
 * Gzip of the concatenated pieces. Only the compressed bytes are held (a tenth of the text or
 * less); the same pieces always give the same bytes (no file name or time in the gzip header).
 */
export async function gzipPieces(pieces: Iterable<string>): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces), createGzip(), async (compressed: AsyncIterable<Buffer>) => {
    for await (const chunk of compressed) out.push(chunk);
  });
  return Buffer.concat(out);
}

/** What {@link putDestinations} did. */
export type DestinationsOutcome =
  | { kind: 'written'; key: string; bytes: number }
  | { kind: 'already-written'; key: string }
  | { kind: 'none' };

/**
 * Writes the verdict's destinations object if it has destinations and the object is not there yet.
 * S3 faults are thrown (the message is retried; the duplicate path then calls
 * {@link ensureDestinations}).
 */
export async function putDestinations(
  client: S3Client,
  bucket: string,
  prefix: string,
  verdictKey: string,
  verdict: Verdict,
): Promise<DestinationsOutcome> {
  const key = destinationsKeyOf(prefix, verdict, verdictKey);
  if (key === null) return { kind: 'none' };
  const body = await gzipPieces(serializeDestinationsJsonl(verdict, { verdictKey }));
  const written = await putIfAbsent(client, bucket, key, body, DESTINATIONS_CONTENT_TYPE);
  return written ? { kind: 'written', key, bytes: body.byteLength } : { kind: 'already-written', key };
}

/**
 * On a duplicate delivery: if the earlier attempt stored the verdict but not its destinations
 * object, writes it now from the stored verdict (the same key and bytes the first attempt would
 * have written). There is no look first: the write is conditional, so S3 refuses it when the object
 * is there, and the function needs no permission but `s3:PutObject` under the prefix.
 */
export async function ensureDestinations(
  client: S3Client,
  bucket: string,
  prefix: string,
  verdictKey: string,
  verdictText: string,
): Promise<DestinationsOutcome> {
  let verdict: Verdict;
  try {
    verdict = JSON.parse(verdictText) as Verdict;
  } catch {
    return { kind: 'none' }; // Not ours to repair: the stored verdict is not JSON.
  }
  return putDestinations(client, bucket, prefix, verdictKey, verdict);
}
