import fc from 'fast-check';
import { ClientHelloReader, MAX_HELLO_SEGMENTS } from '../../../lambda/engine/parsers/tls-hello';

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function ext(type: number, body: Buffer): Buffer {
  return Buffer.concat([u16(type), u16(body.length), body]);
}

/** A TLS 1.3 ClientHello record with a large key share before server_name (as in the capture fixture). */
function clientHello(sni: string, keyShareBytes = 1216): Buffer {
  const name = Buffer.from(sni);
  const serverName = ext(0, Buffer.concat([u16(name.length + 3), Buffer.from([0]), u16(name.length), name]));
  const share = Buffer.concat([u16(0x11ec), u16(keyShareBytes), Buffer.alloc(keyShareBytes, 7)]);
  const keyShare = ext(51, Buffer.concat([u16(share.length), share]));
  const exts = Buffer.concat([keyShare, serverName]);
  const body = Buffer.concat([
    Buffer.from([3, 3]), Buffer.alloc(32, 1), Buffer.from([0]), u16(2), Buffer.from([0x13, 0x01]), Buffer.from([1, 0]),
    u16(exts.length), exts,
  ]);
  const hs = Buffer.concat([Buffer.from([1, body.length >> 16, (body.length >> 8) & 255, body.length & 255]), body]);
  return Buffer.concat([Buffer.from([22, 3, 1]), u16(hs.length), hs]);
}

const ISN = 0xfffffff0; // sequence numbers wrap inside the hello

/** Segments of `hello` of `mss` bytes as [seq, bytes]. */
function segments(hello: Buffer, mss: number): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  for (let at = 0; at < hello.length; at += mss) out.push([(ISN + at) >>> 0, hello.subarray(at, at + mss)]);
  return out;
}

function read(segs: [number, Buffer][], startSeq: number | null = ISN): ClientHelloReader {
  const reader = new ClientHelloReader(startSeq);
  for (const [seq, data] of segs) reader.push(data, 0, data.length, seq, data.length);
  reader.end();
  return reader;
}

describe('ClientHelloReader', () => {
  const hello = clientHello('tiles.example.com');

  it('reads a name in the first segment without waiting for more', () => {
    const small = clientHello('a.example', 32);
    const reader = new ClientHelloReader(ISN);
    reader.push(small, 0, small.length, ISN, small.length);
    expect([reader.done, reader.sni]).toEqual([true, 'a.example']);
  });

  it('reads a name that is only in the second segment, across a sequence number wrap', () => {
    const segs = segments(hello, 1000);
    expect(segs).toHaveLength(2);
    const reader = new ClientHelloReader(ISN);
    reader.push(segs[0]![1], 0, 1000, segs[0]![0], 1000);
    expect([reader.done, reader.sni]).toEqual([false, null]);
    reader.push(segs[1]![1], 0, segs[1]![1].length, segs[1]![0], segs[1]![1].length);
    expect([reader.done, reader.sni]).toEqual([true, 'tiles.example.com']);
  });

  it('places the second segment sent before the first, and ignores a retransmission', () => {
    const [a, b] = segments(hello, 1000);
    expect(read([b!, a!, a!]).sni).toBe('tiles.example.com');
  });

  it('trims a retransmission that overlaps what it already has', () => {
    const [a] = segments(hello, 1000);
    const overlap: [number, Buffer] = [(ISN + 600) >>> 0, hello.subarray(600)];
    expect(read([a!, overlap]).sni).toBe('tiles.example.com');
  });

  it('gives no name when the segment holding it never came', () => {
    const [a] = segments(hello, 1000);
    expect(read([a!]).sni).toBeNull();
  });

  it('does not hold anything without the SYN: a first payload that is not a record start ends it', () => {
    const [, b] = segments(hello, 1000);
    const reader = new ClientHelloReader(null);
    reader.push(b![1], 0, b![1].length, b![0], b![1].length);
    expect([reader.done, reader.sni]).toEqual([true, null]);
  });

  it('stops at once for a connection that is not TLS', () => {
    const http = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const reader = new ClientHelloReader(ISN);
    reader.push(http, 0, http.length, ISN, http.length);
    expect([reader.done, reader.sni]).toEqual([true, null]);
  });

  it('reads what was captured when the snap length cut a segment', () => {
    const [a, b] = segments(hello, 1000);
    const reader = new ClientHelloReader(ISN);
    reader.push(a![1], 0, 1000, a![0], 1000);
    reader.push(b![1], 0, 10, b![0], b![1].length);
    expect([reader.done, reader.sni]).toEqual([true, null]);
  });

  it(`gives up after ${MAX_HELLO_SEGMENTS} segments`, () => {
    const segs = segments(hello, 64);
    expect(segs.length).toBeGreaterThan(MAX_HELLO_SEGMENTS);
    const reader = new ClientHelloReader(ISN);
    for (const [seq, data] of segs.slice(0, MAX_HELLO_SEGMENTS)) reader.push(data, 0, data.length, seq, data.length);
    expect(reader.done).toBe(true);
  });

  it('finds the name for any segmentation and any order that holds at most four early segments', () => {
    fc.assert(
      fc.property(fc.integer({ min: 200, max: 1700 }), fc.func(fc.integer()), (mss, rank) => {
        const segs = segments(hello, mss);
        const order = [...segs].sort((x, y) => rank(x[0]) - rank(y[0]));
        // How many segments wait for an earlier one, at worst, in this order.
        let next = 0;
        let worst = 0;
        const arrived = new Set<number>();
        for (const [seq] of order) {
          arrived.add(seq);
          while (arrived.has(segs[next]?.[0] ?? -1)) next++;
          worst = Math.max(worst, arrived.size - next);
        }
        fc.pre(worst <= 4 && segs.length <= MAX_HELLO_SEGMENTS);
        expect(read(order).sni).toBe('tiles.example.com');
      }),
    );
  });

  it('never throws on arbitrary segments', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.uint8Array({ maxLength: 300 })), { maxLength: 20 }), fc.option(fc.nat()), (segs, start) => {
        const reader = new ClientHelloReader(start);
        for (const [seq, data] of segs) reader.push(Buffer.from(data), 0, data.length, seq >>> 0, data.length);
        reader.end();
        expect(reader.done).toBe(true);
      }),
    );
  });
});
