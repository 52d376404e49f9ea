/**
 * The streaming fold: every record lands here; memory grows with the number of distinct
 * addresses, never with the number of records.
 *
 * Laid out for speed, since it runs once per record: address spellings map to endpoint numbers
 * through a byte-keyed index (no string per record), and each destination's counters live in one
 * 64-byte row of a Float64Array (one cache line per record). Lists (ports, names, evidence lines)
 * are kept beside, touched only when something new appears.
 */
import { InputError } from '../errors';
import type { GeoLookup } from '../geo/geo-lookup';
import { classifyAddress, isLinkScoped } from '../net/address-class';
import { parseIp, type ParsedIp } from '../net/ip';
import { latin1 } from '../parsers/bytes';
import { evaluateAddresses, isLocal, type AddressFacts, type OperatorSources } from '../policy/evaluate';
import type { CompiledPolicy } from '../policy/policy';
import type { CommonAddresses, FlowRecord, RecordSink } from '../types';
import { ByteKeyIndex, Ipv4Index, parseIpv4Bytes } from './byte-key-table';
import { CommonAddressHints } from './common-addresses';

/** How many skipped records are kept with their line and reason. */
export const MAX_ERRORS_KEPT = 100;
/** How many evidence line numbers each destination keeps. */
export const MAX_EVIDENCE_LINES = 10;
/** Caps on the distinct values a destination lists. */
export const MAX_PORTS_LISTED = 64;
export const MAX_NAMES_LISTED = 32;
const MAX_PROTOCOLS_LISTED = 8;
/**
 * Default bound on distinct destinations. Each costs about 3 kB while checking and about 700 bytes
 * of verdict; a log with more (a scan, or a hostile log) is refused with a reason instead of
 * exhausting memory.
 */
export const DEFAULT_MAX_DESTINATIONS = 1_000_000;
/** Bound on cached spellings of addresses: hostile logs can spell one address many ways. */
const MAX_SPELLINGS_CACHED = 1_000_000;

// Columns of a destination's counter row. The Zeek fast path (lambda/engine/fast/zeek-fold.c)
// reads and writes the same rows: keep the two layouts identical. What every record touches is
// in the first 64 bytes (one cache line), and rows are a whole number of cache lines.
const C_CONNECTIONS = 0;
const C_PROTO_MASK = 1;
const C_UNKNOWN_BYTES = 2;
const C_SENT = 3;
const C_RECEIVED = 4;
const C_FIRST = 5;
const C_LAST = 6;
const C_LAST_PORT = 7;
const C_BLOCKED = 8;
/** 1 once the overflow port list is full: a new port changes nothing any more. */
const C_PORTS_FULL = 9;
/** Ports are kept inline in the row until this many distinct ones; the rest go to a list. */
const C_PORTS = 10;
export const INLINE_PORTS = 12;
/** The first {@link MAX_EVIDENCE_LINES} line numbers. */
const C_EVIDENCE = 22;
/** Doubles per destination row: four cache lines. */
export const ROW_DOUBLES = 32;
const ROW = ROW_DOUBLES;
/** Protocol names get bit numbers in the first-seen order, up to this many (then a list). */
const MAX_PROTOCOL_BITS = 30;

const INVALID = -1;
/** Inside the monitored networks by the policy (its address). */
const FLAG_LOCAL = 1;
/** The endpoint is link-scoped (isLinkScoped): a record sent to it is from inside, whatever its sender's address. */
const FLAG_LINK = 2;

/** A destination's totals, as the verdict builder reads them. */
export interface DestinationAggregate {
  readonly facts: AddressFacts;
  readonly connections: number;
  readonly blockedAttempts: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly connectionsWithUnknownBytes: number;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  readonly ports: readonly number[];
  readonly protocols: readonly string[];
  readonly hostnames: ReadonlySet<string> | null;
  readonly apps: ReadonlySet<string> | null;
  /**
   * Each app's own share of the counts, by app (the apps of {@link apps}); null when the log names
   * no app for it, or more apps reached it than are listed (their counts are then not all known).
   * Absent from aggregates made before it existed.
   */
  readonly appCounts?: ReadonlyMap<string, AppCounts> | null;
  readonly evidenceLines: readonly number[];
}

/** One app's share of a destination's counts (records that name the app). */
export interface AppCounts {
  connections: number;
  blockedAttempts: number;
  bytesSent: number;
  bytesReceived: number;
}

/**
 * Lists host name `name` for a destination (unless its list is full) and makes it the last one:
 * the first name alone, the list made when a second one comes.
 */
function noteHostname(x: DestinationExtras, name: string): void {
  if (x.hostnames === undefined) {
    if (x.lastHostname === undefined || x.lastHostname === name) {
      x.lastHostname = name;
      return;
    }
    x.hostnames = new Set([x.lastHostname]);
  }
  x.lastHostname = name;
  if (x.hostnames.size < MAX_NAMES_LISTED) x.hostnames.add(name);
}

/** Distinct skip reasons counted apart in `skippedByReason`; the rest as {@link OTHER_SKIP_REASONS}. */
export const MAX_SKIP_REASONS = 256;
export const OTHER_SKIP_REASONS = 'other reasons';

/** A malformed value as the verdict lists it: where, which field, and the value (cut). */
export interface MalformedValue {
  line: number;
  field: string;
  value: string;
}

