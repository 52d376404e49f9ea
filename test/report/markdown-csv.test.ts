import { renderDestinationsCsv } from '../../lambda/engine/report/render-destinations-csv';
import { renderMarkdownReport } from '../../lambda/engine/report/render-markdown-report';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers/cli';
import { zeekConnLog } from '../helpers/zeek';
import { destinationOf, droneVerdict, HOSTILE, sharedDestinationVerdict, verdictOf } from './report-fixtures';

describe('renderMarkdownReport', () => {
  it('summarises the drone example: result, policy in words, violations, evidence', async () => {
    const md = renderMarkdownReport(await droneVerdict());
    expect(md).toContain('## residency: NOT COMPLIANT — `drone-app.conn.log`');
    expect(md).toContain('**Data must stay in: United States**');
    expect(md).toContain('| `183.3.226.35` | China (CN) | `android.bugly.example` |');
    expect(md).toMatch(/- Input: `drone-app\.conn\.log` \(zeek-tsv, \d+ bytes\), SHA-256 `[0-9a-f]{64}`/);
  });

  it('lets no name from the log add HTML, links, images or table columns', () => {
    // Prepare
    const evil = ['x|y', '[click](http://evil.example)', '![i](http://evil.example/p.png)', ...HOSTILE, 'a`b'];
    const v = verdictOf(
      evil.map((name, i) => destinationOf({ ip: `1.2.3.${i}`, country: 'CN', status: 'violation', rule: name, hostnames: [name], asOrganization: name })),
      { input: { name: '<img src=x onerror=alert(1)>|`', sha256: null, bytes: 1, decodedBytes: 1, compression: 'none', format: null, formatSource: null } },
    );

    // Act
    const md = renderMarkdownReport(v);

    // Assess: every violation row has exactly the table's 6 cells (7 unescaped pipes)
    const rows = md.split('\n').filter((l) => l.startsWith('| `1.2.3.'));
    expect(rows).toHaveLength(evil.length);
    for (const r of rows) expect(r.replace(/\\\|/g, '').split('|')).toHaveLength(8);
    const outsideCode = md.replace(/(`+)[\s\S]*?\1/g, '');
    expect(outsideCode).not.toMatch(/<(script|img|svg)/i);
    expect(outsideCode).not.toMatch(/(^|[^\\])\[[^\]]*\]\(/);
  });

  /** The Markdown report of `residency check` on a Zeek log to these destinations (the CLI, with its operator table). */
  function markdownOf(destinations: string[]): { status: number | null; md: string } {
    const dir = tempDir();
    const log = join(dir, 'conn.log');
    writeFileSync(log, zeekConnLog(destinations));
    const r = runCli(['check', log, '-j', 'us', '--deny', 'foreign-adversaries', '--report', 'md', '--out', dir, '--quiet']);
    return { status: r.status, md: readFileSync(join(dir, 'conn.log.report.md'), 'utf8') };
  }

  it('lists the warnings: a server in the US run by an operator registered in China passes, and says so', () => {
    // 170.106.1.1 is located in the US by both bundled databases; AS132203 (Tencent) is registered in CN.
    const { status, md } = markdownOf(['170.106.1.1', '8.8.8.8']);

    expect(status).toBe(0);
    expect(md).toContain('none outside the policy; 1 with a warning (below).');
    expect(md).toContain('### Warnings');
    const row = md.split('\n').find((l) => l.startsWith('| `170.106.1.1` |'));
    expect(row).toMatch(/^\| `170\.106\.1\.1` \| United States \(US\) \| — \| AS132203 Shenzhen Tencent [^|]*\| [^|]+ \| [^|]*CN[^|]* \|$/);
    expect(md.split('\n').filter((l) => l.startsWith('| `8.8.8.8`'))).toEqual([]);
  });

  it('writes no warnings section when there is none', () => {
    const { status, md } = markdownOf(['8.8.8.8']);
    expect(status).toBe(0);
    expect(md).not.toContain('### Warnings');
    expect(md).toContain('none outside the policy.');
  });

  it('writes a could-not-check summary for an error verdict', () => {
    const md = renderMarkdownReport(verdictOf([], { compliant: false, error: 'no usable record' }));
    expect(md).toContain('COULD NOT CHECK');
    expect(md).toContain('Could not check this log: no usable record');
  });
});

describe('renderDestinationsCsv', () => {
  it('writes one RFC 4180 row per destination with a header', async () => {
    const v = await droneVerdict();
    const csv = renderDestinationsCsv(v);
    const lines = csv.split('\r\n');
    expect(lines[0]).toMatch(/^ip,status,country,country_name,/);
    expect(lines).toHaveLength(v.destinations.length + 2);
    expect(lines.at(-1)).toBe('');
    expect(csv).toContain('"Cloudflare, Inc."');
  });

  it('gives each app\'s own bytes sent beside the destination\'s total, in the order of apps', async () => {
    // Prepare: two apps reach 119.29.29.29, one sending 50 MB, the other 200 bytes.
    const csv = renderDestinationsCsv(await sharedDestinationVerdict());

    // Act
    const [header, ...rows] = csv.split('\r\n').map((l) => l.split(','));
    // (Columns before the rule, which may hold commas, and the last one.)
    const cell = (ip: string, column: string): string | undefined => {
      const r = rows.find((x) => x[0] === ip);
      return column === header!.at(-1) ? r?.at(-1) : r?.[header!.indexOf(column)];
    };

    // Assess
    expect(header!.at(-1)).toBe('app_bytes_sent');
    expect(cell('119.29.29.29', 'apps')).toBe('com.big.uploader com.tiny.calc');
    expect(cell('119.29.29.29', 'bytes_sent')).toBe('50000200');
    expect(cell('119.29.29.29', 'app_bytes_sent')).toBe('50000000 200');
    expect(cell('142.250.185.78', 'app_bytes_sent')).toBe('2817');
  });

  it('neutralises spreadsheet formulas in names from the log', () => {
    const v = verdictOf([
      destinationOf({ ip: '1.1.1.1', hostnames: ['=HYPERLINK("http://evil","x")'], apps: ['@SUM(A1)'], asOrganization: '+cmd', rule: '-1+2' }),
    ]);
    const row = renderDestinationsCsv(v).split('\r\n')[1]!;
    expect(row).toContain(`"'=HYPERLINK(""http://evil"",""x"")"`);
    expect(row).toContain(",'@SUM(A1),");
    expect(row).toContain(",'+cmd,");
    expect(row).toContain(",'-1+2,");
  });
});
