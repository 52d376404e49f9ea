/**
 * What the first bytes of an input say about its form, before any format is tried: compressions
 * and containers the checker does not open (it reads gzip itself), text in UTF-16 (PowerShell
 * 5.1's `>` and `Out-File`, Excel's "Unicode Text"), which is read as the UTF-8 it spells, and text
 * whose lines end in a carriage return alone (classic Mac OS, Excel's "CSV (Macintosh)"), which is
 * read after turning each CR into a line feed.
 */

/** Signatures of what is not a log as such, each with what to do about it. */
const SIGNATURES: readonly { magic: readonly number[]; what: string }[] = [
  // Seen after the checker's own gunzip: the file was compressed twice.
  { magic: [0x1f, 0x8b, 0x08], what: 'gzip-compressed twice: decompress it once first (gunzip); gzip is read as it is' },
  { magic: [0x42, 0x5a, 0x68], what: 'bzip2-compressed: decompress it first (bunzip2); gzip is read as it is' },
  { magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], what: 'xz-compressed: decompress it first (unxz); gzip is read as it is' },
  { magic: [0x28, 0xb5, 0x2f, 0xfd], what: 'zstd-compressed: decompress it first (unzstd); gzip is read as it is' },
  { magic: [0x50, 0x4b, 0x03, 0x04], what: 'a zip archive: extract the log from it first' },
  { magic: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], what: 'a 7-Zip archive: extract the log from it first' },
  { magic: [0x50, 0x41, 0x52, 0x31], what: 'a Parquet file (as VPC Flow Logs can be delivered): deliver or convert the records as text' },
];

/**
 * Why the input cannot be read as a log, when its first bytes say so (a compression or archive
 * the checker does not open); null otherwise.
 */
export function unreadableForm(head: Uint8Array): string | null {
  const spreadsheet = spreadsheetOf(head);
  if (spreadsheet !== null) return `${spreadsheet}: save or export the sheet as CSV (UTF-8) and check that`;
  for (const { magic, what } of SIGNATURES) {
    if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) return what;
  }
  return null;
}

/** UTF-16, little- or big-endian. */
export type Utf16 = 'utf-16le' | 'utf-16be';

/** The UTF-16 a byte order mark at the start of `head` names, or null. */
export function utf16ByBom(head: Uint8Array): Utf16 | null {
  if (head.length < 2) return null;
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  return null;
}

/**
 * UTF-16 without a byte order mark, by its NULs: mostly ASCII text has one beside nearly every
 * character (after it in little-endian, before it in big-endian); null otherwise. Binary data has
 * NULs too: the check asks only when the bytes are no known format as they are.
 */
export function utf16ByNuls(head: Uint8Array): Utf16 | null {
  if (head.length < 16) return null;
  let zeroEven = 0;
  let zeroOdd = 0;
  const n = Math.min(head.length, 512) & ~1;
  for (let i = 0; i < n; i += 2) {
    if (head[i] === 0 && head[i + 1] !== 0) zeroEven++;
    if (head[i + 1] === 0 && head[i] !== 0) zeroOdd++;
  }
  if (zeroOdd * 4 >= n) return 'utf-16le';
  if (zeroEven * 4 >= n) return 'utf-16be';
  return null;
}

/**
 * UTF-16 chunks as UTF-8, chunk by chunk: a character split between two chunks (an odd byte, half
 * a surrogate pair) is finished from the next. A byte order mark is dropped; what is not UTF-16
 * (a lone surrogate, an odd byte at the end) becomes U+FFFD. Line feeds stay line feeds, so line
 * numbers are the file's.
 */
export class Utf16ToUtf8 {
  // Big-endian is read as little-endian with each pair of bytes swapped: that needs no ICU.
  private readonly decoder = new TextDecoder('utf-16le');
  /** Big-endian: the first byte of a pair whose second is in the next chunk, else -1. */
  private pending = -1;

  constructor(private readonly encoding: Utf16) {}

  /** The UTF-8 of `chunk`, as far as its characters are complete; `last` ends the text. */
  push(chunk: Uint8Array, last = false): Buffer {
    const bytes = this.encoding === 'utf-16be' ? this.swapped(chunk, last) : chunk;
    return Buffer.from(this.decoder.decode(bytes, { stream: !last }), 'utf8');
  }

  /** What is left at the end of the text (an unfinished character as U+FFFD). */
  end(): Buffer {
    return this.push(new Uint8Array(0), true);
  }

  private swapped(chunk: Uint8Array, last: boolean): Uint8Array {
    const from = this.pending >= 0 ? 1 : 0;
    const total = chunk.length + from;
    const out = new Uint8Array(total);
    if (from === 1) out[0] = this.pending;
    out.set(chunk, from);
    const even = total & ~1;
    for (let i = 0; i < even; i += 2) {
      const b = out[i]!;
      out[i] = out[i + 1]!;
      out[i + 1] = b;
    }
    // An odd byte waits for its pair, unless the text ends here (then the decoder says U+FFFD).
    if (total !== even && !last) {
      this.pending = out[even]!;
      return out.subarray(0, even);
    }
    this.pending = -1;
    return out;
  }
}

/**
 * A spreadsheet file (itself a zip archive) by the names of its first entries, or null: an Excel
 * workbook (`xl/...` entries) or an OpenDocument spreadsheet (the `mimetype` entry first).
 */
function spreadsheetOf(head: Uint8Array): string | null {
  if (head.length < 30 || head[0] !== 0x50 || head[1] !== 0x4b || head[2] !== 0x03 || head[3] !== 0x04) return null;
  const text = Buffer.from(head.buffer, head.byteOffset, Math.min(head.length, 65536)).toString('latin1');
  if (text.includes('xl/workbook.xml') || text.includes('xl/worksheets/')) return 'an Excel workbook (.xlsx)';
  if (text.includes('application/vnd.oasis.opendocument.spreadsheet')) return 'an OpenDocument spreadsheet (.ods)';
  return null;
}

/**
 * Whether the head is a tar archive's first header (POSIX ustar or GNU tar, magic at offset 257 and
 * a header checksum that adds up): its logs, and the headers between them, would otherwise be
 * read as one log, a verdict for all of them together named after the archive.
 */
export function isTarArchive(head: Uint8Array): boolean {
  if (head.length < 512) return false;
  const magic = String.fromCharCode(...head.subarray(257, 263));
  if (magic !== 'ustar\0' && magic !== 'ustar ') return false;
  const field = String.fromCharCode(...head.subarray(148, 156)).replace(/[\0 ]+$/, '').trim();
  if (!/^[0-7]{1,7}$/.test(field)) return false;
  let sum = 0;
  // The checksum field itself counts as eight spaces.
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : head[i]!;
  return sum === parseInt(field, 8);
}

/**
 * Whether text lines end in a carriage return alone: the head has CRs, no line feed and no NUL
 * (so it is text, not a capture or other binary that happens to hold a 0x0D byte).
 */
export function endsLinesWithCrAlone(head: Uint8Array): boolean {
  return head.includes(0x0d) && !head.includes(0x0a) && !head.includes(0x00);
}

/** A copy of `chunk` with every carriage return turned into a line feed. */
export function crToLf(chunk: Uint8Array): Buffer {
  const out = Buffer.from(chunk);
  let at = out.indexOf(0x0d);
  while (at >= 0) {
    out[at] = 0x0a;
    at = out.indexOf(0x0d, at + 1);
  }
  return out;
}
