import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { checkBytes, destination, fixture, policyOf } from '../helpers/engine';
import { runCheck } from '../../lambda/engine/check';

describe('runCheck on real Zeek conn.logs', () => {
  it('reads the pop3 baseline: 11 records, three German destinations, exact byte totals', async () => {
    // Prepare: expected values computed with awk over the fixture (orig_bytes/resp_bytes per id.resp_h).
    const bytes = fixture('zeek', 'conn-pop3.tsv.log');

    // Act
    const v = await checkBytes(bytes, { policy: policyOf('us') });

    // Assess
    expect(v.input.format).toBe('zeek-tsv');
    expect(v.totals).toMatchObject({ records: 11, connections: 11, skipped: 0, bytesSent: 344, bytesReceived: 20503 });
    expect(v.destinations.map((d) => [d.ip, d.country, d.connections, d.bytesSent]).sort()).toEqual([
      ['212.227.15.166', 'DE', 5, 344],
      ['212.227.15.171', 'DE', 3, 0],
      ['212.227.15.188', 'DE', 3, 0],
    ]);
    expect(v.compliant).toBe(false);
    expect(v.violations[0]).toMatchObject({ ip: '212.227.15.166', rule: 'DE is not in the allowed set US' });
    expect(v.totals.bytesSentViolating).toBe(344);
  });

  it('is compliant when the jurisdiction holds every destination', async () => {
    const v = await checkBytes(fixture('zeek', 'conn-pop3.tsv.log'), { policy: policyOf('eu') });
    expect(v.compliant).toBe(true);
    expect(v.violations).toEqual([]);
  });

  it('reads the teredo baseline: IPv6, broadcast, link-local and unset byte counts', async () => {
    const v = await checkBytes(fixture('zeek', 'conn-teredo.tsv.log'), { policy: policyOf('us') });
    expect(v.totals).toMatchObject({ records: 21, connections: 21, skipped: 0 });
    expect(destination(v, '2001:4860:0:2001::68')).toMatchObject({ addressClass: 'public', connections: 2, bytesSent: 1679 });
    expect(destination(v, '83.170.1.38')).toMatchObject({ bytesSent: 2359, bytesReceived: 11243 });
    expect(destination(v, '255.255.255.255')).toMatchObject({ status: 'non-public', addressClass: 'broadcast' });
    expect(destination(v, 'ff02::2')).toMatchObject({ status: 'non-public', addressClass: 'multicast' });
    expect(destination(v, 'fe80::8000:ffff:ffff:fffd')).toMatchObject({ status: 'non-public', addressClass: 'link-local' });
    // Unset (-) byte counts are unknown, not zero.
    expect(destination(v, '75.126.130.163').connectionsWithUnknownBytes).toBe(2);
  });

  it('reads Zeek JSON lines and lists a LAN resolver as non-public', async () => {
    const v = await checkBytes(fixture('zeek', 'conn-zeekdocs.json.log'), { policy: policyOf('us') });
    expect(v.input.format).toBe('zeek-json');
    expect(destination(v, '192.168.4.1')).toMatchObject({ status: 'non-public', addressClass: 'private', bytesSent: 62 });
    expect(destination(v, '31.3.245.133')).toMatchObject({ status: 'violation', country: 'GB', bytesSent: 77, bytesReceived: 295 });
    expect(destination(v, '31.3.245.133').firstSeen).toBe('2020-06-05T14:39:59.430Z');
  });
});

