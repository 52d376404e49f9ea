import { gzipSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, runCli, tempDir } from '../helpers/cli';

const EXAMPLE = join(REPO_ROOT, 'examples', 'drone-app.conn.log');

describe('residency check limits (flags)', () => {
  it('--max-line-bytes turns longer lines into skipped records', () => {
    const out = tempDir();
    const r = runCli(['check', EXAMPLE, '-j', 'us', '-o', out, '--report', 'none', '--max-line-bytes', '150', '--json', '-q']);
    const v = JSON.parse(r.stdout);
    expect(v.totals.skippedByReason['line longer than 150 bytes']).toBeGreaterThan(0);
    expect(v.totals.records).toBe(v.totals.connections + v.totals.skipped + v.totals.noData + (v.totals.unattributed ?? 0));
  });

  it('--max-gzip-ratio refuses an input that expands too much, exit 2', () => {
    const dir = tempDir();
    const file = join(dir, 'bomb.log.gz');
    writeFileSync(file, gzipSync(Buffer.concat([Buffer.from('#separator \\x09\n'), Buffer.alloc(40 * 1024 * 1024, 10)])));
    const r = runCli(['check', file, '-j', 'us', '-o', dir, '--max-gzip-ratio', '50']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/^residency: \S+bomb\.log\.gz: gzip data expands more than 50 times .*gzip bomb$/);
  });

  it('--max-bytes refuses a larger input, exit 2', () => {
    const r = runCli(['check', EXAMPLE, '-j', 'us', '-o', tempDir(), '--max-bytes', '1000']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/input is larger than the limit of 1000 bytes$/);
  });

  it('--max-destinations refuses a log with more distinct destinations, exit 2 naming the limit', () => {
    const r = runCli(['check', EXAMPLE, '-j', 'us', '-o', tempDir(), '--max-destinations', '3']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/more than 3 distinct destinations \(the limit; a larger one needs more memory: --max-destinations/);
  });

  it.each([['--max-skipped', '0'], ['--max-line-bytes', 'lots'], ['--max-gzip-ratio', '1.5'], ['--max-destinations', 'many']])('%s %s is a usage error', (flag, value) => {
    const r = runCli(['check', EXAMPLE, '-j', 'us', flag, value]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`residency: ${flag}: expected a positive whole number, got '${value}'`);
  });
});
