import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ethernet, ipv4, pcapngBlock, pcapOf, pktap, tcp, udp } from '../../helpers/capture-builders';
import { tempDir } from '../../helpers/cli';
import { checkBytes, destination, policyOf } from '../../helpers/engine';
import { readCapture } from './harness';

const read = readCapture;

/** tshark's fields of each packet of `capture`, tab-separated, one line a packet. */
function tsharkFields(capture: Buffer, fields: string[]): string[] {
  const file = join(tempDir(), 'capture.pcap');
  writeFileSync(file, capture);
  const r = spawnSync('tshark', ['-n', '-r', file, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  if (r.error) throw new Error(`tshark is required for this test (.ci/run installs it): ${r.error.message}`);
  return r.stdout.replace(/\n$/, '').split('\n');
}

/**
 * The two packets the PPP and Wi-Fi cases carry, a DNS query of 30 bytes to 8.8.8.8 and 500 bytes
 * of TCP to 77.88.8.8: read as tshark reads them, and the second a violation.
 */
async function expectDnsAndWeb(capture: Buffer): Promise<void> {
  const { flows, skips } = read(capture);
  expect(skips).toEqual([]);
  expect(flows.map((f) => [f.respIp, f.respPort, f.origBytes])).toEqual([
    ['8.8.8.8', 53, 30],
    ['77.88.8.8', 443, 500],
  ]);
  expect(tsharkFields(capture, ['ip.dst', 'udp.length', 'tcp.len'])).toEqual(['8.8.8.8\t38\t', '77.88.8.8\t\t500']);
  const v = await checkBytes(capture, { policy: policyOf('us') });
  expect(destination(v, '77.88.8.8')).toMatchObject({ status: 'violation', bytesSent: 500 });
}

describe('pcap reader: Apple PKTAP (macOS tcpdump -i any, an iPhone through rvictl)', () => {
  // An iPhone's capture through its Remote Virtual Interface: raw IP (DLT 12) under each header,
  // the app's process named; a download nsurlsessiond made for the app names the app as the
  // effective process; a packet of the phone's own daemon; a Mac's Ethernet interface.
  const packets = [
    pktap(12, ipv4(6, '10.0.0.2', '1.2.4.8', tcp(50000, 443, 0x02, 10)), { comm: 'DJI GO 4', ifname: 'pdp_ip0' }),
    pktap(12, ipv4(6, '1.2.4.8', '10.0.0.2', tcp(443, 50000, 0x12, 90)), { comm: 'DJI GO 4', ifname: 'pdp_ip0' }),
    pktap(12, ipv4(6, '10.0.0.2', '1.2.4.8', tcp(50000, 443, 0x18, 11, Buffer.alloc(700, 1))), { comm: 'DJI GO 4', ifname: 'pdp_ip0' }),
    pktap(12, ipv4(6, '10.0.0.2', '8.8.4.4', tcp(50001, 443, 0x18, 20, Buffer.alloc(300, 2))), { comm: 'nsurlsessiond', ecomm: 'DJI GO 4', ifname: 'en0' }),
    pktap(12, ipv4(17, '10.0.0.2', '8.8.8.8', udp(5353, 53, Buffer.alloc(40, 3))), { comm: 'mDNSResponder', ifname: 'en0' }),
    pktap(1, ethernet(ipv4(17, '192.168.1.20', '77.88.8.8', udp(40000, 53, Buffer.alloc(25, 4)))), { ifname: 'en0' }),
  ];
  const capture = pcapOf(258, packets);

  it('reads the packet under each header in its own link type, and names the app of each connection', async () => {
    // Act
    const { flows, skips, stats } = read(capture);
    const v = await checkBytes(capture, { policy: policyOf('us') });

    // Assess
    expect(skips).toEqual([]);
    expect(stats).toMatchObject({ packets: 6, inConnections: 6, skipped: 0, noData: 0 });
    expect(flows.map((f) => [f.respIp, f.respPort, f.origBytes, f.app])).toEqual([
      ['1.2.4.8', 443, 700, 'DJI GO 4'],
      ['8.8.4.4', 443, 300, 'DJI GO 4'],
      ['8.8.8.8', 53, 40, 'mDNSResponder'],
      ['77.88.8.8', 53, 25, null],
    ]);
    expect(destination(v, '1.2.4.8')).toMatchObject({ status: 'violation', bytesSent: 700, apps: ['DJI GO 4'] });
    expect(destination(v, '77.88.8.8')).toMatchObject({ status: 'violation', country: 'RU', bytesSent: 25 });
  });

  it('agrees with tshark on the headers: the process names and the packets under them', () => {
    const theirs = tsharkFields(capture, ['pktap.cmdname', 'pktap.ecmdname', 'ip.dst', 'tcp.len', 'udp.length']);
    const { flows } = read(capture);
    // Per packet: the name this reader gives its connection is the effective name, else the name.
    const names = theirs.map((line) => {
      const [comm, ecomm] = line.split('\t');
      return ecomm || comm || null;
    });
    expect(names).toEqual(['DJI GO 4', 'DJI GO 4', 'DJI GO 4', 'DJI GO 4', 'mDNSResponder', null]);
    expect(theirs.map((line) => line.split('\t')[2])).toEqual(['1.2.4.8', '10.0.0.2', '1.2.4.8', '8.8.4.4', '8.8.8.8', '77.88.8.8']);
    expect(flows.map((f) => f.app)).toEqual([names[0], names[3], names[4], names[5]]);
  });

  it('skips what is not a packet under a header, and a header that cannot be right, counted', () => {
    const ok = ipv4(17, '10.0.0.2', '8.8.8.8', udp(5353, 53, Buffer.alloc(4)));
    const short = pktap(12, ok).subarray(0, 100);
    const notPacket = pktap(12, ok, { type: 2 });
    const nested = pktap(258, pktap(12, ok));
    const badLength = Buffer.from(pktap(12, ok));
    badLength.writeUInt32LE(8, 0);
    const { skips, stats } = read(pcapOf(258, [short, notPacket, nested, badLength]));
    expect(skips).toEqual([
      { line: 1, reason: 'truncated packet', detail: '100 bytes captured, PKTAP header cut short' },
      // Another type of record (xnu's drop records) may stand for traffic.
      { line: 2, reason: 'unsupported encapsulation', detail: 'PKTAP record type 2' },
      { line: 3, reason: 'unsupported link type', detail: 'PKTAP carrying 258' },
      { line: 4, reason: 'bad PKTAP header', detail: 'header length 8' },
    ]);
    expect(stats).toMatchObject({ packets: 4, skipped: 4, noData: 0, inConnections: 0 });
    // DLT 149 is PKTAP on a Mac; elsewhere a user-defined link type, refused as such.
    const user = Buffer.alloc(40, 0xee);
    expect(read(pcapOf(149, [pktap(12, ok, { comm: 'curl' }), user])).skips).toEqual([{ line: 2, reason: 'unsupported link type', detail: '149' }]);
    expect(read(pcapOf(149, [pktap(12, ok, { comm: 'curl' })])).flows.map((f) => f.app)).toEqual(['curl']);
  });
});

/** A little-endian pcapng option: code, length, value padded to 4 bytes. */
function option(code: number, value: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16LE(code, 0);
  head.writeUInt16LE(value.length, 2);
  return Buffer.concat([head, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
}
const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};
const u16 = (v: number): Buffer => u32(v).subarray(0, 2);

/**
 * A section of pcapng as macOS tcpdump writes it from PKTAP (Apple libpcap's pcap_ng_dump_pktap):
 * an interface (raw IP, with its name), a Darwin process block (0x80000001: pid, name option 2)
 * per process, and each packet with its process's and effective process's numbers (options
 * 0x8001, 0x8003) and its direction (epb_flags).
 */
function appleSection(procs: string[], packets: { packet: Buffer; proc?: number; effective?: number }[]): Buffer {
  const shb = pcapngBlock(0x0a0d0d0a, Buffer.concat([u32(0x1a2b3c4d), u16(1), u16(0), Buffer.alloc(8, 0xff)]), true);
  const idb = pcapngBlock(1, Buffer.concat([u16(101), u16(0), u32(0), option(2, Buffer.from('pdp_ip0')), u32(0)]), true);
  const dpibs = procs.map((name, i) => pcapngBlock(0x80000001, Buffer.concat([u32(400 + i), option(2, Buffer.from(name)), u32(0)]), true));
  const epbs = packets.map(({ packet, proc, effective }, i) => {
    const options = Buffer.concat([
      option(2, u32(2)),
      ...(proc === undefined ? [] : [option(0x8001, u32(proc))]),
      ...(effective === undefined ? [] : [option(0x8003, u32(effective))]),
      u32(0),
    ]);
    const padded = Buffer.concat([packet, Buffer.alloc((4 - (packet.length % 4)) % 4)]);
    return pcapngBlock(6, Buffer.concat([u32(0), u32(395), u32(1_000_000 * i), u32(packet.length), u32(packet.length), padded, options]), true);
  });
  return Buffer.concat([shb, idb, ...dpibs, ...epbs]);
}

describe("pcap reader: macOS tcpdump's pcapng (Darwin process blocks)", () => {
  const web = (dst: string, port: number, n: number): Buffer => ipv4(6, '10.0.0.2', dst, tcp(port, 443, 0x18, 1, Buffer.alloc(n, 1)));
  const capture = Buffer.concat([
    appleSection(
      ['DJI GO 4', 'nsurlsessiond', 'mDNSResponder'],
      [
        { packet: web('1.2.4.8', 50000, 700), proc: 0 },
        { packet: web('8.8.4.4', 50001, 300), proc: 1, effective: 0 },
        { packet: ipv4(17, '10.0.0.2', '8.8.8.8', udp(5353, 53, Buffer.alloc(40))), proc: 2 },
        { packet: web('9.9.9.9', 50002, 10) },
      ],
    ),
    // A second section numbers its process blocks from 0 again.
    appleSection(['Safari'], [{ packet: web('77.88.8.8', 50003, 50), proc: 0 }, { packet: web('77.88.8.9', 50004, 60), proc: 7 }]),
  ]);

  it("names each connection's app from the process blocks, the effective process first", async () => {
    const { flows, skips, stats } = read(capture);
    expect(skips).toEqual([]);
    expect(stats).toMatchObject({ packets: 6, inConnections: 6 });
    expect(flows.map((f) => [f.respIp, f.origBytes, f.app])).toEqual([
      ['1.2.4.8', 700, 'DJI GO 4'],
      ['8.8.4.4', 300, 'DJI GO 4'],
      ['8.8.8.8', 40, 'mDNSResponder'],
      ['9.9.9.9', 10, null],
      ['77.88.8.8', 50, 'Safari'],
      // A number with no process block: no app, not another section's.
      ['77.88.8.9', 60, null],
    ]);
    const v = await checkBytes(capture, { policy: policyOf('us') });
    expect(destination(v, '1.2.4.8')).toMatchObject({ status: 'violation', apps: ['DJI GO 4'] });
  });

  it('keeps no process name past 255 characters', () => {
    const long = appleSection(['x'.repeat(5000)], [{ packet: web('1.2.4.8', 50000, 1), proc: 0 }]);
    expect(read(long).flows[0]!.app).toBe('x'.repeat(255));
  });

  it('is a capture tshark reads: the same packets, and the process numbers it sees', () => {
    expect(tsharkFields(capture, ['ip.dst', 'tcp.len'])).toEqual(['1.2.4.8\t700', '8.8.4.4\t300', '8.8.8.8\t', '9.9.9.9\t10', '77.88.8.8\t50', '77.88.8.9\t60']);
    // Wireshark dissects the file's own blocks too: the packets' process numbers.
    const file = join(tempDir(), 'apple.pcapng');
    writeFileSync(file, capture);
    const r = spawnSync('tshark', ['-n', '-r', file, '-X', 'read_format:MIME Files Format', '-T', 'fields', '-e', 'pcapng.options.option.data.packet.darwin.dpeb_id', '-e', 'pcapng.options.option.data.packet.darwin.edpeb_id'], { encoding: 'utf8' });
    expect(r.stdout.split('\n').filter((l) => /\d/.test(l))).toEqual(['0,1,2,0,7\t0']);
  });
});

describe('pcap reader: PPP and Cisco HDLC links', () => {
  const hex = (s: string): Buffer => Buffer.from(s.replace(/ /g, ''), 'hex');
  const dns = ipv4(17, '100.64.0.7', '8.8.8.8', udp(40000, 53, Buffer.alloc(30, 1)));
  const web = ipv4(6, '100.64.0.7', '77.88.8.8', tcp(50000, 443, 0x18, 1, Buffer.alloc(500, 2)));

  it.each([
    // BSD's ppp0 (DLT_PPP): HDLC-like framing, and without it (address and control compressed away).
    ['PPP', 9, [Buffer.concat([hex('ff03 0021'), dns]), Buffer.concat([hex('0021'), web])]],
    // Protocol-field compression: one byte for IPv4.
    ['PPP, compressed protocol', 9, [Buffer.concat([hex('ff03 21'), dns]), Buffer.concat([hex('21'), web])]],
    ['PPP in HDLC-like framing', 50, [Buffer.concat([hex('ff03 0021'), dns]), Buffer.concat([hex('ff03 0021'), web])]],
    // Cisco HDLC (a router's serial link): unicast 0x0f, broadcast 0x8f, then an Ethertype.
    ['Cisco HDLC', 104, [Buffer.concat([hex('0f00 0800'), dns]), Buffer.concat([hex('8f00 0800'), web])]],
    ['Cisco HDLC in a PPP_HDLC capture', 50, [Buffer.concat([hex('0f00 0800'), dns]), Buffer.concat([hex('0f00 0800'), web])]],
  ] as const)('%s (%d): the IP packets, as tshark reads them', async (_name, linkType, frames) => {
    await expectDnsAndWeb(pcapOf(linkType, [...frames]));
  });

  it('counts PPP control frames as frames without data, and skips what it cannot read', () => {
    const lcp = hex('ff03 c021 0101 0004');
    const ipcp = hex('8021 0101 0004');
    const mppe = hex('ff03 00fd 90a1b2c3');
    const { skips, stats } = read(pcapOf(9, [lcp, ipcp, mppe]));
    expect(stats).toMatchObject({ packets: 3, noData: 2, skipped: 1 });
    expect(skips).toEqual([{ line: 3, reason: 'unsupported encapsulation', detail: 'PPP protocol 0x00fd' }]);
    expect(read(pcapOf(104, [hex('ff03 0021 4500')])).skips).toEqual([{ line: 1, reason: 'unsupported link type', detail: '104 with address 0xff' }]);
    expect(read(pcapOf(104, [hex('0f00')])).skips).toEqual([{ line: 1, reason: 'truncated packet', detail: '2 bytes captured, Cisco HDLC header cut short' }]);
    expect(read(pcapOf(104, [Buffer.alloc(0), hex('0f00 0800')])).skips[0]).toEqual({ line: 1, reason: 'truncated packet', detail: '0 bytes captured, Cisco HDLC header cut short' });
  });
});

describe('pcap reader: Wi-Fi (802.11, radiotap, PPI)', () => {
  const hex = (s: string): Buffer => Buffer.from(s.replace(/ /g, ''), 'hex');
  const snap = hex('aaaa03 000000 0800');
  const macs = hex('020000000001 020000000002 020000000003 0000');
  // A data frame to the access point (ToDS), and a QoS data frame (subtype 8: two bytes of QoS control).
  const data = (packet: Buffer): Buffer => Buffer.concat([hex('0801 0000'), macs, snap, packet]);
  const qos = (packet: Buffer): Buffer => Buffer.concat([hex('8801 0000'), macs, hex('0000'), snap, packet]);
  const dns = ipv4(17, '192.168.1.20', '8.8.8.8', udp(40000, 53, Buffer.alloc(30, 1)));
  const web = ipv4(6, '192.168.1.20', '77.88.8.8', tcp(50000, 443, 0x18, 1, Buffer.alloc(500, 2)));
  const radiotap = (frame: Buffer): Buffer => Buffer.concat([hex('0000 0800 00000000'), frame]);
  const ppi = (frame: Buffer): Buffer => Buffer.concat([hex('0000 0800 69000000'), frame]);

  it.each([
    ['802.11', 105, [data(dns), qos(web)]],
    ['radiotap', 127, [radiotap(data(dns)), radiotap(qos(web))]],
    ['PPI', 192, [ppi(data(dns)), ppi(qos(web))]],
  ] as const)('%s (%d): the IP packets of data frames, as tshark reads them', async (_name, linkType, frames) => {
    await expectDnsAndWeb(pcapOf(linkType, [...frames]));
  });

  it('skips an aggregate of frames (A-MSDU) and a body without LLC/SNAP: they may carry traffic', () => {
    // QoS data with QoS control bit 7 set: the body is A-MSDU subframes (802.11n and later).
    const amsdu = Buffer.concat([hex('8801 0000'), macs, hex('8000'), Buffer.alloc(14), hex('0200'), snap, web]);
    const noSnap = Buffer.concat([hex('0801 0000'), macs, hex('424203 000000 0800'), dns]);
    const { skips, stats } = read(pcapOf(105, [amsdu, noSnap, data(dns)]));
    expect(skips).toEqual([
      { line: 1, reason: 'unsupported encapsulation', detail: '802.11 A-MSDU (aggregated frames)' },
      { line: 2, reason: 'unsupported encapsulation', detail: '802.11 frame without LLC/SNAP' },
    ]);
    expect(stats).toMatchObject({ packets: 3, skipped: 2, noData: 0, inConnections: 1 });
  });

  it('skips encrypted data frames, so that a capture of WPA traffic is no verdict on nothing', async () => {
    const beacon = Buffer.concat([hex('8000 0000'), macs, Buffer.alloc(12)]);
    const nullData = Buffer.concat([hex('4801 0000'), macs]);
    const encrypted = Buffer.concat([hex('0841 0000'), macs, Buffer.alloc(40, 9)]);
    const { skips, stats } = read(pcapOf(105, [beacon, nullData, encrypted, data(dns)]));
    expect(stats).toMatchObject({ packets: 4, noData: 2, skipped: 1, inConnections: 1 });
    expect(skips).toEqual([{ line: 3, reason: 'encrypted 802.11 frame', detail: 'protected (WPA/WEP): decrypt the capture first (airdecap-ng)' }]);
    const v = await checkBytes(pcapOf(105, [beacon, encrypted, encrypted]), { policy: policyOf('us') });
    expect(v.totals).toMatchObject({ connections: 0, skipped: 2, skippedByReason: { 'encrypted 802.11 frame': 2 } });
  });
});

describe('pcap reader: Linux NFLOG (tcpdump -i nflog:N)', () => {
  /** A TLV as the writer's (little-endian) host writes its header; the value as given (big-endian numbers). */
  const tlv = (type: number, value: Buffer): Buffer => {
    const head = Buffer.alloc(4);
    head.writeUInt16LE(4 + value.length, 0);
    head.writeUInt16LE(type, 2);
    return Buffer.concat([head, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
  };
  const be32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v);
    return b;
  };
  const nflog = (packet: Buffer | null, uid?: number): Buffer =>
    Buffer.concat([
      Buffer.from([2, 0, 0, 5]),
      tlv(1, Buffer.from([0x08, 0x00, 3, 0])),
      tlv(10, Buffer.from('OUT\0')),
      ...(uid === undefined ? [] : [tlv(11, be32(uid))]),
      ...(packet === null ? [] : [tlv(9, packet)]),
    ]);
  const web = ipv4(6, '10.0.0.2', '77.88.8.8', tcp(50000, 443, 0x18, 1, Buffer.alloc(501, 2)));
  const dns = ipv4(17, '10.0.0.2', '8.8.8.8', udp(40000, 53, Buffer.alloc(30, 1)));

  it('reads the logged packets, with the UID of the socket that sent them as the app, as tshark does', async () => {
    const capture = pcapOf(239, [nflog(web, 10123), nflog(dns), nflog(null, 0)]);
    const { flows, skips, stats } = read(capture);
    expect(skips).toEqual([]);
    expect(stats).toMatchObject({ packets: 3, inConnections: 2, noData: 1 });
    expect(flows.map((f) => [f.respIp, f.origBytes, f.app])).toEqual([
      ['77.88.8.8', 501, 'uid 10123'],
      ['8.8.8.8', 30, null],
    ]);
    expect(tsharkFields(capture, ['nflog.uid', 'ip.dst', 'tcp.len', 'udp.length'])).toEqual(['10123\t77.88.8.8\t501\t', '\t8.8.8.8\t\t38', '0\t\t\t']);
    const v = await checkBytes(capture, { policy: policyOf('us') });
    expect(destination(v, '77.88.8.8')).toMatchObject({ status: 'violation', bytesSent: 501, apps: ['uid 10123'] });
  });

  it('refuses another version, counted', () => {
    const v1 = Buffer.from(nflog(dns));
    v1[1] = 1;
    expect(read(pcapOf(239, [v1])).skips).toEqual([{ line: 1, reason: 'unsupported link type', detail: 'NFLOG version 1' }]);
  });
});
