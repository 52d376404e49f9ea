/**
 * The checker function end to end: `handler()` with real-shaped SQS and S3 events, its own S3
 * client made from the environment (SDK default checksums, as deployed), against fauxqs on
 * 127.0.0.1. Nothing here talks to AWS.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createS3Client } from '../../lambda/adapters/s3-client';
import { handler, resetRuntime, type CheckerEvent } from '../../lambda/handler';
import { reportKeyOf, verdictKeyOf } from '../../lambda/adapters/s3-check-object';
import { rowsText } from '../helpers/destination-rows';
import { fixturePath } from '../helpers/engine';
import { handlerRig } from '../helpers/handler-harness';
import { REPO_ROOT } from '../helpers/cli';
import {
  emulateConditionalWrites,
  recordS3Requests,
  startLocalS3,
  type LocalS3,
  type RecordedS3Request,
} from '../helpers/local-s3';
import {
  md5Etag,
  nextSequencer,
  s3Event,
  s3EventBody,
  s3TestEventBody,
  sqsEvent,
  sqsRecord,
  type S3ObjectFacts,
  type SqsMessage,
} from '../helpers/s3-events';

const EXAMPLE = readFileSync(join(REPO_ROOT, 'examples', 'drone-app.conn.log'));
const POP3 = readFileSync(fixturePath('zeek', 'conn-pop3.tsv.log'));
const ZEEK_JSON = readFileSync(fixturePath('zeek', 'conn-zeekdocs.json.log'));
// Not a connection log of any format: deterministic noise (recipe: 40 lines of this LCG's output).
const MALFORMED = Buffer.from(
  Array.from({ length: 40 }, (_, i) => `~${((i * 1103515245 + 12345) % 2 ** 31).toString(36)} !? ${i}`).join('\n'),
);
// DE is allowed, CN is not: POP3 (212.227.15.x, DE) is compliant, the drone app (CN) is not.
const POLICY = 'us,de';

let s3: LocalS3;
let uploads: string;
let verdicts: string;
const { useEnv, upload, readVerdict, logLines, logsMatching, destinationKeys, readDestinations } = handlerRig(
  POLICY,
  (state) => ({ s3, uploads, verdicts } = state),
);

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

async function verdictKeys(): Promise<string[]> {
  const out = await s3.client.send(new ListObjectsV2Command({ Bucket: verdicts, Prefix: 'verdicts/' }));
  return (out.Contents ?? []).map((o) => o.Key!);
}

describe('SQS-wrapped S3 events (the deployed path)', () => {
  it('checks a log whose key has spaces, a plus sign and non-ASCII letters', async () => {
    // Prepare
    const key = 'incoming/drone app/Flug+log ü.conn.log';
    const facts = await upload(key, EXAMPLE);
    const message = sqsRecord(s3EventBody(facts));
    expect(JSON.parse(message.body).Records[0].s3.object.key).toBe('incoming/drone+app/Flug%2Blog+%C3%BC.conn.log');

    // Act
    const response = await handler(sqsEvent(message));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const verdict = await readVerdict(key);
    expect(verdict).toMatchObject({
      compliant: false,
      input: {
        name: key,
        format: 'zeek-tsv',
        compression: 'none',
        bytes: EXAMPLE.byteLength,
        sha256: sha256(EXAMPLE),
        source: { bucket: uploads, key, versionId: null, etag: facts.eTag },
      },
      // 5: four in China, and 104.16.132.229, which the two bundled databases place in US and CA.
      totals: { records: 21, connections: 21, skipped: 0, violatingDestinations: 5, destinations: 11 },
      policy: { allowedCountries: ['DE', 'US'] },
    });
    const report = await s3.client.send(new GetObjectCommand({ Bucket: verdicts, Key: reportKeyOf(verdictKeyOf('verdicts/', key)) }));
    expect(report.ContentType).toBe('text/html; charset=utf-8');
    expect(await report.Body!.transformToString('utf8')).toContain('NOT COMPLIANT');
    expect(verdict.error).toBeUndefined();
    // Ordered by bytes sent; the US one is disputed (US or CA).
    expect(verdict.violations.map((v) => v.country)).toEqual(['CN', 'CN', 'US', 'CN', 'CN']);
    expect(logsMatching('verdict written')).toEqual([
      expect.objectContaining({ key, compliant: false, verdictKey: verdictKeyOf('verdicts/', key) }),
    ]);
  });

  it('checks a gzip-compressed log: hashes the bytes as uploaded', async () => {
    // Prepare
    const gz = gzipSync(POP3);
    const facts = await upload('incoming/pop3/conn.log.gz', gz);

    // Act
    const response = await handler(sqsEvent(sqsRecord(s3EventBody(facts))));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const verdict = await readVerdict(facts.key);
    expect(verdict).toMatchObject({
      compliant: true,
      input: {
        format: 'zeek-tsv',
        compression: 'gzip',
        bytes: gz.byteLength,
        decodedBytes: POP3.byteLength,
        sha256: sha256(gz),
        source: { key: facts.key, etag: facts.eTag },
      },
      totals: { records: 11, violatingDestinations: 0 },
    });
  });

  it('checks every object of a message with several records', async () => {
    // Prepare
    const a = await upload('incoming/multi/a.json.log', ZEEK_JSON);
    const b = await upload('incoming/multi/b.conn.log', POP3);

    // Act
    const response = await handler(sqsEvent(sqsRecord(s3EventBody(a, b))));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect((await readVerdict(a.key)).input.format).toBe('zeek-json');
    expect((await readVerdict(b.key)).compliant).toBe(true);
  });

  it('writes an error verdict for a file that is not a connection log, and does not retry it', async () => {
    // Prepare
    const facts = await upload('incoming/notes.txt', MALFORMED);

    // Act
    const response = await handler(sqsEvent(sqsRecord(s3EventBody(facts))));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const verdict = await readVerdict(facts.key);
    expect(verdict).toMatchObject({ compliant: false, input: { format: null, sha256: sha256(MALFORMED) } });
    expect(verdict.error).toMatch(/format/i);
  });

  it('writes an error verdict for a log with more destinations than RESIDENCY_MAX_DESTINATIONS, and does not retry it', async () => {
    // Prepare
    useEnv({ RESIDENCY_MAX_DESTINATIONS: '3' });
    const bytes = readFileSync(join(REPO_ROOT, 'examples', 'drone-app.conn.log'));
    const facts = await upload('incoming/many.conn.log', bytes);

    // Act
    const response = await handler(sqsEvent(sqsRecord(s3EventBody(facts))));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const verdict = await readVerdict(facts.key);
    expect(verdict.compliant).toBe(false);
    expect(verdict.error).toMatch(/^more than 3 distinct destinations \(the limit/);
    expect(verdict.input.sha256).toBe(sha256(bytes));
  });

  it('reads VPC Flow Logs delivered without a header in the custom format RESIDENCY_VPC_FORMAT gives', async () => {
    // Prepare: a CloudWatch Logs export's records (its time before each), in a format of five fields.
    const log = Buffer.from(
      [
        '2023-11-14T22:14:20.000Z eni-0a1b 10.0.1.5 95.163.0.1 5000 ACCEPT',
        '2023-11-14T22:14:21.000Z eni-0a1b 10.0.1.5 54.239.28.85 700 ACCEPT',
        '2023-11-14T22:14:22.000Z eni-0a1b 10.0.1.5 77.88.55.60 300 REJECT',
      ].join('\n') + '\n',
    );
    const unknown = await upload('incoming/custom-unset.log', log);
    await handler(sqsEvent(sqsRecord(s3EventBody(unknown))));
    useEnv({ RESIDENCY_VPC_FORMAT: '${interface-id} ${srcaddr} ${dstaddr} ${bytes} ${action}' });
    const facts = await upload('incoming/custom.log', log);

    // Act
    const response = await handler(sqsEvent(sqsRecord(s3EventBody(facts))));

    // Assess: without the variable the log is no format the checker knows; with it, every record is read.
    expect((await readVerdict(unknown.key)).error).toMatch(/^unknown log format/);
    expect(response.batchItemFailures).toEqual([]);
    const verdict = await readVerdict(facts.key);
    expect(verdict).toMatchObject({ compliant: false, input: { format: 'vpc-flow', sha256: sha256(log) } });
    expect(verdict.totals).toMatchObject({ records: 3, connections: 3, skipped: 0, bytesSent: 5700 });
    const byIp = Object.fromEntries(verdict.destinations.map((d) => [d.ip, d]));
    expect(byIp['95.163.0.1']).toMatchObject({ status: 'violation', bytesSent: 5000 });
    expect(byIp['54.239.28.85']).toMatchObject({ status: 'allowed', bytesSent: 700 });
    expect(byIp['77.88.55.60']).toMatchObject({ status: 'blocked', bytesSent: 0 });
  });

  it('refuses to start with a RESIDENCY_VPC_FORMAT naming no address, and says which variable', async () => {
    useEnv({ RESIDENCY_VPC_FORMAT: '${version} ${bytes}' });
    const facts = await upload('incoming/custom-bad.log', POP3);
    await expect(handler(sqsEvent(sqsRecord(s3EventBody(facts))))).rejects.toThrow(/^Environment variable RESIDENCY_VPC_FORMAT: /);
  });

  it('writes an error verdict for an object deleted before it was checked', async () => {
    // Prepare
    const facts = await upload('incoming/gone.conn.log', POP3);
    await s3.client.send(new DeleteObjectCommand({ Bucket: uploads, Key: facts.key }));

    // Act
    const response = await handler(sqsEvent(sqsRecord(s3EventBody(facts))));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const verdict = await readVerdict(facts.key);
    expect(verdict.compliant).toBe(false);
    expect(verdict.error).toBe(`${facts.key}: object no longer exists in s3://${uploads}`);
  });

  it('writes one verdict when the same message is delivered twice', async () => {
    // Prepare
    const facts = await upload('incoming/twice.conn.log', EXAMPLE);
    const message = sqsRecord(s3EventBody(facts));
    await handler(sqsEvent(message));
    const first = await readVerdict(facts.key);

    // Act
    const response = await handler(sqsEvent(redelivered(message)));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect((await readVerdict(facts.key)).checkedAt).toBe(first.checkedAt);
    expect(logsMatching('verdict written')).toHaveLength(1);
    expect(logsMatching('verdict already written')).toEqual([expect.objectContaining({ key: facts.key })]);
  });

  it('writes one verdict when the same message is delivered twice at the same time', async () => {
    // Prepare: fauxqs ignores If-None-Match, so conditional writes are emulated (atomically here,
    // as S3 does them); both invocations must have found no verdict before either writes one.
    const facts = await upload('incoming/concurrent.conn.log', EXAMPLE);
    const verdictKey = verdictKeyOf('verdicts/', facts.key);
    const requests = raceOn(verdictKey);
    const message = sqsRecord(s3EventBody(facts));

    // Act
    const responses = await Promise.all([handler(sqsEvent(message)), handler(sqsEvent(message))]);

    // Assess
    expect(responses).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    expect(logsMatching('verdict written')).toHaveLength(1);
    expect(logsMatching('verdict already written')).toHaveLength(1);
    expect(await verdictKeys()).toContain(verdictKey);
    const conditionalPuts = requests().filter((r) => r.commandName === 'PutObjectCommand' && r.headers['if-none-match'] === '*');
    expect(conditionalPuts.filter((r) => r.path.endsWith('.verdict.json'))).toHaveLength(2);
    // The winner then wrote the verdict's destinations, once.
    const destinationsKey = logsMatching('verdict written')[0]?.destinationsKey as string;
    expect(conditionalPuts.filter((r) => r.path.endsWith('.jsonl.gz'))).toHaveLength(1);
    expect(await destinationKeys()).toContain(destinationsKey);
  });

  it('does not drop the verdict of a newer upload checked at the same time as the older one', async () => {
    // Prepare: two uploads of one key in quick succession, their notifications handled at once.
    // "first" reads the old bytes and writes its verdict first; "second" reads the new bytes and
    // then finds the key taken (S3's 412) by a verdict about other bytes.
    const key = 'incoming/race/overwritten.conn.log';
    const old = await upload(key, POP3);
    const newer: S3ObjectFacts = { ...old, size: EXAMPLE.byteLength, eTag: md5Etag(EXAMPLE) };
    const verdictKey = verdictKeyOf('verdicts/', key);
    const who = new AsyncLocalStorage<'first' | 'second'>();
    const firstRead = deferred();
    const firstWrote = deferred();
    raceOn(verdictKey, (client) =>
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as { Key?: string; IfNoneMatch?: string };
          const caller = who.getStore();
          if (context.commandName === 'GetObjectCommand' && input.Key === key) {
            if (caller === 'second') {
              await firstRead.promise;
              await s3.client.send(new PutObjectCommand({ Bucket: uploads, Key: key, Body: EXAMPLE }));
              return next(args);
            }
            return next(args).finally(firstRead.resolve);
          }
          if (context.commandName === 'PutObjectCommand' && input.IfNoneMatch === '*') {
            if (caller === 'second') await firstWrote.promise;
            else return next(args).finally(firstWrote.resolve);
          }
          return next(args);
        },
        { step: 'initialize', name: 'orderTheRace' },
      ),
    );
    const oldMessage = sqsRecord(s3EventBody(old), 'old');
    const newMessage = sqsRecord(s3EventBody(newer), 'new');

    // Act
    const responses = await Promise.all([
      who.run('first', () => handler(sqsEvent(oldMessage))),
      who.run('second', () => handler(sqsEvent(newMessage))),
    ]);

    // Assess: the newer upload's message is retried, and its retry replaces the verdict.
    expect(responses).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [{ itemIdentifier: 'new' }] }]);
    expect((await readVerdict(key)).input.source.etag).toBe(old.eTag);
    resetRuntime();
    expect(await handler(sqsEvent(redelivered(newMessage)))).toEqual({ batchItemFailures: [] });
    const verdict = await readVerdict(key);
    expect(verdict.input.source.etag).toBe(newer.eTag);
    expect(verdict.input.sha256).toBe(sha256(EXAMPLE));
    expect(verdict.compliant).toBe(false);
  });

  it('writes one verdict when a new upload of a checked key is delivered twice at the same time', async () => {
    // Prepare: the key has the verdict of an earlier upload; both deliveries of the new upload read
    // it before either writes. S3's If-Match is emulated (fauxqs ignores it), atomically here.
    const key = 'incoming/race/new-upload-twice.conn.log';
    await handler(sqsEvent(sqsRecord(s3EventBody(await upload(key, POP3)))));
    const destinationsBefore = await destinationKeys();
    const newer = await upload(key, EXAMPLE);
    const verdictKey = verdictKeyOf('verdicts/', key);
    const earlier = await s3.client.send(new GetObjectCommand({ Bucket: verdicts, Key: verdictKey }));
    const requests = raceOn(verdictKey);
    const message = sqsRecord(s3EventBody(newer));

    // Act
    const responses = await Promise.all([handler(sqsEvent(message)), handler(sqsEvent(redelivered(message)))]);

    // Assess: both replaced the earlier verdict only if it was still the one they read; one did.
    expect(responses).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    expect(logsMatching('verdict written')).toHaveLength(2); // the earlier upload's, and one of these
    expect(logsMatching('verdict already written')).toHaveLength(1);
    const verdictPuts = requests().filter((r) => r.commandName === 'PutObjectCommand' && r.path.endsWith('.verdict.json'));
    expect(verdictPuts.map((r) => r.headers['if-match'])).toEqual([earlier.ETag, earlier.ETag]);
    expect((await readVerdict(key)).input.source.etag).toBe(newer.eTag);
    // One destinations object for the new upload, as for any verdict.
    const added = (await destinationKeys()).filter((k) => !destinationsBefore.includes(k));
    expect(added).toEqual([logsMatching('verdict written')[1]?.destinationsKey]);
  });

  it('writes one destinations object for one upload checked twice at once where writes are not conditional', async () => {
    // Prepare: fauxqs ignores If-None-Match and If-Match, as a server `residency serve` could use
    // might: both deliveries write a verdict. Their check times differ (one read waits 20 ms).
    const facts = await upload('incoming/race/unconditional.conn.log', EXAMPLE);
    const verdictKey = verdictKeyOf('verdicts/', facts.key);
    const destinationsBefore = await destinationKeys();
    resetRuntime({
      createClient: (env) => {
        const client = createS3Client(env);
        holdGetsUntil(client, verdictKey, 2);
        let reads = 0;
        client.middlewareStack.add(
          (next, context) => async (args) => {
            const input = args.input as { Key?: string };
            if (context.commandName === 'GetObjectCommand' && input.Key === facts.key && ++reads === 2) await sleep(20);
            return next(args);
          },
          { step: 'initialize', name: 'oneReadLater' },
        );
        return client;
      },
    });
    const message = sqsRecord(s3EventBody(facts));

    // Act
    await Promise.all([handler(sqsEvent(message)), handler(sqsEvent(redelivered(message)))]);

    // Assess: two verdicts written, at two times, but their rows under one name.
    const written = logsMatching('verdict written');
    expect(written).toHaveLength(2);
    expect(written[0]?.destinationsKey).toBe(written[1]?.destinationsKey);
    expect((await destinationKeys()).filter((k) => !destinationsBefore.includes(k))).toEqual([written[0]?.destinationsKey]);
  });

  it('ignores the s3:TestEvent S3 sends when notifications are configured', async () => {
    // Prepare
    const before = await verdictKeys();

    // Act
    const response = await handler(sqsEvent(sqsRecord(s3TestEventBody(uploads))));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(await verdictKeys()).toEqual(before);
    expect(logLines()).toEqual([]);
  });

  it('writes no verdict for a folder marker (the S3 console\'s "Create folder"), and says so', async () => {
    // Prepare
    const facts = await upload('incoming/team-a/', new Uint8Array(0));
    const before = await verdictKeys();

    // Act
    const response = await handler(sqsEvent(sqsRecord(s3EventBody(facts))));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(await verdictKeys()).toEqual(before);
    expect(logsMatching('folder marker skipped')).toEqual([expect.objectContaining({ level: 'INFO', key: 'incoming/team-a/' })]);
  });

  it('fails only the message that is not an S3 event, and checks the rest of the batch', async () => {
    // Prepare
    const facts = await upload('incoming/batch/good.conn.log', POP3);
    const good = sqsRecord(s3EventBody(facts), 'good-message');
    const bad = sqsRecord('this is not JSON', 'bad-message');

    // Act
    const response = await handler(sqsEvent(bad, good));

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'bad-message' }] });
    expect((await readVerdict(facts.key)).compliant).toBe(true);
    expect(logsMatching('message failed, will be retried')).toEqual([
      expect.objectContaining({ messageId: 'bad-message', level: 'ERROR' }),
    ]);
  });
});

describe('direct S3 events', () => {
  it('checks the object the record names', async () => {
    // Prepare
    const facts = await upload('incoming/direct/Flug+log ü 2.conn.log', EXAMPLE);

    // Act
    const response = await handler(s3Event(facts));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect((await readVerdict(facts.key)).input).toMatchObject({ sha256: sha256(EXAMPLE), source: { key: facts.key } });
  });

  it('fails the invocation on an event that is not an S3 event notification (an EventBridge "Object Created")', async () => {
    // Prepare: EventBridge's form of an S3 event, sent to the function instead of its queue.
    const facts = await upload('incoming/direct/eventbridge.conn.log', EXAMPLE);
    const event = {
      version: '0',
      'detail-type': 'Object Created',
      source: 'aws.s3',
      detail: { bucket: { name: facts.bucket }, object: { key: facts.key, size: facts.size }, reason: 'PutObject' },
    } as unknown as CheckerEvent;

    // Act + Assess: never acknowledged as if there were nothing to check.
    await expect(handler(event)).rejects.toThrow(/neither an SQS batch nor an S3 event notification/);
    expect(logsMatching('event is neither an SQS batch nor an S3 event notification (no Records)')).toEqual([
      expect.objectContaining({ level: 'ERROR', detailType: 'Object Created' }),
    ]);
  });

  it('fails the invocation when S3 cannot be reached, so Lambda retries it', async () => {
    // Prepare
    useEnv({ AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${await closedPort()}`, AWS_MAX_ATTEMPTS: '1' });
    const event: CheckerEvent = s3Event({ bucket: uploads, key: 'incoming/x.log', size: 1, eTag: 'abc' });

    // Act + Assess
    await expect(handler(event)).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('notifications out of order, in a versioned upload bucket (as deployed)', () => {
  /**
   * The function's client, reading object versions as S3 does in a versioned bucket. fauxqs 1.9.2
   * has no object versioning (it ignores VersionId), so the tests store each version under
   * `<key>#<versionId>`, and a GetObject or HeadObject naming a VersionId is sent to that key.
   */
  function readingVersions(env: NodeJS.ProcessEnv): S3Client {
    const client = createS3Client(env);
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: string; VersionId?: string };
        if ((context.commandName === 'GetObjectCommand' || context.commandName === 'HeadObjectCommand') && input.VersionId) {
          input.Key = `${input.Key}#${input.VersionId}`;
          delete input.VersionId;
        }
        return next(args);
      },
      { step: 'initialize', name: 'readVersionsAsSeparateKeys' },
    );
    return client;
  }

  /** Stores `versions` of `key` (the last one current) and returns each one's event facts. */
  async function uploadVersions(key: string, versions: [string, Buffer][]): Promise<S3ObjectFacts[]> {
    const facts: S3ObjectFacts[] = [];
    for (const [versionId, bytes] of versions) {
      await s3.client.send(new PutObjectCommand({ Bucket: uploads, Key: `${key}#${versionId}`, Body: bytes }));
      await s3.client.send(new PutObjectCommand({ Bucket: uploads, Key: key, Body: bytes }));
      facts.push({ bucket: uploads, key, size: bytes.byteLength, eTag: md5Etag(bytes), versionId, sequencer: nextSequencer() });
    }
    return facts;
  }

  it('keeps the verdict of the current version when an older version\'s notification arrives after it', async () => {
    // Prepare: v1 compliant, then v2 (current) with violations; v2's notification is handled first.
    const key = 'incoming/versions/late-older.conn.log';
    const [v1, v2] = await uploadVersions(key, [['v1', POP3], ['v2', EXAMPLE]]);
    useEnv({}, readingVersions);
    expect(await handler(sqsEvent(sqsRecord(s3EventBody(v2!), 'v2')))).toEqual({ batchItemFailures: [] });

    // Act: v1's notification, late (S3 does not deliver in order; SQS redelivers after a timeout).
    const response = await handler(sqsEvent(sqsRecord(s3EventBody(v1!), 'v1')));

    // Assess: acknowledged, nothing written; the verdict still judges v2.
    expect(response).toEqual({ batchItemFailures: [] });
    const verdict = await readVerdict(key);
    expect(verdict.input.source).toMatchObject({ versionId: 'v2', sequencer: v2!.sequencer });
    expect(verdict.compliant).toBe(false);
    expect(logsMatching('verdict written')).toHaveLength(1);
    expect(logsMatching('verdict of a newer version already written')).toEqual([
      expect.objectContaining({ key, versionId: 'v1', sequencer: v1!.sequencer, storedSequencer: v2!.sequencer }),
    ]);
  });

  it('replaces the verdict when the newer version\'s notification arrives last', async () => {
    // Prepare
    const key = 'incoming/versions/in-order.conn.log';
    const [v1, v2] = await uploadVersions(key, [['v1', EXAMPLE], ['v2', POP3]]);
    useEnv({}, readingVersions);
    await handler(sqsEvent(sqsRecord(s3EventBody(v1!))));

    // Act
    const response = await handler(sqsEvent(sqsRecord(s3EventBody(v2!))));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const verdict = await readVerdict(key);
    expect(verdict.input.source).toMatchObject({ versionId: 'v2', sequencer: v2!.sequencer });
    expect(verdict.compliant).toBe(true);
    expect(logsMatching('verdict written')).toHaveLength(2);
  });

  it('compares sequencers of different lengths as S3 says: the shorter right-padded with zeros', async () => {
    // Prepare: v2's '0065A1B2C3D4E5F7' is '0065A1B2C3D4E5F700', later than v1's '0065a1b2c3d4e5f601'
    // (as numbers, 16 hex digits against 18, it would be the earlier one; hex digits in any case).
    const key = 'incoming/versions/short-sequencer.conn.log';
    const [v1, v2] = await uploadVersions(key, [['v1', POP3], ['v2', EXAMPLE]]);
    useEnv({}, readingVersions);
    await handler(sqsEvent(sqsRecord(s3EventBody({ ...v2!, sequencer: '0065A1B2C3D4E5F7' }))));

    // Act
    await handler(sqsEvent(sqsRecord(s3EventBody({ ...v1!, sequencer: '0065a1b2c3d4e5f601' }))));

    // Assess
    expect((await readVerdict(key)).input.source.versionId).toBe('v2');
    expect(logsMatching('verdict of a newer version already written')).toHaveLength(1);
  });

  it('replaces the verdict as before when the events carry no sequencer (written by hand)', async () => {
    // Prepare
    const key = 'incoming/versions/no-sequencer.conn.log';
    const [v1, v2] = await uploadVersions(key, [['v1', POP3], ['v2', EXAMPLE]]);
    useEnv({}, readingVersions);
    const bodyWithout = (facts: S3ObjectFacts): string => {
      const event = JSON.parse(s3EventBody(facts)) as { Records: { s3: { object: Record<string, unknown> } }[] };
      delete event.Records[0]!.s3.object.sequencer;
      return JSON.stringify(event);
    };
    await handler(sqsEvent(sqsRecord(bodyWithout(v2!))));

    // Act
    await handler(sqsEvent(sqsRecord(bodyWithout(v1!))));

    // Assess: nothing to order them by, so the last one checked is the verdict.
    const verdict = await readVerdict(key);
    expect(verdict.input.source).toMatchObject({ versionId: 'v1', sequencer: null });
    expect(logsMatching('verdict written')).toHaveLength(2);
  });
});

