import fc from 'fast-check';
import { InputError } from '../../../lambda/engine/errors';
import { HarParser } from '../../../lambda/engine/parsers/har';
import { RecordingSink } from './harness';

class CountingSink extends RecordingSink {
  unattributedCount = 0;
  unattributed(): void {
    this.unattributedCount++;
  }
}

function run(bytes: Buffer, chunkSize: number): CountingSink {
  const sink = new CountingSink();
  const parser = new HarParser();
  for (let i = 0; i < bytes.length; i += chunkSize) parser.push(bytes.subarray(i, i + chunkSize), sink);
  parser.finish(sink);
  return sink;
}

const text = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('', '[2001:db8::1]', '93.184.216.34', '-1', '443', 'https://example.com/', 'http://[::1]:8080/', 'gopher://x/'));
const size = fc.oneof(fc.integer({ min: -2, max: 1e6 }), fc.double(), fc.constant(null), text);
const message = fc.option(fc.record({ url: text, headersSize: size, bodySize: size }, { requiredKeys: [] }));
const entry = fc.oneof(
  fc.record(
    {
      serverIPAddress: text,
      connection: text,
      startedDateTime: fc.oneof(text, fc.date({ noInvalidDate: true }).map((d) => d.toISOString())),
      time: size,
      request: message,
      response: message,
      _fromCache: text,
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue({ maxDepth: 2 }),
);

describe('HAR parser properties', () => {
  it('never throws on arbitrary bytes except a whole-input InputError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 64 }), (bytes, chunk) => {
        try {
          run(Buffer.from(bytes), chunk);
        } catch (err) {
          expect(err).toBeInstanceOf(InputError);
          expect((err as Error).message).not.toContain('\n');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('ends every entry in exactly one sink call: flows + skipped + unattributed = entries', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 20 }), fc.integer({ min: 1, max: 500 }), (entries, chunk) => {
        const doc = Buffer.from(JSON.stringify({ log: { version: '1.2', entries } }));
        const sink = run(doc, chunk);
        expect(sink.calls.length + sink.unattributedCount).toBe(entries.length);
        for (const c of sink.calls) expect(c.line).toBeGreaterThanOrEqual(1);
      }),
      { numRuns: 2000 },
    );
  });
});
