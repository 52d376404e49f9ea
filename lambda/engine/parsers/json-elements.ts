/**
 * The elements of one array deep in a JSON document, one at a time, as the document's bytes
 * arrive: `{"log": {"entries": [...]}}` read entry by entry, so that memory holds one element, not
 * the document. Only the document's structure is followed (strings, brackets, member names on the
 * way to the array); each element's bytes are handed over whole, for JSON.parse. What lies beside
 * the array (a HAR's pages, creator, browser) is passed over without being kept or checked beyond
 * its brackets and strings.
 */
import { InputError } from '../errors';
import { BACKSLASH, CLOSE_ARRAY, CLOSE_OBJECT, COLON, COMMA, isJsonSpace, OPEN_ARRAY, OPEN_OBJECT, QUOTE } from './json-syntax-bytes';


/** A byte for an error message: the character when printable ASCII, else its code. */
function shown(b: number): string {
  return b > 0x20 && b < 0x7f ? `'${String.fromCharCode(b)}'` : `byte 0x${b.toString(16).padStart(2, '0')}`;
}

/** UTF-8 byte order mark, passed over before the document. */
const BOM = [0xef, 0xbb, 0xbf];

/** Where `byte` next is in `chunk` from `from`, or the chunk's length. */
function indexOrEnd(chunk: Buffer, byte: number, from: number): number {
  const at = chunk.indexOf(byte, from);
  return at < 0 ? chunk.length : at;
}


/**
 * Deepest nesting followed. JSON.parse itself gives up a few thousand levels down (the call stack),
 * and a HAR entry is a few levels deep: deeper is a damaged or hostile document, refused before the
 * list of open brackets grows with it.
 */
export const MAX_JSON_DEPTH = 1000;

/** Longest member name compared with the path's (longer ones are not on it). */
const MAX_NAME_BYTES = 64;

/** What the document held, once it has ended. */
export interface JsonElementsEnd {
  /** Whether the array at the path was found. */
  readonly found: boolean;
  /** Elements handed over. */
  readonly elements: number;
}

export class JsonArrayElements {
  /** Kind of each open container, outermost first: true for an object. */
  private readonly objects: boolean[] = [];
  /** Open containers on the path: the root object (1), then one per path name matched. */
  private onPath = 0;
  private inString = false;
  private escape = false;
  /** Whether the open object on the path expects a member name next (after `{` or `,`). */
  private expectName = false;
  /** The member name being read (on the path), as bytes; null when not reading one. */
  private name: number[] | null = null;
  /** Whether the last member name read on the path was the path's next one, until its value starts. */
  private nameMatched = false;
  /** After `:` on the path: the next value is that member's. */
  private afterColon = false;
  private rootSeen = false;
  private rootClosed = false;
  private found = false;
  private count = 0;
  /** The element being read: pieces of its bytes, and their size; null between elements. */
  private pieces: Buffer[] | null = null;
  private pieceBytes = 0;
  /** Whether the element being read is a container (it ends when its bracket closes). */
  private elementIsContainer = false;
  /** Bytes read so far (for error messages). */
  private offset = 0;
  /** Bytes of a byte order mark passed over at the start. */
  private bomBytes = 0;

  /**
   * @param path member names from the root object to the array (`['log', 'entries']`)
   * @param onElement called with each element's bytes (valid during the call) and its 0-based index
   * @param maxElementBytes larger elements are an InputError
   * @param what names the document in errors (`HAR`)
   */
  constructor(
    private readonly path: readonly string[],
    private readonly onElement: (bytes: Buffer, index: number) => void,
    private readonly maxElementBytes: number,
    private readonly what: string,
  ) {}

  /** Depth of the target array when open: the root object, then one container per path name. */
  private get targetDepth(): number {
    return this.path.length + 1;
  }

  /** `reason` at byte `at` of the document. */
  private invalid(reason: string, at = this.offset): InputError {
    return new InputError(`${this.what} is not valid JSON (${reason} at byte ${at}); a document cut off or joined to another cannot be read`);
  }

