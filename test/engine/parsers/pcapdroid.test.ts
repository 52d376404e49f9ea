import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../../lambda/engine/errors';
import { detectFormat, findFormat } from '../../../lambda/engine/parsers';
import { PcapdroidCsvParser, startsPcapdroidHeader } from '../../../lambda/engine/parsers/pcapdroid';
import { endpoints, parseAll, total } from './harness';

const FIXTURES = join(__dirname, '../../fixtures/pcapdroid');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');
const parse = (input: string) => parseAll(new PcapdroidCsvParser(), input);
const HEADER =
  'IPProto,SrcIP,SrcPort,DstIp,DstPort,UID,App,PackageName,Proto,Status,Info,BytesSent,BytesRcvd,PktsSent,PktsRcvd,FirstSeen,LastSeen';

describe('PCAPdroid connections CSV (synthetic, from the writer source)', () => {
  it('reads every row of the current layout', () => {
    // Act
    const result = parse(fixture('connections-synthetic.csv'));

    // Assess
    expect(result.skips).toEqual([]);
    expect(result.noData).toEqual([]);
    expect(endpoints(result.flows)).toEqual([
      '10.215.173.1 -> 10.215.173.2',
      '10.215.173.1 -> 142.250.185.78',
      '10.215.173.1 -> 10.215.173.2',
      '10.215.173.1 -> 119.29.29.29',
      '10.215.173.1 -> 1.2.4.8',
      'fd00:2:fd00:1:fd00:1:fd00:1 -> 2a00:1450:4001:82b::200e',
      '10.215.173.1 -> 142.250.74.110',
      '10.215.173.1 -> 203.0.113.50',
      '10.215.173.1 -> 93.184.215.14',
    ]);
    expect(total(result.flows, 'origBytes')).toBe(
      46 + 2817 + 39 + 1932 + 517 + 9120 + 3312 + 120 + 412,
    );
    expect(total(result.flows, 'respBytes')).toBe(
      122 + 40112 + 55 + 5120 + 0 + 182233 + 8120 + 0 + 1256,
    );
  });

  it('maps a TLS connection to a Chinese address with its SNI and package name', () => {
    // Act
    const tencent = parse(fixture('connections-synthetic.csv')).flows[3];

    // Assess
    expect(tencent).toMatchObject({
      line: 5,
      origPort: 50520,
      respIp: '119.29.29.29',
      respPort: 443,
      proto: 'tcp',
      origBytes: 1932,
      respBytes: 5120,
      firstSeenMs: 1718000001050,
      lastSeenMs: 1718000004311,
      rejected: false,
      hostname: 'dnspod.cn',
      app: 'com.tencent.mm',
    });
  });

  it('reads IPProto 17 as udp (DNS, QUIC) and leaves an empty Info without a hostname', () => {
    const flows = parse(fixture('connections-synthetic.csv')).flows;
    expect(flows.map((r) => r.proto)).toEqual([
      'udp',
      'tcp',
      'udp',
      'tcp',
      'tcp',
      'tcp',
      'udp',
      'tcp',
      'tcp',
    ]);
    expect(flows[4]).toMatchObject({ respIp: '1.2.4.8', hostname: null });
  });

  it('reads an app name holding an unquoted comma (the writer does not quote) and Unreachable as refused', () => {
    // Act
    const row = parse(fixture('connections-synthetic.csv')).flows[7]!;

    // Assess: columns right of App still line up
    expect(row).toMatchObject({
      respIp: '203.0.113.50',
      app: 'com.example.files',
      rejected: true,
      origBytes: 120,
      respBytes: 0,
      lastSeenMs: 1718000008000,
    });
  });

  it('falls back to the display name, even one with a comma, when there is no package name', () => {
    const text = [
      HEADER,
      '6,10.215.173.1,40000,203.0.113.50,443,10200,Files, Photos & More,,TCP,Closed,,1,2,1,1,1718000005000,1718000008000',
    ].join('\n');
    expect(parse(text).flows[0]).toMatchObject({
      app: 'Files, Photos & More',
      respIp: '203.0.113.50',
      origBytes: 1,
    });
  });

  it("reads an HTTP Host with its port (example.org:8080) as the host name, and nothing else with a colon", () => {
    const text = [
      HEADER,
      '6,10.215.173.1,50540,4.2.2.2,8080,10123,Chrome,com.android.chrome,HTTP,Closed,example.org:8080,700,0,5,0,1718000005000,1718000008000',
      '6,10.215.173.1,50541,4.2.2.3,80,10123,Chrome,com.android.chrome,HTTP,Closed,example.org:,700,0,5,0,1718000005000,1718000008000',
      '6,10.215.173.1,50542,4.2.2.4,80,10123,Chrome,com.android.chrome,HTTP,Closed,example.org:1234567,700,0,5,0,1718000005000,1718000008000',
    ].join('\n');
    expect(parse(text).flows.map((r) => r.hostname)).toEqual(['example.org', null, null]);
  });

  it('leaves app unknown when App and PackageName are empty (unknown UID)', () => {
    expect(parse(fixture('connections-synthetic.csv')).flows[8]).toMatchObject({
      app: null,
      hostname: 'example.com',
      respPort: 80,
    });
  });

  it('reads exports of releases without PackageName, falling back to App', () => {
    // Act
    const result = parse(fixture('connections-synthetic-old.csv'));

    // Assess
    expect(result.flows.map((r) => r.app)).toEqual(['Chrome', 'WeChat']);
    expect(result.flows[0]).toMatchObject({
      respIp: '142.250.185.78',
      origBytes: 2817,
      respBytes: 40112,
      hostname: 'www.google.com',
    });
  });

  it('reads exports with the trailing Malicious column', () => {
    const result = parse(fixture('connections-synthetic-malicious.csv'));
    expect(endpoints(result.flows)).toEqual([
      '10.215.173.1 -> 142.250.185.78',
      '10.215.173.1 -> 192.0.2.66',
    ]);
    expect(result.flows[1]).toMatchObject({ hostname: 'internetbadguys.com', origBytes: 700 });
  });

  it('reads rows whose empty Malicious cell lost its delimiter (a spreadsheet re-save), and no row missing another field', () => {
    // Prepare: the fixture's rows without the trailing `,` of an empty Malicious cell.
    const text = fixture('connections-synthetic-malicious.csv').replace(/,\r?\n/g, '\n');
    const cut = text.split('\n')[1]!.split(',').slice(0, -2).join(',');

    // Act
    const result = parse(text);
    const short = parse(`${text.split('\n')[0]}\n${cut}\n`);

    // Assess
    expect(endpoints(result.flows)).toEqual(endpoints(parse(fixture('connections-synthetic-malicious.csv')).flows));
    expect(result.skips).toEqual([]);
    expect(short.skips.map((k) => k.reason)).toEqual(['record field count differs from the header']);
  });
});

