/**
 * Byte counts and times that are present but unreadable (`12x3`, `-5`, `1e3`, `yesterday`): the
 * record still counts, with the value unknown (never zero), and the value is reported, field by
 * field and line by line, so a verdict that says "0 B sent" cannot hide a log whose counts were
 * unreadable. Unset markers (Zeek `-`, an empty cell) are not malformed.
 */
import { GenericCsvParser } from '../../../lambda/engine/parsers/generic-csv';
import { PcapdroidCsvParser } from '../../../lambda/engine/parsers/pcapdroid';
import { SuricataEveParser } from '../../../lambda/engine/parsers/suricata-eve';
import { VpcFlowParser } from '../../../lambda/engine/parsers/vpc-flow';
import { ZeekJsonParser } from '../../../lambda/engine/parsers/zeek-json';
import { ZeekTsvParser } from '../../../lambda/engine/parsers/zeek-tsv';
import { checkSplit } from '../../../lambda/engine/split/check-split';
import { MAX_ERRORS_KEPT } from '../../../lambda/engine/verdict/aggregate';
import { renderHtmlReport } from '../../../lambda/engine/report/render-html-report';
import { renderMarkdownReport } from '../../../lambda/engine/report/render-markdown-report';
import { renderSummary } from '../../../lambda/engine/verdict/render-summary';
import { verdictBytes } from '../../../lambda/engine/verdict/serialize';
import { bundledDatabases, checkBytes, policyOf } from '../../helpers/engine';
import { bufferSource } from '../split/split-logs';
import { parseAll } from './harness';

const ZEEK_FIELDS = ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'orig_bytes', 'resp_bytes'];

function zeekTsv(rows: [string, string][], unset = '-'): string {
  const lines = ['#separator \\x09', '#set_separator\t,', '#empty_field\t(empty)', `#unset_field\t${unset}`, '#path\tconn', `#fields\t${ZEEK_FIELDS.join('\t')}`];
  rows.forEach(([ob, rb], i) => lines.push(`${1_700_000_000 + i}.5\tC${i}\t192.168.1.5\t${40000 + i}\t47.246.1.1\t443\ttcp\t${ob}\t${rb}`));
  return `${lines.join('\n')}\n`;
}

const options = { policy: policyOf('us'), maxSkippedRecords: 1e9 };

