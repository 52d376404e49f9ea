/**
 * JSON written straight into bytes: the verdict of a large log is tens of megabytes of JSON, and
 * building it as strings first (then encoding them as UTF-8) cost more time and memory than the
 * writing itself. Values come out exactly as `JSON.stringify` writes them.
 *
 * The `put*` functions write at `buf[p]` and return the position after what they wrote. They do
 * not check for room: the caller makes room first, from the `*Bound` sizes (the most a value can
 * take), so a whole list entry is written with one check. Text encoded beforehand (field names,
 * repeated values) is copied four bytes at a time, and so may write up to {@link WORD_SLACK}
 * bytes past its end (later writes overwrite them): room is made for those too.
 */

const QUOTE = 0x22;
const COMMA = 0x2c;
const ZERO = 0x30;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

/** `null`, `true` and `false` as bytes. */
const NULL = asciiBytes('null');
const TRUE = asciiBytes('true');
const FALSE = asciiBytes('false');

/** Powers of ten up to the largest safe integer's 16 digits. */
const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);

/**
 * The most bytes a number takes: `String(n)` of a double is at most 25 characters
 * (`-0.0000012345678901234567`, `-1.7976931348623157e+308`).
 */
export const NUMBER_BOUND = 32;

/** How many bytes past its end copying {@link Encoded} text may write. */
export const WORD_SLACK = 3;

/** Bytes of a text known to be ASCII. */
function asciiBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Bytes encoded beforehand, also as little-endian 32-bit words (the last one padded with zeros). */
export class Encoded {
  readonly words: Uint32Array;
  /** How many bytes. */
  readonly length: number;

  constructor(readonly bytes: Uint8Array) {
    this.length = bytes.length;
    this.words = new Uint32Array(Math.ceil(bytes.length / 4));
    for (let i = 0; i < bytes.length; i++) this.words[i >> 2]! |= bytes[i]! << (8 * (i & 3));
  }
}

/** A text known to be ASCII (field names, punctuation), encoded. */
export function ascii(s: string): Encoded {
  return new Encoded(asciiBytes(s));
}

/**
 * The most bytes a string takes as a JSON literal: 6 per UTF-16 unit (`\u001f`; UTF-8 takes at
 * most 3 per unit) plus the quotes; `null` for null.
 */
export function strBound(s: string | null): number {
  return s === null ? 4 : 6 * s.length + 2;
}

/** The most bytes a list of strings takes as a compact JSON array. */
export function strsBound(xs: readonly string[]): number {
  let n = 2;
  for (let i = 0; i < xs.length; i++) n += 6 * xs[i]!.length + 3;
  return n;
}

/** The most bytes a list of numbers takes as a compact JSON array. */
export function numsBound(xs: readonly number[]): number {
  return 2 + xs.length * (NUMBER_BOUND + 1);
}

/** Copies bytes encoded beforehand (punctuation, field names, repeated values). */
function putBytes(buf: Buffer, p: number, b: Uint8Array): number {
  for (let i = 0; i < b.length; i++) buf[p + i] = b[i]!;
  return p + b.length;
}

/** Copies encoded text four bytes at a time; may write up to {@link WORD_SLACK} bytes past its end. */
export function putEncoded(view: DataView, p: number, e: Encoded): number {
  const words = e.words;
  for (let i = 0; i < words.length; i++) view.setUint32(p + 4 * i, words[i]!, true);
  return p + e.length;
}

/** Text that is already JSON, as UTF-8. */
export function putText(buf: Buffer, p: number, s: string): number {
  return p + buf.write(s, p, 'utf8');
}

/** A JSON string literal (or `null`). Printable ASCII without `"` or `\` is copied as it is. */
export function putStr(buf: Buffer, p: number, s: string | null): number {
  if (s === null) return putBytes(buf, p, NULL);
  const start = p;
  buf[p++] = QUOTE;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // Escapes and non-ASCII: JSON.stringify's spelling, encoded as UTF-8.
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return putText(buf, start, JSON.stringify(s));
    buf[p++] = c;
  }
  buf[p++] = QUOTE;
  return p;
}

