/**
 * Splits a byte stream into lines without decoding it: parsers read fields straight from the
 * bytes. `\n` ends a line; a `\r` before it is dropped, so CRLF files read the same.
 */

/** Default longest line accepted; longer lines are skipped records, not a crash or a hang. */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

/** Receives each line as a window on a buffer that is only valid during the call. */
export type LineHandler = (buf: Buffer, start: number, end: number, lineNo: number) => void;
/** Receives each line that was too long (its content is dropped). */
export type LongLineHandler = (lineNo: number, length: number) => void;

/**
 * Takes over the complete lines of a chunk, `chunk[start, end)` (`end` just after a `\n`), and
 * hands any line it does not handle back through {@link LineSplitter.lineAt}, in order.
 */
export interface BlockHandler {
  block(chunk: Buffer, start: number, end: number, splitter: LineSplitter): void;
}

/** Incremental line splitter over byte chunks. */
export class LineSplitter {
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private overLong = false;
  lineNo = 0;

  constructor(
    private readonly onLine: LineHandler,
    private readonly onLongLine: LongLineHandler,
    private readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES,
    private readonly blocks: BlockHandler | null = null,
  ) {}

  /** The line `chunk[start, nl)` (`nl` at its `\n`), as this splitter would pass it on. */
  lineAt(chunk: Buffer, start: number, nl: number): void {
    if (nl - start > this.maxLineBytes + 1) {
      this.lineNo++;
      this.onLongLine(this.lineNo, nl - start);
    } else {
      this.emit(chunk, start, nl);
    }
  }

  private emit(buf: Buffer, start: number, end: number): void {
    this.lineNo++;
    if (end > start && buf[end - 1] === 13) end--;
    this.onLine(buf, start, end, this.lineNo);
  }

  /** Feeds the next chunk. */
  push(chunk: Buffer): void {
    let pos = 0;
    const len = chunk.length;
    if (this.carryBytes > 0 || this.overLong) {
      const nl = chunk.indexOf(10);
      if (nl < 0) {
        this.addCarry(chunk, 0, len);
        return;
      }
      if (this.blocks !== null && !this.overLong && this.carryBytes + nl <= this.maxLineBytes + 1) {
        // The line that spans chunks goes to the block handler too, whole, with its `\n`.
        const line = Buffer.concat([...this.carry, chunk.subarray(0, nl + 1)], this.carryBytes + nl + 1);
        this.carry = [];
        this.carryBytes = 0;
        this.blocks.block(line, 0, line.length, this);
      } else {
        this.addCarry(chunk, 0, nl);
        this.flushCarry();
      }
      pos = nl + 1;
    }
    if (this.blocks !== null) {
      const last = chunk.lastIndexOf(10);
      if (last >= pos) {
        this.blocks.block(chunk, pos, last + 1, this);
        pos = last + 1;
      }
    }
    const max = this.maxLineBytes;
    while (pos < len) {
      const nl = chunk.indexOf(10, pos);
      if (nl < 0) {
        this.addCarry(chunk, pos, len);
        return;
      }
      if (nl - pos > max + 1) {
        this.lineNo++;
        this.onLongLine(this.lineNo, nl - pos);
      } else {
        this.emit(chunk, pos, nl);
      }
      pos = nl + 1;
    }
  }

  private addCarry(chunk: Buffer, start: number, end: number): void {
    if (this.overLong) {
      this.carryBytes += end - start;
      return;
    }
    if (this.carryBytes + (end - start) > this.maxLineBytes + 1) {
      // Keep counting, stop keeping: memory stays bounded whatever the line length.
      this.overLong = true;
      this.carry = [];
      this.carryBytes += end - start;
      return;
    }
    // A copy: the chunk's memory may be reused once the next chunk is asked for.
    this.carry.push(Buffer.from(chunk.subarray(start, end)));
    this.carryBytes += end - start;
  }

  private flushCarry(): void {
    if (this.overLong) {
      this.lineNo++;
      this.onLongLine(this.lineNo, this.carryBytes);
    } else {
      const line = this.carry.length === 1 ? this.carry[0]! : Buffer.concat(this.carry, this.carryBytes);
      this.emit(line, 0, line.length);
    }
    this.carry = [];
    this.carryBytes = 0;
    this.overLong = false;
  }

  /** Flushes a last line without a terminator. */
  end(): void {
    if (this.carryBytes > 0 || this.overLong) this.flushCarry();
  }
}
