/**
 * The server name of a QUIC connection, from the TLS ClientHello in its client Initial packets.
 *
 * Initial packets are encrypted, but with keys anyone can derive from the Destination Connection
 * ID of the client's first Initial (RFC 9001 §5.2; QUIC v2: RFC 9369 §3.3): HKDF-Extract with the
 * version's salt over that DCID, HKDF-Expand-Label "client in", then the packet key, IV and
 * header-protection key. Reading one packet (RFC 9000 §17.2.2, RFC 9001 §5.3–5.4):
 * - the long header: flags, version, DCID, SCID, token, Length (the rest of the packet);
 * - header protection: AES-128-ECB of the 16 bytes that start 4 bytes after the packet number
 *   field gives a mask for the low 4 bits of the first byte (which hold the packet number length)
 *   and for the packet number bytes;
 * - the payload: AES-128-GCM with nonce = IV XOR packet number and the unprotected header as
 *   associated data; a bad tag means the packet is not what it seemed, and it is ignored.
 *
 * The plaintext is a list of frames (RFC 9000 §19; an Initial may carry PADDING, PING, ACK,
 * CRYPTO and CONNECTION_CLOSE, §12.4). CRYPTO frames carry the TLS handshake at a byte offset:
 * clients split a big ClientHello (post-quantum key shares) over two or three Initials, and some
 * send its pieces out of order within a packet. The pieces are put back by offset; once the bytes
 * from offset 0 hold the whole handshake message (type 1, 24-bit length), its `server_name` is
 * read. A datagram may hold several packets one after the other (coalesced, RFC 9000 §12.2); only
 * Initials are opened.
 *
 * Everything is bounded: only datagrams of 1200 bytes or more are read (as clients send Initials),
 * a connection is given up after `MAX_INITIALS` Initials or `MAX_DATAGRAMS` client datagrams, the reassembled stream is at most `MAX_CRYPTO_BYTES`, and
 * `QuicInitialTable` keeps at most `MAX_READERS` connections in progress, forgetting each once
 * it is decided. Malformed input yields no name, never an exception.
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { readClientHelloSni } from './pcap-names';

/** Client Initial packets opened per connection before giving up. */
export const MAX_INITIALS = 8;
/** Client datagrams looked at per connection (once its first Initial was seen) before giving up. */
export const MAX_DATAGRAMS = 16;
/** Longest handshake stream put together per connection. */
export const MAX_CRYPTO_BYTES = 64 * 1024;
/** Disjoint pieces of that stream kept; more means it is being sent in crumbs, and it is given up. */
const MAX_PIECES = 256;
/** Connections whose ClientHello is still being put together; the least recently fed is dropped. */
export const MAX_READERS = 1024;
/**
 * Smallest datagram that carries a client Initial: clients pad them to 1200 bytes (RFC 9000
 * §14.1) and servers drop shorter ones. Holding to it also bounds the decryption work a capture
 * can ask for to one attempt per 1200 bytes.
 */
export const MIN_INITIAL_DATAGRAM_BYTES = 1200;
/** Connection IDs are at most 20 bytes in QUIC v1 and v2 (RFC 9000 §17.2). */
const MAX_CID_BYTES = 20;
/** AEAD_AES_128_GCM tag, and the header-protection sample. */
const TAG_BYTES = 16;
const SAMPLE_BYTES = 16;

const FRAME_PADDING = 0x00;
const FRAME_PING = 0x01;
const FRAME_ACK = 0x02;
const FRAME_ACK_ECN = 0x03;
const FRAME_CRYPTO = 0x06;
const FRAME_CONNECTION_CLOSE = 0x1c;

interface QuicVersion {
  readonly salt: Buffer;
  /** The long-header packet type (bits 4–5 of the first byte) of Initial and of Retry packets. */
  readonly initialType: number;
  readonly retryType: number;
  readonly keyLabel: string;
  readonly ivLabel: string;
  readonly hpLabel: string;
}

