/**
 * Merging the ranges of a split check into the verdict a single pass over the log gives:
 * totals summed, destinations merged by address, line numbers made absolute, statuses decided
 * again by the verdict builder. Before merging, the context every range was read under is
 * checked against the one really in force at its first line; ranges read under a stale one are
 * returned to be checked again.
 */
import { DEFAULT_MAX_SKIPPED_RECORDS, EARLY_STOP_MARGIN, noConnectionMessage, noConnectionRead, type CheckOptions } from '../check';
import { ResidencyError } from '../errors';
import { isEndpointsHeader } from '../parsers/generic-csv';
import type { DecodeStats } from '../input/decode';
import { parseIp } from '../net/ip';
import { evaluateAddress, type AddressFacts } from '../policy/evaluate';
import { countCapped, MAX_MALFORMED_FIELDS, OTHER_FIELDS, tableOf, type AggregateTotals, type AppCounts, type DestinationAggregate, type DestinationTable, type MalformedValue } from '../verdict/aggregate';
import { MAX_ERRORS_KEPT, MAX_EVIDENCE_LINES, MAX_NAMES_LISTED, MAX_PORTS_LISTED, MAX_SKIP_REASONS, OTHER_SKIP_REASONS } from '../verdict/aggregate';
import { buildVerdict, errorVerdict } from '../verdict/build-verdict';
import { CommonAddressHints } from '../verdict/common-addresses';
import type { Verdict } from '../verdict/verdict';
import { checkFingerprint, type PartResult, type PartSpec } from './check-part';
import { ContextOverflowError, dialectOf } from './context';
import type { SplitPlan } from './plan';

/**
 * Distinct transport protocol names up to which the aggregator lists every protocol of every
 * destination (it numbers the first 30 it meets); past it, what a destination lists depends on
 * the order of the whole log, which ranges cannot know.
 */
const MAX_EXACT_PROTOCOLS = 30;

/** The hash and size of the whole log, from a pass of its own. */
export interface WholeLogFacts {
  readonly sha256: string;
  readonly bytes: number;
}

/** What the merge decided. */
export type MergeOutcome =
  | { readonly kind: 'verdict'; readonly verdict: Verdict }
  /** These ranges were read under a stale context: check them again as given, then merge again. */
  | { readonly kind: 'recheck'; readonly parts: readonly PartSpec[] }
  /** The ranges cannot give the single-pass verdict exactly: check the log in one pass. */
  | { readonly kind: 'whole'; readonly reason: string };

/** A range was judged with another policy or other databases than the merge. */
export class PartMismatchError extends ResidencyError {
  constructor(message: string) {
    super(message);
    this.name = 'PartMismatchError';
  }
}

/** A destination's totals over several ranges. */
class MergedDestination implements DestinationAggregate {
  connections = 0;
  blockedAttempts = 0;
  bytesSent = 0;
  bytesReceived = 0;
  connectionsWithUnknownBytes = 0;
  firstSeenMs = NaN;
  lastSeenMs = NaN;
  readonly ports: number[] = [];
  readonly protocols: string[] = [];
  hostnames: Set<string> | null = null;
  apps: Set<string> | null = null;
  /**
   * Each app's counts over the ranges (every app, uncapped, until {@link MergedAggregate.destinations}
   * applies the cap); null once a range did not know every app's.
   */
  appCounts: Map<string, AppCounts> | null | undefined = undefined;
  readonly evidenceLines: number[] = [];

  constructor(public facts: AddressFacts) {}
}

/** What the verdict builder reads of an aggregator, filled from ranges. */
class MergedAggregate implements AggregateTotals {
  records = 0;
  connections = 0;
  skipped = 0;
  noDataRecords = 0;
  unattributedRecords = 0;
  notConnectionRecords = 0;
  readonly errors: { line: number; reason: string }[] = [];
  readonly unattributedKept: { line: number; reason: string }[] = [];
  readonly skippedByReason = new Map<string, number>();
  malformedValues = 0;
  readonly malformedByField = new Map<string, number>();
  readonly malformedKept: MalformedValue[] = [];
  private readonly byIp = new Map<string, MergedDestination>();

