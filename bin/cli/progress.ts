/**
 * A one-line progress display on standard error for inputs that take more than a second: bytes
 * read, records per second. Only on a terminal; never with --quiet or --json.
 */
import { formatBytes } from '../../lambda/engine/verdict/render-summary';

/** How long a check runs before progress is shown. */
export const PROGRESS_DELAY_MS = 1000;

/** A progress line for one input. */
export class ProgressLine {
  private readonly started = Date.now();
  private shown = false;

  constructor(
    private readonly name: string,
    private readonly total: number | null,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  /** Feeds the progress callback of a check. */
  update = (bytesRead: number, records: number): void => {
    const elapsed = Date.now() - this.started;
    if (elapsed < PROGRESS_DELAY_MS) return;
    const rate = Math.round(records / (elapsed / 1000));
    const share = this.total ? ` (${Math.min(100, Math.floor((bytesRead / this.total) * 100))}%)` : '';
    const line = `${this.name}: ${formatBytes(bytesRead)}${share}, ${records.toLocaleString('en')} records, ${rate.toLocaleString('en')} records/s`;
    const width = this.stream.columns ?? 100;
    // Keep the end (the rate) when the terminal is narrow: shorten the name instead.
    const fitted = line.length < width ? line : `…${line.slice(line.length - width + 2)}`;
    this.stream.write(`\r${fitted}\x1b[K`);
    this.shown = true;
  };

  /** Clears the line, if one was drawn. */
  done(): void {
    if (this.shown) this.stream.write('\r\x1b[K');
  }
}
