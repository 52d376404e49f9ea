/**
 * The checker function: SQS-wrapped S3 events (the deployed path) and direct S3 events. Thin:
 * event → object references → {@link checkS3Object} → batch response. A log the engine cannot
 * read gets an error verdict; an S3 fault fails only its own message, which SQS retries and
 * finally dead-letters.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { routeBigLog } from './adapters/big-log-route';
import { createS3Client } from './adapters/s3-client';
import { checkS3Object, decodeEventKey, type CheckOutcome, type ObjectRef } from './adapters/s3-check-object';
import { CheckResources } from './adapters/s3-check-resources';
import { loadConfig, type CheckerConfig } from './config';

/** An S3 event notification record (the fields the checker reads). */
export interface S3EventRecord {
  eventSource?: string;
  eventName?: string;
  s3: { bucket: { name: string }; object: { key: string; versionId?: string; eTag?: string; size?: number; sequencer?: string } };
}

/** An SQS message record. */
export interface SqsRecord {
  messageId: string;
  body: string;
  eventSource?: string;
}

/** What Lambda hands the function. */
export interface CheckerEvent {
  Records?: (SqsRecord | S3EventRecord)[];
}

/** Partial batch response: the messages to retry. */
export interface BatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** One structured log line (the function's log format is JSON). */
export function log(level: 'INFO' | 'WARN' | 'ERROR', message: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ level, message, ...fields });
  if (level === 'ERROR') console.error(line);
  else console.log(line);
}

/**
 * The S3 objects an SQS message body names (an S3 event, or none for `s3:TestEvent`).
 *
 * @throws when the body is not an S3 event notification (not JSON, an SNS envelope, another
 *   service's records): such a message must fail and end in the dead-letter queue, not be
 *   acknowledged without a verdict.
 */
export function objectsInMessage(body: string): ObjectRef[] {
  const event = JSON.parse(body) as { Event?: string; Records?: S3EventRecord[] } | null;
  if (event?.Event === 's3:TestEvent') return [];
  const records = event?.Records;
  if (!Array.isArray(records) || records.some((r) => typeof r?.s3?.bucket?.name !== 'string' || typeof r.s3.object?.key !== 'string')) {
    throw new Error('message is not an S3 event notification (expected Records[].s3.bucket.name and .s3.object.key)');
  }
  return records.map(objectRefOf);
}

/** A zero-byte key ending in `/`: what the S3 console's "Create folder" stores. */
function isFolderMarker(ref: ObjectRef): boolean {
  return ref.key.endsWith('/') && ref.size === 0;
}

function objectRefOf(r: S3EventRecord): ObjectRef {
  return {
    bucket: r.s3.bucket.name,
    key: decodeEventKey(r.s3.object.key),
    ...(r.s3.object.versionId ? { versionId: r.s3.object.versionId } : {}),
    ...(r.s3.object.eTag ? { etag: r.s3.object.eTag } : {}),
    ...(typeof r.s3.object.size === 'number' ? { size: r.s3.object.size } : {}),
    ...(isSequencer(r.s3.object.sequencer) ? { sequencer: r.s3.object.sequencer } : {}),
  };
}

/** Whether a record's `sequencer` is one S3 could have written: a hex string. */
function isSequencer(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9A-Fa-f]+$/.test(value);
}

const OUTCOME_MESSAGES: Record<CheckOutcome['kind'], string> = {
  checked: 'verdict written',
  duplicate: 'verdict already written',
  // A late (or redelivered) notification of an older upload of the key: its verdict must not
  // replace the newer upload's.
  superseded: 'verdict of a newer version already written',
};

interface Runtime {
  client: S3Client;
  config: CheckerConfig;
  resources: CheckResources;
}

/** Test hooks for {@link resetRuntime}. */
export interface RuntimeOptions {
  /**
   * Makes the container's S3 client, e.g. to add middleware in a test.
   * @default createS3Client(env)
   */
  createClient?: (env: NodeJS.ProcessEnv) => S3Client;
}

let runtime: Runtime | null = null;
let makeClient: (env: NodeJS.ProcessEnv) => S3Client = (env) => createS3Client(env);

/** The client, config and caches of this container, made on first use. */
function getRuntime(): Runtime {
  if (runtime === null) {
    const config = loadConfig(process.env);
    const client = makeClient(process.env);
    runtime = { client, config, resources: new CheckResources(client, config) };
  }
  return runtime;
}