  /** What the ranges' parsers found on one side of every record of an interface, intersected. */
  private readonly commonHints = new CommonAddressHints();
  private hintsApplied = false;
  /** Records of whole connections over the ranges (Aggregator.twoWayRecords); NaN once a range could not say. */
  private twoWayRecords = 0;
  private inboundFolded = false;

  constructor(private readonly options: CheckOptions) {}

  /** Adds a range whose first line is line `offset + 1` of the log. */
  add(part: PartResult, offset: number): void {
    const a = part.aggregate;
    this.records += a.records;
    this.connections += a.connections;
    this.skipped += a.skipped;
    this.noDataRecords += a.noData;
    this.unattributedRecords += a.unattributed;
    this.notConnectionRecords += a.notConnections ?? 0;
    this.twoWayRecords += a.twoWay ?? NaN;
    // A range that could not say (too many interfaces, or written before ranges said) gives every hint up.
    if (a.commonAddresses === undefined || a.commonAddresses === null) this.commonHints.giveUp();
    else for (const h of a.commonAddresses) this.commonHints.add(h);
    for (const [reason, n] of a.skippedByReason) countCapped(this.skippedByReason, reason, n, MAX_SKIP_REASONS, OTHER_SKIP_REASONS);
    // Ranges come in log order, and each keeps its first entries: the first of the union are among them.
    for (const e of a.errors) if (this.errors.length < MAX_ERRORS_KEPT) this.errors.push({ line: e.line + offset, reason: e.reason });
    for (const e of a.unattributedKept) {
      if (this.unattributedKept.length < MAX_ERRORS_KEPT) this.unattributedKept.push({ line: e.line + offset, reason: e.reason });
    }
    this.malformedValues += a.malformedValues ?? 0;
    for (const [field, n] of a.malformedByField ?? []) countCapped(this.malformedByField, field, n, MAX_MALFORMED_FIELDS, OTHER_FIELDS);
    for (const m of a.malformedKept ?? []) {
      if (this.malformedKept.length < MAX_ERRORS_KEPT) this.malformedKept.push({ line: m.line + offset, field: m.field, value: m.value });
    }
    for (const p of a.destinations) {
      let d = this.byIp.get(p.ip);
      if (!d) {
        const ip = parseIp(p.ip);
        if (ip === null) throw new PartMismatchError(`range ${part.index}: destination ${JSON.stringify(p.ip)} is not an address`);
        d = new MergedDestination(evaluateAddress(ip, this.options.policy, this.options.databases, this.options.operator));
        this.byIp.set(p.ip, d);
      }
      d.connections += p.connections;
      d.blockedAttempts += p.blockedAttempts;
      d.bytesSent += p.bytesSent;
      d.bytesReceived += p.bytesReceived;
      d.connectionsWithUnknownBytes += p.connectionsWithUnknownBytes;
      if (p.firstSeenMs !== null && !(p.firstSeenMs >= d.firstSeenMs)) d.firstSeenMs = p.firstSeenMs;
      if (p.lastSeenMs !== null && !(p.lastSeenMs <= d.lastSeenMs)) d.lastSeenMs = p.lastSeenMs;
      // Lists capped at their first N distinct values: a range keeps its first N in order, so the
      // first N of the log are the earlier ranges' followed by this one's new values.
      for (const port of p.ports) if (d.ports.length < MAX_PORTS_LISTED && !d.ports.includes(port)) d.ports.push(port);
      for (const proto of p.protocols) if (!d.protocols.includes(proto)) d.protocols.push(proto);
      d.hostnames = addNames(d.hostnames, p.hostnames);
      if (p.apps.length > 0) addAppCounts(d, p.appCounts);
      d.apps = addNames(d.apps, p.apps);
      for (const line of p.evidenceLines) if (d.evidenceLines.length < MAX_EVIDENCE_LINES) d.evidenceLines.push(line + offset);
    }
  }

