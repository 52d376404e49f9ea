/**
 * What the audit function is handed, and what Step Functions writes about a Distributed Map run:
 * the shapes, and parsers that name what is wrong with a malformed one in one line.
 *
 * Shapes, as AWS documents them:
 * - a child execution's input with `ItemBatcher`: `{ "Items": [...], "BatchInput": {...} }`
 *   (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itembatcher.html);
 * - an item of the `arn:aws:states:::s3:listObjectsV2` reader: `{ "Etag": "\"...\"", "Key": "...",
 *   "LastModified": 1668699881, "Size": 34910, "StorageClass": "STANDARD" }`
 *   (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html);
 * - the Map state's output with `ResultWriter`: `{ "MapRunArn": "...", "ResultWriterDetails":
 *   { "Bucket": "...", "Key": "<prefix>/<map run id>/manifest.json" } }`, the manifest's
 *   `ResultFiles.{SUCCEEDED,FAILED,PENDING}[].Key`, and each result file a JSON array of child
 *   executions (`Input` and `Output` as JSON text, `Status`, and `Error`/`Cause` when it failed)
 *   (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html).
 */

/** One run of a scheduled audit: made by the plan step, handed to every batch and the reduce step. */
export interface AuditPlan {
  /** The run folder in the verdict bucket: `audits/<timestamp>/`. */
  runPrefix: string;
  /** When the run started (ISO 8601); logs written later belong to the next run. */
  startedAt: string;
  /** The bucket whose logs are audited. */
  auditBucket: string;
  /** The audited key prefixes. */
  prefixes: string[];
  /** Where verdicts and runs are. */
  verdictBucket: string;
  /** Key prefix of the earlier verdicts in the verdict bucket (laid out by relative path); null when none. */
  previous: string | null;
  /**
   * Key prefixes of earlier verdicts, newest first, `previous` the first: each log is compared
   * with the first that holds its verdict (see lambda/engine/audit/previous.ts). Absent in a plan
   * made before it existed: then `previous` alone.
   */
  baselines?: string[];
}

/** An S3 object as the Distributed Map's ListObjectsV2 reader hands it to a child execution. */
export interface MapS3Item {
  Key: string;
  Size?: number;
  /** So spelled by the reader; `ETag` is accepted too. */
  Etag?: string;
  ETag?: string;
  /** Seconds since the epoch (or an ISO 8601 string). */
  LastModified?: number | string;
  StorageClass?: string;
}

/** What the Map state outputs when it has a ResultWriter. */
export interface MapRunOutput {
  MapRunArn?: string;
  ResultWriterDetails?: { Bucket: string; Key: string };
}

/** An error a Catch hands on: `{ Error, Cause }`. */
export interface CaughtError {
  Error?: string;
  Cause?: string;
}

/** The function's events, told apart. */
export type AuditEvent =
  | { kind: 'run' }
  | { kind: 'plan'; startedAt: Date | null }
  | { kind: 'batch'; items: MapS3Item[]; plan: AuditPlan }
  | { kind: 'reduce'; plan: AuditPlan; map: MapRunOutput | null; mapError: CaughtError | null };

/** An event the audit function cannot act on. */
export class AuditEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditEventError';
  }
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function parsePlan(x: unknown, where: string): AuditPlan {
  if (!isObject(x)) throw new AuditEventError(`${where}: expected the run's plan (an object), got ${JSON.stringify(x) ?? 'nothing'}`);
  for (const field of ['runPrefix', 'startedAt', 'auditBucket', 'verdictBucket'] as const) {
    if (typeof x[field] !== 'string' || x[field] === '') throw new AuditEventError(`${where}.${field}: expected a non-empty string`);
  }
  if (!Array.isArray(x.prefixes) || x.prefixes.some((p) => typeof p !== 'string')) throw new AuditEventError(`${where}.prefixes: expected a list of key prefixes`);
  if (x.previous !== null && typeof x.previous !== 'string') throw new AuditEventError(`${where}.previous: expected a key prefix or null`);
  if (x.baselines !== undefined && (!Array.isArray(x.baselines) || x.baselines.some((p) => typeof p !== 'string'))) {
    throw new AuditEventError(`${where}.baselines: expected a list of key prefixes`);
  }
  if (Number.isNaN(Date.parse(x.startedAt as string))) throw new AuditEventError(`${where}.startedAt: expected an ISO 8601 time, got '${String(x.startedAt)}'`);
  return x as unknown as AuditPlan;
}

/**
 * Tells the function's events apart: `{ "mode": "run" }` (or an EventBridge scheduled event),
 * `{ "mode": "plan" }`, a Distributed Map batch, `{ "mode": "reduce", ... }`.
 *
 * @throws AuditEventError naming what is missing.
 */
