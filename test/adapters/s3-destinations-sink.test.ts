import { gunzipSync } from 'node:zlib';
import { destinationsKeyOf, gzipPieces } from '../../lambda/adapters/s3-destinations-sink';
import { serializeDestinationsJsonl, verdictIdOf } from '../../lambda/engine/verdict/destinations-jsonl';
import { checkBytes } from '../helpers/engine';
import { everyFieldVerdict, rowsText } from '../helpers/destination-rows';

const VERDICT_KEY = 'verdicts/incoming/team/drone.conn.log.verdict.json';

describe('destinationsKeyOf', () => {
  it('puts a verdict under the UTC date of its check, named by its id', () => {
    const v = { ...everyFieldVerdict(), checkedAt: '2026-03-31T23:59:59.999Z' };
    expect(destinationsKeyOf('destinations/', v, VERDICT_KEY)).toBe(
      `destinations/dt=2026-03-31/${verdictIdOf(v, VERDICT_KEY)}.jsonl.gz`,
    );
    expect(destinationsKeyOf('audit/rows/', v, VERDICT_KEY)).toMatch(/^audit\/rows\/dt=2026-03-31\/[0-9a-f]{32}\.jsonl\.gz$/);
  });

  it('is null for a verdict without destinations (an error verdict)', async () => {
    const v = await checkBytes('not a log\n');
    expect(v.destinations).toEqual([]);
    expect(destinationsKeyOf('destinations/', v, VERDICT_KEY)).toBeNull();
  });
});

describe('gzipPieces', () => {
  it('compresses the pieces into one gzip member holding their text', async () => {
    // Prepare
    const v = everyFieldVerdict();

    // Act
    const gz = await gzipPieces(serializeDestinationsJsonl(v, { verdictKey: VERDICT_KEY }));

    // Assess
    expect(gz.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(gunzipSync(gz).toString('utf8')).toBe(rowsText(v, VERDICT_KEY));
  });

  it('gives the same bytes for the same pieces (no time or name in the header)', async () => {
    const pieces = (): Iterable<string> => serializeDestinationsJsonl(everyFieldVerdict(), { verdictKey: VERDICT_KEY });
    const [a, b] = [await gzipPieces(pieces()), await gzipPieces(pieces())];
    expect(b).toEqual(a);
    expect(a.readUInt32LE(4)).toBe(0); // MTIME
  });

  it('gives a valid empty gzip for no pieces', async () => {
    expect(gunzipSync(await gzipPieces([])).byteLength).toBe(0);
  });
});
