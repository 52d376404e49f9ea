/**
 * The engine's entry point: a byte stream in, a verdict out. Pure: no filesystem, network or
 * clock of its own (time and tool version are passed in).
 */
import { InputError, ResidencyError } from './errors';
import type { AsnLookup } from './geo/asn-table';
import type { GeoLookup } from './geo/geo-lookup';
import { decodeInput, SourceError } from './input/decode';
import { DEFAULT_MAX_LINE_BYTES, LineSplitter } from './input/line-splitter';
import { crToLf, endsLinesWithCrAlone, isTarArchive, unreadableForm, utf16ByBom, utf16ByNuls, Utf16ToUtf8 } from './input/text-form';
import { findFormat, formatOfHead, FORMATS, isChunkParser, type FormatDefinition } from './parsers';
import type { CompiledPolicy } from './policy/policy';
import type { FormatName, ParserOptions } from './types';
import { ZeekFastPath } from './fast/zeek-fast-path';
import { ZeekTsvParser, zeekCutHint } from './parsers/zeek-tsv';
import { SKIPDATA_REASON, vpcFlowHint } from './parsers/vpc-flow';
import { Aggregator, DEFAULT_MAX_DESTINATIONS } from './verdict/aggregate';
import { buildVerdict, errorVerdict } from './verdict/build-verdict';
import type { Verdict } from './verdict/verdict';

/** Everything a check needs besides the bytes. */
export interface CheckOptions {
  /** Name of the input, as the verdict should cite it (file name or S3 key). */
  name: string;
  policy: CompiledPolicy;
  databases: readonly GeoLookup[];
  /** Hostnames from evidence beside the log (a Zeek dns.log), by canonical address. */
  names?: ReadonlyMap<string, readonly string[]>;
  /** Operator facts: AS numbers and organisations, and the country each AS is registered in. */
  operator?: { country: GeoLookup | null; asn: AsnLookup | null };
  /** Skip detection and read the input as this format. */
  format?: FormatName;
  parserOptions?: ParserOptions;
  toolVersion: string;
  /** The time of the check (only `checkedAt` depends on it). */
  now: Date;
  /** Extra facts about where the input came from (S3 bucket, key, versionId, etag). */
  source?: Record<string, string | null>;
  /** Longest line accepted, in bytes. @default 1 MiB */
  maxLineBytes?: number;
  /** Largest decoded input accepted, in bytes. @default unlimited */
  maxDecodedBytes?: number;
  /** Largest gzip expansion accepted (decoded / compressed bytes). @default 1000 */
  maxGzipRatio?: number;
  /**
   * Skipped records after which the input is declared unreadable, when they also outnumber the
   * connections read (a wrong file, not a few bad lines). @default 10000
   */
  maxSkippedRecords?: number;
  /**
   * Distinct destinations after which the input is refused (an error verdict naming the limit).
   * @default DEFAULT_MAX_DESTINATIONS (1,000,000)
   */
  maxDestinations?: number;
  /**
   * Asked between chunks; returning true stops the check cleanly with a partial, non-compliant
   * verdict (the function uses it to finish before its time runs out).
   */
  shouldStop?: () => boolean;
  /** Called now and then with the number of input bytes read so far (for progress bars). */
  onProgress?: (bytesRead: number, records: number) => void;
  /**
   * The input is one part of a larger log (a split check): the whole-input rules (no records,
   * none readable) are left to the merge, which receives each part's aggregate here.
   */
  part?: { onAggregate(agg: Aggregator): void };
  /**
   * Fold Zeek TSV records in WebAssembly where the JavaScript path has nothing to decide (the
   * verdict is the same either way; tests compare the two): `true` always, `false` never; by
   * default, for a log longer than the head read for detection ({@link DETECT_BYTES}), where the
   * fold's setup pays for itself.
   */
  fastPath?: boolean;
}

/** Default of {@link CheckOptions.maxSkippedRecords}. */
export const DEFAULT_MAX_SKIPPED_RECORDS = 10_000;

/**
 * Whether a log gave no connection to judge: none was read, and either nothing else was either
 * or some records could not be read. Records that by design carry no connection (VPC `NODATA`,
 * a capture's ARP frames) make a log of no traffic, compliant; beside records that could not be
 * read they prove nothing (one ARP frame among unreadable packets is no check).
 */
export function noConnectionRead(t: { connections: number; noDataRecords: number; skipped: number; notConnectionRecords: number }): boolean {
  return t.connections === 0 && (t.noDataRecords === 0 || t.skipped > t.notConnectionRecords);
}

