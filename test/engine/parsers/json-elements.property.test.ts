import fc from 'fast-check';
import { InputError } from '../../../lambda/engine/errors';
import { JsonArrayElements } from '../../../lambda/engine/parsers/json-elements';

/** The elements of log.entries as the streamer hands them over, fed in chunks of `chunk` bytes. */
function stream(doc: Buffer, chunk: number): unknown[] {
  const out: unknown[] = [];
  const s = new JsonArrayElements(['log', 'entries'], (bytes, i) => {
    expect(i).toBe(out.length);
    out.push(JSON.parse(bytes.toString('utf8')));
  }, 1 << 20, 'HAR');
  for (let i = 0; i < doc.length; i += chunk) s.push(doc.subarray(i, i + chunk));
  expect(s.finish()).toEqual({ found: true, elements: out.length });
  return out;
}

const value = fc.jsonValue({ maxDepth: 3 });
// Member names that look like the path's, or hold what a scanner could trip on.
const name = fc.oneof(fc.constantFrom('log', 'entries', 'pages', 'Entries', 'log\\', '"', '{', ']'), fc.string({ maxLength: 8 }));
const members = fc.dictionary(name, value, { maxKeys: 4 });

describe('JsonArrayElements properties', () => {
  it('hands over exactly the elements JSON.parse finds at the path, whatever the chunking and the members beside it', () => {
    fc.assert(
      fc.property(members, members, fc.array(value, { maxLength: 8 }), fc.constantFrom(0, 2), fc.boolean(), fc.integer({ min: 1, max: 64 }), (top, log, entries, indent, entriesFirst, chunk) => {
        // The path's own names last (or first), so that they are the ones JSON.parse keeps.
        const logObject = entriesFirst ? { entries, ...omit(log, 'entries') } : { ...omit(log, 'entries'), entries };
        const doc = { ...omit(top, 'log'), log: logObject };
        const text = JSON.stringify(doc, null, indent);
        expect(stream(Buffer.from(text), chunk)).toEqual(JSON.parse(text).log.entries);
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws on arbitrary bytes except a one-line InputError, and never hangs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 1, max: 32 }), (bytes, chunk) => {
        const s = new JsonArrayElements(['log', 'entries'], () => undefined, 64, 'HAR');
        try {
          for (let i = 0; i < bytes.length; i += chunk) s.push(Buffer.from(bytes.subarray(i, i + chunk)));
          s.finish();
        } catch (err) {
          expect(err).toBeInstanceOf(InputError);
          expect((err as Error).message).not.toContain('\n');
        }
      }),
      { numRuns: 2000 },
    );
  });
});

function omit(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _, ...rest } = o;
  return rest;
}
