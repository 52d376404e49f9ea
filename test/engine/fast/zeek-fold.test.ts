/**
 * The Zeek fast path (WebAssembly fold) against the JavaScript path: every verdict must be the
 * same, byte for byte, whichever path read the lines. Generated logs mix what the fold handles
 * with everything it must hand back: header blocks (new layouts, other separators), CRLF, blank
 * and comment lines, short lines, unset and odd values, addresses in several spellings, ports
 * past the inline list, over-long lines.
 */
import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { loadOperatorSources } from '../../../lambda/adapters/load-geo-database';
import { ZeekFastPath } from '../../../lambda/engine/fast/zeek-fast-path';
import { LineSplitter } from '../../../lambda/engine/input/line-splitter';
import { ZeekTsvParser } from '../../../lambda/engine/parsers/zeek-tsv';
import { Aggregator } from '../../../lambda/engine/verdict/aggregate';
import { destinationListOf } from '../../../lambda/engine/verdict/build-verdict';
import { serializeVerdictBytes, verdictBytes } from '../../../lambda/engine/verdict/serialize';
import type { Verdict } from '../../../lambda/engine/verdict/verdict';
import { bundledDatabases, checkBytes, fixture, fixturePath, policyOf } from '../../helpers/engine';

const STANDARD = ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'service', 'duration', 'orig_bytes', 'resp_bytes', 'conn_state', 'local_orig', 'local_resp'];

const address = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('8.8.8.8', '1.1.1.1', '114.114.114.114', '47.88.1.2', '185.60.216.35', '2a03:2880:f12f:83:face:b00c::25de') },
  { weight: 3, arbitrary: fc.constantFrom('192.168.1.10', '192.168.1.11', '10.0.0.5', 'fd00:1::2', '127.0.0.1', '224.0.0.251') },
  {
    weight: 2,
    arbitrary: fc.constantFrom('::ffff:8.8.8.8', '008.8.8.8', '2A03:2880:F12F:83:FACE:B00C:0:25DE', '[8.8.8.8]', '-', '(empty)', '', '300.1.1.1', 'not-an-ip'),
  },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.')) },
  {
    // Spellings around the fold's 16-byte blocks: equal for 16, 32 or 40 bytes, then different;
    // the longest a key may be (47) and one longer.
    weight: 2,
    arbitrary: fc.constantFrom(
      '2a03:2880:f12f:83:face:b00c::25df',
      '2a03:2880:f12f:83:face:b00c:0:25de',
      '2001:0db8:85a3:0000:0000:8a2e:0370:7334',
      '2001:0db8:85a3:0000:0000:8a2e:0370:7335',
      '2606:4700:4700:0000:0000:0000:0000:1111',
      '2606:4700:4700:0000:0000:0000:0000:1001',
      '0000:0000:0000:0000:0000:ffff:0808:0808',
      '0000:0000:0000:0000:0000:ffff:8.8.4.4',
      '2606:4700:4700:0000:0000:0000:0000:1111%eth0',
      '2606:4700:4700:0000:0000:0000:0000:1111%interface0',
      '203.0.113.100123',
      '203.0.113.10012',
    ),
  },
);
const port = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('443', '80', '53', '123') },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 65535 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('-', '', '99999999999', '4x3', '0443', '65535', '65536', '99999') },
);
const count = fc.oneof(
  { weight: 4, arbitrary: fc.nat(1_000_000).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('-', '', '0', '1234567890123456', '12a', '(empty)') },
);
const time = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.integer({ min: 1_600_000_000, max: 1_800_000_000 }), fc.nat(999_999)).map(([s, f]) => `${s}.${String(f).padStart(6, '0')}`) },
  { weight: 1, arbitrary: fc.constantFrom('-', '1700000000', '1700000000.', '1700000000.1', '.5', '1e9', '1700000000.123456789', '0.000001', '9999999999999', `1700000000.${'1234567890'.repeat(4)}`, `1.${'9'.repeat(30)}`,
    // Dates, as zeek-cut -d writes times (and near misses).
    '2020-06-05T14:39:59+0000', '2020-06-05T14:39:59.250000-0500', '2020-06-05T14:39:59Z', '2020-06-05 14:39:59', '2020-06-05T') },
);
const proto = fc.oneof({ weight: 6, arbitrary: fc.constantFrom('tcp', 'udp', 'icmp') }, { weight: 1, arbitrary: fc.constantFrom('-', 'TCP', 'sctp', '') });

// local_orig/local_resp: T when the sensor's Site::local_nets holds the address (and odd values).
const localFlag = fc.oneof({ weight: 6, arbitrary: fc.constantFrom('T', 'F', '-') }, { weight: 1, arbitrary: fc.constantFrom('', 't', 'TT', 'true', 'True', 'TRUE', '1', 'false', '0', 'truex') });

// conn_state: with resp_bytes unset, S0, REJ, RSTOS0 and SH say the responder sent nothing (and near misses).
const connState = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('SF', 'S0', 'REJ', 'SH', 'RSTOS0', 'S1', '-') }, { weight: 1, arbitrary: fc.constantFrom('s0', 'S0x', 'RE', 'RSTOS', 'SHR', 'OTH', '') });

const record = fc.record({ ts: time, oh: address, op: port, rh: address, rp: port, proto, duration: time, ob: count, rb: count, lo: localFlag, lr: localFlag, cs: connState });
type Rec = typeof record extends fc.Arbitrary<infer T> ? T : never;
/** A record as the tests below write one: local_orig/local_resp unset unless given. */
type Line = Omit<Rec, 'lo' | 'lr' | 'proto' | 'cs'> & { proto: string; lo?: string; lr?: string; cs?: string };

