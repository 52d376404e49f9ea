/**
 * The engine borrows its source's chunks: once it asks for the next chunk it must not read the
 * previous one again, because a source may hand out the same memory each time (the file source
 * does). A source that scribbles over its one buffer as soon as the next chunk is asked for must
 * give the verdict fresh chunks give, for every format, chunk size and compression.
 */
import { gzipSync } from 'node:zlib';
import { openLogFile } from '../../lambda/adapters/fs-log-source';
import { runCheck } from '../../lambda/engine/check';
import { readZeekDnsNames } from '../../lambda/engine/names/zeek-dns';
import { bundledDatabases, checkBytes, fixture, fixturePath, policyOf } from '../helpers/engine';

/**
 * Yields `bytes` in chunks of `size`, all copied into one buffer; when the next chunk (or the end)
 * is asked for, the previous chunk's bytes are overwritten with 0xA5 first.
 */
async function* scribbling(bytes: Buffer, size: number): AsyncGenerator<Uint8Array> {
  const buf = Buffer.alloc(size);
  for (let i = 0; i < bytes.length; i += size) {
    const n = bytes.copy(buf, 0, i, Math.min(bytes.length, i + size));
    yield buf.subarray(0, n);
    buf.fill(0xa5);
  }
}

const OPTIONS = {
  name: 'test.log',
  policy: policyOf('us'),
  toolVersion: '0.0.0-test',
  now: new Date('2026-01-01T00:00:00Z'),
};

const FIXTURES: [string, string][] = [
  ['zeek', 'conn-pop3.tsv.log'],
  ['zeek', 'conn-zeekdocs.json.log'],
  ['vpcflow', 'custom-v5-awsdocs.log'],
  ['vpcflow', '123456789010_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz'],
  ['pcap', 'zeek-pop3.pcap'],
  ['pcap', 'zeek-multi-interface.pcapng'],
  ['pcapdroid', 'connections-synthetic.csv'],
  ['csv', 'firewall-export-semicolon.csv'],
  ['har', 'chrome.har'],
  ['suricata', 'eve-synthetic.json'],
];

describe('borrowed chunks', () => {
  it.each(FIXTURES)('%s/%s: a source reusing one buffer gives the verdict fresh chunks give', async (dir, file) => {
    // Prepare
    const bytes = fixture(dir, file);
    const expected = await checkBytes(bytes, OPTIONS, 64 * 1024);

    // Act, assess: sizes around line lengths, tiny ones (a line across many chunks), one for all.
    for (const size of [1, 13, 100, 4096, bytes.length]) {
      const v = await runCheck(scribbling(bytes, size), { ...OPTIONS, databases: bundledDatabases() });
      expect(v).toEqual(expected);
    }
  });

  it('reads a gzip log whose compressed chunks share one buffer', async () => {
    // Prepare: the gzip stream reads ahead of what it has decoded.
    const plain = fixture('zeek', 'conn-pop3.tsv.log');
    const expected = await checkBytes(plain, OPTIONS);
    const gz = gzipSync(plain);

    // Act
    const v = await runCheck(scribbling(gz, 16), { ...OPTIONS, databases: bundledDatabases() });

    // Assess: the same destinations; only the input's compression and hash differ.
    expect(v.input.compression).toBe('gzip');
    expect(v.destinations).toEqual(expected.destinations);
    expect(v.totals).toEqual(expected.totals);
  });

  it('keeps a line split over many reused chunks whole (lines longer than the chunk)', async () => {
    // Prepare: a Zeek log whose lines are far longer than the chunks (a long uid column).
    const header = ['#separator \\x09', '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\torig_bytes\tresp_bytes'];
    const lines = Array.from({ length: 50 }, (_, i) => `1700000000.${i}\t${'C'.repeat(500 + i)}\t192.168.1.${i + 1}\t4000${i % 10}\t8.8.${i}.8\t443\ttcp\t${i * 10}\t${i}`);
    const bytes = Buffer.from(`${[...header, ...lines].join('\n')}\n`);
    const expected = await checkBytes(bytes, OPTIONS);

    // Act
    const v = await runCheck(scribbling(bytes, 64), { ...OPTIONS, databases: bundledDatabases() });

    // Assess
    expect(v).toEqual(expected);
    expect(v.destinations).toHaveLength(50);
  });

  it('reads a dns.log from a reused buffer the same', async () => {
    // Prepare
    const bytes = fixture('..', '..', 'examples', 'drone-app.dns.log');
    const fresh = new Map<string, string[]>();
    await readZeekDnsNames((async function* () { yield Buffer.from(bytes); })(), fresh);

    // Act
    const reused = new Map<string, string[]>();
    await readZeekDnsNames(scribbling(bytes, 7), reused);

    // Assess
    expect(fresh.size).toBeGreaterThan(0);
    expect(reused).toEqual(fresh);
  });

  it('the file source (one reused buffer) reads real files as they are on disk', async () => {
    for (const [dir, file] of FIXTURES) {
      // Prepare
      const expected = await checkBytes(fixture(dir, file), OPTIONS);

      // Act
      const v = await runCheck(await openLogFile(fixturePath(dir, file)), { ...OPTIONS, databases: bundledDatabases() });

      // Assess
      expect(v).toEqual(expected);
    }
  });
});
