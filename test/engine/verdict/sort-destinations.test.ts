import fc from 'fast-check';
import { countryOrder, sortDestinations } from '../../../lambda/engine/verdict/build-verdict';

/** The order the verdict promises, by the comparator alone. */
function byComparator(rank: Uint8Array, sent: Float64Array, conns: Float64Array, ips: readonly string[]): number[] {
  return Array.from({ length: rank.length }, (_, i) => i).sort((a, b) => {
    const ia = ips[a]!;
    const ib = ips[b]!;
    return rank[a]! - rank[b]! || sent[b]! - sent[a]! || conns[b]! - conns[a]! || (ia < ib ? -1 : ia > ib ? 1 : 0);
  });
}

// Few distinct values, so ties on every key are common; some byte counts too large for the packed key.
const destination = fc.record({
  rank: fc.integer({ min: 0, max: 4 }),
  sent: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(0, 1, 40, 1500, 1500, 2 ** 31, 2 ** 40) },
    { weight: 3, arbitrary: fc.nat(10_000_000) },
    { weight: 1, arbitrary: fc.constantFrom(2 ** 52, Number.MAX_SAFE_INTEGER, 2 ** 60, 0.5) },
  ),
  conns: fc.constantFrom(1, 2, 3, 100),
  ip: fc.constantFrom('1.1.1.1', '8.8.8.8', '2001:db8::1', '10.0.0.1', '9.9.9.9'),
});

describe('sortDestinations', () => {
  it('gives the order of the verdict comparator (status, bytes sent, connections, address)', () => {
    fc.assert(
      fc.property(fc.array(destination, { maxLength: 300 }), (ds) => {
        const rank = Uint8Array.from(ds.map((d) => d.rank));
        const sent = Float64Array.from(ds.map((d) => d.sent));
        const conns = Float64Array.from(ds.map((d) => d.conns));
        const ips = ds.map((d) => d.ip);
        expect(sortDestinations(rank, sent, conns, ips)).toEqual(byComparator(rank, sent, conns, ips));
      }),
      { numRuns: 500 },
    );
  });

  it('sorts tens of thousands of distinct byte counts by packed keys, in the same order', () => {
    const n = 40_000;
    const rank = Uint8Array.from({ length: n }, (_, i) => (i * 7) % 5);
    const sent = Float64Array.from({ length: n }, (_, i) => (i * 7919) % 100_003);
    const conns = Float64Array.from({ length: n }, (_, i) => i % 13);
    const ips = Array.from({ length: n }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    expect(sortDestinations(rank, sent, conns, ips)).toEqual(byComparator(rank, sent, conns, ips));
  });
});

describe('countryOrder', () => {
  it('orders as localeCompare does: codes of digits and capitals, "~" (no country), and anything else', () => {
    const alphabet = [...'09AZaz~-_ é'];
    const code = fc.oneof(
      fc.constant('~'),
      fc.tuple(fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'), fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ')).map(([x, y]) => x + y),
      fc.array(fc.constantFrom(...alphabet), { minLength: 0, maxLength: 3 }).map((cs) => cs.join('')),
    );
    fc.assert(
      fc.property(code, code, (a, b) => {
        expect(Math.sign(countryOrder(a, b))).toBe(Math.sign(a.localeCompare(b)));
      }),
      { numRuns: 5000 },
    );
  });
});
