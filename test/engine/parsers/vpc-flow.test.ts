import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { InputError } from '../../../lambda/engine/errors';
import { detectFormat, findFormat } from '../../../lambda/engine/parsers';
import { SKIPDATA_REASON, TGW_DEFAULT_FIELDS, VpcFlowParser } from '../../../lambda/engine/parsers/vpc-flow';
import { buildPolicy, compilePolicy } from '../../../lambda/engine/policy/policy';
import { checkBytes, destination, policyOf } from '../../helpers/engine';
import { endpoints, parseAll, total } from './harness';

const FIXTURES = join(__dirname, '../../fixtures/vpcflow');
const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, name));
const parse = (input: string | Buffer) => parseAll(new VpcFlowParser(), input);

describe('VPC flow logs, default v2 format (AWS documentation records)', () => {
  it('reads accepted, rejected, ICMP and IPv6 records; NODATA is no data, SKIPDATA records AWS could not write', () => {
    // Act
    const result = parse(fixture('default-v2-awsdocs.log'));

    // Assess
    expect(result.flows).toHaveLength(5);
    expect(result.noData).toEqual([{ line: 4, status: 'NODATA' }]);
    // SKIPDATA: "some flow log records were skipped during the aggregation interval" (AWS): traffic
    // went unrecorded, so it is a record that could not be read, not a quiet interval.
    expect(result.skips).toEqual([{ line: 5, reason: SKIPDATA_REASON }]);
    expect(endpoints(result.flows)).toEqual([
      '172.31.16.139 -> 172.31.16.21',
      '172.31.9.69 -> 172.31.9.12',
      '203.0.113.12 -> 172.31.16.139',
      '172.31.16.139 -> 203.0.113.12',
      '2001:db8:1234:a100:8d6e:3477:df66:f105 -> 2001:db8:1234:a102:3304:8879:34cf:4071',
    ]);
    expect(total(result.flows, 'origBytes')).toBe(4249 + 4249 + 336 + 336 + 8855);
    expect(result.flows.every((r) => r.respBytes === 0)).toBe(true);
    expect(result.flows.map((r) => r.rejected)).toEqual([false, true, false, true, false]);
  });

  it('maps every field of a record', () => {
    // Act
    const [first] = parse(fixture('default-v2-awsdocs.log')).flows;

    // Assess
    expect(first).toMatchObject({
      line: 2,
      origIp: '172.31.16.139',
      origPort: 20641,
      respIp: '172.31.16.21',
      respPort: 22,
      proto: 'tcp',
      origBytes: 4249,
      respBytes: 0,
      // One direction: the reply is a record of its own, so respBytes 0 says nothing of it.
      oneWay: true,
      firstSeenMs: 1418530010000,
      lastSeenMs: 1418530070000,
      rejected: false,
      hostname: null,
      app: 'eni-1235b8ca123456789',
    });
  });

  it('names ICMP by protocol number 1', () => {
    const icmp = parse(fixture('default-v2-awsdocs.log')).flows.filter((r) => r.proto === 'icmp');
    expect(icmp).toHaveLength(2);
    expect(icmp[0]).toMatchObject({ origPort: 0, respPort: 0 });
  });

  it('reads the gzip-delivered S3 object the same once decompressed', () => {
    // Prepare
    const plain = parse(fixture('default-v2-awsdocs.log'));

    // Act
    const gz = parse(
      gunzipSync(
        fixture('123456789010_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz'),
      ),
    );

    // Assess
    expect(gz.calls).toEqual(plain.calls);
  });

  it('reads a header-less CloudWatch Logs export in the default format', () => {
    // Prepare: the fixture without its header line
    const text = fixture('default-v2-awsdocs.log').toString('utf8').split('\n').slice(1).join('\n');

    // Act
    const result = parse(text);

    // Assess
    expect(result.flows).toHaveLength(5);
    expect(result.noData).toHaveLength(1);
    expect(result.skips).toHaveLength(1);
    expect(result.flows[0]!.line).toBe(1);
  });
});

