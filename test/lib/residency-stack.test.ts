import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ObjectLockMode } from 'aws-cdk-lib/aws-s3';
import { Topic, type ITopic } from 'aws-cdk-lib/aws-sns';
import {
  ENV_DESTINATIONS_PREFIX,
  ENV_MAX_DESTINATIONS,
  ENV_POLICY,
  ENV_VERDICT_BUCKET,
  ENV_VERDICT_PREFIX,
  ENV_VPC_FORMAT,
} from '../../lambda/env-names';
import { BUNDLED_GEOIP_FILES, maxDestinationsFor } from '../../lib/constructs/checker-function';
import { ResidencyStack, type ResidencyStackProps } from '../../lib/residency-stack';
import { newTestApp, PROJECT_ROOT, SKIP_BUNDLING } from './test-app';

interface Synthesized {
  stack: ResidencyStack;
  template: Template;
  outdir: string;
}

/**
 * Synthesizes a ResidencyStack (bundling the handler with esbuild) in a fresh app, next to a
 * stack holding an alarm topic.
 */
function synthesize(props: (alarmTopic: ITopic) => ResidencyStackProps = () => ({})): Synthesized {
  const app = newTestApp();
  const alarmTopic = new Topic(new Stack(app, 'Alarms'), 'AlarmTopic', { enforceSSL: true });
  const stack = new ResidencyStack(app, 'Residency', props(alarmTopic));
  return { stack, template: Template.fromStack(stack), outdir: app.outdir };
}

/** Resolved CloudFormation of `value` in the context of `stack`. */
function cfn(stack: Stack, value: unknown): unknown {
  return stack.resolve(value);
}

/** Logical ID of the single resource of `type` whose construct path contains `pathPart`. */
function logicalId(template: Template, type: string, pathPart: string): string {
  const matches = Object.entries(template.findResources(type)).filter(([id]) =>
    id.startsWith(pathPart),
  );
  expect(matches).toHaveLength(1);
  return matches[0]![0];
}

/** Every Allow statement of every identity policy (inline role policies included). */
function allowStatements(template: Template): Record<string, unknown>[] {
  const documents: { Statement: Record<string, unknown>[] }[] = [];
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    documents.push(policy.Properties.PolicyDocument);
  }
  for (const policy of Object.values(template.findResources('AWS::IAM::ManagedPolicy'))) {
    documents.push(policy.Properties.PolicyDocument);
  }
  for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
    for (const inline of role.Properties.Policies ?? []) documents.push(inline.PolicyDocument);
  }
  return documents.flatMap((d) => d.Statement).filter((s) => s.Effect === 'Allow');
}

const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

