/**
 * `residency audit <dir | s3://bucket/prefix>`: re-check every log under a folder or S3 prefix with
 * today's databases and policy, write each verdict and a summary of the run, and diff against an
 * earlier run's verdicts.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  describeFsReadFailure,
  FsAuditRun,
  listFolderLogs,
  openAuditLog,
  previousVerdictsFolders,
  readPreviousVerdict,
  verdictRelativePath,
} from '../../lambda/adapters/fs-audit';
import { loadGeoDatabases, loadOperatorSources } from '../../lambda/adapters/load-geo-database';
import { createS3Client } from '../../lambda/adapters/s3-client';
import { listAuditObjects, parseS3Folder, S3VerdictFolder, skippedCount } from '../../lambda/adapters/s3-audit';
import { describeS3Failure, S3AdapterError } from '../../lambda/adapters/s3-errors';
import { openS3Object } from '../../lambda/adapters/s3-log-source';
import { formatS3Url } from '../../lambda/adapters/s3-url';
import { auditLog, forEachLimited, type AuditLogIo, type AuditLogOptions } from '../../lambda/engine/audit/audit-log';
import { newestVerdict, type VerdictSource } from '../../lambda/engine/audit/previous';
import { renderAuditText } from '../../lambda/engine/audit/render-summary';
import { AuditSummarizer } from '../../lambda/engine/audit/summary';
import { UsageError } from '../../lambda/engine/errors';
import { TOOL_VERSION } from '../../lambda/version';
import { EXIT_COMPLIANT, EXIT_ERROR, EXIT_VIOLATIONS } from './check-command';
import { parseVpcFormat, POLICY_OPTIONS, resolvePolicy } from './options';

export { listFolderLogs, verdictRelativePath } from '../../lambda/adapters/fs-audit';

/** Logs of an S3 prefix checked at a time: S3 latency, not CPU, bounds one at a time. */
export const S3_AUDIT_CONCURRENCY = 8;

export const AUDIT_HELP = `Usage: residency audit <dir | s3://bucket/prefix> [options]

Re-checks every log under a folder (recursively) or an S3 prefix with today's databases and
policy, writes each verdict and a summary of the run, and with --previous lists what changed
since an earlier run: new violations, resolved ones, destinations whose country changed.
Skipped (and counted): hidden files and folders, *.verdict.json, *.report.html, *.report.md,
*.procurement.json, *.procurement.md, *.destinations.csv, *.destinations.jsonl, S3 folder markers,
and what is neither a file nor a folder (links to folders, broken links, pipes, devices).
S3 uses the usual AWS credentials and region; AWS_ENDPOINT_URL_S3 points it at another S3 endpoint.

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
      --previous DIR|URL   an earlier run (OUT/audits/<timestamp>, or s3://bucket/audits/<timestamp>/)
                           or a folder of verdicts; each log is compared with its verdict there,
                           by relative path. A run that did not finish (complete: false) is
                           followed by the runs before it beside it, down to the newest complete
                           one: a log it did not check is compared with its newest verdict
      --vpc-format FORMAT  VPC Flow Logs whose records come with no header line in a custom
                           format, as for check (the pipeline's RESIDENCY_VPC_FORMAT)
  -o, --out DIR            where the run goes (default .): DIR/audits/<timestamp>/summary.json,
                           summary.md, summary.html and verdicts/<relative path>.verdict.json
  -q, --quiet              print nothing but errors
  -h, --help               this help

Exit status: 0 all compliant, 1 any log not compliant, 2 any log could not be checked
(or bad arguments). See docs/audit.md.
`;

/** Where the earlier verdicts are (local folders or S3 prefixes), newest first; the local folders, to leave out of the audit. */
async function previousSources(given: string | undefined, client: () => S3Client): Promise<{ sources: VerdictSource[]; localFolders: string[] }> {
  if (given === undefined) return { sources: [], localFolders: [] };
  if (!given.startsWith('s3://')) {
    const folders = await previousVerdictsFolders(given);
    const sources = folders.map((folder): VerdictSource => ({
      read: async (path) => readPreviousVerdict(folder, path),
      where: (path) => {
        const { dir, base } = verdictRelativePath(path);
        return join(folder, dir, `${base}.verdict.json`);
      },
    }));
    return { sources, localFolders: folders };
  }
  const { bucket, prefix } = parseS3Folder(given);
  let folders: S3VerdictFolder[];
  try {
    folders = await S3VerdictFolder.resolve(client(), bucket, prefix);
  } catch (err) {
    throw new S3AdapterError(`--previous: ${given}: cannot read (${describeS3Failure(err)})`, { cause: err });
  }
  const sources = folders.map((folder): VerdictSource => ({
    read: async (path) => {
      try {
        return await folder.read(path);
      } catch (err) {
        throw new S3AdapterError(`--previous: ${folder.where(path)}: read failed (${describeS3Failure(err)})`, { cause: err });
      }
    },
    where: (path) => folder.where(path),
  }));
  return { sources, localFolders: [] };
}

