import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, UsageError } from '../../../lambda/engine/errors';
import { detectFormat } from '../../../lambda/engine/parsers';
import {
  detectDelimiter,
  detectGenericCsv,
  GenericCsvParser,
  MAX_RECORD_LINES,
  MONITORED_SIDE,
  normalizeColumnName,
  resolveColumns,
} from '../../../lambda/engine/parsers/generic-csv';
import { parseTimestampText } from '../../../lambda/engine/parsers/bytes';
import type { ParserOptions } from '../../../lambda/engine/types';
import { buildPolicy, compilePolicy } from '../../../lambda/engine/policy/policy';
import { ipv4, pcapOf, tcp, udp } from '../../helpers/capture-builders';
import { tempDir } from '../../helpers/cli';
import { checkBytes, destination, policyOf } from '../../helpers/engine';
import { endpoints, parseAll, RecordingSink, total } from './harness';

const FIXTURES = join(__dirname, '../../fixtures/csv');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');
const parse = (input: string, options: ParserOptions = {}) =>
  parseAll(new GenericCsvParser(options), input);
const firstLines = (text: string) => text.split(/\r?\n/).filter((l) => l.trim() !== '');

describe('generic CSV: nfdump -o csv (real tool output)', () => {
  it('reads every flow row and none of the Summary trailer', () => {
    // Act
    const result = parse(fixture('teredo-nfdump171.csv'));

    // Assess
    expect(result.flows).toHaveLength(26);
    expect(result.skips).toEqual([]);
    expect(total(result.flows, 'origBytes')).toBe(23933);
    expect(endpoints(result.flows).slice(0, 2)).toEqual([
      '192.168.2.16 -> 192.168.2.1',
      '192.168.2.1 -> 192.168.2.16',
    ]);
  });

  it('maps sa/da/sp/dp/pr/ibyt/obyt/ts/te', () => {
    const last = parse(fixture('teredo-nfdump171.csv')).flows.at(-1)!;
    expect(last).toMatchObject({
      origIp: '75.126.130.163',
      respIp: '192.168.2.16',
      origPort: 80,
      respPort: 1576,
      proto: 'tcp',
      origBytes: 80,
      respBytes: 0,
      firstSeenMs: Date.UTC(2008, 4, 16, 15, 50, 47),
      lastSeenMs: Date.UTC(2008, 4, 16, 15, 51, 14),
    });
  });

  it('is detected as nfdump CSV, its own format, though generic CSV could read it too', () => {
    expect(detectFormat(firstLines(fixture('teredo-nfdump171.csv')))?.name).toBe('nfdump-csv');
  });
});

describe('generic CSV: names of hosts and apps', () => {
  it('keeps a host name of up to 253 characters, none longer; cuts an app name past 255', () => {
    const host253 = `${'a'.repeat(249)}.com`;
    const csv = ['dst_ip,hostname,app', `8.8.8.8,${host253},${'p'.repeat(400)}`, `8.8.4.4,${'b'.repeat(300)}.com,short`].join('\n');
    const flows = parse(csv).flows;
    expect(flows.map((r) => r.hostname)).toEqual([host253, null]);
    expect(flows.map((r) => r.app)).toEqual([`${'p'.repeat(255)}…`, 'short']);
  });
});

describe('generic CSV: recognised columns', () => {
  it('reads a ;-delimited export with quoted header names and ISO 8601 times', () => {
    // Act
    const result = parse(fixture('firewall-export-semicolon.csv'));

    // Assess
    expect(endpoints(result.flows)).toEqual([
      '192.168.10.21 -> 52.95.128.179',
      '192.168.10.21 -> 119.29.29.29',
      '192.168.10.22 -> 2a00:1450:4001:82b::200e',
      '192.168.10.24 -> 198.51.100.9',
    ]);
    expect(result.skips).toEqual([{ line: 5, reason: 'destination address is empty' }]);
    expect(result.flows[0]).toMatchObject({
      respPort: 443,
      proto: 'tcp',
      origBytes: 1532,
      respBytes: 88211,
      firstSeenMs: Date.UTC(2024, 5, 10, 8, 0, 0),
      app: 'Backup; nightly',
    });
    expect(result.flows[1]!.firstSeenMs).toBe(Date.UTC(2024, 5, 10, 6, 0, 5));
    expect(result.flows[2]!.firstSeenMs).toBe(Date.UTC(2024, 5, 10, 8, 1, 0));
    expect(result.flows[3]).toMatchObject({
      respPort: -1,
      proto: 'icmp',
      origBytes: -1,
      respBytes: -1,
      app: null,
    });
  });

  it('takes records without a source column as sent by the monitored side (0.0.0.0)', () => {
    // Act
    const result = parse(fixture('destinations-only.tsv'));

    // Assess
    expect(MONITORED_SIDE).toBe('0.0.0.0');
    expect(endpoints(result.flows)).toEqual([
      '0.0.0.0 -> 1.2.4.8',
      '0.0.0.0 -> 2001:db8::7',
      '0.0.0.0 -> 93.184.215.14',
    ]);
    expect(result.flows.map((r) => r.respPort)).toEqual([443, 8443, -1]);
    expect(result.flows.map((r) => r.hostname)).toEqual(['sdns.cn', null, 'example.com']);
    // A single bytes column counts as sent; received stays unknown.
    expect(result.flows.map((r) => [r.origBytes, r.respBytes])).toEqual([
      [5120, -1],
      [77, -1],
      [-1, -1],
    ]);
  });

  it('recognises names regardless of case, _, -, . and spaces', () => {
    expect(normalizeColumnName('Dest IP')).toBe('destip');
    expect(normalizeColumnName('ip.dst')).toBe('ipdst');
    expect(normalizeColumnName('BYTES_TO-SERVER')).toBe('bytestoserver');
    const cols = resolveColumns([
      'ip.src',
      'ip.dst',
      'tcp.dstport',
      'Bytes_Sent',
      'rx_bytes',
      'SNI',
      'process name',
      'Timestamp',
    ]);
    expect(cols).toMatchObject({
      src: 0,
      dst: 1,
      bytes_out: 3,
      bytes_in: 4,
      host: 5,
      app: 6,
      start: 7,
      // Wireshark's field name: the last part of the dotted path.
      dst_port: 2,
    });
  });

  it('reads comma CSV with a UTF-8 BOM, CRLF and a repeated header', () => {
    const text =
      '\ufeffsrc_ip,dst_ip,bytes_out\r\n10.0.0.1,8.8.8.8,10\r\nsrc_ip,dst_ip,bytes_out\r\n10.0.0.2,1.1.1.1,20\r\n';
    const result = parse(text);
    expect(endpoints(result.flows)).toEqual(['10.0.0.1 -> 8.8.8.8', '10.0.0.2 -> 1.1.1.1']);
    expect(result.calls).toHaveLength(2);
  });

  it("honours Excel's sep= line before the header", () => {
    const text = 'sep=|\ndst|bytes_sent\n8.8.8.8|10\n';
    expect(parse(text).flows.map((r) => [r.respIp, r.origBytes])).toEqual([['8.8.8.8', 10]]);
    expect(detectGenericCsv(['sep=|', 'dst|bytes_sent'])).toBe(0.5);
  });

  it('reads bytes written by spreadsheets (1234.0) and ignores # comment lines', () => {
    const result = parse(
      '# exported by tool X\ndst,bytes\n# comment\n8.8.8.8,1234.0\n8.8.4.4,abc\n',
    );
    expect(result.flows.map((r) => r.origBytes)).toEqual([1234, -1]);
  });
});

describe("generic CSV: SiLK's rwcut", () => {
  // rwcut's default output: columns padded with spaces, `|` after each (SiLK's rwcut manual page).
  const padded = [
    '            sIP|            dIP|sPort|dPort|pro|   packets|     bytes|   flags|                  sTime| duration|                  eTime|sen|',
    '    10.30.30.30|    1.2.4.8    |62550|  443|  6|         6|      1068| FS PA  |2009/02/12T00:00:03.454|    0.163|2009/02/12T00:00:03.617|S0 |',
    '        1.2.4.8|    10.30.30.30|  443|62550|  6|         5|      4900| FS PA  |2009/02/12T00:00:03.460|    0.150|2009/02/12T00:00:03.610|S0 |',
    '   185.199.0.10|    10.30.30.30|40000|   22|  6|         1|        44|  S     |2009/02/12T00:00:04.000|    0.000|2009/02/12T00:00:04.000|S0 |',
  ].join('\n');

  it('reads its default output (| after padded columns) and --delimited=, alike: each record one direction', async () => {
    const delimited = padded.replace(/ *\| */g, ',').replace(/^ +/gm, '');
    for (const text of [padded, delimited]) {
      // Act
      const v = await checkBytes(text, { policy: policyOf('us') });

      // Assess: what went to CN is its flow's bytes; the reply is a record of its own; a SYN from
      // a host that got nothing back is a refused probe, as in NetFlow.
      expect(v.input.format).toBe('generic-csv');
      expect(v.totals).toMatchObject({ records: 3, skipped: 0, bytesSent: 1068, bytesReceived: 4900 + 44 });
      expect(destination(v, '1.2.4.8')).toMatchObject({ status: 'violation', bytesSent: 1068, bytesReceived: 4900, firstSeen: '2009-02-12T00:00:03.454Z', ports: [443] });
      expect(destination(v, '185.199.0.10')).toMatchObject({ status: 'blocked' });
    }
  });
});

