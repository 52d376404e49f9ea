import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BUNDLED_DATABASES,
  DatabaseBuffer,
  bundledDatabasePath,
  loadGeoDatabaseFile,
  loadGeoDatabases,
  loadOperatorSources,
} from '../../../lambda/adapters/load-geo-database';
import { openGeoDatabase, type GeoLookup } from '../../../lambda/engine/geo/geo-lookup';
import { parseIp } from '../../../lambda/engine/net/ip';
import {
  evaluateAddress,
  evaluateAddresses,
  isLocal,
  type AddressFacts,
} from '../../../lambda/engine/policy/evaluate';
import {
  buildPolicy,
  compilePolicy,
  type CompiledPolicy,
  type PolicyInput,
} from '../../../lambda/engine/policy/policy';
import { writeMmdb } from '../../helpers/mmdb-writer';

const BUNDLED = 'geo-whois-asn-country.mmdb';

/** Addresses whose country the bundled database knows (checked in geo-lookup.test.ts). */
const US = '8.8.8.8';
const CN = '1.2.4.8';
const HK = '203.198.7.66';
const MO = '60.246.0.1';
const RU = '77.88.8.8';

// The rule matrix below is about one database's answer; disputes between the two bundled
// databases have their own tests at the end.
let bundled: GeoLookup[];
let bothBundled: GeoLookup[];
beforeAll(() => {
  bothBundled = loadGeoDatabases([]);
  bundled = bothBundled.slice(0, 1);
});

const policyOf = (input: PolicyInput): CompiledPolicy => compilePolicy(buildPolicy(input));

/** Evaluates one address under a policy with the given databases (the bundled one by default). */
function evaluate(
  address: string,
  input: PolicyInput,
  geos: readonly GeoLookup[] = bundled,
): AddressFacts {
  const ip = parseIp(address);
  if (!ip) throw new Error(`test setup: ${address} should parse`);
  return evaluateAddress(ip, policyOf(input), geos);
}

/**
 * A database that knows only 8.8.8.0/24 (US): every other public address is one that no database
 * can place. Built with the test MMDB writer, because a real database that answers null for a
 * public address is hard to find and changes with every release.
 */
function onlyKnowsGoogleDns(name = 'partial.mmdb'): GeoLookup {
  return openGeoDatabase(name, writeMmdb([{ cidr: '8.8.8.0/24', record: { country_code: 'US' } }]));
}
const UNPLACED = '9.9.9.9';

