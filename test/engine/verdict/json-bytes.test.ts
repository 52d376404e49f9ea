import fc from 'fast-check';
import {
  Encoded,
  JsonBytes,
  NUMBER_BOUND,
  WORD_SLACK,
  numsBound,
  putEncoded,
  putNum,
  putNums,
  putStr,
  putStrs,
  quoted,
  strBound,
  strsBound,
} from '../../../lambda/engine/verdict/json-bytes';
import { awkwardNumber, awkwardText } from '../../helpers/verdict-arbitraries';

/** What a `put*` writer gives for a value, as text. */
function written(bound: number, put: (buf: Buffer, p: number) => number): string {
  const buf = Buffer.alloc(bound + 8, 0xff);
  const end = put(buf, 3);
  expect(end - 3).toBeLessThanOrEqual(bound);
  expect(buf[end]).toBe(0xff);
  return buf.toString('utf8', 3, end);
}

describe('JSON bytes', () => {
  it('writes a number as String(n) does, within its bound, and null when not finite', () => {
    fc.assert(
      fc.property(awkwardNumber, (n) => {
        expect(written(NUMBER_BOUND, (buf, p) => putNum(buf, p, n))).toBe(JSON.stringify(n));
        if (Number.isFinite(n)) expect(written(NUMBER_BOUND, (buf, p) => putNum(buf, p, n))).toBe(String(n));
      }),
      { numRuns: 5000 },
    );
  });

  it('writes every safe integer digit for digit, around each power of ten', () => {
    for (let k = 0; k <= 16; k++) {
      for (const n of [10 ** k - 1, 10 ** k, 10 ** k + 1]) {
        if (n > Number.MAX_SAFE_INTEGER) continue;
        expect(written(NUMBER_BOUND, (buf, p) => putNum(buf, p, n))).toBe(String(n));
      }
    }
  });

  it('writes a string as JSON.stringify does, encoded as UTF-8, within its bound', () => {
    fc.assert(
      fc.property(fc.option(awkwardText), (s) => {
        const text = written(strBound(s), (buf, p) => putStr(buf, p, s));
        expect(text).toBe(JSON.stringify(s));
        expect(Buffer.from(quoted(s).bytes).equals(Buffer.from(JSON.stringify(s), 'utf8'))).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('writes lists as JSON.stringify does, empty ones included, within their bounds', () => {
    fc.assert(
      fc.property(fc.array(awkwardText, { maxLength: 5 }), fc.array(awkwardNumber, { maxLength: 5 }), (strs, nums) => {
        expect(written(strsBound(strs), (buf, p) => putStrs(buf, p, strs))).toBe(JSON.stringify(strs));
        expect(written(numsBound(nums), (buf, p) => putNums(buf, p, nums))).toBe(JSON.stringify(nums));
      }),
    );
  });

  it('copies encoded text word by word, writing no further than its slack past the end', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(7), (bytes, at) => {
        const buf = Buffer.alloc(at + bytes.length + 16, 0xee);
        const view = new DataView(buf.buffer, buf.byteOffset, buf.length);
        const end = putEncoded(view, at, new Encoded(bytes));
        expect(end).toBe(at + bytes.length);
        expect(buf.subarray(at, end).equals(bytes)).toBe(true);
        expect(buf.subarray(0, at).every((b) => b === 0xee)).toBe(true);
        expect(buf.subarray(end + WORD_SLACK).every((b) => b === 0xee)).toBe(true);
      }),
    );
  });

  it('grows its buffer, keeping what was written, when a write needs more room', () => {
    const out = new JsonBytes(4);
    out.text('[');
    const long = `"${'ä'.repeat(1000)}"`;
    out.text(long);
    out.encoded(quoted('x'.repeat(5000)));
    out.text(']');
    expect(out.buf.toString('utf8', 0, out.pos)).toBe(`[${long}"${'x'.repeat(5000)}"]`);
    expect(out.view.byteLength).toBe(out.buf.length);
  });
});
