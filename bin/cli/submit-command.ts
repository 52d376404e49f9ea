/** `residency submit <file>...`: upload logs to the pipeline, wait for its verdicts, print them. */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { verdictKeyOf } from '../../lambda/adapters/s3-check-object';
import { createS3Client } from '../../lambda/adapters/s3-client';
import { S3AdapterError, S3WaitTimeoutError } from '../../lambda/adapters/s3-errors';
import { formatS3Url } from '../../lambda/adapters/s3-url';
import {
  uploadFile,
  waitForObject,
  type S3ObjectInfo,
  type UploadProgress,
} from '../../lambda/adapters/s3-verdict-sink';
import { DEFAULT_VERDICT_PREFIX } from '../../lambda/env-names';
import { ResidencyError, UsageError } from '../../lambda/engine/errors';
import { formatBytes, renderSummary } from '../../lambda/engine/verdict/render-summary';
import type { Verdict } from '../../lambda/engine/verdict/verdict';
import { EXIT_COMPLIANT, EXIT_ERROR, EXIT_VIOLATIONS, printError } from './check-command';
import { useColor } from './options';

/** Default wait for the verdicts, once the uploads are done. */
export const DEFAULT_TIMEOUT_SEC = 300;
/** Pause between two looks for a verdict. */
export const VERDICT_POLL_MS = 500;

export const SUBMIT_HELP = `Usage: residency submit <file>... --bucket NAME --verdict-bucket NAME [options]

Uploads each log to the serverless pipeline's upload bucket as <prefix><file name>,
waits for the checker's verdict (<verdict prefix><prefix><file name>.verdict.json in
the verdict bucket), and prints it as 'check' does. The pipeline's policy decides
(the function's RESIDENCY_POLICY, or 'serve --policy'): submit has no policy flags.
Large files are uploaded in parts. Uses the usual AWS credentials and region;
AWS_ENDPOINT_URL_S3 points it at another S3 endpoint, e.g. 'residency serve'.

Options:
      --bucket NAME          upload bucket (required)
      --verdict-bucket NAME  verdict bucket (required)
      --prefix PREFIX        key prefix of the uploads (default incoming/)
      --verdict-prefix PFX   key prefix of the verdicts (default verdicts/)
      --timeout SEC          how long to wait for the verdicts after uploading (default ${DEFAULT_TIMEOUT_SEC})
      --json                 print each verdict as one JSON line on standard output
  -q, --quiet                print nothing but errors
      --no-color             no colours (also NO_COLOR=1)
  -h, --help                 this help

Exit status: 0 all compliant, 1 violations found, 2 error (upload failed, no verdict
in time, a log the checker could not read, bad arguments).
`;

/** One file on its way through the pipeline. */
interface Submission {
  readonly file: string;
  readonly key: string;
  readonly verdictKey: string;
  uploaded?: S3ObjectInfo;
}

function keyPrefix(flag: string, value: string): string {
  if (value !== '' && (!value.endsWith('/') || value.startsWith('/'))) {
    throw new UsageError(`${flag}: expected a key prefix ending in '/' (or ''), got '${value}'`);
  }
  return value;
}

/** An SDK or network error in a few words: `NoSuchBucket: The specified bucket does not exist`. */
export function describeS3Failure(err: unknown): string {
  const e = err as { name?: string; message?: string; code?: string; errors?: { message?: string }[] };
  const message = e?.message || e?.errors?.[0]?.message || '';
  const name = e?.code ?? e?.name ?? 'Error';
  return message.startsWith(name) || message.includes(name) ? message : `${name}${message ? `: ${message}` : ''}`;
}

/**
 * Whether the verdict judged the object this upload stored, not an earlier upload's (nor the same
 * bytes in another bucket: one verdict bucket may serve several upload buckets). Without
 * versioning the ETag decides, as it does for the checker: the same bytes again get no new verdict.
 */
export function judgesUpload(verdict: Verdict, upload: { bucket: string; key: string } & S3ObjectInfo): boolean {
  const source = verdict.input.source ?? {};
  if (source.bucket !== upload.bucket || source.key !== upload.key) return false;
  if (upload.versionId && source.versionId) return source.versionId === upload.versionId;
  return upload.etag === undefined || source.etag === upload.etag;
}

async function readVerdict(client: S3Client, bucket: string, key: string): Promise<Verdict> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const text = (await out.Body?.transformToString('utf8')) ?? '';
  try {
    return JSON.parse(text) as Verdict;
  } catch {
    throw new S3AdapterError(`${formatS3Url(bucket, key)}: not a verdict (invalid JSON)`);
  }
}

/**
 * Waits until the verdict object exists and judges `uploaded`. A verdict left by an earlier
 * upload of the same name is read once and then waited past.
 */
async function awaitVerdict(
  client: S3Client,
  uploadBucket: string,
  bucket: string,
  s: Submission & { uploaded: S3ObjectInfo },
  deadline: number,
  timeoutSec: number,
): Promise<Verdict> {
  const url = formatS3Url(bucket, s.verdictKey);
  let staleEtag: string | undefined;
  for (;;) {
    let head;
    try {
      head = await waitForObject(client, bucket, s.verdictKey, {
        timeoutMs: Math.max(0, deadline - Date.now()),
        intervalMs: VERDICT_POLL_MS,
      });
    } catch (err) {
      if (err instanceof S3WaitTimeoutError) {
        throw new S3WaitTimeoutError(
          `${s.file}: no verdict at ${url} within ${timeoutSec} s (is the checker deployed for this bucket, or residency serve running?)`,
        );
      }
      throw err;
    }
    if (staleEtag === undefined || head.etag !== staleEtag) {
      const verdict = await readVerdict(client, bucket, s.verdictKey);
      if (judgesUpload(verdict, { bucket: uploadBucket, key: s.key, ...s.uploaded })) return verdict;
      staleEtag = head.etag ?? '';
    }
    if (Date.now() + VERDICT_POLL_MS > deadline) {
      throw new S3WaitTimeoutError(
        `${s.file}: the verdict at ${url} is still about another upload after ${timeoutSec} s (is the checker deployed for this bucket, or residency serve running?)`,
      );
    }
    await sleep(VERDICT_POLL_MS);
  }
}

