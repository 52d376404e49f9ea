/**
 * Faults in the pipeline, caused for real where possible: `handler()` with its own S3 client
 * (made from the environment, as deployed) against fauxqs on 127.0.0.1, and, for retries and
 * dead-lettering, a real SQS queue with a redrive policy in the same fauxqs, consumed by a
 * poller written here the way Lambda's SQS event source consumes it with partial batch responses.
 *
 * | fault                                 | how it is caused                                            |
 * | ------------------------------------- | ----------------------------------------------------------- |
 * | S3 server stops mid-stream            | real: the server process holding the log is stopped while   |
 * |                                       | the handler reads its body                                  |
 * | slow S3                               | real: a TCP proxy on 127.0.0.1 that holds every chunk       |
 * | verdict (report, destinations) write  | simulated: fauxqs cannot be told to fail one PutObject, so  |
 * | fails (500/503)                       | a middleware answers it with S3's error response (parsed by |
 * |                                       | the SDK's real deserializer)                                |
 * | poison message, DLQ after 3 receives  | real: fauxqs SQS with RedrivePolicy maxReceiveCount 3       |
 * | redrive from the DLQ                  | real queues; the move is done by hand because fauxqs 1.9.2  |
 * |                                       | does not implement StartMessageMoveTask                     |
 *
 * The same message delivered twice at the same time is covered in handler.integration.test.ts
 * ("writes one verdict when the same message is delivered twice at the same time").
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListObjectsV2Command,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
  type Message,
} from '@aws-sdk/client-sqs';
import { verdictKeyOf } from '../../lambda/adapters/s3-check-object';
import { createS3Client } from '../../lambda/adapters/s3-client';
import { errorCodeOf } from '../../lambda/adapters/s3-errors';
import { handler, resetRuntime, STOP_MARGIN_MS } from '../../lambda/handler';
import { REPO_ROOT } from '../helpers/cli';
import { handlerRig } from '../helpers/handler-harness';
import { LOCAL_S3_REGION, recordS3Requests, startLocalS3, type LocalS3 } from '../helpers/local-s3';
import { s3EventBody, sqsEvent, sqsRecord, type S3ObjectFacts, type SqsMessage } from '../helpers/s3-events';

jest.setTimeout(60_000);

const EXAMPLE = readFileSync(join(REPO_ROOT, 'examples', 'drone-app.conn.log'));
const EXAMPLE_RECORDS = 21;
// DE and US are allowed, CN is not: the drone app's log is not compliant.
const POLICY = 'us,de';

let s3: LocalS3;
let uploads: string;
let verdicts: string;
const { useEnv, upload, readVerdict, verdictExists, logsMatching, destinationKeys, readDestinations } = handlerRig(
  POLICY,
  (state) => ({ s3, uploads, verdicts } = state),
);

/**
 * The drone app's log with its records repeated `times` times (Zeek TSV: header once, data lines
 * repeated, `#close` at the end): `EXAMPLE_RECORDS * times` records.
 */
function repeatedLog(times: number): Buffer {
  const lines = EXAMPLE.toString('utf8').split('\n').filter((l) => l !== '');
  const header = lines.filter((l) => l.startsWith('#') && !l.startsWith('#close'));
  const data = lines.filter((l) => !l.startsWith('#')).join('\n') + '\n';
  const close = lines.find((l) => l.startsWith('#close')) ?? '';
  return Buffer.concat([Buffer.from(header.join('\n') + '\n'), Buffer.from(data.repeat(times)), Buffer.from(close + '\n')]);
}

