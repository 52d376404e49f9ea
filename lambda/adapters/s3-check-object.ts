/**
 * Checks one uploaded S3 object and stores its verdict: the serverless pipeline's unit of work,
 * shared by the Lambda handler and `residency serve`.
 */
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { runCheck } from '../engine/check';
import { renderHtmlReport } from '../engine/report';
import { buildErrorOnlyVerdict } from '../engine/verdict/build-verdict';
import type { ParserOptions } from '../engine/types';
import type { Verdict } from '../engine/verdict/verdict';
import { verdictBytes } from '../engine/verdict/serialize';
import { DEFAULT_DESTINATIONS_PREFIX } from '../env-names';
import { TOOL_VERSION } from '../version';
import type { CheckResources } from './s3-check-resources';
import { ensureDestinations, putDestinations } from './s3-destinations-sink';
import { errorCodeOf, httpStatusOf, S3AdapterError, S3ObjectNotFoundError } from './s3-errors';
import { unquoteEtag } from './s3-etag';
import { openS3Object } from './s3-log-source';
import { formatS3Url } from './s3-url';
import { putIfAbsent, putIfUnchanged } from './s3-verdict-sink';

/** An object to check, as an S3 event names it (key already URL-decoded). */
export interface ObjectRef {
  bucket: string;
  key: string;
  versionId?: string;
  etag?: string;
  /** Size in bytes, when the event says (S3 events do). */
  size?: number;
  /**
   * The event's `s3.object.sequencer`: a hex string that orders the events of one key (a greater
   * value is a later event). Absent in events written by hand.
   */
  sequencer?: string;
}

/** What happened to one object. */
export type CheckOutcome =
  | { kind: 'checked'; verdictKey: string; compliant: boolean; error?: string; destinationsKey?: string }
  | { kind: 'duplicate'; verdictKey: string }
  /** The stored verdict judges a later event of the key (a newer upload): it is kept, nothing is written. */
  | { kind: 'superseded'; verdictKey: string; storedSequencer: string };

/** Decodes an object key as S3 event notifications write it: URL-encoded, `+` for space. */
export function decodeEventKey(raw: string): string {
  return decodeURIComponent(raw.replace(/\+/g, ' '));
}

/**
 * The verdict key of an upload key. Keys are kept whole under the verdict prefix; `..` and empty
 * segments cannot climb out of it, because S3 keys are flat strings, not paths.
 */
export function verdictKeyOf(prefix: string, key: string): string {
  return `${prefix}${key}.verdict.json`;
}

/** Content type of the HTML report. */
export const HTML_CONTENT_TYPE = 'text/html; charset=utf-8';

/** The HTML report's key beside a verdict: `<prefix><key>.report.html`. */
export function reportKeyOf(verdictKey: string): string {
  return `${verdictKey.replace(/\.verdict\.json$/, '')}.report.html`;
}

/** A verdict stored in S3: which object version it judged, its text, and its ETag (to replace it conditionally). */
interface StoredVerdict {
  readonly source: Record<string, unknown>;
  readonly text: string;
  readonly etag: string | undefined;
}

/** The verdict stored under `key`, or null when there is none. */
async function existingVerdict(client: S3Client, bucket: string, key: string): Promise<StoredVerdict | null> {
  try {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const text = await out.Body!.transformToString('utf8');
    const etag = unquoteEtag(out.ETag);
    try {
      const v = JSON.parse(text) as { input?: { source?: Record<string, unknown> } };
      return { source: v.input?.source ?? {}, text, etag };
    } catch {
      return { source: {}, text, etag };
    }
  } catch (err) {
    if (httpStatusOf(err) === 404 || errorCodeOf(err) === 'NoSuchKey') return null;
    throw err;
  }
}

async function existingVerdictSource(client: S3Client, bucket: string, key: string): Promise<Record<string, unknown> | null> {
  return (await existingVerdict(client, bucket, key))?.source ?? null;
}

/** Writes the HTML report of a verdict beside it. */
async function putReport(client: S3Client, bucket: string, verdictKey: string, verdict: Verdict): Promise<void> {
  await client.send(
    new PutObjectCommand({ Bucket: bucket, Key: reportKeyOf(verdictKey), Body: renderHtmlReport(verdict), ContentType: HTML_CONTENT_TYPE }),
  );
}

