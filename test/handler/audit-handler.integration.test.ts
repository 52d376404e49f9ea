/**
 * The audit function end to end, in each of its modes, against fauxqs on 127.0.0.1 with the real
 * S3 client: real uploads, real verdicts from the checker function, and two builds of a tiny
 * location database (in S3, as `RESIDENCY_GEOIP_DBS` names them) in which 1.2.4.0/24 moves from
 * the US to China. The Step Functions inputs are built in the shapes AWS documents (see
 * lambda/audit-events.ts); nothing here talks to AWS.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../lambda/adapters/s3-client';
import { AuditEventError, type AuditPlan, type MapS3Item } from '../../lambda/audit-events';
import { AUDIT_STOP_MARGIN_MS, handler as auditHandler, resetAuditRuntime, type AuditResult, type BatchResult } from '../../lambda/audit-handler';
import type { AuditSummary } from '../../lambda/engine/audit/summary';
import { handler as checkerHandler } from '../../lambda/handler';
import { handlerRig } from '../helpers/handler-harness';
import type { LocalS3 } from '../helpers/local-s3';
import { writeMmdb } from '../helpers/mmdb-writer';
import { md5Etag, s3Event } from '../helpers/s3-events';
import { zeekConnLog } from '../helpers/zeek';

let s3: LocalS3;
const { useEnv, logsMatching } = handlerRig('us', (state) => ({ s3 } = state));

/** The buckets of one test: uploads, verdicts, and the location databases. */
interface Buckets {
  uploads: string;
  verdicts: string;
  databases: string;
}

const networks = (moved: string) => [
  { cidr: '1.2.4.0/24', record: { country: { iso_code: moved } } },
  { cidr: '5.6.7.0/24', record: { country: { iso_code: 'DE' } } },
  { cidr: '8.8.8.0/24', record: { country: { iso_code: 'US' } } },
];
const V1 = writeMmdb(networks('US'), { buildEpoch: new Date('2026-01-01T00:00:00Z') });
const V2 = writeMmdb(networks('CN'), { buildEpoch: new Date('2026-06-01T00:00:00Z') });

/** Logs under incoming/: drone-a reaches 1.2.4.8, which v2 moves to China; drone-b reaches Germany. */
const LOGS: Record<string, string> = {
  'incoming/drone-a/conn.log': zeekConnLog(['1.2.4.8', '8.8.8.8']),
  'incoming/drone-a/2026-05/conn.log': zeekConnLog(['8.8.8.8']),
  'incoming/drone-b/conn.log': zeekConnLog(['5.6.7.8', '8.8.8.8']),
};

async function put(bucket: string, key: string, body: string | Uint8Array): Promise<void> {
  await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: typeof body === 'string' ? Buffer.from(body) : body }));
}

async function readJson<T>(bucket: string, key: string): Promise<T> {
  const out = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse(await out.Body!.transformToString('utf8')) as T;
}

async function keysUnder(bucket: string, prefix: string): Promise<string[]> {
  const out = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

/** Fresh buckets holding the logs and both database builds. */
async function freshBuckets(logs: Record<string, string> = LOGS): Promise<Buckets> {
  const b = { uploads: await s3.createBucket(), verdicts: await s3.createBucket(), databases: await s3.createBucket() };
  await put(b.databases, 'v1.mmdb', V1);
  await put(b.databases, 'v2.mmdb', V2);
  for (const [key, body] of Object.entries(logs)) await put(b.uploads, key, body);
  return b;
}

/** Both functions' environment: the checker's, plus what the audit covers. */
function useAuditEnv(
  b: Buckets,
  database: 'v1' | 'v2',
  vars: Record<string, string> = {},
  createClient?: (env: NodeJS.ProcessEnv) => S3Client,
): void {
  useEnv({
    VERDICT_BUCKET: b.verdicts,
    RESIDENCY_GEOIP_DBS: `s3://${b.databases}/${database}.mmdb`,
    RESIDENCY_AUDIT_BUCKET: b.uploads,
    RESIDENCY_AUDIT_PREFIXES: 'incoming/',
    ...vars,
  });
  resetAuditRuntime(createClient ? { createClient } : {});
}

/**
 * A client whose GetObject of `key` fails as S3 does when it throttles (503 SlowDown), once
 * retries are spent. Injected below the SDK: a local S3 server cannot be made to throttle one key.
 */
function throttling(key: string): (env: NodeJS.ProcessEnv) => S3Client {
  return (env) => {
    const client = createS3Client(env, { maxAttempts: 1 });
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const path = (args.request as { path?: string }).path ?? '';
        if (context.commandName === 'GetObjectCommand' && decodeURIComponent(path).endsWith(`/${key}`)) {
          throw Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
        }
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'throttleOneKey' },
    );
    return client;
  };
}

