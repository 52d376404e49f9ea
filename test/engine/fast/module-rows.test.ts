/**
 * Logs of every line format but Zeek TSV fill rows in the WebAssembly module's memory
 * (ZeekFastPath.rowsOnly) when they are larger than their head: the module then writes their
 * verdict's numbers and whole entries. The verdict file must be the one the JavaScript writer
 * makes from JavaScript rows, byte for byte.
 */
import fc from 'fast-check';
import { loadOperatorSources } from '../../../lambda/adapters/load-geo-database';
import { destinationListOf } from '../../../lambda/engine/verdict/build-verdict';
import { verdictBytes } from '../../../lambda/engine/verdict/serialize';
import { bundledDatabases, checkBytes, fixture, policyOf } from '../../helpers/engine';
import { GENERATED_LOGS, LONG_LINE_LIMIT, logBytes } from '../split/split-logs';

const options = {
  policy: policyOf('us', 'foreign-adversaries'),
  databases: bundledDatabases(),
  operator: loadOperatorSources(),
  maxLineBytes: LONG_LINE_LIMIT,
  maxSkippedRecords: 1e9,
};

/** The verdict file with rows in the module (fastPath forced on) and in JavaScript, and how many entries the module wrote whole. */
async function both(bytes: Buffer, chunk: number): Promise<{ module: Buffer; js: Buffer; whole: number; inModule: boolean }> {
  const v = await checkBytes(bytes, { ...options, fastPath: true }, chunk);
  const writer = destinationListOf(v)?.rowWriter ?? null;
  let whole = 0;
  const entries = writer?.entries;
  if (entries) {
    const put = entries.put.bind(entries);
    entries.put = (kind, k, ...rest) => {
      const next = put(kind, k, ...rest);
      whole += next - k;
      return next;
    };
  }
  const module = verdictBytes(v);
  const js = verdictBytes(await checkBytes(bytes, { ...options, fastPath: false }, chunk));
  return { module, js, whole, inModule: writer !== null };
}

describe('rows in the module for formats without a fold', () => {
  describe.each(Object.keys(GENERATED_LOGS).filter((f) => f !== 'zeek-tsv'))('generated %s logs', (format) => {
    it('give the verdict file of JavaScript rows, byte for byte', async () => {
      let whole = 0;
      await fc.assert(
        fc.asyncProperty(GENERATED_LOGS[format]!, fc.integer({ min: 1, max: 4096 }), async (log, chunk) => {
          const r = await both(logBytes(log), chunk);
          expect(r.inModule || JSON.parse(r.js.toString('utf8')).destinations.length === 0).toBe(true);
          expect(r.module.toString('utf8')).toBe(r.js.toString('utf8'));
          whole += r.whole;
        }),
        { numRuns: 40 },
      );
      // Some entries were written whole by the module (the destinations of formats whose records
      // name apps or hosts are written by JavaScript, their numbers by the module).
      if (format === 'zeek-json' || format === 'nfdump-csv') expect(whole).toBeGreaterThan(0);
    });
  });

  it.each([
    ['vpcflow', 'custom-v5-awsdocs.log'],
    ['pcapdroid', 'connections-synthetic.csv'],
    ['csv', 'firewall-export-semicolon.csv'],
    ['zeek', 'conn-zeekdocs.json.log'],
  ])('give the verdict file of JavaScript rows for the real sample %s/%s', async (dir, file) => {
    const r = await both(fixture(dir, file), 512);
    expect(r.inModule).toBe(true);
    if (dir === 'csv' || dir === 'zeek') expect(r.whole).toBeGreaterThan(0);
    expect(r.module.toString('utf8')).toBe(r.js.toString('utf8'));
  });
});
