import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_BASE_NAME_BYTES, OutputError, VerdictNamer, verdictBaseName, writeOutput, writeOutputPieces } from '../../lambda/adapters/fs-verdict-sink';

describe('writeOutputPieces', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'residency-sink-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes text and byte pieces in order, reusing one buffer, and leaves only the file', () => {
    const shared = Buffer.alloc(3);
    function* pieces(): Generator<string | Uint8Array> {
      yield '{"a":';
      shared.write('123');
      yield shared;
      shared.write('456');
      yield shared;
      yield '}\n';
    }
    const path = writeOutputPieces(join(dir, 'out'), 'x.log', '.verdict.json', pieces());
    expect(path).toBe(join(dir, 'out', 'x.log.verdict.json'));
    expect(readFileSync(path, 'utf8')).toBe('{"a":123456}\n');
    expect(readdirSync(join(dir, 'out'))).toEqual(['x.log.verdict.json']);
  });

  it('replaces an earlier file whole', () => {
    writeOutput(dir, 'x.log', '.verdict.json', 'old verdict, longer than the new one\n');
    writeOutput(dir, 'x.log', '.verdict.json', 'new\n');
    expect(readFileSync(join(dir, 'x.log.verdict.json'), 'utf8')).toBe('new\n');
    expect(readdirSync(dir)).toEqual(['x.log.verdict.json']);
  });

  it('leaves an earlier file as it was, and no partial file, when writing fails midway', () => {
    const earlier = join(dir, 'x.log.verdict.json');
    writeFileSync(earlier, '{"compliant":true}\n');
    function* failing(): Generator<string> {
      yield '{"compliant":';
      throw new Error('serialization failed');
    }
    expect(() => writeOutputPieces(dir, 'x.log', '.verdict.json', failing())).toThrow('serialization failed');
    expect(readFileSync(earlier, 'utf8')).toBe('{"compliant":true}\n');
    expect(readdirSync(dir)).toEqual(['x.log.verdict.json']);
    // Whatever is thrown comes through as it was.
    function* throwsUndefined(): Generator<string> {
      yield '{';
      throw undefined;
    }
    let caught: unknown = 'nothing';
    try {
      writeOutputPieces(dir, 'x.log', '.verdict.json', throwsUndefined());
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeUndefined();
    expect(readdirSync(dir)).toEqual(['x.log.verdict.json']);
  });

  it('writes a name at the file system limit (the temporary name does not grow with it)', () => {
    const name = 'n'.repeat(255 - '.verdict.json'.length);
    const path = writeOutput(dir, name, '.verdict.json', '{}\n');
    expect(readFileSync(path, 'utf8')).toBe('{}\n');
    expect(readdirSync(dir)).toEqual([`${name}.verdict.json`]);
  });

  it('names the file it cannot write, in words, and leaves no partial file', () => {
    mkdirSync(join(dir, 'x.log.verdict.json'));
    const write = (): string => writeOutput(dir, 'x.log', '.verdict.json', '{}\n');
    expect(write).toThrow(OutputError);
    expect(write).toThrow(`${join(dir, 'x.log.verdict.json')}: cannot write (a directory has that name)`);
    expect(readdirSync(dir)).toEqual(['x.log.verdict.json']);

    const file = join(dir, 'not-a-folder');
    writeFileSync(file, '');
    expect(() => writeOutput(join(file, 'out'), 'x.log', '.verdict.json', '{}\n')).toThrow(
      `${join(file, 'out', 'x.log.verdict.json')}: cannot write (a file is in the way of its folder)`,
    );
  });
});

describe('VerdictNamer', () => {
  it('keeps the first of a name, numbers the next ones, and never gives one name twice', () => {
    const namer = new VerdictNamer();
    expect(['a/conn.log', 'b/conn.log', 'c/conn.log~2', 'd/conn.log'].map((p) => namer.name(p))).toEqual([
      'conn.log',
      'conn.log~2',
      'conn.log~2~2',
      'conn.log~3',
    ]);
  });

  it('leaves an input of the run its own name when it knows the inputs beforehand', () => {
    const inputs = ['a/conn.log', 'b/conn.log', 'c/conn.log~2', 'd/conn.log'];
    const namer = new VerdictNamer(inputs);
    expect(inputs.map((p) => namer.name(p))).toEqual(['conn.log', 'conn.log~3', 'conn.log~2', 'conn.log~4']);
  });
});

describe('verdictBaseName: names too long for the output beside them', () => {
  it('keeps short names as they are', () => {
    expect(verdictBaseName('/logs/conn.log')).toBe('conn.log');
  });

  it('shortens a long name to whole characters and a hash of the whole name', () => {
    const a = verdictBaseName(`${'é'.repeat(150)}x.log`);
    const b = verdictBaseName(`${'é'.repeat(150)}y.log`);
    for (const name of [a, b]) {
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_BASE_NAME_BYTES);
      expect(name).toMatch(/^é+-[0-9a-f]{12}$/);
    }
    expect(a).not.toBe(b);
    expect(verdictBaseName(`${'é'.repeat(150)}x.log`)).toBe(a);
  });
});
