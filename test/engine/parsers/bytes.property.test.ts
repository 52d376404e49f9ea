import fc from 'fast-check';
import { parseTimestampBytes, parseTimestampText } from '../../../lambda/engine/parsers/bytes';

describe('parseTimestampBytes', () => {
  it('reads every plain decimal number as parseTimestampText reads its text, and leaves the rest to it', () => {
    const numeral = fc.oneof(
      // Epoch times as loggers write them: seconds with up to nine decimals, milliseconds, microseconds.
      fc.tuple(fc.integer({ min: 0, max: 9_999_999_999 }), fc.stringMatching(/^\d{0,9}$/)).map(([s, f]) => (f === '' ? `${s}` : `${s}.${f}`)),
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }).map(String),
      // Anything made of digits, points, signs, exponents and blanks.
      fc.array(fc.constantFrom('0', '1', '5', '9', '.', '-', '+', 'e', ' '), { maxLength: 20 }).map((a) => a.join('')),
    );
    fc.assert(
      fc.property(numeral, (text) => {
        const buf = Buffer.from(`x${text}y`, 'latin1');
        const fast = parseTimestampBytes(buf, 1, buf.length - 1);
        if (fast !== undefined) expect(Object.is(fast, parseTimestampText(text))).toBe(true);
        else expect(/^\d+(\.\d+)?$/.test(text) && text.replace('.', '').length <= 17 && Number(text.replace('.', '')) <= Number.MAX_SAFE_INTEGER).toBe(false);
      }),
      { numRuns: 5000 },
    );
  });

  it('reads seconds, milliseconds and microseconds since the epoch; small numbers are no dates', () => {
    const at = (s: string): number | undefined => parseTimestampBytes(Buffer.from(s), 0, s.length);
    expect(at('1764064800.001139')).toBe(1764064800001.139);
    expect(at('1764064800001')).toBe(1764064800001);
    expect(at('1764064800001139')).toBe(1764064800001.139);
    expect(at('12.5')).toBeNaN();
    expect(at('2024-05-01')).toBeUndefined();
    expect(at('1.')).toBeUndefined();
    expect(at('9007199254740993')).toBeUndefined();
  });
});
