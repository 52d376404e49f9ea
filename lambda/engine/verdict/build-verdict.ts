/**
 * Turns the aggregator's totals into the verdict. Ordering is fixed (status, then bytes, then
 * address), so the same input, databases and policy give a byte-identical verdict apart from
 * `checkedAt`.
 */
import type { CheckOptions } from '../check';
import type { DecodeStats } from '../input/decode';
import type { DestinationStatus, FormatName } from '../types';
import { putStr } from './json-bytes';
import { Aggregator, type AggregateTotals, type AppCounts, type DestinationAggregate, type DestinationTable, type RowWriter } from './aggregate';
import {
  VERDICT_SCHEMA_VERSION,
  type Verdict,
  type VerdictAppTraffic,
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

/** The characters of the last {@link isoCodes}. */
const ISO = new Uint8Array(24);

/**
 * Puts the 24 characters of `ms` in ISO 8601 (`2026-01-01T00:00:00.000Z`) into {@link ISO}; false
 * (and nothing written) outside years 0-9999 or for NaN. Civil-from-days (H. Hinnant), proleptic
 * Gregorian, as `Date.prototype.toISOString` computes it.
 */
function isoCodes(ms: number): boolean {
  if (ms !== ms || ms < 0 || ms >= 253402300800000) return false;
  const days = Math.floor(ms / 86400000);
  let rem = ms - days * 86400000;
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
  const c = ISO;
  c[0] = digit(Math.floor(year / 1000));
  c[1] = digit(Math.floor(year / 100));
  c[2] = digit(Math.floor(year / 10));
  c[3] = digit(year);
  c[4] = 45;
  c[5] = digit(Math.floor(month / 10));
  c[6] = digit(month);
  c[7] = 45;
  c[8] = digit(Math.floor(day / 10));
  c[9] = digit(day);
  c[10] = 84;
  c[11] = digit(Math.floor(h / 10));
  c[12] = digit(h);
  c[13] = 58;
  c[14] = digit(Math.floor(m / 10));
  c[15] = digit(m);
  c[16] = 58;
  c[17] = digit(Math.floor(sec / 10));
  c[18] = digit(sec);
  c[19] = 46;
  c[20] = digit(Math.floor(milli / 100));
  c[21] = digit(Math.floor(milli / 10));
  c[22] = digit(milli);
  c[23] = 90;
  return true;
}

/**
 * Epoch milliseconds as ISO 8601 (`2026-01-01T00:00:00.000Z`), or null. Same output as
 * `Date.prototype.toISOString`, without a Date per call (tens of thousands of destinations each
 * have two). Made in one `String.fromCharCode`: the result is one flat string, not a tree of
 * concatenations, so it is cheaper to make, to quote and to write.
 */
export function iso(ms: number): string | null {
  if (!isoCodes(ms)) {
    // Outside the years 0-9999; past the dates a Date holds there is no time to write.
    const d = new Date(ms);
    return Number.isNaN(d.getTime()) ? null : d.toISOString();
  }
  const c = ISO;
  return String.fromCharCode(
    c[0]!, c[1]!, c[2]!, c[3]!, c[4]!, c[5]!, c[6]!, c[7]!, c[8]!, c[9]!, c[10]!, c[11]!,
    c[12]!, c[13]!, c[14]!, c[15]!, c[16]!, c[17]!, c[18]!, c[19]!, c[20]!, c[21]!, c[22]!, c[23]!,
  );
}

/** At most the bytes {@link putIso} writes. */
export const ISO_BOUND = 2 + 32;

/** Writes `iso(ms)` as a JSON string (or null) at `buf[p]`, without making the string; returns the end. */
export function putIso(buf: Buffer, p: number, ms: number): number {
  if (!isoCodes(ms)) return putStr(buf, p, iso(ms));
  const c = ISO;
  buf[p++] = 0x22;
  for (let i = 0; i < 24; i++) buf[p++] = c[i]!;
  buf[p++] = 0x22;
  return p;
}

function statusOf(d: DestinationAggregate): DestinationStatus {
  if (d.facts.status === 'non-public') return 'non-public';
  // Reached only by connections the network refused: nothing left, so nothing to flag.
  if (d.connections === 0 && d.blockedAttempts > 0) return 'blocked';
  return d.facts.status;
}

/** Copies `xs` into `out` (filled by index, then cut to length); returns it. */
function copyInto<T>(xs: readonly T[], out: T[]): T[] {
  for (let i = 0; i < xs.length; i++) out[i] = xs[i]!;
  if (out.length !== xs.length) out.length = xs.length;
  return out;
}

/** The numbers sorted ascending, as a new array (lists of up to 64: insertion sort, no comparator calls). */
function sortedNumbers(xs: readonly number[]): number[] {
  return sortNumbersInto(xs, []);
}

/**
 * Puts the numbers into `out` sorted ascending; returns it. Fills by index and then cuts to
 * length: emptying first (length = 0) would drop its storage, to be allocated again next time.
 */
function sortNumbersInto(xs: readonly number[], out: number[]): number[] {
  const n = xs.length;
  for (let i = 0; i < n; i++) {
    const x = xs[i]!;
    let j = i - 1;
    while (j >= 0 && out[j]! > x) {
      out[j + 1] = out[j]!;
      j--;
    }
    out[j + 1] = x;
  }
  if (out.length !== n) out.length = n;
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
    rule: ruleOf(d, status),
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
    warning: warningOf(d, status),
    ...(d.appCounts ? { appTraffic: appTrafficOf(d.appCounts) } : {}),
  };
}