/**
 * On a duplicate delivery: if the earlier attempt stored the verdict but failed before its report,
 * write the report now from the stored verdict (otherwise the retry would never write it).
 */
async function ensureReport(client: S3Client, bucket: string, verdictKey: string, verdictText: string): Promise<void> {
  try {
    await client.send(new HeadObjectCommand({ Bucket: bucket, Key: reportKeyOf(verdictKey) }));
    return;
  } catch (err) {
    if (httpStatusOf(err) !== 404 && errorCodeOf(err) !== 'NotFound') throw err;
  }
  let verdict: Verdict;
  try {
    verdict = JSON.parse(verdictText) as Verdict;
  } catch {
    return; // Not ours to repair: the stored verdict is not JSON.
  }
  await putReport(client, bucket, verdictKey, verdict);
}

function sameObject(source: Record<string, unknown>, ref: { versionId?: string; etag?: string }): boolean {
  if (ref.versionId && source.versionId) return source.versionId === ref.versionId;
  return ref.etag !== undefined && source.etag === ref.etag;
}

/**
 * Orders two S3 event sequencers of the same key: negative when `a` is the earlier event, zero
 * when they are equal. S3 writes them as hex strings of varying length, to be compared after
 * right-padding the shorter with zeros; they order nothing across keys.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
 */
