/**
 * The committed WebAssembly module is the one its C source builds to: rebuilt here with Debian's
 * clang-14 and lld-14 (`.ci/run` installs them; without them this test fails) and compared.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

describe('zeek-fold.wasm', () => {
  it('matches a fresh build of zeek-fold.c', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'fold-')), 'zeek-fold-wasm.ts');
    const r = spawnSync('bash', [join(ROOT, 'scripts', 'build-wasm.sh'), out], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(join(ROOT, 'lambda', 'engine', 'fast', 'zeek-fold-wasm.ts'), 'utf8'));
  });
});
