/**
 * The serverless pipeline on one machine, for `residency serve`: an S3-protocol server (fauxqs,
 * in a child process on 127.0.0.1) and a watcher that polls the upload bucket and runs
 * {@link checkS3Object} on every new object, as the deployed function does per notification.
 *
 * fauxqs does not deliver S3 event notifications, hence the polling. It is a devDependency:
 * `serve` is a development tool and works from a checkout after `npm install`.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CreateBucketCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { UsageError } from '../engine/errors';
import { checkS3Object, type CheckOutcome } from './s3-check-object';
import type { CheckResources } from './s3-check-resources';
import { errorCodeOf } from './s3-errors';
import { unquoteEtag } from './s3-etag';

/** How long to wait for the server process to report its address. */
export const LOCAL_S3_START_TIMEOUT_MS = 15_000;
/** How long `stop()` waits after SIGTERM before it sends SIGKILL. */
export const LOCAL_S3_STOP_GRACE_MS = 2_000;
/** Pause between two listings of the upload bucket. */
export const DEFAULT_POLL_INTERVAL_MS = 1_000;

/** A running local S3-protocol server. */
export interface LocalS3Server {
  /** Base URL, e.g. `http://127.0.0.1:4566`. */
  readonly endpoint: string;
  /** Settles with the exit code when the server process ends (for whatever reason). */
  readonly exited: Promise<number | null>;
  /** Stops the server (SIGTERM, then SIGKILL after a grace period). Idempotent. */
  stop(): Promise<void>;
}

/** Where the server listens. */
export interface LocalS3ServerOptions {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @default 4566 */
  readonly port?: number;
}

/**
 * The child's program (an ES module: fauxqs is ESM-only). `buildApp` + `listen` rather than
 * fauxqs' `startFauxqs`, which always listens on 0.0.0.0. The child exits when its stdin closes,
 * so it cannot outlive its parent, however the parent ends.
 */
function childScript(fauxqsUrl: string): string {
  return `
const { buildApp } = await import(${JSON.stringify(fauxqsUrl)});
const { host, port } = JSON.parse(process.env.RESIDENCY_LOCAL_S3_LISTEN);
const app = buildApp({ logger: false });
let address;
try {
  address = await app.listen({ host, port });
} catch (err) {
  process.stdout.write(JSON.stringify({ error: err.code ?? 'ERROR', message: err.message }) + '\\n');
  process.exit(1);
}
process.stdout.write(JSON.stringify({ address }) + '\\n');
let closing = false;
const shutdown = () => {
  if (closing) return;
  closing = true;
  app.close().finally(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.stdin.on('end', shutdown);
process.stdin.resume();
`;
}

/** fauxqs' ES module entry, found in the node_modules folders above this file. */
export function findFauxqs(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const entry = join(dir, 'node_modules', 'fauxqs', 'dist', 'app.js');
    if (existsSync(entry)) return entry;
    if (dirname(dir) === dir) break;
  }
  throw new UsageError(
    'serve needs fauxqs, a devDependency of residency: run it from a checkout after npm install',
  );
}

