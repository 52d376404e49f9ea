import fc from 'fast-check';
import { ISO_BOUND, destinationListOf, iso, putIso } from '../../../lambda/engine/verdict/build-verdict';
import { serializeVerdict, serializeVerdictBytes, verdictBytes, verdictJson } from '../../../lambda/engine/verdict/serialize';
import type { Verdict, VerdictDestination } from '../../../lambda/engine/verdict/verdict';
import { checkBytes, fixture, policyOf } from '../../helpers/engine';
import { destinationArb, verdictArb, violationArb } from '../../helpers/verdict-arbitraries';

/** Every chunk the byte writer hands out, each copied before the next is asked for (they share one buffer). */
function byteChunks(v: Verdict, chunkBytes?: number): Buffer[] {
  const out: Buffer[] = [];
  for (const chunk of serializeVerdictBytes(v, chunkBytes)) out.push(Buffer.from(chunk));
  return out;
}

/** The layout, spelled out with JSON.stringify: what the byte writer must reproduce exactly. */
function referenceJson(v: Verdict): string {
  const lists = new Set(['countries', 'destinations', 'violations', 'warnings', 'errors']);
  const keys = Object.keys(v);
  let out = '{\n';
  keys.forEach((key, k) => {
    const value = (v as unknown as Record<string, unknown>)[key];
    const comma = k < keys.length - 1 ? ',' : '';
    if (lists.has(key) && Array.isArray(value) && value.length > 0) {
      out += `  ${JSON.stringify(key)}: [\n${value.map((x) => `    ${JSON.stringify(x)}`).join(',\n')}\n  ]${comma}\n`;
    } else {
      out += `  ${JSON.stringify(key)}: ${JSON.stringify(value, null, 2).replace(/\n/g, '\n  ')}${comma}\n`;
    }
  });
  return `${out}}\n`;
}

