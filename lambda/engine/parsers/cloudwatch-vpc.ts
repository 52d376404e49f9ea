/**
 * VPC Flow Logs delivered through CloudWatch Logs: a log group's subscription to Kinesis Data
 * Firehose, which writes to S3 the subscription's messages as CloudWatch Logs made them, JSON
 * objects one after another (with or without line breaks between them; each was a gzip member,
 * which decoding joins):
 *
 *   {"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"vpc-flow-logs",
 *    "logStream":"eni-0123456789abcdef0-all","subscriptionFilters":["to-firehose"],
 *    "logEvents":[{"id":"3195...","timestamp":1700000000000,"message":"2 123456789012 eni-... 10.0.1.5 ..."}]}
 *
 * Each log event's message is one flow log record, read as {@link VpcFlowParser} reads a line of
 * a flow log file. Messages carry no header line: a custom format's records are read only when
 * the format is given (ParserOptions.vpcFields); otherwise each is skipped with the reason, and
 * records must be in the default version 2 format. `CONTROL_MESSAGE` objects
 * (CloudWatch Logs checking that the destination is reachable, as it does when a subscription is
 * made) hold no records: each is a record without data, as a `NODATA` record is, so an object of
 * control messages alone is a log of no traffic, not an unreadable one.
 *
 * Messages saved as one JSON array (`[{...},{...}]`) are read alike. A message that is a JSON
 * object is an AWS Network Firewall record (a firewall logging to a CloudWatch Logs group), read
 * as `suricata-eve.ts` reads its S3 files' lines.
 *
 * So is what the AWS CLI prints for `aws logs filter-log-events` and `aws logs get-log-events`
 * (`--output json`, its default), one object whose first member is the list of events:
 *
 *   {"events": [{"logStreamName": "eni-...-all", "timestamp": 1700000000000,
 *                "message": "2 123456789012 eni-... 10.0.1.5 ...", "ingestionTime": ..., "eventId": "..."}, ...],
 *    "searchedLogStreams": [...], "nextToken": "..."}
 *
 * The CLI joins every page into that one object, however many events: they are read one at a time
 * as each ends, never the whole object at once.
 *
 * A record's "line" is its log event's number in the file (1-based); an object that holds no
 * event (a control message, one that is not valid JSON) takes the next number too, so every
 * skipped one is named.
 */
import type { ChunkParser, RecordSink } from '../types';
import type { FormatDefinition } from './index';
import { BACKSLASH, CLOSE_ARRAY, CLOSE_OBJECT as CLOSE, COMMA, isJsonSpace, OPEN_ARRAY, OPEN_OBJECT as OPEN, QUOTE } from './json-syntax-bytes';
import { SuricataEveParser } from './suricata-eve';
import { isDefaultFormatLine, VpcFlowParser } from './vpc-flow';
import { isJsonObject } from './bytes';

/**
 * Largest message object read, in bytes. CloudWatch Logs sends at most about 1 MB at a time; a
 * larger object is skipped (not kept), so memory stays bounded whatever the input.
 */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Longest member name of a top-level object read (`events`, `messageType`...); longer ones are only skipped. */
const MAX_KEY_BYTES = 64;

/** Bytes that may stand between messages: white space, and a JSON array's brackets and commas (messages saved as one array). */
function isBetween(b: number): boolean {
  return isJsonSpace(b) || b === OPEN_ARRAY || b === CLOSE_ARRAY || b === COMMA;
}

/** How many space-separated fields `buf[0, end)` holds (runs of spaces are one separator). */
function fieldCount(buf: Buffer, end: number): number {
  let n = 0;
  let inField = false;
  for (let i = 0; i < end; i++) {
    const space = buf[i] === 0x20;
    if (!space && !inField) n++;
    inField = !space;
  }
  return n;
}

/** What {@link CloudWatchVpcParser} reads from bytes that are not JSON. */
const INVALID: unique symbol = Symbol('invalid JSON');

