/**
 * Reads a Zeek conn.log JSON line straight from its bytes, for the lines Zeek writes itself: one
 * flat object, no whitespace, strings without escapes. `JSON.parse` made an object of every line,
 * of whose twenty-odd values a dozen were read and the rest thrown away, and the addresses came
 * out as new strings, each hashed again to find its endpoint. Read from the bytes, a line costs a
 * fraction of that, and its addresses go to the aggregator as bytes, as the TSV parser's do.
 *
 * A line is read here only when the answer is sure to be the one `JSON.parse` and
 * {@link ZeekJsonParser} would give: the line is a JSON object (checked as it is read, every value
 * included), it is a conn.log record (by `_path`, or by a field only conn.log has), and each field
 * the record takes has a form that reads the same both ways. Anything else (escapes, nested
 * objects, whitespace, a field given twice, a number with an exponent or a sign, a time that does
 * not read) is left to `JSON.parse`: {@link ZeekJsonScanner.read} returns false, and the caller
 * parses the line as it always did. test/engine/parsers/zeek-json-scan.test.ts checks the two
 * agree, on Zeek's lines and on arbitrary changes to them.
 */
import type { FlowRecord } from '../types';
import { MAX_DATE_MS, epochNumberMs, internProto, latin1, parseTimestampText, parseUint, saysTrue } from './bytes';
import { resetRecord } from './record';
import { isConnLogPath, NO_REPLY_STATES } from './zeek-paths';

// The fields read, by number.
const K_ORIG_H = 0;
const K_RESP_H = 1;
const K_ORIG_P = 2;
const K_RESP_P = 3;
const K_PROTO = 4;
const K_ORIG_B = 5;
const K_RESP_B = 6;
const K_TS = 7;
const K_DURATION = 8;
const K_LOCAL_O = 9;
const K_LOCAL_R = 10;
const K_PATH = 11;
const K_CONN_STATE = 12;
const KEYS = 13;
/** A field only conn.log has (ZeekJsonParser's CONN_FIELDS): the record is a connection. */
const K_CONN = 13;
/** Which numbers are of fields only conn.log has (the five read, and K_CONN). */
const IS_CONN_FIELD = new Uint8Array(KEYS + 1);
for (const k of [K_ORIG_B, K_RESP_B, K_LOCAL_O, K_LOCAL_R, K_CONN_STATE, K_CONN]) IS_CONN_FIELD[k] = 1;

// Value kinds.
const V_STRING = 1;
/** A number of digits with an optional fraction: no sign, no exponent. */
const V_PLAIN_NUMBER = 2;
/** Any other JSON number. */
const V_NUMBER = 3;
const V_TRUE = 4;
/** A string with other than ASCII in it. */
const V_TEXT = 5;
/** false, null, an array. */
const V_OTHER = 6;

/** Field names and their numbers. */
const NAMES: readonly (readonly [string, number])[] = [
  ['id.orig_h', K_ORIG_H],
  ['id.resp_h', K_RESP_H],
  ['id.orig_p', K_ORIG_P],
  ['id.resp_p', K_RESP_P],
  // `redef Log::default_scope_sep = "_"` (ZeekJsonParser reads them after the dotted ones: a line
  // with both spellings of one field is left to it, as a field given twice is).
  ['id_orig_h', K_ORIG_H],
  ['id_resp_h', K_RESP_H],
  ['id_orig_p', K_ORIG_P],
  ['id_resp_p', K_RESP_P],
  ['proto', K_PROTO],
  ['orig_bytes', K_ORIG_B],
  ['resp_bytes', K_RESP_B],
  ['ts', K_TS],
  ['duration', K_DURATION],
  ['local_orig', K_LOCAL_O],
  ['local_resp', K_LOCAL_R],
  ['_path', K_PATH],
  ['conn_state', K_CONN_STATE],
  // ZeekJsonParser's CONN_FIELDS but the five read above.
  ['missed_bytes', K_CONN],
  ['history', K_CONN],
  ['orig_pkts', K_CONN],
  ['resp_pkts', K_CONN],
  ['orig_ip_bytes', K_CONN],
  ['resp_ip_bytes', K_CONN],
  ['tunnel_parents', K_CONN],
];

/**
 * Where a name of `n` bytes is looked for in NAME_SLOTS: from its length, its first, third, fourth
 * and last bytes (`b2`, `b3` 0 when it has fewer), read off once the name is found, not computed
 * byte by byte while it is read.
 */
function nameSlot(n: number, b0: number, b2: number, b3: number, bl: number): number {
  return ((n << 5) ^ b0 ^ (b2 << 3) ^ (b3 << 2) ^ (bl << 4)) & SLOT_MASK;
}

