/**
 * The steps of the split check of one large S3 object, as the state machine runs them
 * (lib/constructs/big-log-check.ts): plan → (check each range ∥ hash the whole object) → merge
 * (→ check stale ranges again → merge) → verdict; or one pass for a log that cannot be split.
 * Every step reads the object version the plan pinned, keeps its state under the execution's
 * prefix in the work bucket, and is safe to run again (Step Functions retries a failed step).
 */
import { HeadObjectCommand, PutObjectCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { CheckOptions } from '../engine/check';
import { checkPart, type PartResult, type PartSpec } from '../engine/split/check-part';
import { hashStream, readHead } from '../engine/split/check-split';
import { mergeParts } from '../engine/split/merge';
import { PLAN_HEAD_BYTES, planSplit, type PartRange, type SplitPlan } from '../engine/split/plan';
import type { ParserOptions } from '../engine/types';
import { TOOL_VERSION } from '../version';
import { checkS3Object, settledVerdict, storeVerdict, type ObjectRef } from './s3-check-object';
import type { CheckResources } from './s3-check-resources';
import { httpStatusOf, S3ObjectNotFoundError } from './s3-errors';
import { unquoteEtag } from './s3-etag';
import { openS3Object } from './s3-log-source';
import { formatS3Url } from './s3-url';
import { JSON_CONTENT_TYPE } from './s3-verdict-sink';

/** Where the steps keep their state, and where verdicts go. */
export interface BigLogTarget {
  readonly verdictBucket: string;
  readonly verdictPrefix: string;
  readonly workBucket: string;
  readonly partBytes: number;
  /** What the parsers are told (RESIDENCY_VPC_FORMAT's fields), in every range as in one pass. */
  readonly parserOptions?: ParserOptions;
}

/** The object, pinned by the plan to the version (or ETag) it planned. */
export type PinnedObject = Required<Pick<ObjectRef, 'bucket' | 'key'>> & { versionId?: string; etag?: string; size?: number; sequencer?: string };

/** A range as the state machine hands it to a worker; `spec` names a stored context for a second check. */
export interface RangeItem extends PartRange {
  readonly spec?: string;
}

/** What the plan step returns to the state machine. */
export interface PlanStepResult {
  readonly mode: 'split' | 'whole' | 'done';
  readonly reason: string | null;
  readonly object: PinnedObject;
  /** Key prefix of this execution's state in the work bucket. */
  readonly work: string;
  readonly parts: readonly RangeItem[];
}

/** What the merge step returns. */
export type MergeStepResult =
  | { readonly status: 'done'; readonly verdictKey: string; readonly compliant: boolean | null }
  | { readonly status: 'recheck'; readonly parts: readonly RangeItem[]; readonly round: number }
  | { readonly status: 'whole'; readonly reason: string };

interface StoredPlan {
  readonly object: PinnedObject;
  readonly plan: SplitPlan;
}

/** Work-bucket key prefix of one execution. */
export function workPrefixOf(execution: string): string {
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(execution)) throw new Error(`execution name ${JSON.stringify(execution)} is not a Step Functions name`);
  return `work/${execution}/`;
}

async function putJson(client: S3Client, bucket: string, key: string, value: unknown): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(value), ContentType: JSON_CONTENT_TYPE }));
}

async function getJson<T>(client: S3Client, bucket: string, key: string): Promise<T> {
  try {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return JSON.parse(await out.Body!.transformToString('utf8')) as T;
  } catch (err) {
    if (httpStatusOf(err) === 404) throw new S3ObjectNotFoundError(`${formatS3Url(bucket, key)}: no such object`, { cause: err });
    throw err;
  }
}

/** Read options that pin the planned version of the object. */
function pin(object: PinnedObject): { versionId?: string; ifMatch?: string } {
  if (object.versionId) return { versionId: object.versionId };
  return object.etag ? { ifMatch: object.etag } : {};
}

/** The options every check of this object uses (the merge's `now` is the verdict's time). */
async function checkOptionsOf(resources: CheckResources, target: BigLogTarget, object: PinnedObject, now: Date): Promise<CheckOptions> {
  return {
    ...(target.parserOptions ? { parserOptions: target.parserOptions } : {}),
    name: object.key,
    policy: await resources.getPolicy(),
    databases: await resources.getDatabases(),
    operator: resources.getOperator(),
    toolVersion: TOOL_VERSION,
    now,
    source: { bucket: object.bucket, key: object.key, versionId: object.versionId ?? null, etag: object.etag ?? null, sequencer: object.sequencer ?? null },
  };
}

/**
 * Plans the check: nothing to do when the object version has a verdict already; else reads its
 * head, and splits it into ranges, or marks it for one pass when its format cannot be split.
 */
