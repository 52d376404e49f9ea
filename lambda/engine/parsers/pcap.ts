/**
 * Packet captures: libpcap files and pcapng, read as a stream and folded into connections.
 *
 * Formats, from the specifications:
 * - pcap (https://www.tcpdump.org/manpages/pcap-savefile.5.html, draft-ietf-opsawg-pcap): a
 *   24-byte file header whose magic gives the byte order and the timestamp unit (`a1b2c3d4`
 *   microseconds, `a1b23c4d` nanoseconds; `a1b2cd34` is Kuznetzov's patched format with 24-byte
 *   record headers), then 16-byte record headers `ts_sec, ts_frac, incl_len, orig_len`.
 * - pcapng (draft-ietf-opsawg-pcapng): blocks `type, total length, body, total length`. A Section
 *   Header Block (its byte-order magic `1a2b3c4d` sets the order) starts each section and
 *   forgets the interfaces; Interface Description Blocks give each interface's link type and
 *   `if_tsresol`/`if_tsoffset`; packets come in Enhanced (6), Simple (3) and obsolete Packet (2)
 *   blocks. Other blocks are skipped by their length.
 *
 * Link types (https://www.tcpdump.org/linktypes.html): Ethernet with stacked 802.1Q/802.1ad tags,
 * raw IP (101, 228, 229, and the DLT values 12 and 14 some systems write), Linux cooked capture
 * v1 (113) and v2 (276), BSD loopback (0, host byte order family) and OpenBSD loopback (108,
 * network byte order family), Linux NFLOG (239), PPP (9, 50) and Cisco HDLC (104), Wi-Fi (802.11: 105, with radiotap
 * 127 or PPI 192 headers; see `wifi`), and Apple's PKTAP (258; see `pktap`). PCAPdroid's pcap "with trailer" (Ethernet frames ending in a
 * trailer that names the Android app) gives each connection its app, and so does its pcapng with
 * app information (a custom block mapping each UID to its package, a `u-<uid>` comment on each
 * packet), and so does macOS tcpdump's pcapng (Darwin process blocks, numbered in each section,
 * and each packet's process and effective process numbers among its options).
 *
 * Packets are grouped into connections by (protocol, address, port, address, port) in either
 * direction; the side that sent the first packet is the originator, unless that packet was the
 * server's: a TCP SYN-ACK (the capture began after the SYN), or, with no SYN (a capture begun
 * mid-connection) and for UDP, a packet from a service port to one that is not, or (TCP) from a
 * port below the ephemeral range to one in it (see `sentByServer`); a SYN on the ports of a TCP
 * connection that ended (FIN or RST) starts another. Bytes are transport payload (UDP data, TCP
 * data by its sequence numbers: see `Connection.tcpBytes`; the whole IP payload for other
 * protocols). IPv4 and IPv6 fragments are not
 * reassembled: the first fragment carries the ports, later ones are added to its connection
 * through (addresses, protocol, fragment id), also when they came before it, or skipped (at the
 * end) when that first fragment never came.
 * Names come from DNS answers in the capture (address → the name asked for) and from TLS
 * ClientHello SNI (the connection's server); SNI wins. QUIC connections (UDP, recognised by the
 * packet, not the port) get their SNI from the client's Initial packets, decrypted as
 * `quic-initial.ts` describes.
 *
 * Captures joined with `cat` (`cat a.pcap b.pcap`, tcpdump's rotated `-C`/`-G` files; `mergecap`
 * is the right tool) are read whole: a file header where a record or block would start begins
 * the next capture, as a second Section Header Block does in pcapng. A record or block whose
 * length cannot be right ends reading: the rest of the capture cannot be found, so the check is
 * an error (failing closed, as for gzip with garbage after it), not a verdict on part of it.
 *
 * Tunnels are opened as Zeek opens them: the packets inside VXLAN (UDP 4789; AWS VPC Traffic
 * Mirroring delivers mirrored traffic so), VXLAN-GPE (4790), Geneve (6081; AWS Gateway Load
 * Balancer), GRE (IP protocol 47, with Ethernet, ERSPAN type I, II and III, IP, MPLS, and PPTP's
 * PPP inside) and IP in IP (4 and 41: 6in4) are read as packets of their own, beside the tunnel's
 * own connection (which is where they went on the wire), up to {@link MAX_TUNNEL_DEPTH} deep. A
 * tunnel whose payload cannot be read (encrypted PPP, an unknown GRE protocol) is a skipped
 * record as well: it may carry traffic the reader cannot see. Teredo is not opened.
 *
 * Record "lines" are packet numbers (1-based, as Wireshark numbers frames). Connections are
 * reported at the end, in order of their first packet, with that packet's number as evidence.
 * Every packet ends in a connection, a skip (truncated, malformed, orphan fragment) or `noData`
 * (a frame that is not IP, such as ARP).
 */
import { InputError } from '../errors';
import type { ChunkParser, FormatName, RecordSink } from '../types';
import { AddressNames } from './address-names';
import { formatIpv4, formatIpv6, readDnsAnswers } from './pcap-names';
import { QuicInitialTable } from './quic-initial';
import { fromServerPort, fromServerPortOrRange } from './ports';
import { newRecord, resetRecord } from './record';
import { ClientHelloReader } from './tls-hello';
import { ipProtocolName } from './vpc-flow';

/** Largest packet record accepted; beyond it the length field is garbage and reading stops. */
export const MAX_PACKET_BYTES = 16 * 1024 * 1024;
/** Largest pcapng block accepted. */
export const MAX_BLOCK_BYTES = 32 * 1024 * 1024;
/** Connections kept; packets of further new connections are skipped. */
export const MAX_CONNECTIONS = 1_000_000;
/** Addresses remembered with a DNS name. */
export const MAX_DNS_NAMES = 100_000;
/** First fragments remembered, so that later fragments find their connection. */
const MAX_PENDING_FRAGMENTS = 10_000;
/** Connections gathering a ClientHello across segments at once (each holds up to 16 kB). */
const MAX_GATHERING_HELLOS = 1024;
/** Extension headers walked per IPv6 packet. */
const MAX_IPV6_EXTENSIONS = 16;
/** VLAN tags unwrapped per Ethernet frame. */
const MAX_VLAN_TAGS = 8;
/** Tunnels inside tunnels opened, at most. */
const MAX_TUNNEL_DEPTH = 4;
/** UDP ports of the tunnels opened (see the module comment). */
const VXLAN_PORT = 4789;
const VXLAN_GPE_PORT = 4790;
const GENEVE_PORT = 6081;
/** GRE protocol types that are no Ethertype of an IP packet: Ethernet, ERSPAN II, ERSPAN III, PPP. */
const GRE_ETHERNET = 0x6558;
const GRE_ERSPAN_2 = 0x88be;
const GRE_ERSPAN_3 = 0x22eb;
const GRE_PPP = 0x880b;

const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_IDB = 1;
const PCAPNG_OPB = 2;
const PCAPNG_SPB = 3;
const PCAPNG_EPB = 6;
const PCAPNG_BYTE_ORDER = 0x1a2b3c4d;
/** Apple's Darwin Process Information Block (macOS tcpdump's pcapng): a process id, then its name (option 2). */
const PCAPNG_DPIB = 0x80000001;
/** Options of an Enhanced Packet Block in Apple's pcapng: the process's and the effective process's DPIB numbers. */
const EPB_DARWIN_PROC = 0x8001;
const EPB_DARWIN_EFFECTIVE_PROC = 0x8003;
/** Darwin process blocks kept per section (one per process that sent or received a packet). */
const MAX_DARWIN_PROCS = 65536;
/** Longest process name kept, in characters (xnu's are 16 bytes; an app's name is short). */
const MAX_PROCESS_NAME = 255;
/** Custom Blocks (pcapng 4.8), copyable or not. */
const PCAPNG_CB = 0x00000bad;
const PCAPNG_DCB = 0x40000bad;
/** PCAPdroid's IANA enterprise number, in its custom blocks (pcap_dump.c, pcapdroid.lua). */
const PCAPDROID_PEN = 62652;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;

/**
 * Link-layer control protocols that carry no data anywhere: their frames are records without
 * data. A frame of any other type that is not IP (an encrypted MACsec frame, a tag or tunnel this
 * reader does not open) may carry traffic it cannot see, so it is a skipped record, never
 * "no data": a capture of nothing else cannot pass.
 */
const ETHERTYPE_NAMES: Record<number, string> = {
  0x0806: 'ARP',
  0x8035: 'RARP',
  0x88cc: 'LLDP',
  0x888e: 'EAPOL',
  0x8863: 'PPPoE discovery',
  0x8808: 'Ethernet flow control',
  0x8809: 'slow protocols (LACP)',
  0x88f7: 'PTP',
  0x8902: 'CFM',
  0x9000: 'loopback test',
};

