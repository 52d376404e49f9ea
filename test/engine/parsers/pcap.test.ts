import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { detectFormat } from '../../../lambda/engine/parsers';
import { PcapParser, type PcapStats } from '../../../lambda/engine/parsers/pcap';
import type { FlowRecord } from '../../../lambda/engine/types';
import { InputError } from '../../../lambda/engine/errors';
import { pcapngBlock as block, tcp } from '../../helpers/capture-builders';
import { checkBytes, destination, fixture, fixturePath, policyOf } from '../../helpers/engine';
import { RecordingSink } from './harness';

interface Parsed {
  flows: FlowRecord[];
  skips: { line: number; reason: string; detail?: string }[];
  noData: { line: number; status: string }[];
  stats: PcapStats;
}

/** Runs bytes through the reader in chunks of `chunkSize` (whole when omitted). */
function parseCapture(bytes: Buffer, chunkSize = bytes.length || 1): Parsed {
  const sink = new RecordingSink();
  const parser = new PcapParser();
  for (let i = 0; i < bytes.length; i += chunkSize) parser.push(bytes.subarray(i, i + chunkSize), sink);
  parser.finish(sink);
  return {
    flows: sink.calls.flatMap((c) => (c.kind === 'flow' ? [c.record] : [])),
    skips: sink.calls.flatMap((c) => (c.kind === 'skip' ? [{ line: c.line, reason: c.reason, ...(c.detail === undefined ? {} : { detail: c.detail }) }] : [])),
    noData: sink.calls.flatMap((c) => (c.kind === 'noData' ? [{ line: c.line, status: c.status }] : [])),
    stats: parser.stats,
  };
}

function flowTo(p: Parsed, respIp: string, respPort?: number): FlowRecord {
  const f = p.flows.find((r) => r.respIp === respIp && (respPort === undefined || r.respPort === respPort));
  if (!f) throw new Error(`no flow to ${respIp}:${respPort} (have ${p.flows.map((r) => `${r.respIp}:${r.respPort}`).join(', ')})`);
  return f;
}

const generated = (name: string): Buffer => fixture('pcap', 'generated', name);
const T0_MS = 1_700_000_000_000;

const ALL = [
  ...readdirSync(fixturePath('pcap')).filter((f) => /\.pcap(ng)?$/.test(f)),
  ...readdirSync(fixturePath('pcap', 'generated'))
    .filter((f) => /\.pcap(ng)?$/.test(f))
    .map((f) => join('generated', f)),
];

/**
 * A one-packet pcapng section in the given byte order (pcapng draft §4.1–4.3): SHB, an IDB for
 * raw IP (101) with `if_tsresol` 3 (milliseconds), an EPB at `ms` holding `packet`.
 */
function pcapngSection(le: boolean, packet: Buffer, ms: number): Buffer {
  const w16 = (v: number): Buffer => { const b = Buffer.alloc(2); if (le) b.writeUInt16LE(v); else b.writeUInt16BE(v); return b; };
  const w32 = (v: number): Buffer => { const b = Buffer.alloc(4); if (le) b.writeUInt32LE(v); else b.writeUInt32BE(v); return b; };
  const shb = block(0x0a0d0d0a, Buffer.concat([w32(0x1a2b3c4d), w16(1), w16(0), Buffer.alloc(8, 0xff)]), le);
  const tsresol = Buffer.concat([w16(9), w16(1), Buffer.from([3, 0, 0, 0]), w16(0), w16(0)]);
  const idb = block(1, Buffer.concat([w16(101), w16(0), w32(0), tsresol]), le);
  const epb = block(6, Buffer.concat([w32(0), w32(Math.floor(ms / 2 ** 32)), w32(ms % 2 ** 32), w32(packet.length), w32(packet.length), packet]), le);
  return Buffer.concat([shb, idb, epb]);
}

/**
 * A libpcap file (pcap-savefile(5)) of raw IP packets (link type 101), one a second from `ms`, in
 * either byte order, with microsecond or nanosecond times.
 */
