/**
 * Azure flow logs as Network Watcher writes them to a storage account (one JSON document per
 * hour, `PT1H.json`: `{"records": [...]}`), read record by record as the bytes arrive
 * (JsonArrayElements). Two kinds (https://learn.microsoft.com/azure/network-watcher/):
 *
 * - Virtual network flow logs (`flowLogVersion` 4): `flowRecords.flows[].flowGroups[].flowTuples`,
 *   each tuple `time (ms),src,dst,sport,dport,protocol (IANA number),direction (I/O),state
 *   (B begin, C continuing, E end, D denied),encryption,packets src->dst,bytes src->dst,packets
 *   dst->src,bytes dst->src`.
 * - Network security group flow logs (`properties.Version` 1 or 2):
 *   `properties.flows[].flows[].flowTuples`, each `time (s),src,dst,sport,dport,protocol (T/U),
 *   direction (I/O),decision (A/D)`, and in version 2 `,state (B/C/E),packets src->dst,bytes
 *   src->dst,packets dst->src,bytes dst->src`.
 *
 * Each tuple is a record (its "line" is its number in the document, 1-based, in document order),
 * so a flow's begin, continuing and end tuples count as connections each, as AWS's per-interval
 * records do: `src` opened the flow, the counts are those since the flow's previous tuple (a flow's
 * tuples add up), a begin tuple has none (its bytes unknown), a denied flow (state D, decision D,
 * or a VNet flow dropped for want of encryption) was refused. Version 1 tuples carry no counts:
 * their bytes are unknown. Times in seconds or milliseconds are told by their magnitude. A tuple
 * that cannot be read is a skipped record with its reason; a record without tuples adds nothing.
 */
import type { ChunkParser, FlowRecord, RecordSink } from '../types';
import { isJsonObject, skipBom } from './bytes';
import type { FormatDefinition } from './index';
import { JsonArrayElements } from './json-elements';
import { newRecord, resetRecord } from './record';
import { ipProtocolName } from './vpc-flow';

/** Largest record read, in bytes (an hour's tuples of one NSG rule or flow group are in one). */
export const MAX_AZURE_RECORD_BYTES = 64 * 1024 * 1024;

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** A count field of a tuple: digits; -1 for anything else (empty: none given). */
function count(s: string | undefined): number {
  return s !== undefined && /^\d{1,16}$/.test(s) ? Number(s) : -1;
}

/** A tuple's time in milliseconds: VNet tuples write milliseconds, NSG tuples seconds; told by magnitude. */
function tupleTime(s: string): number {
  if (!/^\d{1,16}$/.test(s)) return NaN;
  const n = Number(s);
  return n < 1e11 ? n * 1000 : n;
}

/**
 * Encryption states of a VNet tuple whose packets were dropped (Microsoft: the VM's virtual
 * network requires encryption, and this flow's could not be).
 */
const DROPPED_UNENCRYPTED = new Set(['NX_NOT_ACCEPTED', 'NX_SW_NOT_READY']);

function port(s: string | undefined): number {
  return s !== undefined && /^\d{1,5}$/.test(s) && Number(s) <= 65535 ? Number(s) : -1;
}

/** Parser for Azure virtual network and network security group flow logs. */
export class AzureFlowParser implements ChunkParser {
  readonly format = 'azure-flow-log' as const;
  private readonly rec: FlowRecord = newRecord();
  private readonly elements: JsonArrayElements;
  private sink: RecordSink | null = null;
  /** Tuples met so far: the next tuple's number is this plus one. */
  private tuples = 0;

  constructor(maxRecordBytes = MAX_AZURE_RECORD_BYTES) {
    this.elements = new JsonArrayElements(['records'], (bytes) => this.record(bytes), maxRecordBytes, 'Azure flow log');
  }

  push(chunk: Buffer, sink: RecordSink): void {
    this.sink = sink;
    try {
      this.elements.push(chunk);
    } finally {
      this.sink = null;
    }
  }

  finish(_sink: RecordSink): void {
    this.elements.finish();
  }

