/**
 * Google Cloud VPC Flow Logs as Cloud Logging exports them: a sink to Cloud Storage writes one
 * LogEntry per line (https://cloud.google.com/vpc/docs/flow-logs#record_format), and so does
 * `gcloud logging read --format=json` once its array is made lines (`| jq -c '.[]'`):
 *
 *   {"insertId": "...", "jsonPayload": {"connection": {"src_ip": "10.128.0.2", "src_port": 50112,
 *    "dest_ip": "142.250.1.1", "dest_port": 443, "protocol": 6}, "bytes_sent": "2452",
 *    "packets_sent": "13", "start_time": "2024-03-01T10:00:00.123456789Z", "end_time": "...",
 *    "reporter": "SRC", "src_instance": {...}, "dest_location": {...}}, "logName":
 *    "projects/p/logs/compute.googleapis.com%2Fvpc_flows", "resource": {"type": "gce_subnetwork"}, ...}
 *
 * Each record is one direction of a connection over the aggregation interval, as a VPC Flow Logs
 * record of AWS is: `bytes_sent` went from `src_ip` to `dest_ip` (64-bit counts are JSON strings,
 * numbers are read too), and the reverse direction is a record of its own (`oneWay`). A flow
 * between two VMs that both log is logged by each VM, so it counts twice; traffic to the
 * internet is logged once, by the VM's side. `reporter` says which end of the
 * record logged it, and that end is inside, whatever its address (a dual-stack VM's IPv6 address
 * is public). Google samples egress packets before egress firewall rules: an egress record is no
 * proof the packets left. Google's own location fields (`dest_location`) are not used: the
 * policy's databases judge the address. Firewall Rules Logging entries of the same resource are
 * skipped.
 *
 * A line that is not a JSON object, or a log entry that is no flow record (another log in the
 * same export), is a skipped record with its reason.
 */
import type { FlowRecord, LineParser, RecordSink } from '../types';
import { isJsonObject, jsonLineObject, parseTimestampText, reportJsonValue } from './bytes';
import type { FormatDefinition } from './index';
import { newRecord, resetRecord } from './record';
import { ipProtocolName } from './vpc-flow';

type Json = Record<string, unknown>;

function text(v: unknown): string | null {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : null;
}

function port(v: unknown): number {
  const n = typeof v === 'string' && /^\d{1,5}$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65535 ? n : -1;
}

/** A count as Cloud Logging writes an int64 (a string of digits) or a number; -1 when neither. */
function count(v: unknown): number {
  const n = typeof v === 'string' && /^\d{1,16}$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= Number.MAX_SAFE_INTEGER ? n : -1;
}

/** The connection of a VPC flow record's payload, or null when the entry is none. */
function connectionOf(o: Json | null): Json | null {
  const payload = o !== null && isJsonObject(o.jsonPayload) ? o.jsonPayload : null;
  return payload !== null && isJsonObject(payload.connection) ? payload.connection : null;
}

/**
 * Whether a payload is a Firewall Rules Logging entry's: the same resource and a connection too,
 * but a rule's decision, no traffic counted.
 */
function isFirewallRuleLog(payload: Json): boolean {
  return 'disposition' in payload || 'rule_details' in payload;
}

/** Parser for Google Cloud VPC Flow Logs (Cloud Logging entries, one per line). */
export class GcpVpcFlowParser implements LineParser {
  readonly format = 'gcp-vpc-flow' as const;
  private readonly rec: FlowRecord = newRecord();

  line(buf: Buffer, start: number, end: number, lineNo: number, sink: RecordSink): void {
    const entry = jsonLineObject(buf, start, end, lineNo, sink) as Json | null;
    if (entry === null) return;
    const c = connectionOf(entry);
    if (c === null) {
      sink.skip(lineNo, 'log entry is not a VPC flow record', 'no jsonPayload.connection');
      return;
    }
    const payload = entry.jsonPayload as Json;
    if (isFirewallRuleLog(payload)) {
      sink.skip(lineNo, 'log entry is a firewall rule log, not a VPC flow record');
      return;
    }
    const src = text(c.src_ip);
    const dest = text(c.dest_ip);
    if (src === null || dest === null) {
      sink.skip(lineNo, 'flow record has no src_ip/dest_ip');
      return;
    }
    const r = this.rec;
    resetRecord(r, lineNo);
    r.origIp = src;
    r.respIp = dest;
    r.origPort = port(c.src_port);
    r.respPort = port(c.dest_port);
    const protocol = typeof c.protocol === 'number' ? c.protocol : typeof c.protocol === 'string' && /^\d{1,3}$/.test(c.protocol) ? Number(c.protocol) : -1;
    r.proto = protocol >= 0 ? ipProtocolName(protocol) : '';
    r.origBytes = count(payload.bytes_sent);
    if (r.origBytes < 0) reportJsonValue(payload.bytes_sent, lineNo, 'bytes_sent', sink);
    r.respBytes = r.origBytes < 0 ? -1 : 0;
    r.oneWay = true;
    // The VM that logged the record is inside, whatever its address (a dual-stack VM's IPv6
    // address is public): SRC reports an egress record, DEST an ingress one.
    if (payload.reporter === 'SRC') r.origLocal = true;
    else if (payload.reporter === 'DEST') r.respLocal = true;
    r.firstSeenMs = this.time(payload.start_time, lineNo, 'start_time', sink);
    r.lastSeenMs = this.time(payload.end_time, lineNo, 'end_time', sink);
    sink.flow(r);
  }

  private time(v: unknown, lineNo: number, field: string, sink: RecordSink): number {
    const ms = typeof v === 'string' ? parseTimestampText(v) : NaN;
    if (ms !== ms) reportJsonValue(v, lineNo, field, sink);
    return ms;
  }

  finish(): void {}
}

/**
 * Detection: 1 when the first JSON line is a Cloud Logging entry of a VPC flow record (its
 * payload's `connection`, and the flow log's name, resource type or `reporter`).
 */
export function detectGcpVpcFlow(lines: readonly string[]): number {
  // Cloud Logging entries (each with a logName or jsonPayload) until one is a flow record: an
  // export holds other logs too, which the parser skips.
  let first = true;
  for (const l of lines.slice(0, 200)) {
    const t = l.trim();
    if (t === '') continue;
    let o: unknown;
    try {
      o = t.startsWith('{') ? JSON.parse(t) : null;
    } catch {
      // A first line cut off: the next decides.
      if (first) {
        first = false;
        continue;
      }
      return 0;
    }
    first = false;
    if (!isJsonObject(o) || (typeof o.logName !== 'string' && !isJsonObject(o.jsonPayload))) return 0;
    const c = connectionOf(o);
    if (c === null || !('src_ip' in c) || !('dest_ip' in c)) continue;
    const payload = o.jsonPayload as Json;
    if (isFirewallRuleLog(payload)) continue;
    const resource = isJsonObject(o.resource) ? o.resource.type : undefined;
    const flowLog = (typeof o.logName === 'string' && o.logName.includes('vpc_flows')) || resource === 'gce_subnetwork' || typeof payload.reporter === 'string';
    return flowLog ? 1 : 0;
  }
  return 0;
}

/** Registry entry. */
export const gcpVpcFlowFormat: FormatDefinition = {
  name: 'gcp-vpc-flow',
  description: 'Google Cloud VPC Flow Logs, Cloud Logging entries one per line (a Cloud Storage export)',
  detect: detectGcpVpcFlow,
  create: () => new GcpVpcFlowParser(),
};
