/**
 * The CLI used carelessly: output piped into a reader that stops early, file names the output
 * folder cannot hold, arguments that say one thing twice. Each is checked as a user would meet it.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, REPO_ROOT, runCli, tempDir } from '../helpers/cli';

const EXAMPLE = join(REPO_ROOT, 'examples', 'drone-app.conn.log');

/** Runs `residency ARGS | head -1` in a shell; returns the CLI's exit status and what head printed. */
function runIntoHead(args: string[], cwd: string): { status: number; stdout: string } {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('bash', ['-c', `${quoted} | head -1; exit "\${PIPESTATUS[0]}"`], {
    cwd,
    env: { ...process.env, NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status ?? -1, stdout: r.stdout };
}

describe('residency check piped into a reader that stops early', () => {
  it('still checks every input, writes every verdict and exits with their status', () => {
    // Prepare: three logs with violations; `head -1` closes the pipe after the first line.
    const dir = tempDir();
    const out = join(dir, 'out');
    const inputs = ['a.log', 'b.log', 'c.log'].map((name) => {
      copyFileSync(EXAMPLE, join(dir, name));
      return name;
    });

    // Act
    const r = runIntoHead(['check', ...inputs, '-j', 'us', '-o', out, '--report', 'none'], dir);

    // Assess: not 0 ("all compliant"), and no verdict missing.
    expect(r.stdout).toMatch(/^a\.log \(zeek-tsv/);
    expect(r.status).toBe(1);
    expect(readdirSync(out).sort()).toEqual(['a.log.verdict.json', 'b.log.verdict.json', 'c.log.verdict.json']);
  });

  it('keeps exit status 2 when a later input cannot be read', () => {
    const dir = tempDir();
    copyFileSync(EXAMPLE, join(dir, 'a.log'));
    const r = runIntoHead(['check', 'a.log', 'missing.log', '-j', 'us', '-o', join(dir, 'out'), '--report', 'none'], dir);
    expect(r.status).toBe(2);
    expect(existsSync(join(dir, 'out', 'a.log.verdict.json'))).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'out', 'a.log.verdict.json'), 'utf8'))).toMatchObject({ compliant: false });
  });
});

describe('residency check: input names the output folder cannot hold as they are', () => {
  it("writes the verdict of an input whose name is near the file system's limit", () => {
    // Prepare: a 250-byte name is a valid file, but `<name>.verdict.json` would be 263 bytes.
    const dir = tempDir();
    const long = `${'a'.repeat(240)}.conn.log`;
    const other = `${'a'.repeat(240)}.other.log`;
    copyFileSync(EXAMPLE, join(dir, long));
    copyFileSync(EXAMPLE, join(dir, other));
    const out = join(dir, 'out');

    // Act
    const r = runCli(['check', long, other, '-j', 'us', '-o', out, '--report', 'html,md,csv,jsonl'], { cwd: dir });

    // Assess: checked and written, each output named after the beginning of its input's name, apart.
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    const written = readdirSync(out).sort();
    expect(written).toHaveLength(10);
    for (const name of written) {
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
      expect(name.startsWith('a'.repeat(150))).toBe(true);
    }
    const verdicts = written.filter((n) => n.endsWith('.verdict.json'));
    expect(verdicts).toHaveLength(2);
    const names = verdicts.map((n) => JSON.parse(readFileSync(join(out, n), 'utf8')).input.name).sort();
    expect(names).toEqual([long, other].sort());
    expect(r.stdout).toContain(`Verdict: ${join(out, verdicts.find((n) => JSON.parse(readFileSync(join(out, n), 'utf8')).input.name === long)!)}`);
  });
});

describe('residency check --policy: a field given twice', () => {
  it('exits 2 naming the file, line and field, instead of checking against the last one', () => {
    // Prepare: `allowedCountries` edited by appending, not replacing.
    const dir = tempDir();
    writeFileSync(join(dir, 'policy.json'), '{\n  "allowedCountries": ["us"],\n  "allowedCountries": ["cn"]\n}\n');

    // Act
    const r = runCli(['check', EXAMPLE, '--policy', 'policy.json', '-o', join(dir, 'out')], { cwd: dir });

    // Assess
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('residency: policy.json: line 3, column 3: field "allowedCountries" is given twice in one object (JSON keeps only the last)\n');
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });
});