/** Uploads `bytes` in 8 MiB parts (fauxqs takes at most 11 MiB in one request). */
async function uploadMultipart(client: S3Client, key: string, bytes: Buffer, bucket = uploads): Promise<S3ObjectFacts> {
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const parts: { ETag: string; PartNumber: number }[] = [];
  const partSize = 8 * 1024 * 1024;
  for (let offset = 0, n = 1; offset < bytes.byteLength; offset += partSize, n++) {
    const part = await client.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: n, Body: bytes.subarray(offset, offset + partSize) }),
    );
    parts.push({ ETag: part.ETag!, PartNumber: n });
  }
  const done = await client.send(
    new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }),
  );
  return { bucket, key, size: bytes.byteLength, eTag: done.ETag!.replace(/"/g, '') };
}

/** The same message, received once more (SQS redelivers it with the same messageId and body). */
function redelivered(message: SqsMessage): SqsMessage {
  const count = Number(message.attributes.ApproximateReceiveCount) + 1;
  return { ...message, attributes: { ...message.attributes, ApproximateReceiveCount: String(count) } };
}

describe('the S3 server stops while the handler reads a large log', () => {
  let other: LocalS3 | undefined;

  afterEach(async () => {
    resetRuntime();
    await other?.stop();
    other = undefined;
  });

  it('fails the message without writing a verdict, and the rerun writes it', async () => {
    // Prepare: a 24 MB log on a second server; the verdict bucket stays on the first one, which
    // stays up, so a verdict (even an error verdict) *could* be written if the handler tried.
    const BIG = repeatedLog(9_000);
    expect(BIG.byteLength).toBeGreaterThan(20 * 1024 * 1024);
    other = await startLocalS3();
    const doomed = other;
    await doomed.createBucket(uploads);
    const facts = await uploadMultipart(doomed.client, 'incoming/big/stopped.conn.log', BIG);
    const seen: { status?: number; contentLength?: number } = {};
    let requests: ReturnType<typeof recordS3Requests> = [];
    useEnv({ AWS_ENDPOINT_URL_S3: doomed.endpoint, AWS_MAX_ATTEMPTS: '1' }, (env) => {
      const client = createS3Client(env);
      routeBucket(client, verdicts, s3.endpoint);
      // Once the log's response headers are in (the body is streaming), stop the server. The
      // body is not read while it stops, so the server cannot have sent all 24 MB.
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const result = await next(args);
          const input = args.input as { Bucket?: string; Key?: string };
          if (context.commandName === 'GetObjectCommand' && input.Bucket === uploads && input.Key === facts.key) {
            const response = result.response as { statusCode?: number; headers?: Record<string, string> };
            seen.status = response.statusCode;
            seen.contentLength = Number(response.headers?.['content-length']);
            await doomed.stop();
          }
          return result;
        },
        { step: 'deserialize', name: 'stopServerMidStream' },
      );
      requests = recordS3Requests(client);
      return client;
    });
    const message = sqsRecord(s3EventBody(facts), 'mid-stream');

    // Act
    const response = await handler(sqsEvent(message));

    // Assess: the read had started (200, the full length announced) and then broke off.
    expect(seen).toEqual({ status: 200, contentLength: BIG.byteLength });
    expect(doomed.isRunning).toBe(false);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'mid-stream' }] });
    const failure = logsMatching('message failed, will be retried');
    expect(failure).toEqual([expect.objectContaining({ messageId: 'mid-stream' })]);
    expect(failure[0]?.error).toMatch(/aborted|ECONNRESET|socket hang up|premature close|S3TruncatedReadError|terminated/i);
    // No verdict, not even an error verdict: the handler did not try to write one.
    expect(requests.filter((r) => r.commandName === 'PutObjectCommand')).toEqual([]);
    expect(await verdictExists(facts.key)).toBe(false);
    expect(logsMatching('verdict written')).toEqual([]);

    // Act: the retry reaches an S3 that is up and holds the same object.
    const again = await uploadMultipart(s3.client, facts.key, BIG);
    expect(again.eTag).toBe(facts.eTag);
    useEnv();
    const retried = await handler(sqsEvent(redelivered(message)));

    // Assess: a verdict of the whole log.
    expect(retried).toEqual({ batchItemFailures: [] });
    const verdict = await readVerdict(facts.key);
    expect(verdict.error).toBeUndefined();
    expect(verdict).toMatchObject({
      compliant: false,
      input: { bytes: BIG.byteLength, source: { key: facts.key, etag: facts.eTag } },
      totals: { records: EXAMPLE_RECORDS * 9_000, skipped: 0 },
    });
    expect(verdict).not.toHaveProperty('partial', true);
  });
});

