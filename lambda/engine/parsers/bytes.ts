/** Helpers that read values straight from bytes, so parsers need not decode whole lines. */
import type { RecordSink } from '../types';

/** Node's Buffer has these fast, encoding-specific slicers; `toString(enc, s, e)` calls them. */
interface SlicingBuffer {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

/** Text of `buf[start, end)`, bytes as Latin-1 (IP addresses, numbers and keywords are ASCII). */
export function latin1(buf: Buffer, start: number, end: number): string {
  return (buf as unknown as SlicingBuffer).latin1Slice(start, end);
}

/** Text of `buf[start, end)` decoded as UTF-8 (hostnames, app names). */
export function utf8(buf: Buffer, start: number, end: number): string {
  return (buf as unknown as SlicingBuffer).utf8Slice(start, end);
}

/**
 * A non-negative decimal integer of at most 15 digits (every such value is exact as a double), or -1
 * when the bytes are not one. (A 16-digit byte count would be a petabyte in one record.)
 */
export function parseUint(buf: Buffer, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]! - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Epoch seconds with an optional fraction (`1591367999.305988`) as milliseconds; NaN when the
 * bytes are not such a number.
 */
export function parseEpochSecondsMs(buf: Buffer, start: number, end: number): number {
  let i = start;
  let secs = 0;
  let digits = 0;
  while (i < end) {
    const c = buf[i]! - 48;
    if (c < 0 || c > 9) break;
    secs = secs * 10 + c;
    digits++;
    i++;
  }
  if (digits === 0 || digits > 12) return NaN;
  let ms = secs * 1000;
  if (i < end) {
    if (buf[i] !== 46) return NaN;
    i++;
    let scale = 100;
    for (; i < end; i++) {
      const c = buf[i]! - 48;
      if (c < 0 || c > 9) return NaN;
      ms += c * scale;
      scale /= 10;
    }
  }
  return ms;
}

/** True when `buf[start, end)` equals the ASCII string `s`. */
export function bytesEqual(buf: Buffer, start: number, end: number, s: string): boolean {
  if (end - start !== s.length) return false;
  for (let i = 0; i < s.length; i++) if (buf[start + i] !== s.charCodeAt(i)) return false;
  return true;
}

/**
 * Whether `buf[start, end)` says yes as a boolean column may: Zeek's `T` (TSV), `true` (JSON, and
 * exports that spell booleans so), `True` (pandas), `TRUE`, `t`, `1`. Anything else says no.
 * (The WebAssembly fold's `says_true` reads the same spellings.)
 */
export function saysTrue(buf: Uint8Array, start: number, end: number): boolean {
  const n = end - start;
  if (n === 1) {
    const c = buf[start];
    return c === 84 || c === 116 || c === 49;
  }
  return (
    n === 4 &&
    (buf[start]! | 0x20) === 116 &&
    (buf[start + 1]! | 0x20) === 114 &&
    (buf[start + 2]! | 0x20) === 117 &&
    (buf[start + 3]! | 0x20) === 101
  );
}

/** {@link saysTrue} of a JSON value: `true`, or a string that says yes (`"T"`, `"true"`). */
export function saysTrueValue(v: unknown): boolean {
  if (v === true) return true;
  if (typeof v !== 'string' || v.length > 4) return false;
  const b = Buffer.from(v, 'latin1');
  return saysTrue(b, 0, b.length);
}

/** Numbers below this are relative times, not dates: see {@link parseTimestampText}. */
const RELATIVE_BELOW = 1e8;

/** The largest epoch millisecond a JavaScript Date holds (the year 275760). */
export const MAX_DATE_MS = 8.64e15;

/**
 * An epoch time in seconds, milliseconds, microseconds or nanoseconds, told apart by magnitude,
 * as epoch milliseconds: below 10^11 seconds (10^11 s is the year 5138), then milliseconds from
 * 10^11 (1973), microseconds from 10^14 (1973) and nanoseconds from 10^17 (1973), as loggers
 * write `date +%s%N` or Go's `UnixNano`. NaN for a number no Date can hold.
 */
export function epochNumberMs(n: number): number {
  const ms = n >= 1e17 ? n / 1e6 : n >= 1e14 ? n / 1e3 : n >= 1e11 ? n : n * 1000;
  return ms <= MAX_DATE_MS && ms >= -MAX_DATE_MS ? ms : NaN;
}

/**
 * {@link parseTimestampText} of `buf[start, end)` when it is a plain decimal number (digits, an
 * optional fraction, its digits together at most 2^53), read from the bytes without making a string;
 * undefined when it is anything else (the text must be read). The digits as one integer over a
 * power of ten is the double `Number` reads: both are exact, and division rounds correctly.
 */
export function parseTimestampBytes(buf: Buffer, start: number, end: number): number | undefined {
  let v = 0;
  let digits = 0;
  let point = -1;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c === 46 && point < 0 && digits > 0 && i + 1 < end) {
      point = digits;
      continue;
    }
    if (c < 48 || c > 57) return undefined;
    v = v * 10 + (c - 48);
    digits++;
  }
  if (digits === 0 || digits > 17 || v > Number.MAX_SAFE_INTEGER) return undefined;
  const n = point < 0 ? v : v / POWERS_OF_TEN[digits - point]!;
  return n < RELATIVE_BELOW ? NaN : epochNumberMs(n);
}

