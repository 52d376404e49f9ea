/**
 * The file-system side of `residency audit`: the logs under a folder, the earlier verdicts of a
 * run folder, and the run folder a new audit writes (`OUT/audits/<timestamp>/`).
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, lstatSync, readFileSync, readSync, statSync, type Dirent } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { parseDiffableVerdict, type DiffableVerdict } from '../engine/audit/diff';
import { OUTPUT_FILE, runFolderName } from '../engine/audit/audit-paths';
import { baselineRuns, SUMMARY_HEAD_BYTES, summaryHeadSaysComplete } from '../engine/audit/previous';
import { renderAuditHtml } from '../engine/audit/render-html';
import { renderAuditMarkdown } from '../engine/audit/render-summary';
import { auditSummaryJson } from '../engine/audit/serialize';
import type { AuditSummary } from '../engine/audit/summary';
import { InputError, UsageError } from '../engine/errors';
import { serializeVerdictBytes } from '../engine/verdict/serialize';
import type { Verdict } from '../engine/verdict/verdict';
import { describeFsError, openLogFile } from './fs-log-source';
import { VerdictNamer, verdictBaseName, writeOutput, writeOutputPieces } from './fs-verdict-sink';

/** The logs under a folder, and how many entries were skipped as not logs. */
export interface FolderListing {
  /** `/`-separated paths relative to the folder, in sorted order. */
  logs: string[];
  /** Hidden files and folders, residency's outputs, excluded folders (a folder counts once). */
  skipped: number;
}

/**
 * What a folder entry is to a walk over logs: a file to read (a symbolic link to a file too), a
 * folder to walk (never a link to one: no loops), or something else, which is not read (a link to
 * a folder, a broken link, a named pipe that could block the walk, a device, a socket).
 */
export function entryKind(entry: Dirent, path: string): 'file' | 'folder' | 'other' {
  if (entry.isDirectory()) return 'folder';
  if (entry.isFile()) return 'file';
  if (entry.isSymbolicLink() && statSync(path, { throwIfNoEntry: false })?.isFile() === true) return 'file';
  return 'other';
}

/** What an entry {@link entryKind} calls 'other' is, in words ("a broken link"). */
export function describeOtherEntry(path: string): string {
  const link = lstatSync(path, { throwIfNoEntry: false });
  if (link?.isSymbolicLink()) {
    const target = statSync(path, { throwIfNoEntry: false });
    if (target === undefined) return 'a broken link';
    return target.isDirectory() ? 'a link to a folder (not followed)' : 'a link to neither a file nor a folder';
  }
  if (link?.isFIFO()) return 'a named pipe';
  if (link?.isSocket()) return 'a socket';
  if (link?.isBlockDevice() || link?.isCharacterDevice()) return 'a device';
  return 'neither a file nor a folder';
}

/**
 * Every log file under `root`. Skipped (and counted): hidden files and folders, residency's own
 * outputs, the folders in `exclude`, and entries that are neither files nor folders (see
 * {@link entryKind}). Symbolic links to files are read; links to folders are not followed (no loops).
 */
export function listFolderLogs(root: string, exclude: readonly string[] = []): FolderListing {
  const excluded = new Set(exclude.map((p) => resolve(p)));
  const logs: string[] = [];
  let skipped = 0;
  const walk = (dir: string): void => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.name.startsWith('.') || excluded.has(resolve(path))) {
        skipped += 1;
        continue;
      }
      const kind = entryKind(entry, path);
      if (kind === 'folder') walk(path);
      else if (kind === 'other' || OUTPUT_FILE.test(entry.name)) skipped += 1;
      else logs.push(relative(root, path).split(sep).join('/'));
    }
  };
  walk(root);
  return { logs, skipped };
}

/** The verdict's path under the verdicts folder: each folder name made safe, like a verdict's file name. */
export function verdictRelativePath(logPath: string): { dir: string; base: string } {
  const parts = logPath.split('/').map(verdictBaseName);
  const base = parts.pop() ?? 'input';
  return { dir: parts.join('/'), base };
}

/** The first bytes of a run folder's summary.json, or null when it has none. */
function summaryHead(runDir: string): string | null {
  let fd: number;
  try {
    fd = openSync(join(runDir, 'summary.json'), 'r');
  } catch {
    return null;
  }
  try {
    const buf = Buffer.alloc(SUMMARY_HEAD_BYTES);
    return buf.toString('utf8', 0, readSync(fd, buf, 0, buf.length, 0));
  } finally {
    closeSync(fd);
  }
}

