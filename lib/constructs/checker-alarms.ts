import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  TreatMissingData,
  type IAlarm,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Period over which each alarm metric is aggregated. */
const ALARM_PERIOD = Duration.minutes(5);

/** Properties of {@link CheckerAlarms}. */
export interface CheckerAlarmsProps {
  /** The checker function. */
  readonly function: IFunction;
  /** Dead-letter queue of the checker's intake queue. */
  readonly deadLetterQueue: IQueue;
  /**
   * Topic notified when an alarm fires and when it recovers.
   *
   * @default - no alarm actions; the alarms are visible in the CloudWatch console only
   */
  readonly alarmTopic?: ITopic;
}

/**
 * Alarms that fire on the first sign of trouble: an upload that could not be checked (a message in
 * the dead-letter queue), a failed invocation, or a throttled one.
 */
export class CheckerAlarms extends Construct {
  /** Fires while the dead-letter queue holds at least one message. */
  public readonly deadLetterQueueAlarm: IAlarm;
  /** Fires when an invocation of the checker failed. */
  public readonly errorsAlarm: IAlarm;
  /** Fires when an invocation of the checker was throttled. */
  public readonly throttlesAlarm: IAlarm;

  constructor(scope: Construct, id: string, props: CheckerAlarmsProps) {
    super(scope, id);
    const action = props.alarmTopic ? new SnsAction(props.alarmTopic) : undefined;
    const alarmAbove0 = (alarmId: string, metric: IMetric, description: string): IAlarm => {
      const alarm = new Alarm(this, alarmId, {
        metric,
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      if (action) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
      return alarm;
    };

    this.deadLetterQueueAlarm = alarmAbove0(
      'DeadLetterQueueAlarm',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: ALARM_PERIOD,
        statistic: 'Maximum',
      }),
      'Upload notifications reached the dead-letter queue: those uploads were not checked.',
    );
    this.errorsAlarm = alarmAbove0(
      'ErrorsAlarm',
      props.function.metricErrors({ period: ALARM_PERIOD, statistic: 'Sum' }),
      'The residency checker function failed.',
    );
    this.throttlesAlarm = alarmAbove0(
      'ThrottlesAlarm',
      props.function.metricThrottles({ period: ALARM_PERIOD, statistic: 'Sum' }),
      'The residency checker function was throttled.',
    );
  }
}