const enum State {
  FileHeader,
  PcapRecord,
  PcapngBlock,
  Stopped,
}

/** The pcap file magics, as read big-endian from the first 4 bytes. */
const PCAP_MAGICS = new Set([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0xa1b2cd34, 0x34cdb2a1]);

/**
 * Whether `buf[pos, pos + 24)` is a libpcap file header: a magic, then version 2.4 in the
 * magic's byte order. (A record's first bytes, its time, equal a magic only in 2011 or past 2055,
 * and then its microseconds would have to read as version 2.4 as well.)
 */
function isPcapFileHeader(buf: Buffer, pos: number): boolean {
  const magic = buf.readUInt32BE(pos);
  if (!PCAP_MAGICS.has(magic)) return false;
  const le = (magic & 0xff) === 0xa1;
  const major = le ? buf.readUInt16LE(pos + 4) : buf.readUInt16BE(pos + 4);
  const minor = le ? buf.readUInt16LE(pos + 6) : buf.readUInt16BE(pos + 6);
  return major === 2 && minor === 4;
}

/** Whether `buf[pos, pos + 12)` is a pcapng Section Header Block's start (type and byte-order magic). */
function isPcapngSectionStart(buf: Buffer, pos: number): boolean {
  if (buf.readUInt32BE(pos) !== PCAPNG_SHB) return false;
  const bom = buf.readUInt32LE(pos + 8);
  return bom === PCAPNG_BYTE_ORDER || bom === 0x4d3c2b1a;
}

/** `pcap` when `head` starts with a libpcap magic, `pcapng` for a Section Header Block, else null. */
export function captureKind(head: Buffer): 'pcap' | 'pcapng' | null {
  if (head.length < 4) return null;
  const magic = head.readUInt32BE(0);
  if (PCAP_MAGICS.has(magic)) return 'pcap';
  return head.length >= 12 && isPcapngSectionStart(head, 0) ? 'pcapng' : null;
}

/**
 * PCAPdroid's trailer (emanuele-f/PCAPdroid `pcapdroid_trailer_t`): magic, the app's Linux UID,
 * its name (20 bytes, NUL-terminated, `???` when unknown) and a CRC, all big-endian.
 */
const PCAPDROID_TRAILER_MAGIC = 0x01072021;
const PCAPDROID_TRAILER_BYTES = 32;
/** NFLOG TLV types (linux/netfilter/nfnetlink_log.h): the packet, and the sending socket's UID. */
const NFULA_PAYLOAD = 9;
const NFULA_UID = 11;

/** `pth_type_next` of a PKTAP header followed by a packet (xnu bsd/net/pktap.h). */
const PTH_TYPE_PACKET = 1;

/** The process name (`pth_comm`, `pth_ecomm`: 17 bytes, NUL-padded) at `b[at, ...)` inside a PKTAP header ending at `headerEnd`, or null. */
function pktapName(b: Buffer, at: number, headerEnd: number): string | null {
  if (at + 17 > headerEnd) return null;
  let end = at;
  while (end < at + 17 && b[end] !== 0) end++;
  const name = b.toString('utf8', at, end).trim();
  return name === '' ? null : name;
}

/** UID mappings kept from a PCAPdroid pcapng (one per app that sent a packet). */
const MAX_UID_APPS = 100_000;

/** The app a PCAPdroid trailer at `b[at, at + 32)` names: its name, else its UID, else null. */
function trailerApp(b: Buffer, at: number): string | null {
  const start = at + 8;
  let end = start;
  while (end < start + 20 && b[end] !== 0) end++;
  const name = b.toString('utf8', start, end).trim();
  if (name !== '' && name !== '???') return name;
  const uid = b.readInt32BE(at + 4);
  return uid >= 0 ? `uid ${uid}` : null;
}

interface Interface {
  linkType: number;
  /** Milliseconds per timestamp unit, as numerator/denominator to keep decimal units exact. */
  tsMul: number;
  tsDiv: number;
  /** `if_tsoffset`, in milliseconds. */
  tsOffsetMs: number;
}

class Connection {
  origBytes = 0;
  respBytes = 0;
  /** The app that made it, from a PCAPdroid trailer; null when the capture does not say. */
  app: string | null = null;
  packets = 0;
  lastMs: number;
  sni: string | null = null;
  /** Gathers the originator's first TLS record (a ClientHello); null once done or not started. */
  hello: ClientHelloReader | null = null;
  /** The originator's TCP payload has been looked at for a ClientHello, and nothing more is to come. */
  helloDone = false;
  /** Sequence number of the originator's first payload byte, once its SYN is seen. */
  helloStartSeq: number | null = null;
  /** The originator's UDP datagrams have said all they will about a QUIC ClientHello. */
  quicDecided = false;
  /** TCP: a FIN or RST was seen, so a SYN on the same ports opens another connection. */
  ended = false;
  /** TCP: the sequence number past each side's data (unwrapped), -1 before its first segment. */
  private readonly seqTop = [-1, -1];
  /** TCP: each side's SYN's sequence number, -1 before one is seen. */
  private readonly synSeq = [-1, -1];
  constructor(
    readonly firstPacket: number,
    readonly proto: string,
    readonly origIp: string,
    readonly origPort: number,
    readonly respIp: string,
    readonly respPort: number,
    readonly firstMs: number,
  ) {
    this.lastMs = firstMs;
  }

  /**
   * The bytes a TCP segment adds to what its side sent: its data past the highest sequence number
   * that side reached, so that a retransmission, or a packet captured twice (`tcpdump -i any`),
   * adds nothing, and data the capture missed between two segments is counted, as Zeek counts a
   * connection's bytes. A SYN's data starts one past its sequence number.
   */
  tcpBytes(fromOrig: boolean, seq: number, flags: number, payload: number): number {
    const side = fromOrig ? 0 : 1;
    const syn = (flags & 0x02) !== 0;
    if (syn && this.synSeq[side] < 0) this.synSeq[side] = seq;
    const start = syn ? (seq + 1) % SEQ_SPACE : seq;
    const top = this.seqTop[side]!;
    // A segment without data adds nothing (after a FIN, the sequence number is one past the data);
    // a SYN gives where the side's data will start.
    if (payload === 0) {
      if (top < 0 && syn) this.seqTop[side] = start;
      return 0;
    }
    // The end's distance past the top, as a signed 32-bit difference (sequence numbers wrap).
    const ahead = top < 0 ? 0 : ((start + payload) % SEQ_SPACE - (top % SEQ_SPACE)) | 0;
    if (top < 0 || ahead > MAX_TCP_WINDOW || ahead < -MAX_TCP_WINDOW) {
      // The first data, or data no window could place after what came before (a stream the
      // capture did not see begin): counted from here.
      this.seqTop[side] = start + payload;
      return payload;
    }
    if (ahead <= 0) return 0;
    this.seqTop[side] = top + ahead;
    return ahead;
  }

  /** Whether a SYN with this sequence number from one side opens another connection on these ports. */
  isAnotherSyn(fromOrig: boolean, seq: number): boolean {
    return this.ended || this.synSeq[fromOrig ? 0 : 1] !== seq;
  }
}

/** TCP sequence numbers run modulo 2^32. */
const SEQ_SPACE = 2 ** 32;
/** The largest TCP window (RFC 7323: 2^30 bytes): no segment lies further from the last. */
const MAX_TCP_WINDOW = 2 ** 30;

/** Counters a test can check: `packets === inConnections + skipped + noData`. */
export interface PcapStats {
  packets: number;
  inConnections: number;
  skipped: number;
  noData: number;
  /** Skips about the file rather than a packet (a bad block, a cut header). */
  fileProblems: number;
  fragments: number;
  connections: number;
}

/**
 * Whether the first packet seen of a connection was sent by its server, so that the receiver
 * opened it: a TCP SYN-ACK (the SYN was not captured), or, where no SYN is seen at all (a capture
 * begun mid-connection) and for UDP, a packet from a service port to a port that is not one, as
 * Zeek's likely-server-port heuristic decides, or, for TCP, from a port below the ephemeral range
 * to one in it (see fromServerPortOrRange). A SYN alone always comes from the opener.
 */
/** Whether a UDP datagram to this port is a tunnel's (see the module comment): tunnels send to it both ways. */
function isTunnelPort(dport: number): boolean {
  return dport === VXLAN_PORT || dport === GENEVE_PORT || dport === VXLAN_GPE_PORT;
}