describe('residency check --policy: local networks that take in every address', () => {
  it('exits 2 naming the field, instead of a compliant verdict that judged no destination', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'policy.json'), JSON.stringify({ allowedCountries: ['us'], deniedCountries: ['cn'], localNetworks: ['0.0.0.0/0', '::/0'] }));
    const r = runCli(['check', EXAMPLE, '--policy', 'policy.json', '-o', join(dir, 'out')], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^residency: policy\.json: localNetworks\[0\]: '0\.0\.0\.0\/0' takes in every IPv4 address: .*\n$/);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });
});

describe('residency check --columns: a mapping that cannot be meant', () => {
  const run = (columns: string): { status: number | null; stderr: string; out: string } => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.csv'), 'peer,up\n114.114.114.114,500\n');
    writeFileSync(join(dir, 'b.csv'), 'peer,up\n8.8.8.8,100\n');
    const out = join(dir, 'out');
    const r = runCli(['check', 'a.csv', 'b.csv', '-j', 'us', '--columns', columns, '-o', out], { cwd: dir });
    return { status: r.status, stderr: r.stderr, out };
  };

  it('names an unknown key once, before any file is read, instead of an error verdict per input', () => {
    const r = run('dest=peer,bytes_out=up');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      "residency: --columns: unknown key 'dest' in 'dest=peer' (expected one of dst, src, dst_port, src_port, proto, bytes_out, bytes_in, start, end, host, app, action, nat_dst, local_orig, local_resp)\n",
    );
    expect(existsSync(r.out)).toBe(false);
  });

  it('refuses a key mapped twice, instead of keeping the last', () => {
    const r = run('dst=peer,dst=up');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("residency: --columns: dst is mapped twice ('peer' and 'up')\n");
    expect(existsSync(r.out)).toBe(false);
  });
});

describe('folders of logs holding links and pipes', () => {
  /** A product folder: one compliant log, a link to a log with a violation, and entries that are not logs. */
  function productFolder(): string {
    const root = tempDir();
    const product = join(root, 'products', 'drone-x');
    mkdirSync(product, { recursive: true });
    writeFileSync(join(product, 'ok.csv'), 'dst_ip,bytes_out\n8.8.8.8,100\n');
    writeFileSync(join(root, 'cn.csv'), 'dst_ip,bytes_out\n114.114.114.114,100\n');
    symlinkSync(join(root, 'cn.csv'), join(product, 'linked.csv'));
    symlinkSync(root, join(product, 'folder-link'));
    symlinkSync(join(root, 'gone.csv'), join(product, 'broken.csv'));
    expect(spawnSync('mkfifo', [join(product, 'pipe.csv')]).status).toBe(0);
    return root;
  }

  it('procurement reads a linked log (a FAIL, not a PASS) and names what it does not read', () => {
    const root = productFolder();
    const r = runCli(['procurement', join(root, 'products'), '-j', 'us', '-o', join(root, 'out')], { cwd: root });
    expect(r.stdout).toMatch(/^drone-x: FAIL/);
    expect(r.status).toBe(1);
    const product = join(root, 'products', 'drone-x');
    expect(r.stderr.split('\n').filter(Boolean).sort()).toEqual([
      `residency: warning: ${join(product, 'broken.csv')}: a broken link: not read`,
      `residency: warning: ${join(product, 'folder-link')}: a link to a folder (not followed): not read`,
      `residency: warning: ${join(product, 'pipe.csv')}: a named pipe: not read`,
    ]);
  });

  it('audit counts what it does not read as skipped', () => {
    const root = productFolder();
    const out = join(root, 'out');
    const r = runCli(['audit', join(root, 'products'), '-j', 'us', '-o', out, '-q'], { cwd: root });
    expect(r.status).toBe(1);
    const [run] = readdirSync(join(out, 'audits'));
    const summary = JSON.parse(readFileSync(join(out, 'audits', run!, 'summary.json'), 'utf8'));
    expect(summary.totals.logs).toBe(2);
    expect(summary.skipped).toBe(3);
  });
});

describe('residency check: a flag whose value looks like a flag', () => {
  it('is one readable line, not one with escaped line breaks', () => {
    const r = runCli(['check', EXAMPLE, '-j', 'us', '--max-skipped', '-1'], { cwd: tempDir() });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      "residency: Option '--max-skipped' argument is ambiguous. Did you forget to specify the option argument for '--max-skipped'? To specify an option argument starting with a dash use '--max-skipped=-XYZ'. (try --help)\n",
    );
  });
});

