/**
 * What the first bytes of an input say about its form, before any format is tried: compressions
 * and containers the checker does not open (it reads gzip itself), text in UTF-16, and text whose
 * lines end in a carriage return alone (classic Mac OS, Excel's "CSV (Macintosh)"), which is read
 * after turning each CR into a line feed.
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
  { magic: [0xff, 0xfe], what: 'UTF-16 text: save it as UTF-8 (or ANSI) text' },
  { magic: [0xfe, 0xff], what: 'UTF-16 text: save it as UTF-8 (or ANSI) text' },
];

/**
 * Why the input cannot be read as a log, when its first bytes say so (a compression or archive
 * the checker does not open, UTF-16 text); null otherwise.
 */
export function unreadableForm(head: Uint8Array): string | null {
  const spreadsheet = spreadsheetOf(head);
  if (spreadsheet !== null) return `${spreadsheet}: save or export the sheet as CSV (UTF-8) and check that`;
  for (const { magic, what } of SIGNATURES) {
    if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) return what;
  }
  // UTF-16 without a byte order mark: ASCII text with a NUL beside every character.
  if (head.length >= 16) {
    let zeroEven = 0;
    let zeroOdd = 0;
    const n = Math.min(head.length, 512) & ~1;
    for (let i = 0; i < n; i += 2) {
      if (head[i] === 0 && head[i + 1] !== 0) zeroEven++;
      if (head[i + 1] === 0 && head[i] !== 0) zeroOdd++;
    }
    if (zeroEven * 4 >= n || zeroOdd * 4 >= n) return 'UTF-16 text: save it as UTF-8 (or ANSI) text';
  }
  return null;
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
