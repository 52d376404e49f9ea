/**
 * AWS VPC Flow Logs as text (https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html):
 * one record per line, fields separated by spaces, `-` for a value that does not apply. Files
 * delivered to S3 open with a header line naming the fields, in any custom order (version 2 and later);
 * flow logs published to CloudWatch Logs have no header (the default version 2 order is read), and
 * exported from there to S3 each line starts with the event's time
 * (`2018-09-22T20:28:14.000Z 2 633112549318 eni-d68830d4 ...`), which is passed over. A header line
 * in the middle (concatenated files) switches the layout.
 *
 * One record is one direction of a flow: origIp is the sender, respIp the receiver, origBytes the
 * record's `bytes`, respBytes 0 (the reply is a record of its own). Behind a NAT gateway `srcaddr`
 * and `dstaddr` name the gateway's interface, while `pkt-srcaddr` and `pkt-dstaddr` carry the
 * packet's addresses, so the packet-level fields win when present.
 */
import { InputError } from '../errors';
import type { FlowRecord, LineParser, RecordSink } from '../types';
import type { FormatDefinition } from './index';
import { bytesEqual, latin1, parseEpochSecondsMs, parseUint, skipBom, utf8 } from './bytes';
import { newRecord, resetRecord } from './record';
import { CommonSides } from './common-sides';
import { CsvFields, TextCache, UNTERMINATED_QUOTE, csvText, splitCsvLine, splitCsvText } from './csv';

/** The default (version 2) format, the order of header-less files. */
export const VPC_DEFAULT_FIELDS = [
  'version',
  'account-id',
  'interface-id',
  'srcaddr',
  'dstaddr',
  'srcport',
  'dstport',
  'protocol',
  'packets',
  'bytes',
  'start',
  'end',
  'action',
  'log-status',
] as const;

/**
 * Transit Gateway flow logs' default format (every version 2 to 6 field, in this order; AWS allows
 * no other default), the order of their header-less records (CloudWatch Logs, Firehose).
 */
export const TGW_DEFAULT_FIELDS = [
  'version', 'resource-type', 'account-id', 'tgw-id', 'tgw-attachment-id', 'tgw-src-vpc-account-id',
  'tgw-dst-vpc-account-id', 'tgw-src-vpc-id', 'tgw-dst-vpc-id', 'tgw-src-subnet-id', 'tgw-dst-subnet-id',
  'tgw-src-eni', 'tgw-dst-eni', 'tgw-src-az-id', 'tgw-dst-az-id', 'tgw-pair-attachment-id', 'srcaddr',
  'dstaddr', 'srcport', 'dstport', 'protocol', 'packets', 'bytes', 'start', 'end', 'log-status', 'type',
  'packets-lost-no-route', 'packets-lost-blackhole', 'packets-lost-mtu-exceeded', 'packets-lost-ttl-expired',
  'tcp-flags', 'region', 'flow-direction', 'pkt-src-aws-service', 'pkt-dst-aws-service',
] as const;

const ADDRESS_FIELDS = ['srcaddr', 'dstaddr', 'pkt-srcaddr', 'pkt-dstaddr'];

/** Fields the parser reads, in slot order. */
const WANTED = [
  'srcaddr',
  'dstaddr',
  'pkt-srcaddr',
  'pkt-dstaddr',
  'srcport',
  'dstport',
  'protocol',
  'bytes',
  'start',
  'end',
  'action',
  'log-status',
  'interface-id',
  'flow-direction',
  'packets',
  // Transit Gateway flow logs: the record's packets the gateway dropped, by reason.
  'packets-lost-no-route',
  'packets-lost-blackhole',
  'packets-lost-mtu-exceeded',
  'packets-lost-ttl-expired',
] as const;
const SRC = 0;
const DST = 1;
const PKT_SRC = 2;
const PKT_DST = 3;
const SRC_PORT = 4;
const DST_PORT = 5;
const PROTOCOL = 6;
const BYTES = 7;
const START = 8;
const END = 9;
const ACTION = 10;
const LOG_STATUS = 11;
const INTERFACE_ID = 12;
const FLOW_DIRECTION = 13;
const PACKETS = 14;
/** The packets-lost-* fields' slots. */
const LOST = [15, 16, 17, 18] as const;

const PROTOCOL_NAMES: readonly string[] = Array.from({ length: 256 }, (_, n) => {
  switch (n) {
    case 1:
      return 'icmp';
    case 6:
      return 'tcp';
    case 17:
      return 'udp';
    case 58:
      return 'ipv6-icmp';
    default:
      return String(n);
  }
});

