/**
 * PCAPdroid's connections export (Connections tab → menu → CSV). Layout, from the writer
 * (emanuele-f/PCAPdroid `ConnectionsAdapter.dumpConnectionsCsv()` and `strings.xml`
 * `connections_csv_fields`):
 *
 * `IPProto,SrcIP,SrcPort,DstIp,DstPort,UID,App,PackageName,Proto,Status,Info,BytesSent,BytesRcvd,PktsSent,PktsRcvd,FirstSeen,LastSeen[,Malicious]`
 *
 * - `PackageName` exists since PCAPdroid PR #462 (2024); older exports lack it; `Malicious` is
 *   added when malware detection is on. Columns are read by header name.
 * - `IPProto` is the IANA transport number (6, 17, 1, 58); `Proto` is the nDPI application
 *   protocol (`TLS`, `HTTPS`, `DNS`, `QUIC`, or `TCP`/`UDP`/`ICMP` when unknown).
 * - `Info` is the DNS query, TLS SNI or HTTP Host (or a name remembered from an earlier DNS reply);
 *   empty when unknown.
 * - `FirstSeen`/`LastSeen`: releases since mid-2023 (issue #318) write ISO 8601 with milliseconds
 *   and the phone's offset (`Utils.formatMillisIso8601`: `2024-11-05T14:03:07.201+01:00`, `+0100`
 *   on Android before 7); earlier ones wrote epoch milliseconds (the packet time,
 *   `pkt_context_t.ms`), and the first ones `time(NULL)` seconds, so the magnitude decides.
 * - `Status` is the UI label (`Active`, `Closed`, `Unreachable`, `Error`), translated to the
 *   phone's language; only the English `Unreachable` is read (as refused).
 * - The writer quotes nothing: an app name with a comma adds fields. The columns left of `App` are
 *   then read from the left, those right of it from the right, and `App` takes what lies between.
 *   Quoted fields (a file re-saved by a spreadsheet) are read as RFC 4180.
 * - A spreadsheet that re-saves the export may also change its delimiter: Excel in locales whose
 *   decimal mark is a comma writes `;`, and "text (tab delimited)" a tab. The header says which:
 *   the byte after `IPProto`.
 * - A file saved again from a data frame may start with its index, a column without a name
 *   (pandas' `to_csv` writes `,IPProto,...`, R's `write.csv` `"","IPProto",...`), and one saved
 *   for Excel with a `sep=,` line: both are passed over.
 */
import { InputError } from '../errors';
import type { FlowRecord, LineParser, RecordSink } from '../types';
import type { FormatDefinition } from './index';
import { bytesEqual, epochNumberMs, latin1, parseTimestampText, parseUint, utf8, skipBom } from './bytes';
import {
  CsvFields,
  csvText,
  SEP_LINE,
  skipBlanks,
  splitCsvLine,
  TextCache,
  trimBlanksEnd,
  UNTERMINATED_QUOTE,
} from './csv';
import { newRecord, resetRecord } from './record';
import { ipProtocolName } from './vpc-flow';

const COMMA = 44;
const SEMICOLON = 59;
const TAB = 9;
const QUOTE = 34;
const IPPROTO_NAME = 'ipproto';

/** Columns the parser reads, in slot order (header names compared case-insensitively). */
const WANTED = [
  'ipproto',
  'srcip',
  'srcport',
  'dstip',
  'dstport',
  'app',
  'packagename',
  'status',
  'info',
  'bytessent',
  'bytesrcvd',
  'firstseen',
  'lastseen',
] as const;
const IPPROTO = 0;
const SRC_IP = 1;
const SRC_PORT = 2;
const DST_IP = 3;
const DST_PORT = 4;
const APP = 5;
const PACKAGE = 6;
const STATUS = 7;
const INFO = 8;
const BYTES_SENT = 9;
const BYTES_RCVD = 10;
const FIRST_SEEN = 11;
const LAST_SEEN = 12;

/** True when the line is a PCAPdroid connections header (with any delimiter a re-save may give it). */
export function isPcapdroidHeader(line: string): boolean {
  const b = Buffer.from(line.trim(), 'utf8');
  const delimiter = pcapdroidDelimiter(b, 0, b.length);
  if (delimiter < 0) return false;
  const names = line.trim().split(String.fromCharCode(delimiter), 6).map(headerName);
  // After an index column's empty name (see pcapdroidDelimiter).
  const from = names[0] === '' ? 1 : 0;
  return names.length >= from + 5 && names.slice(from, from + 4).join(',') === 'ipproto,srcip,srcport,dstip';
}


