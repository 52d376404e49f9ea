/**
 * The Zeek conn.log fast path: complete lines go to a WebAssembly fold (zeek-fold.c) that adds
 * each record to its destination's row, in the aggregator's own row array. An address spelling or
 * destination met for the first time is settled by the aggregator, called from the fold. Any line
 * the fold does not handle (headers, a value that is not an address, an unusual value) comes back
 * to the JavaScript parser and aggregator, which decide and then tell the fold what they settled
 * (address → endpoint, endpoint → destination, protocol → bit). The fold never judges; the
 * verdict is the same with or without it.
 */
import type { BlockHandler, LineSplitter } from '../input/line-splitter';
import type { ZeekTsvParser } from '../parsers/zeek-tsv';
import { ROW_DOUBLES, type Aggregator, type EntryWriter, type FoldListener, type RowWriter, type SharedRows } from '../verdict/aggregate';
import { ZEEK_FOLD_WASM_BASE64 } from './zeek-fold-wasm';

interface FoldExports {
  __heap_base: WebAssembly.Global;
  init(
    input: number,
    scratch: number,
    rows: number,
    epDest: number,
    epCap: number,
    keys: number,
    keyCap: number,
    arena: number,
    arenaEnd: number,
  ): void;
  configure(sep: number, maxLine: number, fieldCount: number, ...cols: number[]): number;
  set_proto_bit(which: number, bit: number): void;
  learn(len: number, ep: number, flags: number): number;
  scan(off: number, len: number, lineNo: number): number;
  out_line_count(): number;
  out_record_count(): number;
  set_out(out: number): void;
  put_destination_counts(d: number, p: number): number;
  put_evidence(d: number, p: number): number;
  put_destination_lists(d: number, p: number): number;
  put_violation_counts(d: number, p: number): number;
  set_entry_regions(ips: number, descs: number, destinationOrder: number, violationOrder: number, textAt: number, textBytes: number): void;
  put_entries(kind: number, k: number, total: number, p: number, chunk: number, limit: number): number;
  entries_end(): number;
}

/** Bytes of input handed to the fold at a time. */
const WINDOW_BYTES = 1 << 20;
/**
 * The verdict writer's buffer (see RowWriter): room for a chunk of the verdict file (256 kB) and
 * an entry past it. Reserved, not touched, until a verdict is written.
 */
const OUT_BYTES = 512 * 1024;
/** Endpoints and address spellings the fold can learn; past these, lines take the JS path. */
const ENDPOINT_CAP = 1 << 22;
const KEY_CAP = 1 << 21;
const KEY_CELL = 48;
/** Room for the fold's successive hash tables (32-byte slots, doubling up to 2 × KEY_CAP: grown at 3/4 full). */
const ARENA_BYTES = 2 * 2 * KEY_CAP * 32;
/** The fold addresses 32-bit memory; beyond this many destinations the JS path does it all. */
const MAX_ROWS_BYTES = 2 ** 31;
const PAGE = 65536;
const PROTOCOLS = ['tcp', 'udp', 'icmp'];
/** Whole entries (zeek-fold.c put_entries): the longest address text, and where its length goes in a description. */
const MAX_IP_TEXT = 47;
const IP_LEN_SHIFT = 26;
/** Each destination's description: three 32-bit words. */
const DESC_WORDS = 3;
/** Texts kept for entries (judgements, operators): how many (numbered in 16 bits), and their bytes. */
const MAX_TEXTS = 1 << 16;
const TEXT_BYTES = 1 << 20;

let compiled: WebAssembly.Module | null | undefined;

function foldModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(Buffer.from(ZEEK_FOLD_WASM_BASE64, 'base64'));
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

const align = (n: number): number => Math.ceil(n / 64) * 64;

/** Where {@link instantiate} put each region of the module's memory. */
interface Regions {
  input: number;
  scratch: number;
  out: number;
  rows: number;
  epDest: number;
}

/** The functions the fold calls (see zeek-fold.c). */
interface FoldImports {
  first_seen(at: number, len: number): number;
  new_destination(ep: number): number;
  note_port(d: number, port: number): void;
}

/**
 * An instance of the module for a check with this destination limit, its memory laid out and the
 * fold initialised; null when WebAssembly is not available or the layout needs more than 32-bit
 * memory.
 */
