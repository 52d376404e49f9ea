/**
 * The summary of an audit run: a fold over each log's outcome (counts, bytes sent outside the
 * jurisdiction, a per-prefix breakdown, and the diff against earlier verdicts). Pure: times and the
 * tool version are passed in.
 */
import type { Verdict } from '../verdict/verdict';
import { isEmptyDiff, type DatabaseBuild, type VerdictDiff } from './diff';

/** Version of the summary layout; fields are only ever added. */
export const AUDIT_SUMMARY_SCHEMA_VERSION = 1;

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
  /** Present when an earlier verdict of the log was found. */
  diff?: VerdictDiff;
}

/** `audits/<timestamp>/summary.json`, documented in docs/audit.md. */
export interface AuditSummary {
  schemaVersion: number;
  tool: { name: 'residency'; version: string };
  startedAt: string;
  finishedAt: string;
  /** The audited folder, as given. */
  directory: string;
  /** The folder of earlier verdicts compared against, as given; null when none. */
  previous: string | null;
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
export function auditStatus(entry: Pick<AuditEntry, 'verdict' | 'error'>): AuditStatus {
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
    compared: 0,
    newViolations: 0,
    resolvedViolations: 0,
    countryChanges: 0,
  };
}

function count(into: AuditCounts, entry: AuditEntry, status: AuditStatus): void {
  into.logs += 1;
  if (status === 'compliant') into.compliant += 1;
  else if (status === 'non-compliant') into.nonCompliant += 1;
  else into.errors += 1;
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

  constructor(
    private readonly run: { directory: string; previous: string | null; toolVersion: string; startedAt: Date },
  ) {}

  /** Adds one log's outcome; returns its status. */
  add(entry: AuditEntry): AuditStatus {
    const status = auditStatus(entry);
    const prefix = auditPrefix(entry.path);
    count(this.totals, entry, status);
    let forPrefix = this.prefixes.get(prefix);
    if (!forPrefix) {
      forPrefix = emptyCounts();
      this.prefixes.set(prefix, forPrefix);
    }
    count(forPrefix, entry, status);
    const v = entry.verdict;
    if (v && this.policySha256 === null && v.error === undefined) {
      this.policySha256 = v.policy.sha256;
      this.databases = v.databases.filter((d) => d.role === 'location').map((d) => ({ name: d.name, buildEpoch: d.buildEpoch }));
    }
    const error = entry.error ?? v?.error;
    this.logs.push({
      path: entry.path,
      prefix,
      status,
      verdict: entry.verdictFile,
      ...(error !== undefined ? { error } : {}),
      records: v?.totals.records ?? 0,
      bytesSentViolating: v?.totals.bytesSentViolating ?? 0,
      violatingDestinations: v?.totals.violatingDestinations ?? 0,
      ...(entry.diff ? { diff: entry.diff } : {}),
    });
    return status;
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
