/**
 * `residency audit` end to end: the built CLI over a folder of Zeek conn.logs, with two builds of
 * a tiny location database in which 1.2.4.0/24 moves from the US to China.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditSummary } from '../../lambda/engine/audit/summary';
import { runCli, tempDir } from '../helpers/cli';
import { writeMmdb } from '../helpers/mmdb-writer';
import { zeekConnLog } from '../helpers/zeek';

/** Writes `files` (relative path → content) under a fresh folder. */
function logFolder(root: string, files: Record<string, string>): string {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

/** The only run folder under OUT/audits (the latest when there are several). */
function latestRun(out: string): string {
  const runs = readdirSync(join(out, 'audits')).sort();
  return join(out, 'audits', runs[runs.length - 1] as string);
}

function readSummary(runDir: string): AuditSummary {
  return JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as AuditSummary;
}

describe('residency audit', () => {
  const work = tempDir('residency-audit-');
  // v1 (January) and v2 (June): the same networks, but 1.2.4.0/24 moved from the US to China.
  const v1 = join(work, 'v1.mmdb');
  const v2 = join(work, 'v2.mmdb');
  const networks = (moved: string) => [
    { cidr: '1.2.4.0/24', record: { country: { iso_code: moved } } },
    { cidr: '5.6.7.0/24', record: { country: { iso_code: 'DE' } } },
    { cidr: '8.8.8.0/24', record: { country: { iso_code: 'US' } } },
  ];
  writeFileSync(v1, writeMmdb(networks('US'), { buildEpoch: new Date('2026-01-01T00:00:00Z') }));
  writeFileSync(v2, writeMmdb(networks('CN'), { buildEpoch: new Date('2026-06-01T00:00:00Z') }));
  const logs = logFolder(join(work, 'logs'), {
    'drone-a/conn.log': zeekConnLog(['1.2.4.8', '8.8.8.8']),
    'drone-a/2026-05/conn.log': zeekConnLog(['8.8.8.8']),
    'drone-b/conn.log': zeekConnLog(['5.6.7.8', '8.8.8.8']),
    // Not logs: outputs of residency, and hidden files.
    'drone-b/conn.log.verdict.json': '{}',
    'drone-b/conn.log.report.html': '<html></html>',
    'drone-b/conn.log.destinations.csv': 'ip\n',
    'drone-b/conn.log.destinations.jsonl': '{"ip":"8.8.8.8"}\n',
    'drone-b/.DS_Store': 'x',
  });

  it('checks every log, then lists what changed when the database moved a destination', () => {
    // Prepare
    const out = join(work, 'out');

    // Act
    const first = runCli(['audit', logs, '--db', v1, '-j', 'us', '--out', out]);
    const firstRun = latestRun(out);
    const second = runCli(['audit', logs, '--db', v2, '-j', 'us', '--out', out, '--previous', join(firstRun, 'verdicts')]);
    const secondRun = latestRun(out);

    // Assess
    expect(first.stderr).toMatch(/3 logs, 5 records in [\d.]+ s: [\d,]+ logs\/s, [\d,]+ records\/s/);
    expect(first.status).toBe(1);
    const before = readSummary(firstRun);
    expect(before.totals).toMatchObject({ logs: 3, compliant: 2, nonCompliant: 1, errors: 0, bytesSentViolating: 100, compared: 0 });
    expect(before.prefixes.map((p) => [p.prefix, p.logs, p.compliant, p.nonCompliant])).toEqual([
      ['drone-a', 2, 2, 0],
      ['drone-b', 1, 0, 1],
    ]);
    // Two conn.log in different folders: two verdicts, each under its own path.
    expect(before.logs.map((l) => l.verdict)).toEqual([
      'verdicts/drone-a/2026-05/conn.log.verdict.json',
      'verdicts/drone-a/conn.log.verdict.json',
      'verdicts/drone-b/conn.log.verdict.json',
    ]);
    const verdict = JSON.parse(readFileSync(join(firstRun, 'verdicts/drone-b/conn.log.verdict.json'), 'utf8'));
    expect(verdict).toMatchObject({ compliant: false, input: { name: 'drone-b/conn.log', format: 'zeek-tsv' } });

    expect(second.status).toBe(1);
    const after = readSummary(secondRun);
    expect(after.totals).toMatchObject({ logs: 3, compliant: 1, nonCompliant: 2, bytesSentViolating: 200, compared: 3, newViolations: 1, resolvedViolations: 0, countryChanges: 1 });
    expect(after.prefixes.map((p) => [p.prefix, p.compliant, p.nonCompliant, p.newViolations, p.countryChanges])).toEqual([
      ['drone-a', 1, 1, 1, 1],
      ['drone-b', 0, 1, 0, 0],
    ]);
    const changed = after.logs.find((l) => l.path === 'drone-a/conn.log');
    expect(changed?.diff).toEqual({
      newViolations: [{ ip: '1.2.4.8', country: 'CN', rule: expect.stringContaining('CN') as string, bytesSent: 100 }],
      resolvedViolations: [],
      countryChanges: [
        {
          ip: '1.2.4.8',
          before: 'US',
          after: 'CN',
          databasesBefore: [{ name: 'v1.mmdb', buildEpoch: '2026-01-01T00:00:00.000Z' }],
          databasesAfter: [{ name: 'v2.mmdb', buildEpoch: '2026-06-01T00:00:00.000Z' }],
        },
      ],
    });
    expect(second.stdout).toContain('drone-a/conn.log: 1.2.4.8 moved US → CN');
    expect(readFileSync(join(secondRun, 'summary.md'), 'utf8')).toContain(
      'country changed: 1.2.4.8 US → CN (databases then: v1.mmdb (built 2026-01-01T00:00:00.000Z); now: v2.mmdb (built 2026-06-01T00:00:00.000Z))',
    );
  });

  it('accepts the earlier run folder itself as --previous', () => {
    // Prepare
    const out = join(work, 'out-run-folder');
    runCli(['audit', logs, '--db', v1, '-j', 'us', '--out', out, '-q']);
    const firstRun = latestRun(out);

    // Act
    const second = runCli(['audit', logs, '--db', v2, '-j', 'us', '--out', out, '--previous', firstRun, '-q']);

    // Assess
    expect(second.stderr).toBe('');
    expect(readSummary(latestRun(out)).totals).toMatchObject({ compared: 3, countryChanges: 1 });
  });

  it('compares a log an incomplete --previous run did not check with its verdict in the run before', () => {
    // Prepare: a complete January run on v1, and a February run that stopped before drone-a/conn.log
    // (made from January's: its summary says complete: false, and that log's verdict is missing).
    const out = join(work, 'out-incomplete');
    runCli(['audit', logs, '--db', v1, '-j', 'us', '--out', out, '-q']);
    const january = latestRun(out);
    const february = join(out, 'audits', '2999-02-01T03-00-00.000Z');
    cpSync(january, february, { recursive: true });
    rmSync(join(february, 'verdicts/drone-a/conn.log.verdict.json'));
    const summary = readFileSync(join(february, 'summary.json'), 'utf8');
    writeFileSync(join(february, 'summary.json'), summary.replace(/^ {2}"complete": true,$/m, '  "complete": false,'));

    // Act: June, on v2, against February.
    const june = runCli(['audit', logs, '--db', v2, '-j', 'us', '--out', join(work, 'out-june'), '--previous', february, '-q']);

    // Assess: drone-a/conn.log is compared with January's verdict, and its move to China shows.
    expect(june.stderr).toBe('');
    const after = readSummary(latestRun(join(work, 'out-june')));
    expect(after.totals).toMatchObject({ compared: 3, newViolations: 1, countryChanges: 1 });
    expect(after.logs.find((l) => l.path === 'drone-a/conn.log')).toMatchObject({
      comparedWith: join(january, 'verdicts/drone-a/conn.log.verdict.json'),
      diff: { countryChanges: [expect.objectContaining({ ip: '1.2.4.8', before: 'US', after: 'CN' })] },
    });
    expect(after.logs.find((l) => l.path === 'drone-b/conn.log')).not.toHaveProperty('comparedWith');
  });

  it('exits 0 when every log is compliant', () => {
    // Act
    const r = runCli(['audit', join(logs, 'drone-a', '2026-05'), '--db', v1, '-j', 'us', '--out', join(work, 'out-ok')]);

    // Assess
    expect(r.status).toBe(0);
    expect(readSummary(latestRun(join(work, 'out-ok'))).prefixes.map((p) => p.prefix)).toEqual(['.']);
  });

  it('exits 2 when a log cannot be checked, and still checks the others', () => {
    // Prepare
    const dir = logFolder(join(work, 'logs-bad'), { 'a/conn.log': zeekConnLog(['5.6.7.8']), 'b/notes.txt': 'not a log\n' });
    const out = join(work, 'out-bad');

    // Act
    const r = runCli(['audit', dir, '--db', v1, '-j', 'us', '--out', out]);

    // Assess
    expect(r.status).toBe(2);
    expect(readSummary(latestRun(out)).totals).toMatchObject({ logs: 2, nonCompliant: 1, errors: 1 });
    expect(r.stdout).toContain('b/notes.txt: error: unknown log format');
  });

  it('reads flow logs of a custom format without a header line with --vpc-format, as check does', () => {
    // Prepare: 5.6.7.8 is where v1 puts it (outside us): a violation once the records are read.
    const dir = logFolder(join(work, 'logs-vpc'), { 'vpc/custom.log': '2023-11-14T22:14:20.000Z eni-0a1b 10.0.1.5 5.6.7.8 5000 ACCEPT\n' });

    // Act
    const without = runCli(['audit', dir, '--db', v1, '-j', 'us', '--out', join(work, 'out-vpc-0')]);
    const given = runCli(['audit', dir, '--db', v1, '-j', 'us', '--out', join(work, 'out-vpc-1'), '--vpc-format', '${interface-id} ${srcaddr} ${dstaddr} ${bytes} ${action}']);
    const bad = runCli(['audit', dir, '--db', v1, '-j', 'us', '--vpc-format', '${version} ${bytes}']);

    // Assess
    expect(without.status).toBe(2);
    expect(given.status).toBe(1);
    expect(readSummary(latestRun(join(work, 'out-vpc-1'))).totals).toMatchObject({ logs: 1, nonCompliant: 1, errors: 0 });
    expect(bad).toMatchObject({ status: 2, stderr: expect.stringMatching(/^residency: --vpc-format: /) as string });
  });

  it('refuses a folder with no logs, and a missing one, with exit 2', () => {
    // Prepare
    const empty = join(work, 'empty');
    mkdirSync(empty);

    // Act
    const none = runCli(['audit', empty, '-j', 'us', '--db', v1, '--out', join(work, 'out-empty')]);
    const missing = runCli(['audit', join(work, 'nope'), '-j', 'us', '--db', v1]);

    // Assess
    expect(none).toMatchObject({ status: 2, stderr: expect.stringContaining('no log files found') as string });
    expect(missing).toMatchObject({ status: 2, stderr: expect.stringContaining('not a folder') as string });
  });

  it('audits a folder of 1,000 small logs', () => {
    // Prepare
    const many = join(work, 'many');
    const log = zeekConnLog(['8.8.8.8', '1.2.4.8', '8.8.8.9']);
    for (let i = 0; i < 1000; i++) logFolder(many, { [`device-${i % 10}/conn-${i}.log`]: log });
    const out = join(work, 'out-many');

    // Act
    const r = runCli(['audit', many, '--db', v1, '-j', 'us', '--out', out]);

    // Assess
    const s = readSummary(latestRun(out));
    expect(s.totals).toMatchObject({ logs: 1000, records: 3000, compliant: 1000, errors: 0 });
    expect(r.status).toBe(0);
    expect(s.prefixes).toHaveLength(10);
    const throughput = /([\d,]+) logs\/s, ([\d,]+) records\/s/.exec(r.stderr);
    expect(throughput).not.toBeNull();
    process.stdout.write(`audit of 1,000 logs: ${r.stderr}`);
  });
});
