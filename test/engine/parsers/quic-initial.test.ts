import {
  clientInitialKeys,
  MAX_CRYPTO_BYTES,
  MAX_DATAGRAMS,
  MAX_INITIALS,
  MAX_READERS,
  openInitial,
  QuicInitialReader,
  QuicInitialTable,
  startsWithQuicInitial,
} from '../../../lambda/engine/parsers/quic-initial';
import { readClientHelloSni, readTlsSni } from '../../../lambda/engine/parsers/pcap-names';
import { cryptoFrame, protectInitial } from './quic-packets';
import { RFC9001_CLIENT_INITIAL, RFC9369_CLIENT_INITIAL, RFC_CRYPTO_FRAME } from './quic-vectors';

const RFC_DCID = Buffer.from('8394c8f03e515708', 'hex');
/** Both RFC packets: a 22-byte header (4-byte packet number field at 18), 1182 bytes after it. */
const PN_AT = 18;

const hex = (b: Buffer): string => b.toString('hex');

/** Feeds datagrams to a fresh reader; the progress after the last one. */
function readAll(...datagrams: Buffer[]): ReturnType<QuicInitialReader['push']> {
  const reader = new QuicInitialReader();
  let progress = reader.push(Buffer.alloc(0), 0, 0);
  for (const d of datagrams) progress = reader.push(d, 0, d.length);
  return progress;
}

describe('QUIC Initial keys', () => {
  it('derives the client keys of RFC 9001 Appendix A.1 (QUIC v1)', () => {
    // Act
    const keys = clientInitialKeys(1, RFC_DCID)!;

    // Assess
    expect(hex(keys.key)).toBe('1f369613dd76d5467730efcbe3b1a22d');
    expect(hex(keys.iv)).toBe('fa044b2f42a3fd3b46fb255c');
    expect(hex(keys.hp)).toBe('9f50449e04a0e810283a1e9933adedd2');
  });

  it('derives the client keys of RFC 9369 Appendix A.1 (QUIC v2)', () => {
    // Act
    const keys = clientInitialKeys(0x6b3343cf, RFC_DCID)!;

    // Assess
    expect(hex(keys.key)).toBe('8b1a0bc121284290a29e0971b5cd045d');
    expect(hex(keys.iv)).toBe('91f73e2351d8fa91660e909f');
    expect(hex(keys.hp)).toBe('45b95e15235d6f45a6b19cbcb0294ba9');
  });

  it('knows no keys for other versions', () => {
    expect(clientInitialKeys(0xff00001d, RFC_DCID)).toBeNull();
    expect(clientInitialKeys(0x1a2a3a4a, RFC_DCID)).toBeNull();
  });
});

describe.each([
  ['QUIC v1, RFC 9001 Appendix A.2', 1, RFC9001_CLIENT_INITIAL],
  ['QUIC v2, RFC 9369 Appendix A.2', 0x6b3343cf, RFC9369_CLIENT_INITIAL],
])('the client Initial of %s', (_name, version, packet) => {
  it('opens to packet number 2 and the CRYPTO frame, then PADDING to 1162 bytes', () => {
    // Act
    const opened = openInitial(packet, 0, PN_AT, packet.length, clientInitialKeys(version, RFC_DCID)!);

    // Assess
    expect(opened).not.toBeNull();
    expect(opened!.packetNumber).toBe(2);
    expect(opened!.payload.length).toBe(1162);
    expect(hex(opened!.payload.subarray(0, RFC_CRYPTO_FRAME.length))).toBe(hex(RFC_CRYPTO_FRAME));
    expect(opened!.payload.subarray(RFC_CRYPTO_FRAME.length).every((b) => b === 0)).toBe(true);
  });

  it('carries a ClientHello for example.com', () => {
    // Prepare: CRYPTO frame type 06, offset 00, length 40f1 (241), then the handshake message.
    const clientHello = RFC_CRYPTO_FRAME.subarray(4);

    // Act
    const sni = readClientHelloSni(clientHello, 0, clientHello.length);

    // Assess
    expect(clientHello.length).toBe(241);
    expect(sni).toBe('example.com');
  });

  it('gives example.com to a reader fed the datagram', () => {
    expect(startsWithQuicInitial(packet, 0, packet.length)).toBe(true);
    expect(readAll(packet)).toEqual({ state: 'done', sni: 'example.com' });
  });

  it('does not open with a flipped tag bit, and leaves the reader without a name', () => {
    // Prepare
    const bad = Buffer.from(packet);
    bad[bad.length - 1]! ^= 1;

    // Act
    const opened = openInitial(bad, 0, PN_AT, bad.length, clientInitialKeys(version, RFC_DCID)!);

    // Assess
    expect(opened).toBeNull();
    expect(readAll(bad)).toEqual({ state: 'pending' });
  });

  it('does not open with another connection ID’s keys', () => {
    const keys = clientInitialKeys(version, Buffer.from('0011223344556677', 'hex'))!;
    expect(openInitial(packet, 0, PN_AT, packet.length, keys)).toBeNull();
  });

  it('finds the Initial behind a coalesced packet of the same datagram', () => {
    // Prepare: a 0-RTT long header (type bits 01 in v1, 10 in v2), no connection IDs, Length 8.
    const zeroRtt = Buffer.concat([
      Buffer.from([version === 1 ? 0xd0 : 0xe0]),
      packet.subarray(1, 5),
      Buffer.from([0, 0, 8]),
      Buffer.from('01234567'),
    ]);
    const datagram = Buffer.concat([zeroRtt, packet]);

    // Act
    const progress = readAll(datagram);

    // Assess
    expect(progress).toEqual({ state: 'done', sni: 'example.com' });
  });
});

