/**
 * Checking one range of a split log. The range owns every line whose first byte lies in
 * `[start, end)`: it skips the partial line it starts in and reads past its end to finish its
 * last line. Ranges after the first are read after their context lines (and one empty line, so
 * the range's own bytes are never taken for a byte order mark or gzip magic).
 */
import { runCheck, type CheckOptions } from '../check';
import { DEFAULT_MAX_LINE_BYTES, LineSplitter } from '../input/line-splitter';
import type { CompiledPolicy } from '../policy/policy';
import type { GeoLookup } from '../geo/geo-lookup';
import type { CommonAddresses } from '../types';
import type { Aggregator, AppCounts } from '../verdict/aggregate';
import { dialectOf, type ContextSeen } from './context';
import type { PartRange, SplitPlan } from './plan';

/** A range to check: its bytes, and the context it is read under. */
export interface PartSpec extends PartRange {
  /** Context lines (Latin-1 text of their bytes); empty for the first range. */
  readonly context: readonly string[];
}

/** One destination's totals in a range, line numbers counted from the range's first line. */
export interface PartDestination {
  ip: string;
  connections: number;
  blockedAttempts: number;
  bytesSent: number;
  bytesReceived: number;
  connectionsWithUnknownBytes: number;
  /** Epoch milliseconds; null when unknown. */
  firstSeenMs: number | null;
  lastSeenMs: number | null;
  /** In order of first sight, as the aggregator keeps them (so caps merge exactly). */
  ports: number[];
  protocols: string[];
  hostnames: string[];
  apps: string[];
  /** Each app's counts, when the range knows every app's (see DestinationAggregate.appCounts). */
  appCounts?: ({ app: string } & AppCounts)[];
  evidenceLines: number[];
}

/** A range's aggregate, as JSON. */
export interface PartAggregate {
  records: number;
  connections: number;
  skipped: number;
  noData: number;
  unattributed: number;
  /** Skipped records of another kind mixed in (RecordSink.notConnection); absent in older parts. */
  notConnections?: number;
  skippedByReason: [string, number][];
  errors: { line: number; reason: string }[];
  unattributedKept: { line: number; reason: string }[];
  /** Malformed values (RecordSink.malformed); absent in older parts. */
  malformedValues?: number;
  malformedByField?: [string, number][];
  malformedKept?: { line: number; field: string; value: string }[];
  destinations: PartDestination[];
  /**
   * What the parser found on one side of every record of an interface (RecordSink.commonAddresses),
   * or null when the range named more interfaces than are tracked. Absent in older parts, which
   * cannot say: the merge then gives up every hint.
   */
  commonAddresses?: CommonAddresses[] | null;
  /** Records that count both directions of a connection (Aggregator.twoWayRecords); absent in older parts. */
  twoWay?: number;
}

/** What checking a range found; JSON, stored between the steps of a split check. */
export interface PartResult extends PartSpec {
  /** Lines the range owns (its last one included when the log ends without a line break). */
  lines: number;
  /** Bytes of the lines the range owns. */
  bytes: number;
  /** Where its first owned line starts. */
  firstLineStart: number;
  seen: ContextSeen;
  /** `error`: the range stopped on an input error; `stopped`: on the time budget. */
  outcome: 'ok' | 'error' | 'stopped';
  /** The error, without a leading `line N: ` (see `errorLine`). */
  error: string | null;
  /** The range-relative line of the error, when its message named one. */
  errorLine: number | null;
  /** Bytes of the range read before it stopped (only for `error` and `stopped`). */
  bytesRead: number;
  aggregate: PartAggregate;
  /** What the range was judged with; the merge refuses parts judged with anything else. */
  fingerprint: string;
}

/** A fingerprint of the policy, databases and parser options (a VPC format given) a check uses. */
export function checkFingerprint(options: Pick<CheckOptions, 'policy' | 'databases' | 'operator' | 'parserOptions'>): string {
  const dbs = (options.databases as readonly GeoLookup[]).map((g) => g.info.sha256);
  const operator = [options.operator?.country?.info.sha256 ?? '', options.operator?.asn?.info.sha256 ?? ''];
  const parsing = options.parserOptions ? [JSON.stringify(options.parserOptions)] : [];
  return [(options.policy as CompiledPolicy).sha256, ...dbs, ...operator, ...parsing].join(',');
}

