/**
 * Cross-checks the pcap reader against Wireshark's tshark on every fixture capture.
 *
 * What is compared, and why it is exact:
 * - The set of TCP and UDP conversations (`tshark -z conv,tcp -z conv,udp`): endpoint pairs,
 *   unordered, one row per 5-tuple. The table's byte columns are frame bytes (link headers
 *   included) and Wireshark 4 prints them rounded (`11 kB`), so they are not compared.
 * - Payload bytes per conversation and direction, from per-frame fields: `tcp.len` (TCP payload,
 *   leaving out the segments tshark marks `tcp.analysis.retransmission`: the reader counts data
 *   once, by its sequence numbers) and `udp.length - 8` (UDP payload), summed per 5-tuple, the
 *   direction taken from the first frame. tshark reassembles IPv4/IPv6 fragments and reports the datagram's `udp.length` once;
 *   the reader adds the fragments' payloads to the first fragment's connection: the sums agree.
 *
 * - The server name of each QUIC conversation: tshark decrypts client Initial packets and
 *   reassembles their CRYPTO frames (`tls.handshake.extensions_server_name` on UDP frames); the
 *   reader must attach the same SNI to the connection. On the generated QUIC captures, which hold
 *   no DNS, the comparison covers every UDP conversation both ways (a name where tshark has one,
 *   none where it has none); on the others, every name tshark finds must be the reader's.
 *
 * Teredo is disabled in tshark: the reader does not open Teredo (it opens VXLAN, Geneve, GRE and
 * IP in IP, compared with tshark in pcap-tunnels.test.ts), so it reports the outer UDP
 * conversation, as tshark then does. ICMP errors (whose quoted headers tshark would count as
 * TCP/UDP) are excluded from the field query.
 *
 * tshark is required: `.ci/run` installs it (Debian package `tshark`); without it this test fails.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PcapParser } from '../../../lambda/engine/parsers/pcap';
import type { FlowRecord } from '../../../lambda/engine/types';
import { fixturePath } from '../../helpers/engine';
import { RecordingSink } from './harness';

const DIR = fixturePath('pcap');
const CAPTURES = [
  ...readdirSync(DIR).filter((f) => /\.pcap(ng)?$/.test(f)),
  ...readdirSync(join(DIR, 'generated'))
    .filter((f) => /\.pcap(ng)?$/.test(f))
    .map((f) => `generated/${f}`),
];

function tshark(args: string[]): string {
  const r = spawnSync('tshark', ['-n', '--disable-protocol', 'teredo', ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) {
    throw new Error(
      `tshark is required for this test and could not be run (${r.error.message}); install it with 'apt-get install tshark' (.ci/run does)`,
    );
  }
  // A capture cut inside a packet makes tshark exit non-zero after printing what it read.
  if (r.status !== 0 && !/cut short/.test(r.stderr)) throw new Error(`tshark ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** `proto a b` with the two `address:port` endpoints sorted, so either direction matches. */
function pairKey(proto: string, a: string, b: string): string {
  return a < b ? `${proto} ${a} ${b}` : `${proto} ${b} ${a}`;
}

interface Payload {
  orig: string;
  origBytes: number;
  respBytes: number;
}

const FIELDS = [
  'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport', 'tcp.len', 'udp.srcport', 'udp.dstport', 'udp.length',
  'tls.handshake.extensions_server_name',
];

interface TsharkView {
  conversations: string[];
  payloads: Map<string, Payload>;
  /** The server name in each UDP (QUIC) conversation's decrypted Initial packets, by pair key. */
  quicNames: Map<string, string>;
}

const views = new Map<string, TsharkView>();

/**
 * One tshark run per file (kept for the other tests): per-frame fields (payload bytes per
 * conversation and direction, QUIC server names), then the `-z conv,tcp -z conv,udp` tables
 * (conversation rows, as pair keys).
 */
