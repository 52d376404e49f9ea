import { Duration, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, MathExpression, TreatMissingData, type IAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Bucket, type IBucket } from 'aws-cdk-lib/aws-s3';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import {
  Choice,
  Condition,
  DefinitionBody,
  DistributedMap,
  JsonPath,
  LogLevel,
  Map as MapState,
  Parallel,
  Pass,
  Result,
  type IChainable,
  StateMachine,
  Succeed,
  TaskInput,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import { Construct } from 'constructs';
import {
  ENV_BIG_LOG_PART_BYTES,
  ENV_BIG_LOG_STATE_MACHINE,
  ENV_BIG_LOG_THRESHOLD_BYTES,
  ENV_BIG_LOG_WORK_BUCKET,
} from '../../lambda/env-names';
import { CheckerFunction, DEFAULT_LOG_RETENTION } from './checker-function';
import { secureBucketDefaults } from './secure-bucket-defaults';

/** Default size above which the checker hands a log to the split check: 1 GiB. */
export const DEFAULT_BIG_LOG_THRESHOLD_BYTES = 1024 * 1024 * 1024;
/** Default size of one range: 1 GiB, well under a minute of checking. */
export const DEFAULT_BIG_LOG_PART_BYTES = 1024 * 1024 * 1024;
/** Default number of ranges checked at once. */
export const DEFAULT_BIG_LOG_MAX_CONCURRENCY = 20;
/** Memory of the split-check function (more memory is more CPU), in MiB. */
export const DEFAULT_BIG_LOG_MEMORY_MIB = 2048;
/** Key prefix of the split check's state in the work bucket. */
const WORK_PREFIX = 'work/';
/** How long a split check's state is kept. */
const WORK_EXPIRY = Duration.days(7);

/** Properties of a {@link BigLogCheck}. */
export interface BigLogCheckProps {
  /** Destination of the work bucket's S3 server access logs. */
  readonly accessLogBucket: IBucket;
  /** Bucket and key prefix of the uploads. */
  readonly uploadBucket: IBucket;
  readonly uploadPrefix: string;
  /** Bucket and key prefix of the verdicts (written as the checker writes them). */
  readonly verdictBucket: IBucket;
  readonly verdictPrefix: string;
  /**
   * Residency policy, as for the checker.
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
   * Size of one range, in bytes.
   *
   * @default 1 GiB
   */
  readonly partBytes?: number;
  /**
   * Ranges checked at once.
   *
   * @default 20
   */
  readonly maxConcurrency?: number;
  /**
   * Memory of the split-check function, in MiB.
   *
   * @default 2048
   */
  readonly memorySize?: number;
  /**
   * Retention of the function's and the state machine's log groups.
   *
   * @default RetentionDays.ONE_YEAR
   */
  readonly logRetention?: RetentionDays;
  /**
   * Topic notified when a split check fails and when the alarm recovers.
   *
   * @default - no alarm actions
   */
  readonly alarmTopic?: ITopic;
}

/**
 * The split check of logs too large for one invocation: a Step Functions state machine that
 * plans byte ranges, checks them in parallel (Distributed Map) beside a pass that hashes the
 * whole object, merges them into the verdict a single pass gives, and writes it where the
 * checker would. Its function has the checker's grants plus its own work bucket.
 */
export class BigLogCheck extends Construct {
  /** The state machine; its input is `{bucket, key, versionId?, etag?, sequencer?, size}`. */
  public readonly stateMachine: StateMachine;
  /** The function that runs every step. */
  public readonly function: CheckerFunction;
  /** Where the steps keep plans and range results (under `work/`, expired after 7 days). */
  public readonly workBucket: IBucket;
  /** Fires when an execution failed, timed out or was aborted: that log has no verdict. */
  public readonly failedAlarm: IAlarm;

  constructor(scope: Construct, id: string, props: BigLogCheckProps) {
    super(scope, id);
    const partBytes = props.partBytes ?? DEFAULT_BIG_LOG_PART_BYTES;
    const maxConcurrency = props.maxConcurrency ?? DEFAULT_BIG_LOG_MAX_CONCURRENCY;
    if (!Number.isInteger(partBytes) || partBytes < 1024 * 1024) {
      throw new Error(`BigLogCheck partBytes: expected a whole number of bytes >= 1048576, got ${partBytes}`);
    }
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1 || maxConcurrency > 1000) {
      throw new Error(`BigLogCheck maxConcurrency: expected a whole number from 1 to 1000, got ${maxConcurrency}`);
    }

    const defaults = secureBucketDefaults(props.accessLogBucket, 'big-log-work/');
    this.workBucket = new Bucket(this, 'WorkBucket', {
      ...defaults,
      lifecycleRules: [
        ...(defaults.lifecycleRules ?? []),
        { prefix: WORK_PREFIX, expiration: WORK_EXPIRY, noncurrentVersionExpiration: Duration.days(1) },
      ],
    });

    this.function = new CheckerFunction(this, 'Function', {
      entry: 'lambda/big-log-handler.ts',
      description: 'Plans, checks by ranges and merges the residency check of a large log',
      memorySize: props.memorySize ?? DEFAULT_BIG_LOG_MEMORY_MIB,
      timeout: Duration.minutes(15),
      residencyPolicy: props.residencyPolicy,
      vpcFormat: props.vpcFormat,
      logRetention: props.logRetention,
    });
    this.function.readUploads(props.uploadBucket, props.uploadPrefix);
    this.function.writeVerdicts(props.verdictBucket, props.verdictPrefix);
    this.function.addEnvironment(ENV_BIG_LOG_WORK_BUCKET, this.workBucket.bucketName);
    this.function.addEnvironment(ENV_BIG_LOG_PART_BYTES, String(partBytes));
    const work = this.workBucket.arnForObjects(`${WORK_PREFIX}*`);
    this.function.function.addToRolePolicy(new PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject'], resources: [work] }));
    // Listing under the prefix makes a missing range result a 404, not a 403.
    this.function.function.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.workBucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${WORK_PREFIX}*`] } },
      }),
    );
    acknowledgeWildcard(this.function, work, `The trailing * is the key-prefix scope of an object ARN: the function keeps its plans and range results only under '${WORK_PREFIX}'.`);

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      definitionBody: DefinitionBody.fromChainable(this.definition(maxConcurrency)),
      timeout: Duration.hours(12),
      tracingEnabled: true,
      logs: {
        destination: new LogGroup(this, 'StateMachineLogs', { retention: props.logRetention ?? DEFAULT_LOG_RETENTION }),
        level: LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    this.acknowledgeStateMachineWildcards();

    const failed = new MathExpression({
      expression: 'failed + timedOut + aborted',
      usingMetrics: {
        failed: this.stateMachine.metricFailed({ statistic: 'Sum' }),
        timedOut: this.stateMachine.metricTimedOut({ statistic: 'Sum' }),
        aborted: this.stateMachine.metricAborted({ statistic: 'Sum' }),
      },
      period: Duration.minutes(5),
    });
    const alarm = new Alarm(this, 'FailedAlarm', {
      metric: failed,
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: 'A split check of a large log failed: that upload has no verdict.',
    });
    if (props.alarmTopic) {
      alarm.addAlarmAction(new SnsAction(props.alarmTopic));
      alarm.addOkAction(new SnsAction(props.alarmTopic));
    }
    this.failedAlarm = alarm;
  }

  /**
   * Acknowledges the wildcards CDK's grants to the state machine's role carry, each required by
   * the service: they are the findings cdk-nag AwsSolutions-IAM5 names, as it flattens them.
   */
  private acknowledgeStateMachineWildcards(): void {
    const stack = Stack.of(this);
    const fnId = stack.getLogicalId(this.function.function.node.defaultChild as CfnElement);
    const smName = JSON.stringify({ 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: stack.getLogicalId(this.stateMachine.node.defaultChild as CfnElement) }] }] });
    const executions = `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${smName}`;
    const acks: [string, string][] = [
      [`<${fnId}.Arn>:*`, 'Step Functions invokes the split-check function and nothing else; the :* is the version qualifier CDK adds to the grant.'],
      ['*', 'CloudWatch Logs delivery (logs:*LogDelivery, DescribeLogGroups, resource policies) and X-Ray (PutTraceSegments, sampling) actions support no resource-level permissions; they are what execution logging and tracing need.'],
      [`${executions}:*`, 'The Distributed Map runs each range as a child execution of this state machine: Describe/StopExecution on its own executions only.'],
      [`${executions}/*:*`, 'The Distributed Map may redrive its own map runs (child executions of this state machine) and nothing else.'],
    ];
    for (const [resource, reason] of acks) {
      Validations.of(this.stateMachine).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason });
    }
  }

  /**
   * Makes `checker` hand every log larger than `thresholdBytes` to this state machine (by
   * StartExecution, which it may call on this state machine only) instead of checking it.
   */
  public routeFrom(checker: CheckerFunction, thresholdBytes: number = DEFAULT_BIG_LOG_THRESHOLD_BYTES): void {
    if (!Number.isInteger(thresholdBytes) || thresholdBytes < 1) {
      throw new Error(`BigLogCheck thresholdBytes: expected a whole number of bytes >= 1, got ${thresholdBytes}`);
    }
    checker.addEnvironment(ENV_BIG_LOG_STATE_MACHINE, this.stateMachine.stateMachineArn);
    checker.addEnvironment(ENV_BIG_LOG_THRESHOLD_BYTES, String(thresholdBytes));
    this.stateMachine.grantStartExecution(checker.function);
  }

  /** plan → (ranges ∥ hash) → merge (→ stale ranges → merge)* → verdict; or one pass. */
  private definition(maxConcurrency: number): IChainable {
    const step = (id: string, payload: Record<string, unknown>, resultPath: string): LambdaInvoke =>
      new LambdaInvoke(this, id, {
        lambdaFunction: this.function.function,
        payload: TaskInput.fromObject(payload),
        payloadResponseOnly: true,
        resultPath,
        retryOnServiceExceptions: true,
      }).addRetry({ errors: ['States.TaskFailed'], interval: Duration.seconds(10), maxAttempts: 2, backoffRate: 3 }) as LambdaInvoke;
    const rangeStep = (id: string): LambdaInvoke =>
      new LambdaInvoke(this, id, {
        lambdaFunction: this.function.function,
        payloadResponseOnly: true,
        retryOnServiceExceptions: true,
      }).addRetry({ errors: ['States.TaskFailed'], interval: Duration.seconds(10), maxAttempts: 2, backoffRate: 3 }) as LambdaInvoke;
    const rangeItem = { step: 'range', work: JsonPath.stringAt('$.plan.work'), part: JsonPath.objectAt('$$.Map.Item.Value') };

    const plan = step('Plan', { step: 'plan', object: JsonPath.objectAt('$'), execution: JsonPath.stringAt('$$.Execution.Name') }, '$.plan');
    const whole = step('CheckInOnePass', { step: 'whole', object: JsonPath.objectAt('$.plan.object') }, '$.whole').next(new Succeed(this, 'CheckedInOnePass'));
    const ranges = new DistributedMap(this, 'CheckRanges', {
      itemsPath: '$.plan.parts',
      itemSelector: rangeItem,
      maxConcurrency,
      resultPath: JsonPath.DISCARD,
    }).itemProcessor(rangeStep('CheckRange'));
    const hash = step('HashObject', { step: 'hash', object: JsonPath.objectAt('$.plan.object') }, '$');
    const checkAll = new Parallel(this, 'CheckRangesAndHash', { resultSelector: { 'hash.$': '$[0]' }, resultPath: '$.split' }).branch(hash).branch(ranges);
    const merge = step('Merge', { step: 'merge', work: JsonPath.stringAt('$.plan.work'), hash: JsonPath.objectAt('$.split.hash'), round: JsonPath.numberAt('$.merge.round') }, '$.merge');
    const recheck = new MapState(this, 'CheckStaleRanges', { itemsPath: '$.merge.parts', itemSelector: rangeItem, maxConcurrency, resultPath: JsonPath.DISCARD }).itemProcessor(
      rangeStep('CheckStaleRange'),
    );
    recheck.next(merge);
    const afterMerge = new Choice(this, 'Merged')
      .when(Condition.stringEquals('$.merge.status', 'recheck'), recheck)
      .when(Condition.stringEquals('$.merge.status', 'whole'), whole)
      .otherwise(new Succeed(this, 'VerdictWritten'));
    checkAll.next(new Pass(this, 'StartMerging', { result: Result.fromObject({ round: 0 }), resultPath: '$.merge' })).next(merge).next(afterMerge);
    plan.next(
      new Choice(this, 'Planned')
        .when(Condition.stringEquals('$.plan.mode', 'split'), checkAll)
        .when(Condition.stringEquals('$.plan.mode', 'whole'), whole)
        .otherwise(new Succeed(this, 'AlreadyChecked')),
    );
    return plan;
  }
}

/** Acknowledges cdk-nag AwsSolutions-IAM5 for one object-ARN wildcard of `fn`'s role. */
function acknowledgeWildcard(fn: Construct, objectsArn: string, reason: string): void {
  const resource = flattenCfnReference(Stack.of(fn).resolve(objectsArn));
  Validations.of(fn).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason });
}