describe('generic CSV: Wireshark exports', () => {
  it('reads Statistics > Conversations copied as CSV: A to B, bytes each way, B\'s port', () => {
    // The columns of Wireshark 4.x's IPv4 tab (3.x has no Stream ID; before 3.x arrows were "->").
    const text = [
      'Address A,Port A,Address B,Port B,Packets,Bytes,Stream ID,Packets A → B,Bytes A → B,Packets B → A,Bytes B → A,Rel Start,Duration,Bits/s A → B,Bits/s B → A',
      '192.168.1.20,51000,93.184.215.14,443,12,5234,0,6,1500,6,3734,0.030000,1.2,10000,24893',
      '198.51.100.9,40000,192.168.1.20,22,4,600,1,2,200,2,400,0.5,0.1,16000,32000',
    ].join('\n');

    // Act
    const result = parse(text);

    // Assess
    expect(result.skips).toEqual([]);
    expect(endpoints(result.flows)).toEqual(['192.168.1.20 -> 93.184.215.14', '198.51.100.9 -> 192.168.1.20']);
    expect(result.flows[0]).toMatchObject({ origPort: 51000, respPort: 443, origBytes: 1500, respBytes: 3734 });
    // Rel Start is seconds into the capture, not a date: no time is read.
    expect(result.flows[0]!.firstSeenMs).toBeNaN();
    expect(parse('Address A,Address B,Bytes A -> B,Bytes B -> A\n10.0.0.1,8.8.8.8,70,90\n').flows[0]).toMatchObject({
      origBytes: 70,
      respBytes: 90,
    });
  });

  it('counts the link-layer control frames of a packet list (ARP, LLDP, STP) as records without data, as a capture does', () => {
    const text = [
      '"No.","Time","Source","Destination","Protocol","Length","Info"',
      '"1","0.000000","192.168.1.20","8.8.8.8","DNS","74","Standard query 0x1a2b A example.com"',
      '"2","0.001000","Apple_12:34:56","Broadcast","ARP","42","Who has 192.168.1.1? Tell 192.168.1.20"',
      '"3","0.002000","Cisco_aa:bb:cc","LLDP_Multicast","LLDP","60","NoS = 00:11:22:33:44:55"',
      '"4","0.003000","Cisco_aa:bb:cc","Spanning-tree-(for-bridges)_00","STP","60","Conf. Root = 32768"',
      // PTP over UDP is PTPv2 too: between IP addresses, a packet like any other.
      '"5","0.004000","192.168.1.20","223.5.5.5","PTPv2","1400","Delay_Req Message"',
    ].join('\n');

    // Act
    const result = parse(text);

    // Assess
    expect(result.skips).toEqual([]);
    expect(endpoints(result.flows)).toEqual(['192.168.1.20 -> 8.8.8.8', '192.168.1.20 -> 223.5.5.5']);
    expect(result.noData.map((n) => n.status)).toEqual(['ARP', 'LLDP', 'STP']);
  });

  it('refuses a table copied with name resolution on, naming the line, the column and the fix', () => {
    // Wireshark 3.x Conversations, "Name resolution" ticked: addresses it has a name for are names.
    // Skipping those rows judged the table on the others: compliant, the rows to CN left out.
    const text = [
      '"Address A","Port A","Address B","Port B","Packets","Bytes","Packets A → B","Bytes A → B","Packets B → A","Bytes B → A","Rel Start","Duration","Bits/s A → B","Bits/s B → A"',
      '"192.168.1.23",51514,"13.107.42.14","https",25,18230,12,2301,13,15929,0,5.2341,3516.6,24346.3',
      '"192.168.1.23",51516,"sdns.cn","https",9,4210,5,3100,4,1110,0.512,0.003,"",""',
    ].join('\n');

    // Act and assess
    expect(() => parse(text)).toThrow(InputError);
    expect(() => parse(text)).toThrow(
      "line 3: Address B is a host name (sdns.cn), not an address: the table was copied with Wireshark's name resolution on; turn it off (the Name resolution box of the Conversations or Endpoints window) and copy the table again",
    );
    // Address A (a host of the capture with a name) and the Endpoints table's Address alike.
    expect(() => parse('Address A,Address B,Bytes A → B,Bytes B → A\nmy-laptop.lan,8.8.8.8,70,90\n')).toThrow('line 2: Address A is a host name (my-laptop.lan)');
    expect(() => parse('Address,Packets,Bytes,Tx Packets,Tx Bytes,Rx Packets,Rx Bytes\nwww.baidu.com,3,300,1,100,2,200\n')).toThrow('line 2: Address is a host name (www.baidu.com)');
  });

  it('reads addresses that look nothing like names in a Wireshark table as before (IPv6, MAC-like, odd values skipped)', () => {
    // Act
    const result = parse('Address A,Address B,Bytes A → B,Bytes B → A\n2001:db8::1,2606:4700::1111,70,90\n10.0.0.1,Broadcast,1,2\n10.0.0.1,8.8.8,1,2\n');

    // Assess
    expect(endpoints(result.flows)).toEqual(['2001:db8::1 -> 2606:4700::1111', '10.0.0.1 -> Broadcast', '10.0.0.1 -> 8.8.8']);
  });

  it("reads the arrows' bytes of a conversation table re-saved by Excel (`?`) or read as its code page (`â†’`)", () => {
    for (const arrow of ['?', 'â†’']) {
      // Act
      const result = parse(`Address A,Address B,Bytes,Bytes A ${arrow} B,Bytes B ${arrow} A\n10.0.0.1,8.8.8.8,160,70,90\n`);

      // Assess: A to B is what A sent, not the two directions' total.
      expect(result.flows[0]).toMatchObject({ origBytes: 70, respBytes: 90 });
    }
  });

  it('reads the packet list exported as CSV: one packet a row, its Length sent by Source, relative times not read', () => {
    const text = [
      '"No.","Time","Source","Destination","Protocol","Length","Info"',
      '"1","0.000000","192.168.1.20","8.8.8.8","DNS","74","Standard query 0x1a2b A example.com"',
      '"2","0.021000","8.8.8.8","192.168.1.20","DNS","90","Standard query response 0x1a2b A example.com"',
    ].join('\n');

    // Act
    const result = parse(text);

    // Assess
    expect(endpoints(result.flows)).toEqual(['192.168.1.20 -> 8.8.8.8', '8.8.8.8 -> 192.168.1.20']);
    expect(result.flows.map((r) => r.origBytes)).toEqual([74, 90]);
    expect(result.flows.map((r) => r.firstSeenMs)).toEqual([NaN, NaN]);
  });

  it('still reads times of day when the packet list shows them as dates', () => {
    const text = 'Time,Source,Destination,Length\n2024-06-10 14:00:00.250000,10.0.0.1,8.8.8.8,60\n';
    expect(parse(text).flows[0]!.firstSeenMs).toBe(Date.UTC(2024, 5, 10, 14, 0, 0, 250));
  });
});