describe('evaluateAddress with the bundled database', () => {
  it('allows a US address under a US-only policy, citing the database answer', () => {
    // Act
    const facts = evaluate(US, { allowedCountries: ['us'] });

    // Assess
    expect(facts).toEqual({
      ip: US,
      addressClass: 'public',
      local: false,
      country: 'US',
      countries: { [BUNDLED]: 'US' },
      status: 'allowed',
      rule: null,
      disputed: false,
      asn: null,
      asOrganization: null,
      operatorCountry: null,
      warning: null,
    });
  });

  it('flags a CN address as not in the allowed set US', () => {
    // Act
    const facts = evaluate(CN, { allowedCountries: ['us'] });

    // Assess
    expect(facts).toMatchObject({
      country: 'CN',
      status: 'violation',
      rule: 'CN is not in the allowed set US',
    });
  });

  it('names the presets in the rule when the allowed set is large', () => {
    // Act
    const facts = evaluate(US, { allowedCountries: ['eu'] });

    // Assess
    expect(facts).toMatchObject({
      status: 'violation',
      rule: 'US is not in the allowed set eu (27 countries)',
    });
  });

  it('flags a CN address as denied by foreign-adversaries', () => {
    // Act
    const facts = evaluate(CN, { deniedCountries: ['foreign-adversaries'] });

    // Assess
    expect(facts).toMatchObject({
      country: 'CN',
      status: 'violation',
      rule: 'CN is denied by foreign-adversaries',
    });
  });

  it('flags an RU address as denied by foreign-adversaries', () => {
    // Act
    const facts = evaluate(RU, { deniedCountries: ['foreign-adversaries'] });

    // Assess
    expect(facts).toMatchObject({
      country: 'RU',
      status: 'violation',
      rule: 'RU is denied by foreign-adversaries',
    });
  });

  it.each([
    [HK, 'HK is denied by deniedCountries (China includes HK)'],
    [MO, 'MO is denied by deniedCountries (China includes MO)'],
  ])('flags %s when CN is denied, saying China includes it', (address, rule) => {
    // Act
    const facts = evaluate(address, { deniedCountries: ['CN'] });

    // Assess
    expect(facts).toMatchObject({ status: 'violation', rule });
  });

  it('allows any country that is not denied under a deny-only policy', () => {
    // Act
    const facts = evaluate(US, { deniedCountries: ['foreign-adversaries'] });

    // Assess
    expect(facts).toMatchObject({ country: 'US', status: 'allowed', rule: null });
  });

  it('lets the deny list beat the allowed set', () => {
    // Act
    const facts = evaluate(CN, { allowedCountries: ['CN', 'us'], deniedCountries: ['CN'] });

    // Assess
    expect(facts).toMatchObject({ status: 'violation', rule: 'CN is denied by deniedCountries' });
  });

  it('does not let allowCidrs lift a denied country: denied countries are always violations', () => {
    // Act
    const facts = evaluate(CN, {
      deniedCountries: ['foreign-adversaries'],
      allowCidrs: ['1.2.4.0/24'],
    });

    // Assess
    expect(facts).toMatchObject({
      country: 'CN',
      status: 'violation',
      rule: 'CN is denied by foreign-adversaries; 1.2.4.0/24 is in allowCidrs, which does not lift a denied country',
    });
  });

  it('lets allowCidrs beat the allowed set', () => {
    // Act
    const facts = evaluate(CN, { allowedCountries: ['us'], allowCidrs: ['1.2.4.8'] });

    // Assess
    expect(facts).toMatchObject({ status: 'allowed', rule: '1.2.4.8/32 is in allowCidrs' });
  });

  it('does not let allowCidrs for another network help', () => {
    // Act
    const facts = evaluate(CN, {
      allowedCountries: ['us'],
      allowCidrs: ['1.2.5.0/24', '2001:db8::/32'],
    });

    // Assess
    expect(facts.status).toBe('violation');
  });

  it('evaluates an IPv4-mapped address as the IPv4 address it carries', () => {
    // Act
    const facts = evaluate(`::ffff:${CN}`, { allowedCountries: ['us'] });

    // Assess
    expect(facts).toMatchObject({ ip: CN, country: 'CN', status: 'violation' });
  });

  it('evaluates an IPv6 address in its canonical form', () => {
    // Act
    const facts = evaluate('2001:4860:4860:0000:0000:0000:0000:8888', { allowedCountries: ['us'] });

    // Assess
    expect(facts).toMatchObject({ ip: '2001:4860:4860::8888', country: 'US', status: 'allowed' });
  });
});

describe('evaluateAddress for addresses no database can place', () => {
  it('is a violation when the policy says unknown: fail', () => {
    // Act
    const facts = evaluate(UNPLACED, { allowedCountries: ['us'], unknown: 'fail' }, [
      onlyKnowsGoogleDns(),
    ]);

    // Assess
    expect(facts).toEqual({
      ip: UNPLACED,
      addressClass: 'public',
      local: false,
      country: null,
      countries: { 'partial.mmdb': null },
      status: 'violation',
      rule: 'no database knows where this address is (policy unknown: fail)',
      disputed: false,
      asn: null,
      asOrganization: null,
      operatorCountry: null,
      warning: null,
    });
  });

  it('fails by default', () => {
    // Act
    const facts = evaluate(UNPLACED, { deniedCountries: ['RU'] }, [onlyKnowsGoogleDns()]);

    // Assess
    expect(facts.status).toBe('violation');
  });

  it('is unknown, never compliant, when the policy says unknown: warn', () => {
    // Act
    const facts = evaluate(UNPLACED, { allowedCountries: ['us'], unknown: 'warn' }, [
      onlyKnowsGoogleDns(),
    ]);

    // Assess
    expect(facts).toMatchObject({
      country: null,
      status: 'unknown',
      rule: 'no database knows where this address is (policy unknown: warn)',
    });
  });

  it('is allowed when allowCidrs covers it', () => {
    // Act
    const facts = evaluate(UNPLACED, { allowedCountries: ['us'], allowCidrs: ['9.9.9.0/24'] }, [
      onlyKnowsGoogleDns(),
    ]);

    // Assess
    expect(facts).toMatchObject({ status: 'allowed', rule: '9.9.9.0/24 is in allowCidrs' });
  });

  it('is unknown with no databases at all', () => {
    // Act
    const facts = evaluate(US, { allowedCountries: ['us'], unknown: 'warn' }, []);

    // Assess
    expect(facts).toMatchObject({ country: null, countries: {}, status: 'unknown' });
  });
});

