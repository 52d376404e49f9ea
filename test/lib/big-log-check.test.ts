import { Match, Template } from 'aws-cdk-lib/assertions';
import {
  ENV_BIG_LOG_PART_BYTES,
  ENV_BIG_LOG_STATE_MACHINE,
  ENV_BIG_LOG_THRESHOLD_BYTES,
  ENV_BIG_LOG_WORK_BUCKET,
} from '../../lambda/env-names';
import { ResidencyStack, type ResidencyStackProps } from '../../lib/residency-stack';
import { newTestApp, SKIP_BUNDLING } from './test-app';

interface State {
  Type: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: { Variable: string; StringEquals: string; Next: string }[];
  Parameters?: Record<string, unknown>;
  ResultPath?: string | null;
  ItemsPath?: string;
  ItemSelector?: Record<string, unknown>;
  MaxConcurrency?: number;
  ItemProcessor?: { ProcessorConfig: { Mode: string }; StartAt: string; States: Record<string, State> };
  Branches?: { StartAt: string; States: Record<string, State> }[];
  Retry?: { ErrorEquals: string[] }[];
}

/** The stack's template and its state machine's definition, parsed (function ARNs as `FN`). */
function synthesize(props: ResidencyStackProps = {}): { stack: ResidencyStack; template: Template; states: Record<string, State>; startAt: string } {
  const stack = new ResidencyStack(newTestApp(SKIP_BUNDLING), 'Residency', props);
  const template = Template.fromStack(stack);
  const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  const parts = (machine!.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  const definition = JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'FN')).join('')) as { StartAt: string; States: Record<string, State> };
  return { stack, template, states: definition.States, startAt: definition.StartAt };
}

