/**
 * Context of a split check: the lines that change how later lines read (header lines), per
 * format. A part of a log is checked with the context lines in force at its first line fed in
 * front of it; the part also reports, independently of the context it was given, which such
 * lines it met ({@link ContextSeen}), so the merge can work out the true context of every part
 * and check again any part that was given a stale one.
 *
 * Each tracker mirrors, byte for byte, how its parser tells a header line from a data line: a
 * difference would be caught by the split tests (`test/engine/split/`), never hidden.
 */
import { latin1, bytesEqual, skipBom } from '../parsers/bytes';
import { csvQuoteOpenAfter, SEP_LINE, skipBlanks, trimBlanksEnd } from '../parsers/csv';
import { detectDelimiter } from '../parsers/generic-csv';
import { startsPcapdroidHeader } from '../parsers/pcapdroid';
import { insightsHeaderLine, trimVpcLine, vpcCsvHeaderLine, vpcHeaderLine } from '../parsers/vpc-flow';
import { zeekCutFieldsLine, zeekCutHeader } from '../parsers/zeek-tsv';
import type { FormatName } from '../types';

/** Largest context (header lines carried from part to part), in bytes. */
export const MAX_CONTEXT_BYTES = 256 * 1024;

/** What a part met that changes how later lines read; independent of the context it was given. */
export type ContextSeen =
  | { kind: 'none' }
  | { kind: 'zeek-tsv'; blocks: string[][]; overflow: boolean }
  | { kind: 'vpc-flow'; lastHeader: string | null }
  | { kind: 'pcapdroid-csv'; lastHeader: string | null }
  | {
      kind: 'csv';
      trailer: boolean | null;
      /**
       * The part ends inside a quoted field (one holding line breaks runs on into the next part,
       * whose first lines are then no records of their own). Absent in older parts.
       */
      endsInQuote?: boolean;
    }
  | { kind: 'eve'; mayLearnNames: boolean };

/** Format facts a tracker needs, found by the planner in the head of the log. */
export interface DialectParams {
  /** CSV formats: the lines before the first record that set the layout (`sep=`, header). */
  readonly csvPrefix?: readonly string[];
}

/** Watches a part's lines (terminator and `\r` removed). */
export interface ContextTracker {
  line(buf: Buffer, start: number, end: number): void;
  seen(): ContextSeen;
}

/** How one format carries context from part to part. */
export interface SplitDialect {
  tracker(params: DialectParams): ContextTracker;
  /** The context after a part, from the context before it and what the part met. */
  compose(context: readonly string[], seen: ContextSeen, params: DialectParams): string[];
  /** Whether a head line (decoded from the start of the log) can only precede the first record. */
  isLeadingLine(buf: Buffer, start: number, end: number, params: DialectParams): boolean;
}

const HASH = 35;

/** Zeek header keys that change the parser's state; any other `#` line is a no-op to it. */
const ZEEK_STATE_PREFIXES = ['#separator', '#unset_field', '#empty_field', '#path', '#fields'];

/**
 * Zeek TSV: every line starting with `#` is read as a header line. The parser acts only on
 * lines starting with one of {@link ZEEK_STATE_PREFIXES} (a key is the text before the current
 * separator, so a line starting otherwise can never match one), so only those are kept.
 */
const zeekTsv: SplitDialect = {
  tracker: () => {
    const blocks: string[][] = [];
    let current: string[] | null = null;
    let bytes = 0;
    let overflow = false;
    return {
      line(buf, start, end) {
        // A zeek-cut -m header is carried as the #fields line it stands for; -M writes it again
        // before each log's records (a line starting with a letter, as no record does).
        const c0 = start !== end ? buf[start]! | 0x20 : 0;
        const cut = c0 !== 0 && buf[start] !== HASH && (blocks.length === 0 || (c0 >= 97 && c0 <= 122)) ? zeekCutFieldsLine(latin1(buf, start, end)) : null;
        if (cut !== null) {
          // The same names again change nothing.
          if (blocks.at(-1)?.length !== 1 || blocks.at(-1)![0] !== cut) blocks.push([cut]);
          current = null;
          return;
        }
        if (start === end || buf[start] !== HASH) {
          current = null;
          return;
        }
        const text = latin1(buf, start, end);
        if (!ZEEK_STATE_PREFIXES.some((p) => text.startsWith(p))) return;
        if (overflow) return;
        bytes += text.length + 1;
        if (bytes > MAX_CONTEXT_BYTES) {
          overflow = true;
          return;
        }
        if (current === null) {
          current = [];
          blocks.push(current);
        }
        current.push(text);
      },
      seen: () => ({ kind: 'zeek-tsv', blocks, overflow }),
    };
  },
  compose(context, seen) {
    if (seen.kind !== 'zeek-tsv') throw new Error(`zeek-tsv context given ${seen.kind}`);
    if (seen.overflow) throw new ContextOverflowError();
    const out = [...context];
    for (const block of seen.blocks) {
      // A block opening with the only `#separator` line it holds reads the same whatever came
      // before it, so repeating it (concatenated logs of one kind) changes nothing.
      // Nor does a lone #fields line after the same one (zeek-cut -M's names, carried so).
      if ((isSelfContained(block) || (block.length === 1 && block[0]!.startsWith('#fields'))) && endsWith(out, block)) continue;
      out.push(...block);
    }
    if (out.reduce((n, l) => n + l.length + 1, 0) > MAX_CONTEXT_BYTES) throw new ContextOverflowError();
    return out;
  },
  isLeadingLine: (buf, start, end) => start === end || buf[start] === HASH || zeekCutHeader(latin1(buf, start, end)) !== null,
};

