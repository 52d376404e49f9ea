/**
 * The proof of the split check: a log cut into N = 1..16 ranges at any points, each range
 * checked on its own and the results merged, gives the verdict a single pass gives, byte for
 * byte (both serialized by the project's serializer; `checkedAt` is the same fixed time).
 */
import fc from 'fast-check';
import type { CheckOptions } from '../../../lambda/engine/check';
import { checkSplit } from '../../../lambda/engine/split/check-split';
import type { Verdict } from '../../../lambda/engine/verdict/verdict';
import { verdictJson } from '../../../lambda/engine/verdict/serialize';
import { bundledDatabases, checkBytes, fixture, policyOf } from '../../helpers/engine';
import { bufferSource, capsLog, GENERATED_LOGS, LONG_LINE_LIMIT, logBytes } from './split-logs';

/** The options both checks get. */
function optionsOf(extra: Partial<CheckOptions> = {}): CheckOptions {
  return {
    name: 'test.log',
    policy: policyOf('us', 'foreign-adversaries'),
    databases: bundledDatabases(),
    toolVersion: '0.0.0-test',
    now: new Date('2026-01-01T00:00:00Z'),
    ...extra,
  };
}

/**
 * A verdict as JSON for comparison. A check stopped by an input error reports the bytes read so
 * far, which depends on how the input was chunked, in a single pass as in a split: only those two
 * numbers are left out, and only for such verdicts (`sha256` null).
 */
function comparable(v: Verdict): string {
  if (v.input.sha256 !== null) return verdictJson(v);
  return verdictJson({ ...v, input: { ...v.input, bytes: -1, decodedBytes: -1 } });
}

/** Checks `bytes` in one pass and split at `cuts`, and asserts the two verdicts are the same. */
async function expectSplitExact(bytes: Buffer, cuts: number[], chunkSize: number, extra: Partial<CheckOptions> = {}): Promise<'split' | 'whole'> {
  const options = optionsOf(extra);
  const single = await checkBytes(bytes, options);
  const split = await checkSplit(bufferSource(bytes, chunkSize), options, { cuts });
  expect(comparable(split.verdict)).toBe(comparable(single));
  return split.mode;
}

/** `n - 1` cut points anywhere in `[0, size]`, from raw numbers. */
function cutsOf(size: number, raw: readonly number[], n: number): number[] {
  return raw.slice(0, n - 1).map((r) => r % (size + 1));
}

const FIXTURES: [string, string][] = [
  ['zeek', 'conn-pop3.tsv.log'],
  ['zeek', 'conn-teredo.tsv.log'],
  ['zeek', 'conn-pop3-zeekcut-m.tsv'],
  ['zeek', 'conn-zeekdocs.json.log'],
  ['vpcflow', 'default-v2-awsdocs.log'],
  ['vpcflow', 'custom-v3-tcpflags-awsdocs.log'],
  ['vpcflow', 'custom-v5-awsdocs.log'],
  ['vpcflow', 'custom-natgw-noversion-awsdocs.log'],
  ['vpcflow', 'cloudwatch-export-goaccess1341.log'],
  ['vpcflow', 'athena-results-synthetic.csv'],
  ['vpcflow', 'insights-results-synthetic.csv'],
  ['vpcflow', 'dual-stack-default-synthetic.log'],
  ['pcapdroid', 'connections-synthetic.csv'],
  ['pcapdroid', 'connections-synthetic-old.csv'],
  ['pcapdroid', 'connections-synthetic-malicious.csv'],
  ['pcapdroid', 'connections-synthetic-quoted.csv'],
  ['pcapdroid', 'connections-synthetic-iso8601.csv'],
  ['csv', 'custom-columns.csv'],
  ['csv', 'destinations-only.tsv'],
  ['csv', 'firewall-export-semicolon.csv'],
  ['nfdump', 'teredo-nfdump171.csv'],
  ['suricata', 'aws-network-firewall-synthetic.log'],
  ['suricata', 'eve-synthetic.json'],
];

/** Checks run per property; the report of the suite counts them. */
const RUNS_PER_FORMAT = 60;
const RUNS_PER_FIXTURE = 25;

