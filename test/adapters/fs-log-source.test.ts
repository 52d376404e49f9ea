import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FILE_CHUNK_BYTES, openLogFile, REGULAR_CHUNK_BYTES } from '../../lambda/adapters/fs-log-source';

describe('openLogFile', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'residency-fs-source-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** How many files this process has open. */
  const openFds = (): number => readdirSync('/proc/self/fd').length;

  /** A file of `n` bytes in which every byte depends on its offset, so a misplaced chunk shows. */
  function patterned(name: string, n: number): { path: string; bytes: Buffer } {
    const bytes = Buffer.alloc(n);
    for (let i = 0; i < n; i++) bytes[i] = (i * 7 + (i >>> 11)) & 0xff;
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return { path, bytes };
  }

  it.each([
    0,
    1,
    REGULAR_CHUNK_BYTES - 1,
    REGULAR_CHUNK_BYTES,
    REGULAR_CHUNK_BYTES + 1,
    FILE_CHUNK_BYTES + 1,
    3 * FILE_CHUNK_BYTES + 12345,
  ])(
    'yields a file of %i bytes whole and in order, each chunk intact until the next is asked for',
    async (n) => {
      const { path, bytes } = patterned(`f${n}`, n);
      const fdsBefore = openFds();
      const copies: Buffer[] = [];
      const source = await openLogFile(path);
      for await (const chunk of source) {
        // Whatever the reader does while the consumer holds this chunk, it must not change under it.
        const before = Buffer.from(chunk);
        await new Promise((r) => setTimeout(r, 5));
        expect(Buffer.compare(before, chunk)).toBe(0);
        copies.push(before);
      }
      expect(Buffer.concat(copies).equals(bytes)).toBe(true);
      // A regular file comes in small chunks (that stay in cache), never more than one read's worth.
      expect(copies.every((c) => c.length <= REGULAR_CHUNK_BYTES)).toBe(true);
      expect(openFds()).toBe(fdsBefore);
    },
  );

  it('fails, naming the file, when the file shrinks while it is read (copytruncate), and reads one that grows', async () => {
    // Prepare: a log cut to nothing after its first chunk, as logrotate's copytruncate does.
    const { path } = patterned('rotated', 4 * REGULAR_CHUNK_BYTES);
    const it = (await openLogFile(path))[Symbol.asyncIterator]();
    expect((await it.next()).value).toHaveLength(REGULAR_CHUNK_BYTES);
    truncateSync(path, 0);

    // Act + Assess
    await expect(it.next()).rejects.toThrow(
      `${path}: the file shrank while it was read (${REGULAR_CHUNK_BYTES} of its ${4 * REGULAR_CHUNK_BYTES} bytes; rotated with copytruncate?)`,
    );

    // A log still being written to is read to its end, appended bytes included.
    const growing = patterned('growing', REGULAR_CHUNK_BYTES + 10);
    let total = 0;
    let appended = false;
    for await (const chunk of await openLogFile(growing.path)) {
      total += chunk.length;
      if (!appended) {
        appendFileSync(growing.path, Buffer.alloc(100));
        appended = true;
      }
    }
    expect(total).toBe(REGULAR_CHUNK_BYTES + 110);
  });

  it('lets the event loop turn while it reads a large file', async () => {
    const { path } = patterned('large', 40 * 1024 * 1024);
    let fired = 0;
    const timer = setInterval(() => fired++, 0);
    // The timer's count at each chunk: opening the file may let it fire; reading must, too.
    const seen: number[] = [];
    try {
      // The consumer never waits for anything but the next chunk, as the engine does.
      for await (const chunk of await openLogFile(path)) if (chunk.length > 0) seen.push(fired);
    } finally {
      clearInterval(timer);
    }
    expect(seen.length).toBeGreaterThan(1);
    expect(seen[seen.length - 1]).toBeGreaterThan(seen[0]!);
  });

  it('reads a named pipe (which has no offsets) whole and in order', async () => {
    const { path } = patterned('into-fifo', 2 * FILE_CHUNK_BYTES + 77);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', path, fifo], { stdio: 'ignore' });
    const written = new Promise((r) => writer.on('close', r));
    const copies: Buffer[] = [];
    for await (const chunk of await openLogFile(fifo)) copies.push(Buffer.from(chunk));
    expect(await written).toBe(0);
    expect(Buffer.concat(copies).equals(patterned('into-fifo', 2 * FILE_CHUNK_BYTES + 77).bytes)).toBe(true);
  });

  /** Stops after `take` chunks (0: before asking for any); the reader must close the file. */
  async function stopEarly(path: string, take: number): Promise<void> {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const it = (await openLogFile(path))[Symbol.asyncIterator]();
      for (let i = 0; i < take; i++) expect((await it.next()).done).toBe(false);
      await it.return?.();
      expect((await it.next()).done).toBe(true);
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  }

  it.each([0, 1, 2])('closes a file when the consumer stops after %i chunks', async (take) => {
    const { path } = patterned(`early${take}`, 4 * REGULAR_CHUNK_BYTES);
    const before = openFds();
    await stopEarly(path, take);
    expect(openFds()).toBe(before);
  });

  it('closes a named pipe when the consumer stops early, with a read still in flight', async () => {
    const { path } = patterned('into-early-fifo', 4 * FILE_CHUNK_BYTES);
    const fifo = join(dir, 'early-fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', path, fifo], { stdio: 'ignore' });
    const written = new Promise((r) => writer.on('close', r));
    const before = openFds();
    await stopEarly(fifo, 1);
    expect(openFds()).toBe(before);
    // The writer, its reader gone, ends too (SIGPIPE), rather than hang.
    await written;
  });

  it('names the file when it cannot be opened', async () => {
    await expect(openLogFile(join(dir, 'missing.log'))).rejects.toThrow(/missing\.log: no such file$/);
    await expect(openLogFile(dir)).rejects.toThrow(/is a directory, not a log file$/);
  });
});
