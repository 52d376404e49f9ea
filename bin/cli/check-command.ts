/** `residency check <file>...`: check local logs and write verdicts. */
import { parseArgs } from 'node:util';
import { openLogFile, readDnsLogFiles } from '../../lambda/adapters/fs-log-source';
import { VerdictNamer, writeOutput, writeOutputPieces } from '../../lambda/adapters/fs-verdict-sink';
import { loadCheckSources } from '../../lambda/adapters/load-geo-database';
import { runCheck } from '../../lambda/engine/check';
import { InputError, UsageError } from '../../lambda/engine/errors';
import { findFormat, FORMATS } from '../../lambda/engine/parsers';
import type { FormatName } from '../../lambda/engine/types';
import { printable, renderSummary } from '../../lambda/engine/verdict/render-summary';
import { serializeVerdictBytes } from '../../lambda/engine/verdict/serialize';
import type { Verdict } from '../../lambda/engine/verdict/verdict';
import { TOOL_VERSION } from '../../lambda/version';
import { parseColumns, parseVpcFormat, POLICY_OPTIONS, resolvePolicy, useColor } from './options';
import { ProgressLine } from './progress';
import { statSync } from 'node:fs';
import { parseReportOption, REPORT_KINDS } from './report-options';

/** Exit codes shared by every command that judges logs. */
export const EXIT_COMPLIANT = 0;
export const EXIT_VIOLATIONS = 1;
export const EXIT_ERROR = 2;

export const CHECK_HELP = `Usage: residency check <file>... [options]

Checks connection logs against a jurisdiction and writes one verdict per file.
Formats are detected from content (gzip included): Zeek conn.log (TSV or JSON),
AWS VPC Flow Logs, Google Cloud VPC Flow Logs (Cloud Logging JSON lines), Azure
virtual network and network security group flow logs (PT1H.json),
PCAPdroid connections CSV, pcap/pcapng captures, HAR files,
Suricata EVE and AWS Network Firewall flow logs, nfdump CSV, FortiGate key=value
logs, CEF, Windows Firewall logs (pfirewall.log), and any CSV whose header names a
destination column. '-' reads standard input.

Policy (one of):
  -j, --jurisdiction LIST  allowed countries: ISO codes and presets, e.g. us, eu, US,CA (repeated,
                           the lists add up)
      --deny LIST          countries that are always violations, e.g. foreign-adversaries
  -p, --policy FILE        a policy JSON file (see docs/policy.md)
      --local LIST         with either: networks of the monitored side added to the policy's
                           localNetworks, e.g. 2600:1f18:4a3:6900::/56 (a VPC's IPv6 range, for
                           VPC Flow Logs without flow-direction); repeated, the lists add up

Options:
      --db FILE            MMDB country/city database (repeatable; default: the two bundled ones)
      --format NAME        skip detection: ${FORMATS.map((f) => f.name).join(', ')}
      --columns MAP        generic CSV column mapping, e.g. dst=remote_ip,bytes_out=tx (reads
                           the file as generic CSV); keys: dst, src, dst_port, src_port, proto,
                           bytes_out, bytes_in, start, end, host, app, action, nat_dst,
                           local_orig, local_resp
      --vpc-format FORMAT  VPC Flow Logs whose records come with no header line in a custom
                           format (as CloudWatch Logs and Firehose deliver them): the flow log's
                           LogFormat, e.g. '\${version} \${interface-id} \${srcaddr} \${dstaddr} ...'
                           or the names alone; a header line in the log still wins
      --max-line-bytes N   longest line read; longer ones are skipped records (default 1048576)
      --max-bytes N        largest decoded input (default unlimited)
      --max-gzip-ratio N   largest gzip expansion before the input is refused as a bomb, judged
                           once 16 MiB are decoded (default 1000)
      --max-skipped N      skipped records after which a file whose bad records outnumber its
                           good ones is declared unreadable (default 10000)
      --max-destinations N distinct destinations after which a file is refused instead of
                           exhausting memory (about 3 kB each; default 1000000)
      --dns FILE           a Zeek dns.log beside the log: names destinations by the queries
                           that resolved to them (repeatable)
  -o, --out DIR            where verdicts go (default ./verdicts): DIR/<file name>.verdict.json
      --report LIST        reports written beside each verdict (default html): html
                           (DIR/<file name>.report.html, one self-contained page with a map),
                           md (.report.md, for tickets), csv (.destinations.csv), jsonl
                           (.destinations.jsonl, one JSON line per destination, the rows the
                           deployed function writes for Athena), or none
      --json               print each verdict as one JSON line on standard output
  -q, --quiet              print nothing but errors (no summary, no progress line)
      --no-color           no colours (also NO_COLOR=1)
  -h, --help               this help

Exit status: 0 all compliant, 1 violations found, 2 error (unreadable input, unknown
format, bad policy or arguments).
`;

