/**
 * HTTP Archive (HAR 1.2, http://www.softwareishard.com/blog/har-12-spec/): one JSON document
 * `{"log": {"entries": [...]}}` written by browser dev tools (Chrome, Firefox), mitmproxy, Charles
 * and HTTP Toolkit. Each entry is one request; its record "line" is the 1-based entry index.
 *
 * The document is read entry by entry as its bytes arrive (JsonArrayElements): memory holds one
 * entry, not the file, whatever its size. Each entry is parsed with JSON.parse; what lies beside
 * `log.entries` (pages, creator, browser) is passed over, its brackets and strings followed but
 * its values not checked. A document cut off or with unbalanced brackets is an error, as is one
 * without `log.entries`; an entry that is not valid JSON is a skipped record.
 *
 * Per entry: the server is `serverIPAddress` (absent or `""` for cached or failed requests,
 * sometimes `[v6]` in brackets); the client is the monitored side ({@link MONITORED_SIDE}: a HAR
 * never names the client address). Bytes sent are `request.headersSize + request.bodySize`,
 * received `response.headersSize + response.bodySize`. The spec's -1 ("not available") is filled
 * in from what the entry does hold: Chrome and Safari write -1 for every HTTP/2 and HTTP/3
 * header size, so a request's header list counts as its text would, and a response counts
 * `_transferSize` (its bytes on the wire). What stays unknown makes the total unknown, never zero.
 * A WebSocket's messages (`_webSocketMessages`) add to the bytes of its upgrade request. HTTP/3
 * entries (`httpVersion` `h3`, `HTTP/3`) are UDP. A response Chrome took from its cache
 * (`_fromCache`) went nowhere: a record without data, whatever address it names. Writers that
 * record no server address (HTTP Toolkit, Insomnia, Playwright's minimal mode) give entries that
 * are unattributed.
 *
 * A browser that went through a proxy on the same machine (mitmproxy, Charles, Burp, Fiddler)
 * writes the proxy's address, `127.0.0.1`, as `serverIPAddress`: such an entry names no server,
 * and is unattributed, never a non-public destination that passes; so is a proxy elsewhere on the
 * network, once told apart from a server inside (see HarParser.lanEntry).
 */
import { classifyAddress } from '../net/address-class';
import { parseIp } from '../net/ip';
import type { ChunkParser, FlowRecord, RecordSink } from '../types';
import { isJsonObject, skipBom } from './bytes';
import { JsonArrayElements } from './json-elements';
import { MONITORED_SIDE } from './generic-csv';
import type { FormatDefinition } from './index';
import { newRecord, resetRecord } from './record';

/**
 * Largest HAR entry read, in bytes (a response's content can be inlined, base64). An entry is
 * decoded into one string, and V8 strings end just below 512 MiB (2^29 - 24 UTF-16 units).
 */
export const MAX_HAR_ENTRY_BYTES = 500 * 1024 * 1024;

/** Default ports of the URL schemes HAR entries use (WHATWG URL leaves `port` empty for them). */
const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  'http:': 80,
  'https:': 443,
  'ws:': 80,
  'wss:': 443,
  'ftp:': 21,
};

/** A HAR size field: a non-negative integer, or -1 for "not available" and anything else. */
function size(v: unknown): number {
  // Past 2^53 a number is no size of anything (1e308 bytes would make the totals Infinity).
  return typeof v === 'number' && v >= 0 && v <= Number.MAX_SAFE_INTEGER ? Math.round(v) : -1;
}

/**
 * A header list's size as text, `name: value` and CRLF each and a CRLF after them (UTF-8), or -1
 * when there is no list. HTTP/2 and HTTP/3 requests list their pseudo-headers (`:method`,
 * `:path`, ...), which stand for the request line.
 */
function headerListBytes(headers: unknown): number {
  if (!Array.isArray(headers)) return -1;
  let n = 2;
  for (const h of headers) {
    if (!isJsonObject(h) || typeof h.name !== 'string' || typeof h.value !== 'string') return -1;
    n += Buffer.byteLength(h.name) + 2 + Buffer.byteLength(h.value) + 2;
  }
  return n;
}

/**
 * Bytes of a request: `headersSize + bodySize`. Where `headersSize` is -1 (Chrome and Safari for
 * HTTP/2 and HTTP/3, which have no header text), the header list counts as its text would; where
 * `bodySize` is -1, the posted text (`postData.text`). -1 when either is still unknown.
 */