describe('when S3 is down', () => {
  it('reports the message as a batch item failure, and succeeds once S3 is back', async () => {
    // Prepare: a second server holding the upload, stopped before the function runs.
    const other = await startLocalS3();
    const facts = await (async () => {
      await other.createBucket(uploads);
      await other.createBucket(verdicts);
      await other.client.send(new PutObjectCommand({ Bucket: uploads, Key: 'incoming/down.conn.log', Body: POP3 }));
      return { bucket: uploads, key: 'incoming/down.conn.log', size: POP3.byteLength, eTag: md5Etag(POP3) };
    })();
    useEnv({ AWS_ENDPOINT_URL_S3: other.endpoint, AWS_MAX_ATTEMPTS: '1' });
    await other.stop();
    const message = sqsRecord(s3EventBody(facts), 'while-down');

    // Act
    const started = Date.now();
    const response = await handler(sqsEvent(message));

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'while-down' }] });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(logsMatching('message failed, will be retried')[0]?.error).toMatch(/ECONNREFUSED|socket|ECONNRESET/);

    // Act: the retry reaches an S3 that is up (the original server, holding the same object).
    await upload(facts.key, POP3);
    useEnv();
    const retried = await handler(sqsEvent(redelivered(message)));

    // Assess
    expect(retried.batchItemFailures).toEqual([]);
    expect((await readVerdict(facts.key)).compliant).toBe(true);
  });
});

