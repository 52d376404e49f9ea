/**
 * Google Cloud VPC Flow Logs as a Cloud Logging sink to Cloud Storage writes them: one LogEntry per
 * line, each built field for field as Google documents the record format
 * (https://cloud.google.com/vpc/docs/flow-logs#record_format): `jsonPayload.connection` (5-tuple,
 * protocol a number), `bytes_sent` and `packets_sent` as int64 strings, RFC 3339 times with
 * nanoseconds, `reporter`, the VM's `src_instance` or `dest_instance`, the remote side's location.
 */
import fc from 'fast-check';
import { detectFormat } from '../../../lambda/engine/parsers';
import { GcpVpcFlowParser } from '../../../lambda/engine/parsers/gcp-vpc-flow';
import { checkBytes, destination, policyOf } from '../../helpers/engine';
import { parseAll } from './harness';

/** A flow record `src` -> `dest` of `bytes`, reported by `reporter`'s side. */
function entry(src: string, sport: number, dest: string, dport: number, bytes: string | number, reporter: 'SRC' | 'DEST', protocol = 6): string {
  const vm = { project_id: 'drone-vendor-prod', vm_name: 'telemetry-1', region: 'us-central1', zone: 'us-central1-a' };
  return JSON.stringify({
    insertId: `1abc${sport}`,
    jsonPayload: {
      bytes_sent: bytes,
      connection: { dest_ip: dest, dest_port: dport, protocol, src_ip: src, src_port: sport },
      end_time: '2024-03-01T10:00:05.123456789Z',
      packets_sent: '13',
      reporter,
      rtt_msec: '12',
      start_time: '2024-03-01T10:00:00.987654321Z',
      ...(reporter === 'SRC' ? { src_instance: vm, dest_location: { asn: 37963, continent: 'Asia', country: 'chn' } } : { dest_instance: vm, src_location: { asn: 14061, continent: 'Europe', country: 'deu' } }),
    },
    logName: 'projects/drone-vendor-prod/logs/compute.googleapis.com%2Fvpc_flows',
    receiveTimestamp: '2024-03-01T10:00:30.000000000Z',
    resource: { labels: { location: 'us-central1-a', project_id: 'drone-vendor-prod', subnetwork_id: '123', subnetwork_name: 'default' }, type: 'gce_subnetwork' },
    timestamp: '2024-03-01T10:00:30.000000000Z',
  });
}

