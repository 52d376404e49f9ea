/** Factories for engine tests: the real bundled database, policies, and a check over bytes. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadGeoDatabases } from '../../lambda/adapters/load-geo-database';
import { runCheck, type CheckOptions } from '../../lambda/engine/check';
import type { GeoLookup } from '../../lambda/engine/geo/geo-lookup';
import { compilePolicy, policyFromLists, type CompiledPolicy } from '../../lambda/engine/policy/policy';
import type { Verdict } from '../../lambda/engine/verdict/verdict';

let bundled: GeoLookup[] | null = null;

/** The bundled GeoIP database, opened once per test file. */
export function bundledDatabases(): GeoLookup[] {
  bundled ??= loadGeoDatabases([]);
  return bundled;
}

/** A compiled policy from `--jurisdiction`/`--deny` style lists. */
export function policyOf(jurisdiction?: string, deny?: string): CompiledPolicy {
  return compilePolicy(policyFromLists(jurisdiction, deny));
}

/** Path of a test fixture. */
export function fixturePath(...parts: string[]): string {
  return join(__dirname, '..', 'fixtures', ...parts);
}

/** Bytes of a test fixture. */
export function fixture(...parts: string[]): Buffer {
  return readFileSync(fixturePath(...parts));
}

/** Yields a buffer in chunks of the given size (to exercise chunk boundaries). */
export async function* chunked(bytes: Buffer, size = 7): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, Math.min(bytes.length, i + size));
}

/** Runs a check over bytes with fixed time and version, so verdicts are comparable. */
export function checkBytes(bytes: Buffer | string, options: Partial<CheckOptions> = {}, chunkSize = 64 * 1024): Promise<Verdict> {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  return runCheck(chunked(buf, chunkSize), {
    name: 'test.log',
    policy: policyOf('us'),
    databases: bundledDatabases(),
    toolVersion: '0.0.0-test',
    now: new Date('2026-01-01T00:00:00Z'),
    ...options,
  });
}

/** The destination entry for an address. */
export function destination(v: Verdict, ip: string): Verdict['destinations'][number] {
  const d = v.destinations.find((x) => x.ip === ip);
  if (!d) throw new Error(`no destination ${ip} in verdict (have ${v.destinations.map((x) => x.ip).join(', ')})`);
  return d;
}