function instantiate(maxDestinations: number, imports: FoldImports): { fold: FoldExports; buf: ArrayBuffer; at: Regions; entries: FoldEntries | null } | null {
  const mod = foldModule();
  const rowsBytes = maxDestinations * ROW_DOUBLES * 8;
  if (mod === null || rowsBytes > MAX_ROWS_BYTES) return null;
  // The layout: input window, scratch, rows, endpoint → destination, keys, table arena. Pages
  // are reserved, not touched: memory in use grows with what is written.
  const none = (): number => -1;
  const probe = new WebAssembly.Instance(mod, {
    env: { memory: new WebAssembly.Memory({ initial: 2 }), first_seen: none, new_destination: none, note_port: none },
  });
  const base = align((probe.exports as unknown as FoldExports).__heap_base.value as number);
  const input = base;
  const scratch = align(input + WINDOW_BYTES);
  const out = align(scratch + 64);
  const rows = align(out + OUT_BYTES);
  const epDest = align(rows + rowsBytes);
  const keys = align(epDest + ENDPOINT_CAP * 4);
  const arena = align(keys + KEY_CAP * KEY_CELL);
  // Then, when 32-bit memory has room for them, the whole entries' regions (see FoldEntries).
  const ips = align(arena + ARENA_BYTES);
  // Address texts end to end, up to MAX_IP_TEXT bytes each (longer ones are not described).
  const descs = align(ips + maxDestinations * MAX_IP_TEXT);
  const destinationOrder = align(descs + maxDestinations * DESC_WORDS * 4);
  const violationOrder = align(destinationOrder + maxDestinations * 4);
  const textAt = align(violationOrder + maxDestinations * 4);
  const textBytes = align(textAt + MAX_TEXTS * 8);
  const withEntries = textBytes + TEXT_BYTES <= 2 ** 32 - PAGE;
  const end = withEntries ? textBytes + TEXT_BYTES : arena + ARENA_BYTES;
  if (end > 2 ** 32 - PAGE) return null;
  const memory = new WebAssembly.Memory({ initial: Math.ceil(end / PAGE) });
  const instance = new WebAssembly.Instance(mod, { env: { memory, ...imports } });
  const fold = instance.exports as unknown as FoldExports;
  fold.init(input, scratch, rows, epDest, ENDPOINT_CAP, keys, KEY_CAP, arena, end);
  fold.set_out(out);
  const buf = memory.buffer;
  let entries: FoldEntries | null = null;
  if (withEntries) {
    fold.set_entry_regions(ips, descs, destinationOrder, violationOrder, textAt, textBytes);
    entries = new FoldEntries(fold, Buffer.from(buf), maxDestinations, ips, descs, [destinationOrder, violationOrder], textAt, textBytes, OUT_BYTES);
  }
  return { fold, buf, at: { input, scratch, out, rows, epDest }, entries };
}

/** The verdict writer of rows in the module's memory (see RowWriter). */
function rowWriter(fold: FoldExports, out: Buffer, entries: FoldEntries | null): RowWriter {
  return {
    buffer: out,
    busy: false,
    destinationCounts: (d, p) => fold.put_destination_counts(d, p),
    evidence: (d, p) => fold.put_evidence(d, p),
    destinationLists: (d, p) => fold.put_destination_lists(d, p),
    violationCounts: (d, p) => fold.put_violation_counts(d, p),
    ...(entries !== null ? { entries } : {}),
  };
}

/** One check's fast path: its memory holds the aggregator's rows. */
export class ZeekFastPath implements BlockHandler, FoldListener {
  private agg: Aggregator | null = null;
  private headerVersion = -1;
  private enabled = false;

  private constructor(
    private readonly fold: FoldExports,
    /** All of the fold's memory, for reading what it points at. */
    private readonly memory: Buffer,
    private readonly input: Uint8Array,
    private readonly scratch: Uint8Array,
    private readonly epDest: Int32Array,
    readonly rows: Float64Array<ArrayBuffer>,
    private readonly parser: ZeekTsvParser,
    private readonly maxLineBytes: number,
    private readonly out: Buffer,
    private readonly entries: FoldEntries | null,
  ) {}

  /**
   * A fast path for a check with this destination limit, or null when WebAssembly is not
   * available or the limit needs more than 32-bit memory (the JS path then does everything).
   */
  static create(parser: ZeekTsvParser, maxDestinations: number, maxLineBytes: number): ZeekFastPath | null {
    // The fold calls back into the fast path made below (the memory never grows, so views of it
    // stay valid).
    let self: ZeekFastPath | null = null;
    const made = instantiate(maxDestinations, {
      first_seen: (at: number, len: number): number => (self === null ? -1 : self.firstSeen(at, len)),
      new_destination: (ep: number): number => (self === null ? -1 : self.newDestination(ep)),
      note_port: (d: number, port: number): void => self?.agg?.notePortPastRow(d, port),
    });
    if (made === null) return null;
    const { fold, buf, at } = made;
    self = new ZeekFastPath(
      fold,
      Buffer.from(buf),
      new Uint8Array(buf, at.input, WINDOW_BYTES),
      new Uint8Array(buf, at.scratch, 64),
      new Int32Array(buf, at.epDest, ENDPOINT_CAP),
      new Float64Array(buf, at.rows, maxDestinations * ROW_DOUBLES),
      parser,
      maxLineBytes,
      Buffer.from(buf, at.out, OUT_BYTES),
      made.entries,
    );
    return self;
  }

