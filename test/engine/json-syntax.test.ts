import fc from 'fast-check';
import { describeJsonError, findJsonSyntaxError } from '../../lambda/engine/json-syntax';

/** Whether JSON.parse accepts the text (with a leading byte order mark skipped, as callers do). */
function parses(text: string): boolean {
  try {
    JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    return true;
  } catch {
    return false;
  }
}

describe('findJsonSyntaxError', () => {
  it.each([
    ['a value missing after a colon', '{\n  "allowedCountries": ["US"],\n  "unknown": }\n', 3, 14, "expected a value, found '}'"],
    ['a trailing comma in an array', '{\n  "allowedCountries": [\n    "US",\n  ]\n}', 4, 3, "expected a value after ',' (a trailing comma?)"],
    ['a trailing comma in an object', '{"a": 1,\n}', 2, 1, "expected a field name after ',' (a trailing comma?)"],
    ['single quotes', "{'allowedCountries': ['US']}", 1, 2, "expected a field name in double quotes, found '''"],
    ['a missing comma', '{\n  "a": ["US"]\n  "b": 1\n}', 3, 3, "expected ',' or '}' after a field, found '\"'"],
    ['an unclosed array', '{"a": ["US"', 1, 12, "expected ',' or ']' after a value, found the text ends"],
    ['an unclosed string', '{"a": "US}\n', 1, 11, 'a string runs past the end of its line (a missing closing quote?)'],
    ['a comment', '// policy\n{}', 1, 1, "expected a value, found '/'"],
    ['text after the value', '{}\n{}', 2, 1, "unexpected '{' after the end of the value"],
    ['an empty text', '', 1, 1, 'expected a value, found the text ends'],
    ['a leading zero', '{"a": 01}', 1, 7, 'not a JSON number (leading zeros, hex and a trailing dot are not JSON)'],
    ['a bad escape', '{"a": "c:\\temp\\x"}', 1, 15, "unknown escape '\\x' in a string"],
    ['a bare word', '{"unknown": warn}', 1, 13, "expected a value, found 'w'"],
  ])('finds %s by line and column', (_what, text, line, column, reason) => {
    expect(parses(text)).toBe(false);
    expect(findJsonSyntaxError(text)).toEqual({ line, column, reason });
  });

  it('counts columns after a byte order mark from the first character of the text', () => {
    expect(findJsonSyntaxError('\ufeff{"a": }')).toEqual({ line: 1, column: 7, reason: "expected a value, found '}'" });
  });

  it('finds no error in any text JSON.stringify writes', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 2, '\t'), (value, space) => {
        expect(findJsonSyntaxError(JSON.stringify(value, null, space))).toBeNull();
      }),
    );
  });

  it('agrees with JSON.parse on arbitrary short texts', () => {
    const pieces = fc.constantFrom('{', '}', '[', ']', ',', ':', '"', '"a"', '1', '-', '0', '.5', 'e3', 'true', 'nul', 'null', ' ', '\n', '\\', '\\u00e9', 'x', "'");
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 12 }), (parts) => {
        const text = parts.join('');
        expect(findJsonSyntaxError(text) === null).toBe(parses(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('reports nesting too deep for it instead of overflowing the stack', () => {
    const found = findJsonSyntaxError('['.repeat(100_000));
    expect(found).toEqual({ line: 1, column: 513, reason: 'nested more than 512 deep' });
  });
});

describe('describeJsonError', () => {
  it('names the line and column', () => {
    const text = '{\n  "a": }';
    let err: unknown;
    try {
      JSON.parse(text);
    } catch (e) {
      err = e;
    }
    expect(describeJsonError(text, err)).toBe("line 2, column 8: expected a value, found '}'");
  });
});