function pcapFile(le: boolean, nanos: boolean, packets: Buffer[], ms: number): Buffer {
  const w16 = (b: Buffer, v: number, at: number): void => void (le ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at));
  const w32 = (b: Buffer, v: number, at: number): void => void (le ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
  const head = Buffer.alloc(24);
  w32(head, nanos ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(head, 2, 4);
  w16(head, 4, 6);
  w32(head, 262144, 16);
  w32(head, 101, 20);
  const records = packets.map((packet, i) => {
    const at = ms + i * 1000;
    const rec = Buffer.alloc(16);
    w32(rec, Math.floor(at / 1000), 0);
    w32(rec, (at % 1000) * (nanos ? 1e6 : 1e3), 4);
    w32(rec, packet.length, 8);
    w32(rec, packet.length, 12);
    return Buffer.concat([rec, packet]);
  });
  return Buffer.concat([head, ...records]);
}

/** A DNS response (RFC 1035 §4.1) answering `name` with one A (4 bytes) or AAAA (16 bytes) record. */
function dnsAnswer(name: string, address: number[]): Buffer {
  const qname = Buffer.concat([...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
  const type = address.length === 4 ? 1 : 28;
  const header = Buffer.from([0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
  const question = Buffer.concat([qname, Buffer.from([0, type, 0, 1])]);
  const answer = Buffer.concat([Buffer.from([0xc0, 0x0c, 0, type, 0, 1, 0, 0, 0, 60, 0, address.length]), Buffer.from(address)]);
  return Buffer.concat([header, question, answer]);
}

/** A pcap file with its link type changed. */
function withLinkType(file: Buffer, linkType: number): Buffer {
  const out = Buffer.from(file);
  out.writeUInt32LE(linkType, 20);
  return out;
}

/** IPv6 + TCP with the given flags and payload (sequence numbers from `seq`, checksums zero). */
function tcp6(src: string, dst: string, sport: number, dport: number, flags: number, payload: Buffer = Buffer.alloc(0), seq = 0): Buffer {
  const ip = Buffer.alloc(40);
  ip[0] = 0x60;
  ip.writeUInt16BE(20 + payload.length, 4);
  ip[6] = 6;
  ip[7] = 64;
  const groups = (a: string): Buffer => {
    const [head, tail = ''] = a.split('::');
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const all = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
    const out = Buffer.alloc(16);
    all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
    return out;
  };
  groups(src).copy(ip, 8);
  groups(dst).copy(ip, 24);
  return Buffer.concat([ip, tcp(sport, dport, flags, seq, payload)]);
}

/** An IPv4 packet 10.0.0.1 -> 8.8.8.8 of protocol `proto` carrying `data` at `offset` of its payload (a fragment unless whole). */
function ipv4Fragment(proto: number, id: number, offset: number, data: Buffer, more: boolean): Buffer {
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + data.length, 2);
  ip.writeUInt16BE(id, 4);
  ip.writeUInt16BE((more ? 0x2000 : 0) | (offset / 8), 6);
  ip[8] = 64;
  ip[9] = proto;
  Buffer.from([10, 0, 0, 1, 8, 8, 8, 8]).copy(ip, 12);
  return Buffer.concat([ip, data]);
}

const OPENER = '2001:db8::1';
const SERVER = '2a00:1450:4001::1';

/** A TCP connection OPENER:51000 -> SERVER:443 opened with sequence number `isn`, then `n` bytes from the opener. */
function opened(isn: number, n: number): Buffer[] {
  return [
    tcp6(OPENER, SERVER, 51000, 443, 0x02, Buffer.alloc(0), isn),
    tcp6(SERVER, OPENER, 443, 51000, 0x12, Buffer.alloc(0), 5000),
    tcp6(OPENER, SERVER, 51000, 443, 0x18, Buffer.alloc(n, 1), isn + 1),
  ];
}

/** A TLS ClientHello record naming `sni` (RFC 8446 §4.1.2, server_name extension of RFC 6066). */
function clientHello(sni: string): Buffer {
  const name = Buffer.from(sni);
  const list = Buffer.concat([Buffer.from([0, name.length >> 8, name.length & 255]), name]);
  const ext = Buffer.concat([Buffer.from([0, 0, (list.length + 2) >> 8, (list.length + 2) & 255, list.length >> 8, list.length & 255]), list]);
  const body = Buffer.concat([Buffer.from([3, 3]), Buffer.alloc(32, 0x11), Buffer.from([0, 0, 2, 0x13, 0x01, 1, 0, ext.length >> 8, ext.length & 255]), ext]);
  const hs = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 255]), body]);
  return Buffer.concat([Buffer.from([0x16, 3, 1, hs.length >> 8, hs.length & 255]), hs]);
}

/** IPv4 + UDP 10.0.0.1:1000 -> 192.0.2.9:2000 with `n` payload bytes (checksums zero). */
function udpPacket(n: number): Buffer {
  const p = Buffer.alloc(28 + n);
  p[0] = 0x45;
  p.writeUInt16BE(28 + n, 2);
  p[8] = 64;
  p[9] = 17;
  Buffer.from([10, 0, 0, 1, 192, 0, 2, 9]).copy(p, 12);
  p.writeUInt16BE(1000, 20);
  p.writeUInt16BE(2000, 22);
  p.writeUInt16BE(8 + n, 24);
  return p;
}

describe('pcap format detection', () => {
  it.each(ALL)('recognises %s by its magic bytes', (name) => {
    // Act
    const f = detectFormat([], fixture('pcap', name).subarray(0, 64 * 1024));

    // Assess
    expect(f?.name).toBe(name.endsWith('.pcapng') ? 'pcapng' : 'pcap');
  });

  it('does not claim text', () => {
    expect(detectFormat(['ts,src,dst'], Buffer.from('ts,src,dst\n'))?.name).not.toMatch(/^pcap/);
  });
});

