import fc from 'fast-check';
import { Reader } from 'maxmind';
import { cidrContains, formatIpv4, parseCidr, parseIp } from '../../../lambda/engine/net/ip';
import { encodeMmdbValue, MmdbUint16, writeMmdb, type MmdbValue } from '../../helpers/mmdb-writer';

type Rec = Record<string, unknown>;
const read = (bytes: Buffer): Reader<Rec> => new Reader<Rec>(bytes);

describe('writeMmdb (test helper), read back with the maxmind Reader', () => {
  it('answers each network with its record and null outside every network', () => {
    // Prepare
    const bytes = writeMmdb([
      { cidr: '203.0.113.0/24', record: { country: { iso_code: 'NZ' } } },
      { cidr: '2001:db8::/32', record: { country_code: 'JP' } },
    ]);

    // Act
    const reader = read(bytes);

    // Assess
    expect(reader.get('203.0.113.0')).toEqual({ country: { iso_code: 'NZ' } });
    expect(reader.get('203.0.113.255')).toEqual({ country: { iso_code: 'NZ' } });
    expect(reader.get('203.0.112.255')).toBeNull();
    expect(reader.get('203.0.114.0')).toBeNull();
    expect(reader.get('2001:db8::1')).toEqual({ country_code: 'JP' });
    expect(reader.get('2001:db9::')).toBeNull();
    expect(reader.get('8.8.8.8')).toBeNull();
  });

  it('reports the prefix length of the network that answered', () => {
    // Prepare
    const reader = read(
      writeMmdb([
        { cidr: '198.51.100.0/24', record: 'x' },
        { cidr: '2001:db8::/48', record: 'y' },
      ]),
    );

    // Act
    const v4 = reader.getWithPrefixLength('198.51.100.9');
    const v6 = reader.getWithPrefixLength('2001:db8::9');

    // Assess
    expect(v4).toEqual(['x', 24]);
    expect(v6).toEqual(['y', 48]);
  });

  it('writes the metadata a verdict cites', () => {
    // Prepare
    const bytes = writeMmdb([{ cidr: '1.0.0.0/8', record: { country_code: 'AU' } }], {
      databaseType: 'Residency-Test-Country',
      buildEpoch: new Date('2024-05-01T12:00:00Z'),
      languages: ['en', 'de'],
      description: { en: 'test', de: 'Test' },
    });

    // Act
    const { metadata } = read(bytes);

    // Assess
    expect(metadata).toMatchObject({
      binaryFormatMajorVersion: 2,
      binaryFormatMinorVersion: 0,
      databaseType: 'Residency-Test-Country',
      ipVersion: 6,
      recordSize: 24,
      languages: ['en', 'de'],
      description: { en: 'test', de: 'Test' },
    });
    expect(metadata.buildEpoch.toISOString()).toBe('2024-05-01T12:00:00.000Z');
  });

  it('defaults to an IPv6 tree, 24-bit records and build epoch 1700000000', () => {
    // Act
    const { metadata } = read(writeMmdb([]));

    // Assess
    expect(metadata).toMatchObject({ ipVersion: 6, recordSize: 24, databaseType: 'Test-Country' });
    expect(metadata.buildEpoch.toISOString()).toBe('2023-11-14T22:13:20.000Z');
  });

  it.each([24, 28, 32] as const)('writes %i-bit records that read back', (recordSize) => {
    // Prepare
    const networks = Array.from({ length: 300 }, (_, i) => ({
      cidr: `10.${i >> 8}.${i & 255}.0/24`,
      record: { n: i },
    }));

    // Act
    const reader = read(writeMmdb(networks, { recordSize }));

    // Assess
    expect(reader.metadata.recordSize).toBe(recordSize);
    expect(reader.get('10.0.0.1')).toEqual({ n: 0 });
    expect(reader.get('10.1.43.200')).toEqual({ n: 299 });
    expect(reader.get('10.1.44.0')).toBeNull();
  });

  it('packs record values above 2^24 into 28- and 32-bit records, and refuses them in 24-bit ones', () => {
    // Prepare: a 16 MiB record pushes the next record's data pointer past 24 bits.
    const networks = [
      { cidr: '10.0.0.0/8', record: 'x'.repeat(2 ** 24) },
      { cidr: '192.0.2.0/24', record: { country_code: 'NZ' } },
    ];

    // Act
    const readers = ([28, 32] as const).map((recordSize) =>
      read(writeMmdb(networks, { recordSize })),
    );
    const small = () => writeMmdb(networks, { recordSize: 24 });

    // Assess
    for (const reader of readers) {
      expect(reader.get('192.0.2.1')).toEqual({ country_code: 'NZ' });
      expect((reader.get('10.0.0.1') as unknown as string).length).toBe(2 ** 24);
    }
    expect(small).toThrow('mmdb-writer: too large for 24-bit records');
  });

  it('writes an IPv4-only database', () => {
    // Prepare
    const bytes = writeMmdb([{ cidr: '192.0.2.0/24', record: 'doc' }], { ipVersion: 4 });

    // Act
    const reader = read(bytes);

    // Assess
    expect(reader.metadata.ipVersion).toBe(4);
    expect(reader.get('192.0.2.1')).toBe('doc');
    expect(reader.get('192.0.3.1')).toBeNull();
  });

  it('refuses an IPv6 network in an IPv4-only database, and text that is not a network', () => {
    // Act
    const v6InV4 = () => writeMmdb([{ cidr: '2001:db8::/32', record: 'x' }], { ipVersion: 4 });
    const junk = () => writeMmdb([{ cidr: '10.0.0.0/33', record: 'x' }]);

    // Assess
    expect(v6InV4).toThrow("mmdb-writer: '2001:db8::/32' is IPv6 but the database is IPv4-only");
    expect(junk).toThrow("mmdb-writer: '10.0.0.0/33' is not a CIDR network");
  });

  it('lets a more specific network win whatever the order, and the later entry for the same network', () => {
    // Prepare
    const bytes = writeMmdb([
      { cidr: '10.1.0.0/16', record: 'specific' },
      { cidr: '10.0.0.0/8', record: 'broad' },
      { cidr: '10.1.2.0/24', record: 'first' },
      { cidr: '10.1.2.0/24', record: 'second' },
    ]);

    // Act
    const reader = read(bytes);

    // Assess
    expect(reader.get('10.9.9.9')).toBe('broad');
    expect(reader.get('10.1.9.9')).toBe('specific');
    expect(reader.get('10.1.2.3')).toBe('second');
  });

  it('answers every address of its family from a /0 network', () => {
    // Prepare
    const reader = read(
      writeMmdb([
        { cidr: '0.0.0.0/0', record: 'v4' },
        { cidr: '::/0', record: 'any' },
      ]),
    );

    // Act
    const answers = ['0.0.0.0', '255.255.255.255', '8.8.8.8', '2001:db8::1', 'ffff::1'].map((ip) =>
      reader.get(ip),
    );

    // Assess
    expect(answers).toEqual(['v4', 'v4', 'v4', 'any', 'any']);
  });

  it('stores each distinct record once', () => {
    // Prepare
    const one = writeMmdb([{ cidr: '10.0.0.0/24', record: { country_code: 'US' } }]);

    // Act
    const many = writeMmdb(
      Array.from({ length: 50 }, (_, i) => ({
        cidr: `10.0.${i * 2}.0/24`,
        record: { country_code: 'US' },
      })),
    );

    // Assess
    const dataBytes = (b: Buffer): number => b.length - read(b).metadata.searchTreeSize;
    expect(dataBytes(many)).toBe(dataBytes(one));
  });

  it('round-trips every data type the maxmind Reader decodes', () => {
    // Prepare
    const record: MmdbValue = {
      utf8: 'Zürich 北京',
      empty: '',
      long29: 'x'.repeat(29),
      long300: 'y'.repeat(300),
      long70000: 'z'.repeat(70_000),
      zero: 0,
      uint32: 0xffffffff,
      int32: -123456,
      int32min: -0x80000000,
      double: 51.5074,
      bigDouble: 2 ** 40,
      uint16: new MmdbUint16(443),
      uint64: 2n ** 63n + 1n,
      uint128: 2n ** 127n,
      yes: true,
      no: false,
      bytes: Uint8Array.from([0, 1, 254, 255]),
      array: [1, 'two', [3], { four: 4 }],
      nested: { a: { b: { c: 'deep' } } },
    };

    // Act
    const back = read(writeMmdb([{ cidr: '198.51.100.0/24', record }])).get('198.51.100.1');

    // Assess
    expect(back).toEqual({
      ...record,
      uint16: 443,
      bytes: Buffer.from([0, 1, 254, 255]),
    });
  });

  it('refuses values MMDB cannot hold', () => {
    // Act
    const nullValue = () => encodeMmdbValue({ a: null } as unknown as MmdbValue);
    const negativeBig = () => encodeMmdbValue(-1n);
    const badUint16 = () => new MmdbUint16(70_000);

    // Assess
    expect(nullValue).toThrow(/MMDB has no null/);
    expect(negativeBig).toThrow(RangeError);
    expect(badUint16).toThrow(RangeError);
  });

  it('answers like a longest-prefix match over the networks written (property)', () => {
    const network = fc.record({
      base: fc.integer({ min: 0, max: 0xffffffff }),
      bits: fc.integer({ min: 1, max: 32 }),
      code: fc.constantFrom('US', 'CN', 'DE', 'GB', 'JP'),
    });
    fc.assert(
      fc.property(
        fc.array(network, { maxLength: 25 }),
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 20 }),
        (nets, probes) => {
          // Prepare
          const entries = nets.map((n) => ({
            cidr: `${formatIpv4(n.base)}/${n.bits}`,
            record: { country_code: n.code },
          }));
          const reader = read(writeMmdb(entries));
          // Specificity first, then the later entry (the writer's documented rule).
          const ranked = entries
            .map((e, order) => ({ ...e, order, net: parseCidr(e.cidr)! }))
            .sort((a, b) => b.net.bits - a.net.bits || b.order - a.order);

          for (const probe of [...probes, ...nets.map((n) => n.base)]) {
            const ip = formatIpv4(probe);
            const expected = ranked.find((e) => cidrContains(e.net, parseIp(ip)!))?.record ?? null;

            // Act
            const answer = reader.get(ip);

            // Assess
            expect(answer).toEqual(expected);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
