/**
 * HTTP Archive (HAR 1.2, http://www.softwareishard.com/blog/har-12-spec/): one JSON document
 * `{"log": {"entries": [...]}}` written by browser dev tools (Chrome, Firefox), mitmproxy, Charles
 * and HTTP Toolkit. Each entry is one request; its record "line" is the 1-based entry index.
 *
 * A HAR cannot be read record by record without a streaming JSON parser, so the bytes are kept
 * (up to {@link MAX_HAR_BYTES}) and parsed at the end.
 *
 * Per entry: the server is `serverIPAddress` (absent or `""` for cached or failed requests,
 * sometimes `[v6]` in brackets); the client is the monitored side ({@link MONITORED_SIDE}: a HAR
 * never names the client address). Bytes sent are `request.headersSize + request.bodySize`,
 * received `response.headersSize + response.bodySize`; the spec's -1 ("not available", as Chrome
 * writes for HTTP/2 headers) makes the total unknown, never zero.
 */
import { InputError } from '../errors';
import { parseIp } from '../net/ip';
import type { ChunkParser, FlowRecord, RecordSink } from '../types';
import { skipBom } from './bytes';
import { MONITORED_SIDE } from './generic-csv';
import type { FormatDefinition } from './index';
import { newRecord, resetRecord } from './record';

/**
 * Largest HAR read, in bytes. The document is decoded into one string, and V8 strings end just
 * below 512 MiB (2^29 - 24 UTF-16 units), so a larger file could not be parsed anyway.
 */
export const MAX_HAR_BYTES = 500 * 1024 * 1024;

/** Default ports of the URL schemes HAR entries use (WHATWG URL leaves `port` empty for them). */
const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  'http:': 80,
  'https:': 443,
  'ws:': 80,
  'wss:': 443,
  'ftp:': 21,
};

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A HAR size field: a non-negative integer, or -1 for "not available" and anything else. */
function size(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.round(v) : -1;
}

/** Sum of a message's header and body sizes; -1 when either is unknown. */
function messageBytes(message: unknown): number {
  if (!isObject(message)) return -1;
  const headers = size(message.headersSize);
  const body = size(message.bodySize);
  return headers < 0 || body < 0 ? -1 : headers + body;
}

/**
 * The address in a `serverIPAddress` value, without brackets or a port (`[2001:db8::1]`,
 * `[2001:db8::1]:443`, `192.0.2.1:443`); null when it is missing or blank.
 */
export function serverAddress(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  let s = v.trim();
  if (s === '') return null;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close > 1) s = s.slice(1, close);
  } else if (s.indexOf(':') > 0 && s.indexOf(':') === s.lastIndexOf(':')) {
    s = s.slice(0, s.indexOf(':'));
  }
  return s;
}

interface UrlFacts {
  /** Host name, or null when the URL names the host by address (or cannot be read). */
  hostname: string | null;
  /** Host address when the URL names the host by address. */
  address: string | null;
  /** Explicit or scheme-default port; -1 when neither. */
  port: number;
}

function urlFacts(text: unknown): UrlFacts {
  if (typeof text !== 'string') return { hostname: null, address: null, port: -1 };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { hostname: null, address: null, port: -1 };
  }
  let host = url.hostname;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = url.port !== '' ? Number(url.port) : (DEFAULT_PORTS[url.protocol] ?? -1);
  if (host === '') return { hostname: null, address: null, port };
  return parseIp(host) === null
    ? { hostname: host, address: null, port }
    : { hostname: null, address: host, port };
}

/** `connection` as a port: only a plain decimal 1-65535. */
function connectionPort(v: unknown): number {
  if (typeof v !== 'string' || !/^\d{1,5}$/.test(v)) return -1;
  const n = Number(v);
  return n >= 1 && n <= 65535 ? n : -1;
}

/** Parser for HAR 1.2 documents. */
export class HarParser implements ChunkParser {
  readonly format = 'har' as const;
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  private readonly rec: FlowRecord = newRecord();

