/**
 * Firewall traffic logs written as key=value pairs, one record a line, as FortiGate writes them
 * (FortiOS syslog, and logs downloaded from the unit or FortiAnalyzer as text):
 *
 *   date=2024-03-01 time=10:00:00 devname="FGT60F" ... eventtime=1709287200123456789 tz="+0000"
 *   logid="0000000013" type="traffic" subtype="forward" ... srcip=192.168.1.20 srcport=51000
 *   dstip=8.8.8.8 dstport=443 ... proto=6 action="close" ... sentbyte=4200 rcvdbyte=1200 ...
 *
 * and other logs whose keys are the column names generic CSV recognises. A syslog header before
 * the first pair (`<189>`, `Mar  1 10:00:00 fw01 `) is passed over; values may be quoted (`"..."`,
 * with `\"` inside).
 *
 * Each line's keys are its header: the line is read as a row of generic CSV under them (one parser
 * per set of keys: FortiGate writes different keys for different traffic), so columns, byte
 * directions (FortiGate's `sentbyte` is what the source sent), refused actions, times and
 * destination NAT (`tranip`) are read as for the same log exported as CSV. Without `eventtime`,
 * FortiGate's `date` and `time` (with `tz` when given) are the record's time. FortiGate logs of
 * other types (`type="event"`, `"utm"`) are records of another kind. CEF (`CEF:0|...`), whose
 * `in`/`out` run against the names, is not read as this format.
 */
import { InputError } from '../errors';
import type { LineParser, ParserOptions, RecordSink } from '../types';
import { quoteCsvField } from './csv';
import { GenericCsvParser, isCsvHeaderFirst, resolveColumns } from './generic-csv';
import type { FormatDefinition } from './index';

/** Fewer pairs than this on a line is no record of such a log. */
const MIN_PAIRS = 4;
/** How many sets of keys keep a parser of their own (past this, a parser is made per line). */
const MAX_LAYOUTS = 256;

const QUOTE = 34;
const BACKSLASH = 92;
const EQUALS = 61;
const COMMA = 44;

function isSpace(b: number): boolean {
  return b === 32 || (b >= 9 && b <= 13);
}
function isKeyStart(b: number): boolean {
  return (b >= 97 && b <= 122) || (b >= 65 && b <= 90) || b === 95;
}
function isKeyByte(b: number): boolean {
  return isKeyStart(b) || (b >= 48 && b <= 57) || b === 46 || b === 45;
}

/** Where the pairs of the last scanned line lie. */
export class Pairs {
  /** Key i at `[pos[4i], pos[4i + 1])`, its value at `[pos[4i + 2], pos[4i + 3])` (quotes excluded). */
  pos = new Int32Array(4 * 64);
  /** 1 when value i was quoted (its `\` escapes are then undone). */
  quoted = new Uint8Array(64);
  count = 0;

  add(ks: number, ke: number, vs: number, ve: number, quoted: number): void {
    const i = this.count++;
    if (i >= this.quoted.length) {
      const pos = new Int32Array(this.pos.length * 2);
      pos.set(this.pos);
      this.pos = pos;
      const q = new Uint8Array(this.quoted.length * 2);
      q.set(this.quoted);
      this.quoted = q;
    }
    this.pos[4 * i] = ks;
    this.pos[4 * i + 1] = ke;
    this.pos[4 * i + 2] = vs;
    this.pos[4 * i + 3] = ve;
    this.quoted[i] = quoted;
  }
}

/** The end of a key starting at `at` and followed by `=`, or -1. */
function keyEnd(buf: Uint8Array, at: number, end: number): number {
  if (at >= end || !isKeyStart(buf[at]!)) return -1;
  let q = at + 1;
  while (q < end && isKeyByte(buf[q]!)) q++;
  return q < end && buf[q] === EQUALS ? q : -1;
}

/**
 * Finds the pairs of `buf[start, end)` into `out`; returns how many. They begin at the first key
 * at the start, after white space or after a syslog `<PRI>`; a key is a letter or `_`, then
 * letters, digits, `_`, `.` or `-`; a value is quoted (`"..."`, `\` escaping the next byte) or
 * runs to white space. What is no pair between pairs is passed over, to the next white space.
 */
export function scanPairs(buf: Uint8Array, start: number, end: number, out: Pairs): number {
  out.count = 0;
  let at = -1;
  for (let p = start; p < end && at < 0; p++) {
    if ((p === start || isSpace(buf[p - 1]!) || buf[p - 1] === 62) && keyEnd(buf, p, end) >= 0) at = p;
  }
  if (at < 0) return 0;
  while (at < end) {
    while (at < end && isSpace(buf[at]!)) at++;
    if (at >= end) break;
    const ke = keyEnd(buf, at, end);
    if (ke < 0) {
      // Not a pair: passed over, to the next white space.
      at++;
      while (at < end && !isSpace(buf[at]!)) at++;
      continue;
    }
    const v = ke + 1;
    if (v < end && buf[v] === QUOTE) {
      let j = v + 1;
      let close = -1;
      while (j < end) {
        const c = buf[j]!;
        if (c === BACKSLASH) j += 2;
        else if (c === QUOTE) {
          close = j;
          break;
        } else j++;
      }
      if (close >= 0) {
        out.add(at, ke, v + 1, close, 1);
        at = close + 1;
      } else {
        // An unclosed quote: an empty value, and the rest is no pair.
        out.add(at, ke, v, v, 0);
        at = v;
      }
      continue;
    }
    let j = v;
    while (j < end && !isSpace(buf[j]!) && buf[j] !== QUOTE) j++;
    out.add(at, ke, v, j, 0);
    at = j;
  }
  return out.count;
}

