/**
 * Zeek `conn.log` in its default TSV form (https://docs.zeek.org/en/master/log-formats.html).
 * The header lines define the layout: `#separator` (written with `\x` escapes, e.g. `\x09`),
 * `#empty_field`, `#unset_field` and `#fields`. A new `#fields` line (concatenated logs) starts a
 * new layout. Fields are located by scanning bytes; only the needed ones become strings.
 */
import { InputError } from '../errors';
import type { FlowRecord, LineParser, RecordSink } from '../types';
import { bytesEqual, internProto, latin1, parseEpochSecondsMs, parseTimestampText, parseUint, saysTrue, utf8 } from './bytes';
import { parseIp } from '../net/ip';
import { newRecord, resetRecord } from './record';
import { isConnLogPath, NO_REPLY_STATES, notConnLogReason } from './zeek-paths';

const WANTED = [
  'id.orig_h',
  'id.resp_h',
  'id.orig_p',
  'id.resp_p',
  'proto',
  'orig_bytes',
  'resp_bytes',
  'ts',
  'duration',
  // T when the sensor's Site::local_nets holds the address: that side is inside (FlowRecord.origLocal).
  'local_orig',
  'local_resp',
  // With resp_bytes unset, whether the responder sent nothing (see NO_REPLY_STATES).
  'conn_state',
] as const;


/**
 * A `ts` written as a date, as `zeek-cut -d` rewrites a conn.log's times for people
 * (`2020-06-05T14:39:59+0000`, ISO 8601 with the zone's offset), or with a format of one's own
 * (`zeek-cut -D '%Y-%m-%d %H:%M:%S'`, ZEEK_CUT_TIMEFMT: a space for the `T`, read as UTC when no
 * zone is given, as `-U` writes it), as epoch milliseconds; NaN for anything else.
 */
function cutTimeMs(buf: Buffer, s: number, e: number): number {
  if (e - s < 19 || buf[s + 4] !== 45 || (buf[s + 10] !== 84 && buf[s + 10] !== 32)) return NaN;
  return parseTimestampText(latin1(buf, s, e));
}

/** Separators a #fields line may use instead of the #separator line's (zeek-cut -F): , ; | and space. */
const FIELDS_SEPARATORS = [44, 59, 124, 32];

/**
 * The field names of a header line as `zeek-cut -m` writes it (the names alone, no `#fields`),
 * and their separator (a tab, or what `-F` gave: `,` `;` `|` or a space), or null: the line must name the
 * connection's two addresses (id.orig_h and id.resp_h, or id_orig_h and id_resp_h) and be names
 * only (Zeek's: letters, digits, `_` and `.`).
 */
export function zeekCutHeader(line: string): { names: string[]; sep: number } | null {
  const text = line.replace(/^\uFEFF/, '');
  const sep = [9, 44, 59, 124, 32].find((c) => text.includes(String.fromCharCode(c)));
  if (sep === undefined) return null;
  const names = text.split(String.fromCharCode(sep));
  if (!names.every((n) => /^[A-Za-z_][A-Za-z0-9_.]*$/.test(n))) return null;
  const has = (a: string, b: string): boolean => names.includes(a) || names.includes(b);
  return has('id.orig_h', 'id_orig_h') && has('id.resp_h', 'id_resp_h') ? { names, sep } : null;
}

/** The `#fields` line a `zeek-cut -m` header stands for (in its own separator), or null. */
export function zeekCutFieldsLine(line: string): string | null {
  const cut = zeekCutHeader(line);
  if (cut === null) return null;
  const sep = String.fromCharCode(cut.sep);
  return `#fields${sep}${cut.names.join(sep)}`;
}

/** What every names line holds (id.orig_h or id_orig_h): looked for before reading a line as one. */
const ORIG_H = Buffer.from('orig_h');