/** Distinct field names counted apart in `malformedValuesByField`; the rest as {@link OTHER_FIELDS}. */
export const MAX_MALFORMED_FIELDS = 64;
export const OTHER_FIELDS = 'other fields';
/** Characters of a malformed value (and of its field name) the verdict keeps. */
export const MALFORMED_VALUE_CHARS = 40;

/** `s` cut to {@link MALFORMED_VALUE_CHARS} characters, with an ellipsis when cut. */
export function cutValue(s: string): string {
  return s.length > MALFORMED_VALUE_CHARS ? `${s.slice(0, MALFORMED_VALUE_CHARS)}…` : s;
}

/**
 * Adds `n` to `counts[name]`; once `max` distinct names are counted, a new name is counted under
 * `other` (skip reasons, malformed fields: a parser may put a value of the log in a name).
 */
export function countCapped(counts: Map<string, number>, name: string, n: number, max: number, other: string): void {
  const key = counts.size < max || counts.has(name) ? name : other;
  counts.set(key, (counts.get(key) ?? 0) + n);
}

/** A reason with the value seen, quoted and cut to 80 characters. */
function withDetail(reason: string, detail: string | undefined): string {
  return detail === undefined ? reason : `${reason}: ${JSON.stringify(detail.length > 80 ? `${detail.slice(0, 80)}…` : detail)}`;
}

/**
 * Told of the facts the aggregator settles, so a fast path folding records elsewhere (into the
 * same rows) can take over the records that only need adding up.
 */
export interface FoldListener {
  /** The address spelled by `buf[start, end)` is endpoint `ep`, with its flags (see {@link Aggregator.endpointFlags}). */
  endpoint(buf: Buffer, start: number, end: number, ep: number, flags: number): void;
  /** Endpoint `ep` is now destination `d`. */
  destination(ep: number, d: number): void;
  /** Protocol `name` has bit `bit` in a row's protocol mask. */
  protocolBit(name: string, bit: number): void;
}

/**
 * Rows shared with a fast path: room for `maxDestinations` rows (they never move), and who to
 * tell about new facts.
 */
export interface SharedRows {
  rows: Float64Array<ArrayBuffer>;
  listener: FoldListener;
  /** Writes rows' numbers as verdict JSON, when the fast path can. */
  writer?: RowWriter;
}

/**
 * Writes the numbers of a destination's row as verdict JSON into {@link buffer}, exactly as the
 * JavaScript writer would (lambda/engine/verdict/serialize.ts). Each method writes at `p` and
 * returns the end, or -1 with nothing written when a value needs JavaScript's spelling.
 */
export interface RowWriter {
  /** The only buffer these methods write into. */
  readonly buffer: Buffer;
  /** Set while a verdict is written into {@link buffer}, so that no other is at the same time. */
  busy: boolean;
  /** `,"connections":` through `,"ports":[...]`: for a destination whose ports are all in its row. */
  destinationCounts(d: number, p: number): number;
  /** `,"evidenceLines":[...]`. */
  evidence(d: number, p: number): number;
  /**
   * `,"protocols":[...]` through `,"evidenceLines":[...]`: for a destination with no names or apps
   * and no protocol but tcp, udp and icmp.
   */
  destinationLists(d: number, p: number): number;
  /** A violation's `,"bytesSent":`, `,"connections":` and `,"evidenceLines":`. */
  violationCounts(d: number, p: number): number;
  /** Writes whole entries, when the fast path can (see {@link EntryWriter}). */
  readonly entries?: EntryWriter;
}

/**
 * Writes whole list entries of the verdict file (`    {...},\n`) into {@link RowWriter.buffer},
 * from each destination's row and from texts spelled by JavaScript beforehand: the parts that
 * repeat from one destination to the next (its judgement, its operator), and its address. A run of
 * entries is one call, however many destinations: what is left for JavaScript per destination is
 * describing it, once. An entry not described, or with a number the row writer leaves to
 * JavaScript, ends a run; JavaScript writes that one.
 */
export interface EntryWriter {
  /** Forgets every description and text, for a list of `size` destinations; false when it cannot hold that many. */
  begin(size: number): boolean;
  /** Keeps `json` (JSON text, written as UTF-8) for entries: its number, or -1 when there is no room. */
  text(json: string): number;
  /**
   * Describes destination `d`: its address (printable ASCII, written quoted), the texts of its
   * destination entry (after the address, and after its lists) and of its violation entry.
   * False (and not described) when the address cannot be written as it is.
   */
  describe(d: number, ip: string, destinationHead: number, destinationTail: number, violationHead: number, violationTail: number): boolean;
  /** The order of list `kind` (0 destinations, 1 violations): destination numbers. */
  order(kind: 0 | 1, order: readonly number[]): void;
  /**
   * Writes entries `k`, `k + 1`, ... of list `kind` (`total` long) at `p`, until one it cannot
   * write, or one that might not fit, or `chunk` bytes are reached (after at least one entry).
   * Returns the index of the first entry not written; {@link end} is where the writing ended.
   */
  put(kind: 0 | 1, k: number, total: number, p: number, chunk: number): number;
  /** Where the last {@link put} ended. */
  readonly end: number;
}

