/**
 * The checker function's configuration, read once from the environment; fails fast naming the
 * variable.
 */
import {
  DEFAULT_AUDIT_OUTPUT_PREFIX,
  DEFAULT_DESTINATIONS_PREFIX,
  DEFAULT_VERDICT_PREFIX,
  ENV_AUDIT_BUCKET,
  ENV_AUDIT_OUTPUT_PREFIX,
  ENV_AUDIT_PREFIXES,
  ENV_BIG_LOG_STATE_MACHINE,
  ENV_BIG_LOG_THRESHOLD_BYTES,
  ENV_DESTINATIONS_PREFIX,
  ENV_MAX_DESTINATIONS,
  ENV_GEOIP_DBS,
  ENV_POLICY,
  ENV_VERDICT_BUCKET,
  ENV_VERDICT_PREFIX,
  ENV_VPC_FORMAT,
} from './env-names';
import { UsageError } from './engine/errors';
import { vpcFormatFields } from './engine/parsers/vpc-flow';
import type { ParserOptions } from './engine/types';

/** Typed, frozen configuration of the checker function. */
export interface CheckerConfig {
  readonly verdictBucket: string;
  readonly verdictPrefix: string;
  /** `RESIDENCY_DESTINATIONS_PREFIX`: where each verdict's destinations go as JSON Lines. */
  readonly destinationsPrefix: string;
  /** `RESIDENCY_POLICY`: preset list, inline JSON, or `s3://` URL. */
  readonly policySpec: string;
  /** `RESIDENCY_GEOIP_DBS`: `s3://` URLs of MMDB databases; empty = the bundled ones. */
  readonly databaseUrls: readonly string[];
  /**
   * Logs larger than `thresholdBytes` go to the split-check state machine instead of being
   * checked here (`RESIDENCY_BIG_LOG_STATE_MACHINE`, `RESIDENCY_BIG_LOG_THRESHOLD_BYTES`); null
   * when not configured.
   */
  readonly bigLog?: { readonly stateMachineArn: string; readonly thresholdBytes: number } | null;
  /** `RESIDENCY_MAX_DESTINATIONS`: distinct destinations after which a log is refused; unset = the engine's default. */
  readonly maxDestinations?: number;
  /** `RESIDENCY_VPC_FORMAT`: the fields of VPC Flow Logs records that come with no header line. */
  readonly parserOptions?: ParserOptions;
}

/** The parser options of `RESIDENCY_VPC_FORMAT`, or none when it is unset. */
function parserOptionsOf(env: Env): Pick<CheckerConfig, 'parserOptions'> {
  const text = env[ENV_VPC_FORMAT]?.trim();
  if (!text) return {};
  try {
    return { parserOptions: Object.freeze({ vpcFields: Object.freeze(vpcFormatFields(text)) }) };
  } catch (err) {
    throw new UsageError(`Environment variable ${ENV_VPC_FORMAT}: ${(err as Error).message}`, { cause: err });
  }
}

/** A whole number of bytes from a variable, or a configuration error naming it. */
export function bytesVariable(env: Env, name: string): number {
  const text = required(env, name);
  if (!/^[1-9]\d{0,15}$/.test(text)) throw new UsageError(`Environment variable ${name} must be a positive whole number of bytes, got '${text}'`);
  return Number(text);
}

/** A positive whole number from a variable, or a configuration error naming it. */
function countVariable(env: Env, name: string): number {
  const text = required(env, name);
  if (!/^[1-9]\d{0,8}$/.test(text)) throw new UsageError(`Environment variable ${name} must be a positive whole number, got '${text}'`);
  return Number(text);
}

function bigLogConfig(env: Env): CheckerConfig['bigLog'] {
  const arn = env[ENV_BIG_LOG_STATE_MACHINE]?.trim();
  if (!arn) return null;
  return Object.freeze({ stateMachineArn: arn, thresholdBytes: bytesVariable(env, ENV_BIG_LOG_THRESHOLD_BYTES) });
}