  constructor(private readonly maxBytes = MAX_HAR_BYTES) {}

  push(chunk: Buffer, _sink?: RecordSink): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      throw new InputError(
        `HAR file is larger than ${this.maxBytes} bytes, the most that can be read as one JSON document (split the capture into smaller HAR files)`,
      );
    }
    this.chunks.push(Buffer.from(chunk));
  }

  finish(sink: RecordSink): void {
    const all = Buffer.concat(this.chunks, this.bytes);
    this.chunks.length = 0;
    let doc: unknown;
    try {
      doc = JSON.parse(all.toString('utf8', skipBom(all, 0, all.length)));
    } catch (err) {
      // V8's message quotes the input around the error: keep the message on one line.
      const why = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ');
      throw new InputError(
        `HAR is not valid JSON (${why.length > 160 ? `${why.slice(0, 160)}…` : why}); a truncated capture cannot be read`,
        { cause: err },
      );
    }
    const log = isObject(doc) ? doc.log : undefined;
    const entries = isObject(log) ? log.entries : undefined;
    if (!Array.isArray(entries)) {
      throw new InputError('not a HAR document: expected {"log": {"entries": [...]}}');
    }
    for (let i = 0; i < entries.length; i++) this.entry(entries[i], i + 1, sink);
  }

  private entry(e: unknown, line: number, sink: RecordSink): void {
    if (!isObject(e)) {
      sink.skip(line, 'entry is not an object');
      return;
    }
    const request = isObject(e.request) ? e.request : {};
    const url = urlFacts(request.url);
    // A URL such as http://192.0.2.1/ names the server itself when serverIPAddress is missing.
    const address = serverAddress(e.serverIPAddress) ?? url.address;
    if (address === null) {
      // Chrome marks cache hits with `_fromCache` and failed requests with `response._error`.
      const response = isObject(e.response) ? e.response : {};
      const reason =
        typeof e._fromCache === 'string'
          ? 'no serverIPAddress (served from cache)'
          : typeof response._error === 'string' && response._error !== ''
            ? 'no serverIPAddress (request failed)'
            : 'no serverIPAddress';
      const detail = typeof request.url === 'string' ? request.url : undefined;
      if (sink.unattributed) sink.unattributed(line, reason, detail);
      else sink.skip(line, reason, detail);
      return;
    }
    const r = this.rec;
    resetRecord(r, line);
    r.origIp = MONITORED_SIDE;
    r.respIp = address;
    // Chrome's `connection` is a socket id ("159834"), Firefox's the server port: the URL's port
    // is the server port for both; `connection` only fills in for schemes without a default.
    r.respPort = url.port >= 0 ? url.port : connectionPort(e.connection);
    r.proto = 'tcp';
    r.origBytes = messageBytes(e.request);
    r.respBytes = messageBytes(e.response);
    r.firstSeenMs = typeof e.startedDateTime === 'string' ? Date.parse(e.startedDateTime) : NaN;
    const time = typeof e.time === 'number' && e.time >= 0 ? e.time : NaN;
    r.lastSeenMs = r.firstSeenMs + time;
    r.hostname = url.hostname;
    sink.flow(r);
  }
}

/**
 * Detection: 1 when the input starts with `{` and a `"log"` key opening an object appears near
 * the start (HAR has nothing else at the top level).
 */
export function detectHar(lines: readonly string[], head?: Buffer): number {
  const text = (
    head !== undefined && head.length > 0
      ? head.toString('utf8', skipBom(head, 0, head.length), Math.min(head.length, 4096))
      : lines.join('\n')
  ).trimStart();
  return text.startsWith('{') && /"log"\s*:\s*\{/.test(text) ? 1 : 0;
}

/** Registry entry. */
export const harFormat: FormatDefinition = {
  name: 'har',
  description: 'HTTP Archive (HAR 1.2) from browser dev tools, mitmproxy, Charles or HTTP Toolkit',
  detect: detectHar,
  create: () => new HarParser(),
};
