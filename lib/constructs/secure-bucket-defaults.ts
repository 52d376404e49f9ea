import { Duration } from 'aws-cdk-lib';
import {
  BlockPublicAccess,
  BucketEncryption,
  type BucketProps,
  type IBucket,
} from 'aws-cdk-lib/aws-s3';

/** How long an incomplete multipart upload may linger before S3 removes its parts. */
const INCOMPLETE_UPLOAD_EXPIRY = Duration.days(7);

/**
 * Bucket settings every bucket of this app shares: no public access, TLS-only access, encryption
 * at rest with S3-managed keys, versioning, and server access logs to `accessLogBucket`.
 *
 * S3-managed keys (SSE-S3) rather than KMS: the function reads and writes without extra key
 * grants, and S3 server access logging can only deliver to an SSE-S3 destination. Incomplete
 * multipart uploads (an interrupted upload of a large log) are removed after a week.
 *
 * @param accessLogBucket where S3 delivers the server access logs of the bucket
 * @param accessLogPrefix key prefix of this bucket's logs in `accessLogBucket`, e.g. `upload/`
 */
export function secureBucketDefaults(
  accessLogBucket: IBucket,
  accessLogPrefix: string,
): Pick<
  BucketProps,
  | 'blockPublicAccess'
  | 'enforceSSL'
  | 'encryption'
  | 'versioned'
  | 'serverAccessLogsBucket'
  | 'serverAccessLogsPrefix'
  | 'lifecycleRules'
> {
  return {
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    encryption: BucketEncryption.S3_MANAGED,
    versioned: true,
    serverAccessLogsBucket: accessLogBucket,
    serverAccessLogsPrefix: accessLogPrefix,
    lifecycleRules: [{ abortIncompleteMultipartUploadAfter: INCOMPLETE_UPLOAD_EXPIRY }],
  };
}
