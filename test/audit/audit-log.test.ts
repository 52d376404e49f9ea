/** The per-log step every audit path shares, with in-memory storage, and the bounded runner. */
import { auditLog, forEachLimited, type AuditLogIo } from '../../lambda/engine/audit/audit-log';
import type { DiffableVerdict } from '../../lambda/engine/audit/diff';
import type { Verdict } from '../../lambda/engine/verdict/verdict';
import { bundledDatabases, checkBytes, policyOf } from '../helpers/engine';
import { zeekConnLog } from '../helpers/zeek';

async function* bytesOf(text: string): AsyncGenerator<Uint8Array> {
  yield Buffer.from(text);
}

/** Storage in memory: what was written, and an earlier verdict to return. */
function memoryIo(text: string, previous: DiffableVerdict | null = null): AuditLogIo & { written: Verdict[] } {
  const written: Verdict[] = [];
  return {
    written,
    open: async () => ({ body: bytesOf(text), source: { bucket: 'b', key: 'k', versionId: null, etag: 'e' } }),
    readPrevious: async () => (previous ? { verdict: previous } : null),
    writeVerdict: async (v) => {
      written.push(v);
      return `verdicts/${v.input.name}.verdict.json`;
    },
  };
}

const options = {
  policy: policyOf('us'),
  databases: bundledDatabases(),
  toolVersion: '0.0.0-test',
  now: () => new Date('2026-06-01T00:00:00Z'),
  readFailure: () => null,
};

describe('auditLog', () => {
  it('checks the log, stores its verdict with its source, and diffs it against the earlier one', async () => {
    // Prepare: the earlier verdict placed 1.1.1.1 somewhere else.
    const earlier = await checkBytes(zeekConnLog(['1.1.1.1']));
    const moved = { ...earlier, destinations: earlier.destinations.map((d) => ({ ...d, country: 'ZZ' })) };
    const io = memoryIo(zeekConnLog(['1.1.1.1']), moved);

    // Act
    const outcome = await auditLog('drone-a/conn.log', io, options);

    // Assess
    expect(io.written).toHaveLength(1);
    expect(io.written[0]!.input).toMatchObject({ name: 'drone-a/conn.log', source: { bucket: 'b', key: 'k' } });
    expect(outcome).toMatchObject({ path: 'drone-a/conn.log', verdictFile: 'verdicts/drone-a/conn.log.verdict.json', error: null });
    expect(outcome.diff?.countryChanges).toEqual([expect.objectContaining({ ip: '1.1.1.1', before: 'ZZ' })]);
  });

  it('reads flow logs of a custom format given without a header line, as the checker does (RESIDENCY_VPC_FORMAT)', async () => {
    // Prepare
    const log = '2023-11-14T22:14:20.000Z eni-0a1b 10.0.1.5 95.163.0.1 5000 ACCEPT\n2023-11-14T22:14:21.000Z eni-0a1b 10.0.1.5 54.239.28.85 700 ACCEPT\n';
    const parserOptions = { vpcFields: ['interface-id', 'srcaddr', 'dstaddr', 'bytes', 'action'] };

    // Act
    const io = memoryIo(log);
    const given = await auditLog('vpc/custom.log', io, { ...options, parserOptions });
    const notGiven = await auditLog('vpc/custom.log', memoryIo(log), options);

    // Assess
    expect(given.error).toBeNull();
    expect(io.written[0]).toMatchObject({ input: { format: 'vpc-flow' }, totals: { records: 2, connections: 2, bytesSent: 5700 } });
    expect(notGiven.error).toMatch(/^unknown log format/);
  });

  it('turns an unreadable log into an error outcome with an error verdict, and never diffs it', async () => {
    // Prepare
    const io = memoryIo('not a log\n', { databases: [], destinations: [], violations: [] });

    // Act
    const outcome = await auditLog('notes.txt', io, options);

    // Assess
    expect(outcome.error).toMatch(/unknown log format/);
    expect(outcome.diff).toBeNull();
    expect(io.written[0]!.compliant).toBe(false);
  });

  it('asks the caller whether a read failure is the log\'s or the run\'s', async () => {
    // Prepare
    const failing = (err: Error): AuditLogIo => ({ ...memoryIo(''), open: async () => Promise.reject(err) });
    const mine = new Error('gone');
    const yours = new Error('throttled');
    const readFailure = (err: unknown) => (err === mine ? 'deleted since it was listed' : null);

    // Act
    const outcome = await auditLog('a.log', failing(mine), { ...options, readFailure });
    const attempt = auditLog('b.log', failing(yours), { ...options, readFailure });

    // Assess
    expect(outcome).toEqual({ path: 'a.log', verdictFile: null, error: 'deleted since it was listed', verdict: null, diff: null });
    await expect(attempt).rejects.toBe(yours);
  });
});

describe('forEachLimited', () => {
  it('runs every item, never more than the limit at a time', async () => {
    // Prepare
    let running = 0;
    let most = 0;
    const done: number[] = [];

    // Act
    const left = await forEachLimited([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 5));
      done.push(n);
      running--;
    });

    // Assess
    expect(left).toEqual([]);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(3);
  });

  it('starts nothing once told to stop, and returns what it did not start', async () => {
    // Prepare
    const done: number[] = [];

    // Act
    const left = await forEachLimited([1, 2, 3, 4], 1, async (n) => void done.push(n), () => done.length >= 2);

    // Assess
    expect(done).toEqual([1, 2]);
    expect(left).toEqual([3, 4]);
  });

  it('rethrows the first failure after the items in flight', async () => {
    // Act
    const attempt = forEachLimited([1, 2, 3], 2, async (n) => {
      if (n === 1) throw new Error('one failed');
    });

    // Assess
    await expect(attempt).rejects.toThrow('one failed');
  });
});
