/**
 * Verdict → JSON text, in pieces, so a verdict with tens of thousands of destinations is written
 * without building one huge string. Layout: one top-level field per line, small objects indented,
 * list entries one compact object per line (easy to grep and diff, cheap to write).
 */
import {
  Encoded,
  JsonBytes,
  NUMBER_BOUND,
  ascii,
  numsBound,
  putBool,
  putEncoded,
  putNum,
  putNums,
  putStr,
  putStrs,
  quoted,
  strBound,
  strsBound,
} from './json-bytes';
import { DestinationCursor, ISO_BOUND, destinationListOf, putIso, type DestinationList } from './build-verdict';
import { INLINE_PORTS, MAX_EVIDENCE_LINES, type EntryWriter, type RowWriter } from './aggregate';
import type { AddressFacts } from '../policy/evaluate';
import type { Verdict, VerdictDestination, VerdictViolation } from './verdict';

/** A JSON string literal; the fast path skips JSON.stringify for printable ASCII without `"` or `\`. */
export function str(s: string | null): string {
  if (s === null) return 'null';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return JSON.stringify(s);
  }
  return `"${s}"`;
}

/** A JSON array of strings. */
export function strList(xs: readonly string[]): string {
  if (xs.length === 0) return '[]';
  let out = '[';
  for (let i = 0; i < xs.length; i++) out += (i > 0 ? ',' : '') + str(xs[i]!);
  return `${out}]`;
}

/** How many distinct quoted strings one verdict keeps for reuse. */
const MAX_QUOTED = 65536;

const LIST_FIELDS = new Set(['countries', 'destinations', 'violations', 'warnings', 'errors']);

function indent(json: string): string {
  return json.replace(/\n/g, '\n  ');
}

/** How many bytes of verdict JSON {@link serializeVerdictBytes} writes before handing them out. */
export const VERDICT_CHUNK_BYTES = 256 * 1024;
/** Pieces of {@link serializeVerdict}'s text stay near this size (in bytes of UTF-8). */
const TEXT_PIECE_BYTES = 64 * 1024;

// The fixed parts of a destination, in field order, as bytes; a violation's fields are a subset.
const D_IP = ascii('{"ip":');
const D_COUNTRY = ascii(',"country":');
const D_COUNTRIES = ascii(',"countries":{');
const D_ADDRESS_CLASS = ascii('},"addressClass":');
const D_STATUS = ascii(',"status":');
const D_RULE = ascii(',"rule":');
const D_CONNECTIONS = ascii(',"connections":');
const D_BLOCKED = ascii(',"blockedAttempts":');
const D_SENT = ascii(',"bytesSent":');
const D_RECEIVED = ascii(',"bytesReceived":');
const D_UNKNOWN_BYTES = ascii(',"connectionsWithUnknownBytes":');
const D_FIRST_SEEN = ascii(',"firstSeen":');
const D_LAST_SEEN = ascii(',"lastSeen":');
const D_PORTS = ascii(',"ports":');
const D_PROTOCOLS = ascii(',"protocols":');
const D_HOSTNAMES = ascii(',"hostnames":');
const D_APPS = ascii(',"apps":');
const D_EVIDENCE = ascii(',"evidenceLines":');
const D_DISPUTED = ascii(',"disputed":');
const D_ASN = ascii(',"asn":');
const D_AS_ORGANIZATION = ascii(',"asOrganization":');
const D_OPERATOR_COUNTRY = ascii(',"operatorCountry":');
const D_WARNING = ascii(',"warning":');
const ITEM_INDENT = ascii('    ');
const COMMA_BYTES = ascii(',').bytes;
const COLON_BYTES = ascii(':').bytes;
const NULL_BYTES = ascii('null');
const ITEM_END = ascii(',\n');
const LAST_ITEM_END = ascii('\n');
const COMMA = 0x2c;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const RBRACE = 0x7d;

function fixedBytes(parts: Encoded[]): number {
  return parts.reduce((n, b) => n + b.length, 0);
}

