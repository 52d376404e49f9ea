import { Duration, Validations } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Default number of days S3 server access logs are kept. */
export const DEFAULT_ACCESS_LOG_EXPIRATION_DAYS = 365;

/** Properties of an {@link AccessLogBucket}. */
export interface AccessLogBucketProps {
  /**
   * Days after which access log objects expire.
   *
   * @default 365
   */
  readonly expirationDays?: number;
}

/**
 * Dedicated destination for the S3 server access logs of the app's other buckets.
 *
 * It does not log itself: logging a log bucket into itself loops, and a further log bucket would
 * only move the question. cdk-nag 3.0.2's AwsSolutions-S1 already passes a bucket that receives
 * other buckets' access logs; the acknowledgement records the decision should that change.
 */
export class AccessLogBucket extends Construct {
  /** The log bucket. */
  public readonly bucket: IBucket;

  constructor(scope: Construct, id: string, props: AccessLogBucketProps = {}) {
    super(scope, id);
    const expirationDays = props.expirationDays ?? DEFAULT_ACCESS_LOG_EXPIRATION_DAYS;
    if (!Number.isInteger(expirationDays) || expirationDays < 1) {
      throw new Error(
        'AccessLogBucket expirationDays: expected a whole number of days >= 1, ' +
          `got ${expirationDays}`,
      );
    }

    const bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // S3 server access logging only delivers to buckets encrypted with SSE-S3.
      encryption: BucketEncryption.S3_MANAGED,
      versioned: true,
      lifecycleRules: [
        {
          expiration: Duration.days(expirationDays),
          noncurrentVersionExpiration: Duration.days(1),
        },
      ],
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This is the server access log destination of the other buckets; logging it into itself ' +
        'would loop, and a second log bucket would raise the same finding.',
    });
    this.bucket = bucket;
  }
}
