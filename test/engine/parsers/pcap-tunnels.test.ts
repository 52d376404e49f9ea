import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FlowRecord } from '../../../lambda/engine/types';
import { ethernet, ipv4, pcapOf, tcp, udp } from '../../helpers/capture-builders';
import { tempDir } from '../../helpers/cli';
import { checkBytes, destination, policyOf } from '../../helpers/engine';
import { readCapture } from './harness';

/**
 * The traffic inside each tunnel: a TCP connection 10.0.1.7:50000 -> 77.88.8.8:443 (SYN, SYN-ACK,
 * 1,200 bytes of data) and a DNS query 10.0.1.7:40000 -> 8.8.8.8:53 of 30 bytes.
 */
const INNER = [
  ipv4(6, '10.0.1.7', '77.88.8.8', tcp(50000, 443, 0x02, 100)),
  ipv4(6, '77.88.8.8', '10.0.1.7', tcp(443, 50000, 0x12, 900)),
  ipv4(6, '10.0.1.7', '77.88.8.8', tcp(50000, 443, 0x18, 101, Buffer.alloc(1200, 1))),
  ipv4(17, '10.0.1.7', '8.8.8.8', udp(40000, 53, Buffer.alloc(30, 2))),
];

const hex = (s: string): Buffer => Buffer.from(s.replace(/ /g, ''), 'hex');

/** Each tunnel: the outer packet (raw IP) of an inner IPv4 packet, as its writers frame it. */
const TUNNELS: Record<string, (inner: Buffer) => Buffer> = {
  // AWS VPC Traffic Mirroring: VXLAN (RFC 7348) to the mirror target, I flag and VNI 123.
  vxlan: (inner) => ipv4(17, '10.0.0.5', '10.0.0.9', udp(50001, 4789, Buffer.concat([hex('08000000 00007b00'), ethernet(inner)]))),
  // Geneve (RFC 8926) with one 4-byte option (options length 2 words), Ethernet inside.
  geneve: (inner) => ipv4(17, '10.0.0.5', '10.0.0.9', udp(50002, 6081, Buffer.concat([hex('0200 6558 00007b00 0108 0101 00000000'), ethernet(inner)]))),
  // GRE with a key and a sequence number (RFC 2890), IPv4 inside.
  gre: (inner) => ipv4(47, '10.0.0.5', '10.0.0.9', Buffer.concat([hex('3000 0800 0000002a 00000001'), inner])),
  // GRE transparent Ethernet bridging.
  'gre-ethernet': (inner) => ipv4(47, '10.0.0.5', '10.0.0.9', Buffer.concat([hex('0000 6558'), ethernet(inner)])),
  // ERSPAN type II: GRE with a sequence number, the 8-byte ERSPAN header, the mirrored frame.
  'erspan-2': (inner) => ipv4(47, '10.0.0.5', '10.0.0.9', Buffer.concat([hex('1000 88be 00000001 1001 0000 00000000'), ethernet(inner)])),
  // ERSPAN type III with its optional 8-byte platform subheader (O flag).
  'erspan-3': (inner) => ipv4(47, '10.0.0.5', '10.0.0.9', Buffer.concat([hex('1000 22eb 00000001 2001 0000 00000000 00000001 0000000000000000'), ethernet(inner)])),
  // IP in IP (protocol 4).
  ipip: (inner) => ipv4(4, '10.0.0.5', '10.0.0.9', inner),
  // PPTP's enhanced GRE (version 1) with a sequence number, PPP (address, control, IPv4) inside.
  pptp: (inner) => ipv4(47, '10.0.0.5', '10.0.0.9', Buffer.concat([hex(`3001 880b ${(inner.length + 4).toString(16).padStart(4, '0')} 0001 00000001 ff03 0021`), inner])),
};

const flowsOf = readCapture;

/** `proto a:port b:port`, endpoints sorted, for the TCP and UDP connections of a capture. */
function conversations(flows: FlowRecord[]): string[] {
  return flows
    .filter((f) => f.proto === 'tcp' || f.proto === 'udp')
    .map((f) => [`${f.origIp}:${f.origPort}`, `${f.respIp}:${f.respPort}`].sort().join(' ').replace(/^/, `${f.proto} `))
    .sort();
}

