/**
 * The scheduled audit in the stack: the state machine definition (read back from the synthesized
 * template), the schedule, the audit function's configuration and grants, the alarms, and cdk-nag
 * AwsSolutions with the audit deployed.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Duration, Stack, Validations, type App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT, VALIDATION_REPORT_FILE } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import {
  ENV_AUDIT_BUCKET,
  ENV_AUDIT_OUTPUT_PREFIX,
  ENV_AUDIT_PREFIXES,
  ENV_POLICY,
  ENV_VERDICT_BUCKET,
  ENV_VERDICT_PREFIX,
} from '../../lambda/env-names';
import { ResidencyStack, type ResidencyStackProps } from '../../lib/residency-stack';
import { newTestApp, SKIP_BUNDLING } from './test-app';

/** A state machine definition (Amazon States Language), as far as these tests read it. */
interface AslState {
  Type: string;
  Next?: string;
  End?: boolean;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  OutputPath?: string;
  ResultPath?: string;
  Catch?: { ErrorEquals: string[]; ResultPath?: string; Next: string }[];
  Retry?: { ErrorEquals: string[]; MaxAttempts?: number }[];
  ItemReader?: { Resource: string; Parameters: Record<string, unknown> };
  ItemBatcher?: { MaxItemsPerBatch?: number; BatchInput?: Record<string, unknown> };
  ItemProcessor?: { ProcessorConfig: { Mode: string; ExecutionType: string }; StartAt: string; States: Record<string, AslState> };
  MaxConcurrency?: number;
  ToleratedFailurePercentage?: number;
  ResultWriter?: { Resource: string; Parameters: Record<string, unknown> };
  Choices?: { Variable: string; BooleanEquals?: boolean; Next: string }[];
  Default?: string;
  Error?: string;
  CausePath?: string;
}

interface Asl {
  StartAt: string;
  States: Record<string, AslState>;
  TimeoutSeconds?: number;
}

/**
 * The definition of the audit's state machine (the stack also has the big-log check's):
 * `Fn::Join` flattened, each reference written as `${LogicalId}` or `${LogicalId.Attribute}`,
 * then parsed.
 */
function definitionOf(template: Template): Asl {
  const machines = Object.entries(template.findResources('AWS::StepFunctions::StateMachine'))
    .filter(([id]) => id.startsWith('AuditStateMachine'))
    .map(([, resource]) => resource);
  expect(machines).toHaveLength(1);
  const parts = machines[0]!.Properties.DefinitionString['Fn::Join'][1] as unknown[];
  const text = parts
    .map((p) => {
      if (typeof p === 'string') return p;
      const ref = p as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
      return ref.Ref !== undefined ? `\${${ref.Ref}}` : `\${${ref['Fn::GetAtt']!.join('.')}}`;
    })
    .join('');
  return JSON.parse(text) as Asl;
}

/** Logical ID of the single resource of `type` whose ID starts with `prefix`. */
function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  expect(ids).toHaveLength(1);
  return ids[0]!;
}

/** The Allow statements of the identity policies whose logical ID starts with `prefix`. */
function statementsOf(template: Template, prefix: string): Record<string, unknown>[] {
  return Object.entries(template.findResources('AWS::IAM::Policy'))
    .filter(([id]) => id.startsWith(prefix))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Record<string, unknown>[])
    .filter((s) => s.Effect === 'Allow');
}

const objectsUnder = (bucket: string, prefix: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, `/${prefix}*`]] });
const bucketArn = (bucket: string) => ({ 'Fn::GetAtt': [bucket, 'Arn'] });

function synthesize(props: ResidencyStackProps): { stack: ResidencyStack; template: Template } {
  const app = newTestApp(SKIP_BUNDLING);
  const stack = new ResidencyStack(app, 'Residency', props);
  return { stack, template: Template.fromStack(stack) };
}

