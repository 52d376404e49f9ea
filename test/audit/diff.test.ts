import { diffVerdicts, isEmptyDiff, type DiffableVerdict } from '../../lambda/engine/audit/diff';

/** A verdict with just what a diff reads: destinations `ip → country`, the violating ones, one location database. */
function verdictOf(destinations: Record<string, string | null>, violating: string[], buildEpoch = '2026-01-01T00:00:00.000Z'): DiffableVerdict {
  return {
    databases: [
      { name: 'geo.mmdb', role: 'location', databaseType: 'Test-Country', buildEpoch, sha256: 'x', bytes: 1 },
      { name: 'asn', role: 'asn', databaseType: '', buildEpoch: '', sha256: 'y', bytes: 1 },
    ],
    destinations: Object.entries(destinations).map(([ip, country]) => ({ ip, country }) as DiffableVerdict['destinations'][number]),
    violations: violating.map((ip) => ({
      ip,
      country: destinations[ip] ?? null,
      rule: `${destinations[ip] ?? 'unknown'} is not in the allowed set US`,
      hostnames: [],
      bytesSent: 100,
      connections: 1,
      evidenceLines: [1],
      asn: null,
      asOrganization: null,
      operatorCountry: null,
    })),
  };
}

describe('diffVerdicts', () => {
  it('lists a destination in violation now and not before as a new violation', () => {
    // Prepare
    const before = verdictOf({ '8.8.8.8': 'US' }, []);
    const now = verdictOf({ '8.8.8.8': 'US', '5.6.7.8': 'DE' }, ['5.6.7.8']);

    // Act
    const diff = diffVerdicts(before, now);

    // Assess
    expect(diff.newViolations).toEqual([{ ip: '5.6.7.8', country: 'DE', rule: 'DE is not in the allowed set US', bytesSent: 100 }]);
    expect(diff.resolvedViolations).toEqual([]);
    expect(diff.countryChanges).toEqual([]);
  });

  it('lists a destination in violation before and not now as resolved', () => {
    // Prepare
    const before = verdictOf({ '5.6.7.8': 'DE', '8.8.8.8': 'US' }, ['5.6.7.8']);
    const now = verdictOf({ '8.8.8.8': 'US' }, []);

    // Act
    const diff = diffVerdicts(before, now);

    // Assess
    expect(diff.resolvedViolations.map((v) => v.ip)).toEqual(['5.6.7.8']);
    expect(diff.newViolations).toEqual([]);
  });

  it('lists a destination whose country changed, with both sets of database build dates', () => {
    // Prepare
    const before = verdictOf({ '1.2.4.8': 'US' }, [], '2026-01-01T00:00:00.000Z');
    const now = verdictOf({ '1.2.4.8': 'CN' }, ['1.2.4.8'], '2026-06-01T00:00:00.000Z');

    // Act
    const diff = diffVerdicts(before, now);

    // Assess
    expect(diff.countryChanges).toEqual([
      {
        ip: '1.2.4.8',
        before: 'US',
        after: 'CN',
        databasesBefore: [{ name: 'geo.mmdb', buildEpoch: '2026-01-01T00:00:00.000Z' }],
        databasesAfter: [{ name: 'geo.mmdb', buildEpoch: '2026-06-01T00:00:00.000Z' }],
      },
    ]);
    expect(diff.newViolations.map((v) => v.ip)).toEqual(['1.2.4.8']);
  });

  it('counts a destination no database placed before and one does now as a country change', () => {
    // Prepare
    const before = verdictOf({ '9.9.9.9': null }, ['9.9.9.9']);
    const now = verdictOf({ '9.9.9.9': 'US' }, []);

    // Act
    const diff = diffVerdicts(before, now);

    // Assess
    expect(diff.countryChanges.map((c) => [c.ip, c.before, c.after])).toEqual([['9.9.9.9', null, 'US']]);
    expect(diff.resolvedViolations.map((v) => v.ip)).toEqual(['9.9.9.9']);
  });

  it('reports nothing for the same verdict twice, nor for destinations seen only once', () => {
    // Prepare
    const before = verdictOf({ '5.6.7.8': 'DE', '8.8.8.8': 'US' }, ['5.6.7.8']);
    const now = verdictOf({ '5.6.7.8': 'DE', '8.8.4.4': 'US' }, ['5.6.7.8']);

    // Act
    const same = diffVerdicts(before, before);
    const moved = diffVerdicts(before, now);

    // Assess
    expect(isEmptyDiff(same)).toBe(true);
    expect(isEmptyDiff(moved)).toBe(true);
  });

  it('lists changes in address order whatever the order of the verdicts', () => {
    // Prepare
    const before = verdictOf({}, []);
    const now = verdictOf({ '9.9.9.9': 'DE', '1.1.1.1': 'FR' }, ['9.9.9.9', '1.1.1.1']);

    // Act
    const diff = diffVerdicts(before, now);

    // Assess
    expect(diff.newViolations.map((v) => v.ip)).toEqual(['1.1.1.1', '9.9.9.9']);
  });
});
