import * as path from 'node:path';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import { Construct } from 'constructs';
import {
  DEFAULT_AUDIT_OUTPUT_PREFIX,
  ENV_AUDIT_BUCKET,
  ENV_AUDIT_OUTPUT_PREFIX,
  ENV_AUDIT_PREFIXES,
  ENV_VERDICT_BUCKET,
  ENV_VERDICT_PREFIX,
} from '../../lambda/env-names';
import { CheckerFunction } from './checker-function';
import { validateKeyPrefix } from './key-prefix';

/** Default memory of the audit function, in MiB: the reduce step holds one line per log. */
export const DEFAULT_AUDIT_MEMORY_SIZE_MIB = 2048;
/**
 * Default timeout of the audit function (a `run` or `reduce` invocation; a batch stops itself
 * after 4 minutes).
 */
export const DEFAULT_AUDIT_TIMEOUT = Duration.minutes(15);
/** Handler source of the audit function, relative to the project root. */
const AUDIT_HANDLER_ENTRY = path.join('lambda', 'audit-handler.ts');

/** Properties of an {@link AuditFunction}. */
export interface AuditFunctionProps {
  /** The bucket whose logs are audited (the upload bucket). */
  readonly auditBucket: IBucket;
  /** Key prefixes of that bucket the audit covers (a device, an app, a product); no wildcards. */
  readonly auditPrefixes: readonly string[];
  /** Where verdicts are, and where audit runs are written. */
  readonly verdictBucket: IBucket;
  /** Key prefix of the checker's verdicts, read as the earlier verdicts before the first audit. */
  readonly verdictPrefix: string;
  /**
   * Key prefix in the verdict bucket under which audit runs are written; the function writes
   * nowhere else.
   *
   * @default 'audits/'
   */
  readonly outputPrefix?: string;
  /**
   * Residency policy: a preset name, inline policy JSON, or an `s3://` URL (read access to it is
   * the caller's to grant), as the checker's.
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
   * Memory of the function, in MiB.
   *
   * @default 2048
   */
  readonly memorySize?: number;
  /**
   * Timeout of the function.
   *
   * @default Duration.minutes(15)
   */
  readonly timeout?: Duration;
  /**
   * Retention of the function's log group.
   *
   * @default RetentionDays.ONE_YEAR
   */
  readonly logRetention?: RetentionDays;
}

/**
 * The audit Lambda (lambda/audit-handler.ts), bundled like the checker, with grants to read the
 * logs under the audited prefixes, read the checker's verdicts and earlier runs, and write only
 * under the audit output prefix.
 */
export class AuditFunction extends Construct {
  /** The function. */
  public readonly function: IFunction;
  /** Key prefixes the audit covers. */
  public readonly auditPrefixes: readonly string[];
  /** Key prefix of audit runs in the verdict bucket. */
  public readonly outputPrefix: string;
  /** The function's timeout. */
  public readonly timeout: Duration;

  constructor(scope: Construct, id: string, props: AuditFunctionProps) {
    super(scope, id);
    if (props.auditPrefixes.length === 0) {
      throw new Error('AuditFunction auditPrefixes: expected at least one key prefix');
    }
    this.auditPrefixes = props.auditPrefixes.map((p) =>
      validateKeyPrefix('AuditFunction auditPrefixes', p),
    );
    this.outputPrefix = validateKeyPrefix(
      'AuditFunction outputPrefix',
      props.outputPrefix ?? DEFAULT_AUDIT_OUTPUT_PREFIX,
    );
    if (!this.outputPrefix.endsWith('/')) {
      throw new Error(
        `AuditFunction outputPrefix: expected a folder ending in '/', got '${this.outputPrefix}'`,
      );
    }
    const verdictPrefix = validateKeyPrefix('AuditFunction verdictPrefix', props.verdictPrefix);
    this.timeout = props.timeout ?? DEFAULT_AUDIT_TIMEOUT;

    const fn = new CheckerFunction(this, 'Function', {
      entry: AUDIT_HANDLER_ENTRY,
      description: "Re-checks the audited logs with today's databases and policy",
      memorySize: props.memorySize ?? DEFAULT_AUDIT_MEMORY_SIZE_MIB,
      timeout: this.timeout,
      residencyPolicy: props.residencyPolicy,
      vpcFormat: props.vpcFormat,
      logRetention: props.logRetention,
    });
    this.function = fn.function;
    fn.addEnvironment(ENV_AUDIT_BUCKET, props.auditBucket.bucketName);
    fn.addEnvironment(ENV_AUDIT_PREFIXES, this.auditPrefixes.join(','));
    fn.addEnvironment(ENV_AUDIT_OUTPUT_PREFIX, this.outputPrefix);
    fn.addEnvironment(ENV_VERDICT_BUCKET, props.verdictBucket.bucketName);
    fn.addEnvironment(ENV_VERDICT_PREFIX, verdictPrefix);

    const logs = this.auditPrefixes.map((p) => props.auditBucket.arnForObjects(`${p}*`));
    const checkerVerdicts = props.verdictBucket.arnForObjects(`${verdictPrefix}*`);
    const runs = props.verdictBucket.arnForObjects(`${this.outputPrefix}*`);
    const grant = (
      actions: string[],
      resources: string[],
      conditions?: Record<string, unknown>,
    ): void => {
      this.function.addToRolePolicy(
        new PolicyStatement({ actions, resources, ...(conditions ? { conditions } : {}) }),
      );
    };
    grant(['s3:GetObject'], logs);
    grant(['s3:ListBucket'], [props.auditBucket.bucketArn], {
      StringLike: { 's3:prefix': this.auditPrefixes.map((p) => `${p}*`) },
    });
    grant(['s3:GetObject'], [checkerVerdicts]);
    grant(['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'], [runs]);
    // Listing (only under the two prefixes) finds earlier runs and this run's batches, and makes S3
    // answer a missing verdict with 404 rather than 403.
    grant(['s3:ListBucket'], [props.verdictBucket.bucketArn], {
      StringLike: { 's3:prefix': [`${verdictPrefix}*`, `${this.outputPrefix}*`] },
    });

    this.auditPrefixes.forEach((p, i) => {
      const what = `the audit function reads only the logs under '${p}'`;
      acknowledgeObjectWildcard(this, logs[i]!, what);
    });
    acknowledgeObjectWildcard(
      this,
      checkerVerdicts,
      `the audit function reads only the checker's verdicts under '${verdictPrefix}'`,
    );
    acknowledgeObjectWildcard(
      this,
      runs,
      `the audit function writes and reads back only its runs under '${this.outputPrefix}'`,
    );
  }
}

/**
 * Acknowledges cdk-nag AwsSolutions-IAM5 for one object-ARN wildcard on `scope`, which is how IAM
 * scopes a grant to a key prefix. The finding ID embeds the resource as cdk-nag flattens it.
 */
export function acknowledgeObjectWildcard(
  scope: Construct,
  objectsArn: string,
  what: string,
): void {
  const resource = flattenCfnReference(Stack.of(scope).resolve(objectsArn));
  Validations.of(scope).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${resource}]`,
    reason: `The trailing * is the key-prefix scope of an object ARN: ${what}.`,
  });
}
