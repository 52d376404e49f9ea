/**
 * Starting the command line from one bundled file and V8's code cache for it.
 *
 * Node compiles each of the eighty-odd modules a check loads from source at every start: about
 * 40-50 ms of a small check's 0.2 s of CPU. The build (`scripts/build-cli-bundle.js`) bundles the
 * command line into one file with esbuild and runs it once on the bundled example, which writes
 * what V8 compiled then (its code cache) beside the bundle; later starts read that cache instead of
 * compiling. V8 takes the cache only from the same V8 version run with the same flags (the `#!`
 * line's), and rejects it otherwise (`node dist/bin/residency.js` runs without those flags): then
 * the bundle is compiled as usual. The cache also starts with the SHA-256 of the bundle it was made
 * from, as V8 checks only the source's length: a bundle changed since is compiled, never run with
 * another's code. A bundle older than any of the modules it was made from (compiled again by tsc
 * alone) is not run: the modules are. `RESIDENCY_CODE_CACHE=off` starts without the cache; with
 * `RESIDENCY_DEBUG` set, what was started is written to standard error.
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire, wrap } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

/** The bundle the build makes of bin/cli/main.ts, and its code cache, beside bin/residency.js. */
export const BUNDLE_FILE = 'residency-cli.js';
export const CACHE_FILE = 'residency-cli.cache';

/** What became of the code cache: used, refused by V8, made for another bundle, none, or not asked. */
export type CacheUse = 'accepted' | 'rejected' | 'stale' | 'absent' | 'off';

export interface LoadedBundle {
  /** The bundle's exports (module.exports). */
  exports: Record<string, unknown>;
  cache: CacheUse;
  /** Writes the code cache of what V8 has compiled of the bundle so far to `path`. */
  writeCache(path: string): void;
}

const DIGEST_BYTES = 32;

/** The list of the bundle's own modules (paths relative to it, one a line) the build writes beside it. */
export const INPUTS_FILE = 'residency-cli.inputs';

/**
 * Whether the bundle at `bundlePath` is older than any of the modules it was made from (listed in
 * `inputsPath`): a build by tsc alone (or tsc --watch, which writes only what changed) leaves the
 * bundle behind. Without the list the bundle is taken as out of date.
 */
export function bundleOutOfDate(bundlePath: string, inputsPath: string): boolean {
  let made: number;
  let inputs: string[];
  try {
    made = statSync(bundlePath).mtimeMs;
    inputs = readFileSync(inputsPath, 'utf8').split('\n').filter((l) => l !== '');
  } catch {
    return true;
  }
  const dir = dirname(bundlePath);
  for (const input of inputs) {
    try {
      if (statSync(join(dir, input)).mtimeMs > made) return true;
    } catch {
      // A module gone since: tsc removed nothing it wrote, so the bundle is another build's.
      return true;
    }
  }
  return false;
}

/**
 * Compiles and runs the bundle at `bundlePath` as a CommonJS module, with the code cache at
 * `cachePath` unless `useCache` is false. Null when there is no bundle (a build without esbuild,
 * or sources run directly).
 */
export function loadBundle(bundlePath: string, cachePath: string, useCache = true): LoadedBundle | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(bundlePath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const digest = createHash('sha256').update(bytes).digest();
  let cachedData: Buffer | undefined;
  let cache: CacheUse = useCache ? 'absent' : 'off';
  if (useCache) {
    try {
      const file = readFileSync(cachePath);
      if (file.length > DIGEST_BYTES && file.subarray(0, DIGEST_BYTES).equals(digest)) cachedData = file.subarray(DIGEST_BYTES);
      else cache = 'stale';
    } catch {
      // No cache (or none readable): compiled as usual.
    }
  }
  const script = new Script(wrap(bytes.toString('utf8')), { filename: bundlePath, cachedData });
  if (cachedData !== undefined) cache = script.cachedDataRejected === true ? 'rejected' : 'accepted';
  const module = { exports: {} as Record<string, unknown>, id: bundlePath, filename: bundlePath, loaded: false };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(module.exports, module.exports, createRequire(bundlePath), module, bundlePath, dirname(bundlePath));
  module.loaded = true;
  return {
    exports: module.exports,
    cache,
    writeCache(path: string): void {
      const temp = `${path}.${process.pid}.tmp`;
      try {
        writeFileSync(temp, Buffer.concat([digest, script.createCachedData()]));
        renameSync(temp, path);
      } finally {
        rmSync(temp, { force: true });
      }
    },
  };
}