type Env = Readonly<Record<string, string | undefined>>;

function required(env: Env, name: string): string {
  const v = env[name];
  if (v === undefined || v.trim() === '') throw new UsageError(`Environment variable ${name} is required`);
  return v.trim();
}

/** Reads the configuration from environment variables. */
export function loadConfig(env: Env): CheckerConfig {
  const verdictPrefix = env[ENV_VERDICT_PREFIX] ?? DEFAULT_VERDICT_PREFIX;
  if (verdictPrefix !== '' && !verdictPrefix.endsWith('/')) {
    throw new UsageError(`Environment variable ${ENV_VERDICT_PREFIX} must end with '/', got '${verdictPrefix}'`);
  }
  const destinationsPrefix = env[ENV_DESTINATIONS_PREFIX] ?? DEFAULT_DESTINATIONS_PREFIX;
  if (!/^[^/*?][^*?]*\/$/.test(destinationsPrefix)) {
    throw new UsageError(
      `Environment variable ${ENV_DESTINATIONS_PREFIX} must be a key prefix ending with '/' (no leading '/', no wildcard), got '${destinationsPrefix}'`,
    );
  }
  const dbs = (env[ENV_GEOIP_DBS] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const url of dbs) {
    if (!url.startsWith('s3://')) throw new UsageError(`Environment variable ${ENV_GEOIP_DBS}: '${url}' is not an s3:// URL`);
  }
  return Object.freeze({
    verdictBucket: required(env, ENV_VERDICT_BUCKET),
    verdictPrefix,
    destinationsPrefix,
    policySpec: env[ENV_POLICY]?.trim() || 'us',
    databaseUrls: Object.freeze(dbs),
    bigLog: bigLogConfig(env),
    ...(env[ENV_MAX_DESTINATIONS]?.trim() ? { maxDestinations: countVariable(env, ENV_MAX_DESTINATIONS) } : {}),
    ...parserOptionsOf(env),
  });
}

/** Typed, frozen configuration of the audit function: the checker's, plus what to audit. */
export interface AuditConfig extends CheckerConfig {
  /** `RESIDENCY_AUDIT_BUCKET`: the bucket whose logs are re-checked. */
  readonly auditBucket: string;
  /** `RESIDENCY_AUDIT_PREFIXES`: key prefixes of that bucket the audit covers. */
  readonly auditPrefixes: readonly string[];
  /** `RESIDENCY_AUDIT_OUTPUT_PREFIX`: where runs go in the verdict bucket; ends with `/`. */
  readonly auditOutputPrefix: string;
}

/** Reads the audit function's configuration from environment variables. */
export function loadAuditConfig(env: Env): AuditConfig {
  const prefixes = required(env, ENV_AUDIT_PREFIXES).split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const p of prefixes) {
    if (/[*?]/.test(p) || p.startsWith('/')) {
      throw new UsageError(`Environment variable ${ENV_AUDIT_PREFIXES}: '${p}' is not a key prefix (no wildcards, no leading '/')`);
    }
  }
  if (prefixes.length === 0) throw new UsageError(`Environment variable ${ENV_AUDIT_PREFIXES} is required`);
  const outputPrefix = env[ENV_AUDIT_OUTPUT_PREFIX] ?? DEFAULT_AUDIT_OUTPUT_PREFIX;
  if (!outputPrefix.endsWith('/') || outputPrefix.startsWith('/')) {
    throw new UsageError(`Environment variable ${ENV_AUDIT_OUTPUT_PREFIX} must end with '/' (and not start with one), got '${outputPrefix}'`);
  }
  return Object.freeze({
    ...loadConfig(env),
    auditBucket: required(env, ENV_AUDIT_BUCKET),
    auditPrefixes: Object.freeze(prefixes),
    auditOutputPrefix: outputPrefix,
  });
}
