/**
 * ArcSight Common Event Format (CEF), one event a line, as firewalls and SIEMs forward connection
 * events (FortiGate, Palo Alto, Check Point, Cisco and others can write it), often behind a syslog
 * header:
 *
 *   <134>Mar  1 10:00:00 fw01 CEF:0|Vendor|Product|1.0|100|Connection closed|3|src=10.0.0.5
 *   spt=51000 dst=8.8.8.8 dpt=443 proto=TCP in=4200 out=1200 act=accept start=1709287200000
 *
 * Seven `|`-separated header fields (`\|` inside one), then the extension: `key=value` pairs
 * separated by spaces, a value running to the space before the next key (it may hold spaces;
 * `\=` and `\\` are escapes, `\n` and `\r` line breaks).
 *
 * The keys are read by their CEF meanings (ArcSight "Implementing ArcSight CEF" key list), not by
 * their look: `src`/`spt` the source, `dst`/`dpt` the destination, `in` the bytes that flowed
 * from source to destination and `out` those from destination to source ("relative to the source
 * to destination relationship"), `act` the device's action (deny, drop, block... are refused),
 * `start`/`end` (or `rt`, when the event was received) the times, `dhost` the destination's host
 * name, `destinationTranslatedAddress` where destination NAT sent it. Each line is read as a row of
 * generic CSV under those columns; a line without `dst` names no connection and is counted.
 */
import type { LineParser, ParserOptions, RecordSink } from '../types';
import { utf8 } from './bytes';
import { quoteCsvField } from './csv';
import { COLUMN_KEYS, GenericCsvParser, isCsvHeaderFirst, type ColumnKey } from './generic-csv';
import type { FormatDefinition } from './index';

/**
 * Our columns by the CEF key that gives them, best first: the key names of the CEF standard, then
 * their full names (some devices write those); `rt` (when the event was received) stands in for
 * `start`.
 */
const CEF_COLUMNS: readonly (readonly [ColumnKey, string])[] = [
  ['dst', 'dst'],
  ['dst', 'destinationAddress'],
  ['src', 'src'],
  ['src', 'sourceAddress'],
  ['dst_port', 'dpt'],
  ['dst_port', 'destinationPort'],
  ['src_port', 'spt'],
  ['src_port', 'sourcePort'],
  ['proto', 'proto'],
  ['proto', 'transportProtocol'],
  ['bytes_out', 'in'],
  ['bytes_out', 'bytesIn'],
  ['bytes_in', 'out'],
  ['bytes_in', 'bytesOut'],
  ['action', 'act'],
  ['action', 'deviceAction'],
  ['start', 'start'],
  ['start', 'startTime'],
  ['start', 'rt'],
  ['start', 'receiptTime'],
  ['end', 'end'],
  ['end', 'endTime'],
  ['host', 'dhost'],
  ['host', 'destinationHostName'],
  ['nat_dst', 'destinationTranslatedAddress'],
];
/** The CEF keys whose values are times (see cefTime). */
const TIME_KEYS: ReadonlySet<string> = new Set(CEF_COLUMNS.filter(([column]) => column === 'start' || column === 'end').map(([, key]) => key));

/**
 * A column no CEF key is named: every column CEF does not give is mapped to it (always empty), so
 * that no key is taken for a column by its look (CEF's `app` is an application protocol, and
 * `bytesIn` runs the other way from generic CSV's).
 */
const NONE = '-';
/** How many sets of keys keep a parser of their own. */
const MAX_LAYOUTS = 256;

/** Where the extension starts in a CEF line (after its seventh unescaped `|`), or -1 when it is no CEF line. */
export function cefExtensionStart(text: string): number {
  const at = text.search(/CEF:\d+\|/);
  if (at < 0) return -1;
  let bars = 0;
  for (let i = at; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '|' && ++bars === 7) return i + 1;
  }
  return -1;
}

/** Undoes the extension's escapes. */
function unescapeValue(v: string): string {
  return v.replace(/\\([\\=nr])/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c));
}