// The names in a table by nameSlot: a name is found with one slot and one comparison. No two
// names share a slot (checked here, so that a name added cannot break it quietly).
const SLOT_MASK = 255;
const NAME_SLOTS = new Int16Array(SLOT_MASK + 1).fill(-1);
const NAME_BYTES = new Uint8Array(NAMES.reduce((n, [name]) => n + name.length, 0));
const NAME_AT = new Int32Array(NAMES.length);
const NAME_LENGTH = new Int32Array(NAMES.length);
const NAME_KEY = new Int32Array(NAMES.length);
{
  let at = 0;
  NAMES.forEach(([name, key], j) => {
    const code = (k: number): number => name.charCodeAt(k);
    const slot = nameSlot(name.length, code(0), name.length > 2 ? code(2) : 0, name.length > 3 ? code(3) : 0, code(name.length - 1));
    if (NAME_SLOTS[slot] !== -1) throw new Error(`zeek-json-scan: ${name} shares a slot with another name`);
    NAME_SLOTS[slot] = j;
    NAME_AT[j] = at;
    NAME_LENGTH[j] = name.length;
    NAME_KEY[j] = key;
    for (let k = 0; k < name.length; k++) NAME_BYTES[at++] = name.charCodeAt(k);
  });
}

/** Powers of ten a double holds exactly (up to 10^22). */
const EXACT_POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
const TWO_53 = 2 ** 53;

/**
 * The value of a plain JSON number (digits, an optional fraction), exactly as `JSON.parse` reads
 * it. When all its digits make an integer of at most 2^53 and the fraction has at most 22 digits,
 * the integer and the power of ten are exact doubles, and one IEEE division rounds their quotient
 * correctly, as the parser does; otherwise (Zeek writes durations to 17 digits) the text is read
 * by `Number`, which rounds as `JSON.parse` does.
 */
function plainNumber(buf: Buffer, s: number, e: number): number {
  let m = 0;
  let frac = -1;
  for (let i = s; i < e; i++) {
    const c = buf[i]!;
    if (c === 46) {
      frac = 0;
      continue;
    }
    m = m * 10 + (c - 48);
    if (frac >= 0) frac++;
  }
  if (m > TWO_53 || frac > 22) return Number(latin1(buf, s, e));
  return frac <= 0 ? m : m / EXACT_POW10[frac]!;
}

/** Reads Zeek conn.log JSON lines from bytes (see the module comment). */
export class ZeekJsonScanner {
  // Where each field's value is in the line, and of what kind (0: absent).
  private readonly start = new Int32Array(KEYS);
  private readonly end = new Int32Array(KEYS);
  private readonly kind = new Uint8Array(KEYS);
  private connField = false;

  /**
   * Fills `r` with the record of `buf[start, end)` as ZeekJsonParser would, and returns true; or
   * returns false (with `r` not to be used) when the line must be parsed as JSON.
   */
  read(buf: Buffer, start: number, end: number, lineNo: number, r: FlowRecord): boolean {
    if (!this.object(buf, start, end)) return false;
    const kind = this.kind;
    const vs = this.start;
    const ve = this.end;
    // A conn.log record? (otherZeekLog: `_path` first, then a conn.log field.)
    if (kind[K_PATH] !== 0) {
      if (kind[K_PATH] !== V_STRING) return false;
      const s = vs[K_PATH]!;
      const n = ve[K_PATH]! - s;
      // '' or a conn.log's path (otherwise ZeekJsonParser explains what the record is).
      if (n !== 0 && !isConnLogPath(latin1(buf, s, s + n))) return false;
    } else if (!this.connField) {
      return false;
    }
    // The addresses: ASCII strings (latin1 and UTF-8 then read them alike).
    if (kind[K_ORIG_H] !== V_STRING || kind[K_RESP_H] !== V_STRING) return false;
    resetRecord(r, lineNo);
    r.origPort = this.count(buf, K_ORIG_P);
    r.respPort = this.count(buf, K_RESP_P);
    r.origBytes = this.count(buf, K_ORIG_B);
    r.respBytes = this.count(buf, K_RESP_B);
    if (r.origPort === -2 || r.respPort === -2 || r.origBytes === -2 || r.respBytes === -2) return false;
    // Unset, and the state says the responder sent nothing (ZeekJsonParser: NO_REPLY_STATES).
    if (r.respBytes < 0 && kind[K_CONN_STATE] === V_STRING && NO_REPLY_STATES.has(latin1(buf, vs[K_CONN_STATE]!, ve[K_CONN_STATE]!))) r.respBytes = 0;
    // typeof o.proto === 'string' ? o.proto : ''
    if (kind[K_PROTO] === V_TEXT) return false;
    r.proto = kind[K_PROTO] === V_STRING ? internProto(buf, vs[K_PROTO]!, ve[K_PROTO]!) : '';
    // zeekTimeMs(o.ts): a time that does not read is reported by JSON's path.
    let first = NaN;
    const tk = kind[K_TS];
    if (tk === V_PLAIN_NUMBER) first = epochNumberMs(plainNumber(buf, vs[K_TS]!, ve[K_TS]!));
    else if (tk === V_STRING) first = parseTimestampText(latin1(buf, vs[K_TS]!, ve[K_TS]!));
    if (tk !== 0 && first !== first) return false;
    // typeof o.duration === 'number' ? o.duration * 1000 : NaN
    let dur = NaN;
    const dk = kind[K_DURATION];
    if (dk === V_PLAIN_NUMBER) dur = plainNumber(buf, vs[K_DURATION]!, ve[K_DURATION]!) * 1000;
    if (dk !== 0 && dur !== dur) return false;
    r.firstSeenMs = first;
    const last = first + dur;
    r.lastSeenMs = Math.abs(last) <= MAX_DATE_MS ? last : first;
    // true as Zeek writes it, or a string a pipeline made of it (see saysTrue).
    r.origLocal = kind[K_LOCAL_O] === V_TRUE || (kind[K_LOCAL_O] === V_STRING && saysTrue(buf, vs[K_LOCAL_O]!, ve[K_LOCAL_O]!));
    r.respLocal = kind[K_LOCAL_R] === V_TRUE || (kind[K_LOCAL_R] === V_STRING && saysTrue(buf, vs[K_LOCAL_R]!, ve[K_LOCAL_R]!));
    r.ipBytes = buf;
    r.origIpStart = vs[K_ORIG_H]!;
    r.origIpEnd = ve[K_ORIG_H]!;
    r.respIpStart = vs[K_RESP_H]!;
    r.respIpEnd = ve[K_RESP_H]!;
    return true;
  }