/** Value i of the last scan as text (escapes undone). */
function valueText(buf: Uint8Array, pairs: Pairs, i: number): string {
  const s = pairs.pos[4 * i + 2]!;
  const e = pairs.pos[4 * i + 3]!;
  const text = Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('utf8');
  return pairs.quoted[i] === 1 ? text.replace(/\\([\s\S])/g, '$1') : text;
}

/** A line's pairs as text, in order; null when it has fewer than {@link MIN_PAIRS}. */
export function keyValuePairs(text: string): { names: string[]; values: string[] } | null {
  const buf = Buffer.from(text, 'utf8');
  const pairs = new Pairs();
  const n = scanPairs(buf, 0, buf.length, pairs);
  if (n < MIN_PAIRS) return null;
  const names: string[] = [];
  const values: string[] = [];
  for (let i = 0; i < n; i++) {
    names.push(buf.toString('latin1', pairs.pos[4 * i]!, pairs.pos[4 * i + 1]!));
    values.push(valueText(buf, pairs, i));
  }
  return { names, values };
}

/** Whether the pairs name a destination address, as a generic CSV header would. */
function namesDestination(names: readonly string[], mapping: Readonly<Record<string, string>> = {}): boolean {
  try {
    return resolveColumns(names, mapping).dst >= 0;
  } catch (err) {
    if (err instanceof InputError) return false;
    throw err;
  }
}

/** A set of keys, read as a generic CSV header. */
interface Layout {
  readonly keys: readonly string[];
  /** Reads its rows; null when the keys name no destination. */
  readonly parser: GenericCsvParser | null;
  /** FortiGate's `type` (with `logid`): only `traffic` logs are connections; -1 when none. */
  readonly type: number;
  /** FortiGate's date, time of day and zone, for a `timestamp` column added to the row; -1 when not added. */
  readonly date: number;
  readonly time: number;
  readonly tz: number;
}

/** Parser for key=value traffic logs. */
export class KeyValueParser implements LineParser {
  readonly format = 'key-value' as const;
  private readonly layouts = new Map<string, Layout>();
  private last: Layout | null = null;
  private readonly pairs = new Pairs();
  private row = Buffer.allocUnsafe(4096);

  constructor(private readonly options: ParserOptions = {}) {
    // (A bad --columns mapping is refused now, as generic CSV refuses it.)
    new GenericCsvParser(options);
  }

  line(buf: Buffer, start: number, end: number, lineNo: number, sink: RecordSink): void {
    const pairs = this.pairs;
    const n = scanPairs(buf, start, end, pairs);
    if (n < MIN_PAIRS) {
      let s = start;
      while (s < end && isSpace(buf[s]!)) s++;
      if (s < end) sink.skip(lineNo, 'line without key=value pairs');
      return;
    }
    const layout = this.layoutOf(buf, n, lineNo, sink);
    if (layout.parser === null) {
      sink.skip(lineNo, 'record names no destination address (no key such as dstip, dst or dst_ip)');
      return;
    }
    if (layout.type >= 0 && !this.valueIs(buf, layout.type, 'traffic')) {
      const type = valueText(buf, pairs, layout.type);
      (sink.notConnection ?? sink.skip).call(sink, lineNo, `FortiGate ${type || 'untyped'} log, not traffic`);
      return;
    }
    const len = this.writeRow(buf, n, layout);
    layout.parser.line(this.row, 0, len, lineNo, sink);
  }

  finish(): void {}

  /** The layout of the line's keys: the last line's when they are the same (most are). */
  private layoutOf(buf: Buffer, n: number, lineNo: number, sink: RecordSink): Layout {
    const pos = this.pairs.pos;
    const last = this.last;
    if (last !== null && last.keys.length === n) {
      let same = true;
      for (let i = 0; i < n && same; i++) {
        const key = last.keys[i]!;
        const s = pos[4 * i]!;
        if (pos[4 * i + 1]! - s !== key.length) same = false;
        else for (let k = 0; k < key.length && same; k++) if (buf[s + k] !== key.charCodeAt(k)) same = false;
      }
      if (same) return last;
    }
    const keys: string[] = [];
    for (let i = 0; i < n; i++) keys.push(buf.toString('latin1', pos[4 * i]!, pos[4 * i + 1]!));
    const signature = keys.join('=');
    let layout = this.layouts.get(signature);
    if (layout === undefined) {
      layout = this.newLayout(keys, lineNo, sink);
      if (this.layouts.size < MAX_LAYOUTS) this.layouts.set(signature, layout);
    }
    this.last = layout;
    return layout;
  }

