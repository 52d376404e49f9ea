/**
 * Turns the aggregator's totals into the verdict. Ordering is fixed (status, then bytes, then
 * address), so the same input, databases and policy give a byte-identical verdict apart from
 * `checkedAt`.
 */
import type { CheckOptions } from '../check';
import type { DecodeStats } from '../input/decode';
import type { DestinationStatus, FormatName } from '../types';
import { Aggregator, type AggregateTotals, type DestinationAggregate } from './aggregate';
import {
  VERDICT_SCHEMA_VERSION,
  type Verdict,
  type VerdictDestination,
  type VerdictViolation,
} from './verdict';

/** Order of statuses in the verdict: what needs attention first. */
const STATUS_RANK: Record<DestinationStatus, number> = {
  violation: 0,
  unknown: 1,
  blocked: 2,
  allowed: 3,
  'non-public': 4,
};

interface BuildInput {
  options: CheckOptions;
  stats: DecodeStats;
  format: FormatName | null;
  formatSource: 'detected' | 'option' | null;
  agg: AggregateTotals;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/**
 * Epoch milliseconds as ISO 8601 (`2026-01-01T00:00:00.000Z`), or null. Same output as
 * `Date.prototype.toISOString` for years 0-9999, without a Date per call (tens of thousands of
 * destinations each have two).
 */
export function iso(ms: number): string | null {
  if (ms !== ms || ms < 0 || ms >= 253402300800000) return ms === ms ? new Date(ms).toISOString() : null;
  const days = Math.floor(ms / 86400000);
  let rem = ms - days * 86400000;
  // Civil-from-days (H. Hinnant), proleptic Gregorian.
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const h = Math.floor(rem / 3600000);
  rem -= h * 3600000;
  const m = Math.floor(rem / 60000);
  rem -= m * 60000;
  const sec = Math.floor(rem / 1000);
  const milli = Math.floor(rem - sec * 1000);
  const msText = milli < 10 ? `00${milli}` : milli < 100 ? `0${milli}` : `${milli}`;
  return `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)}T${pad2(h)}:${pad2(m)}:${pad2(sec)}.${msText}Z`;
}

function statusOf(d: DestinationAggregate): DestinationStatus {
  if (d.facts.status === 'non-public') return 'non-public';
  // Reached only by connections the network refused: nothing left, so nothing to flag.
  if (d.connections === 0 && d.blockedAttempts > 0) return 'blocked';
  return d.facts.status;
}

function compareDestinations(a: VerdictDestination, b: VerdictDestination): number {
  return (
    STATUS_RANK[a.status] - STATUS_RANK[b.status] ||
    b.bytesSent - a.bytesSent ||
    b.connections - a.connections ||
    (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0)
  );
}

/** The destination's names from the log itself and from evidence beside it. */
function namesOf(d: DestinationAggregate, extra: ReadonlyMap<string, readonly string[]> | undefined): string[] {
  const more = extra?.get(d.facts.ip);
  if (!more) return d.hostnames ? [...d.hostnames].sort() : [];
  return [...new Set([...(d.hostnames ?? []), ...more])].sort();
}

function destinationsOf(agg: AggregateTotals, names?: ReadonlyMap<string, readonly string[]>): VerdictDestination[] {
  const out: VerdictDestination[] = [];
  for (const d of agg.destinations()) {
    const status = statusOf(d);
    out.push({
      ip: d.facts.ip,
      country: d.facts.country,
      countries: d.facts.countries,
      addressClass: d.facts.addressClass,
      status,
      rule: status === 'blocked' ? `every connection was refused by the network (${d.blockedAttempts} attempts)` : d.facts.rule,
      connections: d.connections,
      blockedAttempts: d.blockedAttempts,
      bytesSent: d.bytesSent,
      bytesReceived: d.bytesReceived,
      connectionsWithUnknownBytes: d.connectionsWithUnknownBytes,
      firstSeen: iso(d.firstSeenMs),
      lastSeen: iso(d.lastSeenMs),
      ports: [...d.ports].sort((a, b) => a - b),
      protocols: [...d.protocols].sort(),
      hostnames: namesOf(d, names),
      apps: d.apps ? [...d.apps].sort() : [],
      evidenceLines: d.evidenceLines.slice().sort((a, b) => a - b),
      disputed: d.facts.disputed,
      asn: d.facts.asn,
      asOrganization: d.facts.asOrganization,
      operatorCountry: d.facts.operatorCountry,
      warning: status === 'non-public' || status === 'blocked' ? null : d.facts.warning,
    });
  }
  return out.sort(compareDestinations);
}

function countriesOf(destinations: readonly VerdictDestination[]): Verdict['countries'] {
  const byKey = new Map<string, Verdict['countries'][number]>();
  for (const d of destinations) {
    const key = `${d.country ?? ''}|${d.status}`;
    let c = byKey.get(key);
    if (!c) {
      c = { country: d.country, status: d.status, destinations: 0, connections: 0, bytesSent: 0, bytesReceived: 0 };
      byKey.set(key, c);
    }
    c.destinations++;
    c.connections += d.connections;
    c.bytesSent += d.bytesSent;
    c.bytesReceived += d.bytesReceived;
  }
  return [...byKey.values()].sort(
    (a, b) =>
      STATUS_RANK[a.status] - STATUS_RANK[b.status] ||
      b.bytesSent - a.bytesSent ||
      (a.country ?? '~').localeCompare(b.country ?? '~'),
  );
}

function skippedByReason(agg: AggregateTotals): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of [...agg.skippedByReason.keys()].sort()) out[k] = agg.skippedByReason.get(k)!;
  return out;
}