/** What the verdict is built from: the counts, the skipped records kept, and the destinations. */
export interface AggregateTotals {
  readonly records: number;
  readonly connections: number;
  readonly skipped: number;
  readonly noDataRecords: number;
  readonly unattributedRecords: number;
  readonly errors: readonly { line: number; reason: string }[];
  readonly unattributedKept: readonly { line: number; reason: string }[];
  readonly skippedByReason: ReadonlyMap<string, number>;
  /** Values present but unreadable in records that were used (see RecordSink.malformed). */
  readonly malformedValues: number;
  readonly malformedByField: ReadonlyMap<string, number>;
  /** The first {@link MAX_ERRORS_KEPT} of them. */
  readonly malformedKept: readonly MalformedValue[];
  /** Every destination's totals, in order of first sight. */
  destinations(): DestinationAggregate[];
  /** The same, read one at a time (see {@link DestinationTable}). */
  destinationTable(): DestinationTable;
}

/**
 * Destinations by number, in order of first sight. What `at` returns may be one object reused for
 * every number (a view of the aggregator's rows): read it before the next call, and copy what is
 * kept.
 */
export interface DestinationTable {
  readonly size: number;
  at(i: number): DestinationAggregate;
  /** Writes the rows' numbers, when they are in memory a {@link RowWriter} can read. */
  readonly rowWriter?: RowWriter;
  /** Whether the row writer can write destination `i` (all its ports are in its row). */
  rowWritable?(i: number): boolean;
  /**
   * Whether destination `i` is plain: nothing outside its row (no names, apps or further ports
   * or protocols), and no protocol but tcp, udp and icmp. The row writer writes its lists too.
   */
  rowPlain?(i: number): boolean;
}

/** A table over destinations held as objects. */
export function tableOf(all: readonly DestinationAggregate[]): DestinationTable {
  return { size: all.length, at: (i) => all[i]! };
}

/** What a destination has that does not fit its row; made for the few destinations that need it. */
interface DestinationExtras {
  /** Ports past the inline slots. */
  ports?: number[];
  /** Protocols without a bit. */
  protocols?: string[];
  /**
   * The host names listed, made when a second name reaches the destination: until then its one
   * name is {@link lastHostname} (most destinations have one name; a Set each is some 100 bytes).
   */
  hostnames?: Set<string>;
  /**
   * The apps listed, made when a second app reaches the destination: until then its one app is
   * {@link lastApp}, with {@link lastAppCounts} (most destinations of a VPC flow log are reached
   * from one interface, and a Set and a Map for each took some 10 MB at 37,000 destinations).
   */
  apps?: Set<string>;
  /**
   * Each listed app's counts (made with {@link apps}); null once an app past
   * {@link MAX_NAMES_LISTED} reached the destination (its share is unknown, so none is given: a
   * split check could not merge them exactly).
   */
  appCounts?: Map<string, AppCounts> | null;
  /**
   * A name in the destination's list (the last one added), so a run of records with one name
   * costs a comparison; the whole list while {@link hostnames} is not made.
   */
  lastHostname?: string;
  lastApp?: string;
  /** The counts of {@link lastApp} (undefined once they are not kept). */
  lastAppCounts?: AppCounts;
}

/**
 * One destination of an {@link Aggregator}, read from its row when asked: no object, list or copy
 * per destination. Its lists are refilled on each read of them.
 */
class RowView implements DestinationAggregate {
  private at = 0;
  private d = 0;
  private readonly portList: number[] = [];
  private readonly protocolList: string[] = [];
  private readonly evidenceList: number[] = [];

  constructor(
    private readonly rows: Float64Array,
    private readonly destEndpoint: Int32Array,
    private readonly epFacts: readonly (AddressFacts | undefined)[],
    private readonly destExtras: readonly (DestinationExtras | undefined)[],
    private readonly protocolNames: readonly string[],
  ) {}

  /** Points the view at destination `d`. */
  moveTo(d: number): this {
    this.d = d;
    this.at = d * ROW;
    return this;
  }

  get facts(): AddressFacts {
    return this.epFacts[this.destEndpoint[this.d]!]!;
  }
  get connections(): number {
    return this.rows[this.at + C_CONNECTIONS]!;
  }
  get blockedAttempts(): number {
    return this.rows[this.at + C_BLOCKED]!;
  }
  get bytesSent(): number {
    return this.rows[this.at + C_SENT]!;
  }
  get bytesReceived(): number {
    return this.rows[this.at + C_RECEIVED]!;
  }
  get connectionsWithUnknownBytes(): number {
    return this.rows[this.at + C_UNKNOWN_BYTES]!;
  }
  get firstSeenMs(): number {
    return this.rows[this.at + C_FIRST]!;
  }
  get lastSeenMs(): number {
    return this.rows[this.at + C_LAST]!;
  }
  get ports(): readonly number[] {
    return portsOf(this.rows, this.at, this.destExtras[this.d]?.ports, this.portList);
  }
  get protocols(): readonly string[] {
    return protocolsOf(this.rows, this.at, this.protocolNames, this.destExtras[this.d]?.protocols, this.protocolList);
  }
  get hostnames(): ReadonlySet<string> | null {
    const x = this.destExtras[this.d];
    if (x === undefined) return null;
    return x.hostnames ?? (x.lastHostname !== undefined ? new Set([x.lastHostname]) : null);
  }
  get apps(): ReadonlySet<string> | null {
    const x = this.destExtras[this.d];
    if (x === undefined) return null;
    return x.apps ?? (x.lastApp !== undefined ? new Set([x.lastApp]) : null);
  }
  get appCounts(): ReadonlyMap<string, AppCounts> | null {
    const x = this.destExtras[this.d];
    if (x === undefined) return null;
    if (x.appCounts !== undefined) return x.appCounts;
    return x.lastApp !== undefined && x.lastAppCounts !== undefined ? new Map([[x.lastApp, x.lastAppCounts]]) : null;
  }
  get evidenceLines(): readonly number[] {
    return evidenceOf(this.rows, this.at, this.evidenceList);
  }
}

