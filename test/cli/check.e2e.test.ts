import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DESTINATION_COLUMNS } from '../../lambda/engine/verdict/destination-columns';
import type { Verdict } from '../../lambda/engine/verdict/verdict';
import { parseRows } from '../helpers/destination-rows';
import { fixturePath } from '../helpers/engine';
import { CLI, REPO_ROOT, runCli, tempDir } from '../helpers/cli';

const POP3 = fixturePath('zeek', 'conn-pop3.tsv.log');
const EXAMPLE = join(REPO_ROOT, 'examples', 'drone-app.conn.log');

describe('residency check (end to end)', () => {
  it('exits 1 and writes the verdict when data leaves the jurisdiction', () => {
    const out = tempDir();
    const r = runCli(['check', POP3, '--jurisdiction', 'us', '--out', out]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/NOT COMPLIANT/);
    expect(r.stdout).toMatch(/212\.227\.15\.166 \(DE\)/);
    const v = JSON.parse(readFileSync(join(out, 'conn-pop3.tsv.log.verdict.json'), 'utf8'));
    expect(v).toMatchObject({ compliant: false, input: { name: POP3, format: 'zeek-tsv' }, totals: { records: 11 } });
  });

  it('runs as the executable npx residency starts (the build marks it executable; tsc does not)', () => {
    // Prepare: a fresh clone's npm ci builds dist/ after npm has linked the package's bin.
    const r = spawnSync(CLI, ['--version'], { encoding: 'utf8', timeout: 60_000 });

    // Assess
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/\d+\.\d+\.\d+/);
  });

  it('exits 0 when every destination is allowed', () => {
    const out = tempDir();
    const r = runCli(['check', POP3, '-j', 'eu', '-o', out]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Result: COMPLIANT/);
  });

  it('checks the bundled example: crash reports to China are violations', () => {
    const out = tempDir();
    const r = runCli(['check', EXAMPLE, '-j', 'us', '--deny', 'foreign-adversaries', '-o', out]);
    expect(r.status).toBe(1);
    const v = JSON.parse(readFileSync(join(out, 'drone-app.conn.log.verdict.json'), 'utf8'));
    expect(v.violations.map((x: { ip: string }) => x.ip)).toEqual(
      expect.arrayContaining(['183.3.226.35', '203.205.254.157', '2402:4e00::1']),
    );
    expect(v.violations[0].rule).toBe('CN is denied by foreign-adversaries');
    expect(v.destinations.find((d: { ip: string }) => d.ip === '52.94.236.248')).toMatchObject({ status: 'allowed', country: 'US' });
  });

  it('reads a file as generic CSV when --columns maps its columns, names detection does not know', () => {
    // Prepare
    const dir = tempDir();
    const log = join(dir, 'flows.csv');
    writeFileSync(log, 'peer,up\n114.114.114.114,500\n8.8.8.8,100\n');

    // Act
    const r = runCli(['check', log, '--columns', 'dst=peer,bytes_out=up', '-j', 'us', '-o', dir]);

    // Assess
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    const v = JSON.parse(readFileSync(join(dir, 'flows.csv.verdict.json'), 'utf8'));
    expect(v.input).toMatchObject({ format: 'generic-csv', formatSource: 'option' });
    expect(v.totals).toMatchObject({ connections: 2, bytesSent: 600, bytesSentViolating: 500 });
    expect(v.violations.map((x: { ip: string }) => x.ip)).toEqual(['114.114.114.114']);
  });

  it('refuses --columns with a --format other than generic CSV', () => {
    const r = runCli(['check', POP3, '--format', 'zeek-tsv', '--columns', 'dst=peer', '-j', 'us', '-o', tempDir()]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('residency: --columns maps generic CSV columns; it does not apply to --format zeek-tsv\n');
  });

  it('reads header-less flow logs of a custom format given with --vpc-format', () => {
    // Prepare: records as Firehose delivers a custom format (no header line): interface, addresses, bytes, action.
    const dir = tempDir();
    const log = join(dir, 'flows.log');
    writeFileSync(log, '2 eni-0a1b2c3d 10.0.1.5 114.114.114.114 5200 ACCEPT OK\n2 eni-0a1b2c3d 10.0.1.5 8.8.8.8 100 ACCEPT OK\n');

    // Act
    const r = runCli(['check', log, '--vpc-format', '${version} ${interface-id} ${srcaddr} ${dstaddr} ${bytes} ${action} ${log-status}', '-j', 'us', '-o', dir, '--quiet']);

    // Assess
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    const v = JSON.parse(readFileSync(join(dir, 'flows.log.verdict.json'), 'utf8'));
    expect(v.input).toMatchObject({ format: 'vpc-flow', formatSource: 'option' });
    expect(v.totals).toMatchObject({ connections: 2, bytesSent: 5300, bytesSentViolating: 5200 });
  });

  it('refuses a --vpc-format that names no addresses, or with another format', () => {
    const bad = runCli(['check', POP3, '--vpc-format', 'version bytes', '-j', 'us', '-o', tempDir()]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('residency: --vpc-format: the format has no srcaddr or pkt-srcaddr field\n');
    const other = runCli(['check', POP3, '--format', 'zeek-tsv', '--vpc-format', 'srcaddr dstaddr', '-j', 'us', '-o', tempDir()]);
    expect(other.status).toBe(2);
    expect(other.stderr).toBe('residency: --vpc-format gives VPC Flow Logs fields; it does not apply to --format zeek-tsv\n');
  });

  it('adds up a repeated -j, as a comma does', () => {
    // Prepare: POP3's destination is in DE.
    const out = tempDir();

    // Act
    const r = runCli(['check', POP3, '-j', 'us', '-j', 'de', '-o', out, '-q']);

    // Assess
    expect(r.status).toBe(0);
    const v = JSON.parse(readFileSync(join(out, 'conn-pop3.tsv.log.verdict.json'), 'utf8'));
    expect(v.policy.allowedCountries).toEqual(['DE', 'US']);
  });

  it('refuses an empty --deny and a repeated --policy, which would check nothing or leave one out', () => {
    const deny = runCli(['check', POP3, '--deny', '', '-o', tempDir()]);
    expect(deny.status).toBe(2);
    expect(deny.stderr).toBe('residency: --deny: expected country codes or preset names, such as foreign-adversaries or CN,RU\n');
    const twice = runCli(['check', POP3, '-p', 'us-gov-drone', '-p', 'us-gov-drone', '-o', tempDir()]);
    expect(twice.status).toBe(2);
    expect(twice.stderr).toBe('residency: --policy: give one policy file, not several\n');
  });

  it('adds --local networks to the policy\'s localNetworks: a dual-stack instance is no longer its own destination', () => {
    // Prepare
    const log = fixturePath('vpcflow', 'dual-stack-default-synthetic.log');
    const own = '2600:1f18:4a3:6902:616f:c0a8:1234:5678';
    const before = tempDir();
    const after = tempDir();
    const withFile = tempDir();
    const policy = join(withFile, 'policy.json');
    writeFileSync(policy, JSON.stringify({ allowedCountries: ['US'], localNetworks: ['10.0.0.0/8'] }));

    // Act
    const r1 = runCli(['check', log, '-j', 'us', '-o', before, '-q', '--report', 'none']);
    const r2 = runCli(['check', log, '-j', 'us', '--local', '2600:1f18:4a3:6900::/56', '-o', after, '-q', '--report', 'none']);
    const r3 = runCli(['check', log, '-p', policy, '--local', 'non-public,2600:1f18:4a3:6900::/56', '-o', withFile, '-q', '--report', 'none']);
    const bad = runCli(['check', log, '-j', 'us', '--local', '2600:1f18:4a3:6900::/56', '--local', '::/0', '-o', tempDir()]);

    // Assess
    expect([r1.status, r2.status, r3.status]).toEqual([1, 1, 1]);
    const read = (dir: string): Verdict => JSON.parse(readFileSync(join(dir, 'dual-stack-default-synthetic.log.verdict.json'), 'utf8')) as Verdict;
    const v1 = read(before);
    const v2 = read(after);
    expect(v1.destinations.find((d) => d.ip === own)?.warning).toMatch(/^this address is on one side of every IPv6 record of eni-0a1b2c3d4e5f60718/);
    expect(v2.destinations.map((d) => d.ip)).not.toContain(own);
    expect(v2.warnings).toEqual([]);
    expect(v2.policy.localNetworks).toEqual(['2600:1f18:4a3:6900::/56', 'non-public']);
    expect(v2.policy.sha256).not.toBe(v1.policy.sha256);
    expect(read(withFile).policy.localNetworks).toEqual(['10.0.0.0/8', '2600:1f18:4a3:6900::/56', 'non-public']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe("residency: --local: '::/0' takes in every IPv6 address: every destination would be on the monitored side and none judged; name your own networks\n");
    // A network written with host bits is read as its network, with a warning (as in a policy file).
    const hostBits = runCli(['check', log, '-j', 'us', '--local', '2600:1f18:4a3:6902::5/56', '-o', tempDir(), '-q', '--report', 'none']);
    expect(hostBits.stderr).toBe("residency: warning: --local: '2600:1f18:4a3:6902::5/56' has bits set past its prefix length: read as the network 2600:1f18:4a3:6900::/56 (one address is /128)\n");
    expect(hostBits.status).toBe(1);
  });

  it('warns of a network in the policy written with host bits, and reads it as its network', () => {
    // Prepare
    const dir = tempDir();
    const policy = join(dir, 'policy.json');
    writeFileSync(policy, JSON.stringify({ allowedCountries: ['us'], allowCidrs: ['212.227.15.166/8'] }));

    // Act
    const r = runCli(['check', POP3, '-p', policy, '-o', dir, '-q']);

    // Assess
    expect(r.stderr).toBe(
      `residency: warning: ${policy}: allowCidrs[0]: '212.227.15.166/8' has bits set past its prefix length: read as the network 212.0.0.0/8 (one address is /32)\n`,
    );
    expect(r.status).toBe(0);
  });

  it('reads standard input with -', () => {
    const out = tempDir();
    const r = runCli(['check', '-', '-j', 'us', '-o', out, '--json', '-q'], { input: gzipSync(readFileSync(POP3)) });
    expect(r.status).toBe(1);
    const v = JSON.parse(r.stdout.trim());
    expect(v.input).toMatchObject({ name: 'stdin', compression: 'gzip' });
  });

  it('names standard input that is a directory (check - < /tmp), instead of calling it empty', () => {
    const out = tempDir();
    const r = spawnSync(process.execPath, [CLI, 'check', '-', '-j', 'us', '-o', out], { stdio: [openSync(out, 'r'), 'pipe', 'pipe'], encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('residency: -: standard input is a directory, not a log file\n');
  });

  it('prints one JSON verdict per line with --json', () => {
    const out = tempDir();
    const r = runCli(['check', POP3, EXAMPLE, '-j', 'us', '-o', out, '--json']);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.map((l) => JSON.parse(l).input.format)).toEqual(['zeek-tsv', 'zeek-tsv']);
  });

  it('keeps two inputs with the same file name apart', () => {
    const out = tempDir();
    const dir = tempDir();
    const copy = join(dir, 'conn-pop3.tsv.log');
    copyFileSync(POP3, copy);
    const r = runCli(['check', POP3, copy, '-j', 'eu', '-o', out, '-q']);
    expect(r.status).toBe(0);
    expect(readFileSync(join(out, 'conn-pop3.tsv.log~2.verdict.json'), 'utf8')).toMatch(/"compliant": true/);
  });

  it('writes one verdict per input even when an input is named as a renamed duplicate would be', () => {
    // Prepare: two conn-pop3.tsv.log and one conn-pop3.tsv.log~2.
    const out = tempDir();
    const a = tempDir();
    const b = tempDir();
    copyFileSync(POP3, join(a, 'conn-pop3.tsv.log'));
    copyFileSync(POP3, join(b, 'conn-pop3.tsv.log~2'));

    // Act
    const r = runCli(['check', POP3, join(a, 'conn-pop3.tsv.log'), join(b, 'conn-pop3.tsv.log~2'), '-j', 'eu', '-o', out, '-q']);

    // Assess
    expect(r.status).toBe(0);
    const names = ['conn-pop3.tsv.log', 'conn-pop3.tsv.log~3', 'conn-pop3.tsv.log~2'];
    const inputs = [POP3, join(a, 'conn-pop3.tsv.log'), join(b, 'conn-pop3.tsv.log~2')];
    names.forEach((name, i) => {
      expect(JSON.parse(readFileSync(join(out, `${name}.verdict.json`), 'utf8')).input.name).toBe(inputs[i]);
    });
  });

  describe('errors: one line, exit 2, no stack trace', () => {
    const cases: [string, string[], RegExp][] = [
      ['a missing file', ['check', 'no-such.log', '-j', 'us'], /^residency: no-such\.log: no such file$/],
      ['no policy', ['check', POP3], /^residency: no policy: give --jurisdiction/],
      ['a bad country code', ['check', POP3, '-j', 'UK'], /^residency: --jurisdiction: 'UK' is neither .* \(the United Kingdom is GB\)$/],
      ['an unknown flag', ['check', POP3, '--bogus'], /^residency: Unknown option '--bogus'/],
      ['an unknown format name', ['check', POP3, '-j', 'us', '--format', 'nope'], /^residency: --format: unknown format 'nope'/],
      ['a missing database', ['check', POP3, '-j', 'us', '--db', 'missing.mmdb'], /^residency: missing\.mmdb: cannot read GeoIP database \(no such file\)$/],
      ['an unknown command', ['frobnicate'], /^residency: unknown command 'frobnicate'/],
    ];
    it.each(cases)('%s', (_name, args, message) => {
      const r = runCli(args, { cwd: tempDir() });
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });

    it('a corrupt database names the file', () => {
      const dir = tempDir();
      const db = join(dir, 'broken.mmdb');
      writeFileSync(db, Buffer.alloc(4096, 7));
      const r = runCli(['check', POP3, '-j', 'us', '--db', db]);
      expect(r.status).toBe(2);
      expect(r.stderr.trim()).toMatch(/^residency: broken\.mmdb: not a readable MMDB database/);
    });

    it('a file in an unknown format gets an error verdict and exit 2', () => {
      const dir = tempDir();
      const file = join(dir, 'notes.txt');
      writeFileSync(file, 'dear diary\n');
      const r = runCli(['check', file, '-j', 'us', '-o', dir]);
      expect(r.status).toBe(2);
      expect(r.stderr.trim()).toMatch(/notes\.txt: unknown log format/);
      const v = JSON.parse(readFileSync(join(dir, 'notes.txt.verdict.json'), 'utf8'));
      expect(v).toMatchObject({ compliant: false, error: expect.stringMatching(/unknown log format/) });
    });

    it('an output folder that cannot be made names the verdict file', () => {
      const dir = tempDir();
      const blocker = join(dir, 'out');
      writeFileSync(blocker, 'a file where the folder should be\n');
      const r = runCli(['check', POP3, '-j', 'us', '-o', blocker, '-q']);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(/^residency: .*out\/conn-pop3\.tsv\.log\.verdict\.json: cannot write \(a file is in the way of its folder\)$/);
    });

    it('a verdict that cannot be written names its input, and the other inputs are still checked', () => {
      const dir = tempDir();
      mkdirSync(join(dir, 'conn-pop3.tsv.log.verdict.json'));
      const r = runCli(['check', POP3, EXAMPLE, '-j', 'us', '-o', dir, '-q']);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^residency: .*conn-pop3\.tsv\.log: could not write its verdict or report: .*conn-pop3\.tsv\.log\.verdict\.json: cannot write \(a directory has that name\)$/),
      ]);
      expect(JSON.parse(readFileSync(join(dir, 'drone-app.conn.log.verdict.json'), 'utf8'))).toMatchObject({ compliant: false });
    });

    it('a bad policy file names the field', () => {
      const dir = tempDir();
      const policy = join(dir, 'policy.json');
      writeFileSync(policy, JSON.stringify({ allowedCountries: ['US'], allowCidrs: ['10.0.0.0/33'] }));
      const r = runCli(['check', POP3, '--policy', policy]);
      expect(r.status).toBe(2);
      expect(r.stderr.trim()).toMatch(/policy\.json: allowCidrs\[0\]: '10\.0\.0\.0\/33' is not a CIDR network/);
    });
  });

  describe('--report jsonl', () => {
    it('writes one JSON line per destination beside the verdict, the rows the function writes for Athena', () => {
      // Prepare
      const out = tempDir();

      // Act
      const r = runCli(['check', EXAMPLE, '-j', 'us', '--deny', 'foreign-adversaries', '-o', out, '--report', 'jsonl']);

      // Assess
      expect(r.status).toBe(1);
      const verdictPath = join(out, 'drone-app.conn.log.verdict.json');
      const rowsPath = join(out, 'drone-app.conn.log.destinations.jsonl');
      expect(r.stdout).toContain(`Report: ${rowsPath}`);
      expect(existsSync(join(out, 'drone-app.conn.log.report.html'))).toBe(false);
      const verdict = JSON.parse(readFileSync(verdictPath, 'utf8')) as Verdict;
      const rows = parseRows(readFileSync(rowsPath, 'utf8'));
      expect(rows.map((row) => row.ip)).toEqual(verdict.destinations.map((d) => d.ip));
      for (const row of rows) {
        expect(Object.keys(row)).toEqual(DESTINATION_COLUMNS.map((c) => c.name));
        expect(row).toMatchObject({ verdict_key: verdictPath, checked_at: verdict.checkedAt, input_sha256: verdict.input.sha256 });
      }
      expect(rows[0]).toMatchObject({ status: 'violation', country: 'CN', rule: 'CN is denied by foreign-adversaries' });
    });

    it('leaves an empty file for an error verdict, replacing one of an earlier run', () => {
      // Prepare
      const dir = tempDir();
      const file = join(dir, 'notes.txt');
      writeFileSync(file, 'dear diary\n');
      const rowsPath = join(dir, 'notes.txt.destinations.jsonl');
      writeFileSync(rowsPath, '{"ip":"183.3.226.35"}\n');

      // Act
      const r = runCli(['check', file, '-j', 'us', '-o', dir, '--report', 'html,jsonl']);

      // Assess
      expect(r.status).toBe(2);
      expect(readFileSync(rowsPath, 'utf8')).toBe('');
      expect(existsSync(join(dir, 'notes.txt.report.html'))).toBe(true);
    });
  });

  it('documents every flag in --help', () => {
    const r = runCli(['check', '--help']);
    expect(r.status).toBe(0);
    for (const flag of ['--jurisdiction', '--deny', '--policy', '--db', '--format', '--columns', '--vpc-format', '--out', '--json', '--quiet']) {
      expect(r.stdout).toContain(flag);
    }
  });
});

