/**
 * A split check run in one process: plan, check every range, hash the whole log beside them,
 * merge (checking stale ranges again), or fall back to one pass when the log cannot be split
 * exactly. The same steps run as a Step Functions state machine in AWS (lib/constructs/big-log-check.ts).
 */
import { createHash } from 'node:crypto';
import { runCheck, type CheckOptions } from '../check';
import type { Verdict } from '../verdict/verdict';
import { checkPart, firstBytesTogether, type PartResult, type PartSpec } from './check-part';
import { mergeParts } from './merge';
import { PLAN_HEAD_BYTES, planSplit, type PlanOptions } from './plan';

/** A log that can be read from any offset (a file, an S3 object, a buffer). */
export interface RangeSource {
  readonly size: number;
  /** The log's bytes from `start` to its end; the caller may stop reading early. */
  read(start: number): AsyncIterable<Uint8Array>;
}

/** Options of {@link checkSplit}. */
export interface SplitCheckOptions extends Pick<PlanOptions, 'partBytes' | 'cuts'> {
  /** Ranges checked at once. @default 1 */
  readonly concurrency?: number;
}

/** A split check's verdict and how it was reached. */
export interface SplitCheckResult {
  readonly verdict: Verdict;
  /** `split`: merged from ranges; `whole`: checked in one pass (see `reason`). */
  readonly mode: 'split' | 'whole';
  readonly reason: string | null;
  readonly parts: number;
  /** Ranges checked a second time because they were first read under a stale context. */
  readonly rechecked: number;
}

/** Reads the first `max` bytes of a stream (fewer if it ends), then closes it. */
export async function readHead(source: AsyncIterable<Uint8Array>, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of source) {
    chunks.push(Buffer.from(chunk));
    n += chunk.length;
    if (n >= max) break;
  }
  return Buffer.concat(chunks).subarray(0, max);
}

/** SHA-256 (hex) and length of a stream. */
export async function hashStream(source: AsyncIterable<Uint8Array>): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** Runs `work` over `items`, at most `limit` at once, results in item order. */
async function pool<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!);
    }
  });
  await Promise.all(runners);
  return out;
}

/**
 * Checks a log by ranges and merges them; the verdict is the one a single pass gives (apart from
 * `checkedAt`). Logs that cannot be split (gzip, captures, HAR) or not exactly are checked in one pass.
 */
export async function checkSplit(source: RangeSource, options: CheckOptions, split: SplitCheckOptions = {}): Promise<SplitCheckResult> {
  const whole = async (reason: string): Promise<SplitCheckResult> => ({
    verdict: await runCheck(firstBytesTogether(source.read(0), 3), options),
    mode: 'whole',
    reason,
    parts: 1,
    rechecked: 0,
  });
  if (options.maxDecodedBytes !== undefined && source.size > options.maxDecodedBytes) {
    return whole(`the log is larger than the limit of ${options.maxDecodedBytes} bytes`);
  }
  const head = await readHead(source.read(0), PLAN_HEAD_BYTES);
  const plan = planSplit(head, source.size, {
    ...(options.format ? { format: options.format } : {}),
    ...(options.parserOptions ? { parserOptions: options.parserOptions } : {}),
    ...(options.maxLineBytes ? { maxLineBytes: options.maxLineBytes } : {}),
    ...split,
  });
  if ('whole' in plan) return whole(plan.reason);

  const check = (spec: PartSpec): Promise<PartResult> => checkPart(source.read(Math.max(0, spec.start - 1)), plan, spec, options);
  const specs = plan.parts.map((p) => ({ ...p, context: p.index === 0 ? [] : plan.context }));
  const [hash, results] = await Promise.all([hashStream(source.read(0)), pool(specs, split.concurrency ?? 1, check)]);
  let rechecked = 0;
  // Each round settles at least the first stale range, so there are at most as many as ranges.
  for (let round = 0; round <= plan.parts.length; round++) {
    const outcome = mergeParts(plan, results, hash, options);
    if (outcome.kind === 'verdict') {
      return { verdict: outcome.verdict, mode: 'split', reason: null, parts: plan.parts.length, rechecked };
    }
    if (outcome.kind === 'whole') return whole(outcome.reason);
    const again = await pool(outcome.parts, split.concurrency ?? 1, check);
    for (const r of again) results[r.index] = r;
    rechecked += again.length;
  }
  throw new Error('split check: stale ranges after every range was checked again');
}