/** Parser for CloudWatch Logs subscription messages holding VPC Flow Logs records. */
export class CloudWatchVpcParser implements ChunkParser {
  readonly format = 'vpc-flow-cloudwatch' as const;
  private readonly vpc: VpcFlowParser;
  /** The format's field names, when given: records are then read in it, not only the default one. */
  private readonly fields: readonly string[] | undefined;
  /** The number the next log event (or object without events) is counted under. */
  private unit = 0;
  /** Nesting depth inside the current object; 0 between objects. */
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** The current object's bytes so far (null while skipping one too large). */
  private pieces: Buffer[] | null = [];
  private pieceBytes = 0;
  /** Bytes between objects that are not an object, not yet reported. */
  private stray = 0;
  /** A message as bytes for the VPC parser: reused from one message to the next. */
  private scratch = Buffer.allocUnsafe(1024);
  /**
   * The current top-level object is the AWS CLI's `{"events": [...]}`: its events are kept and read
   * one at a time (depth 2 inside its `events` list), the rest of it passed over.
   */
  private eventsMode = false;
  /** Open `[` directly inside the top-level object (depth 1). */
  private arrays = 0;
  /** A string at depth 1 (outside a list) would be a member name: after `{` or `,`. */
  private expectKey = false;
  /** The member name being read at depth 1 (null when not reading one), and the last one read. */
  private keyBytes: number[] | null = null;
  private key = '';
  /** Member names read in the current top-level object. */
  private keys = 0;
  /** In events mode, the next value of the events list is due (after its `[` or a `,`). */
  private expectEvent = false;

  /** AWS Network Firewall's events, for a log group it logs to (made at its first). */
  private firewall: SuricataEveParser | null = null;

  /** `fields`: the flow log's format (see VpcFlowParser); without it, the default format's records are read. */
  constructor(fields?: readonly string[]) {
    this.fields = fields;
    this.vpc = new VpcFlowParser(fields);
  }

  /** Whether the bytes being read are kept: the whole top-level object, or (events mode) one event. */
  private capturing(): boolean {
    return this.eventsMode ? this.depth >= 2 : this.depth > 0;
  }

