/**
 * The test rig for the checker function: a local S3 server with an upload and a verdict bucket,
 * the function's environment, captured log lines, and the reads tests assess with. Registers its
 * own jest hooks; call it once at the top of a test file.
 */
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { verdictKeyOf } from '../../lambda/adapters/s3-check-object';
import type { Verdict } from '../../lambda/engine/verdict/verdict';
import { resetRuntime } from '../../lambda/handler';
import { LOCAL_S3_REGION, startLocalS3, type LocalS3 } from './local-s3';
import { parseRows, type DestinationRow } from './destination-rows';
import { md5Etag, type S3ObjectFacts } from './s3-events';

/** A verdict as stored by the function (its input always names the S3 object). */
export type StoredVerdict = Verdict & { input: { source: Record<string, string | null> } };

/** The rig's live state, set in beforeAll. */
export interface HandlerRigState {
  s3: LocalS3;
  uploads: string;
  verdicts: string;
}

/** What a test file uses. */
export interface HandlerRig {
  /** Sets the function's environment (on top of the base one) and starts a fresh container. */
  useEnv(vars?: Record<string, string | undefined>, createClient?: (env: NodeJS.ProcessEnv) => S3Client): void;
  /** Uploads `bytes` as `key` (one PutObject) and returns what an S3 event would say about it. */
  upload(key: string, bytes: Uint8Array, options?: { client?: S3Client; bucket?: string }): Promise<S3ObjectFacts>;
  readVerdict(key: string): Promise<StoredVerdict>;
  verdictExists(key: string): Promise<boolean>;
  /** Keys of the destinations objects in the verdict bucket, sorted. */
  destinationKeys(prefix?: string): Promise<string[]>;
  /** A destinations object: its bytes as stored, its JSON Lines text and rows, its content type. */
  readDestinations(key: string): Promise<{ bytes: Uint8Array; text: string; rows: DestinationRow[]; contentType: string | undefined }>;
  /** The function's JSON log lines written since the test began. */
  logLines(): string[];
  logsMatching(message: string): Record<string, unknown>[];
}

/**
 * Starts the rig for a file: `onState` receives the server and bucket names once they exist (so
 * the file can keep them in its own variables). `policy` is the default RESIDENCY_POLICY.
 */
export function handlerRig(policy: string, onState: (state: HandlerRigState) => void): HandlerRig {
  const originalEnv = { ...process.env };
  let state: HandlerRigState | undefined;
  let lines: string[] = [];
  const live = (): HandlerRigState => {
    if (!state) throw new Error('handlerRig: used before beforeAll ran');
    return state;
  };

  const rig: HandlerRig = {
    useEnv(vars = {}, createClient) {
      const { s3, verdicts } = live();
      process.env = {
        ...originalEnv,
        AWS_ENDPOINT_URL_S3: s3.endpoint,
        AWS_REGION: LOCAL_S3_REGION,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_PROFILE: undefined,
        VERDICT_BUCKET: verdicts,
        RESIDENCY_POLICY: policy,
      };
      for (const [name, value] of Object.entries(vars)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      resetRuntime(createClient ? { createClient } : {});
    },
    async upload(key, bytes, options = {}) {
      const { s3, uploads } = live();
      const bucket = options.bucket ?? uploads;
      const out = await (options.client ?? s3.client).send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
      const eTag = out.ETag!.replace(/"/g, '');
      expect(eTag).toBe(md5Etag(bytes));
      return { bucket, key, size: bytes.byteLength, eTag };
    },
    async readVerdict(key) {
      const { s3, verdicts } = live();
      const out = await s3.client.send(new GetObjectCommand({ Bucket: verdicts, Key: verdictKeyOf('verdicts/', key) }));
      return JSON.parse(await out.Body!.transformToString('utf8')) as StoredVerdict;
    },
    async verdictExists(key) {
      const { s3, verdicts } = live();
      const out = await s3.client.send(new ListObjectsV2Command({ Bucket: verdicts, Prefix: verdictKeyOf('verdicts/', key) }));
      return (out.Contents ?? []).length > 0;
    },
    async destinationKeys(prefix = 'destinations/') {
      const { s3, verdicts } = live();
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const out = await s3.client.send(new ListObjectsV2Command({ Bucket: verdicts, Prefix: prefix, ContinuationToken: token }));
        keys.push(...(out.Contents ?? []).map((o) => o.Key!));
        token = out.NextContinuationToken;
      } while (token);
      return keys.sort();
    },
    async readDestinations(key) {
      const { s3, verdicts } = live();
      const out = await s3.client.send(new GetObjectCommand({ Bucket: verdicts, Key: key }));
      const bytes = await out.Body!.transformToByteArray();
      const text = gunzipSync(bytes).toString('utf8');
      return { bytes, text, rows: parseRows(text), contentType: out.ContentType };
    },
    logLines: () => lines,
    logsMatching: (message) =>
      lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.message === message),
  };

  beforeAll(async () => {
    const s3 = await startLocalS3();
    state = { s3, uploads: await s3.createBucket('upload'), verdicts: await s3.createBucket('verdict') };
    onState(state);
  });

  afterAll(async () => {
    resetRuntime();
    process.env = originalEnv;
    await state?.s3.stop();
  });

  beforeEach(() => {
    rig.useEnv();
    lines = [];
    const keep = (line: unknown): void => void lines.push(String(line));
    jest.spyOn(console, 'log').mockImplementation(keep);
    jest.spyOn(console, 'error').mockImplementation(keep);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  return rig;
}