describe('generic CSV: firewall exports', () => {
  it('reads a Palo Alto traffic log export: deny and reset-both are refused connections, allow is a connection', async () => {
    // Act
    const v = await checkBytes(fixture('paloalto-traffic-synthetic.csv'), { policy: policyOf('us') });

    // Assess
    expect(v.input.format).toBe('generic-csv');
    expect(v.totals).toMatchObject({ records: 4, skipped: 0, bytesSent: 74 + 4200 });
    // Refused twice (a drop, a reset): blocked, not a violation, and its bytes were not delivered.
    expect(destination(v, '1.2.4.8')).toMatchObject({ status: 'blocked', connections: 0, blockedAttempts: 2, bytesSent: 0 });
    expect(v.violations.map((x) => x.ip)).not.toContain('1.2.4.8');
    expect(destination(v, '8.8.8.8')).toMatchObject({
      status: 'allowed', connections: 1, bytesSent: 74, bytesReceived: 138, ports: [53], protocols: ['udp'],
      firstSeen: '2024-03-01T10:00:00.000Z',
    });
    expect(destination(v, '47.246.1.1')).toMatchObject({ connections: 1, bytesSent: 4200, bytesReceived: 1200 });
    // Its first column, "Domain", is a reserved field holding 1 on every row: no host name.
    expect(v.destinations.flatMap((d) => d.hostnames)).toEqual([]);
  });

  it('reads where destination NAT sent a connection: a foreign client of a server behind the firewall is the remote party', async () => {
    // Two sessions of a Palo Alto export: a foreign client (185.220.101.5) reaching a public
    // address (52.1.2.3) that the firewall forwards to a server inside (10.1.1.50), and an outbound
    // session without destination NAT (NAT Destination IP 0.0.0.0, as PAN-OS writes "none").
    const [header] = fixture('paloalto-traffic-synthetic.csv').split('\n');
    const row = (src: string, dst: string, natSrc: string, natDst: string, sport: string, dport: string, sent: string, received: string): string =>
      `1,2024/03/01 11:00:00,007051000012345,TRAFFIC,end,2049,2024/03/01 11:00:00,${src},${dst},${natSrc},${natDst},rule,,,ssl,vsys1,untrust,dmz,ethernet1/1,ethernet1/3,default,2024/03/01 11:00:00,201,1,${sport},${dport},0,443,0x19,tcp,allow,${Number(sent) + Number(received)},${sent},${received},20,2024/03/01 10:59:00,60,any,tcp-fin`;
    const text = [
      header,
      row('185.220.101.5', '52.1.2.3', '0.0.0.0', '10.1.1.50', '40111', '443', '800', '250000'),
      row('10.1.1.20', '8.8.4.4', '52.1.2.3', '0.0.0.0', '51010', '443', '900', '3000'),
    ].join('\n');

    // Act
    const v = await checkBytes(`${text}\n`, { policy: policyOf('us') });

    // Assess
    expect(v.input.format).toBe('generic-csv');
    expect(v.totals).toMatchObject({ records: 2, skipped: 0 });
    // What the server sent the foreign client (Bytes Received: server to client) left.
    expect(destination(v, '185.220.101.5')).toMatchObject({ connections: 1, bytesSent: 250000, bytesReceived: 800 });
    expect(destination(v, '185.220.101.5').status).not.toBe('allowed');
    // Not the public address the client connected to, nor the server inside.
    expect(v.destinations.map((d) => d.ip)).not.toContain('52.1.2.3');
    expect(v.destinations.map((d) => d.ip)).not.toContain('10.1.1.50');
    expect(destination(v, '8.8.4.4')).toMatchObject({ connections: 1, bytesSent: 900, bytesReceived: 3000 });
  });

  it('reads a FortiGate traffic log export: deny is refused, close and client-rst are connections; sentbyte/rcvdbyte, eventtime in ns', async () => {
    // Act
    const v = await checkBytes(fixture('fortigate-traffic-synthetic.csv'), { policy: policyOf('us') });

    // Assess
    expect(v.totals).toMatchObject({ records: 3, skipped: 0, bytesSent: 4200 + 900 });
    expect(destination(v, '1.2.4.8')).toMatchObject({ status: 'blocked', blockedAttempts: 1 });
    expect(destination(v, '8.8.8.8')).toMatchObject({
      status: 'allowed', connections: 1, bytesSent: 4200, bytesReceived: 1200, firstSeen: '2024-03-01T10:00:00.123Z',
    });
    expect(destination(v, '47.246.1.1')).toMatchObject({ connections: 1, blockedAttempts: 0, bytesSent: 900, bytesReceived: 300 });
  });

  it('reads a Cisco Secure Firewall (FMC) connection events export: initiator and responder, an inbound connection\'s initiator is judged', async () => {
    // Prepare: columns as FMC names connection event fields (Initiator IP, Responder IP,
    // Initiator/Responder Bytes, First/Last Packet, Source Port / ICMP Type, Action Allow/Block).
    const text = [
      'First Packet,Last Packet,Action,Reason,Initiator IP,Initiator Country,Responder IP,Responder Country,Source Port / ICMP Type,Destination Port / ICMP Code,Protocol,Initiator Packets,Responder Packets,Initiator Bytes,Responder Bytes',
      '2024-03-01 10:00:00,2024-03-01 10:01:00,Allow,,10.1.1.5,,8.8.8.8,USA,51000,443,tcp,10,12,1500,30000',
      '2024-03-01 10:00:00,2024-03-01 10:01:00,Block,,10.1.1.5,,1.2.4.8,CHN,51001,443,tcp,1,0,60,0',
      '2024-03-01 10:02:00,2024-03-01 10:03:00,Allow,,5.188.10.1,RUS,10.1.1.9,,51002,22,tcp,10,12,700,9000',
    ].join('\n');

    // Act
    const v = await checkBytes(text, { policy: policyOf('us') });

    // Assess: the Russian initiator of an inbound SSH session was sent 9,000 bytes.
    expect(v.totals).toMatchObject({ records: 3, skipped: 0, bytesSent: 1500 + 9000, bytesReceived: 30000 + 700, connectionsWithUnknownBytes: 0 });
    expect(destination(v, '5.188.10.1')).toMatchObject({ status: 'violation', bytesSent: 9000, bytesReceived: 700, ports: [51002] });
    expect(destination(v, '8.8.8.8')).toMatchObject({ bytesSent: 1500, bytesReceived: 30000, ports: [443], firstSeen: '2024-03-01T10:00:00.000Z', lastSeen: '2024-03-01T10:01:00.000Z' });
    expect(destination(v, '1.2.4.8')).toMatchObject({ status: 'blocked', blockedAttempts: 1 });
  });

  it('reads Azure traffic analytics flows: FlowStatus Denied is refused, BytesSrcToDest/BytesDestToSrc are the two directions', async () => {
    // Prepare: NTANetAnalytics columns (Azure Monitor table reference), as a query result saved as CSV.
    const text = [
      'TimeGenerated [UTC],FlowDirection,FlowStatus,SrcIp,DestIp,DestPort,L4Protocol,BytesSrcToDest,BytesDestToSrc',
      '2024-03-01T10:05:00Z,Outbound,Allowed,10.0.0.4,8.8.8.8,443,T,1000,2000',
      '2024-03-01T10:05:00Z,Outbound,Denied,10.0.0.4,1.2.4.8,443,T,60,0',
    ].join('\n');

    // Act
    const v = await checkBytes(text, { policy: policyOf('us') });

    // Assess
    expect(v.compliant).toBe(true);
    expect(destination(v, '1.2.4.8')).toMatchObject({ status: 'blocked', blockedAttempts: 1, bytesSent: 0 });
    expect(destination(v, '8.8.8.8')).toMatchObject({ bytesSent: 1000, bytesReceived: 2000, firstSeen: '2024-03-01T10:05:00.000Z' });
  });

  it('reads AzureNetworkAnalytics_CL flows: FlowStatus_s D is refused, A is a connection; D elsewhere is no refusal', async () => {
    // Prepare: the Log Analytics table's columns (type suffixes _s, _d, _t), statuses as one letter.
    const text = [
      'FlowStartTime_t,FlowDirection_s,FlowStatus_s,SrcIP_s,DestIP_s,DestPort_d,L4Protocol_s,OutboundBytes_d',
      '2024-03-01T10:05:00Z,O,A,10.0.0.4,8.8.8.8,443,T,1000',
      '2024-03-01T10:05:00Z,O,D,10.0.0.4,1.2.4.8,443,T,60',
    ].join('\n');
    const letterElsewhere = 'src,dst,action,bytes_out\n10.0.0.4,1.2.4.8,D,60\n';

    // Act
    const v = await checkBytes(text, { policy: policyOf('us') });
    const other = await checkBytes(letterElsewhere, { policy: policyOf('us') });

    // Assess
    expect(destination(v, '1.2.4.8')).toMatchObject({ status: 'blocked', blockedAttempts: 1, bytesSent: 0 });
    expect(destination(v, '8.8.8.8')).toMatchObject({ status: 'allowed', connections: 1 });
    expect(destination(other, '1.2.4.8')).toMatchObject({ status: 'violation', connections: 1, bytesSent: 60 });
  });

  it('recognises headers with a unit in brackets, a flattened JSON path or a Log Analytics type suffix', () => {
    const cases: [string, string][] = [
      ['Source IP,Destination IP,Bytes Sent (B),Bytes Received (bytes),Start Time [UTC]', '10.0.0.4,8.8.8.8,10,20,2024-03-01 10:00:00'],
      // Google Cloud VPC flow logs downloaded as CSV from Logs Explorer: fields by their JSON path.
      ['timestamp,jsonPayload.connection.src_ip,jsonPayload.connection.dest_ip,jsonPayload.connection.dest_port,jsonPayload.bytes_sent,jsonPayload.start_time', '2024-03-01T10:05:00Z,10.0.0.4,8.8.8.8,443,10,2024-03-01T10:00:00Z'],
      // AzureNetworkAnalytics_CL columns carry their type: _s string, _d number, _t time.
      ['FlowStartTime_t,SrcIP_s,DestIP_s,DestPort_d,BytesSrcToDest_d,BytesDestToSrc_d', '2024-03-01T10:00:00Z,10.0.0.4,8.8.8.8,443,10,20'],
    ];
    for (const [header, row] of cases) {
      const text = `${header}\n${row}\n`;
      expect(detectFormat(firstLines(text))?.name).toBe('generic-csv');
      const [r] = parse(text).flows;
      expect([r!.origIp, r!.respIp, r!.origBytes]).toEqual(['10.0.0.4', '8.8.8.8', 10]);
      expect(r!.firstSeenMs).toBe(Date.parse('2024-03-01T10:00:00Z'));
    }
  });

  it('takes refusals by their words, in any case and spelling, and nothing else', () => {
    const rows = ['deny', 'DENIED', 'drop', 'Block with reset', 'reset-client', 'REJECT', 'blocked', 'allow', 'accept', 'pass', 'close', 'client-rst', 'timeout', '', '-'];
    const text = ['dst_ip,action', ...rows.map((a) => `8.8.8.8,${a}`)].join('\n');
    expect(parse(text).flows.map((r) => r.rejected)).toEqual(rows.map((_, i) => i < 7));
    // A mapped column too.
    expect(parse('peer,what\n8.8.8.8,drop\n', { columns: { dst: 'peer', action: 'what' } }).flows[0]!.rejected).toBe(true);
  });
});