/** A destination's field names and punctuation, its numbers and `disputed`, at most. */
const DESTINATION_FIXED_BOUND =
  fixedBytes([
    D_IP, D_COUNTRY, D_COUNTRIES, D_ADDRESS_CLASS, D_STATUS, D_RULE, D_CONNECTIONS, D_BLOCKED, D_SENT, D_RECEIVED,
    D_UNKNOWN_BYTES, D_FIRST_SEEN, D_LAST_SEEN, D_PORTS, D_PROTOCOLS, D_HOSTNAMES, D_APPS, D_EVIDENCE, D_DISPUTED,
    D_ASN, D_AS_ORGANIZATION, D_OPERATOR_COUNTRY, D_WARNING,
  ]) +
  1 + 5 + 6 * NUMBER_BOUND;
/** At most the bytes of a row's ports (those in the row: {@link INLINE_PORTS}). */
const ROW_PORTS_BOUND = numsBound(new Array<number>(INLINE_PORTS).fill(0));
/** At most the bytes of a plain row's protocols (tcp, udp and icmp). */
const ROW_PROTOCOLS_BOUND = strsBound(['icmp', 'tcp', 'udp']);
/** At most the bytes of a row's evidence lines. */
const ROW_EVIDENCE_BOUND = numsBound(new Array<number>(MAX_EVIDENCE_LINES).fill(0));
/** A violation's field names and punctuation and its numbers, at most. */
const VIOLATION_FIXED_BOUND =
  fixedBytes([D_IP, D_COUNTRY, D_RULE, D_HOSTNAMES, D_SENT, D_CONNECTIONS, D_EVIDENCE, D_ASN, D_AS_ORGANIZATION, D_OPERATOR_COUNTRY]) +
  1 + 3 * NUMBER_BOUND;

/**
 * Writes one verdict's JSON into bytes, with the values that repeat from one destination to the
 * next (countries, statuses, rules, AS organisations, database names) encoded once. Each list
 * entry is measured first (the most its values can take), then written with no further checks.
 */
class VerdictBytesWriter {
  private readonly quoted = new Map<string, Encoded>();
  private readonly countriesEncoded = new Map<object, Encoded>();

  constructor(
    readonly out: JsonBytes,
    /** Writes the numbers of cursors loaded lean (`row` >= 0) while `out` writes into its buffer. */
    private readonly rows: RowWriter | null = null,
  ) {}

  /** Whether entries may be loaded lean: the row writer writes where this writer does. */
  lean(): boolean {
    return this.rows !== null && this.out.buf === this.rows.buffer;
  }

  /** A repeating string (or null) as a JSON literal, encoded once per verdict. */
  private repeated(s: string | null): Encoded {
    if (s === null) return NULL_BYTES;
    let q = this.quoted.get(s);
    if (q === undefined) {
      q = quoted(s);
      if (this.quoted.size < MAX_QUOTED) this.quoted.set(s, q);
    }
    return q;
  }

  /**
   * The members of a `countries` object (`"db":"CC",...`), encoded. Destinations with the same
   * answers share one frozen object, so those are encoded once per verdict; others each time.
   */
  private countries(countries: Readonly<Record<string, string | null>>): Encoded {
    let e = this.countriesEncoded.get(countries);
    if (e !== undefined) return e;
    const keys = Object.keys(countries);
    const parts: Uint8Array[] = [];
    for (let i = 0; i < keys.length; i++) {
      if (i > 0) parts.push(COMMA_BYTES);
      parts.push(this.repeated(keys[i]!).bytes, COLON_BYTES, this.repeated(countries[keys[i]!] ?? null).bytes);
    }
    e = new Encoded(Buffer.concat(parts));
    if (Object.isFrozen(countries) && this.countriesEncoded.size < MAX_QUOTED) this.countriesEncoded.set(countries, e);
    return e;
  }

