/** Local files (and standard input) as byte streams for the engine. */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { InputError } from '../engine/errors';
import { readZeekDnsNames, type NameIndex } from '../engine/names/zeek-dns';

/** Read size for local files: large chunks keep per-chunk overhead negligible. */
export const FILE_CHUNK_BYTES = 1024 * 1024;
/** Buffers a regular file is read into in turn (so reads in flight: one fewer). */
const READ_BUFFERS = 3;

/** Explains a filesystem error in one line. */
export function describeFsError(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return `${path}: no such file`;
    case 'EACCES':
    case 'EPERM':
      return `${path}: permission denied`;
    case 'EISDIR':
      return `${path}: is a directory, not a log file`;
    default:
      return `${path}: cannot read (${(err as Error).message})`;
  }
}

/**
 * Opens a log file (or `-` for standard input) as a stream of chunks. Fails early, with a one-line
 * {@link InputError}, when the file cannot be opened.
 */
export async function openLogFile(path: string): Promise<AsyncIterable<Uint8Array>> {
  if (path === '-') return process.stdin;
  try {
    const st = await fsp.stat(path);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    const handle = await fsp.open(path, 'r');
    return readReusing(handle);
  } catch (err) {
    throw new InputError(describeFsError(path, err), { cause: err });
  }
}

/**
 * A file's bytes in chunks of {@link FILE_CHUNK_BYTES}, read in turn into {@link READ_BUFFERS}
 * buffers: each chunk is valid until the next is asked for, which is all the engine needs
 * (runCheck), and the next chunks are read (on libuv's thread pool) while the engine works on this
 * one. A fresh buffer per chunk made a large log cost page faults and garbage in proportion to its
 * size; one buffer left the engine waiting for every read, and one read ahead still left it
 * waiting whenever the reading thread was slow to be scheduled.
 *
 * A regular file is read at explicit offsets, so several reads may be in flight; anything else (a
 * pipe, a device) is read at its position, one read at a time, which keeps the order.
 */
async function* readReusing(handle: FileHandle): AsyncGenerator<Uint8Array> {
  const positioned = (await handle.stat()).isFile();
  const count = positioned ? READ_BUFFERS : 2;
  const bufs = Array.from({ length: count }, () => Buffer.allocUnsafe(FILE_CHUNK_BYTES));
  let offset = 0;
  const readInto = (buf: Buffer): Promise<number> => {
    const p = handle.read(buf, 0, buf.length, positioned ? offset : null).then((r) => r.bytesRead);
    if (positioned) offset += buf.length;
    // Handled here too: a read still in flight when the consumer stops must not become an
    // unhandled rejection (it is awaited, and its error thrown, when the chunk is asked for).
    p.catch(() => undefined);
    return p;
  };
  // Reads in flight, oldest first: one per buffer but the one the engine holds.
  const pending: Promise<number>[] = [];
  let next = 0;
  const ahead = positioned ? count - 1 : 1;
  try {
    while (pending.length < ahead) {
      pending.push(readInto(bufs[next]!));
      next = (next + 1) % count;
    }
    for (;;) {
      const which = (next - pending.length + count) % count;
      const bytesRead: number = await pending[0]!;
      pending.shift();
      if (bytesRead === 0) return;
      // The buffer the engine held until now is free: read into it.
      pending.push(readInto(bufs[next]!));
      next = (next + 1) % count;
      const buf = bufs[which]!;
      // A short read of a regular file is its end (or it shrank): nothing read after it counts.
      if (positioned && bytesRead < buf.length) {
        yield buf.subarray(0, bytesRead);
        return;
      }
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    // Never close the file under a read.
    await Promise.all(pending.map((p) => p.catch(() => undefined)));
    await handle.close();
  }
}

/**
 * Reads Zeek dns.log files into one name index (undefined when none are given). A file without
 * one usable DNS record is an error; `why` says, in the message, why it was read as a dns.log.
 */
export async function readDnsLogFiles(files: readonly string[], why: string): Promise<NameIndex | undefined> {
  if (files.length === 0) return undefined;
  const index: NameIndex = new Map();
  for (const file of files) {
    const { stats } = await readZeekDnsNames(await openLogFile(file), index);
    // Lines it could not use do not count: a file of junk is not a dns.log.
    if (stats.records === stats.skipped) throw new InputError(`${file}: no DNS records found (${why})`);
  }
  return index;
}