describe('generic CSV: times', () => {
  it('reads numbers as epoch seconds or milliseconds, and numbers too small to be dates as no time', () => {
    expect(parseTimestampText('1718000001.05')).toBeCloseTo(1718000001050, 3);
    expect(parseTimestampText('1718000001050')).toBe(1718000001050);
    expect(parseTimestampText('100000000')).toBe(1e11);
    for (const relative of ['0', '0.021000', '86400', '99999999.9']) expect(parseTimestampText(relative)).toBeNaN();
    expect(parseTimestampText('2024-06-10T14:00:00Z')).toBe(Date.UTC(2024, 5, 10, 14));
    // Palo Alto's exports: slashes, no zone (UTC, as for dashes).
    expect(parseTimestampText('2024/03/01 10:00:05')).toBe(Date.UTC(2024, 2, 1, 10, 0, 5));
    expect(parseTimestampText('2024/03/01')).toBe(Date.UTC(2024, 2, 1));
  });

  it("reads tshark's frame.time (Wireshark's absolute time, the machine's zone abbreviated) and its other lengths", async () => {
    // tshark 4.0 -e frame.time, TZ=UTC and TZ=Europe/Berlin; an offset; no zone (UTC).
    expect(parseTimestampText('Aug 22, 2013 20:00:33.570191000 UTC')).toBeCloseTo(Date.UTC(2013, 7, 22, 20, 0, 33) + 570.191, 3);
    expect(parseTimestampText('Aug 22, 2013 22:00:33.570191000 CEST')).toBeCloseTo(Date.UTC(2013, 7, 22, 20, 0, 33) + 570.191, 3);
    expect(parseTimestampText('Jan  2, 2024 07:05:09.000000000 PST')).toBe(Date.UTC(2024, 0, 2, 15, 5, 9));
    expect(parseTimestampText('Aug 22, 2013 20:00:33.5 +0200')).toBe(Date.UTC(2013, 7, 22, 18, 0, 33, 500));
    expect(parseTimestampText('Aug 22, 2013 20:00:33')).toBe(Date.UTC(2013, 7, 22, 20, 0, 33));
    // Ambiguous abbreviations (CST: US Central or China) and other text are no time.
    for (const t of ['Aug 22, 2013 20:00:33.5 CST', 'Aug 22, 2013 20:00:33.5 IST', 'Foo 22, 2013 20:00:33', 'August 22, 2013', 'Feb 30, 2024 10:00:00 UTC', 'Aug 22, 2013 25:00:00 UTC', 'Aug 22, 2013 20:61:00']) expect(parseTimestampText(t)).toBeNaN();
    // tshark -T fields -E quote=d -e frame.time -e ip.src -e ip.dst -e ip.len
    const v = parse('frame.time,ip.src,ip.dst,ip.len\n"Aug 22, 2013 20:00:33.570191000 UTC","192.168.0.4","212.227.15.188","52"\n');
    expect(v.flows[0]).toMatchObject({ respIp: '212.227.15.188', origBytes: 52 });
    expect(v.flows[0]!.firstSeenMs).toBeCloseTo(Date.UTC(2013, 7, 22, 20, 0, 33) + 570.191, 3);
    expect(parse('ip.dst,tcp.len\n8.8.8.8,1200\n').flows[0]!.origBytes).toBe(1200);
    expect(parse('ip.dst,udp.length\n8.8.8.8,38\n').flows[0]!.origBytes).toBe(38);
  });

  it('reads a time that names no zone as UTC in every spelling, whatever the machine\'s zone', () => {
    const spellings: [string, number][] = [
      ['2024-03-01 1:05', Date.UTC(2024, 2, 1, 1, 5)],
      ['2024-03-01 10:00:00 (UTC)', Date.UTC(2024, 2, 1, 10)],
      ['2024-03-01 10:00 AM', Date.UTC(2024, 2, 1, 10)],
      ['2024-03-01  10:00:00', Date.UTC(2024, 2, 1, 10)],
      ['2024-03-01, 10:00:00', Date.UTC(2024, 2, 1, 10)],
      // A zone given is kept.
      ['2024-03-01 10:00:00 GMT+1', Date.UTC(2024, 2, 1, 9)],
      ['2024-03-01T10:00:00+0100', Date.UTC(2024, 2, 1, 9)],
      ['2024-03-01 10:00:00.123456 +01:00', Date.UTC(2024, 2, 1, 9, 0, 0, 123)],
      ['2024-03-01 10:00:00 PST', Date.UTC(2024, 2, 1, 18)],
      ['2024-03-01 10:00:00 UTC', Date.UTC(2024, 2, 1, 10)],
    ];
    // The zone is the process's: each is read in a Node of its own (the built module, as the CLI runs it).
    const script = `const { parseTimestampText } = require(${JSON.stringify(join(__dirname, '../../../dist/lambda/engine/parsers/bytes.js'))});
      process.stdout.write(JSON.stringify(${JSON.stringify(spellings.map(([t]) => t))}.map(parseTimestampText)));`;
    for (const tz of ['UTC', 'Asia/Tokyo', 'America/Los_Angeles']) {
      const run = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, TZ: tz }, encoding: 'utf8' });
      expect([tz, JSON.parse(run.stdout)]).toEqual([tz, spellings.map(([, ms]) => ms)]);
    }
  });

  it('reads epoch microseconds and nanoseconds by their magnitude, and no number past the dates a Date holds', () => {
    expect(parseTimestampText('1709287200123456')).toBe(1709287200123.456);
    expect(parseTimestampText('1709287200123456789')).toBe(1709287200123.4568);
    expect(parseTimestampText('100000000000000')).toBe(1e11);
    expect(parseTimestampText('100000000000000000')).toBe(1e11);
    expect(parseTimestampText('1' + '0'.repeat(30))).toBeNaN();
  });
});

describe('generic CSV: column mapping', () => {
  it('reads columns named by the mapping', () => {
    // Act
    const result = parse(fixture('custom-columns.csv'), {
      columns: { dst: 'peer', start: 'when', bytes_out: 'up', bytes_in: 'down', app: 'who' },
    });

    // Assess
    expect(
      result.flows.map((r) => [r.respIp, r.origBytes, r.respBytes, r.firstSeenMs, r.app]),
    ).toEqual([
      ['203.0.113.10', 100, 200, 1718000000000, 'svc-a'],
      ['203.0.113.11', 300, 400, 1718000000500, 'svc-b'],
    ]);
  });

  it('lets a mapping override recognition', () => {
    const result = parse('dst_ip,real_dst\n10.0.0.1,8.8.8.8\n', { columns: { dst: 'real_dst' } });
    expect(result.flows[0]!.respIp).toBe('8.8.8.8');
  });

  it('rejects a mapped column missing from the header, naming it', () => {
    expect(() => parse('a,b\n1,2\n', { columns: { dst: 'peer' } })).toThrow(InputError);
    expect(() => parse('a,b\n1,2\n', { columns: { dst: 'peer' } })).toThrow(
      /column 'peer' mapped to dst is not in the CSV header \(columns: a, b\)/,
    );
  });

  it('rejects a header without any destination column, listing the header', () => {
    expect(() => parse('when,who,bytes\n1,2,3\n')).toThrow(
      /no destination column in the CSV header \(columns: when, who, bytes\)/,
    );
  });

  it('rejects an unknown mapping key as a usage error', () => {
    expect(() => new GenericCsvParser({ columns: { destination: 'x' } })).toThrow(UsageError);
  });
});

describe('generic CSV: bad records', () => {
  it('skips short rows and unterminated quotes, one call per data line', () => {
    // Prepare
    const text = 'src,dst,bytes_out\n10.0.0.1\n10.0.0.1,"8.8.8.8,5\n10.0.0.1,8.8.8.8,5\n';

    // Act
    const result = parse(text);

    // Assess
    expect(result.skips.map((s) => [s.line, s.reason])).toEqual([
      [2, 'record has fewer fields than the header needs'],
      [3, 'unterminated quoted field'],
    ]);
    expect(result.flows).toHaveLength(1);
    expect([...result.callsPerLine.values()].every((n) => n === 1)).toBe(true);
  });

  it('reads an empty source field as the monitored side', () => {
    expect(parse('src,dst\n,8.8.8.8\n').flows[0]!.origIp).toBe('0.0.0.0');
  });
});

