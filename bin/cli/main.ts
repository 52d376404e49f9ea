/**
 * The residency command line. Each command maps its flags onto the engine's options; errors become
 * one line on standard error and exit status 2, never a stack trace. Started by bin/residency.ts
 * (its `#!` line carries the V8 flags), from the bundle the build makes of this file, or from this
 * file itself where there is no bundle.
 */
import { ResidencyError } from '../../lambda/engine/errors';
import { TOOL_VERSION } from '../../lambda/version';
import { checkCommand, EXIT_ERROR, printError } from './check-command';
import { deferredCaCertificates, needsCaCertificates, relaunchWithCaCertificates, restoreCaCertificates, restoreGlibcTunables } from './deferred-ca';
import { policyCommand } from './policy-command';

const HELP = `residency ${TOOL_VERSION}: where did the data in this connection log go, and was it allowed?

Usage: residency <command> [options]

Commands:
  check <file>...        check logs against a jurisdiction; write verdicts (see: residency check --help)
  audit <dir|s3://...>   re-check every log under a folder or S3 prefix; a summary and what changed
                         since --previous
  explain <ip>...        what is known about addresses: class, location per database, operator, status
  policy validate|show|list
                         check a policy file, print a preset
  procurement <dir|s3://...>
                         one procurement statement per product (first-level folder): PASS/FAIL,
                         per data category
  submit <file>...       upload logs to the serverless pipeline, wait for and print its verdicts
  serve                  run the pipeline locally (S3 emulator + checker) to try submit

Example:
  residency check conn.log --jurisdiction us --deny foreign-adversaries

Options: -h, --help   this help;  -v, --version   the version
`;

async function main(argv: string[]): Promise<number> {
  const caCertificates = deferredCaCertificates();
  if (caCertificates !== null && needsCaCertificates(argv)) return relaunchWithCaCertificates(argv, caCertificates);
  restoreCaCertificates();
  restoreGlibcTunables();
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(HELP);
      return command === undefined ? EXIT_ERROR : 0;
    case '-v':
    case '--version':
    case 'version':
      process.stdout.write(`${TOOL_VERSION}\n`);
      return 0;
    case 'check':
      return checkCommand(rest);
    case 'audit':
      return (await import('./audit-command')).auditCommand(rest);
    case 'explain':
      return (await import('./explain-command')).explainCommand(rest);
    case 'policy':
      return policyCommand(rest);
    case 'procurement':
      return (await import('./procurement-command')).procurementCommand(rest);
    // Loaded on demand: the AWS SDK would add its load time to every check.
    case 'submit':
      return (await import('./submit-command')).submitCommand(rest);
    case 'serve':
      return (await import('./serve-command')).serveCommand(rest);
    default:
      printError(`unknown command '${command}' (try residency --help)`);
      return EXIT_ERROR;
  }
}

/** Translates any error into one line and exit status 2. */
function report(err: unknown): number {
  if (err instanceof ResidencyError) {
    printError(err.message);
  } else if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    // Node's argument parser writes some messages over several lines: one line, as every error.
    printError(`${(err as Error).message.replace(/\s*\n\s*/g, ' ')} (try --help)`);
  } else {
    printError(`internal error: ${(err as Error)?.message ?? String(err)}`);
    if (process.env.RESIDENCY_DEBUG) process.stderr.write(`${(err as Error)?.stack}\n`);
  }
  return EXIT_ERROR;
}

/**
 * A reader that stops early (`residency check a.log b.log | head -1`) is not an error worth a stack
 * trace, nor a reason to stop: what is printed after that goes nowhere, but every input is still
 * checked and its verdict written, and the exit status is still the checks' (ending at the broken
 * pipe said 0, "all compliant", and left the other inputs unchecked).
 */
function discardOutput(stream: NodeJS.WriteStream): void {
  stream.write = ((_chunk: unknown, encoding?: unknown, callback?: unknown): boolean => {
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') process.nextTick(done as () => void);
    return true;
  }) as typeof stream.write;
}

/** Runs the command line on this process's arguments; sets the exit status when it is done. */
export function run(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      discardOutput(stream);
    });
  }
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.exitCode = report(err);
    },
  );
}