/** Starts fauxqs on `host:port`; resolves once it accepts connections. */
export async function startLocalS3Server(options: LocalS3ServerOptions = {}): Promise<LocalS3Server> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 4566;
  const child = spawn(process.execPath, ['--input-type=module', '--eval', childScript(pathToFileURL(findFauxqs()).href)], {
    env: { ...process.env, FAUXQS_LOGGER: 'false', RESIDENCY_LOCAL_S3_LISTEN: JSON.stringify({ host, port }) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  let running = true;
  void exited.then(() => {
    running = false;
  });
  let endpoint: string;
  try {
    endpoint = await readAddress(child, host, port);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  }
  return {
    endpoint,
    exited,
    async stop() {
      if (!running) return;
      child.stdin.end();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), LOCAL_S3_STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Reads the child's first stdout line: its address, or why it could not listen. */
function readAddress(child: ChildProcessWithoutNullStreams, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const fail = (reason: string): void => {
      cleanup();
      reject(new UsageError(`local S3 server did not start: ${reason}${stderr ? ` (${stderr.trim().split('\n')[0]})` : ''}`));
    };
    const onStdout = (chunk: Buffer): void => {
      stdout += chunk.toString('utf8');
      const newline = stdout.indexOf('\n');
      if (newline === -1) return;
      let line: { address?: string; error?: string; message?: string };
      try {
        line = JSON.parse(stdout.slice(0, newline)) as typeof line;
      } catch {
        fail(`unexpected output '${stdout.slice(0, newline)}'`);
        return;
      }
      if (line.address) {
        cleanup();
        resolve(line.address);
      } else if (line.error === 'EADDRINUSE') {
        fail(`${host}:${port} is already in use (choose another with --port)`);
      } else {
        fail(line.message ?? 'unknown error');
      }
    };
    const onStderr = (chunk: Buffer): void => {
      stderr += chunk.toString('utf8');
    };
    const onClose = (code: number | null): void => fail(`process exited with code ${code}`);
    const timer = setTimeout(() => fail(`no address after ${LOCAL_S3_START_TIMEOUT_MS} ms`), LOCAL_S3_START_TIMEOUT_MS);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout.off('data', onStdout);
      child.off('close', onClose);
      // Keep draining both pipes so the child can never block on a full pipe buffer.
      child.stdout.resume();
    };
    child.stdout.on('data', onStdout);
    child.stderr.on('data', onStderr);
    child.once('close', onClose);
  });
}

/** Creates a bucket; one that already exists (and is ours) is fine. */
export async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    if (errorCodeOf(err) !== 'BucketAlreadyOwnedByYou') throw err;
  }
}

/** What the watcher reports. */
export type WatchEvent =
  | { kind: 'checked'; key: string; etag: string | undefined; outcome: CheckOutcome }
  | { kind: 'failed'; key: string; error: unknown }
  | { kind: 'listing-failed'; error: unknown };

/** Options of {@link UploadWatcher}. */
export interface UploadWatcherOptions {
  readonly client: S3Client;
  readonly resources: CheckResources;
  readonly uploadBucket: string;
  /** Only keys under this prefix are checked (the deployed notification filter). */
  readonly prefix: string;
  readonly verdictBucket: string;
  readonly verdictPrefix: string;
  /** @default DEFAULT_POLL_INTERVAL_MS */
  readonly intervalMs?: number;
  /** Called once per object checked, or per failed attempt (retried at the next poll). */
  readonly onEvent: (event: WatchEvent) => void;
}

/**
 * Polls the upload bucket and checks each object not seen before (by key and ETag, so an
 * overwrite is checked again), one at a time, as notifications would trigger the function.
 */
export class UploadWatcher {
  private readonly seen = new Map<string, string | undefined>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: UploadWatcherOptions) {}

  /** Lists the bucket once and checks what is new. */
  async pollOnce(): Promise<void> {
    const o = this.options;
    for (const { key, etag } of await this.list()) {
      if (this.stopped) return;
      if (key.endsWith('/') || (this.seen.has(key) && this.seen.get(key) === etag)) continue;
      try {
        const outcome = await checkS3Object(o.client, o.resources, o, {
          bucket: o.uploadBucket,
          key,
          ...(etag !== undefined ? { etag } : {}),
        });
        this.seen.set(key, etag);
        o.onEvent({ kind: 'checked', key, etag, outcome });
      } catch (error) {
        o.onEvent({ kind: 'failed', key, error });
      }
    }
  }

  /** Polls until {@link stop}; a failed listing is reported and retried. */
  start(): void {
    const loop = (): void => {
      this.polling = this.pollOnce()
        .catch((error: unknown) => this.options.onEvent({ kind: 'listing-failed', error }))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.options.intervalMs ?? DEFAULT_POLL_INTERVAL_MS);
        });
    };
    loop();
  }

  /** Stops polling; resolves once a check in progress has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.polling;
  }

  private async list(): Promise<{ key: string; etag: string | undefined }[]> {
    const out: { key: string; etag: string | undefined }[] = [];
    let token: string | undefined;
    do {
      const page = await this.options.client.send(
        new ListObjectsV2Command({
          Bucket: this.options.uploadBucket,
          Prefix: this.options.prefix === '' ? undefined : this.options.prefix,
          ContinuationToken: token,
        }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key !== undefined) out.push({ key: object.Key, etag: unquoteEtag(object.ETag) });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out;
  }
}