/** Each app's counts, in the order of the destination's `apps` (sorted by name). */
function appTrafficOf(counts: ReadonlyMap<string, AppCounts>): VerdictAppTraffic[] {
  return sortStrings(Array.from(counts.keys())).map((app) => ({ app, ...counts.get(app)! }));
}

/** The same empty lists for every destination without names, apps or ports (never changed). */
const NONE: string[] = [];
Object.freeze(NONE);
const NO_NUMBERS: number[] = [];
Object.freeze(NO_NUMBERS);

/**
 * A verdict's destinations, held as the aggregator's totals in verdict order, made into
 * {@link VerdictDestination} objects only when someone reads `verdict.destinations` (or
 * `violations`). Writing a verdict's JSON reads them through one reused {@link DestinationCursor}
 * instead: a log with tens of thousands of destinations then costs no object per destination.
 */
export class DestinationList {
  constructor(
    /** The destinations, read one at a time. */
    private readonly table: DestinationTable,
    /** Destination numbers, in verdict order. */
    private readonly order: readonly number[],
    /** Status rank of each destination, by number. */
    private readonly rank: Uint8Array,
    private readonly names: ReadonlyMap<string, readonly string[]> | undefined,
    /** Numbers of the violations, in verdict order. */
    private readonly violationOrder: readonly number[],
  ) {}

  get length(): number {
    return this.order.length;
  }

  get violationCount(): number {
    return this.violationOrder.length;
  }

  /** Every destination as an object, in verdict order. */
  objects(): VerdictDestination[] {
    return this.objectsUpTo(this.order.length);
  }

  /** The first `n` destinations as objects, in verdict order. */
  objectsUpTo(n: number): VerdictDestination[] {
    const out: VerdictDestination[] = [];
    const end = Math.min(n, this.order.length);
    for (let k = 0; k < end; k++) {
      const i = this.order[k]!;
      out.push(destinationOf(this.table.at(i), STATUS_BY_RANK[this.rank[i]!]!, this.names));
    }
    return out;
  }

  /** The first `n` violations as objects (the rest are not made). */
  violationObjects(n: number): VerdictViolation[] {
    const out: VerdictViolation[] = [];
    const end = Math.min(n, this.violationOrder.length);
    for (let k = 0; k < end; k++) {
      out.push(violationOf(destinationOf(this.table.at(this.violationOrder[k]!), 'violation', this.names)));
    }
    return out;
  }

