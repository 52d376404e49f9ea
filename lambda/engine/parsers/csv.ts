/**
 * An RFC 4180 field splitter over the bytes of one line (https://www.rfc-editor.org/rfc/rfc4180):
 * fields are separated by a delimiter byte; a field that starts with `"` runs to the next lone `"`,
 * and `""` inside it stands for one `"`. Offsets go into a reusable {@link CsvFields}, so splitting
 * allocates nothing; only the fields a parser needs become strings.
 *
 * The line splitter hands over single lines: a quoted field holding a line break arrives cut in
 * two, and a reader that takes such fields joins the lines again ({@link csvQuoteOpenAfter} says
 * whether a record runs on). Spaces before an opening quote or after a closing one are dropped
 * (`a, "b"` is common in hand-written files); other text after a closing quote makes the field
 * read raw, quotes included, as lenient readers do. The quote byte is `"` unless a reader says
 * otherwise (tshark's `-E quote=s` wraps values in `'`).
 */
import { latin1, utf8 } from './bytes';

/** `"`, the quote byte of RFC 4180. */
export const QUOTE = 34;
/** `'`, the quote byte of tshark's `-E quote=s`. */
export const SINGLE_QUOTE = 39;
const SPACE = 32;

/** Field offsets of the last split line; grows as needed and is reused line after line. */
export class CsvFields {
  /** Start and end offset of field i at `[2i]` and `[2i + 1]` (quotes excluded). */
  pos: Int32Array;
  /** 1 when field i was quoted and holds doubled quotes (`""`) that {@link csvText} must undo. */
  escaped: Uint8Array;
  /** Number of fields of the last split line. */
  count = 0;
  /** The quote byte of the last split line. */
  quote = QUOTE;

  constructor(capacity = 32) {
    this.pos = new Int32Array(capacity * 2);
    this.escaped = new Uint8Array(capacity);
  }

  /** Makes room for `n` fields, keeping what is stored. */
  grow(n: number): void {
    if (n <= this.escaped.length) return;
    const cap = Math.max(n, this.escaped.length * 2);
    const pos = new Int32Array(cap * 2);
    pos.set(this.pos);
    const escaped = new Uint8Array(cap);
    escaped.set(this.escaped);
    this.pos = pos;
    this.escaped = escaped;
  }
}

/** Excel's `sep=;` line, which names the delimiter of the lines after it. */
export const SEP_LINE = /^sep=(.)\s*$/i;

/** {@link splitCsvLine} result for a line whose last quoted field is not closed. */
export const UNTERMINATED_QUOTE = -1;

/**
 * Splits `buf[start, end)` on the `delimiter` byte into `out` and returns the field count, or
 * {@link UNTERMINATED_QUOTE}. An empty line is one empty field. With `limit`, stops after that many
 * fields (the rest of the line is not examined). `quote` is the quote byte.
 */
export function splitCsvLine(
  buf: Buffer,
  start: number,
  end: number,
  delimiter: number,
  out: CsvFields,
  limit = 0x7fffffff,
  quote = QUOTE,
): number {
  let n = 0;
  let i = start;
  out.quote = quote;
  for (;;) {
    if (n >= out.escaped.length) out.grow(n + 1);
    const pos = out.pos;
    // A field may open with a quote after spaces.
    let q = i;
    while (q < end && buf[q] === SPACE) q++;
    if (q < end && buf[q] === quote) {
      const fieldStart = i;
      let j = q + 1;
      let escaped = 0;
      let close = -1;
      while (j < end) {
        const c = buf[j];
        if (c === quote) {
          if (j + 1 < end && buf[j + 1] === quote) {
            escaped = 1;
            j += 2;
            continue;
          }
          close = j;
          break;
        }
        j++;
      }
      if (close < 0) {
        out.count = n;
        return UNTERMINATED_QUOTE;
      }
      let k = close + 1;
      while (k < end && buf[k] === SPACE) k++;
      if (k === end || buf[k] === delimiter) {
        pos[n * 2] = q + 1;
        pos[n * 2 + 1] = close;
        out.escaped[n] = escaped;
      } else {
        // Text after the closing quote: read the whole field raw.
        while (k < end && buf[k] !== delimiter) k++;
        pos[n * 2] = fieldStart;
        pos[n * 2 + 1] = k;
        out.escaped[n] = 0;
      }
      n++;
      if (k === end || n === limit) break;
      i = k + 1;
      continue;
    }
    let j = i;
    while (j < end && buf[j] !== delimiter) j++;
    pos[n * 2] = i;
    pos[n * 2 + 1] = j;
    out.escaped[n] = 0;
    n++;
    if (j === end || n === limit) break;
    i = j + 1;
  }
  out.count = n;
  return n;
}

/** Inside a quoted field from `i`: where its closing quote is (a lone quote; `""` is a quote), or `end`. */
function closingQuote(buf: Buffer, i: number, end: number, quote: number): number {
  while (i < end && !(buf[i] === quote && (i + 1 >= end || buf[i + 1] !== quote))) i += buf[i] === quote ? 2 : 1;
  return i;
}

/**
 * Whether a quoted field is still open at the end of line `buf[start, end)`, read as
 * {@link splitCsvLine} reads it; `open` says whether one was open at its start (the line goes on
 * a field that an earlier line opened). So a record whose quoted field holds line breaks is
 * followed line by line without splitting it again: the joined lines (with a line break between
 * them) split as one record exactly when this turns false.
 */