describe('malformed byte counts, parser by parser', () => {
  it('Zeek TSV: reports each count that is neither a count nor unset, by column name', () => {
    const r = parseAll(new ZeekTsvParser(), zeekTsv([['100', '200'], ['12x3', '-'], ['-5', '(empty)'], ['1e3', '']]));
    expect(r.flows.map((f) => [f.origBytes, f.respBytes])).toEqual([[100, 200], [-1, -1], [-1, -1], [-1, -1]]);
    expect(r.malformed).toEqual([
      { line: 8, field: 'orig_bytes', value: '12x3' },
      { line: 9, field: 'orig_bytes', value: '-5' },
      { line: 10, field: 'orig_bytes', value: '1e3' },
    ]);
  });

  it('Zeek TSV: honours the #unset_field the header gives', () => {
    const r = parseAll(new ZeekTsvParser(), zeekTsv([['NULL', '-']], 'NULL'));
    expect(r.flows).toHaveLength(1);
    expect(r.malformed).toEqual([{ line: 7, field: 'resp_bytes', value: '-' }]);
  });

  it('Zeek JSON: a string, a negative or a boolean count is malformed; absent or null is unset', () => {
    const lines = [
      { 'id.orig_h': '192.168.1.5', 'id.resp_h': '47.246.1.1', orig_bytes: '100', resp_bytes: null },
      { 'id.orig_h': '192.168.1.5', 'id.resp_h': '47.246.1.1', orig_bytes: -1, resp_bytes: true },
      { 'id.orig_h': '192.168.1.5', 'id.resp_h': '47.246.1.1', orig_bytes: 5 },
    ].map((o) => JSON.stringify(o));
    const r = parseAll(new ZeekJsonParser(), lines.join('\n'));
    expect(r.flows).toHaveLength(3);
    expect(r.malformed).toEqual([
      { line: 1, field: 'orig_bytes', value: '"100"' },
      { line: 2, field: 'orig_bytes', value: '-1' },
      { line: 2, field: 'resp_bytes', value: 'true' },
    ]);
  });

  it('VPC Flow Logs: `-` is unset (NODATA), anything else that is not a count is malformed', () => {
    const log = [
      'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
      '2 123456789010 eni-1 10.0.1.5 47.246.1.1 49152 443 6 10 5200 1700000000 1700000060 ACCEPT OK',
      '2 123456789010 eni-1 10.0.1.5 47.246.1.1 49153 443 6 10 52OO 1700000000 1700000060 ACCEPT OK',
      '2 123456789010 eni-1 10.0.1.5 47.246.1.1 49154 443 6 10 - 1700000000 1700000060 ACCEPT OK',
    ].join('\n');
    const r = parseAll(new VpcFlowParser(), log);
    expect(r.flows.map((f) => f.origBytes)).toEqual([5200, -1, -1]);
    expect(r.malformed).toEqual([{ line: 3, field: 'bytes', value: '52OO' }]);
  });

  it('PCAPdroid CSV: an empty count is unset, text in it is malformed', () => {
    const log = [
      'IPProto,SrcIP,SrcPort,DstIp,DstPort,UID,App,PackageName,Proto,Status,Info,BytesSent,BytesRcvd,PktsSent,PktsRcvd,FirstSeen,LastSeen',
      '6,10.215.173.1,40000,47.246.1.1,443,10123,App,com.example,TLS,Closed,example.com,1000,2000,5,5,1700000000000,1700000001000',
      '6,10.215.173.1,40001,47.246.1.1,443,10123,App,com.example,TLS,Closed,example.com,,abc,5,5,1700000000000,1700000001000',
    ].join('\n');
    const r = parseAll(new PcapdroidCsvParser(), log);
    expect(r.flows.map((f) => [f.origBytes, f.respBytes])).toEqual([[1000, 2000], [-1, -1]]);
    expect(r.malformed).toEqual([{ line: 3, field: 'BytesRcvd', value: 'abc' }]);
  });

  it('generic CSV: names the header\'s column; empty, `-`, N/A and null are unset; spreadsheet numbers are counts', () => {
    const log = [
      'timestamp,dst_ip,tx_bytes,rx_bytes',
      '2024-01-01T00:00:00Z,47.246.1.1,1.2e3,"1,500"',
      '2024-01-01T00:00:01Z,47.246.1.1,N/A,-',
      '2024-01-01T00:00:02Z,47.246.1.1,null,',
      '2024-01-01T00:00:03Z,47.246.1.1,12 KB,-7',
    ].join('\n');
    const r = parseAll(new GenericCsvParser({ columns: { bytes_out: 'tx_bytes', bytes_in: 'rx_bytes' } }), log);
    expect(r.flows.map((f) => [f.origBytes, f.respBytes])).toEqual([[1200, -1], [-1, -1], [-1, -1], [-1, -1]]);
    expect(r.malformed).toEqual([
      { line: 2, field: 'rx_bytes', value: '1,500' },
      { line: 5, field: 'tx_bytes', value: '12 KB' },
      { line: 5, field: 'rx_bytes', value: '-7' },
    ]);
  });

  it('generic CSV: a whole number as a float column writes it is a count; fractions, hex, thousands separators and 16+ digits are malformed', () => {
    const log = ['dst_ip,bytes_out,bytes_in', '47.246.1.1,1234.0,5E+02', '47.246.1.1,1.5,0x10', '47.246.1.1,48.000,99999999999999999999', '47.246.1.1,0b101,1.5e0'].join('\n');
    const r = parseAll(new GenericCsvParser(), log);
    expect(r.flows.map((f) => [f.origBytes, f.respBytes])).toEqual([[1234, 500], [-1, -1], [-1, -1], [-1, -1]]);
    expect(r.malformed.map((m) => m.value)).toEqual(['1.5', '0x10', '48.000', '99999999999999999999', '0b101', '1.5e0']);
  });

  it('Suricata EVE: a flow\'s byte counts by their JSON path', () => {
    const ev = (flow: object) =>
      JSON.stringify({ timestamp: '2024-01-01T00:00:00.000000+0000', event_type: 'flow', src_ip: '192.168.1.5', src_port: 40000, dest_ip: '47.246.1.1', dest_port: 443, proto: 'TCP', flow });
    const r = parseAll(new SuricataEveParser(), [ev({ bytes_toserver: 10, bytes_toclient: 20 }), ev({ bytes_toserver: '10', bytes_toclient: 1.5e300 })].join('\n'));
    expect(r.flows).toHaveLength(2);
    expect(r.malformed).toEqual([
      { line: 2, field: 'flow.bytes_toserver', value: '"10"' },
      { line: 2, field: 'flow.bytes_toclient', value: '1.5e+300' },
    ]);
  });
});