describe('Google Cloud VPC Flow Logs (Cloud Logging entries, one per line)', () => {
  const lines = [
    // A VM uploading to Alibaba Cloud in China, and the reply (a record of its own).
    entry('10.128.0.2', 50112, '47.246.1.1', 443, '52000', 'SRC'),
    entry('47.246.1.1', 443, '10.128.0.2', 50112, '2400', 'DEST'),
    // DNS to Google's resolver; a count written as a number.
    entry('10.128.0.2', 40000, '8.8.8.8', 53, 70, 'SRC', 17),
    // A scanner's probe the VM never answered.
    entry('45.129.33.153', 47047, '10.128.0.2', 22, '60', 'DEST'),
  ];

  it('is detected, and reads each record as one direction', () => {
    expect(detectFormat(lines)?.name).toBe('gcp-vpc-flow');
    const { flows, skips } = parseAll(new GcpVpcFlowParser(), lines.join('\n'));
    expect(skips).toEqual([]);
    expect(flows.map((r) => [r.origIp, r.respIp, r.respPort, r.proto, r.origBytes, r.respBytes, r.oneWay])).toEqual([
      ['10.128.0.2', '47.246.1.1', 443, 'tcp', 52000, 0, true],
      ['47.246.1.1', '10.128.0.2', 50112, 'tcp', 2400, 0, true],
      ['10.128.0.2', '8.8.8.8', 53, 'udp', 70, 0, true],
      ['45.129.33.153', '10.128.0.2', 22, 'tcp', 60, 0, true],
    ]);
    expect(flows[0]).toMatchObject({ firstSeenMs: Date.UTC(2024, 2, 1, 10, 0, 0, 987.654321), lastSeenMs: Date.UTC(2024, 2, 1, 10, 0, 5, 123.456789) });
  });

  it("gives the verdict the monitored side's sending, the scanner blocked", async () => {
    const v = await checkBytes(lines.join('\n'), { policy: policyOf('us') });
    expect(v.input.format).toBe('gcp-vpc-flow');
    expect(destination(v, '47.246.1.1')).toMatchObject({ status: 'violation', bytesSent: 52000, bytesReceived: 2400, connections: 2, ports: [443] });
    expect(destination(v, '8.8.8.8')).toMatchObject({ status: 'allowed', bytesSent: 70 });
    expect(destination(v, '45.129.33.153')).toMatchObject({ status: 'blocked', blockedAttempts: 1, bytesSent: 0 });
    expect(v.totals).toMatchObject({ records: 4, skipped: 0, malformedValues: 0 });
  });

  it('skips what is no flow record, and names a count that is none', () => {
    const other = JSON.stringify({ jsonPayload: { message: 'instance started' }, logName: 'projects/p/logs/syslog' });
    const noAddress = JSON.stringify({ jsonPayload: { connection: { src_ip: '10.128.0.2', dest_port: 443 }, bytes_sent: '1' } });
    const badCount = entry('10.128.0.2', 50113, '1.1.1.1', 443, 'lots', 'SRC');
    const { flows, skips, malformed } = parseAll(new GcpVpcFlowParser(), [other, noAddress, badCount, 'not json'].join('\n'));
    expect(skips).toEqual([
      { line: 1, reason: 'log entry is not a VPC flow record', detail: 'no jsonPayload.connection' },
      { line: 2, reason: 'flow record has no src_ip/dest_ip' },
      { line: 4, reason: 'not a JSON object' },
    ]);
    expect(flows.map((r) => [r.line, r.origBytes, r.respBytes])).toEqual([[3, -1, -1]]);
    expect(malformed).toEqual([{ line: 3, field: 'bytes_sent', value: '"lots"' }]);
  });

  it("takes the reporting VM's side as inside, a dual-stack VM's public IPv6 address too", async () => {
    const vm = '2600:1900:4000:abcd:0:1::';
    const v6 = [entry(vm, 50112, '240e:e9:6002:1::1', 443, '52000', 'SRC'), entry('240e:e9:6002:1::1', 443, vm, 50112, '2400', 'DEST')];
    const { flows } = parseAll(new GcpVpcFlowParser(), v6.join('\n'));
    expect(flows.map((r) => [r.origLocal, r.respLocal])).toEqual([
      [true, false],
      [false, true],
    ]);
    const v = await checkBytes(v6.join('\n'), { policy: policyOf('us') });
    expect(v.destinations.map((d) => d.ip)).toEqual(['240e:e9:6002:1::1']);
    expect(destination(v, '240e:e9:6002:1::1')).toMatchObject({ status: 'violation', bytesSent: 52000, bytesReceived: 2400 });
  });

  it('skips Firewall Rules Logging entries, and finds the flow records after other logs of the export', () => {
    const firewall = JSON.stringify({
      jsonPayload: { connection: { src_ip: '10.128.0.2', src_port: 50000, dest_ip: '1.2.4.8', dest_port: 443, protocol: 6 }, disposition: 'DENIED', rule_details: { reference: 'network:default/firewall:deny-cn', direction: 'EGRESS' } },
      logName: 'projects/p/logs/compute.googleapis.com%2Ffirewall',
      resource: { type: 'gce_subnetwork' },
    });
    const syslog = JSON.stringify({ jsonPayload: { message: 'started' }, logName: 'projects/p/logs/syslog', resource: { type: 'gce_instance' } });
    const lines = [syslog, firewall, entry('10.128.0.2', 50112, '47.246.1.1', 443, '52000', 'SRC')];
    expect(detectFormat(lines)?.name).toBe('gcp-vpc-flow');
    const { flows, skips } = parseAll(new GcpVpcFlowParser(), lines.join('\n'));
    expect(skips.map((k) => [k.line, k.reason])).toEqual([
      [1, 'log entry is not a VPC flow record'],
      [2, 'log entry is a firewall rule log, not a VPC flow record'],
    ]);
    expect(flows.map((r) => r.line)).toEqual([3]);
  });

  it("tells a user with gcloud's JSON array to make it lines", async () => {
    const v = await checkBytes(`[\n${[entry('10.128.0.2', 50112, '47.246.1.1', 443, '52000', 'SRC')].join(',\n')}\n]\n`);
    expect(v.error).toMatch(/unknown log format: a JSON array; JSON logs are read one object per line \(make it lines with jq -c '\.\[\]'\)/);
  });

  it('is not taken for other JSON lines with a connection object', () => {
    expect(detectFormat([JSON.stringify({ jsonPayload: { connection: { src_ip: '1.1.1.1', dest_ip: '2.2.2.2' } } })])?.name).not.toBe('gcp-vpc-flow');
  });
});

describe('Google Cloud VPC Flow Logs: any values', () => {
  it('ends every line that is not blank in exactly one record or skip, whatever its fields hold, and never throws', () => {
    const value = fc.oneof(fc.string({ maxLength: 20 }), fc.integer({ min: -5, max: 70000 }), fc.double(), fc.constant(null), fc.constantFrom('10.0.0.1', '2001:db8::1', '443', '2024-03-01T10:00:00Z', '-1'));
    const line = fc.oneof(
      fc.record({ jsonPayload: fc.record({ connection: fc.record({ src_ip: value, dest_ip: value, src_port: value, dest_port: value, protocol: value }, { requiredKeys: [] }), bytes_sent: value, start_time: value, end_time: value }, { requiredKeys: [] }) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
      fc.string({ maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, ' ')),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 10 }), (lines) => {
        const result = parseAll(new GcpVpcFlowParser(), lines.join('\n'));
        // A blank line is no record, as in every line format.
        for (let i = 1; i <= lines.length; i++) expect(result.callsPerLine.get(i)).toBe(lines[i - 1]!.trim() === '' ? undefined : 1);
      }),
      { numRuns: 500 },
    );
  });
});