/** The list for a row with none of something: shared, never changed. */
const NO_NUMBERS: readonly number[] = Object.freeze([]);
const NO_STRINGS: readonly string[] = Object.freeze([]);

// The three readers below refill `out` by index and then cut it to length: emptying it first
// (length = 0) would drop its storage, and refilling it would allocate again, once per row.

/** A row's ports (inline, then the overflow list), in `out`. */
function portsOf(rows: Float64Array, at: number, more: readonly number[] | undefined, out: number[]): readonly number[] {
  let n = 0;
  for (let i = 0; i < INLINE_PORTS; i++) {
    const port = rows[at + C_PORTS + i]!;
    if (port >= 0) out[n++] = port;
  }
  if (more !== undefined) for (let i = 0; i < more.length; i++) out[n++] = more[i]!;
  if (n === 0) return NO_NUMBERS;
  if (out.length !== n) out.length = n;
  return out;
}

/** A row's protocols (by bit, then the overflow list), in `out`. */
function protocolsOf(rows: Float64Array, at: number, names: readonly string[], more: readonly string[] | undefined, out: string[]): readonly string[] {
  let n = 0;
  const mask = rows[at + C_PROTO_MASK]!;
  for (let bit = 0; bit < names.length; bit++) if ((mask & (1 << bit)) !== 0) out[n++] = names[bit]!;
  if (more !== undefined) for (let i = 0; i < more.length; i++) out[n++] = more[i]!;
  if (n === 0) return NO_STRINGS;
  if (out.length !== n) out.length = n;
  return out;
}

/** A row's evidence line numbers, in `out`. */
function evidenceOf(rows: Float64Array, at: number, out: number[]): readonly number[] {
  const seen = Math.min(MAX_EVIDENCE_LINES, rows[at + C_CONNECTIONS]! + rows[at + C_BLOCKED]!);
  if (seen === 0) return NO_NUMBERS;
  for (let i = 0; i < seen; i++) out[i] = rows[at + C_EVIDENCE + i]!;
  if (out.length !== seen) out.length = seen;
  return out;
}

/** Protocols without ports: what a log writes in their port fields is something else (Zeek's unknown_transport writes 0). */
const PORTLESS: ReadonlySet<string> = new Set(['icmp', 'ipv6-icmp', 'icmp6', 'icmpv6', 'unknown_transport']);

/** Folds records into per-destination totals. */
export class Aggregator implements RecordSink, AggregateTotals {
  records = 0;
  connections = 0;
  skipped = 0;
  noDataRecords = 0;
  unattributedRecords = 0;
  /** Skipped records of another kind mixed in with connections (see RecordSink.notConnection). */
  notConnectionRecords = 0;
  /** Records that count both directions of a connection (not FlowRecord.oneWay). */
  twoWayRecords = 0;
  readonly errors: { line: number; reason: string }[] = [];
  /** The first {@link MAX_ERRORS_KEPT} unattributed records, with line and reason. */
  readonly unattributedKept: { line: number; reason: string }[] = [];
  readonly skippedByReason = new Map<string, number>();
  malformedValues = 0;
  readonly malformedByField = new Map<string, number>();
  readonly malformedKept: MalformedValue[] = [];

  // Endpoints: one per canonical address. Only whether an address is local is needed while
  // reading; the rest of its facts (databases, operator, policy) are settled for destinations only,
  // all together at the end (see settle).
  private readonly epFacts: (AddressFacts | undefined)[] = [];
  /** The parsed address of an endpoint whose facts are not settled yet, else null. */
  private readonly epIps: (ParsedIp | null)[] = [];
  // Small to start (grown by doubling): a check of a few records, as audits make thousands of,
  // should not pay for zeroing tables sized for a large log.
  private epFlags = new Uint8Array(256);
  private epDest = new Int32Array(256).fill(-1);
  // Endpoint numbers: IPv4 addresses by their number (however spelled), IPv6 by canonical text.
  private readonly byIpv4 = new Ipv4Index(256);
  private readonly byCanonical = new Map<string, number>();
  // Other spellings (as the log wrote them) → endpoint number, or INVALID.
  private readonly bySpelling = new Map<string, number>();
  private readonly bySpellingBytes = new ByteKeyIndex(256);
  // Protocol names → bit numbers.
  private readonly protocolBits = new Map<string, number>();
  private readonly protocolNames: string[] = [];

  // Destinations: counter rows plus lists.
  private destCount = 0;
  private rows = new Float64Array(64 * ROW);
  private destEndpoint = new Int32Array(64);
  /** What does not fit a row (see DestinationExtras): most destinations have none. */
  private readonly destExtras: (DestinationExtras | undefined)[] = [];
  private readonly listener: FoldListener | null;
  private readonly rowWriter: RowWriter | null;
  private settledOnce = false;
  /** What the parser found on one side of every record of an interface (see common-addresses). */
  readonly commonHints = new CommonAddressHints();
  /** Whether the hints' warnings are in the facts already. */
  private hintsApplied = false;
  /** Whether {@link foldInboundOnly} has run. */
  private inboundFolded = false;
  /** False for a range of a split check: the merge folds, over every range (see foldInboundOnly). */
  foldsInboundOnly = true;