export async function planStep(client: S3Client, target: BigLogTarget, ref: ObjectRef, execution: string): Promise<PlanStepResult> {
  const work = workPrefixOf(execution);
  let head: { ContentLength?: number; VersionId?: string; ETag?: string };
  try {
    head = await client.send(new HeadObjectCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId }));
  } catch (err) {
    if (httpStatusOf(err) !== 404) throw err;
    // Gone before its check: one pass writes the verdict that says so, as the checker does.
    return { mode: 'whole', reason: 'the object no longer exists', object: { bucket: ref.bucket, key: ref.key, ...optional(ref) }, work, parts: [] };
  }
  const object: PinnedObject = {
    bucket: ref.bucket,
    key: ref.key,
    ...(head.VersionId ? { versionId: head.VersionId } : ref.versionId ? { versionId: ref.versionId } : {}),
    ...(unquoteEtag(head.ETag) ? { etag: unquoteEtag(head.ETag)! } : ref.etag ? { etag: unquoteEtag(ref.etag)! } : {}),
    size: head.ContentLength ?? 0,
    ...(ref.sequencer ? { sequencer: ref.sequencer } : {}),
  };
  const settled = await settledVerdict(client, target, object);
  if (settled !== null) {
    const reason = settled === 'judged' ? 'verdict already written' : 'verdict of a newer version already written';
    return { mode: 'done', reason, object, work, parts: [] };
  }
  const opened = await openS3Object(client, object.bucket, object.key, pin(object));
  const bytes = await readHead(opened.body, PLAN_HEAD_BYTES);
  let plan;
  try {
    plan = planSplit(bytes, object.size ?? 0, { partBytes: target.partBytes, ...(target.parserOptions ? { parserOptions: target.parserOptions } : {}) });
  } catch (err) {
    return { mode: 'whole', reason: err instanceof Error ? err.message : String(err), object, work, parts: [] };
  }
  if ('whole' in plan) return { mode: 'whole', reason: plan.reason, object, work, parts: [] };
  await putJson(client, target.workBucket, `${work}plan.json`, { object, plan } satisfies StoredPlan);
  return { mode: 'split', reason: null, object, work, parts: plan.parts.map(({ index, start, end }) => ({ index, start, end })) };
}

function optional(ref: ObjectRef): { versionId?: string; etag?: string; sequencer?: string } {
  return {
    ...(ref.versionId ? { versionId: ref.versionId } : {}),
    ...(ref.etag ? { etag: ref.etag } : {}),
    ...(ref.sequencer ? { sequencer: ref.sequencer } : {}),
  };
}

/** Checks one range (a Range GET from the byte before it) and stores its result. */
export async function rangeStep(
  client: S3Client,
  resources: CheckResources,
  target: BigLogTarget,
  work: string,
  item: RangeItem,
  shouldStop?: () => boolean,
): Promise<{ index: number }> {
  const { object, plan } = await getJson<StoredPlan>(client, target.workBucket, `${work}plan.json`);
  const spec: PartSpec = item.spec
    ? await getJson<PartSpec>(client, target.workBucket, item.spec)
    : { index: item.index, start: item.start, end: item.end, context: item.index === 0 ? [] : plan.context };
  const from = Math.max(0, spec.start - 1);
  const options = await checkOptionsOf(resources, target, object, new Date(0));
  let result: PartResult;
  if (from >= (object.size ?? 0)) {
    result = await checkPart((async function* () {})(), plan, spec, options);
  } else {
    const opened = await openS3Object(client, object.bucket, object.key, { ...pin(object), fromByte: from });
    result = await checkPart(opened.body, plan, spec, { ...options, ...(shouldStop ? { shouldStop } : {}) });
  }
  await putJson(client, target.workBucket, `${work}part-${spec.index}.json`, result);
  return { index: spec.index };
}

/** SHA-256 and size of the whole object, streamed once (in parallel with the ranges). */
export async function hashStep(client: S3Client, object: PinnedObject): Promise<{ sha256: string; bytes: number }> {
  const opened = await openS3Object(client, object.bucket, object.key, pin(object));
  return hashStream(opened.body);
}

/**
 * Merges the ranges' results. Writes the verdict (once per object version, with its report, as
 * the checker does); or asks for stale ranges to be checked again; or for one pass.
 */
export async function mergeStep(
  client: S3Client,
  resources: CheckResources,
  target: BigLogTarget,
  work: string,
  whole: { sha256: string; bytes: number },
  round: number,
  now: Date = new Date(),
): Promise<MergeStepResult> {
  const { object, plan } = await getJson<StoredPlan>(client, target.workBucket, `${work}plan.json`);
  const parts = await Promise.all(plan.parts.map((p) => getJson<PartResult>(client, target.workBucket, `${work}part-${p.index}.json`)));
  const options = await checkOptionsOf(resources, target, object, now);
  const outcome = mergeParts(plan, parts, whole, options);
  if (outcome.kind === 'whole') return { status: 'whole', reason: outcome.reason };
  if (outcome.kind === 'recheck') {
    if (round >= plan.parts.length) throw new Error(`split check of ${formatS3Url(object.bucket, object.key)}: ranges still stale after ${round} rounds`);
    const items: RangeItem[] = [];
    for (const spec of outcome.parts) {
      const key = `${work}recheck-${round + 1}-${spec.index}.json`;
      await putJson(client, target.workBucket, key, spec);
      items.push({ index: spec.index, start: spec.start, end: spec.end, spec: key });
    }
    return { status: 'recheck', parts: items, round: round + 1 };
  }
  const stored = await storeVerdict(client, target, object, outcome.verdict);
  return { status: 'done', verdictKey: stored.verdictKey, compliant: stored.kind === 'checked' ? stored.compliant : null };
}

/** Checks the object in one pass, exactly as the checker function does. */
export async function wholeStep(
  client: S3Client,
  resources: CheckResources,
  target: BigLogTarget,
  object: PinnedObject,
  shouldStop?: () => boolean,
): Promise<{ status: 'done'; verdictKey: string }> {
  const outcome = await checkS3Object(client, resources, { ...target, ...(shouldStop ? { shouldStop } : {}) }, object);
  return { status: 'done', verdictKey: outcome.verdictKey };
}