describe('the scheduled audit', () => {
  let template: Template;
  let asl: Asl;
  let uploads: string;
  let verdicts: string;
  let auditFunction: string;

  beforeAll(() => {
    ({ template } = synthesize({
      auditSchedule: 'cron(0 4 ? * SUN *)',
      auditPrefixes: ['incoming/drone-a/', 'incoming/app-b/'],
      auditMaxConcurrency: 25,
      auditToleratedFailurePercentage: 10,
      auditItemsPerBatch: 200,
    }));
    asl = definitionOf(template);
    uploads = logicalId(template, 'AWS::S3::Bucket', 'UploadBucket');
    verdicts = logicalId(template, 'AWS::S3::Bucket', 'VerdictBucket');
    auditFunction = logicalId(template, 'AWS::Lambda::Function', 'AuditFunction');
  });

  describe('state machine definition', () => {
    it('plans the run, checks the logs in a Distributed Map, then summarizes', () => {
      expect(asl.StartAt).toBe('Plan');
      expect(asl.States.Plan).toMatchObject({
        Type: 'Task',
        Resource: 'arn:${AWS::Partition}:states:::lambda:invoke',
        Parameters: { FunctionName: `\${${auditFunction}.Arn}`, Payload: { mode: 'plan', 'startedAt.$': '$$.Execution.StartTime' } },
        OutputPath: '$.Payload',
        Next: 'CheckLogs',
      });
      expect(asl.States.CheckLogs).toMatchObject({ Type: 'Map', ResultPath: '$.map', Next: 'Summarize' });
      expect(asl.States.Summarize).toMatchObject({
        Type: 'Task',
        Parameters: { FunctionName: `\${${auditFunction}.Arn}`, Payload: { mode: 'reduce', 'plan.$': '$.plan', 'map.$': '$.map', 'mapError.$': '$.mapError' } },
        Next: 'Complete?',
      });
    });

    it('reads the S3 listing of the audited prefixes\' common folder with ListObjectsV2', () => {
      expect(asl.States.CheckLogs!.ItemReader).toEqual({
        Resource: 'arn:${AWS::Partition}:states:::s3:listObjectsV2',
        Parameters: { Bucket: `\${${uploads}}`, Prefix: 'incoming/' },
      });
    });

    it('batches the logs, hands each batch the plan, and bounds concurrency and failures', () => {
      const map = asl.States.CheckLogs!;
      expect(map.ItemBatcher).toEqual({ MaxItemsPerBatch: 200, BatchInput: { mode: 'check-batch', 'plan.$': '$.plan' } });
      expect(map.MaxConcurrency).toBe(25);
      expect(map.ToleratedFailurePercentage).toBe(10);
    });

    it('runs each batch as an Express child execution of the audit function, retried on failure', () => {
      const processor = asl.States.CheckLogs!.ItemProcessor!;
      expect(processor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' });
      expect(processor.States[processor.StartAt]).toMatchObject({
        Type: 'Task',
        Resource: 'arn:${AWS::Partition}:states:::lambda:invoke',
        Parameters: { FunctionName: `\${${auditFunction}.Arn}`, 'Payload.$': '$' },
        End: true,
      });
      expect(processor.States[processor.StartAt]!.Retry).toContainEqual(expect.objectContaining({ ErrorEquals: ['States.ALL'], MaxAttempts: 2 }));
    });

    it('writes the map run\'s results into the run folder in the verdict bucket', () => {
      expect(asl.States.CheckLogs!.ResultWriter).toEqual({
        Resource: 'arn:${AWS::Partition}:states:::s3:putObject',
        Parameters: { Bucket: `\${${verdicts}}`, 'Prefix.$': '$.resultPrefix' },
      });
    });

    it('still summarizes when the map run fails, and fails a run whose summary is incomplete', () => {
      expect(asl.States.CheckLogs!.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.mapError', Next: 'Summarize' }]);
      expect(asl.States['Complete?']).toEqual({
        Type: 'Choice',
        Choices: [{ Variable: '$.complete', BooleanEquals: true, Next: 'Done' }],
        Default: 'Incomplete',
      });
      expect(asl.States.Incomplete).toEqual({ Type: 'Fail', Error: 'AuditIncomplete', CausePath: '$.summary' });
      expect(asl.TimeoutSeconds).toBe(24 * 3600);
    });

    it('is a Standard state machine that logs every event and is traced', () => {
      template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineType: 'STANDARD',
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: {
          Level: 'ALL',
          IncludeExecutionData: false,
          Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logicalId(template, 'AWS::Logs::LogGroup', 'AuditLogGroup'), 'Arn'] } } }],
        },
      });
    });
  });

  it('starts the state machine on the schedule of the auditSchedule prop', () => {
    const machine = logicalId(template, 'AWS::StepFunctions::StateMachine', 'AuditStateMachine');
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(0 4 ? * SUN *)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { Ref: machine }, Input: '{}' })],
    });
  });

  it('configures the audit function through the shared environment variable names', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Runtime: 'nodejs24.x',
      MemorySize: 2048,
      Timeout: 900,
      Environment: {
        Variables: {
          [ENV_AUDIT_BUCKET]: { Ref: uploads },
          [ENV_AUDIT_PREFIXES]: 'incoming/drone-a/,incoming/app-b/',
          [ENV_AUDIT_OUTPUT_PREFIX]: 'audits/',
          [ENV_VERDICT_BUCKET]: { Ref: verdicts },
          [ENV_VERDICT_PREFIX]: 'verdicts/',
          [ENV_POLICY]: 'us',
        },
      },
    });
  });

  describe('least privilege', () => {
    it('lets the audit function read only the audited prefixes and the checker\'s verdicts, and write only under audits/', () => {
      const s3 = statementsOf(template, 'AuditFunction').filter((s) => String(s.Action).includes('s3:') || (Array.isArray(s.Action) && String(s.Action[0]).startsWith('s3:')));
      expect(s3).toEqual([
        {
          Effect: 'Allow',
          Action: 's3:GetObject',
          Resource: [objectsUnder(uploads, 'incoming/app-b/'), objectsUnder(uploads, 'incoming/drone-a/'), objectsUnder(verdicts, 'verdicts/')],
        },
        {
          Effect: 'Allow',
          Action: 's3:ListBucket',
          Resource: bucketArn(uploads),
          Condition: { StringLike: { 's3:prefix': ['incoming/drone-a/*', 'incoming/app-b/*'] } },
        },
        { Effect: 'Allow', Action: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'], Resource: objectsUnder(verdicts, 'audits/') },
        {
          Effect: 'Allow',
          Action: 's3:ListBucket',
          Resource: bucketArn(verdicts),
          Condition: { StringLike: { 's3:prefix': ['verdicts/*', 'audits/*'] } },
        },
      ]);
    });

    it('lets the state machine list only the audited folder and write results only under audits/', () => {
      const s3 = statementsOf(template, 'AuditStateMachine').filter((s) => JSON.stringify(s.Action).includes('"s3:'));
      expect(s3).toEqual([
        {
          Effect: 'Allow',
          Action: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:PutObject'],
          Resource: objectsUnder(verdicts, 'audits/'),
        },
        { Effect: 'Allow', Action: 's3:ListBucket', Resource: bucketArn(uploads), Condition: { StringLike: { 's3:prefix': ['incoming/*'] } } },
      ]);
    });

    it('lets the state machine invoke only the audit function and start only its own executions', () => {
      const statements = statementsOf(template, 'AuditStateMachine');
      const invoke = statements.filter((s) => s.Action === 'lambda:InvokeFunction');
      expect(invoke).toEqual([
        expect.objectContaining({ Resource: [{ 'Fn::GetAtt': [auditFunction, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [auditFunction, 'Arn'] }, ':*']] }] }),
      ]);
      const machine = logicalId(template, 'AWS::StepFunctions::StateMachine', 'AuditStateMachine');
      for (const s of statements.filter((x) => x.Action === 'states:StartExecution')) expect(s.Resource).toEqual({ Ref: machine });
    });

    it('gives nothing of the audit any write to the checker\'s verdicts', () => {
      const writes = [...statementsOf(template, 'AuditFunction'), ...statementsOf(template, 'AuditStateMachine')].filter((s) =>
        JSON.stringify(s.Action).includes('s3:PutObject'),
      );
      expect(writes.length).toBeGreaterThan(0);
      for (const s of writes) expect(s.Resource).toEqual(objectsUnder(verdicts, 'audits/'));
    });
  });

  it('outputs the state machine ARN, to start an audit by hand', () => {
    const machine = logicalId(template, 'AWS::StepFunctions::StateMachine', 'AuditStateMachine');
    template.hasOutput('AuditStateMachineArn', { Value: { Ref: machine } });
  });

  it('alarms on failed and timed-out runs', () => {
    const machine = logicalId(template, 'AWS::StepFunctions::StateMachine', 'AuditStateMachine');
    for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/States',
        MetricName: metric,
        Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: machine } }],
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
      });
    }
  });
});

