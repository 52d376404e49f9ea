import { readFileSync } from 'node:fs';
import { AsnTable, buildAsnTableBinary } from '../../../lambda/engine/geo/asn-table';
import { GeoDatabaseError } from '../../../lambda/engine/errors';
import { parseIp } from '../../../lambda/engine/net/ip';
import { asnTablePath } from '../../../lambda/adapters/load-geo-database';

// Rows as @ip-location-db/asn publishes them: first,last,asn,organisation (quoted when it has commas).
const V4 = ['16777216,16777471,13335,"Cloudflare, Inc."', '16778240,16779263,38803,Gtelecom Pty Ltd', '3232235520,3232235775,64512,'].join('\n');
const V6 = ['2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC', '2402:4e00::,2402:4e00:ffff:ffff:ffff:ffff:ffff:ffff,45090,"Shenzhen Tencent Computer Systems Company Limited"'].join('\n');

const lookup = (t: AsnTable, ip: string) => t.lookup(parseIp(ip)!);

describe('AsnTable', () => {
  const table = new AsnTable('test', buildAsnTableBinary('test', Buffer.from(V4), Buffer.from(V6)));

  it('finds the range holding an address, at both ends and inside', () => {
    expect(lookup(table, '1.0.0.0')).toEqual({ asn: 13335, organisation: 'Cloudflare, Inc.' });
    expect(lookup(table, '1.0.0.255')).toEqual({ asn: 13335, organisation: 'Cloudflare, Inc.' });
    expect(lookup(table, '1.0.4.7')).toEqual({ asn: 38803, organisation: 'Gtelecom Pty Ltd' });
    expect(lookup(table, '192.168.0.9')).toEqual({ asn: 64512, organisation: null });
  });

  it('answers null between ranges and outside them', () => {
    expect(lookup(table, '1.0.1.0')).toBeNull();
    expect(lookup(table, '0.255.255.255')).toBeNull();
    expect(lookup(table, '255.255.255.255')).toBeNull();
    expect(lookup(table, '2001:4861::1')).toBeNull();
    expect(lookup(table, '::1')).toBeNull();
  });

  it('compares IPv6 addresses over all 128 bits', () => {
    expect(lookup(table, '2001:4860:4860::8888')?.asn).toBe(15169);
    expect(lookup(table, '2001:4860:ffff:ffff:ffff:ffff:ffff:ffff')?.asn).toBe(15169);
    expect(lookup(table, '2402:4e00::1')).toEqual({ asn: 45090, organisation: 'Shenzhen Tencent Computer Systems Company Limited' });
  });

  it('reads a table from an unaligned buffer the same', () => {
    const binary = buildAsnTableBinary('test', Buffer.from(V4), Buffer.from(V6));
    const padded = Buffer.concat([Buffer.alloc(3), binary]).subarray(3);
    expect(padded.byteOffset % 4).not.toBe(0);
    expect(lookup(new AsnTable('test', padded), '1.0.4.7')?.asn).toBe(38803);
  });

  it('refuses a truncated or foreign file, naming it', () => {
    const binary = buildAsnTableBinary('test', Buffer.from(V4), Buffer.from(V6));
    expect(() => new AsnTable('cut.bin', binary.subarray(0, binary.length - 5))).toThrow(new GeoDatabaseError('cut.bin: ASN table is truncated or corrupt'));
    expect(() => new AsnTable('x.bin', Buffer.from('hello world, not a table at all....................'))).toThrow(/x\.bin: not an ASN table/);
  });

  it('refuses a table whose stored prefix index or organisation offsets are damaged, naming it', () => {
    // Prepare: header words 2..4 give the range counts and the organisation section's length.
    const binary = buildAsnTableBinary('test', Buffer.from(V4), Buffer.from(V6));
    const words = (b: Buffer) => new Uint32Array(b.buffer, b.byteOffset, b.length / 4);
    const orgLen = words(binary)[4]!;
    const orgStart = binary.length - orgLen;
    const badIndex = Buffer.from(binary);
    words(badIndex)[orgStart / 4 - 1] = 999; // the IPv6 index's total
    const badOffsets = Buffer.from(binary);
    words(badOffsets)[orgStart / 4 + 2] = 0xffff; // the end of the first organisation's name

    // Act, assess
    expect(() => new AsnTable('idx.bin', badIndex)).toThrow(new GeoDatabaseError('idx.bin: ASN table is truncated or corrupt'));
    const table = new AsnTable('org.bin', badOffsets);
    expect(() => lookup(table, '1.0.0.1')).toThrow(new GeoDatabaseError('org.bin: ASN table organisation list is corrupt'));
    expect(lookup(table, '2001:4860::1')).toEqual({ asn: 15169, organisation: 'Google LLC' });
  });

  it('refuses a malformed CSV row, naming the line', () => {
    expect(() => buildAsnTableBinary('asn', Buffer.from('1,2,3,a\nfoo,bar\n'), Buffer.from(''))).toThrow(/asn: IPv4 line 2 is not first,last,asn,organisation/);
  });

  it('is built from the real @ip-location-db/asn data by npm run build', () => {
    const real = new AsnTable('@ip-location-db/asn', readFileSync(asnTablePath()));
    expect(real.info.ranges).toBeGreaterThan(100_000);
    expect(lookup(real, '8.8.8.8')).toEqual({ asn: 15169, organisation: 'Google LLC' });
    expect(lookup(real, '47.88.1.1')?.asn).toBe(45102);
  });
});
