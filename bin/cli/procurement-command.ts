/** `residency procurement <dir | s3://bucket/prefix>`: one procurement statement per product, from its logs. */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { OUTPUT_FILE } from '../../lambda/engine/audit/audit-paths';
import { describeOtherEntry, entryKind } from '../../lambda/adapters/fs-audit';
import { openLogFile, readDnsLogFiles } from '../../lambda/adapters/fs-log-source';
import { verdictBaseName, writeOutput } from '../../lambda/adapters/fs-verdict-sink';
import { loadGeoDatabases, loadOperatorSources } from '../../lambda/adapters/load-geo-database';
import { runCheck, type CheckOptions } from '../../lambda/engine/check';
import { InputError, UsageError } from '../../lambda/engine/errors';
import { parseCategoryTable, type CategoryTable } from '../../lambda/engine/procurement/categories';
import { renderStatementMarkdown } from '../../lambda/engine/procurement/render-statement';
import { buildStatement, type ProcurementStatement } from '../../lambda/engine/procurement/statement';
import { printable } from '../../lambda/engine/verdict/render-summary';
import type { Verdict } from '../../lambda/engine/verdict/verdict';
import { TOOL_VERSION } from '../../lambda/version';
import { EXIT_COMPLIANT, EXIT_ERROR, EXIT_VIOLATIONS, printError } from './check-command';
import { parseVpcFormat, POLICY_OPTIONS, printWarning, resolvePolicy } from './options';
import { DNS_LOG_REASON, isDnsLogName, type NameSource, type Product, type ProductLog } from './procurement-products';

export { isDnsLogName, type Product } from './procurement-products';

/** The policy a procurement statement is judged by unless another is named. */
export const DEFAULT_PROCUREMENT_POLICY = 'us-gov-drone';

/** The category table shipped with the tool. */
export const CATEGORIES_FILE = 'categories.json';

export const PROCUREMENT_HELP = `Usage: residency procurement <dir | s3://bucket/prefix> [options]

Checks every log of every product under <dir> (or an S3 prefix) and writes one
procurement statement per product. A product is a folder at the first level of
<dir> (all logs under it, at any depth); logs directly in <dir> make one product
named after <dir>. Under an S3 prefix, the product is the first part of a key
after the prefix (s3://bucket/products/drone-x/a/conn.log is in drone-x), keys
directly under it make one product named after the prefix's last folder (or the
bucket), and each log is named in the statement by its key after the prefix.

A Zeek dns.log (a file named dns.log or *.dns.log, gzip allowed) is not checked:
it names the destinations of the other logs in the same folder (as check --dns).
Skipped: hidden files, residency's outputs (*.verdict.json, *.report.html,
*.report.md, *.destinations.csv, *.destinations.jsonl, *.procurement.json,
*.procurement.md) and, under an S3 prefix, folder markers. Symbolic links to files are read;
what is neither a file nor a folder (a link to a folder, a broken link, a pipe) is
named in a warning and not read. S3 uses the usual AWS credentials and region;
AWS_ENDPOINT_URL_S3 points it at another S3 endpoint.

Each statement says PASS or FAIL overall, which destinations failed (host name,
country, operator AS, organisation and its country), and a result per data
category: flight-logs, media, device-identifiers-and-crash-reports,
location-checks, map-tiles, analytics, updates (PASS, FAIL, REVIEW, NOT OBSERVED),
plus 'unclassified' for hosts the category table does not know (never a PASS:
REVIEW when compliant, FAIL on a violation). See docs/procurement.md.

Options:
  -p, --policy FILE|PRESET  the policy (default ${DEFAULT_PROCUREMENT_POLICY}: US only, foreign
                            adversaries denied, unknown, disputed and operator all fail)
  -j, --jurisdiction LIST   instead of --policy: allowed countries (see check --help)
      --deny LIST           instead of --policy: denied countries
      --local LIST          networks of the monitored side, added to the policy's localNetworks
      --categories FILE     the host name → category table (default: data/categories.json)
      --db FILE             MMDB country/city database (repeatable; default: the bundled ones)
      --vpc-format FORMAT   VPC Flow Logs whose records come with no header line in a custom
                            format, as for check
  -o, --out DIR             where statements go (default ./procurement):
                            DIR/<product>.procurement.md and DIR/<product>.procurement.json
  -q, --quiet               print nothing but errors
  -h, --help                this help

Exit status: 0 every product passes, 1 a product fails, 2 error (unreadable
input or table, bad policy or arguments, a folder or S3 prefix with no logs).
`;

