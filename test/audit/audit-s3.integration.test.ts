/**
 * `residency audit s3://bucket/prefix` end to end: the built CLI reading logs (and earlier verdicts)
 * from fauxqs on 127.0.0.1 with the real S3 client, with two builds of a tiny location database in
 * which 1.2.4.0/24 moves from the US to China. Nothing here talks to AWS.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { AuditSummary } from '../../lambda/engine/audit/summary';
import { runCli, tempDir } from '../helpers/cli';
import { cliS3Env, startLocalS3, type LocalS3 } from '../helpers/local-s3';
import { writeMmdb } from '../helpers/mmdb-writer';
import { zeekConnLog } from '../helpers/zeek';

let s3: LocalS3;
let env: NodeJS.ProcessEnv;
const work = tempDir('residency-audit-s3-');
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

async function put(bucket: string, key: string, body: string | Buffer): Promise<void> {
  await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from(body) }));
}

/** The only run folder under OUT/audits (the latest when there are several). */
function latestRun(out: string): string {
  const runs = readdirSync(join(out, 'audits')).sort();
  return join(out, 'audits', runs[runs.length - 1] as string);
}

function readSummary(runDir: string): AuditSummary {
  return JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as AuditSummary;
}

/** Every file under `dir`, as relative paths. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath, d.name)))
    .sort();
}

beforeAll(async () => {
  s3 = await startLocalS3();
  env = cliS3Env(s3.endpoint);
});

afterAll(() => s3?.stop());

describe('residency audit s3://', () => {
  let bucket: string;

  beforeAll(async () => {
    bucket = await s3.createBucket();
    await put(bucket, 'logs/drone-a/conn.log', zeekConnLog(['1.2.4.8', '8.8.8.8']));
    await put(bucket, 'logs/drone-a/2026-05/conn.log', zeekConnLog(['8.8.8.8']));
    await put(bucket, 'logs/drone-b/conn.log', zeekConnLog(['5.6.7.8', '8.8.8.8']));
    // Not logs: a folder marker, residency's outputs, a hidden file. And a sibling prefix.
    await put(bucket, 'logs/drone-b/', '');
    await put(bucket, 'logs/drone-b/conn.log.verdict.json', '{}');
    await put(bucket, 'logs/drone-b/.DS_Store', 'x');
    await put(bucket, 'logs-old/conn.log', 'not audited: outside logs/');
  });

  it('checks every log under the prefix, then lists what changed when the database moved a destination', async () => {
    // Prepare
    const out = join(work, 'out');

    // Act
    const first = runCli(['audit', `s3://${bucket}/logs`, '--db', v1, '-j', 'us', '--out', out], { env });
    const firstRun = latestRun(out);
    const second = runCli(['audit', `s3://${bucket}/logs/`, '--db', v2, '-j', 'us', '--out', out, '--previous', firstRun], { env });
    const secondRun = latestRun(out);

    // Assess
    expect(first.stderr).toMatch(/^3 logs, 5 records in [\d.]+ s: [\d,]+ logs\/s, [\d,]+ records\/s\n$/);
    expect(first.status).toBe(1);
    const before = readSummary(firstRun);
    expect(before).toMatchObject({ schemaVersion: 3, directory: `s3://${bucket}/logs`, complete: true, incompleteReason: null, skipped: 3 });
    expect(before.totals).toMatchObject({ logs: 3, compliant: 2, nonCompliant: 1, errors: 0, notChecked: 0, bytesSentViolating: 100 });
    expect(before.prefixes.map((p) => [p.prefix, p.logs, p.compliant, p.nonCompliant])).toEqual([
      ['drone-a', 2, 2, 0],
      ['drone-b', 1, 0, 1],
    ]);
    expect(filesUnder(firstRun)).toEqual([
      'summary.html',
      'summary.json',
      'summary.md',
      'verdicts/drone-a/2026-05/conn.log.verdict.json',
      'verdicts/drone-a/conn.log.verdict.json',
      'verdicts/drone-b/conn.log.verdict.json',
    ]);
    const verdict = JSON.parse(readFileSync(join(firstRun, 'verdicts/drone-b/conn.log.verdict.json'), 'utf8'));
    expect(verdict).toMatchObject({
      compliant: false,
      input: { name: 'drone-b/conn.log', format: 'zeek-tsv', source: { bucket, key: 'logs/drone-b/conn.log' } },
    });

    expect(second.status).toBe(1);
    const after = readSummary(secondRun);
    expect(after.totals).toMatchObject({ logs: 3, compliant: 1, nonCompliant: 2, compared: 3, newViolations: 1, countryChanges: 1 });
    expect(after.logs.find((l) => l.path === 'drone-a/conn.log')?.diff?.countryChanges).toEqual([
      {
        ip: '1.2.4.8',
        before: 'US',
        after: 'CN',
        databasesBefore: [{ name: 'v1.mmdb', buildEpoch: '2026-01-01T00:00:00.000Z' }],
        databasesAfter: [{ name: 'v2.mmdb', buildEpoch: '2026-06-01T00:00:00.000Z' }],
      },
    ]);
    expect(second.stdout).toContain('drone-a/conn.log: 1.2.4.8 moved US → CN');
    expect(readFileSync(join(secondRun, 'summary.html'), 'utf8')).toContain('country changed: 1.2.4.8 US → CN');
  });

  it('takes an earlier run stored in S3 as --previous', async () => {
    // Prepare: the first run's folder, as the audit function leaves one in the verdict bucket.
    const out = join(work, 'out-s3-previous');
    runCli(['audit', `s3://${bucket}/logs/`, '--db', v1, '-j', 'us', '--out', out, '-q'], { env });
    const firstRun = latestRun(out);
    const verdicts = await s3.createBucket();
    for (const file of filesUnder(firstRun)) await put(verdicts, `audits/2026-01-01T03-00-00.000Z/${file}`, readFileSync(join(firstRun, file)));

    // Act
    const second = runCli(
      ['audit', `s3://${bucket}/logs/`, '--db', v2, '-j', 'us', '--out', out, '--previous', `s3://${verdicts}/audits/2026-01-01T03-00-00.000Z`],
      { env },
    );

    // Assess
    expect(second.status).toBe(1);
    const after = readSummary(latestRun(out));
    expect(after.previous).toBe(`s3://${verdicts}/audits/2026-01-01T03-00-00.000Z`);
    expect(after.totals).toMatchObject({ compared: 3, newViolations: 1, countryChanges: 1 });
  });

  it('exits 0 when every log is compliant, 2 when one cannot be checked', async () => {
    // Prepare
    const good = await s3.createBucket();
    await put(good, 'a/conn.log', zeekConnLog(['8.8.8.8']));
    const bad = await s3.createBucket();
    await put(bad, 'a/conn.log', zeekConnLog(['5.6.7.8']));
    await put(bad, 'b/notes.txt', 'not a log\n');

    // Act
    const ok = runCli(['audit', `s3://${good}`, '--db', v1, '-j', 'us', '--out', join(work, 'out-ok'), '-q'], { env });
    const failed = runCli(['audit', `s3://${bad}`, '--db', v1, '-j', 'us', '--out', join(work, 'out-bad')], { env });

    // Assess
    expect(ok).toMatchObject({ status: 0, stderr: '' });
    expect(failed.status).toBe(2);
    expect(readSummary(latestRun(join(work, 'out-bad'))).totals).toMatchObject({ logs: 2, nonCompliant: 1, errors: 1 });
    expect(failed.stdout).toContain('b/notes.txt: error: unknown log format');
  });

  it.each([
    ['a bucket that does not exist', () => ['s3://no-such-bucket-4f1c/logs/'], /^residency: audit: s3:\/\/no-such-bucket-4f1c\/logs\/: listing failed \(NoSuchBucket/],
    ['an invalid URL', () => ['s3://Not_A_Bucket/x'], /^residency: Invalid S3 URL 's3:\/\/Not_A_Bucket\/x'/],
    ['a prefix with no logs', () => [`s3://${bucket}/nothing-here/`], /^residency: audit: s3:\/\/.*\/nothing-here\/: no log files found\n$/],
    ['a --previous in a bucket that does not exist', () => [`s3://${bucket}/logs/`, '--previous', `s3://no-such-bucket-4f1c/audits/x/`], /^residency: --previous: s3:\/\/no-such-bucket-4f1c\/audits\/x\/: cannot read \(NoSuchBucket/],
    ['a --previous with no verdicts', () => [`s3://${bucket}/logs/`, '--previous', `s3://${bucket}/audits/x`], /^residency: --previous: s3:\/\/.*\/audits\/x: cannot read \(s3:\/\/.*\/audits\/x\/: no verdicts there\)\n$/],
  ])('refuses %s with one line and exit 2', (_what, args, message) => {
    // Act
    const r = runCli(['audit', ...args(), '--db', v1, '-j', 'us', '--out', join(work, 'out-refused')], { env });

    // Assess
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('audits a prefix of 1,000 small logs', async () => {
    // Prepare
    const many = await s3.createBucket();
    const log = zeekConnLog(['8.8.8.8', '1.2.4.8', '8.8.8.9']);
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => put(many, `fleet/device-${(i + j) % 10}/conn-${i + j}.log`, log)));
    }
    const out = join(work, 'out-many');

    // Act
    const r = runCli(['audit', `s3://${many}/fleet/`, '--db', v1, '-j', 'us', '--out', out], { env });

    // Assess
    const s = readSummary(latestRun(out));
    expect(s.totals).toMatchObject({ logs: 1000, records: 3000, compliant: 1000, errors: 0 });
    expect(r.status).toBe(0);
    expect(s.prefixes).toHaveLength(10);
    expect(r.stderr).toMatch(/([\d,]+) logs\/s, ([\d,]+) records\/s/);
    process.stdout.write(`audit of 1,000 logs in S3: ${r.stderr}`);
  });
});
