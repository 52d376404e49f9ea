/**
 * The S3 side of an audit: the logs under key prefixes, earlier verdicts laid out by relative
 * path, and a run folder (`audits/<timestamp>/`) in a bucket with the verdicts, the per-batch
 * outcomes of a Distributed Map run, and the summary. Shared by `residency audit s3://...` and
 * the audit function.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { auditRoot, classifyAuditKey, runFolderName, type AuditSkipReason } from '../engine/audit/audit-paths';
import { parseDiffableVerdict, type DiffableVerdict } from '../engine/audit/diff';
import { renderAuditHtml } from '../engine/audit/render-html';
import { renderAuditMarkdown } from '../engine/audit/render-summary';
import { auditSummaryJson } from '../engine/audit/serialize';
import { forEachLimited } from '../engine/audit/audit-log';
import { baselineRuns, SUMMARY_HEAD_BYTES, summaryHeadSaysComplete, type VerdictSource } from '../engine/audit/previous';
import type { AuditOutcome, AuditSummary } from '../engine/audit/summary';
import { verdictBytes } from '../engine/verdict/serialize';
import type { Verdict } from '../engine/verdict/verdict';
import { UsageError } from '../engine/errors';
import { HTML_CONTENT_TYPE } from './s3-check-object';
import { errorCodeOf, httpStatusOf, S3AdapterError, S3UrlError } from './s3-errors';
import { listObjects, type ListedObject } from './s3-list-keys';
import { formatS3Url } from './s3-url';
import { JSON_CONTENT_TYPE, putObjectFromPieces } from './s3-verdict-sink';

/** Batch objects read at a time when a run is summarized. */
export const BATCH_READ_CONCURRENCY = 16;

/** Content type of summary.md. */
export const MARKDOWN_CONTENT_TYPE = 'text/markdown; charset=utf-8';

/** An audited log in S3. */
export interface AuditObject extends ListedObject {
  /** Its path relative to the audit's root, `/`-separated. */
  readonly path: string;
}

/** What a listing of the audited prefixes found. */
export interface AuditListing {
  /** The logs, in key order. */
  readonly objects: AuditObject[];
  /** Keys that are not logs, by reason (folder markers, hidden names, residency outputs, outside the prefixes). */
  readonly skipped: Record<AuditSkipReason, number>;
  /** False when `shouldStop` ended the listing early: there may be more logs. */
  readonly complete: boolean;
}

/** Options of {@link listAuditObjects}. */
export interface ListAuditObjectsOptions {
  /** Asked between pages; true stops the listing (`complete: false`). */
  readonly shouldStop?: () => boolean;
  /** Keys per ListObjectsV2 request. */
  readonly pageSize?: number;
}

/** `prefixes` without those inside another one (a key would be listed twice), in order. */
export function outermostPrefixes(prefixes: readonly string[]): string[] {
  const sorted = [...new Set(prefixes)].sort();
  return sorted.filter((p, i) => !sorted.slice(0, i).some((q) => p.startsWith(q)));
}

/** One key of a scan: a log, or a key skipped as not one. */
export type ScannedKey = { kind: 'log'; object: AuditObject } | { kind: 'skip'; reason: AuditSkipReason };

/**
 * Yields every key under each of `prefixes` (each listed on its own, so a grant scoped to the
 * prefixes suffices) as a log, with its path relative to their common folder, or as skipped.
 * One page of 1,000 keys is held at a time.
 */
export async function* scanAuditPrefixes(
  client: S3Client,
  bucket: string,
  prefixes: readonly string[],
  pageSize?: number,
): AsyncGenerator<ScannedKey> {
  const root = auditRoot(prefixes);
  for (const prefix of outermostPrefixes(prefixes)) {
    for await (const object of listObjects(client, bucket, prefix, pageSize ? { pageSize } : {})) {
      const found = classifyAuditKey(object.key, root, prefixes);
      yield found.kind === 'log' ? { kind: 'log', object: { ...object, path: found.path } } : found;
    }
  }
}

/** Lists the logs under each of `prefixes` (see {@link scanAuditPrefixes}). */
export async function listAuditObjects(
  client: S3Client,
  bucket: string,
  prefixes: readonly string[],
  options: ListAuditObjectsOptions = {},
): Promise<AuditListing> {
  const objects: AuditObject[] = [];
  const skipped: Record<AuditSkipReason, number> = { folder: 0, hidden: 0, output: 0, outside: 0 };
  let seen = 0;
  for await (const key of scanAuditPrefixes(client, bucket, prefixes, options.pageSize)) {
    if (key.kind === 'log') objects.push(key.object);
    else skipped[key.reason] += 1;
    // Asked once a page: a page is cheap, and at most one is lost.
    if (++seen % (options.pageSize ?? 1000) === 0 && options.shouldStop?.()) return { objects, skipped, complete: false };
  }
  return { objects, skipped, complete: true };
}