/** An IANA protocol number as the engine names it (`tcp`, `udp`, `icmp`, `ipv6-icmp`, else the number). */
export function ipProtocolName(n: number): string {
  return n >= 0 && n < 256 ? PROTOCOL_NAMES[n]! : String(n);
}

const SPACE = 32;

/** True when `buf[start, end)` holds the bytes `addr`. */
function containsAddr(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i + 4 <= end; i++) {
    if ((buf[i]! | 0x20) === 97 && buf[i + 1] === 100 && buf[i + 2] === 100 && buf[i + 3] === 114)
      return true;
  }
  return false;
}

/**
 * The field names of a VPC header line (`buf[start, end)`, trimmed), or null when it is data.
 * Header lines start with a field name, data lines with a value: only a first token of letters and
 * dashes (no digit: ENI, VPC and instance IDs carry hex digits), in a line that names an address
 * field, is decoded.
 */
export function vpcHeaderLine(buf: Buffer, start: number, end: number): string[] | null {
  if (start === end) return null;
  const c0 = buf[start]!;
  if (c0 < 97 || c0 > 122) return null;
  let i = start;
  while (i < end && buf[i] !== SPACE) {
    const c = buf[i]!;
    if (!((c >= 97 && c <= 122) || c === 45)) return null;
    i++;
  }
  // Every header names an address field: no `addr` in the line, no need to decode it.
  if (!containsAddr(buf, i, end)) return null;
  return vpcHeaderFields(latin1(buf, start, end));
}

/**
 * The bounds of a VPC line as the parser reads it: without a BOM, surrounding spaces, and what
 * CloudWatch Logs tools put around each event (see {@link afterEventPrefix}).
 */
export function trimVpcLine(buf: Buffer, start: number, end: number): [number, number] {
  start = skipBom(buf, start, end);
  while (start < end && buf[start] === SPACE) start++;
  if (bytesEqual(buf, start, Math.min(end, start + 7), 'EVENTS\t')) {
    // `aws logs filter-log-events --output text`: EVENTS, event id, ingestion time, stream, the
    // message, its time; `get-log-events`: EVENTS, ingestion time, the message, its time. The AWS
    // CLI writes an event's fields in the order of their names, so the message is the last but one.
    const last = lastIndexIn(buf, TAB, start + 6, end);
    const before = last > start + 6 ? lastIndexIn(buf, TAB, start + 6, last) : -1;
    if (before >= 0) {
      start = before + 1;
      end = last;
    }
  }
  start = afterEventPrefix(buf, start, end);
  while (start < end && buf[start] === SPACE) start++;
  while (end > start && buf[end - 1] === SPACE) end--;
  return [start, end];
}

/** The last offset of byte `c` in `buf[from, end)`, or -1. */
function lastIndexIn(buf: Buffer, c: number, from: number, end: number): number {
  for (let i = end - 1; i >= from; i--) if (buf[i] === c) return i;
  return -1;
}

/**
 * Whether a line is what the AWS CLI prints first for `aws logs get-log-events --output text` (its
 * backward and forward tokens, `b/...` and `f/...`) or `filter-log-events` (`nextToken`), or one of
 * the `SEARCHEDLOGSTREAMS` rows it may print: no record, and no header.
 */
export function isCliOutputLine(line: string): boolean {
  return /^[A-Za-z0-9/+=_-]{16,}(?:\t[A-Za-z0-9/+=_-]{16,})?$/.test(line) || line.startsWith('SEARCHEDLOGSTREAMS\t');
}

/**
 * Where a line's record starts after the time CloudWatch Logs tools put before each event, or
 * `start` when it has none: an export to S3 (`2018-09-22T20:28:14.000Z `), `aws logs tail`
 * (`2014-12-14T04:07:50.000000+00:00 eni-1235b8ca123456789-all `, the log stream after the time;
 * `--format short`: `2014-12-14T04:07:50 `). No field of a flow log record is written that way
 * (its times are epoch seconds), so a record is never taken for one; a stream is taken only after
 * such a time, and only as flow logs name theirs (an interface, then `-all`, `-accept` or
 * `-reject`), never for an `interface-id` field.
 */