/** The summary a run or reduce step wrote. */
async function summaryOf(result: AuditResult): Promise<AuditSummary> {
  const [, bucket, key] = /^s3:\/\/([^/]+)\/(.*)$/.exec(result.summary)!;
  return readJson<AuditSummary>(bucket!, key!);
}

/** Each log's S3 object as the Distributed Map's ListObjectsV2 reader hands it to a batch. */
async function listedItems(bucket: string, prefix: string): Promise<MapS3Item[]> {
  const out = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => ({
    Etag: o.ETag!,
    Key: o.Key!,
    LastModified: Math.floor(o.LastModified!.getTime() / 1000),
    Size: o.Size!,
    StorageClass: 'STANDARD',
  }));
}

/** The Lambda context, with this much time left. */
const contextWith = (ms: number) => ({ getRemainingTimeInMillis: () => ms });
const PLENTY = contextWith(15 * 60_000);

afterAll(() => resetAuditRuntime());

describe('run mode (one invocation)', () => {
  it('re-checks every log, and a later run with a new database shows the destination that changed country', async () => {
    // Prepare: the checker's verdicts at upload time, with the January database.
    const b = await freshBuckets();
    useAuditEnv(b, 'v1');
    for (const [key, body] of Object.entries(LOGS)) {
      await checkerHandler(s3Event({ bucket: b.uploads, key, size: Buffer.byteLength(body), eTag: md5Etag(Buffer.from(body)) }));
    }

    // Act: an audit in January, then one in June with the June database.
    const january = (await auditHandler({ mode: 'run' }, PLENTY)) as AuditResult;
    useAuditEnv(b, 'v2');
    const june = (await auditHandler({ mode: 'run' }, PLENTY)) as AuditResult;

    // Assess
    const before = await summaryOf(january);
    expect(before).toMatchObject({
      schemaVersion: 3,
      directory: `s3://${b.uploads}/incoming/`,
      // Before the first audit, each log is compared with the checker's verdict of its upload.
      previous: `s3://${b.verdicts}/verdicts/incoming/`,
      complete: true,
      skipped: 0,
    });
    expect(before.totals).toMatchObject({ logs: 3, compliant: 2, nonCompliant: 1, errors: 0, compared: 3, newViolations: 0, countryChanges: 0 });
    expect(before.prefixes.map((p) => p.prefix)).toEqual(['drone-a', 'drone-b']);
    const runFolder = january.summary.replace(`s3://${b.verdicts}/`, '').replace(/summary\.json$/, '');
    expect(runFolder).toMatch(/^audits\/\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z\/$/);
    expect(await keysUnder(b.verdicts, runFolder)).toEqual(
      [
        'summary.html',
        'summary.json',
        'summary.md',
        'verdicts/drone-a/2026-05/conn.log.verdict.json',
        'verdicts/drone-a/conn.log.verdict.json',
        'verdicts/drone-b/conn.log.verdict.json',
      ].map((k) => `${runFolder}${k}`),
    );
    const verdict = await readJson<{ input: unknown }>(b.verdicts, `${runFolder}verdicts/drone-b/conn.log.verdict.json`);
    expect(verdict.input).toMatchObject({ name: 'drone-b/conn.log', source: { bucket: b.uploads, key: 'incoming/drone-b/conn.log' } });

    const after = await summaryOf(june);
    expect(after.previous).toBe(`s3://${b.verdicts}/${runFolder}verdicts/`);
    expect(june).toMatchObject({ complete: true, totals: { logs: 3, compliant: 1, nonCompliant: 2, compared: 3, newViolations: 1, countryChanges: 1 } });
    expect(after.logs.find((l) => l.path === 'drone-a/conn.log')?.diff).toEqual({
      newViolations: [{ ip: '1.2.4.8', country: 'CN', rule: expect.stringContaining('CN') as string, bytesSent: 100 }],
      resolvedViolations: [],
      countryChanges: [
        {
          ip: '1.2.4.8',
          before: 'US',
          after: 'CN',
          databasesBefore: [{ name: 'v1.mmdb', buildEpoch: '2026-01-01T00:00:00.000Z' }],
          databasesAfter: [{ name: 'v2.mmdb', buildEpoch: '2026-06-01T00:00:00.000Z' }],
        },
      ],
    });
    expect(logsMatching('audit summary written')).toEqual([
      expect.objectContaining({ complete: true, logs: 3, nonCompliant: 1 }),
      expect.objectContaining({ complete: true, logs: 3, nonCompliant: 2 }),
    ]);
  });

  it('says so when its time budget runs out: complete false, the logs not reached listed as not checked', async () => {
    // Prepare: an invocation that starts with no time to spare beyond the margin.
    const b = await freshBuckets();
    useAuditEnv(b, 'v1');

    // Act
    const result = (await auditHandler({ mode: 'run' }, contextWith(AUDIT_STOP_MARGIN_MS))) as AuditResult;

    // Assess
    const s = await summaryOf(result);
    expect(s.complete).toBe(false);
    expect(s.incompleteReason).toBe('time budget: 3 of 3 logs were not reached');
    expect(s.totals).toMatchObject({ logs: 3, errors: 3, notChecked: 3, compliant: 0 });
    expect(s.logs.map((l) => [l.path, l.status, l.notChecked, l.error])).toEqual([
      ['drone-a/2026-05/conn.log', 'error', true, 'not checked: not reached before the time budget of the invocation ran out'],
      ['drone-a/conn.log', 'error', true, 'not checked: not reached before the time budget of the invocation ran out'],
      ['drone-b/conn.log', 'error', true, 'not checked: not reached before the time budget of the invocation ran out'],
    ]);
    expect(logsMatching('audit summary written')).toEqual([expect.objectContaining({ level: 'WARN', complete: false, notChecked: 3 })]);
  });

  it('compares each log with the newest earlier run that checked it, past a run that stopped early', async () => {
    // Prepare: a complete January run on v1, then a February run with no time for any log.
    const b = await freshBuckets();
    useAuditEnv(b, 'v1');
    const january = await summaryOf((await auditHandler({ mode: 'run' }, PLENTY)) as AuditResult);
    const february = await summaryOf((await auditHandler({ mode: 'run' }, contextWith(AUDIT_STOP_MARGIN_MS))) as AuditResult);
    expect(february).toMatchObject({ complete: false, totals: { notChecked: 3 } });

    // Act: June, with the database that moves 1.2.4.8 to China.
    useAuditEnv(b, 'v2');
    const june = await summaryOf((await auditHandler({ mode: 'run' }, PLENTY)) as AuditResult);

    // Assess: every log is compared with January's verdict, which February's summary names.
    const januaryRun = `s3://${b.verdicts}/audits/${january.startedAt.replace(/:/g, '-')}/`;
    expect(june.previous).toBe(`s3://${b.verdicts}/audits/${february.startedAt.replace(/:/g, '-')}/verdicts/`);
    expect(june.totals).toMatchObject({ logs: 3, compared: 3, nonCompliant: 2, newViolations: 1, countryChanges: 1 });
    expect(june.logs.find((l) => l.path === 'drone-a/conn.log')).toMatchObject({
      comparedWith: `${januaryRun}verdicts/drone-a/conn.log.verdict.json`,
      diff: { countryChanges: [expect.objectContaining({ ip: '1.2.4.8', before: 'US', after: 'CN' })] },
    });
  });

  it('records a log it cannot read as that log\'s error and checks the others', async () => {
    // Prepare
    const b = await freshBuckets();
    useAuditEnv(b, 'v1', {}, throttling('incoming/drone-b/conn.log'));

    // Act
    const s = await summaryOf((await auditHandler({ mode: 'run' }, PLENTY)) as AuditResult);

    // Assess
    expect(s).toMatchObject({ complete: true, totals: { logs: 3, compliant: 2, errors: 1, notChecked: 0 } });
    expect(s.logs.find((l) => l.path === 'drone-b/conn.log')).toMatchObject({
      status: 'error',
      verdict: null,
      error: `s3://${b.uploads}/incoming/drone-b/conn.log: read failed (SlowDown: Please reduce your request rate.)`,
    });
  });

  it('audits only the configured prefixes and counts what is not a log', async () => {
    // Prepare
    const b = await freshBuckets({
      ...LOGS,
      'incoming/drone-b/': '',
      'incoming/drone-b/conn.log.verdict.json': '{}',
      'incoming/drone-b/.hidden': 'x',
      'incoming/app-c/conn.log': zeekConnLog(['8.8.8.8']),
    });
    useAuditEnv(b, 'v1', { RESIDENCY_AUDIT_PREFIXES: 'incoming/drone-b/,incoming/app-c/' });

    // Act
    const s = await summaryOf((await auditHandler({ mode: 'run' }, PLENTY)) as AuditResult);

    // Assess
    expect(s.directory).toBe(`s3://${b.uploads}/incoming/`);
    expect(s.logs.map((l) => l.path)).toEqual(['app-c/conn.log', 'drone-b/conn.log']);
    expect(s.skipped).toBe(3);
  });
});