export function parseAuditEvent(event: unknown): AuditEvent {
  if (!isObject(event)) throw new AuditEventError('event is not an audit event (expected an object)');
  if ('Items' in event || 'BatchInput' in event) {
    if (!Array.isArray(event.Items) || event.Items.some((i) => !isObject(i) || typeof i.Key !== 'string')) {
      throw new AuditEventError('Items: expected the Distributed Map batch of S3 objects ([{ "Key": ... }])');
    }
    const batchInput = event.BatchInput;
    if (!isObject(batchInput)) throw new AuditEventError('BatchInput: expected { "plan": ... } (the ItemBatcher BatchInput)');
    return { kind: 'batch', items: event.Items as unknown as MapS3Item[], plan: parsePlan(batchInput.plan, 'BatchInput.plan') };
  }
  if (event.mode === 'run' || (event.source === 'aws.events' && event['detail-type'] === 'Scheduled Event')) return { kind: 'run' };
  if (event.mode === 'plan') {
    const at = event.startedAt;
    if (at !== undefined && (typeof at !== 'string' || Number.isNaN(Date.parse(at)))) {
      throw new AuditEventError(`startedAt: expected an ISO 8601 time, got ${JSON.stringify(at)}`);
    }
    return { kind: 'plan', startedAt: typeof at === 'string' ? new Date(at) : null };
  }
  if (event.mode === 'reduce') {
    const map = event.map ?? null;
    if (map !== null && !isObject(map)) throw new AuditEventError('map: expected the Map state output or null');
    const mapError = event.mapError ?? null;
    if (mapError !== null && !isObject(mapError)) throw new AuditEventError('mapError: expected { Error, Cause } or null');
    return { kind: 'reduce', plan: parsePlan(event.plan, 'plan'), map: map as MapRunOutput | null, mapError: mapError as CaughtError | null };
  }
  throw new AuditEventError(`event is not an audit event (mode ${JSON.stringify(event.mode) ?? 'missing'}; expected run, plan, reduce, or a Distributed Map batch)`);
}

/** The ETag of a listed item, unquoted. */
export function itemEtag(item: MapS3Item): string | undefined {
  return (item.Etag ?? item.ETag)?.replace(/^"(.*)"$/, '$1');
}

/** When a listed item was last written. */
export function itemLastModified(item: MapS3Item): Date | undefined {
  const t = item.LastModified;
  if (typeof t === 'number') return new Date(t * 1000);
  if (typeof t === 'string' && !Number.isNaN(Date.parse(t))) return new Date(t);
  return undefined;
}

/** Longest failure reason kept per batch. */
export const MAX_REASON_CHARS = 300;

/** A child execution that did not succeed: the keys of its batch and why. */
export interface FailedBatch {
  keys: string[];
  reason: string;
}

/** The result files the manifest lists for failed and pending child executions. */
export function unfinishedResultFiles(manifestText: string): string[] {
  let manifest: unknown;
  try {
    manifest = JSON.parse(manifestText);
  } catch (err) {
    throw new AuditEventError(`manifest.json: not JSON (${(err as Error).message})`);
  }
  const files = isObject(manifest) ? manifest.ResultFiles : undefined;
  if (!isObject(files)) throw new AuditEventError('manifest.json: no ResultFiles');
  const keys: string[] = [];
  for (const status of ['FAILED', 'PENDING']) {
    const list = files[status] ?? [];
    if (!Array.isArray(list)) throw new AuditEventError(`manifest.json: ResultFiles.${status} is not a list`);
    for (const f of list) if (isObject(f) && typeof f.Key === 'string') keys.push(f.Key);
  }
  return keys;
}

function parseJsonField(x: unknown): unknown {
  if (typeof x !== 'string') return x;
  try {
    return JSON.parse(x);
  } catch {
    return undefined;
  }
}

/**
 * The child executions of a result file that did not succeed (JSON array, or JSON Lines), each
 * with the keys of its batch and why it failed. A child whose input was not included cannot
 * name its keys; its logs are still reported, as not reported by any batch.
 */
export function failedBatches(resultText: string): FailedBatch[] {
  let entries: unknown[];
  const trimmed = resultText.trim();
  try {
    entries = trimmed.startsWith('[') ? (JSON.parse(trimmed) as unknown[]) : trimmed.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
  } catch (err) {
    throw new AuditEventError(`result file: not JSON (${(err as Error).message})`);
  }
  const out: FailedBatch[] = [];
  for (const entry of entries) {
    if (!isObject(entry) || entry.Status === 'SUCCEEDED') continue;
    const input = parseJsonField(entry.Input);
    const items = isObject(input) && Array.isArray(input.Items) ? input.Items : [];
    const keys = items.filter((i): i is { Key: string } => isObject(i) && typeof i.Key === 'string').map((i) => i.Key);
    // A Lambda failure's Cause is the error as JSON, stack trace included: keep the start of it.
    const why = [entry.Error, entry.Cause].filter((x) => typeof x === 'string' && x !== '').join(': ').slice(0, MAX_REASON_CHARS);
    out.push({ keys, reason: `its batch ${String(entry.Status ?? 'failed').toLowerCase()}${why ? ` (${why})` : ''}` });
  }
  return out;
}
