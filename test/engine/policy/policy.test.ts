import { createHash } from 'node:crypto';
import { PolicyError, ResidencyError } from '../../../lambda/engine/errors';
import {
  buildPolicy,
  canonicalJson,
  compilePolicy,
  parsePolicyJson,
  overlapNote,
  policyFromLists,
  policyNotes,
  type PolicyInput,
} from '../../../lambda/engine/policy/policy';

/** Runs `fn` and returns the PolicyError it throws; fails the test if it throws anything else. */
function policyErrorOf(fn: () => unknown): PolicyError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    return err as PolicyError;
  }
  throw new Error('expected a PolicyError, but nothing was thrown');
}
const hashOf = (input: PolicyInput): string => compilePolicy(buildPolicy(input)).sha256;

describe('buildPolicy', () => {
  it('fills in defaults: no name, no deny list, no allowCidrs, non-public is local, unknown fails', () => {
    // Act
    const policy = buildPolicy({ allowedCountries: ['us'] });

    // Assess
    expect(policy).toEqual({
      name: null,
      allowedCountries: ['US'],
      allowedFrom: ['us'],
      deniedCountries: [],
      deniedBy: {},
      allowCidrs: [],
      localNetworks: ['non-public'],
      unknown: 'fail',
      disputed: 'fail',
      operator: 'warn',
    });
  });

  it('expands presets and codes into one sorted set, accepting lower case and spaces', () => {
    // Act
    const policy = buildPolicy({ allowedCountries: ['five-eyes', ' de ', 'jp', 'US'] });

    // Assess
    expect(policy.allowedCountries).toEqual(['AU', 'CA', 'DE', 'GB', 'JP', 'NZ', 'US']);
  });

  it('keeps a deny-only policy without an allowed set', () => {
    // Act
    const policy = buildPolicy({ deniedCountries: ['foreign-adversaries'] });

    // Assess
    expect(policy.allowedCountries).toBeNull();
    expect(policy.deniedCountries).toEqual(['CN', 'CU', 'HK', 'IR', 'KP', 'MO', 'RU']);
  });

  it('names the preset that denies each country', () => {
    // Act
    const policy = buildPolicy({ deniedCountries: ['foreign-adversaries'] });

    // Assess
    expect(policy.deniedBy).toEqual({
      CN: 'foreign-adversaries',
      CU: 'foreign-adversaries',
      HK: 'foreign-adversaries',
      IR: 'foreign-adversaries',
      KP: 'foreign-adversaries',
      MO: 'foreign-adversaries',
      RU: 'foreign-adversaries',
    });
  });

  it('adds Hong Kong and Macau whenever CN is denied, saying why', () => {
    // Act
    const policy = buildPolicy({ deniedCountries: ['CN'] });

    // Assess
    expect(policy.deniedCountries).toEqual(['CN', 'HK', 'MO']);
    expect(policy.deniedBy).toEqual({
      CN: 'deniedCountries',
      HK: 'deniedCountries (China includes HK)',
      MO: 'deniedCountries (China includes MO)',
    });
  });

  it('keeps an explicit HK denial as written and still adds MO for CN', () => {
    // Act
    const policy = buildPolicy({ deniedCountries: ['HK', 'CN'] });

    // Assess
    expect(policy.deniedBy).toEqual({
      CN: 'deniedCountries',
      HK: 'deniedCountries',
      MO: 'deniedCountries (China includes MO)',
    });
  });

  it('attributes a country named by both a preset and a code to the preset, in either order', () => {
    // Act
    const policies = [
      buildPolicy({ deniedCountries: ['CN', 'foreign-adversaries'] }),
      buildPolicy({ deniedCountries: ['foreign-adversaries', 'CN'] }),
    ];

    // Assess
    for (const policy of policies) {
      expect(policy.deniedBy).toMatchObject({
        CN: 'foreign-adversaries',
        HK: 'foreign-adversaries',
      });
    }
  });

  it('records the presets and codes of the allowed set once each, presets first', () => {
    // Act
    const policy = buildPolicy({ allowedCountries: ['CH', 'eu', 'ch', 'EU', 'AD'] });

    // Assess
    expect(policy.allowedFrom).toEqual(['eu', 'AD', 'CH']);
  });

  it('adds HK and MO even when CN is denied alongside an unrelated preset', () => {
    // Act
    const policy = buildPolicy({ allowedCountries: ['us'], deniedCountries: ['cn', 'RU'] });

    // Assess
    expect(policy.deniedCountries).toEqual(['CN', 'HK', 'MO', 'RU']);
  });

  it('does not widen an allowed CN to Hong Kong and Macau', () => {
    // Act
    const policy = buildPolicy({ allowedCountries: ['CN'] });

    // Assess
    expect(policy.allowedCountries).toEqual(['CN']);
  });

  it('canonicalises and sorts allowCidrs and localNetworks, accepting the non-public keyword in any case', () => {
    // Act
    const policy = buildPolicy({
      allowedCountries: ['us'],
      allowCidrs: ['203.0.113.7/24', '2001:DB8:0:0::/32'],
      localNetworks: ['Non-Public', '198.51.100.0/24'],
    });

    // Assess
    expect(policy.allowCidrs).toEqual(['2001:db8::/32', '203.0.113.0/24']);
    expect(policy.localNetworks).toEqual(['198.51.100.0/24', 'non-public']);
  });

  it('keeps the name and drops the description', () => {
    // Act
    const policy = buildPolicy({
      name: 'Drone programme',
      description: 'US only',
      allowedCountries: ['us'],
    });

    // Assess
    expect(policy.name).toBe('Drone programme');
    expect(policy).not.toHaveProperty('description');
  });
});