describe('state machine modes (plan, Distributed Map batch, reduce)', () => {
  /** Runs the audit as the state machine does: plan, batches of `batchSize` listed objects, reduce. */
  async function stateMachineRun(b: Buckets, batchSize: number, startedAt: string): Promise<{ plan: AuditPlan; batches: BatchResult[]; result: AuditResult }> {
    const { plan } = (await auditHandler({ mode: 'plan', startedAt }, PLENTY)) as { plan: AuditPlan };
    const items = await listedItems(b.uploads, 'incoming/');
    const batches: BatchResult[] = [];
    for (let i = 0; i < items.length; i += batchSize) {
      // ItemBatcher input: { Items: [...], BatchInput: <the state machine's BatchInput> }.
      batches.push((await auditHandler({ Items: items.slice(i, i + batchSize), BatchInput: { mode: 'check-batch', plan } }, PLENTY)) as BatchResult);
    }
    const map = { MapRunArn: 'arn:aws:states:us-east-1:123456789012:mapRun:Audit/Map:1', ResultWriterDetails: { Bucket: b.verdicts, Key: `${plan.runPrefix}map/1/manifest.json` } };
    await put(b.verdicts, map.ResultWriterDetails.Key, JSON.stringify({ DestinationBucket: b.verdicts, MapRunArn: map.MapRunArn, ResultFiles: { FAILED: [], PENDING: [], SUCCEEDED: [] } }));
    const result = (await auditHandler({ mode: 'reduce', plan, map, mapError: null }, PLENTY)) as AuditResult;
    return { plan, batches, result };
  }

  it('plans a run named after the execution start, compared with the newest earlier run', async () => {
    // Prepare
    const b = await freshBuckets();
    useAuditEnv(b, 'v1');
    await put(b.verdicts, 'audits/2026-01-01T03-00-00.000Z/summary.json', '{}');
    await put(b.verdicts, 'audits/2026-02-01T03-00-00.000Z/summary.json', '{}');
    // A run that never finished (no summary.json) is not compared with.
    await put(b.verdicts, 'audits/2026-03-01T03-00-00.000Z/batches/x.json', '{}');

    // Act
    const state = await auditHandler({ mode: 'plan', startedAt: '2026-04-01T03:00:00.123Z' }, PLENTY);

    // Assess
    expect(state).toEqual({
      plan: {
        runPrefix: 'audits/2026-04-01T03-00-00.123Z/',
        startedAt: '2026-04-01T03:00:00.123Z',
        auditBucket: b.uploads,
        prefixes: ['incoming/'],
        verdictBucket: b.verdicts,
        previous: 'audits/2026-02-01T03-00-00.000Z/verdicts/',
        // February's summary (schema 1 has no `complete`) counts as complete: the search ends there,
        // then the checker's verdicts of the uploads, for logs no run checked.
        baselines: ['audits/2026-02-01T03-00-00.000Z/verdicts/', 'verdicts/incoming/'],
      },
      resultPrefix: 'audits/2026-04-01T03-00-00.123Z/map',
      map: null,
      mapError: null,
    });
  });

  it('checks a Distributed Map batch, writes its outcomes, skips what is not a log', async () => {
    // Prepare
    const b = await freshBuckets({ ...LOGS, 'incoming/drone-b/conn.log.report.html': '<html></html>' });
    useAuditEnv(b, 'v1');
    const { plan } = (await auditHandler({ mode: 'plan', startedAt: '2026-04-01T03:00:00.000Z' }, PLENTY)) as { plan: AuditPlan };
    const items = await listedItems(b.uploads, 'incoming/');

    // Act
    const result = (await auditHandler({ Items: items, BatchInput: { mode: 'check-batch', plan } }, PLENTY)) as BatchResult;

    // Assess
    expect(result).toMatchObject({ logs: 3, notChecked: 0, skipped: 1 });
    const written = await readJson<{ outcomes: { path: string; verdictFile: string; verdict: { compliant: boolean } }[] }>(b.verdicts, `${plan.runPrefix}batches/${result.batch}.json`);
    expect(written.outcomes.map((o) => [o.path, o.verdictFile, o.verdict.compliant]).sort()).toEqual([
      ['drone-a/2026-05/conn.log', 'verdicts/drone-a/2026-05/conn.log.verdict.json', true],
      ['drone-a/conn.log', 'verdicts/drone-a/conn.log.verdict.json', true],
      ['drone-b/conn.log', 'verdicts/drone-b/conn.log.verdict.json', false],
    ]);
    expect(await keysUnder(b.verdicts, `${plan.runPrefix}verdicts/`)).toHaveLength(3);
  });

  it('gives a log deleted since the listing an error outcome; the batch goes on', async () => {
    // Prepare
    const b = await freshBuckets();
    useAuditEnv(b, 'v1');
    const { plan } = (await auditHandler({ mode: 'plan', startedAt: '2026-04-01T03:00:00.000Z' }, PLENTY)) as { plan: AuditPlan };
    const items = [...(await listedItems(b.uploads, 'incoming/')), { Key: 'incoming/drone-c/gone.log', Size: 10, Etag: '"x"', LastModified: 1780282800 }];

    // Act
    const result = (await auditHandler({ Items: items, BatchInput: { plan } }, PLENTY)) as BatchResult;

    // Assess
    expect(result).toMatchObject({ logs: 4, notChecked: 0 });
    const written = await readJson<{ outcomes: { path: string; error: string | null }[] }>(b.verdicts, `${plan.runPrefix}batches/${result.batch}.json`);
    expect(written.outcomes.find((o) => o.path === 'drone-c/gone.log')).toMatchObject({
      error: `s3://${b.uploads}/incoming/drone-c/gone.log: object no longer exists`,
      verdictFile: null,
    });
  });

  it('fails a batch on an S3 fault, so Step Functions retries it, and writes no outcomes for it', async () => {
    // Prepare
    const b = await freshBuckets();
    useAuditEnv(b, 'v1');
    const { plan } = (await auditHandler({ mode: 'plan', startedAt: '2026-04-01T03:00:00.000Z' }, PLENTY)) as { plan: AuditPlan };
    useAuditEnv(b, 'v1', {}, throttling('incoming/drone-b/conn.log'));

    // Act
    const attempt = auditHandler({ Items: await listedItems(b.uploads, 'incoming/'), BatchInput: { plan } }, PLENTY);

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'SlowDown' });
    expect(await keysUnder(b.verdicts, `${plan.runPrefix}batches/`)).toEqual([]);
  });

  it('lists the logs of a batch it had no time for as not checked, not dropped', async () => {
    // Prepare
    const b = await freshBuckets();
    useAuditEnv(b, 'v1');
    const { plan } = (await auditHandler({ mode: 'plan', startedAt: '2026-04-01T03:00:00.000Z' }, PLENTY)) as { plan: AuditPlan };

    // Act
    const result = (await auditHandler({ Items: await listedItems(b.uploads, 'incoming/'), BatchInput: { plan } }, contextWith(AUDIT_STOP_MARGIN_MS))) as BatchResult;

    // Assess
    expect(result).toMatchObject({ logs: 3, notChecked: 3 });
    const written = await readJson<{ outcomes: { notChecked?: boolean; error: string }[] }>(b.verdicts, `${plan.runPrefix}batches/${result.batch}.json`);
    expect(written.outcomes).toHaveLength(3);
    for (const o of written.outcomes) expect(o).toMatchObject({ notChecked: true, error: 'not checked: not reached before the time budget of its batch ran out' });
  });

  it('reduces two runs of batches into summaries that show the destination that changed country', async () => {
    // Prepare
    const b = await freshBuckets();

    // Act: January with the January database, June with the June one; batches of two logs.
    useAuditEnv(b, 'v1');
    const january = await stateMachineRun(b, 2, '2026-01-01T03:00:00.000Z');
    useAuditEnv(b, 'v2');
    const june = await stateMachineRun(b, 2, '2026-06-01T03:00:00.000Z');

    // Assess
    expect(january.batches.map((x) => x.logs)).toEqual([2, 1]);
    const before = await summaryOf(january.result);
    expect(before).toMatchObject({ complete: true, startedAt: '2026-01-01T03:00:00.000Z', previous: `s3://${b.verdicts}/verdicts/incoming/` });
    expect(before.totals).toMatchObject({ logs: 3, compliant: 2, nonCompliant: 1, notChecked: 0 });
    const after = await summaryOf(june.result);
    expect(after.previous).toBe(`s3://${b.verdicts}/audits/2026-01-01T03-00-00.000Z/verdicts/`);
    expect(after.totals).toMatchObject({ logs: 3, compliant: 1, nonCompliant: 2, compared: 3, newViolations: 1, countryChanges: 1 });
    expect(after.logs.find((l) => l.path === 'drone-a/conn.log')?.diff?.countryChanges).toEqual([
      {
        ip: '1.2.4.8',
        before: 'US',
        after: 'CN',
        databasesBefore: [{ name: 'v1.mmdb', buildEpoch: '2026-01-01T00:00:00.000Z' }],
        databasesAfter: [{ name: 'v2.mmdb', buildEpoch: '2026-06-01T00:00:00.000Z' }],
      },
    ]);
    const html = await s3.client.send(new GetObjectCommand({ Bucket: b.verdicts, Key: `${june.plan.runPrefix}summary.html` }));
    expect(html.ContentType).toBe('text/html; charset=utf-8');
    expect(await html.Body!.transformToString('utf8')).toContain('country changed: 1.2.4.8 US → CN');
  });

  it('lists the logs of a failed batch (from the ResultWriter manifest) and of a stopped map run as not checked', async () => {
    // Prepare: one batch checked; the other failed after its retries, as the map run recorded it.
    const b = await freshBuckets({ ...LOGS, 'incoming/drone-c/conn.log': zeekConnLog(['8.8.8.8']) });
    useAuditEnv(b, 'v1');
    // The run starts after the uploads (S3 keeps their times to the second).
    const { plan } = (await auditHandler({ mode: 'plan', startedAt: new Date(Date.now() + 1000).toISOString() }, PLENTY)) as { plan: AuditPlan };
    const items = await listedItems(b.uploads, 'incoming/');
    const [checked, failed] = [items.filter((i) => i.Key.includes('drone-a')), items.filter((i) => i.Key.includes('drone-b'))];
    await auditHandler({ Items: checked, BatchInput: { mode: 'check-batch', plan } }, PLENTY);
    const resultFile = `${plan.runPrefix}map/1/FAILED_0.json`;
    await put(
      b.verdicts,
      resultFile,
      JSON.stringify([
        {
          ExecutionArn: 'arn:aws:states:us-east-1:123456789012:express:Audit/Map:1:2',
          Input: JSON.stringify({ Items: failed, BatchInput: { mode: 'check-batch', plan } }),
          InputDetails: { Included: true },
          Name: '2',
          Error: 'S3ServiceException',
          Cause: '{"errorType":"S3ServiceException","errorMessage":"SlowDown: Please reduce your request rate."}',
          StartDate: '2026-04-01T03:00:01.000Z',
          StateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:Audit/Map',
          Status: 'FAILED',
          StopDate: '2026-04-01T03:00:09.000Z',
        },
      ]),
    );
    const manifest = `${plan.runPrefix}map/1/manifest.json`;
    await put(b.verdicts, manifest, JSON.stringify({ DestinationBucket: b.verdicts, MapRunArn: 'arn:...:mapRun:Audit/Map:1', ResultFiles: { FAILED: [{ Key: resultFile, Size: 1 }], PENDING: [], SUCCEEDED: [] } }));

    // Act: the map run exceeded its tolerated failures; the Catch hands on its error.
    const result = (await auditHandler(
      {
        mode: 'reduce',
        plan,
        map: { MapRunArn: 'arn:...:mapRun:Audit/Map:1', ResultWriterDetails: { Bucket: b.verdicts, Key: manifest } },
        mapError: { Error: 'States.ExceedToleratedFailureThreshold', Cause: 'The specified tolerated failure threshold was exceeded' },
      },
      PLENTY,
    )) as AuditResult;

    // Assess
    const s = await summaryOf(result);
    expect(result.complete).toBe(false);
    expect(s.incompleteReason).toBe(
      '2 logs were not checked: no batch reported them; the Distributed Map failed (States.ExceedToleratedFailureThreshold: The specified tolerated failure threshold was exceeded)',
    );
    expect(s.totals).toMatchObject({ logs: 4, compliant: 2, errors: 2, notChecked: 2 });
    expect(s.logs.filter((l) => l.notChecked).map((l) => [l.path, l.error])).toEqual([
      ['drone-b/conn.log', 'not checked: its batch failed (S3ServiceException: {"errorType":"S3ServiceException","errorMessage":"SlowDown: Please reduce your request rate."})'],
      ['drone-c/conn.log', 'not checked: no batch reported it (the map run stopped before it)'],
    ]);
  });
  it('is complete when every log was checked, even if the map run failed afterwards', async () => {
    // Prepare: every batch reported; the map run then failed writing its own results.
    const b = await freshBuckets();
    useAuditEnv(b, 'v1');
    const { plan } = (await auditHandler({ mode: 'plan', startedAt: new Date(Date.now() + 1000).toISOString() }, PLENTY)) as { plan: AuditPlan };
    await auditHandler({ Items: await listedItems(b.uploads, 'incoming/'), BatchInput: { plan } }, PLENTY);

    // Act
    const result = (await auditHandler({ mode: 'reduce', plan, map: null, mapError: { Error: 'States.ResultWriterFailed', Cause: 'AccessDenied' } }, PLENTY)) as AuditResult;

    // Assess
    expect(result).toMatchObject({ complete: true, totals: { logs: 3, notChecked: 0 } });
    expect(logsMatching('the map run failed after every log was checked')).toEqual([
      expect.objectContaining({ level: 'WARN', error: 'the Distributed Map failed (States.ResultWriterFailed: AccessDenied)' }),
    ]);
  });

  it('leaves logs written after the run started to the next run, and counts them in its log', async () => {
    // Prepare: a run that started before these logs were uploaded, and whose map found nothing.
    const b = await freshBuckets();
    useAuditEnv(b, 'v1');
    const { plan } = (await auditHandler({ mode: 'plan', startedAt: '2020-01-01T00:00:00.000Z' }, PLENTY)) as { plan: AuditPlan };

    // Act
    const result = (await auditHandler({ mode: 'reduce', plan, map: null, mapError: null }, PLENTY)) as AuditResult;

    // Assess
    expect(result).toMatchObject({ complete: true, totals: { logs: 0 } });
    expect(logsMatching('audit batches read')).toEqual([expect.objectContaining({ batches: 0, logsReported: 0, newerThanRun: 3 })]);
  });
});