describe('pcap reader', () => {
  it.each(ALL)('%s: accounts for every packet, whatever the chunk size', (name) => {
    // Prepare
    const bytes = fixture('pcap', name);

    // Act
    const whole = parseCapture(bytes);
    const small = parseCapture(bytes, 7);
    const single = parseCapture(bytes, 1);

    // Assess
    const s = whole.stats;
    expect(s.packets).toBe(s.inConnections + s.skipped + s.noData);
    expect(s.packets).toBeGreaterThan(0);
    expect(small).toEqual(whole);
    expect(single).toEqual(whole);
  });

  it('reads a big-endian pcap with stacked VLAN tags, names servers by SNI and by DNS', () => {
    // Act
    const p = parseCapture(generated('be-vlan-dns-sni.pcap'));

    // Assess
    expect(p.skips).toEqual([]);
    expect(p.flows.map((f) => [f.line, f.proto, f.origIp, f.origPort, f.respIp, f.respPort, f.hostname])).toEqual([
      [1, 'udp', '192.168.10.2', 40000, '9.9.9.9', 53, null],
      [3, 'tcp', '192.168.10.2', 50000, '93.184.216.34', 443, 'www.example.org'],
      [10, 'tcp', '192.168.10.2', 50001, '93.184.216.35', 8443, 'api.example.com'],
    ]);
    const tls = flowTo(p, '93.184.216.34');
    expect(tls.firstSeenMs).toBe(T0_MS + 100);
    expect(tls.lastSeenMs).toBe(T0_MS + 160);
    expect(flowTo(p, '93.184.216.35')).toMatchObject({ origBytes: 18, respBytes: 19 });
  });

  it('reads nanosecond timestamps and counts ICMP as a connection without ports', () => {
    // Act
    const p = parseCapture(generated('nanosecond.pcap'));

    // Assess
    const udp = flowTo(p, '198.51.100.7');
    expect(udp).toMatchObject({ proto: 'udp', origBytes: 100, respBytes: 40 });
    expect(udp.firstSeenMs).toBeCloseTo(T0_MS + 0.000001, 6);
    expect(udp.lastSeenMs).toBeCloseTo(T0_MS + 0.500003, 6);
    expect(flowTo(p, '8.8.4.4')).toMatchObject({ proto: 'icmp', origPort: -1, respPort: -1, origBytes: 64, respBytes: 64 });
  });

  it('walks IPv6 extension headers and adds later IPv6 fragments to the first one', () => {
    // Act
    const p = parseCapture(generated('ipv6-extensions.pcap'));

    // Assess
    expect(p.skips).toEqual([]);
    expect(flowTo(p, '2001:4860:4860::8888', 7001)).toMatchObject({ origBytes: 30, respBytes: 10 });
    expect(flowTo(p, '2001:4860:4860::8888', 7101)).toMatchObject({ origBytes: 20 });
    expect(flowTo(p, '2a00:1450:4001::1')).toMatchObject({ proto: 'udp', respPort: 7201, origBytes: 3000, line: 11 });
    expect(p.stats.fragments).toBe(3);
  });

  it('adds later IPv4 fragments to the first one and skips a fragment whose first part is missing', () => {
    // Act
    const p = parseCapture(generated('ipv4-fragments.pcap'));

    // Assess
    expect(flowTo(p, '203.0.113.50', 9001)).toMatchObject({ origBytes: 3000, respBytes: 0 });
    expect(p.skips).toEqual([{ line: 4, reason: 'IP fragment without its first fragment', detail: '4 10.2.2.2 203.0.113.51 17 777' }]);
  });

  it('reads null and OpenBSD loopback captures', () => {
    // Act
    const nul = parseCapture(generated('loopback-null.pcap'));
    const loop = parseCapture(generated('loopback-loop.pcap'));

    // Assess
    expect(nul.flows.map((f) => `${f.origIp} -> ${f.respIp}:${f.respPort}`)).toEqual(['127.0.0.1 -> 127.0.0.1:2222', '::1 -> ::1:2223']);
    expect(loop.flows.map((f) => `${f.origIp} -> ${f.respIp}:${f.respPort}`)).toEqual(['127.0.0.1 -> 127.0.0.2:4444', '::1 -> ::2:4445']);
  });

  it('counts a packet cut by the snap length and a file cut inside a packet, and keeps the rest', () => {
    // Act
    const p = parseCapture(generated('truncated.pcap'));

    // Assess
    expect(p.skips.map((s) => [s.line, s.reason])).toEqual([
      [4, 'truncated packet'],
      [8, 'file ends inside a packet'],
    ]);
    expect(p.flows).toHaveLength(1);
    expect(p.flows[0]).toMatchObject({ respIp: '198.51.100.9', origBytes: 19, respBytes: 16 });
  });

  it('reads a pcapng file whose interfaces have different link types', () => {
    // Act
    const p = parseCapture(generated('two-interfaces.pcapng'));

    // Assess
    expect(p.flows.map((f) => [f.line, f.proto, f.respIp, f.hostname])).toEqual([
      [1, 'udp', '1.1.1.1', null],
      [2, 'tcp', '151.101.1.69', 'cdn.example.net'],
    ]);
    expect(p.flows[0]!.firstSeenMs).toBeCloseTo(Date.parse('2023-11-14T22:13:20.000Z') + 0.001, 6);
  });

  it('reads pcapng sections of both byte orders one after the other, with if_tsresol', () => {
    // Prepare
    const bytes = Buffer.concat([pcapngSection(false, udpPacket(5), 1_600_000_000_123), pcapngSection(true, udpPacket(7), 1_600_000_000_456)]);

    // Act
    const p = parseCapture(bytes, 5);

    // Assess
    expect(p.skips).toEqual([]);
    expect(p.flows).toHaveLength(1);
    expect(p.flows[0]).toMatchObject({ line: 1, origIp: '10.0.0.1', respIp: '192.0.2.9', origBytes: 12, firstSeenMs: 1_600_000_000_123, lastSeenMs: 1_600_000_000_456 });
    expect(detectFormat([], bytes)?.name).toBe('pcapng');
  });

  it('fails closed at a garbage pcapng block length: the rest of the capture cannot be found', () => {
    // Prepare: the third packet block (after SHB, 2 IDBs, 2 EPBs) gets length 0x7ffffff3.
    const bytes = Buffer.from(generated('two-interfaces.pcapng'));
    let at = 0;
    for (let i = 0; i < 5; i++) at += bytes.readUInt32LE(at + 4);
    bytes.writeUInt32LE(0x7ffffff3, at + 4);

    // Act + Assess
    expect(() => parseCapture(bytes, 64)).toThrow(
      new InputError('packet 3: bad pcapng block length (2147483635 bytes): the capture cannot be read past packet 2'),
    );
  });

  it('reads captures joined with cat, in any order of pcap and pcapng, byte order and chunk size', () => {
    // Prepare: a little-endian microsecond pcap, a big-endian nanosecond one, pcapng sections.
    const le = pcapFile(true, false, [udpPacket(10)], 1_700_000_000_000);
    const be = pcapFile(false, true, [udpPacket(20), udpPacket(30)], 1_700_000_100_000);
    const ng = pcapngSection(true, udpPacket(40), 1_700_000_200_000);
    const joins: [Buffer[], number][] = [[[le, be], 3], [[be, ng, le], 4], [[ng, le, ng], 3], [[le, le], 2]];
    for (const [parts, packets] of joins) {
      const joined = Buffer.concat(parts);
      for (const chunk of [joined.length, 7, 1]) {
        // Act
        const p = parseCapture(joined, chunk);

        // Assess: every packet of every capture, in one connection
        expect(p.skips).toEqual([]);
        expect(p.stats.packets).toBe(packets);
        expect(p.flows).toHaveLength(1);
      }
    }
    const p = parseCapture(Buffer.concat([le, be, ng]), 5);
    expect(p.flows[0]).toMatchObject({ origBytes: 10 + 20 + 30 + 40, firstSeenMs: 1_700_000_000_000, lastSeenMs: 1_700_000_200_000 });
  });

  it('judges a capture joined with cat on all of it: a second file\'s violation is not lost', async () => {
    // Prepare: US traffic, then a capture of traffic to China (as in `cat us.pcap cn.pcap`).
    const us = pcapFile(true, false, [udpTo(100, [8, 8, 8, 8])], 1_700_000_000_000);
    const cn = pcapFile(true, false, [udpTo(200, [1, 2, 4, 8])], 1_700_000_100_000);

    // Act
    const v = await checkBytes(Buffer.concat([us, cn]));

    // Assess
    expect(v.error).toBeUndefined();
    expect(v.compliant).toBe(false);
    expect(destination(v, '1.2.4.8')).toMatchObject({ status: 'violation', bytesSent: 200 });
    expect(v.totals.skipped).toBe(0);
  });

  it('takes the client for the opener when the capture began after the SYN (a SYN-ACK first, or a server port first)', async () => {
    // Prepare: a laptop with a global IPv6 address and a server in China; the capture starts at
    // the server's SYN-ACK, then the client's ACK, its ClientHello, and the server's answer.
    const client = '2601:646:8d00:1f0::10';
    const server = '2402:4e00::1';
    const hello = clientHello('api.example.cn');
    const packets = [
      tcp6(server, client, 443, 50000, 0x12),
      tcp6(client, server, 50000, 443, 0x10),
      tcp6(client, server, 50000, 443, 0x18, hello, 1),
      tcp6(server, client, 443, 50000, 0x18, Buffer.alloc(3000, 0x53), 1),
    ];
    for (const first of [packets, packets.slice(1)]) {
      // Act
      const v = await checkBytes(pcapFile(true, false, first, 1_700_000_000_000));

      // Assess: the server is the destination, sent and received the right way round, and named
      expect(v.destinations.map((d) => d.ip)).toEqual([server]);
      expect(destination(v, server)).toMatchObject({ status: 'violation', bytesSent: hello.length, bytesReceived: 3000, ports: [443], hostnames: ['api.example.cn'] });
    }
  });

  it('keeps the sender of a first packet for the opener otherwise: a SYN, or ports that say nothing', () => {
    const synFirst = parseCapture(pcapFile(true, false, [tcp6('2001:db8::1', '2001:db8::2', 443, 50000, 0x02)], 1_700_000_000_000));
    expect(synFirst.flows[0]).toMatchObject({ origPort: 443, respPort: 50000 });
    const unknownPorts = parseCapture(pcapFile(true, false, [udpPacket(10)], 1_700_000_000_000));
    expect(unknownPorts.flows[0]).toMatchObject({ origIp: '10.0.0.1', origPort: 1000, respPort: 2000 });
    // A UDP answer from a service port (DNS, QUIC on 443) to an ephemeral one: the receiver asked.
    const answer = udpPacket(10);
    answer.writeUInt16BE(53, 20);
    answer.writeUInt16BE(40000, 22);
    expect(parseCapture(pcapFile(true, false, [answer], 1_700_000_000_000)).flows[0]).toMatchObject({ origIp: '192.0.2.9', origPort: 40000, respIp: '10.0.0.1', respPort: 53 });
  });

  it('reads IP behind a VLAN tag after a Linux cooked header, in PPPoE sessions and under MPLS labels', () => {
    // Prepare: the same UDP packet (10.0.0.1 -> 192.0.2.9, 10 bytes) in each framing.
    const ip = udpPacket(10);
    const sll = (protocol: number, rest: Buffer): Buffer => {
      const h = Buffer.alloc(16);
      h.writeUInt16BE(4, 0); // sent by us
      h.writeUInt16BE(1, 2); // ARPHRD_ETHER
      h.writeUInt16BE(6, 4);
      h.writeUInt16BE(protocol, 14);
      return Buffer.concat([h, rest]);
    };
    const ethernet = (type: number, rest: Buffer): Buffer => {
      const h = Buffer.alloc(14);
      h.writeUInt16BE(type, 12);
      return Buffer.concat([h, rest]);
    };
    const vlanInSll = sll(0x8100, Buffer.concat([Buffer.from([0, 10, 0x08, 0x00]), ip]));
    const pppoe = ethernet(0x8864, Buffer.concat([Buffer.from([0x11, 0, 0x12, 0x34, 0, ip.length + 2, 0x00, 0x21]), ip]));
    const mpls = ethernet(0x8847, Buffer.concat([Buffer.from([0x00, 0x06, 0x40, 0x40, 0x00, 0x06, 0x51, 0x40]), ip]));

    for (const [linkType, frame] of [[113, vlanInSll], [1, pppoe], [1, mpls]] as const) {
      // Act
      const p = parseCapture(withLinkType(pcapFile(true, false, [frame], 1_700_000_000_000), linkType));

      // Assess
      expect(p.noData).toEqual([]);
      expect(p.flows.map((f) => [f.origIp, f.respIp, f.origBytes])).toEqual([['10.0.0.1', '192.0.2.9', 10]]);
    }
  });

  it('fails closed at a record longer than the capture\'s snapshot length allows (a pcap variant with other record headers)', async () => {
    // Prepare: snapshot length 65535; a record claiming 620,883 bytes (as editcap's nokiapcap reads).
    const good = pcapFile(true, false, [udpTo(100, [8, 8, 8, 8])], 1_700_000_000_000);
    good.writeUInt32LE(65535, 16);
    const bad = Buffer.alloc(16);
    bad.writeUInt32LE(620_883, 8);

    // Act
    const v = await checkBytes(Buffer.concat([good, bad, Buffer.alloc(1000)]));

    // Assess
    expect(v.error).toBe('packet 2: bad packet record length (620883 bytes): the capture cannot be read past packet 1');
    // Up to 262,144 bytes (libpcap's own limit) is never refused, whatever the snapshot length says.
    const big = pcapFile(true, false, [udpTo(60_000, [8, 8, 8, 8])], 1_700_000_000_000);
    big.writeUInt32LE(1500, 16);
    expect((await checkBytes(big)).error).toBeUndefined();
  });

  it('names servers from every DNS answer a TCP segment carries (a resolver\'s A and AAAA answers together)', () => {
    // Prepare: one segment from the resolver with two length-prefixed answers, then a
    // connection to each address.
    const a = dnsAnswer('api.tiktokv.com', [1, 2, 4, 8]);
    const aaaa = dnsAnswer('api.tiktokv.com', [0x24, 0x02, 0x4e, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    const prefixed = (m: Buffer): Buffer => Buffer.concat([Buffer.from([m.length >> 8, m.length & 255]), m]);
    const packets = [
      tcp6('2001:db8::53', '2001:db8::10', 53, 40000, 0x18, Buffer.concat([prefixed(a), prefixed(aaaa)])),
      tcp6('2001:db8::10', '2402:4e00::1', 40001, 443, 0x02),
      udpTo(10, [1, 2, 4, 8]),
    ];

    // Act
    const p = parseCapture(pcapFile(true, false, packets, 1_700_000_000_000));

    // Assess
    expect(flowTo(p, '2402:4e00::1').hostname).toBe('api.tiktokv.com');
    expect(flowTo(p, '1.2.4.8').hostname).toBe('api.tiktokv.com');
  });

  it('names a server by every name DNS answered for it, not only the last answer', async () => {
    // Prepare: two answers for one CDN address, then a connection to it.
    const packets = [
      udpFrom53(dnsAnswer('telemetry.vendor-app.com', [170, 106, 1, 1])),
      udpFrom53(dnsAnswer('static.other-site.com', [170, 106, 1, 1])),
      udpTo(10, [170, 106, 1, 1]),
    ];

    // Act
    const capture = pcapFile(true, false, packets, 1_700_000_000_000);
    const p = parseCapture(capture);
    const v = await checkBytes(capture);

    // Assess
    expect(flowTo(p, '170.106.1.1')).toMatchObject({ hostname: 'static.other-site.com', otherHostnames: ['telemetry.vendor-app.com', 'static.other-site.com'] });
    expect(destination(v, '170.106.1.1').hostnames).toEqual(['static.other-site.com', 'telemetry.vendor-app.com']);
  });

  it('weighs skipped packets against the packets read into connections, not against connections', async () => {
    // Prepare: 4,000 packets of one UDP conversation, and 1,500 packets cut inside their IPv4
    // header (skipped as they are read), more than the limit of 1,000 skipped records, past the
    // first chunks that format detection reads.
    const packets: Buffer[] = [];
    for (let i = 0; i < 4000; i++) {
      packets.push(udpTo(10, [8, 8, 8, 8]));
      if (i % 2 === 0 && i / 2 < 1500) packets.push(udpTo(10, [8, 8, 4, 4]).subarray(0, 12));
    }
    const capture = pcapFile(true, false, packets, 1_700_000_000_000);

    // Act
    const v = await checkBytes(capture, { maxSkippedRecords: 1000 }, 4096);

    // Assess: read to the end, not "unreadable" for want of connections while reading.
    expect(v.error).toBeUndefined();
    expect(v.totals.skipped).toBe(1500);
    expect(destination(v, '8.8.8.8').connections).toBe(1);
  });

  it('skips frames it cannot open (MACsec, E-Tag), so that a capture of nothing else cannot pass; ARP and LLDP carry no data', async () => {
    // Prepare: Ethernet frames; IPv4 to 114.114.114.114 (CN) behind types this reader does not open.
    const ether = (type: number, payload: Buffer): Buffer => {
      const head = Buffer.alloc(14);
      head.writeUInt16BE(type, 12);
      return Buffer.concat([head, payload]);
    };
    const ip = udpTo(100, [114, 114, 114, 114]);
    const hidden = [ether(0x88e5, Buffer.concat([Buffer.alloc(16), ip])), ether(0x893f, Buffer.concat([Buffer.alloc(6), Buffer.from([0x08, 0x00]), ip]))];
    const control = [ether(0x0806, Buffer.alloc(28)), ether(0x88cc, Buffer.alloc(20))];

    // Act
    const onlyHidden = await checkBytes(withLinkType(pcapFile(true, false, [...hidden, ...hidden], 1_700_000_000_000), 1));
    // An ARP frame beside them is no traffic read: still nothing checked.
    const hiddenAndArp = await checkBytes(withLinkType(pcapFile(true, false, [control[0]!, ...hidden, ...hidden], 1_700_000_000_000), 1));
    const mixed = parseCapture(withLinkType(pcapFile(true, false, [...control, ...hidden, ether(0x0800, udpTo(10, [8, 8, 8, 8]))], 1_700_000_000_000), 1));

    // Assess
    expect(onlyHidden.compliant).toBe(false);
    expect(onlyHidden.error).toMatch(/^none of the 4 records could be read as pcap \(first problem: line 1: unsupported encapsulation: "ethertype 0x88e5"\)$/);
    expect(hiddenAndArp.compliant).toBe(false);
    expect(hiddenAndArp.error).toMatch(/^none of the 5 records could be read as pcap \(first problem: line 2: unsupported encapsulation: "ethertype 0x88e5"\)$/);
    expect(mixed.skips.map((s) => [s.line, s.reason, s.detail])).toEqual([
      [3, 'unsupported encapsulation', 'ethertype 0x88e5'],
      [4, 'unsupported encapsulation', 'ethertype 0x893f'],
    ]);
    expect(mixed.noData.map((n) => n.line)).toEqual([1, 2]);
    expect(mixed.flows.map((f) => f.respIp)).toEqual(['8.8.8.8']);
  });

  it('reads the link type under the FCS bits libpcap may set in the header (Ethernet, FCS length known)', () => {
    const ether = Buffer.concat([Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00]), udpTo(100, [8, 8, 8, 8])]);
    const p = parseCapture(withLinkType(pcapFile(true, false, [ether], 1_700_000_000_000), 0x24000001));
    expect(p.skips).toEqual([]);
    expect(p.flows.map((f) => [f.respIp, f.origBytes])).toEqual([['8.8.8.8', 100]]);
  });

  it('takes a connection begun before the capture to the server on an unlisted port, not to the phone (its port is ephemeral)', async () => {
    // Prepare: a download already running: the server (CN, port 4070) sends, the phone (port 51000) ACKs.
    const phone = '2a01:e0a:1:2::10';
    const server = '240e:83:205:1::1';
    const packets: Buffer[] = [];
    for (let i = 0; i < 5; i++) {
      packets.push(tcp6(server, phone, 4070, 51000, 0x18, Buffer.alloc(1400, 1), 1000 + i * 1400));
      packets.push(tcp6(phone, server, 51000, 4070, 0x10, Buffer.alloc(0), 77));
    }

    // Act
    const v = await checkBytes(pcapFile(true, false, packets, 1_700_000_000_000), { policy: policyOf('us') });

    // Assess
    expect(v.destinations.map((d) => [d.ip, d.status, d.bytesReceived, d.ports])).toEqual([[server, 'violation', 7000, [4070]]]);
  });

  it('keeps the sender of a UDP flow\'s first datagram as its opener, whatever its port (RTP from 16384)', () => {
    const rtp = udpPacket(160);
    rtp.writeUInt16BE(16384, 20);
    rtp.writeUInt16BE(40000, 22);
    const p = parseCapture(pcapFile(true, false, [rtp], 1_700_000_000_000));
    expect(p.flows.map((f) => [f.origPort, f.respIp, f.respPort])).toEqual([[16384, '192.0.2.9', 40000]]);
  });

  it('reads the server name of a ClientHello sent in the SYN (TCP Fast Open)', () => {
    const hello = clientHello('tfo.example.com');
    const p = parseCapture(
      pcapFile(true, false, [tcp6('2001:db8::1', '2a00:1450:4001::1', 51000, 443, 0x02, hello, 5000), tcp6('2a00:1450:4001::1', '2001:db8::1', 443, 51000, 0x12, Buffer.alloc(0), 9000)], 1_700_000_000_000),
    );
    expect(p.flows.map((f) => [f.respIp, f.hostname])).toEqual([['2a00:1450:4001::1', 'tfo.example.com']]);
  });

  it('counts TCP data once however often it was sent or captured, and data the capture missed between segments', () => {
    const [c, s] = ['2001:db8::1', '2a00:1450:4001::1'];
    const data = Buffer.alloc(1000, 7);
    const packets = [
      tcp6(c, s, 51000, 443, 0x02, Buffer.alloc(0), 100),
      tcp6(s, c, 443, 51000, 0x12, Buffer.alloc(0), 900),
      // 1000 bytes, then sent three times more (retransmissions), and once captured twice.
      ...[0, 1, 2, 3, 4].map(() => tcp6(c, s, 51000, 443, 0x18, data, 101)),
      // 300 bytes the capture missed (seq 1101-1400), then 100 more.
      tcp6(c, s, 51000, 443, 0x18, Buffer.alloc(100, 1), 1401),
      tcp6(s, c, 443, 51000, 0x18, Buffer.alloc(50, 2), 901),
      // After the data, a FIN and its ACK (one past the data): nothing more.
      tcp6(c, s, 51000, 443, 0x11, Buffer.alloc(0), 1501),
      tcp6(c, s, 51000, 443, 0x10, Buffer.alloc(0), 1502),
    ];
    const p = parseCapture(pcapFile(true, false, packets, 1_700_000_000_000));
    expect(p.flows.map((f) => [f.respIp, f.origBytes, f.respBytes])).toEqual([[s, 1400, 50]]);
  });

  it('takes a SYN on the ports of a connection that ended for another connection (ports used again)', () => {
    const [c, s] = [OPENER, SERVER];
    const session = (isn: number, n: number): Buffer[] => [
      ...opened(isn, n),
      tcp6(c, s, 51000, 443, 0x11, Buffer.alloc(0), isn + 1 + n),
      tcp6(s, c, 443, 51000, 0x11, Buffer.alloc(0), 5001),
    ];
    const p = parseCapture(pcapFile(true, false, [...session(100, 300), ...session(90_000, 30)], 1_700_000_000_000));
    expect(p.flows.map((f) => [f.line, f.origBytes])).toEqual([
      [1, 300],
      [6, 30],
    ]);
  });

  it('adds fragments that came before their first fragment to its connection, and skips those whose first never came', () => {
    // A 3000-byte UDP datagram (2992 bytes of data) in three IPv4 fragments, sent last first.
    const datagram = Buffer.alloc(3000, 5);
    datagram.writeUInt16BE(40000, 0);
    datagram.writeUInt16BE(443, 2);
    datagram.writeUInt16BE(3000, 4);
    const fragment = (id: number, offset: number, data: Buffer, more: boolean): Buffer => ipv4Fragment(17, id, offset, data, more);
    const parts = [fragment(7, 0, datagram.subarray(0, 1480), true), fragment(7, 1480, datagram.subarray(1480, 2960), true), fragment(7, 2960, datagram.subarray(2960), false)];
    const lost = fragment(8, 1480, datagram.subarray(1480, 2960), false);
    const p = parseCapture(pcapFile(true, false, [parts[2]!, parts[1]!, lost, parts[0]!], 1_700_000_000_000));
    expect(p.flows.map((f) => [f.respIp, f.origBytes])).toEqual([['8.8.8.8', 2992]]);
    expect(p.skips.map((k) => [k.line, k.reason])).toEqual([[3, 'IP fragment without its first fragment']]);
  });

  it('takes a SYN with another sequence number on a connection\'s ports for another connection, though its end was not captured', () => {
    const [c, s] = [OPENER, SERVER];
    const open = opened;
    // The first connection's FIN was not captured; a retransmitted SYN is the same connection.
    const p = parseCapture(pcapFile(true, false, [...open(3_000_000_000, 1000), ...open(100, 500), tcp6(c, s, 51000, 443, 0x02, Buffer.alloc(0), 100)], 1_700_000_000_000));
    expect(p.flows.map((f) => [f.line, f.origBytes])).toEqual([
      [1, 1000],
      [4, 500],
    ]);
  });

  it('counts a fragmented TCP segment once, its retransmission not again', () => {
    // A TCP segment of 3000 bytes of data in two IPv4 fragments (20 + 1460, then 1540), sent twice, then 1000 bytes more.
    const segment = (seq: number, n: number): Buffer => {
      const tcp = Buffer.alloc(20 + n, 3);
      tcp.writeUInt16BE(51000, 0);
      tcp.writeUInt16BE(443, 2);
      tcp.writeUInt32BE(seq, 4);
      tcp[12] = 5 << 4;
      tcp[13] = 0x18;
      return tcp;
    };
    const ip4 = (id: number, offset: number, data: Buffer, more: boolean): Buffer => ipv4Fragment(6, id, offset, data, more);
    const big = segment(1000, 3000);
    const fragments = (id: number): Buffer[] => [ip4(id, 0, big.subarray(0, 1480), true), ip4(id, 1480, big.subarray(1480), false)];
    const p = parseCapture(pcapFile(true, false, [...fragments(1), ...fragments(2), ip4(3, 0, segment(4000, 1000), false)], 1_700_000_000_000));
    expect(p.flows.map((f) => [f.respIp, f.origBytes])).toEqual([['8.8.8.8', 4000]]);
  });

  it('fails closed at a pcap record length no packet has', async () => {
    // Prepare: one good packet, then a record header claiming 0x70000000 bytes.
    const good = pcapFile(true, false, [udpTo(100, [8, 8, 8, 8])], 1_700_000_000_000);
    const bad = Buffer.alloc(16);
    bad.writeUInt32LE(0x70000000, 8);

    // Act
    const v = await checkBytes(Buffer.concat([good, bad, Buffer.alloc(64)]));

    // Assess
    expect(v.compliant).toBe(false);
    expect(v.error).toBe('packet 2: bad packet record length (1879048192 bytes): the capture cannot be read past packet 1');
    // What was read before it is listed.
    expect(v.destinations.map((d) => [d.ip, d.bytesSent])).toEqual([['8.8.8.8', 100]]);
  });

  it('says so when the bytes are not a capture', () => {
    expect(parseCapture(Buffer.from('hello world, not a capture')).skips).toEqual([
      { line: 1, reason: 'not a pcap or pcapng file', detail: 'magic 0x68656c6c' },
    ]);
  });

  it('reports ARP and other non-IP frames as records without a connection', () => {
    // Act
    const p = parseCapture(fixture('pcap', 'zeek-linux-sll2.pcap'));

    // Assess
    expect(p.noData).toHaveLength(2);
    expect(p.flows.map((f) => f.proto)).toEqual(['icmp', 'icmpv6']);
  });
});