describe('buildPolicy errors', () => {
  it.each([
    [
      { allowedCountries: ['US', 'UK'] },
      "allowedCountries[1]: 'UK' is neither an ISO 3166-1 alpha-2 country code nor a preset (the United Kingdom is GB)",
    ],
    [
      { deniedCountries: ['RU', 'XX'] },
      "deniedCountries[1]: 'XX' is neither an ISO 3166-1 alpha-2 country code nor a preset",
    ],
    [
      { allowedCountries: ['europe'] },
      "allowedCountries[0]: 'europe' is neither an ISO 3166-1 alpha-2 country code nor a preset",
    ],
    [
      { allowedCountries: [42] },
      'allowedCountries[0]: expected a country code or preset name, got 42',
    ],
    [
      { allowedCountries: ['US', ''] },
      'allowedCountries[1]: expected a country code or preset name, got ""',
    ],
    [
      { allowedCountries: ['US', null] },
      'allowedCountries[1]: expected a country code or preset name, got null',
    ],
    [{ allowedCountries: 'US' }, 'allowedCountries: expected an array'],
    [
      { deniedCountries: [] },
      'deniedCountries: empty, and there is no allowedCountries: the policy would check nothing',
    ],
    [
      { allowedCountries: null, deniedCountries: [] },
      'deniedCountries: empty, and there is no allowedCountries: the policy would check nothing',
    ],

    [{ deniedCountries: 'CN' }, 'deniedCountries: expected an array'],
    [{}, 'allowedCountries: a policy needs allowedCountries, deniedCountries, or both'],
    [{ name: 'x' }, 'allowedCountries: a policy needs allowedCountries, deniedCountries, or both'],
    [{ allowedCountries: ['us'], description: 42 }, 'description: expected a string'],
    [
      { allowedCountries: ['us'], allowCidrs: ['10.0.0.0/8', '10.0.0.0/33'] },
      "allowCidrs[1]: '10.0.0.0/33' is not a CIDR network such as 203.0.113.0/24",
    ],
    [
      { allowedCountries: ['us'], allowCidrs: ['300.0.0.0/8'] },
      "allowCidrs[0]: '300.0.0.0/8' is not a CIDR network such as 203.0.113.0/24",
    ],
    [
      { allowedCountries: ['us'], allowCidrs: ['non-public'] },
      "allowCidrs[0]: 'non-public' is not a CIDR network such as 203.0.113.0/24",
    ],
    [
      { allowedCountries: ['us'], allowCidrs: '10.0.0.0/8' },
      'allowCidrs: expected an array of strings',
    ],
    [{ allowedCountries: ['us'], allowCidrs: [10] }, 'allowCidrs[0]: expected a string, got 10'],
    [
      { allowedCountries: ['us'], localNetworks: ['non-public', 'corp'] },
      "localNetworks[1]: 'corp' is not a CIDR network such as 203.0.113.0/24",
    ],
    [
      { allowedCountries: ['us'], localNetworks: ['2001:db8::/129'] },
      "localNetworks[0]: '2001:db8::/129' is not a CIDR network such as 203.0.113.0/24",
    ],
    [
      { allowedCountries: ['us'], localNetworks: [] },
      'localNetworks: must name at least one network (or "non-public")',
    ],
    [
      { allowedCountries: ['us'], localNetworks: 'non-public' },
      'localNetworks: expected an array of strings',
    ],
    // Every address local: nothing would be judged, not even a denied country, and every log pass.
    [
      { allowedCountries: ['us'], deniedCountries: ['cn'], localNetworks: ['non-public', '0.0.0.0/0'] },
      "localNetworks[1]: '0.0.0.0/0' takes in every IPv4 address: every destination would be on the monitored side and none judged; name your own networks",
    ],
    [
      { allowedCountries: ['us'], localNetworks: ['::/0'] },
      "localNetworks[0]: '::/0' takes in every IPv6 address: every destination would be on the monitored side and none judged; name your own networks",
    ],
    [
      { allowedCountries: ['us'], unknown: 'ignore' },
      'unknown: expected "fail" or "warn", got "ignore"',
    ],
    [{ allowedCountries: ['us'], unknown: true }, 'unknown: expected "fail" or "warn", got true'],
    [{ allowedCountries: ['us'], name: 7 }, 'name: expected a string'],
  ] as [PolicyInput, string][])('rejects %j naming the field', (input, message) => {
    // Act
    const error = policyErrorOf(() => buildPolicy(input));

    // Assess
    expect(error.message).toBe(message);
  });

  it('rejects an unknown field, naming it and the known fields', () => {
    // Act
    const error = policyErrorOf(() =>
      buildPolicy({ allowedCountries: ['us'], allowedCountry: ['CA'] } as PolicyInput),
    );

    // Assess
    expect(error.message).toBe(
      'allowedCountry: unknown policy field (known: name, description, allowedCountries, deniedCountries, allowCidrs, localNetworks, unknown, disputed, operator)',
    );
  });

  it('accepts a $schema field', () => {
    // Act
    const policy = buildPolicy({
      $schema: './policy.schema.json',
      allowedCountries: ['us'],
    } as PolicyInput);

    // Assess
    expect(policy.allowedCountries).toEqual(['US']);
  });

  it('rejects a policy that only says allowedCountries: null, which would check nothing', () => {
    // Act
    const error = policyErrorOf(() => buildPolicy({ allowedCountries: null }));

    // Assess
    expect(error.message).toBe(
      'allowedCountries: a policy needs allowedCountries, deniedCountries, or both',
    );
  });

  it('notes networks written with host bits (read as their network, but as often a typo for one address)', () => {
    // Act
    const notes = policyNotes({
      allowedCountries: ['us'],
      allowCidrs: ['114.114.114.114/8', '203.0.113.0/24', '2001:db8::1/64', 42],
      localNetworks: ['non-public', ' 10.1.2.3/16 ', '10.0.0.0/8'],
    });

    // Assess
    expect(notes).toEqual([
      "allowCidrs[0]: '114.114.114.114/8' has bits set past its prefix length: read as the network 114.0.0.0/8 (one address is /32)",
      "allowCidrs[2]: '2001:db8::1/64' has bits set past its prefix length: read as the network 2001:db8::/64 (one address is /128)",
      "localNetworks[1]: '10.1.2.3/16' has bits set past its prefix length: read as the network 10.1.0.0/16 (one address is /32)",
    ]);
  });

  it('notes an allowed network of every address, under which only a denied country is a violation', () => {
    expect(policyNotes({ allowedCountries: ['us'], deniedCountries: ['cn'], allowCidrs: ['203.0.113.0/24', '0.0.0.0/0', '::/0'] })).toEqual([
      "allowCidrs[1]: '0.0.0.0/0' takes in every IPv4 address: only a denied country can be a violation there; allowedCountries, unknown, disputed and operator no longer apply",
      "allowCidrs[2]: '::/0' takes in every IPv6 address: only a denied country can be a violation there; allowedCountries, unknown, disputed and operator no longer apply",
    ]);
  });

  it('notes nothing of networks without host bits, host routes and mapped IPv4 networks', () => {
    expect(
      policyNotes({
        allowedCountries: ['us'],
        allowCidrs: ['114.114.114.114', '114.114.114.114/32', '203.0.113.0/24', '2001:db8::/32', '::ffff:198.51.100.0/120'],
      }),
    ).toEqual([]);
  });

  it('accepts an empty allowed set (no public destination may be reached) and says so in its rules', () => {
    // Act
    const compiled = compilePolicy(buildPolicy({ allowedCountries: [] }));

    // Assess
    expect(compiled.policy.allowedCountries).toEqual([]);
    expect(compiled.allowedLabel).toBe('(empty: no country is allowed)');
  });

  it('accepts allowedCountries: null beside a deny list (deny-only)', () => {
    // Act
    const policy = buildPolicy({ allowedCountries: null, deniedCountries: ['RU'] });

    // Assess
    expect(policy.allowedCountries).toBeNull();
    expect(policy.deniedCountries).toEqual(['RU']);
  });

  it.each([null, [], 'policy', 3])('rejects %j as a policy: expected a JSON object', (input) => {
    // Act
    const error = policyErrorOf(() => buildPolicy(input as unknown as PolicyInput));

    // Assess
    expect(error.message).toBe('policy: expected a JSON object');
  });

  it('throws a PolicyError that is a ResidencyError named PolicyError', () => {
    // Act
    const error = policyErrorOf(() => buildPolicy({ allowedCountries: ['UK'] }));

    // Assess
    expect(error).toBeInstanceOf(ResidencyError);
    expect(error.name).toBe('PolicyError');
  });
});