/** Forgets the container state (tests change the environment between cases). */
export function resetRuntime(options: RuntimeOptions = {}): void {
  runtime?.client.destroy();
  runtime = null;
  makeClient = options.createClient ?? ((env) => createS3Client(env));
}

/** The part of Lambda's context the handler uses. */
export interface CheckerContext {
  getRemainingTimeInMillis(): number;
}

/**
 * Time kept in reserve at the end of an invocation to write a partial verdict (and the rest of the
 * batch's responses) before Lambda stops the function.
 */
export const STOP_MARGIN_MS = 15_000;

async function checkRef(rt: Runtime, ref: ObjectRef, shouldStop?: () => boolean): Promise<void> {
  const started = Date.now();
  if (isFolderMarker(ref)) {
    // The S3 console's "Create folder": no log, no verdict (the audit and `serve` skip it too).
    log('INFO', 'folder marker skipped', { bucket: ref.bucket, key: ref.key, versionId: ref.versionId });
    return;
  }
  const routed = rt.config.bigLog ? await routeBigLog(rt.client, rt.config.bigLog, process.env, ref) : null;
  if (routed) {
    log('INFO', routed.started ? 'handed to the big-log check' : 'big-log check already started', { bucket: ref.bucket, key: ref.key, versionId: ref.versionId, ...routed });
    return;
  }
  const outcome = await checkS3Object(rt.client, rt.resources, { ...rt.config, ...(shouldStop ? { shouldStop } : {}) }, ref);
  log('INFO', OUTCOME_MESSAGES[outcome.kind], {
    bucket: ref.bucket,
    key: ref.key,
    versionId: ref.versionId,
    sequencer: ref.sequencer,
    verdictKey: outcome.verdictKey,
    ...(outcome.kind === 'checked'
      ? { compliant: outcome.compliant, error: outcome.error, destinationsKey: outcome.destinationsKey }
      : {}),
    ...(outcome.kind === 'superseded' ? { storedSequencer: outcome.storedSequencer } : {}),
    ms: Date.now() - started,
  });
}

/** The Lambda entry point. */
export const handler = async (event: CheckerEvent, context?: CheckerContext): Promise<BatchResponse> => {
  const rt = getRuntime();
  // A log too big for the time left is stopped cleanly: its verdict says partial, never compliant.
  const deadline = context ? Date.now() + context.getRemainingTimeInMillis() - STOP_MARGIN_MS : Infinity;
  const shouldStop = context ? (): boolean => Date.now() > deadline : undefined;
  const failures: { itemIdentifier: string }[] = [];
  const records = event.Records;
  if (!Array.isArray(records)) {
    // An EventBridge "Object Created" event, say, sent straight to the function: acknowledging it
    // would drop the object unchecked. Failing the invocation sends it to Lambda's retries and then
    // to the function's failure destination.
    const detailType = (event as { 'detail-type'?: unknown })['detail-type'];
    log('ERROR', 'event is neither an SQS batch nor an S3 event notification (no Records)', {
      ...(typeof detailType === 'string' ? { detailType } : {}),
    });
    throw new Error('event is neither an SQS batch nor an S3 event notification (no Records array); S3 events reach the checker through its queue');
  }
  for (const [index, record] of records.entries()) {
    if ('messageId' in record) {
      if (index > 0 && shouldStop?.()) {
        // Earlier messages used up the time budget: a check started now would stop at its first
        // checkpoint with a partial verdict, kept as the object's verdict. Retry it in a fresh
        // invocation instead.
        log('WARN', 'no time left in this invocation, will be retried', { messageId: record.messageId });
        failures.push({ itemIdentifier: record.messageId });
        continue;
      }
      try {
        for (const ref of objectsInMessage(record.body)) await checkRef(rt, ref, shouldStop);
      } catch (err) {
        // S3 faults, a bad configuration, or a message that is not an S3 event: retry this message
        // only; after maxReceiveCount attempts SQS moves it to the dead-letter queue.
        log('ERROR', 'message failed, will be retried', {
          messageId: record.messageId,
          error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
        });
        failures.push({ itemIdentifier: record.messageId });
      }
    } else {
      // A direct S3 event (no queue): a failure fails the invocation, and Lambda retries it.
      await checkRef(rt, objectRefOf(record), shouldStop);
    }
  }
  return { batchItemFailures: failures };
};