describe('pcap reader: QUIC', () => {
  it('names a QUIC v1 connection by the SNI of its client Initial, not by the server\'s answer', () => {
    // Act
    const p = parseCapture(generated('quic-v1-initial.pcap'));

    // Assess
    expect(p.skips).toEqual([]);
    expect(p.flows.map((f) => [f.line, f.proto, f.origIp, f.origPort, f.respIp, f.respPort, f.hostname])).toEqual([
      [1, 'udp', '192.168.20.2', 52000, '198.51.100.20', 443, 'quic.example.com'],
    ]);
  });

  it('puts a ClientHello split over two Initials, its CRYPTO frames out of order, back together', () => {
    // Act
    const p = parseCapture(generated('quic-v1-split-reordered.pcap'));

    // Assess
    expect(p.skips).toEqual([]);
    expect(flowTo(p, '2001:db8:4433::20', 443)).toMatchObject({ proto: 'udp', hostname: 'split.quic.example.org', origBytes: 2400 });
  });

  it('names a QUIC v2 connection on a port other than 443', () => {
    // Act
    const p = parseCapture(generated('quic-v2-initial.pcap'));

    // Assess
    expect(flowTo(p, '203.0.113.30', 4433).hostname).toBe('v2.quic.example.net');
  });

  it('gives no name to garbage, to an Initial with a random or corrupted payload, or to a cut Initial', () => {
    // Act
    const p = parseCapture(generated('quic-malformed.pcap'));

    // Assess
    expect(p.skips).toEqual([]);
    expect(p.flows.map((f) => [f.respIp, f.respPort, f.hostname])).toEqual([
      ['203.0.113.40', 443, null],
      ['203.0.113.41', 443, null],
      ['203.0.113.42', 443, null],
      ['203.0.113.43', 443, null],
    ]);
  });
});