function tsharkView(file: string): TsharkView {
  const seen = views.get(file);
  if (seen) return seen;
  const out = tshark([
    '-r', file,
    '-Y', '((tcp and not tcp.analysis.retransmission) or udp) and not icmp and not icmpv6',
    '-T', 'fields', ...FIELDS.flatMap((f) => ['-e', f]),
    '-z', 'conv,tcp', '-z', 'conv,udp',
  ]);
  const statsAt = /^={10,}$/m.exec(out)?.index ?? -1;
  const payloads = new Map<string, Payload>();
  const quicNames = new Map<string, string>();
  for (const line of out.slice(0, statsAt < 0 ? out.length : statsAt).split('\n')) {
    if (line.trim() === '') continue;
    const [ip4s, ip4d, ip6s, ip6d, ts, td, tlen, us, ud, ulen, sni] = line.split('\t');
    const src = ip4s || ip6s!;
    const dst = ip4d || ip6d!;
    const proto = ts ? 'tcp' : 'udp';
    const a = `${src}:${ts || us}`;
    const bytes = proto === 'tcp' ? Number(tlen) : Number(ulen) - 8;
    const key = pairKey(proto, a, `${dst}:${td || ud}`);
    let p = payloads.get(key);
    if (!p) payloads.set(key, (p = { orig: a, origBytes: 0, respBytes: 0 }));
    if (a === p.orig) p.origBytes += bytes;
    else p.respBytes += bytes;
    if (proto === 'udp' && sni) {
      const known = quicNames.get(key);
      if (known !== undefined && known !== sni) throw new Error(`${file}: tshark names ${key} both ${known} and ${sni}`);
      quicNames.set(key, sni);
    }
  }
  const conversations: string[] = [];
  let proto = '';
  for (const line of statsAt < 0 ? [] : out.slice(statsAt).split('\n')) {
    const header = /^(TCP|UDP) Conversations/.exec(line);
    if (header) proto = header[1]!.toLowerCase();
    const row = /^(\S+)\s+<->\s+(\S+)\s/.exec(line);
    if (row) conversations.push(pairKey(proto, row[1]!, row[2]!));
  }
  const view = { conversations: conversations.sort(), payloads, quicNames };
  views.set(file, view);
  return view;
}

function readerFlows(file: string): FlowRecord[] {
  const sink = new RecordingSink();
  const parser = new PcapParser();
  parser.push(readFileSync(file), sink);
  parser.finish(sink);
  return sink.calls.flatMap((c) => (c.kind === 'flow' ? [c.record] : []));
}

/**
 * The server name of each TLS-over-TCP ClientHello tshark finds, by client → server pair.
 * tshark reassembles the TCP stream (out-of-order segments too, with the option set).
 */
function tsharkServerNames(file: string): Map<string, string> {
  const out = tshark([
    '-r', file,
    '-o', 'tcp.reassemble_out_of_order:TRUE',
    '-Y', 'tls.handshake.type == 1 and tcp',
    '-T', 'fields', ...['ip.src', 'ipv6.src', 'tcp.srcport', 'ip.dst', 'ipv6.dst', 'tcp.dstport', 'tls.handshake.extensions_server_name'].flatMap((f) => ['-e', f]),
  ]);
  const names = new Map<string, string>();
  for (const line of out.split('\n')) {
    if (line.trim() === '') continue;
    const [ip4s, ip6s, sport, ip4d, ip6d, dport, sni] = line.split('\t');
    if (sni) names.set(`${ip4s || ip6s}:${sport} -> ${ip4d || ip6d}:${dport}`, sni);
  }
  return names;
}

function readerPayloads(file: string): Map<string, Payload> {
  const byPair = new Map<string, Payload>();
  for (const r of readerFlows(file).filter((f) => f.proto === 'tcp' || f.proto === 'udp')) {
    const a = `${r.origIp}:${r.origPort}`;
    byPair.set(pairKey(r.proto, a, `${r.respIp}:${r.respPort}`), { orig: a, origBytes: r.origBytes, respBytes: r.respBytes });
  }
  return byPair;
}