describe('runCheck input handling', () => {
  const log = fixture('zeek', 'conn-pop3.tsv.log');

  it('detects gzip by its magic bytes and hashes the bytes as uploaded', async () => {
    const gz = gzipSync(log);
    const plain = await checkBytes(log);
    const zipped = await checkBytes(gz, {}, 5);
    expect(zipped.input.compression).toBe('gzip');
    expect(zipped.input.bytes).toBe(gz.length);
    expect(zipped.input.decodedBytes).toBe(log.length);
    expect(zipped.input.sha256).not.toBe(plain.input.sha256);
    expect(zipped.totals).toEqual(plain.totals);
  });

  it('detects gzip when its magic bytes arrive in separate chunks (a pipe handing over one byte at a time)', async () => {
    // Prepare
    const gz = gzipSync(log);
    const plain = await checkBytes(log);

    // Act
    const zipped = await checkBytes(gz, {}, 1);

    // Assess
    expect(zipped.input.compression).toBe('gzip');
    expect(zipped.input.bytes).toBe(gz.length);
    expect(zipped.input.sha256).toBe(createHash('sha256').update(gz).digest('hex'));
    expect(zipped.totals).toEqual(plain.totals);
  });

  it('gives the same verdict whatever the chunk size, apart from nothing', async () => {
    const a = await checkBytes(log, {}, 1);
    const b = await checkBytes(log, {}, 1 << 20);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });

  it('reads CRLF line endings and a UTF-8 BOM the same as plain LF', async () => {
    const crlf = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(log.toString('latin1').replace(/\n/g, '\r\n'), 'latin1')]);
    const v = await checkBytes(crlf);
    const plain = await checkBytes(log);
    expect(v.totals).toEqual(plain.totals);
    expect(v.destinations).toEqual(plain.destinations);
  });

  it('drops a UTF-8 BOM however the input is chunked (a pipe can hand over one byte at a time)', async () => {
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), log]);
    const plain = await checkBytes(log);
    for (const size of [1, 2, 3, 4]) {
      const v = await checkBytes(bom, {}, size);
      expect([size, v.totals]).toEqual([size, plain.totals]);
      expect(v.destinations).toEqual(plain.destinations);
    }
  });

  it('lets the source go when it refuses a check before reading any of it (an unknown --format)', async () => {
    // A file source closes its file when its iterator is returned, even before its first chunk.
    let returned = false;
    const source: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({
        next: () => Promise.resolve({ done: false as const, value: Buffer.from('x\n') }),
        return: () => {
          returned = true;
          return Promise.resolve({ done: true as const, value: undefined });
        },
      }),
    };

    // Act
    const v = await runCheck(source, { name: 'x', policy: policyOf('us'), databases: [], toolVersion: '0', now: new Date(0), format: 'nosuch' as never });

    // Assess
    expect(v.error).toBe("unknown format 'nosuch'");
    expect(returned).toBe(true);
  });

  it('closes the source when it refuses a log after its first bytes, reading no more of it', async () => {
    // Prepare: 4 MiB that is no log format, as a source that records being closed.
    let read = 0;
    let closed = false;
    async function* source(): AsyncGenerator<Uint8Array> {
      try {
        for (let i = 0; i < 64; i++) {
          read++;
          yield Buffer.alloc(64 * 1024, 'hello world, this is not a log\n');
        }
      } finally {
        closed = true;
      }
    }

    // Act
    const v = await runCheck(source(), { name: 'x', policy: policyOf('us'), databases: [], toolVersion: '0', now: new Date(0) });

    // Assess
    expect(v.error).toMatch(/unknown log format/);
    expect(closed).toBe(true);
    expect(read).toBeLessThan(64);
  });

  it('gives an error verdict for an unknown format, never a pass', async () => {
    const v = await checkBytes('hello world\nthis is not a log\n');
    expect(v.compliant).toBe(false);
    expect(v.error).toMatch(/unknown log format/);
  });

  it('says what to do with Zeek conn.log records that lost their header (zeek-cut without -c or -m)', async () => {
    const cut = '1591367999.305988\tCMdzit1AMNsmfAIiQc\t192.168.4.76\t46378\t31.3.245.133\t80\ttcp\n';
    const v = await checkBytes(cut);
    expect(v.error).toBe(
      'unknown log format: it looks like Zeek conn.log records without their header (zeek-cut without -c or -m): run zeek-cut with -m (a first line of field names) or -c (the # header lines), or check the conn.log itself',
    );
    // Addresses alone, as `zeek-cut id.orig_h id.resp_h` prints them; and no hint for text with one address.
    expect((await checkBytes('192.168.4.76\t2001:db8::1\n')).error).toMatch(/without their header/);
    expect((await checkBytes('hello\t8.8.8.8\n')).error).not.toMatch(/zeek-cut/);
  });

  it('refuses a Zeek log whose #path is not conn, pointing a dns.log to --dns', async () => {
    const v = await checkBytes(log.toString().replace('#path\tconn', '#path\tdns'));
    expect(v.compliant).toBe(false);
    expect(v.error).toBe('line 6: this is a Zeek dns.log, not a conn.log (give a dns.log beside the conn.log with --dns)');
  });

  it('refuses a conn_long.log (snapshots of open connections, which would count a connection again and again)', async () => {
    const v = await checkBytes(log.toString().replace('#path\tconn', '#path\tconn_long'));
    expect(v.compliant).toBe(false);
    expect(v.error).toBe(
      "line 6: this is a Zeek conn_long.log (snapshots of connections still open, with their totals so far: each connection's final record is in conn.log), not a conn.log",
    );
    // A filtered conn log is still a conn.log.
    expect((await checkBytes(log.toString().replace('#path\tconn', '#path\tconn_red'))).error).toBeUndefined();
  });

  it('reads a conn.log written with Log::default_scope_sep = "_" (id_orig_h, ...) as the same log', async () => {
    const dotted = await checkBytes(log);
    const underscored = await checkBytes(log.toString().replace(/\bid\.(orig|resp)_(h|p)\b/g, 'id_$1_$2'));
    expect(underscored.error).toBeUndefined();
    expect(underscored.totals).toEqual(dotted.totals);
    expect(underscored.destinations).toEqual(dotted.destinations);
    expect(underscored.totals.connections).toBeGreaterThan(0);
  });

  it('reads zeek-cut -m output (the field names alone on the first line, no # lines) as the conn.log it came from', async () => {
    const cut = fixture('zeek', 'conn-pop3-zeekcut-m.tsv');
    const whole = await checkBytes(fixture('zeek', 'conn-pop3.tsv.log'));
    const v = await checkBytes(cut);
    expect(v.input.format).toBe('zeek-tsv');
    expect(v.totals).toEqual(whole.totals);
    // The same destinations; their evidence lines are fewer lines down (no # lines above them).
    const shifted = whole.destinations.map((d) => ({ ...d, evidenceLines: d.evidenceLines.map((n) => n - 8) }));
    expect(v.destinations).toEqual(shifted);
    expect(v.totals.connections).toBeGreaterThan(0);
    // The log's local_orig/local_resp are honoured, as in a conn.log (a generic CSV would not).
    const site = await checkBytes(
      'ts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\torig_bytes\tresp_bytes\tlocal_orig\tlocal_resp\n' +
        '1709287200.123456\t1.2.4.8\t40000\t128.32.0.10\t443\ttcp\t800\t5000000\tF\tT\n',
    );
    expect(site.input.format).toBe('zeek-tsv');
    expect(site.destinations.map((d) => [d.ip, d.bytesSent])).toEqual([['1.2.4.8', 5000000]]);
  });

  it('reads zeek-cut -M output (the names again before each log\'s records) and -m -F \' \' (names and values between spaces)', async () => {
    // zcat conn.*.log.gz | zeek-cut -M: each rotated log's records after its names; the second
    // log has another column order.
    const blocks = [
      'ts\tid.orig_h\tid.resp_h\torig_bytes\tresp_bytes',
      '1714557600.123456\t192.168.1.10\t212.227.15.166\t1000\t5000',
      'ts\tid.orig_h\tid.resp_h\torig_bytes\tresp_bytes',
      '1714557601.123456\t192.168.1.10\t8.8.8.8\t7\t9',
      'ts\tid.resp_h\tid.orig_h\tresp_bytes\torig_bytes',
      '1714557602.123456\t1.1.1.1\t192.168.1.10\t9\t70',
    ];
    const v = await checkBytes(`${blocks.join('\n')}\n`);
    expect(v.input.format).toBe('zeek-tsv');
    expect(v.totals).toMatchObject({ records: 3, skipped: 0, malformedValues: 0 });
    expect(v.destinations.map((d) => [d.ip, d.bytesSent, d.evidenceLines])).toEqual([
      ['212.227.15.166', 1000, [2]],
      ['1.1.1.1', 70, [6]],
      ['8.8.8.8', 7, [4]],
    ]);
    // The fold reads it alike: a names line among its records goes to the JavaScript path.
    const folded = await checkBytes(`${blocks.join('\n')}\n`, { fastPath: true }, 40);
    expect(folded.destinations).toEqual(v.destinations);
    const spaced = await checkBytes(`${blocks.slice(0, 2).join('\n').replace(/\t/g, ' ')}\n`);
    expect(spaced.input.format).toBe('zeek-tsv');
    expect(spaced.destinations.map((d) => [d.ip, d.bytesSent])).toEqual([['212.227.15.166', 1000]]);
  });

  it('reads zeek-cut -F output, whose #fields line has the new separator and #separator the old one', async () => {
    // zeek-cut -c -F , : the separator changes in the #fields, #types and data lines only.
    const lines = log.toString().split('\n');
    const cut = lines
      .map((l) => (l.startsWith('#separator') || l.startsWith('#set_separator') || l.startsWith('#empty_field') || l.startsWith('#unset_field') || l.startsWith('#path') || l.startsWith('#open') || l.startsWith('#close') ? l : l.replace(/\t/g, ',')))
      .join('\n');
    const v = await checkBytes(cut);
    const whole = await checkBytes(log);
    expect(v.error).toBeUndefined();
    expect(v.totals).toEqual(whole.totals);
    expect(v.destinations).toEqual(whole.destinations);
  });

  it('reads zeek-cut -m -F output (the names alone, comma-separated) as the conn.log it came from, not as a CSV', async () => {
    const cut = fixture('zeek', 'conn-pop3-zeekcut-m.tsv').toString('latin1').replace(/\t/g, ',');
    const tabs = await checkBytes(fixture('zeek', 'conn-pop3-zeekcut-m.tsv'));
    const commas = await checkBytes(cut);
    expect(commas.input.format).toBe('zeek-tsv');
    expect(commas.totals).toEqual(tabs.totals);
    expect(commas.destinations).toEqual(tabs.destinations);
    // local_resp says the responder is inside: the originator is the remote party, sent resp_bytes.
    const site = await checkBytes(
      'ts,id.orig_h,id.orig_p,id.resp_h,id.resp_p,proto,duration,orig_bytes,resp_bytes,local_orig,local_resp\n1672531200.5,1.2.4.9,5000,52.20.1.1,22,tcp,2.0,100,5000,F,T\n',
    );
    expect(site.input.format).toBe('zeek-tsv');
    expect(site.destinations.map((d) => [d.ip, d.bytesSent, d.bytesReceived, d.lastSeen])).toEqual([['1.2.4.9', 5000, 100, '2023-01-01T00:00:02.500Z']]);
    // Exports spell the flags as their tools spell booleans (true/false, pandas' True/False, 1/0):
    // each says the same, never that both sides are outside (the responder, inside, judged instead).
    for (const [no, yes] of [['false', 'true'], ['False', 'True'], ['FALSE', 'TRUE'], ['0', '1'], ['f', 't']]) {
      const spelled = await checkBytes(
        `ts,id.orig_h,id.orig_p,id.resp_h,id.resp_p,proto,duration,orig_bytes,resp_bytes,local_orig,local_resp\n1672531200.5,1.2.4.9,5000,52.20.1.1,22,tcp,2.0,100,5000,${no},${yes}\n`,
      );
      expect(spelled.destinations.map((d) => [d.ip, d.bytesSent])).toEqual([['1.2.4.9', 5000]]);
    }
    // A CSV export of a conn.log with quoted fields (pandas, a SIEM) is a CSV: its quotes are read.
    const exported = await checkBytes('ts,id.orig_h,id.orig_p,id.resp_h,id.resp_p,proto,service,orig_bytes,resp_bytes\n1672531200.5,10.0.0.5,5000,8.8.8.8,443,tcp,"ssl,http",1000,2000\n');
    expect(exported.input.format).toBe('generic-csv');
    expect(exported.destinations.map((d) => [d.ip, d.bytesSent, d.bytesReceived])).toEqual([['8.8.8.8', 1000, 2000]]);
  });

  it('refuses a conn.log header without address columns, naming them', async () => {
    const v = await checkBytes(log.toString().replace('id.resp_h', 'id_resp_h'));
    expect(v.error).toBe('line 8: #fields has no id.orig_h/id.resp_h columns, which every Zeek conn.log has');
  });

  it('gives an error verdict for empty input', async () => {
    const v = await checkBytes('');
    expect(v).toMatchObject({ compliant: false, error: 'input is empty' });
  });

  it('gives an error verdict for truncated gzip', async () => {
    const gz = gzipSync(log);
    const v = await checkBytes(gz.subarray(0, gz.length - 20));
    expect(v.compliant).toBe(false);
    expect(v.error).toMatch(/gzip data ends early/);
  });

  it('gives an error verdict when no record could be read', async () => {
    const header = log.toString().split('\n').filter((l) => l.startsWith('#')).join('\n');
    const v = await checkBytes(`${header}\nnot\ta\trecord\n`);
    expect(v.compliant).toBe(false);
    expect(v.error).toMatch(/none of the 1 records/);
  });

  it('counts a record with a malformed address as skipped, with line and reason', async () => {
    const text = log.toString().replace('212.227.15.171', '300.8.8.8');
    const v = await checkBytes(text);
    expect(v.totals.skipped).toBe(1);
    expect(v.errors[0]).toEqual({ line: 12, reason: 'destination address is not an IP address: "300.8.8.8"' });
    expect(v.totals.records).toBe(v.totals.connections + v.totals.skipped + v.totals.noData + v.totals.unattributed);
  });

  it('rethrows a failure of the byte source instead of writing a verdict', async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield log.subarray(0, 100);
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    }
    const { runCheck } = await import('../../lambda/engine/check');
    const { bundledDatabases } = await import('../helpers/engine');
    await expect(
      runCheck(failing(), { name: 'x', policy: policyOf('us'), databases: bundledDatabases(), toolVersion: 't', now: new Date(0) }),
    ).rejects.toThrow('socket hang up');
  });
});

