/**
 * Zeek `conn.log` written as JSON lines (`LogAscii::use_json=T`): one object per line with flat
 * dotted keys (`"id.orig_h"`; `"id_orig_h"` with `redef Log::default_scope_sep = "_"`), or
 * nested `id` objects from some shippers. Unset fields are
 * omitted. `ts` is epoch seconds; integer milliseconds with `json_timestamps=JSON::TS_MILLIS`;
 * ISO 8601 with `JSON::TS_ISO8601`.
 *
 * Zeek's other logs (dns, http, ssl, notice, weird...) have `id.orig_h`/`id.resp_h` too, and in
 * JSON no `#path` line says which log a file is. Their records are not connections (a DNS query is
 * not a transfer; an HTTP request's connection is in conn.log already), so each record is read
 * only when it is a conn.log record: see {@link otherZeekLog}.
 */
import type { FlowRecord, LineParser, RecordSink } from '../types';
import { MAX_DATE_MS, epochNumberMs, jsonLineObject, parseTimestampText, reportJsonValue, saysTrueValue } from './bytes';
import { newRecord, resetRecord } from './record';
import { ZeekJsonScanner } from './zeek-json-scan';
import { CONN_LONG, CONN_LONG_WHAT, isConnLogPath, NO_REPLY_STATES } from './zeek-paths';

function num(v: unknown): number {
  // Past 2^53 a number is no count of anything (1e308 bytes would make the totals Infinity).
  return typeof v === 'number' && v >= 0 && v <= Number.MAX_SAFE_INTEGER ? v : -1;
}

/**
 * Reads `ts` as epoch milliseconds: seconds, or milliseconds (`JSON::TS_MILLIS`) told apart by
 * magnitude (10^11 seconds is the year 5138; 10^11 milliseconds is 1973; see epochNumberMs), or
 * ISO 8601 text.
 */
export function zeekTimeMs(v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return epochNumberMs(v);
  if (typeof v === 'string') return parseTimestampText(v);
  return NaN;
}

/** Fields only conn.log has among Zeek's logs: a record with one is a connection. */
const CONN_FIELDS = [
  'conn_state',
  'missed_bytes',
  'history',
  'orig_bytes',
  'resp_bytes',
  'orig_pkts',
  'resp_pkts',
  'orig_ip_bytes',
  'resp_ip_bytes',
  'local_orig',
  'local_resp',
  'tunnel_parents',
];

/** Fields that mark another Zeek log's record, with that log's name. */
const OTHER_LOG_FIELDS: readonly (readonly [string, string])[] = [
  ['query', 'dns'],
  ['qtype', 'dns'],
  ['trans_id', 'dns'],
  ['rcode', 'dns'],
  ['answers', 'dns'],
  ['method', 'http'],
  ['uri', 'http'],
  ['status_code', 'http'],
  ['user_agent', 'http'],
  ['trans_depth', 'http'],
  ['server_name', 'ssl'],
  ['cipher', 'ssl'],
  ['established', 'ssl'],
  ['note', 'notice'],
  ['msg', 'notice'],
  ['peer', 'weird'],
  ['addl', 'weird'],
  ['fuid', 'files'],
  ['mime_type', 'files'],
  ['auth_success', 'ssh'],
  ['auth_attempts', 'ssh'],
  ['mailfrom', 'smtp'],
  ['rcptto', 'smtp'],
  ['helo', 'smtp'],
  ['command', 'ftp'],
  ['reply_code', 'ftp'],
  ['request_type', 'kerberos'],
  ['cookie', 'rdp'],
  ['call_id', 'sip'],
  ['community', 'snmp'],
  ['tunnel_type', 'tunnel'],
  ['operation', 'dce_rpc'],
  ['domainname', 'ntlm'],
  ['msg_types', 'dhcp'],
  ['analyzer', 'dpd'],
  ['failure_reason', 'analyzer'],
];

/**
 * Why record `o` is not a conn.log record, or null when it is one. In order: a `_path` field names
 * the log (the json-streaming-logs package writes every log into one stream with it; conn, and
 * filtered conn logs such as `conn_red`, are read); then a field only conn.log has makes it a
 * connection; then a field of another log makes it that log's record. A record with neither (a
 * reduced conn.log that keeps only addresses, ports and bytes) is read as a connection.
 */