/** The versions whose Initial keys are known: QUIC v1 (RFC 9001 §5.2) and v2 (RFC 9369 §3.3). */
const VERSIONS = new Map<number, QuicVersion>([
  [
    0x00000001,
    {
      salt: Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex'),
      initialType: 0,
      retryType: 3,
      keyLabel: 'quic key',
      ivLabel: 'quic iv',
      hpLabel: 'quic hp',
    },
  ],
  [
    0x6b3343cf,
    {
      salt: Buffer.from('0dede3def700a6db819381be6e269dcbf9bd2ed9', 'hex'),
      initialType: 1,
      retryType: 0,
      keyLabel: 'quicv2 key',
      ivLabel: 'quicv2 iv',
      hpLabel: 'quicv2 hp',
    },
  ],
]);

/** Keys protecting a client's Initial packets. */
export interface InitialKeys {
  readonly key: Buffer;
  readonly iv: Buffer;
  readonly hp: Buffer;
}

/** HKDF-Expand-Label (RFC 8446 §7.1) with an empty context, for outputs of one SHA-256 block. */
function expandLabel(secret: Buffer, label: string, length: number): Buffer {
  const name = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.alloc(4 + name.length);
  info.writeUInt16BE(length, 0);
  info[2] = name.length;
  name.copy(info, 3);
  info[3 + name.length] = 0; // context length
  // HKDF-Expand (RFC 5869 §2.3): T(1) = HMAC(PRK, info | 0x01) is enough for up to 32 bytes.
  return createHmac('sha256', secret)
    .update(info)
    .update(Buffer.from([1]))
    .digest()
    .subarray(0, length);
}

/**
 * The client Initial keys of a connection, from the DCID of the client's first Initial, or null
 * for a version whose keys are not known.
 *
 * @example
 * clientInitialKeys(1, Buffer.from('8394c8f03e515708', 'hex'))!.key.toString('hex');
 * // '1f369613dd76d5467730efcbe3b1a22d' (RFC 9001 Appendix A.1)
 */
export function clientInitialKeys(version: number, dcid: Buffer): InitialKeys | null {
  const v = VERSIONS.get(version);
  if (v === undefined) return null;
  const initialSecret = createHmac('sha256', v.salt).update(dcid).digest();
  const client = expandLabel(initialSecret, 'client in', 32);
  return { key: expandLabel(client, v.keyLabel, 16), iv: expandLabel(client, v.ivLabel, 12), hp: expandLabel(client, v.hpLabel, 16) };
}

/** A variable-length integer (RFC 9000 §16) at `b[p]`: its value and the bytes it takes, or null. */
function readVarint(b: Buffer, p: number, end: number): { value: number; size: number } | null {
  if (p >= end) return null;
  const size = 1 << (b[p]! >> 6);
  if (p + size > end) return null;
  let value = b[p]! & 0x3f;
  // Up to 2^62: past 2^53 the value is not exact, but every such length or offset is too big anyway.
  for (let i = 1; i < size; i++) value = value * 256 + b[p + i]!;
  return { value, size };
}

/** A long-header packet located in a datagram; `pnAt` is where its packet number field starts. */
interface LongPacket {
  readonly version: number;
  readonly isInitial: boolean;
  readonly dcid: Buffer;
  readonly start: number;
  readonly pnAt: number;
  readonly end: number;
}

/**
 * The long-header packet at `b[p]` (RFC 9000 §17.2) of a version in `VERSIONS`, or null (a short
 * header, another version, a Retry or Version Negotiation packet, or one that does not fit).
 */