describe('VPC flow logs exported from CloudWatch Logs to S3 (a time before each event)', () => {
  it('passes over the time and reads the default v2 record after it', () => {
    // Act
    const result = parse(fixture('cloudwatch-export-goaccess1341.log'));

    // Assess
    expect(result.skips).toEqual([]);
    expect(result.noData).toEqual([{ line: 5, status: 'NODATA' }]);
    expect(endpoints(result.flows)).toEqual([
      '209.141.42.153 -> 10.155.108.192',
      '197.46.163.49 -> 10.155.108.192',
      '176.119.7.38 -> 10.155.108.192',
      '134.119.193.57 -> 10.155.108.192',
    ]);
    // The record's own start and end, not the export's time.
    expect(result.flows[0]).toMatchObject({
      origPort: 54252,
      respPort: 8088,
      proto: 'tcp',
      origBytes: 40,
      firstSeenMs: 1537648094000,
      lastSeenMs: 1537648129000,
      app: 'eni-d68830d4',
    });
  });

  it('passes over a time with or without its fraction, before a header too, and nothing like one', () => {
    const record = '2 123456789010 eni-1235b8ca123456789 10.0.0.1 198.51.100.7 20641 443 6 20 4249 1418530010 1418530070 ACCEPT OK';
    for (const time of ['2024-02-29T23:59:59.999Z ', '2024-02-29T23:59:59Z ', '2024-02-29T23:59:59.123456Z   ']) {
      expect(endpoints(parse(time + record).flows)).toEqual(['10.0.0.1 -> 198.51.100.7']);
    }
    expect(endpoints(parse('2024-02-29T23:59:59Z version srcaddr dstaddr bytes\n2024-02-29T23:59:59Z 5 10.0.0.1 198.51.100.7 10\n').flows)).toEqual([
      '10.0.0.1 -> 198.51.100.7',
    ]);
    // Not a time as CloudWatch Logs tools write it (a date alone, no digits after the point): read as it is.
    for (const notTime of ['2024-02-29 ', '2024-02-29T23:59:59.Z ', '2024-02-29T23:59:59+0000 ']) {
      expect(parse(notTime + record).skips).toEqual([
        expect.objectContaining({ line: 1, reason: 'record before a header line and not in the default format' }),
      ]);
    }
    expect(parse('2024-02-29T23:59:59Z' + record).skips).toHaveLength(1);
  });

  it('passes over what aws logs tail and filter-log-events put around each event', () => {
    const record = '2 123456789010 eni-1235b8ca123456789 10.0.0.1 198.51.100.7 20641 443 6 20 4249 1418530010 1418530070 ACCEPT OK';
    const lines = [
      // aws logs tail (the default, detailed format): the time with its zone, then the log stream.
      `2014-12-14T04:07:50.000000+00:00 eni-1235b8ca123456789-all ${record}`,
      // aws logs tail --format short.
      `2014-12-14T04:07:50 ${record}`,
      // aws logs filter-log-events --output text.
      `EVENTS\t36223456789012345678901234567890123456789012345678901234\t1418530130000\teni-1235b8ca123456789-all\t${record}\t1418530070000`,
    ];
    const result = parse(lines.join('\n'));
    expect(result.skips).toEqual([]);
    expect(endpoints(result.flows)).toEqual(lines.map(() => '10.0.0.1 -> 198.51.100.7'));
    expect(detectFormat(lines.slice(0, 1))?.name).toBe('vpc-flow');
    expect(detectFormat(lines.slice(2))?.name).toBe('vpc-flow');
    // An interface-id field after a time is a field, not a log stream (no -all): a custom format's.
    const custom = parseAll(new VpcFlowParser(['interface-id', 'srcaddr', 'dstaddr', 'bytes']), '2014-12-14T04:07:50Z eni-1235b8ca123456789 10.0.0.1 198.51.100.7 10\n');
    expect(custom.flows.map((r) => [r.app, r.respIp])).toEqual([['eni-1235b8ca123456789', '198.51.100.7']]);
  });

  it('reads aws logs get-log-events --output text, and the tokens and rows the AWS CLI prints around events', () => {
    const record = '2 123456789010 eni-1235b8ca123456789 10.0.0.1 198.51.100.7 20641 443 6 20 4249 1418530010 1418530070 ACCEPT OK';
    // get-log-events: its backward and forward tokens first, then EVENTS, ingestion time, message, time.
    const gle = [
      'b/37573839839832843838383838383838383838383838383838383838/s\tf/37573839839832843838383838383838383838383838383838383839/s',
      `EVENTS\t1418530130000\t${record}\t1418530070000`,
      `EVENTS\t1418530130000\t${record.replace('198.51.100.7', '198.51.100.8')}\t1418530070000`,
    ];
    // filter-log-events --no-paginate: the nextToken first; the searched streams after.
    const fle = [
      'Bxkq6kVGFtq2y_MoigeqscgAAAAAAABZHc2NQdW1qYnZ6aEJfZnB0',
      `EVENTS\t36223456789012345678901234567890123456789012345678901234\t1418530130000\teni-1235b8ca123456789-all\t${record}\t1418530070000`,
      'SEARCHEDLOGSTREAMS\tTrue\teni-1235b8ca123456789-all',
    ];
    for (const [lines, want] of [
      [gle, ['10.0.0.1 -> 198.51.100.7', '10.0.0.1 -> 198.51.100.8']],
      [gle.slice(1), ['10.0.0.1 -> 198.51.100.7', '10.0.0.1 -> 198.51.100.8']],
      [fle, ['10.0.0.1 -> 198.51.100.7']],
    ] as const) {
      const result = parse(lines.join('\n'));
      expect(result.skips).toEqual([]);
      expect(endpoints(result.flows)).toEqual(want);
      expect(detectFormat([...lines])?.name).toBe('vpc-flow');
    }
    // A token line after the first is no token line: a record that is none is skipped.
    expect(parse([`EVENTS\t1418530130000\t${record}\t1418530070000`, gle[0]].join('\n')).skips).toHaveLength(1);
  });

  it('is detected as VPC flow logs like the same records without the time', () => {
    const text = fixture('cloudwatch-export-goaccess1341.log').toString('utf8');
    expect(findFormat('vpc-flow')!.detect(text.split('\n').filter((l) => l !== ''))).toBe(0.8);
    expect(detectFormat(text.split('\n').filter((l) => l !== ''))?.name).toBe('vpc-flow');
  });
});