/** A header name as compared: trimmed, unquoted (`"SrcIP"` as a spreadsheet re-saves it), lower case. */
function headerName(field: string): string {
  const t = field.trim();
  const unquoted = t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).replace(/""/g, '"') : t;
  return unquoted.trim().toLowerCase();
}

/**
 * Whether `buf[start, end)` starts as the PCAPdroid header does: `IPProto` in any case, the name
 * quoted or not (a spreadsheet that re-saves the export may quote every field), then a delimiter.
 * Data lines start with a number, quoted or not.
 */
export function startsPcapdroidHeader(buf: Buffer, start: number, end: number): boolean {
  return pcapdroidDelimiter(buf, start, end) >= 0;
}

/**
 * The delimiter of a PCAPdroid header at `buf[start, end)`: the byte after its first name,
 * `IPProto` (`,` as PCAPdroid writes it; `;` or a tab as a spreadsheet may re-save it); -1 when
 * the line does not start as the header does. A data frame's index column may come first, its
 * name empty (`,IPProto` from pandas, `"","IPProto"` from R), with the same delimiter after it.
 */
function pcapdroidDelimiter(buf: Buffer, start: number, end: number): number {
  const isDelimiter = (c: number | undefined): boolean => c === COMMA || c === SEMICOLON || c === TAB;
  let index = -1;
  if (isDelimiter(buf[start]) && start < end) index = buf[start]!;
  else if (start + 2 < end && buf[start] === QUOTE && buf[start + 1] === QUOTE && isDelimiter(buf[start + 2])) index = buf[start + 2]!;
  const at = index < 0 ? start : buf[start] === QUOTE ? start + 3 : start + 1;
  const d = delimiterAfterIpproto(buf, at, end);
  return index < 0 || d === index ? d : -1;
}

/** The delimiter after an `IPProto` name (quoted or not) at `buf[start, end)`, or -1. */
function delimiterAfterIpproto(buf: Buffer, start: number, end: number): number {
  let i = start;
  const quoted = i < end && buf[i] === QUOTE;
  if (quoted) i++;
  if (end - i < IPPROTO_NAME.length) return -1;
  for (let k = 0; k < IPPROTO_NAME.length; k++) if ((buf[i + k]! | 0x20) !== IPPROTO_NAME.charCodeAt(k)) return -1;
  i += IPPROTO_NAME.length;
  if (quoted) {
    if (i >= end || buf[i] !== QUOTE) return -1;
    i++;
  }
  const c = i < end ? buf[i]! : -1;
  return c === COMMA || c === SEMICOLON || c === TAB ? c : -1;
}

/**
 * True when `buf[start, end)` looks like a host name: letters, digits, `.`, `-`, `_`, at least one
 * letter (so IPv4 literals are not names; `:` rules out IPv6), at most 253 bytes.
 */
export function isHostnameBytes(buf: Buffer, start: number, end: number): boolean {
  if (end <= start || end - start > 253) return false;
  let letter = false;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90)) letter = true;
    else if (!((c >= 48 && c <= 57) || c === 46 || c === 45 || c === 95)) return false;
  }
  return letter;
}

function lowerLatin1(buf: Buffer, start: number, end: number): string {
  return latin1(buf, start, end).toLowerCase();
}

/** Epoch seconds or milliseconds (told apart by magnitude: epochNumberMs) as milliseconds; 0 and -1 are NaN. */
function epochMs(v: number): number {
  if (v <= 0) return NaN;
  return epochNumberMs(v);
}

/** Parser for PCAPdroid connections CSV. */
export class PcapdroidCsvParser implements LineParser {
  readonly format = 'pcapdroid-csv' as const;
  /** Column of each {@link WANTED} field, -1 when absent; null before the header. */
  private cols: Int32Array | null = null;
  private fieldCount = 0;
  /** The header's delimiter (see pcapdroidDelimiter). */
  private delimiter = COMMA;
  private readonly fields = new CsvFields(24);
  private readonly rec: FlowRecord = newRecord();
  /** Fields the current row has beyond the header (commas inside App). */
  private extra = 0;
  /** The header ends with the optional Malicious column. */
  private lastIsMalicious = false;
  /** App and host name strings by their bytes: a capture names few, so each is made once. */
  private readonly apps = new TextCache(256);
  private readonly names = new TextCache(1024);

