#!/usr/bin/env node
// Bundles the command line (dist/bin/cli/main.js) into dist/bin/residency-cli.js and makes V8's
// code cache for it (dist/bin/residency-cli.cache) by running the CLI once on the bundled example,
// through dist/bin/residency.js's #! line (the flags the cache must be made with). Run by
// `npm run build` after tsc; see bin/cli/code-cache.ts. Without esbuild (a devDependency) or where
// the #! line cannot run, the CLI starts as before, from its modules or without a cache.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, relative, sep } = require('node:path');

const root = join(__dirname, '..');
const binDir = join(root, 'dist', 'bin');
const bundle = join(binDir, 'residency-cli.js');
const cache = join(binDir, 'residency-cli.cache');

const inputsList = join(binDir, 'residency-cli.inputs');
rmSync(bundle, { force: true });
rmSync(cache, { force: true });
rmSync(inputsList, { force: true });

let esbuild;
try {
  esbuild = require('esbuild');
} catch {
  console.warn('build-cli-bundle: esbuild is not installed; the CLI starts from its modules');
  process.exit(0);
}

const built = esbuild.buildSync({
  absWorkingDir: root,
  entryPoints: [join(binDir, 'cli', 'main.js')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // The AWS SDK is loaded only by submit and audit s3://; bundled, every start would carry it.
  external: ['@aws-sdk/*'],
  logLevel: 'warning',
  metafile: true,
});
// The modules of this package the bundle was made from: a later tsc run that rewrites one of them
// makes the bundle out of date (bin/cli/code-cache.ts), and the CLI then starts from the modules.
const own = Object.keys(built.metafile.inputs)
  .map((input) => relative(binDir, join(root, input)))
  .filter((input) => !input.split(sep).includes('node_modules'));
writeFileSync(inputsList, `${own.join('\n')}\n`);

const out = mkdtempSync(join(tmpdir(), 'residency-code-cache-'));
try {
  const r = spawnSync(
    join(binDir, 'residency.js'),
    ['check', 'examples/drone-app.conn.log', '--dns', 'examples/drone-app.dns.log', '--jurisdiction', 'us',
      '--deny', 'foreign-adversaries', '--out', out, '--quiet', '--report', 'none'],
    { cwd: root, env: { ...process.env, RESIDENCY_CODE_CACHE: 'write' }, encoding: 'utf8', timeout: 120_000 },
  );
  // The example has violations: exit status 1 is the expected verdict.
  if (r.error !== undefined || (r.status !== 0 && r.status !== 1) || !existsSync(cache)) {
    const why = r.error ? r.error.message : `exit status ${r.status}: ${(r.stderr || '').trim().split('\n')[0]}`;
    console.warn(`build-cli-bundle: no code cache made (${why}); the CLI compiles its bundle at each start`);
    rmSync(cache, { force: true });
  } else {
    console.log(`build-cli-bundle: ${bundle} (${statSync(bundle).size} bytes), code cache ${statSync(cache).size} bytes`);
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