describe('slow S3 responses', () => {
  let proxy: SlowProxy | undefined;

  afterEach(async () => {
    resetRuntime();
    await proxy?.close();
    proxy = undefined;
  });

  it('still gives one correct verdict, and does not hang', async () => {
    // Prepare: every chunk from the server is held 40 ms and passed on in 16 KiB pieces, so the
    // 540 KB log takes at least 34 pieces * 40 ms to arrive.
    const LOG = repeatedLog(200);
    const facts = await upload('incoming/slow/slow.conn.log', LOG);
    proxy = await startSlowProxy(s3.endpoint, { delayMs: 40, pieceBytes: 16 * 1024 });
    useEnv({ AWS_ENDPOINT_URL_S3: proxy.endpoint });
    const message = sqsRecord(s3EventBody(facts), 'slow');

    // Act
    const started = Date.now();
    const response = await handler(sqsEvent(message));
    const elapsed = Date.now() - started;

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(proxy.piecesDelayed).toBeGreaterThanOrEqual(Math.ceil(LOG.byteLength / (16 * 1024)));
    expect(elapsed).toBeGreaterThanOrEqual(34 * 40);
    expect(elapsed).toBeLessThan(30_000);
    const verdict = await readVerdict(facts.key);
    expect(verdict.error).toBeUndefined();
    expect(verdict).toMatchObject({
      compliant: false,
      input: { bytes: LOG.byteLength, source: { key: facts.key, etag: facts.eTag } },
      totals: { records: EXAMPLE_RECORDS * 200, skipped: 0 },
    });
    expect(logsMatching('verdict written')).toEqual([expect.objectContaining({ key: facts.key, compliant: false })]);
  });
});

describe('the time budget of one invocation', () => {
  it('retries the messages it has no time left for, rather than giving them partial verdicts', async () => {
    // Prepare: 400 ms of budget; the first log's download takes 800 ms (held by a middleware),
    // so the second message comes up after the deadline.
    const first = await upload('incoming/budget/first.conn.log', EXAMPLE);
    const LOG = repeatedLog(200);
    const second = await upload('incoming/budget/second.conn.log', LOG);
    useEnv({}, (env) => {
      const client = createS3Client(env);
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as { Bucket?: string; Key?: string };
          if (context.commandName === 'GetObjectCommand' && input.Key === first.key && input.Bucket === uploads) {
            await new Promise((r) => setTimeout(r, 800));
          }
          return next(args);
        },
        { step: 'initialize', name: 'slowFirstLog' },
      );
      return client;
    });
    const messages = [sqsRecord(s3EventBody(first), 'first'), sqsRecord(s3EventBody(second), 'second')];

    // Act
    const response = await handler(sqsEvent(...messages), { getRemainingTimeInMillis: () => STOP_MARGIN_MS + 400 });

    // Assess: the first log (one chunk) was checked whole; the second was not started.
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'second' }] });
    expect((await readVerdict(first.key)).error).toBeUndefined();
    expect(logsMatching('no time left in this invocation, will be retried')).toEqual([
      expect.objectContaining({ level: 'WARN', messageId: 'second' }),
    ]);
    expect(await verdictExists(second.key)).toBe(false);

    // Act: the retry, in an invocation of its own.
    const retried = await handler(sqsEvent(redelivered(messages[1]!)), { getRemainingTimeInMillis: () => 300_000 });

    // Assess
    expect(retried).toEqual({ batchItemFailures: [] });
    const verdict = await readVerdict(second.key);
    expect(verdict.partial).toBeUndefined();
    expect(verdict.totals.records).toBe(EXAMPLE_RECORDS * 200);
  });
});

