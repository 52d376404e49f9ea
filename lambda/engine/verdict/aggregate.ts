/**
 * The streaming fold: every record lands here; memory grows with the number of distinct
 * addresses, never with the number of records.
 */
import type { GeoLookup } from '../geo/geo-lookup';
import { parseIp } from '../net/ip';
import { latin1 } from '../parsers/bytes';
import { evaluateAddress, type AddressFacts } from '../policy/evaluate';
import type { CompiledPolicy } from '../policy/policy';
import type { FlowRecord, RecordSink } from '../types';
import { ByteKeyTable } from './byte-key-table';

/** How many skipped records are kept with their line and reason. */
export const MAX_ERRORS_KEPT = 100;
/** How many evidence line numbers each destination keeps. */
export const MAX_EVIDENCE_LINES = 10;
/** Caps on the distinct values a destination lists. */
export const MAX_PORTS_LISTED = 64;
export const MAX_NAMES_LISTED = 32;
const MAX_PROTOCOLS_LISTED = 8;
/** Bound on cached spellings of addresses: hostile logs can spell one address many ways. */
const MAX_SPELLINGS_CACHED = 1_000_000;

/** Running totals for one remote address. */
export interface DestinationAggregate {
  readonly facts: AddressFacts;
  connections: number;
  blockedAttempts: number;
  bytesSent: number;
  bytesReceived: number;
  connectionsWithUnknownBytes: number;
  firstSeenMs: number;
  lastSeenMs: number;
  lastPort: number;
  lastProto: string;
  readonly ports: number[];
  readonly protocols: string[];
  hostnames: Set<string> | null;
  apps: Set<string> | null;
  readonly evidenceLines: number[];
}

interface Endpoint {
  readonly facts: AddressFacts;
  dest: DestinationAggregate | null;
}

/** Marks a spelling that is not an IP address (cached like any other). */
const INVALID: Endpoint = Object.freeze({ facts: null as unknown as AddressFacts, dest: null });

function newDestination(facts: AddressFacts): DestinationAggregate {
  return {
    facts,
    connections: 0,
    blockedAttempts: 0,
    bytesSent: 0,
    bytesReceived: 0,
    connectionsWithUnknownBytes: 0,
    firstSeenMs: NaN,
    lastSeenMs: NaN,
    lastPort: -2,
    lastProto: '\u0000',
    ports: [],
    protocols: [],
    hostnames: null,
    apps: null,
    evidenceLines: [],
  };
}

function addName(set: Set<string> | null, name: string): Set<string> {
  const s = set ?? new Set<string>();
  if (s.size < MAX_NAMES_LISTED) s.add(name);
  return s;
}

/** Folds records into per-destination totals. */
export class Aggregator implements RecordSink {
  records = 0;
  connections = 0;
  skipped = 0;
  noDataRecords = 0;
  readonly errors: { line: number; reason: string }[] = [];
  readonly skippedByReason = new Map<string, number>();
  /** Canonical address → destination, in order of first sight. */
  readonly destinations = new Map<string, DestinationAggregate>();
  /** Address spelling as the log wrote it → endpoint. */
  private readonly bySpelling = new Map<string, Endpoint>();
  private readonly bySpellingBytes = new ByteKeyTable<Endpoint>(4096);
  private readonly byCanonical = new Map<string, Endpoint>();

  constructor(
    private readonly policy: CompiledPolicy,
    private readonly geos: readonly GeoLookup[],
  ) {}

  private resolve(text: string): Endpoint {
    const ip = parseIp(text);
    if (ip === null) return INVALID;
    // Different spellings of one address (expanded IPv6, IPv4-mapped) share one endpoint.
    let ep = this.byCanonical.get(ip.text);
    if (ep === undefined) {
      ep = { facts: evaluateAddress(ip, this.policy, this.geos), dest: null };
      this.byCanonical.set(ip.text, ep);
    }
    return ep;
  }

  private endpoint(text: string): Endpoint {
    let ep = this.bySpelling.get(text);
    if (ep === undefined) {
      ep = this.resolve(text);
      if (this.bySpelling.size < MAX_SPELLINGS_CACHED) this.bySpelling.set(text, ep);
    }
    return ep;
  }