describe('malformed times, parser by parser', () => {
  it('Zeek TSV: a ts or duration that is no time is reported; `-` is unset', () => {
    const lines = ['#separator \\x09', '#unset_field\t-', '#path\tconn', '#fields\tts\tid.orig_h\tid.resp_h\tduration'];
    lines.push('1700000000.5\t192.168.1.5\t47.246.1.1\t1.5', 'yesterday\t192.168.1.5\t47.246.1.1\t-', '1700000000.5\t192.168.1.5\t47.246.1.1\t1.5s', '-\t192.168.1.5\t47.246.1.1\t-');
    const r = parseAll(new ZeekTsvParser(), lines.join('\n'));
    expect(r.flows).toHaveLength(4);
    expect(r.malformed).toEqual([
      { line: 6, field: 'ts', value: 'yesterday' },
      { line: 7, field: 'duration', value: '1.5s' },
    ]);
  });

  it('Zeek JSON, VPC Flow Logs, PCAPdroid and EVE: times by their field names', () => {
    const zj = parseAll(new ZeekJsonParser(), JSON.stringify({ ts: 'soon', 'id.orig_h': '192.168.1.5', 'id.resp_h': '47.246.1.1', duration: '3' }));
    expect(zj.malformed).toEqual([{ line: 1, field: 'ts', value: '"soon"' }, { line: 1, field: 'duration', value: '"3"' }]);
    const vpc = parseAll(
      new VpcFlowParser(),
      ['version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status', '2 1 eni-1 10.0.1.5 47.246.1.1 1 443 6 1 10 17000000OO 1700000060 ACCEPT OK'].join('\n'),
    );
    expect(vpc.malformed).toEqual([{ line: 2, field: 'start', value: '17000000OO' }]);
    const droid = parseAll(
      new PcapdroidCsvParser(),
      ['IPProto,SrcIP,SrcPort,DstIp,DstPort,UID,App,PackageName,Proto,Status,Info,BytesSent,BytesRcvd,PktsSent,PktsRcvd,FirstSeen,LastSeen', '6,10.215.173.1,40000,47.246.1.1,443,1,A,a,TLS,Closed,,1,2,1,1,2024-01-01,'].join('\n'),
    );
    expect(droid.malformed).toEqual([{ line: 2, field: 'FirstSeen', value: '2024-01-01' }]);
    const eve = parseAll(
      new SuricataEveParser(),
      JSON.stringify({ event_type: 'flow', src_ip: '192.168.1.5', src_port: 1, dest_ip: '47.246.1.1', dest_port: 443, proto: 'TCP', flow: { bytes_toserver: 1, bytes_toclient: 1, start: 'then', end: null } }),
    );
    expect(eve.malformed).toEqual([{ line: 1, field: 'flow.start', value: '"then"' }]);
  });

  it('generic CSV: a time no reader knows is reported; relative seconds (Wireshark) and unset markers are not', () => {
    const log = ['Time,Destination,Length,End', '0.000123,47.246.1.1,60,', '3/1/2024, 10:00:00.000 AM,47.246.1.1,60,-', '2024-03-01 10:00:00,47.246.1.1,60,N/A'].join('\n');
    const r = parseAll(new GenericCsvParser({ columns: { start: 'Time', end: 'End' } }), log.replace('3/1/2024, 10:00:00.000 AM', '"3/1/2024, 10:00:00.000 AM"'));
    expect(r.flows.map((f) => f.firstSeenMs)).toEqual([NaN, NaN, Date.parse('2024-03-01T10:00:00Z')]);
    expect(r.malformed).toEqual([{ line: 3, field: 'Time', value: '3/1/2024, 10:00:00.000 AM' }]);
  });
});