describe('destinations as JSON Lines, for Athena', () => {
  it('writes the verdict\'s destinations, gzip-compressed, under the partition of its check date', async () => {
    // Prepare
    const facts = await upload('incoming/athena/drone.conn.log', EXAMPLE);
    const before = await destinationKeys();

    // Act
    const response = await handler(sqsEvent(sqsRecord(s3EventBody(facts))));

    // Assess: one new object at destinations/dt=<UTC date of the check>/<verdict id>.jsonl.gz.
    expect(response.batchItemFailures).toEqual([]);
    const verdict = await readVerdict(facts.key);
    const verdictKey = verdictKeyOf('verdicts/', facts.key);
    const added = (await destinationKeys()).filter((k) => !before.includes(k));
    expect(added).toEqual([expect.stringMatching(new RegExp(`^destinations/dt=${verdict.checkedAt.slice(0, 10)}/[0-9a-f]{32}\\.jsonl\\.gz$`))]);
    const key = added[0]!;
    expect(logsMatching('verdict written')).toEqual([expect.objectContaining({ key: facts.key, destinationsKey: key })]);

    // Assess: one row per destination of the stored verdict, with its context.
    const stored = await readDestinations(key);
    expect(stored.contentType).toBe('application/gzip');
    expect(stored.rows).toHaveLength(verdict.destinations.length);
    stored.rows.forEach((row, i) => {
      const d = verdict.destinations[i]!;
      expect(row).toMatchObject({
        ip: d.ip,
        country: d.country,
        status: d.status,
        rule: d.rule,
        bytes_sent: d.bytesSent,
        connections: d.connections,
        hostnames: d.hostnames,
        verdict_id: key.slice(key.lastIndexOf('/') + 1, -'.jsonl.gz'.length),
        verdict_key: verdictKey,
        checked_at: verdict.checkedAt,
        verdict_compliant: false,
        input_name: facts.key,
        input_sha256: sha256(EXAMPLE),
        input_format: 'zeek-tsv',
        policy_sha256: verdict.policy.sha256,
      });
    });
    expect(stored.rows.filter((r) => r.status === 'violation').map((r) => r.country)).toEqual(['CN', 'CN', 'US', 'CN', 'CN']);
    // Exactly the engine's rows of the verdict as stored (what a redelivery would rebuild).
    expect(stored.text).toBe(rowsText(verdict, verdictKey));
  });

  it('writes the destinations once when the same message is delivered twice', async () => {
    // Prepare: conditional writes answered as S3 answers them (fauxqs ignores If-None-Match).
    const facts = await upload('incoming/athena/twice.conn.log', EXAMPLE);
    let requests: RecordedS3Request[] = [];
    const conditional = (env: NodeJS.ProcessEnv): S3Client => {
      const client = createS3Client(env);
      emulateConditionalWrites(client);
      requests = recordS3Requests(client);
      return client;
    };
    useEnv({}, conditional);
    const message = sqsRecord(s3EventBody(facts));
    await handler(sqsEvent(message));
    const key = logsMatching('verdict written')[0]?.destinationsKey as string;
    const first = await readDestinations(key);
    const keysAfterFirst = await destinationKeys();

    // Act
    useEnv({}, conditional);
    const response = await handler(sqsEvent(redelivered(message)));

    // Assess: the redelivery tried only a conditional write of the same key, which S3 refused.
    expect(response.batchItemFailures).toEqual([]);
    expect(logsMatching('verdict already written')).toHaveLength(1);
    const puts = requests.filter((r) => r.commandName === 'PutObjectCommand');
    expect(puts).toEqual([expect.objectContaining({ headers: expect.objectContaining({ 'if-none-match': '*' }) })]);
    expect(decodeURIComponent(puts[0]!.path)).toBe(`/${verdicts}/${key}`);
    expect(await destinationKeys()).toEqual(keysAfterFirst);
    expect(Buffer.from((await readDestinations(key)).bytes)).toEqual(Buffer.from(first.bytes));
  });

  it('writes the missing destinations on a redelivery, byte for byte as the first time', async () => {
    // Prepare: checked, then its destinations object is gone (a failed write leaves the same state).
    const facts = await upload('incoming/athena/restore.conn.log', EXAMPLE);
    const message = sqsRecord(s3EventBody(facts));
    await handler(sqsEvent(message));
    const key = logsMatching('verdict written')[0]?.destinationsKey as string;
    const first = await readDestinations(key);
    await s3.client.send(new DeleteObjectCommand({ Bucket: verdicts, Key: key }));
    expect(await destinationKeys()).not.toContain(key);

    // Act
    const response = await handler(sqsEvent(redelivered(message)));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(logsMatching('verdict already written')).toHaveLength(1);
    expect(Buffer.from((await readDestinations(key)).bytes)).toEqual(Buffer.from(first.bytes));
  });

  it('writes a second object for the verdict of a new version of the upload, and keeps the first', async () => {
    // Prepare
    const key = 'incoming/athena/replaced.conn.log';
    await handler(sqsEvent(sqsRecord(s3EventBody(await upload(key, POP3)))));
    const before = await destinationKeys();

    // Act: the same key uploaded again with other bytes.
    await handler(sqsEvent(sqsRecord(s3EventBody(await upload(key, EXAMPLE)))));

    // Assess: two verdicts, two objects, each with the rows of its own input.
    const [older, newer] = logsMatching('verdict written').map((l) => l.destinationsKey as string);
    expect(older).not.toBe(newer);
    expect(await destinationKeys()).toEqual([...before, newer].sort());
    expect((await readDestinations(older!)).rows[0]).toMatchObject({ input_sha256: sha256(POP3), verdict_compliant: true });
    expect((await readDestinations(newer!)).rows[0]).toMatchObject({ input_sha256: sha256(EXAMPLE), verdict_compliant: false });
  });

  it('writes no destinations object for an error verdict, also on redelivery', async () => {
    // Prepare
    const facts = await upload('incoming/athena/notes.txt', MALFORMED);
    const before = await destinationKeys();
    const message = sqsRecord(s3EventBody(facts));

    // Act
    const responses = [await handler(sqsEvent(message)), await handler(sqsEvent(redelivered(message)))];

    // Assess
    expect(responses).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    expect((await readVerdict(facts.key)).error).toMatch(/format/i);
    expect(await destinationKeys()).toEqual(before);
    expect(logsMatching('verdict written')[0]).not.toHaveProperty('destinationsKey');
  });

  it('writes under RESIDENCY_DESTINATIONS_PREFIX', async () => {
    // Prepare
    useEnv({ RESIDENCY_DESTINATIONS_PREFIX: 'athena/rows/' });
    const facts = await upload('incoming/athena/prefixed.conn.log', POP3);

    // Act
    const response = await handler(sqsEvent(sqsRecord(s3EventBody(facts))));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const keys = await destinationKeys('athena/rows/');
    expect(keys).toEqual([expect.stringMatching(/^athena\/rows\/dt=\d{4}-\d{2}-\d{2}\/[0-9a-f]{32}\.jsonl\.gz$/)]);
    expect((await readDestinations(keys[0]!)).rows[0]).toMatchObject({ ip: '212.227.15.166', country: 'DE', status: 'allowed' });
  });

  it.each(['rows', '/rows/', 'rows/*/'])('fails the invocation when RESIDENCY_DESTINATIONS_PREFIX is %j, naming the variable', async (prefix) => {
    // Prepare
    useEnv({ RESIDENCY_DESTINATIONS_PREFIX: prefix });

    // Act + Assess
    await expect(handler(sqsEvent(sqsRecord(s3TestEventBody(uploads))))).rejects.toThrow(
      /^Environment variable RESIDENCY_DESTINATIONS_PREFIX must be a key prefix ending with '\/'/,
    );
  });
});