describe('a split check merges to the single-pass verdict', () => {
  describe.each(FIXTURES)('real fixture %s/%s', (dir, file) => {
    const bytes = fixture(dir, file);

    it('for N = 1..16 ranges cut anywhere', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 16 }),
          fc.array(fc.nat(), { minLength: 15, maxLength: 15 }),
          fc.integer({ min: 1, max: 300 }),
          async (n, raw, chunkSize) => {
            await expectSplitExact(bytes, cutsOf(bytes.length, raw, n), chunkSize);
          },
        ),
        { numRuns: RUNS_PER_FIXTURE },
      );
    });

    it('for two ranges cut at every byte', async () => {
      for (let cut = 0; cut <= bytes.length; cut += Math.max(1, Math.floor(bytes.length / 400))) {
        await expectSplitExact(bytes, [cut], 4096);
      }
    });
  });

  it('for ranges of one byte each (real Zeek and PCAPdroid logs)', async () => {
    for (const [dir, file] of [['zeek', 'conn-pop3.tsv.log'], ['pcapdroid', 'connections-synthetic.csv']] as const) {
      const bytes = fixture(dir, file);
      const cuts = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
      await expectSplitExact(bytes, cuts, 64);
    }
  });

  describe.each(Object.keys(GENERATED_LOGS))('generated %s logs', (format) => {
    it('for N = 1..16 ranges cut anywhere (long lines, CRLF, header blocks, bare last line)', async () => {
      const modes = { split: 0, whole: 0 };
      await fc.assert(
        fc.asyncProperty(
          GENERATED_LOGS[format]!,
          fc.integer({ min: 1, max: 16 }),
          fc.array(fc.nat(), { minLength: 15, maxLength: 15 }),
          fc.integer({ min: 1, max: 2048 }),
          async (log, n, raw, chunkSize) => {
            const bytes = logBytes(log);
            modes[await expectSplitExact(bytes, cutsOf(bytes.length, raw, n), chunkSize, { maxLineBytes: LONG_LINE_LIMIT })]++;
          },
        ),
        { numRuns: RUNS_PER_FORMAT },
      );
      // Most logs are split for real (the rest fall back to one pass, e.g. EVE with TLS names).
      expect(modes.split).toBeGreaterThan(0);
    });
  });

  it('past the interfaces whose common addresses are tracked: no hint in one pass, none merged', async () => {
    // Prepare: an interface whose IPv6 records all reach 2600:1f18:4a3:6900::1, beside 8,191 others;
    // a later record of it lacks that address. Ranges each see fewer interfaces than the cap.
    const line = (eni: string, s: string, d: string): string => `2 123456789012 ${eni} ${s} ${d} 443 49152 6 10 840 1620140661 1620140721 ACCEPT OK\n`;
    const X = '2600:1f18:4a3:6900::1';
    let first = line('eni-g', '2a03:2880:f12f:83:face:b00c::25de', X) + line('eni-g', '2001:4860:4860::8888', X);
    for (let i = 1; i <= 4095; i++) first += line(`eni-y${i}`, `10.1.${i >> 8}.${i & 255}`, '8.8.8.8');
    let second = '';
    for (let i = 1; i <= 4096; i++) second += line(`eni-z${i}`, `10.2.${i >> 8}.${i & 255}`, '8.8.8.8');
    second += line('eni-g', '2001:4860:4860::8844', '2a03:2880:f12f:83:face:b00c::25de');

    // Act + Assess: the same verdict split or not (expectSplitExact), and no hint past the cap.
    expect(await expectSplitExact(Buffer.from(first + second), [Buffer.byteLength(first)], 65536)).toBe('split');
    const single = await checkBytes(Buffer.from(first + second), optionsOf());
    expect(single.warnings.filter((w) => w.rule.includes('one side of every'))).toEqual([]);
    // At the cap (4,096 interfaces), the hint is there, split or not.
    expect(await expectSplitExact(Buffer.from(first), [Buffer.byteLength(first) >> 1], 65536)).toBe('split');
    const under = await checkBytes(Buffer.from(first), optionsOf());
    expect(under.warnings.map((w) => w.ip)).toContain(X);
  });

  it('past the caps: 64 ports, 32 names and apps, 10 evidence lines, 100 errors', async () => {
    await fc.assert(
      fc.asyncProperty(capsLog, fc.integer({ min: 2, max: 16 }), fc.array(fc.nat(), { minLength: 15, maxLength: 15 }), async (log, n, raw) => {
        const bytes = logBytes(log);
        expect(await expectSplitExact(bytes, cutsOf(bytes.length, raw, n), 1024)).toBe('split');
      }),
      { numRuns: 15 },
    );
  });
});