  push(chunk: Buffer, sink: RecordSink): void {
    let start = this.capturing() ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.depth === 0) {
        if (b === OPEN) {
          this.reportStray(sink);
          this.depth = 1;
          this.inString = false;
          this.escaped = false;
          this.pieces = [];
          this.pieceBytes = 0;
          this.eventsMode = false;
          this.arrays = 0;
          this.expectKey = true;
          this.keyBytes = null;
          this.key = '';
          this.keys = 0;
          this.expectEvent = false;
          start = i;
        } else if (!isBetween(b)) {
          this.stray++;
        }
        continue;
      }
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          this.keyByte(b);
        } else if (b === BACKSLASH) {
          this.escaped = true;
          this.keyByte(b);
        } else if (b === QUOTE) {
          this.inString = false;
          if (this.keyBytes !== null) this.endKey();
          // Events mode began with that name: the object's bytes so far are not kept.
          if (this.eventsMode && this.depth === 1) start = -1;
        } else {
          this.keyByte(b);
        }
        continue;
      }
      // An element of the CLI's events list that is not an object is no event: named, not dropped.
      if (this.expectEvent && this.depth === 1 && !isJsonSpace(b)) {
        this.expectEvent = false;
        if (b !== OPEN && b !== CLOSE_ARRAY) sink.skip(++this.unit, 'CloudWatch Logs event is not an object');
      }
      if (b === QUOTE) {
        this.inString = true;
        if (this.depth === 1 && this.arrays === 0 && this.expectKey) {
          this.keyBytes = [];
          this.expectKey = false;
        }
      } else if (b === OPEN) {
        this.depth++;
        // An event of the CLI's list begins: kept from here.
        if (this.eventsMode && this.depth === 2) {
          this.pieces = this.arrays === 1 && this.key === 'events' ? [] : null;
          this.pieceBytes = 0;
          start = i;
        }
      } else if (b === CLOSE) {
        this.depth--;
        if (this.depth === 0) {
          if (this.eventsMode) {
            this.eventsMode = false;
          } else {
            this.keep(chunk, start, i + 1);
            this.object(sink);
          }
          start = -1;
        } else if (this.eventsMode && this.depth === 1) {
          this.keep(chunk, start, i + 1);
          start = -1;
          this.event(sink);
        }
      } else if (this.depth === 1) {
        if (b === OPEN_ARRAY) this.arrays++;
        else if (b === CLOSE_ARRAY) this.arrays--;
        else if (b === COMMA && this.arrays === 0) this.expectKey = true;
        // The events list's first element, or its next one, is due.
        if (this.eventsMode && this.key === 'events' && this.arrays === 1 && (b === OPEN_ARRAY || b === COMMA)) this.expectEvent = true;
      }
    }
    if (this.capturing() && start >= 0) this.keep(chunk, start, chunk.length);
  }

  /** A byte of a member name being read (names longer than {@link MAX_KEY_BYTES} are not kept). */
  private keyByte(b: number): void {
    const k = this.keyBytes;
    if (k !== null && k.length <= MAX_KEY_BYTES) k.push(b);
  }

  /**
   * A member name of the top-level object ends. When the object's first is `events`,
   * it is the AWS CLI's list: from here its events are read one at a time (and what was kept of the
   * object, its first bytes, is dropped).
   */
  private endKey(): void {
    this.key = Buffer.from(this.keyBytes!).toString('latin1');
    this.keyBytes = null;
    if (this.keys++ === 0 && this.key === 'events') {
      this.eventsMode = true;
      this.pieces = null;
      this.pieceBytes = 0;
    }
  }

  finish(sink: RecordSink): void {
    if (this.depth > 0) {
      this.depth = 0;
      sink.skip(++this.unit, 'CloudWatch Logs message cut off at the end of the input');
    }
    this.reportStray(sink);
    this.vpc.finish(sink);
  }

  /** Keeps `chunk[start, end)` as part of the current object, unless it has grown too large. */
  private keep(chunk: Buffer, start: number, end: number): void {
    if (this.pieces === null) return;
    this.pieceBytes += end - start;
    if (this.pieceBytes > MAX_MESSAGE_BYTES) {
      this.pieces = null;
      return;
    }
    this.pieces.push(Buffer.from(chunk.subarray(start, end)));
  }

  private reportStray(sink: RecordSink): void {
    if (this.stray === 0) return;
    sink.skip(++this.unit, 'bytes between CloudWatch Logs messages that are not a message', `${this.stray} bytes`);
    this.stray = 0;
  }

  /** Reads the object just completed. */
  private object(sink: RecordSink): void {
    const pieces = this.pieces;
    this.pieces = [];
    if (pieces === null) {
      sink.skip(++this.unit, 'CloudWatch Logs message too large', `over ${MAX_MESSAGE_BYTES} bytes`);
      return;
    }
    const message = this.parsed(pieces, 'message', sink);
    if (message === INVALID) return;
    const type = isJsonObject(message) ? message.messageType : undefined;
    if (type === 'CONTROL_MESSAGE') {
      sink.noData(++this.unit, 'CloudWatch Logs control message');
      return;
    }
    const events = isJsonObject(message) ? message.logEvents : undefined;
    if (type !== 'DATA_MESSAGE' || !Array.isArray(events)) {
      sink.skip(++this.unit, 'not a CloudWatch Logs subscription message', type === undefined ? 'no messageType' : `messageType ${JSON.stringify(type)}`);
      return;
    }
    for (const event of events) this.logEvent(event, sink);
  }

  /** An event of the AWS CLI's list, just completed (null pieces: passed over, or too large). */
  private event(sink: RecordSink): void {
    const pieces = this.pieces;
    this.pieces = null;
    if (pieces === null) {
      // Inside the events list but too large; objects elsewhere in the CLI's output hold no events.
      if (this.arrays === 1 && this.key === 'events') sink.skip(++this.unit, 'CloudWatch Logs event too large', `over ${MAX_MESSAGE_BYTES} bytes`);
      return;
    }
    const event = this.parsed(pieces, 'event', sink);
    if (event !== INVALID) this.logEvent(event, sink);
  }

  /** The JSON of an object's bytes, or {@link INVALID} (the object skipped, with why). */
  private parsed(pieces: readonly Buffer[], what: 'message' | 'event', sink: RecordSink): unknown {
    try {
      return JSON.parse((pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces)).toString('utf8'));
    } catch (err) {
      sink.skip(++this.unit, `CloudWatch Logs ${what} is not valid JSON`, err instanceof Error ? err.message : String(err));
      return INVALID;
    }
  }

  /** One log event: its message is a flow log record. */
  private logEvent(event: unknown, sink: RecordSink): void {
    const text: unknown = isJsonObject(event) ? event.message : undefined;
    if (typeof text !== 'string') {
      sink.skip(++this.unit, 'CloudWatch Logs event without a message');
      return;
    }
    this.record(text, sink);
  }

  /** One event's message: a flow log record. */
  private record(text: string, sink: RecordSink): void {
    const unit = ++this.unit;
    if (this.scratch.length < 3 * text.length) this.scratch = Buffer.allocUnsafe(Math.max(3 * text.length, 2 * this.scratch.length));
    const n = this.scratch.write(text, 0, 'utf8');
    // One record per message: a line break inside one would start no second record.
    let end = n;
    while (end > 0 && (this.scratch[end - 1] === 0x0a || this.scratch[end - 1] === 0x0d)) end--;
    if (end === 0) {
      sink.skip(unit, 'CloudWatch Logs event with an empty message');
      return;
    }
    // AWS Network Firewall logging to CloudWatch Logs: each message is one of its JSON records
    // (`{"firewall_name": ..., "event": {...}}`), read as in its S3 files.
    let first = 0;
    while (first < end && (this.scratch[first] === 0x20 || this.scratch[first] === 0x09)) first++;
    if (this.scratch[first] === 0x7b) {
      (this.firewall ??= new SuricataEveParser('aws-network-firewall')).line(this.scratch, first, end, unit, sink);
      return;
    }
    // Without a header line or the format given, only the default formats' records say which
    // field is which (the VPC parser would read any record of 14 fields as one).
    if (this.fields === undefined && !isDefaultFormatLine(text)) {
      sink.skip(unit, 'flow log record in no default format, VPC version 2 or Transit Gateway (CloudWatch Logs messages name no custom format\'s fields: give the format with --vpc-format, or RESIDENCY_VPC_FORMAT in the pipeline)', `${fieldCount(this.scratch, end)} fields`);
      return;
    }
    this.vpc.line(this.scratch, 0, end, unit, sink);
  }
}

