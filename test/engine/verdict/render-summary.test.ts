import { destinationListOf } from '../../../lambda/engine/verdict/build-verdict';
import { formatCount, renderSummary } from '../../../lambda/engine/verdict/render-summary';
import { checkBytes, fixture, policyOf } from '../../helpers/engine';

describe('renderSummary', () => {
  it('lists the top violations without making every destination into an object, as it would from objects', async () => {
    // Prepare: a verdict with several violations, its destinations not read yet.
    const v = await checkBytes(fixture('zeek', 'conn-teredo.tsv.log'), { policy: policyOf('eu') });
    expect(v.totals.violatingDestinations).toBeGreaterThan(2);

    // Act
    const lean = renderSummary(v, { topViolations: 2 });
    const stillLean = destinationListOf(v) !== null;
    const fromObjects = renderSummary({ ...v }, { topViolations: 2 });

    // Assess
    expect(stillLean).toBe(true);
    expect(lean).toBe(fromObjects);
    const listed = lean.split('\n').filter((l) => / conns, .* sent; /.test(l));
    expect(listed.map((l) => l.trim().split(' ')[0])).toEqual(v.violations.slice(0, 2).map((x) => x.ip));
    expect(lean).toContain(`… and ${v.violations.length - 2} more (see the verdict JSON)`);
  });

  it('says compliant, with no violation list, when there is none', async () => {
    const v = await checkBytes(fixture('zeek', 'conn-pop3.tsv.log'), { policy: policyOf('eu') });
    const text = renderSummary(v);
    expect(text).toMatch(/Result: COMPLIANT \(3 destinations, 344 B sent\)/);
    expect(text).not.toContain('Top violating destinations');
  });
});

describe('formatCount', () => {
  it('writes what toLocaleString("en-US") writes, for integers of every length and sign, and fractions', () => {
    const samples = [0, -0, 1, -1, 12, 999, 1000, -1000, 9999, 123456, 1234567, -98765432, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, 1e21, 1.5, 1234.5678, -0.25, NaN, Infinity];
    for (let digits = 1; digits <= 16; digits++) samples.push(Number('9'.repeat(digits)), Number(`1${'0'.repeat(digits - 1)}`));
    for (const n of samples) expect([n, formatCount(n)]).toEqual([n, n.toLocaleString('en-US')]);
  });
});
