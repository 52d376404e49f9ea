/**
 * Feeds text through a LineParser the way the engine does (split on `\n`, a `\r` before it
 * dropped) and records every sink call, so tests can assert on what a parser reported per line.
 */
import fc from 'fast-check';
import { csvQuoteClosesCleanly, csvQuoteOpenAfter } from '../../../lambda/engine/parsers/csv';
import { detectDelimiter } from '../../../lambda/engine/parsers/generic-csv';
import { PcapParser, type PcapStats } from '../../../lambda/engine/parsers/pcap';
import type { CommonAddresses, FlowRecord, LineParser, RecordSink } from '../../../lambda/engine/types';

export type SinkCall =
  | { kind: 'flow'; line: number; record: FlowRecord }
  | { kind: 'skip'; line: number; reason: string; detail?: string }
  | { kind: 'noData'; line: number; status: string };

export interface ParseResult {
  calls: SinkCall[];
  flows: FlowRecord[];
  skips: { line: number; reason: string; detail?: string }[];
  noData: { line: number; status: string }[];
  /** Sink calls per line number. */
  callsPerLine: Map<number, number>;
  /** Values reported malformed (kept apart from `calls`: a line's record still makes its one call). */
  malformed: { line: number; field: string; value: string }[];
  /** What the parser reported at its end as on one side of every record (RecordSink.commonAddresses). */
  common: CommonAddresses[];
}

/**
 * A sink that copies each record (parsers reuse one object). Addresses passed as byte ranges
 * (`ipBytes`) are turned into `origIp`/`respIp` text, as the buffer is only valid during the call.
 */
export class RecordingSink implements RecordSink {
  readonly calls: SinkCall[] = [];
  readonly malformedValues: { line: number; field: string; value: string }[] = [];
  readonly common: CommonAddresses[] = [];
  commonAddresses(found: CommonAddresses): void {
    this.common.push(found);
  }
  malformed(line: number, field: string, value: string): void {
    this.malformedValues.push({ line, field, value });
  }
  flow(record: FlowRecord): void {
    const copy = { ...record };
    const b = record.ipBytes;
    if (b !== null) {
      copy.origIp = b.toString('latin1', record.origIpStart, record.origIpEnd);
      copy.respIp = b.toString('latin1', record.respIpStart, record.respIpEnd);
      copy.ipBytes = null;
    }
    this.calls.push({ kind: 'flow', line: record.line, record: copy });
  }
  skip(line: number, reason: string, detail?: string): void {
    this.calls.push(
      detail === undefined
        ? { kind: 'skip', line, reason }
        : { kind: 'skip', line, reason, detail },
    );
  }
  noData(line: number, status: string): void {
    this.calls.push({ kind: 'noData', line, status });
  }
}

/** Runs `input` through `parser` line by line and returns what it reported. */
export function parseAll(parser: LineParser, input: string | Buffer): ParseResult {
  const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const sink = new RecordingSink();
  let lineNo = 0;
  let pos = 0;
  while (pos < buf.length) {
    let nl = buf.indexOf(10, pos);
    if (nl < 0) nl = buf.length;
    let end = nl;
    if (end > pos && buf[end - 1] === 13) end--;
    lineNo++;
    parser.line(buf, pos, end, lineNo, sink);
    pos = nl + 1;
  }
  parser.finish(sink);
  const callsPerLine = new Map<number, number>();
  for (const c of sink.calls) callsPerLine.set(c.line, (callsPerLine.get(c.line) ?? 0) + 1);
  return {
    calls: sink.calls,
    flows: sink.calls.flatMap((c) => (c.kind === 'flow' ? [c.record] : [])),
    skips: sink.calls.flatMap((c) =>
      c.kind === 'skip'
        ? [
            {
              line: c.line,
              reason: c.reason,
              ...(c.detail === undefined ? {} : { detail: c.detail }),
            },
          ]
        : [],
    ),
    noData: sink.calls.flatMap((c) =>
      c.kind === 'noData' ? [{ line: c.line, status: c.status }] : [],
    ),
    callsPerLine,
    malformed: sink.malformedValues,
    common: sink.common,
  };
}

/** Sum of a byte field over records, counting unknown (-1) as 0. */
export function total(records: readonly FlowRecord[], field: 'origBytes' | 'respBytes'): number {
  return records.reduce((s, r) => s + Math.max(0, r[field]), 0);
}

