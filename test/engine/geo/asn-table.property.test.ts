import fc from 'fast-check';
import { AsnTable, buildAsnTableBinary } from '../../../lambda/engine/geo/asn-table';
import { formatIpv4, formatIpv6, parseIp } from '../../../lambda/engine/net/ip';

/** A 16-bit prefix: mostly at the ends of the space and side by side, so ranges cross them. */
const prefix = fc.oneof(
  fc.integer({ min: 0, max: 3 }),
  fc.integer({ min: 0xfffc, max: 0xffff }),
  fc.integer({ min: 0x1000, max: 0x1003 }),
  fc.integer({ min: 0, max: 0xffff }),
);
/** The bits under a prefix: mostly at its edges. */
const low16 = fc.oneof(fc.constantFrom(0, 1, 0xfffe, 0xffff), fc.integer({ min: 0, max: 0xffff }));

/** Sorted, disjoint [first, last] pairs from a set of points (an odd last point is dropped). */
function rangesOf<T>(points: T[], compare: (a: T, b: T) => number): [T, T][] {
  const sorted = points.slice().sort(compare);
  const unique = sorted.filter((p, i) => i === 0 || compare(sorted[i - 1]!, p) !== 0);
  const out: [T, T][] = [];
  for (let i = 0; i + 1 < unique.length; i += 2) out.push([unique[i]!, unique[i + 1]!]);
  return out;
}

const compareGroups = (a: readonly number[], b: readonly number[]): number => {
  for (let i = 0; i < 8; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
};

const v4Point = fc.tuple(prefix, low16).map(([hi, lo]) => hi * 65536 + lo);
const v4Points = fc.array(v4Point, { maxLength: 40 });
const v6Point = fc
  .tuple(prefix, fc.array(low16, { minLength: 7, maxLength: 7 }))
  .map(([g, rest]) => [g, ...rest]);
const v6Points = fc.array(v6Point, { maxLength: 40 });

describe('AsnTable lookups by prefix index', () => {
  it('find the range holding an IPv4 address exactly as a scan of all ranges does', () => {
    fc.assert(
      fc.property(v4Points, v4Points, (points, probes) => {
        // Prepare
        const ranges = rangesOf(points, (a, b) => a - b);
        const csv = ranges
          .map(([first, last], i) => `${first},${last},${i + 1},org ${i}`)
          .join('\n');
        const table = new AsnTable('t', buildAsnTableBinary('t', Buffer.from(csv), Buffer.alloc(0)));

        const neighbours = points.flatMap((p) => [p - 1, p + 1]);
        for (const v of [...probes, ...points, ...neighbours]) {
          if (v < 0 || v > 0xffffffff) continue;
          // Act
          const found = table.lookup(parseIp(formatIpv4(v))!);

          // Assess
          const i = ranges.findIndex(([first, last]) => first <= v && v <= last);
          expect(found).toEqual(i < 0 ? null : { asn: i + 1, organisation: `org ${i}` });
        }
      }),
      { numRuns: 500 },
    );
  });

  it('find the range holding an IPv6 address exactly as a scan of all ranges does', () => {
    fc.assert(
      fc.property(v6Points, v6Points, (points, probes) => {
        // Prepare
        const ranges = rangesOf(points, compareGroups);
        const csv = ranges
          .map(([first, last], i) => `${formatIpv6(first)},${formatIpv6(last)},${i + 1},org ${i}`)
          .join('\n');
        const table = new AsnTable('t', buildAsnTableBinary('t', Buffer.alloc(0), Buffer.from(csv)));

        for (const g of [...probes, ...points]) {
          const ip = parseIp(formatIpv6(g))!;
          if (ip.version !== 6) continue;
          // Act
          const found = table.lookup(ip);

          // Assess
          const i = ranges.findIndex(
            ([first, last]) => compareGroups(first, g) <= 0 && compareGroups(g, last) <= 0,
          );
          expect(found).toEqual(i < 0 ? null : { asn: i + 1, organisation: `org ${i}` });
        }
      }),
      { numRuns: 500 },
    );
  });
});
