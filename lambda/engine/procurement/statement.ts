/**
 * A procurement statement: one product's verdicts (one per log) folded into PASS/FAIL overall,
 * a result per data category, the destinations that failed, and the evidence. Pure: verdicts,
 * the category table and the time come in as values.
 */
import type { GeoDatabaseInfo } from '../geo/geo-lookup';
import type { CompiledPolicy, Policy } from '../policy/policy';
import type { DestinationStatus } from '../types';
import type { Verdict } from '../verdict/verdict';
import { classifyHostname, STATEMENT_CATEGORIES, UNCLASSIFIED, type CategoryTable, type StatementCategory } from './categories';

/** Version of the statement layout. */
export const STATEMENT_SCHEMA_VERSION = 1;

/**
 * A category's result: `PASS` all its traffic was compliant; `FAIL` some of it was a violation;
 * `NOT OBSERVED` no traffic of it was seen; `REVIEW` compliant, but a person must look (traffic
 * to unclassified hosts, or destinations the policy only warns about).
 */
export type CategoryResult = 'PASS' | 'FAIL' | 'NOT OBSERVED' | 'REVIEW';

/** A public destination of the product, merged over its logs. */
export interface StatementDestination {
  ip: string;
  hostnames: string[];
  country: string | null;
  status: DestinationStatus;
  rule: string | null;
  warning: string | null;
  asn: number | null;
  asOrganization: string | null;
  operatorCountry: string | null;
  connections: number;
  bytesSent: number;
  categories: StatementCategory[];
  /** Which pattern classified which host name. */
  matches: { hostname: string; pattern: string; category: StatementCategory; source: string }[];
  /** The logs (input names) it appears in. */
  logs: string[];
}

export interface CategoryVerdict {
  category: StatementCategory;
  result: CategoryResult;
  destinations: number;
  failedDestinations: number;
  connections: number;
  bytesSent: number;
  /** Host names seen in the category (IP addresses for destinations without one). */
  hosts: string[];
  /** Why the result is REVIEW or FAIL, in words. */
  reasons: string[];
}

export interface StatementInput {
  name: string;
  sha256: string | null;
  bytes: number;
  format: string | null;
  compliant: boolean;
  error?: string;
  partial?: boolean;
}

export interface ProcurementStatement {
  schemaVersion: number;
  product: string;
  result: 'PASS' | 'FAIL';
  /** Why the product fails (empty on PASS). */
  reasons: string[];
  /** Compliant traffic a person must look at before signing (the REVIEW categories). */
  review: string[];
  categories: CategoryVerdict[];
  failedDestinations: StatementDestination[];
  destinations: StatementDestination[];
  evidence: {
    tool: { name: 'residency'; version: string };
    checkedAt: string;
    policy: Policy & { sha256: string };
    categoryTable: { name: string; sha256: string; entries: number };
    inputs: StatementInput[];
    /** DNS logs whose answers named the destinations. */
    nameSources: { name: string; sha256: string; bytes: number }[];
    databases: (GeoDatabaseInfo & { role: string })[];
  };
}

/** What {@link buildStatement} needs besides the verdicts. */
export interface StatementOptions {
  product: string;
  policy: CompiledPolicy;
  table: CategoryTable;
  /** SHA-256 of the table's bytes. */
  tableSha256: string;
  toolVersion: string;
  now: Date;
  /** The DNS logs that named destinations, with their hashes (cited as evidence). */
  nameSources?: readonly { name: string; sha256: string; bytes: number }[];
  /** Logs that could not even be opened (each makes the product FAIL). */
  unreadable?: readonly { name: string; error: string }[];
}

const STATUS_RANK: Record<DestinationStatus, number> = { violation: 4, unknown: 3, allowed: 2, blocked: 1, 'non-public': 0 };

/** Public destinations of all verdicts, merged by address (the worst status wins). */
function mergeDestinations(verdicts: readonly Verdict[]): Map<string, StatementDestination> {
  const byIp = new Map<string, StatementDestination>();
  for (const verdict of verdicts) {
    for (const d of verdict.destinations) {
      if (d.status === 'non-public') continue;
      let m = byIp.get(d.ip);
      if (!m) {
        m = {
          ip: d.ip,
          hostnames: [],
          country: d.country,
          status: d.status,
          rule: d.rule,
          warning: d.warning,
          asn: d.asn,
          asOrganization: d.asOrganization,
          operatorCountry: d.operatorCountry,
          connections: 0,
          bytesSent: 0,
          categories: [],
          matches: [],
          logs: [],
        };
        byIp.set(d.ip, m);
      } else if (STATUS_RANK[d.status] > STATUS_RANK[m.status]) {
        m.status = d.status;
        m.rule = d.rule;
      }
      m.warning ??= d.warning;
      for (const h of d.hostnames) if (!m.hostnames.includes(h)) m.hostnames.push(h);
      m.connections += d.connections;
      m.bytesSent += d.bytesSent;
      if (!m.logs.includes(verdict.input.name)) m.logs.push(verdict.input.name);
    }
  }
  return byIp;
}

/**
 * Classifies a destination: every category one of its host names matches; `unclassified` when it
 * has no host name or one of its names matches no pattern (its traffic cannot all be attributed).
 */
