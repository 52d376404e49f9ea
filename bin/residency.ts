#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.hugetlb=1:${GLIBC_TUNABLES} RESIDENCY_DEFERRED_CA_CERTS=${NODE_EXTRA_CA_CERTS} NODE_EXTRA_CA_CERTS= node --max-semi-space-size=2 --v8-pool-size=1 --no-turbo-inlining --no-concurrent-osr
/**
 * Starts the residency command line (bin/cli/main.ts): from the bundle the build makes of it, with
 * V8's code cache, where there is one (see cli/code-cache.ts), else from its modules.
 *
 * The V8 flags above keep the young generation at 2 MB per semi-space instead of 16: a check keeps
 * little of what it makes per record, so larger semi-spaces only add resident memory (about 28 MB
 * on a million-record log) without making it faster; and V8's background work (concurrent
 * compiling and marking) to one thread instead of four, each with its own stack and allocator
 * arena (about 4 MB less, at the same speed). Measured in bench/; see docs/performance.md. The
 * code cache is made with these flags (scripts/build-cli-bundle.js runs this file): V8 refuses it
 * under others.
 *
 * It also sets `NODE_EXTRA_CA_CERTS` aside, so that Node does not load CA certificates at start-up
 * for commands that open no TLS connection (about 90 ms of CPU with Debian's bundle): see
 * cli/deferred-ca.ts. And it asks glibc's malloc for transparent huge pages
 * (`GLIBC_TUNABLES=glibc.malloc.hugetlb=1`, ahead of the user's own tunables, which win): the
 * databases and the AS table are read into large buffers, and where the kernel gives huge pages
 * only to memory that asks (`/sys/kernel/mm/transparent_hugepage/enabled` = madvise, as on the
 * build machine) each 4 KiB page of them was a fault of its own, about 15 us each in a virtual
 * machine. The processes the CLI starts get the user's tunables back (cli/deferred-ca.ts).
 * (Linux reads a `#!` line of up to 255 bytes since 5.1; macOS 511.)
 */
import { join } from 'node:path';
import { BUNDLE_FILE, bundleOutOfDate, CACHE_FILE, INPUTS_FILE, loadBundle, type LoadedBundle } from './cli/code-cache';

const mode = process.env.RESIDENCY_CODE_CACHE;
const debug = (line: string): void => {
  if (process.env.RESIDENCY_DEBUG) process.stderr.write(`residency: ${line}\n`);
};
const bundlePath = join(__dirname, BUNDLE_FILE);
const cachePath = join(__dirname, CACHE_FILE);
let bundle: LoadedBundle | null = null;
if (bundleOutOfDate(bundlePath, join(__dirname, INPUTS_FILE))) {
  debug(`${BUNDLE_FILE} is missing or older than the modules (npm run build makes it): not used`);
} else {
  try {
    bundle = loadBundle(bundlePath, cachePath, mode !== 'off' && mode !== 'write');
    debug(bundle === null ? 'no bundle' : `bundle, code cache ${bundle.cache}`);
  } catch (err) {
    // A bundle that cannot be read or run is not the user's problem: the modules it was made from run.
    debug(`${BUNDLE_FILE} not used: ${(err as Error).message}`);
  }
}
if (bundle !== null && mode === 'write') {
  const made = bundle;
  process.on('exit', () => {
    try {
      made.writeCache(cachePath);
    } catch (err) {
      // The build says when no cache was made; a start without one is only slower.
      process.exitCode = 2;
      process.stderr.write(`residency: code cache not written: ${(err as Error).message}\n`);
    }
  });
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only where there is no bundle
const cli = (bundle?.exports ?? (require('./cli/main') as Record<string, unknown>)) as { run(): void };
cli.run();