/** Says, on standard error, that an entry under the folder is not read (nothing is left out silently). */
function warnNotRead(path: string): void {
  printWarning(`${path}: ${describeOtherEntry(path)}: not read`);
}

/**
 * Log files under a folder (recursively, symbolic links to files included; hidden entries and
 * residency's outputs skipped, and anything else not read is named on standard error), sorted.
 */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    const kind = entryKind(entry, path);
    if (kind === 'folder') out.push(...listFiles(path));
    else if (kind === 'other') warnNotRead(path);
    else if (!OUTPUT_FILE.test(entry.name)) out.push(path);
  }
  return out;
}

/** Pairs each log with the DNS logs in its folder. */
function toLogs(files: readonly string[]): Product['logs'] {
  const dns = files.filter(isDnsLogName);
  return files
    .filter((f) => !isDnsLogName(f))
    .map((path) => localLog(path, dns.filter((d) => resolve(d, '..') === resolve(path, '..'))));
}

/** A log file, read from the local file system. */
function localLog(path: string, dnsLogs: readonly string[]): ProductLog {
  return {
    name: path,
    open: () => openLogFile(path),
    names: () => readDnsLogFiles(dnsLogs, DNS_LOG_REASON),
    dnsLogs: dnsLogs.map((d) => ({ name: d, hash: async () => hashFile(d) })),
    // A file system error (it has a code) is the log's; anything else is a fault to report.
    readFailure: (err) => ((err as NodeJS.ErrnoException).code === undefined ? null : `${path}: read failed (${(err as Error).message})`),
  };
}

/** Finds the products under `dir`. */
export function findProducts(dir: string): Product[] {
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new UsageError(`procurement: ${dir}: no such folder`);
  }
  if (!st.isDirectory()) throw new UsageError(`procurement: ${dir}: not a folder (name the folder holding one sub-folder per product)`);
  const products: Product[] = [];
  const entries = readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.'))
    .sort((a, b) => a.name.localeCompare(b.name));
  const kinds = entries.map((e) => ({ entry: e, path: join(dir, e.name), kind: entryKind(e, join(dir, e.name)) }));
  for (const other of kinds.filter((k) => k.kind === 'other')) warnNotRead(other.path);
  const topFiles = kinds.filter((k) => k.kind === 'file' && !OUTPUT_FILE.test(k.entry.name)).map((k) => k.path);
  if (topFiles.length > 0) products.push({ name: basename(resolve(dir)), logs: toLogs(topFiles) });
  for (const { entry, path } of kinds.filter((k) => k.kind === 'folder')) {
    products.push({ name: entry.name, logs: toLogs(listFiles(path)) });
  }
  const withLogs = products.filter((p) => p.logs.length > 0);
  if (withLogs.length === 0) throw new UsageError(`procurement: ${dir}: no log files found`);
  return withLogs;
}

/**
 * Where the bundled category table is: data/ at the root of the source tree or of the package
 * (from bin/cli, dist/bin/cli, or the command line's bundle in dist/bin).
 */
export function bundledCategoriesPath(): string {
  const candidates = [join(__dirname, '..', '..', 'data', CATEGORIES_FILE), join(__dirname, '..', '..', '..', 'data', CATEGORIES_FILE)];
  return candidates.find((c) => existsSync(c)) ?? candidates[0]!;
}

