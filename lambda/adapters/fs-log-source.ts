/** Local files (and standard input) as byte streams for the engine. */
import { fstatSync, promises as fsp, readSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { FileHandle } from 'node:fs/promises';
import { withEarlyReturn } from '../engine/input/decode';
import { InputError } from '../engine/errors';
import { readDnsLogs, type NameIndex } from '../engine/names/zeek-dns';

/**
 * Read size for named pipes and devices (standard input is Node's own stream): large chunks keep
 * per-chunk overhead negligible.
 */
export const FILE_CHUNK_BYTES = 1024 * 1024;
/**
 * Read size for regular files: small enough that the buffer stays in the core's cache while the
 * kernel copies into it and the engine hashes and scans it (1 MiB reads cost ~5x the kernel time).
 */
export const REGULAR_CHUNK_BYTES = 128 * 1024;
/** A regular file's reader lets the event loop turn (timers, signals) after this many bytes. */
const TURN_BYTES = 16 * 1024 * 1024;

/** Explains a filesystem error in one line. */
export function describeFsError(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      // Node reads the command line as UTF-8, so a name in another encoding (Latin-1 from an old
      // archive) arrives with U+FFFD in place of its bytes, and names no file: say so.
      return path.includes('\ufffd')
        ? `${path}: no such file (its name is not valid UTF-8, and cannot be opened as given: rename the file, or pass it on standard input with -)`
        : `${path}: no such file`;
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
  if (path === '-') {
    // Node's stream ends quietly on a directory (`check - < /tmp`), which would read as empty.
    let isDirectory = false;
    try {
      isDirectory = fstatSync(0).isDirectory();
    } catch {
      // No standard input to look at: the stream says what there is.
    }
    if (isDirectory) throw new InputError('-: standard input is a directory, not a log file');
    return process.stdin;
  }
  try {
    const st = await fsp.stat(path);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    const handle = await fsp.open(path, 'r');
    let opened: { isFile(): boolean; size: number };
    try {
      opened = await handle.stat();
    } catch (err) {
      await handle.close();
      throw err;
    }
    // The file closed even when the chunks are stopped before the first one is asked for: a check
    // that fails before reading (say, an unknown --format) must not leave its log open.
    return withEarlyReturn(opened.isFile() ? readRegular(handle, opened.size, path) : readStream(handle), () => handle.close());
  } catch (err) {
    throw new InputError(describeFsError(path, err), { cause: err });
  }
}

/**
 * A file's bytes as chunks of reused buffers: each chunk is valid until the next is asked for,
 * which is all the engine needs (runCheck). A fresh buffer per chunk made a large log cost page
 * faults and garbage in proportion to its size.
 *
 * A regular file is read synchronously, {@link REGULAR_CHUNK_BYTES} at a time at explicit
 * offsets. Reads on libuv's thread pool (1 MiB, two ahead) overlapped the engine's work on a
 * second core, but a page-cache read is a copy: into a small buffer the engine then hashes and
 * scans while it is still in cache, it costs a fifth of the kernel time, less than the thread
 * hand-offs saved, and on one core the pool only adds switches. The event loop still turns every
 * {@link TURN_BYTES}.
 *
 * Anything else (a pipe, a device) is read at its position, a chunk ahead of the engine (two
 * buffers in turn), which keeps the order.
 *
 * Each reader closes the file when it ends or is stopped: one generator between the file and the
 * engine, not two (each layer is a promise or two per chunk, and code V8 compiles on the check's
 * core; see docs/performance.md).
 *
 * @param size the file's size when it was opened: a file that ends before it was cut while it was
 *   read (logrotate's `copytruncate`), and its verdict would judge only a part of it
 */
async function* readRegular(handle: FileHandle, size: number, path: string): AsyncGenerator<Uint8Array> {
  const buf = Buffer.allocUnsafe(REGULAR_CHUNK_BYTES);
  const fd = handle.fd;
  let offset = 0;
  let sinceTurn = 0;
  try {
    for (;;) {
      // Only a read of nothing is the end: some file systems (network, FUSE) may read short.
      const bytesRead = readSync(fd, buf, 0, buf.length, offset);
      if (bytesRead === 0) {
        if (offset < size) {
          throw new InputError(
            `${path}: the file shrank while it was read (${offset} of its ${size} bytes; rotated with copytruncate?): check a copy that is not being written to`,
          );
        }
        return;
      }
      offset += bytesRead;
      sinceTurn += bytesRead;
      yield buf.subarray(0, bytesRead);
      if (sinceTurn >= TURN_BYTES) {
        sinceTurn = 0;
        await nextTurn();
      }
    }
  } finally {
    await handle.close();
  }
}

async function* readStream(handle: FileHandle): AsyncGenerator<Uint8Array> {
  const bufs = [Buffer.allocUnsafe(FILE_CHUNK_BYTES), Buffer.allocUnsafe(FILE_CHUNK_BYTES)];
  const readInto = (buf: Buffer): Promise<number> => {
    const p = handle.read(buf, 0, buf.length, null).then((r) => r.bytesRead);
    // Handled here too: a read still in flight when the consumer stops must not become an
    // unhandled rejection (it is awaited, and its error thrown, when the chunk is asked for).
    p.catch(() => undefined);
    return p;
  };
  let which = 0;
  let pending = readInto(bufs[which]!);
  try {
    for (;;) {
      const bytesRead = await pending;
      if (bytesRead === 0) return;
      // The buffer the engine held until now is free: read into it.
      pending = readInto(bufs[1 - which]!);
      yield bufs[which]!.subarray(0, bytesRead);
      which = 1 - which;
    }
  } finally {
    // Never close the file under a read.
    await pending.catch(() => undefined);
    await handle.close();
  }
}

/**
 * Reads Zeek dns.log files into one name index (undefined when none are given). A file without
 * one usable DNS record is an error; `why` says, in the message, why it was read as a dns.log.
 */
export async function readDnsLogFiles(files: readonly string[], why: string): Promise<NameIndex | undefined> {
  return readDnsLogs(
    files.map((file) => ({ name: file, open: () => openLogFile(file) })),
    why,
  );
}
