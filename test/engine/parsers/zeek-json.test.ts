/**
 * Zeek JSON lines: which records are connections (Zeek's other logs have the same `id` fields),
 * and the timestamp spellings `LogAscii::json_timestamps` allows.
 */
import { detectFormat } from '../../../lambda/engine/parsers';
import { ZeekJsonParser, otherZeekLog, zeekTimeMs } from '../../../lambda/engine/parsers/zeek-json';
import { checkBytes, destination } from '../../helpers/engine';
import { endpoints, parseAll } from './harness';

const parse = (input: string) => parseAll(new ZeekJsonParser(), input);
const jsonLines = (...records: object[]): string => records.map((r) => JSON.stringify(r)).join('\n') + '\n';

// Records as Zeek 6 writes them with LogAscii::use_json=T (after docs.zeek.org's log examples).
const CONN = {
  ts: 1591367999.430166,
  uid: 'C5bLoe2Mvxqhawzqqd',
  'id.orig_h': '192.168.4.76',
  'id.orig_p': 46378,
  'id.resp_h': '31.3.245.133',
  'id.resp_p': 80,
  proto: 'tcp',
  service: 'http',
  duration: 0.25411510467529297,
  orig_bytes: 77,
  resp_bytes: 295,
  conn_state: 'SF',
  missed_bytes: 0,
  history: 'ShADadFf',
  orig_pkts: 6,
  orig_ip_bytes: 397,
  resp_pkts: 4,
  resp_ip_bytes: 511,
};
const DNS = {
  ts: 1591367999.305988,
  uid: 'CMdzit1AMNsmfAIiQc',
  'id.orig_h': '192.168.4.76',
  'id.orig_p': 36844,
  'id.resp_h': '192.168.4.1',
  'id.resp_p': 53,
  proto: 'udp',
  trans_id: 8555,
  query: 'testmyids.com',
  qclass: 1,
  qtype: 1,
  rcode: 0,
  answers: ['31.3.245.133'],
  rejected: false,
};
const HTTP = {
  ts: 1591367999.512593,
  uid: 'C5bLoe2Mvxqhawzqqd',
  'id.orig_h': '192.168.4.76',
  'id.orig_p': 46378,
  'id.resp_h': '31.3.245.133',
  'id.resp_p': 80,
  trans_depth: 1,
  method: 'GET',
  host: 'testmyids.com',
  uri: '/',
  user_agent: 'curl/7.47.0',
  status_code: 200,
};
const NOTICE = {
  ts: 1581392937.477193,
  uid: 'Cpk0Nl33Zb5ZWLP1tc',
  'id.orig_h': '185.100.59.59',
  'id.orig_p': 6667,
  'id.resp_h': '141.9.255.157',
  'id.resp_p': 8080,
  proto: 'tcp',
  note: 'LongConnection::found',
  msg: 'remained alive for longer than 19m55s',
};