describe('BigLogCheck in the stack', () => {
  let synth: ReturnType<typeof synthesize>;

  beforeAll(() => {
    synth = synthesize();
  });

  it('plans first, then splits, checks in one pass, or stops when the verdict exists', () => {
    const { states, startAt } = synth;
    expect(startAt).toBe('Plan');
    expect(states.Plan).toMatchObject({ Type: 'Task', Next: 'Planned', ResultPath: '$.plan', Parameters: { step: 'plan', 'object.$': '$', 'execution.$': '$$.Execution.Name' } });
    expect(states.Planned!.Choices!.map((c) => [c.StringEquals, c.Next])).toEqual([
      ['split', 'CheckRangesAndHash'],
      ['whole', 'CheckInOnePass'],
    ]);
    expect(states.Planned!.Default).toBe('AlreadyChecked');
  });

  it('checks the ranges in a Distributed Map beside a pass that hashes the whole object', () => {
    const parallel = synth.states.CheckRangesAndHash!;
    expect(parallel.Type).toBe('Parallel');
    const [hash, ranges] = parallel.Branches!;
    expect(hash!.States[hash!.StartAt]).toMatchObject({ Type: 'Task', Parameters: { step: 'hash', 'object.$': '$.plan.object' } });
    const map = ranges!.States[ranges!.StartAt]!;
    expect(map).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.plan.parts',
      ItemSelector: { step: 'range', 'work.$': '$.plan.work', 'part.$': '$$.Map.Item.Value' },
      MaxConcurrency: 20,
      ResultPath: null,
    });
    expect(map.ItemProcessor!.ProcessorConfig.Mode).toBe('DISTRIBUTED');
    expect(parallel).toMatchObject({ ResultSelector: { 'hash.$': '$[0]' }, ResultPath: '$.split', Next: 'StartMerging' });
  });

  it('merges, checks stale ranges again and merges once more, or falls back to one pass', () => {
    const { states } = synth;
    expect(states.StartMerging).toMatchObject({ Type: 'Pass', Result: { round: 0 }, ResultPath: '$.merge', Next: 'Merge' });
    expect(states.Merge).toMatchObject({ Parameters: { step: 'merge', 'work.$': '$.plan.work', 'hash.$': '$.split.hash', 'round.$': '$.merge.round' }, Next: 'Merged' });
    expect(states.Merged!.Choices!.map((c) => [c.StringEquals, c.Next])).toEqual([
      ['recheck', 'CheckStaleRanges'],
      ['whole', 'CheckInOnePass'],
    ]);
    expect(states.CheckStaleRanges).toMatchObject({ Type: 'Map', ItemsPath: '$.merge.parts', Next: 'Merge' });
    expect(states.CheckInOnePass).toMatchObject({ Parameters: { step: 'whole', 'object.$': '$.plan.object' }, Next: 'CheckedInOnePass' });
  });

  it('retries every step once more on a function error, besides Lambda service errors', () => {
    const all = (states: Record<string, State>): State[] =>
      Object.values(states).flatMap((s) => [s, ...(s.Branches ?? []).flatMap((b) => all(b.States)), ...(s.ItemProcessor ? all(s.ItemProcessor.States) : [])]);
    const tasks = all(synth.states).filter((s) => s.Type === 'Task');
    // Plan, HashObject, CheckRange, Merge, CheckStaleRange, CheckInOnePass.
    expect(tasks).toHaveLength(6);
    for (const task of tasks) expect(task.Retry!.map((r) => r.ErrorEquals)).toContainEqual(['States.TaskFailed']);
  });

  it('logs every execution event (without data) and traces with X-Ray', () => {
    synth.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
    });
  });

  it('runs the steps in a 15-minute function with the work bucket and range size in its environment', () => {
    synth.template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 900,
      MemorySize: 2048,
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Environment: {
        Variables: Match.objectLike({
          [ENV_BIG_LOG_WORK_BUCKET]: { Ref: Match.stringLikeRegexp('^BigLogWorkBucket') },
          [ENV_BIG_LOG_PART_BYTES]: String(1024 * 1024 * 1024),
        }),
      },
    });
  });

  it('expires the work state after a week', () => {
    synth.template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ Prefix: 'work/', ExpirationInDays: 7, Status: 'Enabled' })]),
      },
    });
  });

  it('lets the checker start this state machine only, and tells it the threshold', () => {
    const { template } = synth;
    const machine = { Ref: Match.stringLikeRegexp('^BigLogStateMachine') };
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Checks uploaded connection logs against the data-residency policy',
      Environment: { Variables: Match.objectLike({ [ENV_BIG_LOG_STATE_MACHINE]: machine, [ENV_BIG_LOG_THRESHOLD_BYTES]: String(1024 * 1024 * 1024) }) },
    });
    const starts = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) =>
      (p.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[]).filter((s) => JSON.stringify(s.Action).includes('states:StartExecution')),
    );
    // The checker's grant, and the state machine's own (for its Distributed Map runs).
    expect(starts).toHaveLength(2);
    for (const s of starts) expect(s.Resource).toEqual({ Ref: expect.stringMatching(/^BigLogStateMachine/) });
  });

  it('alarms when an execution fails, times out or is aborted', () => {
    synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'failed + timedOut + aborted' }),
        Match.objectLike({ Id: 'failed', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'ExecutionsFailed', Namespace: 'AWS/States' }) }) }),
      ]),
    });
  });

  it('takes the threshold, range size and concurrency from the stack props', () => {
    const { template, states } = synthesize({ bigLogThresholdBytes: 5_000_000_000, bigLogPartBytes: 268_435_456, bigLogMaxConcurrency: 50 });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ [ENV_BIG_LOG_THRESHOLD_BYTES]: '5000000000' }) } });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ [ENV_BIG_LOG_PART_BYTES]: '268435456' }) } });
    const ranges = states.CheckRangesAndHash!.Branches![1]!;
    expect(ranges.States[ranges.StartAt]!.MaxConcurrency).toBe(50);
  });

  it.each([
    [{ bigLogPartBytes: 1000 }, 'BigLogCheck partBytes: expected a whole number of bytes >= 1048576, got 1000'],
    [{ bigLogMaxConcurrency: 0 }, 'BigLogCheck maxConcurrency: expected a whole number from 1 to 1000, got 0'],
    [{ bigLogThresholdBytes: 0.5 }, 'BigLogCheck thresholdBytes: expected a whole number of bytes >= 1, got 0.5'],
  ])('rejects %j', (props, message) => {
    expect(() => new ResidencyStack(newTestApp(SKIP_BUNDLING), 'Residency', props)).toThrow(message);
  });
});
