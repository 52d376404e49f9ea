import { ArnFormat, Duration, Fn, Stack, Validations } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { SfnStateMachine } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import {
  Choice,
  Condition,
  DefinitionBody,
  DistributedMap,
  Fail,
  ItemBatcher,
  JsonPath,
  LogLevel,
  ResultWriterV2,
  S3ObjectsItemReader,
  StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import { Construct } from 'constructs';
import { auditRoot } from '../../lambda/engine/audit/audit-paths';
import { acknowledgeObjectWildcard } from './audit-function';

/** Default schedule: 03:00 UTC on the first day of each month. */
export const DEFAULT_AUDIT_SCHEDULE = 'cron(0 3 1 * ? *)';
/** Default number of batches checked at the same time. */
export const DEFAULT_AUDIT_MAX_CONCURRENCY = 40;
/** Default share of batches that may fail before the map run fails. */
export const DEFAULT_AUDIT_TOLERATED_FAILURE_PERCENTAGE = 5;
/** Default number of logs per batch (one child execution, one invocation of the function). */
export const DEFAULT_AUDIT_ITEMS_PER_BATCH = 100;
/** Default limit on one audit run. */
export const DEFAULT_AUDIT_TIMEOUT = Duration.hours(24);

/** Properties of an {@link AuditStateMachine}. */
export interface AuditStateMachineProps {
  /** The audit function (lambda/audit-handler.ts). */
  readonly auditFunction: IFunction;
  /** The bucket whose logs are audited. */
  readonly auditBucket: IBucket;
  /** The audited key prefixes; the Distributed Map lists their common folder. */
  readonly auditPrefixes: readonly string[];
  /** Where the map run's results (ResultWriter) go, under `outputPrefix`. */
  readonly verdictBucket: IBucket;
  /** Key prefix of audit runs in the verdict bucket. */
  readonly outputPrefix: string;
  /**
   * When the audit runs: a `cron(...)` or `rate(...)` expression, or a Schedule.
   *
   * @default 'cron(0 3 1 * ? *)' (03:00 UTC on the first of each month)
   */
  readonly schedule?: string | Schedule;
  /**
   * Batches checked at the same time (Distributed Map `MaxConcurrency`).
   *
   * @default 40
   */
  readonly maxConcurrency?: number;
  /**
   * Share of batches, in percent, that may fail (after their retries) before the map run fails.
   * The logs of a failed batch are listed in the summary as not checked either way.
   *
   * @default 5
   */
  readonly toleratedFailurePercentage?: number;
  /**
   * Logs per batch (`ItemBatcher` `MaxItemsPerBatch`).
   *
   * @default 100
   */
  readonly itemsPerBatch?: number;
  /**
   * Limit on one audit run.
   *
   * @default Duration.hours(24)
   */
  readonly timeout?: Duration;
  /**
   * Retention of the state machine's log group.
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
}

/** The ListObjectsV2 item reader, with its list grant scoped to the listed prefix. */
class PrefixListItemReader extends S3ObjectsItemReader {
  constructor(
    private readonly listedBucket: IBucket,
    private readonly listedPrefix: string,
  ) {
    super({ bucket: listedBucket, ...(listedPrefix !== '' ? { prefix: listedPrefix } : {}) });
  }

  public providePolicyStatements(): PolicyStatement[] {
    return [
      new PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.listedBucket.bucketArn],
        ...(this.listedPrefix !== ''
          ? { conditions: { StringLike: { 's3:prefix': [`${this.listedPrefix}*`] } } }
          : {}),
      }),
    ];
  }
}

/** The result writer, with its grant scoped to the audit runs' prefix, not the whole bucket. */
class PrefixResultWriter extends ResultWriterV2 {
  constructor(
    private readonly resultBucket: IBucket,
    private readonly resultPrefix: string,
    prefixPath: string,
  ) {
    super({ bucket: resultBucket, prefix: prefixPath });
  }

  public providePolicyStatements(): PolicyStatement[] {
    return [
      new PolicyStatement({
        actions: [
          's3:PutObject',
          's3:GetObject',
          's3:ListMultipartUploadParts',
          's3:AbortMultipartUpload',
        ],
        resources: [this.resultBucket.arnForObjects(`${this.resultPrefix}*`)],
      }),
    ];
  }
}