  push(chunk: Buffer): void {
    let start = this.pieces !== null ? 0 : -1;
    const n = chunk.length;
    const objects = this.objects;
    const base = this.offset;
    // The next quote and backslash at or after i in this chunk (n when none; -1 not looked for):
    // a string's plain bytes are passed over at once (HAR strings hold whole response bodies).
    let nextQuote = -1;
    let nextBackslash = -1;
    for (let i = 0; i < n; i++) {
      if (this.inString && !this.escape && this.name === null) {
        if (nextQuote < i) nextQuote = indexOrEnd(chunk, QUOTE, i);
        if (nextBackslash < i) nextBackslash = indexOrEnd(chunk, BACKSLASH, i);
        i = nextQuote < nextBackslash ? nextQuote : nextBackslash;
        if (i >= n) break;
      }
      const b = chunk[i]!;
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (b === BACKSLASH) this.escape = true;
        else if (b === QUOTE) {
          this.inString = false;
          if (this.name !== null) this.endName();
          continue;
        }
        if (this.name !== null && this.name.length <= MAX_NAME_BYTES) this.name.push(b);
        continue;
      }
      if (isJsonSpace(b)) continue;
      if (base + i === this.bomBytes && this.bomBytes < 3 && b === BOM[this.bomBytes]) {
        this.bomBytes++;
        continue;
      }
      if (this.rootClosed) throw this.invalid('data after the document', base + i);
      const depth = objects.length;
      // An element of the target array starts at its first byte.
      if (depth === this.targetDepth && this.onPath === this.targetDepth && this.pieces === null && b !== COMMA && b !== CLOSE_ARRAY) {
        this.pieces = [];
        this.pieceBytes = 0;
        this.elementIsContainer = b === OPEN_OBJECT || b === OPEN_ARRAY;
        start = i;
      }
      if (b === QUOTE) {
        this.inString = true;
        if (depth === this.onPath && depth < this.targetDepth && objects[depth - 1] === true && this.expectName) {
          this.name = [];
          this.expectName = false;
        } else {
          this.valueStarts();
        }
      } else if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
        const object = b === OPEN_OBJECT;
        if (depth === 0) {
          if (this.rootSeen) throw this.invalid('a second document', base + i);
          if (!object) throw new InputError(`not a ${this.what} document: expected {"${this.path.join('": {"')}": [...]}}`);
          this.rootSeen = true;
          this.onPath = 1;
          this.expectName = true;
        } else if (depth === this.onPath && depth < this.targetDepth && this.afterColon && this.nameMatched) {
          // The value of the path's next member: an object on the way, the array at its end.
          const last = depth === this.targetDepth - 1;
          if (object === !last) {
            this.onPath++;
            if (last) this.found = true;
            this.expectName = object;
          }
          this.valueStarts();
        } else {
          this.valueStarts();
        }
        if (depth >= MAX_JSON_DEPTH) throw new InputError(`${this.what} nests values deeper than ${MAX_JSON_DEPTH} levels (at byte ${base + i}): a damaged capture cannot be read`);
        objects.push(object);
      } else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
        if (depth === 0 || objects[depth - 1] !== (b === CLOSE_OBJECT)) throw this.invalid(`unexpected ${shown(b)}`, base + i);
        // A scalar element ends at the array's `]`.
        if (depth === this.targetDepth && this.onPath === this.targetDepth && this.pieces !== null && !this.elementIsContainer) {
          this.endElement(chunk, start, i);
          start = -1;
        }
        objects.pop();
        if (depth === this.onPath) this.onPath--;
        if (depth === 1) this.rootClosed = true;
        // A container element ends with its bracket.
        if (depth === this.targetDepth + 1 && this.onPath === this.targetDepth && this.pieces !== null && this.elementIsContainer) {
          this.endElement(chunk, start, i + 1);
          start = -1;
        }
        this.afterColon = false;
      } else if (b === COMMA) {
        if (depth === 0) throw this.invalid(`unexpected ${shown(b)}`, base + i);
        if (depth === this.targetDepth && this.onPath === this.targetDepth && this.pieces !== null) {
          this.endElement(chunk, start, i);
          start = -1;
        }
        if (depth === this.onPath && objects[depth - 1] === true) this.expectName = true;
        this.afterColon = false;
      } else if (b === COLON) {
        if (depth === this.onPath) this.afterColon = true;
      } else {
        if (depth === 0) throw this.invalid(`unexpected ${shown(b)}`, base + i);
        this.valueStarts();
      }
    }
    this.offset = base + n;
    if (this.pieces !== null && start >= 0) this.keep(chunk, start, n);
  }

  /** The end of the document: an InputError when it was cut off or held no array at the path. */
  finish(): JsonElementsEnd {
    if (!this.rootSeen) throw this.invalid('no document');
    if (!this.rootClosed || this.inString) throw this.invalid('the document ends before it closes');
    if (!this.found) throw new InputError(`not a ${this.what} document: expected {"${this.path.join('": {"')}": [...]}}`);
    return { found: this.found, elements: this.count };
  }

  /** A value starts on the path (not the path's next container): its name no longer matters. */
  private valueStarts(): void {
    this.nameMatched = false;
    this.afterColon = false;
  }

  private endName(): void {
    const bytes = this.name!;
    this.name = null;
    const want = this.path[this.onPath - 1];
    if (bytes.length > MAX_NAME_BYTES || want === undefined) {
      this.nameMatched = false;
      return;
    }
    let text = Buffer.from(bytes).toString('utf8');
    if (bytes.includes(BACKSLASH)) {
      try {
        text = JSON.parse(`"${text}"`) as string;
      } catch {
        throw this.invalid('a member name that is not a JSON string');
      }
    }
    this.nameMatched = text === want;
  }

  private keep(chunk: Buffer, start: number, end: number): void {
    if (end <= start) return;
    this.pieceBytes += end - start;
    if (this.pieceBytes > this.maxElementBytes) {
      throw new InputError(
        `${this.what} entry ${this.count + 1} is larger than ${this.maxElementBytes} bytes, the most that can be read as one JSON value`,
      );
    }
    this.pieces!.push(Buffer.from(chunk.subarray(start, end)));
  }

  private endElement(chunk: Buffer, start: number, end: number): void {
    if (start >= 0) this.keep(chunk, start, end);
    const pieces = this.pieces!;
    this.pieces = null;
    const bytes = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, this.pieceBytes);
    this.onElement(bytes, this.count++);
  }
}
