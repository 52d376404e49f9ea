import {
  CsvFields,
  csvQuoteOpenAfter,
  csvText,
  splitCsvLine,
  splitCsvText,
  TextCache,
  UNTERMINATED_QUOTE,
} from '../../../lambda/engine/parsers/csv';

/** Splits `line` on `delimiter` and returns the unescaped fields (or the error code). */
function split(line: string, delimiter = ',', limit?: number): string[] | number {
  const buf = Buffer.from(line, 'utf8');
  const fields = new CsvFields(2);
  const n = splitCsvLine(buf, 0, buf.length, delimiter.charCodeAt(0), fields, limit);
  if (n < 0) return n;
  return Array.from({ length: n }, (_, i) => csvText(buf, fields, i));
}

describe('splitCsvLine (RFC 4180 over bytes)', () => {
  it('splits plain fields, keeping empty ones', () => {
    expect(split('a,b,,d,')).toEqual(['a', 'b', '', 'd', '']);
    expect(split('')).toEqual(['']);
  });

  it('reads quoted fields holding the delimiter and "" escapes', () => {
    expect(split('"a,b","say ""hi""",c')).toEqual(['a,b', 'say "hi"', 'c']);
    expect(split('""')).toEqual(['']);
    expect(split('x,""""')).toEqual(['x', '"']);
  });

  it('accepts spaces around a quoted field', () => {
    expect(split('a, "b,c" ,d')).toEqual(['a', 'b,c', 'd']);
  });

  it('reads text after a closing quote raw, as lenient readers do', () => {
    expect(split('"ab"cd,e')).toEqual(['"ab"cd', 'e']);
  });

  it('reports an unterminated quoted field (a quoted line break cut by the line splitter)', () => {
    expect(split('a,"b,c')).toBe(UNTERMINATED_QUOTE);
    expect(split('"abc""')).toBe(UNTERMINATED_QUOTE);
  });

  it('uses any delimiter byte and decodes UTF-8', () => {
    expect(split('ä;"ö;ü"', ';')).toEqual(['ä', 'ö;ü']);
    expect(split('a\tb', '\t')).toEqual(['a', 'b']);
  });

  it('stops after `limit` fields and grows its arrays as needed', () => {
    expect(split('a,b,c,d', ',', 2)).toEqual(['a', 'b']);
    expect(split(Array.from({ length: 100 }, (_, i) => String(i)).join(','))).toHaveLength(100);
  });

  it('splits a line inside a larger buffer at its offsets', () => {
    const buf = Buffer.from('xx"a",b\nyy');
    const fields = new CsvFields();
    expect(splitCsvLine(buf, 2, 7, 44, fields)).toBe(2);
    expect([csvText(buf, fields, 0), csvText(buf, fields, 1)]).toEqual(['a', 'b']);
  });

  it('splitCsvText splits a decoded header', () => {
    expect(splitCsvText('"Time";"Dest IP"', ';')).toEqual(['Time', 'Dest IP']);
    expect(splitCsvText('"open', ',')).toBeNull();
  });
});

describe('csvQuoteOpenAfter (a quoted field running on to the next line)', () => {
  const open = (line: string, before = false, delimiter = ','): boolean => {
    const buf = Buffer.from(`xx${line}yy`, 'utf8');
    return csvQuoteOpenAfter(buf, 2, buf.length - 2, delimiter.charCodeAt(0), before);
  };

  it('is false for lines whose quotes all close, true for one left open', () => {
    expect(open('')).toBe(false);
    expect(open('a,b,"c,d",e')).toBe(false);
    expect(open('a,"say ""hi""",c')).toBe(false);
    expect(open('a,"b')).toBe(true);
    expect(open('a,"b,""c""')).toBe(true);
    expect(open('a, "b')).toBe(true);
  });

  it('counts only a quote that opens a field, as the splitter does', () => {
    // Quotes inside an unquoted field, and text after a closing quote, open nothing.
    expect(open('a,b"c,d')).toBe(false);
    expect(open('"ab"c"d,e')).toBe(false);
    expect(open('"ab" "c,e')).toBe(false);
  });

  it("follows a field already open at the line's start to its closing quote", () => {
    expect(open('', true)).toBe(true);
    expect(open('still inside, ""quoted"" text', true)).toBe(true);
    expect(open('end of it",next,"and"', true)).toBe(false);
    expect(open('end of it",next,"again', true)).toBe(true);
    expect(open('"', true)).toBe(false);
    expect(open('""', true)).toBe(true);
  });

  it('uses the delimiter it is given', () => {
    expect(open('a;"b;c', false, ';')).toBe(true);
    expect(open('a;b,"c', false, ';')).toBe(false);
    expect(open('a\t"b', false, '\t')).toBe(true);
  });
});

describe('TextCache', () => {
  it('returns equal text for equal bytes, decoding once per distinct value', () => {
    // Prepare
    const cache = new TextCache(16);
    let decoded = 0;
    const decode = (b: Buffer, s: number, e: number) => {
      decoded++;
      return b.toString('utf8', s, e);
    };
    const buf = Buffer.from('eni-1 eni-2 eni-1 eni-1');

    // Act
    const texts = [0, 6, 12, 18].map((s) => cache.get(buf, s, s + 5, decode));

    // Assess
    expect(texts).toEqual(['eni-1', 'eni-2', 'eni-1', 'eni-1']);
    expect(decoded).toBe(2);
  });

  it('never confuses values that share a slot', () => {
    const cache = new TextCache(1);
    const values = Array.from({ length: 50 }, (_, i) => `host-${i}.example.com`);
    for (let round = 0; round < 2; round++) {
      for (const v of values) {
        const b = Buffer.from(v);
        expect(cache.get(b, 0, b.length, (x, s, e) => x.toString('latin1', s, e))).toBe(v);
      }
    }
  });
});
