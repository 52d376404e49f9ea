/**
 * `residency serve` and `residency submit` as a user runs them: two real processes of the built
 * CLI (`npm test` builds it first) talking S3 over 127.0.0.1. Nothing here talks to AWS.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ensureBucket } from '../../lambda/adapters/local-pipeline';
import { createS3Client } from '../../lambda/adapters/s3-client';
import { CLI, REPO_ROOT, tempDir, type CliResult } from '../helpers/cli';
import { fixturePath } from '../helpers/engine';
import { cliS3Env } from '../helpers/local-s3';

const EXAMPLE = join(REPO_ROOT, 'examples', 'drone-app.conn.log');
const POP3 = fixturePath('zeek', 'conn-pop3.tsv.log');
const UPLOADS = 'residency-uploads';
const VERDICTS = 'residency-verdicts';
// Serve's policy: the drone app's crash reports to China are violations, POP3 mail to DE is fine.
const POLICY = 'us,de';
const SUBMIT = ['--bucket', UPLOADS, '--verdict-bucket', VERDICTS];

interface Served {
  readonly child: ChildProcessWithoutNullStreams;
  readonly endpoint: string;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

let served: Served;
let dir: string;

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The environment a user of `submit` would set for a local endpoint. */
const submitEnv = cliS3Env;

/** Runs the CLI to completion (asynchronously, so the serve child's output keeps flowing). */
function runCliAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult & { ms: number }> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const started = Date.now();
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, AWS_PROFILE: undefined, NO_COLOR: '1', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.once('close', (status) => {
      clearTimeout(killer);
      resolve({ status, stdout, stderr, ms: Date.now() - started });
    }),
  );
}

