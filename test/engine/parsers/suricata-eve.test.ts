import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectFormat, findFormat } from '../../../lambda/engine/parsers';
import {
  detectAwsNetworkFirewall,
  detectSuricataEve,
  eveTimeMs,
  HostnameMemory,
  SuricataEveParser,
} from '../../../lambda/engine/parsers/suricata-eve';
import { checkBytes, destination } from '../../helpers/engine';
import { endpoints, parseAll, total } from './harness';

const FIXTURES = join(__dirname, '../../fixtures/suricata');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');
const parse = (input: string) => parseAll(new SuricataEveParser(), input);
const firstLines = (s: string): string[] => s.split('\n').filter((l) => l.trim() !== '').slice(0, 20);

describe('Suricata EVE JSON (synthetic, after the user guide)', () => {
  it('reads flow events and blocked alerts as records, and nothing else', () => {
    // Act
    const result = parse(fixture('eve-synthetic.json'));

    // Assess
    expect(result.skips).toEqual([]);
    expect(result.noData).toEqual([]);
    expect(result.flows.map((r) => r.line)).toEqual([5, 7, 8, 9, 10, 11]);
    expect(endpoints(result.flows)).toEqual([
      '10.0.0.5 -> 1.2.4.8',
      '10.0.0.5 -> 93.184.216.34',
      '2001:0db8:0000:0000:0000:0000:0000:0005 -> 2a00:1450:4001:0828:0000:0000:0000:200e',
      '10.0.0.5 -> 10.0.0.2',
      '10.0.0.5 -> 8.8.8.8',
      '10.0.0.5 -> 1.2.4.8',
    ]);
    // Rejected records carry unknown bytes; the total counts known ones.
    expect(total(result.flows, 'origBytes')).toBe(478 + 2817 + 71 + 392 + 74);
    expect(total(result.flows, 'respBytes')).toBe(1960 + 40112 + 87 + 392 + 0);
  });

  it('reads a flow event: client to server bytes, times with a +0000 offset, names from the HTTP event', () => {
    // Act
    const r = parse(fixture('eve-synthetic.json')).flows[1];

    // Assess
    expect(r).toMatchObject({
      line: 7,
      origPort: 50400,
      respPort: 80,
      proto: 'tcp',
      origBytes: 478,
      respBytes: 1960,
      firstSeenMs: Date.parse('2024-03-01T10:00:00.998Z'),
      lastSeenMs: Date.parse('2024-03-01T10:00:01.120Z'),
      rejected: false,
      hostname: 'example.com',
    });
  });

  it('names an IPv6 flow by the TLS SNI of the same flow_id, and leaves an unnamed resolver unnamed', () => {
    // Act
    const flows = parse(fixture('eve-synthetic.json')).flows;

    // Assess
    expect(flows[2]?.hostname).toBe('www.google.com');
    expect(flows[3]).toMatchObject({ respIp: '10.0.0.2', proto: 'udp', hostname: null });
  });

  it('reads an ICMP flow without ports', () => {
    // Act
    const icmp = parse(fixture('eve-synthetic.json')).flows[4];

    // Assess
    expect(icmp).toMatchObject({ proto: 'icmp', origPort: -1, respPort: -1, origBytes: 392, respBytes: 392 });
  });

  it('counts a blocked alert and a dropped, unanswered flow as refused, named by the SNI', () => {
    // Act
    const flows = parse(fixture('eve-synthetic.json')).flows;

    // Assess
    expect(flows[0]).toMatchObject({ line: 5, rejected: true, respPort: 443, hostname: 'dnspod.cn', firstSeenMs: Date.parse('2024-03-01T10:00:02Z') });
    expect(flows[5]).toMatchObject({ line: 11, rejected: true, hostname: 'dnspod.cn' });
  });

  it('detects the file as suricata-eve even though its first event is stats', async () => {
    // Act
    const v = await checkBytes(fixture('eve-synthetic.json'));

    // Assess
    expect(v.input.format).toBe('suricata-eve');
    expect(v.totals).toMatchObject({ records: 6, connections: 6, skipped: 0, noData: 0, unattributed: 0 });
    expect(destination(v, '2a00:1450:4001:828::200e')).toMatchObject({ hostnames: ['www.google.com'], bytesSent: 2817, bytesReceived: 40112 });
    expect(destination(v, '1.2.4.8')).toMatchObject({ status: 'blocked', blockedAttempts: 2, connections: 0, hostnames: ['dnspod.cn'] });
    expect(destination(v, '93.184.216.34').hostnames).toEqual(['example.com']);
  });
});