  /** One destination as compact JSON, field for field what `JSON.stringify` writes. */
  destination(d: VerdictDestination): void {
    // A cursor's times are written from its numbers, with no strings made.
    const cursor = d instanceof DestinationCursor ? d : null;
    // Loaded lean: its numbers are still in its row (at most the inline ports, ten evidence lines).
    const row = cursor !== null ? cursor.row : -1;
    // Plain: its protocols (tcp, udp, icmp at most) are still in its row, its names and apps none.
    const plain = cursor !== null && cursor.plain;
    const times = cursor !== null ? 2 * ISO_BOUND : strBound(d.firstSeen) + strBound(d.lastSeen);
    const countries = this.countries(d.countries);
    // Only for destinations whose log names apps: a few, and short.
    const appTraffic = d.appTraffic !== undefined ? `,"appTraffic":${JSON.stringify(d.appTraffic)}` : '';
    const bound =
      DESTINATION_FIXED_BOUND +
      strBound(d.ip) +
      strBound(d.country) +
      strBound(d.addressClass) +
      strBound(d.status) +
      strBound(d.rule) +
      times +
      (row >= 0 ? ROW_PORTS_BOUND : numsBound(d.ports)) +
      (plain ? ROW_PROTOCOLS_BOUND : strsBound(d.protocols)) +
      strsBound(d.hostnames) +
      strsBound(d.apps) +
      (row >= 0 ? ROW_EVIDENCE_BOUND : numsBound(d.evidenceLines)) +
      strBound(d.asOrganization) +
      strBound(d.operatorCountry) +
      strBound(d.warning) +
      (appTraffic === '' ? 0 : Buffer.byteLength(appTraffic)) +
      countries.length;
    const out = this.out;
    const buf = out.room(bound);
    const view = out.view;
    // (Making room may have moved the writing to a buffer the row writer cannot write.)
    const rows = row >= 0 && this.lean() ? this.rows : null;
    let p = out.pos;
    p = putEncoded(view, p, D_IP);
    p = putStr(buf, p, d.ip);
    p = putEncoded(view, p, D_COUNTRY);
    p = putEncoded(view, p, this.repeated(d.country));
    p = putEncoded(view, p, D_COUNTRIES);
    p = putEncoded(view, p, countries);
    p = putEncoded(view, p, D_ADDRESS_CLASS);
    p = putEncoded(view, p, this.repeated(d.addressClass));
    p = putEncoded(view, p, D_STATUS);
    p = putEncoded(view, p, this.repeated(d.status));
    p = putEncoded(view, p, D_RULE);
    p = putEncoded(view, p, this.repeated(d.rule));
    const counted = rows !== null ? rows.destinationCounts(row, p) : -1;
    if (counted >= 0) {
      p = counted;
    } else {
      if (row >= 0) cursor!.loadCounts();
      p = putEncoded(view, p, D_CONNECTIONS);
      p = putNum(buf, p, d.connections);
      p = putEncoded(view, p, D_BLOCKED);
      p = putNum(buf, p, d.blockedAttempts);
      p = putEncoded(view, p, D_SENT);
      p = putNum(buf, p, d.bytesSent);
      p = putEncoded(view, p, D_RECEIVED);
      p = putNum(buf, p, d.bytesReceived);
      p = putEncoded(view, p, D_UNKNOWN_BYTES);
      p = putNum(buf, p, d.connectionsWithUnknownBytes);
      p = putEncoded(view, p, D_FIRST_SEEN);
      p = cursor !== null ? putIso(buf, p, cursor.firstSeenMs) : putStr(buf, p, d.firstSeen);
      p = putEncoded(view, p, D_LAST_SEEN);
      p = cursor !== null ? putIso(buf, p, cursor.lastSeenMs) : putStr(buf, p, d.lastSeen);
      p = putEncoded(view, p, D_PORTS);
      p = putNums(buf, p, d.ports);
    }
    const listed = rows !== null && plain ? rows.destinationLists(row, p) : -1;
    if (listed >= 0) {
      p = listed;
    } else {
      if (plain) cursor!.loadProtocols();
      p = putEncoded(view, p, D_PROTOCOLS);
      buf[p++] = LBRACKET;
      for (let i = 0; i < d.protocols.length; i++) {
        if (i > 0) buf[p++] = COMMA;
        p = putEncoded(view, p, this.repeated(d.protocols[i]!));
      }
      buf[p++] = RBRACKET;
      p = putEncoded(view, p, D_HOSTNAMES);
      p = putStrs(buf, p, d.hostnames);
      p = putEncoded(view, p, D_APPS);
      p = putStrs(buf, p, d.apps);
      const evidence = rows !== null ? rows.evidence(row, p) : -1;
      if (evidence >= 0) {
        p = evidence;
      } else {
        if (row >= 0) cursor!.loadEvidence();
        p = putEncoded(view, p, D_EVIDENCE);
        p = putNums(buf, p, d.evidenceLines);
      }
    }
    p = putEncoded(view, p, D_DISPUTED);
    p = putBool(buf, p, d.disputed);
    p = this.operator(buf, view, p, d);
    p = putEncoded(view, p, D_WARNING);
    p = putEncoded(view, p, this.repeated(d.warning));
    if (appTraffic !== '') p += buf.write(appTraffic, p, 'utf8');
    buf[p++] = RBRACE;
    this.end(p);
  }