describe('RESIDENCY_POLICY', () => {
  it('takes an inline JSON policy', async () => {
    // Prepare
    // CA and HK too: the bundled databases disagree about two of the example's destinations
    // (US or CA, CN or HK), and a disputed answer outside the policy fails by default.
    useEnv({ RESIDENCY_POLICY: '{"allowedCountries": ["US", "CN", "CA", "HK"]}' });
    const facts = await upload('incoming/policy/inline.conn.log', EXAMPLE);

    // Act
    const response = await handler(sqsEvent(sqsRecord(s3EventBody(facts))));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const verdict = await readVerdict(facts.key);
    expect(verdict).toMatchObject({ compliant: true, policy: { allowedCountries: ['CA', 'CN', 'HK', 'US'] } });
  });

  it('takes the s3:// URL of a policy object', async () => {
    // Prepare
    const config = await s3.createBucket('config');
    await s3.client.send(
      new PutObjectCommand({
        Bucket: config,
        Key: 'policies/drone fleet.json',
        Body: JSON.stringify({ allowedCountries: ['us'], deniedCountries: ['foreign-adversaries'] }),
      }),
    );
    useEnv({ RESIDENCY_POLICY: `s3://${config}/policies/drone fleet.json` });
    const facts = await upload('incoming/policy/from-s3.conn.log', EXAMPLE);

    // Act
    const response = await handler(sqsEvent(sqsRecord(s3EventBody(facts))));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const verdict = await readVerdict(facts.key);
    expect(verdict.compliant).toBe(false);
    expect(verdict.policy.deniedCountries).toEqual(expect.arrayContaining(['CN', 'RU']));
    expect(verdict.violations[0]?.rule).toBe('CN is denied by foreign-adversaries');
  });

  it.each([
    ['an unknown country', 'us,xx'],
    ['invalid JSON', '{"allowedCountries": ['],
  ])('fails every message when it is %s, naming the variable', async (_what, spec) => {
    // Prepare
    useEnv({ RESIDENCY_POLICY: spec });
    const a = await upload('incoming/policy/bad-a.conn.log', POP3);
    const b = await upload('incoming/policy/bad-b.conn.log', POP3);

    // Act
    const response = await handler(sqsEvent(sqsRecord(s3EventBody(a), 'a'), sqsRecord(s3EventBody(b), 'b')));

    // Assess: a configuration fault is retried (then dead-lettered), never judged as the log's fault.
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'a' }, { itemIdentifier: 'b' }]);
    const failures = logsMatching('message failed, will be retried');
    expect(failures).toHaveLength(2);
    for (const f of failures) expect(f.error).toMatch(/^PolicyError: RESIDENCY_POLICY/);
    expect(await verdictKeys()).not.toContain(verdictKeyOf('verdicts/', a.key));
  });

  it('fails every message when the policy object does not exist, naming its URL', async () => {
    // Prepare
    useEnv({ RESIDENCY_POLICY: `s3://${uploads}/no/such/policy.json` });
    const facts = await upload('incoming/policy/missing.conn.log', POP3);

    // Act
    const response = await handler(sqsEvent(sqsRecord(s3EventBody(facts), 'm')));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm' }]);
    expect(logsMatching('message failed, will be retried')[0]?.error).toContain(`s3://${uploads}/no/such/policy.json`);
  });

  it('fails the invocation when VERDICT_BUCKET is missing, naming the variable', async () => {
    // Prepare
    useEnv({ VERDICT_BUCKET: undefined });

    // Act + Assess
    await expect(handler(sqsEvent(sqsRecord(s3TestEventBody(uploads))))).rejects.toThrow(
      'Environment variable VERDICT_BUCKET is required',
    );
  });
});

