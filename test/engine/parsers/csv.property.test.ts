import fc from 'fast-check';
import {
  CsvFields,
  csvQuoteOpenAfter,
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
  it('follows quoted fields across lines exactly where the splitter finds the record closed', () => {
    // Lines made of quotes, delimiters, spaces and letters: csvQuoteOpenAfter, line after line, is
    // open exactly when the lines so far, joined by line breaks, split as an unterminated field.
    const piece = fc.constantFrom('"', '""', ',', ' ', 'a', 'b c', '\t');
    const line = fc.array(piece, { maxLength: 12 }).map((p) => p.join(''));
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 6 }), (lines) => {
        let open = false;
        let from = 0;
        for (let k = 0; k < lines.length; k++) {
          const bytes = Buffer.from(lines[k]!, 'latin1');
          open = csvQuoteOpenAfter(bytes, 0, bytes.length, 44, open);
          const joined = Buffer.from(lines.slice(from, k + 1).join('\n'), 'latin1');
          const n = splitCsvLine(joined, 0, joined.length, 44, new CsvFields(1));
          expect(open).toBe(n === UNTERMINATED_QUOTE);
          if (!open) from = k + 1;
        }
      }),
      { numRuns: 1000 },
    );
  });
});