function afterEventPrefix(buf: Buffer, start: number, end: number): number {
  // YYYY-MM-DDTHH:MM:SS, then an optional fraction, an optional zone (Z or ±HH:MM) and a space.
  if (end - start < 20 || buf[start + 4] !== DASH || buf[start + 10] !== T) return start;
  for (let k = 0; k < 19; k++) {
    const c = buf[start + k]!;
    const want = EXPORT_TIME_SHAPE.charCodeAt(k);
    if (want === NINE ? c < ZERO || c > NINE : c !== want) return start;
  }
  let i = start + 19;
  if (buf[i] === DOT) {
    i++;
    const digits = i;
    while (i < end && buf[i]! >= ZERO && buf[i]! <= NINE) i++;
    if (i === digits) return start;
  }
  if (buf[i] === Z) i++;
  else if ((buf[i] === PLUS || buf[i] === DASH) && end - i > 6 && isDigit(buf[i + 1]) && isDigit(buf[i + 2]) && buf[i + 3] === COLON && isDigit(buf[i + 4]) && isDigit(buf[i + 5])) i += 6;
  if (i >= end || buf[i] !== SPACE) return start;
  i++;
  // The log stream: letters, digits and dashes up to a space, ending in -all, -accept or -reject.
  let j = i;
  while (j < end && buf[j] !== SPACE) j++;
  return j < end && STREAM_NAME.test(buf.toString('latin1', i, j)) ? j + 1 : i;
}

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= ZERO && c <= NINE;

/** A flow log's log stream as CloudWatch Logs names it (see afterEventPrefix). */
const STREAM_NAME = /^(?:eni|tgw-attach|tgw|vpc|subnet)-[0-9a-f]+-(?:all|accept|reject)$/;

/** What a CloudWatch Logs export time looks like up to its seconds (9: any digit). */
const EXPORT_TIME_SHAPE = '9999-99-99T99:99:99';
const DASH = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const T = 84;
const Z = 90;
const PLUS = 43;
const COLON = 58;
const TAB = 9;

/** `line` as the parser reads it (see {@link trimVpcLine}). */
function withoutExportTime(line: string): string {
  const b = Buffer.from(line, 'latin1');
  const [s, e] = trimVpcLine(b, 0, b.length);
  return b.toString('latin1', s, e);
}

/** The column layout of a header line. */
interface Layout {
  /** Column of each {@link WANTED} field, -1 when absent. */
  readonly cols: Int32Array;
  /** Column count the header names. */
  readonly fieldCount: number;
  /**
   * Whether `flow-direction` is relative to a network interface whose own address is `srcaddr`
   * (egress) or `dstaddr` (ingress). Not in Transit Gateway flow logs (fields `resource-type`,
   * `tgw-*`): their direction is relative to a gateway attachment, and both addresses are the
   * packet's, so a reply from the internet leaving the gateway is no local sender.
   */
  readonly interfaceDirection: boolean;
  /** Columns of the packets-lost-* fields present (Transit Gateway flow logs), when packets is too. */
  readonly lost: readonly number[];
}

function layoutOf(names: readonly string[], lineNo: number): Layout {
  const cols = new Int32Array(WANTED.length);
  WANTED.forEach((name, i) => {
    cols[i] = names.indexOf(name);
  });
  const hasSrc = cols[SRC]! >= 0 || cols[PKT_SRC]! >= 0;
  const hasDst = cols[DST]! >= 0 || cols[PKT_DST]! >= 0;
  if (!hasSrc || !hasDst) {
    throw new InputError(
      `line ${lineNo}: VPC flow log header has no ${hasSrc ? 'dstaddr/pkt-dstaddr' : 'srcaddr/pkt-srcaddr'} field: ${names.join(' ')}`,
    );
  }
  const transitGateway = names.some((n) => n === 'resource-type' || n.startsWith('tgw-'));
  const lost = cols[PACKETS]! >= 0 ? LOST.map((k) => cols[k]!).filter((c) => c >= 0) : [];
  return { cols, fieldCount: names.length, interfaceDirection: !transitGateway, lost };
}

const DEFAULT_LAYOUT: Layout = layoutOf(VPC_DEFAULT_FIELDS, 0);
const TGW_DEFAULT_LAYOUT: Layout = layoutOf(TGW_DEFAULT_FIELDS, 0);
const TGW_RESOURCE_TYPES: readonly string[] = ['TransitGateway', 'TransitGatewayAttachment'];

/**
 * The field names of a VPC header line, or null when the line is not one: every token is a
 * field-like name (lower case, digits, `-`) and at least one is an address field.
 */
export function vpcHeaderFields(line: string): string[] | null {
  const names = withoutExportTime(line).trim().split(/ +/);
  if (!names.every((n) => /^[a-z][a-z0-9-]*$/.test(n))) return null;
  return names.some((n) => ADDRESS_FIELDS.includes(n)) ? names : null;
}

/** A comma-separated header's names, trimmed, each without the quotes around it. */
function csvHeaderNames(line: string): string[] {
  return line.split(',').map((n) => n.trim().replace(/^"(.*)"$/, '$1'));
}