describe('PCAPdroid times', () => {
  test('reads ISO 8601 times as releases since mid-2023 write them (with the offset), and epoch ones as before', () => {
    const r = parse(readFileSync(join(__dirname, '../../fixtures/pcapdroid/connections-synthetic-iso8601.csv'), 'utf8'));
    expect(r.malformed).toEqual([]);
    expect(r.flows.map((f) => [f.respIp, new Date(f.firstSeenMs).toISOString(), new Date(f.lastSeenMs).toISOString()])).toEqual([
      ['142.250.185.78', '2024-11-05T13:03:07.201Z', '2024-11-05T13:03:19.950Z'],
      ['119.29.29.29', '2024-11-05T13:03:08.050Z', '2024-11-05T13:03:11.311Z'],
    ]);
    const header = 'IPProto,SrcIP,SrcPort,DstIp,DstPort,UID,App,PackageName,Proto,Status,Info,BytesSent,BytesRcvd,PktsSent,PktsRcvd,FirstSeen,LastSeen';
    const row = (first: string, last: string) => `6,10.215.173.1,50412,1.2.4.8,443,10123,A,a.b,TLS,Closed,,1,2,1,1,${first},${last}`;
    const more = parse([header, row('2024-11-05T14:03:07.201Z', '2024-11-05T14:03:07.201+0100'), row('1730815387201', 'soon'), row('', '')].join('\n'));
    expect(more.flows.map((f) => [f.firstSeenMs, f.lastSeenMs])).toEqual([
      [1730815387201, 1730811787201],
      [1730815387201, NaN],
      [NaN, NaN],
    ]);
    // What is there and is no time is reported (an empty value is unset).
    expect(more.malformed).toEqual([
      { line: 3, field: 'LastSeen', value: 'soon' },
    ]);
  });
});

