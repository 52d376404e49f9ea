import fc from 'fast-check';
import {
  CsvFields,
  csvText,
  splitCsvLine,
  UNTERMINATED_QUOTE,
} from '../../../lambda/engine/parsers/csv';

/** RFC 4180 encoding of one record: quote a field when it holds the delimiter, a quote or starts/ends with a space. */
function encode(fields: readonly string[], delimiter: string): string {
  return fields
    .map((f) =>
      f.includes(delimiter) || f.includes('"') || /^ | $/.test(f)
        ? `"${f.replaceAll('"', '""')}"`
        : f,
    )
    .join(delimiter);
}

const field = fc.string({ maxLength: 12 }).map((s) => s.replace(/[\r\n]/g, ''));

describe('CSV splitter properties', () => {
  it('splits what RFC 4180 encoding joined', () => {
    fc.assert(
      fc.property(
        fc.array(field, { minLength: 1, maxLength: 20 }),
        fc.constantFrom(',', ';', '\t'),
        (fields, d) => {
          const buf = Buffer.from(encode(fields, d), 'utf8');
          const out = new CsvFields(1);
          const n = splitCsvLine(buf, 0, buf.length, d.charCodeAt(0), out);
          expect(Array.from({ length: n }, (_, i) => csvText(buf, out, i))).toEqual(fields);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('never throws on arbitrary bytes and keeps offsets inside the line, in order', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(44, 59, 9), (bytes, d) => {
        const buf = Buffer.concat([Buffer.from('xx'), Buffer.from(bytes), Buffer.from('yy')]);
        const end = buf.length - 2;
        const out = new CsvFields(1);
        const n = splitCsvLine(buf, 2, end, d, out);
        if (n === UNTERMINATED_QUOTE) return;
        expect(n).toBeGreaterThanOrEqual(1);
        let prev = 2;
        for (let i = 0; i < n; i++) {
          const s = out.pos[i * 2]!;
          const e = out.pos[i * 2 + 1]!;
          expect(s).toBeGreaterThanOrEqual(prev);
          expect(e).toBeGreaterThanOrEqual(s);
          expect(e).toBeLessThanOrEqual(end);
          prev = e;
        }
      }),
      { numRuns: 400 },
    );
  });
});