function progressPrinter(file: string): (p: UploadProgress) => void {
  return (p) => {
    const percent = p.totalBytes === 0 ? 100 : Math.floor((p.loadedBytes / p.totalBytes) * 100);
    process.stderr.write(`\r${file}: uploading ${percent}% (${formatBytes(p.loadedBytes)} of ${formatBytes(p.totalBytes)})`);
    if (p.loadedBytes === p.totalBytes) process.stderr.write('\n');
  };
}

/** Runs `submit`; returns the exit code. */
export async function submitCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      bucket: { type: 'string' },
      'verdict-bucket': { type: 'string' },
      prefix: { type: 'string' },
      'verdict-prefix': { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      'no-color': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      // Recognised only to say why they are not taken.
      jurisdiction: { type: 'string', short: 'j' },
      deny: { type: 'string' },
      policy: { type: 'string', short: 'p' },
    },
  });
  if (values.help) {
    process.stdout.write(SUBMIT_HELP);
    return EXIT_COMPLIANT;
  }
  if (values.jurisdiction !== undefined || values.deny !== undefined || values.policy !== undefined) {
    throw new UsageError(
      "submit takes no policy: the pipeline's decides (the function's RESIDENCY_POLICY, or serve --policy); use check for a local policy",
    );
  }
  if (positionals.length === 0) throw new UsageError('submit: name at least one log file');
  if (values.bucket === undefined) throw new UsageError('submit: --bucket (the upload bucket) is required');
  if (values['verdict-bucket'] === undefined) throw new UsageError('submit: --verdict-bucket is required');
  const timeoutSec = Number(values.timeout ?? DEFAULT_TIMEOUT_SEC);
  if (!Number.isFinite(timeoutSec) || timeoutSec <= 0) {
    throw new UsageError(`--timeout: expected a number of seconds greater than 0, got '${values.timeout}'`);
  }
  const bucket = values.bucket;
  const verdictBucket = values['verdict-bucket'];
  const prefix = keyPrefix('--prefix', values.prefix ?? 'incoming/');
  const verdictPrefix = keyPrefix('--verdict-prefix', values['verdict-prefix'] ?? DEFAULT_VERDICT_PREFIX);

  const submissions: Submission[] = [];
  const byKey = new Map<string, string>();
  for (const file of positionals) {
    if (file === '-') throw new UsageError('submit: standard input cannot be uploaded; name a file');
    let isFile: boolean;
    try {
      isFile = (await stat(file)).isFile();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new UsageError(`${file}: cannot read (${code === 'ENOENT' ? 'no such file' : (err as Error).message})`);
    }
    if (!isFile) throw new UsageError(`${file}: not a file`);
    const key = `${prefix}${basename(file)}`;
    const other = byKey.get(key);
    if (other !== undefined) throw new UsageError(`${other} and ${file} would both be uploaded as ${formatS3Url(bucket, key)}`);
    byKey.set(key, file);
    submissions.push({ file, key, verdictKey: verdictKeyOf(verdictPrefix, key) });
  }

  const client = createS3Client(process.env);
  let exit = EXIT_COMPLIANT;
  const fail = (message: string): void => {
    printError(message);
    exit = EXIT_ERROR;
  };
  try {
    const showProgress = process.stderr.isTTY === true && !values.quiet;
    for (const s of submissions) {
      try {
        s.uploaded = await uploadFile(client, bucket, s.key, s.file, showProgress ? { onProgress: progressPrinter(s.file) } : {});
      } catch (err) {
        fail(`${s.file}: upload to ${formatS3Url(bucket, s.key)} failed (${err instanceof ResidencyError ? err.message : describeS3Failure(err)})`);
      }
    }
    const deadline = Date.now() + timeoutSec * 1000;
    const color = useColor(values.json ? process.stderr : process.stdout, values['no-color']);
    for (const s of submissions) {
      if (s.uploaded === undefined) continue;
      let verdict: Verdict;
      try {
        verdict = await awaitVerdict(client, bucket, verdictBucket, { ...s, uploaded: s.uploaded }, deadline, timeoutSec);
      } catch (err) {
        if (err instanceof S3WaitTimeoutError) fail(err.message);
        else if (err instanceof ResidencyError) fail(`${s.file}: ${err.message}`);
        else fail(`${s.file}: reading ${formatS3Url(verdictBucket, s.verdictKey)} failed (${describeS3Failure(err)})`);
        continue;
      }
      if (values.json) process.stdout.write(`${JSON.stringify(verdict)}\n`);
      if (verdict.error) {
        fail(`${s.file}: ${verdict.error}`);
      } else if (!verdict.compliant && exit !== EXIT_ERROR) {
        exit = EXIT_VIOLATIONS;
      }
      if (!values.quiet && !verdict.error) {
        const out = values.json ? process.stderr : process.stdout;
        out.write(renderSummary(verdict, { color }));
        out.write(`Verdict: ${formatS3Url(verdictBucket, s.verdictKey)}\n\n`);
      }
    }
  } finally {
    client.destroy();
  }
  return exit;
}
