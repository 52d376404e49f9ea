import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../../lambda/engine/errors';
import { detectFormat, findFormat } from '../../../lambda/engine/parsers';
import { detectNfdumpCsv, NfdumpCsvParser } from '../../../lambda/engine/parsers/nfdump';
import { checkBytes, destination, policyOf } from '../../helpers/engine';
import { parseAll, total } from './harness';

const FIXTURE = readFileSync(join(__dirname, '../../fixtures/nfdump/teredo-nfdump171.csv'), 'utf8');
const HEADER = FIXTURE.split('\n')[0]!;
const parse = (input: string) => parseAll(new NfdumpCsvParser(), input);

describe('nfdump -o csv (real nfdump 1.7.1 output)', () => {
  it('reads the 26 flows and none of the Summary block', () => {
    // Act
    const result = parse(FIXTURE);

    // Assess
    // awk -F, 'NR>1 && $1=="Summary"{exit} NR>1{n++; i+=$13; o+=$15} END{print n, i, o}' → 26 23933 0
    expect(result.flows).toHaveLength(26);
    expect(result.skips).toEqual([]);
    expect(result.noData).toEqual([]);
    expect(total(result.flows, 'origBytes')).toBe(23933);
    expect(total(result.flows, 'respBytes')).toBe(0);
    expect(Math.max(...result.flows.map((r) => r.line))).toBe(27);
  });

  it('maps sa/sp to the source, da/dp to the destination, ibyt to bytes sent, ts/te as UTC', () => {
    // Act
    const r = parse(FIXTURE).flows.find((f) => f.respIp === '67.228.110.120');

    // Assess
    expect(r).toMatchObject({
      origIp: '192.168.2.16',
      origPort: 1580,
      respPort: 80,
      proto: 'tcp',
      origBytes: 757,
      respBytes: 0,
      oneWay: true,
      firstSeenMs: Date.parse('2008-05-16T15:51:14Z'),
      lastSeenMs: Date.parse('2008-05-16T15:51:15Z'),
      rejected: false,
      hostname: null,
    });
  });

  it('is detected as nfdump-csv and gives per-destination totals in both directions', async () => {
    // Act
    const v = await checkBytes(FIXTURE);

    // Assess
    expect(v.input.format).toBe('nfdump-csv');
    expect(v.totals).toMatchObject({ records: 26, connections: 26, skipped: 0, noData: 0, unattributed: 0 });
    // 192.168.2.16 -> 67.228.110.120 ibyt 757; the reverse flow 67.228.110.120 -> 192.168.2.16 ibyt 4164.
    expect(destination(v, '67.228.110.120')).toMatchObject({ connections: 2, bytesSent: 757, bytesReceived: 4164, ports: [80] });
  });

  it('counts a short row as skipped and reads obyt of a bidirectional record as received', () => {
    // Prepare
    const row = '2024-01-01 00:00:00,2024-01-01 00:00:09,9.000,10.0.0.1,203.0.113.5,40000,443,TCP,...AP.SF,0,0,10,1500,12,64000';

    // Act
    const result = parse(`${HEADER}\n${row}\n2024-01-01 00:00:00,short\n`);

    // Assess
    expect(result.flows[0]).toMatchObject({ origBytes: 1500, respBytes: 64000, respPort: 443 });
    expect(result.skips).toEqual([{ line: 3, reason: 'record has fewer fields than the header needs', detail: '2 fields, need 15' }]);
  });

  it('throws an InputError naming the column when forced onto CSV without nfdump columns', () => {
    expect(() => parse('dst,bytes\n1.1.1.1,5\n')).toThrow(InputError);
    expect(() => parse('dst,bytes\n1.1.1.1,5\n')).toThrow(/^line 1: column '(sa|da)' mapped to (src|dst) is not in the CSV header/);
  });

  it('is certain only of the nfdump header', () => {
    expect(detectNfdumpCsv([HEADER])).toBe(1);
    expect(detectNfdumpCsv(['ts,te,td,sa,da,sp,dp,pr'])).toBe(1);
    expect(detectNfdumpCsv(['ts,te,sa,da'])).toBe(0);
    expect(detectNfdumpCsv(['dst_ip,bytes'])).toBe(0);
    expect(detectFormat([HEADER, FIXTURE.split('\n')[1]!])?.name).toBe('nfdump-csv');
    expect(findFormat('nfdump-csv')?.create({}).format).toBe('nfdump-csv');
  });
});

