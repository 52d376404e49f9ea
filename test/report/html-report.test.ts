import { renderHtmlReport } from '../../lambda/engine/report/render-html-report';
import { mapCountries, renderWorldMap } from '../../lambda/engine/report/world-map';
import { countryName } from '../../lambda/engine/report/country-names';
import { destinationListOf } from '../../lambda/engine/verdict/build-verdict';
import { buildPolicy, compilePolicy } from '../../lambda/engine/policy/policy';
import { checkBytes, fixture, policyOf } from '../helpers/engine';
import { destinationOf, droneVerdict, HOSTILE, sharedDestinationVerdict, verdictOf } from './report-fixtures';

/** The `data-country` of every arc in a report. */
function arcCountries(html: string): string[] {
  return [...html.matchAll(/<path class="arc [a-z]+" data-country="([^"]*)"/g)].map((m) => m[1]!);
}

describe('renderHtmlReport', () => {
  it('states the result and the policy in country names', async () => {
    // Prepare
    const v = await droneVerdict();

    // Act
    const html = renderHtmlReport(v);

    // Assess
    expect(html).toContain('<p class="result">NOT COMPLIANT</p>');
    expect(html).toContain('Data must stay in: United States');
    expect(html).toContain('Never to: China, Cuba, Hong Kong, Iran, North Korea, Macao, Russia (foreign-adversaries)');
    expect(html).toContain('android.bugly.example');
    expect(html).toContain(v.input.sha256!);
    expect(html).toContain(v.policy.sha256);
  });

  it.each([
    ['the drone app', () => droneVerdict()],
    ['a PCAPdroid export (apps)', () => checkBytes(fixture('pcapdroid', 'connections-synthetic.csv'), { policy: policyOf('us', 'foreign-adversaries') })],
  ])('renders %s from a verdict whose destinations are not objects yet as from one whose are, and keeps it so', async (_, make) => {
    // Prepare
    const v = await make();
    expect(v.totals.destinations).toBeGreaterThan(3);

    // Act: the built verdict first, then a copy (copying reads every destination as an object).
    const lean = renderHtmlReport(v, { maxDestinations: 3 });
    const stillLean = destinationListOf(v) !== null;
    const fromObjects = renderHtmlReport({ ...v }, { maxDestinations: 3 });

    // Assess
    expect(stillLean).toBe(true);
    expect(lean).toBe(fromObjects);
    expect(lean).toContain(`and ${v.totals.destinations - 3} more`);
  });

  it('makes no request: no external URL in any src, href or url()', async () => {
    const html = renderHtmlReport(await droneVerdict());
    expect(html).not.toMatch(/\b(src|href)\s*=/i);
    expect(html).not.toMatch(/url\(/i);
    expect(html).not.toMatch(/@import/i);
    expect(html).toContain(`Content-Security-Policy" content="default-src 'none'`);
  });

  it('says COMPLIANT when nothing left the policy', () => {
    const html = renderHtmlReport(verdictOf([destinationOf({ ip: '8.8.8.8' })]));
    expect(html).toContain('<p class="result">COMPLIANT</p>');
  });

  it('escapes every name from the log: host names, apps, rules, the input name', () => {
    // Prepare: attacker-chosen names in every field that a log controls
    const v = verdictOf(
      HOSTILE.map((evil, i) =>
        destinationOf({ ip: `1.2.3.${i}`, country: 'CN', status: 'violation', rule: evil, hostnames: [evil], apps: [evil], asOrganization: evil, warning: evil }),
      ),
      {
        input: { name: HOSTILE[1]!, sha256: null, bytes: 1, decodedBytes: 1, compression: 'none', format: null, formatSource: null, source: { key: HOSTILE[0]! } },
        errors: [{ line: 1, reason: HOSTILE[0]! }],
        unattributed: [{ line: 2, reason: HOSTILE[2]! }],
        warnings: [{ ip: '1.2.3.0', rule: HOSTILE[0]! }],
      },
    );
    v.totals.skippedByReason = { [HOSTILE[1]!]: 1 };

    // Act
    const html = renderHtmlReport(v);

    // Assess: the only tags are the report's own
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<svg onload');
    expect(html).not.toMatch(/<[a-z][^>]*\son\w+=/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&quot;&gt;&lt;img src=x onerror=alert(2)&gt;');
  });

  it('draws one arc per distinct destination country, none for non-public or unlocated ones', () => {
    // Prepare
    const v = verdictOf([
      destinationOf({ ip: '8.8.8.8', country: 'US' }),
      destinationOf({ ip: '8.8.4.4', country: 'US' }),
      destinationOf({ ip: '1.2.4.8', country: 'CN', status: 'violation', rule: 'CN is denied' }),
      destinationOf({ ip: '5.5.5.5', country: 'DE', status: 'violation', rule: 'DE is not in the allowed set US' }),
      destinationOf({ ip: '9.9.9.9', country: 'SG', disputed: true }),
      destinationOf({ ip: '6.6.6.6', country: null, status: 'unknown', rule: 'no database knows it' }),
      destinationOf({ ip: '192.168.1.1', country: null, status: 'non-public', addressClass: 'private' }),
      destinationOf({ ip: '10.0.0.1', country: 'AU', status: 'non-public', addressClass: 'private' }),
    ]);

    // Act
    const html = renderHtmlReport(v);

    // Assess
    expect(arcCountries(html).sort()).toEqual(['CN', 'DE', 'SG', 'US']);
    expect(html).toMatch(/<path class="arc violation" data-country="CN"/);
    expect(html).toMatch(/<path class="arc warning" data-country="SG"/);
    expect(html).toMatch(/<path class="arc allowed" data-country="US"/);
    expect(html).toContain('1 public destination has no known location');
  });

  it('draws rings instead of arcs when the policy names no allowed country, and says so', () => {
    const map = renderWorldMap({ destinations: [destinationOf({ ip: '1.2.4.8', country: 'CN' })], origin: null });
    expect(map.originPlaced).toBe(false);
    expect(map.svg.match(/class="arc /g)).toHaveLength(1);
    expect(map.svg).not.toContain('class="origin"');
  });

  it('says so when the policy allows no country at all', async () => {
    // Act
    const v = await checkBytes(fixture('pcapdroid', 'connections-synthetic.csv'), { policy: compilePolicy(buildPolicy({ allowedCountries: [] })) });
    const html = renderHtmlReport(v);

    // Assess
    expect(html).toContain('No public destination is allowed');
    expect(html).toContain('none: no country is allowed');
    expect(html).not.toContain('Data must stay in: <');
  });

  it('places small countries the 110m atlas leaves out (Hong Kong, Singapore)', () => {
    const map = renderWorldMap({ destinations: [destinationOf({ ip: '1.1.1.1', country: 'HK' }), destinationOf({ ip: '2.2.2.2', country: 'SG' })], origin: 'US' });
    expect(map.unplaced).toEqual([]);
    expect(mapCountries([destinationOf({ ip: '1.1.1.1', country: 'HK' })])).toHaveLength(1);
  });

  it('collapses 50,000 destinations to the first 500 and stays under 5 MB', () => {
    // Prepare: every 10th destination a violation, spread over many countries
    const codes = ['US', 'CN', 'DE', 'FR', 'RU', 'BR', 'IN', 'JP', 'GB', 'AU', 'CA', 'HK', 'SG', 'ZA', 'NG', 'AR'];
    const destinations = Array.from({ length: 50_000 }, (_, i) =>
      destinationOf({
        ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        country: codes[i % codes.length]!,
        status: i % 10 === 0 ? 'violation' : 'allowed',
        rule: i % 10 === 0 ? 'not in the allowed set' : null,
        hostnames: [`host-${i}.example.com`],
        apps: [`com.example.app${i % 300}`],
        bytesSent: i * 37,
      }),
    );
    const v = verdictOf(destinations);

    // Act
    const started = Date.now();
    const html = renderHtmlReport(v);
    const elapsed = Date.now() - started;

    // Assess
    expect(Buffer.byteLength(html)).toBeLessThan(5_000_000);
    expect(html.match(/<tr class="[a-z-]+"><td><span class="badge/g)).toHaveLength(500);
    expect(html).toContain('and 49,500 more — see the verdict JSON');
    expect(html).toContain('and 100 more apps — see the verdict JSON');
    expect(arcCountries(html).sort()).toEqual([...codes].sort());
    expect(elapsed).toBeLessThan(10_000);
  });

  it('breaks destinations down by app', () => {
    const html = renderHtmlReport(
      verdictOf([
        destinationOf({ ip: '1.2.4.8', country: 'CN', status: 'violation', rule: 'CN is denied', apps: ['com.drone.app'] }),
        destinationOf({ ip: '8.8.8.8', country: 'US', apps: ['com.drone.app', 'eni-0abc'] }),
      ]),
    );
    expect(html).toContain('By app or interface');
    expect(html).toMatch(/<td class="name">com\.drone\.app<\/td><td><span class="badge violation">violation<\/span><\/td><td><span class="country violation">China \(CN\)<\/span>, <span class="country allowed">United States \(US\)<\/span>/);
    expect(html).toContain('<td class="name">eni-0abc</td>');
  });

  it('credits each app at a shared destination with its own bytes, not the destination\'s total', async () => {
    // Prepare: two apps reach 119.29.29.29, one sending 50 MB, the other 200 bytes.
    const v = await sharedDestinationVerdict();

    // Act
    const html = renderHtmlReport(v);

    // Assess: each app's row shows its own connections and bytes; the sent column adds up to the verdict's total.
    const row = (app: string): string => new RegExp(`<td class="name">${app.replace(/\./g, '\\.')}</td>.*?</tr>`).exec(html)?.[0] ?? '';
    expect(row('com.big.uploader')).toMatch(/<td class="n">1<\/td><td class="n">1<\/td><td class="n"><span title="50,000,000 bytes">50 MB<\/span><\/td><td class="n"><span title="5,120 bytes">/);
    expect(row('com.tiny.calc')).toMatch(/<td class="n">1<\/td><td class="n">1<\/td><td class="n"><span title="200 bytes">200 B<\/span><\/td><td class="n"><span title="100 bytes">100 B/);
    const sent = [...html.matchAll(/<tr class="[a-z-]+"><td class="name">[^<]*<\/td>.*?<td class="n"><span title="([\d,]+) bytes">/g)].map((m) => Number(m[1]!.replace(/,/g, '')));
    expect(sent.reduce((a, b) => a + b, 0)).toBe(v.totals.bytesSent);
  });

  it('says when the verdict does not split a shared destination by app, rather than guess', () => {
    const html = renderHtmlReport(verdictOf([destinationOf({ ip: '8.8.8.8', country: 'US', bytesSent: 5000, apps: ['com.a', 'com.b'] })]));
    expect(html).toMatch(/<td class="name">com\.a<\/td>.*?<span title="0 bytes">0 B<\/span> <span class="muted">\+ its share of 1 shared destination<\/span>/);
  });

  it('renders an error verdict as a "could not check" page', () => {
    // Prepare
    const v = verdictOf([], { compliant: false, error: 'unknown format: <b>not a log</b>' });

    // Act
    const html = renderHtmlReport(v);

    // Assess
    expect(html).toContain('<header class="banner error"');
    expect(html).toContain('COULD NOT CHECK');
    expect(html).toContain('Could not check this log: unknown format: &lt;b&gt;not a log&lt;/b&gt;');
    expect(html).not.toContain('class="world-map"');
    expect(html).toContain('Evidence');
  });

  it('shows skipped records and unattributed entries in the evidence', () => {
    const v = verdictOf([destinationOf({ ip: '8.8.8.8' })], {
      errors: [{ line: 7, reason: 'bad address "x"' }],
      unattributed: [{ line: 3, reason: 'no serverIPAddress: "https://www.google.com/"' }],
    });
    v.totals.skipped = 1;
    v.totals.skippedByReason = { 'bad address': 1 };
    v.totals.unattributed = 1;
    const html = renderHtmlReport(v);
    expect(html).toContain('<h3>Skipped records</h3>');
    expect(html).toContain('line 7: bad address &quot;x&quot;');
    expect(html).toContain('<h3>Unattributed records</h3>');
  });

  it('names countries from the ISO 3166 table', () => {
    expect(countryName('US')).toBe('United States');
    expect(countryName('KP')).toBe('North Korea');
    expect(countryName('HK')).toBe('Hong Kong');
    expect(countryName('ZZ')).toBe('ZZ');
  });
});
