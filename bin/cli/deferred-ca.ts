/**
 * `NODE_EXTRA_CA_CERTS`, loaded only by commands that open TLS connections.
 *
 * Node reads the file named by `NODE_EXTRA_CA_CERTS` (and builds its whole root store) while it
 * starts, whether or not the process ever opens a TLS connection: about 90 ms of CPU with Debian's
 * CA bundle, more than the rest of Node's start-up. Most commands (`check`, `explain`, `policy`,
 * `serve`, `audit` and `procurement` of a folder) never open one. So the CLI's `#!` line moves the
 * variable aside (`RESIDENCY_DEFERRED_CA_CERTS=${NODE_EXTRA_CA_CERTS} NODE_EXTRA_CA_CERTS=`) and
 * Node starts without it; a command that talks to AWS runs again in a child Node with the
 * variable as the user set it ({@link relaunchWithCaCertificates}), and every other command puts
 * it back for the processes it starts ({@link restoreCaCertificates}).
 */
import { printError } from './check-command';

/** Where the CLI's `#!` line keeps the user's `NODE_EXTRA_CA_CERTS` (empty when there was none). */
export const ENV_DEFERRED_CA_CERTS = 'RESIDENCY_DEFERRED_CA_CERTS';

/** The `NODE_EXTRA_CA_CERTS` the `#!` line set aside, or null when it set none aside. */
export function deferredCaCertificates(env: NodeJS.ProcessEnv = process.env): string | null {
  const deferred = env[ENV_DEFERRED_CA_CERTS];
  // Started some other way (`node residency.js`), or the user's variable is still in place.
  if (deferred === undefined || deferred === '' || (env.NODE_EXTRA_CA_CERTS ?? '') !== '') return null;
  return deferred;
}

/** Whether a command line opens TLS connections (to S3 and Step Functions): submit, and audit or procurement of s3://. */
export function needsCaCertificates(argv: readonly string[]): boolean {
  const [command, ...rest] = argv;
  if (command === 'submit') return true;
  return (command === 'audit' || command === 'procurement') && rest.some((a) => a.startsWith('s3://') || a.includes('=s3://'));
}

/** Puts the user's `NODE_EXTRA_CA_CERTS` back into this process's environment, for its children. */
export function restoreCaCertificates(env: NodeJS.ProcessEnv = process.env): void {
  if (env[ENV_DEFERRED_CA_CERTS] === undefined) return;
  const deferred = deferredCaCertificates(env);
  if (deferred !== null) env.NODE_EXTRA_CA_CERTS = deferred;
  // The #! line's empty value, where the user had none.
  else if (env.NODE_EXTRA_CA_CERTS === '') delete env.NODE_EXTRA_CA_CERTS;
  delete env[ENV_DEFERRED_CA_CERTS];
}

/**
 * What the CLI's `#!` line puts ahead of the user's `GLIBC_TUNABLES`: malloc asks for transparent
 * huge pages for its large blocks (bin/residency.ts). Later tunables override earlier ones, so the
 * user's own setting still wins.
 */
export const HUGE_PAGES_TUNABLE = 'glibc.malloc.hugetlb=1:';

/**
 * Gives the processes this one starts the user's `GLIBC_TUNABLES` back, without what the `#!` line
 * added for this process (unset when the user had none). Called where the CA certificates are.
 */
export function restoreGlibcTunables(env: NodeJS.ProcessEnv = process.env): void {
  const tunables = env.GLIBC_TUNABLES;
  if (tunables === undefined || !tunables.startsWith(HUGE_PAGES_TUNABLE)) return;
  const users = tunables.slice(HUGE_PAGES_TUNABLE.length);
  if (users === '') delete env.GLIBC_TUNABLES;
  else env.GLIBC_TUNABLES = users;
}

const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGINT'];

/**
 * Runs this CLI again with `argv` in a child Node that loads `caCertificates` as
 * `NODE_EXTRA_CA_CERTS`, with the same Node flags, standard streams and environment otherwise.
 * Resolves to the child's exit status; a child killed by a signal kills this process with it.
 * Ctrl-C reaches both processes from the terminal; a signal sent to this one alone is passed on.
 */
export async function relaunchWithCaCertificates(argv: readonly string[], caCertificates: string): Promise<number> {
  // Loaded here: child_process (and net with it) would add their load time to every check.
  const { spawn } = await import('node:child_process');
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_EXTRA_CA_CERTS: caCertificates };
  delete env[ENV_DEFERRED_CA_CERTS];
  const script = process.argv[1] as string;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, script, ...argv], { stdio: 'inherit', env });
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    for (const s of FORWARDED_SIGNALS) process.on(s, forward);
    const done = (): void => {
      for (const s of FORWARDED_SIGNALS) process.off(s, forward);
    };
    child.on('error', (err) => {
      done();
      printError(`could not start Node again with NODE_EXTRA_CA_CERTS: ${err.message}`);
      resolve(2);
    });
    child.on('exit', (code, signal) => {
      done();
      if (signal !== null) {
        process.kill(process.pid, signal);
        return;
      }
      resolve(code ?? 2);
    });
  });
}