describe('VPC flow logs: addresses that only sent to the monitored side', () => {
  it('lists a scanner whose probes were accepted and never answered as blocked, not as a violation (real CloudWatch export)', async () => {
    // Four SYNs from abroad (1 packet, 40 bytes each) to a private instance, and no record back.
    const v = await checkBytes(fixture('cloudwatch-export-goaccess1341.log'), { policy: policyOf('us') });
    expect(v.compliant).toBe(true);
    expect(v.destinations.map((d) => [d.ip, d.status, d.connections, d.blockedAttempts, d.bytesSent, d.bytesReceived])).toEqual([
      ['134.119.193.57', 'blocked', 0, 1, 0, 40],
      ['176.119.7.38', 'blocked', 0, 1, 0, 40],
      ['197.46.163.49', 'blocked', 0, 1, 0, 40],
      ['209.141.42.153', 'blocked', 0, 1, 0, 40],
    ]);
    // The records are still read and counted as connections in the totals.
    expect(v.totals).toMatchObject({ records: 5, connections: 4, noData: 1, bytesSent: 0 });
  });

  it('judges an address the instance answered, and one whose answer the network refused is blocked (AWS record examples)', async () => {
    // From "Flow log record examples": a ping the security group accepts and whose reply the
    // network ACL rejects, with the source address made foreign; then a client in RU that got a reply.
    const log = [
      '2 123456789010 eni-1235b8ca123456789 77.88.8.8 172.31.16.139 0 0 1 4 336 1432917027 1432917142 ACCEPT OK',
      '2 123456789010 eni-1235b8ca123456789 172.31.16.139 77.88.8.8 0 0 1 4 336 1432917094 1432917142 REJECT OK',
      '2 123456789010 eni-1235b8ca123456789 5.255.255.5 172.31.16.139 51000 443 6 10 800 1432917027 1432917142 ACCEPT OK',
      '2 123456789010 eni-1235b8ca123456789 172.31.16.139 5.255.255.5 443 51000 6 12 9000 1432917027 1432917142 ACCEPT OK',
    ].join('\n');
    const v = await checkBytes(log, { policy: policyOf('us') });
    expect(destination(v, '77.88.8.8')).toMatchObject({ status: 'blocked', connections: 0, blockedAttempts: 2, bytesSent: 0, bytesReceived: 336 });
    expect(destination(v, '5.255.255.5')).toMatchObject({ status: 'violation', connections: 2, blockedAttempts: 0, bytesSent: 9000, bytesReceived: 800 });
    // Per interface too: the scanner's record is an attempt in the interface's share.
    expect(destination(v, '77.88.8.8').appTraffic).toEqual([{ app: 'eni-1235b8ca123456789', connections: 0, blockedAttempts: 2, bytesSent: 0, bytesReceived: 336 }]);
    expect(v.compliant).toBe(false);
  });

  it('leaves a log of whole connections as it was: an outbound connection that sent nothing is still judged', async () => {
    // A Zeek record of an outbound SYN the far side reset (REJ): 0 bytes sent, a violation.
    const zeek = 'ts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\torig_bytes\tresp_bytes\tconn_state\n1432917027.0\t172.31.16.139\t51000\t77.88.8.8\t443\ttcp\t0\t0\tREJ\n';
    const v = await checkBytes(zeek, { policy: policyOf('us') });
    expect(destination(v, '77.88.8.8')).toMatchObject({ status: 'violation', connections: 1, bytesSent: 0 });
  });
});

describe('VPC flow logs, custom formats', () => {
  it('reads a v3 custom order with pkt-srcaddr/pkt-dstaddr and the doc double space', () => {
    // Act
    const result = parse(fixture('custom-v3-tcpflags-awsdocs.log'));

    // Assess
    expect(result.skips).toEqual([]);
    expect(endpoints(result.flows)).toEqual([
      '52.213.180.42 -> 10.0.0.62',
      '10.0.0.62 -> 52.213.180.42',
      '52.213.180.42 -> 10.0.0.62',
      '10.0.0.62 -> 52.213.180.42',
    ]);
    expect(result.flows[3]).toMatchObject({
      origPort: 5001,
      respPort: 43638,
      origBytes: 967,
      proto: 'tcp',
    });
    expect(total(result.flows, 'origBytes')).toBe(568 + 376 + 1260 + 967);
  });

  it('reads a v5 custom order with flow-direction and traffic-path', () => {
    // Act
    const result = parse(fixture('custom-v5-awsdocs.log'));

    // Assess
    expect(endpoints(result.flows)).toEqual([
      '52.95.128.179 -> 10.0.0.71',
      '10.0.0.71 -> 52.95.128.179',
    ]);
    expect(result.flows.map((r) => r.origBytes)).toEqual([15044, 471]);
    expect(result.flows[0]).toMatchObject({
      origPort: 80,
      respPort: 34210,
      firstSeenMs: 1616729292000,
      app: 'eni-1235b8ca123456789',
    });
  });

  it('prefers pkt-dstaddr behind a NAT gateway (dstaddr is the gateway interface)', () => {
    // Act
    const result = parse(fixture('custom-natgw-noversion-awsdocs.log'));

    // Assess
    expect(endpoints(result.flows)).toEqual([
      '10.0.1.5 -> 203.0.113.5',
      '10.0.0.220 -> 203.0.113.5',
      '203.0.113.5 -> 10.0.0.220',
      '203.0.113.5 -> 10.0.1.5',
    ]);
    // No bytes, ports or times in this format: unknown, not zero.
    expect(result.flows[0]).toMatchObject({
      origBytes: -1,
      respBytes: 0,
      origPort: -1,
      proto: '',
      firstSeenMs: NaN,
    });
  });

  it('falls back to srcaddr/dstaddr when pkt- fields are -', () => {
    const text =
      'version srcaddr dstaddr pkt-srcaddr pkt-dstaddr bytes\n5 10.0.0.1 198.51.100.7 - - 10\n';
    expect(endpoints(parse(text).flows)).toEqual(['10.0.0.1 -> 198.51.100.7']);
  });

  it('switches layout at a second header line (concatenated files)', () => {
    // Prepare
    const text = [
      'version srcaddr dstaddr bytes action log-status',
      '2 10.0.0.1 198.51.100.1 100 ACCEPT OK',
      'bytes dstaddr srcaddr',
      '200 198.51.100.2 10.0.0.2',
    ].join('\n');

    // Act
    const result = parse(text);

    // Assess
    expect(result.calls.map((c) => c.line)).toEqual([2, 4]);
    expect(endpoints(result.flows)).toEqual([
      '10.0.0.1 -> 198.51.100.1',
      '10.0.0.2 -> 198.51.100.2',
    ]);
    expect(result.flows.map((r) => r.origBytes)).toEqual([100, 200]);
  });

  it('reads a custom format that opens with interface-id', () => {
    const text =
      'interface-id srcaddr dstaddr bytes\neni-abc srcaddr-like 1.1.1.1 5\neni-0a1b2c 10.0.0.1 1.1.1.1 7\n';
    const result = parse(text);
    expect(result.flows.map((r) => r.app)).toEqual(['eni-abc', 'eni-0a1b2c']);
    expect(result.flows[1]!.origBytes).toBe(7);
  });
});

