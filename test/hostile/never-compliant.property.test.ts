/**
 * Damaged real logs (properties): whatever happens to the bytes of a real fixture (cut short, bits
 * flipped, NULs inserted, ranges deleted), the check returns a verdict, in bounded time, and a
 * verdict that could not read the log is never compliant.
 */
import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { checkBytes, fixture, fixturePath } from '../helpers/engine';

/** Every real fixture of the formats most exposed to damaged uploads. */
const FIXTURES: { name: string; bytes: Buffer }[] = [
  ['zeek', /./],
  ['vpcflow', /./],
  ['pcap', /\.pcap(ng)?$/],
  ['har', /./],
].flatMap(([dir, pattern]) =>
  readdirSync(fixturePath(dir as string))
    .filter((f) => (pattern as RegExp).test(f) && !f.endsWith('.md'))
    .filter((f) => !f.includes('/'))
    .map((f) => ({ name: `${dir as string}/${f}`, bytes: fixture(dir as string, f) })),
).filter((f) => f.bytes.length > 0);

type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'nul'; at: number; count: number }
  | { kind: 'delete'; at: number; length: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('nul' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 4096 }) }),
);

/** Applies a mutation; positions wrap around the current length. */
function mutate(bytes: Buffer, m: Mutation): Buffer {
  if (bytes.length === 0) return bytes;
  const at = m.at % bytes.length;
  switch (m.kind) {
    case 'truncate':
      return bytes.subarray(0, at);
    case 'flip': {
      const copy = Buffer.from(bytes);
      copy[at] = copy[at]! ^ (1 << m.bit);
      return copy;
    }
    case 'nul':
      return Buffer.concat([bytes.subarray(0, at), Buffer.alloc(m.count), bytes.subarray(at)]);
    case 'delete':
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + m.length))]);
  }
}

/** Longest a check of a small fixture may take; a hang or a quadratic path fails the property. */
const PER_CHECK_MS = 5_000;

describe('damaged real fixtures (properties)', () => {
  it('has fixtures of every family to damage', () => {
    for (const family of ['zeek/', 'vpcflow/', 'pcap/', 'har/']) expect(FIXTURES.some((f) => f.name.startsWith(family))).toBe(true);
  });

  it('never throws, never hangs, and never calls an unreadable log compliant', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...FIXTURES),
        fc.array(mutation, { minLength: 1, maxLength: 5 }),
        fc.constantFrom(7, 512, 65_536),
        async (f, mutations, chunkSize) => {
          // Prepare
          const bytes = mutations.reduce(mutate, f.bytes);
          // Act
          const started = Date.now();
          const v = await checkBytes(bytes, { name: f.name }, chunkSize);
          const ms = Date.now() - started;
          // Assess
          expect(ms).toBeLessThan(PER_CHECK_MS);
          expect(typeof v.compliant).toBe('boolean');
          const t = v.totals;
          expect(t.records).toBe(t.connections + t.skipped + t.noData + (t.unattributed ?? 0));
          if (v.error !== undefined) {
            expect(v.compliant).toBe(false);
          } else {
            // Something was actually read: a verdict with no connection and no data is an error.
            expect(t.connections + t.noData).toBeGreaterThan(0);
          }
          if (v.compliant) expect(v.violations).toEqual([]);
        },
      ),
      { numRuns: 400 },
    );
  });
});
