/**
 * `residency procurement` end to end: the built CLI on a folder of two products made from the
 * bundled example (examples/drone-app.*), judged with a test table of its `.example` hosts.
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ProcurementStatement } from '../../lambda/engine/procurement/statement';
import { REPO_ROOT, runCli, tempDir } from '../helpers/cli';

const EXAMPLES = join(REPO_ROOT, 'examples');
const TEST_TABLE = join(__dirname, 'fixtures', 'categories.example.json');
/** Destinations of the example that are in the US, undisputed, and US-operated (plus local ones). */
const US_ONLY = new Set(['192.168.1.1', '224.0.0.251', '52.94.236.248', '54.239.28.85', '17.253.144.10']);

/** `<dir>/drone-x` = the example as is; `<dir>/us-only` = its conn.log keeping only US_ONLY destinations. */
function makeProducts(): string {
  const dir = tempDir('residency-procurement-');
  mkdirSync(join(dir, 'drone-x'));
  mkdirSync(join(dir, 'us-only'));
  for (const f of ['drone-app.conn.log', 'drone-app.dns.log']) cpSync(join(EXAMPLES, f), join(dir, 'drone-x', f));
  const filtered = readFileSync(join(EXAMPLES, 'drone-app.conn.log'), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('#') || line === '' || US_ONLY.has(line.split('\t')[4] ?? ''))
    .join('\n');
  writeFileSync(join(dir, 'us-only', 'conn.log'), filtered);
  cpSync(join(EXAMPLES, 'drone-app.dns.log'), join(dir, 'us-only', 'dns.log'));
  return dir;
}

function readStatement(out: string, product: string): ProcurementStatement {
  return JSON.parse(readFileSync(join(out, `${product}.procurement.json`), 'utf8')) as ProcurementStatement;
}

function category(s: ProcurementStatement, name: string): string {
  return s.categories.find((c) => c.category === name)!.result;
}