describe('ResidencyStack with default props', () => {
  let synth: Synthesized;
  let template: Template;

  beforeAll(() => {
    synth = synthesize();
    template = synth.template;
  });

  describe('buckets', () => {
    it('creates the upload, verdict, access-log, query-results and big-log work buckets and nothing else', () => {
      template.resourceCountIs('AWS::S3::Bucket', 5);
    });

    it('blocks all public access on every bucket', () => {
      template.allResourcesProperties('AWS::S3::Bucket', {
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
      });
    });

    it('encrypts every bucket at rest', () => {
      template.allResourcesProperties('AWS::S3::Bucket', {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
          ],
        },
      });
    });

    it('versions every bucket', () => {
      template.allResourcesProperties('AWS::S3::Bucket', {
        VersioningConfiguration: { Status: 'Enabled' },
      });
    });

    it('denies every non-TLS request in every bucket policy', () => {
      template.resourceCountIs('AWS::S3::BucketPolicy', 5);
      template.allResourcesProperties('AWS::S3::BucketPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    });

    it('logs access to the upload, verdict and query-results buckets into the access-log bucket', () => {
      const buckets = template.findResources('AWS::S3::Bucket');
      const logBucket = logicalId(template, 'AWS::S3::Bucket', 'AccessLogs');
      const loggingOf = (id: string): unknown => buckets[id]?.Properties.LoggingConfiguration;
      expect(loggingOf(logicalId(template, 'AWS::S3::Bucket', 'UploadBucket'))).toEqual({
        DestinationBucketName: { Ref: logBucket },
        LogFilePrefix: 'upload/',
      });
      expect(loggingOf(logicalId(template, 'AWS::S3::Bucket', 'VerdictBucket'))).toEqual({
        DestinationBucketName: { Ref: logBucket },
        LogFilePrefix: 'verdict/',
      });
      expect(loggingOf(logicalId(template, 'AWS::S3::Bucket', 'CatalogResultsBucket'))).toEqual({
        DestinationBucketName: { Ref: logBucket },
        LogFilePrefix: 'athena-results/',
      });
    });

    it('locks verdicts in GOVERNANCE mode for 365 days', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        ObjectLockEnabled: true,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 365 } },
        },
      });
    });

    it('removes incomplete multipart uploads from the upload and verdict buckets', () => {
      const buckets = template.findResources('AWS::S3::Bucket');
      for (const name of ['UploadBucket', 'VerdictBucket']) {
        expect(buckets[logicalId(template, 'AWS::S3::Bucket', name)]?.Properties).toMatchObject({
          LifecycleConfiguration: {
            Rules: [
              { AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 }, Status: 'Enabled' },
            ],
          },
        });
      }
    });

    it('expires access logs instead of keeping them forever', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: {
          Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 365, Status: 'Enabled' })]),
        },
      });
    });
  });

  describe('intake queue', () => {
    it('sends object-created events under incoming/ to the queue', () => {
      const queue = logicalId(template, 'AWS::SQS::Queue', 'IntakeQueue');
      template.hasResourceProperties('Custom::S3BucketNotifications', {
        NotificationConfiguration: {
          QueueConfigurations: [
            {
              Events: ['s3:ObjectCreated:*'],
              Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'incoming/' }] } },
              QueueArn: { 'Fn::GetAtt': [queue, 'Arn'] },
            },
          ],
        },
      });
    });

    it('encrypts both queues and dead-letters after 5 receives', () => {
      const dlq = logicalId(template, 'AWS::SQS::Queue', 'IntakeDeadLetterQueue');
      template.resourceCountIs('AWS::SQS::Queue', 2);
      template.allResourcesProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
      template.hasResourceProperties('AWS::SQS::Queue', {
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: 5 },
      });
    });

    it('denies every non-TLS request in both queue policies', () => {
      template.resourceCountIs('AWS::SQS::QueuePolicy', 2);
      template.allResourcesProperties('AWS::SQS::QueuePolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    });

    it('keeps messages invisible for 6x the function timeout', () => {
      template.hasResourceProperties('AWS::Lambda::Function', { Timeout: 300 });
      template.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 1800 });
    });

    it('feeds the function with per-item failure reporting', () => {
      const queue = logicalId(template, 'AWS::SQS::Queue', 'IntakeQueue');
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: 10,
      });
    });
  });

  describe('checker function', () => {
    it('runs the handler on Node.js 24, arm64, 1024 MB, 5 minutes, with JSON logs', () => {
      const logGroup = logicalId(template, 'AWS::Logs::LogGroup', 'CheckerLogGroup');
      template.hasResourceProperties('AWS::Lambda::Function', {
        Handler: 'index.handler',
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        MemorySize: 1024,
        Timeout: 300,
        LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: logGroup } },
      });
    });

    it('keeps its logs for a year', () => {
      template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
    });

    it('is configured through the shared environment variable names', () => {
      const verdictBucket = logicalId(template, 'AWS::S3::Bucket', 'VerdictBucket');
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: {
            [ENV_VERDICT_BUCKET]: { Ref: verdictBucket },
            [ENV_POLICY]: 'us',
            [ENV_VERDICT_PREFIX]: 'verdicts/',
            [ENV_DESTINATIONS_PREFIX]: 'destinations/',
            // 1024 MiB: about 210,000 destinations before a log is refused instead of exhausting memory.
            [ENV_MAX_DESTINATIONS]: String(maxDestinationsFor(1024)),
            NODE_OPTIONS: '--enable-source-maps --max-semi-space-size=2',
          },
        },
      });
      expect(maxDestinationsFor(1024)).toBe(210_944);
    });

    it('bundles the handler with the GeoIP database next to it, byte for byte', () => {
      const fn = Object.values(template.findResources('AWS::Lambda::Function')).find(
        (f) => f.Properties.Runtime === 'nodejs24.x',
      );
      const assetDir = path.join(
        synth.outdir,
        `asset.${String(fn?.Properties.Code.S3Key).replace(/\.zip$/, '')}`,
      );
      expect(existsSync(path.join(assetDir, 'index.js'))).toBe(true);
      const sha256 = (file: string): string =>
        createHash('sha256').update(readFileSync(file)).digest('hex');
      for (const file of BUNDLED_GEOIP_FILES) {
        const copy = path.join(assetDir, path.basename(file));
        expect(existsSync(copy)).toBe(true);
        expect(sha256(copy)).toBe(sha256(path.join(PROJECT_ROOT, file)));
      }
      expect(BUNDLED_GEOIP_FILES.map((f) => path.basename(f))).toContain(
        'geo-whois-asn-country.mmdb',
      );
    });
  });

  describe('least privilege', () => {
    it('uses no AWS managed policy for the checker role', () => {
      const role = logicalId(template, 'AWS::IAM::Role', 'CheckerRole');
      expect(template.findResources('AWS::IAM::Role')[role]?.Properties.ManagedPolicyArns).toBe(
        undefined,
      );
    });

    it('grants reads under incoming/, verdict reads, writes and listing under verdicts/, and creation under destinations/ only', () => {
      const { stack } = synth;
      const uploads = cfn(stack, stack.uploadBucket.bucket.arnForObjects('incoming/*'));
      const verdicts = cfn(stack, stack.verdictBucket.bucket.arnForObjects('verdicts/*'));
      const destinations = cfn(stack, stack.verdictBucket.bucket.arnForObjects('destinations/*'));
      const s3Statements = allowStatements(template).filter((s) =>
        asArray(s.Action).some((a) => String(a).startsWith('s3:')),
      );
      expect(s3Statements).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Action: ['s3:GetObject', 's3:GetObjectVersion'],
            Resource: uploads,
          }),
          expect.objectContaining({ Action: ['s3:GetObject', 's3:PutObject'], Resource: verdicts }),
          // Listing only under verdicts/, so a missing verdict reads as 404, not 403.
          expect.objectContaining({
            Action: 's3:ListBucket',
            Resource: cfn(stack, stack.verdictBucket.bucket.bucketArn),
            Condition: { StringLike: { 's3:prefix': ['verdicts/*'] } },
          }),
          // The destinations JSON Lines: created (write-once), never read, listed or replaced.
          expect.objectContaining({ Action: 's3:PutObject', Resource: destinations }),
        ]),
      );
      // The split-check function: the same (destinations included: its merge writes verdicts),
      // plus its work bucket under work/ only.
      const work = cfn(stack, stack.bigLogCheck.workBucket.arnForObjects('work/*'));
      expect(s3Statements).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ Action: ['s3:GetObject', 's3:PutObject'], Resource: [work, verdicts] }),
          expect.objectContaining({
            Action: 's3:ListBucket',
            Resource: cfn(stack, stack.bigLogCheck.workBucket.bucketArn),
            Condition: { StringLike: { 's3:prefix': ['work/*'] } },
          }),
        ]),
      );
      // The only other S3 grant: CDK's deploy-time notification handler, on the bucket itself.
      const uploadBucket = cfn(stack, stack.uploadBucket.bucket.bucketArn);
      expect(s3Statements).toHaveLength(10);
      expect(s3Statements).toContainEqual(
        expect.objectContaining({ Action: 's3:PutBucketNotification', Resource: uploadBucket }),
      );
    });

    it('allows no wildcard action and no wildcard resource except those object paths', () => {
      const { stack } = synth;
      const smName = { 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: logicalId(template, 'AWS::StepFunctions::StateMachine', 'BigLog') }] }] };
      const executions = (suffix: string): unknown => ({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':states:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':execution:', smName, suffix]],
      });
      const allowedWildcards = [
        cfn(stack, stack.uploadBucket.bucket.arnForObjects('incoming/*')),
        cfn(stack, stack.verdictBucket.bucket.arnForObjects('verdicts/*')),
        cfn(stack, stack.verdictBucket.bucket.arnForObjects('destinations/*')),
        cfn(stack, stack.bigLogCheck.workBucket.arnForObjects('work/*')),
        // The state machine: any version of its function, and its own Distributed Map runs.
        { 'Fn::Join': ['', [cfn(stack, stack.bigLogCheck.function.function.functionArn), ':*']] },
        executions(':*'),
        executions('/*:*'),
      ];
      // Actions without resource-level permissions, needed for the state machine's logs and traces.
      const unscoped = new Set([
        'logs:CreateLogDelivery', 'logs:DeleteLogDelivery', 'logs:DescribeLogGroups', 'logs:DescribeResourcePolicies',
        'logs:GetLogDelivery', 'logs:ListLogDeliveries', 'logs:PutResourcePolicy', 'logs:UpdateLogDelivery',
        'xray:GetSamplingRules', 'xray:GetSamplingTargets', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments',
      ]);
      const statements = allowStatements(template);
      expect(statements.length).toBeGreaterThan(0);
      for (const statement of statements) {
        for (const action of asArray(statement.Action)) expect(action).not.toMatch(/\*/);
        if (statement.Resource === '*') {
          for (const action of asArray(statement.Action)) expect(unscoped).toContain(action);
          continue;
        }
        for (const resource of asArray(statement.Resource)) {
          if (JSON.stringify(resource).includes('*'))
            expect(allowedWildcards).toContainEqual(resource);
        }
      }
    });
  });

  describe('alarms', () => {
    it('alarms when a message reaches the dead-letter queue', () => {
      const dlq = logicalId(template, 'AWS::SQS::Queue', 'IntakeDeadLetterQueue');
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
      });
    });

    it.each(['Errors', 'Throttles'])('alarms on any function %s', (metric) => {
      const fn = logicalId(template, 'AWS::Lambda::Function', 'CheckerFunction');
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: metric,
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
      });
    });

    it('has no alarm actions without an alarm topic', () => {
      template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
      template.allResourcesProperties('AWS::CloudWatch::Alarm', { AlarmActions: Match.absent() });
    });
  });

  it('outputs both bucket names and both prefixes', () => {
    const uploadBucket = logicalId(template, 'AWS::S3::Bucket', 'UploadBucket');
    const verdictBucket = logicalId(template, 'AWS::S3::Bucket', 'VerdictBucket');
    template.hasOutput('UploadBucketName', { Value: { Ref: uploadBucket } });
    template.hasOutput('VerdictBucketName', { Value: { Ref: verdictBucket } });
    template.hasOutput('UploadPrefix', { Value: 'incoming/' });
    template.hasOutput('VerdictPrefix', { Value: 'verdicts/' });
  });
});