  /** One violation as compact JSON, field for field what `JSON.stringify` writes. */
  violation(v: VerdictViolation): void {
    const cursor = v instanceof DestinationCursor ? v : null;
    const row = cursor !== null ? cursor.row : -1;
    const bound =
      VIOLATION_FIXED_BOUND +
      strBound(v.ip) +
      strBound(v.country) +
      strBound(v.rule) +
      strsBound(v.hostnames) +
      (row >= 0 ? ROW_EVIDENCE_BOUND : numsBound(v.evidenceLines)) +
      strBound(v.asOrganization) +
      strBound(v.operatorCountry);
    const out = this.out;
    const buf = out.room(bound);
    const view = out.view;
    const rows = row >= 0 && this.lean() ? this.rows : null;
    let p = out.pos;
    p = putEncoded(view, p, D_IP);
    p = putStr(buf, p, v.ip);
    p = putEncoded(view, p, D_COUNTRY);
    p = putEncoded(view, p, this.repeated(v.country));
    p = putEncoded(view, p, D_RULE);
    p = putEncoded(view, p, this.repeated(v.rule));
    p = putEncoded(view, p, D_HOSTNAMES);
    p = putStrs(buf, p, v.hostnames);
    const counted = rows !== null ? rows.violationCounts(row, p) : -1;
    if (counted >= 0) {
      p = counted;
    } else {
      if (row >= 0) cursor!.loadEvidence();
      p = putEncoded(view, p, D_SENT);
      p = putNum(buf, p, v.bytesSent);
      p = putEncoded(view, p, D_CONNECTIONS);
      p = putNum(buf, p, v.connections);
      p = putEncoded(view, p, D_EVIDENCE);
      p = putNums(buf, p, v.evidenceLines);
    }
    p = this.operator(buf, view, p, v);
    buf[p++] = RBRACE;
    this.end(p);
  }

  /** The operator fields a destination and a violation share: `asn`, `asOrganization`, `operatorCountry`. */
  private operator(buf: Buffer, view: DataView, p: number, x: Pick<VerdictViolation, 'asn' | 'asOrganization' | 'operatorCountry'>): number {
    p = putEncoded(view, p, D_ASN);
    p = x.asn === null ? putEncoded(view, p, NULL_BYTES) : putNum(buf, p, x.asn);
    p = putEncoded(view, p, D_AS_ORGANIZATION);
    // Thousands of organisations, each on a few destinations: written as they are, not kept encoded.
    p = putStr(buf, p, x.asOrganization);
    p = putEncoded(view, p, D_OPERATOR_COUNTRY);
    return putEncoded(view, p, this.repeated(x.operatorCountry));
  }

  /** Ends an entry written up to `p`; past the buffer would mean its measure was wrong. */
  private end(p: number): void {
    if (p > this.out.buf.length) throw new Error(`verdict entry overran its measured size (${p} > ${this.out.buf.length})`);
    this.out.pos = p;
  }
}

/**
 * Writes list entries `from`, `from + 1`, ... of `n` (each on its own line), at least one, until the
 * buffer holds `chunkBytes` or entry `until` is reached; returns the next entry's index. The loop is
 * here, not in the generator, so the generator is never optimised around it (and deoptimised on the
 * next key).
 */
function writeEntries(out: JsonBytes, entry: (i: number) => void, from: number, until: number, n: number, chunkBytes: number): number {
  let i = from;
  // At least one: a chunk size of 0 (or NaN) still ends.
  do {
    out.encoded(ITEM_INDENT);
    entry(i);
    out.encoded(i < n - 1 ? ITEM_END : LAST_ITEM_END);
    i++;
  } while (i < until && out.pos < chunkBytes);
  return i;
}

