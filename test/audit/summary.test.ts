import { diffVerdicts } from '../../lambda/engine/audit/diff';
import { renderAuditMarkdown } from '../../lambda/engine/audit/render-summary';
import { auditPrefix, AuditSummarizer, type AuditEntry, type SummarizableVerdict } from '../../lambda/engine/audit/summary';

function verdictOf(compliant: boolean, records: number, bytesSentViolating: number, error?: string): SummarizableVerdict {
  return {
    compliant,
    ...(error !== undefined ? { error } : {}),
    policy: { sha256: 'abc' } as SummarizableVerdict['policy'],
    databases: [{ name: 'v2.mmdb', role: 'location', databaseType: 'Test-Country', buildEpoch: '2026-06-01T00:00:00.000Z', sha256: 'x', bytes: 1 }],
    totals: {
      records,
      connections: records,
      skipped: 0,
      noData: 0,
      bytesSent: 1000,
      bytesSentViolating,
      bytesReceived: 0,
      destinations: 2,
      violatingDestinations: bytesSentViolating > 0 ? 1 : 0,
      skippedByReason: {},
      unattributed: 0,
    },
  };
}

function entry(path: string, verdict: SummarizableVerdict | null, extra: Partial<AuditEntry> = {}): AuditEntry {
  return { path, verdictFile: `verdicts/${path}.verdict.json`, verdict, error: verdict?.error ?? null, diff: null, previousFound: false, ...extra };
}

describe('auditPrefix', () => {
  it('is the first folder level, or . for a file at the top', () => {
    expect(auditPrefix('drone-a/2026/conn.log')).toBe('drone-a');
    expect(auditPrefix('conn.log')).toBe('.');
  });
});

describe('AuditSummarizer', () => {
  it('counts compliant, non-compliant and failed logs, bytes sent outside, per prefix', () => {
    // Prepare
    const summarizer = new AuditSummarizer({ directory: 'logs', previous: null, toolVersion: '0.0.0-test', startedAt: new Date('2026-06-01T00:00:00Z') });

    // Act
    summarizer.add(entry('drone-b/conn.log', verdictOf(false, 10, 300)));
    summarizer.add(entry('drone-a/conn.log', verdictOf(true, 5, 0)));
    summarizer.add(entry('drone-a/x/conn.log', verdictOf(false, 7, 200)));
    summarizer.add(entry('drone-b/notes.txt', verdictOf(false, 0, 0, 'unknown format')));
    summarizer.add(entry('top.log', null, { error: 'top.log: permission denied', verdictFile: null }));
    const s = summarizer.summary(new Date('2026-06-01T00:01:00Z'));

    // Assess
    expect(s.totals).toMatchObject({ logs: 5, compliant: 1, nonCompliant: 2, errors: 2, records: 22, bytesSentViolating: 500 });
    expect(s.prefixes.map((p) => [p.prefix, p.logs, p.compliant, p.nonCompliant, p.errors, p.bytesSentViolating])).toEqual([
      ['.', 1, 0, 0, 1, 0],
      ['drone-a', 2, 1, 1, 0, 200],
      ['drone-b', 2, 0, 1, 1, 300],
    ]);
    expect(s.logs.map((l) => l.path)).toEqual(['drone-a/conn.log', 'drone-a/x/conn.log', 'drone-b/conn.log', 'drone-b/notes.txt', 'top.log']);
    expect(s.logs[3]).toMatchObject({ status: 'error', error: 'unknown format' });
    expect(s.policySha256).toBe('abc');
    expect(s.databases).toEqual([{ name: 'v2.mmdb', buildEpoch: '2026-06-01T00:00:00.000Z' }]);
  });

  it('adds up the diffs and shows them in summary.md', () => {
    // Prepare
    const summarizer = new AuditSummarizer({ directory: 'logs', previous: 'audits/old', toolVersion: '0.0.0-test', startedAt: new Date('2026-06-01T00:00:00Z') });
    const base = { databases: [{ name: 'v1.mmdb', role: 'location' as const, databaseType: 'T', buildEpoch: '2026-01-01T00:00:00.000Z', sha256: 'x', bytes: 1 }], violations: [] };
    const diff = diffVerdicts(
      { ...base, destinations: [{ ip: '1.2.4.8', country: 'US' }] as never },
      { ...base, destinations: [{ ip: '1.2.4.8', country: 'CN' }] as never },
    );

    // Act
    summarizer.add(entry('drone-a/conn.log', verdictOf(true, 1, 0), { diff, previousFound: true }));
    summarizer.add(entry('drone-b/conn.log', verdictOf(true, 1, 0)));
    const s = summarizer.summary(new Date('2026-06-01T00:01:00Z'));
    const md = renderAuditMarkdown(s);

    // Assess
    expect(s.totals).toMatchObject({ compared: 1, countryChanges: 1, newViolations: 0 });
    expect(s.logs[1]).not.toHaveProperty('diff');
    expect(md).toContain('country changed: 1.2.4.8 US → CN');
    expect(md).toContain('1 of 2 logs had an earlier verdict');
  });
});
