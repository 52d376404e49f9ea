// npm run bench [-- --records N] [--also-10m] [--python] [--runs K] [--one-core]
//
// Generates a synthetic Zeek conn.log (bench/generate-zeek.mjs), runs `residency check` on it as a
// whole process, and prints records/second (wall and CPU) and peak RSS. With --also-10m it also
// runs 10,000,000 records, to show memory stays flat. With --python it runs the Python +
// libmaxminddb baseline (../shared/bench/python-baseline.py, Debian's python3-maxminddb) on the
// same file, alternating runs, and prints the ratio of medians. The check writes its verdict but
// no HTML report (--report none), like the baseline, which writes none. With --one-core both
// programs run pinned to CPU 0 (taskset), the way the targets are stated: Node's compile and GC
// threads then share the core with the check instead of using the machine's second one.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const outDir = join(here, 'out');
mkdirSync(outDir, { recursive: true });

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const value = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const runs = Number(value('--runs', '3'));
const sizes = [Number(value('--records', '1000000'))];
if (flag('--also-10m')) sizes.push(10_000_000);
const pin = flag('--one-core') ? ['taskset', '-c', '0'] : [];
if (pin.length > 0 && spawnSync('taskset', ['-c', '0', 'true']).status !== 0) {
  console.error('run-bench: --one-core needs taskset (Debian package util-linux)');
  process.exit(2);
}

function ensureLog(records) {
  const file = join(outDir, `conn-${records}.log`);
  const generator = join(here, 'generate-zeek.mjs');
  // Made again when the generator changed since (an older log is not the benchmark any more).
  if (!existsSync(file) || statSync(file).mtimeMs < statSync(generator).mtimeMs) {
    process.stderr.write(`generating ${file} ...\n`);
    const r = spawnSync(process.execPath, [generator, file, String(records)], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('generator failed');
  }
  return file;
}

function timed(cmd, argv) {
  const t0 = process.hrtime.bigint();
  const env = {
    ...process.env,
    // The #! line's env finds this node first.
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} -r ${rusage}`.trim(),
  };
  const r = spawnSync(pin.length > 0 ? pin[0] : cmd, [...pin.slice(1), ...(pin.length > 0 ? [cmd] : []), ...argv], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env,
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const m = /RUSAGE maxRSS_kB=(\d+) user_us=(\d+) system_us=(\d+)/.exec(r.stderr ?? '');
  return { status: r.status, wall, rssMB: m ? Number(m[1]) / 1024 : NaN, cpu: m ? (Number(m[2]) + Number(m[3])) / 1e6 : NaN, stderr: r.stderr };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cli = join(root, 'dist', 'bin', 'residency.js');
const rusage = join(here, 'report-rusage.cjs');
const python = '/usr/bin/python3';
const baseline = join(root, '..', 'shared', 'bench', 'python-baseline.py');
const mmdb = join(root, 'node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb');
const withPython = flag('--python') && existsSync(baseline) && existsSync(python);

for (const records of sizes) {
  const file = ensureLog(records);
  const mb = statSync(file).size / 1e6;
  const ours = [];
  const theirs = [];
  for (let i = 0; i < runs; i++) {
    // Run as users run it (npx residency, or the file itself): through its #! line and the node
    // flags there. The rusage reporter is preloaded through NODE_OPTIONS.
    const r = timed(cli, ['check', file, '--jurisdiction', 'us', '--out', join(outDir, 'verdicts'), '--quiet', '--report', 'none']);
    if (r.status !== 1 && r.status !== 0) throw new Error(`residency failed (${r.status}): ${r.stderr}`);
    ours.push(r);
    if (withPython) {
      const t0 = process.hrtime.bigint();
      const p = spawnSync('/usr/bin/time', ['-f', 'RUSAGE maxRSS_kB=%M user_us=0 system_us=0', ...pin, python, baseline, file, '--jurisdiction', 'US', '--mmdb', mmdb], { encoding: 'utf8' });
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      if (p.status !== 0) throw new Error(`python baseline failed: ${p.stderr}`);
      theirs.push({ wall });
    }
  }
  const wall = median(ours.map((r) => r.wall));
  const cpu = median(ours.map((r) => r.cpu));
  const rss = Math.max(...ours.map((r) => r.rssMB));
  console.log(
    `residency check${pin.length > 0 ? ' (one core)' : ''}, ${records.toLocaleString('en')} records (${mb.toFixed(0)} MB): ` +
      `${Math.round(records / wall).toLocaleString('en')} records/s wall (median of ${runs}), ` +
      `${Math.round(records / cpu).toLocaleString('en')} records/s per CPU-second, peak RSS ${rss.toFixed(0)} MB`,
  );
  if (withPython) {
    const pw = median(theirs.map((r) => r.wall));
    console.log(
      `python + libmaxminddb baseline: ${Math.round(records / pw).toLocaleString('en')} records/s wall; ratio ${(pw / wall).toFixed(2)}x`,
    );
  }
}