/** Decodes Zeek's `\xNN` escapes in header values. */
function unescapeZeek(s: string): string {
  return s.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** Parser for Zeek TSV logs. */
export class ZeekTsvParser implements LineParser {
  readonly format = 'zeek-tsv' as const;
  private sep = 9;
  private unset = '-';
  private empty = '(empty)';
  private unsetFirst = 45;
  private emptyFirst = 40;
  /** Column index of each wanted field, -1 when absent; null before `#fields`. */
  private cols: Int32Array | null = null;
  private neededCount = 0;
  private fieldCount = 0;
  /** start,end byte offsets of each column up to the last needed one. */
  private pos = new Int32Array(0);
  private readonly rec: FlowRecord = newRecord();
  /** Goes up whenever a header line is read, so a fast path knows to ask for {@link layout} again. */
  headerVersion = 0;

  /**
   * The separator byte and the column of each wanted field (`WANTED` order: id.orig_h, id.resp_h,
   * id.orig_p, id.resp_p, proto, orig_bytes, resp_bytes, ts, duration, local_orig, local_resp,
   * conn_state; -1 when absent), whether the unset marker is `-`, and how many fields `#fields`
   * names; null before the `#fields` line.
   */
  layout(): { sep: number; cols: Int32Array; unsetDash: boolean; fieldCount: number } | null {
    return this.cols === null ? null : { sep: this.sep, cols: this.cols, unsetDash: this.unset === '-', fieldCount: this.fieldCount };
  }

  line(buf: Buffer, start: number, end: number, lineNo: number, sink: RecordSink): void {
    if (start === end) return;
    if (buf[start] === 35) {
      this.header(latin1(buf, start, end), lineNo);
      return;
    }
    const cols = this.cols;
    if (cols === null) {
      // `zeek-cut -m`: the field names on a line of their own, no `#` lines.
      if (this.cutNames(buf, start, end, lineNo)) return;
      sink.skip(lineNo, 'record before the #fields header line');
      return;
    }
    // `zeek-cut -M` writes the names line again before each log's records (its first name is a
    // name, where a record starts with a time, a number or an address). A range of a split check
    // has the first names as a #fields line: any such line is taken.
    const c0 = buf[start]! | 0x20;
    if (c0 >= 97 && c0 <= 122 && buf.subarray(start, end).indexOf(ORIG_H) >= 0 && this.cutNames(buf, start, end, lineNo)) return;
    // Locate the columns we need, stopping after the last one.
    const pos = this.pos;
    const need = this.neededCount;
    const sep = this.sep;
    let col = 0;
    let fieldStart = start;
    // Whether a separator ended the last needed field: fields follow it.
    let more = false;
    for (let i = start; i < end; i++) {
      if (buf[i] === sep) {
        pos[col * 2] = fieldStart;
        pos[col * 2 + 1] = i;
        col++;
        fieldStart = i + 1;
        if (col === need) {
          more = true;
          break;
        }
      }
    }
    if (col < need) {
      pos[col * 2] = fieldStart;
      pos[col * 2 + 1] = end;
      col++;
    }
    if (col < need) {
      sink.skip(lineNo, `record has fewer fields than the #fields header names (${this.fieldCount})`);
      return;
    }
    // More fields than #fields names between tabs (Zeek writes a tab inside a value as \x09): the
    // values are not where the names say; read by position, a protocol was `-` and a duration
    // `tcp`. Another separator (zeek-cut -F ,) may be inside a value (a service `quic,ssl`, a set):
    // such a row is read by position, as before, its addresses being before any such value.
    if (more && sep === 9 && this.moreFieldsThanNamed(buf, fieldStart, end, need)) {
      sink.skip(lineNo, `record has more fields than the #fields header names (${this.fieldCount})`);
      return;
    }
    const r = this.rec;
    resetRecord(r, lineNo);
    const oh = cols[0]! * 2;
    const rh = cols[1]! * 2;
    const os = pos[oh]!;
    const oe = pos[oh + 1]!;
    const rs = pos[rh]!;
    const re = pos[rh + 1]!;
    if (this.isMissing(buf, os, oe)) {
      sink.skip(lineNo, 'id.orig_h is unset');
      return;
    }
    if (this.isMissing(buf, rs, re)) {
      sink.skip(lineNo, 'id.resp_h is unset');
      return;
    }
    r.ipBytes = buf;
    r.origIpStart = os;
    r.origIpEnd = oe;
    r.respIpStart = rs;
    r.respIpEnd = re;
    let c = cols[2]!;
    if (c >= 0) r.origPort = parseUint(buf, pos[c * 2]!, pos[c * 2 + 1]!);
    c = cols[3]!;
    if (c >= 0) r.respPort = parseUint(buf, pos[c * 2]!, pos[c * 2 + 1]!);
    c = cols[4]!;
    if (c >= 0) r.proto = internProto(buf, pos[c * 2]!, pos[c * 2 + 1]!);
    c = cols[5]!;
    if (c >= 0 && (r.origBytes = parseUint(buf, pos[c * 2]!, pos[c * 2 + 1]!)) < 0) this.badValue(buf, c, lineNo, 'orig_bytes', sink);
    c = cols[6]!;
    if (c >= 0 && (r.respBytes = parseUint(buf, pos[c * 2]!, pos[c * 2 + 1]!)) < 0) {
      this.badValue(buf, c, lineNo, 'resp_bytes', sink);
      const sc = cols[11]!;
      if (sc >= 0 && this.isMissing(buf, pos[c * 2]!, pos[c * 2 + 1]!) && NO_REPLY_STATES.has(latin1(buf, pos[sc * 2]!, pos[sc * 2 + 1]!))) r.respBytes = 0;
    }
    c = cols[7]!;
    if (c >= 0) {
      let ts = parseEpochSecondsMs(buf, pos[c * 2]!, pos[c * 2 + 1]!);
      if (ts !== ts && (ts = cutTimeMs(buf, pos[c * 2]!, pos[c * 2 + 1]!)) !== ts) this.badValue(buf, c, lineNo, 'ts', sink);
      r.firstSeenMs = ts;
      const d = cols[8]!;
      if (d >= 0) {
        const dur = parseEpochSecondsMs(buf, pos[d * 2]!, pos[d * 2 + 1]!);
        if (dur !== dur) this.badValue(buf, d, lineNo, 'duration', sink);
        r.lastSeenMs = dur === dur ? ts + dur : ts;
      } else {
        r.lastSeenMs = ts;
      }
    }
    // T as Zeek writes it; true, True or 1 as exports of its logs may (see saysTrue).
    c = cols[9]!;
    if (c >= 0) r.origLocal = saysTrue(buf, pos[c * 2]!, pos[c * 2 + 1]!);
    c = cols[10]!;
    if (c >= 0) r.respLocal = saysTrue(buf, pos[c * 2]!, pos[c * 2 + 1]!);
    sink.flow(r);
  }

  /**
   * Whether a line whose first `need` fields ended before `from` has more fields than `#fields`
   * names, one of them not empty (a separator at the end of the line is no value).
   */
  private moreFieldsThanNamed(buf: Buffer, from: number, end: number, need: number): boolean {
    // The separator that opens the first field past those named.
    let extraAt = from - 1;
    for (let k = this.fieldCount - need; k > 0; k--) {
      extraAt = buf.indexOf(this.sep, extraAt + 1);
      if (extraAt < 0 || extraAt >= end) return false;
    }
    for (let i = extraAt + 1; i < end; i++) {
      const c = buf[i]!;
      if (c !== this.sep && c !== 32 && c !== 13) return true;
    }
    return false;
  }

  /** Reports column `c` of this line, a value that did not read as its type, unless it is unset. */
  private badValue(buf: Buffer, c: number, lineNo: number, field: string, sink: RecordSink): void {
    const s = this.pos[c * 2]!;
    const e = this.pos[c * 2 + 1]!;
    if (!this.isMissing(buf, s, e)) sink.malformed?.(lineNo, field, utf8(buf, s, e));
  }

  /** An address field that holds the unset or empty marker (or nothing). */
  private isMissing(buf: Buffer, s: number, e: number): boolean {
    if (s === e) return true;
    // Addresses start with a hex digit, a colon or a bracket; the markers (`-`, `(empty)`) do not.
    const c = buf[s]!;
    if (c !== this.unsetFirst && c !== this.emptyFirst) return false;
    return bytesEqual(buf, s, e, this.unset) || bytesEqual(buf, s, e, this.empty);
  }
  /** Takes a names line as `zeek-cut -m` writes it for the layout; false when the line is none. */
  private cutNames(buf: Buffer, start: number, end: number, lineNo: number): boolean {
    const cut = zeekCutHeader(latin1(buf, start, end));
    if (cut === null) return false;
    this.headerVersion++;
    this.sep = cut.sep;
    this.setFields(cut.names, lineNo);
    return true;
  }

  private header(line: string, lineNo: number): void {
    this.headerVersion++;
    if (line.startsWith('#separator')) {
      const value = unescapeZeek(line.slice('#separator'.length).trim());
      if (value.length === 1) this.sep = value.charCodeAt(0);
      return;
    }
    // `zeek-cut -F X` writes its separator in the #fields, #types and data lines but leaves the
    // #separator line as it was: the #fields line's own separator is the one the records use.
    const after = line.charCodeAt('#fields'.length);
    if (line.startsWith('#fields') && after !== this.sep && FIELDS_SEPARATORS.includes(after)) this.sep = after;
    const tab = line.indexOf(String.fromCharCode(this.sep));
    if (tab < 0) return;
    const key = line.slice(0, tab);
    const value = line.slice(tab + 1);
    if (key === '#unset_field') {
      this.unset = unescapeZeek(value);
      this.unsetFirst = this.unset.charCodeAt(0);
    } else if (key === '#empty_field') {
      this.empty = unescapeZeek(value);
      this.emptyFirst = this.empty.charCodeAt(0);
    }
    else if (key === '#path') {
      // Other Zeek logs (dns, http, ssl...) have id.orig_h/id.resp_h too, but their records are not
      // connections: reading one as a conn.log would judge the wrong thing.
      if (value !== '' && !isConnLogPath(value)) {
        const hint = value === 'dns' ? ' (give a dns.log beside the conn.log with --dns)' : '';
        throw new InputError(`line ${lineNo}: ${notConnLogReason(value)}${hint}`);
      }
    }
    else if (key === '#fields') this.setFields(value.split(String.fromCharCode(this.sep)), lineNo);
  }

  private setFields(names: string[], lineNo: number): void {
    const cols = new Int32Array(WANTED.length).fill(-1);
    // A Zeek with `redef Log::default_scope_sep = "_"` writes the `id` record's fields as
    // id_orig_h, id_resp_h, ...: read by that spelling when the log uses it.
    const scope = names.includes('id.orig_h') || !names.includes('id_orig_h') ? '.' : '_';
    WANTED.forEach((name, i) => {
      cols[i] = names.indexOf(name.startsWith('id.') ? `id${scope}${name.slice(3)}` : name);
    });
    if (cols[0]! < 0 || cols[1]! < 0) {
      // (A #path other than conn was refused already.)
      throw new InputError(
        `line ${lineNo}: #fields has no id.orig_h/id.resp_h columns, which every Zeek conn.log has`,
      );
    }
    this.cols = cols;
    this.fieldCount = names.length;
    this.neededCount = Math.max(...cols) + 1;
    this.pos = new Int32Array(this.neededCount * 2);
  }

  finish(): void {}
}

/**
 * Why a log no format took may be a Zeek conn.log's records without their header, or null: what
 * `zeek-cut` prints without `-c` or `-m` (tab-separated values, two or more of them addresses),
 * whose columns nothing names.
 */
export function zeekCutHint(lines: readonly string[]): string | null {
  const first = lines.find((l) => l.trim() !== '');
  if (first === undefined) return null;
  const t = first.split('\t');
  if (t.length < 2) return null;
  const addresses = t.filter((x) => parseIp(x) !== null).length;
  if (addresses < 2) return null;
  return 'it looks like Zeek conn.log records without their header (zeek-cut without -c or -m): run zeek-cut with -m (a first line of field names) or -c (the # header lines), or check the conn.log itself';
}