/** The same message, received once more (SQS redelivers it with the same messageId and body). */
function redelivered(message: SqsMessage): SqsMessage {
  const count = Number(message.attributes.ApproximateReceiveCount) + 1;
  return { ...message, attributes: { ...message.attributes, ApproximateReceiveCount: String(count) } };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Makes conditional PutObjects (`If-None-Match: *`, `If-Match`) on `client` one at a time, so the
 * emulated check-then-write is atomic as S3's is (the emulation alone would let two concurrent
 * writers both succeed).
 */
function serializeConditionalPuts(client: S3Client): void {
  let queue: Promise<unknown> = Promise.resolve();
  client.middlewareStack.add(
    (next, context) => (args) => {
      const input = args.input as { IfNoneMatch?: string; IfMatch?: string };
      if (context.commandName !== 'PutObjectCommand' || (input.IfNoneMatch !== '*' && input.IfMatch === undefined)) return next(args);
      const run = queue.then(() => next(args));
      queue = run.catch(() => undefined);
      return run;
    },
    { step: 'initialize', name: 'serializeConditionalPuts' },
  );
}

/**
 * Makes the function's next S3 client race two deliveries on `verdictKey`: conditional writes
 * emulated atomically (fauxqs ignores them), both deliveries' reads of the verdict held until both
 * are waiting; `also` adds to it. Returns the requests that client sends, as recorded so far.
 */
function raceOn(verdictKey: string, also?: (client: S3Client) => void): () => RecordedS3Request[] {
  let requests: RecordedS3Request[] = [];
  resetRuntime({
    createClient: (env) => {
      const client = createS3Client(env);
      emulateConditionalWrites(client);
      serializeConditionalPuts(client);
      holdGetsUntil(client, verdictKey, 2);
      also?.(client);
      requests = recordS3Requests(client);
      return client;
    },
  });
  return () => requests;
}

/** Holds GetObject requests for `key` until `count` of them are waiting, then lets all through. */
function holdGetsUntil(client: S3Client, key: string, count: number): void {
  const waiting: (() => void)[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: string };
      if (context.commandName === 'GetObjectCommand' && input.Key === key && waiting.length < count) {
        await new Promise<void>((release) => {
          waiting.push(release);
          if (waiting.length === count) for (const r of waiting) r();
        });
      }
      return next(args);
    },
    { step: 'initialize', name: 'holdGetsUntil' },
  );
}