function sentByServer(proto: number, b: Buffer, p: number, have: number, sport: number, dport: number): boolean {
  if (proto === 6) {
    if (have <= 13) return false;
    const flags = b[p + 13]!;
    if ((flags & 0x12) === 0x12) return true;
    if ((flags & 0x02) !== 0) return false;
    return fromServerPortOrRange(sport, dport);
  }
  return (proto === 17 || proto === 132 || proto === 136) && fromServerPort(sport, dport);
}

/** Reads pcap and pcapng captures chunk by chunk; see the file comment. */
export class PcapParser implements ChunkParser {
  private pending: Buffer[] = [];
  private pendingLen = 0;
  /** Bytes needed (from the start of what is pending) before parsing can go on. */
  private need = 4;
  private state = State.FileHeader;
  private le = true;
  // pcap file state
  private pcapLinkType = 0;
  private pcapNanos = false;
  private pcapRecordHeader = 16;
  /**
   * The longest record the file can hold: its snapshot length, but never less than 262,144 (what
   * libpcap and Wireshark take as any capture's limit) nor more than MAX_PACKET_BYTES.
   */
  private pcapMaxRecord = MAX_PACKET_BYTES;
  // pcapng section state
  private interfaces: Interface[] = [];
  /** What an unfinished trailing unit is, for the skip reason at the end. */
  private pendingIsPacket = false;

  private packetNo = 0;
  private readonly connections = new Map<string, Connection>();
  /** Later fragments that came before their first fragment, by fragment key (see laterFragment). */
  private readonly orphans = new Map<string, { packetNo: number; src: string; bytes: number; offset: number }[]>();
  private orphanCount = 0;
  /** Connections whose ports a later one used again (see transport). */
  private endedConnections: Connection[] = [];
  /** First fragments by fragment key: the connection, and for TCP the segment's sequence number and header length (else -1). */
  private readonly fragments = new Map<string, { conn: Connection; fromOrig: boolean; seq: number; headerBytes: number }>();
  private readonly dnsNames = new AddressNames(MAX_DNS_NAMES, false);
  /** Connections whose ClientHello reader holds a partial record. */
  private gatheringHellos = 0;
  private readonly quicInitials = new QuicInitialTable<Connection>();
  readonly stats: PcapStats = {
    packets: 0,
    inConnections: 0,
    skipped: 0,
    noData: 0,
    fileProblems: 0,
    fragments: 0,
    connections: 0,
  };
  // The packet being decoded.
  private tsMs = NaN;
  /** Where its PCAPdroid trailer starts in the frame's buffer, or -1 when it has none. */
  private trailerAt = -1;
  /** The app of the packet being read, from a PCAPdroid pcapng packet's comment; else null. */
  private packetApp: string | null = null;
  /** PCAPdroid pcapng: package (or app) names by UID, from its mapping blocks. */
  private readonly uidApps = new Map<number, string>();
  /** Apple pcapng: the process names of the section's Darwin process blocks, in their order (packets name them by number). */
  private darwinProcs: (string | null)[] = [];
  private sink: RecordSink | null = null;
  /** How many tunnels the packet being read is inside (see {@link tunnel}). */
  private depth = 0;

  constructor(readonly format: FormatName = 'pcap') {}

  push(chunk: Buffer, sink: RecordSink): void {
    if (this.state === State.Stopped || chunk.length === 0) return;
    if (this.pendingLen + chunk.length < this.need) {
      this.pending.push(Buffer.from(chunk));
      this.pendingLen += chunk.length;
      return;
    }
    let buf = chunk;
    if (this.pendingLen > 0) {
      this.pending.push(chunk);
      buf = Buffer.concat(this.pending, this.pendingLen + chunk.length);
    }
    this.sink = sink;
    const pos = this.consume(buf);
    this.sink = null;
    const rest = (this.state as State) === State.Stopped ? 0 : buf.length - pos;
    this.pending = rest > 0 ? [Buffer.from(buf.subarray(pos))] : [];
    this.pendingLen = rest;
  }

  finish(sink: RecordSink): void {
    if (this.pendingLen > 0 && this.state !== State.Stopped) {
      const detail = `${this.pendingLen} of ${this.need} bytes`;
      if (this.state === State.FileHeader) {
        this.fileProblem(sink, 'file ends inside the file header', detail);
      } else if (this.pendingIsPacket) {
        this.packetNo++;
        this.stats.packets++;
        this.skipPacket(sink, 'file ends inside a packet', detail);
      } else {
        this.fileProblem(sink, 'file ends inside a block', detail);
      }
    }
    this.pending = [];
    this.pendingLen = 0;
    for (const [key, waiting] of this.orphans) {
      for (const w of waiting) {
        this.stats.skipped++;
        sink.skip(w.packetNo, 'IP fragment without its first fragment', key);
      }
    }
    this.orphans.clear();
    this.orphanCount = 0;
    const r = newRecord();
    // In the order of their first packets, those whose ports were used again among them.
    const all = this.endedConnections.length === 0 ? [...this.connections.values()] : [...this.endedConnections, ...this.connections.values()].sort((a, b) => a.firstPacket - b.firstPacket);
    for (const c of all) {
      if (c.hello !== null) {
        // The capture ended while a ClientHello was still coming: read what came.
        c.hello.end();
        if (c.hello.sni !== null) c.sni = c.hello.sni;
        c.hello = null;
      }
      resetRecord(r, c.firstPacket);
      r.origIp = c.origIp;
      r.origPort = c.origPort;
      r.respIp = c.respIp;
      r.respPort = c.respPort;
      r.proto = c.proto;
      r.origBytes = c.origBytes;
      r.respBytes = c.respBytes;
      r.firstSeenMs = c.firstMs;
      r.lastSeenMs = c.lastMs;
      // The server name the client sent is this connection's; else every name DNS gave its address.
      r.hostname = c.sni ?? this.dnsNames.latest(c.respIp);
      r.otherHostnames = c.sni === null ? this.dnsNames.get(c.respIp) : null;
      r.app = c.app;
      sink.flow(r);
    }
    this.stats.connections = all.length;
    this.connections.clear();
    this.endedConnections = [];
    this.gatheringHellos = 0;
    this.fragments.clear();
    this.quicInitials.clear();
  }

  private fileProblem(sink: RecordSink, reason: string, detail?: string): void {
    this.stats.fileProblems++;
    sink.skip(this.packetNo + 1, reason, detail);
  }

  private skipPacket(sink: RecordSink, reason: string, detail?: string): void {
    this.stats.skipped++;
    // A tunnel's packet whose inside cannot be read: counted as skipped, not as in a connection
    // (the tunnel's connection still has it), so every packet is counted once.
    if (this.depth > 0) this.stats.inConnections--;
    sink.skip(this.packetNo, reason, detail);
  }

  /**
   * A length that cannot be right where the next packet should start: nothing after it can be
   * found, so the capture is unreadable from here (an error verdict, which still lists what was
   * read before it).
   */
  private unreadable(reason: string, detail: string): never {
    const err = new InputError(
      `packet ${this.packetNo + 1}: ${reason} (${detail}): the capture cannot be read past packet ${this.packetNo}`,
    );
    // The connections read so far go to the error verdict, which lists what was read.
    this.state = State.Stopped;
    this.pending = [];
    this.pendingLen = 0;
    this.finish(this.sink!);
    throw err;
  }

  private stop(reason: string, detail: string): void {
    this.fileProblem(this.sink!, reason, detail);
    this.state = State.Stopped;
  }

  private u16(b: Buffer, at: number): number {
    return this.le ? b.readUInt16LE(at) : b.readUInt16BE(at);
  }

  private u32(b: Buffer, at: number): number {
    return this.le ? b.readUInt32LE(at) : b.readUInt32BE(at);
  }

