import { Duration } from 'aws-cdk-lib';
import { Bucket, ObjectLockMode, ObjectLockRetention, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DEFAULT_VERDICT_PREFIX } from '../../lambda/env-names';
import { validateKeyPrefix } from './key-prefix';
import { secureBucketDefaults } from './secure-bucket-defaults';

/** Default S3 Object Lock retention mode of verdicts. */
export const DEFAULT_VERDICT_RETENTION_MODE = ObjectLockMode.GOVERNANCE;
/** Default S3 Object Lock retention period of verdicts, in days. */
export const DEFAULT_VERDICT_RETENTION_DAYS = 365;

/** Properties of a {@link VerdictBucket}. */
export interface VerdictBucketProps {
  /** Destination of the bucket's S3 server access logs. */
  readonly accessLogBucket: IBucket;
  /**
   * Key prefix under which the checker writes verdicts.
   *
   * @default 'verdicts/'
   */
  readonly verdictPrefix?: string;
  /**
   * S3 Object Lock default retention mode applied to every verdict version. `GOVERNANCE` lets
   * principals with `s3:BypassGovernanceRetention` delete early; `COMPLIANCE` lets no one,
   * not even the root user, until the period ends.
   *
   * @default ObjectLockMode.GOVERNANCE
   */
  readonly retentionMode?: ObjectLockMode;
  /**
   * S3 Object Lock default retention period of every verdict version, in days.
   *
   * @default 365
   */
  readonly retentionDays?: number;
}

/**
 * Write-once store of verdicts: S3 Object Lock keeps every verdict version for the retention
 * period, so a verdict cannot be altered or removed after the fact.
 */
export class VerdictBucket extends Construct {
  /** The verdict bucket. */
  public readonly bucket: IBucket;
  /** Key prefix under which the checker writes verdicts. */
  public readonly verdictPrefix: string;

  constructor(scope: Construct, id: string, props: VerdictBucketProps) {
    super(scope, id);
    this.verdictPrefix = validateKeyPrefix(
      'VerdictBucket verdictPrefix',
      props.verdictPrefix ?? DEFAULT_VERDICT_PREFIX,
    );
    const mode = props.retentionMode ?? DEFAULT_VERDICT_RETENTION_MODE;
    const days = props.retentionDays ?? DEFAULT_VERDICT_RETENTION_DAYS;
    if (!Number.isInteger(days) || days < 1) {
      throw new Error(
        `VerdictBucket retentionDays: expected a whole number of days >= 1, got ${days}`,
      );
    }
    const retention =
      mode === ObjectLockMode.COMPLIANCE
        ? ObjectLockRetention.compliance(Duration.days(days))
        : ObjectLockRetention.governance(Duration.days(days));

    this.bucket = new Bucket(this, 'Bucket', {
      ...secureBucketDefaults(props.accessLogBucket, 'verdict/'),
      objectLockEnabled: true,
      objectLockDefaultRetention: retention,
    });
  }
}