describe('residency procurement', () => {
  let dir: string;
  let out: string;
  let result: ReturnType<typeof runCli>;

  beforeAll(() => {
    // Prepare
    dir = makeProducts();
    out = join(dir, 'statements');
    // Act
    result = runCli(['procurement', dir, '--categories', TEST_TABLE, '--out', out]);
  });

  it('exits 1 because one product fails, and prints each result', () => {
    expect(result.stderr).toBe('');
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/^drone-x: FAIL/m);
    expect(result.stdout).toMatch(/^us-only: PASS/m);
  });

  it('skips residency\'s own outputs: run again with its statements (and a verdict) inside the folder, it reads the same logs', () => {
    // Prepare: products whose folder holds a first run's statements, and a check's verdict and
    // reports beside a log.
    const own = makeProducts();
    expect(runCli(['procurement', own, '--categories', TEST_TABLE, '--out', join(own, 'statements'), '-q']).status).toBe(1);
    const verdicts = join(own, 'drone-x', 'verdicts');
    expect(runCli(['check', join(own, 'drone-x', 'drone-app.conn.log'), '-j', 'us', '-o', verdicts, '-q', '--report', 'html,md,csv']).status).toBe(1);
    const again = join(own, '..', `${basename(own)}-again`);

    // Act
    const r = runCli(['procurement', own, '--categories', TEST_TABLE, '--out', again]);

    // Assess
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    expect(r.stdout).not.toMatch(/^statements:/m);
    const names = (st: ProcurementStatement): string[] => st.evidence.inputs.map((i) => i.name);
    expect(names(readStatement(again, 'drone-x'))).toEqual([join(own, 'drone-x', 'drone-app.conn.log')]);
    expect(readStatement(again, 'drone-x').result).toBe('FAIL');
  });

  it('fails drone-x: crash reports FAIL, flight logs PASS, the Alibaba-operated host fails under operator: fail', () => {
    // Act
    const s = readStatement(out, 'drone-x');
    // Assess
    expect(s.result).toBe('FAIL');
    expect(category(s, 'device-identifiers-and-crash-reports')).toBe('FAIL');
    expect(category(s, 'flight-logs')).toBe('PASS');
    expect(category(s, 'media')).toBe('NOT OBSERVED');
    expect(category(s, 'unclassified')).toBe('FAIL');
    const alibaba = s.failedDestinations.find((d) => d.ip === '47.88.1.1');
    expect(alibaba).toMatchObject({
      hostnames: ['config.dronevendor.example'],
      country: 'US',
      asn: 45102,
      operatorCountry: 'CN',
      categories: ['updates'],
    });
    expect(alibaba!.asOrganization).toMatch(/Alibaba/);
    expect(s.failedDestinations.map((d) => d.ip)).toEqual(expect.arrayContaining(['183.3.226.35', '2402:4e00::1']));
  });

  it('passes the US-only product, with its unclassified traffic to review', () => {
    const s = readStatement(out, 'us-only');
    expect(s.result).toBe('PASS');
    expect(s.failedDestinations).toEqual([]);
    expect(category(s, 'flight-logs')).toBe('PASS');
    expect(category(s, 'unclassified')).toBe('REVIEW');
    expect(s.review.length).toBeGreaterThan(0);
  });

  it('cites the evidence: input and DNS log hashes, databases with build dates, the us-gov-drone policy, the table', () => {
    // Act
    const s = readStatement(out, 'drone-x');
    const md = readFileSync(join(out, 'drone-x.procurement.md'), 'utf8');
    // Assess
    expect(s.evidence.policy).toMatchObject({ name: 'us-gov-drone', operator: 'fail', unknown: 'fail', disputed: 'fail' });
    expect(s.evidence.inputs).toHaveLength(1);
    expect(s.evidence.inputs[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(s.evidence.nameSources[0]!.name).toMatch(/drone-app\.dns\.log$/);
    expect(s.evidence.databases.some((d) => d.role === 'location' && d.buildEpoch !== '')).toBe(true);
    expect(s.evidence.categoryTable.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(md).toMatch(/\*\*Result: FAIL\*\*/);
    expect(md).toMatch(/\| config\.dronevendor\.example \| 47\.88\.1\.1 \| US \| AS45102 .*Alibaba.*registered in CN/);
  });

  it('exits 0 when every product passes', () => {
    const r = runCli(['procurement', join(dir, 'us-only'), '--categories', TEST_TABLE, '--out', join(dir, 'only'), '--quiet']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(readStatement(join(dir, 'only'), 'us-only').result).toBe('PASS');
  });

  it('takes another policy from --jurisdiction/--deny', () => {
    const r = runCli(['procurement', join(dir, 'drone-x'), '--categories', TEST_TABLE, '--out', join(dir, 'warn'), '-q', '--jurisdiction', 'us']);
    expect(r.status).toBe(1);
    expect(readStatement(join(dir, 'warn'), 'drone-x').evidence.policy.operator).toBe('warn');
  });

  it('exits 2 for a bad category table or a missing folder', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"entries":[{"pattern":"a.example","category":"telemetry","source":"x"}]}');
    const r1 = runCli(['procurement', join(dir, 'drone-x'), '--categories', bad, '--out', join(dir, 'x')]);
    expect(r1.status).toBe(2);
    expect(r1.stderr).toMatch(/bad\.json: entries\[0\]: category/);
    const r2 = runCli(['procurement', join(dir, 'nope')]);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/no such folder/);
  });

  it('reads a product\'s flow logs of a custom format without a header line with --vpc-format, as check does', () => {
    // Prepare: one product whose only log is a CloudWatch Logs export of a five-field format.
    const vpc = join(dir, 'vpc-products');
    mkdirSync(join(vpc, 'cloud-app'), { recursive: true });
    writeFileSync(join(vpc, 'cloud-app', 'flows.log'), '2023-11-14T22:14:20.000Z eni-0a1b 10.0.1.5 54.239.28.85 700 ACCEPT\n');
    const format = '${interface-id} ${srcaddr} ${dstaddr} ${bytes} ${action}';

    // Act
    const without = runCli(['procurement', vpc, '--categories', TEST_TABLE, '--out', join(vpc, 'out-0')]);
    const given = runCli(['procurement', vpc, '--categories', TEST_TABLE, '--out', join(vpc, 'out-1'), '--vpc-format', format]);

    // Assess: unread, the product fails on its log (exit 2: a log could not be checked); read, its one destination is judged.
    expect(without.status).toBe(2);
    expect(readStatement(join(vpc, 'out-0'), 'cloud-app').reasons.join(' ')).toMatch(/unknown log format/);
    expect(given.stderr).toBe('');
    const statement = readStatement(join(vpc, 'out-1'), 'cloud-app');
    expect(statement.evidence.inputs).toEqual([expect.objectContaining({ format: 'vpc-flow' })]);
    expect(statement.destinations.map((d) => d.ip)).toEqual(['54.239.28.85']);
  });

  it('accepts --policy us-gov-drone in check too', () => {
    const r = runCli(['check', join(dir, 'us-only', 'conn.log'), '--policy', 'us-gov-drone', '--out', join(dir, 'v'), '--report', 'none', '-q']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