/** Why a log in which {@link noConnectionRead} holds is not checked (for a whole check and a split one alike). */
export function noConnectionMessage(
  agg: Pick<Aggregator, 'records' | 'skipped' | 'errors' | 'unattributedKept' | 'skippedByReason'>,
  format: string,
): string {
  const first = agg.errors[0] ?? agg.unattributedKept[0];
  // Every record read, and every one skipped a SKIPDATA: not a log that could not be read, but one
  // whose traffic AWS did not record.
  if (first !== undefined && agg.skippedByReason.size === 1 && agg.skippedByReason.has(SKIPDATA_REASON)) {
    return `none of the ${agg.records} records is a connection: AWS skipped the flow records of ${agg.skipped === 1 ? 'an interval' : `${agg.skipped} intervals`} (SKIPDATA, first at line ${first.line}), so this log cannot show whether data left`;
  }
  const why = agg.errors.length > 0 ? 'could be read' : 'named a server address';
  return `none of the ${agg.records} records ${why} as ${format}${first ? ` (first problem: line ${first.line}: ${first.reason})` : ''}`;
}

/**
 * While the input is read, it is stopped as unreadable only once its bad records outnumber the
 * good ones this many times over; at the end, once they outnumber them at all.
 */
export const EARLY_STOP_MARGIN = 10;

/** The check was stopped by {@link CheckOptions.shouldStop}: the verdict is partial. */
export class StoppedEarlyError extends InputError {
  constructor(message: string) {
    super(message);
    this.name = 'StoppedEarlyError';
  }
}

/** How many bytes of decoded input format detection looks at. */
export const DETECT_BYTES = 64 * 1024;
const DETECT_LINES = 20;

/** The first non-empty lines of `bytes`, the input's first bytes (`truncated` when there is more). */
export function headLines(bytes: Buffer, truncated: boolean): string[] {
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split(/\r?\n/);
  // The last piece may be cut mid-line; drop it unless it is all there is.
  if (lines.length > 1 && truncated) lines.pop();
  return lines.filter((l) => l.trim() !== '').slice(0, DETECT_LINES);
}

/**
 * Checks one connection log against a policy.
 *
 * The source's chunks are borrowed: none is read after the next one is asked for, so a source
 * may hand out one buffer again and again (the file source does: a large log then costs no new
 * memory per chunk).
 *
 * Whole-input problems (unknown format, corrupt gzip, a log with no usable record) give an error
 * verdict (`compliant: false`, `error`). Failures of the byte source itself (I/O) are rethrown as
 * the source's original error, so a caller can retry.
 *
 * @example
 * const verdict = await runCheck(fs.createReadStream('conn.log'), {
 *   name: 'conn.log', policy: compilePolicy(policyFromLists('us', undefined)),
 *   databases: [geo], toolVersion: '0.1.0', now: new Date(),
 * });
 */
