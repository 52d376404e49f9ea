import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { destinationsKeyOf } from '../../lambda/adapters/s3-destinations-sink';
import { verdictKeyOf } from '../../lambda/adapters/s3-check-object';
import { DESTINATION_COLUMNS } from '../../lambda/engine/verdict/destination-columns';
import { VerdictCatalog } from '../../lib/constructs/verdict-catalog';
import { ResidencyStack } from '../../lib/residency-stack';
import { everyFieldVerdict, parseRows, rowsText, type DestinationRow } from '../helpers/destination-rows';
import { droneVerdict } from '../report/report-fixtures';
import { newTestApp, PROJECT_ROOT, SKIP_BUNDLING } from './test-app';

/** A Hive column type, as Glue declares it. */
type HiveType =
  | { kind: 'primitive'; name: string }
  | { kind: 'array'; element: HiveType }
  | { kind: 'map'; key: HiveType; value: HiveType }
  | { kind: 'struct'; fields: [string, HiveType][] };

/** Parses `array<struct<a:string,b:bigint>>` and the like (Hive's type grammar, no spaces). */
function parseHiveType(text: string): HiveType {
  let at = 0;
  const name = (): string => {
    const m = /^[a-z_][a-z0-9_]*/.exec(text.slice(at));
    if (!m) throw new Error(`${text}: expected a name at ${at}`);
    at += m[0].length;
    return m[0];
  };
  const take = (c: string): void => {
    if (text[at] !== c) throw new Error(`${text}: expected '${c}' at ${at}`);
    at++;
  };
  const type = (): HiveType => {
    const t = name();
    if (t === 'array') {
      take('<');
      const element = type();
      take('>');
      return { kind: 'array', element };
    }
    if (t === 'map') {
      take('<');
      const key = type();
      take(',');
      const value = type();
      take('>');
      return { kind: 'map', key, value };
    }
    if (t === 'struct') {
      take('<');
      const fields: [string, HiveType][] = [];
      for (;;) {
        const field = name();
        take(':');
        fields.push([field, type()]);
        if (text[at] !== ',') break;
        at++;
      }
      take('>');
      return { kind: 'struct', fields };
    }
    return { kind: 'primitive', name: t };
  };
  const parsed = type();
  if (at !== text.length) throw new Error(`${text}: unexpected text at ${at}`);
  return parsed;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** How `value` (a parsed JSON value) fails to be readable as `type`; empty when it is. Null fits every type. */
function misfits(value: unknown, type: HiveType, at: string): string[] {
  if (value === null) return [];
  const no = (expected: string): string[] => [`${at}: ${JSON.stringify(value)} is not ${expected}`];
  switch (type.kind) {
    case 'primitive':
      switch (type.name) {
        case 'string':
          return typeof value === 'string' ? [] : no('a string');
        case 'boolean':
          return typeof value === 'boolean' ? [] : no('a boolean');
        case 'int':
          return Number.isInteger(value) && Math.abs(value as number) < 2 ** 31 ? [] : no('an int');
        case 'bigint':
          return Number.isInteger(value) && Math.abs(value as number) < 2 ** 63 ? [] : no('a bigint');
        default:
          return [`${at}: type ${type.name} is not covered by this test`];
      }
    case 'array':
      return Array.isArray(value) ? value.flatMap((v, i) => misfits(v, type.element, `${at}[${i}]`)) : no('an array');
    case 'map':
      if (!isPlainObject(value)) return no('an object (map)');
      if (type.key.kind !== 'primitive' || type.key.name !== 'string') return [`${at}: JSON object keys are strings`];
      return Object.entries(value).flatMap(([k, v]) => misfits(v, type.value, `${at}.${k}`));
    case 'struct': {
      if (!isPlainObject(value)) return no('an object (struct)');
      const declared = type.fields.map(([f]) => f);
      const keys = Object.keys(value);
      const extra = keys.filter((k) => !declared.includes(k)).map((k) => `${at}.${k}: not a field of the struct`);
      const missing = declared.filter((f) => !keys.includes(f)).map((f) => `${at}.${f}: missing`);
      return [...extra, ...missing, ...type.fields.flatMap(([f, t]) => misfits(value[f], t, `${at}.${f}`))];
    }
  }
}

/**
 * Athena's reserved words (DDL and SELECT lists of
 * https://docs.aws.amazon.com/athena/latest/ug/reserved-words.html): a column named like one would
 * have to be quoted in every query.
 */
const ATHENA_RESERVED_WORDS = new Set(
  (
    'all alter and array as authorization between bigint binary boolean both by case cashe cast char column conf ' +
    'constraint commit create cross cube current current_date current_timestamp cursor database date dayofweek ' +
    'decimal delete describe distinct double drop else end exchange exists extended external extract false fetch ' +
    'float floor following for foreign from full function grant group grouping having if import in inner insert ' +
    'int integer intersect interval into is join lateral left less like local macro map more none not null numeric ' +
    'of on only or order out outer over partialscan partition percent preceding precision preserve primary procedure ' +
    'range reads reduce regexp references revoke right rlike rollback rollup row rows select set smallint start table ' +
    'tablesample then time timestamp to transform trigger true truncate unbounded union uniquejoin update user using ' +
    'utc_timestamp values varchar views when where window with current_path current_time current_user deallocate ' +
    'escape except execute first last localtime localtimestamp natural normalize prepare recursive skip uescape unnest'
  ).split(' '),
);

interface GlueColumn {
  Name: string;
  Type: string;
  Comment?: string;
}

interface SynthesizedCatalog {
  stack: ResidencyStack;
  template: Template;
  table: {
    Name: string;
    TableType: string;
    Parameters: Record<string, unknown>;
    PartitionKeys: GlueColumn[];
    StorageDescriptor: { Columns: GlueColumn[]; Location: unknown; [k: string]: unknown };
  };
  tableResource: { Properties: Record<string, unknown> };
}

/** The app's stack as `bin/residency-app.ts` builds it, synthesized, and its one Glue table. */
function synthesizeCatalog(): SynthesizedCatalog {
  const app = newTestApp();
  const stack = new ResidencyStack(app, 'Residency');
  const template = Template.fromStack(stack);
  const tables = Object.values(template.findResources('AWS::Glue::Table'));
  expect(tables).toHaveLength(1);
  const tableResource = tables[0] as { Properties: Record<string, unknown> };
  return { stack, template, table: tableResource.Properties.TableInput as SynthesizedCatalog['table'], tableResource };
}

/** The single resource of `type`: its logical ID and properties. */
function only(template: Template, type: string): [string, Record<string, unknown>] {
  const found = Object.entries(template.findResources(type));
  expect(found).toHaveLength(1);
  return [found[0]![0], (found[0]![1] as { Properties: Record<string, unknown> }).Properties];
}

describe('the destinations table of the synthesized stack', () => {
  let synth: SynthesizedCatalog;
  let rows: DestinationRow[];

  beforeAll(async () => {
    synth = synthesizeCatalog();
    // Rows of a verdict with every column set, and of the README's example checked for real.
    rows = [...parseRows(rowsText(everyFieldVerdict())), ...parseRows(rowsText(await droneVerdict()))];
  });

  it('declares exactly the keys the JSON Lines writer writes, in their order', () => {
    // Prepare
    const columns = synth.table.StorageDescriptor.Columns.map((c) => c.Name);

    // Assess: every key is a column and every column a key, on every row.
    expect(columns.length).toBeGreaterThan(20);
    for (const row of rows) expect(Object.keys(row)).toEqual(columns);
  });

  it('declares a type every value written can be read as, and no value is untested', () => {
    // Prepare
    const columns = synth.table.StorageDescriptor.Columns;

    // Act
    const problems = columns.flatMap((c) => {
      const type = parseHiveType(c.Type);
      return rows.flatMap((row, i) => misfits(row[c.Name], type, `row ${i} ${c.Name} (${c.Type})`));
    });

    // Assess: no misfit, and each column had a non-null value to check.
    expect(problems).toEqual([]);
    const untested = columns.filter((c) => rows.every((row) => row[c.Name] === null)).map((c) => c.Name);
    expect(untested).toEqual([]);
  });

  it('describes every column, and uses no Athena reserved word as a name', () => {
    for (const c of [...synth.table.StorageDescriptor.Columns, ...synth.table.PartitionKeys]) {
      expect(c.Comment?.length ?? 0).toBeGreaterThan(10);
      expect(c.Comment!.length).toBeLessThanOrEqual(255);
      expect({ [c.Name]: ATHENA_RESERVED_WORDS.has(c.Name) }).toEqual({ [c.Name]: false });
    }
  });

  it('partitions by the check date, which is a directory of the key and not a key of the rows', () => {
    expect(synth.table.PartitionKeys).toEqual([expect.objectContaining({ Name: 'dt', Type: 'string' })]);
    for (const row of rows) expect(row).not.toHaveProperty('dt');
    expect(synth.table.StorageDescriptor.Columns.map((c) => c.Name)).not.toContain('dt');
  });

  it('reads gzip-compressed JSON Lines with the Hive JSON SerDe, as an external table in the verdict bucket', () => {
    const verdictBucket = synth.stack.resolve(synth.stack.verdictBucket.bucket.bucketName);
    expect(synth.table).toMatchObject({
      Name: 'destinations',
      TableType: 'EXTERNAL_TABLE',
      Parameters: { classification: 'json', compressionType: 'gzip' },
      StorageDescriptor: {
        Location: { 'Fn::Join': ['', ['s3://', verdictBucket, '/destinations/']] },
        InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
        OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
        Compressed: true,
        SerdeInfo: { SerializationLibrary: 'org.apache.hive.hcatalog.data.JsonSerDe' },
      },
    });
  });

  it('projects one partition per UTC day from 2024-01-01 to today, at dt=yyyy-MM-dd/ under the destinations prefix', () => {
    const verdictBucket = synth.stack.resolve(synth.stack.verdictBucket.bucket.bucketName);
    expect(synth.table.Parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.dt.type': 'date',
      'projection.dt.format': 'yyyy-MM-dd',
      'projection.dt.range': '2024-01-01,NOW',
      'projection.dt.interval': '1',
      'projection.dt.interval.unit': 'DAYS',
      'storage.location.template': { 'Fn::Join': ['', ['s3://', verdictBucket, '/destinations/dt=${dt}/']] },
    });
  });

  it('finds the object the function writes for a verdict in the partition of its check date', () => {
    // Prepare: where the template says a day's rows are, with the bucket name filled in.
    const template = synth.table.Parameters['storage.location.template'] as { 'Fn::Join': [string, unknown[]] };
    const [, parts] = template['Fn::Join'];
    const v = everyFieldVerdict();

    // Act
    const key = destinationsKeyOf('destinations/', v, verdictKeyOf('verdicts/', v.input.name));
    const directory = parts.map((p) => (typeof p === 'string' ? p : 'BUCKET')).join('').replace('${dt}', '2026-01-01');

    // Assess: checked 2026-01-01T00:00:00Z, so listed (only) when a query asks for dt = '2026-01-01'.
    expect(v.checkedAt.startsWith('2026-01-01T')).toBe(true);
    expect(key).toMatch(/^destinations\/dt=2026-01-01\/[0-9a-f]{32}\.jsonl\.gz$/);
    expect(`s3://BUCKET/${key}`.startsWith(directory)).toBe(true);
    expect(key!.slice(directory.length - 's3://BUCKET/'.length)).not.toContain('/');
  });

  it('is in the Glue database the stack creates, and made after it', () => {
    const [databaseId, database] = only(synth.template, 'AWS::Glue::Database');
    expect(database).toEqual({
      CatalogId: { Ref: 'AWS::AccountId' },
      DatabaseInput: { Name: 'residency', Description: expect.any(String) },
    });
    expect(synth.tableResource.Properties).toMatchObject({ CatalogId: { Ref: 'AWS::AccountId' }, DatabaseName: { Ref: databaseId } });
  });

  describe('the Athena workgroup', () => {
    it('enforces encrypted results in a bucket of its own, on engine version 3, with a scan cutoff', () => {
      const resultsBuckets = Object.keys(filterByPath(synth.template.findResources('AWS::S3::Bucket'), 'CatalogResultsBucket'));
      expect(resultsBuckets).toHaveLength(1);
      const resultsBucket = resultsBuckets[0];
      synth.template.hasResourceProperties('AWS::Athena::WorkGroup', {
        Name: 'residency-audit',
        State: 'ENABLED',
        WorkGroupConfiguration: {
          EnforceWorkGroupConfiguration: true,
          PublishCloudWatchMetricsEnabled: true,
          BytesScannedCutoffPerQuery: 1024 ** 3,
          EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
          ResultConfiguration: {
            OutputLocation: { 'Fn::Join': ['', ['s3://', { Ref: resultsBucket }, '/results/']] },
            EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
            ExpectedBucketOwner: { Ref: 'AWS::AccountId' },
          },
        },
      });
      synth.template.resourceCountIs('AWS::Athena::WorkGroup', 1);
    });

    it('keeps query results 30 days in an encrypted, versioned, TLS-only, access-logged bucket', () => {
      const results = filterByPath(synth.template.findResources('AWS::S3::Bucket'), 'CatalogResultsBucket');
      const [id, bucket] = Object.entries(results)[0]!;
      expect(bucket.Properties).toMatchObject({
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        VersioningConfiguration: { Status: 'Enabled' },
        LoggingConfiguration: { LogFilePrefix: 'athena-results/' },
        LifecycleConfiguration: {
          Rules: [
            { AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 }, Status: 'Enabled' },
            { ExpirationInDays: 30, NoncurrentVersionExpiration: { NoncurrentDays: 1 }, Status: 'Enabled' },
          ],
        },
      });
      expect(bucket.Properties).not.toHaveProperty('ObjectLockEnabled');
      synth.template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });
  });

  it('outputs the destinations prefix and the database, table and workgroup names', () => {
    synth.template.hasOutput('DestinationsPrefix', { Value: 'destinations/' });
    synth.template.hasOutput('AthenaDatabaseName', { Value: 'residency' });
    synth.template.hasOutput('AthenaTableName', { Value: 'destinations' });
    synth.template.hasOutput('AthenaWorkGroupName', { Value: 'residency-audit' });
  });
});

