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

/** Character code of the digit `n % 10`. */
function digit(n: number): number {
  return 48 + (n % 10);
}

/**
 * Epoch milliseconds as ISO 8601 (`2026-01-01T00:00:00.000Z`), or null. Same output as
 * `Date.prototype.toISOString` for years 0-9999, without a Date per call (tens of thousands of
 * destinations each have two). Made in one `String.fromCharCode`: the result is one flat string,
 * not a tree of concatenations, so it is cheaper to make, to quote and to write.
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
  return String.fromCharCode(
    digit(Math.floor(year / 1000)), digit(Math.floor(year / 100)), digit(Math.floor(year / 10)), digit(year), 45,
    digit(Math.floor(month / 10)), digit(month), 45, digit(Math.floor(day / 10)), digit(day), 84,
    digit(Math.floor(h / 10)), digit(h), 58, digit(Math.floor(m / 10)), digit(m), 58,
    digit(Math.floor(sec / 10)), digit(sec), 46,
    digit(Math.floor(milli / 100)), digit(Math.floor(milli / 10)), digit(milli), 90,
  );
}

function statusOf(d: DestinationAggregate): DestinationStatus {
  if (d.facts.status === 'non-public') return 'non-public';
  // Reached only by connections the network refused: nothing left, so nothing to flag.
  if (d.connections === 0 && d.blockedAttempts > 0) return 'blocked';
  return d.facts.status;
}

/** The numbers sorted ascending, as a new array (lists of up to 64: insertion sort, no comparator calls). */
function sortedNumbers(xs: readonly number[]): number[] {
  const out = xs.slice();
  for (let i = 1; i < out.length; i++) {
    const x = out[i]!;
    let j = i - 1;
    if (out[j]! <= x) continue;
    while (j >= 0 && out[j]! > x) {
      out[j + 1] = out[j]!;
      j--;
    }
    out[j + 1] = x;
  }
  return out;
}

/** Sorts strings in place as `Array.prototype.sort` sorts them (by UTF-16 code units); returns them. */
function sortStrings(out: string[]): string[] {
  for (let i = 1; i < out.length; i++) {
    const x = out[i]!;
    let j = i - 1;
    while (j >= 0 && out[j]! > x) {
      out[j + 1] = out[j]!;
      j--;
    }
    out[j + 1] = x;
  }
  return out;
}

/** Statuses by rank, the inverse of {@link STATUS_RANK}. */
const STATUS_BY_RANK = (Object.keys(STATUS_RANK) as DestinationStatus[]).sort((a, b) => STATUS_RANK[a] - STATUS_RANK[b]);

/** The destination's names from the log itself and from evidence beside it, sorted. */
function namesOf(d: DestinationAggregate, extra: ReadonlyMap<string, readonly string[]> | undefined): string[] {
  const more = extra?.get(d.facts.ip);
  if (!more) return d.hostnames ? sortStrings(Array.from(d.hostnames)) : [];
  const all = new Set(d.hostnames);
  for (let i = 0; i < more.length; i++) all.add(more[i]!);
  return sortStrings(Array.from(all));
}

/** One destination of the verdict. */
function destinationOf(d: DestinationAggregate, status: DestinationStatus, names: ReadonlyMap<string, readonly string[]> | undefined): VerdictDestination {
  const f = d.facts;
  const firstSeen = iso(d.firstSeenMs);
  return {
    ip: f.ip,
    country: f.country,
    countries: f.countries,
    addressClass: f.addressClass,
    status,
    rule: status === 'blocked' ? `every connection was refused by the network (${d.blockedAttempts} attempts)` : f.rule,
    connections: d.connections,
    blockedAttempts: d.blockedAttempts,
    bytesSent: d.bytesSent,
    bytesReceived: d.bytesReceived,
    connectionsWithUnknownBytes: d.connectionsWithUnknownBytes,
    firstSeen,
    // One connection: one time, one string.
    lastSeen: d.lastSeenMs === d.firstSeenMs ? firstSeen : iso(d.lastSeenMs),
    ports: sortedNumbers(d.ports),
    protocols: sortStrings(d.protocols.slice()),
    hostnames: namesOf(d, names),
    apps: d.apps ? sortStrings(Array.from(d.apps)) : [],
    evidenceLines: sortedNumbers(d.evidenceLines),
    disputed: f.disputed,
    asn: f.asn,
    asOrganization: f.asOrganization,
    operatorCountry: f.operatorCountry,
    warning: status === 'non-public' || status === 'blocked' ? null : f.warning,
  };
}

/**
 * The destinations in verdict order: status, then bytes sent and connections (most first), then
 * address. Sorts positions over columns of the keys (a comparison reads no objects), then makes
 * each destination in that order: no second array, and the objects lie in memory in the order
 * they are written.
 */
function destinationsOf(agg: AggregateTotals, names?: ReadonlyMap<string, readonly string[]>): VerdictDestination[] {
  const all = agg.destinations();
  const n = all.length;
  const rank = new Uint8Array(n);
  const sent = new Float64Array(n);
  const conns = new Float64Array(n);
  const ips: string[] = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const d = all[i]!;
    rank[i] = STATUS_RANK[statusOf(d)];
    sent[i] = d.bytesSent;
    conns[i] = d.connections;
    ips[i] = d.facts.ip;
  }
  const order: number[] = new Array<number>(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => {
    const ia = ips[a]!;
    const ib = ips[b]!;
    return rank[a]! - rank[b]! || sent[b]! - sent[a]! || conns[b]! - conns[a]! || (ia < ib ? -1 : ia > ib ? 1 : 0);
  });
  const out: VerdictDestination[] = [];
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    out.push(destinationOf(all[i]!, STATUS_BY_RANK[rank[i]!]!, names));
  }
  return out;
}

function countriesOf(destinations: readonly VerdictDestination[]): Verdict['countries'] {
  type Row = Verdict['countries'][number];
  // Country, then status rank: no key string per destination. No country and '' share a row.
  const byCountry = new Map<string, (Row | undefined)[]>();
  const rows: Row[] = [];
  for (let i = 0; i < destinations.length; i++) {
    const d = destinations[i]!;
    let byStatus = byCountry.get(d.country ?? '');
    if (!byStatus) {
      byStatus = [];
      byCountry.set(d.country ?? '', byStatus);
    }
    const rank = STATUS_RANK[d.status];
    let c = byStatus[rank];
    if (!c) {
      c = { country: d.country, status: d.status, destinations: 0, connections: 0, bytesSent: 0, bytesReceived: 0 };
      byStatus[rank] = c;
      rows.push(c);
    }
    c.destinations++;
    c.connections += d.connections;
    c.bytesSent += d.bytesSent;
    c.bytesReceived += d.bytesReceived;
  }
  return rows.sort(
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
  // One pass for the violations, the warnings and the byte totals (added in verdict order).
  const violations: VerdictViolation[] = [];
  const warnings: Verdict['warnings'] = [];
  let bytesSent = 0;
  let bytesReceived = 0;
  let bytesSentViolating = 0;
  for (let i = 0; i < destinations.length; i++) {
    const d = destinations[i]!;
    bytesSent += d.bytesSent;
    bytesReceived += d.bytesReceived;
    if (d.status === 'violation') {
      bytesSentViolating += d.bytesSent;
      violations.push({
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
      });
    }
    if (d.warning !== null) warnings.push({ ip: d.ip, rule: d.warning });
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
    warnings,
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
