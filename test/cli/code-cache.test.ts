/**
 * The command line started from its bundle with V8's code cache (bin/cli/code-cache.ts): the
 * cache the build made is taken under the #! line's flags, and a check started from it writes the
 * verdict the modules write; a cache made for other bytes, or that V8 refuses, only costs time.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleOutOfDate, BUNDLE_FILE, CACHE_FILE, INPUTS_FILE } from '../../bin/cli/code-cache';
import { REPO_ROOT, tempDir } from '../helpers/cli';

const DIST_BIN = join(REPO_ROOT, 'dist', 'bin');
const LAUNCHER = join(DIST_BIN, 'residency.js');
const COMPILED = join(DIST_BIN, 'cli', 'code-cache.js');

/** Loads `bundle` with the compiled loader in a fresh Node (a cache is only taken by another process). */
function loadInChild(bundle: string, cache: string, action: 'load' | 'write'): { cache: string; answer: unknown } {
  const script = `
    const { loadBundle } = require(${JSON.stringify(COMPILED)});
    const b = loadBundle(${JSON.stringify(bundle)}, ${JSON.stringify(cache)}, ${action === 'load'});
    const answer = b.exports.answer();
    // As the CLI does at exit: after running, so the cache holds what ran.
    if (${JSON.stringify(action)} === 'write') b.writeCache(${JSON.stringify(cache)});
    process.stdout.write(JSON.stringify({ cache: b.cache, answer }));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as { cache: string; answer: unknown };
}

describe('loadBundle', () => {
  const dir = tempDir('residency-code-cache-');
  const bundle = join(dir, 'bundle.js');
  const cache = join(dir, 'bundle.cache');
  // A CommonJS module that needs its require (relative to itself), __dirname and module.exports.
  writeFileSync(join(dir, 'helper.js'), 'module.exports = { base: 40 };\n');
  const source = (n: number): string =>
    `const { base } = require('./helper');\nconst { basename } = require('node:path');\n` +
    `module.exports.answer = () => [base + ${n}, basename(__dirname) === ${JSON.stringify(dir.split('/').pop())}, basename(__filename)];\n`;

  it('runs a bundle as a CommonJS module, made a cache for it, and takes that cache in the next process', () => {
    writeFileSync(bundle, source(2));
    expect(existsSync(COMPILED)).toBe(true);
    expect(loadInChild(bundle, cache, 'write')).toEqual({ cache: 'off', answer: [42, true, 'bundle.js'] });
    expect(statSync(cache).size).toBeGreaterThan(32);
    expect(loadInChild(bundle, cache, 'load')).toEqual({ cache: 'accepted', answer: [42, true, 'bundle.js'] });
  });

  it('compiles a bundle changed since its cache was made, even at the same length (V8 checks only the length)', () => {
    writeFileSync(bundle, source(2));
    loadInChild(bundle, cache, 'write');
    writeFileSync(bundle, source(3));
    expect(readFileSync(bundle).length).toBe(source(2).length);
    expect(loadInChild(bundle, cache, 'load')).toEqual({ cache: 'stale', answer: [43, true, 'bundle.js'] });
    // Why the cache carries the bundle's digest: V8 alone takes it for the changed source, and runs the old code.
    const raw = `
      const { Script } = require('node:vm');
      const data = require('node:fs').readFileSync(${JSON.stringify(cache)}).subarray(32);
      const s = new Script(require('node:module').wrap(require('node:fs').readFileSync(${JSON.stringify(bundle)}, 'utf8')), { filename: ${JSON.stringify(bundle)}, cachedData: data });
      const m = { exports: {} };
      s.runInThisContext()(m.exports, require('node:module').createRequire(${JSON.stringify(bundle)}), m, ${JSON.stringify(bundle)}, ${JSON.stringify(dir)});
      process.stdout.write(JSON.stringify([s.cachedDataRejected, m.exports.answer()[0]]));`;
    const r = spawnSync(process.execPath, ['-e', raw], { encoding: 'utf8', timeout: 30_000 });
    expect(JSON.parse(r.stdout)).toEqual([false, 42]);
  });

  it('compiles the bundle when V8 refuses the cache', () => {
    writeFileSync(bundle, source(2));
    loadInChild(bundle, cache, 'write');
    const made = readFileSync(cache);
    const broken = Buffer.concat([made.subarray(0, 32), Buffer.alloc(made.length - 32, 0x5a)]);
    writeFileSync(cache, broken);
    expect(loadInChild(bundle, cache, 'load')).toEqual({ cache: 'rejected', answer: [42, true, 'bundle.js'] });
  });

  it('runs without a cache, and is null without a bundle', () => {
    writeFileSync(bundle, source(5));
    const none = join(dir, 'none.cache');
    expect(loadInChild(bundle, none, 'load')).toEqual({ cache: 'absent', answer: [45, true, 'bundle.js'] });
    const r = spawnSync(process.execPath, ['-e', `process.stdout.write(String(require(${JSON.stringify(COMPILED)}).loadBundle(${JSON.stringify(join(dir, 'missing.js'))}, ${JSON.stringify(none)})))`], {
      encoding: 'utf8',
    });
    expect(r.stdout).toBe('null');
  });

  it('calls a bundle older than any module it was made from out of date, or without its list of them', () => {
    const entry = join(dir, 'entry.js');
    const other = join(dir, 'other.js');
    const inputs = join(dir, 'bundle.inputs');
    writeFileSync(bundle, source(1));
    writeFileSync(entry, '');
    writeFileSync(other, '');
    writeFileSync(inputs, 'entry.js\nother.js\n');
    utimesSync(bundle, new Date(2026, 0, 2), new Date(2026, 0, 2));
    utimesSync(entry, new Date(2026, 0, 1), new Date(2026, 0, 1));
    utimesSync(other, new Date(2026, 0, 1), new Date(2026, 0, 1));
    expect(bundleOutOfDate(bundle, inputs)).toBe(false);
    // tsc --watch rewrites only the module that changed.
    utimesSync(other, new Date(2026, 0, 3), new Date(2026, 0, 3));
    expect(bundleOutOfDate(bundle, inputs)).toBe(true);
    utimesSync(other, new Date(2026, 0, 1), new Date(2026, 0, 1));
    expect(bundleOutOfDate(bundle, join(dir, 'no.inputs'))).toBe(true);
    writeFileSync(inputs, 'entry.js\ngone.js\n');
    expect(bundleOutOfDate(bundle, inputs)).toBe(true);
  });
});

describe('the built command line', () => {
  const example = ['check', 'examples/drone-app.conn.log', '--dns', 'examples/drone-app.dns.log', '--jurisdiction', 'us', '--deny', 'foreign-adversaries', '--quiet'];

  /** The verdict a run wrote, without its time. */
  function verdictOf(out: string): Record<string, unknown> {
    const v = JSON.parse(readFileSync(join(out, 'drone-app.conn.log.verdict.json'), 'utf8')) as Record<string, unknown>;
    expect(typeof v.checkedAt).toBe('string');
    delete v.checkedAt;
    return v;
  }

  it('has the bundle and the code cache the build made', () => {
    expect(statSync(join(DIST_BIN, BUNDLE_FILE)).size).toBeGreaterThan(100_000);
    expect(statSync(join(DIST_BIN, CACHE_FILE)).size).toBeGreaterThan(32);
    const inputs = readFileSync(join(DIST_BIN, INPUTS_FILE), 'utf8').split('\n');
    expect(inputs).toContain(join('cli', 'main.js'));
    expect(inputs).toContain(join('..', 'lambda', 'engine', 'check.js'));
    expect(inputs.some((i) => i.includes('node_modules'))).toBe(false);
    expect(bundleOutOfDate(join(DIST_BIN, BUNDLE_FILE), join(DIST_BIN, INPUTS_FILE))).toBe(false);
  });

  it('starts through its #! line from the cache, and checks as the modules do', () => {
    const fromCache = tempDir();
    const cached = spawnSync(LAUNCHER, [...example, '--out', fromCache], {
      cwd: REPO_ROOT,
      env: { ...process.env, RESIDENCY_DEBUG: '1' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(cached.stderr).toContain('residency: bundle, code cache accepted');
    expect(cached.status).toBe(1);

    // The same check from the modules tsc wrote, without the bundle.
    const fromModules = tempDir();
    const modules = spawnSync(
      process.execPath,
      ['-e', `process.argv.splice(1, 0, 'residency'); require(${JSON.stringify(join(DIST_BIN, 'cli', 'main.js'))}).run();`, ...example, '--out', fromModules],
      { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 },
    );
    expect(modules.stderr).toBe('');
    expect(modules.status).toBe(1);
    expect(verdictOf(fromCache)).toEqual(verdictOf(fromModules));
    // The same files (the verdict and the reports), of which the verdict was compared.
    expect(readdirSync(fromCache).sort()).toEqual(readdirSync(fromModules).sort());
    expect(readdirSync(fromCache).length).toBeGreaterThan(1);
  });

  it('runs under other flags, where V8 refuses the cache', () => {
    const out = tempDir();
    const r = spawnSync(process.execPath, [LAUNCHER, ...example, '--out', out], {
      cwd: REPO_ROOT,
      env: { ...process.env, RESIDENCY_DEBUG: '1' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).toContain('residency: bundle, code cache rejected');
    expect(r.status).toBe(1);
    expect(verdictOf(out).compliant).toBe(false);
  });
});