/** The resources whose logical ID starts with `prefix`. */
function filterByPath<T>(resources: Record<string, T>, prefix: string): Record<string, T> {
  return Object.fromEntries(Object.entries(resources).filter(([id]) => id.startsWith(prefix)));
}

describe('VerdictCatalog.grantQuery', () => {
  let template: Template;
  let stack: Stack;
  let catalog: VerdictCatalog;

  beforeAll(() => {
    // Prepare: an auditor's role in a stack with a verdict bucket and the catalog over it.
    stack = new Stack(newTestApp(SKIP_BUNDLING), 'Audit');
    const logs = new Bucket(stack, 'Logs');
    const verdicts = new Bucket(stack, 'Verdicts');
    catalog = new VerdictCatalog(stack, 'Catalog', { verdictBucket: verdicts, accessLogBucket: logs });
    const auditor = new Role(stack, 'Auditor', { assumedBy: new ServicePrincipal('athena.amazonaws.com') });

    // Act
    catalog.grantQuery(auditor);
    template = Template.fromStack(stack);
  });

  function statements(): { Action: string | string[]; Resource: unknown; Condition?: unknown }[] {
    const [, policy] = only(template, 'AWS::IAM::Policy');
    return (policy.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement;
  }

  const actionsOf = (s: { Action: string | string[] }): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

  it('lets the role run queries in the workgroup only, and read the database and table', () => {
    const all = statements();
    const athena = all.find((s) => actionsOf(s).includes('athena:StartQueryExecution'));
    expect(athena?.Resource).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':athena:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':workgroup/audit-audit']],
    });
    const glue = all.find((s) => actionsOf(s).includes('glue:GetTable'));
    expect(JSON.stringify(glue?.Resource)).toContain(':table/audit/destinations');
    for (const s of all) for (const a of actionsOf(s)) expect(a).not.toContain('*');
  });

  it('lets it read the destinations objects, and neither the verdicts nor anything else in the verdict bucket', () => {
    const reads = statements().filter((s) => actionsOf(s).includes('s3:GetObject'));
    const resources = JSON.stringify(reads.map((s) => s.Resource));
    expect(resources).toContain('/destinations/*');
    expect(resources).toContain('/results/*');
    expect(resources).not.toContain('/verdicts/');
    const listing = statements().find((s) => actionsOf(s).includes('s3:ListBucket') && s.Condition !== undefined);
    expect(listing?.Condition).toEqual({ StringLike: { 's3:prefix': ['destinations/*'] } });
  });
});

