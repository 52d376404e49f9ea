/**
 * Zeek JSON lines read straight from their bytes (ZeekJsonScanner) must give what JSON.parse
 * gives: the same records, skips and malformed values, line for line, whichever lines the scanner
 * takes and whichever it leaves to JSON.parse.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { ZeekJsonParser } from '../../../lambda/engine/parsers/zeek-json';
import { ZeekJsonScanner } from '../../../lambda/engine/parsers/zeek-json-scan';
import { newRecord } from '../../../lambda/engine/parsers/record';
import { parseAll } from './harness';

const FIXTURE = join(__dirname, '../../fixtures/zeek/conn-zeekdocs.json.log');

/**
 * What a parser reports for `input`: calls and malformed values, in order. Addresses as text (the
 * harness decodes those passed as bytes; where they lay in the line is not a result).
 */
function report(parser: ZeekJsonParser, input: string | Buffer): unknown {
  const r = parseAll(parser, input);
  const calls = r.calls.map((c) =>
    c.kind === 'flow' ? { ...c, record: { ...c.record, origIpStart: 0, origIpEnd: 0, respIpStart: 0, respIpEnd: 0 } } : c,
  );
  return { calls, malformed: r.malformed };
}

/** What the parser reports with the scanner and with JSON.parse alone. */
function both(input: string | Buffer): { fast: unknown; plain: unknown } {
  return { fast: report(new ZeekJsonParser(), input), plain: report(new ZeekJsonParser({ fromBytes: false }), input) };
}

/** Whether the scanner reads `line` itself (rather than leaving it to JSON.parse). */
function scanned(line: string): boolean {
  const buf = Buffer.from(line, 'utf8');
  return new ZeekJsonScanner().read(buf, 0, buf.length, 1, newRecord());
}

// A record as Zeek 6 writes it with LogAscii::use_json=T (durations to 17 significant digits).
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
  local_orig: true,
  local_resp: false,
  missed_bytes: 0,
  history: 'ShADadFf',
  orig_pkts: 6,
  orig_ip_bytes: 397,
  resp_pkts: 4,
  resp_ip_bytes: 511,
  tunnel_parents: [],
  ip_proto: 6,
};
const line = (o: object): string => JSON.stringify(o);

