/**
 * Big logs end to end against fauxqs on 127.0.0.1: the split-check function's steps driven with
 * the events the state machine sends (plan → ranges ∥ hash → merge → stale ranges again →
 * merge), each range read with a real Range GET; and the checker handing a large upload to the
 * state machine. Step Functions itself cannot run here (no local Step Functions is available):
 * its StartExecution endpoint is stood in for by a local HTTP server that speaks the service's
 * JSON protocol to the SDK's Step Functions client, records the calls and answers as the service
 * does (ExecutionAlreadyExists for a name it has seen).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { rangeStep, type MergeStepResult, type PlanStepResult, type RangeItem } from '../../lambda/adapters/big-log-steps';
import { CheckResources } from '../../lambda/adapters/s3-check-resources';
import { executionNameOf } from '../../lambda/adapters/sfn-start-execution';
import { handler as bigLog, resetBigLogRuntime, type BigLogEvent } from '../../lambda/big-log-handler';
import { loadConfig } from '../../lambda/config';
import { handler, type CheckerEvent } from '../../lambda/handler';
import { fixture } from '../helpers/engine';
import { handlerRig, type StoredVerdict } from '../helpers/handler-harness';
import { recordS3Requests, type LocalS3 } from '../helpers/local-s3';
import { s3EventBody, sqsEvent, sqsRecord } from '../helpers/s3-events';

let s3: LocalS3;
let uploads: string;
let verdicts: string;
let work: string;
const { useEnv, upload, readVerdict, logsMatching } = handlerRig('us,de', (state) => ({ s3, uploads, verdicts } = state));

/** Range size the tests split with: the 70 KB log below gives some 17 ranges. */
const PART_BYTES = 4096;

beforeAll(async () => {
  work = await s3.createBucket('work');
});

beforeEach(() => {
  resetBigLogRuntime();
  useEnv({ RESIDENCY_BIG_LOG_WORK_BUCKET: work, RESIDENCY_BIG_LOG_PART_BYTES: String(PART_BYTES) });
});

afterAll(() => resetBigLogRuntime());

/**
 * A Zeek conn.log of two concatenated logs with different column orders (the second header
 * block sits in the middle: the ranges after it are first read under the first one), public and
 * private destinations, and bad lines.
 */