describe('ResidencyStack with overridden props', () => {
  let template: Template;

  beforeAll(() => {
    ({ template } = synthesize((alarmTopic) => ({
      uploadPrefix: 'logs/in/',
      verdictPrefix: 'checked/',
      residencyPolicy: 'eu',
      verdictRetentionMode: ObjectLockMode.COMPLIANCE,
      verdictRetentionDays: 2555,
      maxReceiveCount: 3,
      batchSize: 2,
      functionMemorySize: 3008,
      functionTimeout: Duration.minutes(12),
      alarmTopic,
      destinationsPrefix: 'athena/rows/',
    })));
  });

  it('lets a function with more memory check more destinations', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 3008,
      Environment: { Variables: Match.objectLike({ [ENV_MAX_DESTINATIONS]: String(maxDestinationsFor(3008)) }) },
    });
    expect(maxDestinationsFor(3008)).toBeGreaterThan(3 * maxDestinationsFor(1024));
  });

  it('writes, grants and catalogs the destinations under the given prefix', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [ENV_DESTINATIONS_PREFIX]: 'athena/rows/' }) },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 's3:PutObject',
            Resource: { 'Fn::Join': ['', [Match.anyValue(), '/athena/rows/*']] },
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        StorageDescriptor: Match.objectLike({
          Location: { 'Fn::Join': ['', ['s3://', Match.anyValue(), '/athena/rows/']] },
        }),
        Parameters: Match.objectLike({
          'storage.location.template': {
            'Fn::Join': ['', ['s3://', Match.anyValue(), '/athena/rows/dt=${dt}/']],
          },
        }),
      }),
    });
    template.hasOutput('DestinationsPrefix', { Value: 'athena/rows/' });
  });

  it('locks verdicts with the given mode and period', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 2555 } },
      },
    });
  });

  it('sizes the function and derives the queue visibility timeout from its timeout', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      MemorySize: 3008,
      Timeout: 720,
    });
    template.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 6 * 720 });
  });

  it('dead-letters after the given receive count and batches as asked', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 3 }),
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 2,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('filters notifications, scopes grants and sets the environment by the given prefixes', () => {
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: {
        QueueConfigurations: [
          Match.objectLike({
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'logs/in/' }] } },
          }),
        ],
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['s3:GetObject', 's3:GetObjectVersion'],
            Resource: { 'Fn::Join': ['', [Match.anyValue(), '/logs/in/*']] },
          }),
          Match.objectLike({
            Action: ['s3:GetObject', 's3:PutObject'],
            Resource: { 'Fn::Join': ['', [Match.anyValue(), '/checked/*']] },
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ [ENV_POLICY]: 'eu', [ENV_VERDICT_PREFIX]: 'checked/' }),
      },
    });
    template.hasOutput('UploadPrefix', { Value: 'logs/in/' });
  });

  it('notifies the alarm topic when an alarm fires and when it recovers', () => {
    // A cross-stack reference to the topic's ARN (rendered as a weak reference per cdk.json).
    const topicArn = { 'Fn::GetStackOutput': Match.objectLike({ StackName: 'Alarms' }) };
    template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
    template.allResourcesProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [topicArn],
      OKActions: [topicArn],
    });
  });
});

