/**
 * Suricata EVE JSON (`eve.json`, one event per line; format:
 * https://docs.suricata.io/en/latest/output/eve/eve-json-format.html) and AWS Network Firewall
 * logs, which wrap the same events as `{"firewall_name", "availability_zone", "event_timestamp",
 * "event": {...}}` (https://docs.aws.amazon.com/network-firewall/latest/developerguide/firewall-logging-contents.html).
 *
 * Records come from three event types:
 * - `flow`: one bidirectional record per flow, `src_*` the client, `dest_*` the server,
 *   `flow.bytes_toserver` / `flow.bytes_toclient`, `flow.start` / `flow.end`;
 * - `netflow`: one record per direction (Network Firewall flow logs): `src` to `dest` carried
 *   `netflow.bytes`, nothing went back on this record (the reverse direction is its own record);
 *   the server's half (from a service port to a client's, see `ports.ts`) is read as the client's
 *   connection with those bytes received, so a client with a public address is not a destination;
 * - `alert` with `alert.action` `blocked` (IPS drop or reject; Network Firewall alert logs): a
 *   refused connection attempt (`rejected`).
 *
 * Events Suricata sent to syslog keep their syslog header (`... suricata[5123]: {...}`, `@cee: {...}`):
 * it is passed over.
 *
 * Every other event (`dns`, `tls`, `http`, `quic`, allowed alerts, `stats`, `fileinfo`, ...) is not
 * a record, like a comment line: it makes no sink call, so a log holding none of the three types
 * has no records and is reported as such rather than passing with nothing checked. Those events
 * still give names, see {@link HostnameMemory}.
 */
import { parseIp } from '../net/ip';
import type { FlowRecord, LineParser, RecordSink } from '../types';
import { AddressNames } from './address-names';
import type { FormatDefinition } from './index';
import { isJsonObject, jsonLineObject, parseTimestampText, reportJsonValue } from './bytes';
import { fromServerPort } from './ports';
import { newRecord, resetRecord } from './record';
import { ipProtocolName } from './vpc-flow';

/** How many address-to-name and flow-to-name pairs are remembered (oldest forgotten first). */
export const MAX_NAMES_REMEMBERED = 65_536;

type Json = Record<string, unknown>;

function count(v: unknown): number {
  // Past 2^53 a number is no count of anything (1e308 bytes would make the totals Infinity).
  return typeof v === 'number' && v >= 0 && v <= Number.MAX_SAFE_INTEGER ? v : -1;
}

/** {@link eveTimeMs}, reporting a value that is there (not null) but no time. */
function timeOf(v: unknown, lineNo: number, field: string, sink: RecordSink): number {
  const ms = eveTimeMs(v);
  if (ms !== ms) reportJsonValue(v, lineNo, field, sink);
  return ms;
}

/** {@link count}, reporting a value that is there (not null) but no count. */
function countOf(v: unknown, lineNo: number, field: string, sink: RecordSink): number {
  const n = count(v);
  if (n < 0) reportJsonValue(v, lineNo, field, sink);
  return n;
}

function port(v: unknown): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535 ? v : -1;
}

function text(v: unknown): string | null {
  return typeof v === 'string' && v.trim() !== '' ? v : null;
}

/**
 * An EVE time (`2024-01-01T00:00:00.000000+0000`, or without offset in Suricata before 3.x) as
 * epoch milliseconds; NaN when unreadable. `+0000` becomes `+00:00` for ISO 8601; a time without
 * offset is read as UTC.
 */
