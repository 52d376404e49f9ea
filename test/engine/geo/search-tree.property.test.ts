import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { Reader } from 'maxmind';
import {
  BUNDLED_DATABASES,
  BUNDLED_OPERATOR_COUNTRY,
  bundledDatabasePath,
} from '../../../lambda/adapters/load-geo-database';
import {
  countryOfRecord,
  openGeoDatabase,
  type GeoLookup,
} from '../../../lambda/engine/geo/geo-lookup';
import { NOT_FOUND, SearchTree } from '../../../lambda/engine/geo/search-tree';
import { formatIpv4, formatIpv6, parseIp, type ParsedIp } from '../../../lambda/engine/net/ip';
import { writeMmdb, type MmdbNetwork } from '../../helpers/mmdb-writer';

type MmdbRecord = Record<string, unknown>;

/**
 * The reader's own walk: the data pointer it reaches for an address, or NOT_FOUND. Private in
 * mmdb-lib's types, reached here as the reference the new walk must match pointer for pointer.
 */
function readerPointer(reader: Reader<MmdbRecord>, text: string): number {
  const walk = reader as unknown as { findAddressInTree(ip: string): [number | null, number] };
  const [pointer] = walk.findAddressInTree(text);
  return pointer ?? NOT_FOUND;
}

/** The pointer the new walk reaches for a parsed address, as the engine asks for it. */
function treePointer(tree: SearchTree, ip: ParsedIp): number {
  return ip.version === 4 ? tree.ipv4(ip.v4) : tree.ipv6(ip.groups);
}

/** The country the engine gave before the walk: the reader's answer for the canonical text. */
function referenceCountry(reader: Reader<MmdbRecord>, ip: ParsedIp): string | null {
  if (reader.metadata.ipVersion === 4 && ip.version === 6) return null;
  return countryOfRecord(reader.get(ip.text));
}

interface Database {
  name: string;
  reader: Reader<MmdbRecord>;
  tree: SearchTree;
  geo: GeoLookup;
}

function open(name: string, bytes: Buffer): Database {
  const reader = new Reader<MmdbRecord>(bytes);
  const tree = new SearchTree(bytes, reader.metadata);
  return { name, reader, tree, geo: openGeoDatabase(name, bytes) };
}

/**
 * Asserts the walk matches the reader for the address, at the pointer (so the same data record,
 * not merely the same country) and at the country the engine reports.
 */
function expectSameAnswer(db: Database, ip: ParsedIp): void {
  const expected = readerPointer(db.reader, ip.text);
  const actual = treePointer(db.tree, ip);
  if (actual !== expected) {
    throw new Error(`${db.name}: ${ip.text} walks to ${actual}, the reader to ${expected}`);
  }
  expect(db.geo.countryOf(ip)).toBe(referenceCountry(db.reader, ip));
}

const anyIpv4: fc.Arbitrary<ParsedIp> = fc
  .integer({ min: 0, max: 0xffffffff })
  .map((n) => parseIp(formatIpv4(n))!);

const group = fc.integer({ min: 0, max: 0xffff });
const sevenGroups = fc.array(group, { minLength: 7, maxLength: 7 });
const BUSY_FIRST_GROUPS = [
  0x2001, 0x2400, 0x2401, 0x2404, 0x240e, 0x2600, 0x2604, 0x2607, 0x2800, 0x2a00, 0x2a01, 0x2a02,
  0x2c0f,
];
/**
 * IPv6 addresses, mostly where databases have data (uniform 128-bit addresses are nearly all
 * unallocated): global unicast 2000::/3, prefixes of large registries and networks, IPv4-mapped
 * (read as the IPv4 address) and IPv4-compatible `::a.b.c.d` (the IPv4 subtree, walked as IPv6),
 * plus any address at all.
 */
