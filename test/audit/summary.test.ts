import { diffVerdicts } from '../../lambda/engine/audit/diff';
import { renderAuditHtml } from '../../lambda/engine/audit/render-html';
import { MAX_MARKDOWN_LOGS, MAX_TERMINAL_LINES, renderAuditMarkdown, renderAuditText } from '../../lambda/engine/audit/render-summary';
import { auditSummaryJson } from '../../lambda/engine/audit/serialize';
import {
  auditPrefix,
  AuditSummarizer,
  notCheckedOutcome,
  outcomeOf,
  type AuditEntry,
  type SummarizableVerdict,
} from '../../lambda/engine/audit/summary';

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

describe('AuditSummarizer, schema 2', () => {
  const run = { directory: 's3://uploads/incoming/', previous: null, toolVersion: '0.0.0-test', startedAt: new Date('2026-06-01T00:00:00Z') };

  it('counts logs not checked as errors and says the run is not complete', () => {
    // Prepare
    const summarizer = new AuditSummarizer(run);

    // Act
    summarizer.add(entry('drone-a/conn.log', verdictOf(true, 5, 0)));
    summarizer.addOutcome(notCheckedOutcome('drone-b/conn.log', 'its batch failed (States.TaskFailed)'));
    summarizer.addSkipped(2);
    summarizer.markIncomplete('1 logs were not checked: no batch reported them');
    const s = summarizer.summary(new Date('2026-06-01T00:01:00Z'));

    // Assess
    expect(s).toMatchObject({ schemaVersion: 3, complete: false, incompleteReason: '1 logs were not checked: no batch reported them', skipped: 2 });
    expect(s.totals).toMatchObject({ logs: 2, compliant: 1, errors: 1, notChecked: 1 });
    expect(s.prefixes.map((p) => [p.prefix, p.notChecked])).toEqual([
      ['drone-a', 0],
      ['drone-b', 1],
    ]);
    expect(s.logs[1]).toEqual({
      path: 'drone-b/conn.log',
      prefix: 'drone-b',
      status: 'error',
      verdict: null,
      error: 'not checked: its batch failed (States.TaskFailed)',
      records: 0,
      bytesSentViolating: 0,
      violatingDestinations: 0,
      notChecked: true,
    });
    expect(s.logs[0]).not.toHaveProperty('notChecked');
    expect(renderAuditMarkdown(s)).toContain('INCOMPLETE: 1 logs were not checked: no batch reported them; 1 logs were not checked.');
    expect(renderAuditText(s)).toContain('2 logs: 1 compliant, 0 non-compliant, 1 errors (1 not checked)');
  });

  it('sums outcomes passed between functions as JSON the same as the entries they came from', () => {
    // Prepare
    const entries = [entry('a/conn.log', verdictOf(false, 10, 300)), entry('b/conn.log', verdictOf(true, 5, 0)), entry('c/x.log', null, { error: 'c/x.log: read failed', verdictFile: null })];
    const direct = new AuditSummarizer(run);
    const viaJson = new AuditSummarizer(run);

    // Act
    for (const e of entries) direct.add(e);
    for (const o of JSON.parse(JSON.stringify(entries.map(outcomeOf)))) viaJson.addOutcome(o);

    // Assess
    const at = new Date('2026-06-01T00:01:00Z');
    expect(viaJson.summary(at)).toEqual(direct.summary(at));
  });
});

describe('auditSummaryJson', () => {
  it('writes exactly what JSON.stringify writes, in pieces', () => {
    // Prepare
    const summarizer = new AuditSummarizer({ directory: 'logs', previous: 'audits/old', toolVersion: '0.0.0-test', startedAt: new Date('2026-06-01T00:00:00Z') });
    summarizer.add(entry('drone-a/conn.log', verdictOf(true, 1, 0)));
    summarizer.add(entry('drone-b/"quoted"\\path.log', verdictOf(false, 2, 100)));
    summarizer.addOutcome(notCheckedOutcome('drone-c/conn.log', 'not reached'));
    const s = summarizer.summary(new Date('2026-06-01T00:01:00Z'));
    const empty = new AuditSummarizer({ directory: 'logs', previous: null, toolVersion: '0.0.0-test', startedAt: new Date(0) }).summary(new Date(0));

    // Act
    const pieces = [...auditSummaryJson(s)];

    // Assess
    expect(pieces.length).toBe(s.logs.length + 2);
    expect(pieces.join('')).toBe(`${JSON.stringify(s, null, 2)}\n`);
    expect([...auditSummaryJson(empty)].join('')).toBe(`${JSON.stringify(empty, null, 2)}\n`);
  });
});

describe('renderAuditHtml', () => {
  it('escapes names from the logs and caps the lists, pointing to summary.json', () => {
    // Prepare
    const summarizer = new AuditSummarizer({ directory: 's3://b/<x>/', previous: null, toolVersion: '0.0.0-test', startedAt: new Date('2026-06-01T00:00:00Z') });
    summarizer.add(entry('<script>alert(1)</script>/conn.log', verdictOf(false, 1, 10)));
    for (let i = 0; i < 5; i++) summarizer.add(entry(`d/${i}.log`, verdictOf(false, 1, 10)));

    // Act
    const html = renderAuditHtml(summarizer.summary(new Date('2026-06-01T00:01:00Z')), { maxFailingLogs: 3 });

    // Assess
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;/conn.log');
    expect(html).toContain('Audit <span class="name">s3://b/&lt;x&gt;/</span>');
    expect(html).toContain('NOT COMPLIANT');
    expect(html).toContain('3 more logs that are not compliant are in summary.json.');
    expect(html).toContain("default-src 'none'");
  });
});

describe('summary.md and the terminal lines of a fleet audit', () => {
  it('list the first logs and say how many more summary.json has', () => {
    // Prepare: more non-compliant logs than summary.md lists, more errors than the terminal shows.
    const summarizer = new AuditSummarizer({ directory: 'fleet', previous: null, toolVersion: '0.0.0-test', startedAt: new Date('2026-06-01T00:00:00Z') });
    const nonCompliant = MAX_MARKDOWN_LOGS + 200;
    const errors = MAX_TERMINAL_LINES + 10;
    for (let i = 0; i < nonCompliant; i++) summarizer.add(entry(`drone-${i % 7}/log-${String(i).padStart(5, '0')}.log`, verdictOf(false, 3, 10)));
    for (let i = 0; i < errors; i++) summarizer.add(entry(`broken/log-${String(i).padStart(3, '0')}.log`, verdictOf(false, 0, 0, 'unknown format')));
    const s = summarizer.summary(new Date('2026-06-01T00:01:00Z'));

    // Act
    const md = renderAuditMarkdown(s);
    const text = renderAuditText(s);

    // Assess
    expect(s.logs).toHaveLength(nonCompliant + errors);
    const rows = md.split('\n').filter((l) => /^\| (drone|broken)[^ ]*\/log-/.test(l));
    expect(rows).toHaveLength(MAX_MARKDOWN_LOGS);
    expect(md).toContain(`… and ${nonCompliant + errors - MAX_MARKDOWN_LOGS} more (logs: summary.json lists every one)`);
    const errorLines = text.split('\n').filter((l) => l.includes(': error: '));
    expect(errorLines).toHaveLength(MAX_TERMINAL_LINES);
    expect(text).toContain(`… and ${errors - MAX_TERMINAL_LINES} more (errors: summary.json lists them)`);
  });
});
