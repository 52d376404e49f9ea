/**
 * The streaming fold: every record lands here; memory grows with the number of distinct
 * addresses, never with the number of records.
 */
import type { GeoLookup } from '../geo/geo-lookup';
import { parseIp } from '../net/ip';
import { evaluateAddress, type AddressFacts } from '../policy/evaluate';
import type { CompiledPolicy } from '../policy/policy';
import type { FlowRecord, RecordSink } from '../types';

/** How many skipped records are kept with their line and reason. */
export const MAX_ERRORS_KEPT = 100;
/** How many evidence line numbers each destination keeps. */
export const MAX_EVIDENCE_LINES = 10;
/** Caps on the distinct values a destination lists (the count of ports etc. is not capped). */
export const MAX_PORTS_LISTED = 64;
export const MAX_NAMES_LISTED = 32;

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
  readonly ports: Set<number>;
  readonly protocols: Set<string>;
  readonly hostnames: Set<string>;
  readonly apps: Set<string>;
  readonly evidenceLines: number[];
}

interface Endpoint {
  readonly facts: AddressFacts;
  dest: DestinationAggregate | null;
}

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
    ports: new Set(),
    protocols: new Set(),
    hostnames: new Set(),
    apps: new Set(),
    evidenceLines: [],
  };
}

/** Folds records into per-destination totals. */
export class Aggregator implements RecordSink {
  records = 0;
  connections = 0;
  skipped = 0;
  noDataRecords = 0;
  readonly errors: { line: number; reason: string }[] = [];
  readonly skippedByReason = new Map<string, number>();
  /** Raw address text as the log wrote it → endpoint (null: not an address). */
  private readonly endpoints = new Map<string, Endpoint | null>();
  /** Canonical address → destination. */
  readonly destinations = new Map<string, DestinationAggregate>();
  private readonly byCanonical = new Map<string, Endpoint>();

  constructor(
    private readonly policy: CompiledPolicy,
    private readonly geos: readonly GeoLookup[],
  ) {}

  private endpoint(text: string): Endpoint | null {
    let ep = this.endpoints.get(text);
    if (ep !== undefined) return ep;
    const ip = parseIp(text);
    if (ip === null) {
      ep = null;
    } else {
      // Different spellings of one address (expanded IPv6, IPv4-mapped) share one endpoint.
      ep = this.byCanonical.get(ip.text) ?? null;
      if (ep === null) {
        ep = { facts: evaluateAddress(ip, this.policy, this.geos), dest: null };
        this.byCanonical.set(ip.text, ep);
      }
    }
    // Bound the raw-text cache: hostile logs can spell one address many ways.
    if (this.endpoints.size < 1_000_000) this.endpoints.set(text, ep);
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
    const orig = this.endpoint(r.origIp);
    if (orig === null) {
      this.skip(r.line, 'source address is not an IP address', r.origIp);
      return;
    }
    const resp = this.endpoint(r.respIp);
    if (resp === null) {
      this.skip(r.line, 'destination address is not an IP address', r.respIp);
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
    const d = this.destinationOf(remote);
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
      if (port >= 0 && d.ports.size < MAX_PORTS_LISTED) d.ports.add(port);
    }
    if (d.protocols.size < 8 && r.proto !== '') d.protocols.add(r.proto);
    if (r.hostname !== null && remote === resp && d.hostnames.size < MAX_NAMES_LISTED) d.hostnames.add(r.hostname);
    if (r.app !== null && d.apps.size < MAX_NAMES_LISTED) d.apps.add(r.app);
    if (d.evidenceLines.length < MAX_EVIDENCE_LINES) d.evidenceLines.push(r.line);
  }

  skip(line: number, reason: string, detail?: string): void {
    this.records++;
    this.skipped++;
    this.skippedByReason.set(reason, (this.skippedByReason.get(reason) ?? 0) + 1);
    if (this.errors.length < MAX_ERRORS_KEPT) {
      const shown = detail === undefined ? '' : `: ${JSON.stringify(detail.length > 80 ? `${detail.slice(0, 80)}…` : detail)}`;
      this.errors.push({ line, reason: `${reason}${shown}` });
    }
  }

  noData(): void {
    this.records++;
    this.noDataRecords++;
  }
}