describe('PCAPdroid CSV edge cases', () => {
  it('reads epoch seconds (early releases) as well as milliseconds', () => {
    const text = [
      HEADER,
      '6,10.215.173.1,1,1.1.1.1,443,1,A,a.b,TLS,Closed,,1,1,1,1,1600000000,1600000005',
    ].join('\n');
    expect(parse(text).flows[0]).toMatchObject({
      firstSeenMs: 1600000000000,
      lastSeenMs: 1600000005000,
    });
  });

  it('reads RFC 4180 quoted fields, as a spreadsheet re-save writes them', () => {
    // Recipe: the fixture row re-saved with Info and App quoted, one holding a comma and a "" escape.
    const text = [
      HEADER,
      '6,10.215.173.1,50520,119.29.29.29,443,10187,"We""Chat, Inc",,TLS,Closed,"dnspod.cn",1932,5120,14,12,1718000001050,1718000004311',
    ].join('\n');
    expect(parse(text).flows[0]).toMatchObject({
      app: 'We"Chat, Inc',
      hostname: 'dnspod.cn',
      origBytes: 1932,
      respBytes: 5120,
    });
  });

  it('reads a file re-saved with every field quoted, header included, as the file it came from', () => {
    // Act
    const quoted = parse(fixture('connections-synthetic-quoted.csv'));
    const plain = parse(fixture('connections-synthetic.csv'));

    // Assess
    // (Where the addresses lie in the line differs; what they say must not.)
    const withoutOffsets = (flows: typeof plain.flows) =>
      flows.map((f) => ({ ...f, origIpStart: 0, origIpEnd: 0, respIpStart: 0, respIpEnd: 0 }));
    expect(quoted.skips).toEqual([]);
    expect(quoted.flows).toHaveLength(9);
    expect(withoutOffsets(quoted.flows)).toEqual(withoutOffsets(plain.flows));
  });

  it('reads a file a spreadsheet re-saved with ; or tabs between fields as the file it came from', () => {
    // Act
    const plain = parse(fixture('connections-synthetic.csv'));
    const semicolon = parse(fixture('connections-synthetic-semicolon.csv'));
    const tabs = parse(fixture('connections-synthetic.csv').replace(/,(?! Photos)/g, '\t'));

    // Assess
    const withoutOffsets = (flows: typeof plain.flows) =>
      flows.map((f) => ({ ...f, origIpStart: 0, origIpEnd: 0, respIpStart: 0, respIpEnd: 0 }));
    for (const resaved of [semicolon, tabs]) {
      expect(resaved.skips).toEqual([]);
      expect(resaved.flows).toHaveLength(9);
      expect(withoutOffsets(resaved.flows)).toEqual(withoutOffsets(plain.flows));
    }
    // The package names and host names are read as before (not lost to a generic CSV reading).
    expect(semicolon.flows.map((f) => f.app)).toContain('com.tencent.mm');
    expect(semicolon.flows.map((f) => f.hostname)).toContain('dnspod.cn');
  });

  it('reads a file saved again from a data frame (its index column first) or for Excel (a sep= line) as the file it came from', () => {
    // Prepare: the quoted fixture as pandas' DataFrame.to_csv() writes it (an unnamed index column,
    // quotes only where needed), as R's write.csv() does (row names in a column named "", strings
    // quoted), and with Excel's sep= line before the header
    const lines = fixture('connections-synthetic-quoted.csv').split('\n').filter((l) => l !== '');
    const unquote = (l: string): string => l.replace(/"([^",]*)"/g, '$1');
    const pandas = [`,${unquote(lines[0]!)}`, ...lines.slice(1).map((l, i) => `${i},${unquote(l)}`)].join('\n');
    const r = [`"",${lines[0]}`, ...lines.slice(1).map((l, i) => `"${i + 1}",${l.replace(/"(\d+)"/g, '$1')}`)].join('\n');
    const sep = ['sep=,', ...lines].join('\n');
    const tabs = [`\t${unquote(lines[0]!).replace(/,/g, '\t')}`, ...lines.slice(1).map((l, i) => `${i}\t${unquote(l).replace(/,(?! Photos)/g, '\t')}`)].join('\n');

    // Act
    const plain = parse(fixture('connections-synthetic-quoted.csv'));
    const resaved = [pandas, r, sep, tabs].map(parse);

    // Assess
    const withoutOffsets = (flows: typeof plain.flows) =>
      flows.map((f) => ({ ...f, line: 0, origIpStart: 0, origIpEnd: 0, respIpStart: 0, respIpEnd: 0 }));
    for (const [i, text] of [pandas, r, sep, tabs].entries()) {
      expect(detectFormat(text.split('\n'))?.name).toBe('pcapdroid-csv');
      expect(resaved[i]!.skips).toEqual([]);
      expect(withoutOffsets(resaved[i]!.flows)).toEqual(withoutOffsets(plain.flows));
    }
    // The apps and host names are the PCAPdroid reading's (a generic CSV reading loses the names).
    expect(resaved[0]!.flows.map((f) => f.hostname)).toContain('dnspod.cn');
    expect(resaved[1]!.flows.map((f) => f.app)).toContain('com.tencent.mm');
    // After the sep= line, every record is numbered by its line in the file.
    expect(resaved[2]!.flows.map((f) => f.line)).toEqual(plain.flows.map((f) => f.line + 1));
  });

  it('takes a header for one only when its first name is IPProto, quoted or not, then a delimiter', () => {
    const buf = (s: string): Buffer => Buffer.from(s);
    for (const yes of ['IPProto,SrcIP', 'ipproto,', '"IPProto","SrcIP"', '"ipPROTO",x', 'IPProto;SrcIP', '"IPProto";"SrcIP"', 'IPProto\tSrcIP']) {
      expect(startsPcapdroidHeader(buf(yes), 0, yes.length)).toBe(true);
    }
    // After a data frame's unnamed index column, with the same delimiter.
    for (const yes of [',IPProto,SrcIP', '"","IPProto","SrcIP"', ';IPProto;SrcIP', '\tIPProto\tSrcIP']) {
      expect(startsPcapdroidHeader(buf(yes), 0, yes.length)).toBe(true);
    }
    for (const no of ['"IPProto,SrcIP', 'IPProto",', 'IPProtocol,', '"6","10.0.0.1"', '6,10.0.0.1', 'IPProto', '"IPProto"', 'IPProto|SrcIP', 'IPProto SrcIP', ',IPProto;SrcIP', 'x,IPProto,SrcIP', ',,IPProto,SrcIP', '0,IPProto,SrcIP']) {
      expect(startsPcapdroidHeader(buf(no), 0, no.length)).toBe(false);
    }
  });

  it('does not take an IP literal or free text in Info for a hostname', () => {
    const text = [
      HEADER,
      '6,10.215.173.1,1,1.1.1.1,443,1,A,a.b,TLS,Closed,1.1.1.1,1,1,1,1,1718000000000,1718000000000',
      '6,10.215.173.1,1,1.1.1.1,443,1,A,a.b,TLS,Closed,GET /index.html,1,1,1,1,1718000000000,1718000000000',
      '6,10.215.173.1,1,1.1.1.1,443,1,A,a.b,TLS,Closed,WWW.Example.COM,1,1,1,1,1718000000000,1718000000000',
    ].join('\n');
    expect(parse(text).flows.map((r) => r.hostname)).toEqual([null, null, 'www.example.com']);
  });

  it('skips short rows, rows before the header and unterminated quotes, one call per line', () => {
    // Prepare
    const text = [
      '6,10.215.173.1,1,1.1.1.1,443',
      HEADER,
      '6,10.215.173.1,1,1.1.1.1,443',
      '6,10.215.173.1,1,"1.1.1.1,443',
      '6,,1,1.1.1.1,443,1,A,a.b,TLS,Closed,,1,1,1,1,1,1',
    ].join('\n');

    // Act
    const result = parse(text);

    // Assess
    expect(result.skips.map((s) => [s.line, s.reason])).toEqual([
      [1, 'record before the PCAPdroid header line'],
      [3, 'record field count differs from the header'],
      [4, 'unterminated quoted field'],
      [5, 'SrcIP is empty'],
    ]);
    expect([...result.callsPerLine.values()].every((n) => n === 1)).toBe(true);
  });

  it('switches layout at a repeated header (concatenated exports)', () => {
    const old = fixture('connections-synthetic-old.csv').trimEnd();
    const current = fixture('connections-synthetic.csv');
    const result = parse(`${old}\n${current}`);
    expect(result.flows).toHaveLength(2 + 9);
    expect(result.skips).toEqual([]);
  });

  it('rejects a header without SrcIP/DstIp as a whole-input error', () => {
    expect(() => parse('IPProto,Src,SrcPort,Dst\n')).toThrow(InputError);
  });
});

describe('PCAPdroid CSV detection', () => {
  it('is certain of the PCAPdroid header, old or new', () => {
    for (const f of [
      'connections-synthetic.csv',
      'connections-synthetic-old.csv',
      'connections-synthetic-malicious.csv',
      'connections-synthetic-quoted.csv',
      'connections-synthetic-semicolon.csv',
    ]) {
      const lines = fixture(f)
        .split('\n')
        .filter((l) => l !== '');
      expect(findFormat('pcapdroid-csv')!.detect(lines)).toBe(1);
      expect(detectFormat(lines)?.name).toBe('pcapdroid-csv');
    }
  });

  it('does not claim other CSV', () => {
    expect(findFormat('pcapdroid-csv')!.detect(['src_ip,dst_ip,bytes'])).toBe(0);
  });
});
