/**
 * The CLI's `#!` line sets `NODE_EXTRA_CA_CERTS` aside so that Node does not load CA certificates
 * for commands that open no TLS connection (bin/cli/deferred-ca.ts). Here the built CLI runs as a
 * user runs it, through its `#!` line, and:
 * - a check does not load the file (Node warns on start-up when it cannot load it: no warning);
 * - `audit s3://` and `procurement s3://` against the local S3 server behind TLS, with a
 *   certificate only `NODE_EXTRA_CA_CERTS` trusts, still connect (the command runs again with the
 *   variable), and `audit` fails without the variable.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { createServer } from 'node:tls';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { CLI, REPO_ROOT, tempDir, type CliResult } from '../helpers/cli';
import { cliS3Env, startLocalS3, type LocalS3 } from '../helpers/local-s3';
import { zeekConnLog } from '../helpers/zeek';

const TLS_DIR = join(REPO_ROOT, 'test', 'fixtures', 'tls');
const CERT = join(TLS_DIR, 'cert.pem');
const MISSING = join(tempDir('residency-ca-'), 'no-such-bundle.pem');
const LOAD_WARNING = /Ignoring extra certs from/;

/** Runs the CLI file itself (its `#!` line finds this Node first on PATH). */
function runScript(args: string[], env: NodeJS.ProcessEnv): CliResult {
  const r = spawnSync(CLI, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, NO_COLOR: '1', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** {@link runScript}, without blocking this process (which serves the TLS end of the S3 server). */
function runScriptAsync(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(CLI, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, NO_COLOR: '1', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

function runNode(args: string[], env: NodeJS.ProcessEnv): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const log = join(REPO_ROOT, 'examples', 'drone-app.conn.log');

describe('NODE_EXTRA_CA_CERTS', () => {
  it('is not loaded by a check run through the #! line', () => {
    const out = tempDir();
    // The probe works: Node started plainly warns that it cannot load the missing bundle.
    const plain = runNode(['check', log, '--jurisdiction', 'us', '--out', out, '--quiet'], { NODE_EXTRA_CA_CERTS: MISSING });
    expect(plain.stderr).toMatch(LOAD_WARNING);
    const r = runScript(['check', log, '--jurisdiction', 'us', '--out', out, '--quiet'], { NODE_EXTRA_CA_CERTS: MISSING });
    expect(r.stderr).not.toMatch(LOAD_WARNING);
    expect(r.status).toBe(plain.status);
    expect(r.status).toBe(1);
  });

  it('is loaded, once, by a command that talks to AWS', () => {
    const r = runScript(['submit', '--help'], { NODE_EXTRA_CA_CERTS: MISSING });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: residency submit/);
    expect(r.stderr.match(new RegExp(LOAD_WARNING.source, 'g'))).toHaveLength(1);
  });

  it('is given back to the processes a command starts, and not kept aside', () => {
    // `policy show` starts none; what the CLI restores is visible through a preloaded probe.
    const probe = join(tempDir(), 'probe.cjs');
    writeFileSync(
      probe,
      "process.on('exit', () => process.stderr.write('ENV ' + JSON.stringify([process.env.NODE_EXTRA_CA_CERTS, process.env.RESIDENCY_DEFERRED_CA_CERTS]) + '\\n'));\n",
    );
    const r = runScript(['policy', 'show', 'us'], { NODE_EXTRA_CA_CERTS: CERT, NODE_OPTIONS: `-r ${probe}` });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`ENV ${JSON.stringify([CERT, undefined])}`);
    // With no variable set, nothing is set for the children either.
    const none = runScript(['policy', 'show', 'us'], { NODE_EXTRA_CA_CERTS: undefined, NODE_OPTIONS: `-r ${probe}` });
    expect(none.status).toBe(0);
    expect(none.stderr).toContain(`ENV ${JSON.stringify([undefined, undefined])}`);
  });
});

describe('GLIBC_TUNABLES', () => {
  // What the process started with (read by a preloaded probe before the CLI runs) and what its
  // children would get (at exit).
  const probe = (): string => {
    const file = join(tempDir(), 'probe.cjs');
    writeFileSync(
      file,
      "const start = process.env.GLIBC_TUNABLES; process.on('exit', () => process.stderr.write('TUNABLES ' + JSON.stringify([start, process.env.GLIBC_TUNABLES]) + '\\n'));\n",
    );
    return file;
  };

  it("asks malloc for huge pages for the check, and gives the children the user's tunables back", () => {
    const file = probe();
    const out = tempDir();
    const none = runScript(['check', log, '--jurisdiction', 'us', '--out', out, '--quiet'], { GLIBC_TUNABLES: undefined, NODE_OPTIONS: `-r ${file}` });
    expect(none.status).toBe(1);
    expect(none.stderr).toContain(`TUNABLES ${JSON.stringify(['glibc.malloc.hugetlb=1:', undefined])}`);
    const users = 'glibc.malloc.tcache_count=7';
    const own = runScript(['policy', 'show', 'us'], { GLIBC_TUNABLES: users, NODE_OPTIONS: `-r ${file}` });
    expect(own.status).toBe(0);
    expect(own.stderr).toContain(`TUNABLES ${JSON.stringify([`glibc.malloc.hugetlb=1:${users}`, users])}`);
  });

  it('is left as it is when the CLI is not started by its #! line', () => {
    const r = runNode(['policy', 'show', 'us'], { GLIBC_TUNABLES: 'glibc.malloc.tcache_count=7', NODE_OPTIONS: `-r ${probe()}` });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`TUNABLES ${JSON.stringify(['glibc.malloc.tcache_count=7', 'glibc.malloc.tcache_count=7'])}`);
  });
});

describe('audit and procurement of s3:// over TLS with a certificate that only NODE_EXTRA_CA_CERTS trusts', () => {
  let s3: LocalS3;
  let proxy: Server;
  let endpoint: string;
  let bucket: string;

  beforeAll(async () => {
    s3 = await startLocalS3();
    bucket = await s3.createBucket();
    await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'logs/conn.log', Body: zeekConnLog(['8.8.8.8']) }));
    // TLS in front of the local server's plain HTTP port.
    const target = new URL(s3.endpoint);
    proxy = createServer({ key: readFileSync(join(TLS_DIR, 'key.pem')), cert: readFileSync(CERT) }, (socket) => {
      const upstream = connect(Number(target.port), target.hostname);
      socket.pipe(upstream).pipe(socket);
      const close = (): void => {
        socket.destroy();
        upstream.destroy();
      };
      socket.on('error', close);
      upstream.on('error', close);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const addr = proxy.address();
    endpoint = `https://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => proxy?.close(resolve));
    await s3?.stop();
  });

  const awsEnv = (): NodeJS.ProcessEnv => cliS3Env(endpoint);

  it('connects when the variable names the certificate', async () => {
    const out = tempDir();
    const r = await runScriptAsync(['audit', `s3://${bucket}/logs/`, '--jurisdiction', 'us', '--out', out], { ...awsEnv(), NODE_EXTRA_CA_CERTS: CERT });
    expect(r.stderr).not.toMatch(/certificate|internal error/i);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/1 log/);
  });

  it('connects for procurement of an s3:// prefix too', async () => {
    const out = tempDir();
    const r = await runScriptAsync(['procurement', `s3://${bucket}/logs/`, '--jurisdiction', 'us', '--out', out], { ...awsEnv(), NODE_EXTRA_CA_CERTS: CERT });
    expect(r.stderr).not.toMatch(/certificate|internal error/i);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^logs: PASS/);
  });

  it('does not connect without it', async () => {
    const out = tempDir();
    const r = await runScriptAsync(['audit', `s3://${bucket}/logs/`, '--jurisdiction', 'us', '--out', out], { ...awsEnv(), NODE_EXTRA_CA_CERTS: undefined });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/certificate/i);
  });
});