/** The sum of a listing's skipped keys. */
export function skippedCount(listing: Pick<AuditListing, 'skipped'>): number {
  return Object.values(listing.skipped).reduce((a, b) => a + b, 0);
}

/** Reads an object's text, or returns null when there is no such object. */
async function readTextIfExists(client: S3Client, bucket: string, key: string): Promise<string | null> {
  try {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await out.Body?.transformToString('utf8')) ?? '';
  } catch (err) {
    if (httpStatusOf(err) === 404 || errorCodeOf(err) === 'NoSuchKey') return null;
    throw err;
  }
}

/** The first bytes of an object's text, or null when there is no such object. */
async function readHeadIfExists(client: S3Client, bucket: string, key: string, bytes: number): Promise<string | null> {
  try {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=0-${bytes - 1}` }));
    return (await out.Body?.transformToString('utf8')) ?? '';
  } catch (err) {
    if (httpStatusOf(err) === 404 || errorCodeOf(err) === 'NoSuchKey') return null;
    // An empty object has no byte 0 to give.
    if (httpStatusOf(err) === 416 || errorCodeOf(err) === 'InvalidRange') return '';
    throw err;
  }
}

/** Earlier verdicts in S3, laid out by relative path: `<prefix><path>.verdict.json`. */
export class S3VerdictFolder implements VerdictSource {
  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    readonly prefix: string,
  ) {}

  /** `s3://bucket/prefix` of the folder. */
  get url(): string {
    return formatS3Url(this.bucket, this.prefix);
  }

  /** The earlier verdict of a log, or null when there is none (or it is not one that can be compared). */
  async read(path: string): Promise<DiffableVerdict | null> {
    const text = await readTextIfExists(this.client, this.bucket, `${this.prefix}${path}.verdict.json`);
    return text === null ? null : parseDiffableVerdict(text);
  }

  /** `s3://` URL of the verdict of the log at `path`. */
  where(path: string): string {
    return formatS3Url(this.bucket, `${this.prefix}${path}.verdict.json`);
  }

  /**
   * The verdicts of `s3://bucket/prefix`: an earlier run folder (recognised by its summary.json)
   * holds them under `verdicts/`; any other prefix is taken as a folder of verdicts itself. A run
   * that was not complete is followed by the earlier runs beside it, down to the newest complete
   * one (see lambda/engine/audit/previous.ts), so a log it did not check is compared with its
   * newest verdict; the folders are returned newest first.
   */
  static async resolve(client: S3Client, bucket: string, prefix: string): Promise<S3VerdictFolder[]> {
    const folder = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    // A listing rather than a HEAD: it tells a missing bucket (NoSuchBucket) from an empty prefix.
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: folder, MaxKeys: 1 }));
    if ((page.Contents ?? []).length === 0) throw new UsageError(`${formatS3Url(bucket, folder)}: no verdicts there`);
    const head = await readHeadIfExists(client, bucket, `${folder}summary.json`, SUMMARY_HEAD_BYTES);
    if (head === null) return [new S3VerdictFolder(client, bucket, folder)];
    const runs = [folder];
    if (!summaryHeadSaysComplete(head)) {
      const parent = folder.slice(0, folder.slice(0, -1).lastIndexOf('/') + 1);
      runs.push(...(await findBaselineRuns(client, bucket, parent, folder)));
    }
    return runs.map((run) => new S3VerdictFolder(client, bucket, `${run}verdicts/`));
  }
}

/**
 * Parses `s3://bucket[/prefix]` as a folder: the prefix gets a trailing `/` (so `incoming` does
 * not also take `incoming-old/`); no prefix is the whole bucket.
 */
export function parseS3Folder(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]*)(?:\/(.*))?$/.exec(url);
  if (!match || match[1] === '') throw new S3UrlError(`Invalid S3 URL '${url}': expected s3://bucket/prefix`);
  const bucket = match[1] as string;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..')) {
    throw new S3UrlError(`Invalid S3 URL '${url}': '${bucket}' is not a valid bucket name`);
  }
  const raw = match[2] ?? '';
  return { bucket, prefix: raw === '' || raw.endsWith('/') ? raw : `${raw}/` };
}

