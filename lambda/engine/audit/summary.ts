/**
 * The summary of an audit run: a fold over each log's outcome (counts, bytes sent outside the
 * jurisdiction, a per-prefix breakdown, and the diff against earlier verdicts). Pure: times and the
 * tool version are passed in.
 */
import type { Verdict, VerdictTotals } from '../verdict/verdict';
import { isEmptyDiff, type DatabaseBuild, type VerdictDiff } from './diff';

/**
 * Version of the summary layout; fields are only ever added. 2 added `complete`,
 * `incompleteReason`, `skipped`, the `notChecked` counts and `logs[].notChecked`; 3 added
 * `logs[].comparedWith`.
 */
export const AUDIT_SUMMARY_SCHEMA_VERSION = 3;

/** The prefix of logs directly in the audited folder. */
export const ROOT_PREFIX = '.';

/** The parts of a verdict the summary reads. */
export type SummarizableVerdict = Pick<Verdict, 'compliant' | 'error' | 'totals' | 'policy' | 'databases'>;

/** What happened to one log of the run. */
export interface AuditEntry {
  /** Path relative to the audited folder, `/`-separated. */
  path: string;
  /** Where its verdict was written, relative to the run folder; null when none was. */
  verdictFile: string | null;
  /** Its verdict now; null when the log could not even be read. */
  verdict: SummarizableVerdict | null;
  /** Why it could not be checked (the verdict's `error`, or the read failure); null when it was. */
  error: string | null;
  /**
   * The diff against its earlier verdict: null when the run has no earlier verdicts, or this log
   * has none (see `previousFound`).
   */
  diff: VerdictDiff | null;
  /** Whether an earlier verdict was found for it (false also when the run has none). */
  previousFound: boolean;
}

export type AuditStatus = 'compliant' | 'non-compliant' | 'error';

/** What the summary keeps of a verdict: small enough to pass between functions as JSON. */
export interface AuditVerdictFacts {
  compliant: boolean;
  error?: string;
  totals: Pick<VerdictTotals, 'records' | 'bytesSent' | 'bytesSentViolating' | 'violatingDestinations'>;
  policySha256: string;
  /** The location databases of the verdict. */
  databases: DatabaseBuild[];
}

/**
 * One log's outcome as the summarizer folds it: an {@link AuditEntry} reduced to plain JSON, so a
 * batch of them can be written by one function and summarized by another.
 */
export interface AuditOutcome {
  /** Path relative to the audited folder, `/`-separated. */
  path: string;
  /** Where its verdict was written, relative to the run folder; null when none was. */
  verdictFile: string | null;
  /** Why it could not be checked; null when it was. */
  error: string | null;
  /** True when the log was found but never checked (not reached in time, its batch failed). */
  notChecked?: boolean;
  verdict: AuditVerdictFacts | null;
  /** The diff against its earlier verdict; null when it has none. */
  diff: VerdictDiff | null;
  /** Where that earlier verdict is, when not under the run's `previous` (see lambda/engine/audit/previous.ts). */
  comparedWith?: string;
}

/** The facts of a verdict the summary keeps. */
export function verdictFacts(v: SummarizableVerdict): AuditVerdictFacts {
  const { records, bytesSent, bytesSentViolating, violatingDestinations } = v.totals;
  return {
    compliant: v.compliant,
    ...(v.error !== undefined ? { error: v.error } : {}),
    totals: { records, bytesSent, bytesSentViolating, violatingDestinations },
    policySha256: v.policy.sha256,
    databases: v.databases.filter((d) => d.role === 'location').map((d) => ({ name: d.name, buildEpoch: d.buildEpoch })),
  };
}

/** An {@link AuditEntry} as an {@link AuditOutcome}. */
export function outcomeOf(entry: AuditEntry): AuditOutcome {
  return {
    path: entry.path,
    verdictFile: entry.verdictFile,
    error: entry.error ?? entry.verdict?.error ?? null,
    verdict: entry.verdict ? verdictFacts(entry.verdict) : null,
    diff: entry.diff,
  };
}

/** The outcome of a log that was found but not checked, with the reason (`not checked: <why>`). */
export function notCheckedOutcome(path: string, why: string): AuditOutcome {
  return { path, verdictFile: null, error: `not checked: ${why}`, notChecked: true, verdict: null, diff: null };
}