  /**
   * A port or byte count as ZeekJsonParser's `num` reads it: -1 when absent; -2 when it is not
   * digits that parseUint reads (JSON's path then reads or reports it).
   */
  private count(buf: Buffer, k: number): number {
    const kind = this.kind[k];
    if (kind === 0) return -1;
    if (kind !== V_PLAIN_NUMBER) return -2;
    const v = parseUint(buf, this.start[k]!, this.end[k]!);
    return v < 0 ? -2 : v;
  }

  /**
   * Reads `buf[start, end)` as one JSON object with no whitespace, noting where the fields read
   * are; false when it is not one (or is one this reader leaves to JSON.parse). One loop, the
   * strings and numbers read inline: the CLI runs V8 without TurboFan inlining (bin/residency.ts),
   * and a call per value cost more than the reading.
   */
  private object(buf: Buffer, start: number, end: number): boolean {
    const kind = this.kind;
    kind.fill(0);
    this.connField = false;
    if (end - start < 2 || buf[start] !== 123) return false;
    let i = start + 1;
    for (;;) {
      // "name":
      if (i >= end || buf[i] !== 34) return false;
      const ks = ++i;
      for (;;) {
        if (i >= end) return false;
        const c = buf[i]!;
        if (c === 34) break;
        if (c === 92 || c < 32) return false;
        i++;
      }
      const ke = i++;
      if (i >= end || buf[i] !== 58) return false;
      i++;
      if (i >= end) return false;
      // The value.
      const c = buf[i]!;
      let vs = i;
      let v: number;
      if (c === 34) {
        vs = ++i;
        let acc = 0;
        for (;;) {
          if (i >= end) return false;
          const d = buf[i]!;
          if (d === 34) break;
          if (d === 92 || d < 32) return false;
          acc |= d;
          i++;
        }
        v = acc < 128 ? V_STRING : V_TEXT;
      } else if (c === 45 || (c >= 48 && c <= 57)) {
        // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?: plain without the sign and the exponent.
        v = V_PLAIN_NUMBER;
        if (c === 45) {
          v = V_NUMBER;
          i++;
        }
        if (i >= end) return false;
        let d = buf[i]!;
        if (d === 48) {
          i++;
        } else if (d >= 49 && d <= 57) {
          i++;
          while (i < end && (d = buf[i]!) >= 48 && d <= 57) i++;
        } else {
          return false;
        }
        if (i < end && buf[i] === 46) {
          i++;
          if (i >= end || (d = buf[i]!) < 48 || d > 57) return false;
          i++;
          while (i < end && (d = buf[i]!) >= 48 && d <= 57) i++;
        }
        if (i < end && ((d = buf[i]!) === 101 || d === 69)) {
          v = V_NUMBER;
          i++;
          if (i < end && ((d = buf[i]!) === 43 || d === 45)) i++;
          if (i >= end || (d = buf[i]!) < 48 || d > 57) return false;
          i++;
          while (i < end && (d = buf[i]!) >= 48 && d <= 57) i++;
        }
      } else if (c === 116) {
        if (i + 4 > end || buf[i + 1] !== 114 || buf[i + 2] !== 117 || buf[i + 3] !== 101) return false;
        v = V_TRUE;
        i += 4;
      } else if (c === 102) {
        if (i + 5 > end || buf[i + 1] !== 97 || buf[i + 2] !== 108 || buf[i + 3] !== 115 || buf[i + 4] !== 101) return false;
        v = V_OTHER;
        i += 5;
      } else if (c === 110) {
        if (i + 4 > end || buf[i + 1] !== 117 || buf[i + 2] !== 108 || buf[i + 3] !== 108) return false;
        v = V_OTHER;
        i += 4;
      } else if (c === 91) {
        i = arrayEnd(buf, i + 1, end);
        if (i < 0) return false;
        v = V_OTHER;
      } else {
        // A nested object (`id` from some shippers) or not JSON.
        return false;
      }
      // The value is buf[vs, i), and a string's closing quote is at i.
      const ve = i;
      if (c === 34) i++;
      // Which field: the slot its hash points at, if its name is that slot's.
      const n = ke - ks;
      // (nameSlot, spelled out: the CLI runs V8 without TurboFan inlining.)
      const b2 = n > 2 ? buf[ks + 2]! : 0;
      const b3 = n > 3 ? buf[ks + 3]! : 0;
      const slot = n === 0 ? -1 : NAME_SLOTS[((n << 5) ^ buf[ks]! ^ (b2 << 3) ^ (b3 << 2) ^ (buf[ke - 1]! << 4)) & SLOT_MASK]!;
      if (slot >= 0 && NAME_LENGTH[slot] === n) {
        const at = NAME_AT[slot]!;
        let k = 0;
        while (k < n && buf[ks + k] === NAME_BYTES[at + k]) k++;
        if (k === n) {
          const key = NAME_KEY[slot]!;
          if (IS_CONN_FIELD[key] === 1) this.connField = true;
          if (key !== K_CONN) {
            // Given twice: JSON.parse keeps the last; left to it.
            if (kind[key] !== 0) return false;
            kind[key] = v;
            this.start[key] = vs;
            this.end[key] = ve;
          }
        }
      }
      if (i >= end) return false;
      const next = buf[i++]!;
      if (next === 125) return i === end;
      if (next !== 44) return false;
    }
  }
}

