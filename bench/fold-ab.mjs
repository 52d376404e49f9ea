// Compares the Zeek fast path (WebAssembly fold) with the JavaScript path in one process, in
// alternation, on the same log: CPU time of runCheck only (databases opened once, verdict built
// but not written), and whether the two verdicts are identical.
//
//   npm run build && node bench/fold-ab.mjs [LOG] [--runs K]
import { createReadStream } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { runCheck } = require(join(root, 'dist/lambda/engine/check.js'));
const { compilePolicy, policyFromLists } = require(join(root, 'dist/lambda/engine/policy/policy.js'));
const { loadGeoDatabases, loadOperatorSources } = require(join(root, 'dist/lambda/adapters/load-geo-database.js'));

const args = process.argv.slice(2);
const file = args[0] && !args[0].startsWith('--') ? args[0] : join(root, 'bench/out/conn-1000000.log');
const runs = Number(args[args.indexOf('--runs') + 1] ?? 3) || 3;
const databases = loadGeoDatabases([]);
const operator = loadOperatorSources();
const policy = compilePolicy(policyFromLists('us', undefined));
const now = new Date(0);

async function once(fastPath) {
  const t0 = process.cpuUsage();
  const verdict = await runCheck(createReadStream(file, { highWaterMark: 1 << 20 }), {
    name: file, policy, databases, operator, toolVersion: 'ab', now, fastPath,
  });
  const t = process.cpuUsage(t0);
  return { cpu: (t.user + t.system) / 1e6, verdict };
}

const times = { true: [], false: [] };
for (let i = 0; i < runs; i++) {
  for (const fast of [true, false]) {
    const r = await once(fast);
    times[fast].push(r.cpu);
    if (i === 0) times[`v${fast}`] = JSON.stringify(r.verdict);
  }
}
const same = times.vtrue === times.vfalse;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`fast path ${median(times.true).toFixed(2)} s CPU, JS path ${median(times.false).toFixed(2)} s CPU (medians of ${runs}); verdicts ${same ? 'identical' : 'DIFFER'}`);