/** A `cron(...)`/`rate(...)` expression or a Schedule, as a Schedule. */
function scheduleOf(schedule: string | Schedule): Schedule {
  if (typeof schedule !== 'string') return schedule;
  if (!/^(cron|rate)\(.+\)$/.test(schedule.trim())) {
    throw new Error(
      'AuditStateMachine schedule: expected a cron(...) or rate(...) expression, ' +
        `e.g. '${DEFAULT_AUDIT_SCHEDULE}', got '${schedule}'`,
    );
  }
  return Schedule.expression(schedule.trim());
}

/**
 * The scheduled audit: an EventBridge rule starts a Standard state machine that plans the run
 * (audit function, `plan`), checks the logs in batches with a Distributed Map reading the S3
 * listing (child executions of type Express, the audit function per batch), and writes the
 * summary (audit function, `reduce`) even when the map run failed. A run whose summary is not
 * complete ends in a Fail state, which the failed-executions alarm reports.
 */
export class AuditStateMachine extends Construct {
  /** The state machine. */
  public readonly stateMachine: StateMachine;
  /** The schedule rule. */
  public readonly rule: Rule;
  /** Log group of the state machine (all events, without execution data). */
  public readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: AuditStateMachineProps) {
    super(scope, id);
    const maxConcurrency = props.maxConcurrency ?? DEFAULT_AUDIT_MAX_CONCURRENCY;
    const tolerated =
      props.toleratedFailurePercentage ?? DEFAULT_AUDIT_TOLERATED_FAILURE_PERCENTAGE;
    const itemsPerBatch = props.itemsPerBatch ?? DEFAULT_AUDIT_ITEMS_PER_BATCH;
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1 || maxConcurrency > 10_000) {
      throw new Error(
        `AuditStateMachine maxConcurrency: expected a whole number from 1 to 10000, got ${maxConcurrency}`,
      );
    }
    if (!(tolerated >= 0 && tolerated <= 100)) {
      throw new Error(
        `AuditStateMachine toleratedFailurePercentage: expected 0 to 100, got ${tolerated}`,
      );
    }
    if (!Number.isInteger(itemsPerBatch) || itemsPerBatch < 1) {
      throw new Error(
        `AuditStateMachine itemsPerBatch: expected a whole number of at least 1, got ${itemsPerBatch}`,
      );
    }

    const plan = new LambdaInvoke(this, 'Plan', {
      comment: 'Names the run folder after the execution start and finds the earlier verdicts',
      lambdaFunction: props.auditFunction,
      payload: TaskInput.fromObject({
        mode: 'plan',
        startedAt: JsonPath.stringAt('$$.Execution.StartTime'),
      }),
      outputPath: '$.Payload',
    });
    plan.addRetry({ maxAttempts: 2, interval: Duration.seconds(10), backoffRate: 2 });

    const checkBatch = new LambdaInvoke(this, 'CheckBatch', {
      comment: 'Checks one batch of logs; its outcomes go to the run folder',
      lambdaFunction: props.auditFunction,
      payload: TaskInput.fromJsonPathAt('$'),
      outputPath: '$.Payload',
    });
    checkBatch.addRetry({ maxAttempts: 2, interval: Duration.seconds(5), backoffRate: 2 });

    const root = auditRoot(props.auditPrefixes);
    const checkLogs = new DistributedMap(this, 'CheckLogs', {
      comment: 'Lists the audited prefixes and checks the logs in batches',
      itemReader: new PrefixListItemReader(props.auditBucket, root),
      itemBatcher: new ItemBatcher({
        maxItemsPerBatch: itemsPerBatch,
        // Each batch's input: { Items: [...], BatchInput: { mode, plan } }.
        batchInput: { mode: 'check-batch', 'plan.$': '$.plan' },
      }),
      maxConcurrency,
      toleratedFailurePercentage: tolerated,
      mapExecutionType: StateMachineType.EXPRESS,
      resultWriterV2: new PrefixResultWriter(
        props.verdictBucket,
        props.outputPrefix,
        JsonPath.stringAt('$.resultPrefix'),
      ),
      resultPath: '$.map',
    });
    checkLogs.itemProcessor(checkBatch);

    const summarize = new LambdaInvoke(this, 'Summarize', {
      comment: 'Writes summary.json and .html; logs no batch reported are listed as not checked',
      lambdaFunction: props.auditFunction,
      payload: TaskInput.fromObject({
        mode: 'reduce',
        plan: JsonPath.objectAt('$.plan'),
        map: JsonPath.objectAt('$.map'),
        mapError: JsonPath.objectAt('$.mapError'),
      }),
      outputPath: '$.Payload',
    });
    summarize.addRetry({ maxAttempts: 2, interval: Duration.seconds(10), backoffRate: 2 });
    // A failed map run still gets its summary, which lists what was not checked.
    checkLogs.addCatch(summarize, { resultPath: '$.mapError' });

    const done = new Choice(this, 'Complete?')
      .when(Condition.booleanEquals('$.complete', true), new Succeed(this, 'Done'))
      .otherwise(
        new Fail(this, 'Incomplete', { error: 'AuditIncomplete', causePath: '$.summary' }),
      );

    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? RetentionDays.ONE_YEAR,
    });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      comment:
        'Residency audit: re-checks the logs under the audited prefixes and writes ' +
        'audits/<timestamp>/summary.json',
      definitionBody: DefinitionBody.fromChainable(plan.next(checkLogs).next(summarize).next(done)),
      stateMachineType: StateMachineType.STANDARD,
      timeout: props.timeout ?? DEFAULT_AUDIT_TIMEOUT,
      tracingEnabled: true,
      // Execution data would copy every batch's keys into the logs; the run folder has them.
      logs: { destination: this.logGroup, level: LogLevel.ALL, includeExecutionData: false },
    });
    acknowledgeObjectWildcard(
      this,
      props.verdictBucket.arnForObjects(`${props.outputPrefix}*`),
      `the map run writes its results only under '${props.outputPrefix}'`,
    );
    this.acknowledgeStateMachineWildcards(props.auditFunction);

    this.rule = new Rule(this, 'Schedule', {
      description: 'Starts the residency audit',
      schedule: scheduleOf(props.schedule ?? DEFAULT_AUDIT_SCHEDULE),
      targets: [new SfnStateMachine(this.stateMachine, { input: RuleTargetInput.fromObject({}) })],
    });

    const actions = props.alarmTopic ? [new SnsAction(props.alarmTopic)] : [];
    const alarm = (alarmId: string, metric: IMetric, description: string): void => {
      const a = new Alarm(this, alarmId, {
        alarmDescription: description,
        metric,
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      for (const action of actions) {
        a.addAlarmAction(action);
        a.addOkAction(action);
      }
    };
    const every5Minutes = { period: Duration.minutes(5), statistic: 'Sum' };
    alarm(
      'FailedAlarm',
      this.stateMachine.metricFailed(every5Minutes),
      'An audit run failed or is incomplete: see its summary.json',
    );
    alarm(
      'TimedOutAlarm',
      this.stateMachine.metricTimedOut(every5Minutes),
      'An audit run timed out before writing its summary',
    );
  }

  /**
   * Acknowledges the cdk-nag AwsSolutions-IAM5 findings of the grants CDK gives the state machine:
   * each names the one resource and why a wildcard is needed there.
   */
  private acknowledgeStateMachineWildcards(fn: IFunction): void {
    const stack = Stack.of(this);
    const flat = (value: string): string => flattenCfnReference(stack.resolve(value));
    const name = Fn.select(6, Fn.split(':', this.stateMachine.stateMachineArn));
    const executions = (resourceName: string): string =>
      stack.formatArn({
        service: 'states',
        resource: 'execution',
        resourceName,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
    const acks: [string, string][] = [
      [
        `${fn.functionArn}:*`,
        'CDK grants the Lambda task the function and its versions and aliases (:*); ' +
          'it is the audit function only.',
      ],
      [
        '*',
        'X-Ray (PutTraceSegments, PutTelemetryRecords, GetSampling*) and CloudWatch Logs ' +
          'delivery (*LogDelivery, DescribeLogGroups, *ResourcePolicies) actions, which AWS ' +
          'documents as not supporting resource-level permissions.',
      ],
      [
        executions(`${name}:*`),
        'The Distributed Map describes and stops its own child executions, whose names Step ' +
          'Functions generates: executions of this state machine only.',
      ],
      [
        executions(`${name}/*:*`),
        'The Distributed Map redrives its own map runs, whose names Step Functions generates: ' +
          'map runs of this state machine only.',
      ],
    ];
    for (const [resource, reason] of acks) {
      const id = `AwsSolutions-IAM5[Resource::${resource === '*' ? '*' : flat(resource)}]`;
      Validations.of(this.stateMachine).acknowledge({ id, reason });
    }
  }
}
