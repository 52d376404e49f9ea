/**
 * Where a JSON text goes wrong, by line and column. Node 20's `JSON.parse` names no line (often no
 * position either: "Unexpected token '}', ..."a": }" is not valid JSON"), which leaves the author
 * of a hand-written policy hunting. This scanner follows RFC 8259 just far enough to find the
 * first error; it is run only after `JSON.parse` has failed.
 */

/** The first syntax error of a JSON text: 1-based line and column (in characters), and why. */
export interface JsonSyntaxError {
  line: number;
  column: number;
  reason: string;
}

class Fail {
  constructor(
    readonly at: number,
    readonly reason: string,
  ) {}
}

/** Nesting deeper than this is reported rather than recursed into (a text of a million `[`). */
const MAX_DEPTH = 512;

class Scanner {
  pos = 0;

  /** With `uniqueKeys`, a field name given twice in one object is an error (see findDuplicateField). */
  constructor(
    private readonly s: string,
    private readonly uniqueKeys = false,
  ) {}

  fail(reason: string, at = this.pos): never {
    throw new Fail(at, reason);
  }

  /** What stands at the current position, in words. */
  found(): string {
    if (this.pos >= this.s.length) return 'the text ends';
    const c = this.s[this.pos]!;
    return /[\x20-\x7e]/.test(c) ? `'${c}'` : `character U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  }

  space(): void {
    const s = this.s;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.pos++;
    }
  }

  value(depth: number): void {
    this.space();
    const c = this.s[this.pos];
    if (c === '{') this.object(depth + 1);
    else if (c === '[') this.array(depth + 1);
    else if (c === '"') this.string();
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) this.number();
    else if (this.word('true') || this.word('false') || this.word('null')) return;
    else this.fail(`expected a value, found ${this.found()}${c === "'" ? ' (strings take double quotes)' : ''}`);
  }

  private word(w: string): boolean {
    if (!this.s.startsWith(w, this.pos)) return false;
    this.pos += w.length;
    return true;
  }

  private object(depth: number): void {
    if (depth > MAX_DEPTH) this.fail(`nested more than ${MAX_DEPTH} deep`);
    this.pos++;
    this.space();
    if (this.s[this.pos] === '}') {
      this.pos++;
      return;
    }
    const keys = this.uniqueKeys ? new Set<string>() : null;
    for (;;) {
      this.space();
      if (this.s[this.pos] !== '"') {
        const trailing = this.s[this.pos] === '}';
        this.fail(trailing ? "expected a field name after ',' (a trailing comma?)" : `expected a field name in double quotes, found ${this.found()}`);
      }
      const keyStart = this.pos;
      this.string();
      if (keys !== null) {
        const key = JSON.parse(this.s.slice(keyStart, this.pos)) as string;
        if (keys.has(key)) this.fail(`field ${JSON.stringify(key)} is given twice in one object (JSON keeps only the last)`, keyStart);
        keys.add(key);
      }
      this.space();
      if (this.s[this.pos] !== ':') this.fail(`expected ':' after the field name, found ${this.found()}`);
      this.pos++;
      this.value(depth);
      this.space();
      const c = this.s[this.pos];
      this.pos++;
      if (c === '}') return;
      if (c !== ',') {
        this.pos--;
        this.fail(`expected ',' or '}' after a field, found ${this.found()}`);
      }
    }
  }

  private array(depth: number): void {
    if (depth > MAX_DEPTH) this.fail(`nested more than ${MAX_DEPTH} deep`);
    this.pos++;
    this.space();
    if (this.s[this.pos] === ']') {
      this.pos++;
      return;
    }
    for (;;) {
      this.space();
      if (this.s[this.pos] === ']') this.fail("expected a value after ',' (a trailing comma?)");
      this.value(depth);
      this.space();
      const c = this.s[this.pos];
      this.pos++;
      if (c === ']') return;
      if (c !== ',') {
        this.pos--;
        this.fail(`expected ',' or ']' after a value, found ${this.found()}`);
      }
    }
  }

  private string(): void {
    const start = this.pos;
    const s = this.s;
    this.pos++;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c === 0x22) {
        this.pos++;
        return;
      }
      if (c < 0x20) this.fail(c === 0x0a ? 'a string runs past the end of its line (a missing closing quote?)' : 'a control character inside a string (escape it)');
      if (c === 0x5c) {
        const e = s[this.pos + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(s.slice(this.pos + 2, this.pos + 6))) this.fail('\\u must be followed by four hex digits');
          this.pos += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) this.fail(`unknown escape '\\${e ?? ''}' in a string`);
        this.pos += 2;
        continue;
      }
      this.pos++;
    }
    this.fail('a string is not closed', start);
  }

  private number(): void {
    const start = this.pos;
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(this.s.slice(this.pos, this.pos + 400));
    if (m === null) this.fail(`not a number: ${this.found()}`);
    this.pos += m[0].length;
    const next = this.s[this.pos];
    if (next !== undefined && /[0-9.eE+\-xX]/.test(next)) this.fail('not a JSON number (leading zeros, hex and a trailing dot are not JSON)', start);
  }
}

/**
 * The first syntax error in `text` (which should be one JSON value), or null when there is none
 * that this scanner sees. A leading byte order mark is skipped, as the callers skip it.
 */
export function findJsonSyntaxError(text: string): JsonSyntaxError | null {
  return scan(text, false);
}

/**
 * The first field name given twice in one object of `text` (valid JSON, which allows it: `JSON.parse`
 * keeps the last), as an error at that name; null when every object names each field once. A
 * policy that says `allowedCountries` twice says two things, and a person meant one of them.
 */
export function findDuplicateField(text: string): JsonSyntaxError | null {
  return scan(text, true);
}

function scan(text: string, uniqueKeys: boolean): JsonSyntaxError | null {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const scanner = new Scanner(body, uniqueKeys);
  let at: number;
  let reason: string;
  try {
    scanner.value(0);
    scanner.space();
    if (scanner.pos >= body.length) return null;
    at = scanner.pos;
    reason = `unexpected ${scanner.found()} after the end of the value`;
  } catch (err) {
    if (!(err instanceof Fail)) throw err;
    at = err.at;
    reason = err.reason;
  }
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < at; i++) {
    if (body.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: at - lineStart + 1, reason };
}

/**
 * A one-line description of why `text` is not JSON: `line L, column C: reason` when the scanner
 * finds the place, else the parser's own message (one line).
 */
export function describeJsonError(text: string, err: unknown): string {
  const found = findJsonSyntaxError(text);
  if (found !== null) return `line ${found.line}, column ${found.column}: ${found.reason}`;
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ');
}