describe('VPC flow logs: which side is the interface (flow-direction)', () => {
  const HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status flow-direction';
  const INSTANCE = '2600:1f18:4a3:6902:616f:c0a8:1234:5678';
  const GOOGLE = '2a00:1450:4001:82a::200e';

  it('takes the interface\'s own IPv6 address as inside: egress bytes are sent, ingress bytes received', async () => {
    // Prepare: one TCP flow of a dual-stack instance, both directions (public IPv6 at both ends).
    const log = [
      HEADER,
      `5 123456789012 eni-0a1b2c3d4e5f60718 ${INSTANCE} ${GOOGLE} 50342 443 6 12 1500 1709287200 1709287260 ACCEPT OK egress`,
      `5 123456789012 eni-0a1b2c3d4e5f60718 ${GOOGLE} ${INSTANCE} 443 50342 6 40 980000 1709287200 1709287260 ACCEPT OK ingress`,
    ].join('\n');

    // Act
    const v = await checkBytes(log, { policy: policyOf('us') });

    // Assess
    expect(v.destinations.map((d) => d.ip)).toEqual([GOOGLE]);
    expect(destination(v, GOOGLE)).toMatchObject({ connections: 2, bytesSent: 1500, bytesReceived: 980000 });
    expect(v.totals).toMatchObject({ bytesSent: 1500, bytesReceived: 980000 });
  });

  it('does not take a forwarded packet\'s address for the interface (pkt-dstaddr differs from dstaddr)', () => {
    // Prepare: a NAT gateway's interface receives a packet meant for a public server.
    const log = [
      'version srcaddr dstaddr pkt-srcaddr pkt-dstaddr bytes action log-status flow-direction',
      '5 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5 400 ACCEPT OK ingress',
      '5 10.0.0.220 203.0.113.5 10.0.0.220 203.0.113.5 400 ACCEPT OK egress',
    ].join('\n');

    // Act
    const result = parseAll(new VpcFlowParser(), log);

    // Assess
    expect(result.flows.map((r) => [r.origLocal, r.respLocal])).toEqual([
      [false, false],
      [true, false],
    ]);
  });
});

describe('VPC flow logs without flow-direction: an interface\'s own public address', () => {
  const OWN = '2600:1f18:4a3:6902:616f:c0a8:1234:5678';
  const GOOGLE = '2a00:1450:4001:82a::200e';
  const ENI = 'eni-0a1b2c3d4e5f60718';
  const V6_ONLY_ENI = 'eni-0f9e8d7c6b5a40312';
  const OWN_ONE_PEER = '2600:1f18:4a3:6903::a';
  const CLOUDFLARE = '2606:4700:4700::1111';

  it('reports, per interface and address family, the addresses on one side of every record', () => {
    // Act
    const result = parse(fixture('dual-stack-default-synthetic.log'));

    // Assess: the instance's IPv6 address; where it was seen with one peer, both ends.
    expect(result.common).toEqual([
      { app: ENI, family: 4, addresses: ['10.0.1.5', '52.94.133.131'], records: 2 },
      { app: ENI, family: 6, addresses: [OWN], records: 5 },
      { app: V6_ONLY_ENI, family: 6, addresses: ['2600:1f18:4a3:6903::a', CLOUDFLARE], records: 2 },
    ]);
  });

  it('reports nothing when the records say which side is the interface (flow-direction)', () => {
    // Prepare
    const log = [
      'version interface-id srcaddr dstaddr bytes action log-status flow-direction',
      `5 ${ENI} ${OWN} ${GOOGLE} 1500 ACCEPT OK egress`,
      `5 ${ENI} ${GOOGLE} ${OWN} 9000 ACCEPT OK ingress`,
    ].join('\n');

    // Act / Assess
    expect(parse(log).common).toEqual([]);
  });

  it('warns on the destination that is likely the interface\'s own address, and changes no status', async () => {
    // Act
    const v = await checkBytes(fixture('dual-stack-default-synthetic.log'), { policy: policyOf('us') });

    // Assess: listed (its received bytes counted as sent), with a warning naming the interface and the fix.
    const own = destination(v, OWN);
    expect(own.status).toBe('allowed');
    expect(own.warning).toBe(
      `this address is on one side of every IPv6 record of ${ENI} (5 records): likely that interface's own address, listed as a destination ` +
        'because the log does not say which side of a record is inside; if so, add it (or its network) to the policy\'s localNetworks, beside "non-public" (VPC Flow Logs without flow-direction: or log it)',
    );
    // An interface seen with one peer: either end may be its own, so both are warned of, and the peer stays judged.
    expect(destination(v, CLOUDFLARE).warning).toMatch(/^this address and 2600:1f18:4a3:6903::a are the two sides of every IPv6 record of eni-0f9e8d7c6b5a40312 \(2 records\): one of the two is likely/);
    expect(destination(v, OWN_ONE_PEER).warning).toMatch(/^this address and 2606:4700:4700::1111 are the two sides/);
    // The IPv4 peer's interface address (10.0.1.5) is inside: nothing to warn of.
    expect(destination(v, '52.94.133.131').warning).toBeNull();
    expect(destination(v, GOOGLE).warning).toBeNull();
    expect(v.warnings.map((w) => w.ip).sort()).toEqual([OWN, OWN_ONE_PEER, CLOUDFLARE].sort());
  });

  it('lists the peers alone once the policy\'s localNetworks hold the instance\'s network', async () => {
    // Prepare
    const policy = compilePolicy(buildPolicy({ allowedCountries: ['US'], localNetworks: ['non-public', '2600:1f18:4a3:6900::/56'] }));

    // Act
    const v = await checkBytes(fixture('dual-stack-default-synthetic.log'), { policy });

    // Assess
    expect(v.destinations.map((d) => d.ip).sort()).toEqual(['2a01:4f8:c2c:123f::1', '2400:da00::6666', GOOGLE, CLOUDFLARE, '52.94.133.131'].sort());
    expect(destination(v, GOOGLE)).toMatchObject({ bytesSent: 1500, bytesReceived: 980000 });
    expect(destination(v, '2a01:4f8:c2c:123f::1')).toMatchObject({ status: 'blocked', blockedAttempts: 1, bytesSent: 0 });
    expect(v.warnings).toEqual([]);
  });

  it('never hides a violation: an interface forwarding several clients\' traffic to one foreign server', async () => {
    // Prepare: a NAT instance's interface; the one address on every record is the foreign server.
    const log = [
      'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
      '2 123456789012 eni-0123456789abcdef0 10.0.1.5 220.181.38.148 40100 443 6 3 700 1709287200 1709287260 ACCEPT OK',
      '2 123456789012 eni-0123456789abcdef0 10.0.1.6 220.181.38.148 40102 443 6 3 800 1709287200 1709287260 ACCEPT OK',
      '2 123456789012 eni-0123456789abcdef0 220.181.38.148 10.0.1.6 443 40102 6 3 900 1709287200 1709287260 ACCEPT OK',
    ].join('\n');

    // Act
    const v = await checkBytes(log, { policy: policyOf('us') });

    // Assess: still a violation, the warning beside it.
    expect(destination(v, '220.181.38.148')).toMatchObject({ status: 'violation', bytesSent: 1500, bytesReceived: 900 });
    expect(destination(v, '220.181.38.148').warning).toMatch(/^this address is on one side of every IPv4 record of eni-0123456789abcdef0 \(3 records\)/);
    expect(v.compliant).toBe(false);
  });
});