describe('QUIC Initial reader', () => {
  it('stays pending while the ClientHello is incomplete, and gives up after MAX_DATAGRAMS', () => {
    // Prepare: the v1 packet cut inside its payload no longer fits its Length.
    const cut = RFC9001_CLIENT_INITIAL.subarray(0, 600);
    const reader = new QuicInitialReader();

    // Act
    const progress = Array.from({ length: MAX_DATAGRAMS + 1 }, () => reader.push(cut, 0, cut.length));

    // Assess
    expect(progress.slice(0, MAX_DATAGRAMS).every((p) => p.state === 'pending')).toBe(true);
    expect(progress[MAX_DATAGRAMS]).toEqual({ state: 'done', sni: null });
    expect(reader.push(RFC9001_CLIENT_INITIAL, 0, RFC9001_CLIENT_INITIAL.length)).toEqual({ state: 'done', sni: null });
  });

  it('puts a ClientHello together from Initials that arrive in reverse order', () => {
    // Prepare
    const hello = RFC_CRYPTO_FRAME.subarray(4);
    const first = protectInitial(1, 0, cryptoFrame(0, hello.subarray(0, 100)));
    const second = protectInitial(1, 1, cryptoFrame(100, hello.subarray(100)));

    // Act
    const reader = new QuicInitialReader();
    const afterSecond = reader.push(second, 0, second.length);
    const afterFirst = reader.push(first, 0, first.length);

    // Assess
    expect(afterSecond).toEqual({ state: 'pending' });
    expect(afterFirst).toEqual({ state: 'done', sni: 'example.com' });
  });

  it('opens Initials with keys from a later DCID when the first DCID\'s keys fail (after a Retry)', () => {
    // Prepare: the first Initial does not open (flipped tag); the client then starts over with a
    // new DCID, as it does after a Retry (RFC 9001 §5.2).
    const lost = protectInitial(1, 0, Buffer.from([1]));
    lost[lost.length - 1]! ^= 1;
    const retried = protectInitial(1, 1, cryptoFrame(0, RFC_CRYPTO_FRAME.subarray(4)), Buffer.from('f067a5502a4262b5', 'hex'));

    // Act
    const progress = readAll(lost, retried);

    // Assess
    expect(progress).toEqual({ state: 'done', sni: 'example.com' });
  });

  it(`gives up after ${MAX_INITIALS} Initials without a whole ClientHello`, () => {
    // Prepare: Initials holding only a PING each.
    const pings = Array.from({ length: MAX_INITIALS + 1 }, (_, pn) => protectInitial(1, pn, Buffer.from([1])));

    // Act
    const reader = new QuicInitialReader();
    const progress = pings.map((d) => reader.push(d, 0, d.length));

    // Assess
    expect(progress.slice(0, MAX_INITIALS).every((p) => p.state === 'pending')).toBe(true);
    expect(progress[MAX_INITIALS]).toEqual({ state: 'done', sni: null });
  });

  it.each([
    ['CRYPTO data past MAX_CRYPTO_BYTES', cryptoFrame(MAX_CRYPTO_BYTES - 2, Buffer.from('abcd'))],
    ['a ClientHello longer than MAX_CRYPTO_BYTES', cryptoFrame(0, Buffer.from([1, 0x01, 0x00, 0x00]))],
    ['a handshake message other than ClientHello', cryptoFrame(0, Buffer.from([2, 0, 0, 4, 3, 3, 0, 0]))],
    [
      'CRYPTO data in more than 256 crumbs',
      Buffer.concat(Array.from({ length: 300 }, (_, i) => cryptoFrame(10 + 2 * i, Buffer.from([0xaa])))),
    ],
  ])('gives up, with no name, on %s', (_what, frames) => {
    // Act
    const progress = readAll(protectInitial(1, 0, frames));

    // Assess
    expect(progress).toEqual({ state: 'done', sni: null });
  });

  it('walks ACK, PING and PADDING frames before the CRYPTO frame, and stops at a frame an Initial cannot hold', () => {
    // Prepare: ACK (largest 9, delay 0, 1 more range, first range 1, gap 0, length 5), ACK_ECN
    // (largest 0, delay 0, no more ranges, first range 0, ECN counts 1 2 3), PING, PADDING; then a
    // STREAM frame (0x08) which an Initial may not carry: the CRYPTO frame after it is not read.
    const lead = Buffer.from('02090001010005030000000001020301000000', 'hex');
    const hello = cryptoFrame(0, RFC_CRYPTO_FRAME.subarray(4));

    // Act
    const walked = readAll(protectInitial(1, 0, Buffer.concat([lead, hello])));
    const stopped = readAll(protectInitial(1, 0, Buffer.concat([lead, Buffer.from([0x08, 0, 0]), hello])));

    // Assess
    expect(walked).toEqual({ state: 'done', sni: 'example.com' });
    expect(stopped).toEqual({ state: 'pending' });
  });

  it('reads no Initial from a datagram under 1200 bytes, which no client sends', () => {
    // Prepare
    const short = protectInitial(1, 0, cryptoFrame(0, RFC_CRYPTO_FRAME.subarray(4)), undefined, 1199);
    const padded = protectInitial(1, 0, cryptoFrame(0, RFC_CRYPTO_FRAME.subarray(4)));

    // Assess
    expect(short.length).toBe(1199);
    expect(startsWithQuicInitial(short, 0, short.length)).toBe(false);
    expect(readAll(short)).toEqual({ state: 'pending' });
    expect(new QuicInitialTable<string>().push('a', short, 0, short.length)).toEqual({ state: 'done', sni: null });
    expect(readAll(padded)).toEqual({ state: 'done', sni: 'example.com' });
  });

  it('ignores a datagram that is not a long-header packet of a known version', () => {
    // Prepare
    const shortHeader = Buffer.from('4100112233445566778899aabbccddeeff00112233', 'hex');
    const otherVersion = Buffer.from(RFC9001_CLIENT_INITIAL);
    otherVersion.writeUInt32BE(0xff00001d, 1);

    // Assess
    expect(startsWithQuicInitial(shortHeader, 0, shortHeader.length)).toBe(false);
    expect(startsWithQuicInitial(otherVersion, 0, otherVersion.length)).toBe(false);
    expect(readAll(shortHeader, otherVersion)).toEqual({ state: 'pending' });
  });
});

