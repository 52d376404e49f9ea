/**
 * The audit function: re-checks the logs under the configured prefixes of the upload bucket with
 * today's databases and policy, diffs each against its previous verdict, and writes
 * `audits/<timestamp>/summary.json` (+ .md, .html) and the verdicts of the run to the verdict
 * bucket. One handler, four modes (see {@link parseAuditEvent}):
 *
 * - `run`: the whole audit in one invocation, within its time budget; a run that cannot finish
 *   says so in its summary (`complete: false`, the logs not reached listed as not checked).
 * - `plan`, a Distributed Map batch, `reduce`: the steps of the audit state machine, for prefixes
 *   too large for one invocation (lib/constructs/audit-state-machine.ts).
 *
 * The per-log step and the summary are the engine's (lambda/engine/audit), shared with
 * `residency audit`.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  failedBatches,
  itemEtag,
  itemLastModified,
  parseAuditEvent,
  unfinishedResultFiles,
  type AuditPlan,
  type CaughtError,
  type MapRunOutput,
  type MapS3Item,
} from './audit-events';
import { loadAuditConfig, type AuditConfig } from './config';
import { auditRoot, classifyAuditKey } from './engine/audit/audit-paths';
import { auditLog, forEachLimited, type AuditLogOptions } from './engine/audit/audit-log';
import { newestVerdict } from './engine/audit/previous';
import { AuditSummarizer, notCheckedOutcome, type AuditOutcome, type AuditSummary } from './engine/audit/summary';
import { TOOL_VERSION } from './version';
import { createS3Client } from './adapters/s3-client';
import { CheckResources } from './adapters/s3-check-resources';
import { findBaselineRuns, listAuditObjects, S3AuditRun, S3VerdictFolder, scanAuditPrefixes, skippedCount, type AuditObject } from './adapters/s3-audit';
import { S3ObjectNotFoundError } from './adapters/s3-errors';
import { openS3Object } from './adapters/s3-log-source';
import { formatS3Url } from './adapters/s3-url';

/** Time kept in reserve at the end of an invocation to write the outcomes and the summary. */
export const AUDIT_STOP_MARGIN_MS = 30_000;
/**
 * Longest a batch works, whatever the function timeout: a Distributed Map child execution of type
 * EXPRESS is stopped after 5 minutes.
 */
export const BATCH_BUDGET_MS = 4 * 60_000;
/** Logs checked at a time in one invocation: S3 latency, not CPU, bounds one at a time. */
export const AUDIT_CONCURRENCY = 8;

/** The part of Lambda's context the handler uses. */
export interface AuditContext {
  getRemainingTimeInMillis(): number;
}

/** One structured log line (the function's log format is JSON). */
function log(level: 'INFO' | 'WARN' | 'ERROR', message: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ level, message, ...fields });
  if (level === 'ERROR') console.error(line);
  else console.log(line);
}

interface Runtime {
  client: S3Client;
  config: AuditConfig;
  resources: CheckResources;
}

let runtime: Runtime | null = null;
let makeClient: (env: NodeJS.ProcessEnv) => S3Client = (env) => createS3Client(env);

function getRuntime(): Runtime {
  if (runtime === null) {
    const config = loadAuditConfig(process.env);
    const client = makeClient(process.env);
    runtime = { client, config, resources: new CheckResources(client, config) };
  }
  return runtime;
}

/** Forgets the container state (tests change the environment between cases). */
export function resetAuditRuntime(options: { createClient?: (env: NodeJS.ProcessEnv) => S3Client } = {}): void {
  runtime?.client.destroy();
  runtime = null;
  makeClient = options.createClient ?? ((env) => createS3Client(env));
}

/** A deadline `budgetMs` from now, or the invocation's end less the margin, whichever is sooner. */
function deadlineOf(context: AuditContext | undefined, budgetMs = Infinity): () => boolean {
  const end = Math.min(Date.now() + budgetMs, context ? Date.now() + context.getRemainingTimeInMillis() - AUDIT_STOP_MARGIN_MS : Infinity);
  return () => Date.now() > end;
}

/**
 * The earlier verdicts of a run, newest first: the earlier runs' down to the newest complete run
 * (one that stopped early holds verdicts for only some logs), then the checker's verdicts of the
 * uploads (`<verdict prefix><key>.verdict.json`) for logs no run has checked. Each log is compared
 * with the first of these that holds its verdict.
 */