  /** Parses whole units from `buf`; returns where the unparsed rest starts and sets `need`. */
  private consume(buf: Buffer): number {
    let pos = 0;
    const end = buf.length;
    for (;;) {
      const avail = end - pos;
      switch (this.state) {
        case State.Stopped:
          return end;
        case State.FileHeader: {
          if (avail < 4) return this.wait(pos, 4, false);
          const magic = buf.readUInt32BE(pos);
          if (magic === PCAPNG_SHB) {
            this.state = State.PcapngBlock;
            continue;
          }
          if (!PCAP_MAGICS.has(magic)) {
            this.stop('not a pcap or pcapng file', `magic 0x${magic.toString(16).padStart(8, '0')}`);
            return end;
          }
          if (avail < 24) return this.wait(pos, 24, false);
          this.le = (magic & 0xff) === 0xa1;
          const native = this.le ? buf.readUInt32LE(pos) : magic;
          this.pcapNanos = native === 0xa1b23c4d;
          this.pcapRecordHeader = native === 0xa1b2cd34 ? 24 : 16;
          this.pcapMaxRecord = Math.min(MAX_PACKET_BYTES, Math.max(this.u32(buf, pos + 16), 262144));
          // The upper bits of the link-type field carry FCS information (libpcap's LT_LINKTYPE:
          // bit 26 says an FCS length is given, bits 28-31 give it).
          this.pcapLinkType = this.u32(buf, pos + 20) & 0x03ffffff;
          pos += 24;
          this.state = State.PcapRecord;
          continue;
        }
        case State.PcapRecord: {
          const hl = this.pcapRecordHeader;
          if (avail < hl) return this.wait(pos, hl, true);
          // Another capture after this one (`cat a.pcap b.pcap`).
          if (PCAP_MAGICS.has(buf.readUInt32BE(pos))) {
            if (avail < 24) return this.wait(pos, 24, true);
            if (isPcapFileHeader(buf, pos)) {
              this.state = State.FileHeader;
              continue;
            }
          } else if (isPcapngSectionStart(buf, pos)) {
            this.state = State.PcapngBlock;
            continue;
          }
          const incl = this.u32(buf, pos + 8);
          // Longer than the capture could hold: a damaged file, or a variant whose record headers are
          // not the standard ones (editcap's nokiapcap, suse6_3pcap): nothing after it can be found.
          if (incl > this.pcapMaxRecord) this.unreadable('bad packet record length', `${incl} bytes`);
          if (avail < hl + incl) return this.wait(pos, hl + incl, true);
          const sec = this.u32(buf, pos);
          const frac = this.u32(buf, pos + 4);
          this.tsMs = sec * 1000 + (this.pcapNanos ? frac / 1e6 : frac / 1e3);
          this.packet(this.pcapLinkType, buf, pos + hl, pos + hl + incl);
          pos += hl + incl;
          continue;
        }
        case State.PcapngBlock: {
          if (avail < 12) return this.wait(pos, 12, false);
          const type = buf.readUInt32BE(pos);
          if (type === PCAPNG_SHB) {
            const bom = buf.readUInt32LE(pos + 8);
            if (bom === PCAPNG_BYTE_ORDER) this.le = true;
            else if (bom === 0x4d3c2b1a) this.le = false;
            else this.unreadable('bad pcapng section header', `byte-order magic 0x${bom.toString(16)}`);
          } else if (PCAP_MAGICS.has(type)) {
            // A libpcap capture after this one (`cat a.pcapng b.pcap`).
            if (avail < 24) return this.wait(pos, 24, false);
            if (isPcapFileHeader(buf, pos)) {
              this.state = State.FileHeader;
              continue;
            }
          }
          const len = this.u32(buf, pos + 4);
          if (len < 12 || len % 4 !== 0 || len > MAX_BLOCK_BYTES) this.unreadable('bad pcapng block length', `${len} bytes`);
          const btype = this.u32(buf, pos);
          const isPacket = btype === PCAPNG_EPB || btype === PCAPNG_SPB || btype === PCAPNG_OPB;
          if (avail < len) return this.wait(pos, len, isPacket);
          if (this.u32(buf, pos + len - 4) !== len) {
            this.unreadable('bad pcapng block length', `leading ${len} and trailing ${this.u32(buf, pos + len - 4)} differ`);
          }
          this.block(btype, buf, pos, len);
          pos += len;
          continue;
        }
      }
    }
  }

  private wait(pos: number, need: number, isPacket: boolean): number {
    this.need = need;
    this.pendingIsPacket = isPacket;
    return pos;
  }

  private block(type: number, b: Buffer, at: number, len: number): void {
    const sink = this.sink!;
    switch (type) {
      case PCAPNG_SHB:
        this.interfaces = [];
        this.darwinProcs = [];
        return;
      case PCAPNG_IDB: {
        if (len < 20) {
          this.fileProblem(sink, 'bad pcapng interface block', `${len} bytes`);
          // Keep interface numbering: a placeholder that reads nothing.
          this.interfaces.push({ linkType: -1, tsMul: 1, tsDiv: 1000, tsOffsetMs: 0 });
          return;
        }
        const iface: Interface = { linkType: this.u16(b, at + 8), tsMul: 1, tsDiv: 1000, tsOffsetMs: 0 };
        let p = at + 16;
        const end = at + len - 4;
        while (p + 4 <= end) {
          const code = this.u16(b, p);
          const olen = this.u16(b, p + 2);
          if (code === 0 || p + 4 + olen > end) break;
          if (code === 9 && olen >= 1) {
            const r = b[p + 4]!;
            const exp = r & 0x7f;
            if (r & 0x80) {
              iface.tsMul = 1000;
              iface.tsDiv = 2 ** exp;
            } else if (exp >= 3) {
              iface.tsMul = 1;
              iface.tsDiv = 10 ** (exp - 3);
            } else {
              iface.tsMul = 10 ** (3 - exp);
              iface.tsDiv = 1;
            }
          } else if (code === 14 && olen >= 8) {
            const hi = this.le ? b.readInt32LE(p + 8) : b.readInt32BE(p + 4);
            const lo = this.le ? b.readUInt32LE(p + 4) : b.readUInt32BE(p + 8);
            iface.tsOffsetMs = (hi * 4294967296 + lo) * 1000;
          }
          p += 4 + ((olen + 3) & ~3);
        }
        this.interfaces.push(iface);
        return;
      }
      case PCAPNG_EPB:
      case PCAPNG_OPB: {
        this.packetNo++;
        this.stats.packets++;
        if (len < 32) {
          this.skipPacket(sink, 'bad pcapng packet block', `${len} bytes`);
          return;
        }
        const ifIndex = type === PCAPNG_EPB ? this.u32(b, at + 8) : this.u16(b, at + 8);
        const iface = this.interfaces[ifIndex];
        if (!iface) {
          this.skipPacket(sink, 'packet on an undeclared interface', String(ifIndex));
          return;
        }
        const ts = this.u32(b, at + 12) * 4294967296 + this.u32(b, at + 16);
        this.tsMs = (ts * iface.tsMul) / iface.tsDiv + iface.tsOffsetMs;
        const cap = this.u32(b, at + 20);
        if (cap > len - 32) {
          this.skipPacket(sink, 'bad pcapng packet block', `captured length ${cap} exceeds the block`);
          return;
        }
        this.packetApp = type === PCAPNG_EPB ? this.packetOptionsApp(b, at + 28 + ((cap + 3) & ~3), at + len - 4) : null;
        this.frame(iface.linkType, b, at + 28, at + 28 + cap);
        this.packetApp = null;
        return;
      }
      case PCAPNG_CB:
      case PCAPNG_DCB:
        this.customBlock(b, at, len);
        return;
      case PCAPNG_DPIB:
        if (this.darwinProcs.length < MAX_DARWIN_PROCS) this.darwinProcs.push(len >= 16 ? this.optionString(b, at + 12, at + len - 4, 2) : null);
        return;
      case PCAPNG_SPB: {
        this.packetNo++;
        this.stats.packets++;
        const iface = this.interfaces[0];
        if (!iface || len < 16) {
          this.skipPacket(sink, iface ? 'bad pcapng packet block' : 'packet on an undeclared interface', '0');
          return;
        }
        this.tsMs = NaN;
        const cap = Math.min(this.u32(b, at + 8), len - 16);
        this.frame(iface.linkType, b, at + 12, at + 12 + cap);
        return;
      }
      default:
        return;
    }
  }

  /**
   * PCAPdroid's UID mapping block (its pcapng with app information): after the enterprise number,
   * version 1 (16 bits), type 1 (8 bits), a reserved byte, the UID (32 bits), the package and app
   * names' lengths (8 bits each), then the names.
   */
  private customBlock(b: Buffer, at: number, len: number): void {
    if (len < 28 || this.u32(b, at + 8) !== PCAPDROID_PEN || this.u16(b, at + 12) !== 1 || b[at + 14] !== 1) return;
    const uid = this.u32(b, at + 16) | 0;
    const packageLen = b[at + 20]!;
    const appLen = b[at + 21]!;
    if (22 + packageLen + appLen > len - 4) return;
    const name = b.toString('utf8', at + 22, at + 22 + packageLen).trim() || b.toString('utf8', at + 22 + packageLen, at + 22 + packageLen + appLen).trim();
    if (name !== '' && this.uidApps.size < MAX_UID_APPS) this.uidApps.set(uid, name);
  }

