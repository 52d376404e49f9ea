import fc from 'fast-check';
import { iso } from '../../../lambda/engine/verdict/build-verdict';
import { destinationJson, serializeVerdict, verdictBytes, verdictJson, violationJson } from '../../../lambda/engine/verdict/serialize';
import type { Verdict, VerdictDestination, VerdictViolation } from '../../../lambda/engine/verdict/verdict';
import { checkBytes, fixture, policyOf } from '../../helpers/engine';

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

  it('writes each destination exactly as JSON.stringify would, escapes included', () => {
    const text = fc.string({ unit: 'grapheme' });
    fc.assert(
      fc.property(text, text, fc.array(text, { maxLength: 3 }), (ip, rule, hostnames) => {
        const d: VerdictDestination = {
          ip, country: 'CN', countries: { 'a.mmdb': 'CN', [rule]: null }, addressClass: 'public', status: 'violation', rule,
          connections: 3, blockedAttempts: 0, bytesSent: 1.5e15, bytesReceived: 0, connectionsWithUnknownBytes: 1,
          firstSeen: null, lastSeen: '2020-01-01T00:00:00.000Z', ports: [443, 80], protocols: ['tcp'], hostnames, apps: [], evidenceLines: [1, 2],
          disputed: true, asn: 45102, asOrganization: rule, operatorCountry: null, warning: rule,
        };
        expect(destinationJson(d)).toBe(JSON.stringify(d));
      }),
    );
  });

  it('writes each violation exactly as JSON.stringify would, escapes included', () => {
    const text = fc.string({ unit: 'grapheme' });
    fc.assert(
      fc.property(text, text, fc.array(text, { maxLength: 3 }), fc.option(fc.integer({ min: 0, max: 4294967295 })), (ip, rule, hostnames, asn) => {
        const v: VerdictViolation = {
          ip, country: rule, rule, hostnames, bytesSent: 1.5e15, connections: 3, evidenceLines: [7, 1, 2],
          asn, asOrganization: asn === null ? null : rule, operatorCountry: asn === null ? rule : null,
        };
        expect(violationJson(v)).toBe(JSON.stringify(v));
      }),
    );
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

describe('iso', () => {
  it('matches Date.prototype.toISOString for any millisecond from 1970 to 9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253402300799999 }), (ms) => {
        expect(iso(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 5000 },
    );
  });

  it('is null for an unknown time', () => {
    expect(iso(NaN)).toBeNull();
  });
});