describe('bad events and configuration', () => {
  it.each([
    [{ mode: 'audit' }, 'event is not an audit event (mode "audit"; expected run, plan, reduce, or a Distributed Map batch)'],
    [{ Items: [{ Key: 'a' }] }, 'BatchInput: expected { "plan": ... } (the ItemBatcher BatchInput)'],
    [{ Items: [{ Key: 'a' }], BatchInput: { plan: { runPrefix: 'audits/x/' } } }, 'BatchInput.plan.startedAt: expected a non-empty string'],
    [{ mode: 'plan', startedAt: 'yesterday' }, 'startedAt: expected an ISO 8601 time, got "yesterday"'],
  ])('refuses %j with one line', async (event, message) => {
    // Prepare
    useAuditEnv(await freshBuckets({}), 'v1');

    // Act
    const attempt = auditHandler(event, PLENTY);

    // Assess
    await expect(attempt).rejects.toThrow(new AuditEventError(message));
  });

  it('names a missing variable', async () => {
    // Prepare
    useAuditEnv(await freshBuckets({}), 'v1', {});
    delete process.env.RESIDENCY_AUDIT_PREFIXES;
    resetAuditRuntime();

    // Act
    const attempt = auditHandler({ mode: 'run' }, PLENTY);

    // Assess
    await expect(attempt).rejects.toThrow('Environment variable RESIDENCY_AUDIT_PREFIXES is required');
  });
});