/**
 * A classic pcap (microseconds, little-endian) of Ethernet frames, written as PCAPdroid's "pcap
 * with trailer" writes them (emanuele-f/PCAPdroid pcap_dump.c): a made-up Ethernet header, the IP
 * packet, zeros to a 4-byte boundary, then the trailer: magic 0x01072021, UID and a 20-byte app
 * name, big-endian, and a CRC (left zero: readers do not check it).
 */
function pcapdroidTrailerCapture(packets: { ip: Buffer; uid?: number; app?: string }[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(1, 20);
  const records = packets.map(({ ip, uid, app }, i) => {
    const eth = Buffer.alloc(14);
    eth.writeUInt16BE(0x0800, 12);
    let frame = Buffer.concat([eth, ip]);
    if (uid !== undefined) {
      const pad = Buffer.alloc((4 - (frame.length % 4)) % 4);
      const trailer = Buffer.alloc(32);
      trailer.writeUInt32BE(0x01072021, 0);
      trailer.writeInt32BE(uid, 4);
      trailer.write(app ?? '', 8, 19, 'utf8');
      frame = Buffer.concat([frame, pad, trailer]);
    }
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1_700_000_000 + i, 0);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    return Buffer.concat([rec, frame]);
  });
  return Buffer.concat([head, ...records]);
}