describe('runCheck with a database that fails on a lookup', () => {
  it('gives an error verdict naming the database and address, still listing every destination, when a record cannot be decoded', async () => {
    // Prepare: the bundled database with the data record of 212.227.15.166 (DE, shared by the
    // log's other two destinations) overwritten by a
    // control byte of an undefined type, so opening it (which probes other addresses) succeeds
    // and the lookup of that address fails, as with a file damaged after its search tree.
    const { readFileSync } = await import('node:fs');
    const { bundledDatabasePath, BUNDLED_DATABASES } = await import('../../lambda/adapters/load-geo-database');
    const { openGeoDatabase } = await import('../../lambda/engine/geo/geo-lookup');
    const { SearchTree } = await import('../../lambda/engine/geo/search-tree');
    const { Reader } = await import('maxmind');
    const bytes = readFileSync(bundledDatabasePath(BUNDLED_DATABASES[0]!));
    const meta = new Reader(bytes).metadata;
    const pointer = new SearchTree(bytes, meta).ipv4((212 << 24) | (227 << 16) | (15 << 8) | 166);
    const treeBytes = (meta.nodeCount * meta.recordSize) / 4;
    const offset = treeBytes + (pointer - meta.nodeCount);
    bytes[offset] = 0x00; // extended type...
    bytes[offset + 1] = 0xff; // ...number 262, which MMDB does not define
    const broken = openGeoDatabase('broken.mmdb', bytes);

    // Act
    const v = await checkBytes(fixture('zeek', 'conn-pop3.tsv.log'), { databases: [broken] });

    // Assess: not a pass, the reason names file and address, and the destinations are all listed,
    // each saying its lookup failed.
    expect(v.compliant).toBe(false);
    expect(v.error).toMatch(/^broken\.mmdb: corrupt database \(lookup of 212\.227\.15\.1(66|71|88) failed: Unknown type 262/);
    expect(v.totals).toMatchObject({ records: 11, connections: 11 });
    expect(v.destinations.map((d) => [d.ip, d.status, d.warning?.slice(0, 38)]).sort()).toEqual(
      ['212.227.15.166', '212.227.15.171', '212.227.15.188'].map((ip) => [ip, 'unknown', `lookup failed: broken.mmdb: corrupt da`]),
    );
  });
});

describe('verdict contract', () => {
  it('carries the evidence: input hash, database build date, policy and its hash, tool version', async () => {
    const v = await checkBytes(fixture('zeek', 'conn-pop3.tsv.log'), { policy: policyOf('us', 'foreign-adversaries') });
    expect(v.input.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(v.databases[0]).toMatchObject({ name: 'geo-whois-asn-country.mmdb', databaseType: expect.any(String) });
    expect(v.databases[0]!.buildEpoch).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(v.policy.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(v.policy.deniedCountries).toEqual(expect.arrayContaining(['CN', 'HK', 'MO']));
    expect(v.tool).toEqual({ name: 'residency', version: '0.0.0-test' });
    expect(v.checkedAt).toBe('2026-01-01T00:00:00.000Z');
  });

  it('is byte-identical for the same input apart from checkedAt', async () => {
    const a = await checkBytes(fixture('zeek', 'conn-teredo.tsv.log'), { now: new Date(1) });
    const b = await checkBytes(fixture('zeek', 'conn-teredo.tsv.log'), { now: new Date(2) });
    expect({ ...a, checkedAt: '' }).toEqual({ ...b, checkedAt: '' });
    expect(JSON.stringify({ ...a, checkedAt: '' })).toBe(JSON.stringify({ ...b, checkedAt: '' }));
  });

  it('lists a destination\'s host names once each, sorted: the first 32 that came', async () => {
    // Prepare: 1.1.1.1 named once (kept without a list), 8.8.8.8 by two names in turn, 9.9.9.9 by 40.
    const rows = [
      '10.0.0.5,1.1.1.1,100,one.example',
      '10.0.0.5,1.1.1.1,100,one.example',
      '10.0.0.5,8.8.8.8,100,b.example',
      '10.0.0.5,8.8.8.8,100,a.example',
      '10.0.0.5,8.8.8.8,100,b.example',
      '10.0.0.5,8.8.8.8,100,a.example',
      ...Array.from({ length: 40 }, (_, i) => `10.0.0.5,9.9.9.9,100,n${String(i).padStart(2, '0')}.example`),
    ];
    const log = ['src_ip,dst_ip,bytes_sent,host', ...rows].join('\n');

    // Act
    const v = await checkBytes(log, { policy: policyOf('us') });

    // Assess
    expect(destination(v, '1.1.1.1').hostnames).toEqual(['one.example']);
    expect(destination(v, '8.8.8.8').hostnames).toEqual(['a.example', 'b.example']);
    expect(destination(v, '9.9.9.9').hostnames).toEqual(Array.from({ length: 32 }, (_, i) => `n${String(i).padStart(2, '0')}.example`));
  });

  it('gives each app its own share of a destination several apps reached (appTraffic)', async () => {
    // Prepare: a VPC flow log of two interfaces reaching 1.1.1.1 (one refused), and records naming
    // no interface, which count for the destination only.
    const log = [
      'version interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
      '2 eni-a 10.0.0.5 1.1.1.1 40000 443 6 10 5000 1700000000 1700000060 ACCEPT OK',
      '2 eni-b 10.0.0.6 1.1.1.1 40001 443 6 1 200 1700000000 1700000060 ACCEPT OK',
      '2 eni-a 10.0.0.5 1.1.1.1 40002 443 6 10 3000 1700000000 1700000060 ACCEPT OK',
      '2 eni-b 10.0.0.6 1.1.1.1 40003 443 6 1 40 1700000000 1700000060 REJECT OK',
      '2 - 10.0.0.7 1.1.1.1 40004 443 6 1 7 1700000000 1700000060 ACCEPT OK',
      '2 - 10.0.0.7 8.8.8.8 40005 443 6 1 9 1700000000 1700000060 ACCEPT OK',
      '2 eni-c 10.0.0.8 9.9.9.9 40006 443 6 1 11 1700000000 1700000060 ACCEPT OK',
      '2 eni-c 10.0.0.8 9.9.9.9 40007 443 6 1 13 1700000000 1700000060 REJECT OK',
    ].join('\n');

    // Act
    const v = await checkBytes(log, { policy: policyOf('us') });

    // Assess
    const d = destination(v, '1.1.1.1');
    expect(d).toMatchObject({ apps: ['eni-a', 'eni-b'], bytesSent: 8207, connections: 4, blockedAttempts: 1 });
    expect(d.appTraffic).toEqual([
      { app: 'eni-a', connections: 2, blockedAttempts: 0, bytesSent: 8000, bytesReceived: 0 },
      { app: 'eni-b', connections: 1, blockedAttempts: 1, bytesSent: 200, bytesReceived: 0 },
    ]);
    expect(destination(v, '8.8.8.8')).not.toHaveProperty('appTraffic');
    // One app (kept without a list until a second comes): its share is the destination's.
    expect(destination(v, '9.9.9.9')).toMatchObject({ apps: ['eni-c'], appTraffic: [{ app: 'eni-c', connections: 1, blockedAttempts: 1, bytesSent: 11, bytesReceived: 0 }] });
    expect(JSON.parse(JSON.stringify(v)).destinations.find((x: { ip: string }) => x.ip === '1.1.1.1').appTraffic).toEqual(d.appTraffic);
  });

  it('counts an app\'s unanswered inbound connection as its refused attempt, as the destination does', async () => {
    // Prepare: a firewall export naming the app; 1.2.4.8 probes a host that answers nothing, then
    // the host's other app reaches it.
    const log = [
      'src_ip,dst_ip,src_port,dst_port,bytes_sent,bytes_received,app',
      '1.2.4.8,192.168.1.5,40000,22,60,0,sshd',
      '192.168.1.5,1.2.4.8,40001,443,500,900,updater',
    ].join('\n');

    // Act
    const v = await checkBytes(log, { policy: policyOf('us') });

    // Assess
    const d = destination(v, '1.2.4.8');
    expect(d).toMatchObject({ connections: 1, blockedAttempts: 1, bytesSent: 500, bytesReceived: 960 });
    expect(d.appTraffic).toEqual([
      { app: 'sshd', connections: 0, blockedAttempts: 1, bytesSent: 0, bytesReceived: 60 },
      { app: 'updater', connections: 1, blockedAttempts: 0, bytesSent: 500, bytesReceived: 900 },
    ]);
  });

  it('gives no app its share once more apps reached a destination than it lists', async () => {
    // Prepare: 33 interfaces reach 1.1.1.1 (apps lists 32).
    const lines = Array.from({ length: 33 }, (_, i) => `2 eni-${String(i).padStart(2, '0')} 10.0.0.5 1.1.1.1 ${40000 + i} 443 6 1 100 1700000000 1700000060 ACCEPT OK`);
    const log = ['version interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status', ...lines].join('\n');

    // Act
    const v = await checkBytes(log, { policy: policyOf('us') });

    // Assess
    const d = destination(v, '1.1.1.1');
    expect(d.apps).toHaveLength(32);
    expect(d).not.toHaveProperty('appTraffic');
  });

  it('lists violations first, each naming its rule and evidence lines', async () => {
    const v = await checkBytes(fixture('zeek', 'conn-teredo.tsv.log'), { policy: policyOf('us') });
    const ranks = v.destinations.map((d) => d.status);
    expect(ranks.indexOf('violation')).toBe(0);
    for (const x of v.violations) {
      expect(x.rule).toMatch(/is not in the allowed set US/);
      expect(x.evidenceLines.length).toBeGreaterThan(0);
    }
  });
});