/** Whether `dir` is a run folder: a summary.json and a verdicts folder. */
function isRunFolder(dir: string): boolean {
  return existsSync(join(dir, 'summary.json')) && statSync(join(dir, 'verdicts'), { throwIfNoEntry: false })?.isDirectory() === true;
}

/**
 * The verdicts folders of `--previous`, newest first: a run folder's `verdicts/`, or the folder
 * itself. A run that was not complete is followed by the earlier runs beside it, down to the
 * newest complete one (see lambda/engine/audit/previous.ts), so a log it did not check is
 * compared with its newest verdict.
 */
export async function previousVerdictsFolders(dir: string): Promise<string[]> {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--previous: ${dir}: no such folder`);
  if (!isRunFolder(dir)) return [dir];
  if (summaryHeadSaysComplete(summaryHead(dir) ?? '')) return [join(dir, 'verdicts')];
  const parent = dirname(resolve(dir));
  const name = basename(resolve(dir));
  // Run folders are named by their start time, so name order is time order.
  const earlier = readdirSync(parent, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name < name && isRunFolder(join(parent, e.name)))
    .map((e) => e.name)
    .sort()
    .reverse();
  const runs = await baselineRuns(earlier, async (run) => summaryHead(join(parent, run)));
  return [join(dir, 'verdicts'), ...runs.map((run) => join(parent, run, 'verdicts'))];
}

/** The earlier verdict of a log in a local verdicts folder, or null when there is none (or it is not a verdict that can be compared). */
export function readPreviousVerdict(folder: string, logPath: string): DiffableVerdict | null {
  const { dir, base } = verdictRelativePath(logPath);
  let text: string;
  try {
    text = readFileSync(join(folder, dir, `${base}.verdict.json`), 'utf8');
  } catch {
    return null;
  }
  return parseDiffableVerdict(text);
}

/** Yields one chunk. */
async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** A log of the folder up to this size is read at once, not streamed. */
const READ_AT_ONCE_BYTES = 1024 * 1024;

/**
 * Opens a log of the folder: a small one (up to {@link READ_AT_ONCE_BYTES}) is read at once (a
 * stream buffer per file made audits of many small logs spend their time collecting garbage), a
 * large one streamed.
 */
export async function openAuditLog(path: string): Promise<AsyncIterable<Uint8Array>> {
  const size = statSync(path, { throwIfNoEntry: false })?.size;
  if (size === undefined || size > READ_AT_ONCE_BYTES) return openLogFile(path);
  try {
    return once(readFileSync(path));
  } catch (err) {
    throw new InputError(describeFsError(path, err), { cause: err });
  }
}

/** A file-system failure to read `file` in one line, or null when `err` is not one. */
export function describeFsReadFailure(file: string, err: unknown): string | null {
  if ((err as NodeJS.ErrnoException)?.code === undefined) return null;
  return `${file}: read failed (${(err as Error).message})`;
}

/**
 * A run folder `OUT/audits/<timestamp>/` (`~2`, `~3` ... if it exists): verdicts at their
 * relative paths under `verdicts/`, then `summary.json`, `summary.md` and `summary.html`.
 */
export class FsAuditRun {
  /** The run folder. */
  readonly dir: string;
  private readonly verdictsDir: string;
  private readonly namers = new Map<string, VerdictNamer>();

  constructor(auditsDir: string, startedAt: Date) {
    const stamp = runFolderName(startedAt);
    let dir = join(auditsDir, stamp);
    for (let n = 2; existsSync(dir); n++) dir = join(auditsDir, `${stamp}~${n}`);
    this.dir = dir;
    this.verdictsDir = join(dir, 'verdicts');
    mkdirSync(this.verdictsDir, { recursive: true });
  }

  /** Writes a log's verdict under `verdicts/`; returns its path relative to the run folder. */
  writeVerdict(logPath: string, verdict: Verdict): string {
    const { dir, base } = verdictRelativePath(logPath);
    let namer = this.namers.get(dir);
    if (!namer) this.namers.set(dir, (namer = new VerdictNamer()));
    const written = writeOutputPieces(join(this.verdictsDir, dir), namer.name(base), '.verdict.json', serializeVerdictBytes(verdict));
    return relative(this.dir, written).split(sep).join('/');
  }

  /** Writes summary.json, summary.md and summary.html; returns the path of summary.json. */
  writeSummary(summary: AuditSummary): string {
    const json = writeOutputPieces(this.dir, 'summary', '.json', auditSummaryJson(summary));
    writeOutput(this.dir, 'summary', '.md', renderAuditMarkdown(summary));
    writeOutput(this.dir, 'summary', '.html', renderAuditHtml(summary));
    return json;
  }
}