async function baselinesOf(rt: Runtime, runPrefix: string): Promise<string[]> {
  const { client, config } = rt;
  const runs = await findBaselineRuns(client, config.verdictBucket, config.auditOutputPrefix, runPrefix);
  return [...runs.map((run) => `${run}verdicts/`), `${config.verdictPrefix}${auditRoot(config.auditPrefixes)}`];
}

/** A new plan: a run folder named after the start time, and the earlier verdicts to compare with. */
async function makePlan(rt: Runtime, startedAt: Date): Promise<AuditPlan> {
  const { client, config } = rt;
  const run = await S3AuditRun.create(client, config.verdictBucket, config.auditOutputPrefix, startedAt);
  const baselines = await baselinesOf(rt, run.runPrefix);
  return {
    runPrefix: run.runPrefix,
    startedAt: startedAt.toISOString(),
    auditBucket: config.auditBucket,
    prefixes: [...config.auditPrefixes],
    verdictBucket: config.verdictBucket,
    previous: baselines[0] ?? null,
    baselines,
  };
}

/** What the check of one log in S3 needs. */
interface AuditTarget {
  run: S3AuditRun;
  /** The earlier verdicts, newest first. */
  previous: S3VerdictFolder[];
  options: Omit<AuditLogOptions, 'readFailure'>;
}

async function auditTarget(rt: Runtime, plan: AuditPlan, shouldStop: () => boolean): Promise<AuditTarget> {
  const [policy, databases] = [await rt.resources.getPolicy(), await rt.resources.getDatabases()];
  return {
    run: new S3AuditRun(rt.client, plan.verdictBucket, plan.runPrefix),
    previous: (plan.baselines ?? (plan.previous === null ? [] : [plan.previous])).map((prefix) => new S3VerdictFolder(rt.client, plan.verdictBucket, prefix)),
    options: {
      policy,
      databases,
      operator: rt.resources.getOperator(),
      toolVersion: TOOL_VERSION,
      now: () => new Date(),
      shouldStop,
      ...(rt.config.maxDestinations ? { maxDestinations: rt.config.maxDestinations } : {}),
      ...(rt.config.parserOptions ? { parserOptions: rt.config.parserOptions } : {}),
    },
  };
}

/**
 * How a failure to read a log is taken: `batch`, only a log deleted since it was listed is that
 * log's error, anything else (throttling, access) fails the batch, which Step Functions retries;
 * `run`, with no one to retry, every read failure is that log's error and the others go on.
 */
type ReadFailures = 'batch' | 'run';

/** Checks one log of the upload bucket; its verdict goes to the run folder. */
function auditObject(
  rt: Runtime,
  plan: AuditPlan,
  target: AuditTarget,
  object: { key: string; path: string },
  readFailures: ReadFailures,
): Promise<AuditOutcome> {
  const { key, path } = object;
  const bucket = plan.auditBucket;
  const url = formatS3Url(bucket, key);
  return auditLog(
    path,
    {
      open: async () => {
        const opened = await openS3Object(rt.client, bucket, key);
        return { body: opened.body, source: { bucket, key, versionId: opened.versionId ?? null, etag: opened.etag ?? null } };
      },
      readPrevious: async () => newestVerdict(target.previous, path),
      writeVerdict: async (verdict) => target.run.writeVerdict(path, verdict),
    },
    {
      ...target.options,
      readFailure: (err) => {
        if (err instanceof S3ObjectNotFoundError) return `${url}: object no longer exists`;
        if (readFailures === 'batch') return null;
        return `${url}: read failed (${err instanceof Error ? `${err.name}: ${err.message}` : String(err)})`;
      },
    },
  );
}

/** The summarizer of a run. */
function summarizerOf(plan: AuditPlan): AuditSummarizer {
  return new AuditSummarizer({
    directory: formatS3Url(plan.auditBucket, auditRoot(plan.prefixes)),
    previous: plan.previous === null ? null : formatS3Url(plan.verdictBucket, plan.previous),
    toolVersion: TOOL_VERSION,
    startedAt: new Date(plan.startedAt),
  });
}

/** What the run and reduce modes return (and the state machine's last step reads). */
export interface AuditResult {
  summary: string;
  complete: boolean;
  totals: AuditSummary['totals'];
}