/** A data line in a layout (column names in order, separator). */
function dataLine(r: Line, fields: readonly string[], sep: string): string {
  const value: Record<string, string> = {
    ts: r.ts, uid: 'C1', 'id.orig_h': r.oh, 'id.orig_p': r.op, 'id.resp_h': r.rh, 'id.resp_p': r.rp,
    proto: r.proto, service: '-', duration: r.duration, orig_bytes: r.ob, resp_bytes: r.rb, conn_state: r.cs ?? 'SF',
    local_orig: r.lo ?? '-', local_resp: r.lr ?? '-',
  };
  return fields.map((f) => value[f] ?? '-').join(sep);
}

function header(fields: readonly string[], sep: string): string[] {
  const escaped = `\\x${sep.charCodeAt(0).toString(16).padStart(2, '0')}`;
  return [`#separator ${escaped}`, `#set_separator${sep},`, `#path${sep}conn`, `#fields${sep}${fields.join(sep)}`];
}

const layout = fc.record({
  fields: fc.oneof(
    { weight: 3, arbitrary: fc.constant(STANDARD) },
    { weight: 1, arbitrary: fc.shuffledSubarray(STANDARD, { minLength: 2, maxLength: STANDARD.length }).filter((f) => f.includes('id.orig_h') && f.includes('id.resp_h')) },
  ),
  sep: fc.constantFrom('\t', '\t', ',', '|'),
});

const item = fc.oneof(
  { weight: 30, arbitrary: fc.tuple(fc.constant('record' as const), record, fc.nat(3)) },
  { weight: 1, arbitrary: fc.tuple(fc.constant('layout' as const), layout) },
  { weight: 1, arbitrary: fc.constantFrom(['blank'] as const, ['comment'] as const, ['short'] as const, ['long'] as const, ['wide'] as const) },
);

/** A log from a layout and items; `crlf` ends lines with CR LF. */
function logOf(first: { fields: readonly string[]; sep: string }, items: readonly unknown[], crlf: boolean): string {
  let cur = first;
  const lines = [...header(cur.fields, cur.sep)];
  for (const it of items as [string, ...unknown[]][]) {
    if (it[0] === 'record') {
      const [, r, repeat] = it as [string, Rec, number];
      for (let i = 0; i <= repeat; i++) lines.push(dataLine(r, cur.fields, cur.sep));
    } else if (it[0] === 'layout') {
      cur = it[1] as typeof cur;
      lines.push(...header(cur.fields, cur.sep));
    } else if (it[0] === 'blank') lines.push('');
    else if (it[0] === 'comment') lines.push('#close\t2026-01-01-00-00-00');
    else if (it[0] === 'short') lines.push(`1700000000.0${cur.sep}C9`);
    else if (it[0] === 'wide') lines.push(`${dataLine({ ts: '1700000000.5', oh: '192.168.1.10', op: '1', rh: '8.8.8.8', rp: '53', proto: 'udp', duration: '1.0', ob: '5', rb: '6' }, cur.fields, cur.sep)}${cur.sep}extra`);
    else lines.push(`1700000000.0${cur.sep}C9${cur.sep}${'x'.repeat(300)}`);
  }
  return lines.join(crlf ? '\r\n' : '\n') + (crlf ? '\r\n' : '\n');
}

/**
 * A verdict as the verdict file holds it (written from the rows, the fast path's numbers by its
 * WebAssembly writer), then as JSON.stringify writes its objects. Identical runs differ in nothing
 * (the clock is fixed).
 */
const text = (v: Verdict): string => `${verdictBytes(v).toString('utf8')}\n${JSON.stringify(v)}`;

/** The verdict file's part of {@link text}. */
const fileOf = (t: string): Verdict => JSON.parse(t.slice(0, t.indexOf('\n}\n') + 2)) as Verdict;

async function both(log: string, chunk: number, maxLineBytes = 256): Promise<[string, string]> {
  const bytes = Buffer.from(log, 'latin1');
  const options = { policy: policyOf('us', 'foreign-adversaries'), maxLineBytes, maxSkippedRecords: 1e9 };
  const fast = await checkBytes(bytes, { ...options, fastPath: true }, chunk);
  const slow = await checkBytes(bytes, { ...options, fastPath: false }, chunk);
  return [text(fast), text(slow)];
}

/**
 * A fast path and the aggregator it folds into, fed through a line splitter, as runCheck wires
 * them; `folded()` is how many records the fold has handled so far.
 */
function foldingCheck(): { agg: Aggregator; splitter: LineSplitter; folded: () => number } {
  const parser = new ZeekTsvParser();
  const fast = ZeekFastPath.create(parser, 1000, 1 << 20)!;
  const agg = new Aggregator(policyOf('us'), bundledDatabases(), undefined, 1000, fast.shared());
  fast.attach(agg);
  let folded = 0;
  const addFolded = agg.addFolded.bind(agg);
  agg.addFolded = (n: number): void => {
    folded += n;
    addFolded(n);
  };
  const splitter = new LineSplitter((b, s, e, n) => parser.line(b, s, e, n, agg), () => undefined, 1 << 20, fast);
  return { agg, splitter, folded: () => folded };
}

