/**
 * The server name of a TLS ClientHello sent over TCP, gathered across segments. A ClientHello
 * used to fit one segment; with post-quantum key shares (X25519MLKEM768, about 1.2 kB) and
 * extension order shuffled per connection, as browsers and phone TLS stacks now send them, it
 * often takes two, and the `server_name` extension is as likely to be in the second.
 *
 * Segments are placed by sequence number: retransmissions and overlaps are trimmed, a few
 * segments that arrive early are held until the gap before them fills. Memory is bounded: one
 * TLS record (at most 16 kB + 5) per connection, a few held segments, and the caller limits how
 * many connections gather at once.
 */
import { readTlsSni } from './pcap-names';

/** A TLS record is at most 2^14 bytes of plaintext plus its 5-byte header (RFC 8446 §5.1). */
export const MAX_HELLO_RECORD_BYTES = 16384 + 5;
/** Client segments looked at before giving up on a ClientHello. */
export const MAX_HELLO_SEGMENTS = 16;
/** Early segments held while a gap before them is open. */
const MAX_HELD_SEGMENTS = 4;

/** Distance from sequence number `a` to `b`, modulo 2^32, as a signed 32-bit number. */
function seqDelta(a: number, b: number): number {
  return (b - a) | 0;
}

/** Reads one client's first TLS record from its TCP segments, in any order. */
export class ClientHelloReader {
  /** True once there is nothing more to learn (found, absent, or given up). */
  done = false;
  /** The server name, once found. */
  sni: string | null = null;
  private record: Buffer | null = null;
  private have = 0;
  private next = 0;
  private segments = 0;
  private readonly held: { seq: number; data: Buffer }[] = [];

  /**
   * @param startSeq sequence number of the client's first payload byte (its SYN's plus one),
   * when the SYN was captured: then a segment that arrives before the first can be held.
   */
  constructor(private readonly startSeq: number | null = null) {}

  /**
   * Takes one segment from the client: payload `b[start, stop)` as captured, `seq` its sequence
   * number, `wireLength` its payload length on the wire (more than captured when cut short).
   */
  push(b: Buffer, start: number, stop: number, seq: number, wireLength: number): void {
    if (this.done || wireLength <= 0) return;
    this.segments++;
    if (this.record === null) {
      if (this.startSeq === null || seq === this.startSeq) {
        this.first(b, start, stop, seq, wireLength);
        if (!this.done) this.drainHeld();
      } else if (seqDelta(this.startSeq, seq) > 0 && stop - start === wireLength && this.held.length < MAX_HELD_SEGMENTS) {
        this.held.push({ seq, data: Buffer.from(b.subarray(start, stop)) });
      } else {
        this.done = true;
      }
    } else if (stop - start < wireLength) {
      // Cut short by the capture's snap length: what follows cannot be placed.
      this.place(b.subarray(start, stop), seq);
      this.finish();
      return;
    } else if (seqDelta(this.next, seq) > 0) {
      if (this.held.length < MAX_HELD_SEGMENTS) this.held.push({ seq, data: Buffer.from(b.subarray(start, stop)) });
    } else {
      this.place(b.subarray(start, stop), seq);
      this.drainHeld();
    }
    if (this.done) return;
    if ((this.record !== null && this.have >= this.record.length) || this.segments >= MAX_HELLO_SEGMENTS) this.finish();
  }

  /** The connection ended: reads what was gathered (the name may be in the part that came). */
  end(): void {
    if (!this.done) this.finish();
  }

  private first(b: Buffer, start: number, stop: number, seq: number, wireLength: number): void {
    const captured = stop - start;
    // Handshake record (22), TLS 3.x; anything else is not a ClientHello.
    if (captured < 5 || b[start] !== 22 || b[start + 1] !== 3) {
      this.done = true;
      return;
    }
    const length = 5 + b.readUInt16BE(start + 3);
    this.sni = readTlsSni(b, start, stop);
    if (this.sni !== null || captured >= length || captured < wireLength || length > MAX_HELLO_RECORD_BYTES) {
      this.done = true;
      return;
    }
    this.record = Buffer.alloc(length);
    b.copy(this.record, 0, start, stop);
    this.have = captured;
    this.next = (seq + wireLength) >>> 0;
  }

  /** Copies the part of a segment starting at `seq` that extends the record, if it touches it. */
  private place(data: Buffer, seq: number): void {
    const record = this.record!;
    const overlap = seqDelta(seq, this.next);
    if (overlap < 0 || overlap >= data.length) return;
    const n = Math.min(data.length - overlap, record.length - this.have);
    data.copy(record, this.have, overlap, overlap + n);
    this.have += n;
    this.next = (this.next + (data.length - overlap)) >>> 0;
  }

  private drainHeld(): void {
    for (let moved = true; moved && this.held.length > 0; ) {
      moved = false;
      for (let i = 0; i < this.held.length; i++) {
        const h = this.held[i]!;
        if (seqDelta(this.next, h.seq) <= 0) {
          this.held.splice(i, 1);
          this.place(h.data, h.seq);
          moved = true;
          break;
        }
      }
    }
  }

  private finish(): void {
    if (this.record !== null) this.sni = readTlsSni(this.record, 0, this.have);
    this.record = null;
    this.held.length = 0;
    this.done = true;
  }
}