/** One log to audit: its relative path and how to open it. */
interface AuditItem {
  path: string;
  open: AuditLogIo['open'];
  readFailure: (err: unknown) => string | null;
}

/** The logs under a local folder. */
function folderItems(root: string, exclude: string[]): { items: AuditItem[]; skipped: number } {
  const { logs, skipped } = listFolderLogs(root, exclude);
  const items = logs.map((path): AuditItem => {
    const file = join(root, path);
    return { path, open: async () => ({ body: await openAuditLog(file) }), readFailure: (err) => describeFsReadFailure(file, err) };
  });
  return { items, skipped };
}

/** The logs under an S3 prefix. */
async function s3Items(client: S3Client, url: string): Promise<{ items: AuditItem[]; skipped: number }> {
  const { bucket, prefix } = parseS3Folder(url);
  let listing;
  try {
    listing = await listAuditObjects(client, bucket, [prefix]);
  } catch (err) {
    throw new S3AdapterError(`audit: ${formatS3Url(bucket, prefix)}: listing failed (${describeS3Failure(err)})`, { cause: err });
  }
  const items = listing.objects.map((o): AuditItem => {
    const at = formatS3Url(bucket, o.key);
    return {
      path: o.path,
      open: async () => {
        const object = await openS3Object(client, bucket, o.key);
        return { body: object.body, source: { bucket, key: o.key, versionId: object.versionId ?? null, etag: object.etag ?? null } };
      },
      // Whatever stops one object from being read is that log's error; the others are still checked.
      readFailure: (err) => `${at}: read failed (${describeS3Failure(err)})`,
    };
  });
  return { items, skipped: skippedCount(listing) };
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
      'vpc-format': { type: 'string' },
      out: { type: 'string', short: 'o' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(AUDIT_HELP);
    return EXIT_COMPLIANT;
  }
  if (positionals.length !== 1) throw new UsageError('audit: name one folder of logs or s3:// prefix (try residency audit --help)');
  const root = positionals[0] as string;
  const isS3 = root.startsWith('s3://');
  if (isS3) parseS3Folder(root);
  else if (!statSync(root, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`audit: ${root}: not a folder`);
  const policy = resolvePolicy(values);
  const vpcFields = parseVpcFormat(values['vpc-format']);
  const databases = loadGeoDatabases(values.db ?? []);
  const operator = loadOperatorSources();

  let client: S3Client | undefined;
  const s3 = (): S3Client => (client ??= createS3Client(process.env));
  try {
    const previous = await previousSources(values.previous, s3);
    const startedAt = new Date();
    const auditsDir = join(values.out ?? '.', 'audits');
    const { items, skipped } = isS3 ? await s3Items(s3(), root) : folderItems(root, [auditsDir, ...previous.localFolders]);
    if (items.length === 0) throw new UsageError(`audit: ${root}: no log files found`);
    const run = new FsAuditRun(auditsDir, startedAt);

    const summarizer = new AuditSummarizer({ directory: root, previous: values.previous ?? null, toolVersion: TOOL_VERSION, startedAt });
    summarizer.addSkipped(skipped);
    const base: Omit<AuditLogOptions, 'readFailure'> = {
      policy,
      databases,
      operator,
      toolVersion: TOOL_VERSION,
      now: () => new Date(),
      ...(vpcFields ? { parserOptions: { vpcFields } } : {}),
    };
    const started = process.hrtime.bigint();
    await forEachLimited(items, isS3 ? S3_AUDIT_CONCURRENCY : 1, async (item) => {
      const io: AuditLogIo = {
        open: item.open,
        readPrevious: async () => newestVerdict(previous.sources, item.path),
        writeVerdict: async (verdict) => run.writeVerdict(item.path, verdict),
      };
      summarizer.addOutcome(await auditLog(item.path, io, { ...base, readFailure: item.readFailure }));
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const summary = summarizer.summary(new Date());
    const summaryFile = run.writeSummary(summary);

    const t = summary.totals;
    if (!values.quiet) {
      process.stdout.write(renderAuditText(summary));
      process.stdout.write(`Summary: ${summaryFile}\n`);
      const rate = (n: number): string => (seconds > 0 ? Math.round(n / seconds).toLocaleString('en-US') : '∞');
      process.stderr.write(`${t.logs} logs, ${t.records.toLocaleString('en-US')} records in ${seconds.toFixed(2)} s: ${rate(t.logs)} logs/s, ${rate(t.records)} records/s\n`);
    } else {
      for (const l of summary.logs) if (l.error !== undefined) process.stderr.write(`residency: ${l.path}: ${l.error}\n`);
    }
    if (t.errors > 0) return EXIT_ERROR;
    return t.nonCompliant > 0 ? EXIT_VIOLATIONS : EXIT_COMPLIANT;
  } finally {
    client?.destroy();
  }
}