describe('the verdict write fails', () => {
  it('fails the message when the write fails once, and the next delivery writes the verdict', async () => {
    // Prepare: no SDK retries, so the one 503 reaches the handler.
    const facts = await upload('incoming/write/once.conn.log', EXAMPLE);
    const writes = failVerdictWrites({ times: 1, status: 503, code: 'SlowDown' });
    useEnv({ AWS_MAX_ATTEMPTS: '1' }, writes.createClient);
    const message = sqsRecord(s3EventBody(facts), 'write-once');

    // Act
    const first = await handler(sqsEvent(message));

    // Assess
    expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: 'write-once' }] });
    expect(logsMatching('message failed, will be retried')[0]?.error).toMatch(/SlowDown/);
    expect(await verdictExists(facts.key)).toBe(false);

    // Act
    const second = await handler(sqsEvent(redelivered(message)));

    // Assess
    expect(second).toEqual({ batchItemFailures: [] });
    expect(writes.attempts()).toBe(2);
    expect((await readVerdict(facts.key)).input.source.etag).toBe(facts.eTag);
  });

  it('is absorbed by the SDK retries when one write fails and retries are on (the default)', async () => {
    // Prepare
    const facts = await upload('incoming/write/sdk-retry.conn.log', EXAMPLE);
    const writes = failVerdictWrites({ times: 1, status: 503, code: 'SlowDown' });
    useEnv({ AWS_MAX_ATTEMPTS: undefined }, writes.createClient);

    // Act
    const response = await handler(sqsEvent(sqsRecord(s3EventBody(facts), 'sdk-retry')));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(writes.attempts()).toBe(2);
    expect(await verdictExists(facts.key)).toBe(true);
  });

  it('writes the report on the next delivery when only the report write failed', async () => {
    // Prepare: the verdict is stored, then the report beside it fails once.
    const facts = await upload('incoming/write/report.conn.log', EXAMPLE);
    const writes = failVerdictWrites({ times: 1, status: 503, code: 'SlowDown', keySuffix: '.report.html' });
    useEnv({ AWS_MAX_ATTEMPTS: '1' }, writes.createClient);
    const message = sqsRecord(s3EventBody(facts), 'report-once');
    const reportKey = verdictKeyOf('verdicts/', facts.key).replace(/\.verdict\.json$/, '.report.html');
    const reportExists = async (): Promise<boolean> =>
      ((await s3.client.send(new ListObjectsV2Command({ Bucket: verdicts, Prefix: reportKey }))).Contents ?? []).length > 0;

    // Act
    const first = await handler(sqsEvent(message));

    // Assess: retried, with the verdict stored and no report yet.
    expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: 'report-once' }] });
    expect(await verdictExists(facts.key)).toBe(true);
    expect(await reportExists()).toBe(false);

    // Act: the redelivery is a duplicate for the verdict, but repairs the missing report.
    const second = await handler(sqsEvent(redelivered(message)));

    // Assess
    expect(second).toEqual({ batchItemFailures: [] });
    expect(writes.attempts()).toBe(2);
    expect(await reportExists()).toBe(true);
    expect(logsMatching('verdict already written')).toHaveLength(1);
  });

  it('writes the destinations on the next delivery when only their write failed', async () => {
    // Prepare: the verdict and its report are stored, then the destinations object fails once.
    const facts = await upload('incoming/write/destinations.conn.log', EXAMPLE);
    const writes = failVerdictWrites({ times: 1, status: 503, code: 'SlowDown', keySuffix: '.jsonl.gz' });
    useEnv({ AWS_MAX_ATTEMPTS: '1' }, writes.createClient);
    const message = sqsRecord(s3EventBody(facts), 'destinations-once');
    const before = await destinationKeys();

    // Act
    const first = await handler(sqsEvent(message));

    // Assess: retried, with the verdict stored and no destinations yet.
    expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: 'destinations-once' }] });
    expect(logsMatching('message failed, will be retried')[0]?.error).toMatch(/SlowDown/);
    expect(await verdictExists(facts.key)).toBe(true);
    expect(await destinationKeys()).toEqual(before);

    // Act: the redelivery is a duplicate for the verdict, but writes the missing destinations.
    const second = await handler(sqsEvent(redelivered(message)));

    // Assess: one object, whose rows are those of the stored verdict.
    expect(second).toEqual({ batchItemFailures: [] });
    expect(writes.attempts()).toBe(2);
    expect(logsMatching('verdict already written')).toHaveLength(1);
    const added = (await destinationKeys()).filter((k) => !before.includes(k));
    expect(added).toHaveLength(1);
    const verdict = await readVerdict(facts.key);
    const { rows } = await readDestinations(added[0]!);
    expect(rows.map((r) => r.ip)).toEqual(verdict.destinations.map((d) => d.ip));
    expect(rows[0]).toMatchObject({ checked_at: verdict.checkedAt, input_sha256: verdict.input.sha256 });
  });

  it('acknowledges nothing while the write keeps failing', async () => {
    // Prepare
    const facts = await upload('incoming/write/always.conn.log', EXAMPLE);
    const writes = failVerdictWrites({ times: Infinity, status: 500, code: 'InternalError' });
    useEnv({ AWS_MAX_ATTEMPTS: '1' }, writes.createClient);
    let message = sqsRecord(s3EventBody(facts), 'write-always');

    // Act: three deliveries, as many as the queue allows before dead-lettering (maxReceiveCount).
    const responses = [];
    for (let i = 0; i < 3; i++) {
      responses.push(await handler(sqsEvent(message)));
      message = redelivered(message);
    }

    // Assess: each delivery really tried to write, and each was reported as failed.
    expect(responses).toEqual(Array(3).fill({ batchItemFailures: [{ itemIdentifier: 'write-always' }] }));
    expect(writes.attempts()).toBe(3);
    expect(logsMatching('message failed, will be retried')).toHaveLength(3);
    expect(logsMatching('verdict written')).toEqual([]);
    expect(await verdictExists(facts.key)).toBe(false);
  });
});