/** Fields besides the addresses that say a CSV header is a flow log's (at least two of them). */
const CSV_VPC_FIELDS = ['version', 'account-id', 'interface-id', 'packets', 'start', 'end', 'action', 'log-status'];

/**
 * The field names of a CSV header that is a flow log's, or null: flow logs queried with Athena (the
 * table AWS documents names the fields with `_`: `account_id`, `log_status`, `pkt_dstaddr`) and
 * the results saved as CSV, every value quoted. Names are read in lower case with `_` as `-`; the
 * header must name srcaddr and dstaddr (or their pkt- forms) and two more flow log fields.
 */
export function vpcCsvHeaderFields(line: string): string[] | null {
  if (!line.includes(',')) return null;
  const names = csvHeaderNames(line).map((n) => {
    const name = n.toLowerCase().replace(/_/g, '-');
    return CSV_FIELD_ALIASES[name] ?? name;
  });
  // Logs Insights' own fields (`@timestamp`) beside the flow log's.
  if (!names.every((n) => /^@?[a-z][a-z0-9-]*$/.test(n))) return null;
  const has = (n: string): boolean => names.includes(n);
  if (!(has('srcaddr') || has('pkt-srcaddr')) || !(has('dstaddr') || has('pkt-dstaddr'))) return null;
  return CSV_VPC_FIELDS.filter(has).length >= 2 ? names : null;
}

/**
 * Other names of flow log fields in CSV headers: the table the Athena User Guide long documented
 * (`interfaceid`, `sourceaddress`, `numbytes`, `logstatus`), and the fields CloudWatch Logs
 * Insights discovers in flow logs (`srcAddr`, `interfaceId`, `logStatus`), as lower-cased.
 */
const CSV_FIELD_ALIASES: Readonly<Record<string, string>> = {
  account: 'account-id',
  accountid: 'account-id',
  interfaceid: 'interface-id',
  sourceaddress: 'srcaddr',
  destinationaddress: 'dstaddr',
  sourceport: 'srcport',
  destinationport: 'dstport',
  numpackets: 'packets',
  numbytes: 'bytes',
  starttime: 'start',
  endtime: 'end',
  logstatus: 'log-status',
};

/**
 * Where a CSV header from CloudWatch Logs Insights names `@message`, or -1: query results exported
 * from the console ("Export results" > "Download table (CSV)"), whose fields are the query's
 * (`fields @timestamp, @message` and the like; Logs Insights' own start with `@`). Each row's
 * `@message` is then a flow log record as CloudWatch Logs holds it.
 */
export function insightsMessageColumn(line: string): number {
  if (!line.includes(',')) return -1;
  const names = csvHeaderNames(line);
  if (!names[0]!.startsWith('@') || !names.every((n) => /^@?[A-Za-z][A-Za-z0-9_.]*$/.test(n))) return -1;
  return names.indexOf('@message');
}

/** {@link insightsMessageColumn} of the line `buf[start, end)` (after a byte order mark); most lines are not read. */
export function insightsHeaderLine(buf: Buffer, start: number, end: number): number {
  const at = skipBom(buf, start, end);
  if (at >= end || !(buf[at] === 64 || (buf[at] === 34 && buf[at + 1] === 64))) return -1;
  return insightsMessageColumn(latin1(buf, at, end));
}

/** {@link vpcCsvHeaderFields} of the line `buf[start, end)` (after a byte order mark), or null. */
export function vpcCsvHeaderLine(buf: Buffer, start: number, end: number): string[] | null {
  const s = skipBom(buf, start, end);
  const c0 = buf[s]!;
  // A header starts with a quote or a name (`@timestamp` too), and names an address field: most lines are not read.
  if (s >= end || !(c0 === 34 || c0 === 64 || (c0 >= 97 && c0 <= 122)) || !containsAddr(buf, s, end)) return null;
  return vpcCsvHeaderFields(latin1(buf, s, end));
}

/**
 * The field names of a flow log format as given by a person, for records with no header line:
 * the flow log's LogFormat as AWS shows it (`${version} ${interface-id} ${srcaddr} ...`), or the
 * names alone, separated by spaces or commas. Throws an InputError naming what is wrong.
 */
