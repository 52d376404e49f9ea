/**
 * A real S3-protocol server for integration tests: fauxqs (in-memory S3 + SQS + SNS emulator)
 * started in a child process on a random free port, bound to 127.0.0.1 only, by the same
 * {@link startLocalS3Server} that `residency serve` uses.
 *
 * Why a child process: fauxqs is ESM-only (`exports` has only an `import` condition), and jest
 * without `--experimental-vm-modules` can neither `import()` nor `require()` it (jest intercepts
 * `createRequire` too). A child `node` process loads it natively, and killing that process is
 * also the most faithful way to simulate "S3 is down".
 *
 * @example
 *   let s3: LocalS3;
 *   beforeAll(async () => { s3 = await startLocalS3(); await s3.createBucket('logs'); });
 *   afterAll(() => s3.stop());
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  HeadObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { startLocalS3Server } from '../../lambda/adapters/local-pipeline';

export {
  LOCAL_S3_START_TIMEOUT_MS,
  LOCAL_S3_STOP_GRACE_MS,
} from '../../lambda/adapters/local-pipeline';

/** Region the local clients sign for (fauxqs derives the region from the signature). */
export const LOCAL_S3_REGION = 'us-east-1';

/** A running local S3 server and a client pointed at it. */
export interface LocalS3 {
  /** Base URL of the server, e.g. `http://127.0.0.1:41234` (also serves SQS and SNS). */
  readonly endpoint: string;
  /** Client with test settings: path-style, dummy credentials, checksums only when required. */
  readonly client: S3Client;
  /** Whether the server process is still running (false after `stop()` or a crash). */
  readonly isRunning: boolean;
  /** Another client for this server, e.g. with `maxAttempts: 1`; destroyed by `stop()`. */
  createClient(overrides?: S3ClientConfig): S3Client;
  /** Creates a bucket through the S3 API; the name defaults to a fresh unique one. Returns it. */
  createBucket(name?: string): Promise<string>;
  /**
   * Stops the server (SIGTERM, then SIGKILL after a grace period), then destroys the clients this
   * handle made. Idempotent. To simulate "S3 is down" mid-test, make the client that should see
   * the outage with `new S3Client(localS3ClientConfig(endpoint))` and destroy it yourself.
   */
  stop(): Promise<void>;
}

/**
 * The environment a user of the CLI would set for an S3 endpoint (`AWS_ENDPOINT_URL_S3`, test
 * credentials and region, no profile), with the SDK's Node version notice, which would be the
 * only other line on stderr, turned off.
 */
export function cliS3Env(endpoint: string): NodeJS.ProcessEnv {
  return {
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: LOCAL_S3_REGION,
    AWS_PROFILE: undefined,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/**
 * S3 client settings for a local S3-protocol server.
 *
 * Checksums are `WHEN_REQUIRED` because local emulators neither return nor check the flexible
 * checksums the SDK sends by default (production clients keep the SDK default).
 */
export function localS3ClientConfig(
  endpoint: string,
  overrides: S3ClientConfig = {},
): S3ClientConfig {
  return {
    endpoint,
    region: LOCAL_S3_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...overrides,
  };
}

/** A bucket name that is valid for S3 and unique enough for one test run. */
export function uniqueBucketName(prefix = 'test'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** Starts fauxqs on 127.0.0.1 on a free port; resolves once it accepts connections. */
export async function startLocalS3(): Promise<LocalS3> {
  const server = await startLocalS3Server({ host: '127.0.0.1', port: 0 });
  const { endpoint } = server;
  let running = true;
  void server.exited.then(() => {
    running = false;
  });

  const clients: S3Client[] = [];
  const createClient = (overrides?: S3ClientConfig): S3Client => {
    const client = new S3Client(localS3ClientConfig(endpoint, overrides));
    clients.push(client);
    return client;
  };
  const client = createClient();

  return {
    endpoint,
    client,
    get isRunning() {
      return running;
    },
    createClient,
    async createBucket(name = uniqueBucketName()) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
    async stop() {
      await server.stop();
      // Only after the server is gone, so a mid-test stop() is seen by clients as the server
      // dropping their connections, not as the client closing its own sockets.
      for (const c of clients.splice(0)) c.destroy();
    },
  };
}

/** An HTTP request as the S3 client sent it, for assertions. */
export interface RecordedS3Request {
  readonly commandName: string;
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;
}

interface WireRequest {
  method: string;
  path: string;
  query?: Record<string, unknown>;
  headers: Record<string, string>;
}

/** Records every request `client` sends from now on (after signing, as it goes on the wire). */
export function recordS3Requests(client: S3Client): RecordedS3Request[] {
  const recorded: RecordedS3Request[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as WireRequest;
      recorded.push({
        commandName: context.commandName ?? 'unknown',
        method: request.method,
        path: request.path,
        query: { ...request.query },
        headers: { ...request.headers },
      });
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'recordS3Requests' },
  );
  return recorded;
}

/**
 * Makes `client` see S3's conditional-write answers, as from S3 (same XML error bodies): a
 * PutObject with `If-None-Match: *` on a key that exists gets 412 PreconditionFailed; one with
 * `If-Match: <etag>` gets 412 when the object's ETag differs, 404 NoSuchKey when there is none.
 *
 * fauxqs 1.9.2 (like other local S3 servers) ignores both headers on PUT and would silently
 * overwrite, so the check is done here with a HeadObject first. It is not atomic; it only lets
 * tests exercise the caller's handling of S3's real answers, parsed by the real SDK deserializer.
 */
export function emulateConditionalWrites(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as WireRequest;
      const ifNoneMatch = request.headers['if-none-match'] ?? request.headers['If-None-Match'];
      const ifMatch = request.headers['if-match'] ?? request.headers['If-Match'];
      if (context.commandName !== 'PutObjectCommand' || (ifNoneMatch !== '*' && ifMatch === undefined)) return next(args);
      const [, bucket, ...keyParts] = request.path.split('/');
      const key = keyParts.map(decodeURIComponent).join('/');
      const etag = await client
        .send(new HeadObjectCommand({ Bucket: decodeURIComponent(bucket ?? ''), Key: key }))
        .then(
          (head) => head.ETag ?? '',
          () => null,
        );
      if (ifNoneMatch === '*' && etag !== null) return s3Error(412, 'Precondition Failed', 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 'If-None-Match');
      if (ifMatch !== undefined && etag === null) return s3Error(404, 'Not Found', 'NoSuchKey', 'The specified key does not exist.');
      if (ifMatch !== undefined && etag !== ifMatch) return s3Error(412, 'Precondition Failed', 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 'If-Match');
      return next(args);
    },
    { step: 'deserialize', priority: 'low', name: 'emulateConditionalWrites' },
  );
}

/** An S3 error reply, returned below the SDK's deserializer, which turns it into the error S3's would be. */
function s3Error(statusCode: number, reason: string, code: string, message: string, condition?: string): { response: unknown; output: never } {
  const xml =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>` +
    `${condition ? `<Condition>${condition}</Condition>` : ''}<RequestId>EMULATED</RequestId></Error>`;
  const response = {
    statusCode,
    reason,
    headers: { 'content-type': 'application/xml', 'x-amz-request-id': 'EMULATED' },
    body: Readable.from([Buffer.from(xml, 'utf8')]),
  };
  return { response, output: undefined as never };
}
