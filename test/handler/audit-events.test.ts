/** Reading what Step Functions hands the audit function and writes about a map run. */
import { failedBatches, itemEtag, itemLastModified, parseAuditEvent, unfinishedResultFiles, MAX_REASON_CHARS } from '../../lambda/audit-events';

const plan = {
  runPrefix: 'audits/2026-06-01T03-00-00.000Z/',
  startedAt: '2026-06-01T03:00:00.000Z',
  auditBucket: 'uploads',
  prefixes: ['incoming/'],
  verdictBucket: 'verdicts',
  previous: null,
};

describe('parseAuditEvent', () => {
  it('reads a Distributed Map batch as ItemBatcher sends it', () => {
    // Prepare: items as the ListObjectsV2 item reader writes them.
    const item = { Etag: '"05704fbdccb224cb01c59005bebbad28"', Key: 'incoming/drone-a/conn.log', LastModified: 1780282800, Size: 34910, StorageClass: 'STANDARD' };

    // Act
    const event = parseAuditEvent({ Items: [item], BatchInput: { mode: 'check-batch', plan } });

    // Assess
    expect(event).toEqual({ kind: 'batch', items: [item], plan });
    expect(itemEtag(item)).toBe('05704fbdccb224cb01c59005bebbad28');
    expect(itemLastModified(item)).toEqual(new Date('2026-06-01T03:00:00Z'));
    expect(itemLastModified({ Key: 'k', LastModified: '2026-06-01T03:00:00Z' })).toEqual(new Date('2026-06-01T03:00:00Z'));
  });

  it('takes an EventBridge scheduled event as a run', () => {
    expect(parseAuditEvent({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} })).toEqual({ kind: 'run' });
  });

  it('reads a reduce step with or without the map output', () => {
    expect(parseAuditEvent({ mode: 'reduce', plan, map: null, mapError: { Error: 'States.Timeout' } })).toEqual({
      kind: 'reduce',
      plan,
      map: null,
      mapError: { Error: 'States.Timeout' },
    });
  });
});

describe('the ResultWriter output', () => {
  it('names the result files of failed and pending child executions', () => {
    // Prepare
    const manifest = {
      DestinationBucket: 'verdicts',
      MapRunArn: 'arn:aws:states:us-east-1:123456789012:mapRun:Audit/CheckLogs:1',
      ResultFiles: { FAILED: [{ Key: 'm/FAILED_0.json', Size: 10 }], PENDING: [{ Key: 'm/PENDING_0.json', Size: 10 }], SUCCEEDED: [{ Key: 'm/SUCCEEDED_0.json', Size: 10 }] },
    };

    // Act
    const files = unfinishedResultFiles(JSON.stringify(manifest));

    // Assess
    expect(files).toEqual(['m/FAILED_0.json', 'm/PENDING_0.json']);
  });

  it('gives each failed batch its keys and a reason of bounded length', () => {
    // Prepare
    const failed = {
      ExecutionArn: 'arn:aws:states:us-east-1:123456789012:express:Audit/CheckLogs:1:2',
      Input: JSON.stringify({ Items: [{ Key: 'incoming/a.log' }, { Key: 'incoming/b.log' }], BatchInput: { plan } }),
      InputDetails: { Included: true },
      Error: 'Lambda.Unknown',
      Cause: `The cause could not be determined because Lambda did not return an error type. ${'x'.repeat(1000)}`,
      Status: 'FAILED',
    };
    const succeeded = { ...failed, Status: 'SUCCEEDED', Output: '{}' };

    // Act
    const batches = failedBatches(JSON.stringify([succeeded, failed]));
    const fromLines = failedBatches(`${JSON.stringify(succeeded)}\n${JSON.stringify(failed)}\n`);

    // Assess
    expect(batches).toEqual([{ keys: ['incoming/a.log', 'incoming/b.log'], reason: expect.stringMatching(/^its batch failed \(Lambda\.Unknown: The cause could not/) as string }]);
    expect(batches[0]!.reason.length).toBeLessThan(MAX_REASON_CHARS + 30);
    expect(fromLines).toEqual(batches);
  });

  it('refuses a manifest that is not one, in one line', () => {
    expect(() => unfinishedResultFiles('<html>')).toThrow(/^manifest.json: not JSON/);
    expect(() => unfinishedResultFiles('{}')).toThrow('manifest.json: no ResultFiles');
  });
});