export function vpcFormatFields(text: string): string[] {
  const names = text
    .trim()
    .split(/[\s,]+/)
    .filter((n) => n !== '')
    .map((n) => (n.startsWith('${') && n.endsWith('}') ? n.slice(2, -1) : n));
  if (names.length === 0) throw new InputError('empty: give the flow log format, such as ${version} ${srcaddr} ${dstaddr} ...');
  const bad = names.find((n) => !/^[a-z][a-z0-9-]*$/.test(n));
  if (bad !== undefined) throw new InputError(`'${bad}' is not a flow log field name (names such as srcaddr, pkt-dstaddr, in \${...} or alone)`);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new InputError(`'${twice}' is named twice`);
  const hasSrc = names.includes('srcaddr') || names.includes('pkt-srcaddr');
  const hasDst = names.includes('dstaddr') || names.includes('pkt-dstaddr');
  if (!hasSrc || !hasDst) throw new InputError(`the format has no ${hasSrc ? 'dstaddr or pkt-dstaddr' : 'srcaddr or pkt-srcaddr'} field`);
  return names;
}

/** A record's address value in a default format: an address's characters, or `-`. */
const addressToken = (s: string): boolean => s === '-' || /^[0-9a-fA-F.:]+$/.test(s);
/** A record's log-status value. */
const logStatus = (s: string): boolean => s === 'OK' || s === 'NODATA' || s === 'SKIPDATA';

/** True for a header-less line in the default version 2 format. */
export function isDefaultV2Line(line: string): boolean {
  const t = withoutExportTime(line).trim().split(/ +/);
  if (t.length !== VPC_DEFAULT_FIELDS.length || t[0] !== '2') return false;
  const action = t[12]!;
  return addressToken(t[3]!) && addressToken(t[4]!) && (action === 'ACCEPT' || action === 'REJECT' || action === '-') && logStatus(t[13]!);
}

/** True for a header-less line in Transit Gateway flow logs' default format (TGW_DEFAULT_FIELDS). */
export function isDefaultTgwLine(line: string): boolean {
  const t = withoutExportTime(line).trim().split(/ +/);
  if (t.length !== TGW_DEFAULT_FIELDS.length || !/^\d+$/.test(t[0]!) || !TGW_RESOURCE_TYPES.includes(t[1]!)) return false;
  return t[3]!.startsWith('tgw-') && addressToken(t[16]!) && addressToken(t[17]!) && logStatus(t[25]!);
}

/** True for a header-less line in a default format: VPC's version 2, or Transit Gateway's. */
export function isDefaultFormatLine(line: string): boolean {
  return isDefaultV2Line(line) || isDefaultTgwLine(line);
}

/**
 * Why a log no format took may still be VPC Flow Logs, or null: records of a custom format with no
 * header line (as CloudWatch Logs and Firehose deliver them), whose field order the records alone
 * do not give.
 */
export function vpcFlowHint(lines: readonly string[]): string | null {
  const first = lines.find((l) => l.trim() !== '');
  if (first === undefined) return null;
  const t = withoutExportTime(first).trim().split(/ +/);
  if (t.length < 4) return null;
  const vocabulary = t.filter((x) => /^(eni|vpc|subnet|tgw|tgw-attach)-[0-9a-f]{8,17}$/.test(x) || /^(ACCEPT|REJECT|OK|NODATA|SKIPDATA)$/.test(x)).length;
  const addresses = t.filter((x) => /^\d{1,3}(\.\d{1,3}){3}$/.test(x) || (x.includes(':') && /^[0-9a-fA-F:]+$/.test(x))).length;
  if (vocabulary < 2 || addresses < 1) return null;
  return 'it looks like VPC Flow Logs in a custom format without its header line: put the format\'s field names on a first line, space-separated, as the flow log\'s LogFormat names them without ${} (for example: version interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status), or give the format with --vpc-format (RESIDENCY_VPC_FORMAT in the pipeline)';
}

/** The skip reason of a `SKIPDATA` record. */
export const SKIPDATA_REASON = 'SKIPDATA: AWS skipped the flow records of this interval (traffic went unrecorded)';

/** Parser for VPC flow log text. */
export class VpcFlowParser implements LineParser {
  readonly format = 'vpc-flow' as const;
  private layout: Layout | null;
  /** Whether the layout in force is the one given (not a header line's). */
  private given: boolean;
  /** start,end byte offsets of every column of the current line. */
  private pos: Int32Array = new Int32Array(64);
  private readonly rec: FlowRecord = newRecord();
  /** interface-id strings by their bytes: a log names few interfaces, so each string is made once. */
  private readonly enis = new TextCache(256);
  /** After a CSV header (see vpcCsvHeaderFields): its records are CSV. */
  private csv: CsvFields | null = null;
  /** After a Logs Insights CSV header: the column of each row's record (`@message`), else -1. */
  private messageCol = -1;
  /** The format given (ParserOptions.vpcFields), for records that come without a header. */
  private readonly givenLayout: Layout | null;
  /**
   * What each interface's records without `flow-direction` have in common: a dual-stack
   * instance's own public IPv6 address, otherwise listed as a destination unremarked.
   */
  private readonly sides = new CommonSides();