  /**
   * The app of an Enhanced Packet Block's packet, from its options `b[p, end)`: Apple's process
   * numbers (macOS tcpdump's pcapng: the effective process's name first, then the process's, from
   * the section's Darwin process blocks), or PCAPdroid's comment `u-<uid>` (its pcapng with app
   * information: the UID's package name from its mapping block, else `uid N`); else null.
   */
  private packetOptionsApp(b: Buffer, p: number, end: number): string | null {
    let proc: string | null = null;
    let effective: string | null = null;
    while (p + 4 <= end) {
      const code = this.u16(b, p);
      const olen = this.u16(b, p + 2);
      if (code === 0 || p + 4 + olen > end) break;
      if (code === 1 && olen > 2 && olen < 16 && b[p + 4] === 0x75 && b[p + 5] === 0x2d) {
        const uid = Number(b.toString('latin1', p + 6, p + 4 + olen));
        if (Number.isInteger(uid)) return this.uidApps.get(uid) ?? `uid ${uid}`;
      } else if ((code === EPB_DARWIN_PROC || code === EPB_DARWIN_EFFECTIVE_PROC) && olen === 4) {
        const name = this.darwinProcs[this.u32(b, p + 4)] ?? null;
        if (code === EPB_DARWIN_PROC) proc = name;
        else effective = name;
      }
      p += 4 + ((olen + 3) & ~3);
    }
    return effective ?? proc;
  }

  /** The text of the first option `code` among the options `b[p, end)`, trimmed; null when absent or empty. */
  private optionString(b: Buffer, p: number, end: number, code: number): string | null {
    while (p + 4 <= end) {
      const c = this.u16(b, p);
      const olen = this.u16(b, p + 2);
      if (c === 0 || p + 4 + olen > end) return null;
      if (c === code) {
        let stop = p + 4 + olen;
        // Some writers count a terminating NUL.
        while (stop > p + 4 && b[stop - 1] === 0) stop--;
        const text = b.toString('utf8', p + 4, Math.min(stop, p + 4 + 4 * MAX_PROCESS_NAME)).trim().slice(0, MAX_PROCESS_NAME);
        return text === '' ? null : text;
      }
      p += 4 + ((olen + 3) & ~3);
    }
    return null;
  }


  /** A pcap record: counts it, then decodes the frame. */
  private packet(linkType: number, b: Buffer, start: number, end: number): void {
    this.packetNo++;
    this.stats.packets++;
    this.frame(linkType, b, start, end);
  }

  private truncated(what: string, have: number): void {
    this.skipPacket(this.sink!, 'truncated packet', `${have} bytes captured, ${what} cut short`);
  }

  private notIp(what: string): void {
    // Inside a tunnel (an ARP frame over VXLAN, a PPTP acknowledgment), the packet is in the
    // tunnel's connection already.
    if (this.depth > 0) return;
    this.stats.noData++;
    this.sink!.noData(this.packetNo, what);
  }

  /** Decodes the link layer of the frame `b[start, end)`. */
  private frame(linkType: number, b: Buffer, start: number, end: number): void {
    const have = end - start;
    this.trailerAt = -1;
    switch (linkType) {
      case 1: {
        // PCAPdroid's pcap "with trailer" wraps each IP packet in Ethernet and appends which app
        // sent or received it after the IP packet, where readers that go by the IP length skip it.
        if (have >= 14 + 20 + PCAPDROID_TRAILER_BYTES && b.readUInt32BE(end - PCAPDROID_TRAILER_BYTES) === PCAPDROID_TRAILER_MAGIC) {
          this.trailerAt = end - PCAPDROID_TRAILER_BYTES;
        }
        return this.ethernet(b, start, end);
      }
      case 101:
      case 12:
      case 14:
      case 228:
      case 229:
        return this.ip(b, start, end);
      case 113:
        // Linux cooked v1: packet type, ARPHRD, address length, 8 address bytes, protocol.
        if (have < 16) return this.truncated('Linux cooked header', have);
        return this.etherType(b.readUInt16BE(start + 14), b, start + 16, end);
      case 276:
        // Linux cooked v2: protocol first, then reserved, interface, ARPHRD, type, address.
        if (have < 20) return this.truncated('Linux cooked v2 header', have);
        return this.etherType(b.readUInt16BE(start), b, start + 20, end);
      case 9:
        // PPP (RFC 1661), with or without the HDLC-like framing's address and control bytes.
        return this.ppp(b, start, end);
      case 50:
      case 104:
        // PPP in HDLC-like framing (RFC 1662), or Cisco HDLC: address 0x0f or 0x8f, control, then an Ethertype.
        if (have >= 1 && (b[start] === 0x0f || b[start] === 0x8f)) {
          if (have < 4) return this.truncated('Cisco HDLC header', have);
          return this.etherType(b.readUInt16BE(start + 2), b, start + 4, end);
        }
        if (have < 1) return this.truncated('Cisco HDLC header', have);
        if (linkType === 104) return this.skipPacket(this.sink!, 'unsupported link type', `104 with address 0x${b[start]!.toString(16).padStart(2, '0')}`);
        return this.ppp(b, start, end);
      case 239:
        return this.nflog(b, start, end);
      case 105:
        return this.wifi(b, start, end);
      case 127: {
        // Radiotap: version, pad, its length (little-endian), then the 802.11 frame.
        if (have < 4) return this.truncated('radiotap header', have);
        const length = b.readUInt16LE(start + 2);
        if (length < 8 || length > have) return length > have ? this.truncated('radiotap header', have) : this.skipPacket(this.sink!, 'bad radiotap header', `length ${length}`);
        return this.wifi(b, start + length, end);
      }
      case 192: {
        // PPI: version, flags, its length (little-endian), the link type of what follows.
        if (have < 8) return this.truncated('PPI header', have);
        const length = b.readUInt16LE(start + 2);
        if (length < 8 || length > have) return length > have ? this.truncated('PPI header', have) : this.skipPacket(this.sink!, 'bad PPI header', `length ${length}`);
        const dlt = b.readUInt32LE(start + 4);
        if (dlt !== 105 && dlt !== 1) return this.skipPacket(this.sink!, 'unsupported link type', `PPI carrying ${dlt}`);
        return this.frame(dlt, b, start + length, end);
      }
      case 258:
      case 149:
        // Apple's PKTAP: a header naming the process, then the packet in its own link type (258
        // in files; 149 is the DLT macOS uses for it, which other systems leave to users).
        return this.pktap(linkType, b, start, end);
      case 0:
      case 108: {
        // BSD loopback: a 4-byte address family, in the writer's byte order (0) or network order (108).
        if (have < 4) return this.truncated('loopback header', have);
        let family = linkType === 108 ? b.readUInt32BE(start) : b.readUInt32LE(start);
        if (linkType === 0 && family > 0xffff) family = b.readUInt32BE(start);
        // AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD, OpenBSD), 28 (FreeBSD), 30 (macOS).
        if (family === 2 || family === 10 || family === 24 || family === 28 || family === 30) {
          return this.ip(b, start + 4, end);
        }
        return this.notIp(`address family ${family}`);
      }
      default:
        this.skipPacket(this.sink!, 'unsupported link type', String(linkType));
        return;
    }
  }

  /**
   * An Apple PKTAP record (macOS `tcpdump -i any` or `-i pktap`, and `-i rvi0`, the Remote Virtual
   * Interface of an iPhone or iPad): xnu's `struct pktap_header`, in the writer's byte order (a
   * Mac's, little-endian), its length first, then the type of what follows (1: a packet), the
   * packet's own link type (a DLT), the interface name (24 bytes) and, at 56, the name of the
   * process the packet belongs to (17 bytes, NUL-padded), and at 88 the effective process's, the
   * app a daemon worked for (`nsurlsessiond` downloading for an app). Each connection's app is that
   * name, as PCAPdroid's trailer gives an Android app.
   */
  private pktap(linkType: number, b: Buffer, start: number, end: number): void {
    const have = end - start;
    if (have < 12) return this.truncated('PKTAP header', have);
    const length = b.readUInt32LE(start);
    if (length < 12 || length > have) {
      // DLT 149 that is no PKTAP header: another system's user-defined link type.
      if (linkType === 149) return this.skipPacket(this.sink!, 'unsupported link type', '149');
      return length > have ? this.truncated('PKTAP header', have) : this.skipPacket(this.sink!, 'bad PKTAP header', `header length ${length}`);
    }
    const next = b.readUInt32LE(start + 4);
    // Another type of record (xnu's drop records) may stand for traffic: skipped, not without data.
    if (next !== PTH_TYPE_PACKET) return this.skipPacket(this.sink!, linkType === 149 ? 'unsupported link type' : 'unsupported encapsulation', linkType === 149 ? '149' : `PKTAP record type ${next}`);
    const dlt = b.readUInt32LE(start + 8);
    // A PKTAP inside PKTAP would be read again and again: no writer makes one.
    if (dlt === 149 || dlt === 258) return this.skipPacket(this.sink!, 'unsupported link type', `PKTAP carrying ${dlt}`);
    const app = pktapName(b, start + 88, start + length) ?? pktapName(b, start + 56, start + length);
    const outer = this.packetApp;
    if (app !== null) this.packetApp = app;
    try {
      this.frame(dlt, b, start + length, end);
    } finally {
      this.packetApp = outer;
    }
  }

