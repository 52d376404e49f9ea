/**
 * `residency audit <dir>`: re-check every log under a folder with today's databases and policy,
 * write each verdict and a summary of the run, and diff against an earlier run's verdicts.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { describeFsError, FILE_CHUNK_BYTES, openLogFile } from '../../lambda/adapters/fs-log-source';
import { VerdictNamer, verdictBaseName, writeOutputPieces } from '../../lambda/adapters/fs-verdict-sink';
import { loadGeoDatabases, loadOperatorSources } from '../../lambda/adapters/load-geo-database';
import { diffVerdicts, type DiffableVerdict, type VerdictDiff } from '../../lambda/engine/audit/diff';
import { renderAuditMarkdown, renderAuditText } from '../../lambda/engine/audit/render-summary';
import { AuditSummarizer } from '../../lambda/engine/audit/summary';
import { runCheck } from '../../lambda/engine/check';
import { InputError, UsageError } from '../../lambda/engine/errors';
import { serializeVerdict } from '../../lambda/engine/verdict/serialize';
import type { Verdict } from '../../lambda/engine/verdict/verdict';
import { TOOL_VERSION } from '../../lambda/version';
import { EXIT_COMPLIANT, EXIT_ERROR, EXIT_VIOLATIONS } from './check-command';
import { POLICY_OPTIONS, resolvePolicy } from './options';

export const AUDIT_HELP = `Usage: residency audit <dir> [options]

Re-checks every log under a folder (recursively) with today's databases and policy, writes
each verdict and a summary of the run, and with --previous lists what changed since an
earlier run: new violations, resolved ones, destinations whose country changed.
Skipped: hidden files and folders, *.verdict.json, *.report.*, *.destinations.csv,
*.destinations.jsonl.

Policy (one of):
  -j, --jurisdiction LIST  allowed countries: ISO codes and presets, e.g. us, eu, US,CA
      --deny LIST          countries that are always violations, e.g. foreign-adversaries
  -p, --policy FILE        a policy JSON file (see docs/policy.md)

Options:
      --db FILE            MMDB country/city database (repeatable; default: the two bundled ones)
      --previous DIR       an earlier run (OUT/audits/<timestamp>) or its verdicts folder;
                           each log is compared with its verdict there, by relative path
  -o, --out DIR            where the run goes (default .): DIR/audits/<timestamp>/summary.json,
                           summary.md and verdicts/<relative path>.verdict.json
  -q, --quiet              print nothing but errors
  -h, --help               this help

Exit status: 0 all compliant, 1 any log not compliant, 2 any log could not be checked
(or bad arguments). See docs/audit.md.
`;

/** File names that are outputs of residency itself, never logs. */
const OUTPUT_FILE = /\.verdict\.json$|\.report\.[^/]*$|\.destinations\.csv$|\.destinations\.jsonl$/;

/** Every log file under `root`, as `/`-separated paths relative to it, in sorted order. */
export function listAuditLogs(root: string, exclude: readonly string[] = []): string[] {
  const excluded = new Set(exclude.map((p) => resolve(p)));
  const found: string[] = [];
  const walk = (dir: string): void => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (excluded.has(resolve(path))) continue;
      // Symbolic links to folders are not followed (no loops); links to files are read.
      const isFile = entry.isFile() || (entry.isSymbolicLink() && statSync(path, { throwIfNoEntry: false })?.isFile() === true);
      if (entry.isDirectory()) walk(path);
      else if (isFile && !OUTPUT_FILE.test(entry.name)) found.push(relative(root, path).split(sep).join('/'));
    }
  };
  walk(root);
  return found;
}

/** The verdict's path under the verdicts folder: each folder name made safe, like a verdict's file name. */
export function verdictRelativePath(logPath: string): { dir: string; base: string } {
  const parts = logPath.split('/').map(verdictBaseName);
  const base = parts.pop() ?? 'input';
  return { dir: parts.join('/'), base };
}

/** A folder name for the run from its start time, unique under `parent`. */
function runFolder(parent: string, startedAt: Date): string {
  const stamp = startedAt.toISOString().replace(/:/g, '-');
  for (let n = 1; ; n++) {
    const path = join(parent, n === 1 ? stamp : `${stamp}~${n}`);
    if (!existsSync(path)) return path;
  }
}