  /**
   * `fields`: the format of records before any header line (see {@link vpcFormatFields}); without
   * it, such records must be in the default format. A header line in the log replaces it.
   */
  constructor(fields?: readonly string[]) {
    this.layout = fields !== undefined ? layoutOf(fields, 0) : null;
    this.givenLayout = this.layout;
    this.given = fields !== undefined;
    if (fields !== undefined && this.pos.length < fields.length * 2) this.pos = new Int32Array(fields.length * 2);
  }

  line(buf: Buffer, lineStart: number, lineEnd: number, lineNo: number, sink: RecordSink): void {
    // A CSV header (Athena's results) switches to CSV records; each is read as the same record
    // written with spaces (an empty value as `-`).
    {
      const csvNames = vpcCsvHeaderLine(buf, lineStart, lineEnd);
      if (csvNames !== null) {
        this.layout = layoutOf(csvNames, lineNo);
        this.given = false;
        this.messageCol = -1;
        this.csv = new CsvFields(csvNames.length);
        if (this.pos.length < csvNames.length * 2) this.pos = new Int32Array(csvNames.length * 2);
        return;
      }
    }
    // A Logs Insights header: its rows' @message are records, as CloudWatch Logs holds them.
    {
      const col = insightsHeaderLine(buf, lineStart, lineEnd);
      if (col >= 0) {
        this.messageCol = col;
        this.csv = new CsvFields(col + 1);
        // Its records carry no header: the format given, or the default one.
        this.layout = this.givenLayout;
        this.given = this.givenLayout !== null;
        return;
      }
    }
    if (this.csv !== null) {
      const f = this.csv;
      const n = splitCsvLine(buf, lineStart, lineEnd, 44, f);
      if (n === UNTERMINATED_QUOTE) {
        sink.skip(lineNo, 'unterminated quoted field');
        return;
      }
      if (n === 1 && lineEnd === lineStart) return;
      if (this.messageCol >= 0) {
        if (n <= this.messageCol) {
          sink.skip(lineNo, 'record has fewer fields than the header needs', `${n} fields, need ${this.messageCol + 1}`);
          return;
        }
        buf = Buffer.from(csvText(buf, f, this.messageCol, 'latin1'), 'latin1');
        lineStart = 0;
        lineEnd = buf.length;
        if (lineEnd === 0) {
          sink.skip(lineNo, 'empty @message');
          return;
        }
      } else {
        const values: string[] = [];
        for (let i = 0; i < n; i++) {
          const v = csvText(buf, f, i, 'latin1').trim();
          // Joined by spaces below: a value with one (Logs Insights' `@timestamp`) stays one value.
          values.push(v === '' ? '-' : v.includes(' ') ? v.replace(/\s+/g, '_') : v);
        }
        buf = Buffer.from(values.join(' '), 'latin1');
        lineStart = 0;
        lineEnd = buf.length;
      }
    }
    const [start, end] = trimVpcLine(buf, lineStart, lineEnd);
    if (start === end) return;
    // The AWS CLI's own lines around the events (see isCliOutputLine): its tokens, first, and its
    // SEARCHEDLOGSTREAMS rows.
    if (!this.started) {
      this.started = true;
      if (isCliOutputLine(latin1(buf, start, end))) return;
    } else if (buf[start] === 83 && bytesEqual(buf, start, Math.min(end, start + 19), 'SEARCHEDLOGSTREAMS\t')) return;
    const names = vpcHeaderLine(buf, start, end);
    if (names !== null) {
      this.layout = layoutOf(names, lineNo);
      this.given = false;
      if (this.pos.length < names.length * 2) this.pos = new Int32Array(names.length * 2);
      return;
    }

    // Split on runs of spaces (an AWS documentation example has a double space).
    let pos: Int32Array = this.pos;
    let n = 0;
    let fieldStart = start;
    for (let i = start; i < end; i++) {
      if (buf[i] === SPACE) {
        if (i > fieldStart) {
          if (n * 2 + 1 >= pos.length) pos = this.growPos();
          pos[n * 2] = fieldStart;
          pos[n * 2 + 1] = i;
          n++;
        }
        fieldStart = i + 1;
      }
    }
    if (n * 2 + 1 >= pos.length) pos = this.growPos();
    pos[n * 2] = fieldStart;
    pos[n * 2 + 1] = end;
    n++;

    let layout = this.layout;
    // Without a header line, each record's own default format (a log group may hold a VPC's and a
    // transit gateway's flow logs, one after the other): a layout taken from a default is taken again.
    if (layout === null || layout === DEFAULT_LAYOUT || layout === TGW_DEFAULT_LAYOUT) {
      if (n === VPC_DEFAULT_FIELDS.length && bytesEqual(buf, pos[0]!, pos[1]!, '2')) {
        layout = DEFAULT_LAYOUT;
        this.layout = layout;
      } else if (n === TGW_DEFAULT_FIELDS.length && TGW_RESOURCE_TYPES.includes(latin1(buf, pos[2]!, pos[3]!))) {
        layout = TGW_DEFAULT_LAYOUT;
        this.layout = layout;
      } else {
        sink.skip(
          lineNo,
          'record before a header line and not in the default format',
          `${n} fields`,
        );
        return;
      }
    }
    if (n !== layout.fieldCount) {
      sink.skip(
        lineNo,
        this.given ? 'record field count differs from the format given' : 'record field count differs from the header',
        `${n} fields, ${this.given ? 'format' : 'header'} names ${layout.fieldCount}`,
      );
      return;
    }

    const cols = layout.cols;
    let c = cols[LOG_STATUS]!;
    if (c >= 0) {
      const s = pos[c * 2]!;
      const e = pos[c * 2 + 1]!;
      if (bytesEqual(buf, s, e, 'NODATA')) {
        sink.noData(lineNo, 'NODATA');
        return;
      }
      if (bytesEqual(buf, s, e, 'SKIPDATA')) {
        // Not "no traffic": AWS skipped the interval's records (a capacity limit or an internal
        // error), so traffic went unrecorded; counted as a record that could not be read.
        sink.skip(lineNo, SKIPDATA_REASON);
        return;
      }
    }
    // Addresses go to the aggregator as byte ranges (no strings): see FlowRecord.ipBytes.
    const src = this.addressField(buf, cols[PKT_SRC]!, cols[SRC]!);
    const dst = this.addressField(buf, cols[PKT_DST]!, cols[DST]!);
    if (src < 0 || dst < 0) {
      if (src < 0 && dst < 0) {
        sink.noData(lineNo, c >= 0 ? latin1(buf, pos[c * 2]!, pos[c * 2 + 1]!) : '-');
      } else {
        sink.skip(
          lineNo,
          src < 0 ? 'record has no source address' : 'record has no destination address',
        );
      }
      return;
    }

    const r = this.rec;
    resetRecord(r, lineNo);
    r.ipBytes = buf;
    r.origIpStart = pos[src * 2]!;
    r.origIpEnd = pos[src * 2 + 1]!;
    r.respIpStart = pos[dst * 2]!;
    r.respIpEnd = pos[dst * 2 + 1]!;
    c = cols[SRC_PORT]!;
    if (c >= 0) r.origPort = parseUint(buf, pos[c * 2]!, pos[c * 2 + 1]!);
    c = cols[DST_PORT]!;
    if (c >= 0) r.respPort = parseUint(buf, pos[c * 2]!, pos[c * 2 + 1]!);
    c = cols[PROTOCOL]!;
    if (c >= 0) {
      const p = parseUint(buf, pos[c * 2]!, pos[c * 2 + 1]!);
      r.proto = p >= 0 ? ipProtocolName(p) : '';
    }
    c = cols[BYTES]!;
    if (c >= 0 && (r.origBytes = parseUint(buf, pos[c * 2]!, pos[c * 2 + 1]!)) < 0) badValue(buf, pos, c, lineNo, 'bytes', sink);
    r.respBytes = 0;
    r.oneWay = true;
    c = cols[START]!;
    if (c >= 0 && (r.firstSeenMs = parseEpochSecondsMs(buf, pos[c * 2]!, pos[c * 2 + 1]!)) !== r.firstSeenMs) badValue(buf, pos, c, lineNo, 'start', sink);
    c = cols[END]!;
    if (c >= 0 && (r.lastSeenMs = parseEpochSecondsMs(buf, pos[c * 2]!, pos[c * 2 + 1]!)) !== r.lastSeenMs) badValue(buf, pos, c, lineNo, 'end', sink);
    c = cols[ACTION]!;
    if (c >= 0) r.rejected = bytesEqual(buf, pos[c * 2]!, pos[c * 2 + 1]!, 'REJECT');
    // A Transit Gateway record whose every packet the gateway dropped (no route, a blackhole
    // route, too large, TTL expired) reached nothing past it: as refused as a REJECT.
    if (layout.lost.length > 0) {
      const packets = parseUint(buf, pos[cols[PACKETS]! * 2]!, pos[cols[PACKETS]! * 2 + 1]!);
      let lost = 0;
      for (const l of layout.lost) lost += Math.max(0, parseUint(buf, pos[l * 2]!, pos[l * 2 + 1]!));
      if (packets > 0 && lost >= packets) r.rejected = true;
    }
    c = cols[INTERFACE_ID]!;
    if (c >= 0) {
      const s = pos[c * 2]!;
      const e = pos[c * 2 + 1]!;
      if (!bytesEqual(buf, s, e, '-')) r.app = this.enis.get(buf, s, e, latin1);
    }
    c = cols[FLOW_DIRECTION]!;
    if (c < 0 || !layout.interfaceDirection) {
      this.sides.note(r.app, buf, r.origIpStart, r.origIpEnd, r.respIpStart, r.respIpEnd);
    } else {
      // The interface's own address is `srcaddr` of egress and `dstaddr` of ingress records (AWS's
      // field list): inside the VPC whatever its address (IPv6 addresses are public). Not when a
      // packet-level address that differs was read instead (the interface forwarded the packet).
      const s = pos[c * 2]!;
      const e = pos[c * 2 + 1]!;
      if (bytesEqual(buf, s, e, 'egress')) r.origLocal = this.isInterfaceAddress(buf, src, cols[SRC]!);
      else if (bytesEqual(buf, s, e, 'ingress')) r.respLocal = this.isInterfaceAddress(buf, dst, cols[DST]!);
    }
    sink.flow(r);
  }