/** The reader's name for each UDP connection, by pair key (null: none). */
function readerUdpNames(file: string): Map<string, string | null> {
  const names = new Map<string, string | null>();
  for (const r of readerFlows(file).filter((f) => f.proto === 'udp')) {
    names.set(pairKey('udp', `${r.origIp}:${r.origPort}`, `${r.respIp}:${r.respPort}`), r.hostname);
  }
  return names;
}

const QUIC_CAPTURES = CAPTURES.filter((f) => /(^|\/)quic-[^/]*\.pcap$/.test(f));

describe('pcap reader agrees with tshark', () => {
  it.each(CAPTURES)('%s: same TCP/UDP conversations, same payload bytes each way', (name) => {
    // Prepare
    const file = join(DIR, name);

    // Act
    const ours = readerPayloads(file);
    const { conversations, payloads } = tsharkView(file);

    // Assess: bytes each way by endpoint. Who opened a connection is not compared: tshark takes
    // the first packet's sender, the reader the client (a first packet that is a SYN-ACK, or from
    // a service port to another port, is the server's), tested in pcap.test.ts.
    expect([...ours.keys()].sort()).toEqual(conversations);
    const oriented = [...ours].map(([k, v]): [string, Payload] => {
      const t = payloads.get(k);
      return [k, t !== undefined && t.orig !== v.orig ? { orig: t.orig, origBytes: v.respBytes, respBytes: v.origBytes } : v];
    });
    expect(Object.fromEntries(oriented.sort())).toEqual(Object.fromEntries([...payloads].sort()));
  });
});

describe('pcap reader finds the TLS server names tshark finds', () => {
  const withNames = CAPTURES.filter((name) => tsharkServerNames(join(DIR, name)).size > 0);

  it('has captures with ClientHellos to compare, one split across TCP segments', () => {
    expect(withNames).toEqual(expect.arrayContaining(['generated/tls-split-hello.pcap', 'generated/be-vlan-dns-sni.pcap']));
  });

  it.each(withNames)('%s: every ClientHello server name, on its connection', (name) => {
    const file = join(DIR, name);
    const expected = tsharkServerNames(file);
    const ours = new Map<string, string | null>();
    for (const r of readerFlows(file)) {
      if (r.proto === 'tcp') ours.set(`${r.origIp}:${r.origPort} -> ${r.respIp}:${r.respPort}`, r.hostname);
    }
    for (const [pair, sni] of expected) expect([pair, ours.get(pair)]).toEqual([pair, sni]);
  });
});

describe('pcap reader names QUIC connections as tshark does', () => {
  it('has QUIC captures to compare', () => {
    expect(QUIC_CAPTURES.length).toBeGreaterThanOrEqual(4);
  });

  it.each(QUIC_CAPTURES)('%s: the same SNI, or none, on every UDP conversation', (name) => {
    // Prepare
    const file = join(DIR, name);

    // Act
    const ours = readerUdpNames(file);
    const theirs = tsharkView(file).quicNames;

    // Assess
    const expected = new Map([...ours.keys()].map((k) => [k, theirs.get(k) ?? null]));
    expect([...theirs.keys()].filter((k) => !ours.has(k))).toEqual([]);
    expect(Object.fromEntries([...ours].sort())).toEqual(Object.fromEntries([...expected].sort()));
  });

  it.each(CAPTURES)('%s: every QUIC SNI tshark finds is the reader\'s name for that connection', (name) => {
    // Prepare
    const file = join(DIR, name);

    // Act
    const ours = readerUdpNames(file);
    const theirs = tsharkView(file).quicNames;

    // Assess
    expect(Object.fromEntries([...theirs].map(([k]) => [k, ours.get(k)]).sort())).toEqual(Object.fromEntries([...theirs].sort()));
  });
});