  destinations(): DestinationAggregate[] {
    // More apps than a single pass lists: it gives no app's counts, nor does the merge.
    for (const d of this.byIp.values()) if (d.appCounts && d.appCounts.size > MAX_NAMES_LISTED) d.appCounts = null;
    if (!this.hintsApplied) {
      // As the single pass does (Aggregator.applyCommonHints): once, after the last range.
      this.hintsApplied = true;
      for (const [ip, facts] of this.commonHints.warnedFacts((a) => this.byIp.get(a)?.facts)) this.byIp.get(ip)!.facts = facts;
    }
    if (!this.inboundFolded) {
      // As the single pass does (Aggregator.foldInboundOnly): over every range, once.
      this.inboundFolded = true;
      if (this.twoWayRecords === 0) {
        for (const d of this.byIp.values()) {
          if (d.connections === 0 || d.bytesSent !== 0 || d.connectionsWithUnknownBytes !== 0) continue;
          d.blockedAttempts += d.connections;
          d.connections = 0;
          for (const counts of d.appCounts?.values() ?? []) {
            counts.blockedAttempts += counts.connections;
            counts.connections = 0;
          }
        }
      }
    }
    return [...this.byIp.values()];
  }

  destinationTable(): DestinationTable {
    return tableOf(this.destinations());
  }

  /** Distinct protocol names over every destination. */
  protocolCount(): number {
    const all = new Set<string>();
    for (const d of this.byIp.values()) for (const p of d.protocols) all.add(p);
    return all.size;
  }
}

/** Adds a range's app counts to a destination's; a range without them (too many apps) leaves none. */
function addAppCounts(d: MergedDestination, counts: readonly ({ app: string } & AppCounts)[] | undefined): void {
  if (d.appCounts === null) return;
  if (counts === undefined) {
    d.appCounts = null;
    return;
  }
  const all = (d.appCounts ??= new Map<string, AppCounts>());
  for (const c of counts) {
    const sum = all.get(c.app);
    if (sum === undefined) {
      all.set(c.app, { connections: c.connections, blockedAttempts: c.blockedAttempts, bytesSent: c.bytesSent, bytesReceived: c.bytesReceived });
    } else {
      sum.connections += c.connections;
      sum.blockedAttempts += c.blockedAttempts;
      sum.bytesSent += c.bytesSent;
      sum.bytesReceived += c.bytesReceived;
    }
  }
}

function addNames(set: Set<string> | null, names: readonly string[]): Set<string> | null {
  if (names.length === 0) return set;
  const out = set ?? new Set<string>();
  for (const n of names) if (out.size < MAX_NAMES_LISTED) out.add(n);
  return out;
}

function sameLines(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((l, i) => l === b[i]);
}

/**
 * Merges the checked ranges of a plan.
 *
 * @param parts one result per range of the plan, the latest check of each.
 * @param options the options of the whole check (name, policy, databases, time, source).
 * @throws PartMismatchError when a range was judged with another policy or databases.
 */