  /** Whether the address read from column `used` is the interface-level one of column `col`. */
  private isInterfaceAddress(buf: Buffer, used: number, col: number): boolean {
    if (used === col) return true;
    if (col < 0) return false;
    const pos = this.pos;
    const s = pos[col * 2]!;
    const len = pos[col * 2 + 1]! - s;
    const us = pos[used * 2]!;
    return pos[used * 2 + 1]! - us === len && buf.compare(buf, s, s + len, us, us + len) === 0;
  }

  /** Column of the packet-level address when logged, else of the interface-level one; -1 when neither. */
  private addressField(buf: Buffer, pktCol: number, col: number): number {
    const pos = this.pos;
    if (pktCol >= 0 && !bytesEqual(buf, pos[pktCol * 2]!, pos[pktCol * 2 + 1]!, '-')) return pktCol;
    if (col >= 0 && !bytesEqual(buf, pos[col * 2]!, pos[col * 2 + 1]!, '-')) return col;
    return -1;
  }


  /** Whether a line with content has been read (the AWS CLI's tokens come first). */
  private started = false;

  private growPos(): Int32Array {
    const next = new Int32Array(this.pos.length * 2);
    next.set(this.pos);
    this.pos = next;
    return next;
  }

  finish(sink: RecordSink): void {
    this.sides.report(sink);
  }
}