  private endpointBytes(buf: Buffer, start: number, end: number): Endpoint {
    const table = this.bySpellingBytes;
    let ep = table.get(buf, start, end);
    if (ep === undefined) {
      ep = this.resolve(latin1(buf, start, end));
      if (table.size < MAX_SPELLINGS_CACHED) table.add(buf, start, end, ep);
    }
    return ep;
  }

  private destinationOf(ep: Endpoint): DestinationAggregate {
    let d = ep.dest;
    if (d === null) {
      d = newDestination(ep.facts);
      ep.dest = d;
      this.destinations.set(ep.facts.ip, d);
    }
    return d;
  }

  flow(r: FlowRecord): void {
    const b = r.ipBytes;
    const orig = b === null ? this.endpoint(r.origIp) : this.endpointBytes(b, r.origIpStart, r.origIpEnd);
    if (orig === INVALID) {
      this.skip(r.line, 'source address is not an IP address', b === null ? r.origIp : latin1(b, r.origIpStart, r.origIpEnd));
      return;
    }
    const resp = b === null ? this.endpoint(r.respIp) : this.endpointBytes(b, r.respIpStart, r.respIpEnd);
    if (resp === INVALID) {
      this.skip(r.line, 'destination address is not an IP address', b === null ? r.respIp : latin1(b, r.respIpStart, r.respIpEnd));
      return;
    }
    this.records++;
    this.connections++;
    let remote: Endpoint;
    let sent: number;
    let received: number;
    let port: number;
    if (!orig.facts.local && resp.facts.local) {
      // The outside party opened the connection: what the monitored side sent is the response.
      remote = orig;
      sent = r.respBytes;
      received = r.origBytes;
      port = r.origPort;
    } else {
      // Monitored side to outside; both inside (listed as non-public); both outside (responder).
      remote = resp;
      sent = r.origBytes;
      received = r.respBytes;
      port = r.respPort;
    }
    const d = remote.dest ?? this.destinationOf(remote);
    if (r.rejected) {
      d.blockedAttempts++;
    } else {
      d.connections++;
      if (sent < 0 || received < 0) d.connectionsWithUnknownBytes++;
      if (sent > 0) d.bytesSent += sent;
      if (received > 0) d.bytesReceived += received;
    }
    const first = r.firstSeenMs;
    if (first === first && !(first >= d.firstSeenMs)) d.firstSeenMs = first;
    const last = r.lastSeenMs === r.lastSeenMs ? r.lastSeenMs : first;
    if (last === last && !(last <= d.lastSeenMs)) d.lastSeenMs = last;
    if (port !== d.lastPort) {
      d.lastPort = port;
      if (port >= 0 && d.ports.length < MAX_PORTS_LISTED && !d.ports.includes(port)) d.ports.push(port);
    }
    const proto = r.proto;
    if (proto !== d.lastProto) {
      d.lastProto = proto;
      if (proto !== '' && d.protocols.length < MAX_PROTOCOLS_LISTED && !d.protocols.includes(proto)) d.protocols.push(proto);
    }
    if (r.hostname !== null && remote === resp) d.hostnames = addName(d.hostnames, r.hostname);
    if (r.app !== null) d.apps = addName(d.apps, r.app);
    if (d.evidenceLines.length < MAX_EVIDENCE_LINES) d.evidenceLines.push(r.line);
  }

  skip(line: number, reason: string, detail?: string): void {
    this.records++;
    this.skipped++;
    this.skippedByReason.set(reason, (this.skippedByReason.get(reason) ?? 0) + 1);
    if (this.errors.length < MAX_ERRORS_KEPT) {
      const shown =
        detail === undefined ? '' : `: ${JSON.stringify(detail.length > 80 ? `${detail.slice(0, 80)}…` : detail)}`;
      this.errors.push({ line, reason: `${reason}${shown}` });
    }
  }

  noData(): void {
    this.records++;
    this.noDataRecords++;
  }
}
