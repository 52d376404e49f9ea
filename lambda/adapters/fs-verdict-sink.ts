/** Writes verdicts (and reports) into a local folder. */
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';

/**
 * A safe file name for the verdict of an input: the input's base name (never a path, so nothing
 * escapes the output folder), with control characters and separators replaced.
 */
export function verdictBaseName(inputPath: string): string {
  const base = inputPath === '-' ? 'stdin' : basename(inputPath);
  // eslint-disable-next-line no-control-regex
  const safe = base.replace(/[\u0000-\u001f\u007f/\\:]/g, '_').replace(/^\.+$/, '_');
  return safe === '' ? 'input' : safe;
}

/** Allocates unique verdict names within one run, so two inputs named alike do not collide. */
export class VerdictNamer {
  private readonly used = new Map<string, number>();

  name(inputPath: string): string {
    const base = verdictBaseName(inputPath);
    const n = (this.used.get(base) ?? 0) + 1;
    this.used.set(base, n);
    return n === 1 ? base : `${base}~${n}`;
  }
}

/** Temporary files made so far by this process (see writeOutputPieces). */
let partialFiles = 0;

/** Writes `DIR/<name><suffix>` and returns its path. */
export function writeOutput(dir: string, name: string, suffix: string, content: string): string {
  return writeOutputPieces(dir, name, suffix, [content]);
}

/**
 * Writes `DIR/<name><suffix>` from pieces of text or bytes (a large verdict never becomes one
 * string). Each piece is written before the next is asked for, so byte pieces may share one
 * reused buffer (as `serializeVerdictBytes` hands them out).
 *
 * The file appears whole or not at all: the pieces go to a temporary file beside it, renamed over
 * it once complete. A write that fails (or is interrupted) leaves any earlier file of that name as
 * it was, never a truncated verdict that still parses up to where it stopped.
 */
export function writeOutputPieces(dir: string, name: string, suffix: string, pieces: Iterable<string | Uint8Array>): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}${suffix}`);
  // Short, whatever the name's length (which may be near the file system's limit), and unique.
  const partial = join(dir, `.residency-${process.pid}-${++partialFiles}.partial`);
  let done = false;
  try {
    const fd = openSync(partial, 'w');
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
    done = true;
  } finally {
    if (!done) rmSync(partial, { force: true });
  }
  return path;
}