  constructor(
    private readonly policy: CompiledPolicy,
    private readonly geos: readonly GeoLookup[],
    private readonly operator: OperatorSources = { country: null, asn: null },
    private readonly maxDestinations = DEFAULT_MAX_DESTINATIONS,
    shared?: SharedRows,
  ) {
    this.listener = shared?.listener ?? null;
    this.rowWriter = shared?.writer ?? null;
    if (shared) {
      if (shared.rows.length < maxDestinations * ROW) throw new Error('shared rows are smaller than the destination limit');
      this.rows = shared.rows;
    }
  }

  /** Counts records a fast path folded into the rows. */
  addFolded(records: number): void {
    this.records += records;
    this.connections += records;
    this.twoWayRecords += records;
  }

  /** Endpoint number of an address text, numbering it on first sight; INVALID when not an IP. */
  private resolve(text: string): number {
    const ip = parseIp(text);
    if (ip === null) return INVALID;
    // Different spellings of one address (expanded IPv6, IPv4-mapped) share one endpoint: IPv4
    // by its number, IPv6 by its canonical text.
    const ep = ip.version === 4 ? this.byIpv4.get(ip.v4) : (this.byCanonical.get(ip.text) ?? -1);
    return ep >= 0 ? ep : this.newEndpoint(ip);
  }

  /** A new endpoint for an address not seen in any spelling. */
  private newEndpoint(ip: ParsedIp): number {
    const local = isLocal(ip, classifyAddress(ip), this.policy);
    const ep = this.epFacts.length;
    this.epFacts.push(undefined);
    this.epIps.push(ip);
    if (ep >= this.epFlags.length) {
      const flags = new Uint8Array(this.epFlags.length * 2);
      flags.set(this.epFlags);
      this.epFlags = flags;
      const dest = new Int32Array(this.epDest.length * 2).fill(-1);
      dest.set(this.epDest);
      this.epDest = dest;
    }
    this.epFlags[ep] = (local ? FLAG_LOCAL : 0) | (isLinkScoped(ip) ? FLAG_LINK : 0);
    if (ip.version === 4) this.byIpv4.add(ip.v4, ep);
    else this.byCanonical.set(ip.text, ep);
    return ep;
  }

  private endpoint(text: string): number {
    let ep = this.bySpelling.get(text);
    if (ep === undefined) {
      ep = this.resolve(text);
      if (this.bySpelling.size < MAX_SPELLINGS_CACHED) this.bySpelling.set(text, ep);
    }
    return ep;
  }

  private endpointBytes(buf: Buffer, start: number, end: number): number {
    const v4 = parseIpv4Bytes(buf, start, end);
    if (v4 >= 0) {
      // A dotted quad: its number is its endpoint's key (resolve adds it on first sight).
      // A strict dotted quad (see parseIpv4Bytes) is its own canonical text: parseIp would say the same.
      const ep = this.byIpv4.get(v4);
      return ep >= 0 ? ep : this.newEndpoint({ version: 4, v4, text: latin1(buf, start, end) });
    }
    let ep = this.bySpellingBytes.get(buf, start, end);
    if (ep === -1) {
      const text = latin1(buf, start, end);
      ep = this.resolve(text);
      if (this.bySpellingBytes.size >= MAX_SPELLINGS_CACHED || !this.bySpellingBytes.add(buf, start, end, ep)) {
        return this.endpoint(text);
      }
    }
    return ep;
  }

  /**
   * For a fast path folding a record whose address spelling `buf[start, end)` it has not met: the
   * endpoint, numbered on first sight as {@link flow} would, or -1 when it is not an address.
   */
  endpointOfBytes(buf: Buffer, start: number, end: number): number {
    return this.endpointBytes(buf, start, end);
  }

  /** Endpoint `ep`'s flags for a fast path: 1, inside the monitored networks; 2, link-scoped (isLinkScoped). */
  endpointFlags(ep: number): number {
    return this.epFlags[ep]!;
  }

  /** For a fast path folding a record: the destination of endpoint `ep`, made as {@link flow} would. */
  destinationOfEndpoint(ep: number): number {
    const d = this.epDest[ep]!;
    return d >= 0 ? d : this.newDestination(ep);
  }

  private newDestination(ep: number): number {
    if (this.destCount >= this.maxDestinations) {
      throw new InputError(
        `more than ${this.maxDestinations} distinct destinations (the limit; a larger one needs more memory: --max-destinations, or RESIDENCY_MAX_DESTINATIONS in the function)`,
      );
    }
    const d = this.destCount++;
    if ((d + 1) * ROW > this.rows.length) {
      // (Shared rows have room for every destination allowed, so they never move.)
      const rows = new Float64Array(this.rows.length * 2);
      rows.set(this.rows);
      this.rows = rows;
    }
    if (d >= this.destEndpoint.length) {
      const de = new Int32Array(this.destEndpoint.length * 2);
      de.set(this.destEndpoint);
      this.destEndpoint = de;
    }
    const at = d * ROW;
    this.rows[at + C_FIRST] = NaN;
    this.rows[at + C_LAST] = NaN;
    this.rows[at + C_LAST_PORT] = -2;
    for (let i = 0; i < INLINE_PORTS; i++) this.rows[at + C_PORTS + i] = -1;
    this.destEndpoint[d] = ep;
    this.destExtras.push(undefined);
    this.epDest[ep] = d;
    this.listener?.destination(ep, d);
    return d;
  }