describe('ResidencyStack props validation', () => {
  const build = (props: ResidencyStackProps) => () =>
    new ResidencyStack(newTestApp(SKIP_BUNDLING), 'Residency', props);

  it.each(['', '*', 'incoming/*', '/incoming/'])('rejects upload prefix %j', (uploadPrefix) => {
    expect(build({ uploadPrefix })).toThrow(/uploadPrefix: expected a non-empty S3 key prefix/);
  });

  it('rejects a wildcard verdict prefix', () => {
    expect(build({ verdictPrefix: 'verdicts/*' })).toThrow(/verdictPrefix/);
  });

  it.each([
    ['the verdict prefix itself', 'verdicts/', {}],
    ['a prefix inside the verdict prefix', 'verdicts/destinations/', {}],
    ['a prefix holding the verdict prefix', 'audit/', { verdictPrefix: 'audit/verdicts/' }],
  ])('rejects %s as destinations prefix', (_what, destinationsPrefix, more) => {
    expect(build({ destinationsPrefix, ...more })).toThrow(
      /destinationsPrefix: '.*' overlaps the prefix '.*verdicts\/'/,
    );
  });

  it.each(['', 'destinations/*', '/destinations/'])('rejects destinations prefix %j', (destinationsPrefix) => {
    expect(build({ destinationsPrefix })).toThrow(/destinationsPrefix: expected a non-empty S3 key prefix/);
  });

  it.each([0, 1.5, -1])('rejects %p retention days', (verdictRetentionDays) => {
    expect(build({ verdictRetentionDays })).toThrow(/retentionDays: expected a whole number/);
  });

  it('gives RESIDENCY_VPC_FORMAT to every function that checks logs, and refuses a format naming no address', () => {
    const vpcFormat = '${interface-id} ${srcaddr} ${dstaddr} ${bytes} ${action}';
    const stack = new ResidencyStack(newTestApp(SKIP_BUNDLING), 'Residency', { vpcFormat, auditPrefixes: ['incoming/'] });
    const functions = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function')) as {
      Properties: { Environment?: { Variables?: Record<string, unknown> } };
    }[];
    const checking = functions.filter((f) => f.Properties.Environment?.Variables?.[ENV_POLICY] !== undefined);
    // The checker, the big log check's function and the audit's.
    expect(checking.length).toBe(3);
    for (const f of checking) expect(f.Properties.Environment!.Variables![ENV_VPC_FORMAT]).toBe(vpcFormat);
    expect(build({ vpcFormat: '${version} ${bytes}' })).toThrow(/^CheckerFunction vpcFormat: /);
  });

  it.each([0, 1001])('rejects maxReceiveCount %p', (maxReceiveCount) => {
    expect(build({ maxReceiveCount })).toThrow(/maxReceiveCount: expected a whole number/);
  });
});