describe('VerdictCatalog props validation', () => {
  const build = (props: Partial<ConstructorParameters<typeof VerdictCatalog>[2]>) => () => {
    const stack = new Stack(newTestApp(SKIP_BUNDLING), 'Audit');
    return new VerdictCatalog(stack, 'Catalog', {
      verdictBucket: new Bucket(stack, 'Verdicts'),
      accessLogBucket: new Bucket(stack, 'Logs'),
      ...props,
    });
  };

  it.each([
    [{ databaseName: 'Residency' }, /databaseName: expected lower-case letters/],
    [{ tableName: 'dest-inations' }, /tableName: expected lower-case letters/],
    [{ workGroupName: 'audit group' }, /workGroupName: expected letters/],
    [{ firstCheckDate: '2024-1-1' }, /firstCheckDate: expected a date as yyyy-MM-dd/],
    [{ resultRetentionDays: 0 }, /resultRetentionDays: expected a whole number/],
    [{ bytesScannedCutoffPerQuery: 1_000 }, /bytesScannedCutoffPerQuery: expected a whole number from 10000000/],
    [{ destinationsPrefix: 'rows/*' }, /destinationsPrefix: expected a non-empty S3 key prefix/],
  ])('rejects %j', (props, message) => {
    expect(build(props)).toThrow(message);
  });

  it('takes the names and limits it is given', () => {
    const catalog = build({ databaseName: 'audit_db', tableName: 'rows', workGroupName: 'Auditors', firstCheckDate: '2025-06-01' })();
    const template = Template.fromStack(Stack.of(catalog));
    template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'audit_db' } });
    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({ Name: 'rows', Parameters: Match.objectLike({ 'projection.dt.range': '2025-06-01,NOW' }) }),
    });
    template.hasResourceProperties('AWS::Athena::WorkGroup', { Name: 'Auditors' });
  });
});

