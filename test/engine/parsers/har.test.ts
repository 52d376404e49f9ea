import { InputError } from '../../../lambda/engine/errors';
import { detectFormat, findFormat } from '../../../lambda/engine/parsers';
import { detectHar, HarParser, MAX_HELD_ENTRIES, serverAddress } from '../../../lambda/engine/parsers/har';
import type { RecordSink } from '../../../lambda/engine/types';
import { checkBytes, destination, fixture, policyOf } from '../../helpers/engine';
import { RecordingSink } from './harness';

/** A recording sink that also records unattributed entries. */
class HarSink extends RecordingSink implements RecordSink {
  readonly unattributedCalls: { line: number; reason: string; detail?: string }[] = [];
  unattributed(line: number, reason: string, detail?: string): void {
    this.unattributedCalls.push(detail === undefined ? { line, reason } : { line, reason, detail });
  }
  get flows() {
    return this.calls.flatMap((c) => (c.kind === 'flow' ? [c.record] : []));
  }
  get skips() {
    return this.calls.flatMap((c) => (c.kind === 'skip' ? [c] : []));
  }
}

/** Feeds `input` to a HAR parser in chunks of `chunkSize` bytes, as the engine does. */
function parseHar(input: Buffer | string, chunkSize = 4096, parser = new HarParser()): HarSink {
  const buf = typeof input === 'string' ? Buffer.from(input) : input;
  const sink = new HarSink();
  for (let i = 0; i < buf.length; i += chunkSize) parser.push(buf.subarray(i, i + chunkSize), sink);
  parser.finish(sink);
  return sink;
}

const har = (entries: unknown[]): string =>
  JSON.stringify({ log: { version: '1.2', creator: { name: 'test', version: '1' }, entries } });
const entry = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  startedDateTime: '2024-01-01T00:00:00.000Z',
  time: 250,
  request: { method: 'POST', url: 'https://api.example.com/upload', headersSize: 100, bodySize: 900 },
  response: { status: 200, headersSize: 200, bodySize: 50 },
  serverIPAddress: '93.184.216.34',
  ...over,
});

describe('HAR 1.2 (real captures from mitmproxy test data)', () => {
  it('reads the Chrome DevTools capture: two attributed entries, the empty serverIPAddress unattributed', () => {
    // Act
    const sink = parseHar(fixture('har', 'chrome.har'));

    // Assess
    expect(sink.flows.map((r) => [r.line, r.respIp, r.respPort, r.hostname])).toEqual([
      [1, '108.138.246.80', 443, 'mitmproxy.org'],
      [3, '142.250.185.164', 443, 'www.google.com'],
    ]);
    expect(sink.unattributedCalls).toEqual([
      { line: 2, reason: 'no serverIPAddress (request failed)', detail: 'https://www.google.com/' },
    ]);
    expect(sink.skips).toEqual([]);
    // Chrome leaves headersSize at -1 (HTTP/2): the request's header list counts as its text
    // would (pseudo-headers included), the response its _transferSize.
    expect(sink.flows.map((r) => [r.origBytes, r.respBytes])).toEqual([
      [844 + 0, 253],
      [3028 + 0, 7132],
    ]);
    expect(sink.flows[0]).toMatchObject({
      origIp: '0.0.0.0',
      proto: 'tcp',
      firstSeenMs: Date.parse('2023-03-30T00:00:54.250Z'),
      lastSeenMs: Date.parse('2023-03-30T00:00:54.250Z') + 14.666000031866133,
      rejected: false,
    });
  });

  it('reads the Charles capture with its byte counts and offset timestamp', () => {
    // Act
    const sink = parseHar(fixture('har', 'charles.har'));

    // Assess
    expect(sink.flows).toHaveLength(1);
    expect(sink.flows[0]).toMatchObject({
      line: 1,
      respIp: '13.35.121.50',
      respPort: 443,
      hostname: 'mitmproxy.org',
      origBytes: 68 + 0,
      respBytes: 0 + 23866,
      firstSeenMs: Date.parse('2023-03-29T17:37:42.482-07:00'),
      lastSeenMs: Date.parse('2023-03-29T17:37:42.482-07:00') + 107,
    });
  });

  it('reads the mitmproxy savehar capture: two destinations with request and response sizes', () => {
    // Act
    const sink = parseHar(fixture('har', 'mitmproxy-successful_log.har'), 100);

    // Assess
    expect(sink.flows.map((r) => [r.respIp, r.hostname, r.origBytes, r.respBytes])).toEqual([
      ['93.184.216.34', 'example.com', 61 + 0, 416 + 1256],
      ['54.211.216.104', 'httpbin.org', 146 + 23, 242 + 453],
    ]);
    expect(sink.unattributedCalls).toEqual([]);
  });

  it('reads a file that starts with a UTF-8 byte order mark; a Chrome socket id is not a port', () => {
    // Act
    const sink = parseHar(fixture('har', 'with-bom.har'), 1);

    // Assess
    expect(sink.flows).toHaveLength(1);
    expect(sink.flows[0]).toMatchObject({
      respIp: '99.83.181.31',
      respPort: 443,
      hostname: 'signal-metrics-collector-beta.s-onetag.com',
      // A POST over HTTP/2: its 1,310-byte body and 664 bytes of headers; 73 bytes on the wire back.
      origBytes: 664 + 1310,
      respBytes: 73,
    });
  });

  it.each(['chrome.har', 'charles.har', 'mitmproxy-successful_log.har', 'with-bom.har'])('detects %s as HAR', async (name) => {
    // Act
    const v = await checkBytes(fixture('har', name), {}, 1000);

    // Assess
    expect(v.input.format).toBe('har');
    expect(v.input.formatSource).toBe('detected');
  });

  it('reports the empty serverIPAddress as unattributed in the verdict, counts adding up', async () => {
    // Act
    const v = await checkBytes(fixture('har', 'chrome.har'));

    // Assess
    expect(v.error).toBeUndefined();
    expect(v.totals).toMatchObject({ records: 3, connections: 2, skipped: 0, noData: 0, unattributed: 1 });
    expect(v.unattributed).toEqual([{ line: 2, reason: 'no serverIPAddress (request failed): "https://www.google.com/"' }]);
    expect(destination(v, '142.250.185.164')).toMatchObject({ hostnames: ['www.google.com'], connectionsWithUnknownBytes: 0, bytesSent: 3028, bytesReceived: 7132, evidenceLines: [3] });
    expect(v.destinations.map((d) => d.ip).sort()).toEqual(['108.138.246.80', '142.250.185.164']);
  });
});