describe('audit props', () => {
  it('deploys no audit without auditSchedule or auditPrefixes', () => {
    const { template } = synthesize({});
    // The big-log check's state machine is always there; the audit's is not.
    const machines = Object.keys(template.findResources('AWS::StepFunctions::StateMachine'));
    expect(machines.filter((id) => id.startsWith('Audit'))).toEqual([]);
    template.resourceCountIs('AWS::Events::Rule', 0);
    expect(template.findOutputs('AuditStateMachineArn')).toEqual({});
  });

  it('audits the upload prefix monthly by default', () => {
    // Act
    const { template } = synthesize({ auditPrefixes: ['incoming/'] });
    const { template: scheduledOnly } = synthesize({ auditSchedule: 'rate(7 days)', uploadPrefix: 'logs/in/' });

    // Assess
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(0 3 1 * ? *)' });
    const asl = definitionOf(template);
    expect(asl.States.CheckLogs).toMatchObject({ MaxConcurrency: 40, ToleratedFailurePercentage: 5, ItemBatcher: { MaxItemsPerBatch: 100 } });
    scheduledOnly.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(7 days)' });
    scheduledOnly.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ [ENV_AUDIT_PREFIXES]: 'logs/in/' }) } });
    expect(definitionOf(scheduledOnly).States.CheckLogs!.ItemReader!.Parameters.Prefix).toBe('logs/in/');
  });

  it('takes a Schedule, and notifies the alarm topic', () => {
    // Prepare
    const app = newTestApp(SKIP_BUNDLING);
    const topic = new Topic(new Stack(app, 'Alarms'), 'AlarmTopic', { enforceSSL: true });

    // Act
    const stack = new ResidencyStack(app, 'Residency', { auditSchedule: Schedule.rate(Duration.days(1)), alarmTopic: topic });
    const template = Template.fromStack(stack);

    // Assess
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 day)' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ExecutionsFailed', AlarmActions: [Match.anyValue()], OKActions: [Match.anyValue()] });
  });

  it.each([
    [{ auditSchedule: 'every month' }, "AuditStateMachine schedule: expected a cron(...) or rate(...) expression, e.g. 'cron(0 3 1 * ? *)', got 'every month'"],
    [{ auditPrefixes: ['incoming/*'] }, "AuditFunction auditPrefixes: expected a non-empty S3 key prefix without wildcards or leading '/' (e.g. 'incoming/'), got 'incoming/*'"],
    [{ auditPrefixes: [] }, 'AuditFunction auditPrefixes: expected at least one key prefix'],
    [{ auditPrefixes: ['incoming/'], auditMaxConcurrency: 0 }, 'AuditStateMachine maxConcurrency: expected a whole number from 1 to 10000, got 0'],
    [{ auditPrefixes: ['incoming/'], auditToleratedFailurePercentage: 150 }, 'AuditStateMachine toleratedFailurePercentage: expected 0 to 100, got 150'],
  ])('refuses %j', (props, message) => {
    expect(() => synthesize(props as ResidencyStackProps)).toThrow(message);
  });
});