  line(buf: Buffer, start: number, end: number, lineNo: number, sink: RecordSink): void {
    start = skipBom(buf, start, end);
    if (start === end) return;
    const delimiter = pcapdroidDelimiter(buf, start, end);
    if (delimiter >= 0) {
      this.header(utf8(buf, start, end), delimiter, lineNo);
      return;
    }
    const cols = this.cols;
    if (cols === null) {
      if (SEP_LINE.test(latin1(buf, start, end))) return;
      sink.skip(lineNo, 'record before the PCAPdroid header line');
      return;
    }
    const f = this.fields;
    const n = splitCsvLine(buf, start, end, this.delimiter, f);
    if (n === UNTERMINATED_QUOTE) {
      sink.skip(lineNo, 'unterminated quoted field');
      return;
    }
    let extra = n - this.fieldCount;
    // A spreadsheet that re-saves the export may drop the delimiter of an empty last cell: the
    // trailing Malicious column (empty for most connections), which is not read.
    if (extra === -1 && this.lastIsMalicious) extra = 0;
    const appCol = cols[APP]!;
    if (extra < 0 || (extra > 0 && appCol < 0)) {
      sink.skip(
        lineNo,
        'record field count differs from the header',
        `${n} fields, header names ${this.fieldCount}`,
      );
      return;
    }
    this.extra = extra;

    const r = this.rec;
    resetRecord(r, lineNo);
    const pos = f.pos;
    const sc = this.field(cols[SRC_IP]!);
    const dc = this.field(cols[DST_IP]!);
    if (f.escaped[sc] === 0 && f.escaped[dc] === 0) {
      // Addresses go to the aggregator as byte ranges (no strings): see FlowRecord.ipBytes.
      const ss = skipBlanks(buf, pos[sc * 2]!, pos[sc * 2 + 1]!);
      const se = trimBlanksEnd(buf, ss, pos[sc * 2 + 1]!);
      const ds = skipBlanks(buf, pos[dc * 2]!, pos[dc * 2 + 1]!);
      const de = trimBlanksEnd(buf, ds, pos[dc * 2 + 1]!);
      if (ss === se || ds === de) {
        sink.skip(lineNo, ss === se ? 'SrcIP is empty' : 'DstIp is empty');
        return;
      }
      r.ipBytes = buf;
      r.origIpStart = ss;
      r.origIpEnd = se;
      r.respIpStart = ds;
      r.respIpEnd = de;
    } else {
      r.origIp = csvText(buf, f, sc, 'latin1').trim();
      r.respIp = csvText(buf, f, dc, 'latin1').trim();
      if (r.origIp === '' || r.respIp === '') {
        sink.skip(lineNo, r.origIp === '' ? 'SrcIP is empty' : 'DstIp is empty');
        return;
      }
    }
    const p = this.uint(buf, cols[IPPROTO]!);
    r.proto = p >= 0 ? ipProtocolName(p) : '';
    r.origPort = this.uint(buf, cols[SRC_PORT]!);
    r.respPort = this.uint(buf, cols[DST_PORT]!);
    r.origBytes = this.count(buf, cols[BYTES_SENT]!, lineNo, 'BytesSent', sink);
    r.respBytes = this.count(buf, cols[BYTES_RCVD]!, lineNo, 'BytesRcvd', sink);
    r.firstSeenMs = this.time(buf, cols[FIRST_SEEN]!, lineNo, 'FirstSeen', sink);
    r.lastSeenMs = this.time(buf, cols[LAST_SEEN]!, lineNo, 'LastSeen', sink);
    let c = this.field(cols[STATUS]!);
    if (c >= 0) r.rejected = bytesEqual(buf, pos[c * 2]!, pos[c * 2 + 1]!, 'Unreachable');
    c = this.field(cols[INFO]!);
    if (c >= 0) {
      const s = pos[c * 2]!;
      let e = pos[c * 2 + 1]!;
      // An HTTP Host header names the port when it is not the default one (`example.org:8080`).
      let colon = e - 1;
      while (colon > s && colon >= e - 6 && buf[colon] !== 58) colon--;
      if (colon > s && colon < e - 1 && buf[colon] === 58 && parseUint(buf, colon + 1, e) >= 0) e = colon;
      if (isHostnameBytes(buf, s, e)) r.hostname = this.names.get(buf, s, e, lowerLatin1);
    }
    c = this.field(cols[PACKAGE]!);
    if (c >= 0 && pos[c * 2 + 1]! > pos[c * 2]!) {
      r.app = this.appText(buf, pos[c * 2]!, pos[c * 2 + 1]!, c);
    } else if (appCol >= 0) {
      // No package name: the display name, across the fields its commas made.
      const s = pos[appCol * 2]!;
      const e = pos[(appCol + extra) * 2 + 1]!;
      if (e > s) r.app = this.appText(buf, s, e, extra === 0 ? appCol : -1);
    }
    sink.flow(r);
  }

