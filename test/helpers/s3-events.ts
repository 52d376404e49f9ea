/**
 * Factories for the events the checker function receives, shaped field for field like the real
 * ones (powertools `packages/batch/tests/helpers/factories.ts` style): S3 event notification
 * records (event structure version 2.1) and the SQS messages that carry them.
 *
 * Shapes: https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
 * and the Lambda SQS event (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { CheckerEvent, S3EventRecord, SqsRecord } from '../../lambda/handler';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';

/** Everything one S3 record says about an object. */
export interface S3ObjectFacts {
  bucket: string;
  /** The object key as stored (the factory encodes it the way S3 does). */
  key: string;
  size: number;
  /** Entity tag, unquoted as in S3 events. */
  eTag: string;
  versionId?: string;
  /** @default 'ObjectCreated:Put' */
  eventName?: string;
  /** @default a fresh hex sequencer, later than every one made before it (as S3's are for one key) */
  sequencer?: string;
}

/**
 * Encodes an object key the way S3 event notifications do: `application/x-www-form-urlencoded`
 * per `/`-separated segment (space as `+`, a literal `+` as `%2B`, other bytes of the UTF-8 form
 * as `%XX`, only `A-Z a-z 0-9 . - _ *` left as they are), `/` kept.
 *
 * @example encodeEventKey('incoming/drone app/Flug+log ü.conn.log')
 *   // 'incoming/drone+app/Flug%2Blog+%C3%BC.conn.log'
 */
export function encodeEventKey(key: string): string {
  return key
    .split('/')
    .map((segment) =>
      encodeURIComponent(segment)
        .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
        .replace(/%20/g, '+'),
    )
    .join('/');
}

/** The unquoted MD5 entity tag S3 gives an object uploaded in one PutObject. */
export function md5Etag(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex');
}

/** An S3 event notification record with every field S3 sends. */
export interface S3NotificationRecord extends S3EventRecord {
  eventVersion: string;
  eventSource: string;
  awsRegion: string;
  eventTime: string;
  eventName: string;
  userIdentity: { principalId: string };
  requestParameters: { sourceIPAddress: string };
  responseElements: Record<string, string>;
  s3: {
    s3SchemaVersion: string;
    configurationId: string;
    bucket: { name: string; ownerIdentity: { principalId: string }; arn: string };
    object: { key: string; size: number; eTag: string; versionId?: string; sequencer: string };
  };
}

/** An SQS message with every field Lambda's SQS event source mapping delivers. */
export interface SqsMessage extends SqsRecord {
  receiptHandle: string;
  attributes: Record<string, string>;
  messageAttributes: Record<string, unknown>;
  md5OfBody: string;
  eventSource: string;
  eventSourceARN: string;
  awsRegion: string;
}

let lastSequencer = BigInt(Date.now()) << 16n;

/**
 * A sequencer in S3's form (18 hex digits, `0055AED6DCD90281E5`), greater than the one before: S3's
 * grow with each event of a key, and the checker keeps the verdict of the later event.
 */
export function nextSequencer(): string {
  lastSequencer += 1n;
  return lastSequencer.toString(16).toUpperCase().padStart(18, '0');
}

/** One S3 event notification record, as S3 sends it. */
export function s3EventRecord(facts: S3ObjectFacts): S3NotificationRecord {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: REGION,
    eventTime: new Date().toISOString(),
    eventName: facts.eventName ?? 'ObjectCreated:Put',
    userIdentity: { principalId: 'AWS:AIDAEXAMPLEUSER' },
    requestParameters: { sourceIPAddress: '198.51.100.7' },
    responseElements: {
      'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase(),
      'x-amz-id-2': randomBytes(48).toString('base64'),
    },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'UploadNotifications',
      bucket: {
        name: facts.bucket,
        ownerIdentity: { principalId: 'A3NL1KOZZKExample' },
        arn: `arn:aws:s3:::${facts.bucket}`,
      },
      object: {
        key: encodeEventKey(facts.key),
        size: facts.size,
        eTag: facts.eTag,
        ...(facts.versionId !== undefined ? { versionId: facts.versionId } : {}),
        sequencer: facts.sequencer ?? nextSequencer(),
      },
    },
  };
}

/** The body S3 puts on the queue: `{"Records":[...]}`. */
export function s3EventBody(...objects: S3ObjectFacts[]): string {
  return JSON.stringify({ Records: objects.map(s3EventRecord) });
}

/** The message S3 sends once when a notification configuration is created or changed. */
export function s3TestEventBody(bucket: string): string {
  return JSON.stringify({
    Service: 'Amazon S3',
    Event: 's3:TestEvent',
    Time: new Date().toISOString(),
    Bucket: bucket,
    RequestId: randomBytes(8).toString('hex').toUpperCase(),
    HostId: randomBytes(48).toString('base64'),
  });
}

/** One SQS record as Lambda's SQS event source mapping delivers it. */
export function sqsRecord(body: string, messageId: string = randomUUID()): SqsMessage {
  const now = Date.now();
  return {
    messageId,
    receiptHandle: `AQEB${randomBytes(96).toString('base64')}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(now - 100),
      SenderId: 'AIDAEXAMPLESENDER',
      ApproximateFirstReceiveTimestamp: String(now),
    },
    messageAttributes: {},
    md5OfBody: createHash('md5').update(body).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${REGION}:${ACCOUNT}:residency-intake`,
    awsRegion: REGION,
  };
}

/** An SQS event (the deployed path): one record per body. */
export function sqsEvent(...records: SqsRecord[]): CheckerEvent {
  return { Records: records };
}

/** A direct S3 event (a bucket notification straight to the function, no queue). */
export function s3Event(...objects: S3ObjectFacts[]): CheckerEvent {
  return { Records: objects.map(s3EventRecord) };
}