/** The parts of CDK's `validation-report.json` this test reads. */
interface ValidationReport {
  pluginReports: { pluginName: string; violations: { ruleName: string; severity: string; violatingConstructs?: { constructPath: string }[] }[] }[];
}

/** Every acknowledgement recorded in the construct tree under `root`, as `path: id -> reason`. */
function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({ path: construct.node.path, id: id.replace(/^annotation::/i, ''), reason })),
      ),
  );
}

describe('cdk-nag AwsSolutions with the audit deployed', () => {
  let app: App;
  let findings: string[];

  beforeAll(() => {
    // Prepare: validation errors are left in the report instead of failing synthesis.
    app = newTestApp({ ...SKIP_BUNDLING, [FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT]: false });
    new ResidencyStack(app, 'Residency', { auditPrefixes: ['incoming/drone-a/', 'incoming/app-b/'] });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    // Act
    const assembly = app.synth();
    const report = JSON.parse(readFileSync(path.join(assembly.directory, VALIDATION_REPORT_FILE), 'utf8')) as ValidationReport;
    findings = report.pluginReports.flatMap((plugin) =>
      plugin.violations.map((v) => `${plugin.pluginName} ${v.severity} ${v.ruleName} at ${(v.violatingConstructs ?? []).map((c) => c.constructPath).join(', ')}`),
    );
  });

  it('leaves no unacknowledged error or warning', () => {
    expect(findings).toEqual([]);
  });

  it('acknowledges only these findings of the audit, each with a written reason', () => {
    const acks = acknowledgements(app).filter((a) => a.path.startsWith('Residency/Audit'));
    expect(acks.map(({ path: at, id }) => `${at}: ${id}`).sort()).toEqual([
      'Residency/Audit/StateMachine: AwsSolutions-IAM5[Resource::*]',
      'Residency/Audit/StateMachine: AwsSolutions-IAM5[Resource::<AuditFunction040A4650.Arn>:*]',
      'Residency/Audit/StateMachine: AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"AuditStateMachine1655C86A"}]}]}/*:*]',
      'Residency/Audit/StateMachine: AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"AuditStateMachine1655C86A"}]}]}:*]',
      'Residency/Audit: AwsSolutions-IAM5[Resource::<VerdictBucket05F5944F.Arn>/audits/*]',
      'Residency/AuditFunction: AwsSolutions-IAM5[Resource::<UploadBucket84BF9F0F.Arn>/incoming/app-b/*]',
      'Residency/AuditFunction: AwsSolutions-IAM5[Resource::<UploadBucket84BF9F0F.Arn>/incoming/drone-a/*]',
      'Residency/AuditFunction: AwsSolutions-IAM5[Resource::<VerdictBucket05F5944F.Arn>/audits/*]',
      'Residency/AuditFunction: AwsSolutions-IAM5[Resource::<VerdictBucket05F5944F.Arn>/verdicts/*]',
    ]);
    for (const { reason } of acks) expect(reason.length).toBeGreaterThan(40);
  });
});