const LEADING_LINE = /^line (\d+): /;

function emptyAggregate(): PartAggregate {
  return { records: 0, connections: 0, skipped: 0, noData: 0, unattributed: 0, skippedByReason: [], errors: [], unattributedKept: [], destinations: [], commonAddresses: [], twoWay: 0 };
}

/** The aggregate as JSON, lines shifted so that the range's first line is 1. */
function aggregateOf(agg: Aggregator, shift: number): PartAggregate {
  const lines = (xs: readonly { line: number; reason: string }[]): { line: number; reason: string }[] =>
    xs.map((e) => ({ line: e.line - shift, reason: e.reason }));
  const finite = (n: number): number | null => (Number.isFinite(n) ? n : null);
  return {
    records: agg.records,
    connections: agg.connections,
    skipped: agg.skipped,
    noData: agg.noDataRecords,
    unattributed: agg.unattributedRecords,
    notConnections: agg.notConnectionRecords,
    twoWay: agg.twoWayRecords,
    skippedByReason: [...agg.skippedByReason.entries()],
    errors: lines(agg.errors),
    unattributedKept: lines(agg.unattributedKept),
    malformedValues: agg.malformedValues,
    malformedByField: [...agg.malformedByField.entries()],
    malformedKept: agg.malformedKept.map((m) => ({ line: m.line - shift, field: m.field, value: m.value })),
    commonAddresses: agg.commonHints.overflow ? null : agg.commonHints.list(),
    destinations: agg.destinations().map((d) => ({
      ip: d.facts.ip,
      connections: d.connections,
      blockedAttempts: d.blockedAttempts,
      bytesSent: d.bytesSent,
      bytesReceived: d.bytesReceived,
      connectionsWithUnknownBytes: d.connectionsWithUnknownBytes,
      firstSeenMs: finite(d.firstSeenMs),
      lastSeenMs: finite(d.lastSeenMs),
      ports: [...d.ports],
      protocols: [...d.protocols],
      hostnames: d.hostnames ? [...d.hostnames] : [],
      apps: d.apps ? [...d.apps] : [],
      ...(d.appCounts ? { appCounts: [...d.appCounts].map(([app, c]) => ({ app, ...c })) } : {}),
      evidenceLines: d.evidenceLines.map((l) => l - shift),
    })),
  };
}

/**
 * The same bytes, the first chunk holding at least `n` of them (or all there are): the check
 * looks for a byte order mark in its first chunk only, and the tracker must see what it sees.
 */
export async function* firstBytesTogether(source: AsyncIterable<Uint8Array>, n: number): AsyncGenerator<Uint8Array> {
  let held: Buffer[] | null = [];
  let heldBytes = 0;
  for await (const chunk of source) {
    if (held === null) {
      yield chunk;
      continue;
    }
    held.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    heldBytes += chunk.length;
    if (heldBytes >= n) {
      yield held.length === 1 ? held[0]! : Buffer.concat(held);
      held = null;
    }
  }
  if (held !== null && heldBytes > 0) yield Buffer.concat(held);
}

/**
 * Checks one range of a split log.
 *
 * @param source the log's bytes from `spec.start - 1` (from 0 for the first range) on; read only
 *   as far as the range's last line, then closed.
 * @param options the options of the whole check; `format` comes from the plan.
 * @throws what the byte source throws (an I/O fault), so the caller can retry.
 */
