/**
 * The split-check function: one entry point for every step of the big-log state machine
 * (lib/constructs/big-log-check.ts), told apart by `step`. Thin: event → {@link big-log-steps}.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import {
  hashStep,
  mergeStep,
  planStep,
  rangeStep,
  wholeStep,
  type BigLogTarget,
  type PinnedObject,
  type RangeItem,
} from './adapters/big-log-steps';
import { createS3Client } from './adapters/s3-client';
import type { ObjectRef } from './adapters/s3-check-object';
import { CheckResources } from './adapters/s3-check-resources';
import { bytesVariable, loadConfig, type CheckerConfig } from './config';
import { DEFAULT_PART_BYTES } from './engine/split/plan';
import { UsageError } from './engine/errors';
import { ENV_BIG_LOG_PART_BYTES, ENV_BIG_LOG_WORK_BUCKET } from './env-names';
import { log, STOP_MARGIN_MS, type CheckerContext } from './handler';

/** The events the state machine sends, one shape per step. */
export type BigLogEvent =
  | { step: 'plan'; object: ObjectRef; execution: string }
  | { step: 'range'; work: string; part: RangeItem }
  | { step: 'hash'; object: PinnedObject }
  | { step: 'merge'; work: string; hash: { sha256: string; bytes: number }; round?: number }
  | { step: 'whole'; object: PinnedObject };

interface Runtime {
  client: S3Client;
  config: CheckerConfig;
  target: BigLogTarget;
  resources: CheckResources;
}

let runtime: Runtime | null = null;

function getRuntime(): Runtime {
  if (runtime === null) {
    const config = loadConfig(process.env);
    const workBucket = process.env[ENV_BIG_LOG_WORK_BUCKET]?.trim();
    if (!workBucket) throw new UsageError(`Environment variable ${ENV_BIG_LOG_WORK_BUCKET} is required`);
    const partBytes = process.env[ENV_BIG_LOG_PART_BYTES] ? bytesVariable(process.env, ENV_BIG_LOG_PART_BYTES) : DEFAULT_PART_BYTES;
    const client = createS3Client(process.env);
    runtime = { client, config, resources: new CheckResources(client, config), target: { ...config, workBucket, partBytes } };
  }
  return runtime;
}

/** Forgets the container state (tests change the environment between cases). */
export function resetBigLogRuntime(): void {
  runtime?.client.destroy();
  runtime = null;
}

/** The Lambda entry point. */
export const handler = async (event: BigLogEvent, context?: CheckerContext): Promise<unknown> => {
  const rt = getRuntime();
  const deadline = context ? Date.now() + context.getRemainingTimeInMillis() - STOP_MARGIN_MS : Infinity;
  const shouldStop = context ? (): boolean => Date.now() > deadline : undefined;
  const started = Date.now();
  let result: unknown;
  switch (event.step) {
    case 'plan':
      result = await planStep(rt.client, rt.target, event.object, event.execution);
      break;
    case 'range':
      result = await rangeStep(rt.client, rt.resources, rt.target, event.work, event.part, shouldStop);
      break;
    case 'hash':
      result = await hashStep(rt.client, event.object);
      break;
    case 'merge':
      result = await mergeStep(rt.client, rt.resources, rt.target, event.work, event.hash, event.round ?? 0);
      break;
    case 'whole':
      result = await wholeStep(rt.client, rt.resources, rt.target, event.object, shouldStop);
      break;
    default:
      throw new Error(`unknown step ${JSON.stringify((event as { step?: unknown }).step)}`);
  }
  log('INFO', `big-log ${event.step} done`, { ms: Date.now() - started, ...(event.step === 'range' ? { part: event.part.index } : {}) });
  return result;
};