describe('with a real queue and dead-letter queue (fauxqs SQS, maxReceiveCount 3)', () => {
  let sqs: SQSClient;
  let queues: Queues;

  beforeEach(async () => {
    sqs = new SQSClient({
      endpoint: s3.endpoint,
      region: LOCAL_S3_REGION,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      // fauxqs' queue URLs name sqs.<region>.localhost: send to the endpoint, not to that host.
      useQueueUrlAsEndpoint: false,
      maxAttempts: 1,
    });
    queues = await createQueues(sqs, 3);
  });

  afterEach(async () => {
    await sqs.send(new DeleteQueueCommand({ QueueUrl: queues.queueUrl })).catch(() => undefined);
    await sqs.send(new DeleteQueueCommand({ QueueUrl: queues.dlqUrl })).catch(() => undefined);
    sqs.destroy();
  });

  it('dead-letters poison messages after 3 receives and checks the good message of the batch once', async () => {
    // Prepare: the body is not JSON; an SNS notification (S3 → SNS → SQS without raw delivery)
    // is JSON but not an S3 event. Neither must be acknowledged.
    const facts = await upload('incoming/queue/good.conn.log', EXAMPLE);
    const snsEnvelope = JSON.stringify({
      Type: 'Notification',
      MessageId: '6f1c0a4e-0000-4000-8000-000000000000',
      TopicArn: 'arn:aws:sns:us-east-1:123456789012:uploads',
      Message: s3EventBody(facts),
    });
    const bodies = { good: s3EventBody(facts), notJson: 'this is not JSON {', snsEnvelope };
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queues.queueUrl,
        Entries: Object.entries(bodies).map(([Id, MessageBody]) => ({ Id, MessageBody })),
      }),
    );
    const idOf = Object.fromEntries((sent.Successful ?? []).map((s) => [s.Id!, s.MessageId!]));

    // Act
    const poller = new QueuePoller(sqs, queues.queueUrl);
    await poller.runUntil(async () => (await queueDepth(sqs, queues.dlqUrl)) === 2, 15_000);

    // Assess: each poison message was handed to the function exactly maxReceiveCount times.
    expect(poller.receives.get(idOf.notJson!)).toBe(3);
    expect(poller.receives.get(idOf.snsEnvelope!)).toBe(3);
    expect(poller.receives.get(idOf.good!)).toBe(1);
    expect(poller.batches[0]).toHaveLength(3);
    expect(logsMatching('verdict written')).toEqual([expect.objectContaining({ key: facts.key })]);
    expect((await readVerdict(facts.key)).compliant).toBe(false);
    const failures = logsMatching('message failed, will be retried').map((l) => l.messageId);
    expect(failures.sort()).toEqual([...Array(3).fill(idOf.notJson), ...Array(3).fill(idOf.snsEnvelope)].sort());
    const dead = await drain(sqs, queues.dlqUrl);
    expect(dead.map((m) => m.Body).sort()).toEqual([bodies.notJson, bodies.snsEnvelope].sort());
    expect(await queueDepth(sqs, queues.queueUrl)).toBe(0);
  });

  it('redrives dead-lettered messages once the cause is fixed, and they are checked', async () => {
    // Prepare: a bad deployment (unknown country in the policy) fails every message until it
    // is dead-lettered.
    useEnv({ RESIDENCY_POLICY: 'us,xx' });
    const facts = await upload('incoming/queue/redriven.conn.log', EXAMPLE);
    await sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: s3EventBody(facts) }));
    const broken = new QueuePoller(sqs, queues.queueUrl);
    await broken.runUntil(async () => (await queueDepth(sqs, queues.dlqUrl)) === 1, 15_000);
    expect([...broken.receives.values()]).toEqual([3]);
    expect(await verdictExists(facts.key)).toBe(false);

    // Act: fix the configuration, redrive, and let the function consume the queue again.
    useEnv();
    const moved = await redrive(sqs, queues);
    const fixed = new QueuePoller(sqs, queues.queueUrl);
    await fixed.runUntil(async () => fixed.handled > 0 && (await queueDepth(sqs, queues.queueUrl)) === 0, 10_000);

    // Assess
    expect(moved).toBe(1);
    expect([...fixed.receives.values()]).toEqual([1]);
    expect(await queueDepth(sqs, queues.dlqUrl)).toBe(0);
    const verdict = await readVerdict(facts.key);
    expect(verdict).toMatchObject({ compliant: false, input: { source: { key: facts.key, etag: facts.eTag } } });
    expect(verdict.policy.allowedCountries).toEqual(['DE', 'US']);
  });
});

