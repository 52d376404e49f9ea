import type { FlowRecord } from '../types';

/** A fresh, reusable record with every field unknown. */
export function newRecord(): FlowRecord {
  return {
    line: 0,
    origIp: '',
    origPort: -1,
    respIp: '',
    respPort: -1,
    proto: '',
    origBytes: -1,
    respBytes: -1,
    firstSeenMs: NaN,
    lastSeenMs: NaN,
    rejected: false,
    oneWay: false,
    origLocal: false,
    respLocal: false,
    hostname: null,
    otherHostnames: null,
    app: null,
    ipBytes: null,
    origIpStart: 0,
    origIpEnd: 0,
    respIpStart: 0,
    respIpEnd: 0,
  };
}

/** Resets a reused record to every field unknown. */
export function resetRecord(r: FlowRecord, line: number): void {
  r.line = line;
  r.origPort = -1;
  r.respPort = -1;
  r.proto = '';
  r.origBytes = -1;
  r.respBytes = -1;
  r.firstSeenMs = NaN;
  r.lastSeenMs = NaN;
  r.rejected = false;
  r.oneWay = false;
  r.origLocal = false;
  r.respLocal = false;
  r.hostname = null;
  r.otherHostnames = null;
  r.app = null;
  r.ipBytes = null;
}