  /**
   * Rows in the module's memory for a check of another format, which the JavaScript parser and
   * aggregator fill: nothing is folded, but the verdict's numbers and whole entries are written
   * by the module, as for a Zeek log. Null where the fast path would be.
   */
  static rowsOnly(maxDestinations: number): SharedRows | null {
    const none = (): number => -1;
    const made = instantiate(maxDestinations, { first_seen: none, new_destination: none, note_port: () => {} });
    if (made === null) return null;
    const { fold, buf, at } = made;
    const listener: FoldListener = {
      endpoint: () => {},
      destination: () => {},
      protocolBit: (name, bit) => {
        const which = PROTOCOLS.indexOf(name);
        if (which >= 0) fold.set_proto_bit(which, bit);
      },
    };
    return {
      rows: new Float64Array(buf, at.rows, maxDestinations * ROW_DOUBLES),
      listener,
      writer: rowWriter(fold, Buffer.from(buf, at.out, OUT_BYTES), made.entries),
    };
  }

  /** The rows to build the aggregator with; it reports to this fast path, and its verdict's numbers are written here. */
  shared(): SharedRows {
    return { rows: this.rows, listener: this, writer: rowWriter(this.fold, this.out, this.entries) };
  }

  /** The aggregator built with {@link shared}, which folded records are counted in. */
  attach(agg: Aggregator): void {
    this.agg = agg;
  }

  // FoldListener: what the JS path settled.

  endpoint(buf: Buffer, start: number, end: number, ep: number, flags: number): void {
    const len = end - start;
    if (len > this.scratch.length || ep >= this.epDest.length) return;
    // Byte by byte: an address is short, and a subarray would be an object per call.
    const scratch = this.scratch;
    for (let i = 0; i < len; i++) scratch[i] = buf[start + i]!;
    this.fold.learn(len, ep, flags);
  }

  destination(ep: number, d: number): void {
    // Plus one: the memory starts zeroed, and 0 means "not a destination yet".
    if (ep < this.epDest.length) this.epDest[ep] = d + 1;
  }

  protocolBit(name: string, bit: number): void {
    const which = PROTOCOLS.indexOf(name);
    if (which >= 0) this.fold.set_proto_bit(which, bit);
  }

  // Called by the fold.

  /** An address spelling met for the first time, at memory[at, at + len): its endpoint, or -1. */
  private firstSeen(at: number, len: number): number {
    const agg = this.agg;
    if (agg === null) return -1;
    const ep = agg.endpointOfBytes(this.memory, at, at + len);
    if (ep < 0) return -1;
    this.endpoint(this.memory, at, at + len, ep, agg.endpointFlags(ep));
    return ep;
  }

  /**
   * Endpoint `ep` as a destination: its number (made now if new). When it cannot be made (the
   * destination limit), -1: the line then takes the JavaScript path, which throws the reason
   * between windows, with the records folded so far counted.
   */
  private newDestination(ep: number): number {
    if (this.agg === null) return -1;
    try {
      return this.agg.destinationOfEndpoint(ep);
    } catch {
      return -1;
    }
  }

  // BlockHandler: the lines of a chunk.

  block(chunk: Buffer, start: number, end: number, splitter: LineSplitter): void {
    const agg = this.agg;
    if (agg === null) throw new Error('fast path used before attach()');
    const fold = this.fold;
    let pos = start;
    this.refreshLayout();
    while (pos < end) {
      let windowEnd = end;
      if (end - pos > WINDOW_BYTES) {
        windowEnd = chunk.lastIndexOf(10, pos + WINDOW_BYTES - 1) + 1;
        if (windowEnd <= pos) {
          // One line longer than the window: the JS path reads it.
          const nl = chunk.indexOf(10, pos);
          splitter.lineAt(chunk, pos, nl);
          this.refreshLayout();
          pos = nl + 1;
          continue;
        }
      }
      const n = windowEnd - pos;
      this.input.set(chunk.subarray(pos, windowEnd));
      let off = 0;
      while (off < n) {
        off = this.enabled ? fold.scan(off, n, splitter.lineNo) : off;
        if (this.enabled) {
          splitter.lineNo = fold.out_line_count();
          agg.addFolded(fold.out_record_count());
        }
        if (off >= n) break;
        const nl = chunk.indexOf(10, pos + off);
        splitter.lineAt(chunk, pos + off, nl);
        this.refreshLayout();
        off = nl + 1 - pos;
      }
      pos = windowEnd;
    }
  }