/** `udpPacket(n)` sent to another address. */
/** IPv4 + UDP from a resolver (192.0.2.53:53) to 10.0.0.1:40000, carrying `payload`. */
function udpFrom53(payload: Buffer): Buffer {
  const p = udpPacket(payload.length);
  Buffer.from([192, 0, 2, 53, 10, 0, 0, 1]).copy(p, 12);
  p.writeUInt16BE(53, 20);
  p.writeUInt16BE(40000, 22);
  payload.copy(p, 28);
  return p;
}

function udpTo(n: number, dst: number[]): Buffer {
  const p = udpPacket(n);
  Buffer.from(dst).copy(p, 16);
  return p;
}

describe('pcap reader: PCAPdroid pcapng with app information', () => {
  it('names each connection\'s app from the UID mapping blocks and the packets\' u-<uid> comments', () => {
    // Prepare: as PCAPdroid's pcap_dump.c writes it: SHB, IDB (raw IP), a custom block (PEN 62652,
    // version 1, type 1: UID 10123 -> com.android.chrome / Chrome), EPBs whose comment names the UID.
    const le = true;
    const w16 = (v: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b; };
    const w32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
    const shb = block(0x0a0d0d0a, Buffer.concat([w32(0x1a2b3c4d), w16(1), w16(0), Buffer.alloc(8, 0xff)]), le);
    const idb = block(1, Buffer.concat([w16(101), w16(0), w32(65535)]), le);
    const pkg = Buffer.from('com.android.chrome');
    const app = Buffer.from('Chrome');
    const mapping = block(0x00000bad, Buffer.concat([w32(62652), w16(1), Buffer.from([1, 0]), w32(10123), Buffer.from([pkg.length, app.length]), pkg, app]), le);
    const epb = (packet: Buffer, comment: string): Buffer => {
      const text = Buffer.from(comment);
      const padded = Buffer.concat([packet, Buffer.alloc((4 - (packet.length % 4)) % 4)]);
      const option = Buffer.concat([w16(1), w16(text.length), text, Buffer.alloc((4 - (text.length % 4)) % 4), w32(0)]);
      return block(6, Buffer.concat([w32(0), w32(0), w32(1_700_000_000), w32(packet.length), w32(packet.length), padded, option]), le);
    };

    // Act
    const p = parseCapture(Buffer.concat([shb, idb, mapping, epb(udpTo(100, [8, 8, 8, 8]), 'u-10123'), epb(udpTo(50, [1, 1, 1, 1]), 'u-999')]));

    // Assess
    expect(p.skips).toEqual([]);
    expect(p.flows.map((f) => [f.respIp, f.app, f.origBytes])).toEqual([
      ['8.8.8.8', 'com.android.chrome', 100],
      ['1.1.1.1', 'uid 999', 50],
    ]);
  });
});