/** Reads a category table and its SHA-256. */
export function loadCategoryTable(path: string): { table: CategoryTable; sha256: string } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`${path}: cannot read category table (${code === 'ENOENT' ? 'no such file' : (err as Error).message})`);
  }
  return { table: parseCategoryTable(bytes.toString('utf8'), path), sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** SHA-256 and size of a file (a DNS log cited as evidence). */
function hashFile(path: string): NameSource {
  const bytes = readFileSync(path);
  return { name: path, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
}

/** Runs `procurement`; returns the exit code. */
export async function procurementCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      ...POLICY_OPTIONS,
      categories: { type: 'string' },
      db: { type: 'string', multiple: true },
      'vpc-format': { type: 'string' },
      out: { type: 'string', short: 'o' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(PROCUREMENT_HELP);
    return EXIT_COMPLIANT;
  }
  if (positionals.length !== 1) throw new UsageError('procurement: name one folder or s3:// prefix (one sub-folder of logs per product)');
  const dir = positionals[0]!;
  const isS3 = dir.startsWith('s3://');
  const policyFlags =
    values.policy === undefined && values.jurisdiction === undefined && values.deny === undefined
      ? { policy: [DEFAULT_PROCUREMENT_POLICY], local: values.local }
      : values;
  const policy = resolvePolicy(policyFlags);
  const vpcFields = parseVpcFormat(values['vpc-format']);
  const { table, sha256: tableSha256 } = loadCategoryTable(values.categories ?? bundledCategoriesPath());
  // Loaded only for S3: the AWS SDK would add its load time to every local run.
  const s3 = isS3 ? await (await import('./procurement-s3')).findS3Products(dir, process.env) : undefined;
  try {
    const products = s3?.products ?? findProducts(dir);
    const databases = loadGeoDatabases(values.db ?? []);
    const operator = loadOperatorSources();
    const outDir = values.out ?? 'procurement';
    return await writeStatements(products, {
      policy,
      databases,
      operator,
      ...(vpcFields ? { parserOptions: { vpcFields } } : {}),
      table,
      tableSha256,
      outDir,
      quiet: values.quiet === true,
    });
  } finally {
    s3?.close();
  }
}

/** What {@link writeStatements} judges by and where it writes. */
interface StatementOptions extends Pick<CheckOptions, 'policy' | 'databases' | 'operator' | 'parserOptions'> {
  table: CategoryTable;
  tableSha256: string;
  outDir: string;
  quiet: boolean;
}

/** Checks each product's logs and writes its statement; returns the exit code. */
async function writeStatements(
  products: readonly Product[],
  { policy, databases, operator, parserOptions, table, tableSha256, outDir, quiet }: StatementOptions,
): Promise<number> {
  const now = new Date();
  let exit = EXIT_COMPLIANT;
  const used = new Set<string>();
  for (const product of products) {
    const verdicts: Verdict[] = [];
    const unreadable: { name: string; error: string }[] = [];
    const nameSources = new Map<string, NameSource>();
    for (const log of product.logs) {
      try {
        const names = await log.names();
        for (const d of log.dnsLogs) if (!nameSources.has(d.name)) nameSources.set(d.name, await d.hash());
        verdicts.push(
          await runCheck(await log.open(), {
            name: log.name,
            policy,
            databases,
            operator,
            ...(names ? { names } : {}),
            ...(parserOptions ? { parserOptions } : {}),
            toolVersion: TOOL_VERSION,
            now,
          }),
        );
      } catch (err) {
        const message = err instanceof InputError ? err.message : log.readFailure(err);
        if (message === null) throw err;
        unreadable.push({ name: log.name, error: message });
      }
    }
    const statement = buildStatement(verdicts, { product: product.name, policy, table, tableSha256, toolVersion: TOOL_VERSION, now, unreadable, nameSources: [...nameSources.values()] });
    let name = verdictBaseName(product.name);
    for (let n = 2; used.has(name); n++) name = `${verdictBaseName(product.name)}~${n}`;
    used.add(name);
    const mdPath = writeOutput(outDir, name, '.procurement.md', renderStatementMarkdown(statement));
    writeOutput(outDir, name, '.procurement.json', `${JSON.stringify(statement, null, 2)}\n`);
    const hadError = unreadable.length > 0 || verdicts.some((v) => v.error);
    for (const u of unreadable) printError(u.error);
    for (const v of verdicts) if (v.error) printError(`${v.input.name}: ${v.error}`);
    if (hadError) exit = EXIT_ERROR;
    else if (statement.result === 'FAIL' && exit !== EXIT_ERROR) exit = EXIT_VIOLATIONS;
    if (!quiet) process.stdout.write(summarize(statement, mdPath));
  }
  return exit;
}

/** A few lines per product for the terminal. */
function summarize(s: ProcurementStatement, path: string): string {
  const lines = [`${s.product}: ${s.result}${s.reasons.length > 0 ? ` (${s.reasons.join('; ')})` : ''}`];
  for (const c of s.categories) lines.push(`  ${c.category.padEnd(38)} ${c.result}`);
  for (const d of s.failedDestinations) {
    const host = d.hostnames.join(', ') || '(no host name)';
    const op = d.asn === null ? 'operator unknown' : `AS${d.asn} ${d.asOrganization ?? ''}, ${d.operatorCountry ?? 'unknown'}`;
    lines.push(`  failed: ${host} ${d.ip} ${d.country ?? 'unknown'} (${op})`);
  }
  lines.push(`  Statement: ${path}`, '');
  return `${lines.map(printable).join('\n')}\n`;
}
