import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Schedule } from 'aws-cdk-lib/aws-events';
import type { ObjectLockMode } from 'aws-cdk-lib/aws-s3';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { AccessLogBucket } from './constructs/access-log-bucket';
import { AuditFunction } from './constructs/audit-function';
import { AuditStateMachine } from './constructs/audit-state-machine';
import { BigLogCheck } from './constructs/big-log-check';
import { CheckerAlarms } from './constructs/checker-alarms';
import { CheckerFunction } from './constructs/checker-function';
import { IntakeQueue } from './constructs/intake-queue';
import { validateDisjointPrefixes } from './constructs/key-prefix';
import { UploadBucket } from './constructs/upload-bucket';
import { VerdictBucket } from './constructs/verdict-bucket';
import { VerdictCatalog } from './constructs/verdict-catalog';

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
   * VPC Flow Logs delivered without their header line (CloudWatch Logs exports, Firehose) in a
   * custom format: the flow log's LogFormat (`'${version} ${srcaddr} ${dstaddr} ...'`), as the
   * CLI's `--vpc-format` (RESIDENCY_VPC_FORMAT). Records with a header line follow their header.
   *
   * @default - records with no header line must be in the default (version 2) format
   */
  readonly vpcFormat?: string;
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
  /**
   * Key prefix in the verdict bucket under which each verdict's destinations are written as JSON
   * Lines for Athena (`<prefix>dt=yyyy-MM-dd/<verdict id>.jsonl.gz`); must not overlap the verdict
   * prefix.
   *
   * @default 'destinations/'
   */
  readonly destinationsPrefix?: string;

  // --- Scheduled audit (docs/audit.md). Deployed when auditSchedule or auditPrefixes is set. ---

  /**
   * When the audit runs: a `cron(...)` or `rate(...)` expression, or a Schedule.
   *
   * @default - no audit, unless `auditPrefixes` is set; then 'cron(0 3 1 * ? *)'
   */
  readonly auditSchedule?: string | Schedule;
  /**
   * Key prefixes of the upload bucket the audit re-checks (a device, an app, a product).
   *
   * @default - no audit, unless `auditSchedule` is set; then [uploadPrefix]
   */
  readonly auditPrefixes?: string[];
  /**
   * Batches of logs the audit checks at the same time (Distributed Map `MaxConcurrency`).
   *
   * @default 40
   */
  readonly auditMaxConcurrency?: number;
  /**
   * Share of batches, in percent, that may fail before the audit's map run fails.
   *
   * @default 5
   */
  readonly auditToleratedFailurePercentage?: number;
  /**
   * Logs per batch of the audit.
   *
   * @default 100
   */
  readonly auditItemsPerBatch?: number;
  /**
   * Memory of the audit function, in MiB.
   *
   * @default 2048
   */
  readonly auditMemorySize?: number;

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
  /** The Glue table over every verdict's destinations, and the Athena workgroup to query it. */
  public readonly verdictCatalog: VerdictCatalog;
  /** The audit function, when the audit is deployed. */
  public readonly auditFunction?: AuditFunction;
  /** The audit state machine and its schedule, when the audit is deployed. */
  public readonly audit?: AuditStateMachine;
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
      vpcFormat: props.vpcFormat,
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

    // --- Scheduled audit ---
    if (props.auditSchedule !== undefined || props.auditPrefixes !== undefined) {
      this.auditFunction = new AuditFunction(this, 'AuditFunction', {
        auditBucket: this.uploadBucket.bucket,
        auditPrefixes: props.auditPrefixes ?? [this.uploadBucket.uploadPrefix],
        verdictBucket: this.verdictBucket.bucket,
        verdictPrefix: this.verdictBucket.verdictPrefix,
        residencyPolicy: props.residencyPolicy,
        vpcFormat: props.vpcFormat,
        memorySize: props.auditMemorySize,
        logRetention: props.logRetention,
      });
      this.audit = new AuditStateMachine(this, 'Audit', {
        auditFunction: this.auditFunction.function,
        auditBucket: this.uploadBucket.bucket,
        auditPrefixes: this.auditFunction.auditPrefixes,
        verdictBucket: this.verdictBucket.bucket,
        outputPrefix: this.auditFunction.outputPrefix,
        schedule: props.auditSchedule,
        maxConcurrency: props.auditMaxConcurrency,
        toleratedFailurePercentage: props.auditToleratedFailurePercentage,
        itemsPerBatch: props.auditItemsPerBatch,
        logRetention: props.logRetention,
        alarmTopic: props.alarmTopic,
      });
      new CfnOutput(this, 'AuditStateMachineArn', {
        description: 'State machine of the scheduled audit; start-execution runs one now',
        value: this.audit.stateMachine.stateMachineArn,
      });
    }
    // ---- Big logs: logs over the threshold are checked by ranges in a state machine. ----
    this.bigLogCheck = new BigLogCheck(this, 'BigLog', {
      accessLogBucket: accessLogs.bucket,
      uploadBucket: this.uploadBucket.bucket,
      uploadPrefix: this.uploadBucket.uploadPrefix,
      verdictBucket: this.verdictBucket.bucket,
      verdictPrefix: this.verdictBucket.verdictPrefix,
      residencyPolicy: props.residencyPolicy,
      vpcFormat: props.vpcFormat,
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

    // Query at scale: every verdict's destinations as JSON Lines beside the verdicts, a Glue table
    // over them and an Athena workgroup for auditors (docs/athena.md).
    this.verdictCatalog = new VerdictCatalog(this, 'Catalog', {
      verdictBucket: this.verdictBucket.bucket,
      accessLogBucket: accessLogs.bucket,
      destinationsPrefix: props.destinationsPrefix,
    });
    validateDisjointPrefixes(
      'ResidencyStack destinationsPrefix',
      this.verdictCatalog.destinationsPrefix,
      this.verdictBucket.verdictPrefix,
    );
    this.checker.writeDestinations(
      this.verdictBucket.bucket,
      this.verdictCatalog.destinationsPrefix,
    );
    // A big log's verdict is written by the split check's merge, with its destinations too.
    this.bigLogCheck.function.writeDestinations(this.verdictBucket.bucket, this.verdictCatalog.destinationsPrefix);
    new CfnOutput(this, 'DestinationsPrefix', {
      description: 'Key prefix (in the verdict bucket) of the destinations JSON Lines',
      value: this.verdictCatalog.destinationsPrefix,
    });
    new CfnOutput(this, 'AthenaDatabaseName', {
      description: 'Glue database of the destinations table',
      value: this.verdictCatalog.databaseName,
    });
    new CfnOutput(this, 'AthenaTableName', {
      description: 'Glue table with one row per destination of every verdict',
      value: this.verdictCatalog.tableName,
    });
    new CfnOutput(this, 'AthenaWorkGroupName', {
      description: 'Athena workgroup to query the destinations table in',
      value: this.verdictCatalog.workGroupName,
    });
  }
}
