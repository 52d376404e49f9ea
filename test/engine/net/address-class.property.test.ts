import fc from 'fast-check';
import { classifyAddress } from '../../../lambda/engine/net/address-class';
import { formatIpv4, formatIpv6, parseIp, type ParsedIp } from '../../../lambda/engine/net/ip';

const v4 = fc.integer({ min: 0, max: 0xffffffff });
const group = fc.integer({ min: 0, max: 0xffff });
const groups = fc.array(fc.oneof(group, fc.constant(0)), { minLength: 8, maxLength: 8 });
/** Any address the parser can produce, from either family. */
const parsedIp: fc.Arbitrary<ParsedIp> = fc.oneof(
  v4.map((n) => parseIp(formatIpv4(n))!),
  groups.map((g) => parseIp(formatIpv6(g))!),
);
const inNetwork = (network: number, bits: number): fc.Arbitrary<number> =>
  fc.integer({ min: 0, max: 2 ** (32 - bits) - 1 }).map((host) => network + host);

describe('address classification properties', () => {
  it('never throws and always answers a class for any parsed address', () => {
    fc.assert(
      fc.property(parsedIp, (ip) => {
        // Act
        const cls = classifyAddress(ip);

        // Assess
        expect(typeof cls).toBe('string');
        expect(cls.length).toBeGreaterThan(0);
      }),
    );
  });

  it.each([
    ['10.0.0.0/8', 0x0a000000, 8],
    ['172.16.0.0/12', 0xac100000, 12],
    ['192.168.0.0/16', 0xc0a80000, 16],
  ])('classifies every address in %s as private', (_range, network, bits) => {
    fc.assert(
      fc.property(inNetwork(network, bits), (n) => {
        // Act
        const cls = classifyAddress(parseIp(formatIpv4(n))!);

        // Assess
        expect(cls).toBe('private');
      }),
    );
  });

  it('classifies the IPv4-mapped form ::ffff:a.b.c.d the same as a.b.c.d', () => {
    fc.assert(
      fc.property(v4, (n) => {
        // Prepare
        const dotted = formatIpv4(n);

        // Act
        const mapped = classifyAddress(parseIp(`::ffff:${dotted}`)!);
        const hexMapped = classifyAddress(
          parseIp(formatIpv6([0, 0, 0, 0, 0, 0xffff, n >>> 16, n & 0xffff]))!,
        );

        // Assess
        const direct = classifyAddress(parseIp(dotted)!);
        expect(mapped).toBe(direct);
        expect(hexMapped).toBe(direct);
      }),
    );
  });

  it('classifies the NAT64 form 64:ff9b::a.b.c.d the same as a.b.c.d', () => {
    fc.assert(
      fc.property(v4, (n) => {
        // Prepare
        const dotted = formatIpv4(n);

        // Act
        const translated = classifyAddress(parseIp(`64:ff9b::${dotted}`)!);

        // Assess
        expect(translated).toBe(classifyAddress(parseIp(dotted)!));
      }),
    );
  });

  it('classifies no IPv6 address outside global unicast 2000::/3 as public', () => {
    fc.assert(
      fc.property(
        groups.filter((g) => g[0]! < 0x2000 || g[0]! >= 0x4000),
        (g) => {
          // Prepare
          const ip = parseIp(formatIpv6(g))!;

          // Act
          const cls = classifyAddress(ip);

          // Assess (IPv4 carried in mapped or NAT64 form is classified as IPv4, tested above)
          if (ip.version === 6) expect(cls).not.toBe('public');
        },
      ),
    );
  });
});