  flow(r: FlowRecord): void {
    const b = r.ipBytes;
    const orig = b === null ? this.endpoint(r.origIp) : this.endpointBytes(b, r.origIpStart, r.origIpEnd);
    if (orig === INVALID) {
      this.skip(r.line, 'source address is not an IP address', b === null ? r.origIp : latin1(b, r.origIpStart, r.origIpEnd));
      return;
    }
    const resp = b === null ? this.endpoint(r.respIp) : this.endpointBytes(b, r.respIpStart, r.respIpEnd);
    if (resp === INVALID) {
      this.skip(r.line, 'destination address is not an IP address', b === null ? r.respIp : latin1(b, r.respIpStart, r.respIpEnd));
      return;
    }
    this.records++;
    this.connections++;
    if (!r.oneWay) this.twoWayRecords++;
    const flags = this.epFlags;
    if (this.listener !== null && b !== null) {
      this.listener.endpoint(b, r.origIpStart, r.origIpEnd, orig, flags[orig]!);
      this.listener.endpoint(b, r.respIpStart, r.respIpEnd, resp, flags[resp]!);
    }
    let remote: number;
    let sent: number;
    let received: number;
    let port: number;
    let inbound = false;
    // The log's word that a side is inside (FlowRecord.origLocal) picks the remote party of this
    // record only: it never exempts an address from being judged where it is the remote party.
    // Sent to a link-scoped address (mDNS, a broadcast): the sender was on the observed link, inside.
    if (!((flags[orig]! & FLAG_LOCAL) !== 0 || r.origLocal) && ((flags[resp]! & FLAG_LOCAL) !== 0 || r.respLocal) && (flags[resp]! & FLAG_LINK) === 0) {
      // The outside party opened the connection: what the monitored side sent is the response.
      inbound = true;
      remote = orig;
      sent = r.respBytes;
      received = r.origBytes;
      port = r.origPort;
    } else {
      // Monitored side to outside; both inside (listed as non-public); both outside (responder).
      remote = resp;
      sent = r.origBytes;
      received = r.respBytes;
      port = r.respPort;
    }
    let d = this.epDest[remote]!;
    if (d < 0) d = this.newDestination(remote);
    const rows = this.rows;
    const at = d * ROW;
    const seen = rows[at + C_CONNECTIONS]! + rows[at + C_BLOCKED]!;
    // Opened from outside and answered with nothing (a scanner's probe, refused or ignored):
    // nothing left the monitored side, so it counts as a refused attempt, with what it sent in.
    const unanswered = inbound && sent === 0 && !r.oneWay && !r.rejected;
    if (r.rejected) {
      rows[at + C_BLOCKED]!++;
    } else if (unanswered) {
      rows[at + C_BLOCKED]!++;
      if (received > 0) rows[at + C_RECEIVED] += received;
    } else {
      rows[at + C_CONNECTIONS]!++;
      if (sent < 0 || received < 0) rows[at + C_UNKNOWN_BYTES]!++;
      if (sent > 0) rows[at + C_SENT] += sent;
      if (received > 0) rows[at + C_RECEIVED] += received;
    }
    const first = r.firstSeenMs;
    if (first === first && !(first >= rows[at + C_FIRST]!)) rows[at + C_FIRST] = first;
    const last = r.lastSeenMs === r.lastSeenMs ? r.lastSeenMs : first;
    if (last === last && !(last <= rows[at + C_LAST]!)) rows[at + C_LAST] = last;
    // A port past 65535 (a damaged or misread field) is no port: not listed. Nor are ICMP's: Zeek
    // writes an ICMP message's type and code where ports go (and a capture has none).
    if (PORTLESS.has(r.proto)) port = -1;
    if (port !== rows[at + C_LAST_PORT] && port >= 0 && port <= 65535) {
      rows[at + C_LAST_PORT] = port;
      this.notePort(d, at, port);
    }
    const proto = r.proto;
    if (proto !== '') {
      const bit = this.protocolBits.get(proto) ?? this.protocolBit(proto);
      if (bit >= 0) {
        const mask = rows[at + C_PROTO_MASK]!;
        if ((mask & (1 << bit)) === 0) rows[at + C_PROTO_MASK] = mask | (1 << bit);
      } else {
        const protocols = (this.extras(d).protocols ??= []);
        if (protocols.length < MAX_PROTOCOLS_LISTED && !protocols.includes(proto)) protocols.push(proto);
      }
    }
    const hostname = r.hostname;
    if (hostname !== null && remote === resp && hostname !== this.destExtras[d]?.lastHostname) {
      noteHostname(this.extras(d), hostname);
    }
    const otherHostnames = r.otherHostnames;
    if (otherHostnames != null && remote === resp) {
      const x = this.extras(d);
      for (let i = 0; i < otherHostnames.length; i++) noteHostname(x, otherHostnames[i]!);
    }
    const app = r.app;
    if (app !== null) {
      const x = this.destExtras[d];
      const counts = x !== undefined && app === x.lastApp ? x.lastAppCounts : this.noteApp(d, app);
      if (counts !== undefined) {
        if (r.rejected) {
          counts.blockedAttempts++;
        } else if (unanswered) {
          counts.blockedAttempts++;
          if (received > 0) counts.bytesReceived += received;
        } else {
          counts.connections++;
          if (sent > 0) counts.bytesSent += sent;
          if (received > 0) counts.bytesReceived += received;
        }
      }
    }
    if (seen < MAX_EVIDENCE_LINES) rows[at + C_EVIDENCE + seen] = r.line;
  }