const POWERS_OF_TEN = Array.from({ length: 18 }, (_, k) => 10 ** k);

/**
 * Epoch seconds, milliseconds, microseconds or nanoseconds ({@link epochNumberMs}), or an ISO
 * 8601 date, as epoch milliseconds; NaN when neither (a number too small to be a date included).
 */
export function parseTimestampText(text: string): number {
  const t = text.trim();
  if (t === '') return NaN;
  if (/^\d+(\.\d+)?$/.test(t)) {
    const n = Number(t);
    // A number below 10^8 (March 1973 in seconds) is no date a connection log records: it is a
    // time relative to something (Wireshark's default "seconds since the capture began"), or 0
    // for none. Read as a date it would put the connection in 1970.
    if (n < RELATIVE_BELOW) return NaN;
    // Ten-digit seconds run to 2286; thirteen digits are milliseconds, sixteen microseconds.
    return epochNumberMs(n);
  }
  // ISO 8601, or `YYYY-MM-DD HH:MM:SS` without zone (read as UTC, as tools that omit it write UTC);
  // `YYYY/MM/DD HH:MM:SS` as Palo Alto's log exports write it, likewise.
  if (t.charCodeAt(0) >= 65) return wiresharkAbsoluteMs(t);
  const dashed = /^\d{4}\/\d{2}\/\d{2}(?:[ T]|$)/.test(t) ? `${t.slice(0, 4)}-${t.slice(5, 7)}-${t.slice(8)}` : t;
  const iso = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(dashed) ? `${dashed.replace(' ', 'T')}Z` : dashed;
  if (!/^\d{4}-\d{2}-\d{2}/.test(iso)) return NaN;
  // V8 reads other spellings (`2024-03-01 1:05`, `10:00 AM`, `10:00:00 (UTC)`: parentheses are a
  // comment to it) in the process's time zone when they name none: those are read as UTC, so a
  // verdict never depends on the machine's zone.
  const ms = Date.parse(NAMES_ZONE.test(iso) ? iso : `${iso} UTC`);
  return Number.isNaN(ms) ? NaN : ms;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * Offsets in minutes of the zone abbreviations a time may end with, as strftime's %Z writes them
 * (tshark's frame.time). Ambiguous ones (CST: US Central or China; IST: India, Ireland or Israel;
 * BST, AST) are left out: a time naming one is not read.
 */
const ZONE_MINUTES: Readonly<Record<string, number>> = {
  UTC: 0, GMT: 0, UT: 0, Z: 0, WET: 0, WEST: 60, CET: 60, CEST: 120, MET: 60, MEST: 120, EET: 120,
  EEST: 180, MSK: 180, EST: -300, EDT: -240, CDT: -300, MST: -420, MDT: -360, PST: -480, PDT: -420,
  AKST: -540, AKDT: -480, HST: -600, JST: 540, KST: 540, HKT: 480, SGT: 480, AWST: 480, ACST: 570,
  ACDT: 630, AEST: 600, AEDT: 660, NZST: 720, NZDT: 780,
};

/**
 * Wireshark's absolute time, as tshark writes `frame.time` (`Aug 22, 2013 20:00:33.570191000 UTC`,
 * the zone the machine's, `CEST`, or none): epoch milliseconds, NaN for anything else or a zone
 * that is not known for certain. A time naming no zone is read as UTC, as others are.
 */
function wiresharkAbsoluteMs(t: string): number {
  const m = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}), (\d{4}) (\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?: ([A-Z]{1,5}|[+-]\d{4}))?$/.exec(t);
  if (m === null) return NaN;
  const month = MONTHS.indexOf(m[1]!);
  if (month < 0) return NaN;
  const zone = m[8];
  const offset = zone === undefined ? 0 : /^[+-]/.test(zone) ? (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3))) : ZONE_MINUTES[zone];
  if (offset === undefined) return NaN;
  const [day, hour, minute, second] = [Number(m[2]), Number(m[4]), Number(m[5]), Number(m[6])];
  const utc = new Date(Date.UTC(Number(m[3]), month, day, hour, minute, second));
  // No rolling over: Feb 30 or 25:00 is no time.
  if (utc.getUTCDate() !== day || utc.getUTCHours() !== hour || minute > 59 || second > 59) return NaN;
  const ms = utc.getTime() - offset * 60000;
  return m[7] === undefined ? ms : ms + Number(`0.${m[7]}`) * 1000;
}