describe('HAR entries (inline)', () => {
  it('counts request bytes as sent and response bytes as received', () => {
    // Act
    const [r] = parseHar(har([entry()])).flows;

    // Assess
    expect(r).toMatchObject({ origBytes: 1000, respBytes: 250, respPort: 443, hostname: 'api.example.com' });
  });

  it('makes a direction unknown when either of its sizes is -1', () => {
    // Act
    const [r] = parseHar(
      har([entry({ request: { url: 'http://x.example/', headersSize: -1, bodySize: 10 }, response: { headersSize: 5, bodySize: -1 } })]),
    ).flows;

    // Assess
    expect(r).toMatchObject({ origBytes: -1, respBytes: -1, respPort: 80 });
  });

  it('reads an IPv6 serverIPAddress in brackets, with or without a port', () => {
    // Act
    const flows = parseHar(
      har([entry({ serverIPAddress: '[2001:db8::1]' }), entry({ serverIPAddress: '[2001:db8::2]:8443' }), entry({ serverIPAddress: '2001:db8::3' })]),
    ).flows;

    // Assess
    expect(flows.map((r) => r.respIp)).toEqual(['2001:db8::1', '2001:db8::2', '2001:db8::3']);
  });

  it('takes the port from the URL, and from a numeric connection only when the scheme has no default', () => {
    // Act
    const flows = parseHar(
      har([
        entry({ request: { url: 'https://h.example:8443/' }, connection: '443' }),
        entry({ request: { url: 'gopher://h.example/' }, connection: '70' }),
        entry({ request: { url: 'gopher://h.example/' }, connection: '159834' }),
      ]),
    ).flows;

    // Assess
    expect(flows.map((r) => r.respPort)).toEqual([8443, 70, -1]);
  });

  it('uses an address-literal URL when serverIPAddress is missing, without calling it a hostname', () => {
    // Act
    const sink = parseHar(har([entry({ serverIPAddress: undefined, request: { url: 'http://[2001:db8::5]:8080/x' } })]));

    // Assess
    expect(sink.flows[0]).toMatchObject({ respIp: '2001:db8::5', respPort: 8080, hostname: null });
  });

  it('counts entries without a server address as unattributed, with their entry number', () => {
    // Act
    const sink = parseHar(har([entry({ serverIPAddress: '' }), entry({ serverIPAddress: undefined, response: { status: 0, _error: 'net::ERR_NAME_NOT_RESOLVED' } }), entry()]));

    // Assess
    expect(sink.unattributedCalls).toEqual([
      { line: 1, reason: 'no serverIPAddress', detail: 'https://api.example.com/upload' },
      { line: 2, reason: 'no serverIPAddress (request failed)', detail: 'https://api.example.com/upload' },
    ]);
    expect(sink.flows.map((r) => r.line)).toEqual([3]);
  });

  it("counts a response Chrome took from its cache as a record without data, whatever address it names", async () => {
    // Chrome 142 writes the server's address for disk and memory cache hits, with no bytes on the
    // wire (_transferSize 0); its request headers were never sent.
    const cached = (kind: string, ip: string | undefined): Record<string, unknown> =>
      entry({
        _fromCache: kind,
        serverIPAddress: ip,
        request: { method: 'GET', url: 'https://cdn.example.de/app.js', headersSize: -1, bodySize: 0, headers: [{ name: ':authority', value: 'cdn.example.de' }] },
        response: { status: 200, headersSize: -1, bodySize: 0, _transferSize: 0 },
      });
    const input = har([cached('disk', '85.13.128.1'), cached('memory', undefined), entry()]);
    const sink = parseHar(input);
    expect(sink.flows.map((r) => r.line)).toEqual([3]);
    expect(sink.unattributedCalls).toEqual([]);
    expect(sink.calls.filter((c) => c.kind === 'noData')).toEqual([
      { kind: 'noData', line: 1, status: "served from the browser's disk cache" },
      { kind: 'noData', line: 2, status: "served from the browser's memory cache" },
    ]);
    const v = await checkBytes(Buffer.from(input), { policy: policyOf('us') });
    expect(v.destinations.map((d) => d.ip)).toEqual(['93.184.216.34']);
    expect(v.totals).toMatchObject({ records: 3, connections: 1, noData: 2 });
  });

  it('reads an HTTP/3 entry as UDP (Chrome h3, Firefox HTTP/3)', () => {
    const versions = ['h3', 'h3-29', 'HTTP/3', 'http/3.0', 'h2', 'HTTP/1.1', undefined];
    const sink = parseHar(har(versions.map((httpVersion) => entry({ response: { status: 200, httpVersion, headersSize: 1, bodySize: 1 } }))));
    expect(sink.flows.map((r) => r.proto)).toEqual(['udp', 'udp', 'udp', 'udp', 'tcp', 'tcp', 'tcp']);
  });

  it('falls back to skip for a sink without unattributed', () => {
    // Prepare
    const sink = new RecordingSink();
    const parser = new HarParser();

    // Act
    parser.push(Buffer.from(har([entry({ serverIPAddress: '' })])), sink);
    parser.finish(sink);

    // Assess
    expect(sink.calls).toEqual([{ kind: 'skip', line: 1, reason: 'no serverIPAddress', detail: 'https://api.example.com/upload' }]);
  });

  it('skips an entry that is not an object, and leaves a malformed address to the aggregator', () => {
    // Act
    const sink = parseHar(har([42, entry({ serverIPAddress: 'not-an-ip' })]));

    // Assess
    expect(sink.skips).toEqual([{ kind: 'skip', line: 1, reason: 'entry is not an object' }]);
    expect(sink.flows[0]?.respIp).toBe('not-an-ip');
  });

  it('throws an InputError for invalid or truncated JSON and for a document without log.entries', () => {
    expect(() => parseHar(har([entry()]).slice(0, -5))).toThrow(InputError);
    expect(() => parseHar(har([entry()]).slice(0, -5))).toThrow(/^HAR is not valid JSON \(/);
    expect(() => parseHar('{"log": {"pages": []}}')).toThrow('not a HAR document: expected {"log": {"entries": [...]}}');
  });

  it('throws a one-line InputError for an entry beyond the size cap', () => {
    // Prepare
    const parser = new HarParser(1000);
    const big = har([entry(), entry({ comment: 'x'.repeat(2000) })]);

    // Act + Assess
    expect(() => parseHar(big, 100, parser)).toThrow('HAR entry 2 is larger than 1000 bytes, the most that can be read as one JSON value');
  });
});

describe('HAR read entry by entry', () => {
  it('hands each entry to the sink as soon as its bytes are in, holding no more than one', () => {
    // Prepare: 2,000 entries, read 1 kB at a time.
    const doc = Buffer.from(har(Array.from({ length: 2000 }, (_, i) => entry({ serverIPAddress: `93.184.${i >> 8}.${i & 255}` }))));
    const sink = new HarSink();
    const parser = new HarParser(4096);
    const seen: number[] = [];

    // Act: every entry is under the 4 kB cap, the document is far over it.
    for (let i = 0; i < doc.length; i += 1024) {
      parser.push(doc.subarray(i, i + 1024), sink);
      seen.push(sink.flows.length);
    }
    parser.finish(sink);

    // Assess: records arrive while the document is read, not at its end.
    expect(doc.length).toBeGreaterThan(100 * 4096);
    expect(seen[Math.floor(seen.length / 2)]).toBeGreaterThan(900);
    expect(sink.flows).toHaveLength(2000);
    expect(sink.flows[1999]).toMatchObject({ line: 2000, respIp: '93.184.7.207' });
  });

  it('follows strings and brackets: names, escapes and brackets inside values, entries elsewhere, keys in any order', () => {
    // Prepare: "entries" in pages is not log.entries; a key spelled with an escape is the same key.
    const doc = [
      '\ufeff{ "log" : {',
      '  "pages": [{"id": "p1", "entries": [1, 2], "title": "a ] } \\" [ {"}],',
      '  "creator": {"name": "x\\"y", "version": "1"},',
      '  "\u0065ntries": [',
      `    ${JSON.stringify(entry({ comment: 'brackets ] } [ { and "quotes"' }))} ,`,
      '    42,',
      '    "text",',
      `    ${JSON.stringify(entry({ serverIPAddress: '2001:db8::1', _extra: [[1], { a: [] }] }))}`,
      '  ],',
      '  "version": "1.2"',
      '} }',
      '',
    ].join('\n');

    // Act: whole, and one byte at a time.
    for (const chunk of [4096, 1]) {
      const sink = parseHar(Buffer.from(doc), chunk);

      // Assess
      expect(sink.flows.map((r) => [r.line, r.respIp])).toEqual([
        [1, '93.184.216.34'],
        [4, '2001:db8::1'],
      ]);
      expect(sink.skips).toEqual([
        { kind: 'skip', line: 2, reason: 'entry is not an object' },
        { kind: 'skip', line: 3, reason: 'entry is not an object' },
      ]);
    }
  });

  it('skips an entry that is not valid JSON, and refuses a document that is not one HAR', () => {
    // An entry with balanced brackets but broken inside is one bad record.
    const sink = parseHar(`{"log": {"entries": [{"a" 1}, ${JSON.stringify(entry())}]}}`);
    expect(sink.skips).toEqual([{ kind: 'skip', line: 1, reason: 'entry is not valid JSON' }]);
    expect(sink.flows).toHaveLength(1);
    // The whole document's shape is not.
    expect(() => parseHar('{"log": {"entries": [}]}')).toThrow(/^HAR is not valid JSON \(unexpected '}' at byte 21\)/);
    expect(() => parseHar(`${har([entry()])} {}`)).toThrow(/^HAR is not valid JSON \(data after the document at byte \d+\)/);
    expect(() => parseHar('{"log": ["entries"]}')).toThrow('not a HAR document: expected {"log": {"entries": [...]}}');
    expect(() => parseHar('{"log": {"entries": {}}}')).toThrow('not a HAR document: expected {"log": {"entries": [...]}}');
    expect(() => parseHar('[1, 2]')).toThrow('not a HAR document: expected {"log": {"entries": [...]}}');
    expect(() => parseHar('')).toThrow(/^HAR is not valid JSON \(no document at byte 0\)/);
    expect(() => parseHar('{"log": {"entries": ["a')).toThrow(/^HAR is not valid JSON \(the document ends before it closes/);
  });
});

describe('HAR detection', () => {
  it('is certain for a document opening with a log object, and says no to JSON lines', () => {
    expect(detectHar(['{', '  "log": {'])).toBe(1);
    expect(detectHar([], Buffer.from('\ufeff{"log":{"version":"1.2","entries":[]}}'))).toBe(1);
    expect(detectHar(['{"ts":1,"id.orig_h":"10.0.0.1","id.resp_h":"1.1.1.1"}'])).toBe(0);
    expect(detectHar(['[{"log":{}}]'])).toBe(0);
    expect(detectFormat([], Buffer.from(har([])))?.name).toBe('har');
    expect(findFormat('har')?.create({})).toBeInstanceOf(HarParser);
  });

  it('strips brackets and ports from serverIPAddress values', () => {
    expect(serverAddress(' [::1]:443 ')).toBe('::1');
    expect(serverAddress('192.0.2.1:80')).toBe('192.0.2.1');
    expect(serverAddress('')).toBeNull();
    expect(serverAddress(7)).toBeNull();
  });
});

describe('HAR sizes Chrome and Safari leave at -1', () => {
  const h2Post = (over: Record<string, unknown> = {}): Record<string, unknown> =>
    entry({
      request: {
        method: 'POST',
        url: 'https://upload.example.cn/crash',
        httpVersion: 'h2',
        headersSize: -1,
        bodySize: 5_000_000,
        headers: [
          { name: ':method', value: 'POST' },
          { name: ':path', value: '/crash' },
          { name: 'x-imei', value: '490154203237518' },
        ],
      },
      response: { status: 200, httpVersion: 'h2', headersSize: -1, bodySize: -1, _transferSize: 500 },
      ...over,
    });

  it('counts a POST body over HTTP/2 with its header list as text, and the response from _transferSize', () => {
    const sink = parseHar(har([h2Post()]));
    const headers = 2 + (':method: POST\r\n'.length + ':path: /crash\r\n'.length + 'x-imei: 490154203237518\r\n'.length);
    expect(sink.flows.map((r) => [r.origBytes, r.respBytes])).toEqual([[headers + 5_000_000, 500]]);
  });

  it('counts the posted text where bodySize is -1, and stays unknown where nothing tells', () => {
    const posted = entry({ request: { method: 'POST', url: 'https://a.example/', headersSize: 10, bodySize: -1, postData: { mimeType: 'text/plain', text: 'ü'.repeat(4) } } });
    const unknown = entry({
      request: { method: 'POST', url: 'https://a.example/', headersSize: -1, bodySize: 10 },
      response: { status: 200, headersSize: -1, bodySize: 100 },
    });
    const sink = parseHar(har([posted, unknown]));
    expect(sink.flows.map((r) => [r.origBytes, r.respBytes])).toEqual([
      [10 + 8, 200 + 50],
      [-1, -1],
    ]);
  });

  it('adds the messages of a WebSocket (_webSocketMessages) to its upgrade request', () => {
    const ws = entry({
      request: { method: 'GET', url: 'wss://ws.example.cn/socket', headersSize: 300, bodySize: 0 },
      response: { status: 101, headersSize: 120, bodySize: 0 },
      _webSocketMessages: [
        { type: 'send', time: 1, opcode: 1, data: 'A'.repeat(200_000) },
        { type: 'receive', time: 2, opcode: 1, data: 'ok' },
        { type: 'send', time: 3, opcode: 2, data: Buffer.alloc(30, 1).toString('base64') },
      ],
    });
    const sink = parseHar(har([ws]));
    expect(sink.flows.map((r) => [r.respPort, r.origBytes, r.respBytes])).toEqual([[443, 300 + 200_000 + 30, 120 + 2]]);
  });
});

describe('HAR recorded through a proxy on the capturing machine', () => {
  it.each(['127.0.0.1', '127.0.0.1:8080', '[::1]:8888', '::ffff:127.0.0.1'])('leaves an entry whose serverIPAddress is %s unattributed, naming the proxy', (proxy) => {
    const sink = parseHar(har([entry({ serverIPAddress: proxy, request: { method: 'POST', url: 'https://upload.bugly.qq.com/rqd/async', headersSize: 400, bodySize: 52_000 } })]));
    expect(sink.flows).toEqual([]);
    expect(sink.unattributedCalls).toEqual([
      {
        line: 1,
        reason: expect.stringMatching(/^serverIPAddress \S+ is a proxy on the capturing machine, not the server of upload\.bugly\.qq\.com/) as string,
        detail: 'https://upload.bugly.qq.com/rqd/async',
      },
    ]);
  });

  it('keeps a local server that the URL names as local (localhost, 127.0.0.1) as a non-public destination', () => {
    const sink = parseHar(
      har([
        entry({ serverIPAddress: '127.0.0.1', request: { method: 'GET', url: 'http://localhost:3000/', headersSize: 1, bodySize: 0 } }),
        entry({ serverIPAddress: '127.0.0.1', request: { method: 'GET', url: 'http://127.0.0.1:3000/', headersSize: 1, bodySize: 0 } }),
        entry({ serverIPAddress: '[::1]', request: { method: 'GET', url: 'http://app.localhost/', headersSize: 1, bodySize: 0 } }),
        // Names kept for local development: RFC 6761's .test, and public domains whose every name is 127.0.0.1.
        ...['http://myapp.test/', 'http://app.lvh.me:3000/', 'http://api.localtest.me:8080/', 'http://127.0.0.1.nip.io/', 'http://app.127-0-0-1.sslip.io/'].map((url) =>
          entry({ serverIPAddress: '127.0.0.1', request: { method: 'GET', url, headersSize: 1, bodySize: 0 } }),
        ),
      ]),
    );
    expect(sink.flows.map((r) => r.respIp)).toEqual(['127.0.0.1', '127.0.0.1', '::1', '127.0.0.1', '127.0.0.1', '127.0.0.1', '127.0.0.1', '127.0.0.1']);
    expect(sink.unattributedCalls).toEqual([]);
  });

  it('makes a check of such a HAR an error, never a compliant verdict', async () => {
    const input = har([entry({ serverIPAddress: '127.0.0.1', request: { method: 'POST', url: 'https://upload.bugly.qq.com/rqd/async', headersSize: 400, bodySize: 52_000 } })]);
    const v = await checkBytes(Buffer.from(input));
    expect(v.compliant).toBe(false);
    expect(v.error).toMatch(/none of the 1 records named a server address .*proxy on the capturing machine/);
  });
});


describe('HAR recorded through a proxy elsewhere on the network', () => {
  const via = (serverIPAddress: string, url: string, bodySize = 500): Record<string, unknown> =>
    entry({ serverIPAddress, request: { method: 'POST', url, headersSize: 100, bodySize } });

  it("leaves every entry of a private address that answered for two sites unattributed, the ones before the second site too", async () => {
    // A browser set to use a proxy at 192.168.1.50:8888 writes its address for every entry.
    const input = har([
      via('192.168.1.50', 'https://www.google.com/'),
      via('93.184.216.34', 'https://example.com/'),
      via('192.168.1.50', 'https://www.google.com/complete'),
      via('192.168.1.50', 'https://upload.bugly.qq.com/rqd/async'),
      via('192.168.1.50', 'https://mail.google.com/'),
    ]);
    const sink = parseHar(input, 64);
    expect(sink.flows.map((r) => [r.line, r.respIp])).toEqual([[2, '93.184.216.34']]);
    const reason = 'serverIPAddress 192.168.1.50 answered for hosts of several sites (www.google.com, upload.bugly.qq.com): a proxy, not their server (record the HAR without the proxy, or export it from the proxy)';
    expect(sink.unattributedCalls.map((u) => [u.line, u.reason])).toEqual([
      [1, reason],
      [3, reason],
      [4, reason],
      [5, reason],
    ]);
    const v = await checkBytes(Buffer.from(input), { policy: policyOf('us') });
    expect(v.destinations.map((d) => d.ip)).toEqual(['93.184.216.34']);
    expect(v.totals).toMatchObject({ unattributed: 4, connections: 1 });
    // Only the proxy's entries: an error, never a compliant verdict.
    const only = await checkBytes(Buffer.from(har([via('10.1.2.3', 'https://www.google.com/'), via('10.1.2.3', 'https://api.weixin.qq.com/')])), { policy: policyOf('us') });
    expect(only.compliant).toBe(false);
    expect(only.error).toMatch(/none of the 2 records named a server address/);
  });

  it('calls a private address a proxy at once when the URL names another address', () => {
    const sink = parseHar(har([via('192.168.1.50', 'https://93.184.216.34/upload'), via('10.0.0.5', 'http://10.0.0.5:8080/'), via('10.0.0.5', 'http://10.0.0.7/')]));
    expect(sink.unattributedCalls.map((u) => [u.line, u.reason])).toEqual([
      [1, 'serverIPAddress 192.168.1.50 is a proxy, not the server of 93.184.216.34 (record the HAR without the proxy, or export it from the proxy)'],
      [2, 'serverIPAddress 10.0.0.5 is a proxy, not the server of 10.0.0.7 (record the HAR without the proxy, or export it from the proxy)'],
      [3, 'serverIPAddress 10.0.0.5 is a proxy, not the server of 10.0.0.7 (record the HAR without the proxy, or export it from the proxy)'],
    ]);
    expect(sink.flows).toEqual([]);
  });

  it("reads a private address that served one site's hosts (an intranet) as a server inside, its entries in order", async () => {
    const input = har([
      via('10.0.0.5', 'https://wiki.corp.example.co.uk/'),
      via('93.184.216.34', 'https://example.com/'),
      via('10.0.0.5', 'https://jira.corp.example.co.uk/', 700),
      via('fd00::5', 'https://nas.home.arpa/'),
    ]);
    const sink = parseHar(input);
    expect(sink.unattributedCalls).toEqual([]);
    expect(sink.flows.map((r) => [r.line, r.respIp, r.hostname, r.origBytes])).toEqual([
      [2, '93.184.216.34', 'example.com', 600],
      [1, '10.0.0.5', 'wiki.corp.example.co.uk', 600],
      [3, '10.0.0.5', 'jira.corp.example.co.uk', 800],
      [4, 'fd00::5', 'nas.home.arpa', 600],
    ]);
    const v = await checkBytes(Buffer.from(input), { policy: policyOf('us') });
    expect(destination(v, '10.0.0.5')).toMatchObject({ status: 'non-public', connections: 2, evidenceLines: [1, 3] });
  });

  it("counts an intranet's names as one site: single labels, private-use and special top-level domains", () => {
    const names = ['https://gitlab.corp/', 'https://jira.corp/', 'http://wiki/', 'http://nas.lan/', 'https://a.test/', 'https://b.test/', 'http://printer.home.arpa/', 'https://app.internal/'];
    const sink = parseHar(har(names.map((url) => via('10.0.0.5', url))));
    expect(sink.unattributedCalls).toEqual([]);
    expect(sink.flows).toHaveLength(names.length);
    // A public site beside them is a second site: a proxy.
    const mixed = parseHar(har([via('10.0.0.5', 'https://gitlab.corp/'), via('10.0.0.5', 'https://www.google.com/')]));
    expect(mixed.flows).toEqual([]);
    expect(mixed.unattributedCalls.map((u) => u.line)).toEqual([1, 2]);
  });

  it('gives the entries it held to the error verdict of a HAR cut off', async () => {
    const input = har([via('10.0.0.5', 'https://wiki.corp.example.com/'), via('93.184.216.34', 'https://example.com/')]);
    const cut = input.slice(0, input.indexOf('93.184.216.34'));
    const sink = new HarSink();
    const parser = new HarParser();
    parser.push(Buffer.from(cut), sink);
    expect(() => parser.finish(sink)).toThrow(InputError);
    expect(sink.flows.map((r) => [r.line, r.respIp])).toEqual([[1, '10.0.0.5']]);
    const v = await checkBytes(Buffer.from(cut));
    expect(v.error).toBeDefined();
    expect(v.totals.records).toBe(1);
  });

  it(`holds at most ${MAX_HELD_ENTRIES} entries: past them, the addresses held are read as servers`, () => {
    const entries = Array.from({ length: MAX_HELD_ENTRIES + 1 }, (_, i) => via('10.0.0.5', `https://h${i}.corp.example.com/`, 1));
    const sink = parseHar(har(entries), 1 << 20);
    expect(sink.flows).toHaveLength(MAX_HELD_ENTRIES + 1);
    expect(sink.flows[0]!.line).toBe(1);
    expect(sink.flows.at(-1)!.line).toBe(MAX_HELD_ENTRIES + 1);
  });
});

describe('HAR nesting', () => {
  it('refuses a document nested past MAX_JSON_DEPTH with a one-line InputError, before its brackets pile up', () => {
    // Prepare: an entry holding 100,000 open brackets.
    const doc = `{"log": {"entries": [${'['.repeat(100_000)}`;

    // Act + Assess
    expect(() => parseHar(doc)).toThrow(/^HAR nests values deeper than 1000 levels \(at byte 1018\): a damaged capture cannot be read$/);
  });
});