  /**
   * Lists an app for destination d (unless the list is full) and makes it the last one seen;
   * returns its counts, or undefined when they are not kept.
   */
  private noteApp(d: number, app: string): AppCounts | undefined {
    const x = this.extras(d);
    if (x.apps === undefined) {
      if (x.lastApp === undefined) {
        // The first app: no list until a second one comes.
        x.lastApp = app;
        x.lastAppCounts = { connections: 0, blockedAttempts: 0, bytesSent: 0, bytesReceived: 0 };
        return x.lastAppCounts;
      }
      x.apps = new Set([x.lastApp]);
      x.appCounts = new Map([[x.lastApp, x.lastAppCounts!]]);
    }
    x.lastApp = app;
    const apps = x.apps;
    let counts: AppCounts | undefined;
    if (x.appCounts !== null) {
      const all = (x.appCounts ??= new Map<string, AppCounts>());
      counts = all.get(app);
      if (counts === undefined && apps.size < MAX_NAMES_LISTED) all.set(app, (counts = { connections: 0, blockedAttempts: 0, bytesSent: 0, bytesReceived: 0 }));
      // An app past the list: its share will not be known, so no app's is given.
      else if (counts === undefined) x.appCounts = null;
    }
    if (apps.size < MAX_NAMES_LISTED) apps.add(app);
    x.lastAppCounts = counts;
    return counts;
  }

  /** Destination d's extras, made on first need. */
  private extras(d: number): DestinationExtras {
    let x = this.destExtras[d];
    if (x === undefined) this.destExtras[d] = x = {};
    return x;
  }

  /**
   * For a fast path folding a record: port `port` of destination d, whose row's inline slots hold
   * other ports, as {@link notePort} lists it.
   */
  notePortPastRow(d: number, port: number): void {
    this.notePort(d, d * ROW, port);
  }

  /** Records a port unless already seen: inline slots first, then the overflow list. */
  private notePort(d: number, at: number, port: number): void {
    const rows = this.rows;
    for (let i = 0; i < INLINE_PORTS; i++) {
      const p = rows[at + C_PORTS + i]!;
      if (p === port) return;
      if (p < 0) {
        rows[at + C_PORTS + i] = port;
        return;
      }
    }
    const ports = (this.extras(d).ports ??= []);
    if (ports.length < MAX_PORTS_LISTED - INLINE_PORTS && !ports.includes(port)) {
      ports.push(port);
      if (ports.length === MAX_PORTS_LISTED - INLINE_PORTS) rows[at + C_PORTS_FULL] = 1;
    }
  }

  /** The bit number of a protocol name not seen before, or -1 when the bits are used up. */
  private protocolBit(proto: string): number {
    if (this.protocolNames.length >= MAX_PROTOCOL_BITS) return -1;
    const bit = this.protocolNames.length;
    this.protocolNames.push(proto);
    this.protocolBits.set(proto, bit);
    this.listener?.protocolBit(proto, bit);
    return bit;
  }

  skip(line: number, reason: string, detail?: string): void {
    this.records++;
    this.skipped++;
    // Reasons are short stable phrases; past MAX_SKIP_REASONS distinct ones (a value a parser put
    // in its reason), the rest are counted together.
    countCapped(this.skippedByReason, reason, 1, MAX_SKIP_REASONS, OTHER_SKIP_REASONS);
    if (this.errors.length < MAX_ERRORS_KEPT) this.errors.push({ line, reason: withDetail(reason, detail) });
  }

  notConnection(line: number, reason: string): void {
    this.skip(line, reason);
    this.notConnectionRecords++;
  }

  unattributed(line: number, reason: string, detail?: string): void {
    this.records++;
    this.unattributedRecords++;
    if (this.unattributedKept.length < MAX_ERRORS_KEPT) this.unattributedKept.push({ line, reason: withDetail(reason, detail) });
  }

  noData(): void {
    this.records++;
    this.noDataRecords++;
  }

  commonAddresses(found: CommonAddresses): void {
    this.commonHints.add(found);
  }

  commonAddressesOverflow(): void {
    this.commonHints.giveUp();
  }

  malformed(line: number, field: string, value: string): void {
    this.malformedValues++;
    const name = cutValue(field);
    countCapped(this.malformedByField, name, 1, MAX_MALFORMED_FIELDS, OTHER_FIELDS);
    if (this.malformedKept.length < MAX_ERRORS_KEPT) this.malformedKept.push({ line, field: name, value: cutValue(value) });
  }

  /**
   * Settles the facts of every destination that has none yet: its location, operator and the
   * policy's judgement. Done once at the end rather than on first sight, so the lookups run
   * together, one source after another (see evaluateAddresses: its code and upper tree levels stay
   * in the caches, and a database read only while in use is read once), instead of one by one
   * between records; and addresses that are only ever sources are never looked up.
   *
   * The first lookup that fails (a corrupt database) is thrown once every destination is settled;
   * a destination whose lookup failed has status `unknown` and a warning saying why, so an error
   * verdict can still be built from the rest.
   */
  settle(): void {
    const pending: number[] = [];
    const ips: ParsedIp[] = [];
    this.unsettled(pending, ips);
    // The first settle asks the sources even with nothing to settle: one read only while in use
    // is checked (and hashed) here, where a failure still makes an error verdict.
    if (pending.length === 0 && this.settledOnce) return;
    this.settledOnce = true;
    const { facts, failure } = evaluateAddresses(ips, this.policy, this.geos, this.operator);
    this.storeFacts(pending, facts);
    if (failure !== null) throw failure;
  }

