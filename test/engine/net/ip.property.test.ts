import fc from 'fast-check';
import {
  cidrContains,
  formatIpv4,
  formatIpv6,
  parseCidr,
  parseIp,
  parseIpv4,
} from '../../../lambda/engine/net/ip';

const group = fc.integer({ min: 0, max: 0xffff });
/** Eight groups, biased towards zero runs so that `::` compression is exercised. */
const groups = fc.array(fc.oneof(group, fc.constant(0), fc.constant(0)), {
  minLength: 8,
  maxLength: 8,
});
const v4 = fc.integer({ min: 0, max: 0xffffffff });

const isMappedOrNat64 = (g: readonly number[]): boolean =>
  (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) ||
  (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0));

/** RFC 5952 text written the plain way (the longest run of two or more zero groups, the first of equals, becomes `::`). */
function rfc5952(g: readonly number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
  }
  const hex = g.map((x) => x.toString(16));
  return best < 0 ? hex.join(':') : `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

describe('ip parsing properties', () => {
  it('formats IPv6 as RFC 5952 says', () => {
    fc.assert(fc.property(groups, (g) => expect(formatIpv6(g)).toBe(rfc5952(g))), { numRuns: 2000 });
    expect(formatIpv6([0, 0, 0, 0, 0, 0, 0, 0])).toBe('::');
    expect(formatIpv6([1, 0, 0, 0, 0, 0, 0, 0])).toBe('1::');
    expect(formatIpv6([0, 0, 0, 0, 0, 0, 0, 1])).toBe('::1');
    expect(formatIpv6([0x2001, 0xdb8, 0, 1, 0, 0, 0, 1])).toBe('2001:db8:0:1::1');
  });

  it('round-trips parseIp(formatIpv6(groups)) to the same groups and canonical text', () => {
    fc.assert(
      fc.property(groups, (g) => {
        // Act
        const parsed = parseIp(formatIpv6(g));

        // Assess
        if (isMappedOrNat64(g)) {
          expect(parsed).toEqual({
            version: 4,
            v4: g[6]! * 65536 + g[7]!,
            text: formatIpv4(g[6]! * 65536 + g[7]!),
          });
        } else {
          expect(parsed).toEqual({ version: 6, groups: g, text: formatIpv6(g) });
        }
      }),
    );
  });

  it('parses the fully expanded, zero-padded form to the same address as the canonical form', () => {
    fc.assert(
      fc.property(groups, (g) => {
        // Prepare
        const expanded = g.map((x) => x.toString(16).padStart(4, '0')).join(':');

        // Act
        const parsed = parseIp(expanded);

        // Assess
        expect(parsed).toEqual(parseIp(formatIpv6(g)));
      }),
    );
  });

  it('formats IPv6 canonically: lower case, no leading zeros, at most one ::, never for one group', () => {
    fc.assert(
      fc.property(groups, (g) => {
        // Act
        const text = formatIpv6(g);

        // Assess
        expect(text).toBe(text.toLowerCase());
        expect(text.split('::').length).toBeLessThanOrEqual(2);
        expect(text).not.toMatch(/(^|:)0[0-9a-f]/);
        const shown = text === '::' ? 0 : text.split(':').filter((x) => x !== '').length;
        if (text.includes('::')) expect(8 - shown).toBeGreaterThanOrEqual(2);
        else expect(shown).toBe(8);
      }),
    );
  });

  it('round-trips parseIpv4(formatIpv4(n)) for every 32-bit number', () => {
    fc.assert(
      fc.property(v4, (n) => {
        // Act
        const back = parseIpv4(formatIpv4(n));

        // Assess
        expect(back).toBe(n);
      }),
    );
  });

  it('never throws on arbitrary text, and anything it accepts re-parses to itself', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[0-9a-fA-F:.%[\]]{0,48}$/)), (text) => {
        // Act
        const parsed = parseIp(text);

        // Assess
        if (parsed) expect(parseIp(parsed.text)).toEqual(parsed);
      }),
    );
  });

  it('contains exactly the addresses that share the network prefix (IPv4)', () => {
    fc.assert(
      fc.property(v4, v4, fc.integer({ min: 0, max: 32 }), (net, addr, bits) => {
        // Prepare
        const network = parseCidr(`${formatIpv4(net)}/${bits}`)!;
        const shift = 32 - bits;
        const samePrefix =
          bits === 0 || Math.floor(net / 2 ** shift) === Math.floor(addr / 2 ** shift);

        // Act
        const contains = cidrContains(network, parseIp(formatIpv4(addr))!);

        // Assess
        expect(contains).toBe(samePrefix);
      }),
    );
  });

  it('always contains the address a network was written with (IPv4 and IPv6)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(v4.map(formatIpv4), fc.integer({ min: 0, max: 32 })),
          fc.tuple(
            groups.filter((g) => !isMappedOrNat64(g)).map(formatIpv6),
            fc.integer({ min: 0, max: 128 }),
          ),
        ),
        ([address, bits]) => {
          // Act
          const network = parseCidr(`${address}/${bits}`);

          // Assess
          expect(network).not.toBeNull();
          expect(cidrContains(network!, parseIp(address)!)).toBe(true);
          expect(parseCidr(network!.text)).toEqual(network);
        },
      ),
    );
  });
});