export function eveTimeMs(v: unknown): number {
  if (typeof v !== 'string') return NaN;
  return parseTimestampText(v.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
}

/** `proto` as the engine names it: `tcp`, `udp`, `icmp`, ...; numeric (`047`) as its IANA name. */
function protoName(v: unknown): string {
  if (typeof v === 'number') return ipProtocolName(v);
  if (typeof v !== 'string') return '';
  return /^\d{1,3}$/.test(v) ? ipProtocolName(Number(v)) : v.toLowerCase();
}

/** Canonical text of an address (EVE writes IPv6 fully expanded), or null. */
function canonical(v: unknown): string | null {
  return typeof v === 'string' ? (parseIp(v)?.text ?? null) : null;
}

/** A size-bounded map that forgets its oldest entries. */
class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(k: K): V | undefined {
    return this.map.get(k);
  }
  set(k: K, v: V): void {
    if (!this.map.has(k) && this.map.size >= this.max) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    this.map.set(k, v);
  }
  delete(k: K): void {
    this.map.delete(k);
  }
}

/**
 * Names learnt from events that are not records, attached to flows read after them. That order
 * is the usual one: Suricata writes a `flow` event when the flow ends (timeout or shutdown), after
 * the flow's own `tls`/`http` events, and the DNS answer that gave the address comes before the
 * connection to it. One pass with bounded maps keeps memory flat; a name learnt only after its
 * flow's record is not applied (no deferred list).
 *
 * - By `flow_id` (exact): `tls.sni`, `quic.sni`, `http.hostname`, kept with the event's `dest_ip`
 *   so the name is only given to a record whose server is that address.
 * - By address: the same names for `dest_ip`, and DNS answers (A/AAAA `rdata` named by the query,
 *   EVE dns formats 1, 2 and 3).
 */
export class HostnameMemory {
  private readonly byFlow: BoundedMap<number, { name: string; server: string }>;
  private readonly byAddress: AddressNames;

  constructor(max = MAX_NAMES_REMEMBERED) {
    this.byFlow = new BoundedMap(max);
    this.byAddress = new AddressNames(max, true);
  }

  /** Learns what an event names, if anything. */
  learn(ev: Json): void {
    if (ev.event_type === 'dns') {
      this.learnDns(ev.dns);
      return;
    }
    // Only events whose direction is known: tls/http/quic transactions are logged from the client
    // (src) to the server (dest); `fileinfo` and others may be written from the server's side.
    if (!LEARN_FROM.has(ev.event_type as string)) return;
    const name = appLayerName(ev);
    if (name === null) return;
    const server = canonical(serverOf(ev));
    if (server === null) return;
    this.byAddress.add(server, name);
    if (typeof ev.flow_id === 'number') this.byFlow.set(ev.flow_id, { name, server });
  }

  /** The name for a record's server: by flow id first, then by address. */
  nameFor(flowId: unknown, server: string): string | null {
    const s = canonical(server);
    if (s === null) return null;
    if (typeof flowId === 'number') {
      const f = this.byFlow.get(flowId);
      if (f !== undefined && f.server === s) return f.name;
    }
    return this.byAddress.latest(s);
  }

  /**
   * The other names of a record's server: none when its flow has its own (an SNI, a Host),
   * else every name learnt for the address (the latest last), or null.
   */
  otherNamesFor(flowId: unknown, server: string): readonly string[] | null {
    const s = canonical(server);
    if (s === null) return null;
    if (typeof flowId === 'number' && this.byFlow.get(flowId)?.server === s) return null;
    return this.byAddress.get(s);
  }

  /** Forgets a flow whose last record has been read. */
  forgetFlow(flowId: unknown): void {
    if (typeof flowId === 'number') this.byFlow.delete(flowId);
  }

  private learnDns(dns: unknown): void {
    if (!isJsonObject(dns)) return;
    // Format 3 (Suricata 8) lists `queries`; formats 1 and 2 give the query as `rrname`.
    const queries = Array.isArray(dns.queries) ? dns.queries : [];
    const query = text(isJsonObject(queries[0]) ? queries[0].rrname : undefined) ?? text(dns.rrname);
    if (Array.isArray(dns.answers)) {
      for (const a of dns.answers) {
        if (isJsonObject(a) && (a.rrtype === 'A' || a.rrtype === 'AAAA')) this.learnAddress(a.rdata, query ?? text(a.rrname));
      }
    } else if (isJsonObject(dns.grouped)) {
      for (const t of ['A', 'AAAA']) {
        const list = dns.grouped[t];
        if (Array.isArray(list)) for (const rdata of list) this.learnAddress(rdata, query);
      }
    } else if (dns.rrtype === 'A' || dns.rrtype === 'AAAA') {
      // Format 1: one event per answer.
      this.learnAddress(dns.rdata, query);
    }
  }

