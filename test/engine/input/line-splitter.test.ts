import { LineSplitter, type BlockHandler } from '../../../lambda/engine/input/line-splitter';

/** Records what a splitter hands to its line handler and to its block handler. */
function splitterWithBlocks(maxLineBytes: number): { splitter: LineSplitter; lines: string[]; blocks: string[]; long: number[] } {
  const lines: string[] = [];
  const blocks: string[] = [];
  const long: number[] = [];
  const handler: BlockHandler = {
    block(chunk, start, end, splitter) {
      blocks.push(chunk.toString('latin1', start, end));
      // Counted as the fold counts them: one line per newline.
      for (let i = start; i < end; i++) if (chunk[i] === 10) splitter.lineNo++;
    },
  };
  const splitter = new LineSplitter(
    (buf, start, end, lineNo) => lines.push(`${lineNo}:${buf.toString('latin1', start, end)}`),
    (lineNo) => long.push(lineNo),
    maxLineBytes,
    handler,
  );
  return { splitter, lines, blocks, long };
}

describe('LineSplitter with a block handler', () => {
  it('hands a line that spans chunks to the block handler whole, with its newline', () => {
    const { splitter, lines, blocks } = splitterWithBlocks(100);
    for (const part of ['one\ntw', 'o\r', '\nthree\n']) splitter.push(Buffer.from(part, 'latin1'));
    splitter.end();
    expect(blocks).toEqual(['one\n', 'two\r\n', 'three\n']);
    expect(lines).toEqual([]);
    expect(splitter.lineNo).toBe(3);
  });

  it('still hands a spanning line that is too long to the long-line handler, numbered in turn', () => {
    const { splitter, lines, blocks, long } = splitterWithBlocks(8);
    for (const part of ['ok\n0123', '45678901', '\nlast\n']) splitter.push(Buffer.from(part, 'latin1'));
    splitter.end();
    expect(blocks).toEqual(['ok\n', 'last\n']);
    expect(long).toEqual([2]);
    expect(lines).toEqual([]);
    expect(splitter.lineNo).toBe(3);
  });

  it('gives a last line without a newline to the line handler', () => {
    const { splitter, lines, blocks } = splitterWithBlocks(100);
    for (const part of ['a\nb', 'c']) splitter.push(Buffer.from(part, 'latin1'));
    splitter.end();
    expect(blocks).toEqual(['a\n']);
    expect(lines).toEqual(['2:bc']);
  });
});