// ---------------------------------------------------------------------------------------------
// S3 fault helpers

/**
 * Sends `client`'s requests for `bucket` to `endpoint` instead (path-style addressing), before
 * they are signed, as if that bucket lived on another S3 server.
 */
function routeBucket(client: S3Client, bucket: string, endpoint: string): void {
  const target = new URL(endpoint);
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { hostname: string; port?: number; path: string; headers: Record<string, string> };
      if (request.path === `/${bucket}` || request.path.startsWith(`/${bucket}/`)) {
        request.hostname = target.hostname;
        request.port = Number(target.port);
        if (request.headers.host !== undefined) request.headers.host = target.host;
      }
      return next(args);
    },
    { step: 'build', priority: 'high', name: 'routeBucket' },
  );
}

/**
 * Makes PutObject requests of verdicts (`*.verdict.json` in the verdict bucket) fail `times` times
 * with S3's error reply; `attempts()` counts those requests.
 *
 * Simulated: fauxqs cannot be made to fail a write. The reply is returned below the SDK's
 * deserializer (and below its retry middleware), so the SDK parses and retries it as S3's own.
 */
function failVerdictWrites(options: { times: number; status: 500 | 503; code: string; keySuffix?: string }): {
  createClient: (env: NodeJS.ProcessEnv) => S3Client;
  attempts: () => number;
} {
  let attempts = 0;
  let failed = 0;
  return {
    attempts: () => attempts,
    createClient: (env) => {
      const client = createS3Client(env);
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as { Bucket?: string; Key?: string };
          const isVerdict = input.Bucket === verdicts && input.Key?.endsWith(options.keySuffix ?? '.verdict.json') === true;
          if (context.commandName !== 'PutObjectCommand' || !isVerdict) return next(args);
          attempts++;
          if (failed >= options.times) return next(args);
          failed++;
          const xml =
            `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${options.code}</Code>` +
            `<Message>Injected ${options.status} for the verdict write</Message><RequestId>INJECTED</RequestId></Error>`;
          const response = {
            statusCode: options.status,
            reason: options.code,
            headers: { 'content-type': 'application/xml', 'x-amz-request-id': 'INJECTED' },
            body: Readable.from([Buffer.from(xml, 'utf8')]),
          };
          return { response, output: undefined as never };
        },
        { step: 'deserialize', priority: 'low', name: 'failVerdictWrites' },
      );
      return client;
    },
  };
}

interface SlowProxy {
  readonly endpoint: string;
  /** Pieces passed on so far (server → client). */
  readonly piecesDelayed: number;
  close(): Promise<void>;
}

/**
 * A TCP proxy on 127.0.0.1 in front of `target`: requests pass straight through; the replies
 * are cut into `pieceBytes` pieces, each held `delayMs` before it is passed on, in order.
 */
async function startSlowProxy(target: string, options: { delayMs: number; pieceBytes: number }): Promise<SlowProxy> {
  const upstreamUrl = new URL(target);
  const sockets = new Set<Socket>();
  let pieces = 0;
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: upstreamUrl.hostname, port: Number(upstreamUrl.port) });
    sockets.add(client).add(upstream);
    let chain = Promise.resolve();
    const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      for (let i = 0; i < chunk.byteLength; i += options.pieceBytes) {
        const piece = chunk.subarray(i, i + options.pieceBytes);
        chain = chain.then(async () => {
          await sleep(options.delayMs);
          if (!client.destroyed) {
            pieces++;
            client.write(piece);
          }
        });
      }
    });
    upstream.on('end', () => void chain.then(() => client.end()));
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get piecesDelayed() {
      return pieces;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// SQS helpers

interface Queues {
  queueUrl: string;
  queueArn: string;
  dlqUrl: string;
  dlqArn: string;
}

async function queueArn(sqs: SQSClient, url: string): Promise<string> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return out.Attributes!.QueueArn!;
}