/** A number as `String(n)` spells it; `null` when not finite (as JSON.stringify writes it). */
export function putNum(buf: Buffer, p: number, n: number): number {
  if (n >= 0 && n <= Number.MAX_SAFE_INTEGER && Math.floor(n) === n) return putInt(buf, p, n);
  return Number.isFinite(n) ? putText(buf, p, String(n)) : putBytes(buf, p, NULL);
}

/** A safe non-negative integer, digit by digit. */
function putInt(buf: Buffer, p: number, n: number): number {
  if (n < 10) {
    buf[p] = ZERO + n;
    return p + 1;
  }
  let digits = 2;
  while (digits < 16 && n >= POW10[digits]!) digits++;
  const end = p + digits;
  let at = end;
  if (n <= 0x7fffffff) {
    let q = n | 0;
    while (q >= 10) {
      const next = (q / 10) | 0;
      buf[--at] = ZERO + (q - next * 10);
      q = next;
    }
    buf[at - 1] = ZERO + q;
  } else {
    let q = n;
    while (q >= 10) {
      const next = Math.floor(q / 10);
      buf[--at] = ZERO + (q - next * 10);
      q = next;
    }
    buf[at - 1] = ZERO + q;
  }
  return end;
}

/** `true` or `false`. */
export function putBool(buf: Buffer, p: number, b: boolean): number {
  return putBytes(buf, p, b ? TRUE : FALSE);
}

/** A compact JSON array of numbers. */
export function putNums(buf: Buffer, p: number, xs: readonly number[]): number {
  buf[p++] = LBRACKET;
  for (let i = 0; i < xs.length; i++) {
    if (i > 0) buf[p++] = COMMA;
    p = putNum(buf, p, xs[i]!);
  }
  buf[p++] = RBRACKET;
  return p;
}

/** A compact JSON array of strings. */
export function putStrs(buf: Buffer, p: number, xs: readonly string[]): number {
  buf[p++] = LBRACKET;
  for (let i = 0; i < xs.length; i++) {
    if (i > 0) buf[p++] = COMMA;
    p = putStr(buf, p, xs[i]!);
  }
  buf[p++] = RBRACKET;
  return p;
}

/** A JSON string literal as `JSON.stringify` would write it, encoded as UTF-8. */
export function quoted(s: string | null): Encoded {
  const buf = Buffer.allocUnsafe(strBound(s));
  return new Encoded(new Uint8Array(buf.subarray(0, putStr(buf, 0, s))));
}

/**
 * A growable byte buffer that JSON is written into; `buf[0, pos)` holds what was written. Callers
 * take the bytes out (and reset `pos`) whenever they like; the buffer is reused.
 */
export class JsonBytes {
  /** The buffer written into; replaced by a larger one when a write needs more room. */
  buf: Buffer;
  /** `buf` as a DataView, for writing encoded text a word at a time. */
  view: DataView;
  /** How many bytes of `buf` are written. */
  pos = 0;

  /** `into`: a capacity to allocate, or the buffer to write into (until a write needs more room). */
  constructor(into: number | Buffer) {
    this.buf = typeof into === 'number' ? Buffer.allocUnsafe(into) : into;
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }

  /**
   * Makes room for `n` more bytes after `pos` (and {@link WORD_SLACK} more); returns the buffer
   * to write them into (`view` is the same buffer).
   */
  room(n: number): Buffer {
    if (this.pos + n + WORD_SLACK > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n + WORD_SLACK));
      this.buf.copy(next, 0, 0, this.pos);
      this.buf = next;
      this.view = new DataView(next.buffer, next.byteOffset, next.length);
    }
    return this.buf;
  }

  /** Text that is already JSON, as UTF-8. */
  text(s: string): void {
    // At most 3 bytes per UTF-16 unit (a surrogate pair is 2 units and 4 bytes).
    this.pos = putText(this.room(3 * s.length), this.pos, s);
  }

  /** Text encoded beforehand. */
  encoded(e: Encoded): void {
    this.room(e.length);
    this.pos = putEncoded(this.view, this.pos, e);
  }
}