export async function runCheck(source: AsyncIterable<Uint8Array>, options: CheckOptions): Promise<Verdict> {
  const { stats, chunks } = decodeInput(source, options.maxDecodedBytes, options.maxGzipRatio);
  const maxSkipped = options.maxSkippedRecords ?? DEFAULT_MAX_SKIPPED_RECORDS;
  /**
   * Refuses an input not readable: at least `maxSkipped` skipped records, more than those read
   * into connections (for a capture, its packets in connections), `margin` times over. Between
   * chunks the margin is {@link EARLY_STOP_MARGIN}: a log whose first part is bad and the rest good
   * is read to its end, and judged on the whole.
   */
  const readable = (margin: number): void => {
    const good = unitsInConnections !== null ? unitsInConnections() : agg.connections;
    // Records of other logs mixed in (a Zeek stream of every log) are not unreadable ones.
    const bad = agg.skipped - agg.notConnectionRecords;
    if (bad >= maxSkipped && bad > good * margin) {
      const of = unitsInConnections !== null ? bad + good : agg.records;
      throw new InputError(
        `unreadable as ${format?.name ?? 'this format'}: ${bad} of ${of} records could not be read (first problem: line ${agg.errors[0]?.line}: ${agg.errors[0]?.reason})`,
      );
    }
  };
  let unitsInConnections: (() => number) | null = null;
  /** Called between chunks: stops on a time budget or when the input is clearly not readable. */
  const checkpoint = (): void => {
    readable(EARLY_STOP_MARGIN);
    if (options.shouldStop?.()) {
      throw new StoppedEarlyError(
        `stopped early after ${stats.bytes} bytes and ${agg.records} records (time budget): this verdict covers only part of the input`,
      );
    }
  };
  const maxDestinations = options.maxDestinations ?? DEFAULT_MAX_DESTINATIONS;
  let agg = new Aggregator(options.policy, options.databases, options.operator, maxDestinations);
  const it = chunks[Symbol.asyncIterator]();
  let format: FormatDefinition | null = null;
  let formatSource: 'detected' | 'option' | null = null;
  try {
    if (options.format) {
      format = findFormat(options.format) ?? null;
      if (!format) throw new InputError(`unknown format '${options.format}'`);
      formatSource = 'option';
    }
    const head: Buffer[] = [];
    let headBytes = 0;
    let done = false;
    // Detection reads the first DETECT_BYTES; when the first line is longer (a Suricata stats
    // event can be 100 kB), it reads from there as far again past the first line's end, up to the
    // longest line accepted.
    let detectBytes = DETECT_BYTES;
    let firstLineEnd = -1;
    const longest = (options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES) + DETECT_BYTES;
    while (headBytes < detectBytes) {
      const next = await it.next();
      if (next.done) {
        done = true;
        break;
      }
      // Kept while more is read: a copy, since the source may reuse the chunk's memory.
      head.push(Buffer.from(next.value));
      if (firstLineEnd < 0) {
        const nl = next.value.indexOf(10);
        if (nl >= 0) firstLineEnd = headBytes + nl;
        const past = firstLineEnd < 0 ? headBytes + next.value.length + 1 : firstLineEnd >= DETECT_BYTES - 1 ? firstLineEnd + 1 + DETECT_BYTES : DETECT_BYTES;
        detectBytes = Math.min(longest, Math.max(DETECT_BYTES, past));
      }
      headBytes += next.value.length;
    }
    if (headBytes === 0) throw new InputError('input is empty');
    // The head as one buffer: detection reads it, and a byte order mark split across the first
    // chunks (a pipe may hand over one byte at a time) is still found.
    let all: Buffer = Buffer.concat(head);
    // Whatever --format says: the logs in an archive are checked one by one, each with its verdict.
    if (isTarArchive(all)) {
      throw new InputError('not a log: the input is a tar archive: extract the logs from it first, and check each');
    }
    const detect = (bytes: Buffer): { lines: string[]; found: ReturnType<typeof formatOfHead> } => {
      const start = bytes.subarray(0, detectBytes);
      const lines = headLines(start, bytes.length > detectBytes);
      return { lines, found: formatOfHead(lines, start, options.parserOptions) };
    };
    // UTF-16 text (PowerShell 5.1's `>` and Out-File, Excel's "Unicode Text") is read as the UTF-8
    // it spells, line for line: with a byte order mark always; without one when its bytes are no
    // known format as they are (a capture has NULs too). The evidence is still the bytes as given.
    let utf16 = utf16ByBom(all);
    if (utf16 === null && !format) {
      const guess = utf16ByNuls(all);
      if (guess !== null && detect(all).found === null) utf16 = guess;
    }
    const transcoder = utf16 === null ? null : new Utf16ToUtf8(utf16);
    if (transcoder !== null) all = transcoder.push(all, done);
    // Lines ended by a carriage return alone (classic Mac OS, Excel's "CSV (Macintosh)"): each CR
    // is read as a line end, so line numbers are the file's.
    const crAlone = endsLinesWithCrAlone(all);
    if (crAlone) all = crToLf(all);
    /** A chunk read after the head, as the parser reads it. */
    const text = (chunk: Buffer): Buffer => {
      const b = transcoder !== null ? transcoder.push(chunk) : chunk;
      return crAlone ? crToLf(b) : b;
    };
    /** What the end of the input leaves (the transcoder's unfinished character), or null. */
    const rest = (): Buffer | null => {
      if (transcoder === null || done) return null;
      const b = transcoder.end();
      return b.length === 0 ? null : crAlone ? crToLf(b) : b;
    };
    if (!format) {
      const { lines, found } = detect(all);
      format = found?.format ?? null;
      formatSource = found?.source ?? 'detected';
      if (!format) {
        const form = unreadableForm(all);
        const hint = form === null ? (vpcFlowHint(lines) ?? zeekCutHint(lines) ?? jsonArrayHint(lines)) : null;
        const read = utf16 === null ? '' : ` (read as ${utf16 === 'utf-16le' ? 'UTF-16 little-endian' : 'UTF-16 big-endian'} text)`;
        throw new InputError(
          form !== null
            ? `unknown log format: the input is ${form}`
            : hint !== null
              ? `unknown log format${read}: ${hint}`
              : `unknown log format${read}: none of ${FORMATS.map((f) => f.name).join(', ')} (a CSV needs a header naming a destination column)`,
        );
      }
    }
    const parser = format.create(options.parserOptions ?? {});
    if (isChunkParser(parser) && parser.unitsInConnections) unitsInConnections = parser.unitsInConnections.bind(parser);
    let sinceProgress = 0;
    const progress = (n: number): void => {
      sinceProgress += n;
      if (options.onProgress && sinceProgress >= 4 * 1024 * 1024) {
        sinceProgress = 0;
        options.onProgress(stats.bytes, agg.records);
      }
    };
    if (isChunkParser(parser)) {
      parser.push(all, agg);
      while (!done) {
        const next = await it.next();
        if (next.done) break;
        parser.push(transcoder !== null ? text(next.value) : next.value, agg);
        progress(next.value.length);
        checkpoint();
      }
      const last = rest();
      if (last !== null) parser.push(last, agg);
    } else {
      const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
      // Only for a log larger than its head: setting up the fold's memory costs more than the
      // JavaScript path takes over a few hundred lines (an audit checks thousands of small logs).
      const large = options.fastPath !== false && (!done || options.fastPath === true);
      const fast = parser instanceof ZeekTsvParser && large ? ZeekFastPath.create(parser, maxDestinations, maxLineBytes) : null;
      if (fast !== null) {
        // Nothing has been read yet: the aggregator starts again on the fast path's rows.
        agg = new Aggregator(options.policy, options.databases, options.operator, maxDestinations, fast.shared());
        fast.attach(agg);
      } else if (large) {
        // Other formats fill rows in the module's memory too: it writes their verdict's numbers.
        const rows = ZeekFastPath.rowsOnly(maxDestinations);
        if (rows !== null) agg = new Aggregator(options.policy, options.databases, options.operator, maxDestinations, rows);
      }
      const sink = agg;
      const splitter = new LineSplitter(
        (buf, start, end, lineNo) => parser.line(buf, start, end, lineNo, sink),
        (lineNo, length) => sink.skip(lineNo, `line longer than ${maxLineBytes} bytes`, `${length} bytes`),
        maxLineBytes,
        fast,
      );
      // A UTF-8 byte order mark is not part of the first line.
      const bom = all.length >= 3 && all[0] === 0xef && all[1] === 0xbb && all[2] === 0xbf;
      splitter.push(bom ? all.subarray(3) : all);
      while (!done) {
        const next = await it.next();
        if (next.done) break;
        splitter.push(text(next.value));
        progress(next.value.length);
        checkpoint();
      }
      const last = rest();
      if (last !== null) splitter.push(last);
      splitter.end();
    }
    parser.finish(agg);
    // Once more on the whole input: a log that fits one chunk is never checked between chunks.
    if (!options.part) readable(1);
    // Locations and judgements of the destinations, all together (a corrupt database fails here).
    agg.settle();
    if (agg.records === 0 && !options.part) {
      throw new InputError(`no records found in this ${format.name} log`);
    }
    if (noConnectionRead(agg) && !options.part) {
      throw new InputError(noConnectionMessage(agg, format.name));
    }
  } catch (err) {
    if (err instanceof SourceError) throw err.original;
    if (err instanceof ResidencyError) {
      options.part?.onAggregate(agg);
      // Read nothing more (the source is closed): the verdict cites what was read.
      await it.return?.();
      return errorVerdict(
        err.message,
        { options, stats, format: format?.name ?? null, formatSource, agg },
        err instanceof StoppedEarlyError,
      );
    }
    throw err;
  }
  options.part?.onAggregate(agg);
  return buildVerdict({ options, stats, format: format.name, formatSource, agg });
}

/**
 * For an input that opens a JSON array (`gcloud logging read --format=json`, `jq .records`): the
 * line formats read objects one per line, and say so.
 */
function jsonArrayHint(lines: readonly string[]): string | null {
  const first = lines.find((l) => l.trim() !== '');
  return first !== undefined && first.trimStart().startsWith('[')
    ? "a JSON array; JSON logs are read one object per line (make it lines with jq -c '.[]')"
    : null;
}