describe('generic CSV detection', () => {
  it('gives 0.5 to a header with a destination column, below specific formats', () => {
    expect(detectGenericCsv(['src_ip,dst_ip,bytes'])).toBe(0.5);
    expect(detectGenericCsv(['# note', 'Remote Address;Bytes'])).toBe(0.5);
    expect(detectGenericCsv(firstLines(fixture('destinations-only.tsv')))).toBe(0.5);
    expect(detectGenericCsv(['a,b,c', '1,2,3'])).toBe(0);
    expect(detectGenericCsv(['version account-id interface-id srcaddr dstaddr'])).toBe(0);
  });

  it('picks the delimiter the header uses most, ignoring quoted text', () => {
    expect(detectDelimiter('a;b;c')).toBe(';');
    expect(detectDelimiter('a\tb\tc')).toBe('\t');
    expect(detectDelimiter('"x;y;z",b,c')).toBe(',');
    expect(detectDelimiter('single')).toBe(',');
  });

  it('leaves PCAPdroid headers to the PCAPdroid format', () => {
    const header =
      'IPProto,SrcIP,SrcPort,DstIp,DstPort,UID,App,Proto,Status,Info,BytesSent,BytesRcvd,PktsSent,PktsRcvd,FirstSeen,LastSeen';
    expect(detectGenericCsv([header])).toBe(0.5);
    expect(detectFormat([header])?.name).toBe('pcapdroid-csv');
  });
});

describe('generic CSV: a conn.log exported with local_orig/local_resp', () => {
  it("takes the side the sensor calls local as inside, however the export spells the flag", async () => {
    // A conn.log through pandas or a SIEM (quoted fields, so a CSV, not zeek-cut output): a
    // campus server with a public address answered a host abroad, then reached out itself.
    for (const [no, yes] of [['F', 'T'], ['false', 'true'], ['False', 'True'], ['0', '1']]) {
      const csv = [
        'ts,uid,id.orig_h,id.orig_p,id.resp_h,id.resp_p,proto,orig_bytes,resp_bytes,conn_state,local_orig,local_resp',
        `1714557600.1,"C1","1.2.4.8",40000,"128.112.128.15",22,"tcp",3000,250000,"SF",${no},${yes}`,
        `1714557600.2,"C2","128.112.128.15",51000,"8.8.8.8",443,"tcp",500,900,"SF",${yes},${no}`,
      ].join('\n');
      const v = await checkBytes(csv, { policy: policyOf('us') });
      expect(v.input.format).toBe('generic-csv');
      expect(v.destinations.map((d) => [d.ip, d.status, d.bytesSent, d.bytesReceived])).toEqual([
        ['1.2.4.8', 'violation', 250000, 3000],
        ['8.8.8.8', 'allowed', 500, 900],
      ]);
    }
    // Mapped by --columns when named otherwise.
    const mappedYes = parse('src,dst,orig_inside,resp_inside\n1.2.4.8,128.112.128.15,F,T\n', { columns: { local_orig: 'orig_inside', local_resp: 'resp_inside' } });
    expect(mappedYes.flows[0]).toMatchObject({ origLocal: false, respLocal: true });
  });
});

