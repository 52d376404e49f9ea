import { Duration, Stack, Token } from 'aws-cdk-lib';
import { CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import { CfnDatabase, CfnTable } from 'aws-cdk-lib/aws-glue';
import { PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Bucket, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  DESTINATION_COLUMNS,
  DESTINATIONS_PARTITION_COLUMN,
  DESTINATIONS_PARTITION_FORMAT,
} from '../../lambda/engine/verdict/destination-columns';
import { DEFAULT_DESTINATIONS_PREFIX } from '../../lambda/env-names';
import { validateKeyPrefix } from './key-prefix';
import { secureBucketDefaults } from './secure-bucket-defaults';

/** Default name of the Glue table over the destinations JSON Lines. */
export const DEFAULT_DESTINATIONS_TABLE_NAME = 'destinations';
/** Default first date partition projection generates: checks before it are not queried. */
export const DEFAULT_FIRST_CHECK_DATE = '2024-01-01';
/** Default number of days Athena query results are kept. */
export const DEFAULT_RESULT_RETENTION_DAYS = 30;
/** Default most bytes one query may scan (1 GiB of gzip JSON Lines, about 12 million rows). */
export const DEFAULT_BYTES_SCANNED_CUTOFF_PER_QUERY = 1024 ** 3;
/** Key prefix of query results in the results bucket. */
export const QUERY_RESULTS_PREFIX = 'results/';
/**
 * SerDe of the table: the Hive JSON SerDe. AWS documents that the OpenX JSON SerDe can return
 * non-deterministic results (more or fewer rows, unexpected nulls) and recommends the Hive one
 * instead; an audit table must count the same rows every time.
 */
export const DESTINATIONS_SERDE = 'org.apache.hive.hcatalog.data.JsonSerDe';

/** Properties of a {@link VerdictCatalog}. */
export interface VerdictCatalogProps {
  /** The verdict bucket, where the checker writes the destinations JSON Lines. */
  readonly verdictBucket: IBucket;
  /** Destination of the query-results bucket's S3 server access logs. */
  readonly accessLogBucket: IBucket;
  /**
   * Key prefix of the destinations JSON Lines in the verdict bucket.
   *
   * @default 'destinations/'
   */
  readonly destinationsPrefix?: string;
  /**
   * Name of the Glue database (lower-case letters, digits, `_`).
   *
   * @default - the stack name in lower case, other characters as `_` (`residency`)
   */
  readonly databaseName?: string;
  /**
   * Name of the Glue table.
   *
   * @default 'destinations'
   */
  readonly tableName?: string;
  /**
   * Name of the Athena workgroup.
   *
   * @default - the stack name in lower case followed by `-audit` (`residency-audit`)
   */
  readonly workGroupName?: string;
  /**
   * First check date (`yyyy-MM-dd`, UTC) partition projection generates; the last is today.
   *
   * @default '2024-01-01'
   */
  readonly firstCheckDate?: string;
  /**
   * Days Athena query results are kept in the results bucket.
   *
   * @default 30
   */
  readonly resultRetentionDays?: number;
  /**
   * Most bytes one query of the workgroup may scan before Athena cancels it (at least 10 MB).
   *
   * @default 1 GiB
   */
  readonly bytesScannedCutoffPerQuery?: number;
}

/**
 * Makes every verdict's destinations queryable with Athena: a Glue database and an external table
 * over the JSON Lines the checker writes (columns from the shared list in
 * `lambda/engine/verdict/destination-columns.ts`, partitioned by check date through partition
 * projection, so no crawler and no `MSCK REPAIR`), and an Athena workgroup that enforces an
 * encrypted result location in a bucket of its own.
 */
export class VerdictCatalog extends Construct {
  /** Key prefix of the destinations JSON Lines in the verdict bucket. */
  public readonly destinationsPrefix: string;
  /** Name of the Glue database. */
  public readonly databaseName: string;
  /** Name of the Glue table. */
  public readonly tableName: string;
  /** Name of the Athena workgroup. */
  public readonly workGroupName: string;
  /** Where Athena writes query results. */
  public readonly resultsBucket: IBucket;
  /** The Glue database. */
  public readonly database: CfnDatabase;
  /** The Glue table. */
  public readonly table: CfnTable;
  /** The Athena workgroup. */
  public readonly workGroup: CfnWorkGroup;
  private readonly verdictBucket: IBucket;

  constructor(scope: Construct, id: string, props: VerdictCatalogProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const baseName = Token.isUnresolved(stack.stackName)
      ? 'residency'
      : stack.stackName.toLowerCase().replace(/[^a-z0-9_]/g, '_');
    this.destinationsPrefix = validateKeyPrefix(
      'VerdictCatalog destinationsPrefix',
      props.destinationsPrefix ?? DEFAULT_DESTINATIONS_PREFIX,
    );
    const glueName = /^[a-z0-9_]{1,255}$/;
    const glueRule = "lower-case letters, digits and '_'";
    this.databaseName = checkName(
      'databaseName',
      props.databaseName ?? baseName,
      glueName,
      glueRule,
    );
    this.tableName = checkName(
      'tableName',
      props.tableName ?? DEFAULT_DESTINATIONS_TABLE_NAME,
      glueName,
      glueRule,
    );
    this.workGroupName = checkName(
      'workGroupName',
      props.workGroupName ?? `${baseName.replace(/_/g, '-')}-audit`,
      /^[a-zA-Z0-9._-]{1,128}$/,
      "letters, digits, '.', '_' and '-'",
    );
    const firstCheckDate = props.firstCheckDate ?? DEFAULT_FIRST_CHECK_DATE;
    const firstCheckTime = Date.parse(`${firstCheckDate}T00:00:00Z`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(firstCheckDate) || Number.isNaN(firstCheckTime)) {
      throw new Error(
        `VerdictCatalog firstCheckDate: expected a date as yyyy-MM-dd, got '${firstCheckDate}'`,
      );
    }
    const retentionDays = props.resultRetentionDays ?? DEFAULT_RESULT_RETENTION_DAYS;
    if (!Number.isInteger(retentionDays) || retentionDays < 1) {
      throw new Error(
        'VerdictCatalog resultRetentionDays: expected a whole number of days >= 1, ' +
          `got ${retentionDays}`,
      );
    }
    const cutoff = props.bytesScannedCutoffPerQuery ?? DEFAULT_BYTES_SCANNED_CUTOFF_PER_QUERY;
    // Athena's minimum; CloudFormation takes the property as a 32-bit integer.
    if (!Number.isInteger(cutoff) || cutoff < 10_000_000 || cutoff > 2 ** 31 - 1) {
      throw new Error(
        'VerdictCatalog bytesScannedCutoffPerQuery: expected a whole number from 10000000 to ' +
          `2147483647, got ${cutoff}`,
      );
    }
    this.verdictBucket = props.verdictBucket;

    const location = `s3://${props.verdictBucket.bucketName}/${this.destinationsPrefix}`;
    const dt = DESTINATIONS_PARTITION_COLUMN.name;
    this.database = new CfnDatabase(this, 'Database', {
      catalogId: stack.account,
      databaseInput: {
        name: this.databaseName,
        description: 'Residency verdicts, queryable with Athena (docs/athena.md)',
      },
    });
    this.table = new CfnTable(this, 'DestinationsTable', {
      catalogId: stack.account,
      // The database's Ref is its name: the table is created after it.
      databaseName: this.database.ref,
      tableInput: {
        name: this.tableName,
        description:
          'One row per destination of every verdict, with the verdict context (docs/athena.md)',
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: [{ ...DESTINATIONS_PARTITION_COLUMN }],
        parameters: {
          classification: 'json',
          compressionType: 'gzip',
          typeOfData: 'file',
          // Partition projection: Athena computes the partitions from these properties instead of
          // reading them from the catalog, so a new day's objects are queryable as soon as written.
          'projection.enabled': 'true',
          [`projection.${dt}.type`]: 'date',
          [`projection.${dt}.format`]: DESTINATIONS_PARTITION_FORMAT,
          [`projection.${dt}.range`]: `${firstCheckDate},NOW`,
          [`projection.${dt}.interval`]: '1',
          [`projection.${dt}.interval.unit`]: 'DAYS',
          // `${dt}` is filled in by Athena (a literal here: Fn::Join does not substitute).
          'storage.location.template': `${location}${dt}=\${${dt}}/`,
        },
        storageDescriptor: {
          location,
          columns: DESTINATION_COLUMNS.map(({ name, type, comment }) => ({ name, type, comment })),
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          compressed: true,
          serdeInfo: { serializationLibrary: DESTINATIONS_SERDE },
        },
      },
    });

    const defaults = secureBucketDefaults(props.accessLogBucket, 'athena-results/');
    this.resultsBucket = new Bucket(this, 'ResultsBucket', {
      ...defaults,
      lifecycleRules: [
        ...(defaults.lifecycleRules ?? []),
        {
          expiration: Duration.days(retentionDays),
          noncurrentVersionExpiration: Duration.days(1),
        },
      ],
    });

    this.workGroup = new CfnWorkGroup(this, 'WorkGroup', {
      name: this.workGroupName,
      description: 'Queries over the residency verdicts (docs/athena.md)',
      state: 'ENABLED',
      workGroupConfiguration: {
        // Queries cannot send their results elsewhere, or unencrypted.
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: cutoff,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${this.resultsBucket.bucketName}/${QUERY_RESULTS_PREFIX}`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
          expectedBucketOwner: stack.account,
        },
      },
    });
  }

  /**
   * Lets `grantee` (an auditor's role) query the table in the workgroup: run and read queries in
   * the workgroup, read the database and table definitions, read the destinations objects, and
   * write and read the results. Nothing else: it cannot read the verdicts or the uploads.
   */
  public grantQuery(grantee: IGrantable): void {
    const stack = Stack.of(this);
    const arn = (service: string, resource: string, resourceName?: string): string =>
      stack.formatArn({
        service,
        resource,
        ...(resourceName !== undefined ? { resourceName } : {}),
      });
    const principal = grantee.grantPrincipal;
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [
          'athena:GetWorkGroup',
          'athena:StartQueryExecution',
          'athena:StopQueryExecution',
          'athena:GetQueryExecution',
          'athena:BatchGetQueryExecution',
          'athena:ListQueryExecutions',
          'athena:GetQueryResults',
          'athena:GetQueryResultsStream',
        ],
        resources: [arn('athena', 'workgroup', this.workGroupName)],
      }),
    );
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['glue:GetDatabase', 'glue:GetDatabases', 'glue:GetTable', 'glue:GetTables'],
        resources: [
          arn('glue', 'catalog'),
          arn('glue', 'database', this.databaseName),
          arn('glue', 'table', `${this.databaseName}/${this.tableName}`),
        ],
      }),
    );
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [this.verdictBucket.arnForObjects(`${this.destinationsPrefix}*`)],
      }),
    );
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.verdictBucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${this.destinationsPrefix}*`] } },
      }),
    );
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['s3:GetBucketLocation'],
        resources: [this.verdictBucket.bucketArn],
      }),
    );
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [
          's3:GetObject',
          's3:PutObject',
          's3:AbortMultipartUpload',
          's3:ListMultipartUploadParts',
        ],
        resources: [this.resultsBucket.arnForObjects(`${QUERY_RESULTS_PREFIX}*`)],
      }),
    );
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['s3:ListBucket', 's3:GetBucketLocation', 's3:ListBucketMultipartUploads'],
        resources: [this.resultsBucket.bucketArn],
      }),
    );
  }
}

function checkName(prop: string, value: string, pattern: RegExp, rule: string): string {
  if (!pattern.test(value)) {
    throw new Error(`VerdictCatalog ${prop}: expected ${rule}, got '${value}'`);
  }
  return value;
}