describe('malformed byte counts in the verdict', () => {
  it('counts them in totals, by field, lists the first ones, and counts the connections whose bytes are unknown', async () => {
    const v = await checkBytes(zeekTsv([['100', '200'], ['12x3', '-'], ['-', '9z'], ['-', '-']]), options);
    expect(v.totals).toMatchObject({
      connections: 4,
      skipped: 0,
      bytesSent: 100,
      connectionsWithUnknownBytes: 3,
      malformedValues: 2,
      malformedValuesByField: { orig_bytes: 1, resp_bytes: 1 },
    });
    expect(v.malformedValues).toEqual([
      { line: 8, field: 'orig_bytes', value: '12x3' },
      { line: 9, field: 'resp_bytes', value: '9z' },
    ]);
    const summary = renderSummary(v, { color: false });
    expect(summary).toContain('Malformed values, read as unknown: 1× orig_bytes; 1× resp_bytes (first at line 8: orig_bytes "12x3")');
    expect(summary).toContain('Byte counts unknown on 3 connections (sent, received or both): what is not known is in no byte total.');
    expect(renderMarkdownReport(v)).toContain('- Malformed values, read as unknown: 1× `orig_bytes`, 1× `resp_bytes` (first at line 8: `orig_bytes` `"12x3"`)');
    const html = renderHtmlReport(v);
    expect(html).toContain('<h3>Malformed values</h3>');
    expect(html).toContain('<li>line 9: <code>resp_bytes</code> &quot;9z&quot;</li>');
  });

  it('says nothing of them when there are none', async () => {
    const v = await checkBytes(zeekTsv([['100', '200']]), options);
    expect(v.totals).toMatchObject({ connectionsWithUnknownBytes: 0, malformedValues: 0, malformedValuesByField: {} });
    expect(v.malformedValues).toEqual([]);
    expect(renderSummary(v, { color: false })).not.toMatch(/Malformed|unknown on/);
    expect(renderHtmlReport(v)).not.toContain('Malformed values');
  });

  it('gives the same verdict on the fast path and the JavaScript path, whatever the #unset_field', async () => {
    for (const unset of ['-', 'NULL']) {
      const log = zeekTsv([['100', '200'], ['12x3', '-'], ['-', 'NULL'], ['999999999999999', '0'], ['1234567890123456', '0']], unset);
      const fast = await checkBytes(log, { ...options, fastPath: true }, 97);
      const slow = await checkBytes(log, { ...options, fastPath: false }, 97);
      expect(verdictBytes(fast).toString()).toBe(verdictBytes(slow).toString());
      // 15 digits is a count, 16 are not (a petabyte in one record); `-` is malformed only where the header says NULL is unset.
      expect(fast.totals.bytesSent).toBe(100 + 999999999999999);
      expect(fast.malformedValues!.map((m) => m.value)).toEqual(unset === '-' ? ['12x3', 'NULL', '1234567890123456'] : ['12x3', '-', '-', '1234567890123456']);
    }
  });

  it('keeps the first 100 with their values cut to 40 characters, and counts the rest', async () => {
    const rows: [string, string][] = Array.from({ length: 150 }, (_, i) => [`x${i}${'y'.repeat(60)}`, '1']);
    const v = await checkBytes(zeekTsv(rows), options);
    expect(v.totals.malformedValues).toBe(150);
    expect(v.malformedValues).toHaveLength(MAX_ERRORS_KEPT);
    expect(v.malformedValues![0]).toEqual({ line: 7, field: 'orig_bytes', value: `x0${'y'.repeat(38)}…` });
  });

  it('a split check reports the same as a single pass', async () => {
    const rows: [string, string][] = Array.from({ length: 300 }, (_, i) => [i % 7 === 0 ? `bad${i}` : String(i), i % 11 === 0 ? '?' : '5']);
    const log = Buffer.from(zeekTsv(rows));
    const opts = { name: 'test.log', policy: policyOf('us'), databases: bundledDatabases(), toolVersion: '0.0.0-test', now: new Date('2026-01-01T00:00:00Z') };
    const single = await checkBytes(log, opts);
    const cuts = [1, 2, 3, 4].map((k) => Math.floor((k * log.length) / 5));
    const split = await checkSplit(bufferSource(log, 512), opts, { cuts });
    expect(split.verdict.totals).toEqual(single.totals);
    expect(split.verdict.malformedValues).toEqual(single.malformedValues);
    expect(single.totals.malformedValues).toBe(43 + 28);
  });
});