describe('pcap reader: PCAPdroid captures with the app trailer', () => {
  it('names each connection\'s app from the trailer and counts only the IP packet\'s bytes', () => {
    // Act
    const p = parseCapture(
      pcapdroidTrailerCapture([
        { ip: udpTo(100, [1, 2, 4, 8]), uid: 10123, app: 'com.example.drone' },
        { ip: udpTo(57, [1, 2, 4, 8]), uid: 10123, app: 'com.example.drone' },
        { ip: udpTo(10, [8, 8, 8, 8]), uid: 10200, app: '???' },
        { ip: udpTo(10, [9, 9, 9, 9]) },
      ]),
    );

    // Assess
    expect(p.skips).toEqual([]);
    expect(flowTo(p, '1.2.4.8')).toMatchObject({ app: 'com.example.drone', origBytes: 157 });
    expect(flowTo(p, '8.8.8.8')).toMatchObject({ app: 'uid 10200', origBytes: 10 });
    expect(flowTo(p, '9.9.9.9')).toMatchObject({ app: null, origBytes: 10 });
  });

  it('lists the app on the destination in the verdict', async () => {
    const v = await checkBytes(pcapdroidTrailerCapture([{ ip: udpTo(100, [1, 2, 4, 8]), uid: 10123, app: 'com.example.drone' }]));
    expect(v.input.format).toBe('pcap');
    expect(destination(v, '1.2.4.8')).toMatchObject({ apps: ['com.example.drone'], bytesSent: 100 });
  });
});