  private learnAddress(rdata: unknown, name: string | null): void {
    const a = canonical(rdata);
    if (a !== null && name !== null) this.byAddress.add(a, name);
  }
}

const LEARN_FROM: ReadonlySet<string> = new Set(['tls', 'http', 'quic', 'alert']);

/**
 * The server address of an event: an alert's `flow.dest_ip` (Suricata 7+), the source of an alert
 * on a packet to the client, else `dest_ip`.
 */
function serverOf(ev: Json): unknown {
  if (isJsonObject(ev.flow) && typeof ev.flow.dest_ip === 'string') return ev.flow.dest_ip;
  return ev.event_type === 'alert' && ev.direction === 'to_client' ? ev.src_ip : ev.dest_ip;
}

/** The server name an application-layer event carries (`tls.sni`, `quic.sni`, `http.hostname`). */
function appLayerName(ev: Json): string | null {
  if (isJsonObject(ev.tls)) {
    const sni = text(ev.tls.sni);
    if (sni !== null) return sni;
  }
  if (isJsonObject(ev.quic)) {
    const sni = text(ev.quic.sni);
    if (sni !== null) return sni;
  }
  if (isJsonObject(ev.http)) {
    const host = text(ev.http.hostname);
    if (host !== null && parseIp(host) === null) return host;
  }
  return null;
}

/** Parser for Suricata EVE JSON and AWS Network Firewall logs. */
export class SuricataEveParser implements LineParser {
  private readonly rec: FlowRecord = newRecord();
  private readonly names = new HostnameMemory();

  constructor(readonly format: 'suricata-eve' | 'aws-network-firewall' = 'suricata-eve') {}

  line(buf: Buffer, start: number, end: number, lineNo: number, sink: RecordSink): void {
    const obj = jsonLineObject(buf, start + syslogPrefixLength(buf, start, end), end, lineNo, sink) as Json | null;
    if (obj === null) return;
    // Network Firewall wraps the EVE event; a plain EVE event has event_type at the top.
    const ev = obj.event_type === undefined && isJsonObject(obj.event) ? obj.event : obj;
    const type = ev.event_type;
    if (typeof type !== 'string') {
      sink.skip(lineNo, 'event has no event_type');
      return;
    }
    switch (type) {
      case 'flow':
        this.flow(ev, lineNo, sink);
        return;
      case 'netflow':
        this.netflow(ev, lineNo, sink);
        return;
      case 'alert':
        this.names.learn(ev);
        if (isJsonObject(ev.alert) && ev.alert.action === 'blocked') this.blocked(ev, lineNo, sink);
        return;
      default:
        this.names.learn(ev);
    }
  }

  /** Fills the 5-tuple; false (after a skip) when an address is missing. */
  private tuple(ev: Json, lineNo: number, sink: RecordSink): boolean {
    const src = text(ev.src_ip);
    const dest = text(ev.dest_ip);
    if (src === null || dest === null) {
      sink.skip(lineNo, `${String(ev.event_type)} event has no src_ip/dest_ip`);
      return false;
    }
    const r = this.rec;
    resetRecord(r, lineNo);
    r.origIp = src;
    r.respIp = dest;
    r.origPort = port(ev.src_port);
    r.respPort = port(ev.dest_port);
    r.proto = protoName(ev.proto);
    return true;
  }