function classify(d: StatementDestination, table: CategoryTable): void {
  const categories = new Set<StatementCategory>();
  if (d.hostnames.length === 0) categories.add(UNCLASSIFIED);
  for (const hostname of d.hostnames) {
    const entry = classifyHostname(table, hostname);
    if (entry) {
      categories.add(entry.category);
      d.matches.push({ hostname, pattern: entry.pattern, category: entry.category, source: entry.source });
    } else {
      categories.add(UNCLASSIFIED);
    }
  }
  d.categories = STATEMENT_CATEGORIES.filter((c) => categories.has(c));
}

/** Judges one category from its destinations. */
export function judgeCategory(category: StatementCategory, destinations: readonly StatementDestination[]): CategoryVerdict {
  const mine = destinations.filter((d) => d.categories.includes(category) && d.status !== 'blocked');
  const failed = mine.filter((d) => d.status === 'violation');
  const reasons: string[] = [];
  let result: CategoryResult;
  if (mine.length === 0) {
    result = 'NOT OBSERVED';
  } else if (failed.length > 0) {
    result = 'FAIL';
    for (const d of failed) reasons.push(`${label(d)}: ${d.rule ?? 'violation'}`);
  } else {
    for (const d of mine) {
      if (d.status === 'unknown' || d.warning) reasons.push(`${label(d)}: ${d.warning ?? 'location unknown'}`);
    }
    if (category === UNCLASSIFIED) {
      reasons.unshift(`${mine.length} destination${mine.length === 1 ? '' : 's'} whose data category the table does not know`);
    }
    result = reasons.length > 0 ? 'REVIEW' : 'PASS';
  }
  const hosts = new Set<string>();
  for (const d of mine) {
    if (category !== UNCLASSIFIED) {
      for (const m of d.matches) if (m.category === category) hosts.add(m.hostname);
    } else if (d.hostnames.length === 0) {
      hosts.add(d.ip);
    } else {
      for (const h of d.hostnames) if (!d.matches.some((m) => m.hostname === h)) hosts.add(h);
    }
  }
  return {
    category,
    result,
    destinations: mine.length,
    failedDestinations: failed.length,
    connections: mine.reduce((n, d) => n + d.connections, 0),
    bytesSent: mine.reduce((n, d) => n + d.bytesSent, 0),
    hosts: [...hosts].sort(),
    reasons,
  };
}

/** `host (ip)` or `ip`. */
function label(d: StatementDestination): string {
  return d.hostnames.length > 0 ? `${d.hostnames.join(', ')} (${d.ip})` : d.ip;
}

/**
 * Builds a product's statement from the verdicts of its logs. The product FAILs when any log has
 * a violation, could not be checked, or was checked only in part; otherwise it PASSes, and the
 * REVIEW categories list what a person must still look at.
 *
 * @example
 * const statement = buildStatement([verdict], {
 *   product: 'drone-x', policy, table, tableSha256, toolVersion: '0.1.0', now: new Date(),
 * });
 */
export function buildStatement(verdicts: readonly Verdict[], options: StatementOptions): ProcurementStatement {
  const merged = mergeDestinations(verdicts);
  const destinations = [...merged.values()];
  for (const d of destinations) classify(d, options.table);
  destinations.sort((a, b) => STATUS_RANK[b.status] - STATUS_RANK[a.status] || b.bytesSent - a.bytesSent || a.ip.localeCompare(b.ip));
  const categories = STATEMENT_CATEGORIES.map((c) => judgeCategory(c, destinations));
  const failedDestinations = destinations.filter((d) => d.status === 'violation');
  const reasons: string[] = [];
  const unreadable = options.unreadable ?? [];
  if (verdicts.length === 0 && unreadable.length === 0) reasons.push('no logs were checked');
  for (const u of unreadable) reasons.push(`could not be checked: ${u.error}`);
  for (const v of verdicts) {
    if (v.error) reasons.push(`${v.input.name}: could not be checked (${v.error})`);
    else if (v.partial) reasons.push(`${v.input.name}: checked only in part`);
  }
  if (failedDestinations.length > 0) {
    reasons.push(`${failedDestinations.length} destination${failedDestinations.length === 1 ? ' violates' : 's violate'} the policy`);
  }
  for (const v of verdicts) {
    if (!v.compliant && !v.error && !v.partial && failedDestinations.length === 0) reasons.push(`${v.input.name}: not compliant`);
  }
  const review = categories.filter((c) => c.result === 'REVIEW').flatMap((c) => c.reasons.map((r) => `${c.category}: ${r}`));
  const first = verdicts[0];
  return {
    schemaVersion: STATEMENT_SCHEMA_VERSION,
    product: options.product,
    result: reasons.length === 0 ? 'PASS' : 'FAIL',
    reasons,
    review,
    categories,
    failedDestinations,
    destinations,
    evidence: {
      tool: { name: 'residency', version: options.toolVersion },
      checkedAt: options.now.toISOString(),
      policy: { ...options.policy.policy, sha256: options.policy.sha256 },
      categoryTable: { name: options.table.name, sha256: options.tableSha256, entries: options.table.entries.length },
      inputs: [
        ...verdicts.map((v) => ({
          name: v.input.name,
          sha256: v.input.sha256,
          bytes: v.input.bytes,
          format: v.input.format,
          compliant: v.compliant,
          ...(v.error ? { error: v.error } : {}),
          ...(v.partial ? { partial: true } : {}),
        })),
        ...unreadable.map((u) => ({ name: u.name, sha256: null, bytes: 0, format: null, compliant: false, error: u.error })),
      ],
      nameSources: [...(options.nameSources ?? [])],
      databases: first ? first.databases : [],
    },
  };
}