function locatePacket(b: Buffer, p: number, end: number): LongPacket | null {
  if (end - p < 7 || (b[p]! & 0x80) === 0) return null;
  const version = b.readUInt32BE(p + 1);
  const v = VERSIONS.get(version);
  if (v === undefined) return null;
  const dcidLen = b[p + 5]!;
  if (dcidLen > MAX_CID_BYTES) return null;
  let q = p + 6 + dcidLen;
  if (q >= end) return null;
  const scidLen = b[q]!;
  if (scidLen > MAX_CID_BYTES) return null;
  q += 1 + scidLen;
  const type = (b[p]! >> 4) & 3;
  if (type === v.retryType) return null;
  const isInitial = type === v.initialType;
  if (isInitial) {
    const token = readVarint(b, q, end);
    if (token === null || token.value > end - q - token.size) return null;
    q += token.size + token.value;
  }
  const length = readVarint(b, q, end);
  if (length === null) return null;
  const pnAt = q + length.size;
  if (length.value > end - pnAt) return null;
  return { version, isInitial, dcid: b.subarray(p + 6, p + 6 + dcidLen), start: p, pnAt, end: pnAt + length.value };
}

/**
 * True when the datagram `b[start, end)` can be a client's first: 1200 bytes or more, starting
 * with a QUIC v1 or v2 Initial packet.
 */
export function startsWithQuicInitial(b: Buffer, start: number, end: number): boolean {
  return end - start >= MIN_INITIAL_DATAGRAM_BYTES && locatePacket(b, start, end)?.isInitial === true;
}

/** An opened Initial: its full packet number and plaintext frames. */
export interface OpenedInitial {
  readonly packetNumber: number;
  readonly payload: Buffer;
}

/**
 * Removes header protection from the Initial at `b[start, end)` (its packet number field at
 * `pnAt`) and decrypts it; null when it does not open (wrong keys, bad tag, too short).
 * `largestPn` is the largest packet number opened so far in this space (-1 for none), from which
 * the truncated packet number is expanded (RFC 9000 §17.1, Appendix A.3).
 */
export function openInitial(
  b: Buffer,
  start: number,
  pnAt: number,
  end: number,
  keys: InitialKeys,
  largestPn = -1,
): OpenedInitial | null {
  // The sample starts 4 bytes into the packet number field, whatever its real length.
  if (pnAt + 4 + SAMPLE_BYTES > end) return null;
  const hp = createCipheriv('aes-128-ecb', keys.hp, null);
  hp.setAutoPadding(false);
  const mask = hp.update(b.subarray(pnAt + 4, pnAt + 4 + SAMPLE_BYTES));
  const first = b[start]! ^ (mask[0]! & 0x0f);
  const pnLen = (first & 3) + 1;
  const payloadAt = pnAt + pnLen;
  if (payloadAt + TAG_BYTES > end) return null;
  const header = Buffer.from(b.subarray(start, payloadAt));
  header[0] = first;
  let truncated = 0;
  for (let i = 0; i < pnLen; i++) {
    const at = pnAt - start + i;
    header[at] = header[at]! ^ mask[1 + i]!;
    truncated = truncated * 256 + header[at]!;
  }
  const packetNumber = expandPacketNumber(largestPn, truncated, pnLen * 8);
  const nonce = Buffer.from(keys.iv);
  // The packet number is at most 2^62, left-padded to the IV's 12 bytes (RFC 9001 §5.3).
  const hi = Math.floor(packetNumber / 2 ** 32);
  nonce.writeUInt32BE((nonce.readUInt32BE(4) ^ hi) >>> 0, 4);
  nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ (packetNumber >>> 0)) >>> 0, 8);
  try {
    const aead = createDecipheriv('aes-128-gcm', keys.key, nonce);
    aead.setAAD(header);
    aead.setAuthTag(b.subarray(end - TAG_BYTES, end));
    const payload = Buffer.concat([aead.update(b.subarray(payloadAt, end - TAG_BYTES)), aead.final()]);
    return { packetNumber, payload };
  } catch {
    return null;
  }
}

/** RFC 9000 Appendix A.3: the packet number closest to the next expected one. */
function expandPacketNumber(largest: number, truncated: number, bits: number): number {
  const expected = largest + 1;
  const win = 2 ** bits;
  const hwin = win / 2;
  const candidate = expected - (expected % win) + truncated;
  if (candidate <= expected - hwin && candidate < 2 ** 62 - win) return candidate + win;
  if (candidate > expected + hwin && candidate >= win) return candidate - win;
  return candidate;
}