  /** Writes the rows' numbers, when they are in memory it can read (see {@link DestinationCursor.row}). */
  get rowWriter(): RowWriter | null {
    return this.table.rowWriter ?? null;
  }

  /**
   * Loads the `k`th destination in verdict order into `c`. With `lean`, a destination the row
   * writer can write is loaded without the numbers it writes (`c.row` is then its row), and a
   * plain one without its lists either (`c.plain`).
   */
  load(c: DestinationCursor, k: number, lean = false): void {
    const i = this.order[k]!;
    const row = lean && this.writable(i) ? i : -1;
    const plain = row >= 0 && this.names === undefined && (this.table.rowPlain?.(i) ?? false);
    c.load(this.table.at(i), STATUS_BY_RANK[this.rank[i]!]!, this.names, row, plain);
  }

  /** Destination numbers in verdict order. */
  get destinationOrder(): readonly number[] {
    return this.order;
  }

  /** Numbers of the violations, in verdict order. */
  get violationNumbers(): readonly number[] {
    return this.violationOrder;
  }

  /**
   * Calls `each` for every destination (by number) whose entries the row writer's
   * {@link EntryWriter} can write whole: plain (see DestinationTable.rowPlain), with no names given
   * beside the log, and not blocked (a blocked destination's rule counts its attempts). `d` is a
   * view, valid until the next call.
   */
  eachWhole(each: (i: number, d: DestinationAggregate, status: DestinationStatus, rule: string | null, warning: string | null) => void): void {
    if (this.names !== undefined) return;
    const table = this.table;
    for (let i = 0; i < table.size; i++) {
      if (!this.writable(i) || !(table.rowPlain?.(i) ?? false)) continue;
      const status = STATUS_BY_RANK[this.rank[i]!]!;
      if (status === 'blocked') continue;
      const d = table.at(i);
      each(i, d, status, ruleOf(d, status), warningOf(d, status));
    }
  }

  private writable(i: number): boolean {
    return this.table.rowWritable?.(i) ?? false;
  }

  /**
   * Loads the `k`th violation into `c`: only the fields of a violation (its ports, protocols,
   * apps, times and counters other than connections and bytes sent are left as they were). A
   * violation's rule is never null.
   */
  loadViolation(c: DestinationCursor, k: number, lean = false): void {
    const i = this.violationOrder[k]!;
    c.loadViolation(this.table.at(i), this.names, lean && this.table.rowWriter !== undefined ? i : -1);
  }
}

/**
 * One destination at a time, as {@link destinationOf} would make it, in an object that is reused:
 * its lists are valid until the next load.
 */
export class DestinationCursor implements VerdictDestination {
  ip = '';
  country: string | null = null;
  countries: Record<string, string | null> = {};
  addressClass: VerdictDestination['addressClass'] = 'public';
  status: DestinationStatus = 'allowed';
  rule: string | null = null;
  connections = 0;
  blockedAttempts = 0;
  bytesSent = 0;
  bytesReceived = 0;
  connectionsWithUnknownBytes = 0;
  /** First and last seen, as epoch milliseconds (NaN when unknown): the writer writes these. */
  firstSeenMs = NaN;
  lastSeenMs = NaN;
  ports: number[] = [];
  protocols: string[] = [];
  hostnames: string[] = [];
  apps: string[] = [];
  evidenceLines: number[] = [];
  disputed = false;
  asn: number | null = null;
  asOrganization: string | null = null;
  operatorCountry: string | null = null;
  warning: string | null = null;
  /** Each app's share (see {@link VerdictDestination.appTraffic}); undefined when not given. */
  appTraffic: VerdictAppTraffic[] | undefined = undefined;
  /**
   * The destination's row, when loaded lean (see {@link DestinationList.load}): its counters,
   * times, ports and evidence lines are then not loaded, for the row writer to write; -1 otherwise.
   * {@link loadCounts} and {@link loadEvidence} load them after all (the writer could not).
   */
  row = -1;
  /**
   * Loaded lean, and plain (see DestinationTable.rowPlain): its protocols are not loaded either,
   * its names and apps are none; {@link loadProtocols} loads the protocols after all.
   */
  plain = false;
  private readonly portsSorted: number[] = [];
  private readonly protocolsSorted: string[] = [];
  private readonly evidenceSorted: number[] = [];
  /** What was loaded from: a view that stays on it until the next load. */
  private source: DestinationAggregate | null = null;

