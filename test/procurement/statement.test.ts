import { parseCategoryTable } from '../../lambda/engine/procurement/categories';
import { buildStatement, type CategoryResult } from '../../lambda/engine/procurement/statement';
import { compilePolicy, policyFromPreset, policyFromSpec } from '../../lambda/engine/policy/policy';
import type { DestinationStatus } from '../../lambda/engine/types';
import type { Verdict, VerdictDestination } from '../../lambda/engine/verdict/verdict';

const TABLE = parseCategoryTable(
  JSON.stringify({
    entries: [
      { pattern: 'flightlog.vendor.example', category: 'flight-logs', source: 'test' },
      { pattern: '*.crash.example', category: 'device-identifiers-and-crash-reports', source: 'test' },
      { pattern: 'tiles.example', category: 'map-tiles', source: 'test' },
    ],
  }),
  'test.json',
);
const POLICY = compilePolicy(policyFromPreset('us-gov-drone')!);

/** A destination with only the fields a statement reads. */
function dest(ip: string, status: DestinationStatus, hostnames: string[], extra: Partial<VerdictDestination> = {}): VerdictDestination {
  return {
    ip, status, hostnames, country: status === 'violation' ? 'CN' : 'US', countries: {}, addressClass: 'public', rule: status === 'violation' ? 'CN is denied' : null,
    connections: 1, blockedAttempts: 0, bytesSent: 100, bytesReceived: 0, connectionsWithUnknownBytes: 0, firstSeen: null, lastSeen: null,
    ports: [443], protocols: ['tcp'], apps: [], evidenceLines: [1], disputed: false, asn: 64500, asOrganization: 'Example AS', operatorCountry: 'US', warning: null,
    ...extra,
  } as VerdictDestination;
}

/** A verdict of one log with these destinations. */
function verdictOf(name: string, destinations: VerdictDestination[], extra: Partial<Verdict> = {}): Verdict {
  return {
    compliant: destinations.every((d) => d.status !== 'violation'),
    input: { name, sha256: 'ab'.repeat(32), bytes: 10, decodedBytes: 10, compression: 'none', format: 'zeek-tsv', formatSource: 'detected' },
    policy: { ...POLICY.policy, sha256: POLICY.sha256 },
    databases: [],
    destinations,
    ...extra,
  } as Verdict;
}

function statementOf(...verdicts: Verdict[]) {
  return buildStatement(verdicts, { product: 'p', policy: POLICY, table: TABLE, tableSha256: 'cd'.repeat(32), toolVersion: '0.0.0', now: new Date(0) });
}

function resultOf(verdicts: Verdict[], category: string): CategoryResult {
  return statementOf(...verdicts).categories.find((c) => c.category === category)!.result;
}

describe('the reasons of a FAIL', () => {
  it('count the violating destinations in a sentence that agrees with its number', () => {
    const one = statementOf(verdictOf('a', [dest('183.3.226.35', 'violation', [])]));
    const two = statementOf(verdictOf('a', [dest('183.3.226.35', 'violation', []), dest('183.3.226.36', 'violation', [])]));
    expect(one.reasons).toEqual(['1 destination violates the policy']);
    expect(two.reasons).toEqual(['2 destinations violate the policy']);
  });
});

describe('category verdicts', () => {
  it('is PASS when all the category traffic is compliant', () => {
    expect(resultOf([verdictOf('a', [dest('52.94.236.248', 'allowed', ['flightlog.vendor.example'])])], 'flight-logs')).toBe('PASS');
  });

  it('is FAIL when any of its destinations is a violation', () => {
    // Prepare
    const v = verdictOf('a', [dest('203.0.113.1', 'allowed', ['eu.crash.example']), dest('183.3.226.35', 'violation', ['cn.crash.example'])]);
    // Act
    const s = statementOf(v);
    // Assess
    const c = s.categories.find((x) => x.category === 'device-identifiers-and-crash-reports')!;
    expect(c.result).toBe('FAIL');
    expect(c.failedDestinations).toBe(1);
    expect(s.result).toBe('FAIL');
  });

  it('is NOT OBSERVED without traffic', () => {
    expect(resultOf([verdictOf('a', [dest('52.94.236.248', 'allowed', ['flightlog.vendor.example'])])], 'media')).toBe('NOT OBSERVED');
  });

  it('is REVIEW for a destination the policy only warns about', () => {
    const d = dest('47.88.1.1', 'allowed', ['tiles.example'], { warning: 'operated by an AS registered in CN' });
    expect(resultOf([verdictOf('a', [d])], 'map-tiles')).toBe('REVIEW');
  });

  it('ignores non-public and blocked destinations', () => {
    const v = verdictOf('a', [dest('192.168.1.1', 'non-public', ['tiles.example']), dest('1.2.4.8', 'blocked', ['tiles.example'])]);
    expect(resultOf([v], 'map-tiles')).toBe('NOT OBSERVED');
  });
});