describe('residency check - -', () => {
  it('refuses standard input named twice before reading it, instead of an empty second input', () => {
    const dir = tempDir();
    const r = runCli(['check', '-', '-', '-j', 'us', '-o', join(dir, 'out')], { cwd: dir, input: readFileSync(EXAMPLE) });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("residency: check: '-' (standard input) is named more than once; it can be read only once\n");
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });
});

describe('residency policy: help and stray arguments', () => {
  it('prints its help for --help after a subcommand, instead of looking for a preset or file named --help', () => {
    for (const argv of [['policy', 'show', '--help'], ['policy', 'validate', '-h']]) {
      const r = runCli(argv);
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^Usage:\n {2}residency policy validate <file>/);
    }
  });

  it('refuses an argument to list, instead of ignoring it', () => {
    const r = runCli(['policy', 'list', 'eu']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("residency: policy list: unexpected argument 'eu'\n");
  });
});

describe('residency check --out ""', () => {
  it('is one usage error before any check, not a write failure after each', () => {
    const r = runCli(['check', EXAMPLE, EXAMPLE, '-j', 'us', '--out', ''], { cwd: tempDir() });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('residency: --out: expected a folder, got an empty name\n');
    expect(r.stdout).toBe('');
  });
});

describe('residency check: a file name that is not UTF-8', () => {
  it('says why a file that is there cannot be opened, instead of only "no such file"', () => {
    // Prepare: a Latin-1 name ("bad\xffname.log"), as an old archive may hold.
    const dir = tempDir();
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/bad`), Buffer.from([0xff]), Buffer.from('name.log')]), readFileSync(EXAMPLE));

    // Act: the name passed as its bytes, as a shell passes it.
    const r = spawnSync('bash', ['-c', `exec "$0" "$1" check "$(printf 'bad\\377name.log')" -j us -o out`, process.execPath, CLI], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
    });

    // Assess
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      'residency: bad\ufffdname.log: no such file (its name is not valid UTF-8, and cannot be opened as given: rename the file, or pass it on standard input with -)\n',
    );
  });
});

describe('residency check: a database or policy that is not a file', () => {
  it('refuses a named pipe at once, instead of waiting forever for a writer', () => {
    // Prepare: a FIFO nobody writes to (opening it to read would block until someone does).
    const dir = tempDir();
    const fifo = join(dir, 'db.mmdb');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);

    // Act
    const db = runCli(['check', EXAMPLE, '-j', 'us', '--db', fifo, '-o', join(dir, 'out')], { cwd: dir });
    const policy = runCli(['check', EXAMPLE, '--policy', fifo, '-o', join(dir, 'out')], { cwd: dir });

    // Assess: an answer (not the runner's timeout), exit 2, one line naming the file.
    expect(db.status).toBe(2);
    expect(db.stderr).toBe(`residency: ${fifo}: cannot read GeoIP database (is a named pipe, not a file: write it to a file first)\n`);
    expect(policy.status).toBe(2);
    expect(policy.stderr).toBe(`residency: ${fifo}: cannot read policy file (is a named pipe, not a file: write it to a file first)\n`);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('refuses a device, instead of reading without end', () => {
    const r = runCli(['check', EXAMPLE, '-j', 'us', '--db', '/dev/zero', '-o', join(tempDir(), 'out')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('residency: /dev/zero: cannot read GeoIP database (is a device, not a file)\n');
  });
});

describe('residency check: a country both allowed and denied', () => {
  it('warns that the deny list wins, and judges it a violation', () => {
    // Prepare: a log with a destination in CN (the example's crash-report server).
    const dir = tempDir();

    // Act
    const r = runCli(['check', EXAMPLE, '-j', 'us,cn', '--deny', 'foreign-adversaries', '-o', dir, '--report', 'none', '--quiet'], { cwd: dir });

    // Assess
    expect(r.stderr).toBe(
      'residency: warning: --jurisdiction and --deny: both allowed and denied: CN (by foreign-adversaries); denied wins, so a destination there is a violation\n',
    );
    expect(r.status).toBe(1);
    const verdict = JSON.parse(readFileSync(join(dir, 'drone-app.conn.log.verdict.json'), 'utf8'));
    expect(verdict.violations.some((v: { rule: string }) => v.rule === 'CN is denied by foreign-adversaries')).toBe(true);
  });
});