  load(
    d: DestinationAggregate,
    status: DestinationStatus,
    names: ReadonlyMap<string, readonly string[]> | undefined,
    row = -1,
    plain = false,
  ): void {
    this.row = row;
    this.plain = plain;
    this.source = d;
    this.loadViolationFields(d, status, names);
    const f = d.facts;
    this.countries = f.countries;
    this.addressClass = f.addressClass;
    if (row < 0) this.loadCounts();
    if (plain) {
      this.apps = NONE;
      this.appTraffic = undefined;
    } else {
      this.loadProtocols();
      this.apps = d.apps ? sortStrings(Array.from(d.apps)) : NONE;
      this.appTraffic = d.appCounts ? appTrafficOf(d.appCounts) : undefined;
    }
    this.disputed = f.disputed;
    this.warning = warningOf(d, status);
  }

  /** Loads the fields a {@link VerdictViolation} has, from destination `d` (a violation). */
  loadViolation(d: DestinationAggregate, names: ReadonlyMap<string, readonly string[]> | undefined, row = -1): void {
    this.row = row;
    this.plain = false;
    this.source = d;
    this.loadViolationFields(d, 'violation', names);
    this.rule ??= 'violation';
  }

  /** Loads the counters, times and ports a lean load left to the row writer. */
  loadCounts(): void {
    const d = this.source!;
    this.bytesSent = d.bytesSent;
    this.connections = d.connections;
    this.blockedAttempts = d.blockedAttempts;
    this.bytesReceived = d.bytesReceived;
    this.connectionsWithUnknownBytes = d.connectionsWithUnknownBytes;
    this.firstSeenMs = d.firstSeenMs;
    this.lastSeenMs = d.lastSeenMs;
    const ports = d.ports;
    this.ports = ports.length === 0 ? NO_NUMBERS : sortNumbersInto(ports, this.portsSorted);
  }

  /** Loads the protocols a plain load left to the row writer. */
  loadProtocols(): void {
    const protocols = this.source!.protocols;
    this.protocols = protocols.length < 2 ? (protocols as string[]) : sortStrings(copyInto(protocols, this.protocolsSorted));
  }

  /** Loads the evidence lines (and bytes sent and connections) a lean load left to the row writer. */
  loadEvidence(): void {
    const d = this.source!;
    this.bytesSent = d.bytesSent;
    this.connections = d.connections;
    const evidence = d.evidenceLines;
    this.evidenceLines = evidence.length === 0 ? NO_NUMBERS : sortNumbersInto(evidence, this.evidenceSorted);
  }

  /** The fields a destination and a violation share (status and rule as for `status`). */
  private loadViolationFields(
    d: DestinationAggregate,
    status: DestinationStatus,
    names: ReadonlyMap<string, readonly string[]> | undefined,
  ): void {
    const f = d.facts;
    this.ip = f.ip;
    this.country = f.country;
    this.status = status;
    this.rule = ruleOf(d, status);
    this.hostnames = d.hostnames === null && names === undefined ? NONE : namesOf(d, names);
    if (this.row < 0) this.loadEvidence();
    this.asn = f.asn;
    this.asOrganization = f.asOrganization;
    this.operatorCountry = f.operatorCountry;
  }

  get firstSeen(): string | null {
    return iso(this.firstSeenMs);
  }

  get lastSeen(): string | null {
    return iso(this.lastSeenMs);
  }
}

