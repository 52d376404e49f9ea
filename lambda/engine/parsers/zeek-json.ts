/**
 * Zeek `conn.log` written as JSON lines (`LogAscii::use_json=T`): one object per line with flat
 * dotted keys (`"id.orig_h"`), or nested `id` objects from some shippers. Unset fields are
 * omitted. `ts` is epoch seconds, or ISO 8601 with `json_timestamps=JSON::TS_ISO8601`.
 */
import type { FlowRecord, LineParser, RecordSink } from '../types';
import { jsonLineObject, parseTimestampText } from './bytes';
import { newRecord, resetRecord } from './record';

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : -1;
}

/** Reads `ts` as epoch milliseconds. */
export function zeekTimeMs(v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v * 1000;
  if (typeof v === 'string') return parseTimestampText(v);
  return NaN;
}

/** Parser for Zeek JSON-lines logs. */
export class ZeekJsonParser implements LineParser {
  readonly format = 'zeek-json' as const;
  private readonly rec: FlowRecord = newRecord();

  line(buf: Buffer, start: number, end: number, lineNo: number, sink: RecordSink): void {
    const o = jsonLineObject(buf, start, end, lineNo, sink);
    if (o === null) return;
    const id = (o.id && typeof o.id === 'object' ? o.id : {}) as Record<string, unknown>;
    const origIp = o['id.orig_h'] ?? id.orig_h;
    const respIp = o['id.resp_h'] ?? id.resp_h;
    if (typeof origIp !== 'string' || typeof respIp !== 'string') {
      sink.skip(lineNo, 'record has no id.orig_h/id.resp_h');
      return;
    }
    const r = this.rec;
    resetRecord(r, lineNo);
    r.origIp = origIp;
    r.respIp = respIp;
    r.origPort = num(o['id.orig_p'] ?? id.orig_p);
    r.respPort = num(o['id.resp_p'] ?? id.resp_p);
    r.proto = typeof o.proto === 'string' ? o.proto : '';
    r.origBytes = num(o.orig_bytes);
    r.respBytes = num(o.resp_bytes);
    r.firstSeenMs = zeekTimeMs(o.ts);
    const dur = typeof o.duration === 'number' ? o.duration * 1000 : NaN;
    r.lastSeenMs = dur === dur ? r.firstSeenMs + dur : r.firstSeenMs;
    sink.flow(r);
  }

  finish(): void {}
}