describe('unclassified traffic', () => {
  it('is REVIEW, never PASS, when compliant, and the product still passes', () => {
    // Prepare
    const v = verdictOf('a', [dest('17.253.144.10', 'allowed', []), dest('54.239.28.85', 'allowed', ['api.vendor.example'])]);
    // Act
    const s = statementOf(v);
    // Assess
    const c = s.categories.find((x) => x.category === 'unclassified')!;
    expect(c.result).toBe('REVIEW');
    expect(c.hosts).toEqual(['17.253.144.10', 'api.vendor.example']);
    expect(s.result).toBe('PASS');
    expect(s.review.join('\n')).toMatch(/unclassified: 2 destinations/);
  });

  it('is FAIL when it holds a violation', () => {
    expect(resultOf([verdictOf('a', [dest('1.2.4.8', 'violation', [])])], 'unclassified')).toBe('FAIL');
  });

  it('takes a destination with a classified and an unclassified name into both', () => {
    const s = statementOf(verdictOf('a', [dest('52.94.236.248', 'allowed', ['flightlog.vendor.example', 'other.example'])]));
    expect(s.destinations[0]!.categories).toEqual(['flight-logs', 'unclassified']);
  });
});

describe('the product result', () => {
  it('merges a destination over logs: the worst status wins, traffic adds up', () => {
    // Prepare
    const a = verdictOf('a.log', [dest('203.0.113.9', 'allowed', ['tiles.example'])]);
    const b = verdictOf('b.log', [dest('203.0.113.9', 'violation', ['tiles.example'])]);
    // Act
    const s = statementOf(a, b);
    // Assess
    expect(s.destinations).toHaveLength(1);
    expect(s.destinations[0]).toMatchObject({ status: 'violation', connections: 2, bytesSent: 200, logs: ['a.log', 'b.log'] });
    expect(s.failedDestinations).toHaveLength(1);
  });

  it('fails a product whose log could not be checked, even with no violation', () => {
    const s = statementOf(verdictOf('a.log', [], { compliant: false, error: 'input is empty' }));
    expect(s.result).toBe('FAIL');
    expect(s.reasons[0]).toMatch(/a\.log: could not be checked \(input is empty\)/);
  });

  it('fails a product with no logs', () => {
    expect(statementOf().result).toBe('FAIL');
  });

  it('cites the policy, the table and the inputs', () => {
    const s = statementOf(verdictOf('a.log', []));
    expect(s.evidence.policy).toMatchObject({ name: 'us-gov-drone', sha256: POLICY.sha256, operator: 'fail' });
    expect(s.evidence.categoryTable).toEqual({ name: 'test.json', sha256: 'cd'.repeat(32), entries: 3 });
    expect(s.evidence.inputs[0]).toMatchObject({ name: 'a.log', sha256: 'ab'.repeat(32) });
    expect(s.evidence.checkedAt).toBe('1970-01-01T00:00:00.000Z');
  });
});

describe('the us-gov-drone policy preset', () => {
  it('allows the US, denies foreign adversaries, and fails every doubt', () => {
    // Act
    const policy = policyFromSpec('us-gov-drone', 'RESIDENCY_POLICY');
    // Assess
    expect(policy).toMatchObject({ name: 'us-gov-drone', allowedCountries: ['US'], unknown: 'fail', disputed: 'fail', operator: 'fail' });
    expect(policy.deniedCountries).toEqual(['CN', 'CU', 'HK', 'IR', 'KP', 'MO', 'RU']);
  });

  it('is found by name whatever the case, and unknown names are not presets', () => {
    expect(policyFromPreset('US-GOV-DRONE')?.name).toBe('us-gov-drone');
    expect(policyFromPreset('us')).toBeUndefined();
  });
});