function ruleOf(d: DestinationAggregate, status: DestinationStatus): string | null {
  if (status !== 'blocked') return d.facts.rule;
  // Refused (a REJECT, a deny) or opened from outside and answered with nothing: the rows count both alike.
  const n = d.blockedAttempts;
  return `no connection carried data to it: every attempt was refused by the network or left unanswered (${n} attempt${n === 1 ? '' : 's'})`;
}

function warningOf(d: DestinationAggregate, status: DestinationStatus): string | null {
  return status === 'non-public' || status === 'blocked' ? null : d.facts.warning;
}

/** The destination list of a verdict whose destinations have not been read as objects yet. */
const listOf = new WeakMap<Verdict, DestinationList>();

/**
 * The list a verdict's destinations and violations can be written from without making them into
 * objects, or null when they are objects already (read, or replaced, since the verdict was built).
 */
export function destinationListOf(v: Verdict): DestinationList | null {
  const list = listOf.get(v);
  if (list === undefined) return null;
  return Object.getOwnPropertyDescriptor(v, 'destinations')?.get !== undefined &&
    Object.getOwnPropertyDescriptor(v, 'violations')?.get !== undefined
    ? list
    : null;
}

/**
 * Makes `destinations` and `violations` properties that become plain arrays when first read (or
 * set): they keep their places among the verdict's keys, and to a reader they are arrays.
 */
function deferLists(v: Verdict, list: DestinationList): void {
  const settle = (key: 'destinations' | 'violations', value: unknown): void => {
    Object.defineProperty(v, key, { value, writable: true, enumerable: true, configurable: true });
  };
  Object.defineProperty(v, 'destinations', {
    enumerable: true,
    configurable: true,
    get(): VerdictDestination[] {
      const destinations = list.objects();
      settle('destinations', destinations);
      return destinations;
    },
    set(value: VerdictDestination[]) {
      settle('destinations', value);
    },
  });
  Object.defineProperty(v, 'violations', {
    enumerable: true,
    configurable: true,
    get(): VerdictViolation[] {
      const violations = violationsOf(v.destinations);
      settle('violations', violations);
      return violations;
    },
    set(value: VerdictViolation[]) {
      settle('violations', value);
    },
  });
  listOf.set(v, list);
}

/** The violations among destinations in verdict order (sharing their lists). */
function violationsOf(destinations: readonly VerdictDestination[]): VerdictViolation[] {
  const violations: VerdictViolation[] = [];
  for (let i = 0; i < destinations.length; i++) {
    const d = destinations[i]!;
    if (d.status === 'violation') violations.push(violationOf(d));
  }
  return violations;
}

/** A violating destination's entry in `violations` (sharing its lists). */
function violationOf(d: VerdictDestination): VerdictViolation {
  return {
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
  };
}

/**
 * The first `n` violations of a verdict, without making the others into objects when they are not
 * yet (a summary lists ten of what may be tens of thousands).
 */
export function firstViolations(v: Verdict, n: number): VerdictViolation[] {
  const list = destinationListOf(v);
  return list === null ? v.violations.slice(0, n) : list.violationObjects(n);
}

/**
 * Every destination of a verdict, in order, without making them into objects when they are not
 * yet: each is then one reused cursor, valid until the next is asked for (copy what is kept).
 */
export function* eachDestination(v: Verdict): Generator<VerdictDestination> {
  const list = destinationListOf(v);
  if (list === null) {
    // (An error verdict read back from JSON by older tools may have none.)
    yield* v.destinations ?? [];
    return;
  }
  const cursor = new DestinationCursor();
  for (let k = 0; k < list.length; k++) {
    list.load(cursor, k);
    yield cursor;
  }
}

/**
 * The first `n` destinations of a verdict in its order as objects, or null when they are objects
 * already (read them from `destinations`, whose order a hand-built verdict may not keep).
 */