/** The verdicts folder of `--previous`: a run folder's `verdicts/`, or the folder itself. */
function previousVerdictsFolder(dir: string): string {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--previous: ${dir}: no such folder`);
  const inner = join(dir, 'verdicts');
  return existsSync(join(dir, 'summary.json')) && statSync(inner, { throwIfNoEntry: false })?.isDirectory() ? inner : dir;
}

/** The earlier verdict of a log, or null when there is none (or it is not a verdict that can be compared). */
function readPreviousVerdict(folder: string, logPath: string): DiffableVerdict | null {
  const { dir, base } = verdictRelativePath(logPath);
  let text: string;
  try {
    text = readFileSync(join(folder, dir, `${base}.verdict.json`), 'utf8');
  } catch {
    return null;
  }
  try {
    const v = JSON.parse(text) as Partial<Verdict>;
    if (v.error !== undefined || !Array.isArray(v.destinations) || !Array.isArray(v.violations) || !Array.isArray(v.databases)) return null;
    return v as DiffableVerdict;
  } catch {
    return null;
  }
}

/** Yields one chunk. */
async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/**
 * Opens a log of the folder: a small one is read at once (a 1 MiB stream buffer per file made
 * audits of many small logs spend their time collecting garbage), a large one streamed.
 */
async function openAuditLog(path: string): Promise<AsyncIterable<Uint8Array>> {
  const size = statSync(path, { throwIfNoEntry: false })?.size;
  if (size === undefined || size > FILE_CHUNK_BYTES) return openLogFile(path);
  try {
    return once(readFileSync(path));
  } catch (err) {
    throw new InputError(describeFsError(path, err), { cause: err });
  }
}

/** Runs `audit`; returns the exit code. */
export async function auditCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      ...POLICY_OPTIONS,
      db: { type: 'string', multiple: true },
      previous: { type: 'string' },
      out: { type: 'string', short: 'o' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(AUDIT_HELP);
    return EXIT_COMPLIANT;
  }
  if (positionals.length !== 1) throw new UsageError('audit: name one folder of logs (try residency audit --help)');
  const root = positionals[0] as string;
  if (!statSync(root, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`audit: ${root}: not a folder`);
  const policy = resolvePolicy(values);
  const databases = loadGeoDatabases(values.db ?? []);
  const operator = loadOperatorSources();
  const previous = values.previous === undefined ? null : previousVerdictsFolder(values.previous);

  const startedAt = new Date();
  const auditsDir = join(values.out ?? '.', 'audits');
  const logs = listAuditLogs(root, [auditsDir, ...(previous ? [previous] : [])]);
  if (logs.length === 0) throw new UsageError(`audit: ${root}: no log files found`);
  const runDir = runFolder(auditsDir, startedAt);
  const verdictsDir = join(runDir, 'verdicts');
  mkdirSync(verdictsDir, { recursive: true });

  const summarizer = new AuditSummarizer({ directory: root, previous: values.previous ?? null, toolVersion: TOOL_VERSION, startedAt });
  const namers = new Map<string, VerdictNamer>();
  const started = process.hrtime.bigint();
  for (const logPath of logs) {
    const file = join(root, logPath);
    let verdict: Verdict | null = null;
    let error: string | null = null;
    try {
      verdict = await runCheck(await openAuditLog(file), {
        name: logPath,
        policy,
        databases,
        operator,
        toolVersion: TOOL_VERSION,
        now: new Date(),
      });
    } catch (err) {
      if (err instanceof InputError) error = err.message;
      else if ((err as NodeJS.ErrnoException).code !== undefined) error = `${file}: read failed (${(err as Error).message})`;
      else throw err;
    }
    let verdictFile: string | null = null;
    let diff: VerdictDiff | null = null;
    let previousFound = false;
    if (verdict) {
      const { dir, base } = verdictRelativePath(logPath);
      let namer = namers.get(dir);
      if (!namer) namers.set(dir, (namer = new VerdictNamer()));
      const written = writeOutputPieces(join(verdictsDir, dir), namer.name(base), '.verdict.json', serializeVerdict(verdict));
      verdictFile = relative(runDir, written).split(sep).join('/');
      const before = previous && verdict.error === undefined ? readPreviousVerdict(previous, logPath) : null;
      if (before) {
        previousFound = true;
        diff = diffVerdicts(before, verdict);
      }
    }
    summarizer.add({ path: logPath, verdictFile, verdict, error: error ?? verdict?.error ?? null, diff, previousFound });
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const summary = summarizer.summary(new Date());
  writeFileSync(join(runDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(join(runDir, 'summary.md'), renderAuditMarkdown(summary));

  const t = summary.totals;
  if (!values.quiet) {
    process.stdout.write(renderAuditText(summary));
    process.stdout.write(`Summary: ${join(runDir, 'summary.json')}\n`);
    const rate = (n: number): string => (seconds > 0 ? Math.round(n / seconds).toLocaleString('en-US') : '∞');
    process.stderr.write(`${t.logs} logs, ${t.records.toLocaleString('en-US')} records in ${seconds.toFixed(2)} s: ${rate(t.logs)} logs/s, ${rate(t.records)} records/s\n`);
  } else {
    for (const l of summary.logs) if (l.error !== undefined) process.stderr.write(`residency: ${l.path}: ${l.error}\n`);
  }
  if (t.errors > 0) return EXIT_ERROR;
  return t.nonCompliant > 0 ? EXIT_VIOLATIONS : EXIT_COMPLIANT;
}