describe('parsePolicyJson', () => {
  it('reads a policy file', () => {
    // Prepare
    const text = JSON.stringify({ name: 'EU', allowedCountries: ['eu'], unknown: 'warn' });

    // Act
    const policy = parsePolicyJson(text, 'policy.json');

    // Assess
    expect(policy).toMatchObject({ name: 'EU', allowedFrom: ['eu'], unknown: 'warn' });
    expect(policy.allowedCountries).toHaveLength(27);
  });

  it('ignores a UTF-8 byte order mark', () => {
    // Act
    const policy = parsePolicyJson('\ufeff{"allowedCountries":["us"]}', 'policy.json');

    // Assess
    expect(policy.allowedCountries).toEqual(['US']);
  });

  it('refuses a deny preset as the allowed set, naming the field', () => {
    const error = policyErrorOf(() => parsePolicyJson('{"allowedCountries": ["us", "foreign-adversaries"]}', 'policy.json'));
    expect(error.message).toBe(
      'policy.json: allowedCountries[1]: foreign-adversaries is a deny preset: name it in deniedCountries (--deny), not as the countries data may go to',
    );
    expect(parsePolicyJson('{"deniedCountries": ["foreign-adversaries"]}', 'policy.json').deniedCountries).toContain('CN');
  });

  it.each(['unknown', 'disputed', 'operator'])('refuses null for %s, naming the field, instead of taking the default', (field) => {
    const error = policyErrorOf(() => parsePolicyJson(`{"allowedCountries": ["us"], "${field}": null}`, 'policy.json'));
    expect(error.message).toMatch(new RegExp(`^policy\\.json: ${field}: expected .+, got null$`));
  });

  it.each([
    ['64:ff9b::/96', 'localNetworks'],
    ['::ffff:0:0/96', 'allowCidrs'],
  ])('refuses %s in %s: it would take in every IPv4 address', (cidr, field) => {
    const list = field === 'localNetworks' ? `["non-public", "${cidr}"]` : `["${cidr}"]`;
    const error = policyErrorOf(() => parsePolicyJson(`{"allowedCountries": ["us"], "${field}": ${list}}`, 'policy.json'));
    const at = field === 'localNetworks' ? 1 : 0;
    expect(error.message).toBe(
      `policy.json: ${field}[${at}]: '${cidr}' is the NAT64 or IPv4-mapped prefix, whose addresses are read as the IPv4 addresses they carry: it would take in every IPv4 address; name IPv4 networks instead`,
    );
    // A network inside the prefix still reads as the IPv4 network it carries.
    expect(parsePolicyJson(`{"allowedCountries": ["us"], "allowCidrs": ["64:ff9b::808:800/120"]}`, 'p.json').allowCidrs).toEqual(['8.8.8.0/24']);
  });

  it('names the file, line and column when the JSON is invalid', () => {
    // Act
    const error = policyErrorOf(() => parsePolicyJson('{"allowedCountries": [', 'policy.json'));

    // Assess
    expect(error.message).toBe("policy.json: not valid JSON (line 1, column 23: expected a value, found the text ends)");
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it('refuses a field given twice, naming its line and column, instead of keeping the last', () => {
    // Prepare: valid JSON, which JSON.parse reads as allowedCountries ["cn"].
    const text = '{\n  "allowedCountries": ["us"],\n  "deniedCountries": ["ru"],\n  "allowedCountries": ["cn"]\n}\n';

    // Act
    const error = policyErrorOf(() => parsePolicyJson(text, 'policy.json'));

    // Assess
    expect(error.message).toBe('policy.json: line 4, column 3: field "allowedCountries" is given twice in one object (JSON keeps only the last)');
  });

  it('refuses a field given twice however its name is escaped', () => {
    const error = policyErrorOf(() => parsePolicyJson('{"allowedCountries": ["us"], "unknown": "fail", "\\u0075nknown": "warn"}', 'p.json'));
    expect(error.message).toMatch(/^p\.json: line 1, column 49: field "unknown" is given twice/);
  });

  it('names the file and the field when a value is invalid', () => {
    // Act
    const error = policyErrorOf(() =>
      parsePolicyJson('{"allowedCountries": ["US", "UK"]}', 'policy.json'),
    );

    // Assess
    expect(error.message).toBe(
      "policy.json: allowedCountries[1]: 'UK' is neither an ISO 3166-1 alpha-2 country code nor a preset (the United Kingdom is GB)",
    );
  });
});

describe('policyFromLists', () => {
  it('builds the allowed set from a comma-separated jurisdiction and the deny list from --deny', () => {
    // Act
    const policy = policyFromLists('us, CA,,', 'foreign-adversaries');

    // Assess
    expect(policy.allowedCountries).toEqual(['CA', 'US']);
    expect(policy.deniedCountries).toEqual(['CN', 'CU', 'HK', 'IR', 'KP', 'MO', 'RU']);
  });

  it('builds a deny-only policy when no jurisdiction is given', () => {
    // Act
    const policy = policyFromLists(undefined, 'CN');

    // Assess
    expect(policy.allowedCountries).toBeNull();
    expect(policy.deniedCountries).toEqual(['CN', 'HK', 'MO']);
  });

  it.each(['', ' , '])('rejects an empty jurisdiction %j naming the flag', (jurisdiction) => {
    // Act
    const error = policyErrorOf(() => policyFromLists(jurisdiction, undefined));

    // Assess
    expect(error.message).toBe(
      '--jurisdiction: expected country codes or preset names, such as us or US,CA',
    );
  });

  it('rejects an empty --deny, which alone would check nothing', () => {
    for (const deny of ['', ',', ' , ']) {
      expect(policyErrorOf(() => policyFromLists(undefined, deny)).message).toBe(
        '--deny: expected country codes or preset names, such as foreign-adversaries or CN,RU',
      );
      expect(() => policyFromLists('us', deny)).toThrow(PolicyError);
    }
  });

  it('rejects neither a jurisdiction nor a deny list', () => {
    // Act
    const error = policyFromLists.bind(null, undefined, undefined);

    // Assess
    expect(error).toThrow(PolicyError);
  });
});

describe('overlapNote', () => {
  it('names the countries a policy both allows and denies, and what denies each', () => {
    // Prepare: CN named in both lists; HK and MO denied with it (China includes them), HK allowed.
    const policy = buildPolicy({ allowedCountries: ['us', 'CN', 'HK'], deniedCountries: ['foreign-adversaries'] });

    // Act
    const note = overlapNote(policy);

    // Assess
    expect(note).toBe('both allowed and denied: CN (by foreign-adversaries), HK (by foreign-adversaries); denied wins, so a destination there is a violation');
  });

  it('says nothing when the lists do not meet, or there is no allowed list', () => {
    expect(overlapNote(buildPolicy({ allowedCountries: ['eu'], deniedCountries: ['foreign-adversaries'] }))).toBeNull();
    expect(overlapNote(buildPolicy({ deniedCountries: ['CN'] }))).toBeNull();
    expect(overlapNote(buildPolicy({ allowedCountries: ['us'] }))).toBeNull();
  });

  it('keeps to one line when many countries meet', () => {
    const note = overlapNote(buildPolicy({ allowedCountries: ['eu'], deniedCountries: ['eu'] }))!;
    expect(note).toMatch(/^both allowed and denied: AT \(by eu\), .* and 19 more; denied wins/);
  });
});

describe('compilePolicy', () => {
  it('hashes the canonical JSON of the effective policy with SHA-256', () => {
    // Prepare
    const policy = buildPolicy({ allowedCountries: ['us'] });

    // Act
    const { sha256 } = compilePolicy(policy);

    // Assess
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(sha256).toBe(createHash('sha256').update(canonicalJson(policy)).digest('hex'));
  });

  it('gives the same hash whatever the order of the keys in the input', () => {
    // Act
    const a = hashOf({
      name: 'p',
      allowedCountries: ['us'],
      deniedCountries: ['RU'],
      unknown: 'warn',
    });
    const b = hashOf({
      unknown: 'warn',
      deniedCountries: ['RU'],
      allowedCountries: ['us'],
      name: 'p',
    });

    // Assess
    expect(a).toBe(b);
  });

  it.each([
    [
      'allowedCountries',
      { allowedCountries: ['US', 'CA', 'eu'] },
      { allowedCountries: ['eu', 'CA', 'US'] },
    ],
    [
      'deniedCountries',
      { deniedCountries: ['RU', 'CN', 'foreign-adversaries'] },
      { deniedCountries: ['foreign-adversaries', 'CN', 'RU'] },
    ],
    [
      'allowCidrs',
      { allowedCountries: ['us'], allowCidrs: ['10.0.0.0/8', '2001:db8::/32'] },
      { allowedCountries: ['us'], allowCidrs: ['2001:db8::/32', '10.0.0.0/8'] },
    ],
    [
      'localNetworks',
      { allowedCountries: ['us'], localNetworks: ['non-public', '198.51.100.0/24'] },
      { allowedCountries: ['us'], localNetworks: ['198.51.100.0/24', 'non-public'] },
    ],
  ] as [string, PolicyInput, PolicyInput][])(
    'gives the same hash whatever the order of %s',
    (_field, a, b) => {
      // Act
      const hashes = [hashOf(a), hashOf(b)];

      // Assess
      expect(hashes[0]).toBe(hashes[1]);
    },
  );

  it.each([
    [
      'a repeated code',
      { allowedCountries: ['US', 'US', 'CA'] },
      { allowedCountries: ['CA', 'US'] },
    ],
    ['lower-case codes', { allowedCountries: ['gb', 'de'] }, { allowedCountries: ['GB', 'DE'] }],
    [
      'host bits in a CIDR',
      { allowedCountries: ['us'], allowCidrs: ['10.1.2.3/8'] },
      { allowedCountries: ['us'], allowCidrs: ['10.0.0.0/8'] },
    ],
    [
      'the default unknown written out',
      { allowedCountries: ['us'], unknown: 'fail' },
      { allowedCountries: ['us'] },
    ],
    [
      'the default localNetworks written out',
      { allowedCountries: ['us'], localNetworks: ['non-public'] },
      { allowedCountries: ['us'] },
    ],
    [
      'a description',
      { allowedCountries: ['us'], description: 'only the US' },
      { allowedCountries: ['us'] },
    ],
  ] as [string, PolicyInput, PolicyInput][])(
    'gives the same hash for the same effective policy despite %s',
    (_why, a, b) => {
      // Act
      const hashes = [hashOf(a), hashOf(b)];

      // Assess
      expect(hashes[0]).toBe(hashes[1]);
    },
  );

  it.each([
    ['the allowed set', { allowedCountries: ['us', 'CA'] }],
    ['the deny list', { allowedCountries: ['us'], deniedCountries: ['RU'] }],
    ['unknown', { allowedCountries: ['us'], unknown: 'warn' }],
    ['allowCidrs', { allowedCountries: ['us'], allowCidrs: ['203.0.113.0/24'] }],
    ['localNetworks', { allowedCountries: ['us'], localNetworks: ['10.0.0.0/8'] }],
    ['the name', { allowedCountries: ['us'], name: 'US only' }],
  ] as [string, PolicyInput][])('changes the hash when %s changes', (_what, changed) => {
    // Prepare
    const base = hashOf({ allowedCountries: ['us'] });

    // Act
    const hash = hashOf(changed);

    // Assess
    expect(hash).not.toBe(base);
  });

  it.each([
    [{ allowedCountries: ['us'] }, 'US'],
    [{ allowedCountries: ['US', 'CA', 'MX'] }, 'CA, MX, US'],
    [{ allowedCountries: ['eu'] }, 'eu (27 countries)'],
    [{ allowedCountries: ['eu', 'CH'] }, 'eu, CH (28 countries)'],
  ] as [PolicyInput, string][])('labels the allowed set of %j as %j', (input, label) => {
    // Act
    const compiled = compilePolicy(buildPolicy(input));

    // Assess
    expect(compiled.allowedLabel).toBe(label);
  });

  it('compiles sets and networks for evaluation', () => {
    // Prepare
    const policy = buildPolicy({
      allowedCountries: ['us'],
      deniedCountries: ['RU'],
      allowCidrs: ['203.0.113.0/24'],
      localNetworks: ['non-public', '198.51.100.0/24'],
    });

    // Act
    const compiled = compilePolicy(policy);

    // Assess
    expect([...compiled.allowed!]).toEqual(['US']);
    expect([...compiled.denied]).toEqual(['RU']);
    expect(compiled.allowCidrs.map((c) => c.text)).toEqual(['203.0.113.0/24']);
    expect(compiled.localCidrs.map((c) => c.text)).toEqual(['198.51.100.0/24']);
    expect(compiled.localIncludesNonPublic).toBe(true);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth, keeps array order and drops undefined', () => {
    // Act
    const text = canonicalJson({ b: [3, { d: 1, c: 2 }], a: null, z: undefined });

    // Assess
    expect(text).toBe('{"a":null,"b":[3,{"c":2,"d":1}]}');
  });
});