describe('nfdump 1.7.5 and later: columns named by output_csv.c', () => {
  // nfdump >= 1.7.5 `-o csv` (FORMAT_CSV "%ts,%td,%pr,%sa,%sp,%da,%dp,%pkt,%byt,%fl"): a DNS
  // exchange (two NetFlow records, one per direction) and a scanner's probe nobody answered.
  const csv175 = [
    'firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,bytes,flows',
    '2025-03-01 10:00:00.100,0.020,UDP,10.0.0.5,53001,8.8.8.8,53,1,74,1',
    '2025-03-01 10:00:00.120,0.000,UDP,8.8.8.8,53,10.0.0.5,53001,1,90,1',
    '2025-03-01 10:00:01.000,0.000,TCP,45.129.33.153,47047,10.0.0.5,16463,1,60,1',
    'Summary',
    'flows,bytes,packets,avg_bps,avg_pps,avg_bpp',
    '3,224,3,0,0,74',
  ].join('\n');

  it('is nfdump CSV, read by name as one-way records; without outBytes the reverse bytes are unknown', async () => {
    expect(detectFormat(csv175.split('\n'))?.name).toBe('nfdump-csv');
    const v = await checkBytes(csv175, { policy: policyOf('us') });
    expect(v.input.format).toBe('nfdump-csv');
    expect(destination(v, '8.8.8.8')).toMatchObject({ status: 'allowed', bytesSent: 74, bytesReceived: 90, ports: [53] });
    // A NetFlow record's reverse is a record of its own, but an NSEL or biflow record's is not in
    // this output: what an inside server sent back to the scanner may be missing, so it is no
    // refused attempt (a bidirectional record of an answered connection would read the same).
    expect(destination(v, '45.129.33.153')).toMatchObject({ status: 'violation', connections: 1, bytesSent: 0 });
    expect(v.totals).toMatchObject({ records: 3, skipped: 0, connectionsWithUnknownBytes: 3 });
    // With outBytes (-o csv:...,%obyt), the reverse bytes are known, and the probe nobody answered is refused.
    const both = csv175.replace('packets,bytes,flows', 'packets,bytes,outBytes').replace(/,1,(\d+),1$/gm, ',1,$1,0');
    const known = await checkBytes(both, { policy: policyOf('us') });
    expect(destination(known, '45.129.33.153')).toMatchObject({ status: 'blocked', blockedAttempts: 1 });
    expect(known.compliant).toBe(true);
  });

  it('reads -o csv:%ts,%te,%pr,%sa,%sp,%da,%dp,%ibyt,%obyt: inBytes from the source, outBytes back', async () => {
    const custom = [
      'firstSeen,lastSeen,proto,srcAddr,srcPort,dstAddr,dstPort,inBytes,outBytes',
      '2025-03-01 10:00:00.000,2025-03-01 10:05:00.000,TCP,10.0.0.5,50000,1.2.4.8,443,5000000,9000',
    ].join('\n');
    expect(detectFormat(custom.split('\n'))?.name).toBe('nfdump-csv');
    const v = await checkBytes(custom, { policy: policyOf('us') });
    expect(destination(v, '1.2.4.8')).toMatchObject({ status: 'violation', bytesSent: 5_000_000, bytesReceived: 9000, lastSeen: '2025-03-01T10:05:00.000Z' });
  });

  it('leaves a CSV with srcAddr and dstAddr among names nfdump does not write to generic CSV', () => {
    expect(detectFormat(['srcAddr,dstAddr,bytesSent', '10.0.0.5,8.8.8.8,10'])?.name).toBe('generic-csv');
  });
});