async function finish(rt: Runtime, plan: AuditPlan, summarizer: AuditSummarizer): Promise<AuditResult> {
  const summary = summarizer.summary(new Date());
  const key = await new S3AuditRun(rt.client, plan.verdictBucket, plan.runPrefix).writeSummary(summary);
  const t = summary.totals;
  log(summary.complete ? 'INFO' : 'WARN', 'audit summary written', {
    summary: formatS3Url(plan.verdictBucket, key),
    complete: summary.complete,
    incompleteReason: summary.incompleteReason,
    logs: t.logs,
    compliant: t.compliant,
    nonCompliant: t.nonCompliant,
    errors: t.errors,
    notChecked: t.notChecked,
  });
  return { summary: formatS3Url(plan.verdictBucket, key), complete: summary.complete, totals: t };
}

/** `run`: the whole audit in this invocation, as far as its time budget goes. */
async function runAudit(rt: Runtime, context: AuditContext | undefined): Promise<AuditResult> {
  const shouldStop = deadlineOf(context);
  const plan = await makePlan(rt, new Date());
  const summarizer = summarizerOf(plan);
  const listing = await listAuditObjects(rt.client, plan.auditBucket, plan.prefixes, { shouldStop });
  summarizer.addSkipped(skippedCount(listing));
  if (!listing.complete) {
    const last = listing.objects[listing.objects.length - 1];
    summarizer.markIncomplete(
      `the listing stopped after ${listing.objects.length} logs (time budget); logs after ${last ? formatS3Url(plan.auditBucket, last.key) : 'the first page'} were not found`,
    );
  }
  const target = await auditTarget(rt, plan, shouldStop);
  const notReached = await forEachLimited(listing.objects, AUDIT_CONCURRENCY, async (o) => {
    summarizer.addOutcome(await auditObject(rt, plan, target, o, 'run'));
  }, shouldStop);
  for (const o of notReached) summarizer.addOutcome(notCheckedOutcome(o.path, 'not reached before the time budget of the invocation ran out'));
  if (notReached.length > 0) summarizer.markIncomplete(`time budget: ${notReached.length} of ${listing.objects.length} logs were not reached`);
  return finish(rt, plan, summarizer);
}

/** The id of a batch: the same items give the same id, so a retried batch replaces its own outcomes. */
function batchId(items: readonly MapS3Item[]): string {
  const hash = createHash('sha256');
  for (const item of items) hash.update(`${item.Key}\n`);
  return hash.digest('hex').slice(0, 32);
}

/** What a batch returns to the Map state (its outcomes are in the run folder, not here). */
export interface BatchResult {
  batch: string;
  logs: number;
  notChecked: number;
  skipped: number;
}

/** A Distributed Map batch: check each log of it, write the outcomes to `batches/<id>.json`. */
async function checkBatch(rt: Runtime, items: MapS3Item[], plan: AuditPlan, context: AuditContext | undefined): Promise<BatchResult> {
  const shouldStop = deadlineOf(context, BATCH_BUDGET_MS);
  const root = auditRoot(plan.prefixes);
  const logs: AuditObject[] = [];
  let skipped = 0;
  for (const item of items) {
    const found = classifyAuditKey(item.Key, root, plan.prefixes);
    if (found.kind === 'skip') skipped += 1;
    else logs.push({ key: item.Key, path: found.path, size: item.Size ?? 0, etag: itemEtag(item), lastModified: itemLastModified(item) });
  }
  const target = await auditTarget(rt, plan, shouldStop);
  const outcomes: AuditOutcome[] = [];
  const notReached = await forEachLimited(logs, AUDIT_CONCURRENCY, async (o) => {
    outcomes.push(await auditObject(rt, plan, target, o, 'batch'));
  }, shouldStop);
  for (const o of notReached) outcomes.push(notCheckedOutcome(o.path, 'not reached before the time budget of its batch ran out'));
  const id = batchId(items);
  await target.run.writeBatch(id, outcomes);
  log(notReached.length > 0 ? 'WARN' : 'INFO', 'audit batch written', { batch: id, logs: logs.length, notChecked: notReached.length, skipped });
  return { batch: id, logs: logs.length, notChecked: notReached.length, skipped };
}