describe('which Zeek JSON records are connections', () => {
  it('reads conn.log records and skips, with a reason each, records of dns, http and notice logs', () => {
    // Act
    const r = parse(jsonLines(DNS, CONN, HTTP, NOTICE));

    // Assess
    expect(endpoints(r.flows)).toEqual(['192.168.4.76 -> 31.3.245.133']);
    expect(r.skips).toEqual([
      { line: 1, reason: 'a Zeek dns.log record (it has "query"), not a connection (give a dns.log beside the conn.log with --dns)' },
      { line: 3, reason: 'a Zeek http.log record (it has "method"), not a connection' },
      { line: 4, reason: 'a Zeek notice.log record (it has "note"), not a connection' },
    ]);
  });

  it('goes by _path when a record has one (one stream of every log, as json-streaming-logs writes)', () => {
    expect(otherZeekLog({ ...CONN, _path: 'conn' })).toBeNull();
    expect(otherZeekLog({ ...CONN, _path: 'conn_red' })).toBeNull();
    // corelight/zeek-long-connections: running totals of open connections, not more connections.
    expect(otherZeekLog({ ...CONN, _path: 'conn_long' })).toBe(
      'a Zeek conn_long.log record (a snapshot of a connection still open, with its totals so far: its final record is in conn.log), not a connection',
    );
    expect(otherZeekLog({ ...DNS, _path: 'dns' })).toBe('a Zeek dns.log record (_path "dns"), not a connection');
    // _path decides even over the fields: a log a package extended with conn-like fields is still that log.
    expect(otherZeekLog({ ...HTTP, orig_bytes: 10, _path: 'http' })).toBe('a Zeek http.log record (_path "http"), not a connection');
  });

  it('reads a reduced conn.log (addresses, ports and bytes only, or addresses alone) as connections', () => {
    const reduced = { ts: 1591367999.4, 'id.orig_h': '10.0.0.1', 'id.orig_p': 5, 'id.resp_h': '8.8.8.8', 'id.resp_p': 53, orig_bytes: 10 };
    const bare = { 'id.orig_h': '10.0.0.1', 'id.resp_h': '1.1.1.1' };
    // proto alone is not enough to tell: dns.log has it too, so it neither makes nor rules out a connection.
    const withProto = { ...bare, proto: 'udp' };

    // Act
    const r = parse(jsonLines(reduced, bare, withProto));

    // Assess
    expect(r.skips).toEqual([]);
    expect(endpoints(r.flows)).toEqual(['10.0.0.1 -> 8.8.8.8', '10.0.0.1 -> 1.1.1.1', '10.0.0.1 -> 1.1.1.1']);
  });

  it('counts the other logs\' records as skipped in a mixed stream, and judges only the connections', async () => {
    // Act
    const v = await checkBytes(jsonLines({ _path: 'dns', ...DNS }, { _path: 'conn', ...CONN }, { _path: 'http', ...HTTP }));

    // Assess
    expect(v.input.format).toBe('zeek-json');
    expect(v.totals).toMatchObject({ records: 3, connections: 1, skipped: 2, bytesSent: 77 });
    expect(v.destinations.map((d) => d.ip)).toEqual(['31.3.245.133']);
    expect(v.errors.map((e) => e.line)).toEqual([1, 3]);
  });

  it('reads a stream of every log whose other records outnumber its connections past the limit (not unreadable)', async () => {
    // One dns, one ssl-like (http) and one conn record per connection, as json-streaming-logs writes.
    const records: object[] = [];
    for (let i = 0; i < 300; i++) records.push({ _path: 'dns', ...DNS }, { _path: 'http', ...HTTP }, { _path: 'conn', ...CONN });
    const v = await checkBytes(jsonLines(...records), { maxSkippedRecords: 100 }, 4096);
    expect(v.error).toBeUndefined();
    expect(v.totals).toMatchObject({ records: 900, connections: 300, skipped: 600 });
    // Records that are not connections and not other logs' still count as unreadable.
    const bad = Array.from({ length: 300 }, () => ({ _path: 'conn', ts: 1 }));
    const w = await checkBytes(jsonLines({ _path: 'conn', ...CONN }, ...bad), { maxSkippedRecords: 100 }, 4096);
    expect(w.error).toMatch(/^unreadable as zeek-json: 300 of 301 records could not be read/);
  });

  it('keeps a reason short whatever _path says, and counts past 256 distinct reasons together', async () => {
    const records = Array.from({ length: 400 }, (_, i) => ({ _path: i === 0 ? 'p'.repeat(100_000) : `log${i}`, ...DNS }));
    const v = await checkBytes(jsonLines({ _path: 'conn', ...CONN }, ...records), {}, 65536);
    expect(v.error).toBeUndefined();
    const reasons = Object.keys(v.totals.skippedByReason);
    expect(reasons).toHaveLength(257);
    expect(Math.max(...reasons.map((r) => r.length))).toBeLessThan(140);
    expect(reasons).toContain(`a Zeek ${'p'.repeat(40)}….log record (_path "${'p'.repeat(40)}…"), not a connection`);
    expect(v.totals.skippedByReason['other reasons']).toBe(400 - 256);
    expect(Object.values(v.totals.skippedByReason).reduce((a, b) => a + b, 0)).toBe(400);
  });

  it('gives an error verdict for a dns.log written as JSON, naming the log, as for one written as TSV', async () => {
    // Act
    const v = await checkBytes(jsonLines(DNS, DNS));

    // Assess
    expect(v.error).toContain(
      'none of the 2 records could be read as zeek-json (first problem: line 1: a Zeek dns.log record (it has "query"), not a connection',
    );
    expect(v.totals).toMatchObject({ records: 2, skipped: 2, connections: 0 });
  });
});

