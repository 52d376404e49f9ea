/**
 * What changed between two verdicts of the same log: violations that appeared or went away, and
 * destinations the location databases now place in another country. Pure.
 */
import type { Verdict } from '../verdict/verdict';

/** The parts of a verdict a diff reads (a stored verdict of an earlier schema still has them). */
export type DiffableVerdict = Pick<Verdict, 'databases' | 'destinations' | 'violations'>;

/** A destination in violation now and not before (or before and not now). */
export interface ViolationChange {
  ip: string;
  country: string | null;
  /** Why it is (or was) a violation, in words. */
  rule: string;
  bytesSent: number;
}

/** A location database, as the diff cites it: name and build date. */
export interface DatabaseBuild {
  name: string;
  buildEpoch: string;
}

/** A destination seen in both verdicts whose country is not the same. */
export interface CountryChange {
  ip: string;
  before: string | null;
  after: string | null;
  /** The location databases of the earlier verdict. */
  databasesBefore: DatabaseBuild[];
  /** The location databases of this verdict. */
  databasesAfter: DatabaseBuild[];
}

/** The difference between a log's earlier verdict and its verdict now. */
export interface VerdictDiff {
  newViolations: ViolationChange[];
  resolvedViolations: ViolationChange[];
  countryChanges: CountryChange[];
}

function locationDatabases(v: DiffableVerdict): DatabaseBuild[] {
  return v.databases.filter((d) => d.role === 'location').map((d) => ({ name: d.name, buildEpoch: d.buildEpoch }));
}

function violationChange(v: DiffableVerdict['violations'][number]): ViolationChange {
  return { ip: v.ip, country: v.country, rule: v.rule, bytesSent: v.bytesSent };
}

const byIp = (a: { ip: string }, b: { ip: string }): number => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0);

/**
 * A stored verdict that can be diffed, or null when `text` is not one (not JSON, an error verdict,
 * or missing the lists a diff reads): such a log is not compared.
 */
export function parseDiffableVerdict(text: string): DiffableVerdict | null {
  try {
    const v = JSON.parse(text) as Partial<Verdict> | null;
    if (v === null || typeof v !== 'object') return null;
    if (v.error !== undefined || !Array.isArray(v.destinations) || !Array.isArray(v.violations) || !Array.isArray(v.databases)) return null;
    return v as DiffableVerdict;
  } catch {
    return null;
  }
}

/** Whether a diff has nothing in it. */
export function isEmptyDiff(diff: VerdictDiff): boolean {
  return diff.newViolations.length === 0 && diff.resolvedViolations.length === 0 && diff.countryChanges.length === 0;
}

/**
 * Compares a log's earlier verdict with its verdict now, matching destinations by address.
 * Lists are in address order, so the same pair of verdicts always gives the same diff.
 *
 * @example
 * const diff = diffVerdicts(lastMonth, today);
 * diff.countryChanges; // [{ ip: '1.2.4.8', before: 'US', after: 'CN', databasesBefore: [...], ... }]
 */
export function diffVerdicts(previous: DiffableVerdict, current: DiffableVerdict): VerdictDiff {
  const before = new Map(previous.violations.map((v) => [v.ip, v]));
  const now = new Map(current.violations.map((v) => [v.ip, v]));
  const newViolations = current.violations.filter((v) => !before.has(v.ip)).map(violationChange).sort(byIp);
  const resolvedViolations = previous.violations.filter((v) => !now.has(v.ip)).map(violationChange).sort(byIp);

  const countryBefore = new Map(previous.destinations.map((d) => [d.ip, d.country]));
  const databasesBefore = locationDatabases(previous);
  const databasesAfter = locationDatabases(current);
  const countryChanges: CountryChange[] = [];
  for (const d of current.destinations) {
    if (!countryBefore.has(d.ip)) continue;
    const was = countryBefore.get(d.ip) ?? null;
    if (was === d.country) continue;
    countryChanges.push({ ip: d.ip, before: was, after: d.country, databasesBefore, databasesAfter });
  }
  countryChanges.sort(byIp);
  return { newViolations, resolvedViolations, countryChanges };
}
