/**
 * One log of an audit, whatever holds it (a folder, an S3 prefix, a batch of a Step Functions
 * Distributed Map): check it, store its verdict, diff it against its earlier verdict. The storage
 * is passed in, so the engine stays pure and every audit path runs this same code.
 */
import { runCheck, type CheckOptions } from '../check';
import { InputError } from '../errors';
import type { Verdict } from '../verdict/verdict';
import { diffVerdicts } from './diff';
import type { PreviousVerdict } from './previous';
import { verdictFacts, type AuditOutcome } from './summary';

/** Where one log comes from and where its verdict goes. */
export interface AuditLogIo {
  /** The log's bytes, and where they came from (an S3 object's bucket, key, version, ETag). */
  open(): Promise<{ body: AsyncIterable<Uint8Array>; source?: Record<string, string | null> }>;
  /** The log's newest earlier verdict, or null when it has none (or none that can be compared). */
  readPrevious(): Promise<PreviousVerdict | null>;
  /** Stores the verdict; returns where, relative to the run folder. */
  writeVerdict(verdict: Verdict): Promise<string>;
}

/** What a check of an audited log needs besides the log. */
export interface AuditLogOptions extends Pick<CheckOptions, 'policy' | 'databases' | 'operator' | 'toolVersion' | 'shouldStop' | 'maxDestinations' | 'parserOptions'> {
  /** The time of each check. */
  now: () => Date;
  /**
   * Turns a failure to read the log into its one-line reason (the log is then an error of the
   * audit), or returns null to let it propagate (a fault of the run: the batch is retried, the
   * command stops).
   */
  readFailure: (err: unknown) => string | null;
}

/**
 * Checks one log and stores its verdict. A log that cannot be read or checked is an outcome with
 * an `error`, not an exception; faults of the storage propagate.
 *
 * @example
 * const outcome = await auditLog('drone-a/conn.log', io, { policy, databases, toolVersion, now: () => new Date(), readFailure: () => null });
 */
export async function auditLog(path: string, io: AuditLogIo, options: AuditLogOptions): Promise<AuditOutcome> {
  let verdict: Verdict | null = null;
  let error: string | null = null;
  try {
    const { body, source } = await io.open();
    verdict = await runCheck(body, {
      name: path,
      policy: options.policy,
      databases: options.databases,
      ...(options.operator ? { operator: options.operator } : {}),
      toolVersion: options.toolVersion,
      now: options.now(),
      ...(source ? { source } : {}),
      ...(options.shouldStop ? { shouldStop: options.shouldStop } : {}),
      ...(options.maxDestinations ? { maxDestinations: options.maxDestinations } : {}),
      ...(options.parserOptions ? { parserOptions: options.parserOptions } : {}),
    });
  } catch (err) {
    if (err instanceof InputError) error = err.message;
    else error = options.readFailure(err);
    if (error === null) throw err;
  }
  if (verdict === null) return { path, verdictFile: null, error, verdict: null, diff: null };
  const verdictFile = await io.writeVerdict(verdict);
  const before = verdict.error === undefined ? await io.readPrevious() : null;
  return {
    path,
    verdictFile,
    error: verdict.error ?? null,
    verdict: verdictFacts(verdict),
    diff: before ? diffVerdicts(before.verdict, verdict) : null,
    ...(before?.comparedWith !== undefined ? { comparedWith: before.comparedWith } : {}),
  };
}

/**
 * Runs `work` over `items`, at most `concurrency` at a time, in order. Once `shouldStop` says so,
 * no further item is started; those are returned, so the caller can count them. The first
 * failure stops the run (after the items in flight) and is rethrown.
 */
export async function forEachLimited<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
  shouldStop: () => boolean = () => false,
): Promise<T[]> {
  let next = 0;
  let failure: { error: unknown } | null = null;
  const lane = async (): Promise<void> => {
    while (failure === null && next < items.length && !shouldStop()) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
  if (failure !== null) throw (failure as { error: unknown }).error;
  return items.slice(next);
}
