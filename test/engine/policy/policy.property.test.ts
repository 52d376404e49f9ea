import fc from 'fast-check';
import { openGeoDatabase, type GeoLookup } from '../../../lambda/engine/geo/geo-lookup';
import { classifyAddress } from '../../../lambda/engine/net/address-class';
import { formatIpv4, formatIpv6, parseIp, type ParsedIp } from '../../../lambda/engine/net/ip';
import { COUNTRY_CODES } from '../../../lambda/engine/policy/countries';
import { evaluateAddress } from '../../../lambda/engine/policy/evaluate';
import { buildPolicy, compilePolicy, type PolicyInput } from '../../../lambda/engine/policy/policy';
import { listPresets } from '../../../lambda/engine/policy/presets';
import { writeMmdb } from '../../helpers/mmdb-writer';

const code = fc.constantFrom(...COUNTRY_CODES);
const entry = fc.oneof(
  code,
  code.map((c) => c.toLowerCase()),
  fc.constantFrom(...listPresets().map((p) => p.name)),
);
/** An entry of an allowed set: deny presets (foreign-adversaries) are refused there. */
const allowedEntry = fc.oneof(
  code,
  code.map((c) => c.toLowerCase()),
  fc.constantFrom(...listPresets().filter((p) => !p.denyOnly).map((p) => p.name)),
);
const v4cidr = fc
  .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }))
  .map(([n, bits]) => `${formatIpv4(n)}/${bits}`);
// A local network of every address (/0) is refused: nothing would be judged.
const v4localCidr = fc
  .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 1, max: 32 }))
  .map(([n, bits]) => `${formatIpv4(n)}/${bits}`);
const policyInput: fc.Arbitrary<PolicyInput> = fc.record(
  {
    name: fc.string(),
    allowedCountries: fc.array(allowedEntry, { maxLength: 6 }),
    deniedCountries: fc.array(entry, { maxLength: 6 }),
    allowCidrs: fc.array(v4cidr, { maxLength: 4 }),
    localNetworks: fc.array(fc.oneof(v4localCidr, fc.constant('non-public')), {
      minLength: 1,
      maxLength: 4,
    }),
    unknown: fc.constantFrom('fail', 'warn'),
  },
  { requiredKeys: ['deniedCountries'] },
  // (Without allowedCountries an empty deny list would check nothing, which is an error.)
).filter((p) => p.allowedCountries !== undefined || (p.deniedCountries as unknown[]).length > 0);

/** Rebuilds `input` with every array shuffled (Fisher-Yates, seeded) and the keys in reverse order. */
function reordered(input: PolicyInput, seed: number): PolicyInput {
  let state = seed >>> 0 || 1;
  const next = (): number => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);
  const shuffle = <T>(list: readonly T[]): T[] => {
    const out = [...list];
    for (let i = out.length - 1; i > 0; i--) {
      const j = next() % (i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  };
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(input).reverse()) {
    const value = (input as Record<string, unknown>)[key];
    out[key] = Array.isArray(value) ? shuffle(value) : value;
  }
  return out as PolicyInput;
}

/** A database placing every address in `country`, written with the test MMDB writer. */
const everywhere = (country: string): GeoLookup =>
  openGeoDatabase(
    `${country}.mmdb`,
    writeMmdb([
      { cidr: '0.0.0.0/0', record: { country_code: country } },
      { cidr: '::/0', record: { country_code: country } },
    ]),
  );

const anyIp: fc.Arbitrary<ParsedIp> = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }).map((n) => parseIp(formatIpv4(n))!),
  fc
    .array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 })
    .map((g) => parseIp(formatIpv6(g))!),
);

describe('policy properties', () => {
  it('gives the same hash for the same policy whatever the order of keys and list entries', () => {
    fc.assert(
      fc.property(policyInput, fc.integer(), (input, seed) => {
        // Act
        const a = compilePolicy(buildPolicy(input));
        const b = compilePolicy(buildPolicy(reordered(input, seed)));

        // Assess
        expect(b.policy).toEqual(a.policy);
        expect(b.sha256).toBe(a.sha256);
      }),
    );
  });

  it('lets deny beat allow for every country', () => {
    fc.assert(
      fc.property(code, fc.array(allowedEntry, { maxLength: 4 }), (country, others) => {
        // Prepare
        const policy = compilePolicy(
          buildPolicy({
            allowedCountries: [...others, country],
            deniedCountries: [country, ...others],
          }),
        );

        // Act
        const facts = evaluateAddress(parseIp('8.8.8.8')!, policy, [everywhere(country)]);

        // Assess
        expect(facts.status).toBe('violation');
        expect(facts.rule).toMatch(new RegExp(`^${country} is denied by `));
      }),
      { numRuns: 60 },
    );
  });

  it('never flags a non-public address, whatever the policy', () => {
    fc.assert(
      fc.property(
        anyIp.filter((ip) => classifyAddress(ip) !== 'public'),
        policyInput,
        code,
        (ip, input, country) => {
          // Act
          const facts = evaluateAddress(ip, compilePolicy(buildPolicy(input)), [
            everywhere(country),
          ]);

          // Assess
          expect(facts.status).toBe('non-public');
          expect(facts.country).toBeNull();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('judges every public address allowed, violation or unknown, never non-public, outside localNetworks', () => {
    fc.assert(
      fc.property(
        anyIp.filter((ip) => classifyAddress(ip) === 'public'),
        policyInput,
        fc.option(code, { nil: null }),
        (ip, input, country) => {
          // Prepare
          const policy = compilePolicy(buildPolicy({ ...input, localNetworks: ['non-public'] }));
          const geos = country === null ? [] : [everywhere(country)];

          // Act
          const facts = evaluateAddress(ip, policy, geos);

          // Assess
          expect(['allowed', 'violation', 'unknown']).toContain(facts.status);
          if (facts.status === 'violation' || facts.status === 'unknown')
            expect(facts.rule).not.toBeNull();
        },
      ),
      { numRuns: 60 },
    );
  });
});