function isSelfContained(block: readonly string[]): boolean {
  return block[0]!.startsWith('#separator') && block.slice(1).every((l) => !l.startsWith('#separator'));
}

function endsWith(lines: readonly string[], tail: readonly string[]): boolean {
  if (tail.length > lines.length) return false;
  const offset = lines.length - tail.length;
  return tail.every((l, i) => lines[offset + i] === l);
}

/** The parser's header tests: a header line, or a CSV header (Athena's or Logs Insights' results). */
function isVpcHeader(buf: Buffer, start: number, end: number): boolean {
  return vpcHeaderLine(buf, start, end) !== null || vpcCsvHeaderLine(buf, start, end) !== null || insightsHeaderLine(buf, start, end) >= 0;
}

/**
 * VPC flow logs: a header line sets the layout whole; without one, each record in a default
 * format (VPC's version 2, a transit gateway's) is read in its own, so nothing is carried.
 */
const vpcFlow: SplitDialect = {
  tracker: () => {
    let lastHeader: string | null = null;
    return {
      line(buf, s, e) {
        const [start, end] = trimVpcLine(buf, s, e);
        if (start !== end && isVpcHeader(buf, start, end)) lastHeader = latin1(buf, start, end);
      },
      seen: () => ({ kind: 'vpc-flow', lastHeader }),
    };
  },
  compose(context, seen) {
    if (seen.kind !== 'vpc-flow') throw new Error(`vpc-flow context given ${seen.kind}`);
    return seen.lastHeader !== null ? [seen.lastHeader] : [...context];
  },
  isLeadingLine(buf, s, e) {
    const [start, end] = trimVpcLine(buf, s, e);
    return start === end || isVpcHeader(buf, start, end);
  },
};

/** PCAPdroid CSV: a header line sets the layout whole. */
const pcapdroid: SplitDialect = {
  tracker: () => {
    let lastHeader: string | null = null;
    return {
      line(buf, s, end) {
        const start = skipBom(buf, s, end);
        if (startsPcapdroidHeader(buf, start, end)) lastHeader = latin1(buf, start, end);
      },
      seen: () => ({ kind: 'pcapdroid-csv', lastHeader }),
    };
  },
  compose(context, seen) {
    if (seen.kind !== 'pcapdroid-csv') throw new Error(`pcapdroid-csv context given ${seen.kind}`);
    return seen.lastHeader !== null ? [seen.lastHeader] : [...context];
  },
  isLeadingLine(buf, s, end) {
    const start = skipBom(buf, s, end);
    return start === end || startsPcapdroidHeader(buf, start, end) || SEP_LINE.test(latin1(buf, start, end));
  },
};

/** The delimiter byte a CSV parser takes from the leading lines (a `sep=` line, the header). */
function csvDelimiterOf(prefix: readonly string[]): number {
  const sep = prefix.length > 1 ? SEP_LINE.exec(prefix[0]!) : null;
  return (sep ? sep[1]! : detectDelimiter(prefix.at(-1) ?? '')).charCodeAt(0);
}

/**
 * Generic and nfdump CSV: the layout is fixed by the first header row (after an optional `sep=`
 * line); later, a `Summary` line starts nfdump's trailer (no records) and the header row again
 * ends it. The context is the header rows, plus `Summary` inside a trailer. A quoted field holding
 * line breaks is followed as the parser follows it: a part that ends inside one is reported
 * (`endsInQuote`), and the merge then checks the log in one pass.
 */