export async function checkPart(
  source: AsyncIterable<Uint8Array>,
  plan: Pick<SplitPlan, 'format' | 'params'>,
  spec: PartSpec,
  options: CheckOptions,
): Promise<PartResult> {
  const dialect = dialectOf(plan.format);
  if (!dialect) throw new Error(`${plan.format} logs cannot be checked in parts`);
  const first = spec.start === 0;
  const prefix = first ? Buffer.alloc(0) : Buffer.from(`\n${spec.context.map((l) => `${l}\n`).join('')}`, 'latin1');
  const shift = first ? 0 : 1 + spec.context.length;
  const tracker = dialect.tracker(plan.params);
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const lines = new LineSplitter(
    (buf, start, end) => tracker.line(buf, start, end),
    () => {},
    maxLineBytes,
  );
  let firstLineStart = -1;
  let ownedBytes = 0;

  /** The range's own lines, chunk by chunk: what the check and the tracker both read. */
  async function* owned(): AsyncGenerator<Buffer> {
    // Absolute offset of the next byte the source yields.
    let at = first ? 0 : spec.start - 1;
    let firstChunk = true;
    const it = (first ? firstBytesTogether(source, 3) : source)[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await it.next();
        if (next.done) return;
        let chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
        const chunkStart = at;
        at += chunk.length;
        let from = 0;
        if (firstLineStart < 0) {
          if (first) {
            firstLineStart = 0;
          } else {
            // The first line that starts at or after `start`: after the first line break at or
            // after `start - 1`.
            const nl = chunk.indexOf(10);
            // A line that starts before the range and runs past its end: the range owns nothing.
            if (nl < 0 && at >= spec.end) return;
            if (nl < 0) continue;
            firstLineStart = chunkStart + nl + 1;
            if (firstLineStart >= spec.end) return;
            from = nl + 1;
          }
        }
        // The last owned line ends at the first line break at or after `end - 1`.
        const stopAt = Math.max(spec.end - 1 - chunkStart, from);
        const nl = stopAt < chunk.length ? chunk.indexOf(10, stopAt) : -1;
        const to = nl < 0 ? chunk.length : nl + 1;
        if (to <= from) continue;
        chunk = chunk.subarray(from, to);
        if (first && firstChunk && chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) {
          // The check drops a byte order mark at the start of its input; so must the tracker.
          lines.push(chunk.subarray(3));
        } else {
          lines.push(chunk);
        }
        firstChunk = false;
        ownedBytes += chunk.length;
        yield chunk;
        if (nl >= 0) return;
      }
    } finally {
      await it.return?.();
    }
  }

  // The range's bytes are pulled once; peek at the first to know whether it owns any line.
  const gen = owned();
  const head = await gen.next();
  const base = {
    ...spec,
    context: [...spec.context],
    fingerprint: checkFingerprint(options),
  };
  if (head.done) {
    lines.end();
    return {
      ...base,
      lines: 0,
      bytes: 0,
      firstLineStart: firstLineStart < 0 ? spec.end : firstLineStart,
      seen: tracker.seen(),
      outcome: 'ok',
      error: null,
      errorLine: null,
      bytesRead: 0,
      aggregate: emptyAggregate(),
    };
  }
  async function* replay(): AsyncGenerator<Buffer> {
    if (prefix.length > 0) yield prefix;
    yield head.value as Buffer;
    yield* gen;
  }

  let aggregate: PartAggregate = emptyAggregate();
  // The limit on decoded bytes is the whole log's: the planner applies it.
  const { maxDecodedBytes: _whole, ...rest } = options;
  const verdict = await runCheck(replay(), {
    ...rest,
    format: plan.format,
    // The rule for unreadable input looks at the whole log so far: only the first range knows it.
    maxSkippedRecords: first ? options.maxSkippedRecords : Number.POSITIVE_INFINITY,
    part: {
      onAggregate: (agg) => {
        // The range's records as read: the merge decides over every range (Aggregator.foldInboundOnly).
        agg.foldsInboundOnly = false;
        aggregate = aggregateOf(agg, shift);
      },
    },
  });
  // A check that stopped early leaves the source open: close it.
  await gen.return(undefined);
  if (!verdict.error) lines.end();
  let error: string | null = null;
  let errorLine: number | null = null;
  if (verdict.error !== undefined) {
    const m = LEADING_LINE.exec(verdict.error);
    error = m ? verdict.error.slice(m[0].length) : verdict.error;
    errorLine = m ? Number(m[1]) - shift : null;
  }
  return {
    ...base,
    lines: lines.lineNo,
    bytes: ownedBytes,
    firstLineStart,
    seen: tracker.seen(),
    outcome: verdict.error === undefined ? 'ok' : verdict.partial ? 'stopped' : 'error',
    error,
    errorLine,
    bytesRead: Math.max(0, verdict.input.bytes - prefix.length),
    aggregate,
  };
}
