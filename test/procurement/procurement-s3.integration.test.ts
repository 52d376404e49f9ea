/**
 * `residency procurement s3://bucket/prefix` end to end: the built CLI listing and streaming logs
 * from fauxqs on 127.0.0.1 with the real S3 client. The same products are also written to a local
 * folder: both runs must give the same statements but for the logs' names (a path there, the key
 * after the prefix here). Nothing here talks to AWS.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { compareAsFolderWalk, groupProducts } from '../../bin/cli/procurement-s3';
import type { ProcurementStatement } from '../../lambda/engine/procurement/statement';
import { REPO_ROOT, runCli, tempDir } from '../helpers/cli';
import { cliS3Env, startLocalS3, type LocalS3 } from '../helpers/local-s3';

const EXAMPLES = join(REPO_ROOT, 'examples');
const TEST_TABLE = join(__dirname, 'fixtures', 'categories.example.json');
/** Destinations of the example that are in the US, undisputed, and US-operated (plus local ones). */
const US_ONLY = new Set(['192.168.1.1', '224.0.0.251', '52.94.236.248', '54.239.28.85', '17.253.144.10']);

const connLog = readFileSync(join(EXAMPLES, 'drone-app.conn.log'));
const dnsLog = readFileSync(join(EXAMPLES, 'drone-app.dns.log'));
const usOnlyConnLog = Buffer.from(
  connLog
    .toString('utf8')
    .split('\n')
    .filter((line) => line.startsWith('#') || line === '' || US_ONLY.has(line.split('\t')[4] ?? ''))
    .join('\n'),
);

/**
 * Two products, each with a dns.log naming its conn.logs' destinations; drone-x with a second
 * session in a sub-folder (gzip, its own dns.log), listed by the emulator (which orders whole keys
 * by localeCompare) after session_3.conn.log, where a walk of the folder puts it before.
 */
const PRODUCT_FILES: Record<string, Buffer> = {
  'drone-x/drone-app.conn.log': connLog,
  'drone-x/drone-app.dns.log': dnsLog,
  'drone-x/session/conn.log.gz': gzipSync(connLog),
  'drone-x/session/dns.log': dnsLog,
  'drone-x/session_3.conn.log': usOnlyConnLog,
  'us-only/conn.log': usOnlyConnLog,
  'us-only/dns.log': dnsLog,
};

let s3: LocalS3;
let env: NodeJS.ProcessEnv;
const work = tempDir('residency-procurement-s3-');

async function put(bucket: string, key: string, body: string | Buffer): Promise<void> {
  await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from(body) }));
}

/** The same files in a local folder. */
function writeLocal(files: Record<string, Buffer>): string {
  const dir = join(work, 'local', 'products');
  for (const [path, body] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), body);
  }
  return dir;
}

function readStatement(out: string, product: string): ProcurementStatement {
  return JSON.parse(readFileSync(join(out, `${product}.procurement.json`), 'utf8')) as ProcurementStatement;
}

/** A statement with each log's name passed through `rename`, and the time of the check left out. */
function comparable(s: ProcurementStatement, rename: (name: string) => string): unknown {
  return JSON.parse(JSON.stringify(s), (key, value: unknown) => {
    if (key === 'checkedAt') return undefined;
    if (key === 'name' && typeof value === 'string') return rename(value);
    if (key === 'logs' && Array.isArray(value)) return value.map((v) => rename(String(v)));
    return value;
  }) as unknown;
}

beforeAll(async () => {
  s3 = await startLocalS3();
  env = cliS3Env(s3.endpoint);
});

afterAll(() => s3?.stop());