/** What a connection's client datagrams have told so far. */
export type QuicSniProgress =
  | { readonly state: 'pending' }
  | { readonly state: 'done'; readonly sni: string | null };

const PENDING: QuicSniProgress = { state: 'pending' };
const NO_NAME: QuicSniProgress = { state: 'done', sni: null };

/**
 * One connection's client Initials: opens them and puts the CRYPTO stream together until the
 * ClientHello is whole. Feed it the client's datagrams in capture order.
 */
export class QuicInitialReader {
  private initials = 0;
  private datagrams = 0;
  /** Set once decided; later datagrams change nothing. */
  private result: QuicSniProgress | null = null;
  private largestPn = -1;
  /** Keys from the first Initial's DCID, then (after a Retry) from a later one's. */
  private readonly keys: { dcid: Buffer; keys: InitialKeys }[] = [];
  /** The stream so far, and the disjoint `[start, end)` ranges of it received, in order. */
  private stream = Buffer.alloc(0);
  private ranges: number[] = [];

  /** Reads one client datagram `b[start, end)`. */
  push(b: Buffer, start: number, end: number): QuicSniProgress {
    if (this.result !== null) return this.result;
    if (++this.datagrams > MAX_DATAGRAMS) return this.decide();
    if (end - start < MIN_INITIAL_DATAGRAM_BYTES) return PENDING;
    let p = start;
    while (p < end) {
      const packet = locatePacket(b, p, end);
      if (packet === null) break;
      if (packet.isInitial) {
        if (++this.initials > MAX_INITIALS) return this.decide();
        const payload = this.open(b, packet);
        if (payload !== null && !this.frames(payload)) return this.decide();
      }
      p = packet.end;
    }
    return this.clientHello();
  }

  private decide(result: QuicSniProgress = NO_NAME): QuicSniProgress {
    this.stream = Buffer.alloc(0);
    this.ranges = [];
    this.result = result;
    return result;
  }

  private open(b: Buffer, packet: LongPacket): Buffer | null {
    if (this.keys.length === 0) {
      this.keys.push({ dcid: Buffer.from(packet.dcid), keys: clientInitialKeys(packet.version, packet.dcid)! });
    }
    for (const k of this.keys) {
      const opened = openInitial(b, packet.start, packet.pnAt, packet.end, k.keys, this.largestPn);
      if (opened !== null) return this.accept(opened);
    }
    // After a Retry the client starts over with keys from the new DCID (RFC 9001 §5.2).
    if (this.keys.length < 2 && !this.keys.some((k) => k.dcid.equals(packet.dcid))) {
      const keys = clientInitialKeys(packet.version, packet.dcid)!;
      const opened = openInitial(b, packet.start, packet.pnAt, packet.end, keys, this.largestPn);
      if (opened !== null) {
        this.keys.push({ dcid: Buffer.from(packet.dcid), keys });
        return this.accept(opened);
      }
    }
    return null;
  }

  private accept(opened: OpenedInitial): Buffer {
    if (opened.packetNumber > this.largestPn) this.largestPn = opened.packetNumber;
    return opened.payload;
  }

