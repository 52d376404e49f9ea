/**
 * Packets and captures built byte by byte (checksums zero), for tests of what the pcap reader
 * makes of them: IPv4 with TCP, UDP or any protocol, Ethernet frames, and a little-endian libpcap
 * file (pcap-savefile(5)) of a given link type, one packet a second.
 */

/** Dotted-quad `a` as its 4 bytes. */
export function ipv4Bytes(a: string): Buffer {
  return Buffer.from(a.split('.').map(Number));
}

/** An IPv4 packet `src` -> `dst` of protocol `proto` carrying `payload`. */
export function ipv4(proto: number, src: string, dst: string, payload: Buffer): Buffer {
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + payload.length, 2);
  ip[8] = 64;
  ip[9] = proto;
  ipv4Bytes(src).copy(ip, 12);
  ipv4Bytes(dst).copy(ip, 16);
  return Buffer.concat([ip, payload]);
}

/** A UDP datagram (header and payload). */
export function udp(sport: number, dport: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

/** A TCP segment (header without options, and payload) with the given flags and sequence number. */
export function tcp(sport: number, dport: number, flags: number, seq: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt32BE(seq, 4);
  h[12] = 5 << 4;
  h[13] = flags;
  h.writeUInt16BE(65535, 14);
  return Buffer.concat([h, payload]);
}

/** An Ethernet frame carrying `payload` of Ethertype `type` (IPv4 by default). */
export function ethernet(payload: Buffer, type = 0x0800): Buffer {
  const h = Buffer.alloc(14);
  h.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]);
  h.writeUInt16BE(type, 12);
  return Buffer.concat([h, payload]);
}

/** A little-endian microsecond libpcap file of `linkType` (1 Ethernet, 101 raw IP), a packet a second from `seconds`. */
export function pcapOf(linkType: number, packets: readonly Buffer[], seconds = 1_700_000_000): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(262144, 16);
  head.writeUInt32LE(linkType, 20);
  return Buffer.concat([
    head,
    ...packets.flatMap((p, i) => {
      const rec = Buffer.alloc(16);
      rec.writeUInt32LE(seconds + i, 0);
      rec.writeUInt32LE(p.length, 8);
      rec.writeUInt32LE(p.length, 12);
      return [rec, p];
    }),
  ]);
}

/**
 * An Apple PKTAP record (xnu `struct pktap_header`, 156 bytes, little-endian as a Mac writes it)
 * carrying `packet` of link type `dlt`, on interface `ifname`, for process `comm` (and the
 * effective process `ecomm`, when a daemon sent it for an app).
 */
export function pktap(dlt: number, packet: Buffer, opts: { comm?: string; ecomm?: string; ifname?: string; type?: number; pid?: number } = {}): Buffer {
  const h = Buffer.alloc(156);
  h.writeUInt32LE(156, 0);
  h.writeUInt32LE(opts.type ?? 1, 4);
  h.writeUInt32LE(dlt, 8);
  h.write(opts.ifname ?? 'en0', 12, 23, 'latin1');
  h.writeUInt32LE(opts.ecomm ? 0x4 : 0, 36);
  h.writeUInt32LE(2, 40);
  h.writeInt32LE(opts.comm ? (opts.pid ?? 412) : -1, 52);
  if (opts.comm) h.write(opts.comm, 56, 16, 'utf8');
  h.writeInt32LE(opts.ecomm ? 977 : -1, 84);
  if (opts.ecomm) h.write(opts.ecomm, 88, 16, 'utf8');
  return Buffer.concat([h, packet]);
}

/** A pcapng block: type, total length, body padded to 4 bytes, total length. */
export function pcapngBlock(type: number, body: Buffer, le: boolean): Buffer {
  const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
  const len = padded.length + 12;
  const head = Buffer.alloc(8);
  const tail = Buffer.alloc(4);
  if (le) {
    head.writeUInt32LE(type, 0);
    head.writeUInt32LE(len, 4);
    tail.writeUInt32LE(len, 0);
  } else {
    head.writeUInt32BE(type, 0);
    head.writeUInt32BE(len, 4);
    tail.writeUInt32BE(len, 0);
  }
  return Buffer.concat([head, padded, tail]);
}