/** The extension's pairs, in order: a key is letters, digits, `_`, `.`, `[`, `]` before an unescaped `=`, at the start or after a space. */
export function cefPairs(extension: string): { names: string[]; values: string[] } {
  const names: string[] = [];
  const values: string[] = [];
  const key = /(?:^|(?<= ))([A-Za-z0-9_.[\]]+)=/g;
  let m: RegExpExecArray | null;
  let last: { name: string; from: number } | null = null;
  while ((m = key.exec(extension)) !== null) {
    // An escaped `=` (`\=`) is no key's.
    if (m.index > 0 && extension[m.index + m[1]!.length - 1] === '\\') continue;
    if (last !== null) {
      names.push(last.name);
      values.push(unescapeValue(extension.slice(last.from, m.index).replace(/ +$/, '')));
    }
    last = { name: m[1]!, from: m.index + m[0].length };
  }
  if (last !== null) {
    names.push(last.name);
    values.push(unescapeValue(extension.slice(last.from).replace(/\s+$/, '')));
  }
  return { names, values };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** CEF's dates with a year: `MMM dd yyyy HH:mm:ss[.SSS][ zone]` (the standard's list); UTC zone names only. */
const CEF_DATE = /^([A-Z][a-z]{2}) (\d{1,2}) (\d{4}) (\d\d:\d\d:\d\d(?:\.\d{1,3})?)(?: (GMT|UTC|Z|[+-]\d\d:?\d\d))?$/;

/**
 * A CEF date with a year as ISO 8601, which generic CSV reads (UTC when no zone, as its other
 * times); any other value as it is (epoch milliseconds are read as they are; a date without a year
 * or with a zone name that is not UTC's is reported as malformed, not guessed).
 */
export function cefTime(v: string): string {
  const m = CEF_DATE.exec(v);
  const month = m === null ? -1 : MONTHS.indexOf(m[1]!);
  if (m === null || month < 0) return v;
  const zone = m[5] === undefined || m[5] === 'GMT' || m[5] === 'UTC' || m[5] === 'Z' ? 'Z' : m[5];
  return `${m[3]}-${String(month + 1).padStart(2, '0')}-${m[2]!.padStart(2, '0')}T${m[4]}${zone}`;
}

/** Parser for CEF. */
export class CefParser implements LineParser {
  readonly format = 'cef' as const;
  private readonly layouts = new Map<string, GenericCsvParser | null>();

  constructor(private readonly options: ParserOptions = {}) {}

  line(buf: Buffer, start: number, end: number, lineNo: number, sink: RecordSink): void {
    const text = utf8(buf, start, end);
    if (text.trim() === '') return;
    const from = cefExtensionStart(text);
    if (from < 0) {
      sink.skip(lineNo, 'not a CEF event (CEF:version| and seven header fields)');
      return;
    }
    const { names, values } = cefPairs(text.slice(from));
    const signature = names.join('=');
    let parser = this.layouts.get(signature);
    if (parser === undefined) {
      parser = this.newLayout(names, lineNo, sink);
      if (this.layouts.size < MAX_LAYOUTS) this.layouts.set(signature, parser);
    }
    if (parser === null) {
      (sink.notConnection ?? sink.skip).call(sink, lineNo, 'CEF event without a destination address (dst)');
      return;
    }
    const row = Buffer.from(`${values.map((v, i) => quoteCsvField(TIME_KEYS.has(names[i]!) ? cefTime(v) : v)).join(',')},`, 'utf8');
    parser.line(row, 0, row.length, lineNo, sink);
  }

  finish(): void {}

  /** A generic CSV parser over the keys, every column mapped by the CEF meanings; null without a destination. */
  private newLayout(names: readonly string[], lineNo: number, sink: RecordSink): GenericCsvParser | null {
    const columns: Record<string, string> = {};
    for (const key of COLUMN_KEYS) columns[key] = NONE;
    const given = new Set<string>();
    for (const [column, key] of CEF_COLUMNS) {
      if (!given.has(column) && names.includes(key)) {
        columns[column] = key;
        given.add(column);
      }
    }
    if (!given.has('dst')) return null;
    const parser = new GenericCsvParser({ ...this.options, columns });
    const header = Buffer.from([...names, NONE].map(quoteCsvField).join(','), 'utf8');
    parser.line(header, 0, header.length, lineNo, sink);
    return parser;
  }
}

/** Detection: certain of a CEF line among the first. */
export function detectCef(lines: readonly string[]): number {
  // A CSV whose header names a destination and whose rows quote CEF events (a SIEM export's raw
  // event column) is that CSV: its columns are the record.
  if (isCsvHeaderFirst(lines, (l) => cefExtensionStart(l) >= 0)) return 0;
  return lines.slice(0, 20).some((l) => cefExtensionStart(l) >= 0) ? 1 : 0;
}

/** Registry entry. */
export const cefFormat: FormatDefinition = {
  name: 'cef',
  description: 'ArcSight Common Event Format (CEF) connection events, with or without a syslog header',
  detect: detectCef,
  create: (options) => new CefParser(options),
};
