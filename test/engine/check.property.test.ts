import fc from 'fast-check';
import { checkBytes, fixture } from '../helpers/engine';

const POP3 = fixture('zeek', 'conn-pop3.tsv.log').toString('latin1');
const HEADER = POP3.split('\n').filter((l) => l.startsWith('#') && !l.startsWith('#close'));
const DATA = POP3.split('\n').filter((l) => l !== '' && !l.startsWith('#'));

describe('runCheck on arbitrary input (properties)', () => {
  it('never throws on arbitrary bytes: a verdict or an error verdict, counts adding up', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), async (bytes) => {
        const v = await checkBytes(Buffer.from(bytes), {}, 17);
        expect(typeof v.compliant).toBe('boolean');
        if (v.error === undefined) expect(v.totals.records).toBe(v.totals.connections + v.totals.skipped + v.totals.noData + v.totals.unattributed);
        else expect(v.compliant).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on mutated Zeek lines; every data line is counted', async () => {
    const mutatedLine = fc
      .tuple(fc.constantFrom(...DATA), fc.nat(200), fc.string({ maxLength: 12 }), fc.nat(12))
      .map(([line, at, insert, cut]) => line.slice(0, at % (line.length + 1)) + insert + line.slice((at % (line.length + 1)) + cut));
    await fc.assert(
      fc.asyncProperty(fc.array(mutatedLine, { minLength: 1, maxLength: 30 }), async (lines) => {
        const text = `${HEADER.join('\n')}\n${lines.join('\n')}\n`;
        const v = await checkBytes(Buffer.from(text, 'latin1'), {}, 31);
        const dataLines = lines.flatMap((l) => l.split(/\r?\n/)).filter((l) => l !== '' && !l.startsWith('#')).length;
        if (v.error === undefined) {
          expect(v.totals.records).toBe(dataLines);
          expect(v.totals.records).toBe(v.totals.connections + v.totals.skipped + v.totals.noData + v.totals.unattributed);
        } else {
          expect(v.compliant).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('gives the same totals and destinations whatever the order of records', async () => {
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray(DATA, { minLength: DATA.length, maxLength: DATA.length }), async (shuffled) => {
        const a = await checkBytes(`${HEADER.join('\n')}\n${DATA.join('\n')}\n`);
        const b = await checkBytes(`${HEADER.join('\n')}\n${shuffled.join('\n')}\n`);
        expect(b.totals).toEqual(a.totals);
        const strip = (v: typeof a) => v.destinations.map(({ evidenceLines: _e, ports: _p, ...d }) => d);
        expect(strip(b)).toEqual(strip(a));
        expect(b.compliant).toBe(a.compliant);
      }),
      { numRuns: 25 },
    );
  });
});