describe('evaluateAddress with several databases', () => {
  it('takes the first database that knows the address, and records every answer', () => {
    // Prepare
    const first = onlyKnowsGoogleDns('first.mmdb');
    const second = openGeoDatabase(
      'second.mmdb',
      writeMmdb([{ cidr: '0.0.0.0/0', record: { country: { iso_code: 'DE' } } }]),
    );

    // Act
    const known = evaluate(US, { allowedCountries: ['us'], disputed: 'warn' }, [first, second]);
    const fallback = evaluate(UNPLACED, { allowedCountries: ['us'] }, [first, second]);

    // Assess
    expect(known).toMatchObject({
      country: 'US',
      countries: { 'first.mmdb': 'US', 'second.mmdb': 'DE' },
      disputed: true,
      status: 'allowed',
      warning:
        'databases disagree (first.mmdb says US, second.mmdb says DE); DE is not in the allowed set US (policy disputed: warn)',
    });
    expect(fallback).toMatchObject({
      country: 'DE',
      countries: { 'first.mmdb': null, 'second.mmdb': 'DE' },
      status: 'violation',
      rule: 'DE is not in the allowed set US',
    });
  });
});

describe('evaluateAddress for non-public addresses', () => {
  it.each([
    ['192.168.1.1', 'private'],
    ['10.0.0.1', 'private'],
    ['100.64.0.1', 'carrier-grade-nat'],
    ['127.0.0.1', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['224.0.0.251', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['fe80::1%eth0', 'link-local'],
    ['fd00::1', 'unique-local'],
    ['2001:db8::1', 'documentation'],
    ['192.0.2.1', 'documentation'],
  ])(
    'never flags %s (%s), does not look it up, and counts it as local',
    (address, addressClass) => {
      // Act: the strictest policy there is: nothing allowed, unknown fails.
      const facts = evaluate(address, { allowedCountries: [], unknown: 'fail' });

      // Assess
      expect(facts).toMatchObject({
        addressClass,
        local: true,
        country: null,
        countries: {},
        status: 'non-public',
        rule: null,
      });
    },
  );

  it('still treats private addresses as non-public when localNetworks leaves them out', () => {
    // Act
    const facts = evaluate('192.168.1.1', {
      allowedCountries: ['us'],
      localNetworks: ['10.0.0.0/8'],
    });

    // Assess
    expect(facts).toMatchObject({ local: false, status: 'non-public' });
  });
});

describe('evaluateAddress with custom localNetworks', () => {
  it('treats a public address inside localNetworks as the monitored side, not a destination', () => {
    // Act
    const facts = evaluate(CN, { allowedCountries: ['us'], localNetworks: ['1.2.4.0/24'] });

    // Assess
    expect(facts).toMatchObject({
      addressClass: 'public',
      local: true,
      country: null,
      status: 'non-public',
    });
  });

  it('judges a public address outside localNetworks as usual', () => {
    // Act
    const facts = evaluate(CN, { allowedCountries: ['us'], localNetworks: ['1.2.5.0/24'] });

    // Assess
    expect(facts).toMatchObject({ local: false, status: 'violation' });
  });

  it('matches IPv6 localNetworks', () => {
    // Act
    const facts = evaluate('2001:4860:4860::8888', {
      deniedCountries: ['US'],
      localNetworks: ['2001:4860::/32'],
    });

    // Assess
    expect(facts).toMatchObject({ local: true, status: 'non-public' });
  });
});

describe('isLocal', () => {
  it.each([
    [['non-public'], '192.168.1.1', true],
    [['non-public'], '8.8.8.8', false],
    [['8.8.8.0/24'], '8.8.8.8', true],
    [['8.8.8.0/24'], '192.168.1.1', false],
    [['non-public', '8.8.8.0/24'], '192.168.1.1', true],
    [['non-public', '8.8.8.0/24'], '8.8.8.8', true],
  ])('with localNetworks %j, %s is local: %s', (localNetworks, address, expected) => {
    // Prepare
    const ip = parseIp(address)!;
    const cls = address.startsWith('192.168.') ? 'private' : 'public';

    // Act
    const local = isLocal(ip, cls, policyOf({ allowedCountries: ['us'], localNetworks }));

    // Assess
    expect(local).toBe(expected);
  });
});

describe('evaluateAddress when location databases disagree', () => {
  const usAndDe = (): GeoLookup[] => [
    openGeoDatabase('a.mmdb', writeMmdb([{ cidr: '8.8.8.0/24', record: { country_code: 'US' } }])),
    openGeoDatabase('b.mmdb', writeMmdb([{ cidr: '8.8.8.0/24', record: { country_code: 'DE' } }])),
  ];

  it('is a violation by default when any answer is outside the jurisdiction, citing every answer', () => {
    const facts = evaluate(US, { allowedCountries: ['us'] }, usAndDe());
    expect(facts).toMatchObject({
      disputed: true,
      status: 'violation',
      rule: 'databases disagree (a.mmdb says US, b.mmdb says DE); DE is not in the allowed set US',
    });
  });

  it('is allowed when every answer is inside the jurisdiction, though still marked disputed', () => {
    const facts = evaluate(US, { allowedCountries: ['US', 'DE'] }, usAndDe());
    expect(facts).toMatchObject({ disputed: true, status: 'allowed', rule: null, warning: null });
  });

  it('under disputed: warn, judges by an answer in policy whichever database gave it, and warns', () => {
    // Act: the database in policy listed first, then last.
    const usFirst = evaluate(US, { allowedCountries: ['us'], disputed: 'warn' }, usAndDe());
    const deFirst = evaluate(US, { allowedCountries: ['us'], disputed: 'warn' }, usAndDe().reverse());

    // Assess
    expect(usFirst).toMatchObject({
      country: 'US',
      status: 'allowed',
      rule: null,
      warning: 'databases disagree (a.mmdb says US, b.mmdb says DE); DE is not in the allowed set US (policy disputed: warn)',
    });
    expect(deFirst).toMatchObject({
      country: 'DE',
      status: 'allowed',
      rule: null,
      warning: 'databases disagree (b.mmdb says DE, a.mmdb says US); DE is not in the allowed set US (policy disputed: warn)',
    });
  });

  it('under disputed: warn, is a violation when any answer is a denied country, whichever database gave it', () => {
    // Prepare: one database places the address in the US (allowed), the other in CN (denied).
    const usAndCn = (): GeoLookup[] => [
      openGeoDatabase('a.mmdb', writeMmdb([{ cidr: '8.8.8.0/24', record: { country_code: 'US' } }])),
      openGeoDatabase('b.mmdb', writeMmdb([{ cidr: '8.8.8.0/24', record: { country_code: 'CN' } }])),
    ];
    const policy = { allowedCountries: ['us'], deniedCountries: ['foreign-adversaries'], disputed: 'warn' as const };

    // Act
    const usFirst = evaluate(US, policy, usAndCn());
    const cnFirst = evaluate(US, policy, usAndCn().reverse());

    // Assess
    expect(usFirst).toMatchObject({
      status: 'violation',
      rule: 'databases disagree (a.mmdb says US, b.mmdb says CN); CN is denied by foreign-adversaries',
      warning: null,
    });
    expect(cnFirst).toMatchObject({ status: 'violation', rule: 'databases disagree (b.mmdb says CN, a.mmdb says US); CN is denied by foreign-adversaries' });
  });

  it('under disputed: warn, stays a violation when no answer is in policy', () => {
    const facts = evaluate(US, { allowedCountries: ['fr'], disputed: 'warn' }, usAndDe());
    expect(facts).toMatchObject({ disputed: true, status: 'violation', rule: 'US is not in the allowed set FR' });
  });

  it('disagrees for real between the two bundled databases (Google DNS over IPv6: US and CA)', () => {
    const facts = evaluate('2001:4860:4860::8888', { allowedCountries: ['us'] }, bothBundled);
    expect(facts.disputed).toBe(true);
    expect(facts.countries).toEqual({ 'geo-whois-asn-country.mmdb': 'US', 'dbip-country.mmdb': 'CA' });
    expect(facts.status).toBe('violation');
  });
});

describe('evaluateAddress and the operator of an address', () => {
  // A server located in an allowed country but run by an AS registered in a denied one.
  const located = (): GeoLookup[] => [openGeoDatabase('loc.mmdb', writeMmdb([{ cidr: '47.88.0.0/16', record: { country_code: 'US' } }]))];
  const operatorCountry = (): GeoLookup =>
    openGeoDatabase('asn-country.mmdb', writeMmdb([{ cidr: '47.88.0.0/16', record: { country_code: 'CN' } }]));
  const ip = parseIp('47.88.1.1')!;
  const policy = (operator: 'fail' | 'warn' | 'off'): CompiledPolicy =>
    policyOf({ allowedCountries: ['us'], deniedCountries: ['foreign-adversaries'], operator });

  it('flags it with both facts under operator: fail', () => {
    const facts = evaluateAddress(ip, policy('fail'), located(), { country: operatorCountry(), asn: null });
    expect(facts).toMatchObject({
      country: 'US',
      operatorCountry: 'CN',
      status: 'violation',
      rule: 'located in US, operated by an unknown AS registered in CN; CN is denied by foreign-adversaries',
    });
  });

  it('warns under operator: warn (the default) and stays allowed', () => {
    const facts = evaluateAddress(ip, compilePolicy(buildPolicy({ allowedCountries: ['us'], deniedCountries: ['foreign-adversaries'] })), located(), {
      country: operatorCountry(),
      asn: null,
    });
    expect(facts.status).toBe('allowed');
    expect(facts.warning).toMatch(/registered in CN; CN is denied by foreign-adversaries \(policy operator: warn\)$/);
  });

  it('names the country in policy that the judgement went by, when disputed databases only warn', () => {
    // Prepare: the first database places it outside the policy, the second inside.
    const disputedLocation = [
      openGeoDatabase('de.mmdb', writeMmdb([{ cidr: '47.88.0.0/16', record: { country_code: 'DE' } }])),
      ...located(),
    ];
    const p = policyOf({ allowedCountries: ['us'], deniedCountries: ['foreign-adversaries'], operator: 'fail', disputed: 'warn' });

    // Act
    const facts = evaluateAddress(ip, p, disputedLocation, { country: operatorCountry(), asn: null });

    // Assess
    expect(facts).toMatchObject({
      country: 'DE',
      status: 'violation',
      rule: 'located in US, operated by an unknown AS registered in CN; CN is denied by foreign-adversaries',
    });
  });

  it('ignores the operator under operator: off', () => {
    const facts = evaluateAddress(ip, policy('off'), located(), { country: operatorCountry(), asn: null });
    expect(facts).toMatchObject({ status: 'allowed', warning: null, operatorCountry: 'CN' });
  });
});

describe('evaluateAddresses (each source answers for every address in one run)', () => {
  const addresses = [
    '8.8.8.8', '1.2.4.8', '203.198.7.66', '60.246.0.1', '77.88.8.8', '47.88.1.2', '2001:4860:4860::8888', '240e::1',
    '::ffff:1.2.4.8', '192.168.1.1', '10.0.0.5', 'fe80::1', '224.0.0.251', '100.64.0.1', '9.9.9.9', '2001:db8::1',
  ].map((a) => parseIp(a)!);

  it('gives each address the facts evaluateAddress gives it, in order', () => {
    const operator = loadOperatorSources();
    for (const input of [
      { allowedCountries: ['us'] },
      { allowedCountries: ['us'], deniedCountries: ['foreign-adversaries'], operator: 'fail' as const, disputed: 'warn' as const },
      { deniedCountries: ['foreign-adversaries'], unknown: 'fail' as const, allowCidrs: ['1.2.4.0/24'] },
    ]) {
      const policy = policyOf(input);
      const { facts, failure } = evaluateAddresses(addresses, policy, bothBundled, operator);
      expect(failure).toBeNull();
      expect(facts).toEqual(addresses.map((ip) => evaluateAddress(ip, policy, bothBundled, operator)));
    }
  });

  it('settles the other addresses when a source cannot be read, and returns the first failure', () => {
    // A real fault: a database read only while in use whose file is replaced after it was opened.
    const dir = mkdtempSync(join(tmpdir(), 'residency-eval-'));
    try {
      const path = join(dir, 'dbip-country.mmdb');
      copyFileSync(bundledDatabasePath(BUNDLED_DATABASES[1]!), path);
      const buffer = new DatabaseBuffer(0);
      const changing = loadGeoDatabaseFile(path, buffer);
      const first = loadGeoDatabaseFile(bundledDatabasePath(BUNDLED_DATABASES[0]!), buffer);
      copyFileSync(bundledDatabasePath(BUNDLED_DATABASES[0]!), path);
      const policy = policyOf({ allowedCountries: ['us'] });
      const { facts, failure } = evaluateAddresses(addresses, policy, [first, changing]);
      expect((failure as Error).message).toBe(`${path}: the file changed while the check ran (it is no longer the database opened, or no longer the bytes hashed); run the check again`);
      for (const [i, ip] of addresses.entries()) {
        const alone = evaluateAddress(ip, policy, bothBundled);
        if (alone.status === 'non-public') expect(facts[i]).toEqual(alone);
        else expect(facts[i]).toMatchObject({ status: 'unknown', warning: `lookup failed: ${(failure as Error).message}` });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