export function otherZeekLog(o: Record<string, unknown>): string | null {
  const path = o._path;
  if (typeof path === 'string') {
    if (path === '' || isConnLogPath(path)) return null;
    if (path.startsWith(CONN_LONG)) return `a Zeek ${CONN_LONG}.log record ${CONN_LONG_WHAT}`;
    // A reason is a short stable phrase: a path is cut (a value can be anything).
    const name = path.length > 40 ? `${path.slice(0, 40)}…` : path;
    return `a Zeek ${name}.log record (_path ${JSON.stringify(name)}), not a connection`;
  }
  for (const f of CONN_FIELDS) if (f in o) return null;
  for (const [f, log] of OTHER_LOG_FIELDS) {
    if (f in o) {
      const hint = log === 'dns' ? ' (give a dns.log beside the conn.log with --dns)' : '';
      return `a Zeek ${log}.log record (it has "${f}"), not a connection${hint}`;
    }
  }
  return null;
}

/** Parser for Zeek JSON-lines logs. */
export class ZeekJsonParser implements LineParser {
  readonly format = 'zeek-json' as const;
  private readonly rec: FlowRecord = newRecord();
  private readonly scanner: ZeekJsonScanner | null;

  /**
   * @param options.fromBytes read the lines Zeek writes straight from their bytes (ZeekJsonScanner),
   *   the rest with JSON.parse (the default); false: every line with JSON.parse (the two agree)
   */
  constructor(options: { fromBytes?: boolean } = {}) {
    this.scanner = options.fromBytes === false ? null : new ZeekJsonScanner();
  }

  line(buf: Buffer, start: number, end: number, lineNo: number, sink: RecordSink): void {
    if (this.scanner !== null && this.scanner.read(buf, start, end, lineNo, this.rec)) {
      sink.flow(this.rec);
      return;
    }
    const o = jsonLineObject(buf, start, end, lineNo, sink);
    if (o === null) return;
    const other = otherZeekLog(o);
    if (other !== null) {
      if (sink.notConnection) sink.notConnection(lineNo, other);
      else sink.skip(lineNo, other);
      return;
    }
    const id = (o.id && typeof o.id === 'object' ? o.id : {}) as Record<string, unknown>;
    const origIp = o['id.orig_h'] ?? id.orig_h ?? o.id_orig_h;
    const respIp = o['id.resp_h'] ?? id.resp_h ?? o.id_resp_h;
    if (typeof origIp !== 'string' || typeof respIp !== 'string') {
      sink.skip(lineNo, 'record has no id.orig_h/id.resp_h');
      return;
    }
    const r = this.rec;
    resetRecord(r, lineNo);
    r.origIp = origIp;
    r.respIp = respIp;
    r.origPort = num(o['id.orig_p'] ?? id.orig_p ?? o.id_orig_p);
    r.respPort = num(o['id.resp_p'] ?? id.resp_p ?? o.id_resp_p);
    r.proto = typeof o.proto === 'string' ? o.proto : '';
    r.origBytes = num(o.orig_bytes);
    if (r.origBytes < 0) reportJsonValue(o.orig_bytes, lineNo, 'orig_bytes', sink);
    r.respBytes = num(o.resp_bytes);
    if (r.respBytes < 0) {
      reportJsonValue(o.resp_bytes, lineNo, 'resp_bytes', sink);
      // Unset (Zeek leaves it out), and the state says the responder sent nothing: see NO_REPLY_STATES.
      if (o.resp_bytes == null && typeof o.conn_state === 'string' && NO_REPLY_STATES.has(o.conn_state)) r.respBytes = 0;
    }
    r.firstSeenMs = zeekTimeMs(o.ts);
    if (r.firstSeenMs !== r.firstSeenMs) reportJsonValue(o.ts, lineNo, 'ts', sink);
    const dur = typeof o.duration === 'number' ? o.duration * 1000 : NaN;
    if (dur !== dur) reportJsonValue(o.duration, lineNo, 'duration', sink);
    // A duration that would end past the dates a Date holds is no duration.
    const last = r.firstSeenMs + dur;
    r.lastSeenMs = Math.abs(last) <= MAX_DATE_MS ? last : r.firstSeenMs;
    // true when the sensor's Site::local_nets holds the address (see FlowRecord.origLocal); a
    // pipeline may have made it a string ("T", "true").
    r.origLocal = saysTrueValue(o.local_orig);
    r.respLocal = saysTrueValue(o.local_resp);
    sink.flow(r);
  }

  finish(): void {}
}