  /**
   * A Linux NFLOG record (`tcpdump -i nflog:N`, packets an iptables or nftables rule logged):
   * address family, version 0, resource id, then TLVs whose length (header included, padded to 4
   * bytes) and type are in the writer's byte order, their values big-endian. The payload (type 9)
   * is the IP packet; the sending socket's UID (type 11), where the rule asked for it, is the
   * connection's app (`uid N`), as Android apps are told apart.
   */
  private nflog(b: Buffer, start: number, end: number): void {
    if (end - start < 4) return this.truncated('NFLOG header', end - start);
    if (b[start + 1] !== 0) return this.skipPacket(this.sink!, 'unsupported link type', `NFLOG version ${b[start + 1]}`);
    let p = start + 4;
    let payload = -1;
    let payloadEnd = -1;
    let uid = -1;
    while (end - p >= 4) {
      const length = this.u16(b, p);
      if (length < 4 || length > end - p) break;
      const type = this.u16(b, p + 2) & 0x7fff;
      if (type === NFULA_PAYLOAD) {
        payload = p + 4;
        payloadEnd = p + length;
      } else if (type === NFULA_UID && length >= 8) {
        uid = b.readUInt32BE(p + 4);
      }
      p += (length + 3) & ~3;
    }
    if (payload < 0) return this.notIp('NFLOG record without a packet');
    const outer = this.packetApp;
    if (uid >= 0) this.packetApp = this.uidApps.get(uid) ?? `uid ${uid}`;
    try {
      this.ip(b, payload, payloadEnd);
    } finally {
      this.packetApp = outer;
    }
  }

  /**
   * An IEEE 802.11 frame (a Wi-Fi capture in monitor mode): data frames only, after their header
   * (24 bytes, the fourth address of a frame between access points, QoS control, HT control),
   * through LLC/SNAP to the Ethertype. A protected frame's data is encrypted (WPA): skipped, as
   * traffic that cannot be seen (airdecap-ng writes a capture decrypted). Management and
   * control frames, and data frames without data, are frames without data.
   */
  private wifi(b: Buffer, start: number, end: number): void {
    const have = end - start;
    if (have < 2) return this.truncated('802.11 header', have);
    const fc = b[start]!;
    const flags = b[start + 1]!;
    const type = (fc >> 2) & 3;
    const subtype = fc >> 4;
    if (type !== 2) return this.notIp(type === 0 ? '802.11 management frame' : '802.11 control frame');
    // Null data (subtypes 4-7 and 12-15 carry no frame body).
    if ((subtype & 0x4) !== 0) return this.notIp('802.11 frame without data');
    const qos = (subtype & 0x8) !== 0;
    const header = 24 + ((flags & 0x03) === 0x03 ? 6 : 0) + (qos ? 2 : 0) + (qos && (flags & 0x80) !== 0 ? 4 : 0);
    if (have < header) return this.truncated('802.11 header', have);
    if ((flags & 0x40) !== 0) return this.skipPacket(this.sink!, 'encrypted 802.11 frame', 'protected (WPA/WEP): decrypt the capture first (airdecap-ng)');
    const p = start + header;
    // An aggregate of several frames (A-MSDU, QoS control's bit 7: 802.11n and later) carries
    // subframes, not one LLC/SNAP header: not read, so skipped, as is any other body.
    const qosControl = start + 24 + ((flags & 0x03) === 0x03 ? 6 : 0);
    if (qos && (b[qosControl]! & 0x80) !== 0) {
      return this.skipPacket(this.sink!, 'unsupported encapsulation', '802.11 A-MSDU (aggregated frames)');
    }
    if (end - p < 8) return this.truncated('LLC/SNAP header', end - p);
    // LLC with SNAP (AA AA 03), organisation 00-00-00 or 00-00-F8: the Ethertype follows.
    if (b[p] === 0xaa && b[p + 1] === 0xaa && b[p + 2] === 0x03) return this.etherType(b.readUInt16BE(p + 6), b, p + 8, end);
    return this.skipPacket(this.sink!, 'unsupported encapsulation', '802.11 frame without LLC/SNAP');
  }

  /** An Ethernet frame: dst, src, type; 802.1Q/802.1ad/QinQ tags insert 4 bytes before the type. */
  private ethernet(b: Buffer, start: number, end: number): void {
    let p = start + 12;
    let tags = 0;
    for (;;) {
      if (end - p < 2) return this.truncated('Ethernet header', end - start);
      const type = b.readUInt16BE(p);
      if ((type === 0x8100 || type === 0x88a8 || type === 0x9100) && ++tags <= MAX_VLAN_TAGS) {
        p += 4;
        continue;
      }
      return this.etherType(type, b, p + 2, end);
    }
  }

  private etherType(type: number, b: Buffer, start: number, end: number, tags = 0): void {
    if (type === ETHERTYPE_IPV4 || type === ETHERTYPE_IPV6) return this.ip(b, start, end);
    // 802.1Q/802.1ad tags where the link header is not Ethernet (libpcap puts a VLAN tag back
    // after a Linux cooked header): the tag, then the type it carries.
    if ((type === 0x8100 || type === 0x88a8 || type === 0x9100) && tags < MAX_VLAN_TAGS) {
      if (end - start < 4) return this.truncated('VLAN tag', end - start);
      return this.etherType(b.readUInt16BE(start + 2), b, start + 4, end, tags + 1);
    }
    // PPPoE session (RFC 2516): version/type, code, session, length, then the PPP protocol
    // (0x0021 IPv4, 0x0057 IPv6, RFC 1332/5072).
    if (type === 0x8864) {
      if (end - start < 8) return this.truncated('PPPoE header', end - start);
      const ppp = b.readUInt16BE(start + 6);
      if (ppp === 0x0021 || ppp === 0x0057) return this.ip(b, start + 8, end);
      return this.notIp(`PPPoE session, PPP protocol 0x${ppp.toString(16).padStart(4, '0')}`);
    }
    // MPLS (RFC 3032): 4-byte labels up to the one marked bottom of stack, then IP by its version.
    if (type === 0x8847 || type === 0x8848) {
      for (let p = start, i = 0; i < MAX_VLAN_TAGS * 4; i++) {
        if (end - p < 4) return this.truncated('MPLS label', end - p);
        const bottom = (b[p + 2]! & 1) !== 0;
        p += 4;
        if (bottom) {
          if (end > p && (b[p]! >> 4 === 4 || b[p]! >> 4 === 6)) return this.ip(b, p, end);
          return this.skipPacket(this.sink!, 'unsupported encapsulation', 'MPLS, not IP (a pseudowire)');
        }
      }
      return this.skipPacket(this.sink!, 'unsupported encapsulation', 'MPLS, too many labels');
    }
    if (type < 0x0600) return this.notIp('802.3 LLC');
    const name = ETHERTYPE_NAMES[type];
    if (name !== undefined) return this.notIp(name);
    this.skipPacket(this.sink!, 'unsupported encapsulation', `ethertype 0x${type.toString(16).padStart(4, '0')}`);
  }