describe('generic CSV: tshark -T fields output', () => {
  it('reads ipv6.dst where ip.dst is empty, udp ports where tcp ports are empty, frame.time_epoch and frame.len', async () => {
    // tshark -r capture.pcap -T fields -E header=y -e frame.time_epoch -e ip.src -e ipv6.src -e ip.dst
    //   -e ipv6.dst -e tcp.srcport -e tcp.dstport -e udp.srcport -e udp.dstport -e frame.len
    const tsv = [
      'frame.time_epoch\tip.src\tipv6.src\tip.dst\tipv6.dst\ttcp.srcport\ttcp.dstport\tudp.srcport\tudp.dstport\tframe.len',
      '1709287200.000000000\t192.168.1.20\t\t185.199.108.153\t\t51514\t443\t\t\t583',
      '1709287201.000000000\t\t2001:db8::20\t\t240e:e9:6002:15c::1\t51600\t443\t\t\t1400',
      '1709287202.000000000\t192.168.1.20\t\t8.8.8.8\t\t\t\t53000\t53\t74',
    ].join('\n');
    const v = await checkBytes(tsv, { policy: policyOf('us') });
    expect(v.input.format).toBe('generic-csv');
    expect(v.totals).toMatchObject({ records: 3, connections: 3, skipped: 0, bytesSent: 583 + 1400 + 74 });
    expect(destination(v, '240e:e9:6002:15c::1')).toMatchObject({ status: 'violation', bytesSent: 1400, ports: [443], firstSeen: '2024-03-01T10:00:01.000Z' });
    expect(destination(v, '8.8.8.8')).toMatchObject({ status: 'allowed', bytesSent: 74, ports: [53] });
    expect(destination(v, '185.199.108.153')).toMatchObject({ bytesSent: 583, ports: [443], firstSeen: '2024-03-01T10:00:00.000Z' });
    // The IPv6 packet's source is the monitored side's address, not a destination.
    expect(v.destinations.map((d) => d.ip)).not.toContain('2001:db8::20');
  });

  it('keeps the first port column when both have a value, and a mapped column has no stand-in', async () => {
    const csv = ['ip.dst,ipv6.dst,tcp.dstport,udp.dstport', '8.8.8.8,,443,53', ',2001:4860:4860::8888,,53'].join('\n');
    const v = await checkBytes(csv, { policy: policyOf('us') });
    expect(destination(v, '8.8.8.8').ports).toEqual([443]);
    expect(destination(v, '2001:4860:4860::8888').ports).toEqual([53]);
    const mapped = await checkBytes(csv, { policy: policyOf('us'), parserOptions: { columns: { dst: 'ip.dst' } } });
    expect(mapped.totals).toMatchObject({ records: 2, connections: 1, skipped: 1 });
  });

  it("reads values tshark wraps in single quotes (-E quote=s), the delimiter inside them included (real tool output)", async () => {
    // tshark 4.0.17 -E separator=, -E quote=s: the header is not quoted, empty values are empty,
    // and the Info column before the addresses holds commas.
    const text = fixture('tshark-fields-quote-s.csv');
    const result = parse(text);
    expect(result.skips).toEqual([]);
    expect(result.flows).toHaveLength(78);
    expect(result.flows[0]).toMatchObject({ origIp: '192.168.2.16', respIp: '192.168.2.255', respPort: 138, origBytes: 243 });
    expect(result.flows[0]!.firstSeenMs).toBe(1210953046591.933);
    expect(result.flows[1]).toMatchObject({ origIp: '75.126.130.163', respIp: '192.168.2.16', respPort: 1576, origBytes: 54 });

    // The same packets exported with -E quote=d give the same verdict.
    const doubled = text.split('\n').map((line, i) => (i === 0 ? line : line.replace(/'/g, '"'))).join('\n');
    const [single, double] = await Promise.all([checkBytes(text, { policy: policyOf('us') }), checkBytes(doubled, { policy: policyOf('us') })]);
    expect(single.input.format).toBe('generic-csv');
    expect(single.totals).toMatchObject({ records: 78, skipped: 0, bytesSent: 8032, bytesReceived: 16993 });
    expect(single.totals).toEqual(double.totals);
    expect(single.destinations).toEqual(double.destinations);
  });

  it("warns that a public address on one side of every row is likely the capture host's own (a phone's IPv6), as for VPC logs", async () => {
    // tshark -T fields of a host with a public IPv6 address: its requests and the replies to it.
    const csv = [
      'frame.time_epoch,ipv6.src,ipv6.dst,udp.srcport,udp.dstport,frame.len',
      '1700000000.0,2a02:6bf:8080:165::1:12,2620:fe::fe,40000,53,90',
      '1700000000.1,2620:fe::fe,2a02:6bf:8080:165::1:12,53,40000,130',
      '1700000001.0,2a02:6bf:8080:165::1:12,2607:f8b0:4005:80a::200e,40001,443,1200',
      '1700000001.1,2607:f8b0:4005:80a::200e,2a02:6bf:8080:165::1:12,443,40001,5000',
    ].join('\n');
    const v = await checkBytes(csv, { policy: policyOf('us') });
    expect(destination(v, '2a02:6bf:8080:165::1:12').warning).toMatch(/^this address is on one side of every IPv6 record of the log \(4 records\): likely the monitored side's own address, listed as a destination because the log does not say which side of a record is inside; if so, add it \(or its network\) to the policy's localNetworks/);
    expect(destination(v, '2620:fe::fe').warning).toBeNull();
    // A server every row went to, from several hosts, was never a source: no hint to call it local.
    const oneServer = await checkBytes('src,dst,bytes\n10.0.0.1,5.255.255.5,100\n10.0.0.2,5.255.255.5,100\n10.0.0.3,5.255.255.5,100\n', { policy: policyOf('us') });
    expect(destination(oneServer, '5.255.255.5')).toMatchObject({ status: 'violation', warning: null });
    // With its address among the monitored networks, it is no destination, and only what it sent counts.
    const local = await checkBytes(csv, { policy: compilePolicy(buildPolicy({ allowedCountries: ['US'], localNetworks: ['non-public', '2a02:6bf:8080:165::/64'] })) });
    expect(local.destinations.map((d) => [d.ip, d.bytesSent])).toEqual([
      ['2607:f8b0:4005:80a::200e', 1200],
      ['2620:fe::fe', 90],
    ]);
  });

  it('skips a row with more fields than the header (tshark joins the values of two IP layers with the separator), never reading it shifted', () => {
    // tshark -T fields -E header=y -E separator=, (occurrence=a, no quotes) on a capture with an
    // ICMP error (its quoted IP header is a second layer) and a VXLAN packet.
    const csv = [
      'frame.time_epoch,ip.src,ip.dst,tcp.dstport,frame.len',
      '1700000000.000000000,192.168.1.10,8.8.8.8,,74',
      '1700000001.000000000,8.8.8.8,192.168.1.10,192.168.1.10,8.8.8.8,,70',
      '1700000002.000000000,10.0.0.5,10.0.1.7,10.0.0.9,77.88.8.8,443,1304',
      '1700000003.000000000,192.168.1.10,1.1.1.1,443,54,',
    ].join('\n');
    const result = parse(csv);
    expect(result.flows.map((r) => r.respIp)).toEqual(['8.8.8.8', '1.1.1.1']);
    expect(result.skips).toEqual([
      { line: 3, reason: 'record has more fields than the header', detail: '7 fields, header names 5; tshark: use -E quote=d, and -E occurrence=f' },
      { line: 4, reason: 'record has more fields than the header', detail: '7 fields, header names 5; tshark: use -E quote=d, and -E occurrence=f' },
    ]);
    // A record of several lines is counted the same.
    expect(parse('src,dst,bytes\n10.0.0.1,10.9.0.1,5.255.255.5,"a\nb"\n').skips).toEqual([
      { line: 2, reason: 'record has more fields than the header', detail: '4 fields, header names 3' },
    ]);
    // Where the header has columns no key reads, extra fields past them are not looked for.
    expect(parse('dst,bytes_out,note\n8.8.8.8,10,a,b\n').flows).toHaveLength(1);
    expect(parse('dst,bytes_out\n8.8.8.8,10,x\n').skips).toEqual([{ line: 2, reason: 'record has more fields than the header', detail: '3 fields, header names 2' }]);
  });

  it("tells tshark's joined layers from the commas of a last column it does not read (_ws.col.Info), by what the needed values hold", async () => {
    // Prepare: tshark's own export (-E separator=, without quotes) of a GRE tunnel to 77.88.8.8,
    // an ICMP error quoting the UDP packet it answers, and a SYN-ACK whose Info has commas.
    const hex = (h: string): Buffer => Buffer.from(h.replace(/ /g, ''), 'hex');
    const inner = ipv4(6, '10.0.1.7', '77.88.8.8', tcp(50000, 443, 0x18, 101, Buffer.alloc(1200, 1)));
    const capture = pcapOf(101, [
      ipv4(47, '10.0.0.5', '10.0.0.9', Buffer.concat([hex('0000 0800'), inner])),
      ipv4(1, '192.168.1.1', '10.0.1.7', Buffer.concat([hex('0303 0000 00000000'), ipv4(17, '10.0.1.7', '8.8.8.8', udp(40000, 53, Buffer.alloc(8)))])),
      ipv4(6, '10.0.1.7', '8.8.4.4', tcp(50001, 443, 0x12, 5)),
    ]);
    const file = join(tempDir(), 'tunnel.pcap');
    writeFileSync(file, capture);
    const run = spawnSync('tshark', ['-n', '-r', file, '-T', 'fields', '-E', 'separator=,', '-E', 'header=y', ...['ip.src', 'ip.dst', 'tcp.dstport', 'frame.len', '_ws.col.Info'].flatMap((f) => ['-e', f])], { encoding: 'utf8' });
    if (run.error) throw new Error(`tshark is required for this test (.ci/run installs it): ${run.error.message}`);
    const csv = run.stdout;
    // What tshark wrote: the tunnel's and the error's two IP layers joined, the SYN-ACK's Info with commas.
    expect(csv.split('\n').slice(1, 4)).toEqual([
      '10.0.0.5,10.0.1.7,10.0.0.9,77.88.8.8,443,1264,Continuation Data',
      '192.168.1.1,10.0.1.7,10.0.1.7,8.8.8.8,,64,Destination unreachable (Port unreachable)',
      '10.0.1.7,8.8.4.4,443,40,50001 → 443 [SYN, ACK] Seq=0 Ack=1 Win=65535 Len=0',
    ]);

    // Act
    const result = parse(csv);
    const v = await checkBytes(csv, { policy: policyOf('us') });

    // Assess: never read shifted (the tunnel's row read so named 10.0.1.7 its destination and hid
    // 77.88.8.8: a compliant verdict); the row whose extra commas are Info's is read.
    expect(result.skips).toEqual([
      { line: 2, reason: 'record has more fields than the header', detail: '7 fields, header names 5; tshark: use -E quote=d, and -E occurrence=f' },
      { line: 3, reason: 'record has more fields than the header', detail: '7 fields, header names 5; tshark: use -E quote=d, and -E occurrence=f' },
    ]);
    expect(result.flows.map((r) => [r.respIp, r.respPort, r.origBytes])).toEqual([['8.8.4.4', 443, 40]]);
    expect(v.totals).toMatchObject({ skipped: 2, malformedValues: 0 });
    // With the addresses alone read, the address moved into Info tells the joined layers apart.
    const addressesOnly = spawnSync('tshark', ['-n', '-r', file, '-T', 'fields', '-E', 'separator=,', '-E', 'header=y', ...['ip.src', 'ip.dst', '_ws.col.Info'].flatMap((f) => ['-e', f])], { encoding: 'utf8' }).stdout;
    expect(addressesOnly.split('\n')[1]).toBe('10.0.0.5,10.0.1.7,10.0.0.9,77.88.8.8,Continuation Data');
    expect(parse(addressesOnly).skips.map((k) => k.line)).toEqual([2, 3]);
    expect(parse(addressesOnly).flows.map((r) => r.respIp)).toEqual(['8.8.4.4']);
    // Exported as advised, every layer's first value only: each row read, the tunnel's outer packet.
    const advised = spawnSync('tshark', ['-n', '-r', file, '-T', 'fields', '-E', 'separator=,', '-E', 'header=y', '-E', 'quote=d', '-E', 'occurrence=f', ...['ip.src', 'ip.dst', 'tcp.dstport', 'frame.len', '_ws.col.Info'].flatMap((f) => ['-e', f])], { encoding: 'utf8' }).stdout;
    expect(parse(advised).skips).toEqual([]);
    expect(parse(advised).flows.map((r) => r.respIp)).toEqual(['10.0.0.9', '10.0.1.7', '8.8.4.4']);
  });

  it("reads a header quoted with single quotes, and leaves apostrophes in double-quoted or unquoted CSV alone", () => {
    // A first record of empty values (an ARP frame's row) decides nothing.
    const arpFirst = parse("ip.src,ip.dst,frame.len\n,,\n'10.0.0.1','5.255.255.5','1500'\n");
    expect(arpFirst.flows.map((r) => [r.respIp, r.origBytes])).toEqual([['5.255.255.5', 1500]]);
    const quoted = parse("'ip.src','ip.dst','tcp.dstport'\n'10.0.0.1','8.8.8.8','443'\n'10.0.0.1','1.1.1.1',\n");
    expect(quoted.skips).toEqual([]);
    expect(endpoints(quoted.flows)).toEqual(['10.0.0.1 -> 8.8.8.8', '10.0.0.1 -> 1.1.1.1']);
    expect(quoted.flows[0]!.respPort).toBe(443);

    // A first record whose values are not all wrapped: quotes are double quotes, apostrophes text.
    const plain = parse("user,dst,bytes_out\nO'Brien's laptop,8.8.8.8,10\n'x',\"1.1.1.1\",\"20\"\n");
    expect(plain.skips).toEqual([]);
    expect(plain.flows.map((r) => [r.respIp, r.origBytes])).toEqual([
      ['8.8.8.8', 10],
      ['1.1.1.1', 20],
    ]);
  });
});

describe('generic CSV: Azure traffic analytics exported from Log Analytics', () => {
  it('reads the public addresses of internet flows from DestPublicIPs_s / SrcPublicIPs_s, each with its bytes', async () => {
    // AzureNetworkAnalytics_CL: for AzurePublic and ExternalPublic flows SrcIP_s/DestIP_s are blank
    // and the public side is listed as ip|flowsStarted|flowsEnded|outPackets|inPackets|outBytes|inBytes,
    // space-separated (outbound from the Azure side). L4Protocol_s is T or U; FlowStatus_s A or D.
    const csv = [
      'TimeGenerated [UTC],FlowType_s,SrcIP_s,DestIP_s,DestPort_d,L4Protocol_s,FlowDirection_s,FlowStatus_s,SrcPublicIPs_s,DestPublicIPs_s,InboundBytes_d,OutboundBytes_d,FlowStartTime_t [UTC]',
      '2024-03-01T10:00:00Z,IntraVNet,10.1.0.4,10.1.0.5,1433,T,O,A,,,20000,5000,2024-03-01T09:55:00Z',
      '2024-03-01T10:00:00Z,ExternalPublic,10.1.0.4,,443,T,O,A,,1.2.4.8|3|3|120|150|48000|9000 47.246.1.1|1|1|10|12|3000|800,9800,51000,2024-03-01T09:55:00Z',
      '2024-03-01T10:00:00Z,ExternalPublic,,10.1.0.4,22,T,I,D,185.220.101.5|2|0|0|2|0|120,,120,0,2024-03-01T09:56:00Z',
      '2024-03-01T10:00:00Z,ExternalPublic,10.1.0.4,,53,U,O,A,,8.8.8.8|1|1|1|1|70|90 8.8.4.4|1|1|1|1|bad|90,160,70,2024-03-01T09:57:00Z',
    ].join('\n');
    const v = await checkBytes(csv, { policy: policyOf('us') });
    expect(v.input.format).toBe('generic-csv');
    expect(v.totals).toMatchObject({ records: 6, skipped: 0, bytesSentViolating: 48000 + 3000 });
    expect(destination(v, '1.2.4.8')).toMatchObject({ status: 'violation', bytesSent: 48000, bytesReceived: 9000, ports: [443], protocols: ['tcp'] });
    expect(destination(v, '47.246.1.1')).toMatchObject({ status: 'violation', bytesSent: 3000, bytesReceived: 800 });
    // Inbound and denied: the scanner is the remote party, refused.
    expect(destination(v, '185.220.101.5')).toMatchObject({ status: 'blocked', blockedAttempts: 1, bytesSent: 0 });
    expect(destination(v, '8.8.8.8')).toMatchObject({ bytesSent: 70, bytesReceived: 90, protocols: ['udp'] });
    expect(destination(v, '8.8.4.4')).toMatchObject({ connectionsWithUnknownBytes: 1 });
    expect(v.malformedValues).toEqual([{ line: 5, field: 'DestPublicIPs_s', value: '8.8.4.4|1|1|1|1|bad|90' }]);
    expect(destination(v, '10.1.0.5')).toMatchObject({ status: 'non-public', bytesSent: 5000 });
  });
});

describe("generic CSV: Wireshark's Endpoints table", () => {
  it('reads a row per address, what the address received (Rx) as sent to it', async () => {
    // Statistics > Endpoints > Copy as CSV (Wireshark 4.x, ui/qt/models/atap_data_model.cpp).
    const csv = [
      'Address,Packets,Bytes,Tx Packets,Tx Bytes,Rx Packets,Rx Bytes,Country,City,Latitude,Longitude,AS Number,AS Organization',
      '"192.168.1.20",27,18391,13,2291,14,16100,"","","","","",""',
      '"185.199.108.153",25,18211,13,16000,12,2211,"United States","","","",54113,"FASTLY"',
      '"77.88.8.8",2,180,1,100,1,80,"Russia","","","",13238,"YANDEX LLC"',
    ].join('\n');
    expect(detectFormat(csv.split('\n'))?.name).toBe('generic-csv');
    const v = await checkBytes(csv, { policy: policyOf('us') });
    expect(destination(v, '185.199.108.153')).toMatchObject({ status: 'allowed', bytesSent: 2211, bytesReceived: 16000 });
    expect(destination(v, '77.88.8.8')).toMatchObject({ status: 'violation', bytesSent: 80, bytesReceived: 100 });
    // The same with the address column mapped by hand.
    const mapped = await checkBytes(csv, { policy: policyOf('us'), parserOptions: { columns: { dst: 'Address' } } });
    expect(destination(mapped, '77.88.8.8')).toMatchObject({ bytesSent: 80, bytesReceived: 100 });
  });

  it("takes the row whose bytes are all the others' for the capture's own host: no destination, its Rx not counted as sent", async () => {
    // A phone's capture: its row's Rx (79 kB from the internet) was counted as data sent.
    const header = 'Address,Packets,Bytes,Tx Packets,Tx Bytes,Rx Packets,Rx Bytes';
    const rows = ['"192.168.1.23",40,99000,20,20000,20,79000', '"185.199.108.153",20,60000,10,50000,10,10000', '"8.8.8.8",20,39000,10,29000,10,10000'];
    // Broadcasts among other hosts make the capture host's share a little less than the rest's.
    const lan = '"192.168.1.30",1,1000,1,1000,0,0';

    // Act
    const v = await checkBytes([header, ...rows, lan].join('\n'), { policy: policyOf('us') });

    // Assess
    expect(v.destinations.map((d) => d.ip).sort()).toEqual(['185.199.108.153', '192.168.1.30', '8.8.8.8']);
    expect(v.compliant).toBe(true);
    expect(v.totals).toMatchObject({ records: 4, connections: 3, noData: 1, bytesSent: 20000 });

    // A server's capture (a public address in DE): a destination still (a capture filtered to one
    // foreign server has it at its centre too), warned of as likely the monitored side's own.
    const server = await checkBytes([header, rows[0]!.replace('192.168.1.23', '49.12.34.56'), ...rows.slice(1), lan].join('\n'), { policy: policyOf('us') });
    expect(destination(server, '49.12.34.56')).toMatchObject({ status: 'violation' });
    expect(destination(server, '49.12.34.56').warning).toMatch(/^this address is on one side of every IPv4 record of the log \(4 records\): likely the monitored side's own address/);

    // No row carries the others' bytes (a capture of a whole network): every row is a destination.
    const span = await checkBytes([header, ...rows.slice(1), '"203.0.113.9",4,2000,2,1000,2,1000'].join('\n'), { policy: policyOf('us') });
    expect(span.totals).toMatchObject({ connections: 3, noData: 0 });
  });
});

describe('generic CSV: quoted fields holding line breaks (RFC 4180)', () => {
  it('joins a record whose quoted field holds line breaks and numbers it by its first line', () => {
    const text = [
      'dst,bytes_sent,note',
      '8.8.8.8,10,"first line',
      '',
      '# not a comment: still the note',
      'dst,bytes_sent,note',
      'last line"',
      '1.1.1.1,20,plain',
    ].join('\r\n');
    const result = parse(text);
    expect(result.flows.map((r) => [r.line, r.respIp, r.origBytes])).toEqual([
      [2, '8.8.8.8', 10],
      [7, '1.1.1.1', 20],
    ]);
    expect(result.skips).toEqual([]);
  });

  it('reads the fields of a joined record that come after the line break', () => {
    const text = 'note,dst,dst_port,bytes_out\n"line one\nline ""two""",9.9.9.9,443,77\n';
    expect(parse(text).flows.map((r) => [r.line, r.respIp, r.respPort, r.origBytes])).toEqual([[2, '9.9.9.9', 443, 77]]);
  });

  it('notices a quote opened in a column after the last one it reads', () => {
    // Only dst and bytes are read; the open quote is in the third column.
    const text = 'dst,bytes,comment,extra\n8.8.8.8,5,"a\n1.2.3.4,6,not a record",x\n8.8.4.4,7,b,y\n';
    expect(parse(text).flows.map((r) => [r.line, r.respIp])).toEqual([
      [2, '8.8.8.8'],
      [4, '8.8.4.4'],
    ]);
  });

  it('skips only the line of a quote never closed, and reads the lines after it one by one', () => {
    const text = 'dst,bytes,comment\n8.8.8.8,5,"stray\n1.1.1.1,6,ok\n9.9.9.9,7,fine\n';
    const result = parse(text);
    expect(result.skips).toEqual([{ line: 2, reason: 'unterminated quoted field' }]);
    expect(result.flows.map((r) => [r.line, r.respIp])).toEqual([
      [3, '1.1.1.1'],
      [4, '9.9.9.9'],
    ]);
  });

  it('gives up a record at MAX_RECORD_LINES lines, and reads those lines again', () => {
    const rows = Array.from({ length: MAX_RECORD_LINES + 5 }, (_, i) => `10.0.0.1,${i % 250}.1.1.1,1`);
    const text = ['src,dst,bytes,comment', '10.0.0.1,8.8.8.8,5,"never closed', ...rows].join('\n');
    const result = parse(text);
    expect(result.skips).toEqual([{ line: 2, reason: 'unterminated quoted field' }]);
    expect(result.flows).toHaveLength(rows.length);
    expect(result.flows[0]!.line).toBe(3);
  });

  it('takes a stray quote that a later field\'s quote meets for no record of several lines, and absorbs no line unsaid', async () => {
    const text = 'dst,port,bytes,note\n8.8.8.8,443,100,"unbalanced\n1.1.1.1,443,5000,"ok"\n9.9.9.9,443,7,x\n';
    const result = parse(text);
    expect(result.skips).toEqual([{ line: 2, reason: 'unterminated quoted field' }]);
    expect(result.flows.map((r) => [r.line, r.respIp, r.origBytes])).toEqual([
      [3, '1.1.1.1', 5000],
      [4, '9.9.9.9', 7],
    ]);
    const v = await checkBytes(text, { policy: policyOf('us') });
    expect(v.compliant).toBe(false);
    expect(destination(v, '1.1.1.1').bytesSent).toBe(5000);
  });

  it('reads no line more than twice when every line closes one quote and opens another', () => {
    // Each line closes the quote the last one opened and opens another: held until MAX_RECORD_LINES,
    // then read again one by one, none of them holding again.
    const rows = Array.from({ length: 25_000 }, () => 'a",8.8.8.8,100,"b');
    const result = parse(['x,dst,bytes,comment', ...rows].join('\n'));
    expect(MAX_RECORD_LINES).toBe(10_000);
    expect(result.skips).toEqual([2, 10_002, 20_002].map((line) => ({ line, reason: 'unterminated quoted field' })));
    expect(result.flows).toHaveLength(24_997);
  });

  it('gives up a record when a line too long for the splitter came between its lines', () => {
    const parser = new GenericCsvParser();
    const sink = new RecordingSink();
    const feed = (line: string, n: number) => parser.line(Buffer.from(line), 0, Buffer.byteLength(line), n, sink);
    feed('dst,comment', 1);
    feed('8.8.8.8,"open', 2);
    // Line 3 was too long: the line splitter skipped it.
    feed('1.1.1.1,closed"', 4);
    parser.finish(sink);
    // Line 4 is read on its own: a quote inside an unquoted field opens nothing.
    expect(sink.calls.map((c) => [c.kind, c.line])).toEqual([
      ['skip', 2],
      ['flow', 4],
    ]);
  });

  it('skips the first line of a record still open at the end of the log, and reads the rest', () => {
    const result = parse('dst,comment\n8.8.8.8,"open\n1.1.1.1,x\n');
    expect(result.skips).toEqual([{ line: 2, reason: 'unterminated quoted field' }]);
    expect(result.flows.map((r) => [r.line, r.respIp])).toEqual([[3, '1.1.1.1']]);
  });

  it('checks a Splunk-style export whose _raw events span lines, end to end', async () => {
    const text = [
      '"_time","src_ip","dest_ip","bytes_out","_raw"',
      '"2024-05-01T10:00:00.000+0000","10.0.0.5","1.1.1.1","100","conn start',
      'at=10:00:00 dest=1.1.1.1',
      'end"',
      '"2024-05-01T10:00:01.000+0000","10.0.0.5","8.8.8.8","200","single line"',
      '',
    ].join('\n');
    const verdict = await checkBytes(text, { policy: policyOf('eu') });
    expect(verdict.input.format).toBe('generic-csv');
    expect(verdict.totals.records).toBe(2);
    expect(verdict.totals.skipped).toBe(0);
    expect(verdict.totals.bytesSent).toBe(300);
    expect(destination(verdict, '1.1.1.1').connections).toBe(1);
    expect(destination(verdict, '8.8.8.8').bytesSent).toBe(200);
    // Evidence points at each record's first line.
    expect(verdict.violations.map((v) => [v.ip, v.evidenceLines])).toEqual([
      ['8.8.8.8', [5]],
      ['1.1.1.1', [2]],
    ]);
  });
});

describe('generic CSV: SIEM exports', () => {
  it('reads a Splunk export whose _raw column quotes CEF or key=value events as the CSV it is', async () => {
    const cef = [
      '_time,src_ip,dest_ip,dest_port,bytes_out,bytes_in,_raw',
      '2024-03-01T10:00:00.000+0000,10.0.0.1,8.8.8.8,443,4200,1200,"CEF:0|Vendor|Firewall|1.0|100|Connection|3|src=10.0.0.1 dst=8.8.8.8"',
      '2024-03-01T10:00:01.000+0000,10.0.0.1,1.1.1.1,443,100,50,"CEF:0|Vendor|Firewall|1.0|100|Connection|3|src=10.0.0.1 dst=1.1.1.1"',
    ].join('\n');
    const kv = [
      '_time,src_ip,dest_ip,bytes_out,_raw',
      '2024-03-01T10:00:00.000+0000,10.0.0.1,8.8.8.8,4200,"date=2024-03-01 time=10:00:00 srcip=10.0.0.1 dstip=8.8.8.8 sentbyte=4200"',
    ].join('\n');
    expect(detectFormat(firstLines(cef))?.name).toBe('generic-csv');
    expect(detectFormat(firstLines(kv))?.name).toBe('generic-csv');
    const v = await checkBytes(`${cef}\n`, { policy: policyOf('us') });
    expect(v.input.format).toBe('generic-csv');
    expect(v.totals).toMatchObject({ records: 2, connections: 2, skipped: 0, bytesSent: 4300 });
    // A CEF log itself is still CEF.
    expect(detectFormat(['CEF:0|Vendor|Firewall|1.0|100|Connection|3|src=10.0.0.1 dst=8.8.8.8'])?.name).toBe('cef');
  });

  it('reads Elastic (ECS) exports: source.bytes is what the source sent, destination.bytes what came back', () => {
    const text = '"@timestamp","source.ip","destination.ip","destination.port","destination.bytes","source.bytes","network.bytes"\n"2024-03-01T10:00:00.000Z","10.0.0.5","8.8.8.8",443,"90000","1200","91200"\n';
    const [r] = parse(text).flows;
    expect(r).toMatchObject({ origIp: '10.0.0.5', respIp: '8.8.8.8', respPort: 443, origBytes: 1200, respBytes: 90000, firstSeenMs: Date.UTC(2024, 2, 1, 10) });
  });

  it('reads IBM QRadar flow exports: Source and Destination Bytes, First and Last Packet Time', () => {
    const text = 'Source IP,Destination IP,Source Port,Destination Port,Protocol,Source Bytes,Destination Bytes,First Packet Time,Last Packet Time\n10.0.0.5,8.8.8.8,51000,443,tcp,1200,90000,1709287200000,1709287260000\n';
    const [r] = parse(text).flows;
    expect(r).toMatchObject({ origBytes: 1200, respBytes: 90000, firstSeenMs: 1709287200000, lastSeenMs: 1709287260000 });
    const aql = 'sourceIP,destinationIP,sourceBytes,destinationBytes,firstPacketTime,lastPacketTime\n10.0.0.5,8.8.8.8,1200,90000,1709287200000,1709287260000\n';
    expect(parse(aql).flows[0]).toMatchObject({ origBytes: 1200, respBytes: 90000, firstSeenMs: 1709287200000, lastSeenMs: 1709287260000 });
  });

  it('reads counts a number format wrote with two zero decimals, and no more', () => {
    const result = parse('dst,bytes\n8.8.8.8,1234.00\n8.8.4.4,48.000\n');
    expect(result.flows.map((r) => r.origBytes)).toEqual([1234, -1]);
  });
});

describe('generic CSV: a date and a time of day in columns of their own', () => {
  it('reads the start as the time of day on that date (FortiAnalyzer exports)', () => {
    const result = parse('date,time,srcip,srcport,dstip,dstport,proto,action,sentbyte,rcvdbyte\n2024-03-01,10:00:05,10.0.0.5,51000,8.8.8.8,443,6,close,1200,900\n2024/03/02,9:05,10.0.0.5,51001,8.8.8.8,443,6,close,1,1\n');
    expect(result.flows.map((r) => r.firstSeenMs)).toEqual([Date.UTC(2024, 2, 1, 10, 0, 5), Date.UTC(2024, 2, 2, 9, 5)]);
    expect(result.malformed).toEqual([]);
    // A time column that holds whole times is read as it is, the date column beside it unread.
    expect(parse('date,time,dst\n2024-03-01,2024-03-05T00:00:00Z,8.8.8.8\n').flows[0]!.firstSeenMs).toBe(Date.UTC(2024, 2, 5));
  });
});

describe('generic CSV: ports', () => {
  it('reads ports shown with their service and protocol (443 (https) / tcp), and reports a value that is no port', () => {
    const result = parse('Initiator IP,Responder IP,Source Port / ICMP Type,Destination Port / ICMP Code\n10.1.1.5,8.8.8.8,51000 / tcp,443 (https) / tcp\n10.1.1.5,8.8.4.4,-,https\n10.1.1.5,1.1.1.1,1,70000\n');
    expect(result.flows.map((r) => [r.origPort, r.respPort])).toEqual([
      [51000, 443],
      [-1, -1],
      [1, -1],
    ]);
    expect(result.malformed.map((m) => [m.line, m.value])).toEqual([
      [3, 'https'],
      [4, '70000'],
    ]);
  });
});

describe('generic CSV: byte counts in larger units', () => {
  it('reads a byte column whose header names kB, MB or MiB in those units, fractions too', () => {
    const result = parse('Destination IP,Bytes Sent (KB),Bytes Received [MiB]\n1.2.4.8,2048,1\n8.8.8.8,12.5,0.5\n9.9.9.9,lots,1\n');
    expect(result.flows.map((r) => [r.origBytes, r.respBytes])).toEqual([
      [2_048_000, 1_048_576],
      [12_500, 524_288],
      [-1, 1_048_576],
    ]);
    expect(result.malformed.map((m) => [m.line, m.field, m.value])).toEqual([[4, 'Bytes Sent (KB)', 'lots']]);
    // Bytes named as bytes stay bytes.
    expect(parse('dst,Bytes Sent (B)\n8.8.8.8,2048\n').flows[0]!.origBytes).toBe(2048);
  });
});
