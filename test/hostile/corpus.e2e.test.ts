/**
 * Hostile input, end to end: every case of test/fixtures/hostile/cases.json is checked by the built
 * CLI, and must end with exactly the exit status, one-line error and verdict the manifest states,
 * within 10 seconds. Inputs too big to commit (a 10 MB line, a gzip bomb) are generated here.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CLI, REPO_ROOT, tempDir } from '../helpers/cli';

const HOSTILE = join(REPO_ROOT, 'test', 'fixtures', 'hostile');
const FILES = join(HOSTILE, 'files');
const TIME_LIMIT_MS = 10_000;

interface HostileCase {
  /** The input, relative to test/fixtures/hostile/files. */
  file: string;
  /** What to pass instead of the file's path; `{dir}` is the files folder, `{file}` the input. */
  args?: string[];
  /** Working directory, relative to the files folder. */
  cwd?: string;
  /** Feed the file on standard input and pass `-`. */
  stdin?: boolean;
  exit: 0 | 1 | 2;
  /** Regex the whole of standard error must match (one line); when absent, stderr is empty. */
  stderr?: string;
  /** Expected verdict; when absent, no verdict is written. */
  verdict?: {
    compliant?: boolean;
    error?: string;
    totals?: Record<string, unknown>;
    /** Exactly these destination addresses, in any order. */
    destinations?: string[];
  };
}

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

/**
 * Runs the built CLI like `runCli` (test/helpers/cli.ts) does, but with a hard 10 s limit: a hang
 * is killed and fails the case instead of stalling the suite.
 */
function runCliWithin(args: string[], options: { cwd?: string; input?: Buffer; env?: NodeJS.ProcessEnv } = {}): Outcome {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const started = Date.now();
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    input: options.input,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    encoding: 'utf8',
    timeout: TIME_LIMIT_MS,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024,
  });
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started, timedOut };
}

/** Asserts what every run must satisfy: finished in time, no stack trace, errors on one line. */
function expectWellBehaved(out: Outcome, exit: number): void {
  expect(out.timedOut).toBe(false);
  expect(out.ms).toBeLessThan(TIME_LIMIT_MS);
  expect(out.stderr).not.toMatch(/^\s+at /m);
  expect(out.stderr).not.toMatch(/internal error/);
  // Text from the log never reaches the terminal as control characters (ESC, BEL, C1).
  // eslint-disable-next-line no-control-regex
  const control = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
  expect(out.stdout).not.toMatch(control);
  expect(out.stderr).not.toMatch(control);
  expect(out.status).toBe(exit);
  if (exit === 2) expect(out.stderr.trimEnd().split('\n')).toHaveLength(1);
}

type Totals = { records: number; connections: number; skipped: number; noData: number; unattributed?: number };

/** Reads the verdict the run wrote and checks it is valid JSON whose record counts add up. */
function readVerdict(path: string): { compliant: boolean; error?: string; totals: Totals; destinations: { ip: string }[] } {
  const v = JSON.parse(readFileSync(path, 'utf8')) as ReturnType<typeof readVerdict>;
  const t = v.totals;
  expect(t.records).toBe(t.connections + t.skipped + t.noData + (t.unattributed ?? 0));
  if (v.error !== undefined) expect(v.compliant).toBe(false);
  return v;
}

const CASES = JSON.parse(readFileSync(join(HOSTILE, 'cases.json'), 'utf8')) as HostileCase[];