describe('AWS Network Firewall logs (synthetic, after the AWS developer guide)', () => {
  it('reads each netflow direction as its own record, the server\'s half turned to the client, and a blocked alert as a refused attempt', () => {
    // Act
    const result = parseAll(new SuricataEveParser('aws-network-firewall'), fixture('aws-network-firewall-synthetic.log'));

    // Assess: lines 2 and 4 go from the server's port (53, 443) to the client's: read as the
    // client's connection, their bytes received.
    expect(result.skips).toEqual([]);
    expect(result.flows.map((r) => [r.line, r.origIp, r.respIp, r.origBytes, r.respBytes, r.rejected])).toEqual([
      [1, '10.1.2.15', '8.8.8.8', 70, 0, false],
      [2, '10.1.2.15', '8.8.8.8', 0, 134, false],
      [3, '10.1.2.15', '52.216.8.100', 12040, 0, false],
      [4, '10.1.2.15', '52.216.8.100', 0, 98311, false],
      [5, '10.1.2.15', '1.2.4.8', -1, -1, true],
    ]);
    expect(result.flows[4]?.hostname).toBe('dnspod.cn');
    expect(result.flows[2]).toMatchObject({
      firstSeenMs: Date.parse('2024-03-01T10:01:30Z'),
      lastSeenMs: Date.parse('2024-03-01T10:01:41.5Z'),
      respPort: 443,
      proto: 'tcp',
    });
  });

  it('lists the server of a client with a global IPv6 address, not the client, from the server\'s netflow half', async () => {
    // Prepare: both directions of one connection, both ends public (a dual-stack laptop).
    const line = (src: string, sport: number, dest: string, dport: number, bytes: number): string =>
      JSON.stringify({ timestamp: '2024-03-01T10:00:00.000000+0000', flow_id: 7, event_type: 'netflow', src_ip: src, src_port: sport, dest_ip: dest, dest_port: dport, proto: 'TCP', netflow: { pkts: 3, bytes, start: '2024-03-01T10:00:00.000000+0000', end: '2024-03-01T10:00:01.000000+0000' } });
    const client = '2a02:8108:1000::10';
    const server = '2606:4700::6810:84e5';

    // Act
    const v = await checkBytes([line(client, 40002, server, 443, 517), line(server, 443, client, 40002, 222)].join('\n'), { format: 'suricata-eve' });

    // Assess
    expect(v.destinations.map((d) => d.ip)).toEqual([server]);
    expect(destination(v, server)).toMatchObject({ connections: 2, bytesSent: 517, bytesReceived: 222, ports: [443] });
  });

  it('is detected as aws-network-firewall; the monitored side sent what it sent, in both directions', async () => {
    // Act
    const v = await checkBytes(fixture('aws-network-firewall-synthetic.log'));

    // Assess
    expect(v.input.format).toBe('aws-network-firewall');
    expect(v.totals).toMatchObject({ records: 5, connections: 5, skipped: 0 });
    expect(destination(v, '52.216.8.100')).toMatchObject({ connections: 2, bytesSent: 12040, bytesReceived: 98311, ports: [443] });
    expect(destination(v, '8.8.8.8')).toMatchObject({ bytesSent: 70, bytesReceived: 134, ports: [53] });
    expect(destination(v, '1.2.4.8')).toMatchObject({ status: 'blocked', blockedAttempts: 1 });
  });
});

