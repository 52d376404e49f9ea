/**
 * Input decoding: hashes the bytes exactly as uploaded, detects gzip by its magic bytes (never by
 * the file name) and streams the decoded bytes onward.
 */
import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InputError } from '../errors';

/** What decoding learned about the input; filled in as the stream is read. */
export interface DecodeStats {
  bytes: number;
  decodedBytes: number;
  compression: 'gzip' | 'none';
  sha256: string;
}

/** Wraps an error thrown by the byte source (an I/O fault, not the user's data). */
export class SourceError extends Error {
  constructor(readonly original: unknown) {
    super(original instanceof Error ? original.message : String(original));
    this.name = 'SourceError';
  }
}

const GZIP_OUT_CHUNK = 256 * 1024;

/** Largest expansion accepted from gzip: logs compress 5-50 times; a bomb, thousands of times. */
export const DEFAULT_MAX_GZIP_RATIO = 1000;
/** Decoded bytes below which the ratio is not judged (small inputs can expand a lot). */
const RATIO_GRACE_BYTES = 16 * 1024 * 1024;

/** The source's next chunk as a Buffer (a view, not a copy), or null at its end; its failure as a SourceError. */
async function nextChunk(it: AsyncIterator<Uint8Array>): Promise<Buffer | null> {
  let next: IteratorResult<Uint8Array>;
  try {
    next = await it.next();
  } catch (err) {
    throw new SourceError(err);
  }
  if (next.done) return null;
  const v = next.value;
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/**
 * `gen` as an iterable whose return before its first chunk runs `onEarlyReturn`: a generator
 * stopped before it started never runs its `finally`, so what it would have released there (a
 * file, a source) is released here.
 */
export function withEarlyReturn<T>(gen: AsyncGenerator<T>, onEarlyReturn: () => Promise<unknown>): AsyncIterable<T> {
  let started = false;
  const iterator: AsyncIterator<T> = {
    next: () => {
      started = true;
      return gen.next();
    },
    return: async (value?: unknown) => {
      if (!started) {
        started = true;
        await onEarlyReturn();
      }
      return gen.return(value as T);
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}

/**
 * The source's chunks, hashed and counted, each yielded as a copy: for the gzip stream, which reads
 * ahead, since the source may reuse a chunk's memory for the next.
 */
async function* hashed(
  first: Buffer,
  rest: AsyncIterator<Uint8Array>,
  hash: Hash,
  stats: DecodeStats,
): AsyncGenerator<Buffer> {
  hash.update(first);
  stats.bytes += first.length;
  yield Buffer.from(first);
  for (let chunk = await nextChunk(rest); chunk !== null; chunk = await nextChunk(rest)) {
    hash.update(chunk);
    stats.bytes += chunk.length;
    yield Buffer.from(chunk);
  }
  stats.sha256 = hash.digest('hex');
}

/**
 * Decodes a byte stream. The returned stats are complete once the returned iterable is exhausted.
 * Errors of the source surface as {@link SourceError}; corrupt gzip as {@link InputError}.
 */
export function decodeInput(
  source: AsyncIterable<Uint8Array>,
  maxDecodedBytes = Number.MAX_SAFE_INTEGER,
  maxGzipRatio = DEFAULT_MAX_GZIP_RATIO,
): { stats: DecodeStats; chunks: AsyncIterable<Buffer> } {
  const stats: DecodeStats = { bytes: 0, decodedBytes: 0, compression: 'none', sha256: '' };
  const hash = createHash('sha256');
  // One generator between the source and the check (each layer is a promise or two per chunk, and
  // code V8 compiles on the check's core: see docs/performance.md).
  async function* decode(): AsyncGenerator<Buffer> {
    const it = source[Symbol.asyncIterator]();
    try {
      // The first chunk, grown until it shows the two magic bytes (a pipe may hand over one byte at
      // a time); a short one is copied, since the source may reuse its memory for the next.
      let first: Buffer | null = null;
      for (;;) {
        const chunk = await nextChunk(it);
        if (chunk === null) {
          if (first === null) {
            stats.sha256 = hash.digest('hex');
            return;
          }
          break;
        }
        if (chunk.length === 0) continue;
        first = first === null ? chunk : Buffer.concat([first, chunk]);
        if (first.length >= 2) break;
        first = Buffer.from(first);
      }
      const isGzip = first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b;
      if (!isGzip) {
        let chunk: Buffer = first;
        for (;;) {
          hash.update(chunk);
          stats.bytes += chunk.length;
          stats.decodedBytes += chunk.length;
          if (stats.decodedBytes > maxDecodedBytes) {
            throw new InputError(`input is larger than the limit of ${maxDecodedBytes} bytes`);
          }
          yield chunk;
          const next = await nextChunk(it);
          if (next === null) break;
          chunk = next;
        }
        stats.sha256 = hash.digest('hex');
        return;
      }
      const raw = hashed(first, it, hash, stats);
      stats.compression = 'gzip';
      const gunzip = createGunzip({ chunkSize: GZIP_OUT_CHUNK });
      const input = Readable.from(raw);
      let sourceFailure: unknown = null;
      input.on('error', (err) => {
        sourceFailure = err;
        gunzip.destroy(err);
      });
      input.pipe(gunzip);
      try {
        for await (const chunk of gunzip as AsyncIterable<Buffer>) {
          stats.decodedBytes += chunk.length;
          if (stats.decodedBytes > maxDecodedBytes) {
            throw new InputError(
              `gzip data expands past the limit of ${maxDecodedBytes} bytes (${stats.bytes} bytes read)`,
            );
          }
          if (stats.decodedBytes > RATIO_GRACE_BYTES && stats.decodedBytes > stats.bytes * maxGzipRatio) {
            throw new InputError(
              `gzip data expands more than ${maxGzipRatio} times (${stats.decodedBytes} bytes from ${stats.bytes}): refusing a likely gzip bomb`,
            );
          }
          yield chunk;
        }
      } catch (err) {
        if (sourceFailure instanceof SourceError) throw sourceFailure;
        if (err instanceof InputError || err instanceof SourceError) throw err;
        const code = (err as { code?: string }).code;
        const why =
          code === 'Z_BUF_ERROR' || /unexpected end/i.test(String((err as Error).message))
            ? 'gzip data ends early (truncated file?)'
            : `corrupt gzip data (${(err as Error).message})`;
        throw new InputError(`${why} after ${stats.decodedBytes} decoded bytes`, { cause: err });
      } finally {
        input.destroy();
        gunzip.destroy();
      }
    } finally {
      // Closed before the end (a log refused after its first lines): let the source go (close the
      // file, end the S3 response) instead of leaving it open until it is collected.
      await letGo(it);
    }
  }
  // Stopped before its first chunk (a check refused before reading, say for an unknown --format):
  // the source is let go, as decode's own finally would.
  return { stats, chunks: withEarlyReturn(decode(), () => letGo(source[Symbol.asyncIterator]())) };
}

/** Returns a source's iterator (it closes its file, ends its response). */
async function letGo(it: AsyncIterator<Uint8Array>): Promise<void> {
  try {
    await it.return?.();
  } catch {
    // The source failing as it closes changes nothing: the reason to stop is already known.
  }
}