/**
 * A source queue and its dead-letter queue, as the stack makes them (lib/constructs/intake-queue.ts)
 * but with a 1-second visibility timeout, so a failed message comes back after 1 s, not 6 times
 * the function's timeout.
 */
async function createQueues(sqs: SQSClient, maxReceiveCount: number): Promise<Queues> {
  const suffix = randomBytes(4).toString('hex');
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `intake-dlq-${suffix}` }));
  const dlqArn = await queueArn(sqs, dlq.QueueUrl!);
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: `intake-${suffix}`,
      Attributes: {
        VisibilityTimeout: '1',
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: String(maxReceiveCount) }),
      },
    }),
  );
  return { queueUrl: queue.QueueUrl!, queueArn: await queueArn(sqs, queue.QueueUrl!), dlqUrl: dlq.QueueUrl!, dlqArn };
}

/** Messages in the queue: visible, in flight, and delayed. */
async function queueDepth(sqs: SQSClient, url: string): Promise<number> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  const a = out.Attributes ?? {};
  return (
    Number(a.ApproximateNumberOfMessages ?? 0) +
    Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(a.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

/** Receives (and deletes) everything visible in a queue. */
async function drain(sqs: SQSClient, url: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    const messages = out.Messages ?? [];
    if (messages.length === 0) return all;
    for (const m of messages) await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle! }));
    all.push(...messages);
  }
}

/**
 * Moves the dead-letter queue's messages back to the source queue. `StartMessageMoveTask` is
 * what operators run (docs/operations.md); fauxqs 1.9.2 answers it with InvalidAction, so the
 * messages are moved by hand: sent to the source queue, then deleted from the dead-letter queue.
 * Returns how many were moved by hand.
 */
async function redrive(sqs: SQSClient, q: Queues): Promise<number> {
  try {
    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: q.dlqArn, DestinationArn: q.queueArn }));
    throw new Error('fauxqs now supports StartMessageMoveTask: wait for the move task here instead');
  } catch (err) {
    if (errorCodeOf(err) !== 'InvalidAction' && (err as { name?: string }).name !== 'InvalidAction') throw err;
  }
  let moved = 0;
  for (;;) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: q.dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    const messages = out.Messages ?? [];
    if (messages.length === 0) return moved;
    for (const m of messages) {
      await sqs.send(new SendMessageCommand({ QueueUrl: q.queueUrl, MessageBody: m.Body! }));
      await sqs.send(new DeleteMessageCommand({ QueueUrl: q.dlqUrl, ReceiptHandle: m.ReceiptHandle! }));
      moved++;
    }
  }
}

/**
 * Consumes a queue as Lambda's SQS event source mapping does with `ReportBatchItemFailures`:
 * receive a batch, invoke the handler with it, delete the messages that did not fail; failed
 * ones become visible again after the visibility timeout, and SQS dead-letters them after
 * maxReceiveCount receives.
 */
class QueuePoller {
  /** Times each message (by id) was handed to the function. */
  readonly receives = new Map<string, number>();
  /** The message ids of each batch. */
  readonly batches: string[][] = [];
  /** Messages processed successfully (deleted). */
  handled = 0;

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async pollOnce(): Promise<void> {
    const out = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) return;
    this.batches.push(messages.map((m) => m.MessageId!));
    const records = messages.map((m) => {
      this.receives.set(m.MessageId!, (this.receives.get(m.MessageId!) ?? 0) + 1);
      const record = sqsRecord(m.Body!, m.MessageId!);
      return {
        ...record,
        receiptHandle: m.ReceiptHandle!,
        attributes: { ...record.attributes, ...(m.Attributes as Record<string, string> | undefined) },
      };
    });
    const { batchItemFailures } = await handler(sqsEvent(...records));
    const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
    for (const m of messages) {
      if (failed.has(m.MessageId!)) continue;
      await this.sqs.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: m.ReceiptHandle! }));
      this.handled++;
    }
  }

  /** Polls until `done()` holds; throws after `timeoutMs`. */
  async runUntil(done: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error(`queue not settled after ${timeoutMs} ms: receives ${JSON.stringify([...this.receives])}`);
      await this.pollOnce();
    }
  }
}