describe('Suricata EVE lines (inline)', () => {
  const flow = (over: Record<string, unknown> = {}, f: Record<string, unknown> = {}): string =>
    JSON.stringify({
      timestamp: '2024-01-01T00:00:10.000000+0000',
      flow_id: 42,
      event_type: 'flow',
      src_ip: '10.0.0.1',
      src_port: 40000,
      dest_ip: '203.0.113.9',
      dest_port: 443,
      proto: 'TCP',
      flow: { bytes_toserver: 10, bytes_toclient: 20, start: '2024-01-01T00:00:00.000000+0000', end: '2024-01-01T00:00:05.000000+0000', ...f },
      ...over,
    });

  it('skips lines that are not JSON objects or have no event_type or addresses; ignores blank lines', () => {
    // Act
    const result = parse(['not json', '[1,2]', '{"src_ip":"10.0.0.1"}', '', JSON.stringify({ event_type: 'flow', dest_ip: '1.1.1.1' })].join('\n'));

    // Assess
    expect(result.skips).toEqual([
      { line: 1, reason: 'not a JSON object' },
      { line: 2, reason: 'not a JSON object' },
      { line: 3, reason: 'event has no event_type' },
      { line: 5, reason: 'flow event has no src_ip/dest_ip' },
    ]);
    expect(result.callsPerLine.get(4)).toBeUndefined();
  });

  it('makes no sink call for events that are not connections', () => {
    // Act
    const result = parse(['stats', 'dns', 'tls', 'http', 'fileinfo', 'anomaly', 'drop'].map((t) => JSON.stringify({ event_type: t, src_ip: '10.0.0.1', dest_ip: '1.1.1.1' })).join('\n'));

    // Assess
    expect(result.calls).toEqual([]);
  });

  it('reads missing or negative byte counts as unknown, a numeric proto by its IANA name', () => {
    // Act
    const [r] = parse(flow({ proto: '006' }, { bytes_toserver: undefined, bytes_toclient: -5 })).flows;

    // Assess
    expect(r).toMatchObject({ origBytes: -1, respBytes: -1, proto: 'tcp' });
  });

  it('keeps a dropped flow the server answered as a connection', () => {
    // Act
    const [r] = parse(flow({}, { action: 'drop', bytes_toclient: 300 })).flows;

    // Assess
    expect(r?.rejected).toBe(false);
  });

  it('names flows from DNS answers in formats 1, 2 and 3, by the query name', () => {
    // Prepare
    const dns1 = { event_type: 'dns', dns: { type: 'answer', rrname: 'v1.example', rrtype: 'AAAA', rdata: '2001:0db8:0000:0000:0000:0000:0000:0001' } };
    const dns2 = { event_type: 'dns', dns: { version: 2, type: 'answer', rrname: 'v2.example', grouped: { A: ['203.0.113.2'] } } };
    const dns3 = {
      event_type: 'dns',
      dns: { version: 3, type: 'response', queries: [{ rrname: 'v3.example', rrtype: 'A' }], answers: [{ rrname: 'cdn.v3.example', rrtype: 'CNAME', rdata: 'x' }, { rrname: 'cdn.v3.example', rrtype: 'A', rdata: '203.0.113.3' }] },
    };
    const lines = [dns1, dns2, dns3].map((d) => JSON.stringify(d));
    lines.push(flow({ flow_id: 1, dest_ip: '2001:db8::1' }), flow({ flow_id: 2, dest_ip: '203.0.113.2' }), flow({ flow_id: 3, dest_ip: '203.0.113.3' }));

    // Act
    const result = parse(lines.join('\n'));

    // Assess
    expect(result.flows.map((r) => r.hostname)).toEqual(['v1.example', 'v2.example', 'v3.example']);
  });

  it('names a flow by every name DNS answered for its server, not only the last answer', async () => {
    // Prepare: a CDN address answered for two names; the flow to it is logged after both answers.
    const answer = (name: string, at: string): string =>
      JSON.stringify({ timestamp: at, event_type: 'dns', dns: { version: 2, type: 'answer', rrname: name, grouped: { A: ['170.106.1.1'] } } });
    const lines = [
      answer('telemetry.vendor-app.com', '2024-01-01T00:00:00.000000+0000'),
      answer('static.other-site.com', '2024-01-01T00:00:05.000000+0000'),
      answer('telemetry.vendor-app.com', '2024-01-01T00:00:06.000000+0000'),
      flow({ flow_id: 9, dest_ip: '170.106.1.1' }, { bytes_toserver: 250_000 }),
    ].join('\n');

    // Act
    const result = parse(lines);
    const v = await checkBytes(lines);

    // Assess: the latest answer names the record, the others come with it; the verdict lists both.
    expect(result.flows.map((r) => [r.hostname, r.otherHostnames])).toEqual([['telemetry.vendor-app.com', ['static.other-site.com', 'telemetry.vendor-app.com']]]);
    expect(v.destinations.find((d) => d.ip === '170.106.1.1')?.hostnames).toEqual(['static.other-site.com', 'telemetry.vendor-app.com']);
  });

  it('counts an inbound flow the monitored side never answered as a refused attempt; a netflow half stays a connection', async () => {
    // Prepare: a scanner in CN probing a private host (Suricata flow, nothing back), and the same
    // shape as a netflow half (one direction only: the reply would be a record of its own).
    const scan = flow({ flow_id: 11, src_ip: '222.186.180.130', src_port: 47047, dest_ip: '192.168.1.20', dest_port: 23 }, { bytes_toserver: 60, bytes_toclient: 0, state: 'new' });
    const half = JSON.stringify({
      event_type: 'netflow', flow_id: 12, src_ip: '1.2.4.8', src_port: 47047, dest_ip: '10.1.2.15', dest_port: 16463, proto: 'TCP',
      netflow: { pkts: 1, bytes: 60, start: '2024-01-01T00:00:00.000000+0000', end: '2024-01-01T00:00:00.000000+0000' },
    });

    // Act
    const v = await checkBytes([scan, half].join('\n'), { format: 'suricata-eve' });

    // Assess
    expect(parse(scan).flows[0]?.oneWay).toBe(false);
    expect(parse(half).flows[0]?.oneWay).toBe(true);
    expect(destination(v, '222.186.180.130')).toMatchObject({ status: 'blocked', connections: 0, blockedAttempts: 1, bytesSent: 0, bytesReceived: 60 });
    expect(destination(v, '1.2.4.8')).toMatchObject({ status: 'violation', connections: 1 });
  });

  it('keeps a log of netflow halves one-way with IPS alerts among them: a scanner nobody answered is blocked', async () => {
    // Prepare: netflow halves of a DNS exchange, a scanner's probe with no half back, and a blocked
    // alert (AWS Network Firewall and Suricata write alerts beside netflow records).
    const nf = (id: number, src: string, sport: number, dst: string, dport: number, bytes: number): string =>
      JSON.stringify({ event_type: 'netflow', flow_id: id, src_ip: src, src_port: sport, dest_ip: dst, dest_port: dport, proto: 'UDP', netflow: { pkts: 1, bytes, start: '2024-01-01T00:00:00.000000+0000', end: '2024-01-01T00:00:00.000000+0000' } });
    const alert = JSON.stringify({ event_type: 'alert', flow_id: 30, src_ip: '10.1.2.15', src_port: 50000, dest_ip: '1.2.4.8', dest_port: 443, proto: 'TCP', alert: { action: 'blocked', signature: 'blocked domain' } });
    const lines = [nf(1, '10.1.2.15', 53001, '8.8.8.8', 53, 74), nf(1, '8.8.8.8', 53, '10.1.2.15', 53001, 90), nf(2, '45.129.33.153', 47047, '10.1.2.15', 16463, 60)];

    // Act
    const without = await checkBytes(lines.join('\n'), { format: 'suricata-eve' });
    const withAlert = await checkBytes([...lines, alert].join('\n'), { format: 'suricata-eve' });

    // Assess
    for (const v of [without, withAlert]) {
      expect(destination(v, '45.129.33.153')).toMatchObject({ status: 'blocked', connections: 0, blockedAttempts: 1 });
      expect(v.compliant).toBe(true);
    }
    expect(destination(withAlert, '1.2.4.8')).toMatchObject({ status: 'blocked', blockedAttempts: 1 });
  });

  it('reads events Suricata sent to syslog, their syslog header passed over (BSD, RFC 5424, @cee:)', async () => {
    const event = flow({ flow_id: 21, src_ip: '10.0.0.5', dest_ip: '1.2.4.8', dest_port: 443 }, { bytes_toserver: 700, bytes_toclient: 90 });
    const lines = [
      `Nov 27 10:00:00 sensor suricata[5123]: ${event}`,
      `2017-03-01T10:00:00.000000+00:00 sensor suricata[5123]: @cee: ${event}`,
      `<134>1 2025-03-01T10:00:00Z sensor suricata 5123 - - ${event}`,
      `<134>1 2025-03-01T10:00:00Z sensor suricata 5123 - [meta sequenceId="1"][origin ip="192.0.2.1" software="suricata"] \ufeff${event}`,
      `Nov 27 10:00:01 sensor kernel: [1.0] not an event {`,
    ];
    expect(detectFormat(lines)?.name).toBe('suricata-eve');
    const result = parse(lines.join('\n'));
    expect(result.flows.map((r) => [r.line, r.respIp, r.origBytes])).toEqual([
      [1, '1.2.4.8', 700],
      [2, '1.2.4.8', 700],
      [3, '1.2.4.8', 700],
      [4, '1.2.4.8', 700],
    ]);
    expect(result.skips.map((k) => [k.line, k.reason])).toEqual([[5, 'not a JSON object']]);
    const v = await checkBytes(lines.slice(0, 3).join('\n'));
    expect(v.input.format).toBe('suricata-eve');
    expect(destination(v, '1.2.4.8')).toMatchObject({ status: 'violation', connections: 3, bytesSent: 2100 });
  });

  it('gives a flow_id name only to a record whose server is the named address', () => {
    // Prepare
    const tls = JSON.stringify({ event_type: 'tls', flow_id: 7, src_ip: '10.0.0.1', dest_ip: '203.0.113.7', tls: { sni: 'seven.example' } });

    // Act
    const result = parse([tls, flow({ flow_id: 7, src_ip: '203.0.113.7', dest_ip: '10.0.0.1' }), flow({ flow_id: 7, dest_ip: '203.0.113.7' })].join('\n'));

    // Assess
    expect(result.flows.map((r) => r.hostname)).toEqual([null, 'seven.example']);
  });

  it('takes a blocked alert on a packet to the client the right way round', () => {
    // Prepare
    const alert = { event_type: 'alert', direction: 'to_client', src_ip: '203.0.113.9', src_port: 443, dest_ip: '10.0.0.1', dest_port: 40000, proto: 'TCP', alert: { action: 'blocked' } };

    // Act
    const [r] = parse(JSON.stringify(alert)).flows;

    // Assess
    expect(r).toMatchObject({ origIp: '10.0.0.1', respIp: '203.0.113.9', respPort: 443, rejected: true });
  });

  it('reads EVE times with and without an offset as UTC instants', () => {
    expect(eveTimeMs('2019-05-28T23:32:29.025256+0200')).toBe(Date.parse('2019-05-28T21:32:29.025Z'));
    expect(eveTimeMs('2009-11-24T21:27:09.534255')).toBe(Date.parse('2009-11-24T21:27:09.534Z'));
    expect(eveTimeMs('yesterday')).toBeNaN();
    expect(eveTimeMs(12)).toBeNaN();
  });

  it('forgets the oldest names beyond its bound', () => {
    // Prepare
    const memory = new HostnameMemory(2);

    // Act
    for (const [n, ip] of [['a.example', '203.0.113.1'], ['b.example', '203.0.113.2'], ['c.example', '203.0.113.3']] as const) {
      memory.learn({ event_type: 'tls', dest_ip: ip, tls: { sni: n } });
    }

    // Assess
    expect(['203.0.113.1', '203.0.113.2', '203.0.113.3'].map((ip) => memory.nameFor(undefined, ip))).toEqual([null, 'b.example', 'c.example']);
  });
});

