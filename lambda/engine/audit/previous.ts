/**
 * Which earlier verdict a log is compared with. A run that stopped early (time budget, failed
 * batches; `complete: false`) holds verdicts for only some logs: taken as the one baseline, every
 * other log would go uncompared, and a destination that moved to another country since would be
 * reported neither as a new violation nor as a country change. So each log is compared with the
 * newest earlier verdict that exists for it, looked for in the earlier runs newest first, down to
 * the newest complete one, and then wherever the caller says (the checker's verdicts of the
 * uploads). Pure: the folders are read through the sources passed in.
 */
import type { DiffableVerdict } from './diff';

/** At most this many earlier runs are looked in for a log's verdict (when none of them is complete). */
export const MAX_BASELINE_RUNS = 10;
/** summary.json says whether its run was complete within its first bytes (after `directory` and `previous`). */
export const SUMMARY_HEAD_BYTES = 8192;

/** A folder of earlier verdicts laid out by relative path. */
export interface VerdictSource {
  /** The verdict of the log at `path`, or null when there is none that can be compared. */
  read(path: string): Promise<DiffableVerdict | null>;
  /** Where that verdict is (a file path or an `s3://` URL), as the summary cites it. */
  where(path: string): string;
}

/** A log's earlier verdict, and where it came from when that is not the first source. */
export interface PreviousVerdict {
  verdict: DiffableVerdict;
  /** Set when the verdict is not in the first source (the summary's `previous`). */
  comparedWith?: string;
}

/**
 * The newest earlier verdict of a log: from the first source that holds one that can be compared.
 *
 * @example
 * const before = await newestVerdict([february, january, uploads], 'drone-a/conn.log');
 */
export async function newestVerdict(sources: readonly VerdictSource[], path: string): Promise<PreviousVerdict | null> {
  for (let i = 0; i < sources.length; i++) {
    const source = sources[i]!;
    const verdict = await source.read(path);
    if (verdict !== null) return i === 0 ? { verdict } : { verdict, comparedWith: source.where(path) };
  }
  return null;
}

/**
 * Whether a run was complete, from the first bytes of its summary.json (see {@link
 * SUMMARY_HEAD_BYTES}). A summary of schema 1, which has no `complete`, was; so is one this cannot
 * read (it is then taken as the last baseline, as before).
 */
export function summaryHeadSaysComplete(head: string): boolean {
  // A top-level field of the pretty-printed summary: two spaces in, on a line of its own.
  return !/^ {2}"complete": false,?\r?$/m.test(head);
}

/**
 * The earlier runs to look in, newest first: every finished one (with a summary.json) down to the
 * newest complete one, at most {@link MAX_BASELINE_RUNS}. A run without a summary (still running,
 * or it never finished) is passed over: no summary reported its changes.
 *
 * @param folders the earlier run folders, newest first.
 * @param summaryHead the first bytes of a run's summary.json, or null when it has none.
 */
export async function baselineRuns(folders: Iterable<string>, summaryHead: (folder: string) => Promise<string | null>): Promise<string[]> {
  const out: string[] = [];
  for (const folder of folders) {
    const head = await summaryHead(folder);
    if (head === null) continue;
    out.push(folder);
    if (out.length >= MAX_BASELINE_RUNS || summaryHeadSaysComplete(head)) break;
  }
  return out;
}