describe('docs/athena.md', () => {
  const doc = readFileSync(path.join(PROJECT_ROOT, 'docs', 'athena.md'), 'utf8');
  const queries = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!);

  /** SQL words and names that are not columns: keywords, type names, units, the table. */
  const NOT_COLUMNS = new Set(
    (
      'select from where and or not as group by order asc desc limit in is null like between case when then else end ' +
      'distinct having with join cross unnest on interval day days current_date true false varchar bigint date ' +
      'timestamp residency destinations over partition nulls last first'
    ).split(' '),
  );

  /** Field names of the struct columns (`databases`), which queries reach as `alias.field`. */
  function structFields(): Set<string> {
    const fields = new Set<string>();
    const walk = (t: HiveType): void => {
      if (t.kind === 'array') walk(t.element);
      else if (t.kind === 'map') walk(t.value);
      else if (t.kind === 'struct') {
        for (const [f, ft] of t.fields) {
          fields.add(f);
          walk(ft);
        }
      }
    };
    for (const c of DESTINATION_COLUMNS) walk(parseHiveType(c.type));
    return fields;
  }

  /**
   * The names a query reads: identifiers that are not keywords, function names, aliases (`AS x`,
   * `AS t(x)`) or in quotes; `alias.field` counts as a struct field.
   */
  function namesUsed(sql: string): { columns: Set<string>; fields: Set<string> } {
    const bare = sql.replace(/--[^\n]*/g, '').replace(/'(?:[^']|'')*'/g, "''");
    const aliases = new Set<string>();
    for (const m of bare.matchAll(/\bas\s+([a-z_][a-z0-9_]*)(?:\s*\(([^)]*)\))?/gi)) {
      aliases.add(m[1]!.toLowerCase());
      for (const inner of (m[2] ?? '').split(',')) if (inner.trim() !== '') aliases.add(inner.trim().toLowerCase());
    }
    const columns = new Set<string>();
    const fields = new Set<string>();
    for (const m of bare.matchAll(/(\.)?\b([a-z_][a-z0-9_]*)\b(\s*\()?/gi)) {
      const word = m[2]!.toLowerCase();
      if (m[1]) fields.add(word);
      else if (!m[3] && !NOT_COLUMNS.has(word) && !aliases.has(word)) columns.add(word);
    }
    return { columns, fields };
  }

  it('has example queries against the stack’s table', () => {
    expect(queries.length).toBeGreaterThanOrEqual(3);
    for (const q of queries) expect(q).toMatch(/\bfrom\s+residency\.destinations\b/i);
  });

  it('uses only columns the table declares (or its partition column) and fields of its structs', () => {
    const declared = new Set([...DESTINATION_COLUMNS.map((c) => c.name), 'dt']);
    const used = queries.map(namesUsed);
    const columns = new Set(used.flatMap((u) => [...u.columns]));
    const fields = new Set(used.flatMap((u) => [...u.fields]));
    expect([...columns].filter((name) => !declared.has(name))).toEqual([]);
    expect([...fields].filter((name) => !structFields().has(name) && !['destinations'].includes(name))).toEqual([]);
    // Not vacuous: the queries filter by partition and read the columns auditors ask about.
    expect([...columns]).toEqual(expect.arrayContaining(['dt', 'status', 'country', 'input_sha256', 'bytes_sent', 'databases']));
    expect([...fields]).toEqual(expect.arrayContaining(['build_epoch', 'role']));
  });

  it('documents every column with its type', () => {
    for (const c of DESTINATION_COLUMNS) expect(doc).toContain(`| \`${c.name}\` | \`${c.type}\` |`);
  });
});