describe('Suricata EVE and Network Firewall detection', () => {
  it('tells the two formats apart and from Zeek JSON', () => {
    const eve = firstLines(fixture('eve-synthetic.json'));
    const nfw = firstLines(fixture('aws-network-firewall-synthetic.log'));
    expect(detectSuricataEve(eve)).toBe(1);
    expect(detectAwsNetworkFirewall(eve)).toBe(0);
    expect(detectAwsNetworkFirewall(nfw)).toBe(1);
    expect(detectSuricataEve(nfw)).toBe(0);
    expect(detectSuricataEve(['{"ts":1,"id.orig_h":"10.0.0.1","id.resp_h":"1.1.1.1"}'])).toBe(0);
    expect(detectSuricataEve(['{"event_type":"stats","stats":{}}'])).toBe(0.6);
    expect(detectFormat(eve)?.name).toBe('suricata-eve');
    expect(detectFormat(nfw)?.name).toBe('aws-network-firewall');
    expect(findFormat('aws-network-firewall')?.create({}).format).toBe('aws-network-firewall');
  });

  it('detects a log whose first event is longer than what detection reads by default (a 130 kB stats event)', async () => {
    const stats = JSON.stringify({ timestamp: '2024-01-01T00:00:00.000000+0000', event_type: 'stats', stats: { padding: 'x'.repeat(130_000) } });
    const text = `${stats}\n${fixture('eve-synthetic.json')}`;
    const v = await checkBytes(text, {}, 4096);
    expect(v.input.format).toBe('suricata-eve');
    expect(v.error).toBeUndefined();
    expect(v.totals.connections).toBeGreaterThan(0);
  });

  it('detects a log whose first line was cut off (split -b, tail -c), and counts that line as skipped', async () => {
    // Prepare: the fixtures with their first line cut in the middle.
    const cut = (text: string): string => text.slice(text.indexOf('\n') >> 1);

    for (const [name, format] of [['eve-synthetic.json', 'suricata-eve'], ['aws-network-firewall-synthetic.log', 'aws-network-firewall']] as const) {
      const text = cut(fixture(name));
      // Act
      const v = await checkBytes(text);
      // Assess
      expect(detectFormat(firstLines(text))?.name).toBe(format);
      expect(v.input.format).toBe(format);
      expect(v.errors[0]).toEqual({ line: 1, reason: 'not a JSON object' });
      expect(v.totals.records).toBe(v.totals.connections + v.totals.skipped + v.totals.noData + v.totals.unattributed);
    }
    // Only the first line: a second line that is not JSON is not a cut-off record.
    expect(detectSuricataEve(['xx}', 'yy}', JSON.stringify({ event_type: 'flow', src_ip: '10.0.0.1', dest_ip: '1.1.1.1' })])).toBe(0);
    expect(detectSuricataEve(['not json at all', JSON.stringify({ event_type: 'flow', src_ip: '10.0.0.1', dest_ip: '1.1.1.1' })])).toBe(0);
  });
});