export function firstDestinationsOfList(v: Verdict, n: number): { shown: VerdictDestination[]; total: number } | null {
  const list = destinationListOf(v);
  return list === null ? null : { shown: list.objectsUpTo(n), total: list.length };
}

/** How many violations a verdict lists, without making them into objects. */
export function violationCount(v: Verdict): number {
  const list = destinationListOf(v);
  return list === null ? v.violations.length : list.violationCount;
}

/**
 * The destinations in verdict order: status, then bytes sent and connections (most first), then
 * address. Sorts positions over columns of the keys (a comparison reads no objects).
 */
/** What the verdict needs of each destination besides its entry, by number, read in one pass. */
interface DestinationColumns {
  rank: Uint8Array;
  sent: Float64Array;
  received: Float64Array;
  conns: Float64Array;
  ips: string[];
  countries: (string | null)[];
  warnings: (string | null)[];
  /** Connections with unknown byte counts, over every destination. */
  unknownBytes: number;
}

/**
 * Reads the destinations once, in order of number (the rows in memory order), into columns: the
 * sort, the totals, the country table and the warnings then need no other pass over the rows.
 */
function destinationColumns(table: DestinationTable): DestinationColumns {
  const n = table.size;
  const c: DestinationColumns = {
    rank: new Uint8Array(n),
    sent: new Float64Array(n),
    received: new Float64Array(n),
    conns: new Float64Array(n),
    ips: new Array<string>(n),
    countries: new Array<string | null>(n),
    warnings: new Array<string | null>(n),
    unknownBytes: 0,
  };
  let unknownBytes = 0;
  for (let i = 0; i < n; i++) {
    const d = table.at(i);
    const status = statusOf(d);
    const f = d.facts;
    c.rank[i] = STATUS_RANK[status];
    c.sent[i] = d.bytesSent;
    c.received[i] = d.bytesReceived;
    c.conns[i] = d.connections;
    c.ips[i] = f.ip;
    c.countries[i] = f.country;
    c.warnings[i] = warningOf(d, status);
    unknownBytes += d.connectionsWithUnknownBytes;
  }
  c.unknownBytes = unknownBytes;
  return c;
}

/**
 * Destination numbers in verdict order: status rank, then bytes sent (most first), then
 * connections (most first), then address. The same order as sorting with that comparator, but
 * the first two keys are sorted natively as numbers (a comparator called some 15 times per
 * destination was most of the cost); runs that tie on both are then sorted by the comparator.
 * Falls back to the comparator alone when a byte count does not fit the packed key.
 */
export function sortDestinations(rank: Uint8Array, sent: Float64Array, conns: Float64Array, ips: readonly string[]): number[] {
  // Each loop is a function of its own: they run tens of thousands of times each, and V8 compiles
  // the whole function around a hot loop, once per loop when they share one.
  const n = rank.length;
  const byAll = (a: number, b: number): number => {
    const ia = ips[a]!;
    const ib = ips[b]!;
    return rank[a]! - rank[b]! || sent[b]! - sent[a]! || conns[b]! - conns[a]! || (ia < ib ? -1 : ia > ib ? 1 : 0);
  };
  const order: number[] = new Array<number>(n);
  // Key: (limit - 1 - sent) * scale + number, an integer below 2^53, so exact: ascending keys
  // are descending bytes sent, and the number comes back as key % scale. One sort per rank.
  const scale = 2 ** Math.max(1, Math.ceil(Math.log2(n + 1)));
  const limit = 2 ** 53 / scale;
  const starts = rankStarts(rank, sent, limit);
  if (starts === null) {
    for (let k = 0; k < n; k++) order[k] = k;
    return order.sort(byAll);
  }
  const keys = packedKeys(rank, sent, starts, limit, scale);
  for (let r = 0; r + 1 < starts.length; r++) keys.subarray(starts[r]!, starts[r + 1]!).sort();
  for (let k = 0; k < n; k++) order[k] = keys[k]! % scale;
  breakTies(order, rank, sent, byAll);
  return order;
}

