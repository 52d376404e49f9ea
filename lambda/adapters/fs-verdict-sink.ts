/** Writes verdicts (and reports) into a local folder. */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ResidencyError } from '../engine/errors';

/** An output file could not be written; the message names it. */
export class OutputError extends ResidencyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OutputError';
  }
}

/**
 * The longest base name, in UTF-8 bytes, that an output is named after: file systems hold names
 * of up to 255 bytes, and the longest suffix (`.destinations.jsonl`) and a repeat's `~N` must fit.
 */
export const MAX_BASE_NAME_BYTES = 200;

/**
 * A safe file name for the verdict of an input: the input's base name (never a path, so nothing
 * escapes the output folder), with control characters and separators replaced. A name too long
 * for the output beside it ({@link MAX_BASE_NAME_BYTES}) keeps its beginning and ends in a short
 * hash of the whole name, so that two long names alike at the start still name two files.
 */
export function verdictBaseName(inputPath: string): string {
  const base = inputPath === '-' ? 'stdin' : basename(inputPath);
  // eslint-disable-next-line no-control-regex
  const safe = base.replace(/[\u0000-\u001f\u007f/\\:]/g, '_').replace(/^\.+$/, '_');
  if (safe === '') return 'input';
  if (Buffer.byteLength(safe) <= MAX_BASE_NAME_BYTES) return safe;
  const hash = createHash('sha256').update(safe).digest('hex').slice(0, 12);
  // Whole characters only (a code point is never cut, nor a surrogate pair split).
  let kept = '';
  let bytes = 0;
  for (const ch of safe) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > MAX_BASE_NAME_BYTES - hash.length - 1) break;
    kept += ch;
    bytes += n;
  }
  return `${kept}-${hash}`;
}

/**
 * Allocates unique verdict names within one run, so two inputs named alike do not collide: the
 * first keeps its name, the next gets `~2`, `~3`... skipping any name already given, and any name
 * an input of the run has itself (`conn.log~2` beside two `conn.log`s keeps its own).
 */
export class VerdictNamer {
  private readonly taken = new Set<string>();
  private readonly reserved = new Set<string>();

  /** `inputs`: the run's inputs when known before the first is named. */
  constructor(inputs: readonly string[] = []) {
    for (const input of inputs) this.reserved.add(verdictBaseName(input));
  }

  name(inputPath: string): string {
    const base = verdictBaseName(inputPath);
    let name = base;
    for (let n = 2; this.taken.has(name) || (name !== base && this.reserved.has(name)); n++) name = `${base}~${n}`;
    this.taken.add(name);
    return name;
  }
}

/** Writes `DIR/<name><suffix>` and returns its path. */
export function writeOutput(dir: string, name: string, suffix: string, content: string): string {
  return writeOutputPieces(dir, name, suffix, [content]);
}

/**
 * Writes `DIR/<name><suffix>` from pieces of text or bytes (a large verdict never becomes one
 * string). Each piece is written before the next is asked for, so byte pieces may share one
 * reused buffer (as `serializeVerdictBytes` hands them out).
 *
 * The pieces go to a new temporary file beside it, renamed over the name once complete: a write
 * that fails, or a process stopped while writing, leaves any earlier file of that name as it was,
 * never a truncated verdict that still parses up to where it stopped. (So an earlier file is
 * replaced, not rewritten: a symbolic link at the name becomes the file, with the usual mode.)
 * A failure to write is an {@link OutputError} naming the file.
 */
export function writeOutputPieces(dir: string, name: string, suffix: string, pieces: Iterable<string | Uint8Array>): string {
  const path = join(dir, `${name}${suffix}`);
  let partial: string | null = null;
  try {
    mkdirSync(dir, { recursive: true });
    let fd: number;
    [fd, partial] = openPartial(dir);
    try {
      for (const piece of pieces) {
        if (typeof piece === 'string') {
          writeSync(fd, piece);
          continue;
        }
        for (let at = 0; at < piece.length; ) at += writeSync(fd, piece, at, piece.length - at);
      }
    } finally {
      closeSync(fd);
    }
    renameSync(partial, path);
    partial = null;
  } catch (err) {
    if (partial !== null) {
      try {
        rmSync(partial, { force: true });
      } catch {
        // The failure being reported is the write's.
      }
    }
    const code = typeof err === 'object' && err !== null ? (err as NodeJS.ErrnoException).code : undefined;
    if (typeof code === 'string' && code.startsWith('E')) {
      throw new OutputError(`${path}: cannot write (${writeFailure(code, err as Error)})`, { cause: err });
    }
    throw err;
  }
  return path;
}

/**
 * A new temporary file in `dir`, open for writing: short whatever the output's name (which may be
 * near the file system's limit), and never one that exists (another process, even one with the
 * same process number in another container sharing the folder, or a link planted there).
 */
function openPartial(dir: string): [number, string] {
  for (let attempt = 1; ; attempt++) {
    const partial = join(dir, `.residency-${process.pid}-${randomBytes(6).toString('hex')}.partial`);
    try {
      return [openSync(partial, 'wx'), partial];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 8) throw err;
    }
  }
}

/** Why a file could not be written, in words. */
function writeFailure(code: string, err: Error): string {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'EROFS':
      return 'read-only file system';
    case 'EISDIR':
      return 'a directory has that name';
    case 'ENOTDIR':
    case 'EEXIST': // (from making the folder: a file has its name)
      return 'a file is in the way of its folder';
    default:
      return err.message;
  }
}