describe('Zeek JSON: local_orig/local_resp', () => {
  it('takes a public address the sensor calls local as inside: an inbound connection\'s foreign side is the destination', async () => {
    // Act: a campus server with a public address (in Site::local_nets) answers a host in China.
    const v = await checkBytes(
      jsonLines(
        { ...CONN, 'id.orig_h': '1.2.4.8', 'id.resp_h': '128.112.128.15', 'id.resp_p': 22, orig_bytes: 3000, resp_bytes: 250000, local_orig: false, local_resp: true },
        { ...CONN, 'id.orig_h': '128.112.128.15', 'id.resp_h': '8.8.8.8', local_orig: true, local_resp: false },
      ),
    );

    // Assess
    expect(destination(v, '1.2.4.8')).toMatchObject({ status: 'violation', bytesSent: 250000, bytesReceived: 3000 });
    expect(v.destinations.map((d) => d.ip).sort()).toEqual(['1.2.4.8', '8.8.8.8']);
    expect(v.compliant).toBe(false);
  });

  it('reads the flags a pipeline turned into strings ("T", "true") as Zeek\'s, on the byte reader and JSON.parse alike', async () => {
    for (const [no, yes] of [['F', 'T'], ['false', 'true'], ['False', 'True']]) {
      const inbound = { ...CONN, 'id.orig_h': '1.2.4.8', 'id.resp_h': '128.112.128.15', 'id.resp_p': 22, orig_bytes: 3000, resp_bytes: 250000, local_orig: no, local_resp: yes };
      // The second line's escape sends it to JSON.parse (see zeek-json-scan.ts).
      const escaped = JSON.stringify(inbound).replace('"uid":"C', '"uid":"\\u0043');
      const v = await checkBytes(`${JSON.stringify(inbound)}\n${escaped}\n`);
      expect(v.destinations.map((d) => [d.ip, d.connections, d.bytesSent])).toEqual([['1.2.4.8', 2, 500000]]);
    }
  });
});

describe('Zeek JSON: a connection the responder never answered', () => {
  it("counts an inbound lone SYN (bytes left out, conn_state S0) as a refused attempt, on the byte reader and JSON.parse alike", async () => {
    // Zeek logs duration and the byte counts only for a connection that lasted: a scanner's one
    // SYN to a monitored server has none, and says S0. It was a violation of unknown size.
    const probe = { ts: 1709287200.5, uid: 'C1', 'id.orig_h': '89.248.165.145', 'id.orig_p': 40000, 'id.resp_h': '198.71.247.91', 'id.resp_p': 22, proto: 'tcp', conn_state: 'S0', local_orig: false, local_resp: true, missed_bytes: 0, history: 'S', orig_pkts: 1, orig_ip_bytes: 44, resp_pkts: 0, resp_ip_bytes: 0 };
    const escaped = JSON.stringify(probe).replace('"uid":"C', '"uid":"\\u0043');
    // Not a probe: an answer of unknown size (SF), and a reply the state does not rule out (OTH).
    const answered = { ...probe, 'id.orig_h': '5.8.8.8', conn_state: 'SF' };
    const midstream = { ...probe, 'id.orig_h': '46.4.0.1', conn_state: 'OTH' };

    // Act
    const v = await checkBytes(`${JSON.stringify(probe)}\n${escaped}\n${JSON.stringify(answered)}\n${JSON.stringify(midstream)}\n`);

    // Assess
    expect(destination(v, '89.248.165.145')).toMatchObject({ status: 'blocked', connections: 0, blockedAttempts: 2, connectionsWithUnknownBytes: 0 });
    expect(destination(v, '5.8.8.8')).toMatchObject({ status: 'violation', connections: 1, connectionsWithUnknownBytes: 1 });
    expect(destination(v, '46.4.0.1')).toMatchObject({ status: 'violation', connections: 1, connectionsWithUnknownBytes: 1 });
  });
});

