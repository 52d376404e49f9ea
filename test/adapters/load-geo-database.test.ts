import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Reader } from 'maxmind';
import {
  BUNDLED_DATABASES,
  BUNDLED_OPERATOR_COUNTRY,
  DatabaseBuffer,
  bundledDatabasePath,
  databaseNames,
  loadCheckSources,
  loadGeoDatabaseFile,
  loadGeoDatabases,
} from '../../lambda/adapters/load-geo-database';
import { GeoDatabaseError } from '../../lambda/engine/errors';
import type { GeoLookup } from '../../lambda/engine/geo/geo-lookup';
import { parseIp, type ParsedIp } from '../../lambda/engine/net/ip';
import { verdictJson } from '../../lambda/engine/verdict/serialize';
import { checkBytes, fixture, policyOf } from '../helpers/engine';

/** Public addresses of both families, from several registries, and some no database places. */
const ADDRESSES = [
  '8.8.8.8', '1.2.4.8', '203.198.7.66', '77.88.8.8', '47.88.1.2', '185.60.216.35', '114.114.114.114',
  '2001:4860:4860::8888', '2a03:2880:f12f:83:face:b00c::25de', '240e::1', '::ffff:8.8.4.4', '100.64.0.1', '9.9.9.9',
].map((a) => parseIp(a)!);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'residency-dbbuf-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A copy of the first bundled database at `dir/geo.mmdb`, opened into a shared buffer, and the
 * operator-country database opened after it (which then holds the buffer).
 */
function copiedAndDisplaced(): { path: string; geo: GeoLookup; other: GeoLookup } {
  const path = join(dir, 'geo.mmdb');
  copyFileSync(bundledDatabasePath(BUNDLED_DATABASES[0]!), path);
  const buffer = new DatabaseBuffer(16 << 20);
  const geo = loadGeoDatabaseFile(path, buffer);
  return { path, geo, other: loadGeoDatabaseFile(bundledDatabasePath(BUNDLED_OPERATOR_COUNTRY), buffer) };
}