describe('verdict serialization', () => {
  it('writes JSON that parses back to the same verdict', async () => {
    const v = await checkBytes(fixture('zeek', 'conn-teredo.tsv.log'), { policy: policyOf('us', 'foreign-adversaries') });
    expect(JSON.parse(verdictJson(v))).toEqual(JSON.parse(JSON.stringify(v)));
  });

  it.each([
    ['zeek', 'conn-teredo.tsv.log'],
    ['pcap', 'zeek-dns-ech-rawip.pcap'],
    ['har', 'chrome.har'],
    ['suricata', 'eve-synthetic.json'],
  ])('writes %s/%s byte for byte as the layout defines', async (dir, file) => {
    const v = await checkBytes(fixture(dir, file), { policy: policyOf('us', 'foreign-adversaries') });
    expect(v.destinations.length).toBeGreaterThan(0);
    expect(verdictJson(v)).toBe(referenceJson(v));
  });

  it('hands out a large verdict in bounded pieces', async () => {
    const v = await checkBytes(fixture('zeek', 'conn-teredo.tsv.log'), { policy: policyOf('us') });
    const many = { ...v, destinations: Array.from({ length: 4000 }, () => v.destinations).flat() };
    const pieces = [...serializeVerdict(many)];
    expect(pieces.length).toBeGreaterThan(2);
    for (const p of pieces) expect(p.length).toBeLessThanOrEqual(80 * 1024);
    expect(pieces.join('')).toBe(referenceJson(many));
  });

  it('gives the same JSON as bytes (for S3 bodies past the longest string) as it does as text', async () => {
    const v = await checkBytes(fixture('har', 'chrome.har'), { policy: policyOf('us') });
    const named = { ...v, destinations: v.destinations.map((d) => ({ ...d, hostnames: ['bücher.example', 'пример.example'] })) };
    expect(verdictBytes(named).equals(Buffer.from(verdictJson(named), 'utf8'))).toBe(true);
  });

  it('writes an error verdict with compliant and error near the top', async () => {
    const v = await checkBytes('not a log\n');
    const text = verdictJson(v);
    expect(text.split('\n').slice(1, 4)).toEqual(['  "schemaVersion": 1,', '  "compliant": false,', expect.stringMatching(/^ {2}"error": "unknown log format/)]);
  });

  it('quotes values that repeat across destinations the same way each time, escapes included', async () => {
    // Prepare
    const v = await checkBytes(fixture('zeek', 'conn-teredo.tsv.log'), { policy: policyOf('us') });
    const odd = (d: VerdictDestination): VerdictDestination => ({
      ...d, country: 'Ä"X', countries: { 'a\\b.mmdb': 'Ä"X', 'c.mmdb': null }, rule: 'line\nbreak', asOrganization: '\u0001 Org',
    });
    const repeated = { ...v, destinations: [...v.destinations, ...v.destinations].map(odd) };
    // Act
    const text = verdictJson(repeated);
    // Assess
    expect(text).toBe(referenceJson(repeated));
  });
});

describe('verdict serialization as bytes', () => {
  let base: Verdict;
  beforeAll(async () => {
    base = await checkBytes(fixture('zeek', 'conn-teredo.tsv.log'), { policy: policyOf('us', 'foreign-adversaries') });
  });

  it('writes generated verdicts byte for byte as JSON.stringify spells the layout, in chunks of any size', () => {
    fc.assert(
      fc.property(
        fc.constant(null).chain(() => verdictArb(base)),
        fc.constantFrom(undefined, 1, 100, 4096),
        (v, chunkBytes) => {
          const expected = Buffer.from(referenceJson(v), 'utf8');
          expect(Buffer.concat(byteChunks(v, chunkBytes)).equals(expected)).toBe(true);
          expect(verdictBytes(v).equals(expected)).toBe(true);
          expect(verdictJson(v)).toBe(referenceJson(v));
          expect([...serializeVerdict(v)].join('')).toBe(referenceJson(v));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('writes a destination and a violation as JSON.stringify would, whatever their values', () => {
    fc.assert(
      fc.property(destinationArb, violationArb, (d, x) => {
        const v: Verdict = { ...base, destinations: [d], violations: [x] };
        const lines = verdictJson(v).split('\n');
        expect(lines).toContain(`    ${JSON.stringify(d)}`);
        expect(lines).toContain(`    ${JSON.stringify(x)}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('writes real verdicts as the text writer does, empty lists included', async () => {
    for (const [dir, file] of [
      ['zeek', 'conn-teredo.tsv.log'],
      ['har', 'chrome.har'],
      ['pcapdroid', 'connections-synthetic.csv'],
    ]) {
      const v = await checkBytes(fixture(dir!, file!), { policy: policyOf('us', 'foreign-adversaries') });
      const empty = { ...v, destinations: [], violations: [], warnings: [], errors: [], countries: [] };
      for (const x of [v, empty]) expect(Buffer.concat(byteChunks(x)).equals(Buffer.from(referenceJson(x), 'utf8'))).toBe(true);
    }
  });

  it('hands out chunks near the size asked for, ending between entries', () => {
    const many = { ...base, destinations: Array.from({ length: 3000 }, () => base.destinations).flat() };
    const chunks = byteChunks(many, 16 * 1024);
    expect(chunks.length).toBeGreaterThan(10);
    for (const c of chunks.slice(0, -1)) {
      expect(c.length).toBeGreaterThanOrEqual(16 * 1024);
      expect(c.length).toBeLessThan(20 * 1024);
      expect(c[c.length - 1]).toBe(0x0a);
    }
    expect(Buffer.concat(chunks).toString('utf8')).toBe(referenceJson(many));
  });

  it('writes an entry larger than its buffer whole', () => {
    const huge = { ...base.destinations[0]!, hostnames: ['é'.repeat(200_000), 'x'.repeat(300_000)] };
    const v = { ...base, destinations: [huge] };
    expect(Buffer.concat(byteChunks(v, 1024)).equals(Buffer.from(referenceJson(v), 'utf8'))).toBe(true);
  });
});

describe('a verdict written before its destinations are read as objects', () => {
  /** A Zeek conn.log in which one destination has many ports and records, in no order. */
  function busyLog(): string {
    const fields = ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'service', 'duration', 'orig_bytes', 'resp_bytes'];
    const lines = ['#separator \\x09', `#fields\t${fields.join('\t')}`];
    for (let i = 0; i < 90; i++) {
      const port = 1000 + ((i * 37) % 83);
      const proto = i % 3 === 0 ? 'udp' : 'tcp';
      lines.push(['1700000000.5', `C${i}`, '10.0.0.2', '5000', '81.2.69.160', String(port), proto, '-', '0.1', String(i * 10), '5'].join('\t'));
      lines.push(['1700000100.25', `D${i}`, '10.0.0.3', '5000', `8.8.${i % 4}.8`, String(443 + (i % 20)), 'tcp', '-', '0.1', '7', '9'].join('\t'));
    }
    return `${lines.join('\n')}\n`;
  }

  it.each([
    ['zeek', 'conn-teredo.tsv.log'],
    ['pcap', 'zeek-dns-ech-rawip.pcap'],
    ['har', 'chrome.har'],
    ['pcapdroid', 'connections-synthetic.csv'],
    ['vpcflow', 'custom-v5-awsdocs.log'],
    ['vpcflow', 'default-v2-awsdocs.log'],
    ['suricata', 'eve-synthetic.json'],
    ['csv', 'firewall-export-semicolon.csv'],
  ])('writes %s/%s from the totals byte for byte as from the objects', async (dir, file) => {
    // Prepare
    const v = await checkBytes(fixture(dir, file), { policy: policyOf('us', 'foreign-adversaries') });
    expect(destinationListOf(v)).not.toBeNull();

    // Act: written first (from the totals), then read as objects (which makes them).
    const written = Buffer.concat(byteChunks(v, 4096)).toString('utf8');
    const objects = referenceJson(v);

    // Assess
    expect(v.destinations.length).toBeGreaterThan(0);
    expect(destinationListOf(v)).toBeNull();
    expect(written).toBe(objects);
    expect(verdictJson(v)).toBe(written);
  });

  it('sorts ports and evidence lines, keeps protocols and names, with DNS names beside the log', async () => {
    const names = new Map<string, string[]>([['81.2.69.160', ['b.example', 'a.example']]]);
    const v = await checkBytes(busyLog(), { policy: policyOf('us'), names });
    const written = verdictJson(v);
    const parsed = JSON.parse(written) as Verdict;
    const busy = parsed.destinations.find((d) => d.ip === '81.2.69.160')!;
    expect(busy.ports).toEqual([...busy.ports].sort((a, b) => a - b));
    expect(busy.ports.length).toBeGreaterThan(16);
    expect(busy.protocols).toEqual(['tcp', 'udp']);
    expect(busy.hostnames).toEqual(['a.example', 'b.example']);
    expect(busy.evidenceLines).toEqual([3, 5, 7, 9, 11, 13, 15, 17, 19, 21]);
    expect(parsed.violations.map((x) => x.ip)).toEqual(['81.2.69.160']);
    expect(written).toBe(referenceJson(v));
  });

  it('reads as arrays, which can be replaced, and keeps its keys in order', async () => {
    const v = await checkBytes(fixture('zeek', 'conn-teredo.tsv.log'), { policy: policyOf('us') });
    const keys = Object.keys(v);
    expect(keys.slice(keys.indexOf('countries'), keys.indexOf('countries') + 3)).toEqual(['countries', 'destinations', 'violations']);
    expect(Array.isArray(v.violations)).toBe(true);
    expect(v.violations.every((x) => v.destinations.some((d) => d.ip === x.ip && d.status === 'violation'))).toBe(true);
    v.destinations = v.destinations.slice(0, 1);
    expect(Object.keys(v)).toEqual(keys);
    expect(JSON.parse(verdictJson(v)).destinations).toHaveLength(1);
    expect({ ...v }.destinations).toHaveLength(1);
  });
});

describe('iso', () => {
  it('matches Date.prototype.toISOString for any millisecond from 1970 to 9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253402300799999 }), (ms) => {
        expect(iso(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 5000 },
    );
  });

  it('is null for an unknown time, and for one past the dates a Date holds (instead of throwing)', () => {
    expect(iso(NaN)).toBeNull();
    for (const ms of [8.64e15 + 1, 1.7e21, -1e16, Infinity]) expect(iso(ms)).toBeNull();
    expect(iso(8.64e15)).toBe('+275760-09-13T00:00:00.000Z');
  });

  it('is written as bytes (putIso) as JSON.stringify writes it, inside its bound, for any time', () => {
    const buf = Buffer.alloc(ISO_BOUND + 8);
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 0, max: 253402300799999 }), fc.integer({ min: -8.64e15, max: 8.64e15 }), fc.double(), fc.constant(NaN)),
        (ms) => {
          const end = putIso(buf, 0, ms);
          expect(end).toBeLessThanOrEqual(ISO_BOUND);
          expect(buf.toString('utf8', 0, end)).toBe(JSON.stringify(iso(ms)));
        },
      ),
      { numRuns: 5000 },
    );
  });
});
