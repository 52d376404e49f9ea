/** Local files (and standard input) as byte streams for the engine. */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { InputError } from '../engine/errors';
import { readZeekDnsNames, type NameIndex } from '../engine/names/zeek-dns';

/** Read size for local files: large chunks keep per-chunk overhead negligible. */
export const FILE_CHUNK_BYTES = 1024 * 1024;

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
 * A file's bytes in chunks of {@link FILE_CHUNK_BYTES}, all read into one buffer: each chunk is
 * valid until the next is asked for, which is all the engine needs (runCheck). A fresh buffer per
 * chunk made a large log cost page faults and garbage in proportion to its size.
 */
async function* readReusing(handle: FileHandle): AsyncGenerator<Uint8Array> {
  const buf = Buffer.allocUnsafe(FILE_CHUNK_BYTES);
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (bytesRead === 0) return;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
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