/** Starts `residency serve ARGS` and waits for its ready line. */
async function startServe(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  // Should jest itself end early, take the server down with it.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));
  await waitFor(() => /^Watching /m.test(output), () => `serve did not get ready:\n${output}`, exited);
  const endpoint = /local S3 endpoint (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
  if (!endpoint) throw new Error(`no endpoint in serve's output:\n${output}`);
  return { child, endpoint, output: () => output, exited };
}

async function waitFor(ready: () => boolean, why: () => string, exited?: Promise<unknown>, timeoutMs = 15_000): Promise<void> {
  let gone = false;
  void exited?.then(() => (gone = true));
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (gone || Date.now() > deadline) throw new Error(why());
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stopServe(s: Served | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (!s || s.child.exitCode !== null || s.child.signalCode !== null) return s?.child.exitCode ?? null;
  s.child.kill(signal);
  // A safety net only: on a loaded CI machine a clean stop (fauxqs included) can take seconds.
  const timer = setTimeout(() => s.child.kill('SIGKILL'), 20_000);
  const code = await s.exited;
  clearTimeout(timer);
  return code;
}

function refusesConnections(endpoint: string): Promise<boolean> {
  const { hostname, port } = new URL(endpoint);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** A Zeek conn.log of at least `minBytes`: the example's records, repeated. */
function largeZeekLog(minBytes: number): Buffer {
  const lines = readFileSync(EXAMPLE, 'utf8').split('\n');
  const header = lines.filter((l) => l.startsWith('#') && !l.startsWith('#close'));
  const records = lines.filter((l) => l !== '' && !l.startsWith('#')).join('\n') + '\n';
  const copies = Math.ceil(minBytes / Buffer.byteLength(records));
  return Buffer.from(`${header.join('\n')}\n${records.repeat(copies)}`);
}

/** A bucket on serve's endpoint that serve does not watch. */
async function createUnwatchedBucket(): Promise<void> {
  const client = createS3Client(submitEnv(served.endpoint), {
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  try {
    await ensureBucket(client, 'unwatched');
  } finally {
    client.destroy();
  }
}

beforeAll(async () => {
  dir = tempDir('residency-submit-');
  served = await startServe(['--port', '0', '--policy', POLICY]);
});

afterAll(async () => {
  await stopServe(served);
});

describe('residency serve + submit', () => {
  it('prints the endpoint and a submit command to copy', () => {
    expect(served.output()).toContain(`AWS_ENDPOINT_URL_S3=${served.endpoint} `);
    expect(served.output()).toContain(`npx residency submit conn.log --bucket ${UPLOADS} --verdict-bucket ${VERDICTS}`);
    expect(served.output()).toContain('policy:   data must stay in: DE, US');
  });

  it('exits 1 and names the violations when the log sends data outside the policy', async () => {
    // Act
    const r = await runCliAsync(['submit', EXAMPLE, ...SUBMIT, '--json'], submitEnv(served.endpoint));

    // Assess
    expect(r.status).toBe(1);
    const verdict = JSON.parse(r.stdout.trim());
    expect(verdict).toMatchObject({
      compliant: false,
      input: { name: 'incoming/drone-app.conn.log', sha256: sha256(readFileSync(EXAMPLE)), source: { bucket: UPLOADS } },
    });
    // Five: four in China, and one the two bundled databases place in US or CA (disputed).
    expect(r.stderr).toMatch(/Result: NOT COMPLIANT \(5 of 11 destinations in violation/);
    expect(r.stderr).toContain('183.3.226.35 (CN): 2 conns, 23 kB sent; CN is not in the allowed set DE, US');
    expect(r.stderr).toContain(`Verdict: s3://${VERDICTS}/verdicts/incoming/drone-app.conn.log.verdict.json`);
    // serve prints its line once the report and the destinations are written too, after the
    // verdict that submit waits for.
    const line = / incoming\/drone-app\.conn\.log: NOT COMPLIANT -> /;
    await waitFor(() => line.test(served.output()), () => `serve printed no line for the upload:\n${served.output()}`, undefined, 5000);
    expect(served.output()).toMatch(line);
  });

  it('exits 0 when every destination is allowed', async () => {
    // Act
    const r = await runCliAsync(['submit', POP3, ...SUBMIT], submitEnv(served.endpoint));

    // Assess
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^incoming\/conn-pop3\.tsv\.log \(zeek-tsv/);
    expect(r.stdout).toContain('Result: COMPLIANT (3 destinations');
    expect(r.stderr).toBe('');
  });

  it('waits for the verdict of this upload, not one left by an earlier upload of the same name', async () => {
    // Prepare
    const file = join(dir, 'same-name.conn.log');
    copyFileSync(EXAMPLE, file);
    expect((await runCliAsync(['submit', file, ...SUBMIT, '-q'], submitEnv(served.endpoint))).status).toBe(1);
    copyFileSync(POP3, file);

    // Act
    const r = await runCliAsync(['submit', file, ...SUBMIT, '--json', '-q'], submitEnv(served.endpoint));

    // Assess
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).input.sha256).toBe(sha256(readFileSync(POP3)));
  });

  it('uploads a large log in parts and several files at once; the worst verdict sets the exit status', async () => {
    // Prepare: over the 8 MiB part size, so uploadFile uses a multipart upload.
    const large = join(dir, 'large.conn.log.gz');
    const bytes = largeZeekLog(9 * 1024 * 1024);
    writeFileSync(large, gzipSync(bytes, { level: 1 }));
    const plain = join(dir, 'large-plain.conn.log');
    writeFileSync(plain, bytes);

    // Act
    const r = await runCliAsync(['submit', POP3, plain, large, ...SUBMIT, '--json', '-q'], submitEnv(served.endpoint));

    // Assess
    expect(r.status).toBe(1);
    const verdicts = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(verdicts.map((v) => [v.input.name, v.compliant, v.input.compression])).toEqual([
      ['incoming/conn-pop3.tsv.log', true, 'none'],
      ['incoming/large-plain.conn.log', false, 'none'],
      ['incoming/large.conn.log.gz', false, 'gzip'],
    ]);
    expect(verdicts[1].input).toMatchObject({ bytes: bytes.byteLength, sha256: sha256(bytes) });
    expect(verdicts[1].input.source.etag).toMatch(/-2$/);
    expect(verdicts[2].input.decodedBytes).toBe(bytes.byteLength);
  });

  it('exits 2 with the checker’s message when the file is not a connection log', async () => {
    // Prepare
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'shopping list\neggs\nmilk\n');

    // Act
    const r = await runCliAsync(['submit', file, ...SUBMIT], submitEnv(served.endpoint));

    // Assess
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^residency: ${file}: unknown log format[^\\n]*\\n$`));
  });

  it('exits 2 after --timeout when nothing checks the bucket', async () => {
    // Prepare
    await createUnwatchedBucket();
    const file = join(dir, 'unwatched.conn.log');
    copyFileSync(POP3, file);
    const args = ['--bucket', 'unwatched', '--verdict-bucket', VERDICTS, '--timeout', '2'];

    // Act
    const r = await runCliAsync(['submit', file, ...args], submitEnv(served.endpoint));

    // Assess
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `residency: ${file}: no verdict at s3://${VERDICTS}/verdicts/incoming/unwatched.conn.log.verdict.json within 2 s ` +
        '(is the checker deployed for this bucket, or residency serve running?)\n',
    );
    expect(r.ms).toBeGreaterThanOrEqual(1_500);
    expect(r.ms).toBeLessThan(10_000);
  });

  it('does not take the verdict about the same bytes uploaded to another bucket', async () => {
    // Prepare: s3://residency-uploads/incoming/conn-pop3.tsv.log has its verdict by now, and
    // without versioning the ETag (MD5 of the bytes) is the same in any bucket.
    await createUnwatchedBucket();
    expect((await runCliAsync(['submit', POP3, ...SUBMIT, '-q'], submitEnv(served.endpoint))).status).toBe(0);

    // Act
    const r = await runCliAsync(
      ['submit', POP3, '--bucket', 'unwatched', '--verdict-bucket', VERDICTS, '--timeout', '1'],
      submitEnv(served.endpoint),
    );

    // Assess
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^residency: .*: the verdict at s3:\/\/residency-verdicts\/verdicts\/incoming\/conn-pop3\.tsv\.log\.verdict\.json is still about another upload after 1 s /);
  });

  it('exits 2 naming the bucket when the upload fails', async () => {
    const r = await runCliAsync(['submit', POP3, '--bucket', 'no-such-bucket', '--verdict-bucket', VERDICTS], submitEnv(served.endpoint));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^residency: .*conn-pop3\.tsv\.log: upload to s3:\/\/no-such-bucket\/incoming\/conn-pop3\.tsv\.log failed \(NoSuchBucket[^\n]*\n$/);
  });
});

describe('residency submit: arguments', () => {
  it.each([
    [['submit', POP3, ...SUBMIT, '-j', 'us'], /^residency: submit takes no policy: the pipeline's decides/],
    [['submit', POP3, '--verdict-bucket', VERDICTS], /^residency: submit: --bucket \(the upload bucket\) is required\n$/],
    [['submit', ...SUBMIT], /^residency: submit: name at least one log file\n$/],
    [['submit', POP3, ...SUBMIT, '--timeout', 'soon'], /^residency: --timeout: expected a number of seconds/],
    [['submit', POP3, ...SUBMIT, '--prefix', 'incoming'], /^residency: --prefix: expected a key prefix ending in '\/'/],
    [['submit', POP3, join(REPO_ROOT, 'test', 'fixtures', '..', 'fixtures', 'zeek', 'conn-pop3.tsv.log'), ...SUBMIT], /would both be uploaded as s3:\/\/residency-uploads\/incoming\/conn-pop3\.tsv\.log\n$/],
    [['submit', 'no-such.log', ...SUBMIT], /^residency: no-such\.log: cannot read \(no such file\)\n$/],
  ])('%j exits 2 with one line', async (args, message) => {
    const r = await runCliAsync(args, submitEnv('http://127.0.0.1:9'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('residency serve: start and stop', () => {
  it('stops cleanly on SIGINT, and its S3 endpoint goes with it', async () => {
    // Prepare
    const s = await startServe(['--port', '0']);

    // Act
    const code = await stopServe(s, 'SIGINT');

    // Assess
    expect(code).toBe(0);
    expect(s.output()).toMatch(/Stopped \(SIGINT\)\.\n$/);
    expect(await refusesConnections(s.endpoint)).toBe(true);
  });

  it('exits 2 naming --policy when the policy is bad, before starting anything', async () => {
    const r = await runCliAsync(['serve', '--port', '0', '--policy', 'us,xx']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^residency: --policy: [^\n]*xx[^\n]*\n$/i);
  });

  it('exits 2 when uploads and verdicts would share a bucket (each verdict would be checked in turn), before starting anything', async () => {
    const r = await runCliAsync(['serve', '--port', '0', '--upload-bucket', 'same-bucket', '--verdict-bucket', 'same-bucket']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^residency: --upload-bucket and --verdict-bucket must differ \(both are 'same-bucket'\)[^\n]*\n$/);
    expect(r.stdout).toBe('');
  });

  it('exits 2 when the port is taken', async () => {
    // Prepare
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const { port } = blocker.address() as { port: number };

    // Act
    const r = await runCliAsync(['serve', '--port', String(port)], {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    await new Promise((r2) => blocker.close(r2));

    // Assess
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`residency: local S3 server did not start: 127.0.0.1:${port} is already in use (choose another with --port)\n`);
  });
});
