import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { InputError } from '../../../lambda/engine/errors';
import { PcapParser, type PcapStats } from '../../../lambda/engine/parsers/pcap';
import { pcapOf } from '../../helpers/capture-builders';
import { fixture, fixturePath } from '../../helpers/engine';
import { RecordingSink } from './harness';

const REAL = readdirSync(fixturePath('pcap')).filter((f) => /\.pcap(ng)?$/.test(f));
const CAPTURES = REAL.map((name) => ({ name, bytes: fixture('pcap', name) }));

/**
 * Runs bytes through the reader in chunks of `chunkSize`; returns its counters, sink calls and the
 * error that ended reading, if any: only an InputError for a length that cannot be right, which
 * ends reading for good (the rest of the capture cannot be found).
 */
function run(bytes: Buffer, chunkSize: number): { stats: PcapStats; sink: RecordingSink; error: InputError | null } {
  const sink = new RecordingSink();
  const parser = new PcapParser();
  try {
    for (let i = 0; i < bytes.length; i += chunkSize) parser.push(bytes.subarray(i, i + chunkSize), sink);
    parser.finish(sink);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/^packet \d+: bad (packet record length|pcapng block length|pcapng section header) \([^)]*\): the capture cannot be read past packet \d+$/);
    return { stats: parser.stats, sink, error: err as InputError };
  }
  return { stats: parser.stats, sink, error: null };
}

/**
 * Every packet is in a connection, skipped or a no-connection record; the sink saw each once
 * (also when reading ended at an unreadable length: the connections read are reported).
 */
function expectAccounted({ stats, sink }: { stats: PcapStats; sink: RecordingSink }): void {
  expect(stats.packets).toBe(stats.inConnections + stats.skipped + stats.noData);
  const count = (kind: string): number => sink.calls.filter((c) => c.kind === kind).length;
  expect(count('flow')).toBe(stats.connections);
  expect(count('skip')).toBe(stats.skipped + stats.fileProblems);
  expect(count('noData')).toBe(stats.noData);
}

/** The file header of a capture: 24 bytes for pcap, the SHB and IDBs for pcapng. */
function headerOf(bytes: Buffer): Buffer {
  if (bytes.readUInt32BE(0) !== 0x0a0d0d0a) return bytes.subarray(0, 24);
  let at = 0;
  while (at < bytes.length && (bytes.readUInt32LE(at) === 0x0a0d0d0a || bytes.readUInt32LE(at) === 1)) at += bytes.readUInt32LE(at + 4);
  return bytes.subarray(0, at);
}

describe('pcap reader properties', () => {
  it('reads a truncated prefix of a real capture without an error, and accounts for every packet', () => {
    fc.assert(
      fc.property(fc.constantFrom(...CAPTURES), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 4096 }), (c, cut, chunk) => {
        // Prepare
        const prefix = c.bytes.subarray(0, Math.floor(c.bytes.length * cut));

        // Act
        const result = run(prefix, chunk);

        // Assess
        expect(result.error).toBeNull();
        expectAccounted(result);
        expect(result.stats.packets).toBeLessThanOrEqual(run(c.bytes, c.bytes.length).stats.packets);
      }),
      { numRuns: 300 },
    );
  });

  it('never hangs or throws anything but an unreadable-length error on random bytes after a valid file header', () => {
    fc.assert(
      fc.property(fc.constantFrom(...CAPTURES), fc.uint8Array({ maxLength: 4000 }), fc.integer({ min: 1, max: 512 }), (c, noise, chunk) => {
        // Act
        const result = run(Buffer.concat([headerOf(c.bytes), noise]), chunk);

        // Assess
        expectAccounted(result);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws anything but an unreadable-length error on a real capture with bytes overwritten', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CAPTURES),
        fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 20 }),
        (c, edits) => {
          // Prepare
          const bytes = Buffer.from(c.bytes);
          for (const [where, value] of edits) bytes[Math.floor(where * (bytes.length - 1))] = value;

          // Act
          const result = run(bytes, 997);

          // Assess
          expectAccounted(result);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('accounts for every frame of any link type, whatever its bytes, and never throws', () => {
    // Each link type read, and the headers they carry (PKTAP, NFLOG TLVs, radiotap, PPI, 802.11,
    // PPP, Cisco HDLC), with frames of random bytes, some starting as that link type would.
    const LINK_TYPES = [0, 1, 9, 12, 50, 101, 104, 105, 108, 113, 127, 149, 192, 239, 258, 276, 147];
    const starts: Record<number, number[]> = {
      9: [0xff, 0x03, 0x00, 0x21, 0x45],
      104: [0x0f, 0x00, 0x08, 0x00, 0x45],
      105: [0x08, 0x01],
      127: [0x00, 0x00, 0x08, 0x00],
      192: [0x00, 0x00, 0x08, 0x00, 0x69, 0x00, 0x00, 0x00],
      239: [0x02, 0x00, 0x00, 0x00],
      258: [0x9c, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00],
    };
    fc.assert(
      fc.property(
        fc.constantFrom(...LINK_TYPES),
        fc.array(fc.tuple(fc.boolean(), fc.uint8Array({ maxLength: 300 })), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 512 }),
        (linkType, frames, chunk) => {
          const packets = frames.map(([typed, bytes]) => Buffer.concat([Buffer.from(typed ? (starts[linkType] ?? []) : []), Buffer.from(bytes)]));
          const result = run(pcapOf(linkType, packets), chunk);
          expect(result.error).toBeNull();
          expectAccounted(result);
          expect(result.stats.packets).toBe(packets.length);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('gives the same records whatever the chunk boundaries', () => {
    fc.assert(
      fc.property(fc.constantFrom(...CAPTURES), fc.integer({ min: 1, max: 3000 }), (c, chunk) => {
        expect(run(c.bytes, chunk).sink.calls).toEqual(run(c.bytes, c.bytes.length).sink.calls);
      }),
      { numRuns: 100 },
    );
  });
});