describe('Transit Gateway flow logs (flow-direction is relative to an attachment)', () => {
  // The default Transit Gateway flow log format (version 6), as AWS's Transit Gateway guide lists
  // its fields (https://docs.aws.amazon.com/vpc/latest/tgw/tgw-flow-logs.html, flow log records).
  const HEADER =
    'version resource-type account-id tgw-id tgw-attachment-id tgw-src-vpc-account-id tgw-dst-vpc-account-id tgw-src-vpc-id tgw-dst-vpc-id tgw-src-subnet-id tgw-dst-subnet-id tgw-src-eni tgw-dst-eni tgw-src-az-id tgw-dst-az-id tgw-pair-attachment-id srcaddr dstaddr srcport dstport protocol packets bytes start end log-status type packets-lost-no-route packets-lost-blackhole packets-lost-mtu-exceeded packets-lost-ttl-expired tcp-flags region flow-direction pkt-src-aws-service pkt-dst-aws-service';
  const record = (attachment: string, src: string, dst: string, sport: number, dport: number, bytes: number, direction: string): string =>
    `6 TransitGateway 123456789012 tgw-0123 ${attachment} 123456789012 123456789012 vpc-a vpc-e subnet-a subnet-e eni-a eni-e use1-az1 use1-az1 tgw-attach-x ${src} ${dst} ${sport} ${dport} 6 10 ${bytes} 1709287200 1709287260 OK IPv4 0 0 0 0 19 us-east-1 ${direction} - -`;

  it('reads records without a header line in the default format, as CloudWatch Logs and Firehose deliver them', async () => {
    // AWS allows no other default than every field in this order: its records alone say which field is which.
    expect(TGW_DEFAULT_FIELDS.join(' ')).toBe(HEADER);
    const lines = [
      record('tgw-attach-a', '10.0.0.5', '8.8.8.8', 49152, 443, 5000, 'ingress'),
      record('tgw-attach-a', '10.0.0.6', '1.2.4.8', 49153, 443, 700, 'ingress').replace('TransitGateway', 'TransitGatewayAttachment'),
    ];

    // Act
    const v = await checkBytes(`${lines.join('\n')}\n`, { policy: policyOf('us') });
    const exported = await checkBytes(lines.map((l) => `2024-03-01T10:00:00.000Z ${l}`).join('\n') + '\n', { policy: policyOf('us') });
    const subscription = await checkBytes(
      JSON.stringify({ messageType: 'DATA_MESSAGE', owner: '123456789012', logGroup: 'tgw', logStream: 'tgw-attach-a', subscriptionFilters: ['f'], logEvents: lines.map((message, i) => ({ id: String(i), timestamp: 1709287260000, message })) }),
      { policy: policyOf('us') },
    );

    // Assess
    for (const [verdict, format] of [[v, 'vpc-flow'], [exported, 'vpc-flow'], [subscription, 'vpc-flow-cloudwatch']] as const) {
      expect(verdict.input.format).toBe(format);
      expect(verdict.totals).toMatchObject({ records: 2, connections: 2, skipped: 0, bytesSent: 5700 });
      expect(destination(verdict, '1.2.4.8')).toMatchObject({ status: 'violation', bytesSent: 700 });
    }
  });

  it("takes each header-less record's default format from the record itself: a VPC's and a gateway's flow logs in one log group", async () => {
    const tgw = record('tgw-attach-a', '10.0.0.5', '8.8.8.8', 49152, 443, 5000, 'ingress');
    const vpc = '2 123456789012 eni-0a1b2c 10.0.1.5 223.5.5.5 49152 443 6 10 700 1709287200 1709287260 ACCEPT OK';
    for (const lines of [[tgw, vpc], [vpc, tgw]]) {
      // Act
      const v = await checkBytes(`${lines.join('\n')}\n`, { policy: policyOf('us') });

      // Assess
      expect(v.totals).toMatchObject({ records: 2, connections: 2, skipped: 0, bytesSent: 5700 });
      expect(destination(v, '223.5.5.5')).toMatchObject({ status: 'violation', bytesSent: 700 });
    }
  });

  it('does not take the sender of a record leaving the gateway for an interface of the VPC', async () => {
    // Prepare: an instance behind a centralised egress VPC; the gateway logs each direction as it
    // enters (ingress) and leaves (egress) through an attachment.
    const log = [
      HEADER,
      record('tgw-attach-a', '10.0.0.5', '8.8.8.8', 49152, 443, 5000, 'ingress'),
      record('tgw-attach-e', '10.0.0.5', '8.8.8.8', 49152, 443, 5000, 'egress'),
      record('tgw-attach-e', '8.8.8.8', '10.0.0.5', 443, 49152, 90000, 'ingress'),
      record('tgw-attach-a', '8.8.8.8', '10.0.0.5', 443, 49152, 90000, 'egress'),
    ].join('\n');

    // Act
    const v = await checkBytes(log, { policy: policyOf('us') });

    // Assess: the reply is received from 8.8.8.8, never sent to the instance.
    expect(v.destinations.map((d) => d.ip)).toEqual(['8.8.8.8']);
    expect(destination(v, '8.8.8.8')).toMatchObject({ bytesSent: 10000, bytesReceived: 180000 });
    expect(v.totals).toMatchObject({ bytesSent: 10000, bytesReceived: 180000 });
  });

  it('takes a record whose every packet the gateway dropped (no route, a blackhole route) as refused', async () => {
    // packets 10, then packets-lost-no-route, -blackhole, -mtu-exceeded, -ttl-expired.
    const lost = (r: string, counts: string): string => r.replace(' OK IPv4 0 0 0 0 ', ` OK IPv4 ${counts} `);
    const log = [
      HEADER,
      lost(record('tgw-attach-a', '10.0.0.5', '114.114.114.114', 49152, 443, 5000, 'ingress'), '10 0 0 0'),
      lost(record('tgw-attach-a', '10.0.0.5', '1.2.4.8', 49153, 443, 5000, 'ingress'), '0 6 0 4'),
      lost(record('tgw-attach-a', '10.0.0.5', '77.88.8.8', 49154, 443, 5000, 'ingress'), '0 3 0 0'),
      lost(record('tgw-attach-a', '10.0.0.5', '5.255.255.5', 49155, 443, 5000, 'ingress'), '- - - -'),
    ].join('\n');
    const v = await checkBytes(log, { policy: policyOf('us') });
    expect(v.destinations.map((d) => [d.ip, d.status, d.blockedAttempts, d.bytesSent]).sort()).toEqual([
      ['1.2.4.8', 'blocked', 1, 0],
      ['114.114.114.114', 'blocked', 1, 0],
      // Some packets got through: what was sent is the record's (AWS does not say what of the bytes was lost).
      ['5.255.255.5', 'violation', 0, 5000],
      ['77.88.8.8', 'violation', 0, 5000],
    ]);
  });
});