describe('ZeekJsonScanner', () => {
  test("reads the lines Zeek writes itself, with the records JSON.parse gives", () => {
    const text = readFileSync(FIXTURE, 'utf8');
    for (const l of text.split('\n').filter((x) => x !== '')) expect(scanned(l)).toBe(true);
    const { fast, plain } = both(text);
    expect(fast).toEqual(plain);
    expect(scanned(line(CONN))).toBe(true);
    const r = parseAll(new ZeekJsonParser(), line(CONN)).flows[0]!;
    expect(r).toMatchObject({ origIp: '192.168.4.76', respIp: '31.3.245.133', origPort: 46378, respPort: 80, proto: 'tcp' });
    expect(r).toMatchObject({ origBytes: 77, respBytes: 295, origLocal: true, respLocal: false });
    expect(r.firstSeenMs).toBe(1591367999.430166 * 1000);
    expect(r.lastSeenMs).toBe(1591367999.430166 * 1000 + 0.25411510467529297 * 1000);
  });

  test.each([
    ['an ISO 8601 time (json_timestamps=JSON::TS_ISO8601)', true, { ...CONN, ts: '2020-06-05T14:39:59.430166Z' }],
    ['integer milliseconds (JSON::TS_MILLIS)', true, { ...CONN, ts: 1591367999430 }],
    ['a _path naming conn.log (json-streaming-logs)', true, { _path: 'conn', _write_ts: '2020-06-05T14:40:00.000000Z', ...CONN }],
    ['unset fields left out', true, { ts: CONN.ts, 'id.orig_h': '10.0.0.1', 'id.resp_h': '8.8.8.8', conn_state: 'S0' }],
    ['a non-ASCII value in a field not read', true, { ...CONN, service: 'ẞervice' }],
    ['another log by its _path', false, { ...CONN, _path: 'dns' }],
    ['snapshots of open connections (conn_long)', false, { ...CONN, _path: 'conn_long' }],
    [
      'id_ names (redef Log::default_scope_sep = "_")',
      true,
      Object.fromEntries(Object.entries(CONN).map(([k, v]) => [k.replace('id.', 'id_'), v])),
    ],
    ['both spellings of an address', false, { ...CONN, id_resp_h: '8.8.8.8' }],
    ['no conn.log field (maybe another log)', false, { ts: CONN.ts, 'id.orig_h': '10.0.0.1', 'id.resp_h': '8.8.8.8', query: 'a.example' }],
    ['nested id (some shippers)', false, { ts: CONN.ts, id: { orig_h: '10.0.0.1', resp_h: '8.8.8.8' }, conn_state: 'SF' }],
    ['a count with an exponent', false, { ...CONN, orig_bytes: 1e21 }],
    ['a fractional byte count', false, { ...CONN, orig_bytes: 1.5 }],
    ['a count as a string', false, { ...CONN, resp_bytes: '295' }],
    ['a negative duration', false, { ...CONN, duration: -1 }],
    ['a time that does not read', false, { ...CONN, ts: 'soon' }],
    ['an address with an escape', false, { ...CONN, 'id.resp_h': '31.3.245.133\n' }],
    ['a non-ASCII protocol', false, { ...CONN, proto: 'tcp\u00e9' }],
    ['a missing address', false, { ...CONN, 'id.resp_h': undefined }],
    ['an address that is a number', false, { ...CONN, 'id.resp_h': 5 }],
  ])('%s (read from bytes: %s): the same as JSON.parse', (_what, fromBytes, record) => {
    const l = line(record);
    expect(scanned(l)).toBe(fromBytes);
    const { fast, plain } = both(`${l}\n${line(CONN)}\n`);
    expect(fast).toEqual(plain);
  });

  test.each([
    ['whitespace between tokens', line(CONN).replace(/,/g, ', ')],
    ['a field given twice (the last counts)', line(CONN).replace('{', '{"id.resp_h":"8.8.8.8",')],
    ['conn_state given twice, no resp_bytes (the last state counts)', line({ ...CONN, resp_bytes: undefined, conn_state: 'SF' }).replace('"conn_state":"SF"', '"conn_state":"S0","conn_state":"SF"')],
    ['no resp_bytes and a state of no reply', line({ ...CONN, 'id.orig_h': '1.2.4.8', 'id.resp_h': '10.0.0.1', resp_bytes: undefined, conn_state: 'S0' }).replace('{', '{"uid":"\\u0043",')],
    ['trailing garbage', `${line(CONN)}x`],
    ['a cut line', line(CONN).slice(0, 120)],
    ['a leading zero (not JSON)', line(CONN).replace('"orig_bytes":77', '"orig_bytes":077')],
    ['a raw tab in a string (not JSON)', line(CONN).replace('ShADadFf', 'ShA\tDad')],
    ['an escaped name', line(CONN).replace('"id.resp_h"', '"id\\u002eresp_h"')],
    ['a nested array', line(CONN).replace('"tunnel_parents":[]', '"tunnel_parents":[[1]]')],
    ['an empty object', '{}'],
    ['a bare value', '17'],
  ])('%s: left to JSON.parse, with the same result', (_what, l) => {
    expect(scanned(l)).toBe(false);
    const { fast, plain } = both(`${l}\n${line(CONN)}\n`);
    expect(fast).toEqual(plain);
  });

  test('agrees with JSON.parse on arbitrary records and changes to them', () => {
    const value = fc.oneof(
      fc.integer({ min: -1, max: 2 ** 40 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom(0, 1591367999.430166, 0.25411510467529297, 1e17, 2 ** 53 + 2, Number('12345678901234567')),
      fc.string({ maxLength: 8 }),
      fc.constantFrom('10.0.0.1', '8.8.8.8', '2001:db8::1', '::ffff:1.2.3.4', '300.1.1.1', 'tcp', 'udp', 'icmp', 'conn', 'dns', '2020-06-05T14:39:59Z'),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.oneof(fc.string({ maxLength: 4 }), fc.integer()), { maxLength: 3 }),
    );
    const names = fc.constantFrom(...Object.keys(CONN), '_path', 'query', 'id', 'x');
    const record = fc.dictionary(names, value, { maxKeys: 12 }).map((o) => ({ ...CONN, ...o }));
    // Byte changes: a character inserted, removed or replaced somewhere in the line.
    const edit = fc.tuple(fc.nat(), fc.constantFrom('', ' ', '"', '\\', ',', '}', '0', 'e', '-', '\t', 'é', '\u0001'), fc.boolean());
    fc.assert(
      fc.property(fc.array(fc.tuple(record, fc.option(edit)), { minLength: 1, maxLength: 6 }), (lines) => {
        const text = lines
          .map(([o, e]) => {
            const l = line(o);
            if (e === null) return l;
            const [at, s, replace] = e;
            const k = at % (l.length + 1);
            return l.slice(0, k) + s + l.slice(replace ? k + 1 : k);
          })
          .join('\n');
        const { fast, plain } = both(text);
        expect(fast).toEqual(plain);
      }),
      { numRuns: 400 },
    );
  });
});