describe('hostile corpus (test/fixtures/hostile/cases.json)', () => {
  it('lists every committed hostile file at least once', () => {
    const listed = new Set(CASES.map((c) => c.file));
    const walk = (dir: string, prefix = ''): string[] =>
      readdirSync(join(FILES, dir), { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
      );
    expect(walk('').filter((f) => !listed.has(f))).toEqual([]);
  });

  it.each(CASES.map((c, i) => [`${c.file}${c.stdin ? ' (stdin)' : ''}${c.args ? ` as ${c.args.join(' ')}` : ''} → exit ${c.exit}`, i] as const))(
    '%s',
    (_name, i) => {
      // Prepare
      const c = CASES[i]!;
      const out = tempDir('residency-hostile-');
      const path = join(FILES, c.file);
      const target = c.stdin ? ['-'] : (c.args ?? ['{file}']).map((a) => a.replace('{dir}', FILES).replace('{file}', path));
      try {
        // Act
        const r = runCliWithin(['check', '--out', out, '--jurisdiction', 'us', ...target], {
          cwd: c.cwd === undefined ? undefined : join(FILES, c.cwd),
          input: c.stdin ? readFileSync(path) : undefined,
        });
        // Assess
        expectWellBehaved(r, c.exit);
        if (c.stderr !== undefined) expect(r.stderr.trimEnd()).toMatch(new RegExp(c.stderr, 'u'));
        else expect(r.stderr).toBe('');
        const written = readdirSync(out);
        if (c.verdict === undefined) {
          expect(written).toEqual([]);
          return;
        }
        // The verdict (and any report beside it) named after the input's base name, inside --out.
        const base = c.stdin ? 'stdin' : basename(c.file);
        for (const name of written) expect(name.startsWith(`${base}.`)).toBe(true);
        expect(written).toContain(`${base}.verdict.json`);
        const v = readVerdict(join(out, `${base}.verdict.json`));
        if (c.verdict.compliant !== undefined) expect(v.compliant).toBe(c.verdict.compliant);
        if (c.verdict.error !== undefined) expect(v.error).toMatch(new RegExp(c.verdict.error, 'u'));
        else expect(v.error).toBeUndefined();
        if (c.verdict.totals !== undefined) expect(v.totals).toMatchObject(c.verdict.totals);
        if (c.verdict.destinations !== undefined) {
          expect(v.destinations.map((d) => d.ip).sort()).toEqual([...c.verdict.destinations].sort());
        }
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    },
  );
});

describe('hostile inputs generated at test time (too big to commit)', () => {
  const HEADER = readFileSync(join(FILES, 'headers-only.log'));
  const GOOD = readFileSync(join(FILES, 'mixed-crlf.log'));
  let dir: string;
  beforeAll(() => {
    dir = tempDir('residency-hostile-big-');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Writes an input, checks it with a 128 MiB heap, returns the outcome and the verdict. */
  function check(name: string, bytes: Buffer): { r: Outcome; v: ReturnType<typeof readVerdict> } {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    const out = join(dir, 'out');
    // A small heap makes "bounded memory" a failure, not a slow swap: the process would die.
    const r = runCliWithin(['check', '--out', out, '--jurisdiction', 'us', '--quiet', path], {
      env: { NODE_OPTIONS: '--max-old-space-size=128' },
    });
    return { r, v: readVerdict(join(out, `${name}.verdict.json`)) };
  }

  it('skips a 10 MB last line without a newline as one record, keeping the rest', () => {
    const { r, v } = check('long-last-line.log', Buffer.concat([GOOD, Buffer.from('1718000000.0\tC\t192.168.1.10\t1\t8.8.8.8\t1\ttcp\t'), Buffer.alloc(10 * 1024 * 1024, 0x41)]));
    expectWellBehaved(r, 0);
    expect(v.compliant).toBe(true);
    expect(v.totals).toMatchObject({ records: 5, connections: 4, skipped: 1, skippedByReason: { 'line longer than 1048576 bytes': 1 } });
  });

  it('reports a log whose only record is a 10 MB line as unreadable, never compliant', () => {
    const { r, v } = check('only-long-line.log', Buffer.concat([HEADER, Buffer.alloc(10 * 1024 * 1024, 0x41)]));
    expectWellBehaved(r, 2);
    expect(r.stderr).toMatch(/^residency: \S+: none of the 1 records could be read as zeek-tsv \(first problem: line 8: line longer than 1048576 bytes: "10485760 bytes"\)\n$/);
    expect(v.compliant).toBe(false);
  });

  it('refuses a 10 MB single line with no header as an unknown format', () => {
    const { r, v } = check('one-line.bin', Buffer.alloc(10 * 1024 * 1024, 0x41));
    expectWellBehaved(r, 2);
    expect(r.stderr).toMatch(/^residency: \S+: unknown log format/);
    expect(v.error).toMatch(/^unknown log format/);
  });

  it('refuses a gzip bomb (a header, then 128 MiB in one line) after reading a bounded amount', () => {
    const { r, v } = check('bomb.log.gz', gzipSync(Buffer.concat([HEADER, Buffer.alloc(128 * 1024 * 1024, 0x41)]), { level: 9 }));
    expectWellBehaved(r, 2);
    expect(r.stderr).toMatch(/^residency: \S+: gzip data expands more than 1000 times .*refusing a likely gzip bomb\n$/);
    expect(v.compliant).toBe(false);
  });

  // Memory grows with distinct destinations (every one is listed in the verdict): 50,000 fit in a
  // 128 MiB heap; 100,000 do not (docs/threat-model.md: no cap yet).
  it('checks 50,000 distinct public destinations within the time and memory limits', () => {
    const rows: string[] = [];
    for (let i = 0; i < 50_000; i++) rows.push(`1718000000.0\tC${i}\t192.168.1.10\t1\t8.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}\t443\ttcp\t-\t0.1\t10\t10`);
    const { r, v } = check('many-addresses.log', Buffer.concat([HEADER, Buffer.from(`${rows.join('\n')}\n`)]));
    expect(r.timedOut).toBe(false);
    expect([0, 1]).toContain(r.status);
    expect(v.totals).toMatchObject({ records: 50_000, connections: 50_000, skipped: 0 });
  });
});