describe('VPC flow logs, bad records and headers', () => {
  it('skips a record whose field count differs from the header', () => {
    const result = parse('version srcaddr dstaddr bytes\n2 10.0.0.1 1.1.1.1\n');
    expect(result.skips).toEqual([
      {
        line: 2,
        reason: 'record field count differs from the header',
        detail: '3 fields, header names 4',
      },
    ]);
  });

  it('skips header-less records that are not the default format', () => {
    const result = parse('5 10.0.0.1 1.1.1.1 80\n');
    expect(result.skips.map((s) => s.reason)).toEqual([
      'record before a header line and not in the default format',
    ]);
  });

  it('skips a record with only one address and reports all-dash addresses as no data', () => {
    const result = parse('srcaddr dstaddr log-status\n10.0.0.1 - OK\n- - OK\n');
    expect(result.skips).toEqual([{ line: 2, reason: 'record has no destination address' }]);
    expect(result.noData).toEqual([{ line: 3, status: 'OK' }]);
  });

  it('rejects a header without a destination field as a whole-input error', () => {
    expect(() => parse('version srcaddr srcport bytes\n')).toThrow(InputError);
    expect(() => parse('version srcaddr srcport bytes\n')).toThrow(/no dstaddr\/pkt-dstaddr field/);
  });

  it('names protocols: 17 udp, 58 ipv6-icmp, others by number', () => {
    const text =
      'srcaddr dstaddr protocol\n10.0.0.1 1.1.1.1 17\n10.0.0.1 1.1.1.1 58\n10.0.0.1 1.1.1.1 47\n10.0.0.1 1.1.1.1 -\n';
    expect(parse(text).flows.map((r) => r.proto)).toEqual(['udp', 'ipv6-icmp', '47', '']);
  });

  it('ignores blank lines and CRLF line ends', () => {
    const result = parse('srcaddr dstaddr\r\n\r\n10.0.0.1 1.1.1.1\r\n   \n');
    expect(endpoints(result.flows)).toEqual(['10.0.0.1 -> 1.1.1.1']);
    expect(result.calls).toHaveLength(1);
  });
});

