import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  BUNDLED_DATABASES,
  bundledDatabasePath,
  loadGeoDatabases,
} from '../../../lambda/adapters/load-geo-database';
import { GeoDatabaseError } from '../../../lambda/engine/errors';
import {
  countryOfRecord,
  openGeoDatabase,
  type GeoLookup,
} from '../../../lambda/engine/geo/geo-lookup';
import { writeMmdb } from '../../helpers/mmdb-writer';

const BUNDLED_PATH = bundledDatabasePath(BUNDLED_DATABASES[0]!);
// The package also ships the same data split by family; the IPv4-only file has ip_version 4.
const BUNDLED_IPV4_ONLY_PATH = BUNDLED_PATH.replace(/\.mmdb$/, '-ipv4.mmdb');

/** Runs `fn` and returns the GeoDatabaseError it throws; fails the test if it throws anything else. */
function geoErrorOf(fn: () => unknown): GeoDatabaseError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GeoDatabaseError);
    return err as GeoDatabaseError;
  }
  throw new Error('expected a GeoDatabaseError, but nothing was thrown');
}

describe('the bundled database (ip-location-db geo-whois-asn-country)', () => {
  let geo: GeoLookup;
  let bytes: Buffer;

  beforeAll(() => {
    [geo] = loadGeoDatabases([]) as [GeoLookup];
    bytes = readFileSync(BUNDLED_PATH);
  });

  it.each([
    ['8.8.8.8', 'US'],
    ['1.2.4.8', 'CN'],
    ['203.198.7.66', 'HK'],
    ['60.246.0.1', 'MO'],
    ['77.88.8.8', 'RU'],
    ['81.2.69.160', 'GB'],
    ['2001:4860:4860::8888', 'US'],
    ['240e::1', 'CN'],
  ])('places %s in %s', (ip, country) => {
    // Act
    const answer = geo.country(ip);

    // Assess
    expect(answer).toBe(country);
  });

  it.each(['10.0.0.1', '127.0.0.1', '0.0.0.0', '224.0.0.1', 'fc00::1', '::'])(
    'has no country for the unallocated or non-public address %s',
    (ip) => {
      // Act
      const answer = geo.country(ip);

      // Assess
      expect(answer).toBeNull();
    },
  );

  it('exposes the file name, database type, build time, SHA-256 and size', () => {
    // Act
    const { info } = geo;

    // Assess
    expect(info.name).toBe('geo-whois-asn-country.mmdb');
    expect(info.databaseType).toMatch(/country/);
    expect(info.buildEpoch).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$/);
    expect(Date.parse(info.buildEpoch)).toBeGreaterThan(Date.parse('2024-01-01T00:00:00Z'));
    expect(info.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(info.bytes).toBe(bytes.length);
  });

  it('answers nothing for an IPv6 address when the database is IPv4-only', () => {
    // Prepare: the IPv4-only tree has 32 levels, so a reader that walks it with an IPv6 address
    // answers for the IPv4 address made of its first 32 bits (2a00:1450:: would be 42.0.20.80, CN).
    const v4only = openGeoDatabase('v4.mmdb', readFileSync(BUNDLED_IPV4_ONLY_PATH));

    // Act
    const answers = ['2a00:1450::1', '2001:4860:4860::8888', '2001:db8::1'].map((ip) =>
      v4only.country(ip),
    );

    // Assess
    expect(answers).toEqual([null, null, null]);
    expect(v4only.country('8.8.8.8')).toBe('US');
  });
});

describe('countryOfRecord', () => {
  it.each([
    [
      'GeoIP2/GeoLite2/DB-IP country.iso_code',
      { country: { iso_code: 'DE', names: { en: 'Germany' } } },
      'DE',
    ],
    [
      'GeoIP2 City with registered_country',
      { country: { iso_code: 'FR' }, registered_country: { iso_code: 'US' } },
      'FR',
    ],
    ['ip-location-db country_code', { country_code: 'JP' }, 'JP'],
    ['IPinfo country_code with other fields', { country_code: 'AU', asn: 'AS13335' }, 'AU'],
    ['flat country_iso_code', { country_iso_code: 'NZ' }, 'NZ'],
    ['flat country string', { country: 'BR' }, 'BR'],
    ['a lower-case code', { country_code: 'gb' }, 'GB'],
    ['a lower-case nested code', { country: { iso_code: 'ie' } }, 'IE'],
    [
      'a flat code beside a nested one (flat first)',
      { country_code: 'CA', country: { iso_code: 'US' } },
      'CA',
    ],
  ])('reads the %s layout', (_layout, record, code) => {
    // Act
    const country = countryOfRecord(record);

    // Assess
    expect(country).toBe(code);
  });

  it.each([
    ['null', null],
    ['an empty record', {}],
    ['a continent only', { continent: { code: 'EU' } }],
    ['a three-letter code', { country_code: 'USA' }],
    ['a one-letter code', { country_code: 'U' }],
    ['a number', { country_code: 840 }],
    ['digits', { country_code: '84' }],
    ['an empty string', { country_code: '' }],
    ['a country name', { country: 'Germany' }],
    ['a nested object without iso_code', { country: { names: { en: 'Germany' } } }],
    ['a nested numeric iso_code', { country: { iso_code: 276 } }],
    ['an array', { country: ['DE'] }],
    ['padding', { country_code: ' DE' }],
  ])('gives null for %s', (_what, record) => {
    // Act
    const country = countryOfRecord(record as Record<string, unknown> | null);

    // Assess
    expect(country).toBeNull();
  });
});