function twoBlockZeekLog(): Buffer {
  const block = (fields: string[]): string[] => [
    '#separator \\x09',
    '#set_separator\t,',
    '#empty_field\t(empty)',
    '#unset_field\t-',
    '#path\tconn',
    '#open\t2024-01-01-00-00-00',
    `#fields\t${fields.join('\t')}`,
  ];
  const a = ['ts', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'orig_bytes', 'resp_bytes'];
  const b = ['id.resp_h', 'id.resp_p', 'id.orig_h', 'id.orig_p', 'orig_bytes', 'resp_bytes', 'proto', 'ts'];
  const remotes = ['8.8.8.8', '47.88.1.1', '212.227.15.1', '77.88.8.8', '192.168.1.20', '2001:4860:4860::8888'];
  const lines: string[] = [...block(a)];
  for (let i = 0; i < 1200; i++) {
    const v: Record<string, string> = {
      ts: String(1_700_000_000 + i),
      'id.orig_h': '10.0.0.5',
      'id.orig_p': String(40000 + (i % 3000)),
      'id.resp_h': remotes[i % remotes.length]!,
      'id.resp_p': String(i % 7 === 0 ? 53 : 443 + (i % 90)),
      proto: i % 7 === 0 ? 'udp' : 'tcp',
      orig_bytes: String((i * 7919) % 100_000),
      resp_bytes: i % 11 === 0 ? '-' : String(i * 3),
    };
    if (i === 600) lines.push('#close\t2024-01-01-01-00-00', ...block(b));
    if (i % 97 === 0) lines.push(`not a record ${i}`);
    lines.push((i < 600 ? a : b).map((f) => v[f]!).join('\t'));
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

function plainContext(): { getRemainingTimeInMillis(): number } {
  return { getRemainingTimeInMillis: () => 300_000 };
}

/** Runs the state machine's steps in its order; returns what the last merge said. */
async function runStateMachine(input: Record<string, unknown>, execution: string): Promise<{ plan: PlanStepResult; merges: MergeStepResult[]; checked: number }> {
  const call = (event: BigLogEvent): Promise<unknown> => bigLog(event, plainContext());
  const plan = (await call({ step: 'plan', object: input as never, execution })) as PlanStepResult;
  const merges: MergeStepResult[] = [];
  let checked = 0;
  if (plan.mode === 'whole') {
    await call({ step: 'whole', object: plan.object });
    return { plan, merges, checked };
  }
  if (plan.mode === 'done') return { plan, merges, checked };
  const [hash] = (await Promise.all([
    call({ step: 'hash', object: plan.object }),
    ...plan.parts.map((part) => call({ step: 'range', work: plan.work, part })),
  ])) as [{ sha256: string; bytes: number }];
  checked += plan.parts.length;
  let round = 0;
  for (;;) {
    const merge = (await call({ step: 'merge', work: plan.work, hash, round })) as MergeStepResult;
    merges.push(merge);
    if (merge.status === 'whole') {
      await call({ step: 'whole', object: plan.object });
      break;
    }
    if (merge.status !== 'recheck') break;
    await Promise.all(merge.parts.map((part: RangeItem) => call({ step: 'range', work: plan.work, part })));
    checked += merge.parts.length;
    round = merge.round;
  }
  return { plan, merges, checked };
}

/** A verdict with the fields that name the object or its event, or the time, left out. */
function withoutObjectNames(v: StoredVerdict): unknown {
  const { checkedAt: _at, input, ...rest } = v;
  const { name: _name, source, ...inputRest } = input;
  return { ...rest, input: { ...inputRest, source: { ...source, key: null, sequencer: null } } };
}

describe('the split-check steps, as the state machine runs them', () => {
  it('gives the verdict the checker gives, for a log with a header block in the middle', async () => {
    // Prepare: the same bytes under two keys; the checker checks one in a single pass.
    const log = twoBlockZeekLog();
    const single = await upload('incoming/single/conn.log', log);
    const big = await upload('incoming/big/conn.log', log);
    await handler(sqsEvent(sqsRecord(s3EventBody(single))));

    // Act
    const run = await runStateMachine({ bucket: big.bucket, key: big.key, etag: big.eTag, size: big.size }, 'big-conn-1');

    // Assess
    expect(run.plan).toMatchObject({ mode: 'split', work: 'work/big-conn-1/' });
    expect(run.plan.parts.length).toBeGreaterThan(10);
    // The ranges after the second header block were read under the first, then again.
    expect(run.merges.map((m) => m.status)).toEqual(['recheck', 'done']);
    expect(run.checked).toBeGreaterThan(run.plan.parts.length);
    const merged = await readVerdict(big.key);
    expect(merged.input).toMatchObject({ sha256: createHash('sha256').update(log).digest('hex'), bytes: log.length, source: { bucket: uploads, key: big.key, etag: big.eTag } });
    expect(merged.totals.records).toBe(1200 + 13);
    expect(withoutObjectNames(merged)).toEqual(withoutObjectNames(await readVerdict(single.key)));
    const report = await s3.client.send(new GetObjectCommand({ Bucket: verdicts, Key: 'verdicts/incoming/big/conn.log.report.html' }));
    expect(await report.Body!.transformToString('utf8')).toContain('<html');
  });

  it('reads each range with a Range GET from the byte before it', async () => {
    // Prepare
    const log = twoBlockZeekLog();
    const facts = await upload('incoming/range/conn.log', log);
    const plan = (await bigLog({ step: 'plan', object: { bucket: facts.bucket, key: facts.key, etag: facts.eTag }, execution: 'range-1' }, plainContext())) as PlanStepResult;
    const client = s3.createClient();
    const requests = recordS3Requests(client);
    const config = loadConfig(process.env);
    const part = plan.parts[3]!;

    // Act
    await rangeStep(client, new CheckResources(client, config), { ...config, workBucket: work, partBytes: PART_BYTES }, plan.work, part);

    // Assess
    const get = requests.find((r) => r.commandName === 'GetObjectCommand' && r.path.endsWith('/incoming/range/conn.log'));
    expect(get?.headers.range).toBe(`bytes=${part.start - 1}-`);
    const stored = await s3.client.send(new GetObjectCommand({ Bucket: work, Key: `${plan.work}part-3.json` }));
    const result = JSON.parse(await stored.Body!.transformToString('utf8')) as { index: number; lines: number; outcome: string; firstLineStart: number };
    expect(result).toMatchObject({ index: 3, outcome: 'ok' });
    expect(result.lines).toBeGreaterThan(0);
    expect(result.firstLineStart).toBeGreaterThanOrEqual(part.start);
    expect(log[result.firstLineStart - 1]).toBe(10);
  });

  it('checks a gzip log in one pass, as the checker does', async () => {
    // Prepare
    const gz = gzipSync(fixture('zeek', 'conn-pop3.tsv.log'));
    const facts = await upload('incoming/gz/conn.log.gz', gz);

    // Act
    const run = await runStateMachine({ bucket: facts.bucket, key: facts.key, etag: facts.eTag }, 'gz-1');

    // Assess
    expect(run.plan).toMatchObject({ mode: 'whole', reason: 'gzip data can only be decoded from its start' });
    expect((await readVerdict(facts.key)).input).toMatchObject({ compression: 'gzip', format: 'zeek-tsv', bytes: gz.length });
  });

  it('checks a Suricata EVE log with TLS names in one pass', async () => {
    // Prepare: names learnt from TLS events go to later flows, so the ranges cannot be exact.
    const eve = fixture('suricata', 'eve-synthetic.json');
    const facts = await upload('incoming/eve/eve.json', eve);
    useEnv({ RESIDENCY_BIG_LOG_WORK_BUCKET: work, RESIDENCY_BIG_LOG_PART_BYTES: '512' });
    resetBigLogRuntime();

    // Act
    const run = await runStateMachine({ bucket: facts.bucket, key: facts.key, etag: facts.eTag }, 'eve-1');

    // Assess
    expect(run.plan.mode).toBe('split');
    expect(run.merges).toEqual([expect.objectContaining({ status: 'whole', reason: expect.stringContaining('DNS, TLS, HTTP or alert events') })]);
    expect((await readVerdict(facts.key)).input.format).toBe('suricata-eve');
  });

  it('does nothing for an object version that has its verdict', async () => {
    // Prepare
    const facts = await upload('incoming/twice/conn.log', twoBlockZeekLog());
    await runStateMachine({ bucket: facts.bucket, key: facts.key, etag: facts.eTag }, 'twice-1');

    // Act
    const again = await runStateMachine({ bucket: facts.bucket, key: facts.key, etag: facts.eTag }, 'twice-2');

    // Assess
    expect(again.plan).toMatchObject({ mode: 'done', reason: 'verdict already written' });
  });

  it('records the event\'s sequencer in the verdict, as the checker does', async () => {
    // Prepare
    const facts = await upload('incoming/sequencer/conn.log', twoBlockZeekLog());

    // Act
    await runStateMachine({ bucket: facts.bucket, key: facts.key, etag: facts.eTag, sequencer: '0055AED6DCD90281E5' }, 'sequencer-1');

    // Assess
    expect((await readVerdict(facts.key)).input.source).toMatchObject({ etag: facts.eTag, sequencer: '0055AED6DCD90281E5' });
  });

  it('refuses a work prefix that is not an execution name', async () => {
    await expect(bigLog({ step: 'plan', object: { bucket: uploads, key: 'incoming/x' }, execution: '../x' })).rejects.toThrow('is not a Step Functions name');
  });
});

/** A stand-in for the Step Functions endpoint: records StartExecution calls, answers like it. */
interface StandIn {
  server: Server;
  endpoint: string;
  calls: { headers: IncomingMessage['headers']; body: string }[];
  /** Execution names already started. */
  names: Set<string>;
}

async function startStandIn(): Promise<StandIn> {
  const standIn: StandIn = { server: createServer(), endpoint: '', calls: [], names: new Set() };
  standIn.server.on('request', (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      {
        standIn.calls.push({ headers: req.headers, body });
        const { name, stateMachineArn } = JSON.parse(body) as { name: string; stateMachineArn: string };
        res.setHeader('content-type', 'application/x-amz-json-1.0');
        if (standIn.names.has(name)) {
          res.statusCode = 400;
          res.end(JSON.stringify({ __type: 'com.amazonaws.swf.service.v2.model#ExecutionAlreadyExists', message: `Execution Already Exists: '${name}'` }));
          return;
        }
        standIn.names.add(name);
        res.end(JSON.stringify({ executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`, startDate: 1.7e9 }));
      }
    });
  });
  await new Promise<void>((resolve) => standIn.server.listen(0, '127.0.0.1', resolve));
  standIn.endpoint = `http://127.0.0.1:${(standIn.server.address() as AddressInfo).port}`;
  return standIn;
}

describe('the checker hands large logs to the state machine', () => {
  let standIn: StandIn;
  const ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:BigLogCheck';

  beforeAll(async () => {
    standIn = await startStandIn();
  });
  afterAll(() => new Promise<void>((resolve) => standIn.server.close(() => resolve())));
  beforeEach(() => {
    useEnv({ RESIDENCY_BIG_LOG_STATE_MACHINE: ARN, RESIDENCY_BIG_LOG_THRESHOLD_BYTES: '10000', AWS_ENDPOINT_URL_SFN: standIn.endpoint });
    standIn.calls.length = 0;
  });

  it('starts one execution named after the object version, once however often it is delivered', async () => {
    // Prepare
    const facts = await upload('incoming/handed/conn.log', twoBlockZeekLog());
    const event: CheckerEvent = sqsEvent(sqsRecord(s3EventBody({ ...facts, sequencer: '0055AED6DCD90281E5' })));

    // Act: delivered twice (SQS is at-least-once).
    const first = await handler(event);
    const second = await handler(event);

    // Assess
    expect(first.batchItemFailures).toEqual([]);
    expect(second.batchItemFailures).toEqual([]);
    expect(standIn.calls).toHaveLength(2);
    const [call] = standIn.calls;
    // Signed by the SDK's Step Functions client with the function's credentials.
    expect(call!.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=test\/\d{8}\/us-east-1\/states\/aws4_request, /);
    expect(call!.headers['x-amz-target']).toBe('AWSStepFunctions.StartExecution');
    const body = JSON.parse(call!.body) as { stateMachineArn: string; name: string; input: string };
    expect(body.stateMachineArn).toBe(ARN);
    expect(body.name).toBe(executionNameOf({ bucket: uploads, key: facts.key, etag: facts.eTag }));
    expect(body.name).toMatch(/^conn_log-[0-9a-f]{40}$/);
    expect(JSON.parse(body.input)).toEqual({ bucket: uploads, key: facts.key, etag: facts.eTag, sequencer: '0055AED6DCD90281E5', size: facts.size });
    expect(JSON.parse(standIn.calls[1]!.body).name).toBe(body.name);
    expect(logsMatching('handed to the big-log check')).toEqual([expect.objectContaining({ key: facts.key, started: true, size: facts.size })]);
    expect(logsMatching('big-log check already started')).toHaveLength(1);
    expect(logsMatching('verdict written')).toEqual([]);
  });

  it('checks a log under the threshold itself', async () => {
    // Prepare
    const facts = await upload('incoming/small/conn.log', fixture('zeek', 'conn-pop3.tsv.log'));

    // Act
    const response = await handler(sqsEvent(sqsRecord(s3EventBody(facts))));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(standIn.calls).toEqual([]);
    expect((await readVerdict(facts.key)).compliant).toBe(true);
  });

  it('retries the message when Step Functions refuses the call', async () => {
    // Prepare: an endpoint that answers every call with AccessDenied.
    const denied = createServer((_req, res) => {
      res.statusCode = 400;
      res.end(JSON.stringify({ __type: 'AccessDeniedException', message: 'not authorized to perform: states:StartExecution' }));
    });
    await new Promise<void>((resolve) => denied.listen(0, '127.0.0.1', resolve));
    useEnv({ RESIDENCY_BIG_LOG_STATE_MACHINE: ARN, RESIDENCY_BIG_LOG_THRESHOLD_BYTES: '10000', AWS_ENDPOINT_URL_SFN: `http://127.0.0.1:${(denied.address() as AddressInfo).port}` });
    const facts = await upload('incoming/denied/conn.log', twoBlockZeekLog());
    const message = sqsRecord(s3EventBody(facts));

    // Act
    const response = await handler(sqsEvent(message));
    await new Promise<void>((resolve) => denied.close(() => resolve()));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: message.messageId }]);
    expect(logsMatching('message failed, will be retried')).toEqual([
      expect.objectContaining({ error: expect.stringContaining('StepFunctionsError: StartExecution') }),
    ]);
  });
});