describe('databases sharing one buffer', () => {
  it('answer as databases held in memory do, whichever was read last (lookups may alternate)', () => {
    const resident = loadCheckSources([], { shareBuffer: false });
    const shared = loadCheckSources([], { shareBuffer: true });
    // Alternating sources reads each file again on every turn: slow, but never a wrong answer.
    const answers = (s: typeof resident, ip: ParsedIp): unknown[] => [
      ...s.databases.map((g) => g.countryOf(ip)),
      s.operator.asn?.lookup(ip),
      s.operator.country?.countryOf(ip),
      s.databases[0]!.country(ip.text),
    ];
    for (const ip of ADDRESSES) expect(answers(shared, ip)).toEqual(answers(resident, ip));
    expect(shared.databases.map((g) => g.info)).toEqual(resident.databases.map((g) => g.info));
    expect(shared.operator.asn?.info).toEqual(resident.operator.asn?.info);
    expect(shared.operator.country?.info).toEqual(resident.operator.country?.info);
  });

  it('give the same verdict as databases held in memory', async () => {
    const log = fixture('zeek', 'conn-teredo.tsv.log');
    const verdicts: string[] = [];
    for (const shareBuffer of [false, true]) {
      const { databases, operator } = loadCheckSources([], { shareBuffer });
      verdicts.push(verdictJson(await checkBytes(log, { databases, operator, policy: policyOf('us', 'foreign-adversaries') })));
    }
    expect(JSON.parse(verdicts[1]!).destinations.length).toBeGreaterThan(0);
    expect(verdicts[1]).toBe(verdicts[0]);
  });

  it('refuse a database file that changed after it was opened, naming it', () => {
    const path = join(dir, 'geo.mmdb');
    copyFileSync(bundledDatabasePath(BUNDLED_DATABASES[0]!), path);
    const buffer = new DatabaseBuffer(16 << 20);
    const geo = loadGeoDatabaseFile(path, buffer);
    expect(geo.countryOf(parseIp('8.8.8.8')!)).toBe('US');
    // Another database takes the buffer; meanwhile the file is replaced by a different database.
    const other = loadGeoDatabaseFile(bundledDatabasePath(BUNDLED_OPERATOR_COUNTRY), buffer);
    copyFileSync(bundledDatabasePath(BUNDLED_DATABASES[1]!), path);
    expect(other.countryOf(parseIp('8.8.8.8')!)).toBe('US');
    expect(() => geo.acquire?.()).toThrow(GeoDatabaseError);
    expect(() => geo.countryOf(parseIp('8.8.8.8')!)).toThrow(`${path}: the file changed while the check ran`);
  });

  it('cite the hash of the bytes looked up in: a file changed before its first lookup is hashed as it is then', () => {
    const { path, geo } = copiedAndDisplaced();
    // The same database with one byte of the (unread) separator after its search tree changed:
    // same type, build date and size, other bytes.
    const bytes = readFileSync(path);
    const { nodeCount, recordSize } = new Reader(bytes).metadata;
    bytes[(nodeCount * recordSize) / 4 + 5] = 1;
    writeFileSync(path, bytes);
    expect(geo.countryOf(parseIp('8.8.8.8')!)).toBe('US');
    expect(geo.info.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(geo.info.sha256).not.toBe(createHash('sha256').update(readFileSync(bundledDatabasePath(BUNDLED_DATABASES[0]!))).digest('hex'));
  });

  it('refuse a file that became another database before its first lookup', () => {
    const { path, geo } = copiedAndDisplaced();
    copyFileSync(bundledDatabasePath(BUNDLED_DATABASES[1]!), path);
    expect(() => geo.countryOf(parseIp('8.8.8.8')!)).toThrow(`${path}: the file changed while the check ran`);
    // Nothing of it is cited; and it stays refused, even if the file changes back.
    expect(geo.info.sha256).toBe('');
    copyFileSync(bundledDatabasePath(BUNDLED_DATABASES[0]!), path);
    expect(() => geo.countryOf(parseIp('8.8.8.8')!)).toThrow(`${path}: the file changed while the check ran`);
  });

  it('make a check whose database changed before its lookups an error verdict, citing no hash for it', async () => {
    const { path, geo, other } = copiedAndDisplaced();
    const operator = { country: other, asn: null };
    copyFileSync(bundledDatabasePath(BUNDLED_DATABASES[1]!), path);
    const v = await checkBytes(fixture('zeek', 'conn-teredo.tsv.log'), { databases: [geo], operator });
    expect(v.error).toBe(`${path}: the file changed while the check ran (it is no longer the database opened, or no longer the bytes hashed); run the check again`);
    expect(v.databases.map((d) => [d.role, d.sha256 === '' ? '' : 'hashed'])).toEqual([['location', ''], ['operator-country', 'hashed']]);
  });

  it('make a check whose database went away an error verdict, even when no destination needed it', async () => {
    const { path, geo, other } = copiedAndDisplaced();
    const operator = { country: other, asn: null };
    rmSync(path);
    // Both ends private: nothing is looked up, but what the verdict would cite is gone.
    const log = ['#separator \\x09', '#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\torig_bytes\tresp_bytes',
      '1700000000.5\t192.168.1.10\t40000\t192.168.1.1\t53\tudp\t40\t80'].join('\n');
    const v = await checkBytes(`${log}\n`, { databases: [geo], operator });
    expect(v.error).toBe(`${path}: cannot read GeoIP database (no such file)`);
    expect(v.destinations.map((d) => d.status)).toEqual(['non-public']);
  });

  it('report a database file that disappeared when it is read again', () => {
    const path = join(dir, 'geo.mmdb');
    copyFileSync(bundledDatabasePath(BUNDLED_DATABASES[0]!), path);
    const buffer = new DatabaseBuffer(0);
    const geo = loadGeoDatabaseFile(path, buffer);
    loadGeoDatabaseFile(bundledDatabasePath(BUNDLED_DATABASES[1]!), buffer);
    rmSync(path);
    expect(() => geo.acquire?.()).toThrow(`${path}: cannot read GeoIP database (no such file)`);
  });

  it('report a missing file as held databases do', () => {
    const missing = join(dir, 'missing.mmdb');
    expect(() => loadCheckSources([missing], { shareBuffer: true })).toThrow(`${missing}: cannot read GeoIP database (no such file)`);
    expect(() => loadCheckSources([missing], { shareBuffer: false })).toThrow(`${missing}: cannot read GeoIP database (no such file)`);
  });
});

describe('the names databases are cited by', () => {
  it('is the file name, the path as given for files sharing one, and #2 for a file given twice', () => {
    expect(databaseNames(['a/GeoLite2-Country.mmdb', 'dbip.mmdb'])).toEqual(['GeoLite2-Country.mmdb', 'dbip.mmdb']);
    expect(databaseNames(['2026-10/GeoLite2-Country.mmdb', '2026-11/GeoLite2-Country.mmdb', 'dbip.mmdb'])).toEqual([
      '2026-10/GeoLite2-Country.mmdb',
      '2026-11/GeoLite2-Country.mmdb',
      'dbip.mmdb',
    ]);
    expect(databaseNames(['x.mmdb', 'x.mmdb'])).toEqual(['x.mmdb', 'x.mmdb#2']);
  });

  it('keeps both answers of two databases with one file name apart in a verdict', async () => {
    // Prepare: last month's file and this month's, both named alike.
    for (const [month, source] of [['2026-10', BUNDLED_DATABASES[0]!], ['2026-11', BUNDLED_DATABASES[1]!]] as const) {
      mkdirSync(join(dir, month));
      copyFileSync(bundledDatabasePath(source), join(dir, month, 'country.mmdb'));
    }
    const databases = loadGeoDatabases([join(dir, '2026-10', 'country.mmdb'), join(dir, '2026-11', 'country.mmdb')]);

    // Act: Google DNS over IPv6, which the two bundled databases place apart (US, CA).
    const v = await checkBytes('src,dst\n10.0.0.1,2001:4860:4860::8888\n', { databases });

    // Assess
    const names = databases.map((d) => d.info.name);
    expect(new Set(names).size).toBe(2);
    expect(v.databases.map((d) => d.name)).toEqual(names);
    expect(v.destinations[0]!.countries).toEqual({ [names[0]!]: 'US', [names[1]!]: 'CA' });
  });
});