  /** Walks the frames of an Initial's plaintext, keeping CRYPTO data; false to give up. */
  private frames(f: Buffer): boolean {
    let p = 0;
    while (p < f.length) {
      const type = f[p]!;
      p++;
      switch (type) {
        case FRAME_PADDING:
        case FRAME_PING:
          continue;
        case FRAME_ACK:
        case FRAME_ACK_ECN: {
          // Largest Acknowledged, ACK Delay, ACK Range Count, First ACK Range, then the ranges
          // (Gap, ACK Range Length) and, for type 3, three ECN counts (RFC 9000 §19.3).
          const fields: number[] = [];
          for (let i = 0; i < 4; i++) {
            const v = readVarint(f, p, f.length);
            if (v === null) return true;
            fields.push(v.value);
            p += v.size;
          }
          const rangeCount = fields[2]!;
          // Each range takes at least 2 bytes: a count beyond that is garbage.
          if (rangeCount > (f.length - p) / 2) return true;
          const more = 2 * rangeCount + (type === FRAME_ACK_ECN ? 3 : 0);
          for (let i = 0; i < more; i++) {
            const v = readVarint(f, p, f.length);
            if (v === null) return true;
            p += v.size;
          }
          continue;
        }
        case FRAME_CRYPTO: {
          const offset = readVarint(f, p, f.length);
          if (offset === null) return true;
          const length = readVarint(f, p + offset.size, f.length);
          if (length === null) return true;
          p += offset.size + length.size;
          if (length.value > f.length - p) return true;
          if (offset.value + length.value > MAX_CRYPTO_BYTES) return false;
          if (!this.addPiece(offset.value, f, p, p + length.value)) return false;
          p += length.value;
          continue;
        }
        case FRAME_CONNECTION_CLOSE:
          // The client gave up the handshake: nothing after it matters.
          return true;
        default:
          // No other frame may appear in an Initial (RFC 9000 §12.4): the rest cannot be walked.
          return true;
      }
    }
    return true;
  }

  /** Copies `f[from, to)` to the stream at `offset`; false when the pieces are too many. */
  private addPiece(offset: number, f: Buffer, from: number, to: number): boolean {
    if (to === from) return true;
    const end = offset + (to - from);
    if (end > this.stream.length) {
      const grown = Buffer.alloc(Math.min(MAX_CRYPTO_BYTES, Math.max(end, 2 * this.stream.length)));
      this.stream.copy(grown);
      this.stream = grown;
    }
    f.copy(this.stream, offset, from, to);
    // Merge [offset, end) into the sorted, disjoint ranges.
    const r = this.ranges;
    let i = 0;
    while (i < r.length && r[i + 1]! < offset) i += 2;
    let s = offset;
    let e = end;
    let j = i;
    while (j < r.length && r[j]! <= e) {
      s = Math.min(s, r[j]!);
      e = Math.max(e, r[j + 1]!);
      j += 2;
    }
    r.splice(i, j - i, s, e);
    return r.length / 2 <= MAX_PIECES;
  }

  /** Done once the stream from offset 0 holds the whole first handshake message. */
  private clientHello(): QuicSniProgress {
    const have = this.ranges[0] === 0 ? this.ranges[1]! : 0;
    if (have < 4) return PENDING;
    const s = this.stream;
    if (s[0] !== 1) return this.decide();
    const need = 4 + ((s[1]! << 16) | s.readUInt16BE(2));
    if (need > MAX_CRYPTO_BYTES) return this.decide();
    if (have < need) return PENDING;
    const sni = readClientHelloSni(s, 0, need);
    return this.decide(sni === null ? NO_NAME : { state: 'done', sni });
  }
}

/**
 * The connections whose server name is being read from QUIC Initials, keyed by the caller's
 * connection object: at most `MAX_READERS`, the least recently fed dropped first. A connection is
 * forgotten once decided; the caller remembers that and stops feeding it.
 */
export class QuicInitialTable<K> {
  private readonly readers = new Map<K, QuicInitialReader>();

  /** Reads one datagram the client of connection `key` sent. */
  push(key: K, b: Buffer, start: number, end: number): QuicSniProgress {
    let reader = this.readers.get(key);
    if (reader === undefined) {
      // A QUIC client's first datagram carries its first Initial (RFC 9000 §14.1): a connection
      // that starts otherwise is not QUIC, or its handshake was not captured.
      if (!startsWithQuicInitial(b, start, end)) return NO_NAME;
      if (this.readers.size >= MAX_READERS) this.readers.delete(this.readers.keys().next().value!);
      reader = new QuicInitialReader();
    } else {
      this.readers.delete(key);
    }
    const progress = reader.push(b, start, end);
    if (progress.state === 'pending') this.readers.set(key, reader);
    return progress;
  }

  /** Connections in progress. */
  get size(): number {
    return this.readers.size;
  }

  clear(): void {
    this.readers.clear();
  }
}
