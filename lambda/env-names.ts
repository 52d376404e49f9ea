/**
 * Names of the environment variables the checker function reads. Shared by the handler's config
 * loader (`lambda/config.ts`) and the CDK constructs (`lib/`), so the two can never drift apart.
 */

/** Bucket the verdicts are written to (required in the function). */
export const ENV_VERDICT_BUCKET = 'VERDICT_BUCKET';
/** Policy: a preset name (`us`), inline policy JSON, or the `s3://` URL of a policy JSON object. */
export const ENV_POLICY = 'RESIDENCY_POLICY';
/** Comma-separated `s3://bucket/key` URLs of MMDB databases to use instead of the bundled ones. */
export const ENV_GEOIP_DBS = 'RESIDENCY_GEOIP_DBS';
/** Key prefix under which verdicts are written in the verdict bucket. */
export const ENV_VERDICT_PREFIX = 'RESIDENCY_VERDICT_PREFIX';
/**
 * Key prefix in the verdict bucket under which each verdict's destinations are written as JSON Lines,
 * partitioned by check date (`<prefix>dt=yyyy-MM-dd/`), for Athena.
 */
export const ENV_DESTINATIONS_PREFIX = 'RESIDENCY_DESTINATIONS_PREFIX';
/** Standard SDK variable: when set, the S3 client uses this endpoint with path-style addressing. */
export const ENV_S3_ENDPOINT = 'AWS_ENDPOINT_URL_S3';

/** Default key prefix of verdicts in the verdict bucket. */
export const DEFAULT_VERDICT_PREFIX = 'verdicts/';
/** Default key prefix of the destinations JSON Lines in the verdict bucket. */
export const DEFAULT_DESTINATIONS_PREFIX = 'destinations/';

/** Bucket whose logs the audit function re-checks (the upload bucket). */
export const ENV_AUDIT_BUCKET = 'RESIDENCY_AUDIT_BUCKET';
/** Comma-separated key prefixes of that bucket the audit covers (a device, an app, a product). */
export const ENV_AUDIT_PREFIXES = 'RESIDENCY_AUDIT_PREFIXES';
/** Key prefix in the verdict bucket under which audit runs (`<prefix><timestamp>/`) are written. */
export const ENV_AUDIT_OUTPUT_PREFIX = 'RESIDENCY_AUDIT_OUTPUT_PREFIX';

/** Default key prefix of audit runs in the verdict bucket. */
export const DEFAULT_AUDIT_OUTPUT_PREFIX = 'audits/';

/** ARN of the state machine that checks logs too large for one invocation, in ranges. */
export const ENV_BIG_LOG_STATE_MACHINE = 'RESIDENCY_BIG_LOG_STATE_MACHINE';
/** Size in bytes above which the checker hands a log to that state machine. */
export const ENV_BIG_LOG_THRESHOLD_BYTES = 'RESIDENCY_BIG_LOG_THRESHOLD_BYTES';
/** Bucket the split check keeps its plan and range results in (under `work/`). */
export const ENV_BIG_LOG_WORK_BUCKET = 'RESIDENCY_BIG_LOG_WORK_BUCKET';
/** Size in bytes of one range of a split check. */
export const ENV_BIG_LOG_PART_BYTES = 'RESIDENCY_BIG_LOG_PART_BYTES';
/** Standard SDK variable: the Step Functions endpoint (a local stand-in in tests). */
export const ENV_SFN_ENDPOINT = 'AWS_ENDPOINT_URL_SFN';

/**
 * VPC Flow Logs delivered without their header line (CloudWatch Logs exports, Firehose) in a
 * custom format: the flow log's LogFormat (`${version} ${srcaddr} ...`), as the CLI's --vpc-format.
 */
export const ENV_VPC_FORMAT = 'RESIDENCY_VPC_FORMAT';

/** Distinct destinations after which a log is refused with an error verdict (set from the memory size). */
export const ENV_MAX_DESTINATIONS = 'RESIDENCY_MAX_DESTINATIONS';