/** Counts over a set of logs. */
export interface AuditCounts {
  logs: number;
  compliant: number;
  nonCompliant: number;
  errors: number;
  records: number;
  bytesSent: number;
  /** Sum of the verdicts' `totals.bytesSentViolating`: bytes sent outside the jurisdiction. */
  bytesSentViolating: number;
  violatingDestinations: number;
  /** Logs found but not checked (not reached in time, their batch failed); counted in `errors` too. */
  notChecked: number;
  /** Logs compared with an earlier verdict. */
  compared: number;
  newViolations: number;
  resolvedViolations: number;
  countryChanges: number;
}

/** One log in the summary. */
export interface AuditLogLine {
  path: string;
  prefix: string;
  status: AuditStatus;
  verdict: string | null;
  error?: string;
  records: number;
  bytesSentViolating: number;
  violatingDestinations: number;
  /** Present (true) when the log was found but not checked; `error` says why. */
  notChecked?: true;
  /** Present when an earlier verdict of the log was found. */
  diff?: VerdictDiff;
  /** Where that earlier verdict is, when not under the summary's `previous` (an earlier run did not check the log). */
  comparedWith?: string;
}

/** `audits/<timestamp>/summary.json`, documented in docs/audit.md. */
export interface AuditSummary {
  schemaVersion: number;
  tool: { name: 'residency'; version: string };
  startedAt: string;
  finishedAt: string;
  /** The audited folder (or `s3://bucket/prefix/`), as given. */
  directory: string;
  /**
   * The folder of earlier verdicts compared against, as given; null when none. A log it holds no
   * verdict for may be compared with an older one (its `comparedWith`).
   */
  previous: string | null;
  /** Whether every log found was checked or tried; false when the run stopped early. */
  complete: boolean;
  /** Why the run is not complete (time budget, failed batches); null when it is. */
  incompleteReason: string | null;
  /** Files under the folder that are not logs and were not read: hidden, residency's own outputs, folder markers. */
  skipped: number;
  /** The policy's hash (from the verdicts; null when no log was checked). */
  policySha256: string | null;
  /** The location databases used. */
  databases: DatabaseBuild[];
  totals: AuditCounts;
  /** Per first-level folder under the audited one (a device, an app, a product); `.` for files at the top. */
  prefixes: (AuditCounts & { prefix: string })[];
  /** Every log, in path order. */
  logs: AuditLogLine[];
}

/** The first folder level of a relative path, or {@link ROOT_PREFIX} for a file at the top. */
export function auditPrefix(path: string): string {
  const slash = path.indexOf('/');
  return slash === -1 ? ROOT_PREFIX : path.slice(0, slash);
}

/** The status of one log: an error beats non-compliance. */
export function auditStatus(entry: { verdict: Pick<AuditVerdictFacts, 'compliant' | 'error'> | null; error: string | null }): AuditStatus {
  if (entry.error !== null || entry.verdict === null || entry.verdict.error !== undefined) return 'error';
  return entry.verdict.compliant ? 'compliant' : 'non-compliant';
}

function emptyCounts(): AuditCounts {
  return {
    logs: 0,
    compliant: 0,
    nonCompliant: 0,
    errors: 0,
    records: 0,
    bytesSent: 0,
    bytesSentViolating: 0,
    violatingDestinations: 0,
    notChecked: 0,
    compared: 0,
    newViolations: 0,
    resolvedViolations: 0,
    countryChanges: 0,
  };
}

function count(into: AuditCounts, entry: AuditOutcome, status: AuditStatus): void {
  into.logs += 1;
  if (status === 'compliant') into.compliant += 1;
  else if (status === 'non-compliant') into.nonCompliant += 1;
  else into.errors += 1;
  if (entry.notChecked) into.notChecked += 1;
  const totals = entry.verdict?.totals;
  if (totals) {
    into.records += totals.records;
    into.bytesSent += totals.bytesSent;
    into.bytesSentViolating += totals.bytesSentViolating;
    into.violatingDestinations += totals.violatingDestinations;
  }
  if (entry.diff) {
    into.compared += 1;
    into.newViolations += entry.diff.newViolations.length;
    into.resolvedViolations += entry.diff.resolvedViolations.length;
    into.countryChanges += entry.diff.countryChanges.length;
  }
}