describe('pcap through runCheck', () => {
  it('detects the format and names a destination from a DNS answer in the capture', async () => {
    // Act
    const v = await checkBytes(fixture('pcap', 'zeek-teredo.pcap'), {}, 1000);

    // Assess
    expect(v.input.format).toBe('pcap');
    expect(v.input.formatSource).toBe('detected');
    const web = destination(v, '67.228.110.120');
    expect(web.hostnames).toEqual(['www.wireshark.org']);
    expect(web.bytesSent).toBe(469);
    expect(web.bytesReceived).toBe(3916);
    expect(destination(v, '83.170.1.38').connections).toBe(1);
  });

  it('carries SNI and DNS names of a generated capture into the verdict', async () => {
    // Act
    const v = await checkBytes(generated('be-vlan-dns-sni.pcap'), {}, 100);

    // Assess
    expect(destination(v, '93.184.216.34').hostnames).toEqual(['www.example.org']);
    expect(destination(v, '93.184.216.35').hostnames).toEqual(['api.example.com']);
  });

  it('carries the SNI of a QUIC Initial into the verdict', async () => {
    // Act
    const v = await checkBytes(generated('quic-v1-split-reordered.pcap'), {}, 100);

    // Assess
    expect(destination(v, '2001:db8:4433::20').hostnames).toEqual(['split.quic.example.org']);
  });
});