  private newLayout(keys: string[], lineNo: number, sink: RecordSink): Layout {
    const names = keys.slice();
    // FortiGate without eventtime: its date and time of day (in the unit's zone, `tz` when given).
    let date = -1;
    let time = -1;
    let tz = -1;
    if (!names.includes('eventtime') && !names.includes('timestamp') && names.includes('date') && names.includes('time')) {
      date = names.indexOf('date');
      time = names.indexOf('time');
      tz = names.indexOf('tz');
      names.push('timestamp');
    }
    const type = names.includes('logid') ? names.indexOf('type') : -1;
    let parser: GenericCsvParser | null = null;
    if (namesDestination(names, this.options.columns)) {
      parser = new GenericCsvParser(this.options);
      const header = Buffer.from(names.map(quoteCsvField).join(','), 'utf8');
      parser.line(header, 0, header.length, lineNo, sink);
    }
    return { keys, parser, type, date, time, tz };
  }

  /** Whether value i of the line is `text` (unquoted or quoted, no escapes). */
  private valueIs(buf: Buffer, i: number, text: string): boolean {
    const s = this.pairs.pos[4 * i + 2]!;
    const e = this.pairs.pos[4 * i + 3]!;
    if (e - s !== text.length) return false;
    for (let k = 0; k < text.length; k++) if (buf[s + k] !== text.charCodeAt(k)) return false;
    return true;
  }

  /** The line's values as a CSV row in {@link row} (and the added timestamp); returns its length. */
  private writeRow(buf: Buffer, n: number, layout: Layout): number {
    // At most every byte doubled, quotes and commas, and the timestamp's parts again (quoted).
    const need = 3 * (this.pairs.pos[4 * n - 1]! - this.pairs.pos[0]!) + 4 * n + 64;
    if (this.row.length < need) this.row = Buffer.allocUnsafe(Math.max(need, 2 * this.row.length));
    let p = 0;
    for (let i = 0; i < n; i++) {
      if (i > 0) this.row[p++] = COMMA;
      p = this.putField(buf, i, p, i === 0);
    }
    if (layout.date >= 0) {
      const pairs = this.pairs;
      const stamp = `${valueText(buf, pairs, layout.date)} ${valueText(buf, pairs, layout.time)}${layout.tz >= 0 ? valueText(buf, pairs, layout.tz) : ''}`;
      this.row[p++] = COMMA;
      p += this.row.write(quoteCsvField(stamp), p, 'utf8');
    }
    return p;
  }

  /**
   * Value i at `row[p]`, as a CSV field (quoted when it holds `,`, `"`, a line break or white space
   * at an end, or starts the row with `#`, which generic CSV reads as a comment); returns the end.
   */
  private putField(buf: Buffer, i: number, p: number, first: boolean): number {
    const row = this.row;
    const pos = this.pairs.pos;
    const s = pos[4 * i + 2]!;
    const e = pos[4 * i + 3]!;
    const escaped = this.pairs.quoted[i] === 1;
    let quote = e > s && (isSpace(buf[s]!) || isSpace(buf[e - 1]!) || (first && buf[s] === 35));
    for (let k = s; k < e && !quote; k++) {
      const c = buf[k]!;
      if (c === COMMA || c === QUOTE || c === 10 || c === 13 || (escaped && c === BACKSLASH)) quote = true;
    }
    if (!quote) {
      // Byte by byte: values are short, and Buffer.copy costs more per call than this loop.
      for (let k = s; k < e; k++) row[p++] = buf[k]!;
      return p;
    }
    row[p++] = QUOTE;
    for (let k = s; k < e; k++) {
      let c = buf[k]!;
      if (escaped && c === BACKSLASH && k + 1 < e) c = buf[++k]!;
      if (c === QUOTE) row[p++] = QUOTE;
      row[p++] = c;
    }
    row[p++] = QUOTE;
    return p;
  }
}

/** Detection: 0.9 when one of the first lines is a key=value record naming a destination (not CEF). */
export function detectKeyValue(lines: readonly string[]): number {
  // A CSV whose rows quote key=value events (a SIEM export's raw event column) is that CSV.
  if (isCsvHeaderFirst(lines, (l) => keyValuePairs(l) !== null)) return 0;
  for (const line of lines.slice(0, 20)) {
    if (line.trim() === '' || /(^|\|)CEF:\d/.test(line)) continue;
    const pairs = keyValuePairs(line);
    if (pairs !== null && namesDestination(pairs.names)) return 0.9;
  }
  return 0;
}

/** Registry entry: below the formats with a header of their own, above generic CSV. */
export const keyValueFormat: FormatDefinition = {
  name: 'key-value',
  description: 'firewall traffic logs as key=value pairs (FortiGate syslog and log downloads)',
  detect: detectKeyValue,
  create: (options) => new KeyValueParser(options),
};
