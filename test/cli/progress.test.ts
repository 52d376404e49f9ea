import { PROGRESS_DELAY_MS, ProgressLine } from '../../bin/cli/progress';

function fakeTerminal(columns = 80): NodeJS.WriteStream & { written: string[] } {
  const written: string[] = [];
  return { columns, written, write: (s: string) => written.push(s) > 0 } as unknown as NodeJS.WriteStream & { written: string[] };
}

describe('ProgressLine', () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  it('stays silent for the first second, then shows bytes, share, records and rate', () => {
    const tty = fakeTerminal(120);
    const p = new ProgressLine('conn.log', 200_000_000, tty);
    p.update(1_000_000, 10_000);
    expect(tty.written).toEqual([]);
    jest.setSystemTime(PROGRESS_DELAY_MS * 2);
    p.update(100_000_000, 700_000);
    expect(tty.written).toEqual(['\rconn.log: 100 MB (50%), 700,000 records, 350,000 records/s\x1b[K']);
    p.done();
    expect(tty.written.at(-1)).toBe('\r\x1b[K');
  });

  it('fits a narrow terminal, keeping the rate', () => {
    const tty = fakeTerminal(40);
    const p = new ProgressLine('a/very/long/path/to/some/conn.log', null, tty);
    jest.setSystemTime(2000);
    p.update(5_000_000, 20_000);
    const line = tty.written[0]!.slice(1, -'\x1b[K'.length);
    expect(line.length).toBeLessThan(40);
    expect(line).toMatch(/^….*10,000 records\/s$/);
  });

  it('leaves nothing to clear when it never drew', () => {
    const tty = fakeTerminal();
    new ProgressLine('x', null, tty).done();
    expect(tty.written).toEqual([]);
  });
});
