/** `residency serve`: the serverless pipeline on this machine, for trying `submit` without AWS. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  ensureBucket,
  startLocalS3Server,
  UploadWatcher,
  type WatchEvent,
} from '../../lambda/adapters/local-pipeline';
import { CheckResources } from '../../lambda/adapters/s3-check-resources';
import { createS3Client } from '../../lambda/adapters/s3-client';
import { formatS3Url } from '../../lambda/adapters/s3-url';
import type { CheckerConfig } from '../../lambda/config';
import { DEFAULT_DESTINATIONS_PREFIX, DEFAULT_VERDICT_PREFIX, ENV_S3_ENDPOINT } from '../../lambda/env-names';
import { PolicyError, UsageError } from '../../lambda/engine/errors';
import { compilePolicy, policyFromSpec, type Policy } from '../../lambda/engine/policy/policy';
import { EXIT_COMPLIANT, EXIT_ERROR, printError } from './check-command';

/** Region the local server is addressed in (it accepts any). */
const LOCAL_REGION = 'us-east-1';
/** Credentials for the local server, which does not check them. */
const LOCAL_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

export const SERVE_HELP = `Usage: residency serve [options]

Runs the serverless pipeline on this machine: an in-memory S3-protocol server on
127.0.0.1 (fauxqs) with an upload and a verdict bucket, and a checker that looks at
the upload bucket every second and writes a verdict for each new object under the
prefix, as the deployed function does. Try it with 'residency submit'. Nothing is
kept after it stops. fauxqs is a devDependency: run serve from a checkout after
npm install.

Options:
      --port N              port of the S3 endpoint (default 4566; 0 picks a free one)
      --upload-bucket NAME  (default residency-uploads)
      --verdict-bucket NAME (default residency-verdicts)
      --prefix PREFIX       key prefix of the uploads to check (default incoming/)
      --policy SPEC         as the function's RESIDENCY_POLICY: presets and country codes
                            (us, eu, US,CA, foreign-adversaries), inline policy JSON,
                            or a policy file ending in .json (default us)
  -h, --help                this help

Stops on Ctrl-C (SIGINT) or SIGTERM. Exit status: 0 stopped, 2 could not start.
`;