/** `n` as {@link putNum} writes it. */
function numText(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/**
 * Describes the list's destinations to an entry writer, which then writes their entries whole:
 * the texts that repeat (a destination's judgement, its operator) spelled once each, exactly as
 * {@link VerdictBytesWriter} spells them. False when the writer cannot take the list.
 */
function describeEntries(list: DestinationList, entries: EntryWriter): boolean {
  if (!entries.begin(list.length)) return false;
  // Texts by what they are spelled from: judgements by countries object (shared by destinations
  // with the same answers), operators by AS number; each a short list, searched by identity.
  const heads = new Map<object, HeadText[]>();
  const tails = new Map<number | null, TailText[]>();
  list.eachWhole((i, d, status, rule, warning) => {
    const f = d.facts;
    const h = headText(heads, entries, f, status, rule);
    const t = tailText(tails, entries, f, warning);
    let violationHead = 0;
    let violationTail = 0;
    if (status === 'violation') {
      if (h.violation < 0) h.violation = entries.text(`,"country":${str(f.country)},"rule":${str(rule ?? 'violation')},"hostnames":[]`);
      if (t.violation < 0) t.violation = entries.text(operatorText(f));
      violationHead = h.violation;
      violationTail = t.violation;
    }
    if (h.id >= 0 && t.id >= 0 && violationHead >= 0 && violationTail >= 0) entries.describe(i, f.ip, h.id, t.id, violationHead, violationTail);
  });
  entries.order(0, list.destinationOrder);
  entries.order(1, list.violationNumbers);
  return true;
}

/** A destination entry's text after its address (and a violation entry's, made when needed: -1 until then). */
interface HeadText {
  readonly status: string;
  readonly addressClass: string;
  readonly country: string | null;
  readonly rule: string | null;
  readonly id: number;
  violation: number;
}

/** A destination entry's text after its lists (and a violation entry's, made when needed: -1 until then). */
interface TailText {
  readonly asOrganization: string | null;
  readonly operatorCountry: string | null;
  readonly disputed: boolean;
  readonly warning: string | null;
  readonly id: number;
  violation: number;
}

function headText(heads: Map<object, HeadText[]>, entries: EntryWriter, f: AddressFacts, status: string, rule: string | null): HeadText {
  const countries = f.countries;
  let known = heads.get(countries);
  if (known === undefined) heads.set(countries, (known = []));
  for (let k = 0; k < known.length; k++) {
    const h = known[k]!;
    if (h.status === status && h.rule === rule && h.country === f.country && h.addressClass === f.addressClass) return h;
  }
  const members = Object.keys(countries).map((k) => `${str(k)}:${str(countries[k] ?? null)}`);
  const id = entries.text(
    `,"country":${str(f.country)},"countries":{${members.join(',')}},"addressClass":${str(f.addressClass)},"status":${str(status)},"rule":${str(rule)}`,
  );
  const h: HeadText = { status, addressClass: f.addressClass, country: f.country, rule, id, violation: -1 };
  known.push(h);
  return h;
}

function tailText(tails: Map<number | null, TailText[]>, entries: EntryWriter, f: AddressFacts, warning: string | null): TailText {
  let known = tails.get(f.asn);
  if (known === undefined) tails.set(f.asn, (known = []));
  for (let k = 0; k < known.length; k++) {
    const t = known[k]!;
    if (t.asOrganization === f.asOrganization && t.operatorCountry === f.operatorCountry && t.disputed === f.disputed && t.warning === warning) return t;
  }
  const id = entries.text(`,"disputed":${f.disputed}${operatorText(f)},"warning":${str(warning)}`);
  const t: TailText = { asOrganization: f.asOrganization, operatorCountry: f.operatorCountry, disputed: f.disputed, warning, id, violation: -1 };
  known.push(t);
  return t;
}

/** The operator fields as {@link VerdictBytesWriter} writes them. */
function operatorText(f: Pick<VerdictViolation, 'asn' | 'asOrganization' | 'operatorCountry'>): string {
  return `,"asn":${f.asn === null ? 'null' : numText(f.asn)},"asOrganization":${str(f.asOrganization)},"operatorCountry":${str(f.operatorCountry)}`;
}

/**
 * Yields the verdict's JSON as UTF-8 bytes, in chunks of about `chunkBytes`; their concatenation
 * is valid JSON, the same text {@link serializeVerdict} gives. Chunks end between values, never
 * inside a character.
 *
 * Each chunk is a view of one reused buffer: it is valid until the next chunk is asked for, so a
 * caller that keeps chunks copies them (a file write consumes each before asking for the next).
 *
 * @example for (const chunk of serializeVerdictBytes(verdict)) writeSync(fd, chunk);
 */
export function* serializeVerdictBytes(v: Verdict, chunkBytes = VERDICT_CHUNK_BYTES): Generator<Buffer> {
  const keys = Object.keys(v) as (keyof Verdict)[];
  // Destinations and violations not yet made into objects are written from the totals.
  const list = destinationListOf(v);
  // Their numbers are written from their rows when the row writer's buffer is free and has room
  // (two serialisations at once would write over each other there: the second uses its own).
  const room = chunkBytes + 16 * 1024;
  let rows = list?.rowWriter ?? null;
  if (rows !== null && (rows.busy || rows.buffer.length < room)) rows = null;
  if (rows !== null) rows.busy = true;
  try {
    yield* writeVerdictBytes(v, keys, list, rows, room, chunkBytes);
  } finally {
    if (rows !== null) rows.busy = false;
  }
}

function* writeVerdictBytes(
  v: Verdict,
  keys: readonly (keyof Verdict)[],
  list: DestinationList | null,
  rows: RowWriter | null,
  room: number,
  chunkBytes: number,
): Generator<Buffer> {
  const out = new JsonBytes(rows !== null ? rows.buffer : room);
  const writer = new VerdictBytesWriter(out, rows);
  const cursor = new DestinationCursor();
  // Whole entries written by the row writer, where it can: JavaScript writes the others.
  const entries = list !== null && rows?.entries !== undefined && describeEntries(list, rows.entries) ? rows.entries : null;
  out.text('{\n');
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!;
    const comma = k < keys.length - 1 ? ',' : '';
    // A list written one entry a line: how many entries, and how to write the ith.
    let n = -1;
    let entry: (i: number) => void = () => undefined;
    let value: unknown;
    // Which list the entry writer writes (0 destinations, 1 violations), or -1.
    let kind: 0 | 1 | -1 = -1;
    if (list !== null && key === 'destinations') {
      n = list.length;
      kind = 0;
      entry = (i) => {
        list.load(cursor, i, writer.lean());
        writer.destination(cursor);
      };
    } else if (list !== null && key === 'violations') {
      n = list.violationCount;
      kind = 1;
      entry = (i) => {
        list.loadViolation(cursor, i, writer.lean());
        writer.violation(cursor as VerdictViolation);
      };
    } else {
      value = v[key];
      if (LIST_FIELDS.has(key) && Array.isArray(value)) {
        const items: unknown[] = value;
        n = items.length;
        if (key === 'destinations') entry = (i) => writer.destination(items[i] as VerdictDestination);
        else if (key === 'violations') entry = (i) => writer.violation(items[i] as VerdictViolation);
        else entry = (i) => out.text(JSON.stringify(items[i]));
      }
    }
    if (n > 0) {
      out.text(`  ${JSON.stringify(key)}: [\n`);
      for (let i = 0; i < n; ) {
        // A run of whole entries, then (when the run stops short) the next one by JavaScript.
        const whole = entries !== null && kind >= 0 && writer.lean();
        if (whole) {
          const next = entries.put(kind as 0 | 1, i, n, out.pos, chunkBytes);
          out.pos = entries.end;
          if (next > i) i = next;
          else i = writeEntries(out, entry, i, i + 1, n, chunkBytes);
        } else {
          i = writeEntries(out, entry, i, n, n, chunkBytes);
        }
        if (out.pos >= chunkBytes) {
          yield out.buf.subarray(0, out.pos);
          out.pos = 0;
        }
      }
      out.text(`  ]${comma}\n`);
    } else {
      out.text(`  ${JSON.stringify(key)}: ${n === 0 ? '[]' : indent(JSON.stringify(value, null, 2))}${comma}\n`);
    }
    if (out.pos >= chunkBytes) {
      yield out.buf.subarray(0, out.pos);
      out.pos = 0;
    }
  }
  out.text('}\n');
  yield out.buf.subarray(0, out.pos);
}

/** Yields the verdict's JSON text in pieces; their concatenation is valid JSON. */
export function* serializeVerdict(v: Verdict): Generator<string> {
  for (const chunk of serializeVerdictBytes(v, TEXT_PIECE_BYTES)) yield chunk.toString('utf8');
}

/**
 * The verdict's JSON as UTF-8 bytes, built from chunks: a verdict with hundreds of thousands
 * of destinations can be larger than the longest string V8 allows (about 512 MB).
 */
export function verdictBytes(v: Verdict): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  for (const chunk of serializeVerdictBytes(v)) {
    chunks.push(Buffer.from(chunk));
    total += chunk.length;
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

/** The verdict's JSON text as one string. */
export function verdictJson(v: Verdict): string {
  return verdictBytes(v).toString('utf8');
}
