import { Stack, Validations } from 'aws-cdk-lib';
import { Bucket, EventType, type IBucket } from 'aws-cdk-lib/aws-s3';
import { SqsDestination } from 'aws-cdk-lib/aws-s3-notifications';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { validateKeyPrefix } from './key-prefix';
import { secureBucketDefaults } from './secure-bucket-defaults';

/** Construct ID of the singleton function CDK uses to configure bucket notifications. */
const NOTIFICATIONS_HANDLER_ID = 'BucketNotificationsHandler050a0587b7544547bf325f094a3db834';
/** The AWS managed policy CDK attaches to that function's role, as cdk-nag names it. */
const LAMBDA_BASIC_EXECUTION_POLICY =
  'arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';

/** Default key prefix under which connection logs are uploaded for checking. */
export const DEFAULT_UPLOAD_PREFIX = 'incoming/';

/** Properties of an {@link UploadBucket}. */
export interface UploadBucketProps {
  /** Destination of the bucket's S3 server access logs. */
  readonly accessLogBucket: IBucket;
  /**
   * Key prefix of the uploads to check; only objects created under it are announced.
   *
   * @default 'incoming/'
   */
  readonly uploadPrefix?: string;
}

/** Bucket that receives the connection logs to check. */
export class UploadBucket extends Construct {
  /** The upload bucket. */
  public readonly bucket: IBucket;
  /** Key prefix of the uploads to check. */
  public readonly uploadPrefix: string;

  constructor(scope: Construct, id: string, props: UploadBucketProps) {
    super(scope, id);
    this.uploadPrefix = validateKeyPrefix(
      'UploadBucket uploadPrefix',
      props.uploadPrefix ?? DEFAULT_UPLOAD_PREFIX,
    );
    this.bucket = new Bucket(
      this,
      'Bucket',
      secureBucketDefaults(props.accessLogBucket, 'upload/'),
    );
  }

  /** Sends an S3 event notification to `queue` for every object created under the upload prefix. */
  public notifyObjectCreated(queue: IQueue): void {
    this.bucket.addEventNotification(EventType.OBJECT_CREATED, new SqsDestination(queue), {
      prefix: this.uploadPrefix,
    });
    const handler = Stack.of(this).node.tryFindChild(NOTIFICATIONS_HANDLER_ID);
    if (!handler) {
      throw new Error(
        `UploadBucket: CDK's ${NOTIFICATIONS_HANDLER_ID} not found; ` +
          'update the cdk-nag acknowledgement in notifyObjectCreated',
      );
    }
    Validations.of(handler).acknowledge({
      id: `AwsSolutions-IAM4[Policy::${LAMBDA_BASIC_EXECUTION_POLICY}]`,
      reason:
        "CDK's deploy-time custom resource handler that applies the upload bucket's notification " +
        'configuration; it never touches uploads or verdicts. AWSLambdaBasicExecutionRole grants ' +
        'only CloudWatch Logs create/write actions, which it needs for its own logs; a custom ' +
        'role would need a wildcard log-group ARN instead, as the function name is generated.',
    });
  }
}