function header(b: BuildInput): Pick<Verdict, 'tool' | 'checkedAt' | 'input' | 'policy' | 'databases'> {
  const { options, stats } = b;
  return {
    tool: { name: 'residency', version: options.toolVersion },
    checkedAt: options.now.toISOString(),
    input: {
      name: options.name,
      sha256: stats.sha256 || null,
      bytes: stats.bytes,
      decodedBytes: stats.decodedBytes,
      compression: stats.compression,
      format: b.format,
      formatSource: b.formatSource,
      ...(options.source ? { source: options.source } : {}),
    },
    policy: { ...options.policy.policy, sha256: options.policy.sha256 },
    databases: [
      ...options.databases.map((g) => ({ ...g.info, role: 'location' as const })),
      ...(options.operator?.country ? [{ ...options.operator.country.info, role: 'operator-country' as const }] : []),
      ...(options.operator?.asn
        ? [
            {
              name: options.operator.asn.info.name,
              databaseType: `ASN ranges (${options.operator.asn.info.ranges})`,
              buildEpoch: '',
              sha256: options.operator.asn.info.sha256,
              bytes: 0,
              role: 'asn' as const,
            },
          ]
        : []),
    ],
  };
}

/** The verdict of a completed check. */
export function buildVerdict(b: BuildInput): Verdict {
  const { agg } = b;
  const destinations = destinationsOf(agg, b.options.names);
  const violating = destinations.filter((d) => d.status === 'violation');
  const violations: VerdictViolation[] = violating.map((d) => ({
    ip: d.ip,
    country: d.country,
    rule: d.rule ?? 'violation',
    hostnames: d.hostnames,
    bytesSent: d.bytesSent,
    connections: d.connections,
    evidenceLines: d.evidenceLines,
    asn: d.asn,
    asOrganization: d.asOrganization,
    operatorCountry: d.operatorCountry,
  }));
  let bytesSent = 0;
  let bytesReceived = 0;
  let bytesSentViolating = 0;
  for (const d of destinations) {
    bytesSent += d.bytesSent;
    bytesReceived += d.bytesReceived;
    if (d.status === 'violation') bytesSentViolating += d.bytesSent;
  }
  return {
    schemaVersion: VERDICT_SCHEMA_VERSION,
    compliant: violations.length === 0,
    ...header(b),
    totals: {
      records: agg.records,
      connections: agg.connections,
      skipped: agg.skipped,
      noData: agg.noDataRecords,
      bytesSent,
      bytesSentViolating,
      bytesReceived,
      destinations: destinations.length,
      violatingDestinations: violations.length,
      skippedByReason: skippedByReason(agg),
      unattributed: agg.unattributedRecords,
    },
    countries: countriesOf(destinations),
    destinations,
    violations,
    warnings: destinations.filter((d) => d.warning !== null).map((d) => ({ ip: d.ip, rule: d.warning! })),
    errors: agg.errors.slice(),
    unattributed: agg.unattributedKept.slice(),
  };
}

/** The verdict of an input that could not be checked: never compliant, with the reason. */
export function errorVerdict(message: string, b: BuildInput, partial = false): Verdict {
  const { schemaVersion, compliant: _wasCompliant, ...rest } = buildVerdict(b);
  return { schemaVersion, compliant: false, error: message, ...(partial ? { partial: true } : {}), ...rest };
}

/** An error verdict for an input that could not even be opened (nothing was read). */
export function buildErrorOnlyVerdict(message: string, options: CheckOptions): Verdict {
  return errorVerdict(message, {
    options,
    stats: { bytes: 0, decodedBytes: 0, compression: 'none', sha256: '' },
    format: null,
    formatSource: null,
    agg: new Aggregator(options.policy, options.databases, options.operator),
  });
}