function requestBytes(request: unknown): number {
  if (!isJsonObject(request)) return -1;
  let headers = size(request.headersSize);
  if (headers < 0) headers = headerListBytes(request.headers);
  let body = size(request.bodySize);
  if (body < 0 && isJsonObject(request.postData) && typeof request.postData.text === 'string') body = Buffer.byteLength(request.postData.text);
  return headers < 0 || body < 0 ? -1 : headers + body;
}

/**
 * Bytes of a response: `headersSize + bodySize`; where either is -1, the bytes on the wire that
 * Chrome and WebKit write as `_transferSize`. -1 when neither is known.
 */
function responseBytes(response: unknown): number {
  if (!isJsonObject(response)) return -1;
  const headers = size(response.headersSize);
  const body = size(response.bodySize);
  if (headers >= 0 && body >= 0) return headers + body;
  return size(response._transferSize);
}

/**
 * Bytes of a WebSocket's messages (Chrome's `_webSocketMessages`: `type` send or receive,
 * `opcode` 1 text or 2 binary in base64), as [sent, received].
 */
function webSocketBytes(messages: unknown): [number, number] {
  let sent = 0;
  let received = 0;
  if (!Array.isArray(messages)) return [0, 0];
  for (const m of messages) {
    if (!isJsonObject(m) || typeof m.data !== 'string') continue;
    const n = m.opcode === 2 ? Buffer.byteLength(m.data, 'base64') : Buffer.byteLength(m.data);
    if (m.type === 'send') sent += n;
    else if (m.type === 'receive') received += n;
  }
  return [sent, received];
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

/** Whether an address text is a loopback address (127.0.0.0/8, ::1, or IPv4-mapped 127/8). */
function isLoopback(text: string): boolean {
  const ip = parseIp(text);
  return ip !== null && classifyAddress(ip) === 'loopback';
}

/** Host names that are this machine's own: `localhost` and its subdomains (RFC 6761). */
function isLocalName(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost') || h.endsWith('.test')) return true;
  // Public names whose DNS answers loopback for every subdomain, kept for local development.
  if (LOOPBACK_DOMAINS.some((d) => h === d || h.endsWith(`.${d}`))) return true;
  // nip.io and sslip.io answer the address spelled in the name: 127.0.0.1.nip.io, app.127-0-0-1.sslip.io.
  return /(^|\.)127[.-]\d{1,3}[.-]\d{1,3}[.-]\d{1,3}\.(nip\.io|sslip\.io)$/.test(h);
}

/** Domains that resolve, with every name under them, to 127.0.0.1 (local development servers). */
const LOOPBACK_DOMAINS = ['lvh.me', 'localtest.me', 'vcap.me', 'lacolhost.com'];

/** Whether a request or response's `httpVersion` is HTTP/3 (`h3`, `h3-29`, `HTTP/3`, `http/3.0`). */
function isHttp3(message: unknown): boolean {
  if (!isJsonObject(message) || typeof message.httpVersion !== 'string') return false;
  return /^(h3(-\w+)?|http\/3(\.0)?)$/i.test(message.httpVersion.trim());
}

/** `connection` as a port: only a plain decimal 1-65535. */
function connectionPort(v: unknown): number {
  if (typeof v !== 'string' || !/^\d{1,5}$/.test(v)) return -1;
  const n = Number(v);
  return n >= 1 && n <= 65535 ? n : -1;
}

/** An entry that names no server: unattributed (a skip for sinks without that), with its URL. */
function unattributed(sink: RecordSink, line: number, reason: string, url: unknown): void {
  const detail = typeof url === 'string' ? url : undefined;
  if (sink.unattributed) sink.unattributed(line, reason, detail);
  else sink.skip(line, reason, detail);
}

/**
 * Entries held back at most, over the non-public server addresses not yet told apart as a server
 * or a proxy (see HarParser.lanEntry): past it they are read as a server's, as before they were held.
 */
export const MAX_HELD_ENTRIES = 20_000;

/**
 * The site a host name belongs to, roughly its registrable domain: its last two labels, three
 * under a country code's second-level domain (`example.co.uk`). A proxy's entries name hosts of
 * several sites; a server inside (an intranet's reverse proxy) serves names of one.
 */
function siteOf(host: string): string {
  const labels = host.toLowerCase().replace(/\.$/, '').split('.');
  const n = labels.length;
  // Names that are no public site's (a single label, a private-use or special top-level domain:
  // `wiki`, `gitlab.corp`, `nas.lan`, `a.test`) are all one intranet's: an internal reverse proxy
  // serves many of them.
  if (n === 1 || INTERNAL_TLDS.has(labels[n - 1]!) || host.toLowerCase().endsWith('.home.arpa')) return '(internal names)';
  if (n <= 2) return labels.join('.');
  const three = labels[n - 1]!.length === 2 && /^(co|com|net|org|gov|ac|edu|ne|or|go|gob|nic)$/.test(labels[n - 2]!);
  return labels.slice(three ? -3 : -2).join('.');
}

/** Top-level domains no public site has: private use by convention, and RFC 6761's special names. */
const INTERNAL_TLDS = new Set(['corp', 'lan', 'local', 'home', 'internal', 'intranet', 'private', 'localdomain', 'test', 'localhost', 'example', 'invalid']);

/** A non-public server address of a HAR, while its entries are held (see HarParser.lanEntry). */
interface LanServer {
  /** The sites of its entries' URLs, and the first host name of each (two at most). */
  readonly sites: Map<string, string>;
  /** Why it is a proxy, once it is one. */
  proxy: string | null;
  /** Its entries held back; null once they were read as a server's. */
  held: { rec: FlowRecord; url: unknown }[] | null;
}

/** Parser for HAR 1.2 documents. */
export class HarParser implements ChunkParser {
  readonly format = 'har' as const;
  private readonly rec: FlowRecord = newRecord();
  private readonly elements: JsonArrayElements;
  /** The sink of the chunk being read (entries are handed over during push). */
  private sink: RecordSink | null = null;
  /** Non-public server addresses, by their text (see lanEntry). */
  private readonly lan = new Map<string, LanServer>();
  private held = 0;

  constructor(maxEntryBytes = MAX_HAR_ENTRY_BYTES) {
    this.elements = new JsonArrayElements(['log', 'entries'], (bytes, index) => this.element(bytes, index + 1), maxEntryBytes, 'HAR');
  }

  push(chunk: Buffer, sink: RecordSink): void {
    this.sink = sink;
    try {
      this.elements.push(chunk);
    } finally {
      this.sink = null;
    }
  }

  finish(sink: RecordSink): void {
    try {
      this.elements.finish();
    } finally {
      // Also for a document cut off: the entries read before it stopped are in the error verdict.
      this.releaseAll(sink);
    }
  }

  /**
   * An entry whose server address is not public and not this machine's. A browser set to use a
   * proxy elsewhere on the network (a company's, Charles on another machine) writes the proxy's
   * address for every entry: read as the server, it would be a non-public destination that
   * passes. So such an address's entries are held until it is told apart: a proxy once its
   * entries' URLs name hosts of two sites (`www.google.com`, `upload.bugly.qq.com`), or name an
   * address other than it; then every entry of it is unattributed. At the end (or past
   * {@link MAX_HELD_ENTRIES}) an address of one site is a server inside, an intranet's, and its
   * entries are read as its, in their order.
   */
  private lanEntry(r: FlowRecord, url: UrlFacts, urlText: unknown, sink: RecordSink): void {
    let server = this.lan.get(r.respIp);
    if (server === undefined) {
      server = { sites: new Map(), proxy: null, held: [] };
      this.lan.set(r.respIp, server);
    }
    if (server.proxy === null) {
      if (url.address !== null && parseIp(url.address)?.text !== parseIp(r.respIp)?.text) {
        server.proxy = `serverIPAddress ${r.respIp} is a proxy, not the server of ${url.address} (record the HAR without the proxy, or export it from the proxy)`;
      } else if (url.hostname !== null && server.sites.size < 2) {
        const site = siteOf(url.hostname);
        if (!server.sites.has(site)) server.sites.set(site, url.hostname);
        if (server.sites.size >= 2) {
          server.proxy = `serverIPAddress ${r.respIp} answered for hosts of several sites (${[...server.sites.values()].join(', ')}): a proxy, not their server (record the HAR without the proxy, or export it from the proxy)`;
        }
      }
      if (server.proxy !== null && server.held !== null) {
        for (const h of server.held) unattributed(sink, h.rec.line, server.proxy, h.url);
        this.held -= server.held.length;
        server.held = [];
      }
    }
    if (server.proxy !== null) {
      unattributed(sink, r.line, server.proxy, urlText);
      return;
    }
    if (server.held === null) {
      sink.flow(r);
      return;
    }
    server.held.push({ rec: { ...r }, url: urlText });
    if (++this.held > MAX_HELD_ENTRIES) this.releaseAll(sink);
  }

  /** Reads every entry held as its address's, a server's (see lanEntry). */
  private releaseAll(sink: RecordSink): void {
    for (const server of this.lan.values()) {
      if (server.held === null || server.proxy !== null) continue;
      for (const h of server.held) sink.flow(h.rec);
      server.held = null;
    }
    this.held = 0;
  }

  private element(bytes: Buffer, line: number): void {
    const sink = this.sink!;
    let e: unknown;
    try {
      e = JSON.parse(bytes.toString('utf8'));
    } catch {
      sink.skip(line, 'entry is not valid JSON');
      return;
    }
    this.entry(e, line, sink);
  }

  private entry(e: unknown, line: number, sink: RecordSink): void {
    if (!isJsonObject(e)) {
      sink.skip(line, 'entry is not an object');
      return;
    }
    const request = isJsonObject(e.request) ? e.request : {};
    const url = urlFacts(request.url);
    // A URL such as http://192.0.2.1/ names the server itself when serverIPAddress is missing.
    const address = serverAddress(e.serverIPAddress) ?? url.address;
    if (address !== null && url.address === null && url.hostname !== null && isLoopback(address) && !isLocalName(url.hostname)) {
      unattributed(sink, line, `serverIPAddress ${address} is a proxy on the capturing machine, not the server of ${url.hostname} (record the HAR without the proxy, or export it from the proxy)`, request.url);
      return;
    }
    // Chrome writes the server's address for a response it took from its disk or memory cache
    // (`_fromCache`): nothing went over the network for it.
    if (typeof e._fromCache === 'string' && e._fromCache !== '') {
      sink.noData(line, `served from the browser's ${e._fromCache} cache`);
      return;
    }
    if (address === null) {
      // Chrome marks failed requests with `response._error`.
      const response = isJsonObject(e.response) ? e.response : {};
      const reason = typeof response._error === 'string' && response._error !== '' ? 'no serverIPAddress (request failed)' : 'no serverIPAddress';
      unattributed(sink, line, reason, request.url);
      return;
    }
    const r = this.rec;
    resetRecord(r, line);
    r.origIp = MONITORED_SIDE;
    r.respIp = address;
    // Chrome's `connection` is a socket id ("159834"), Firefox's the server port: the URL's port
    // is the server port for both; `connection` only fills in for schemes without a default.
    r.respPort = url.port >= 0 ? url.port : connectionPort(e.connection);
    // HTTP/3 runs over QUIC, on UDP (Chrome writes `h3`, Firefox `HTTP/3`).
    r.proto = isHttp3(e.response) || isHttp3(e.request) ? 'udp' : 'tcp';
    r.origBytes = requestBytes(e.request);
    r.respBytes = responseBytes(e.response);
    if (Array.isArray(e._webSocketMessages)) {
      // A WebSocket's frames went over the connection its upgrade request opened.
      const [sent, received] = webSocketBytes(e._webSocketMessages);
      if (r.origBytes >= 0) r.origBytes += sent;
      if (r.respBytes >= 0) r.respBytes += received;
    }
    r.firstSeenMs = typeof e.startedDateTime === 'string' ? Date.parse(e.startedDateTime) : NaN;
    const time = typeof e.time === 'number' && e.time >= 0 ? e.time : NaN;
    r.lastSeenMs = r.firstSeenMs + time;
    r.hostname = url.hostname;
    const ip = parseIp(r.respIp);
    const kind = ip === null ? 'public' : classifyAddress(ip);
    if (kind !== 'public' && kind !== 'loopback') {
      this.lanEntry(r, url, request.url, sink);
      return;
    }
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
  description: 'HTTP Archive (HAR 1.2) from browser dev tools, mitmproxy, Charles, Playwright',
  detect: detectHar,
  create: () => new HarParser(),
};