describe('residency policy', () => {
  it('validates a policy file and prints its hash', () => {
    const dir = tempDir();
    const policy = join(dir, 'p.json');
    writeFileSync(policy, JSON.stringify({ allowedCountries: ['eu'], deniedCountries: ['foreign-adversaries'] }));
    const r = runCli(['policy', 'validate', policy]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/valid policy, sha256 [0-9a-f]{64}/);
  });

  it('validates a policy preset by name, as --policy takes one, and warns of host bits in a file', () => {
    const preset = runCli(['policy', 'validate', 'us-gov-drone']);
    expect(preset.status).toBe(0);
    expect(preset.stdout).toMatch(/^us-gov-drone: valid policy, sha256 [0-9a-f]{64}\n/);

    const dir = tempDir();
    const policy = join(dir, 'p.json');
    writeFileSync(policy, JSON.stringify({ allowedCountries: ['us'], allowCidrs: ['10.1.2.3/8'] }));
    const r = runCli(['policy', 'validate', policy]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(
      `residency: warning: ${policy}: allowCidrs[0]: '10.1.2.3/8' has bits set past its prefix length: read as the network 10.0.0.0/8 (one address is /32)\n`,
    );
  });

  it('names an unknown subcommand, with or without an argument', () => {
    for (const argv of [['policy', 'frob'], ['policy', 'frob', 'x.json']]) {
      const r = runCli(argv);
      expect(r.status).toBe(2);
      expect(r.stderr).toBe("residency: policy: unknown subcommand 'frob' (validate, show, list)\n");
    }
  });

  it('names the line and column of a JSON syntax error in a policy file', () => {
    const dir = tempDir();
    const policy = join(dir, 'p.json');
    writeFileSync(policy, '{\n  "allowedCountries": ["US"],\n  "unknown": }\n');
    const r = runCli(['policy', 'validate', policy]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`residency: ${policy}: not valid JSON (line 3, column 14: expected a value, found '}')\n`);
  });

  it('shows a preset as an editable policy file', () => {
    const r = runCli(['policy', 'show', 'five-eyes']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ allowedCountries: ['five-eyes'] });
  });
});