describe('Zeek fast path', () => {
  it('is available here (the committed module compiles and instantiates)', () => {
    const parser = new ZeekTsvParser();
    expect(ZeekFastPath.create(parser, 1000, 1024)).not.toBeNull();
  });

  it('gives the JavaScript path\'s verdict on generated logs, whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(layout, fc.array(item, { minLength: 1, maxLength: 120 }), fc.boolean(), fc.integer({ min: 1, max: 5000 }), async (first, items, crlf, chunk) => {
        const [fast, slow] = await both(logOf(first, items, crlf), chunk);
        expect(fast).toBe(slow);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps ports, protocols and evidence exactly when destinations see many distinct ports', async () => {
    // 200 records to one address with 100 distinct ports: past the 16 inline ports, through the
    // overflow list until it is full (64 in all), then ignored.
    const lines = [...header(STANDARD, '\t')];
    for (let i = 0; i < 200; i++) {
      const r = { ts: `${1_700_000_000 + i}.5`, oh: '192.168.1.10', op: String(40000 + i), rh: i % 3 === 0 ? '1.1.1.1' : '8.8.8.8', rp: String(1000 + (i % 100)), proto: (['tcp', 'udp', 'icmp'] as const)[i % 3]!, duration: '0.25', ob: String(i), rb: '-' };
      lines.push(dataLine(r, STANDARD, '\t'));
    }
    const [fast, slow] = await both(`${lines.join('\n')}\n`, 4096);
    expect(fast).toBe(slow);
    const v = fileOf(fast);
    const google = v.destinations.find((d) => d.ip === '8.8.8.8')!;
    expect(google.ports).toHaveLength(64);
    expect(google.evidenceLines).toHaveLength(10);
  });

  it('writes the verdict file\'s numbers from the rows as JavaScript would, and leaves to JavaScript what it spells', async () => {
    const lines = [...header(STANDARD, '\t')];
    const add = (rh: string, ts: string, rp: string, ob: string): number =>
      lines.push(dataLine({ ts, oh: '192.168.1.10', op: '40000', rh, rp, proto: 'tcp', duration: '0.5', ob, rb: '7' }, STANDARD, '\t'));
    // Bytes sent past 2^53 (String(n) spells them), a time past the year 9999 (toISOString),
    // times unknown (null), more ports than a row holds, and plain ones.
    for (let i = 0; i < 12; i++) add('1.1.1.1', `${1_700_000_000 + i}.25`, '443', '999999999999999');
    add('8.8.8.8', '999999999999.5', '53', '10');
    add('9.9.9.9', '-', '443', '10');
    // Counts past 2^32, with zeros inside (written as a high part and nine padded digits).
    add('1.0.0.2', '1700000000.5', '443', '5000000007');
    add('1.0.0.3', '1700000000.5', '443', '1000000000000');
    add('1.0.0.3', '1700000000.5', '443', '999999999999999');
    for (let i = 0; i < 14; i++) add('1.0.0.1', `${1_700_000_000 + i}.125`, String(1000 + i), '5');
    const lineNos: number[] = [];
    for (let i = 0; i < 3; i++) lineNos.push(add('114.114.114.114', `${1_700_000_100 - i}.999999`, String(8443 - i), String(i)));
    const log = `${lines.join('\n')}\n`;
    const [fast, slow] = await both(log, 1 << 16);
    expect(fast).toBe(slow);
    const file = fileOf(fast);
    const byIp = new Map(file.destinations.map((d) => [d.ip, d]));
    expect(byIp.get('1.1.1.1')!.bytesSent).toBe(12 * 999999999999999);
    expect(byIp.get('8.8.8.8')!.firstSeen).toBe(new Date(999999999999500).toISOString());
    expect(byIp.get('9.9.9.9')!.firstSeen).toBeNull();
    expect(byIp.get('1.0.0.2')!.bytesSent).toBe(5000000007);
    expect(byIp.get('1.0.0.3')!.bytesSent).toBe(1000999999999999);
    expect(byIp.get('1.0.0.1')!.ports).toHaveLength(14);
    expect(byIp.get('114.114.114.114')!.ports).toEqual([8441, 8442, 8443]);
    expect(byIp.get('114.114.114.114')!.evidenceLines).toEqual(lineNos);
    // The fast path's verdict was written through its row writer.
    const v = await checkBytes(Buffer.from(log, 'latin1'), { policy: policyOf('us'), fastPath: true });
    expect(destinationListOf(v)?.rowWriter).not.toBeNull();
  });

  it('writes two verdict files of one check at once without either writing over the other', async () => {
    // Enough destinations for several chunks; the two writings are interleaved chunk by chunk.
    const lines = [...header(STANDARD, '\t')];
    for (let i = 0; i < 3000; i++) {
      const r = { ts: `${1_700_000_000 + i}.5`, oh: '192.168.1.10', op: '40000', rh: `11.${i >> 8}.${i & 255}.7`, rp: '443', proto: 'tcp' as const, duration: '1', ob: String(i), rb: '1' };
      lines.push(dataLine(r, STANDARD, '\t'));
    }
    const v = await checkBytes(Buffer.from(`${lines.join('\n')}\n`, 'latin1'), { policy: policyOf('us'), fastPath: true });
    const chunkBytes = 4096;
    const a = serializeVerdictBytes(v, chunkBytes);
    const b = serializeVerdictBytes(v, chunkBytes);
    const got: [Buffer[], Buffer[]] = [[], []];
    // Each chunk is read only after the other writing has made its next one (as when a chunk's
    // write is still in flight): the two must not share a buffer.
    let y = b.next();
    for (;;) {
      const x = a.next();
      if (!y.done) got[1].push(Buffer.from(y.value));
      y = b.next();
      if (!x.done) got[0].push(Buffer.from(x.value));
      if (x.done && y.done) break;
    }
    expect(got[0].length).toBeGreaterThan(10);
    // (Each chunk is valid until the next is asked for: copied as it comes.)
    const alone = Buffer.concat(Array.from(serializeVerdictBytes(v, chunkBytes), (c) => Buffer.from(c)));
    expect(Buffer.concat(got[0]).equals(alone)).toBe(true);
    expect(Buffer.concat(got[1]).equals(alone)).toBe(true);
    expect(JSON.parse(alone.toString('utf8')).destinations).toHaveLength(3000);
    // Any chunk size ends, even none: then an entry a chunk.
    for (const size of [0, -1, Number.NaN]) {
      expect(Buffer.concat(Array.from(serializeVerdictBytes(v, size), (c) => Buffer.from(c))).equals(alone)).toBe(true);
    }
  });

  it('reads times written as dates (zeek-cut -d, -D) as the JavaScript path does', async () => {
    const lines = [...header(STANDARD, '\t')];
    const r = { oh: '192.168.1.10', op: '40000', rh: '8.8.8.8', rp: '443', proto: 'tcp' as const, duration: '2.5', ob: '100', rb: '200', lo: 'T', lr: 'F' };
    lines.push(dataLine({ ...r, ts: '1591367999.0' }, STANDARD, '\t'));
    lines.push(dataLine({ ...r, ts: '2020-06-05T14:39:59+0000' }, STANDARD, '\t'));
    lines.push(dataLine({ ...r, ts: '2020-06-05T09:40:09.250000-0500' }, STANDARD, '\t'));
    // zeek-cut -D '%Y-%m-%d %H:%M:%S' (or ZEEK_CUT_TIMEFMT), as -U writes it: UTC, a space for the T.
    lines.push(dataLine({ ...r, ts: '2020-06-05 14:39:58' }, STANDARD, '\t'));
    const [fast, slow] = await both(`${lines.join('\n')}\n`, 4096);
    expect(fast).toBe(slow);
    const v = fileOf(fast);
    const d = v.destinations[0]!;
    expect([d.firstSeen, d.lastSeen]).toEqual(['2020-06-05T14:39:58.000Z', '2020-06-05T14:40:11.750Z']);
    expect(v.totals.malformedValues).toBe(0);
  });

  it("lists no ports for ICMP (Zeek writes the message's type and code there), as the JavaScript path does", async () => {
    const lines = [...header(STANDARD, '\t')];
    const r = { ts: '1709287200.0', oh: '192.168.1.10', rh: '1.2.4.8', duration: '1.0', ob: '64', rb: '64', lo: 'T', lr: 'F' };
    lines.push(dataLine({ ...r, op: '8', rp: '0', proto: 'icmp' as const }, STANDARD, '\t'));
    lines.push(dataLine({ ...r, op: '3', rp: '3', proto: 'icmp' as const }, STANDARD, '\t'));
    lines.push(dataLine({ ...r, op: '40000', rp: '443', proto: 'tcp' as const }, STANDARD, '\t'));
    const [fast, slow] = await both(`${lines.join('\n')}\n`, 4096);
    expect(fast).toBe(slow);
    expect(fileOf(fast).destinations.find((d) => d.ip === '1.2.4.8')).toMatchObject({ connections: 3, ports: [443], protocols: ['icmp', 'tcp'] });
  });

  it('writes whole entries of plain destinations in WebAssembly, byte for byte as JavaScript does, and leaves it the others', async () => {
    // Thousands of public addresses (IPv4 and IPv6, allowed, denied, not in the allowed set, placed
    // differently by the two databases, with operators), a destination with more ports than its row
    // holds, one reached only by refused attempts; then the same log with names beside it.
    const lines = [...header(STANDARD, '\t')];
    const add = (rh: string, rp: string, extra: Partial<Line> = {}): number =>
      lines.push(dataLine({ ts: '1700000000.25', oh: '192.168.1.10', op: '40000', rh, rp, proto: 'tcp', duration: '0.5', ob: '100', rb: '7', ...extra }, STANDARD, '\t'));
    for (let i = 0; i < 3000; i++) {
      const o = (i * 2654435761) >>> 0;
      add(`${1 + (o % 222)}.${(o >>> 8) & 255}.${(o >>> 16) & 255}.${i & 255}`, String(443 + (i % 3)), { ob: String(i) });
      if (i % 10 === 0) add(`2${(o % 0xfff).toString(16).padStart(3, '0')}:${(o >>> 12).toString(16)}::${i.toString(16)}`, '443');
    }
    for (let i = 0; i < 20; i++) add('114.114.114.114', String(1000 + i));
    add('1.2.4.8', '-', { oh: '1.2.4.8', op: '51000', rh: '192.168.1.10', rp: '22', ob: '0', rb: '0' });
    const log = Buffer.from(`${lines.join('\n')}\n`, 'latin1');
    const options = { policy: policyOf('us', 'foreign-adversaries'), databases: bundledDatabases(), operator: loadOperatorSources() };
    const slow = verdictBytes(await checkBytes(log, { ...options, fastPath: false }));
    /** The verdict file of the fast path, and how many entries its entry writer wrote. */
    const fast = async (more: Partial<typeof options> & { names?: ReadonlyMap<string, readonly string[]> } = {}): Promise<[Buffer, number]> => {
      const v = await checkBytes(log, { ...options, ...more, fastPath: true });
      const entries = destinationListOf(v)!.rowWriter!.entries!;
      let whole = 0;
      const put = entries.put.bind(entries);
      entries.put = (kind, k, ...rest) => {
        const next = put(kind, k, ...rest);
        whole += next - k;
        return next;
      };
      return [verdictBytes(v), whole];
    };
    const [bytes, whole] = await fast();
    expect(bytes.equals(slow)).toBe(true);
    const file = JSON.parse(bytes.toString('utf8')) as Verdict;
    const listed = file.destinations.length + file.violations.length;
    expect(file.violations.length).toBeGreaterThan(100);
    expect(file.destinations.some((d) => d.disputed)).toBe(true);
    expect(file.destinations.some((d) => d.asOrganization !== null)).toBe(true);
    expect(file.destinations.some((d) => d.ip.includes(':'))).toBe(true);
    // All but the two JavaScript writes: its ports do not all fit its row; its attempts were refused.
    expect(file.destinations.find((d) => d.ip === '114.114.114.114')!.ports).toHaveLength(20);
    expect(file.destinations.find((d) => d.ip === '1.2.4.8')!.status).toBe('blocked');
    expect(whole).toBe(listed - 3);
    // With names beside the log, JavaScript writes every entry (the same bytes as its own path).
    const names = new Map([['114.114.114.114', ['dns.example']]]);
    const slowNamed = verdictBytes(await checkBytes(log, { ...options, names, fastPath: false }));
    const [named, wholeNamed] = await fast({ names });
    expect(named.equals(slowNamed)).toBe(true);
    expect(wholeNamed).toBe(0);
  });

  it('takes a side the log marks local (local_orig/local_resp T) as inside, as the JavaScript path does', async () => {
    // A campus with public addresses in Site::local_nets: a server (128.112.128.15) reached from
    // abroad, then reaching out, then talking to another campus host.
    const lines = [...header(STANDARD, '\t')];
    const r = { ts: '1709287200.0', op: '40000', rp: '22', proto: 'tcp' as const, duration: '1.0' };
    lines.push(dataLine({ ...r, oh: '1.2.4.8', rh: '128.112.128.15', ob: '3000', rb: '250000', lo: 'F', lr: 'T' }, STANDARD, '\t'));
    lines.push(dataLine({ ...r, oh: '128.112.128.15', rh: '8.8.8.8', ob: '500', rb: '900', lo: 'T', lr: 'F' }, STANDARD, '\t'));
    lines.push(dataLine({ ...r, oh: '128.112.128.15', rh: '128.112.7.7', ob: '70', rb: '80', lo: 'T', lr: 'T' }, STANDARD, '\t'));
    lines.push(dataLine({ ...r, oh: '1.2.4.8', rh: '128.112.128.15', ob: '10', rb: '20', lo: 'F', lr: 'T' }, STANDARD, '\t'));
    const [fast, slow] = await both(`${lines.join('\n')}\n`, 4096);
    expect(fast).toBe(slow);
    const v = fileOf(fast);
    // The foreign host is the remote party of the inbound connections; what the server sent is what left.
    expect(v.destinations.find((d) => d.ip === '1.2.4.8')).toMatchObject({ status: 'violation', connections: 2, bytesSent: 250020, bytesReceived: 3010 });
    expect(v.destinations.find((d) => d.ip === '8.8.8.8')).toMatchObject({ status: 'allowed', bytesSent: 500 });
    // Both inside by the log: the responder is the remote party, as for two private hosts, and is
    // judged (the log's word picks a record's remote party; it exempts no address). The server
    // is no destination.
    expect(v.destinations.find((d) => d.ip === '128.112.7.7')).toMatchObject({ status: 'allowed', country: 'US', bytesSent: 70 });
    expect(v.destinations.map((d) => d.ip)).not.toContain('128.112.128.15');
    expect(v.totals.bytesSent).toBe(250020 + 500 + 70);
    // An export that spells the flags true/True/1 says the same on either path (see saysTrue).
    for (const [no, yes] of [['false', 'true'], ['False', 'True'], ['0', '1']]) {
      const spelled = `${lines.slice(0, 4).join('\n')}\n${lines.slice(4).map((l) => l.replace(/\tF(?=\t|$)/g, `\t${no}`).replace(/\tT(?=\t|$)/g, `\t${yes}`)).join('\n')}\n`;
      expect(spelled).toContain(`\t${yes}`);
      const [f, s] = await both(spelled, 4096);
      expect(f).toBe(s);
      expect(fileOf(f).destinations).toEqual(v.destinations);
    }
  });

  it('never exempts a destination because another record calls its address local', async () => {
    // A CN server reached from the LAN (local_resp F), then named as a local originator elsewhere.
    const lines = [...header(STANDARD, '\t')];
    const r = { ts: '1709287200.0', op: '40000', rp: '443', proto: 'tcp' as const, duration: '1.0' };
    lines.push(dataLine({ ...r, oh: '192.168.1.2', rh: '202.96.128.86', ob: '5000000', rb: '10', lo: 'T', lr: 'F' }, STANDARD, '\t'));
    lines.push(dataLine({ ...r, oh: '202.96.128.86', rh: '8.8.8.8', ob: '1', rb: '1', lo: 'T', lr: 'F' }, STANDARD, '\t'));
    const [fast, slow] = await both(`${lines.join('\n')}\n`, 4096);
    expect(fast).toBe(slow);
    const v = fileOf(fast);
    expect(v.compliant).toBe(false);
    expect(v.destinations.find((d) => d.ip === '202.96.128.86')).toMatchObject({ status: 'violation', bytesSent: 5000000 });
  });

  it('counts a connection opened from outside and answered with nothing as a refused attempt, on either path', async () => {
    // A public server's sensor: a scanner in CN (SYN only, REJ, or a connect with no payload back);
    // a client in RU that got a reply; a host in DE probed, then reached from inside.
    const lines = [...header(STANDARD, '\t')];
    const r = { ts: '1709287200.0', op: '40000', proto: 'tcp' as const, duration: '1.0' };
    lines.push(dataLine({ ...r, oh: '1.2.4.8', rh: '192.168.1.10', rp: '23', ob: '0', rb: '0' }, STANDARD, '\t'));
    lines.push(dataLine({ ...r, oh: '1.2.4.8', rh: '192.168.1.10', rp: '22', ob: '700', rb: '0' }, STANDARD, '\t'));
    lines.push(dataLine({ ...r, oh: '5.8.8.8', rh: '192.168.1.10', rp: '443', ob: '500', rb: '9000' }, STANDARD, '\t'));
    lines.push(dataLine({ ...r, oh: '46.4.0.1', rh: '192.168.1.10', rp: '22', ob: '60', rb: '0' }, STANDARD, '\t'));
    lines.push(dataLine({ ...r, oh: '192.168.1.10', rh: '46.4.0.1', rp: '443', ob: '1200', rb: '50' }, STANDARD, '\t'));
    // Unknown bytes back is not "nothing": still a connection.
    lines.push(dataLine({ ...r, oh: '2.16.0.1', rh: '192.168.1.10', rp: '80', ob: '10', rb: '-' }, STANDARD, '\t'));
    // A lone SYN: Zeek leaves duration and both byte counts unset, and says S0 (no reply); a SYN
    // answered by a reset, REJ. Probes, as the ones with counts of 0 are.
    lines.push(dataLine({ ...r, oh: '138.197.148.152', rh: '192.168.1.10', rp: '2222', duration: '-', ob: '-', rb: '-', cs: 'S0' }, STANDARD, '\t'));
    lines.push(dataLine({ ...r, oh: '138.197.148.152', rh: '192.168.1.10', rp: '23', duration: '-', ob: '-', rb: '-', cs: 'REJ' }, STANDARD, '\t'));
    // Unset with a state that had a reply: unknown still.
    lines.push(dataLine({ ...r, oh: '2.16.0.1', rh: '192.168.1.10', rp: '80', duration: '-', ob: '-', rb: '-', cs: 'SF' }, STANDARD, '\t'));
    const [fast, slow] = await both(`${lines.join('\n')}\n`, 4096);
    expect(fast).toBe(slow);
    const v = fileOf(fast);
    const d = (ip: string) => v.destinations.find((x) => x.ip === ip);
    expect(d('1.2.4.8')).toMatchObject({ status: 'blocked', connections: 0, blockedAttempts: 2, bytesSent: 0, bytesReceived: 700, evidenceLines: [5, 6] });
    expect(d('5.8.8.8')).toMatchObject({ status: 'violation', connections: 1, blockedAttempts: 0, bytesSent: 9000 });
    expect(d('46.4.0.1')).toMatchObject({ status: 'violation', connections: 1, blockedAttempts: 1, bytesSent: 1200 });
    expect(d('2.16.0.1')).toMatchObject({ connections: 2, blockedAttempts: 0, connectionsWithUnknownBytes: 2 });
    expect(d('138.197.148.152')).toMatchObject({ status: 'blocked', connections: 0, blockedAttempts: 2, bytesSent: 0, connectionsWithUnknownBytes: 0 });
    expect(v.violations.map((x) => x.ip)).not.toContain('1.2.4.8');
  });

  it("takes a host that sent to a link-scoped address (mDNS, a broadcast) as inside, whatever its address, on either path", async () => {
    // A campus network with public addresses (CTU's 147.32.83.0/24): its hosts' mDNS and
    // broadcasts made each of them a foreign party that had opened a connection inward.
    const lines = [...header(STANDARD, '\t')];
    const r = { ts: '1709287200.0', op: '5353', rp: '5353', proto: 'udp' as const, duration: '1.0', ob: '120', rb: '0' };
    lines.push(dataLine({ ...r, oh: '147.32.83.13', rh: '224.0.0.251' }, STANDARD, '\t'));
    lines.push(dataLine({ ...r, oh: '147.32.83.14', rh: '255.255.255.255', op: '68', rp: '67' }, STANDARD, '\t'));
    lines.push(dataLine({ ...r, oh: '2001:718:2:1663::13', rh: 'ff02::fb' }, STANDARD, '\t'));
    // Routed multicast and a local server: the sender outside, as before.
    lines.push(dataLine({ ...r, oh: '147.32.83.15', rh: '239.255.255.250', rp: '1900' }, STANDARD, '\t'));
    lines.push(dataLine({ ...r, oh: '1.2.4.8', rh: '192.168.1.10', rp: '53', ob: '60', rb: '90' }, STANDARD, '\t'));
    // Many lines: the fold reads most of them.
    for (let i = 0; i < 50; i++) lines.push(dataLine({ ...r, oh: '147.32.83.13', rh: '224.0.0.251' }, STANDARD, '\t'));
    const [fast, slow] = await both(`${lines.join('\n')}\n`, 4096);
    expect(fast).toBe(slow);
    const v = fileOf(fast);
    expect(v.destinations.map((d) => [d.ip, d.status, d.connections]).sort()).toEqual([
      ['1.2.4.8', 'violation', 1],
      ['147.32.83.15', 'blocked', 0],
      ['224.0.0.251', 'non-public', 51],
      ['255.255.255.255', 'non-public', 1],
      ['ff02::fb', 'non-public', 1],
    ]);
  });

  it('skips a record with more fields than #fields names, on either path, naming both counts', async () => {
    // A documentation page's conn.log: rows of 37 columns under a #fields line of 20. Read by
    // position, the protocol was `-`, a duration `tcp`, and every connection's bytes unknown.
    const lines = [...header(STANDARD, '\t')];
    const r = { ts: '1709287200.0', op: '40000', rp: '443', proto: 'tcp' as const, duration: '1.0', ob: '500', rb: '9000' };
    for (let i = 0; i < 20; i++) lines.push(dataLine({ ...r, oh: '192.168.1.10', rh: '8.8.8.8' }, STANDARD, '\t'));
    lines.push(`${dataLine({ ...r, oh: '192.168.1.10', rh: '91.189.89.199' }, STANDARD, '\t')}\tS0\tT`);
    lines.push(`${dataLine({ ...r, oh: '192.168.1.10', rh: '91.189.89.197' }, STANDARD, '\t')}\t\tx`);
    // A separator at the end of a line is no value: read.
    lines.push(`${dataLine({ ...r, oh: '192.168.1.10', rh: '91.189.89.198' }, STANDARD, '\t')}\t`);
    const [fast, slow] = await both(`${lines.join('\n')}\n`, 4096);
    expect(fast).toBe(slow);
    const v = fileOf(fast);
    expect(v.destinations.map((d) => d.ip).sort()).toEqual(['8.8.8.8', '91.189.89.198']);
    expect(v.totals).toMatchObject({ records: 23, connections: 21, skipped: 2 });
    expect(v.errors).toEqual([
      { line: 25, reason: `record has more fields than the #fields header names (${STANDARD.length})` },
      { line: 26, reason: `record has more fields than the #fields header names (${STANDARD.length})` },
    ]);

    // zeek-cut -F , leaves a comma inside a value (a service `quic,ssl`): read by position, as
    // before, its destination kept (skipped, a row to CN made the log compliant).
    const cut = [...header(STANDARD, ',')];
    for (let i = 0; i < 20; i++) cut.push(dataLine({ ...r, oh: '192.168.1.10', rh: '8.8.8.8' }, STANDARD, ','));
    cut.push(dataLine({ ...r, oh: '192.168.1.10', rh: '223.5.5.5' }, STANDARD, ',').replace(',udp,-,', ',udp,quic,ssl,').replace(',tcp,-,', ',tcp,quic,ssl,'));
    const [cutFast, cutSlow] = await both(`${cut.join('\n')}\n`, 4096);
    expect(cutFast).toBe(cutSlow);
    expect(fileOf(cutFast).destinations.map((d) => d.ip).sort()).toEqual(['223.5.5.5', '8.8.8.8']);
  });

  it('lists no port past 65535, on either path', async () => {
    const lines = [...header(STANDARD, '\t')];
    const r = { ts: '1709287200.0', op: '40000', oh: '192.168.1.2', rh: '8.8.8.8', proto: 'tcp' as const, duration: '1.0', ob: '1', rb: '1' };
    for (const rp of ['443', '99999', '65536', '65535']) lines.push(dataLine({ ...r, rp }, STANDARD, '\t'));
    const [fast, slow] = await both(`${lines.join('\n')}\n`, 4096);
    expect(fast).toBe(slow);
    expect(fileOf(fast).destinations[0]).toMatchObject({ connections: 4, ports: [443, 65535] });
  });

  it('gives the same verdicts on the real Zeek fixtures', async () => {
    const names = readdirSync(fixturePath('zeek')).filter((f) => f.endsWith('.tsv.log'));
    expect(names.length).toBeGreaterThanOrEqual(2);
    for (const name of names) {
      const [fast, slow] = await both(fixture('zeek', name).toString('latin1'), 1000, 1 << 20);
      expect(fast).toBe(slow);
    }
  });

  it('folds first sightings through the aggregator, and hands back headers and what it has no bit for', async () => {
    const { agg, splitter, folded } = foldingCheck();
    const lines = [...header(STANDARD, '\t')];
    const r = { ts: '1700000000.5', oh: '192.168.1.10', op: '40000', rh: '8.8.8.8', rp: '443', proto: 'tcp' as const, duration: '1.0', ob: '100', rb: '200' };
    for (let i = 0; i < 1000; i++) lines.push(dataLine({ ...r, rh: i % 2 === 0 ? '8.8.8.8' : '1.1.1.1' }, STANDARD, '\t'));
    splitter.push(Buffer.from(`${lines.join('\n')}\n`));
    // The first record is the JavaScript path's (no bit for tcp yet); the rest are folded, the
    // first record to 1.1.1.1 too (its address and destination settled by the aggregator).
    expect(folded()).toBe(999);
    expect(agg.records).toBe(1000);
    expect(agg.connections).toBe(1000);
    expect(agg.destinations().map((d) => [d.facts.ip, d.connections, d.bytesSent, d.evidenceLines[0]])).toEqual([
      ['8.8.8.8', 500, 50000, 5],
      ['1.1.1.1', 500, 50000, 6],
    ]);
  });

  it('folds a scanner\'s unanswered probes itself, as refused attempts', () => {
    // A public server's sensor: most inbound lines are probes the server answered with nothing.
    const { agg, splitter, folded } = foldingCheck();
    const lines = [...header(STANDARD, '\t')];
    const r = { ts: '1700000000.5', op: '40000', rh: '192.168.1.10', rp: '22', proto: 'tcp' as const, duration: '1.0', ob: '60', rb: '0' };
    lines.push(dataLine({ ...r, oh: '192.168.1.10', rh: '8.8.8.8', rp: '443', ob: '100', rb: '200' }, STANDARD, '\t'));
    for (let i = 0; i < 200; i++) lines.push(dataLine({ ...r, oh: i % 2 === 0 ? '1.2.4.8' : '46.4.0.1', ob: i % 4 === 1 ? '0' : '60' }, STANDARD, '\t'));

    // Act
    splitter.push(Buffer.from(`${lines.join('\n')}\n`));

    // Assess: only the first record (no bit for tcp yet) is the JavaScript path's.
    expect(folded()).toBe(200);
    expect(agg.records).toBe(201);
    expect(agg.connections).toBe(201);
    expect(agg.destinations().map((d) => [d.facts.ip, d.connections, d.blockedAttempts, d.bytesReceived, d.connectionsWithUnknownBytes, d.evidenceLines.slice(0, 2)])).toEqual([
      ['8.8.8.8', 1, 0, 200, 0, [5]],
      ['1.2.4.8', 0, 100, 6000, 0, [6, 8]],
      ['46.4.0.1', 0, 100, 3000, 0, [7, 9]],
    ]);
  });

  it('folds lines whose port is past the row\'s inline slots, listing it as the JavaScript path does', async () => {
    // Inbound clients each from a new ephemeral port: the remote party's port list fills its row
    // (12) and then the list past it (up to 64 in all).
    const lines = [...header(STANDARD, '\t')];
    const r = { ts: '1700000000.5', oh: '5.8.8.8', rh: '192.168.1.10', rp: '443', proto: 'tcp' as const, duration: '1.0', ob: '60', rb: '900' };
    for (let i = 0; i < 100; i++) lines.push(dataLine({ ...r, op: String(40000 + (i % 80)) }, STANDARD, '\t'));
    const log = `${lines.join('\n')}\n`;
    const { agg, splitter, folded } = foldingCheck();

    // Act
    splitter.push(Buffer.from(log));
    const [fast, slow] = await both(log, 4096);

    // Assess: only the first record (no bit for tcp yet) is the JavaScript path's.
    expect(folded()).toBe(99);
    expect(agg.destinations()[0]!.ports).toEqual(Array.from({ length: 64 }, (_, i) => 40000 + i));
    expect(fast).toBe(slow);
  });

  it('folds the lines of a batch up to one it hands back, and goes on after it', async () => {
    // Lines are split and read ahead in batches of 16: lines for JavaScript (an address that is
    // none, a comment) and blank lines fall at every place in a batch, and a header changes the
    // layout mid-log; none is folded, every other one is.
    const { agg, splitter, folded } = foldingCheck();
    const swapped = ['ts', 'uid', 'id.resp_h', 'id.resp_p', 'id.orig_h', 'id.orig_p', 'proto', 'service', 'duration', 'orig_bytes', 'resp_bytes'];
    const lines = [...header(STANDARD, '\t')];
    let good = 0;
    for (let i = 0; i < 1000; i++) {
      const fields = i < 500 ? STANDARD : swapped;
      if (i === 500) lines.push(...header(swapped, '\t'));
      if (i % 7 === 3) lines.push(`1700000000.5\tC1\t192.168.1.10\t40000\tnot-an-ip\t443\ttcp\t-\t1.0\t1\t2`);
      if (i % 11 === 5) lines.push('');
      if (i % 13 === 9) lines.push('#comment');
      lines.push(dataLine({ ts: `${1_700_000_000 + i}.5`, oh: '192.168.1.10', op: '40000', rh: ['8.8.8.8', '1.1.1.1', '47.88.1.2'][i % 3]!, rp: String(443 + (i % 5)), proto: 'tcp', duration: '1.0', ob: String(i), rb: '200' }, fields, '\t'));
      good++;
    }
    splitter.push(Buffer.from(`${lines.join('\n')}\n`));
    // Only the first record of each layout is the JavaScript path's (it learns the tcp bit, the
    // header resets nothing else): every other good record is folded.
    expect(agg.connections).toBe(good);
    expect(folded()).toBe(good - 1);
    expect(agg.skipped).toBe(Math.ceil((1000 - 3) / 7));
    const [f, s] = await both(`${lines.join('\n')}\n`, 3000);
    expect(f).toBe(s);
  });

  it('reads chunks larger than its window, and a line longer than the window', async () => {
    const lines = [...header(STANDARD, '\t')];
    for (let i = 0; i < 40_000; i++) {
      const r = { ts: `${1_700_000_000 + i}.000001`, oh: '192.168.1.10', op: '40000', rh: ['8.8.8.8', '1.1.1.1', '47.88.1.2', 'fd00:1::2'][i % 4]!, rp: String(i % 50), proto: 'tcp' as const, duration: '0.5', ob: String(i), rb: '7' };
      lines.push(dataLine(r, STANDARD, '\t'));
      if (i === 20_000) lines.push(`1700000000.0\t${'y'.repeat(1_500_000)}`);
    }
    const log = `${lines.join('\n')}\n`;
    expect(log.length).toBeGreaterThan(3 << 20);
    const [fast, slow] = await both(log, 8 << 20, 2 << 20);
    expect(fast).toBe(slow);
    const v = fileOf(fast);
    expect(v.totals.records).toBe(40_001);
    expect(v.totals.skipped).toBe(1);
  });
});