const anyIpv6: fc.Arbitrary<ParsedIp> = fc
  .oneof(
    fc
      .tuple(fc.integer({ min: 0x2000, max: 0x3fff }), sevenGroups)
      .map(([g, rest]) => [g, ...rest]),
    fc.tuple(fc.constantFrom(...BUSY_FIRST_GROUPS), sevenGroups).map(([g, rest]) => [g, ...rest]),
    fc.tuple(group, group).map(([hi, lo]) => [0, 0, 0, 0, 0, 0xffff, hi, lo]),
    fc.tuple(group, group).map(([hi, lo]) => [0, 0, 0, 0, 0, 0, hi, lo]),
    fc.array(group, { minLength: 8, maxLength: 8 }),
  )
  .map((groups) => parseIp(formatIpv6(groups))!);

const EDGE_CASES = [
  '0.0.0.0',
  '0.0.0.1',
  '1.1.1.1',
  '8.8.8.8',
  '10.0.0.1',
  '127.255.255.255',
  '128.0.0.0',
  '224.0.0.1',
  '255.255.255.254',
  '255.255.255.255',
  '::',
  '::1',
  '::ffff:1.2.3.4',
  '::ffff:0.0.0.0',
  '::ffff:255.255.255.255',
  '64:ff9b::8.8.8.8',
  '::8.8.8.8',
  '2001:db8::1',
  '2001:4860:4860::8888',
  '240e::1',
  'fc00::1',
  'fe80::1',
  'ff02::1',
  '7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
  '8000::',
  'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
];

// Each bundled database, and the single-family files its package ships: an IPv4-only tree
// (ip_version 4) and an IPv6 tree without IPv4 data (its IPv4 subtree is "no data").
const BUNDLED_FILES = [...BUNDLED_DATABASES, BUNDLED_OPERATOR_COUNTRY].flatMap((entry) => {
  const path = bundledDatabasePath(entry);
  return [path, path.replace(/\.mmdb$/, '-ipv4.mmdb'), path.replace(/\.mmdb$/, '-ipv6.mmdb')];
});