describe('openGeoDatabase', () => {
  it('reads a GeoIP2-layout database and its metadata', () => {
    // Prepare
    const bytes = writeMmdb(
      [
        { cidr: '203.0.113.0/24', record: { country: { iso_code: 'NZ' } } },
        { cidr: '2001:db8::/32', record: { country: { iso_code: 'JP' } } },
      ],
      { databaseType: 'GeoLite2-Country', buildEpoch: 1_700_000_000 },
    );

    // Act
    const geo = openGeoDatabase('test.mmdb', bytes);

    // Assess
    expect(geo.country('203.0.113.9')).toBe('NZ');
    expect(geo.country('2001:db8::9')).toBe('JP');
    expect(geo.country('198.51.100.1')).toBeNull();
    expect(geo.info).toEqual({
      name: 'test.mmdb',
      databaseType: 'GeoLite2-Country',
      buildEpoch: '2023-11-14T22:13:20.000Z',
      sha256: createHash('sha256').update(bytes).digest('hex'),
      bytes: bytes.length,
    });
  });

  it('answers IPv4 lookups from an IPv4-only database, and nothing for IPv6', () => {
    // Prepare
    const bytes = writeMmdb([{ cidr: '0.0.0.0/0', record: { country_code: 'US' } }], {
      ipVersion: 4,
    });

    // Act
    const geo = openGeoDatabase('v4.mmdb', bytes);

    // Assess
    expect(geo.country('8.8.8.8')).toBe('US');
    expect(geo.country('2a00:1450::1')).toBeNull();
  });

  it.each(['GeoLite2-City', 'DBIP-Country-Lite', 'ipinfo country_asn', 'country ipvAll'])(
    'accepts the %s database type',
    (databaseType) => {
      // Act
      const open = () => openGeoDatabase('x.mmdb', writeMmdb([], { databaseType }));

      // Assess
      expect(open).not.toThrow();
    },
  );

  it.each([
    'GeoLite2-ASN',
    'GeoIP2-ISP',
    'GeoIP2-Connection-Type',
    'GeoIP2-Anonymous-IP',
    'GeoIP2-Domain',
    // IPinfo's free ASN database names its type with underscores.
    'ipinfo generic_asn_free.mmdb',
    'DBIP-ASN-Lite (compat=GeoLite2-ASN)',
  ])('rejects the %s database type, which has no countries', (databaseType) => {
    // Act
    const error = geoErrorOf(() => openGeoDatabase('asn.mmdb', writeMmdb([], { databaseType })));

    // Assess
    expect(error.message).toBe(
      `asn.mmdb: database type '${databaseType}' has no countries; give a country or city database`,
    );
  });

  describe('a corrupt or truncated file', () => {
    let real: Buffer;
    beforeAll(() => {
      real = readFileSync(BUNDLED_PATH);
    });

    it.each([
      ['an empty buffer', () => Buffer.alloc(0)],
      ['the first 1000 bytes of the real file', () => real.subarray(0, 1000)],
      ['the real file without its last 1000 bytes', () => real.subarray(0, real.length - 1000)],
      ['a text file', () => Buffer.from('8.8.8.8,US\n1.2.4.8,CN\n')],
      ['a gzipped file', () => Buffer.from('1f8b0800000000000003', 'hex')],
    ])('throws a GeoDatabaseError naming the file for %s', (_what, bytes) => {
      // Act
      const error = geoErrorOf(() => openGeoDatabase('broken.mmdb', bytes()));

      // Assess
      expect(error.message).toMatch(/^broken\.mmdb: not a readable MMDB database \(.+\)$/);
      expect(error.cause).toBeDefined();
    });

    it('throws a GeoDatabaseError naming the file when the search tree is cut short', () => {
      // Prepare: keep the first 1000 bytes of the tree and the metadata, drop the rest.
      const cut = Buffer.concat([real.subarray(0, 1000), real.subarray(real.length - 5000)]);

      // Act
      const error = geoErrorOf(() => openGeoDatabase('cut.mmdb', cut));

      // Assess
      expect(error.message).toMatch(
        /^cut\.mmdb: corrupt database \(lookup of 1\.1\.1\.1 failed: .+\)$/,
      );
    });

    it('throws only GeoDatabaseErrors naming the file for random bytes, with or without a metadata marker', () => {
      const marker = Buffer.from([0xab, 0xcd, 0xef, ...Buffer.from('MaxMind.com')]);
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 2048 }),
          fc.boolean(),
          fc.uint8Array({ maxLength: 64 }),
          (head, withMarker, tail) => {
            // Prepare
            const bytes = withMarker ? Buffer.concat([head, marker, tail]) : Buffer.from(head);

            // Act
            const error = geoErrorOf(() => openGeoDatabase('random.mmdb', bytes));

            // Assess
            expect(error.message.startsWith('random.mmdb: ')).toBe(true);
          },
        ),
        { numRuns: 300 },
      );
    });
  });
});