  // settle's loops, each a function of its own: optimised while it runs, a loop's code would be
  // thrown away by the code after it, which has not run yet.

  /** The destinations' endpoints not settled yet, and their addresses. */
  private unsettled(pending: number[], ips: ParsedIp[]): void {
    for (let d = 0; d < this.destCount; d++) {
      const ep = this.destEndpoint[d]!;
      if (this.epFacts[ep] !== undefined) continue;
      pending.push(ep);
      ips.push(this.epIps[ep]!);
    }
  }

  private storeFacts(pending: readonly number[], facts: readonly AddressFacts[]): void {
    for (let k = 0; k < pending.length; k++) {
      this.epFacts[pending[k]!] = facts[k];
      this.epIps[pending[k]!] = null;
    }
  }

  /**
   * Puts the warnings of the common-address hints into the facts of the destinations they name
   * (the parser's last word: applied once, after the last record).
   */
  private applyCommonHints(): void {
    this.hintsApplied = true;
    const candidates = this.commonHints.candidates();
    const endpoints = new Map<string, number>();
    for (let d = 0; d < this.destCount; d++) {
      const ep = this.destEndpoint[d]!;
      const ip = this.epFacts[ep]!.ip;
      if (candidates.has(ip)) endpoints.set(ip, ep);
    }
    const factsOf = (ip: string): AddressFacts | undefined => {
      const ep = endpoints.get(ip);
      return ep === undefined ? undefined : this.epFacts[ep];
    };
    for (const [ip, facts] of this.commonHints.warnedFacts(factsOf)) this.epFacts[endpoints.get(ip)!] = facts;
  }


  /**
   * In a log whose records are one direction each (VPC Flow Logs, NetFlow), a destination that
   * only ever sent to the monitored side, which sent nothing back (a scanner's probes, accepted
   * by the network and never answered): its records are attempts, as a connection opened from
   * outside and answered with nothing is in a log of whole connections ({@link flow}), so nothing
   * was sent to it and it is `blocked`, not judged. (Each record from the monitored side adds to
   * bytes sent or to the connections with unknown byte counts: a destination with neither got
   * none.) After the last record; a split check's merge does the same over its ranges.
   */
  private foldInboundOnly(): void {
    this.inboundFolded = true;
    if (this.twoWayRecords > 0) return;
    const rows = this.rows;
    for (let d = 0; d < this.destCount; d++) {
      const at = d * ROW;
      const connections = rows[at + C_CONNECTIONS]!;
      if (connections === 0 || rows[at + C_SENT]! !== 0 || rows[at + C_UNKNOWN_BYTES]! !== 0) continue;
      rows[at + C_BLOCKED] += connections;
      rows[at + C_CONNECTIONS] = 0;
      const x = this.destExtras[d];
      if (x === undefined) continue;
      for (const counts of x.appCounts?.values() ?? [x.lastAppCounts]) {
        if (counts === undefined) continue;
        counts.blockedAttempts += counts.connections;
        counts.connections = 0;
      }
    }
  }

  /** Every destination's totals, in order of first sight. */
  destinations(): DestinationAggregate[] {
    const table = this.destinationTable();
    const out: DestinationAggregate[] = [];
    for (let d = 0; d < table.size; d++) {
      const v = table.at(d);
      out.push({
        facts: v.facts,
        connections: v.connections,
        blockedAttempts: v.blockedAttempts,
        bytesSent: v.bytesSent,
        bytesReceived: v.bytesReceived,
        connectionsWithUnknownBytes: v.connectionsWithUnknownBytes,
        firstSeenMs: v.firstSeenMs,
        lastSeenMs: v.lastSeenMs,
        ports: v.ports.slice(),
        protocols: v.protocols.slice(),
        hostnames: v.hostnames,
        apps: v.apps,
        appCounts: v.appCounts,
        evidenceLines: v.evidenceLines.slice(),
      });
    }
    return out;
  }

  /** Every destination read in place from its row, through one reused view. */
  destinationTable(): DestinationTable {
    this.settle();
    if (!this.hintsApplied && this.commonHints.size > 0) this.applyCommonHints();
    if (!this.inboundFolded && this.foldsInboundOnly) this.foldInboundOnly();
    const view = new RowView(
      this.rows, this.destEndpoint, this.epFacts, this.destExtras, this.protocolNames,
    );
    const table: DestinationTable = { size: this.destCount, at: (d) => view.moveTo(d) };
    // A writer comes with shared rows, which never move: it reads the rows this table reads.
    const writer = this.rowWriter;
    if (writer === null) return table;
    const extras = this.destExtras;
    const rows = this.rows;
    let known = 0;
    for (const name of ['tcp', 'udp', 'icmp']) {
      const bit = this.protocolBits.get(name);
      if (bit !== undefined) known |= 1 << bit;
    }
    return {
      ...table,
      rowWriter: writer,
      rowWritable: (d) => extras[d]?.ports === undefined,
      rowPlain: (d) => extras[d] === undefined && (rows[d * ROW + C_PROTO_MASK]! & ~known) === 0,
    };
  }
}