describe('VPC flow log detection', () => {
  const detect = (text: string) =>
    findFormat('vpc-flow')!.detect(text.split('\n').filter((l) => l.trim() !== ''));

  it('is certain of a header line naming address fields', () => {
    for (const f of [
      'default-v2-awsdocs.log',
      'custom-v3-tcpflags-awsdocs.log',
      'custom-v5-awsdocs.log',
      'custom-natgw-noversion-awsdocs.log',
    ]) {
      expect(detect(fixture(f).toString('utf8'))).toBe(1);
      expect(
        detectFormat(
          fixture(f)
            .toString('utf8')
            .split('\n')
            .filter((l) => l !== ''),
        )?.name,
      ).toBe('vpc-flow');
    }
  });

  it('gives 0.8 to header-less default v2 records', () => {
    expect(
      detect(
        '2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK',
      ),
    ).toBe(0.8);
    expect(
      detect('2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA'),
    ).toBe(0.8);
  });

  it('does not claim other text', () => {
    expect(detect('ts,src,dst\n1,2,3')).toBe(0);
    expect(detect('#separator \\x09')).toBe(0);
    expect(detect('hello world')).toBe(0);
  });
});

describe('VPC flow logs that cannot be read as they are', () => {
  it('says a custom format needs its header line, when the records look like flow log records', async () => {
    // A custom format (version, interface, addresses, ports, protocol, packets, bytes, times, action, status, vpc) as
    // CloudWatch Logs or Firehose deliver it: no header line.
    const v = await checkBytes('2 eni-0a1b2c3d 10.0.1.5 47.246.1.1 49152 443 6 10 5200 1700000000 1700000060 ACCEPT OK vpc-0a1b2c3d\n', { policy: policyOf('us') });
    expect(v.error).toMatch(/^unknown log format: it looks like VPC Flow Logs in a custom format without its header line: put the format's field names on a first line/);
    const text = await checkBytes('hello world, this is text\n', { policy: policyOf('us') });
    expect(text.error).toMatch(/^unknown log format: none of zeek-tsv/);
  });
});

describe('VPC flow logs queried with CloudWatch Logs Insights, results exported as CSV', () => {
  const csv = readFileSync(join(__dirname, '../../fixtures/vpcflow/insights-results-synthetic.csv'), 'utf8');

  it('is detected as VPC Flow Logs by its @message column holding flow log records', () => {
    expect(detectFormat(csv.split('\n'))?.name).toBe('vpc-flow');
    // Other Logs Insights results (an application's log lines) are not flow logs.
    expect(detectFormat(['@timestamp,@message', '2024-01-01 00:00:00.000,GET /index.html 200'])).toBeNull();
  });

  it('reads each row\'s @message as the flow log reader reads a record, quoted or not', async () => {
    const v = await checkBytes(csv, { policy: policyOf('us') });
    expect(v.input.format).toBe('vpc-flow');
    expect(v.totals).toMatchObject({ records: 5, connections: 4, noData: 1, skipped: 0, bytesSent: 1200 + 5000, bytesReceived: 9000 });
    expect(destination(v, '185.199.108.153')).toMatchObject({ status: 'allowed', bytesSent: 1200, bytesReceived: 9000, evidenceLines: [2, 3], firstSeen: '2023-11-14T22:13:20.000Z' });
    expect(destination(v, '77.88.55.60')).toMatchObject({ status: 'blocked', blockedAttempts: 1, bytesSent: 0 });
    expect(destination(v, '95.163.0.1')).toMatchObject({ status: 'violation', bytesSent: 5000, evidenceLines: [5] });
  });

  it('reads records of a custom format given with --vpc-format, and names a record in neither', async () => {
    const custom = ['@timestamp,@message', '2023-11-14 22:14:21.000,eni-1 10.0.1.5 95.163.0.1 5000 ACCEPT', '2023-11-14 22:14:22.000,not a record'].join('\n');
    const given = await checkBytes(custom, { policy: policyOf('us'), format: 'vpc-flow', parserOptions: { vpcFields: ['interface-id', 'srcaddr', 'dstaddr', 'bytes', 'action'] } });
    expect(destination(given, '95.163.0.1')).toMatchObject({ status: 'violation', bytesSent: 5000 });
    expect(given.errors).toEqual([{ line: 3, reason: 'record field count differs from the format given: "3 fields, format names 5"' }]);
    const notGiven = await checkBytes(custom, { policy: policyOf('us'), format: 'vpc-flow' });
    expect(notGiven.errors.map((e) => e.reason)).toEqual([
      'record before a header line and not in the default format: "5 fields"',
      'record before a header line and not in the default format: "3 fields"',
    ]);
  });
});

describe('VPC flow logs queried with Athena, results saved as CSV', () => {
  const csv = readFileSync(join(__dirname, '../../fixtures/vpcflow/athena-results-synthetic.csv'), 'utf8');

  it('is detected as VPC Flow Logs by its column names (account_id, log_status: `_` for `-`)', () => {
    expect(detectFormat(csv.split('\n'))?.name).toBe('vpc-flow');
    // A CSV naming addresses alone is no flow log's.
    expect(detectFormat(['srcaddr,dstaddr,bytes', '10.0.0.1,8.8.8.8,5'])?.name).not.toBe('vpc-flow');
  });

  it('reads the records as the flow log reader does: NODATA, REJECT, the packet-level address, one direction per record', async () => {
    const v = await checkBytes(csv, { policy: policyOf('us') });
    expect(v.input.format).toBe('vpc-flow');
    expect(v.totals).toMatchObject({ records: 5, connections: 4, noData: 1, skipped: 0, bytesSent: 1200 + 5000, bytesReceived: 9000, connectionsWithUnknownBytes: 0 });
    expect(destination(v, '185.199.108.153')).toMatchObject({ status: 'allowed', bytesSent: 1200, bytesReceived: 9000, firstSeen: '2023-11-14T22:13:20.000Z' });
    expect(destination(v, '77.88.55.60')).toMatchObject({ status: 'blocked', blockedAttempts: 1, bytesSent: 0 });
    // Behind the NAT gateway: pkt_dstaddr, not the gateway's own address.
    expect(destination(v, '95.163.0.1')).toMatchObject({ status: 'violation', bytesSent: 5000 });
    expect(v.destinations.map((d) => d.ip)).not.toContain('10.0.0.220');
  });

  it("reads the columns of the table the Athena User Guide long documented (sourceaddress, numbytes, logstatus), NODATA included", async () => {
    // Its CREATE TABLE: version, account, interfaceid, sourceaddress, destinationaddress, sourceport,
    // destinationport, protocol, numpackets, numbytes, starttime, endtime, action, logstatus; a date partition.
    const legacy = [
      '"version","account","interfaceid","sourceaddress","destinationaddress","sourceport","destinationport","protocol","numpackets","numbytes","starttime","endtime","action","logstatus","date"',
      '"2","064076352821","eni-06e7f195abcbdfe3b","172.31.82.104","34.235.78.61","61110","443","6","174","142286","1654892433","1654892493","ACCEPT","OK","2022-06-10"',
      '"2","064076352821","eni-06e7f195abcbdfe3b","34.235.78.61","172.31.82.104","443","61110","6","55","13934","1654892436","1654892493","ACCEPT","OK","2022-06-10"',
      '"2","064076352821","eni-06e7f195abcbdfe3b","","","","","","","","1654892433","1654892493","","NODATA","2022-06-10"',
    ].join('\n');

    // Act
    const v = await checkBytes(`${legacy}\n`, { policy: policyOf('us') });

    // Assess: one direction per record, so no byte count unknown; the interface is the app.
    expect(v.input.format).toBe('vpc-flow');
    expect(v.totals).toMatchObject({ records: 3, connections: 2, noData: 1, skipped: 0, bytesSent: 142286, bytesReceived: 13934, connectionsWithUnknownBytes: 0 });
    expect(destination(v, '34.235.78.61').apps).toEqual(['eni-06e7f195abcbdfe3b']);
  });

  it('reads CloudWatch Logs Insights results of the fields it discovers in flow logs (srcAddr, interfaceId), beside @timestamp', async () => {
    const insights = [
      '@timestamp,srcAddr,dstAddr,srcPort,dstPort,protocol,packets,bytes,action,interfaceId',
      '2018-09-22 20:28:14.000,10.155.108.192,209.141.42.153,8088,54252,6,1,40,ACCEPT,eni-d68830d4',
      '2018-09-22 20:28:39.000,176.119.7.38,10.155.108.192,42742,4094,6,1,40,REJECT,eni-d68830d4',
    ].join('\n');

    // Act
    const v = await checkBytes(`${insights}\n`, { policy: policyOf('us') });

    // Assess
    expect(v.input.format).toBe('vpc-flow');
    expect(v.totals).toMatchObject({ records: 2, connections: 2, skipped: 0, bytesSent: 40 });
    expect(destination(v, '176.119.7.38')).toMatchObject({ status: 'blocked', blockedAttempts: 1 });
  });

  it('counts a broken quoted record as skipped, with its line', async () => {
    const v = await checkBytes(`${csv.split('\n')[0]}\n"5","1","eni-1","10.0.1.5\n`, { policy: policyOf('us') });
    expect(v.errors).toEqual([{ line: 2, reason: 'unterminated quoted field' }]);
  });
});

describe('VPC flow logs that carry no connection', () => {
  const header = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';

  it('are compliant when every record is NODATA (no traffic), and not checked when a record is SKIPDATA (traffic unrecorded)', async () => {
    const nodata = `${header}\n2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA\n`;
    const skipped = `${nodata}2 123456789010 eni-11111111111111111 - - - - - - - 1431280876 1431280934 - SKIPDATA\n`;
    const quiet = await checkBytes(nodata, { policy: policyOf('us') });
    expect(quiet).toMatchObject({ compliant: true, totals: { connections: 0, noData: 1, skipped: 0 } });
    const unrecorded = await checkBytes(skipped, { policy: policyOf('us') });
    expect(unrecorded.compliant).toBe(false);
    expect(unrecorded.error).toBe('none of the 2 records is a connection: AWS skipped the flow records of an interval (SKIPDATA, first at line 3), so this log cannot show whether data left');
    // Beside a record that could not be read, the log is one that could not be read.
    const broken = await checkBytes(`${skipped}2 123456789010 eni-1 10.0.0.1\n`, { policy: policyOf('us') });
    expect(broken.error).toBe('none of the 3 records could be read as vpc-flow (first problem: line 3: ' + SKIPDATA_REASON + ')');
  });

  it('count SKIPDATA records among the skipped beside connections', async () => {
    const log = `${header}\n2 123456789010 eni-1235b8ca123456789 172.31.16.139 8.8.8.8 20641 443 6 20 4249 1418530010 1418530070 ACCEPT OK\n2 123456789010 eni-11111111111111111 - - - - - - - 1431280876 1431280934 - SKIPDATA\n`;
    const v = await checkBytes(log, { policy: policyOf('us') });
    expect(v.totals).toMatchObject({ connections: 1, skipped: 1, noData: 0 });
    expect(v.errors).toEqual([{ line: 3, reason: SKIPDATA_REASON }]);
  });
});