describe('Zeek JSON timestamps', () => {
  it('reads epoch seconds (the default), milliseconds (JSON::TS_MILLIS) and ISO 8601 (JSON::TS_ISO8601) alike', () => {
    expect(zeekTimeMs(1591367999.305)).toBeCloseTo(1591367999305, 3);
    expect(zeekTimeMs(1591367999305)).toBe(1591367999305);
    expect(zeekTimeMs('2020-06-05T14:39:59.305Z')).toBe(1591367999305);
    expect(zeekTimeMs(null)).toBeNaN();
  });

  it('adds the duration, which stays in seconds, to a millisecond ts', async () => {
    // Act
    const v = await checkBytes(jsonLines({ ...CONN, ts: 1591367999305, duration: 2.5 }));

    // Assess
    const d = destination(v, '31.3.245.133');
    expect(d.firstSeen).toBe('2020-06-05T14:39:59.305Z');
    expect(d.lastSeen).toBe('2020-06-05T14:40:01.805Z');
  });

  it('reads a ts in nanoseconds, and ends a connection whose duration runs past any date at its start', async () => {
    // Act: a ts as Go's UnixNano writes it, and a duration no Date can add
    const v = await checkBytes(jsonLines({ ...CONN, ts: 1591367999305000000, duration: 1e300 }));

    // Assess
    expect(v.error).toBeUndefined();
    const d = destination(v, '31.3.245.133');
    expect(d.firstSeen).toBe('2020-06-05T14:39:59.305Z');
    expect(d.lastSeen).toBe('2020-06-05T14:39:59.305Z');
  });
});

describe('Zeek JSON whose first line was cut off', () => {
  it('is still detected (split -b, tail -c), the cut line counted as skipped', async () => {
    const whole = jsonLines(CONN, { ...CONN, 'id.resp_h': '1.2.4.8', orig_bytes: 100 });
    const text = whole.slice(20);
    expect(detectFormat(text.split('\n'))?.name).toBe('zeek-json');
    const v = await checkBytes(text);
    expect(v.input.format).toBe('zeek-json');
    expect(v.totals).toMatchObject({ records: 2, connections: 1, skipped: 1 });
    expect(v.errors).toEqual([{ line: 1, reason: 'not a JSON object' }]);
    expect(destination(v, '1.2.4.8').bytesSent).toBe(100);
    // A first line that is not the end of a JSON object is no cut record: not Zeek JSON.
    expect(detectFormat(['not json', JSON.stringify(CONN)])?.name).not.toBe('zeek-json');
  });
});

describe('Zeek JSON numbers past what counts can be', () => {
  it('reads a byte count past 2^53 (1e308) as unknown, so totals stay numbers', async () => {
    const v = await checkBytes(jsonLines({ ...CONN, orig_bytes: 1e308, resp_bytes: 2 ** 53 + 2 }, { ...CONN, orig_bytes: 5, resp_bytes: 7 }));
    expect(v.totals).toMatchObject({ bytesSent: 5, bytesReceived: 7 });
    expect(destination(v, '31.3.245.133').connectionsWithUnknownBytes).toBe(1);
  });
});


describe('Zeek JSON written with Log::default_scope_sep = "_"', () => {
  it('is detected and read by its id_orig_h/id_resp_h names', async () => {
    const underscored = (o: object): object => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/^id\./, 'id_'), v]));
    const text = jsonLines(underscored(CONN), underscored({ ...CONN, 'id.resp_h': '1.2.4.8', 'id.resp_p': 8443, orig_bytes: 100 }));
    expect(detectFormat(text.split('\n'))?.name).toBe('zeek-json');
    const v = await checkBytes(text);
    expect(v.totals).toMatchObject({ records: 2, connections: 2, skipped: 0 });
    expect(destination(v, '1.2.4.8')).toMatchObject({ bytesSent: 100, ports: [8443] });
    expect(destination(v, '31.3.245.133')).toMatchObject({ bytesSent: 77, ports: [80] });
  });
});

describe('Zeek JSON streams of every log', () => {
  it('are detected when the first records are other logs (packet_filter, as Zeek writes it at start)', async () => {
    const filter = { _path: 'packet_filter', _write_ts: '2023-01-01T00:00:00.000000Z', ts: '2023-01-01T00:00:00.000000Z', node: 'zeek', filter: 'ip or not ip', init: true, success: true };
    const text = jsonLines(filter, { _path: 'conn', ...CONN, 'id.resp_h': '1.2.4.8', orig_bytes: 100 });
    expect(detectFormat(text.split('\n'))?.name).toBe('zeek-json');
    const v = await checkBytes(text);
    expect(v.input.format).toBe('zeek-json');
    expect(destination(v, '1.2.4.8').bytesSent).toBe(100);
    // JSON records naming no Zeek log and no connection are not Zeek's.
    expect(detectFormat(jsonLines({ a: 1 }, { b: 2 }).split('\n'))?.name).not.toBe('zeek-json');
    expect(detectFormat(jsonLines({ _path: 'packet_filter' }, { _path: 'reporter' }).split('\n'))?.name).not.toBe('zeek-json');
  });
});
