import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ObjectLockMode } from 'aws-cdk-lib/aws-s3';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { AccessLogBucket } from './constructs/access-log-bucket';
import { BigLogCheck } from './constructs/big-log-check';
import { CheckerAlarms } from './constructs/checker-alarms';
import { CheckerFunction } from './constructs/checker-function';
import { IntakeQueue } from './constructs/intake-queue';
import { UploadBucket } from './constructs/upload-bucket';
import { VerdictBucket } from './constructs/verdict-bucket';

/** Default number of upload notifications handed to one invocation. */
export const DEFAULT_BATCH_SIZE = 10;

/** Properties of a {@link ResidencyStack}. */
export interface ResidencyStackProps extends StackProps {
  /**
   * Key prefix in the upload bucket; objects created under it are checked.
   *
   * @default 'incoming/'
   */
  readonly uploadPrefix?: string;
  /**
   * Key prefix in the verdict bucket under which verdicts are written.
   *
   * @default 'verdicts/'
   */
  readonly verdictPrefix?: string;
  /**
   * Residency policy to check against: a preset name, inline policy JSON, or an `s3://` URL.
   *
   * @default 'us'
   */
  readonly residencyPolicy?: string;
  /**
   * S3 Object Lock retention mode of verdicts.
   *
   * @default ObjectLockMode.GOVERNANCE
   */
  readonly verdictRetentionMode?: ObjectLockMode;
  /**
   * S3 Object Lock retention period of verdicts, in days.
   *
   * @default 365
   */
  readonly verdictRetentionDays?: number;
  /**
   * Receives of an upload notification before it moves to the dead-letter queue.
   *
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * Upload notifications handed to one invocation; failures are reported per item.
   *
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * Memory of the checker function, in MiB.
   *
   * @default 1024
   */
  readonly functionMemorySize?: number;
  /**
   * Timeout of the checker function; the queue visibility timeout is six times this.
   *
   * @default Duration.minutes(5)
   */
  readonly functionTimeout?: Duration;
  /**
   * Retention of the checker function's log group.
   *
   * @default RetentionDays.ONE_YEAR
   */
  readonly logRetention?: RetentionDays;
  /**
   * Topic the alarms notify.
   *
   * @default - no alarm actions
   */
  readonly alarmTopic?: ITopic;

  // Big logs (split checks by byte ranges).

  /**
   * Logs larger than this many bytes are checked by the split-check state machine instead of
   * the checker function.
   *
   * @default 1 GiB
   */
  readonly bigLogThresholdBytes?: number;
  /**
   * Size of one range of a split check, in bytes.
   *
   * @default 1 GiB
   */
  readonly bigLogPartBytes?: number;
  /**
   * Ranges of one log checked at once.
   *
   * @default 20
   */
  readonly bigLogMaxConcurrency?: number;
}

/**
 * The serverless residency checker: a connection log uploaded under the upload prefix is
 * announced through SQS to the checker function, which writes its verdict to a write-once bucket.
 */
export class ResidencyStack extends Stack {
  /** Where connection logs are uploaded. */
  public readonly uploadBucket: UploadBucket;
  /** Where verdicts are written. */
  public readonly verdictBucket: VerdictBucket;
  /** Queue of upload notifications. */
  public readonly intakeQueue: IntakeQueue;
  /** The checker function. */
  public readonly checker: CheckerFunction;
  /** The split check of large logs. */
  public readonly bigLogCheck: BigLogCheck;

  constructor(scope: Construct, id: string, props: ResidencyStackProps = {}) {
    super(scope, id, props);

    const accessLogs = new AccessLogBucket(this, 'AccessLogs');
    this.uploadBucket = new UploadBucket(this, 'Upload', {
      accessLogBucket: accessLogs.bucket,
      uploadPrefix: props.uploadPrefix,
    });
    this.verdictBucket = new VerdictBucket(this, 'Verdict', {
      accessLogBucket: accessLogs.bucket,
      verdictPrefix: props.verdictPrefix,
      retentionMode: props.verdictRetentionMode,
      retentionDays: props.verdictRetentionDays,
    });

    this.checker = new CheckerFunction(this, 'Checker', {
      memorySize: props.functionMemorySize,
      timeout: props.functionTimeout,
      residencyPolicy: props.residencyPolicy,
      logRetention: props.logRetention,
    });
    this.checker.readUploads(this.uploadBucket.bucket, this.uploadBucket.uploadPrefix);
    this.checker.writeVerdicts(this.verdictBucket.bucket, this.verdictBucket.verdictPrefix);

    this.intakeQueue = new IntakeQueue(this, 'Intake', {
      consumerTimeout: this.checker.timeout,
      maxReceiveCount: props.maxReceiveCount,
    });
    this.uploadBucket.notifyObjectCreated(this.intakeQueue.queue);
    this.checker.function.addEventSource(
      new SqsEventSource(this.intakeQueue.queue, {
        batchSize: props.batchSize ?? DEFAULT_BATCH_SIZE,
        reportBatchItemFailures: true,
      }),
    );

    new CheckerAlarms(this, 'Alarms', {
      function: this.checker.function,
      deadLetterQueue: this.intakeQueue.deadLetterQueue,
      alarmTopic: props.alarmTopic,
    });

    // ---- Big logs: logs over the threshold are checked by ranges in a state machine. ----
    this.bigLogCheck = new BigLogCheck(this, 'BigLog', {
      accessLogBucket: accessLogs.bucket,
      uploadBucket: this.uploadBucket.bucket,
      uploadPrefix: this.uploadBucket.uploadPrefix,
      verdictBucket: this.verdictBucket.bucket,
      verdictPrefix: this.verdictBucket.verdictPrefix,
      residencyPolicy: props.residencyPolicy,
      partBytes: props.bigLogPartBytes,
      maxConcurrency: props.bigLogMaxConcurrency,
      logRetention: props.logRetention,
      alarmTopic: props.alarmTopic,
    });
    this.bigLogCheck.routeFrom(this.checker, props.bigLogThresholdBytes);
    // ---- end of big logs ----

    new CfnOutput(this, 'UploadBucketName', {
      description: 'Bucket to upload connection logs to',
      value: this.uploadBucket.bucket.bucketName,
    });
    new CfnOutput(this, 'UploadPrefix', {
      description: 'Key prefix under which uploads are checked',
      value: this.uploadBucket.uploadPrefix,
    });
    new CfnOutput(this, 'VerdictBucketName', {
      description: 'Bucket the verdicts are written to',
      value: this.verdictBucket.bucket.bucketName,
    });
    new CfnOutput(this, 'VerdictPrefix', {
      description: 'Key prefix of the verdicts',
      value: this.verdictBucket.verdictPrefix,
    });
  }
}