/** Writes a line to stderr prefixed the way every CLI error is (log text in it made printable). */
export function printError(message: string): void {
  process.stderr.write(`residency: ${printable(message)}\n`);
}

/** `{ [key]: n }` for a positive whole number flag, `{}` when absent; a bad value is a usage error. */
function positiveInt(text: string | undefined, flag: string, key: string): Record<string, number> {
  if (text === undefined) return {};
  if (!/^[1-9]\d{0,15}$/.test(text)) throw new UsageError(`${flag}: expected a positive whole number, got '${text}'`);
  return { [key]: Number(text) };
}

/** Size of a regular file (for a percentage), or null. */
function fileSize(file: string): number | null {
  if (file === '-') return null;
  try {
    return statSync(file).size;
  } catch {
    return null;
  }
}

/** Runs `check`; returns the exit code. */
export async function checkCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      ...POLICY_OPTIONS,
      db: { type: 'string', multiple: true },
      format: { type: 'string' },
      columns: { type: 'string' },
      'vpc-format': { type: 'string' },
      dns: { type: 'string', multiple: true },
      'max-line-bytes': { type: 'string' },
      'max-bytes': { type: 'string' },
      'max-gzip-ratio': { type: 'string' },
      'max-skipped': { type: 'string' },
      'max-destinations': { type: 'string' },
      out: { type: 'string', short: 'o' },
      report: { type: 'string' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      'no-color': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(CHECK_HELP);
    return EXIT_COMPLIANT;
  }
  if (positionals.length === 0) throw new UsageError('check: name at least one log file (or - for standard input)');
  // Read once, standard input is empty the second time: that would be an error verdict of its own.
  if (positionals.filter((p) => p === '-').length > 1) {
    throw new UsageError("check: '-' (standard input) is named more than once; it can be read only once");
  }
  if (values.format !== undefined && !findFormat(values.format)) {
    throw new UsageError(`--format: unknown format '${values.format}' (known: ${FORMATS.map((f) => f.name).join(', ')})`);
  }
  const reports = parseReportOption(values.report);
  const policy = resolvePolicy(values);
  // One input: its databases take turns in one buffer (each is needed once, after the log is read).
  const { databases, operator } = loadCheckSources(values.db ?? [], { shareBuffer: positionals.length === 1 });
  const names = await readDnsLogFiles(values.dns ?? [], '--dns expects a Zeek dns.log');
  const columns = parseColumns(values.columns);
  // A column mapping is for generic CSV: it names the columns detection could not recognise, so
  // it also says what the file is.
  if (columns && values.format !== undefined && values.format !== 'generic-csv') {
    throw new UsageError(`--columns maps generic CSV columns; it does not apply to --format ${values.format}`);
  }
  const vpcFields = parseVpcFormat(values['vpc-format']);
  if (vpcFields && values.format !== undefined && values.format !== 'vpc-flow' && values.format !== 'vpc-flow-cloudwatch') {
    throw new UsageError(`--vpc-format gives VPC Flow Logs fields; it does not apply to --format ${values.format}`);
  }
  if (vpcFields && columns) throw new UsageError('give either --columns (generic CSV) or --vpc-format (VPC Flow Logs), not both');
  const format = (values.format ?? (columns ? 'generic-csv' : undefined)) as FormatName | undefined;
  // Known before any file is checked: an empty name would fail every verdict after its check.
  if (values.out === '') throw new UsageError('--out: expected a folder, got an empty name');
  const outDir = values.out ?? 'verdicts';
  const color = useColor(process.stdout, values['no-color']);
  const namer = new VerdictNamer(positionals);
  let exit = EXIT_COMPLIANT;
  const limits = {
    ...positiveInt(values['max-line-bytes'], '--max-line-bytes', 'maxLineBytes'),
    ...positiveInt(values['max-bytes'], '--max-bytes', 'maxDecodedBytes'),
    ...positiveInt(values['max-gzip-ratio'], '--max-gzip-ratio', 'maxGzipRatio'),
    ...positiveInt(values['max-skipped'], '--max-skipped', 'maxSkippedRecords'),
    ...positiveInt(values['max-destinations'], '--max-destinations', 'maxDestinations'),
  };
  // Progress only where a person watches: a terminal, and neither --quiet nor --json.
  const showProgress = process.stderr.isTTY === true && !values.quiet && !values.json;
  let progress: ProgressLine | null = null;
  for (const file of positionals) {
    const name = namer.name(file);
    let verdict: Verdict;
    try {
      const source = await openLogFile(file);
      progress = showProgress ? new ProgressLine(file === '-' ? 'stdin' : file, fileSize(file)) : null;
      verdict = await runCheck(source, {
        name: file === '-' ? 'stdin' : file,
        policy,
        databases,
        operator,
        ...(names ? { names } : {}),
        format,
        parserOptions: columns ? { columns } : vpcFields ? { vpcFields } : {},
        toolVersion: TOOL_VERSION,
        now: new Date(),
        ...limits,
        ...(progress ? { onProgress: progress.update } : {}),
      });
      progress?.done();
    } catch (err) {
      progress?.done();
      if (err instanceof InputError) {
        printError(err.message);
        exit = EXIT_ERROR;
        continue;
      }
      if ((err as NodeJS.ErrnoException).code !== undefined) {
        printError(`${file}: read failed (${(err as Error).message})`);
        exit = EXIT_ERROR;
        continue;
      }
      // A defect of the tool, not of the file: named with the file, and the other files still checked.
      printError(`${file}: internal error: ${err instanceof Error ? err.message : String(err)} (please report it, with the file if you can)`);
      exit = EXIT_ERROR;
      continue;
    }
    let path: string;
    let reportPaths: string[];
    try {
      path = writeOutputPieces(outDir, name, '.verdict.json', serializeVerdictBytes(verdict));
      const verdictPath = path;
      reportPaths = reports.map((kind) => {
        const report = REPORT_KINDS[kind].render(verdict, verdictPath);
        return typeof report === 'string'
          ? writeOutput(outDir, name, REPORT_KINDS[kind].suffix, report)
          : writeOutputPieces(outDir, name, REPORT_KINDS[kind].suffix, report);
      });
    } catch (err) {
      // Named with the file, and the other files still checked.
      printError(`${file}: could not write its verdict or report: ${err instanceof Error ? err.message : String(err)}`);
      exit = EXIT_ERROR;
      continue;
    }
    if (values.json) process.stdout.write(`${JSON.stringify(verdict)}\n`);
    if (verdict.error) {
      printError(`${file}: ${verdict.error}`);
      exit = EXIT_ERROR;
    } else if (!verdict.compliant && exit !== EXIT_ERROR) {
      exit = EXIT_VIOLATIONS;
    }
    if (!values.quiet && !verdict.error) {
      const out = values.json ? process.stderr : process.stdout;
      out.write(renderSummary(verdict, { color: values.json ? useColor(process.stderr, values['no-color']) : color }));
      out.write(`Verdict: ${path}\n`);
      if (reportPaths.length > 0) out.write(`Report${reportPaths.length > 1 ? 's' : ''}: ${reportPaths.join(', ')}\n`);
      out.write('\n');
    }
  }
  return exit;
}