/**
 * Registry entry: certain when the input starts with a JSON object (or an array of them) naming
 * `messageType` and `logEvents`, as every subscription message does (whatever the order of its
 * fields); or with the AWS CLI's `{"events": [` list, its first event naming `message` and one
 * of the members CloudWatch Logs gives an event.
 */
export const cloudWatchVpcFormat: FormatDefinition = {
  name: 'vpc-flow-cloudwatch',
  description: 'VPC Flow Logs (or AWS Network Firewall logs) in CloudWatch Logs subscription messages (JSON with logEvents, as Firehose writes them to S3), or as the AWS CLI prints them (aws logs filter-log-events, get-log-events)',
  detect: (lines) => {
    const first = lines.find((l) => l.trim() !== '');
    // A message, or an array of them (its `[` maybe alone on the first line).
    if (first === undefined || (!/^\s*\[?\s*\{/.test(first) && first.trim() !== '[')) return 0;
    const head = lines.join('\n');
    if (/"messageType"\s*:/.test(head) && /"logEvents"\s*:/.test(head)) return 1;
    // The AWS CLI's filter-log-events / get-log-events output: its events list first.
    return /^\s*\{\s*"events"\s*:\s*\[/.test(head) && /"message"\s*:/.test(head) && /"(logStreamName|ingestionTime|eventId|timestamp)"\s*:/.test(head) ? 1 : 0;
  },
  create: (options) => new CloudWatchVpcParser(options.vpcFields),
};