/** Turns `--policy` into the function's policy specification (a file is read and inlined). */
export function policySpecOf(value: string | undefined): string {
  const spec = value?.trim() || 'us';
  if (spec.startsWith('s3://')) {
    throw new UsageError("--policy: an s3:// URL would name an object in serve's own empty buckets; give presets, JSON or a .json file");
  }
  if (!spec.toLowerCase().endsWith('.json')) return spec;
  try {
    return readFileSync(spec, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PolicyError(`${spec}: cannot read policy file (${code === 'ENOENT' ? 'no such file' : (err as Error).message})`);
  }
}

function validateName(flag: string, value: string, pattern: RegExp, expected: string): string {
  if (!pattern.test(value)) throw new UsageError(`${flag}: expected ${expected}, got '${value}'`);
  return value;
}

/** Runs `serve` until SIGINT/SIGTERM; returns the exit code. */
export async function serveCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      port: { type: 'string' },
      'upload-bucket': { type: 'string' },
      'verdict-bucket': { type: 'string' },
      prefix: { type: 'string' },
      policy: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(SERVE_HELP);
    return EXIT_COMPLIANT;
  }
  if (positionals.length > 0) throw new UsageError(`serve: unexpected argument '${positionals[0]}' (try --help)`);
  const port = Number(values.port ?? '4566');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port: expected a port number 0-65535, got '${values.port}'`);
  }
  const bucketName = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
  const bucketRule = 'an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)';
  const uploadBucket = validateName('--upload-bucket', values['upload-bucket'] ?? 'residency-uploads', bucketName, bucketRule);
  const verdictBucket = validateName('--verdict-bucket', values['verdict-bucket'] ?? 'residency-verdicts', bucketName, bucketRule);
  if (uploadBucket === verdictBucket) {
    // As in the stack: a verdict written where uploads are watched would be checked in turn, and its
    // verdict, without end.
    throw new UsageError(`--upload-bucket and --verdict-bucket must differ (both are '${uploadBucket}'): verdicts written among the uploads would be checked in turn`);
  }
  const prefix = validateName('--prefix', values.prefix ?? 'incoming/', /^$|^[^/].*\/$/, "a key prefix ending in '/', e.g. incoming/");
  const config: CheckerConfig = {
    verdictBucket,
    verdictPrefix: DEFAULT_VERDICT_PREFIX,
    destinationsPrefix: DEFAULT_DESTINATIONS_PREFIX,
    policySpec: policySpecOf(values.policy),
    databaseUrls: [],
  };

  // A bad --policy is reported before anything starts (the function would name its variable).
  const policy = compilePolicy(policyFromSpec(config.policySpec, '--policy'));

  const server = await startLocalS3Server({ port });
  let client: S3Client | undefined;
  let watcher: UploadWatcher | undefined;
  const shutdown = async (): Promise<void> => {
    await watcher?.stop();
    client?.destroy();
    await server.stop();
  };
  try {
    client = createS3Client({ [ENV_S3_ENDPOINT]: server.endpoint, AWS_REGION: LOCAL_REGION }, { credentials: LOCAL_CREDENTIALS });
    await ensureBucket(client, uploadBucket);
    await ensureBucket(client, verdictBucket);
    const resources = new CheckResources(client, config);
    await resources.getDatabases();
    watcher = new UploadWatcher({
      client,
      resources,
      uploadBucket,
      prefix,
      verdictBucket,
      verdictPrefix: config.verdictPrefix,
      onEvent: (event) => process.stdout.write(describeEvent(event, verdictBucket)),
    });
  } catch (err) {
    await shutdown();
    throw err;
  }

  // Listen for Ctrl-C before saying it stops the server: whoever reads the ready lines may send it
  // at once.
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const stopped = new Promise<NodeJS.Signals | 'server-exit'>((resolve) => {
    onSignal = resolve;
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    void server.exited.then(() => resolve('server-exit'));
  });
  const out = process.stdout;
  out.write(`residency serve: local S3 endpoint ${server.endpoint} (fauxqs, in memory)\n`);
  out.write(`  uploads:  ${formatS3Url(uploadBucket, prefix)}\n`);
  out.write(`  verdicts: ${formatS3Url(verdictBucket, config.verdictPrefix)}${prefix}<name>.verdict.json\n`);
  out.write(`  policy:   ${describePolicy(policy.policy)}\n`);
  out.write('Submit a log from another terminal:\n');
  out.write(
    `  AWS_ENDPOINT_URL_S3=${server.endpoint} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=${LOCAL_REGION} \\\n` +
      `    npx residency submit conn.log --bucket ${uploadBucket} --verdict-bucket ${verdictBucket}` +
      `${prefix === 'incoming/' ? '' : ` --prefix ${prefix}`}\n`,
  );
  out.write(`Watching ${formatS3Url(uploadBucket, prefix)} for uploads (Ctrl-C to stop)\n`);
  watcher.start();

  const reason = await stopped;
  // From here a second Ctrl-C ends the process at once (the server child goes with it).
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await shutdown();
  if (reason === 'server-exit') {
    printError(`the local S3 server stopped unexpectedly; serve is stopping too`);
    return EXIT_ERROR;
  }
  out.write(`Stopped (${reason}).\n`);
  return EXIT_COMPLIANT;
}

function describePolicy(policy: Policy): string {
  const parts: string[] = [];
  if (policy.allowedCountries) parts.push(policy.allowedCountries.length > 0 ? `data must stay in: ${policy.allowedCountries.join(', ')}` : 'no public destination is allowed');
  if (policy.deniedCountries.length > 0) parts.push(`never to: ${policy.deniedCountries.join(', ')}`);
  if (policy.allowCidrs.length > 0) parts.push(`allowlisted networks: ${policy.allowCidrs.join(', ')}`);
  return parts.join('; ') || 'no country restrictions';
}

/** One line per checked object, e.g. `12:00:01 incoming/a.log: NOT COMPLIANT -> s3://...`. */
export function describeEvent(event: WatchEvent, verdictBucket: string): string {
  const time = new Date().toTimeString().slice(0, 8);
  if (event.kind !== 'checked') {
    const err = event.error as Error;
    const why = `${err?.name ?? 'Error'}: ${err?.message ?? String(event.error)}`;
    if (event.kind === 'listing-failed') return `${time} listing the upload bucket failed, will retry (${why})\n`;
    return `${time} ${event.key}: not checked, will retry (${why})\n`;
  }
  const { outcome } = event;
  const where = formatS3Url(verdictBucket, outcome.verdictKey);
  if (outcome.kind === 'duplicate') return `${time} ${event.key}: already checked -> ${where}\n`;
  if (outcome.kind === 'superseded') return `${time} ${event.key}: a newer upload is already checked -> ${where}\n`;
  const result = outcome.error ? `ERROR, could not check: ${outcome.error}` : outcome.compliant ? 'COMPLIANT' : 'NOT COMPLIANT';
  return `${time} ${event.key}: ${result} -> ${where}\n`;
}