export function compareSequencers(a: string, b: string): number {
  const width = Math.max(a.length, b.length);
  const x = a.toUpperCase().padEnd(width, '0');
  const y = b.toUpperCase().padEnd(width, '0');
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The sequencer of a stored verdict when it judged a later event of the key than `sequencer`,
 * else null. Either side without a sequencer (a verdict written before they were recorded, an
 * event written by hand) orders nothing.
 */
function laterSequencer(source: Record<string, unknown>, sequencer: string | undefined): string | null {
  const stored = source.sequencer;
  if (typeof stored !== 'string' || stored === '' || sequencer === undefined) return null;
  return compareSequencers(sequencer, stored) < 0 ? stored : null;
}

/** Where {@link checkS3Object} writes. */
export interface CheckTarget {
  verdictBucket: string;
  verdictPrefix: string;
  /**
   * Prefix (in the verdict bucket) of the destinations JSON Lines.
   * @default DEFAULT_DESTINATIONS_PREFIX
   */
  destinationsPrefix?: string;
  /** Distinct destinations after which a log is refused (an error verdict). @default the engine's */
  maxDestinations?: number;
  /** What the parsers are told (RESIDENCY_VPC_FORMAT's fields). */
  parserOptions?: ParserOptions;
  shouldStop?: () => boolean;
}

/**
 * Checks one object and writes its verdict to `verdictBucket/verdictPrefix<key>.verdict.json`,
 * then its HTML report beside it and its destinations as JSON Lines under the destinations prefix.
 * The same object version checked twice yields one verdict (and writes whichever of the other two
 * the first attempt did not). A log that cannot be read is the user's error: an error verdict is
 * written and nothing is thrown. S3 faults are thrown, so the message is retried (and
 * dead-lettered if they persist).
 */
export async function checkS3Object(
  client: S3Client,
  resources: CheckResources,
  target: CheckTarget,
  ref: ObjectRef,
  now: () => Date = () => new Date(),
): Promise<CheckOutcome> {
  const slot = await verdictSlot(client, target, ref);
  if (holds(slot, ref)) return completeDuplicate(client, slot);
  const superseded = supersededBy(slot, ref);
  if (superseded !== null) return superseded;

  const policy = await resources.getPolicy();
  const databases = await resources.getDatabases();
  const operator = resources.getOperator();
  let verdict: Verdict;
  try {
    const object = await openS3Object(client, ref.bucket, ref.key, ref.versionId ? { versionId: ref.versionId } : {});
    const source = {
      bucket: ref.bucket,
      key: ref.key,
      versionId: object.versionId ?? ref.versionId ?? null,
      etag: object.etag ?? (ref.etag ? unquoteEtag(ref.etag) ?? null : null),
      sequencer: ref.sequencer ?? null,
    };
    if (holds(slot, { versionId: source.versionId ?? undefined, etag: source.etag ?? undefined })) {
      object.close();
      return completeDuplicate(client, slot);
    }
    verdict = await runCheck(object.body, {
      name: ref.key,
      policy,
      databases,
      operator,
      toolVersion: TOOL_VERSION,
      now: now(),
      source,
      ...(target.maxDestinations ? { maxDestinations: target.maxDestinations } : {}),
      ...(target.parserOptions ? { parserOptions: target.parserOptions } : {}),
      ...(target.shouldStop ? { shouldStop: target.shouldStop } : {}),
    });
  } catch (err) {
    if (!(err instanceof S3ObjectNotFoundError)) throw err;
    // Deleted (or never readable) before we got to it: permanent, so say so instead of retrying.
    verdict = buildErrorOnlyVerdict(`${ref.key}: object no longer exists in s3://${ref.bucket}`, {
      name: ref.key,
      policy,
      databases,
      operator,
      toolVersion: TOOL_VERSION,
      now: now(),
      source: { bucket: ref.bucket, key: ref.key, versionId: ref.versionId ?? null, etag: ref.etag ?? null, sequencer: ref.sequencer ?? null },
    });
  }
  return writeVerdict(client, slot, ref, verdict);
}

/** Where an object's verdict goes, and the verdict stored there now. */
interface VerdictSlot {
  readonly bucket: string;
  readonly verdictKey: string;
  readonly destinationsPrefix: string;
  readonly stored: StoredVerdict | null;
}

async function verdictSlot(
  client: S3Client,
  target: Pick<CheckTarget, 'verdictBucket' | 'verdictPrefix' | 'destinationsPrefix'>,
  ref: ObjectRef,
): Promise<VerdictSlot> {
  const verdictKey = verdictKeyOf(target.verdictPrefix, ref.key);
  return {
    bucket: target.verdictBucket,
    verdictKey,
    destinationsPrefix: target.destinationsPrefix ?? DEFAULT_DESTINATIONS_PREFIX,
    stored: await existingVerdict(client, target.verdictBucket, verdictKey),
  };
}

/** Whether the slot already holds the verdict of this object version. */
function holds(slot: VerdictSlot, judged: { versionId?: string; etag?: string }): boolean {
  return slot.stored !== null && sameObject(slot.stored.source, judged);
}

/**
 * The outcome of a delivery of an earlier event than the one the stored verdict judged (S3 does
 * not deliver in order, SQS redelivers late): the newer upload's verdict is kept. Null when the
 * slot is empty, judges an earlier event, or either side has no sequencer.
 */
function supersededBy(slot: VerdictSlot, ref: Pick<ObjectRef, 'sequencer'>): CheckOutcome | null {
  const later = slot.stored === null ? null : laterSequencer(slot.stored.source, ref.sequencer);
  return later === null ? null : { kind: 'superseded', verdictKey: slot.verdictKey, storedSequencer: later };
}

/**
 * The outcome of a delivery whose verdict is already stored: writes whichever of its report and
 * its destinations an earlier attempt did not get to.
 */
async function completeDuplicate(client: S3Client, slot: VerdictSlot): Promise<CheckOutcome> {
  const text = slot.stored!.text;
  await ensureReport(client, slot.bucket, slot.verdictKey, text);
  await ensureDestinations(client, slot.bucket, slot.destinationsPrefix, slot.verdictKey, text);
  return { kind: 'duplicate', verdictKey: slot.verdictKey };
}

/**
 * Writes a verdict, its report and its destinations: with `If-None-Match: *` when the key has none
 * yet, with `If-Match` on the stored verdict's ETag when replacing it (as a new version), so a
 * concurrent delivery of the same object version never writes a second verdict.
 */
async function writeVerdict(client: S3Client, slot: VerdictSlot, ref: ObjectRef, verdict: Verdict): Promise<CheckOutcome> {
  const { bucket, verdictKey, destinationsPrefix } = slot;
  const body = verdictBytes(verdict);
  if (slot.stored === null) {
    // First verdict for this key: a concurrent duplicate delivery may be writing the same one.
    const written = await putIfAbsent(client, bucket, verdictKey, body);
    if (!written) return afterLostRace(client, slot, ref, verdict);
  } else {
    // A newer version of the object: the bucket keeps (and locks) the earlier verdict's version.
    // Only if the verdict is still the one read: two deliveries of this version at once both read
    // the earlier verdict, and only one may write (one verdict, one destinations object).
    if (slot.stored.etag === undefined) {
      throw new S3AdapterError(`${formatS3Url(bucket, verdictKey)}: S3 returned no ETag for the stored verdict, so it cannot be replaced conditionally`);
    }
    const written = await putIfUnchanged(client, bucket, verdictKey, body, slot.stored.etag);
    if (!written) return afterLostRace(client, slot, ref, verdict);
  }
  // The report and the destinations are views of the verdict just written, so they follow it (the
  // report a plain overwrite, the destinations write-once under a key of their own). Should either
  // write fail, the message is retried and the duplicate path above writes what is missing.
  await putReport(client, bucket, verdictKey, verdict);
  const destinations = await putDestinations(client, bucket, destinationsPrefix, verdictKey, verdict);
  return {
    kind: 'checked',
    verdictKey,
    compliant: verdict.compliant,
    ...(verdict.error ? { error: verdict.error } : {}),
    ...(destinations.kind === 'none' ? {} : { destinationsKey: destinations.key }),
  };
}

/**
 * The outcome of a verdict write that S3 refused because another delivery wrote the key since we
 * looked (`If-None-Match` or `If-Match` failed). A duplicate if the winner judged the same object version; superseded if it judged a
 * later event of the key. A verdict about an earlier upload (an overwrite's two notifications
 * racing) must not swallow ours: thrown, so the message is retried and its retry replaces it.
 */
async function afterLostRace(client: S3Client, slot: VerdictSlot, ref: ObjectRef, verdict: Verdict): Promise<CheckOutcome> {
  const { bucket, verdictKey } = slot;
  const winner = await existingVerdictSource(client, bucket, verdictKey);
  const judged = verdict.input.source ?? {};
  if (winner && sameObject(winner, { versionId: judged.versionId ?? undefined, etag: judged.etag ?? undefined })) {
    return { kind: 'duplicate', verdictKey };
  }
  const later = winner === null ? null : laterSequencer(winner, ref.sequencer);
  if (later !== null) return { kind: 'superseded', verdictKey, storedSequencer: later };
  throw new S3AdapterError(
    `${formatS3Url(bucket, verdictKey)}: written meanwhile with the verdict of another version of ${formatS3Url(ref.bucket, ref.key)}; retry to replace it`,
  );
}

/**
 * Why the object version `ref` names needs no check: its verdict is stored (`judged`), or that of
 * a later event of the key (`superseded`); null when it needs one.
 */
export async function settledVerdict(
  client: S3Client,
  target: { verdictBucket: string; verdictPrefix: string },
  ref: ObjectRef,
): Promise<'judged' | 'superseded' | null> {
  const existing = await existingVerdictSource(client, target.verdictBucket, verdictKeyOf(target.verdictPrefix, ref.key));
  if (existing === null) return null;
  if (sameObject(existing, ref)) return 'judged';
  return laterSequencer(existing, ref.sequencer) === null ? null : 'superseded';
}

/**
 * Stores a verdict made elsewhere (a split check's merge) exactly as {@link checkS3Object} stores
 * its own: one verdict per object version, the report beside it, its destinations as JSON Lines.
 */
export async function storeVerdict(
  client: S3Client,
  target: Pick<CheckTarget, 'verdictBucket' | 'verdictPrefix' | 'destinationsPrefix'>,
  ref: ObjectRef,
  verdict: Verdict,
): Promise<CheckOutcome> {
  const slot = await verdictSlot(client, target, ref);
  if (holds(slot, ref)) return completeDuplicate(client, slot);
  return supersededBy(slot, ref) ?? writeVerdict(client, slot, ref, verdict);
}