/** The run folders under `outputPrefix` (`audits/<timestamp>/`), newest first. */
async function runFolders(client: S3Client, bucket: string, outputPrefix: string): Promise<string[]> {
  const folders: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: outputPrefix, Delimiter: '/', ContinuationToken: token }));
    for (const p of page.CommonPrefixes ?? []) if (p.Prefix !== undefined) folders.push(p.Prefix);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return folders.sort().reverse();
}

/**
 * The run folders before `before` (a run folder prefix) to look in for a log's earlier verdict,
 * newest first: each with a summary.json, down to the newest complete run (see {@link
 * baselineRuns}); empty when there is none. Run folders are named by their start time, so name
 * order is time order.
 */
export async function findBaselineRuns(client: S3Client, bucket: string, outputPrefix: string, before: string): Promise<string[]> {
  const earlier = (await runFolders(client, bucket, outputPrefix)).filter((folder) => folder < before);
  return baselineRuns(earlier, (folder) => readHeadIfExists(client, bucket, `${folder}summary.json`, SUMMARY_HEAD_BYTES));
}

/** Writes the outputs of one run to `s3://bucket/<runPrefix>`. */
export class S3AuditRun {
  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    /** `audits/<timestamp>/`. */
    readonly runPrefix: string,
  ) {}

  /**
   * A new run folder `<outputPrefix><timestamp>/` (`~2`, `~3` ... when one of that name has
   * objects already).
   */
  static async create(client: S3Client, bucket: string, outputPrefix: string, startedAt: Date): Promise<S3AuditRun> {
    const stamp = runFolderName(startedAt);
    for (let n = 1; ; n++) {
      const runPrefix = `${outputPrefix}${n === 1 ? stamp : `${stamp}~${n}`}/`;
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: runPrefix, MaxKeys: 1 }));
      if ((page.Contents ?? []).length === 0) return new S3AuditRun(client, bucket, runPrefix);
    }
  }

  /** `s3://bucket/<runPrefix>`. */
  get url(): string {
    return formatS3Url(this.bucket, this.runPrefix);
  }

  /** Writes a log's verdict to `verdicts/<path>.verdict.json`; returns that path (relative to the run folder). */
  async writeVerdict(path: string, verdict: Verdict): Promise<string> {
    const relativeKey = `verdicts/${path}.verdict.json`;
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: `${this.runPrefix}${relativeKey}`, Body: verdictBytes(verdict), ContentType: JSON_CONTENT_TYPE }),
    );
    return relativeKey;
  }

  /** Writes one batch's outcomes to `batches/<id>.json` (a retried batch overwrites its own). */
  async writeBatch(id: string, outcomes: readonly AuditOutcome[]): Promise<string> {
    const key = `${this.runPrefix}batches/${id}.json`;
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: JSON.stringify({ outcomes }), ContentType: JSON_CONTENT_TYPE }),
    );
    return key;
  }

  /**
   * Hands every outcome the batches of this run wrote to `onOutcome`, reading `concurrency`
   * batch objects at a time (a run of a million logs has ten thousand of them).
   */
  async readBatches(onOutcome: (outcome: AuditOutcome) => void, concurrency = BATCH_READ_CONCURRENCY): Promise<number> {
    const keys: string[] = [];
    for await (const object of listObjects(this.client, this.bucket, `${this.runPrefix}batches/`)) keys.push(object.key);
    await forEachLimited(keys, concurrency, async (key) => {
      const text = await readTextIfExists(this.client, this.bucket, key);
      if (text === null) return;
      let outcomes: unknown;
      try {
        outcomes = (JSON.parse(text) as { outcomes?: unknown }).outcomes;
      } catch (err) {
        throw new S3AdapterError(`${formatS3Url(this.bucket, key)}: not a batch of audit outcomes (${(err as Error).message})`);
      }
      if (!Array.isArray(outcomes)) throw new S3AdapterError(`${formatS3Url(this.bucket, key)}: not a batch of audit outcomes (no outcomes list)`);
      for (const outcome of outcomes as AuditOutcome[]) onOutcome(outcome);
    });
    return keys.length;
  }

  /** Writes summary.json, summary.md and summary.html; returns the key of summary.json. */
  async writeSummary(summary: AuditSummary): Promise<string> {
    const key = `${this.runPrefix}summary.json`;
    // The views first: a run folder with a summary.json is a finished run (findBaselineRuns).
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: `${this.runPrefix}summary.md`, Body: renderAuditMarkdown(summary), ContentType: MARKDOWN_CONTENT_TYPE }),
    );
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: `${this.runPrefix}summary.html`, Body: renderAuditHtml(summary), ContentType: HTML_CONTENT_TYPE }),
    );
    await putObjectFromPieces(this.client, this.bucket, key, auditSummaryJson(summary));
    return key;
  }
}