  private flow(ev: Json, lineNo: number, sink: RecordSink): void {
    if (!this.tuple(ev, lineNo, sink)) return;
    const r = this.rec;
    const f = isJsonObject(ev.flow) ? ev.flow : {};
    r.origBytes = countOf(f.bytes_toserver, lineNo, 'flow.bytes_toserver', sink);
    r.respBytes = countOf(f.bytes_toclient, lineNo, 'flow.bytes_toclient', sink);
    r.firstSeenMs = timeOf(f.start, lineNo, 'flow.start', sink);
    r.lastSeenMs = timeOf(f.end, lineNo, 'flow.end', sink);
    // IPS mode: a dropped flow the server never answered was refused; one it answered did carry data.
    const action = f.action;
    r.rejected = (action === 'drop' || action === 'blocked') && r.respBytes <= 0;
    r.hostname = this.names.nameFor(ev.flow_id, r.respIp);
    r.otherHostnames = this.names.otherNamesFor(ev.flow_id, r.respIp);
    this.names.forgetFlow(ev.flow_id);
    sink.flow(r);
  }

  private netflow(ev: Json, lineNo: number, sink: RecordSink): void {
    if (!this.tuple(ev, lineNo, sink)) return;
    const r = this.rec;
    const n = isJsonObject(ev.netflow) ? ev.netflow : {};
    const bytes = countOf(n.bytes, lineNo, 'netflow.bytes', sink);
    if (fromServerPort(r.origPort, r.respPort)) {
      // The server's half of the connection (a service port to a client's): the client opened
      // it, and these bytes went to the client.
      const ip = r.origIp;
      r.origIp = r.respIp;
      r.respIp = ip;
      const p = r.origPort;
      r.origPort = r.respPort;
      r.respPort = p;
      r.respBytes = bytes;
      r.origBytes = bytes < 0 ? -1 : 0;
    } else {
      r.origBytes = bytes;
      r.respBytes = bytes < 0 ? -1 : 0;
    }
    r.oneWay = true;
    r.firstSeenMs = timeOf(n.start, lineNo, 'netflow.start', sink);
    r.lastSeenMs = timeOf(n.end, lineNo, 'netflow.end', sink);
    r.hostname = this.names.nameFor(ev.flow_id, r.respIp);
    r.otherHostnames = this.names.otherNamesFor(ev.flow_id, r.respIp);
    sink.flow(r);
  }

  private blocked(ev: Json, lineNo: number, sink: RecordSink): void {
    // The alerting packet may go to the client: Suricata 7+ gives the flow's own direction in
    // `flow.src_ip`/`dest_ip` and the packet's in `direction`; older versions only the packet's.
    const f = isJsonObject(ev.flow) && text(ev.flow.src_ip) !== null && text(ev.flow.dest_ip) !== null ? ev.flow : null;
    const tupleSource =
      f !== null
        ? { ...ev, src_ip: f.src_ip, dest_ip: f.dest_ip, src_port: f.src_port, dest_port: f.dest_port }
        : ev.direction === 'to_client'
          ? { ...ev, src_ip: ev.dest_ip, dest_ip: ev.src_ip, src_port: ev.dest_port, dest_port: ev.src_port }
          : ev;
    if (!this.tuple(tupleSource, lineNo, sink)) return;
    const r = this.rec;
    r.rejected = true;
    // An alert is no record of a connection's two directions: a log of netflow halves with IPS
    // alerts among them is still a one-way log (see Aggregator.foldInboundOnly).
    r.oneWay = true;
    r.firstSeenMs = eveTimeMs(ev.timestamp);
    const own = appLayerName(ev);
    r.hostname = own ?? this.names.nameFor(ev.flow_id, r.respIp);
    r.otherHostnames = own === null ? this.names.otherNamesFor(ev.flow_id, r.respIp) : null;
    sink.flow(r);
  }

  finish(): void {}
}