/**
 * Where each rank starts in the order (`starts[r]`, with the total at the end), or null when a
 * byte count does not fit the packed key (or a rank is out of range): the comparator sorts then.
 */
function rankStarts(rank: Uint8Array, sent: Float64Array, limit: number): Int32Array | null {
  const starts = new Int32Array(STATUS_BY_RANK.length + 1);
  for (let i = 0; i < rank.length; i++) {
    const x = sent[i]!;
    if (!(x >= 0 && x < limit && Math.floor(x) === x) || rank[i]! >= STATUS_BY_RANK.length) return null;
    starts[rank[i]! + 1]!++;
  }
  for (let r = 1; r < starts.length; r++) starts[r]! += starts[r - 1]!;
  return starts;
}

/** Each destination's packed key, placed in its rank's range. */
function packedKeys(rank: Uint8Array, sent: Float64Array, starts: Int32Array, limit: number, scale: number): Float64Array {
  const keys = new Float64Array(rank.length);
  const fill = starts.slice();
  for (let i = 0; i < rank.length; i++) keys[fill[rank[i]!]!++] = (limit - 1 - sent[i]!) * scale + i;
  return keys;
}

/** Runs with the same rank and bytes sent: connections, then address, decide (`byAll`). */
function breakTies(order: number[], rank: Uint8Array, sent: Float64Array, byAll: (a: number, b: number) => number): void {
  const n = order.length;
  for (let k = 0; k < n; ) {
    let end = k + 1;
    while (end < n && rank[order[end]!] === rank[order[k]!] && sent[order[end]!] === sent[order[k]!]) end++;
    if (end - k > 16) {
      sortRun(order, k, end, byAll);
    } else {
      // Mostly two or three: insertion sort in place.
      for (let j = k + 1; j < end; j++) {
        const x = order[j]!;
        let at = j - 1;
        while (at >= k && byAll(order[at]!, x) > 0) {
          order[at + 1] = order[at]!;
          at--;
        }
        order[at + 1] = x;
      }
    }
    k = end;
  }
}

/** Sorts order[k, end) by `byAll` (a long run: rare, so not in breakTies' loop, which it would deoptimise). */
function sortRun(order: number[], k: number, end: number, byAll: (a: number, b: number) => number): void {
  const run = order.slice(k, end).sort(byAll);
  for (let j = 0; j < run.length; j++) order[k + j] = run[j]!;
}

function countriesOf(c: DestinationColumns, order: readonly number[]): Verdict['countries'] {
  type Row = Verdict['countries'][number];
  // Country, then status rank: no key string per destination. No country and '' share a row.
  const byCountry = new Map<string, (Row | null)[]>();
  const rows: Row[] = [];
  const rank = c.rank;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    const country = c.countries[i]!;
    let byStatus = byCountry.get(country ?? '');
    if (!byStatus) {
      // One slot per status, filled: a read past the end (or of a hole) would deoptimise the loop.
      byStatus = new Array<Row | null>(STATUS_BY_RANK.length).fill(null);
      byCountry.set(country ?? '', byStatus);
    }
    const r = rank[i]!;
    let row = byStatus[r]!;
    if (row === null) {
      row = { country, status: STATUS_BY_RANK[r]!, destinations: 0, connections: 0, bytesSent: 0, bytesReceived: 0 };
      byStatus[r] = row;
      rows.push(row);
    }
    row.destinations++;
    row.connections += c.conns[i]!;
    row.bytesSent += c.sent[i]!;
    row.bytesReceived += c.received[i]!;
  }
  return rows.sort(
    (a, b) =>
      STATUS_RANK[a.status] - STATUS_RANK[b.status] ||
      b.bytesSent - a.bytesSent ||
      countryOrder(a.country ?? '~', b.country ?? '~'),
  );
}

/** Two-character codes of digits and capitals (ISO 3166-1, and databases' A1, O1, EU). */
const PLAIN_CODE = /^[0-9A-Z]{2}$/;