export function csvQuoteOpenAfter(
  buf: Buffer,
  start: number,
  end: number,
  delimiter: number,
  open: boolean,
  quote = QUOTE,
): boolean {
  let i = start;
  for (let inside = open; ; inside = false) {
    if (!inside) {
      // At a field's start: a quote after spaces opens it; otherwise it runs to the delimiter.
      let q = i;
      while (q < end && buf[q] === SPACE) q++;
      if (q >= end || buf[q] !== quote) {
        while (q < end && buf[q] !== delimiter) q++;
        if (q >= end) return false;
        i = q + 1;
        continue;
      }
      i = q + 1;
    }
    i = closingQuote(buf, i, end, quote);
    if (i >= end) return true;
    // After the closing quote, anything up to the delimiter is part of the field (read raw).
    i++;
    while (i < end && buf[i] !== delimiter) i++;
    if (i >= end) return false;
    i++;
  }
}

/**
 * Whether line `buf[start, end)`, which goes on a quoted field an earlier line opened, closes it
 * as RFC 4180 closes a field: its first lone quote followed by nothing but spaces before the
 * delimiter or the line's end. A quote followed by text (`...,"ok"` after a stray quote) closes
 * nothing a writer meant: the lines are no record of several lines.
 */
export function csvQuoteClosesCleanly(buf: Buffer, start: number, end: number, delimiter: number, quote = QUOTE): boolean {
  let i = closingQuote(buf, start, end, quote);
  if (i >= end) return false;
  i++;
  while (i < end && buf[i] === SPACE) i++;
  return i >= end || buf[i] === delimiter;
}

/** Text of field `i` of the last split line, doubled quotes unescaped; `decode` picks the byte decoding. */
export function csvText(
  buf: Buffer,
  fields: CsvFields,
  i: number,
  decode: 'latin1' | 'utf8' = 'utf8',
): string {
  const s = fields.pos[i * 2]!;
  const e = fields.pos[i * 2 + 1]!;
  const text = decode === 'utf8' ? utf8(buf, s, e) : latin1(buf, s, e);
  if (fields.escaped[i] !== 1) return text;
  const q = String.fromCharCode(fields.quote);
  return text.replaceAll(q + q, q);
}

/** First offset of `buf[start, end)` that is not a space or tab. */
export function skipBlanks(buf: Buffer, start: number, end: number): number {
  while (start < end && (buf[start] === SPACE || buf[start] === 9)) start++;
  return start;
}

/** End offset of `buf[start, end)` with trailing spaces and tabs left out. */
export function trimBlanksEnd(buf: Buffer, start: number, end: number): number {
  while (end > start && (buf[end - 1] === SPACE || buf[end - 1] === 9)) end--;
  return end;
}

/**
 * Splits a decoded line (a header) into unescaped field texts. For headers and detection only:
 * it allocates, and returns null for an unterminated quoted field.
 */
export function splitCsvText(line: string, delimiter: string, quote = QUOTE): string[] | null {
  const buf = Buffer.from(line, 'utf8');
  const fields = new CsvFields();
  const n = splitCsvLine(buf, 0, buf.length, delimiter.charCodeAt(0), fields, 0x7fffffff, quote);
  if (n === UNTERMINATED_QUOTE) return null;
  const names: string[] = [];
  for (let i = 0; i < n; i++) names.push(csvText(buf, fields, i));
  return names;
}

/**
 * `s` as one comma-separated field that {@link splitCsvLine} and the CSV readers give back as it
 * is: quoted (quotes doubled) when it holds a quote, a comma or a line break, has white space at an
 * end (a reader trims it), or starts with `#` (a line that starts so is a comment).
 */
export function quoteCsvField(s: string): string {
  return /[",\r\n]/.test(s) || s.startsWith('#') || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * A small direct-mapped cache from byte strings to their decoded text, for values that repeat
 * record after record (interface IDs, app names, host names): each is decoded once, not per
 * record. Fixed size, so hostile input costs a string per record, never unbounded memory.
 */
export class TextCache {
  private readonly keys: (Uint8Array | null)[];
  private readonly texts: string[];
  private readonly mask: number;

  constructor(slots = 1024) {
    let n = 16;
    while (n < slots) n *= 2;
    this.keys = new Array<Uint8Array | null>(n).fill(null);
    this.texts = new Array<string>(n).fill('');
    this.mask = n - 1;
  }

  /** The text of `buf[start, end)`, as `decode` makes it. */
  get(
    buf: Buffer,
    start: number,
    end: number,
    decode: (buf: Buffer, start: number, end: number) => string,
  ): string {
    const len = end - start;
    // Hash the length and up to 32 bytes (the first 8 and the last 24 of longer values).
    let h = len;
    const head = len > 32 ? start + 8 : end;
    for (let i = start; i < head; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    for (let i = head === end ? end : end - 24; i < end; i++)
      h = Math.imul(h ^ buf[i]!, 0x01000193);
    const slot = (h ^ (h >>> 15)) & this.mask;
    const key = this.keys[slot];
    if (key !== null && key !== undefined && key.length === len) {
      let i = 0;
      while (i < len && key[i] === buf[start + i]) i++;
      if (i === len) return this.texts[slot]!;
    }
    const text = decode(buf, start, end);
    this.keys[slot] = Uint8Array.prototype.slice.call(buf, start, end);
    this.texts[slot] = text;
    return text;
  }
}