  /** Decodes an IPv4 or IPv6 packet at `b[start, end)` (captured bytes; the packet may be longer). */
  private ip(b: Buffer, start: number, end: number): void {
    const have = end - start;
    if (have < 1) return this.truncated('IP header', have);
    const version = b[start]! >> 4;
    if (version === 4) {
      if (have < 20) return this.truncated('IPv4 header', have);
      const ihl = (b[start]! & 15) * 4;
      if (ihl < 20) return this.skipPacket(this.sink!, 'bad IPv4 header', `header length ${ihl}`);
      if (have < ihl) return this.truncated('IPv4 header', have);
      let total = b.readUInt16BE(start + 2);
      // Segmentation offload captures show 0: the captured length is all there is.
      if (total === 0) total = have;
      if (total < ihl) return this.skipPacket(this.sink!, 'bad IPv4 header', `total length ${total}`);
      let proto = b[start + 9]!;
      const frag = b.readUInt16BE(start + 6);
      const src = formatIpv4(b, start + 12);
      const dst = formatIpv4(b, start + 16);
      let p = start + ihl;
      let l4len = total - ihl;
      const capEnd = Math.min(end, start + total);
      let fragKey: string | null = null;
      if ((frag & 0x3fff) !== 0) {
        this.stats.fragments++;
        fragKey = `4 ${src} ${dst} ${proto} ${b.readUInt16BE(start + 4)}`;
        if ((frag & 0x1fff) !== 0) return this.laterFragment(fragKey, src, l4len, (frag & 0x1fff) * 8);
      }
      // IPv4 AH (RFC 4302): skip it to reach the transport header.
      if (proto === 51 && capEnd - p >= 2) {
        const ahLen = (b[p + 1]! + 2) * 4;
        proto = b[p]!;
        p += ahLen;
        l4len -= ahLen;
        if (l4len < 0) return this.skipPacket(this.sink!, 'bad IPv4 header', 'AH longer than the packet');
      }
      return this.transport(proto, src, dst, b, p, capEnd, l4len, fragKey);
    }
    if (version === 6) {
      if (have < 40) return this.truncated('IPv6 header', have);
      let l4len = b.readUInt16BE(start + 4);
      // 0 is a jumbogram or an offloaded packet: take the captured length.
      if (l4len === 0) l4len = have - 40;
      let next = b[start + 6]!;
      const src = formatIpv6(b, start + 8);
      const dst = formatIpv6(b, start + 24);
      const capEnd = Math.min(end, start + 40 + l4len);
      let p = start + 40;
      let fragKey: string | null = null;
      for (let i = 0; i < MAX_IPV6_EXTENSIONS; i++) {
        let hl: number;
        if (next === 0 || next === 43 || next === 60 || next === 51 || next === 44) {
          if (capEnd - p < (next === 44 ? 8 : 2)) return this.truncated('IPv6 extension header', have);
          if (next === 44) {
            hl = 8;
            this.stats.fragments++;
            const off = b.readUInt16BE(p + 2) & 0xfff8;
            const more = b[p + 3]! & 1;
            if (off !== 0 || more !== 0) fragKey = `6 ${src} ${dst} ${b.readUInt32BE(p + 4)}`;
            if (off !== 0) return this.laterFragment(fragKey!, src, l4len - hl, off);
          } else {
            hl = next === 51 ? (b[p + 1]! + 2) * 4 : (b[p + 1]! + 1) * 8;
          }
          next = b[p]!;
          p += hl;
          l4len -= hl;
          if (l4len < 0) return this.skipPacket(this.sink!, 'bad IPv6 header', 'extension headers longer than the packet');
          continue;
        }
        break;
      }
      // 59: no next header; the payload (if any) belongs to no transport.
      return this.transport(next, src, dst, b, p, capEnd, l4len, fragKey);
    }
    this.skipPacket(this.sink!, 'not an IP packet', `IP version ${version}`);
  }

  /**
   * A non-first fragment: its bytes go to the first fragment's connection. One that comes before
   * its first fragment (senders may send the last first) waits for it, within a bound; one whose
   * first fragment never came is skipped at the end.
   */
  private laterFragment(key: string, src: string, l4len: number, offset: number): void {
    const f = this.fragments.get(key);
    if (!f) {
      if (this.orphanCount >= MAX_PENDING_FRAGMENTS) return this.skipPacket(this.sink!, 'IP fragment without its first fragment', key);
      let waiting = this.orphans.get(key);
      if (waiting === undefined) this.orphans.set(key, (waiting = []));
      waiting.push({ packetNo: this.packetNo, src, bytes: l4len, offset });
      this.orphanCount++;
      return;
    }
    this.addFragment(f, src, l4len, offset);
  }

  /**
   * The bytes of a later fragment, `offset` bytes into its packet's payload: for TCP, the
   * segment's data at that place, counted once as {@link Connection.tcpBytes} counts data.
   */
  private addFragment(first: { conn: Connection; seq: number; headerBytes: number }, src: string, bytes: number, offset: number): void {
    const c = first.conn;
    const fromOrig = src === c.origIp;
    const added = first.seq >= 0 && offset >= first.headerBytes ? c.tcpBytes(fromOrig, (first.seq + offset - first.headerBytes) % SEQ_SPACE, 0, bytes) : bytes;
    if (fromOrig) c.origBytes += added;
    else c.respBytes += added;
    this.touch(c);
  }

  private touch(c: Connection): void {
    c.packets++;
    // A packet in a tunnel is in a connection already: the tunnel's.
    if (this.depth === 0) this.stats.inConnections++;
    if (this.tsMs === this.tsMs && !(this.tsMs <= c.lastMs)) c.lastMs = this.tsMs;
  }

  /**
   * The transport layer at `b[p, capEnd)`; `l4len` is its length on the wire (more than captured
   * when the snap length cut it).
   */
  private transport(
    proto: number,
    src: string,
    dst: string,
    b: Buffer,
    p: number,
    capEnd: number,
    l4len: number,
    fragKey: string | null,
  ): void {
    const have = capEnd - p;
    let sport = -1;
    let dport = -1;
    let payload = l4len;
    let name: string;
    if (proto === 6) {
      if (have < 13) return this.truncated('TCP header', have);
      const doff = (b[p + 12]! >> 4) * 4;
      if (doff < 20 || doff > l4len) return this.skipPacket(this.sink!, 'bad TCP header', `data offset ${doff}`);
      sport = b.readUInt16BE(p);
      dport = b.readUInt16BE(p + 2);
      payload = l4len - doff;
      name = 'tcp';
    } else if (proto === 17 || proto === 132 || proto === 136) {
      // UDP, SCTP and UDP-Lite start with the two ports.
      const hl = proto === 132 ? 12 : 8;
      if (have < 4) return this.truncated(`${ipProtocolName(proto).toUpperCase()} header`, have);
      if (l4len < hl) return this.skipPacket(this.sink!, 'bad UDP header', `length ${l4len}`);
      sport = b.readUInt16BE(p);
      dport = b.readUInt16BE(p + 2);
      payload = l4len - hl;
      name = ipProtocolName(proto);
    } else {
      name = proto === 58 ? 'icmpv6' : ipProtocolName(proto);
    }
    const key = `${name} ${src} ${sport} ${dst} ${dport}`;
    const flags = proto === 6 && have > 13 ? b[p + 13]! : 0;
    let c = this.connections.get(key);
    let fromOrig = true;
    if (c === undefined) {
      c = this.connections.get(`${name} ${dst} ${dport} ${src} ${sport}`);
      fromOrig = false;
    }
    if (c !== undefined && (flags & 0x12) === 0x02 && have >= 8 && c.isAnotherSyn(fromOrig, b.readUInt32BE(p + 4))) {
      // A SYN on the ports of a connection that ended, or one that did not open it (another
      // sequence number): the ports are used again, by another connection.
      this.connections.delete(`${name} ${c.origIp} ${c.origPort} ${c.respIp} ${c.respPort}`);
      this.endedConnections.push(c);
      c = undefined;
    }
    if (c === undefined) {
      if (this.connections.size + this.endedConnections.length >= MAX_CONNECTIONS) {
        return this.skipPacket(this.sink!, 'too many connections', `more than ${MAX_CONNECTIONS}`);
      }
      if (sentByServer(proto, b, p, have, sport, dport)) {
        // The capture began after the connection opened: its first packet is the server's.
        c = new Connection(this.packetNo, name, dst, dport, src, sport, this.tsMs);
        this.connections.set(`${name} ${dst} ${dport} ${src} ${sport}`, c);
        fromOrig = false;
      } else {
        c = new Connection(this.packetNo, name, src, sport, dst, dport, this.tsMs);
        this.connections.set(key, c);
        fromOrig = true;
      }
    }
    const added = proto === 6 && have >= 8 ? c.tcpBytes(fromOrig, b.readUInt32BE(p + 4), flags, payload) : payload;
    if (fromOrig) c.origBytes += added;
    else c.respBytes += added;
    if ((flags & 0x05) !== 0) c.ended = true;
    if (c.app === null) c.app = this.trailerAt >= 0 ? trailerApp(b, this.trailerAt) : this.packetApp;
    this.touch(c);
    // A SYN from the originator: its first payload byte will be the next sequence number.
    if (proto === 6 && fromOrig && capEnd - p > 13 && (b[p + 13]! & 0x12) === 0x02) {
      c.helloStartSeq = (b.readUInt32BE(p + 4) + 1) >>> 0;
    }
    if (fragKey !== null) {
      if (this.fragments.size >= MAX_PENDING_FRAGMENTS) this.fragments.clear();
      const first = { conn: c, fromOrig, seq: proto === 6 && have >= 13 ? b.readUInt32BE(p + 4) : -1, headerBytes: proto === 6 && have >= 13 ? (b[p + 12]! >> 4) * 4 : 0 };
      this.fragments.set(fragKey, first);
      const waiting = this.orphans.get(fragKey);
      if (waiting !== undefined) {
        // Fragments of this packet that came before it.
        this.orphans.delete(fragKey);
        this.orphanCount -= waiting.length;
        for (const w of waiting) this.addFragment(first, w.src, w.bytes, w.offset);
      }
    }
    if (proto === 47 || proto === 4 || proto === 41 || (proto === 17 && isTunnelPort(dport))) {
      if (this.depth >= MAX_TUNNEL_DEPTH) return this.skipPacket(this.sink!, 'unsupported encapsulation', `more than ${MAX_TUNNEL_DEPTH} tunnels deep`);
      this.depth++;
      try {
        this.tunnel(proto, dport, b, proto === 17 ? p + 8 : p, capEnd);
      } finally {
        this.depth--;
      }
      return;
    }
    if (proto === 17 || proto === 6) {
      const start = proto === 6 ? p + (b[p + 12]! >> 4) * 4 : p + 8;
      const stop = Math.min(capEnd, start + payload);
      if (start >= stop) return;
      if (sport === 53 || dport === 53 || sport === 5353) {
        // DNS over TCP prefixes each message with its length (RFC 1035 §4.2.2); one segment may
        // carry several (a resolver's A and AAAA answers together).
        if (proto === 6) {
          for (let at = start; stop - at >= 2; ) {
            const len = b.readUInt16BE(at);
            this.dnsResponse(b, at + 2, Math.min(stop, at + 2 + len));
            if (len === 0) break;
            at += 2 + len;
          }
        } else this.dnsResponse(b, start, stop);
      } else if (proto === 6 && fromOrig && !c.helloDone) {
        // Data in a SYN (TCP Fast Open, RFC 7413) starts at its sequence number plus one.
        const syn = (b[p + 13]! & 0x02) !== 0 ? 1 : 0;
        this.clientHello(c, b, start, stop, (b.readUInt32BE(p + 4) + syn) >>> 0, payload);
      } else if (proto === 17 && fromOrig && !c.quicDecided) {
        this.quicDatagram(c, b, start, stop);
      }
    }
  }