/**
 * The per-country table's last tie-break: `a.localeCompare(b)` as an English or root locale
 * orders, without ICU where the answer is known (its first use in a process sets up ICU's
 * collation, about 15 ms). For codes of digits and capitals that order is the code points'
 * (digits before capitals), and it puts the `~` of "no country" before both. It used to follow
 * the process's locale, whose collation orders some codes apart (Slovak puts CH after H): now the
 * same input gives the same table everywhere. Anything else still goes to localeCompare.
 */
export function countryOrder(a: string, b: string): number {
  const plainA = a === '~' || PLAIN_CODE.test(a);
  const plainB = b === '~' || PLAIN_CODE.test(b);
  if (!plainA || !plainB) return a.localeCompare(b);
  if (a === b) return 0;
  if (a === '~') return -1;
  if (b === '~') return 1;
  return a < b ? -1 : 1;
}

function skippedByReason(agg: AggregateTotals): Record<string, number> {
  return sortedCounts(agg.skippedByReason);
}

/** Counts by name as an object, names in sorted order (so the verdict's bytes do not depend on first sight). */
function sortedCounts(counts: ReadonlyMap<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of [...counts.keys()].sort()) out[k] = counts.get(k)!;
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

/**
 * One pass in verdict order: the violations, the warnings and the byte totals (added in that
 * order). A function of its own, so that the loop's optimised code is not thrown away by what
 * follows it in buildVerdict.
 */
function inVerdictOrder(columns: DestinationColumns, order: readonly number[]) {
  const rank = columns.rank;
  const violationOrder: number[] = [];
  const warnings: Verdict['warnings'] = [];
  let bytesSent = 0;
  let bytesReceived = 0;
  let bytesSentViolating = 0;
  const violationRank = STATUS_RANK.violation;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    bytesSent += columns.sent[i]!;
    bytesReceived += columns.received[i]!;
    if (rank[i] === violationRank) {
      bytesSentViolating += columns.sent[i]!;
      violationOrder.push(i);
    }
    const warning = columns.warnings[i]!;
    if (warning !== null) warnings.push({ ip: columns.ips[i]!, rule: warning });
  }
  return { violationOrder, warnings, bytesSent, bytesReceived, bytesSentViolating };
}

/** The verdict of a completed check. */
export function buildVerdict(b: BuildInput): Verdict {
  const { agg } = b;
  const table = agg.destinationTable();
  const columns = destinationColumns(table);
  const { rank } = columns;
  const order = sortDestinations(rank, columns.sent, columns.conns, columns.ips);
  // One pass for the violations, the warnings and the byte totals (added in verdict order).
  const { violationOrder, warnings, bytesSent, bytesReceived, bytesSentViolating } = inVerdictOrder(columns, order);
  const verdict: Verdict = {
    schemaVersion: VERDICT_SCHEMA_VERSION,
    compliant: violationOrder.length === 0,
    ...header(b),
    totals: {
      records: agg.records,
      connections: agg.connections,
      skipped: agg.skipped,
      noData: agg.noDataRecords,
      bytesSent,
      bytesSentViolating,
      bytesReceived,
      destinations: order.length,
      violatingDestinations: violationOrder.length,
      skippedByReason: skippedByReason(agg),
      unattributed: agg.unattributedRecords,
      connectionsWithUnknownBytes: columns.unknownBytes,
      malformedValues: agg.malformedValues,
      malformedValuesByField: sortedCounts(agg.malformedByField),
    },
    countries: countriesOf(columns, order),
    // Placeholders that hold their places among the keys: deferLists replaces them.
    destinations: [],
    violations: [],
    warnings,
    errors: agg.errors.slice(),
    unattributed: agg.unattributedKept.slice(),
    malformedValues: agg.malformedKept.slice(),
  };
  deferLists(verdict, new DestinationList(table, order, rank, b.options.names, violationOrder));
  return verdict;
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