/**
 * What Suricata's syslog output (`filetype: syslog`, optionally with `prefix: "@cee: "`) puts
 * before each event: a syslog header ending in the program's tag (`suricata[5123]:`, RFC 5424's
 * `suricata 5123 - -` or its structured data, `[meta sequenceId="1"][origin ip="..."]`, and the
 * BOM RFC 5424 allows before the message) or `@cee:`. Lines copied out of /var/log/syslog or a
 * syslog server's files. (Lines are read as Latin-1, detection's as UTF-8: the BOM is either.)
 */
const SYSLOG_PREFIX = /(?:@cee:|\bsuricata(?:\[\d+\])?:|\bsuricata \d+ \S+ (?:-|(?:\[(?:[^\]"\\]|"(?:[^"\\]|\\.)*")*\])+))\s*(?:\u00ef\u00bb\u00bf|\ufeff)?$/;

/** How many bytes of `buf[start, end)` are a syslog prefix before the event's `{` (0 when none). */
function syslogPrefixLength(buf: Buffer, start: number, end: number): number {
  if (start < end && buf[start] === 0x7b) return 0;
  const brace = buf.indexOf(0x7b, start);
  if (brace < 0 || brace >= end || brace - start > 512) return 0;
  return SYSLOG_PREFIX.test(buf.toString('latin1', start, brace)) ? brace - start : 0;
}

/** An event line without its syslog prefix, if it has one. */
function withoutSyslogPrefix(line: string): string {
  const brace = line.indexOf('{');
  return brace > 0 && brace <= 512 && SYSLOG_PREFIX.test(line.slice(0, brace)) ? line.slice(brace) : line;
}

/** The first lines that parse as JSON objects. */
function jsonObjects(lines: readonly string[]): Json[] {
  const out: Json[] = [];
  let first = true;
  for (const l of lines) {
    const t = withoutSyslogPrefix(l.trim());
    if (t === '') continue;
    let v: unknown;
    try {
      v = t.startsWith('{') ? JSON.parse(t) : undefined;
    } catch {
      v = undefined;
    }
    if (!isJsonObject(v)) {
      // A first line cut off (`split -b`, `tail -c`, a copy of a log being written) is passed
      // over: the parser counts it as skipped.
      if (first && t.endsWith('}')) {
        first = false;
        continue;
      }
      return out;
    }
    first = false;
    out.push(v);
  }
  return out;
}

function isEveEvent(o: Json): boolean {
  return typeof o.event_type === 'string';
}

function hasAddresses(o: Json): boolean {
  return 'src_ip' in o || 'dest_ip' in o;
}

/** Detection: 1 when the first JSON lines are EVE events with addresses (0.6 without any). */
export function detectSuricataEve(lines: readonly string[]): number {
  const objs = jsonObjects(lines);
  if (objs.length === 0 || !isEveEvent(objs[0]!)) return 0;
  return objs.some((o) => isEveEvent(o) && hasAddresses(o)) ? 1 : 0.6;
}

/** Detection: 1 when the first JSON line is a Network Firewall record wrapping an EVE event. */
export function detectAwsNetworkFirewall(lines: readonly string[]): number {
  const first = jsonObjects(lines)[0];
  if (first === undefined || !isJsonObject(first.event) || !isEveEvent(first.event)) return 0;
  return 'firewall_name' in first ? 1 : 0.6;
}

/** Registry entry for Suricata EVE JSON. */
export const suricataEveFormat: FormatDefinition = {
  name: 'suricata-eve',
  description: 'Suricata EVE JSON (eve.json): flow and netflow events, blocked alerts',
  detect: detectSuricataEve,
  create: () => new SuricataEveParser('suricata-eve'),
};

/** Registry entry for AWS Network Firewall flow and alert logs. */
export const awsNetworkFirewallFormat: FormatDefinition = {
  name: 'aws-network-firewall',
  description: 'AWS Network Firewall flow and alert logs (Suricata EVE events wrapped with firewall_name)',
  detect: detectAwsNetworkFirewall,
  create: () => new SuricataEveParser('aws-network-firewall'),
};