  /**
   * The packet inside a tunnel whose payload (after the UDP header, for UDP tunnels) is
   * `b[p, end)`: read as a packet of its own (see the module comment).
   */
  private tunnel(proto: number, dport: number, b: Buffer, p: number, end: number): void {
    const have = end - p;
    if (proto === 4 || proto === 41) return this.ip(b, p, end);
    if (proto === 47) {
      // GRE (RFC 2784, RFC 2890): C, R, K, S flags and the version, then the protocol type, then
      // the checksum (C or R), key (K) and sequence number (S) words that are present.
      if (have < 4) return this.truncated('GRE header', have);
      const flags = b[p]!;
      const version = b[p + 1]! & 7;
      const type = b.readUInt16BE(p + 2);
      if (version === 1) {
        // PPTP's enhanced GRE (RFC 2637): key always, sequence (S) and acknowledgment (A) numbers.
        const hl = 8 + (flags & 0x10 ? 4 : 0) + (b[p + 1]! & 0x80 ? 4 : 0);
        if (type !== GRE_PPP) return this.skipPacket(this.sink!, 'unsupported encapsulation', `PPTP GRE protocol 0x${type.toString(16).padStart(4, '0')}`);
        if (have <= hl) return have < hl ? this.truncated('GRE header', have) : this.notIp('PPTP acknowledgment');
        return this.ppp(b, p + hl, end);
      }
      if (version !== 0 || (flags & 0x40) !== 0) return this.skipPacket(this.sink!, 'unsupported encapsulation', `GRE version ${version}${flags & 0x40 ? ' with routing' : ''}`);
      let q = p + 4 + (flags & 0x80 ? 4 : 0) + (flags & 0x20 ? 4 : 0) + (flags & 0x10 ? 4 : 0);
      if (end < q) return this.truncated('GRE header', have);
      if (type === GRE_ETHERNET) return this.ethernet(b, q, end);
      if (type === GRE_ERSPAN_2) {
        // ERSPAN: type I has no header of its own (and no sequence number), type II 8 bytes.
        if (flags & 0x10) q += 8;
        if (end < q) return this.truncated('ERSPAN header', have);
        return this.ethernet(b, q, end);
      }
      if (type === GRE_ERSPAN_3) {
        // ERSPAN type III: 12 bytes, and an 8-byte platform subheader when its O flag is set.
        if (end - q < 12) return this.truncated('ERSPAN header', have);
        q += 12 + (b[q + 11]! & 1 ? 8 : 0);
        if (end < q) return this.truncated('ERSPAN header', have);
        return this.ethernet(b, q, end);
      }
      // Otherwise an Ethertype: IPv4, IPv6, MPLS, ...
      return this.etherType(type, b, q, end);
    }
    if (dport === VXLAN_PORT) {
      // VXLAN (RFC 7348): flags (I set), reserved, the 24-bit network identifier, reserved.
      if (have < 8) return this.truncated('VXLAN header', have);
      return this.ethernet(b, p + 8, end);
    }
    if (dport === GENEVE_PORT) {
      // Geneve (RFC 8926): version and options length (in 4-byte words), flags, protocol type,
      // network identifier; then the options.
      if (have < 8) return this.truncated('Geneve header', have);
      const q = p + 8 + (b[p]! & 0x3f) * 4;
      if (end < q) return this.truncated('Geneve header', have);
      const type = b.readUInt16BE(p + 2);
      return type === GRE_ETHERNET ? this.ethernet(b, q, end) : this.etherType(type, b, q, end);
    }
    // VXLAN-GPE (draft-ietf-nvo3-vxlan-gpe): flags, reserved, next protocol, network identifier.
    if (have < 8) return this.truncated('VXLAN-GPE header', have);
    const next = b[p + 3]!;
    if (next === 1 || next === 2) return this.ip(b, p + 8, end);
    if (next === 3) return this.ethernet(b, p + 8, end);
    if (next === 5) return this.etherType(0x8847, b, p + 8, end);
    this.skipPacket(this.sink!, 'unsupported encapsulation', `VXLAN-GPE next protocol ${next}`);
  }

  /** A PPP frame (a PPP link, PPTP's GRE): IPv4 or IPv6, after the address and control bytes when present. */
  private ppp(b: Buffer, p: number, end: number): void {
    if (end - p >= 2 && b[p] === 0xff && b[p + 1] === 0x03) p += 2;
    // The protocol field is one byte when compressed (odd), else two (RFC 1661 §2).
    if (end - p < (b[p]! & 1 ? 1 : 2)) return this.truncated('PPP header', end - p);
    const protocol = b[p]! & 1 ? b[p]! : b.readUInt16BE(p);
    const q = p + (b[p]! & 1 ? 1 : 2);
    if (protocol === 0x21 || protocol === 0x57) return this.ip(b, q, end);
    // Control protocols (LCP, IPCP, CCP: 0x8000 and up) carry no data; anything else (0x00fd,
    // MPPE-encrypted data) may carry traffic that cannot be seen.
    if (protocol >= 0x8000) return this.notIp(`PPP protocol 0x${protocol.toString(16).padStart(4, '0')}`);
    this.skipPacket(this.sink!, 'unsupported encapsulation', `PPP protocol 0x${protocol.toString(16).padStart(4, '0')}`);
  }

  /** Feeds a client segment to the connection's ClientHello reader. */
  private clientHello(c: Connection, b: Buffer, start: number, stop: number, seq: number, wireLength: number): void {
    let reader = c.hello;
    if (reader === null) {
      reader = new ClientHelloReader(c.helloStartSeq);
      reader.push(b, start, stop, seq, wireLength);
      // Most ClientHellos end here; the rest gather, within a bound on how many at once.
      if (!reader.done && this.gatheringHellos < MAX_GATHERING_HELLOS) {
        c.hello = reader;
        this.gatheringHellos++;
        return;
      }
      reader.end();
    } else {
      reader.push(b, start, stop, seq, wireLength);
      if (!reader.done) return;
      c.hello = null;
      this.gatheringHellos--;
    }
    c.helloDone = true;
    if (reader.sni !== null) c.sni = reader.sni;
  }

  /** A client datagram of a UDP connection, on any port: QUIC is recognised by its Initial packet. */
  private quicDatagram(c: Connection, b: Buffer, start: number, end: number): void {
    const quic = this.quicInitials.push(c, b, start, end);
    if (quic.state === 'done') {
      c.quicDecided = true;
      if (quic.sni !== null) c.sni = quic.sni;
    }
  }

  unitsInConnections(): number {
    return this.stats.inConnections;
  }

  private dnsResponse(b: Buffer, start: number, end: number): void {
    if (end - start < 12) return;
    readDnsAnswers(b, start, end, (address, name) => {
      this.dnsNames.add(address, name);
    });
  }
}