const byKey =
  <T>(key: (x: T) => string) =>
  (a: T, b: T): number =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

/**
 * Folds the outcomes of an audit run into its summary; only counts and one short line per log
 * are kept, so memory does not grow with the size of the logs.
 *
 * @example
 * const summarizer = new AuditSummarizer({ directory: 'logs', previous: null, toolVersion, startedAt });
 * for (const entry of entries) summarizer.add(entry);
 * const summary = summarizer.summary(new Date());
 */
export class AuditSummarizer {
  private readonly totals = emptyCounts();
  private readonly prefixes = new Map<string, AuditCounts>();
  private readonly logs: AuditLogLine[] = [];
  private policySha256: string | null = null;
  private databases: DatabaseBuild[] = [];
  private skipped = 0;
  private readonly incomplete: string[] = [];

  constructor(
    private readonly run: { directory: string; previous: string | null; toolVersion: string; startedAt: Date },
  ) {}

  /** Adds one log's outcome; returns its status. */
  add(entry: AuditEntry): AuditStatus {
    return this.addOutcome(outcomeOf(entry));
  }

  /** Adds one log's outcome, as a batch step wrote it; returns its status. */
  addOutcome(outcome: AuditOutcome): AuditStatus {
    const status = auditStatus(outcome);
    const prefix = auditPrefix(outcome.path);
    count(this.totals, outcome, status);
    let forPrefix = this.prefixes.get(prefix);
    if (!forPrefix) {
      forPrefix = emptyCounts();
      this.prefixes.set(prefix, forPrefix);
    }
    count(forPrefix, outcome, status);
    const v = outcome.verdict;
    if (v && this.policySha256 === null && v.error === undefined) {
      this.policySha256 = v.policySha256;
      this.databases = v.databases;
    }
    const error = outcome.error ?? v?.error;
    this.logs.push({
      path: outcome.path,
      prefix,
      status,
      verdict: outcome.verdictFile,
      ...(error !== undefined ? { error } : {}),
      records: v?.totals.records ?? 0,
      bytesSentViolating: v?.totals.bytesSentViolating ?? 0,
      violatingDestinations: v?.totals.violatingDestinations ?? 0,
      ...(outcome.notChecked ? { notChecked: true as const } : {}),
      ...(outcome.diff ? { diff: outcome.diff } : {}),
      ...(outcome.diff && outcome.comparedWith !== undefined ? { comparedWith: outcome.comparedWith } : {}),
    });
    return status;
  }

  /** Counts files under the folder that are not logs (hidden, residency's outputs, folder markers). */
  addSkipped(n = 1): void {
    this.skipped += n;
  }

  /** Records why the run did not get to every log; the summary then says `complete: false`. */
  markIncomplete(reason: string): void {
    this.incomplete.push(reason);
  }

  /** The summary so far, finished at the given time. */
  summary(finishedAt: Date): AuditSummary {
    return {
      schemaVersion: AUDIT_SUMMARY_SCHEMA_VERSION,
      tool: { name: 'residency', version: this.run.toolVersion },
      startedAt: this.run.startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      directory: this.run.directory,
      previous: this.run.previous,
      complete: this.incomplete.length === 0,
      incompleteReason: this.incomplete.length === 0 ? null : this.incomplete.join('; '),
      skipped: this.skipped,
      policySha256: this.policySha256,
      databases: this.databases,
      totals: { ...this.totals },
      prefixes: [...this.prefixes]
        .map(([prefix, counts]) => ({ prefix, ...counts }))
        .sort(byKey((p) => p.prefix)),
      logs: [...this.logs].sort(byKey((l) => l.path)),
    };
  }
}

/** The logs of a summary whose diff has something in it. */
export function changedLogs(summary: AuditSummary): (AuditLogLine & { diff: VerdictDiff })[] {
  return summary.logs.filter((l): l is AuditLogLine & { diff: VerdictDiff } => l.diff !== undefined && !isEmptyDiff(l.diff));
}
