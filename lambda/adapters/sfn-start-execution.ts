/**
 * Step Functions `StartExecution`
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html) through
 * the AWS SDK's Step Functions client, with the S3 client's credentials and the state machine's
 * region (the function's role); `AWS_ENDPOINT_URL_SFN` points it at another endpoint.
 */
import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ENV_SFN_ENDPOINT } from '../env-names';
import { ResidencyError } from '../engine';

/** Step Functions answered with an error. */
export class StepFunctionsError extends ResidencyError {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'StepFunctionsError';
  }
}

/** What {@link startExecution} did. */
export type StartOutcome = { started: true; executionArn: string } | { started: false; reason: 'already-exists' };

/**
 * Starts an execution named `name`. The name makes it idempotent: the same name and input while
 * the execution runs answers with it again, and once it has ended, `ExecutionAlreadyExists`
 * (reported as `already-exists`), so a redelivered notification never checks a log twice.
 *
 * @throws StepFunctionsError for any other error answer (throttling, access denied, ...).
 */
export async function startExecution(
  client: S3Client,
  env: Readonly<Record<string, string | undefined>>,
  stateMachineArn: string,
  name: string,
  input: unknown,
): Promise<StartOutcome> {
  const region = stateMachineArn.split(':')[3] || (await client.config.region());
  const endpoint = env[ENV_SFN_ENDPOINT]?.trim();
  const sfn = new SFNClient({ region, credentials: client.config.credentials, ...(endpoint ? { endpoint } : {}) });
  try {
    const out = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
    return { started: true, executionArn: out.executionArn ?? '' };
  } catch (err) {
    if (err instanceof ExecutionAlreadyExists) return { started: false, reason: 'already-exists' };
    const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const code = e.name ?? 'Error';
    throw new StepFunctionsError(`StartExecution ${name} on ${stateMachineArn}: ${code}: ${e.message ?? ''}`, code, e.$metadata?.httpStatusCode ?? 0);
  } finally {
    sfn.destroy();
  }
}

/** Characters Step Functions refuses in execution names. */
const NAME_UNSAFE = /[^A-Za-z0-9_-]/g;

/**
 * A deterministic execution name for one object version: a readable tail of the key and a hash
 * of bucket, key and version (or ETag), at most 80 characters as Step Functions allows.
 */
export function executionNameOf(ref: { bucket: string; key: string; versionId?: string; etag?: string }): string {
  const hash = createHash('sha256').update(`${ref.bucket}\0${ref.key}\0${ref.versionId ?? ''}\0${ref.etag ?? ''}`).digest('hex').slice(0, 40);
  const tail = (ref.key.split('/').pop() ?? '').replace(NAME_UNSAFE, '_').slice(-38);
  return tail ? `${tail}-${hash}` : hash;
}