describe('residency procurement s3://', () => {
  let bucket: string;
  let localDir: string;
  const localOut = join(work, 'out-local');
  const s3Out = join(work, 'out-s3');
  let local: ReturnType<typeof runCli>;
  let remote: ReturnType<typeof runCli>;

  beforeAll(async () => {
    // Prepare
    bucket = await s3.createBucket();
    for (const [path, body] of Object.entries(PRODUCT_FILES)) await put(bucket, `products/${path}`, body);
    // Not logs: a folder marker, residency's outputs, hidden files. And a sibling prefix.
    await put(bucket, 'products/drone-x/', '');
    await put(bucket, 'products/drone-x/drone-app.conn.log.verdict.json', '{}');
    await put(bucket, 'products/us-only/conn.log.report.html', '<html>');
    await put(bucket, 'products/us-only/.DS_Store', 'x');
    await put(bucket, 'products/.hidden-product/conn.log', connLog);
    await put(bucket, 'products-old/conn.log', 'not a product: outside products/');
    localDir = writeLocal(PRODUCT_FILES);

    // Act
    local = runCli(['procurement', localDir, '--categories', TEST_TABLE, '--out', localOut]);
    remote = runCli(['procurement', `s3://${bucket}/products`, '--categories', TEST_TABLE, '--out', s3Out], { env });
  });

  it('writes one statement per product, with the same result and exit code as for a local copy', () => {
    // Assess
    expect(remote.stderr).toBe('');
    expect(remote.status).toBe(1);
    expect(local.status).toBe(1);
    expect(readdirSync(s3Out).sort()).toEqual(['drone-x.procurement.json', 'drone-x.procurement.md', 'us-only.procurement.json', 'us-only.procurement.md']);
    expect(remote.stdout.replaceAll(s3Out, 'OUT')).toBe(local.stdout.replaceAll(localOut, 'OUT'));
    expect(remote.stdout).toMatch(/^drone-x: FAIL/m);
    expect(remote.stdout).toMatch(/^us-only: PASS/m);
  });

  it.each(['drone-x', 'us-only'])('gives %s the same statement as the local folder does, its logs named by key after the prefix', (product) => {
    // Prepare
    const fromS3 = readStatement(s3Out, product);
    const fromFolder = readStatement(localOut, product);
    const asLocal = (name: string): string => (Object.hasOwn(PRODUCT_FILES, name) ? join(localDir, name) : name);

    // Assess
    expect(comparable(fromS3, asLocal)).toEqual(comparable(fromFolder, (name) => name));
    expect(fromS3.evidence.inputs.map((i) => i.name)).toEqual(
      fromFolder.evidence.inputs.map((i) => i.name.slice(localDir.length + 1)),
    );
    const markdown = (out: string): string =>
      readFileSync(join(out, `${product}.procurement.md`), 'utf8').replace(/checked at \S+/, 'checked at TIME');
    expect(markdown(s3Out)).toBe(markdown(localOut).replaceAll(`${localDir}/`, ''));
  });

  it('cites each log and dns.log by its key after the prefix with the SHA-256 of its bytes as stored', () => {
    // Act
    const s = readStatement(s3Out, 'drone-x');

    // Assess
    expect(s.evidence.inputs.map((i) => [i.name, i.format, i.bytes])).toEqual([
      ['drone-x/drone-app.conn.log', 'zeek-tsv', connLog.length],
      ['drone-x/session/conn.log.gz', 'zeek-tsv', PRODUCT_FILES['drone-x/session/conn.log.gz']!.length],
      ['drone-x/session_3.conn.log', 'zeek-tsv', usOnlyConnLog.length],
    ]);
    expect(s.evidence.nameSources.map((n) => n.name)).toEqual(['drone-x/drone-app.dns.log', 'drone-x/session/dns.log']);
    const local = readStatement(localOut, 'drone-x');
    expect(s.evidence.inputs.map((i) => i.sha256)).toEqual(local.evidence.inputs.map((i) => i.sha256));
    expect(s.evidence.nameSources.map((n) => [n.sha256, n.bytes])).toEqual(local.evidence.nameSources.map((n) => [n.sha256, n.bytes]));
    // The dns.log named the destinations: the Alibaba-operated host is known by its name.
    expect(s.failedDestinations.find((d) => d.ip === '47.88.1.1')?.hostnames).toEqual(['config.dronevendor.example']);
  });

  it('makes the keys directly under the prefix one product, named after the prefix', async () => {
    // Prepare
    const flat = await s3.createBucket();
    await put(flat, 'drone-y/conn.log', usOnlyConnLog);
    await put(flat, 'drone-y/dns.log', dnsLog);
    const out = join(work, 'out-flat');

    // Act
    const r = runCli(['procurement', `s3://${flat}/drone-y/`, '--categories', TEST_TABLE, '--out', out, '-q'], { env });

    // Assess
    expect(r).toMatchObject({ status: 0, stdout: '', stderr: '' });
    const s = readStatement(out, 'drone-y');
    expect(s.result).toBe('PASS');
    expect(s.evidence.inputs.map((i) => i.name)).toEqual(['conn.log']);
    expect(s.evidence.nameSources.map((n) => n.name)).toEqual(['dns.log']);
  });

  it('names a log that cannot be checked and exits 2, still writing the statements', async () => {
    // Prepare
    const mixed = await s3.createBucket();
    await put(mixed, 'p/a/conn.log', usOnlyConnLog);
    await put(mixed, 'p/b/notes.txt', 'not a log\n');
    await put(mixed, 'p/c/conn.log', usOnlyConnLog);
    await put(mixed, 'p/c/dns.log', 'neither is this\n');
    const out = join(work, 'out-mixed');

    // Act
    const r = runCli(['procurement', `s3://${mixed}/p/`, '--categories', TEST_TABLE, '--out', out, '-q'], { env });

    // Assess
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^residency: b\/notes\.txt: unknown log format/m);
    expect(r.stderr).toMatch(/^residency: c\/dns\.log: no DNS records found \(a file named \*dns\.log is read as a Zeek dns\.log\)$/m);
    expect(readStatement(out, 'a').result).toBe('PASS');
    expect(readStatement(out, 'b').result).toBe('FAIL');
    expect(readStatement(out, 'c').result).toBe('FAIL');
  });

  it.each([
    ['a bucket that does not exist', () => 's3://no-such-bucket-4f1c/products/', /^residency: procurement: s3:\/\/no-such-bucket-4f1c\/products\/: listing failed \(NoSuchBucket/],
    ['an invalid URL', () => 's3://Not_A_Bucket/x', /^residency: Invalid S3 URL 's3:\/\/Not_A_Bucket\/x'/],
    ['a prefix with nothing under it', () => `s3://${bucket}/nothing-here`, /^residency: procurement: s3:\/\/.*\/nothing-here\/: no such prefix \(no objects under it\)\n$/],
  ])('refuses %s with one line and exit 2', (_what, url, message) => {
    // Act
    const r = runCli(['procurement', url(), '--categories', TEST_TABLE, '--out', join(work, 'out-refused')], { env });

    // Assess
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
  });

  it('refuses a prefix whose keys are none of them logs, saying so', async () => {
    // Prepare
    const outputsOnly = await s3.createBucket();
    await put(outputsOnly, 'p/', '');
    await put(outputsOnly, 'p/a/conn.log.verdict.json', '{}');
    await put(outputsOnly, 'p/a/.hidden.log', 'x');

    // Act
    const r = runCli(['procurement', `s3://${outputsOnly}/p`, '--categories', TEST_TABLE, '--out', join(work, 'out-none')], { env });

    // Assess
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^residency: procurement: s3:\/\/.*\/p\/: no log files found\n$/);
  });
});

describe('products under an S3 prefix', () => {
  it('are ordered, and their logs listed, as a walk of a local folder lists them', () => {
    // Prepare: byte order puts 'a/B.log' first and 'a/b/x.log' before 'a/b_c.log' ('/' < '_');
    // a folder walk orders each level by name: 'b', 'b_c.log', 'B.log'.
    const keys = ['z.log', 'b/2.log', 'a/b_c.log', 'a/b/x.log', 'a/B.log', 'dns.log', 'c/dns.log'];

    // Act
    const groups = groupProducts('root', keys);

    // Assess
    expect(groups).toEqual([
      { name: 'root', paths: ['dns.log', 'z.log'] },
      { name: 'a', paths: ['a/b/x.log', 'a/b_c.log', 'a/B.log'] },
      { name: 'b', paths: ['b/2.log'] },
    ]);
    expect(['a/b_c.log', 'a/b/x.log', 'a/B.log'].sort(compareAsFolderWalk)).toEqual(['a/b/x.log', 'a/b_c.log', 'a/B.log']);
  });
});