/** The keys of the batches that failed or never finished, with why, from the ResultWriter manifest. */
async function unfinishedBatches(client: S3Client, map: MapRunOutput | null): Promise<Map<string, string>> {
  const reasons = new Map<string, string>();
  const details = map?.ResultWriterDetails;
  if (!details) return reasons;
  const read = async (key: string): Promise<string> =>
    (await (await client.send(new GetObjectCommand({ Bucket: details.Bucket, Key: key }))).Body?.transformToString('utf8')) ?? '';
  for (const file of unfinishedResultFiles(await read(details.Key))) {
    for (const batch of failedBatches(await read(file))) for (const key of batch.keys) reasons.set(key, batch.reason);
  }
  return reasons;
}

/**
 * `reduce`: the summary of a Distributed Map run. The audited prefixes are listed again, so a log
 * that no batch reported (its batch failed, or the map stopped before it) is in the summary as
 * not checked, never left out. Logs written after the run started belong to the next run.
 */
async function reduce(rt: Runtime, plan: AuditPlan, map: MapRunOutput | null, mapError: CaughtError | null, context: AuditContext | undefined): Promise<AuditResult> {
  const shouldStop = deadlineOf(context);
  const summarizer = summarizerOf(plan);
  const seen = new Set<string>();
  let notReached = 0;
  const batches = await new S3AuditRun(rt.client, plan.verdictBucket, plan.runPrefix).readBatches((outcome) => {
    if (seen.has(outcome.path)) return;
    seen.add(outcome.path);
    summarizer.addOutcome(outcome);
    if (outcome.notChecked) notReached += 1;
  });
  if (notReached > 0) summarizer.markIncomplete(`time budget: batches did not reach ${notReached} logs`);
  let failed = new Map<string, string>();
  try {
    failed = await unfinishedBatches(rt.client, map);
  } catch (err) {
    // The reasons are a courtesy: without them each log no batch reported still is in the summary.
    log('WARN', 'the map run results could not be read', { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
  const startedAt = new Date(plan.startedAt).getTime();
  let unreported = 0;
  let newerThanRun = 0;
  let listed = 0;
  for await (const key of scanAuditPrefixes(rt.client, plan.auditBucket, plan.prefixes)) {
    if (key.kind === 'skip') {
      summarizer.addSkipped();
    } else if (!seen.has(key.object.path) && (key.object.lastModified?.getTime() ?? 0) > startedAt) {
      // Written after the run started: the next run's.
      newerThanRun += 1;
    } else if (!seen.has(key.object.path)) {
      seen.add(key.object.path);
      summarizer.addOutcome(notCheckedOutcome(key.object.path, failed.get(key.object.key) ?? 'no batch reported it (the map run stopped before it)'));
      unreported += 1;
    }
    if (++listed % 1000 === 0 && shouldStop()) {
      summarizer.markIncomplete(`the listing for the summary stopped after ${listed} keys (time budget): logs no batch reported may be missing from it`);
      break;
    }
  }
  if (unreported > 0) summarizer.markIncomplete(`${unreported} logs were not checked: no batch reported them`);
  if (mapError !== null) {
    const failure = `the Distributed Map failed (${[mapError.Error, mapError.Cause].filter(Boolean).join(': ').slice(0, 300)})`;
    // The run is complete when every log was checked, even if the map run failed afterwards (say,
    // writing its own results): the summary is made from the batches' outcomes.
    if (unreported > 0 || notReached > 0) summarizer.markIncomplete(failure);
    else log('WARN', 'the map run failed after every log was checked', { error: failure });
  }
  log('INFO', 'audit batches read', { batches, logsReported: seen.size - unreported, newerThanRun });
  return finish(rt, plan, summarizer);
}

/** The Lambda entry point. */
export const handler = async (event: unknown, context?: AuditContext): Promise<unknown> => {
  const parsed = parseAuditEvent(event);
  const rt = getRuntime();
  switch (parsed.kind) {
    case 'run':
      return runAudit(rt, context);
    case 'plan': {
      const plan = await makePlan(rt, parsed.startedAt ?? new Date());
      log('INFO', 'audit planned', { run: formatS3Url(plan.verdictBucket, plan.runPrefix), previous: plan.previous });
      // The state the machine carries on: the plan, where the map run's results go, and the slots
      // the Map state and its Catch fill.
      return { plan, resultPrefix: `${plan.runPrefix}map`, map: null, mapError: null };
    }
    case 'batch':
      return checkBatch(rt, parsed.items, parsed.plan, context);
    case 'reduce':
      return reduce(rt, parsed.plan, parsed.map, parsed.mapError, context);
  }
};