  /** Field index of header column `col` (-1 stays -1): columns right of App shift by its commas. */
  private field(col: number): number {
    return this.extra > 0 && col > this.cols![APP]! ? col + this.extra : col;
  }

  private uint(buf: Buffer, col: number): number {
    const c = this.field(col);
    if (c < 0) return -1;
    return parseUint(buf, this.fields.pos[c * 2]!, this.fields.pos[c * 2 + 1]!);
  }

  /** A count (bytes, epoch milliseconds), or -1; a value that is there but no count is reported (an empty one is unset). */
  private count(buf: Buffer, col: number, lineNo: number, field: string, sink: RecordSink): number {
    const n = this.uint(buf, col);
    if (n < 0) {
      const c = this.field(col);
      if (c >= 0 && this.fields.pos[c * 2 + 1]! > this.fields.pos[c * 2]!) sink.malformed?.(lineNo, field, csvText(buf, this.fields, c));
    }
    return n;
  }

  /**
   * A time as epoch milliseconds: epoch milliseconds or seconds (0 and -1 are none), or ISO 8601
   * as current releases write it; NaN when neither (a value that is there is then reported).
   */
  private time(buf: Buffer, col: number, lineNo: number, field: string, sink: RecordSink): number {
    const n = this.uint(buf, col);
    if (n >= 0) return epochMs(n);
    const c = this.field(col);
    if (c < 0 || this.fields.pos[c * 2 + 1]! <= this.fields.pos[c * 2]!) return NaN;
    const text = csvText(buf, this.fields, c);
    // A date and time of day, as the writer spells them (a bare number would be a relative time;
    // a date alone, no time the writer gives).
    const ms = /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(text) ? parseTimestampText(text) : NaN;
    if (ms !== ms) sink.malformed?.(lineNo, field, text);
    return ms;
  }

  /** App text; repeated names share one string. */
  private appText(buf: Buffer, s: number, e: number, field: number): string {
    if (field >= 0 && this.fields.escaped[field] === 1) return csvText(buf, this.fields, field);
    return this.apps.get(buf, s, e, utf8);
  }

  private header(line: string, delimiter: number, lineNo: number): void {
    // Not trimmed as a whole: a tab-separated data frame's index name is empty before the first tab.
    const names = line.split(String.fromCharCode(delimiter)).map(headerName);
    const cols = new Int32Array(WANTED.length);
    WANTED.forEach((name, i) => {
      cols[i] = names.indexOf(name);
    });
    if (cols[SRC_IP]! < 0 || cols[DST_IP]! < 0) {
      throw new InputError(
        `line ${lineNo}: PCAPdroid header has no SrcIP/DstIp column: ${line.trim()}`,
      );
    }
    this.cols = cols;
    this.delimiter = delimiter;
    this.fieldCount = names.length;
    this.lastIsMalicious = names[names.length - 1] === 'malicious';
    this.fields.grow(names.length + 8);
  }

  finish(): void {}
}

/** Registry entry: certain (1) of a first line that is the PCAPdroid header. */
export const pcapdroidCsvFormat: FormatDefinition = {
  name: 'pcapdroid-csv',
  description: 'PCAPdroid connections export (CSV)',
  detect: (lines) => {
    const header = lines[0] !== undefined && SEP_LINE.test(lines[0]) ? lines[1] : lines[0];
    return header !== undefined && isPcapdroidHeader(header) ? 1 : 0;
  },
  create: () => new PcapdroidCsvParser(),
};