describe('when the fast path is used', () => {
  afterEach(() => jest.restoreAllMocks());

  it('by default, only for a log longer than the head read for detection; always when asked', async () => {
    // Observed, not replaced: the spy calls the real create.
    const create = jest.spyOn(ZeekFastPath, 'create');
    const lines = [...header(STANDARD, '\t')];
    const r = { ts: '1700000000.5', oh: '192.168.1.10', op: '40000', rh: '8.8.8.8', rp: '443', proto: 'tcp' as const, duration: '1.0', ob: '100', rb: '200' };
    const small = `${[...lines, dataLine(r, STANDARD, '\t')].join('\n')}\n`;
    const big = `${[...lines, ...Array.from({ length: 2000 }, () => dataLine(r, STANDARD, '\t'))].join('\n')}\n`;
    expect(big.length).toBeGreaterThan(64 * 1024);

    // Act and assess: a few records are the JavaScript path's (the fold's setup would cost more).
    const smallVerdict = await checkBytes(Buffer.from(small), { policy: policyOf('us') });
    expect(create).not.toHaveBeenCalled();
    await checkBytes(Buffer.from(small), { policy: policyOf('us'), fastPath: true });
    expect(create).toHaveBeenCalledTimes(1);
    const bigVerdict = await checkBytes(Buffer.from(big), { policy: policyOf('us') });
    expect(create).toHaveBeenCalledTimes(2);
    expect(smallVerdict.totals.connections).toBe(1);
    expect(bigVerdict.totals.connections).toBe(2000);
  });
});