/** A time that names its zone: `Z`, an offset, UTC/GMT (with an offset), or a US zone V8 knows. */
const NAMES_ZONE = /(?:[\dZ]|\s)(?:Z|[+-]\d\d(?::?\d\d)?|(?:UTC|GMT|UT)(?:[+-]\d{1,4}(?::\d\d)?)?|[ECMP][SD]T)\s*(?:\([^)]*\)\s*)?$/i;

/**
 * Skips a UTF-8 byte order mark at `start` (a file's first line, or a file concatenated onto
 * another); returns the new start.
 */
export function skipBom(buf: Buffer, start: number, end: number): number {
  return end - start >= 3 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf
    ? start + 3
    : start;
}

/** Whether a parsed JSON value is an object (not null, not an array). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Reads one JSON-lines record: the object on `buf[start, end)` (leading blanks allowed), or null
 * for a blank line (no sink call) and for a line that is not a JSON object (counted as skipped).
 */
export function jsonLineObject(
  buf: Buffer,
  start: number,
  end: number,
  lineNo: number,
  sink: { skip(line: number, reason: string): void },
): Record<string, unknown> | null {
  while (start < end && (buf[start] === 32 || buf[start] === 9)) start++;
  if (start === end) return null;
  let obj: unknown;
  try {
    obj = JSON.parse(utf8(buf, start, end));
  } catch {
    obj = undefined;
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    sink.skip(lineNo, 'not a JSON object');
    return null;
  }
  return obj as Record<string, unknown>;
}

/**
 * Reports a JSON value that did not read as its field's type (see RecordSink.malformed), as JSON,
 * unless it is absent or null (unset).
 */
export function reportJsonValue(v: unknown, lineNo: number, field: string, sink: Pick<RecordSink, 'malformed'>): void {
  if (v !== undefined && v !== null) sink.malformed?.(lineNo, field, JSON.stringify(v) ?? String(v));
}

/** A transport protocol name from bytes: tcp, udp and icmp as shared constants, so records allocate no string. */
export function internProto(buf: Buffer, s: number, e: number): string {
  if (bytesEqual(buf, s, e, 'tcp')) return 'tcp';
  if (bytesEqual(buf, s, e, 'udp')) return 'udp';
  if (bytesEqual(buf, s, e, 'icmp')) return 'icmp';
  return latin1(buf, s, e);
}
