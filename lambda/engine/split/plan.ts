/**
 * Planning a split check: from the head of a log and its size, the byte ranges checked apart
 * and the context (header lines) every range after the first starts with. Only plain text logs
 * whose records are lines can be split; gzip, captures and HAR files are checked in one pass.
 */
import { DETECT_BYTES, headLines } from '../check';
import { InputError } from '../errors';
import { DEFAULT_MAX_LINE_BYTES, LineSplitter } from '../input/line-splitter';
import { utf16ByBom, utf16ByNuls } from '../input/text-form';
import { findFormat, formatOfHead, FORMATS } from '../parsers';
import type { FormatName, ParserOptions } from '../types';
import { csvPrefixOf, dialectOf, type DialectParams } from './context';

/** Default size of one range of a split check. */
export const DEFAULT_PART_BYTES = 1024 * 1024 * 1024;
/** Most ranges one log is split into (the larger ranges get beyond this). */
export const MAX_PARTS = 1000;
/** How much of the head of a log the planner reads: enough for detection and any header. */
export const PLAN_HEAD_BYTES = 1024 * 1024;

/** One byte range of a split log: it owns every line whose first byte lies in `[start, end)`. */
export interface PartRange {
  readonly index: number;
  readonly start: number;
  readonly end: number;
}

/** How a log is checked in parts. */
export interface SplitPlan {
  readonly size: number;
  readonly format: FormatName;
  readonly formatSource: 'detected' | 'option';
  readonly params: DialectParams;
  /** Where the leading header lines end: no range but the first starts before it. */
  readonly headerEnd: number;
  /** Context lines (Latin-1 text of their bytes) given to every range after the first. */
  readonly context: readonly string[];
  readonly parts: readonly PartRange[];
}

/** A log that is checked in one pass, and why. */
export interface WholeCheck {
  readonly whole: true;
  readonly reason: string;
}

/** Options of {@link planSplit}. */
export interface PlanOptions {
  /** Skip detection and read the log as this format (as `--format`). */
  readonly format?: FormatName;
  readonly parserOptions?: ParserOptions;
  readonly maxLineBytes?: number;
  /** Target size of a range. @default DEFAULT_PART_BYTES */
  readonly partBytes?: number;
  /** Exact cut points instead of `partBytes` (tests): each is clamped to the header's end. */
  readonly cuts?: readonly number[];
}

const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * Plans the split check of a log of `size` bytes from its first bytes (`head`, at least
 * {@link PLAN_HEAD_BYTES} of them when the log is larger).
 *
 * @throws InputError when the log cannot be read at all (empty, unknown format); the caller
 *   checks it in one pass to get the error verdict a single pass gives.
 */
export function planSplit(head: Buffer, size: number, options: PlanOptions = {}): SplitPlan | WholeCheck {
  if (size === 0 || head.length === 0) return { whole: true, reason: 'the log is empty' };
  if (head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1]) {
    return { whole: true, reason: 'gzip data can only be decoded from its start' };
  }
  // As the check reads it (runCheck): UTF-16 with a byte order mark, or without one when its
  // bytes are no known format as they are; a format given does not make its bytes UTF-8.
  if (utf16ByBom(head) !== null || ((options.format !== undefined || options.parserOptions?.vpcFields !== undefined) && utf16ByNuls(head) !== null)) {
    return { whole: true, reason: 'UTF-16 text is read from its start' };
  }
  const detectHead = head.subarray(0, DETECT_BYTES);
  const found = options.format ? null : formatOfHead(headLines(detectHead, size > DETECT_BYTES), detectHead, options.parserOptions);
  const format = options.format ? findFormat(options.format) : found?.format;
  if (!format) {
    if (options.format) throw new InputError(`unknown format '${options.format}'`);
    return { whole: true, reason: `not a known format (none of ${FORMATS.map((f) => f.name).join(', ')})` };
  }
  const dialect = dialectOf(format.name);
  if (!dialect) return { whole: true, reason: `${format.name} records are not lines` };

  // The leading lines that only set the layout; a range starts after them.
  const lines: { buf: Buffer; end: number; leading: boolean }[] = [];
  const maxLine = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const splitter = new LineSplitter(
    (buf, start, end) => {
      const line = Buffer.from(buf.subarray(start, end));
      lines.push({ buf: line, end: -1, leading: true });
    },
    () => lines.push({ buf: Buffer.alloc(0), end: -1, leading: false }),
    maxLine,
  );
  const complete = size > head.length ? head.subarray(0, head.lastIndexOf(10) + 1) : head;
  // As the check does, a byte order mark at the start is not part of the first line.
  const body = complete.length >= 3 && complete[0] === 0xef && complete[1] === 0xbb && complete[2] === 0xbf ? complete.subarray(3) : complete;
  splitter.push(body);
  if (complete.length === size) splitter.end();
  for (let i = 0, nl = -1; i < lines.length; i++) {
    nl = complete.indexOf(10, nl + 1);
    lines[i]!.end = nl < 0 ? complete.length : nl + 1;
  }
  const params: DialectParams =
    format.name === 'generic-csv' || format.name === 'nfdump-csv' ? { csvPrefix: csvPrefixOf(lines.map((l) => l.buf)) } : {};
  let headerEnd = 0;
  for (const line of lines) {
    if (!line.leading || !dialect.isLeadingLine(line.buf, 0, line.buf.length, params)) break;
    headerEnd = line.end;
  }
  if (headerEnd > 0 && headerEnd === complete.length && complete.length < size) {
    return { whole: true, reason: `the header lines run past the first ${complete.length} bytes` };
  }
  // The best guess of the context of a range far into the log: the one at the end of the head.
  // A range that turns out to start under another is checked again by the merge.
  // (CSV: outside a trailer, where nearly every line of a log is.)
  const tracker = dialect.tracker(params);
  for (const line of lines) if (line.leading) tracker.line(line.buf, 0, line.buf.length);
  const context = params.csvPrefix ? [...params.csvPrefix] : dialect.compose([], tracker.seen(), params);
  return {
    size,
    format: format.name,
    formatSource: found?.source ?? 'option',
    params,
    headerEnd,
    context,
    parts: rangesOf(size, Math.max(headerEnd, 1), options),
  };
}

/** The ranges: cut points at or after `first`, the last range ending at `size`. */
function rangesOf(size: number, first: number, options: PlanOptions): PartRange[] {
  let cuts: number[];
  if (options.cuts) {
    cuts = options.cuts.map((c) => Math.min(size, Math.max(first, c))).sort((a, b) => a - b);
  } else {
    const partBytes = Math.max(options.partBytes ?? DEFAULT_PART_BYTES, Math.ceil(size / MAX_PARTS), 1);
    cuts = [];
    for (let c = first + partBytes; c < size; c += partBytes) cuts.push(c);
  }
  const bounds = [0, ...cuts.filter((c) => c < size), size];
  const parts: PartRange[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) parts.push({ index: i, start: bounds[i]!, end: bounds[i + 1]! });
  return parts;
}