/**
 * The end of a JSON array whose elements start at `s` (after its `[`): just past its `]`, or -1
 * when an element is not a string without escapes, a number, true, false or null (nested values
 * are left to JSON.parse) or the array is not JSON.
 */
function arrayEnd(buf: Buffer, s: number, end: number): number {
  let i = s;
  if (i < end && buf[i] === 93) return i + 1;
  for (;;) {
    if (i >= end) return -1;
    const c = buf[i]!;
    if (c === 34) {
      i++;
      for (;;) {
        if (i >= end) return -1;
        const d = buf[i]!;
        if (d === 34) break;
        if (d === 92 || d < 32) return -1;
        i++;
      }
      i++;
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      if (c === 45) i++;
      if (i >= end) return -1;
      let d = buf[i]!;
      if (d === 48) i++;
      else if (d >= 49 && d <= 57) while (i < end && (d = buf[i]!) >= 48 && d <= 57) i++;
      else return -1;
      if (i < end && buf[i] === 46) {
        i++;
        if (i >= end || (d = buf[i]!) < 48 || d > 57) return -1;
        while (i < end && (d = buf[i]!) >= 48 && d <= 57) i++;
      }
      if (i < end && ((d = buf[i]!) === 101 || d === 69)) {
        i++;
        if (i < end && ((d = buf[i]!) === 43 || d === 45)) i++;
        if (i >= end || (d = buf[i]!) < 48 || d > 57) return -1;
        while (i < end && (d = buf[i]!) >= 48 && d <= 57) i++;
      }
    } else if (c === 116 || c === 110) {
      // true, null
      if (i + 4 > end) return -1;
      if (c === 116 ? buf[i + 1] !== 114 || buf[i + 2] !== 117 || buf[i + 3] !== 101 : buf[i + 1] !== 117 || buf[i + 2] !== 108 || buf[i + 3] !== 108) return -1;
      i += 4;
    } else if (c === 102) {
      if (i + 5 > end || buf[i + 1] !== 97 || buf[i + 2] !== 108 || buf[i + 3] !== 115 || buf[i + 4] !== 101) return -1;
      i += 5;
    } else {
      return -1;
    }
    if (i >= end) return -1;
    const next = buf[i++]!;
    if (next === 93) return i;
    if (next !== 44) return -1;
  }
}