export function mergeParts(plan: SplitPlan, parts: readonly PartResult[], whole: WholeLogFacts, options: CheckOptions): MergeOutcome {
  const dialect = dialectOf(plan.format);
  if (!dialect) throw new Error(`${plan.format} logs cannot be checked in parts`);
  const byIndex = [...parts].sort((a, b) => a.index - b.index);
  if (byIndex.length !== plan.parts.length || byIndex.some((p, i) => p.index !== i)) {
    throw new PartMismatchError(`expected ${plan.parts.length} ranges, got ${byIndex.map((p) => p.index).join(',')}`);
  }
  const fingerprint = checkFingerprint(options);
  for (const p of byIndex) {
    if (p.fingerprint !== fingerprint) {
      throw new PartMismatchError(`range ${p.index} was checked with another policy or other databases (the configuration changed during the check)`);
    }
  }

  // The context in force at each range's first line, from what the earlier ranges met.
  const stale: PartSpec[] = [];
  let context: string[] = [];
  let last = byIndex.length - 1;
  for (let k = 0; k < byIndex.length; k++) {
    const p = byIndex[k]!;
    const isStale = k > 0 && !sameLines(p.context, context);
    if (isStale) stale.push({ index: p.index, start: p.start, end: p.end, context });
    if (p.outcome !== 'ok') {
      // The log ends here for the verdict (as a single pass stops at its first input error); and
      // a range that stopped under a wrong context met only part of its lines, so the ranges
      // after it wait for its second check.
      last = k;
      break;
    }
    try {
      context = dialect.compose(context, p.seen, plan.params);
    } catch (err) {
      if (err instanceof ContextOverflowError) return { kind: 'whole', reason: err.message };
      throw err;
    }
  }
  if (stale.length > 0) return { kind: 'recheck', parts: stale };
  // A Wireshark Endpoints table: its capture host is found among all its rows, not a range's.
  if (plan.format === 'generic-csv' && context.some(isEndpointsHeader)) {
    return { kind: 'whole', reason: "a Wireshark Endpoints table is read whole (the capture's own host is found among all its rows)" };
  }

  for (let k = 0; k < last; k++) {
    const seen = byIndex[k]!.seen;
    if (seen.kind === 'csv' && seen.endsInQuote === true) {
      return { kind: 'whole', reason: `range ${k} ends inside a quoted field that holds line breaks, which the next range cannot tell from records` };
    }
    // A record given up (a quote not closed) is read again line by line: which lines started
    // records after it depends on where the range began.
    if (seen.kind === 'csv' && byIndex[k]!.aggregate.skippedByReason.some(([reason]) => reason === 'unterminated quoted field')) {
      return { kind: 'whole', reason: `range ${k} holds a quoted field that is never closed` };
    }
    if (seen.kind === 'eve' && seen.mayLearnNames) {
      return {
        kind: 'whole',
        reason: `range ${k} holds DNS, TLS, HTTP or alert events, whose names Suricata EVE reading gives to later flows in any range`,
      };
    }
  }

  const agg = new MergedAggregate(options);
  const maxSkipped = options.maxSkippedRecords ?? DEFAULT_MAX_SKIPPED_RECORDS;
  let offset = 0;
  for (let k = 0; k <= last; k++) {
    const p = byIndex[k]!;
    agg.add(p, offset);
    const terminal = p.outcome !== 'ok';
    const bytesRead = terminal ? p.firstLineStart + p.bytesRead : p.firstLineStart + p.bytes;
    if (terminal) {
      const line = p.errorLine === null ? '' : `line ${p.errorLine + offset}: `;
      const message = p.outcome === 'stopped' ? stoppedMessage(bytesRead, agg.records) : `${line}${p.error ?? 'stopped'}`;
      return verdictOf(agg, plan, { sha256: '', bytes: bytesRead }, options, message, p.outcome === 'stopped');
    }
    offset += p.lines;
    // The single pass asks between chunks whether the log is unreadable (bad records ten times
    // the good ones), and at the end (more than the good ones); the ranges after the first can
    // only be asked at their ends.
    const margin = k === last ? 1 : k > 0 ? EARLY_STOP_MARGIN : Number.POSITIVE_INFINITY;
    const bad = agg.skipped - agg.notConnectionRecords;
    if (bad >= maxSkipped && bad > agg.connections * margin) {
      const first = agg.errors[0];
      const message = `unreadable as ${plan.format}: ${bad} of ${agg.records} records could not be read (first problem: line ${first?.line}: ${first?.reason})`;
      return verdictOf(agg, plan, { sha256: '', bytes: bytesRead }, options, message, false);
    }
  }
  if (agg.protocolCount() > MAX_EXACT_PROTOCOLS) {
    return { kind: 'whole', reason: `the log names more than ${MAX_EXACT_PROTOCOLS} transport protocols` };
  }
  const stats = { sha256: whole.sha256, bytes: whole.bytes };
  if (agg.records === 0) return verdictOf(agg, plan, stats, options, `no records found in this ${plan.format} log`, false);
  if (noConnectionRead(agg)) {
    return verdictOf(agg, plan, stats, options, noConnectionMessage(agg, plan.format), false);
  }
  return verdictOf(agg, plan, stats, options, null, false);
}

/** The message a single pass gives when its time budget ends. */
function stoppedMessage(bytes: number, records: number): string {
  return `stopped early after ${bytes} bytes and ${records} records (time budget): this verdict covers only part of the input`;
}

function verdictOf(
  agg: MergedAggregate,
  plan: SplitPlan,
  read: { sha256: string; bytes: number },
  options: CheckOptions,
  error: string | null,
  partial: boolean,
): MergeOutcome {
  const stats: DecodeStats = { bytes: read.bytes, decodedBytes: read.bytes, compression: 'none', sha256: read.sha256 };
  const input = { options, stats, format: plan.format, formatSource: plan.formatSource, agg };
  return { kind: 'verdict', verdict: error === null ? buildVerdict(input) : errorVerdict(error, input, partial) };
}
