import fc from 'fast-check';
import { readClientHelloSni } from '../../../lambda/engine/parsers/pcap-names';
import {
  QuicInitialReader,
  QuicInitialTable,
  type QuicSniProgress,
} from '../../../lambda/engine/parsers/quic-initial';
import { fixture } from '../../helpers/engine';
import { cryptoFrame, protectInitial, varint } from './quic-packets';
import { RFC9001_CLIENT_INITIAL, RFC9369_CLIENT_INITIAL, RFC_CRYPTO_FRAME } from './quic-vectors';

const VERSIONS = [0x00000001, 0x6b3343cf];
/** The RFC ClientHello: the CRYPTO frame's data (after type 06, offset 00, length 40f1). */
const CLIENT_HELLO = RFC_CRYPTO_FRAME.subarray(4);
/** Generous: a datagram costs well under a millisecond; a runaway loop costs seconds. */
const MAX_MS = 500;

/** The UDP payloads of a little-endian Ethernet pcap holding IPv4/IPv6 packets without options. */
function udpPayloads(pcap: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 24; at + 16 <= pcap.length; ) {
    const len = pcap.readUInt32LE(at + 8);
    const frame = pcap.subarray(at + 16, at + 16 + len);
    const ip = frame.subarray(14);
    const l4 = ip[0]! >> 4 === 4 ? ip.subarray((ip[0]! & 15) * 4) : ip.subarray(40);
    out.push(l4.subarray(8));
    at += 16 + len;
  }
  return out;
}

/** Every client datagram of the generated QUIC captures, and the RFC packets. */
const REAL_DATAGRAMS = [
  RFC9001_CLIENT_INITIAL,
  RFC9369_CLIENT_INITIAL,
  ...['quic-v1-initial.pcap', 'quic-v1-split-reordered.pcap', 'quic-v2-initial.pcap', 'quic-malformed.pcap'].flatMap((f) =>
    udpPayloads(fixture('pcap', 'generated', f)),
  ),
];

/** Feeds datagrams to a table as one connection's; the last progress and the time taken. */
function feed(datagrams: Buffer[]): { progress: QuicSniProgress; ms: number } {
  const table = new QuicInitialTable<string>();
  const t0 = performance.now();
  let progress: QuicSniProgress = { state: 'pending' };
  for (const d of datagrams) {
    progress = table.push('c', d, 0, d.length);
    if (progress.state === 'done') break;
  }
  return { progress, ms: performance.now() - t0 };
}

const isHostname = (s: string): boolean => /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(s);

/** Frames an Initial may hold, with fields of any value, and frame types it may not. */
const frame: fc.Arbitrary<Buffer> = fc.oneof(
  fc.integer({ min: 1, max: 40 }).map((n) => Buffer.alloc(n)),
  fc.constant(Buffer.from([0x01])),
  fc
    .tuple(fc.constantFrom(0x02, 0x03), fc.array(fc.integer({ min: 0, max: 2 ** 30 - 1 }), { minLength: 3, maxLength: 12 }))
    .map(([type, fields]) => Buffer.concat([Buffer.from([type]), ...fields.map(varint)])),
  fc
    .tuple(fc.integer({ min: 0, max: 70_000 }), fc.uint8Array({ maxLength: 300 }))
    .map(([offset, data]) => cryptoFrame(offset, Buffer.from(data))),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 30 })).map(([type, rest]) => Buffer.from([type, ...rest])),
);

describe('QUIC Initial reader properties', () => {
  it('never throws on arbitrary datagrams, and finds no name in them', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 1500 }), { minLength: 1, maxLength: 20 }), (datagrams) => {
        // Act
        const reader = new QuicInitialReader();
        const results = datagrams.map((d) => reader.push(Buffer.from(d), 0, d.length));

        // Assess: without the Initial keys' tag nothing opens, so no name comes out.
        for (const r of results) expect(r.state === 'pending' || r.sni === null).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws or takes long on real Initials with bytes overwritten, and any name it gives is a hostname', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...REAL_DATAGRAMS), { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 12 }),
        (picked, edits) => {
          // Prepare
          const datagrams = picked.map((d) => Buffer.from(d));
          for (const [where, value] of edits) {
            const d = datagrams[where % datagrams.length]!;
            d[(where >>> 3) % d.length] = value;
          }

          // Act
          const { progress, ms } = feed(datagrams);

          // Assess
          expect(ms).toBeLessThan(MAX_MS);
          if (progress.state === 'done' && progress.sni !== null) expect(isHostname(progress.sni)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws or takes long on correctly encrypted Initials holding arbitrary frames', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...VERSIONS),
        fc.array(fc.array(frame, { maxLength: 40 }), { minLength: 1, maxLength: 12 }),
        (version, packets) => {
          // Prepare
          const datagrams = packets.map((frames, pn) => protectInitial(version, pn, Buffer.concat(frames)));

          // Act
          const { progress, ms } = feed(datagrams);

          // Assess
          expect(ms).toBeLessThan(MAX_MS);
          if (progress.state === 'done' && progress.sni !== null) expect(isHostname(progress.sni)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('finds example.com however the ClientHello is cut into CRYPTO frames and spread, in any order, over Initials', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...VERSIONS),
        fc.uniqueArray(fc.integer({ min: 1, max: CLIENT_HELLO.length - 1 }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 4 }),
        fc.func(fc.integer()),
        (version, cuts, packetCount, rank) => {
          // Prepare: pieces at sorted cut points, shuffled, dealt to packets with PINGs between.
          const points = [0, ...cuts.sort((a, b) => a - b), CLIENT_HELLO.length];
          const frames = points.slice(1).map((end, i) => cryptoFrame(points[i]!, CLIENT_HELLO.subarray(points[i]!, end)));
          const order = frames.map((f, i) => ({ f, k: rank(i) })).sort((a, b) => a.k - b.k);
          const payloads: Buffer[][] = Array.from({ length: packetCount }, () => []);
          order.forEach(({ f }, i) => payloads[i % packetCount]!.push(f, Buffer.from([0x01])));
          const datagrams = payloads.map((p, pn) => protectInitial(version, pn, Buffer.concat(p)));

          // Act
          const { progress } = feed(datagrams);

          // Assess
          expect(progress).toEqual({ state: 'done', sni: 'example.com' });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('agrees with the ClientHello parser on a mutated ClientHello that arrives whole', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 4, max: CLIENT_HELLO.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        (edits) => {
          // Prepare: the handshake header (type, length) is kept so the message stays whole.
          const hello = Buffer.from(CLIENT_HELLO);
          for (const [at, value] of edits) hello[at] = value;
          const datagram = protectInitial(1, 0, cryptoFrame(0, hello));

          // Act
          const { progress } = feed([datagram]);

          // Assess
          expect(progress).toEqual({ state: 'done', sni: readClientHelloSni(hello, 0, hello.length) });
        },
      ),
      { numRuns: 200 },
    );
  });
});