const csv: SplitDialect = {
  tracker: (params) => {
    const header = Buffer.from(params.csvPrefix?.at(-1) ?? '', 'latin1');
    const delimiter = csvDelimiterOf(params.csvPrefix ?? []);
    let trailer: boolean | null = null;
    let inQuote = false;
    return {
      line(buf, s, end) {
        if (inQuote) {
          inQuote = csvQuoteOpenAfter(buf, s, end, delimiter, true);
          return;
        }
        const start = skipBom(buf, s, end);
        const first = skipBlanks(buf, start, end);
        if (first === end || buf[first] === HASH) return;
        if (end - start === header.length && buf.compare(header, 0, header.length, start, end) === 0) {
          trailer = false;
        } else if (bytesEqual(buf, start, trimBlanksEnd(buf, start, end), 'Summary')) {
          trailer = true;
        } else if (trailer !== true) {
          inQuote = csvQuoteOpenAfter(buf, start, end, delimiter, false);
        }
      },
      seen: () => ({ kind: 'csv', trailer, ...(inQuote ? { endsInQuote: true } : {}) }),
    };
  },
  compose(context, seen, params) {
    if (seen.kind !== 'csv') throw new Error(`csv context given ${seen.kind}`);
    if (seen.trailer === null) return [...context];
    return [...(params.csvPrefix ?? []), ...(seen.trailer ? ['Summary'] : [])];
  },
  isLeadingLine(buf, s, end, params) {
    const start = skipBom(buf, s, end);
    const first = skipBlanks(buf, start, end);
    if (first === end || buf[first] === HASH) return true;
    const text = latin1(buf, start, end);
    return (params.csvPrefix ?? []).includes(text);
  },
};

/** Event types whose names Suricata EVE parsing remembers for later flows. */
const NAME_EVENT = /"event_type"[ \t\r\n]*:[ \t\r\n]*"(?:dns|tls|http|quic|alert)"/;
const LEARNING_TYPES: ReadonlySet<string> = new Set(['dns', 'tls', 'http', 'quic', 'alert']);

/**
 * Whether a Suricata EVE line may teach the parser a name (DNS answer, TLS SNI, HTTP host) that
 * it gives to later flows: such state cannot be carried between parts, so a split with one is
 * refused. Without a backslash a JSON text cannot hide a key or value, so a pattern search is
 * exact or over-cautious; a line with one is read as the parser reads it.
 */
function mayLearnName(buf: Buffer, start: number, end: number): boolean {
  if (buf.indexOf(92, start) >= 0 && buf.indexOf(92, start) < end) {
    let obj: unknown;
    try {
      obj = JSON.parse(buf.toString('utf8', start, end));
    } catch {
      return false;
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return false;
    const o = obj as Record<string, unknown>;
    const ev = o.event_type === undefined && o.event !== null && typeof o.event === 'object' ? (o.event as Record<string, unknown>) : o;
    return typeof ev.event_type === 'string' && LEARNING_TYPES.has(ev.event_type);
  }
  return NAME_EVENT.test(latin1(buf, start, end));
}

const eve: SplitDialect = {
  tracker: () => {
    let mayLearnNames = false;
    return {
      line(buf, start, end) {
        if (!mayLearnNames && mayLearnName(buf, start, end)) mayLearnNames = true;
      },
      seen: () => ({ kind: 'eve', mayLearnNames }),
    };
  },
  compose: (context) => [...context],
  isLeadingLine: () => false,
};

/** Formats whose records are independent lines: no context at all. */
const stateless: SplitDialect = {
  tracker: () => ({ line() {}, seen: () => ({ kind: 'none' }) }),
  compose: (context) => [...context],
  isLeadingLine: () => false,
};

const DIALECTS: Partial<Record<FormatName, SplitDialect>> = {
  'zeek-tsv': zeekTsv,
  'zeek-json': stateless,
  'vpc-flow': vpcFlow,
  'pcapdroid-csv': pcapdroid,
  'generic-csv': csv,
  'nfdump-csv': csv,
  'suricata-eve': eve,
  'aws-network-firewall': eve,
  'gcp-vpc-flow': stateless,
};

/** The split dialect of a format, or undefined when its logs cannot be split by lines. */
export function dialectOf(format: FormatName): SplitDialect | undefined {
  return DIALECTS[format];
}

/** The context lines in force after a CSV's leading lines, found by the planner. */
export function csvPrefixOf(lines: readonly Buffer[]): string[] {
  const out: string[] = [];
  for (const line of lines) {
    const start = skipBom(line, 0, line.length);
    const first = skipBlanks(line, start, line.length);
    if (first === line.length || line[first] === HASH) continue;
    const text = latin1(line, start, line.length);
    out.push(text);
    // Excel's `sep=;` line comes before the header; the header ends the prefix.
    if (!(out.length === 1 && SEP_LINE.test(line.toString('utf8', start)))) return out;
  }
  return out;
}

/** Too many distinct header lines to carry from part to part. */
export class ContextOverflowError extends Error {
  constructor() {
    super(`the log holds more than ${MAX_CONTEXT_BYTES} bytes of distinct header lines to carry from part to part`);
    this.name = 'ContextOverflowError';
  }
}