describe('residency policy presets', () => {
  it('lists country sets and policies, and shows a policy preset as a valid policy file', () => {
    const list = runCli(['policy', 'list']);
    expect(list.stdout).toMatch(/Policies \(for --policy and RESIDENCY_POLICY\):\n {2}us-gov-drone /);
    const show = runCli(['policy', 'show', 'us-gov-drone']);
    const dir = tempDir();
    writeFileSync(join(dir, 'p.json'), show.stdout);
    const validate = runCli(['policy', 'validate', join(dir, 'p.json')]);
    expect(validate.status).toBe(0);
    expect(JSON.parse(validate.stdout.split('\n').slice(1).join('\n'))).toMatchObject({ operator: 'fail', disputed: 'fail', unknown: 'fail' });
  });
});

describe('residency check: epoch times in any unit', () => {
  it('reads nanosecond and microsecond times, and checks every file', () => {
    const dir = tempDir();
    const ns = join(dir, 'ns.csv');
    const us = join(dir, 'us.csv');
    writeFileSync(ns, 'timestamp,src_ip,dst_ip,dst_port,bytes_out\n1709287200123456789,10.0.0.5,1.2.4.8,443,100\n1709287260123456789,10.0.0.5,1.2.4.8,443,50\n');
    writeFileSync(us, 'timestamp,src_ip,dst_ip,dst_port,bytes_out\n1709287200123456,10.0.0.5,8.8.8.8,443,100\n');
    const out = join(dir, 'out');
    const r = runCli(['check', ns, us, '--jurisdiction', 'us', '--out', out, '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    const times = (name: string) => {
      const v = JSON.parse(readFileSync(join(out, `${name}.verdict.json`), 'utf8')) as Verdict;
      return v.destinations.map((d) => [d.ip, d.firstSeen, d.lastSeen]);
    };
    expect(times('ns.csv')).toEqual([['1.2.4.8', '2024-03-01T10:00:00.123Z', '2024-03-01T10:01:00.123Z']]);
    expect(times('us.csv')).toEqual([['8.8.8.8', '2024-03-01T10:00:00.123Z', '2024-03-01T10:00:00.123Z']]);
  });
});

describe('residency check --dns', () => {
  it('exits 2 naming a file that is not a dns.log, instead of silently naming nothing', () => {
    const dir = tempDir();
    const junk = join(dir, 'junk.log');
    writeFileSync(junk, 'x\nnot dns either\n');
    const r = runCli(['check', EXAMPLE, '--dns', junk, '-j', 'us', '-o', dir]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`residency: ${junk}: no DNS records found (--dns expects a Zeek dns.log)`);
  });

  it('exits 2 naming a dns.log whose gzip ends early', () => {
    const dir = tempDir();
    const cut = join(dir, 'dns.log.gz');
    const whole = gzipSync(Buffer.from('#separator \\x09\n#fields\tts\tquery\tanswers\n1\texample.com\t93.184.216.34\n'.repeat(50)));
    writeFileSync(cut, whole.subarray(0, whole.length - 12));
    const r = runCli(['check', EXAMPLE, '--dns', cut, '-j', 'us', '-o', dir]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(new RegExp(`^residency: ${cut.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: gzip data ends early`));
  });
});