describe.each(BUNDLED_FILES.map((path) => [path.replace(/^.*\//, ''), path]))(
  'the search tree walk over %s',
  (name, path) => {
    let db: Database;
    beforeAll(() => {
      db = open(name, readFileSync(path));
    });

    it('reaches the same data record as the reader for random IPv4 addresses', () => {
      fc.assert(
        fc.property(anyIpv4, (ip) => expectSameAnswer(db, ip)),
        { numRuns: 5000 },
      );
    });

    it('reaches the same data record as the reader for random IPv6 addresses', () => {
      fc.assert(
        fc.property(anyIpv6, (ip) => expectSameAnswer(db, ip)),
        { numRuns: 5000 },
      );
    });

    it.each(EDGE_CASES)('reaches the same data record as the reader for %s', (text) => {
      expectSameAnswer(db, parseIp(text)!);
    });
  },
);

describe('the search tree walk over the bundled location database', () => {
  let geo: GeoLookup;
  beforeAll(() => {
    geo = openGeoDatabase('geo.mmdb', readFileSync(bundledDatabasePath(BUNDLED_DATABASES[0]!)));
  });

  it.each([
    ['8.8.8.8', 'US'],
    ['::ffff:8.8.8.8', 'US'],
    ['1.2.4.8', 'CN'],
    ['77.88.8.8', 'RU'],
    ['2001:4860:4860::8888', 'US'],
    ['240e::1', 'CN'],
  ])('places %s in %s', (text, country) => {
    expect(geo.countryOf(parseIp(text)!)).toBe(country);
  });

  it.each(['0.0.0.0', '10.0.0.1', '255.255.255.255', '::', 'fc00::1'])(
    'places the unallocated or non-public address %s nowhere',
    (text) => {
      expect(geo.countryOf(parseIp(text)!)).toBeNull();
    },
  );

  it('gives the same answer on a second lookup of an address, from the cache', () => {
    const ip = parseIp('81.2.69.160')!;
    expect(geo.countryOf(ip)).toBe('GB');
    expect(geo.countryOf(ip)).toBe('GB');
  });
});

describe('the search tree walk over databases with 24-, 28- and 32-bit records', () => {
  // Recipe: a few networks of each family, each with its own record, nested so that walks end at
  // every depth class (/0-like fallbacks, /8, /16, /24, host routes), plus unmapped space. The
  // padding record comes first in the data section, so the records after it sit past 2^24 and
  // their pointers use the high bits: the nibbles of 28-bit records, the top byte of 32-bit ones.
  const PADDING = { country_code: 'AQ', pad: ['x'.repeat(9_000_000), 'y'.repeat(9_000_000)] };
  const networks = (ipVersion: 4 | 6, padded: boolean): MmdbNetwork[] => [
    ...(padded ? [{ cidr: '11.0.0.0/8', record: PADDING }] : []),
    { cidr: '0.0.0.0/1', record: { country_code: 'DE' } },
    { cidr: '8.8.0.0/16', record: { country_code: 'US' } },
    { cidr: '8.8.8.0/24', record: { country: { iso_code: 'NZ' } } },
    { cidr: '8.8.8.8', record: { country_code: 'FR' } },
    { cidr: '192.0.2.0/24', record: { country_code: 'JP' } },
    { cidr: '255.255.255.255', record: { country_code: 'BR' } },
    ...(ipVersion === 6
      ? [
          { cidr: '2000::/3', record: { country_code: 'SE' } },
          { cidr: '2001:db8::/32', record: { country_code: 'NO' } },
          { cidr: '2001:db8::1', record: { country_code: 'FI' } },
          { cidr: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', record: { country_code: 'IS' } },
        ]
      : []),
  ];
  const sample = [
    ...EDGE_CASES,
    '8.8.4.4',
    '8.8.8.9',
    '11.1.2.3',
    '192.0.2.77',
    '192.0.3.1',
    '2001:db8::2',
    '2001:db9::1',
    '3fff::1',
  ].map((text) => parseIp(text)!);

  describe.each([
    [24, 6, false],
    [24, 4, false],
    [28, 6, true],
    [28, 4, true],
    [32, 6, true],
    [32, 4, false],
  ] as const)('%i-bit records, IPv%i tree, padded: %s', (recordSize, ipVersion, padded) => {
    let db: Database;
    beforeAll(() => {
      db = open('test.mmdb', writeMmdb(networks(ipVersion, padded), { recordSize, ipVersion }));
    });

    it('reaches the same data record as the reader for the sample addresses', () => {
      for (const ip of sample) expectSameAnswer(db, ip);
    });

    it('reaches the same data record as the reader for random addresses', () => {
      fc.assert(
        fc.property(fc.oneof(anyIpv4, anyIpv6), (ip) => {
          // The padding record is 18 MB to decode; the pointer alone proves the walk there.
          if (ip.version === 4 && ip.v4 >>> 24 === 11) {
            expect(treePointer(db.tree, ip)).toBe(readerPointer(db.reader, ip.text));
          } else {
            expectSameAnswer(db, ip);
          }
        }),
        { numRuns: 2000 },
      );
    });

    if (padded) {
      it('has records whose pointers need more than 24 bits', () => {
        expect(treePointer(db.tree, parseIp('8.8.8.8')!)).toBeGreaterThan(2 ** 24);
      });
    }
  });
});

describe('SearchTree', () => {
  it('refuses metadata whose tree does not fit in the file', () => {
    const bytes = writeMmdb([{ cidr: '8.8.8.0/24', record: { country_code: 'US' } }]);
    const claimed = { nodeCount: bytes.length, recordSize: 24, ipVersion: 6 };
    expect(() => new SearchTree(bytes, claimed)).toThrow(RangeError);
  });

  it('refuses a record size the format does not have', () => {
    const bytes = writeMmdb([{ cidr: '8.8.8.0/24', record: { country_code: 'US' } }]);
    const claimed = { nodeCount: 1, recordSize: 16, ipVersion: 6 };
    expect(() => new SearchTree(bytes, claimed)).toThrow(RangeError);
  });
});