/** Registry entry: a header naming address fields is certain (1); header-less default v2 or Transit Gateway default, 0.8. */
export const vpcFlowFormat: FormatDefinition = {
  name: 'vpc-flow',
  description: 'AWS VPC Flow Logs, space-separated text with or without the header line, or CSV from Athena or CloudWatch Logs Insights',
  detect: (lines) => {
    const first = lines[0] !== undefined && isCliOutputLine(lines[0].trimEnd()) ? lines[1] : lines[0];
    if (first === undefined) return 0;
    if (vpcHeaderFields(first) !== null || vpcCsvHeaderFields(first.replace(/^\uFEFF/, '')) !== null) return 1;
    // Logs Insights results as CSV, their first row's @message a default-format record.
    const col = insightsMessageColumn(first.replace(/^\uFEFF/, ''));
    if (col >= 0) {
      const row = lines.slice(1).find((l) => l.trim() !== '');
      const message = row === undefined ? undefined : splitCsvText(row, ',')?.[col];
      return message !== undefined && isDefaultFormatLine(message) ? 1 : 0;
    }
    return isDefaultFormatLine(first) ? 0.8 : 0;
  },
  create: (options) => new VpcFlowParser(options.vpcFields),
};

/** Reports field `c`, a value that did not read as its type, unless it is `-` (unset). */
function badValue(buf: Buffer, pos: Int32Array, c: number, lineNo: number, field: string, sink: RecordSink): void {
  const s = pos[c * 2]!;
  const e = pos[c * 2 + 1]!;
  if (e > s && !bytesEqual(buf, s, e, '-')) sink.malformed?.(lineNo, field, utf8(buf, s, e));
}
