/**
 * Hands a log too large for one invocation to the split-check state machine. The execution is
 * named after the object version, so a redelivered notification starts nothing new.
 */
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ObjectRef } from './s3-check-object';
import { httpStatusOf } from './s3-errors';
import { executionNameOf, startExecution } from './sfn-start-execution';

/** What happened to a large log. */
export interface RouteOutcome {
  readonly execution: string;
  /** False when an execution of that name already exists (a repeated delivery). */
  readonly started: boolean;
  readonly size: number;
}

/**
 * Starts the split check of `ref` when it is larger than `thresholdBytes`; null when it is not
 * (or no longer exists: the checker's own path writes the verdict that says so).
 */
export async function routeBigLog(
  client: S3Client,
  bigLog: { readonly stateMachineArn: string; readonly thresholdBytes: number },
  env: Readonly<Record<string, string | undefined>>,
  ref: ObjectRef,
): Promise<RouteOutcome | null> {
  let size = ref.size;
  if (size === undefined) {
    // An event written by hand may not say: ask S3.
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId }));
      size = head.ContentLength ?? 0;
    } catch (err) {
      if (httpStatusOf(err) === 404) return null;
      throw err;
    }
  }
  if (size <= bigLog.thresholdBytes) return null;
  const execution = executionNameOf(ref);
  const input = {
    bucket: ref.bucket,
    key: ref.key,
    ...(ref.versionId ? { versionId: ref.versionId } : {}),
    ...(ref.etag ? { etag: ref.etag } : {}),
    ...(ref.sequencer ? { sequencer: ref.sequencer } : {}),
    size,
  };
  const outcome = await startExecution(client, env, bigLog.stateMachineArn, execution, input);
  return { execution, started: outcome.started, size };
}