describe('QUIC Initial table', () => {
  it('decides on the first datagram of a connection that does not start with an Initial', () => {
    // Prepare
    const table = new QuicInitialTable<string>();
    const dns = Buffer.from('12340100000100000000000003777777076578616d706c6503636f6d0000010001', 'hex');

    // Act
    const progress = table.push('a', dns, 0, dns.length);

    // Assess
    expect(progress).toEqual({ state: 'done', sni: null });
    expect(table.size).toBe(0);
  });

  it('keeps a connection while pending and forgets it once decided', () => {
    // Prepare
    const table = new QuicInitialTable<string>();
    const bad = Buffer.from(RFC9001_CLIENT_INITIAL);
    bad[bad.length - 1]! ^= 1;

    // Act
    const first = table.push('a', bad, 0, bad.length);
    const sizeWhilePending = table.size;
    const second = table.push('a', RFC9001_CLIENT_INITIAL, 0, RFC9001_CLIENT_INITIAL.length);

    // Assess
    expect(first).toEqual({ state: 'pending' });
    expect(sizeWhilePending).toBe(1);
    expect(second).toEqual({ state: 'done', sni: 'example.com' });
    expect(table.size).toBe(0);
  });

  it(`keeps at most ${MAX_READERS} connections in progress, dropping the least recently fed`, () => {
    // Prepare: a corrupted Initial keeps each connection pending.
    const table = new QuicInitialTable<number>();
    const bad = Buffer.from(RFC9001_CLIENT_INITIAL);
    bad[bad.length - 1]! ^= 1;

    // Act
    for (let i = 0; i < MAX_READERS + 10; i++) table.push(i, bad, 0, bad.length);

    // Assess
    expect(table.size).toBe(MAX_READERS);
    table.clear();
    expect(table.size).toBe(0);
  });
});

describe('TLS record SNI after the handshake parser was split out', () => {
  it('reads a ClientHello record, and the same message without its record header', () => {
    // Prepare: the RFC's ClientHello wrapped in a TLS 1.0 handshake record.
    const message = RFC_CRYPTO_FRAME.subarray(4);
    const record = Buffer.concat([Buffer.from([22, 3, 1, message.length >> 8, message.length & 0xff]), message]);

    // Assess
    expect(readTlsSni(record, 0, record.length)).toBe('example.com');
    expect(readClientHelloSni(message, 0, message.length)).toBe('example.com');
    expect(readTlsSni(message, 0, message.length)).toBeNull();
    expect(readClientHelloSni(record, 0, record.length)).toBeNull();
  });
});
