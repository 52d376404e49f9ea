import { Duration } from 'aws-cdk-lib';
import { Queue, QueueEncryption, type IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Default number of receives before a message moves to the dead-letter queue. */
export const DEFAULT_MAX_RECEIVE_COUNT = 5;
/**
 * Queue visibility timeout as a multiple of the consumer's timeout, as AWS recommends for Lambda
 * event sources, so a message is not redelivered while an invocation may still be working on it.
 */
export const VISIBILITY_TIMEOUT_FACTOR = 6;
/** How long failed messages stay in the dead-letter queue (the SQS maximum). */
const DLQ_RETENTION = Duration.days(14);

/** Properties of an {@link IntakeQueue}. */
export interface IntakeQueueProps {
  /** Timeout of the function consuming the queue; the visibility timeout is six times this. */
  readonly consumerTimeout: Duration;
  /**
   * Receives of a message before it moves to the dead-letter queue.
   *
   * @default 5
   */
  readonly maxReceiveCount?: number;
}

/**
 * Encrypted, TLS-only queue of S3 upload notifications with a dead-letter queue for messages
 * that keep failing.
 */
export class IntakeQueue extends Construct {
  /** The queue the checker consumes. */
  public readonly queue: IQueue;
  /** Where messages go after `maxReceiveCount` failed receives. */
  public readonly deadLetterQueue: IQueue;

  constructor(scope: Construct, id: string, props: IntakeQueueProps) {
    super(scope, id);
    const maxReceiveCount = props.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT;
    if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000) {
      throw new Error(
        'IntakeQueue maxReceiveCount: expected a whole number from 1 to 1000, ' +
          `got ${maxReceiveCount}`,
      );
    }

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: DLQ_RETENTION,
    });
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(
        props.consumerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR,
      ),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });
  }
}