  private record(bytes: Buffer): void {
    const sink = this.sink!;
    let r: unknown;
    try {
      r = JSON.parse(bytes.toString('utf8'));
    } catch {
      sink.skip(++this.tuples, 'flow log record is not valid JSON');
      return;
    }
    if (!isJsonObject(r)) {
      sink.skip(++this.tuples, 'flow log record is not an object');
      return;
    }
    if (isJsonObject(r.flowRecords)) {
      // Virtual network flow logs.
      for (const flow of list(r.flowRecords.flows)) {
        for (const group of list(isJsonObject(flow) ? flow.flowGroups : undefined)) {
          for (const tuple of list(isJsonObject(group) ? group.flowTuples : undefined)) this.vnetTuple(tuple, sink);
        }
      }
      return;
    }
    const properties = isJsonObject(r.properties) ? r.properties : null;
    if (properties !== null && Array.isArray(properties.flows)) {
      // Network security group flow logs.
      for (const rule of properties.flows) {
        for (const mac of list(isJsonObject(rule) ? rule.flows : undefined)) {
          for (const tuple of list(isJsonObject(mac) ? mac.flowTuples : undefined)) this.nsgTuple(tuple, sink);
        }
      }
      return;
    }
    sink.skip(++this.tuples, 'flow log record has no flows', 'neither flowRecords nor properties.flows');
  }

  /** The tuple's fields, the 5-tuple filled in; null after a skip. */
  private fields(tuple: unknown, min: number, sink: RecordSink): string[] | null {
    const line = ++this.tuples;
    if (typeof tuple !== 'string') {
      sink.skip(line, 'flow tuple is not a string');
      return null;
    }
    const f = tuple.split(',');
    if (f.length < min) {
      sink.skip(line, 'flow tuple has too few fields', `${f.length} fields, need ${min}`);
      return null;
    }
    if (f[1] === '' || f[2] === '') {
      sink.skip(line, 'flow tuple has no source or destination address');
      return null;
    }
    const r = this.rec;
    resetRecord(r, line);
    r.origIp = f[1]!;
    r.respIp = f[2]!;
    r.origPort = port(f[3]);
    r.respPort = port(f[4]);
    return f;
  }

  private vnetTuple(tuple: unknown, sink: RecordSink): void {
    const f = this.fields(tuple, 13, sink);
    if (f === null) return;
    const r = this.rec;
    r.proto = /^\d{1,3}$/.test(f[5]!) ? ipProtocolName(Number(f[5])) : f[5]!.toLowerCase();
    r.firstSeenMs = tupleTime(f[0]!);
    r.rejected = f[7] === 'D' || DROPPED_UNENCRYPTED.has(f[8]!);
    this.counts(f[7]!, f[10], f[12], sink);
  }

  private nsgTuple(tuple: unknown, sink: RecordSink): void {
    const f = this.fields(tuple, 8, sink);
    if (f === null) return;
    const r = this.rec;
    r.proto = f[5] === 'T' ? 'tcp' : f[5] === 'U' ? 'udp' : f[5]!.toLowerCase();
    r.firstSeenMs = tupleTime(f[0]!);
    r.rejected = f[7] === 'D';
    if (f.length >= 13) this.counts(f[8]!, f[10], f[12], sink);
    else sink.flow(r);
  }

  /**
   * Sets the two byte counts and hands the record over. A begin tuple (state B) gives none, by
   * definition: its bytes are unknown, not 0 (a flow under a non-default inbound rule only ever has
   * its begin tuple, Microsoft says, so reading 0 would make an accepted connection an unanswered
   * probe). A denied flow sent nothing. Otherwise a count that is no number is unknown, and named.
   */
  private counts(state: string, sent: string | undefined, received: string | undefined, sink: RecordSink): void {
    const r = this.rec;
    if (r.rejected) {
      r.origBytes = 0;
      r.respBytes = 0;
    } else if (state === 'B') {
      r.origBytes = -1;
      r.respBytes = -1;
    } else {
      r.origBytes = count(sent);
      r.respBytes = count(received);
      if (r.origBytes < 0) sink.malformed?.(r.line, 'bytes src->dst', sent ?? '');
      if (r.respBytes < 0) sink.malformed?.(r.line, 'bytes dst->src', received ?? '');
    }
    sink.flow(r);
  }
}

/**
 * Detection: 1 when the input starts with `{"records": [` and its first record names what only
 * flow logs name (`flowLogVersion`, `flowTuples`, `NetworkSecurityGroupFlowEvent`, `FlowLogFlowEvent`).
 */
export function detectAzureFlow(lines: readonly string[], head?: Buffer): number {
  const text = (head !== undefined && head.length > 0 ? head.toString('utf8', skipBom(head, 0, head.length), Math.min(head.length, 8192)) : lines.join('\n')).trimStart();
  if (!/^\{\s*"records"\s*:\s*\[/.test(text)) return 0;
  return /"flowTuples"|"flowLogVersion"|NetworkSecurityGroupFlowEvent|"FlowLogFlowEvent"/.test(text) ? 1 : 0;
}

/** Registry entry. */
export const azureFlowFormat: FormatDefinition = {
  name: 'azure-flow-log',
  description: 'Azure virtual network and network security group flow logs (PT1H.json from the storage account)',
  detect: detectAzureFlow,
  create: () => new AzureFlowParser(),
};