/** Endpoints as `orig -> resp` strings, for compact assertions. */
export function endpoints(records: readonly FlowRecord[]): string[] {
  return records.map((r) => `${r.origIp} -> ${r.respIp}`);
}

/**
 * Arbitrary line contents for property tests: raw bytes (any value but `\n`, including invalid
 * UTF-8), or lines assembled from `vocabulary` words and separators so that near-valid records are
 * common, not just noise.
 */
export function arbitraryLine(
  vocabulary: readonly string[],
  separators: readonly string[],
): fc.Arbitrary<Buffer> {
  const raw = fc
    .uint8Array({ maxLength: 200 })
    .map((a) => Buffer.from(a.map((b) => (b === 10 ? 32 : b))));
  const word = fc.oneof(
    fc.constantFrom(...vocabulary),
    fc.string({ maxLength: 12 }).map((s) => s.replace(/[\r\n]/g, ' ')),
  );
  const assembled = fc
    .array(fc.tuple(word, fc.constantFrom(...separators)), { maxLength: 30 })
    .map((parts) => Buffer.from(parts.map(([w, sep]) => w + sep).join(''), 'utf8'));
  return fc.oneof(raw, assembled);
}

/** Joins lines with `\n` into one input (line i is line number i + 1). */
export function joinLines(lines: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  lines.forEach((l, i) => {
    if (i > 0) parts.push(Buffer.from('\n'));
    parts.push(l);
  });
  return Buffer.concat(parts);
}

/**
 * Sink calls a generic or nfdump CSV reader makes for each line after `header` (index i is line
 * i + 2), by the reader's rules written out plainly: blank and `#` lines, the header again, and
 * nfdump's trailer make none; a record makes one, on its first line, also when a quoted field
 * holding line breaks joins the lines after it into it, when its closing quote ends the field; a
 * record still open at the end, or closed by a quote followed by text, skips its first line, and
 * the lines after it are read again on their own (each a record).
 */
export function csvCallsPerLine(header: string, lines: readonly Buffer[]): number[] {
  const delimiter = detectDelimiter(header).charCodeAt(0);
  const calls = lines.map(() => 0);
  let trailer = false;
  let held: number[] | null = null;
  const bytesOf = (i: number): Buffer => {
    let l = lines[i]!;
    if (l.length > 0 && l[l.length - 1] === 13) l = l.subarray(0, l.length - 1);
    return l;
  };
  const step = (i: number, replay = false): void => {
    const bytes = bytesOf(i);
    if (held !== null) {
      held.push(i);
      if (!csvQuoteOpenAfter(bytes, 0, bytes.length, delimiter, true)) {
        const h: number[] = held;
        held = null;
        calls[h[0]!]!++;
        // A quote closed by one followed by text: the lines are read again one by one.
        if (!csvQuoteClosesCleanly(bytes, 0, bytes.length, delimiter)) h.slice(1).forEach((k) => step(k, true));
      }
      return;
    }
    const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
    const t = bytes.toString('latin1', bom);
    if (/^[ \t]*(#|$)/.test(t)) return;
    if (t === header) {
      trailer = false;
      return;
    }
    if (trailer) return;
    if (/^Summary[ \t]*$/.test(t)) {
      trailer = true;
      return;
    }
    // A line read again after a record was given up is a record of its own.
    if (!replay && csvQuoteOpenAfter(bytes, bom, bytes.length, delimiter, false)) held = [i];
    else calls[i]!++;
  };
  lines.forEach((_, i) => step(i));
  if (held !== null) {
    const h: number[] = held;
    held = null;
    calls[h[0]!]!++;
    h.slice(1).forEach((i) => step(i, true));
  }
  return calls;
}

/** A capture read whole by the pcap reader: its connections, its skips (line, reason, detail) and its counters. */
export function readCapture(capture: Buffer): { flows: FlowRecord[]; skips: { line: number; reason: string; detail?: string }[]; stats: PcapStats } {
  const sink = new RecordingSink();
  const parser = new PcapParser();
  parser.push(capture, sink);
  parser.finish(sink);
  return {
    flows: sink.calls.flatMap((c) => (c.kind === 'flow' ? [c.record] : [])),
    skips: sink.calls.flatMap((c) => (c.kind === 'skip' ? [{ line: c.line, reason: c.reason, ...(c.detail === undefined ? {} : { detail: c.detail }) }] : [])),
    stats: parser.stats,
  };
}