describe('pcap reader: tunnels', () => {
  it.each(Object.keys(TUNNELS))('reads the packets inside %s as packets of their own, beside the tunnel', async (name) => {
    // Prepare
    const capture = pcapOf(101, INNER.map(TUNNELS[name]!));

    // Act
    const { flows, skips } = flowsOf(capture);
    const v = await checkBytes(capture, { policy: policyOf('us') });

    // Assess
    expect(skips).toEqual([]);
    const inner = flows.find((f) => f.respIp === '77.88.8.8')!;
    expect(inner).toMatchObject({ origIp: '10.0.1.7', origPort: 50000, respPort: 443, proto: 'tcp', origBytes: 1200, respBytes: 0, line: 1 });
    expect(flows.find((f) => f.respIp === '8.8.8.8')).toMatchObject({ origIp: '10.0.1.7', respPort: 53, origBytes: 30, line: 4 });
    // The tunnel's own connection is where the packets went on the wire.
    expect(flows.filter((f) => f.respIp === '10.0.0.9')).toHaveLength(1);
    expect(v.compliant).toBe(false);
    expect(destination(v, '77.88.8.8')).toMatchObject({ status: 'violation', country: 'RU', bytesSent: 1200, ports: [443] });
    expect(destination(v, '8.8.8.8')).toMatchObject({ status: 'allowed', bytesSent: 30 });
    expect(destination(v, '10.0.0.9').status).toBe('non-public');
    // Every packet is in a connection once (the tunnel's), as the summary counts them.
    expect(v.totals.skipped).toBe(0);
  });

  it('reads the same conversations as tshark, which opens these tunnels too', () => {
    const dir = tempDir();
    for (const [name, wrap] of Object.entries(TUNNELS)) {
      const file = join(dir, `${name}.pcap`);
      const capture = pcapOf(101, INNER.map(wrap));
      writeFileSync(file, capture);
      const r = spawnSync('tshark', ['-n', '-r', file, '-q', '-z', 'conv,tcp', '-z', 'conv,udp'], { encoding: 'utf8' });
      if (r.error) throw new Error(`tshark is required for this test (.ci/run installs it): ${r.error.message}`);
      let proto = '';
      const theirs: string[] = [];
      for (const line of r.stdout.split('\n')) {
        const header = /^(TCP|UDP) Conversations/.exec(line);
        if (header) proto = header[1]!.toLowerCase();
        const row = /^(\S+)\s+<->\s+(\S+)\s/.exec(line);
        if (row) theirs.push(`${proto} ${[row[1]!, row[2]!].sort().join(' ')}`);
      }
      expect({ name, conversations: conversations(flowsOf(capture).flows) }).toEqual({ name, conversations: theirs.sort() });
    }
  });

  it('skips what a tunnel carries that cannot be read: counted and named in the verdict', async () => {
    // PPTP data encrypted with MPPE (PPP protocol 0x00fd); a GRE protocol that is no known Ethertype.
    const mppe = ipv4(47, '10.0.0.5', '203.0.113.9', hex('3001 880b 0008 0001 00000001 ff03 00fd 90a1b2c3'));
    const unknown = ipv4(47, '10.0.0.5', '203.0.113.9', hex('0000 88b5 00112233'));
    // A PPTP acknowledgment carries no packet: it is in the tunnel's connection, nothing more.
    const ack = ipv4(47, '10.0.0.5', '203.0.113.9', hex('3081 880b 0000 0001 00000001 00000002'));
    const { skips, stats } = flowsOf(pcapOf(101, [mppe, unknown, ack]));
    // Every packet counted once: in a connection, skipped, or without data.
    expect(stats).toMatchObject({ packets: 3, inConnections: 1, skipped: 2, noData: 0 });
    expect(skips).toEqual([
      { line: 1, reason: 'unsupported encapsulation', detail: 'PPP protocol 0x00fd' },
      { line: 2, reason: 'unsupported encapsulation', detail: 'ethertype 0x88b5' },
    ]);
    const v = await checkBytes(pcapOf(101, [mppe, unknown]), { policy: policyOf('us') });
    expect(v.totals).toMatchObject({ skipped: 2, skippedByReason: { 'unsupported encapsulation': 2 } });
  });

  it('opens tunnels inside tunnels up to a depth, and skips a packet nested deeper', () => {
    let deep = INNER[2]!;
    for (let i = 0; i < 5; i++) deep = ipv4(4, '10.0.0.5', '10.0.0.9', deep);
    let ok = INNER[2]!;
    for (let i = 0; i < 4; i++) ok = ipv4(4, '10.0.0.5', '10.0.0.9', ok);
    const { flows, skips } = flowsOf(pcapOf(101, [ok, deep]));
    expect(flows.find((f) => f.respIp === '77.88.8.8')).toMatchObject({ origBytes: 1200 });
    expect(skips).toEqual([{ line: 2, reason: 'unsupported encapsulation', detail: 'more than 4 tunnels deep' }]);
  });

  it('opens a UDP tunnel by the port it is sent to: a DNS query from port 4790 is DNS', () => {
    const query = ipv4(17, '10.0.0.5', '8.8.8.8', udp(4790, 53, Buffer.alloc(30, 1)));
    const { flows, skips } = flowsOf(pcapOf(101, [query]));
    expect(skips).toEqual([]);
    expect(flows.map((f) => [f.respIp, f.respPort, f.origBytes])).toEqual([['8.8.8.8', 53, 30]]);
  });

  it('counts a truncated tunnel header as a truncated packet', () => {
    const { skips } = flowsOf(pcapOf(101, [ipv4(17, '10.0.0.5', '10.0.0.9', udp(50001, 4789, hex('0800')))]));
    expect(skips).toEqual([{ line: 1, reason: 'truncated packet', detail: '2 bytes captured, VXLAN header cut short' }]);
  });
});