  /** After a header line, the fold reads the new layout (or stands aside without one). */
  private refreshLayout(): void {
    if (this.parser.headerVersion === this.headerVersion) return;
    this.headerVersion = this.parser.headerVersion;
    const layout = this.parser.layout();
    this.enabled =
      layout !== null && layout.unsetDash && this.fold.configure(layout.sep, this.maxLineBytes, layout.fieldCount, ...Array.from(layout.cols)) === 1;
  }
}

/**
 * Whole verdict entries written by the fold (zeek-fold.c put_entries), from regions of its memory
 * laid out beside the rows: the address texts end to end, each destination's description (where
 * its address is, its four text numbers), the two lists' orders, and the texts. Reserved with the
 * rest, touched only for the destinations described.
 */
class FoldEntries implements EntryWriter {
  private size = 0;
  private texts = 0;
  private textUsed = 0;
  private ipUsed = 0;
  private readonly textAt: Int32Array;
  private readonly descs: Uint32Array;
  private readonly orders: [Int32Array, Int32Array];

  constructor(
    private readonly fold: FoldExports,
    private readonly memory: Buffer,
    private readonly maxDestinations: number,
    private readonly ips: number,
    descs: number,
    orders: [number, number],
    textAt: number,
    private readonly textBytes: number,
    /** Bytes of the writing buffer: an entry is begun only where the most it may take fits. */
    private readonly limit: number,
  ) {
    const buf = memory.buffer;
    this.textAt = new Int32Array(buf, textAt, MAX_TEXTS * 2);
    this.descs = new Uint32Array(buf, descs, maxDestinations * DESC_WORDS);
    this.orders = [new Int32Array(buf, orders[0], maxDestinations), new Int32Array(buf, orders[1], maxDestinations)];
  }

  get end(): number {
    return this.fold.entries_end();
  }

  begin(size: number): boolean {
    if (size > this.maxDestinations) return false;
    // Every description's first word: 0 is "not described".
    const descs = this.descs;
    for (let d = 0; d < size; d++) descs[d * DESC_WORDS] = 0;
    this.size = size;
    this.texts = 0;
    this.textUsed = 0;
    this.ipUsed = 0;
    return true;
  }

  text(json: string): number {
    // At most 3 bytes per UTF-16 unit.
    if (this.texts >= MAX_TEXTS || this.textUsed + 3 * json.length > TEXT_BYTES) return -1;
    const n = this.memory.write(json, this.textBytes + this.textUsed, 'utf8');
    const t = this.texts++;
    this.textAt[2 * t] = this.textUsed;
    this.textAt[2 * t + 1] = n;
    this.textUsed += n;
    return t;
  }

  describe(d: number, ip: string, destinationHead: number, destinationTail: number, violationHead: number, violationTail: number): boolean {
    // Each destination is described at most once, within the MAX_IP_TEXT bytes set aside for each;
    // its text's place must fit below the length in its description's first word.
    const end = this.ipUsed + ip.length;
    if (d >= this.size || ip.length === 0 || ip.length > MAX_IP_TEXT || end > this.size * MAX_IP_TEXT || end >= 1 << IP_LEN_SHIFT) return false;
    const memory = this.memory;
    const at = this.ips + this.ipUsed;
    for (let i = 0; i < ip.length; i++) {
      const c = ip.charCodeAt(i);
      // Printable ASCII with nothing to escape is written as it is (as putStr writes it).
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
      memory[at + i] = c;
    }
    const k = d * DESC_WORDS;
    const descs = this.descs;
    descs[k] = (this.ipUsed | (ip.length << IP_LEN_SHIFT)) >>> 0;
    descs[k + 1] = (destinationHead | (destinationTail << 16)) >>> 0;
    descs[k + 2] = (violationHead | (violationTail << 16)) >>> 0;
    this.ipUsed += ip.length;
    return true;
  }

  order(kind: 0 | 1, order: readonly number[]): void {
    const into = this.orders[kind];
    for (let k = 0; k < order.length; k++) into[k] = order[k]!;
  }

  put(kind: 0 | 1, k: number, total: number, p: number, chunk: number): number {
    const c = chunk > 0 ? Math.min(chunk, 0x7fffffff) : 0;
    return this.fold.put_entries(kind, k, total, p, c, this.limit);
  }
}
