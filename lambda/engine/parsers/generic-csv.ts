/**
 * Any CSV or TSV connection list with a header row: the delimiter (`,`, `;` or tab) is the one the
 * header uses most, and columns are recognised by common names, compared without case, `_`, `-`,
 * `.` and spaces (`Dest IP`, `dst_ip` and `ip.dst` all read as the destination). A column mapping
 * in {@link ParserOptions.columns} (`{ dst: 'peer' }`) overrides recognition.
 *
 * Without a source column every record is taken as sent by the monitored side (see
 * {@link MONITORED_SIDE}). A single `bytes` column counts as bytes sent.
 *
 * A quoted field may hold line breaks (RFC 4180): the record's lines are joined again, and the
 * record is numbered by its first line, when the field's closing quote ends it (spaces, then the
 * delimiter or the line's end). A quote that is never closed so (within
 * {@link MAX_RECORD_LINES} lines and {@link MAX_RECORD_BYTES} bytes, or before the log ends) skips
 * only its own line as an unterminated quoted field, and the lines after it are read again one by
 * one, as without joining: a stray quote costs one record, and no line is read more than twice.
 */
import { InputError, UsageError } from '../errors';
import type { FlowRecord, LineParser, ParserOptions, RecordSink } from '../types';
import type { FormatDefinition } from './index';
import { bytesEqual, latin1, parseTimestampBytes, parseTimestampText, parseUint, saysTrue, utf8, skipBom } from './bytes';
import {
  CsvFields,
  csvQuoteClosesCleanly,
  csvQuoteOpenAfter,
  csvText,
  QUOTE,
  SEP_LINE,
  SINGLE_QUOTE,
  skipBlanks,
  splitCsvLine,
  splitCsvText,
  TextCache,
  trimBlanksEnd,
  UNTERMINATED_QUOTE,
} from './csv';
import { CommonSides } from './common-sides';
import { newRecord, resetRecord } from './record';
import { ipProtocolName } from './vpc-flow';
import { parseIp } from '../net/ip';
import { classifyAddress } from '../net/address-class';
import { DEFAULT_MAX_LINE_BYTES } from '../input/line-splitter';

/** Most lines one record may span (a quoted field holding line breaks). */
export const MAX_RECORD_LINES = 10_000;
/** Most bytes of one record spanning several lines: as many as one line may hold. */
export const MAX_RECORD_BYTES = DEFAULT_MAX_LINE_BYTES;

/** The lines of a record whose quoted field runs on, copied: they stay until it closes. */
interface HeldRecord {
  bytes: Buffer;
  length: number;
  /** Line number, start and end (in `bytes`) of each held line. */
  lines: number[];
  starts: number[];
  ends: number[];
}

/**
 * The source address given to records of a log without a source column. `0.0.0.0` is "this host
 * on this network" (RFC 1122 3.2.1.3; IANA special-purpose registry), a non-public address, so the
 * aggregator takes it as the monitored side and the destination as the remote party: exactly what
 * a list of destinations means.
 */
export const MONITORED_SIDE = '0.0.0.0';

/** Logical columns a mapping may name. */
export const COLUMN_KEYS = [
  'dst',
  'src',
  'dst_port',
  'src_port',
  'proto',
  'bytes_out',
  'bytes_in',
  'start',
  'end',
  'host',
  'app',
  'action',
  'nat_dst',
  'local_orig',
  'local_resp',
] as const;
export type ColumnKey = (typeof COLUMN_KEYS)[number];

/** Recognised header names per logical column, normalised (see {@link normalizeColumnName}), best first. */
// prettier-ignore
const SYNONYMS: Readonly<Record<ColumnKey | 'bytes' | 'time', readonly string[]>> = {
  dst: [
    'dstip', 'dstaddr', 'dstaddress', 'dst', 'destinationip', 'destinationaddress', 'destination',
    'destip', 'destaddr', 'destaddress', 'dest', 'remoteip', 'remoteaddr', 'remoteaddress',
    'serverip', 'serveraddr', 'serveraddress', 'daddr', 'ipdst', 'idresph', 'respip', 'respaddr',
    'responderip', 'targetip', 'peerip', 'peeraddr', 'peeraddress', 'dstipaddr', 'destipaddr',
    'destinationipaddress', 'da', 'responderaddress',
    // SiLK's rwcut: sIP, dIP (sPort, dPort, pro, sTime, eTime below).
    'dip',
    // tshark -T fields: ip.dst, and ipv6.dst in the rows of IPv6 packets (ip.dst is then empty).
    'ipv6dst',
    // Wireshark's Statistics > Conversations, copied as CSV: A opened the conversation.
    'addressb',
  ],
  src: [
    'srcip', 'srcaddr', 'srcaddress', 'src', 'sourceip', 'sourceaddress', 'source', 'localip',
    'localaddr', 'localaddress', 'clientip', 'clientaddr', 'clientaddress', 'saddr', 'ipsrc',
    'idorigh', 'origip', 'origaddr', 'originatorip', 'srcipaddr', 'sourceipaddress', 'deviceip',
    'sa', 'addressa', 'ipv6src', 'sip',
    // Cisco Secure Firewall (FMC) connection events; eStreamer names the same fields.
    'initiatorip', 'initiatoraddress',
  ],
  dst_port: [
    'dstport', 'destinationport', 'destport', 'remoteport', 'serverport', 'dport', 'idrespp',
    'respport', 'responderport', 'targetport', 'peerport', 'dp', 'port', 'portb',
    // tshark -T fields (by their last part, dstport, when the whole name is not one).
    'tcpdstport', 'udpdstport',
  ],
  src_port: [
    'srcport', 'sourceport', 'localport', 'clientport', 'sport', 'idorigp', 'origport',
    'originatorport', 'sp', 'porta', 'initiatorport', 'tcpsrcport', 'udpsrcport',
  ],
  proto: [
    'proto', 'protocol', 'transport', 'ipproto', 'ipprotocol', 'l4proto', 'l4protocol',
    'transportprotocol', 'pr', 'pro',
  ],
  bytes_out: [
    'bytesout', 'bytessent', 'txbytes', 'sentbytes', 'outbytes', 'bytestoserver', 'origbytes',
    'srcbytes', 'bytessrc', 'clientbytes', 'uploadbytes', 'bytesupload', 'upbytes', 'bytesup',
    'outboundbytes', 'bytesoutbound', 'egressbytes', 'bytestx', 'txoctets', 'sentoctets',
    'octetsout', 'tx', 'sentbyte',
    // nfdump `-o csv`: ibyt counts the flow's own bytes (sa to da), obyt the reverse direction.
    'ibyt',
    // Wireshark's conversations: `Bytes A → B` (`Bytes A -> B` before 3.x); re-saved by Excel as
    // "CSV (Comma delimited)", whose code page has no arrow (`Bytes A ? B`), or read as that code
    // page and saved as UTF-8 (`Bytes A â†’ B`).
    'bytesa→b', 'bytesa>b', 'bytesa?b', 'bytesaâ†’b',
    // Cisco FMC connection events; Azure traffic analytics (NTANetAnalytics) and flow tables.
    'initiatorbytes', 'bytessrctodest', 'bytessrctodst', 'srctodstbytes',
    // Elastic Common Schema's source.bytes (what the source sent); IBM QRadar flows' Source Bytes.
    'sourcebytes',
  ],
  bytes_in: [
    'bytesin', 'bytesreceived', 'bytesrcvd', 'rxbytes', 'receivedbytes', 'rcvdbytes', 'inbytes',
    'bytestoclient', 'respbytes', 'dstbytes', 'bytesdst', 'serverbytes', 'downloadbytes',
    'bytesdownload', 'downbytes', 'bytesdown', 'inboundbytes', 'bytesinbound', 'ingressbytes',
    'bytesrx', 'rxoctets', 'receivedoctets', 'octetsin', 'rx', 'obyt', 'bytesb→a', 'bytesb>a', 'bytesb?a', 'bytesbâ†’a',
    // FortiGate traffic logs: sentbyte, rcvdbyte.
    'rcvdbyte',
    'responderbytes', 'bytesdesttosrc', 'bytesdsttosrc', 'dsttosrcbytes',
    // ECS destination.bytes (what the destination sent back); QRadar's Destination Bytes.
    'destinationbytes',
  ],
  bytes: [
    'bytes', 'totalbytes', 'bytestotal', 'bytecount', 'numbytes', 'octets', 'size',
    // Wireshark's packet list exported as CSV: one packet per row, Source to Destination; tshark's frame.len.
    'length', 'framelen',
    // tshark's other lengths: the IP packet's, the TCP segment's data, the UDP datagram's.
    'iplen', 'tcplen', 'udplength',
  ],
  start: [
    'start', 'starttime', 'startts', 'starttimestamp', 'firstseen', 'begin', 'begintime',
    'flowstart', 'timestart', 'flowstarttime', 'firstpacket',
    // QRadar flows (First Packet Time, AQL firstPacketTime); ECS event.start.
    'firstpackettime', 'eventstart', 'stime',
  ],
  end: [
    'end', 'endtime', 'endts', 'endtimestamp', 'lastseen', 'stop', 'stoptime', 'flowend', 'timeend',
    'te', 'flowendtime', 'lastpacket', 'lastpackettime', 'eventend', 'etime',
  ],
  time: [
    // eventtime before time: FortiGate logs have both, `time` the time of day alone.
    'timestamp', 'ts', 'eventtime', 'time', 'datetime', 'date', '@timestamp', 'timegenerated',
    'receivedat', 'frametimeepoch',
  ],
  host: [
    'hostname', 'host', 'sni', 'servername', 'domain', 'domainname', 'fqdn', 'remotehost',
    'remotehostname', 'serverhost', 'serverhostname', 'dsthost', 'dsthostname', 'desthost',
    'destinationhost', 'destinationhostname', 'dnsname', 'tlssni',
  ],
  app: [
    'app', 'application', 'appname', 'applicationname', 'packagename', 'package', 'process',
    'processname', 'program', 'executable', 'image', 'bundleid',
  ],
  // What a firewall did with the connection (see REFUSED_ACTIONS): Palo Alto, Check Point,
  // FortiGate, pfSense `action`; Google Cloud firewall rules `disposition`; Azure `decision`,
  // and `FlowStatus` (Allowed, Denied, or A and D as `FlowStatus_s`) in traffic analytics.
  action: [
    'action', 'disposition', 'decision', 'fwaction', 'firewallaction', 'policyaction', 'ruleaction',
    'flowstatus',
  ],
  // Where a firewall's destination NAT sent the connection (see GenericCsvParser.line): Palo Alto
  // `NAT Destination IP` (0.0.0.0 when none), Check Point `Xlate Dst`, FortiGate `tranip`.
  nat_dst: [
    'natdestinationip', 'natdestinationaddress', 'natdestination', 'natdstip', 'natdstaddr', 'natdst',
    'xlatedst', 'xlatedestination', 'translateddestinationip', 'translateddestinationaddress',
    'translateddestination', 'postnatdestinationip', 'postnatdstip', 'tranip',
  ],
  // Zeek's word that a side is inside Site::local_nets, in an export of its conn.log (T or F, true
  // or false): it picks the remote party of the row (FlowRecord.origLocal).
  local_orig: ['localorig'],
  local_resp: ['localresp'],
};

/** Columns a second column may stand in for, in the rows where the first is empty. */
const ALTERNATE_KEYS = ['dst', 'src', 'dst_port', 'src_port'] as const;
export type AlternateColumns = Record<(typeof ALTERNATE_KEYS)[number], number>;

/**
 * For each of the address and port columns, a second header column of the same kind (-1 when
 * none), read in the rows where the first is empty: tshark -T fields writes IPv4 packets' addresses
 * in ip.dst and IPv6 packets' in ipv6.dst, TCP ports in tcp.dstport and UDP ports in udp.dstport,
 * each row filling one of the two. Not for a column mapped by --columns (its user chose it).
 */
export function alternateColumns(
  names: readonly string[],
  cols: Readonly<Record<ColumnKey, number>>,
  mapping: Readonly<Record<string, string>> = {},
): AlternateColumns {
  const header = headerNames(names);
  const alt = {} as AlternateColumns;
  for (const key of ALTERNATE_KEYS) {
    alt[key] = -1;
    if (mapping[key] !== undefined || cols[key] < 0) continue;
    // The same search with the first column's names out of the way.
    const rest: HeaderNames = {
      normalized: header.normalized.map((n, i) => (i === cols[key] ? '' : n)),
      alternatives: header.alternatives.map((a, i) => (i === cols[key] ? [] : a)),
    };
    const i = findColumn(rest, SYNONYMS[key]);
    // Not a column another key took (Wireshark's A and B addresses are src and dst).
    if (i >= 0 && !Object.values(cols).includes(i)) alt[key] = i;
  }
  return alt;
}

/**
 * Actions (normalised as column names are) by which a firewall refused a connection: its bytes
 * were not delivered, as for a VPC `REJECT`. Palo Alto: deny, drop, reset-client, reset-server,
 * reset-both; FortiGate: deny; pfSense: block; Check Point: drop, reject, block; Cisco Firepower:
 * block, block with reset; Google Cloud: DENIED; AWS Network Firewall: blocked, drop, reject.
 * Other values (allow, accept, pass, close, timeout, FortiGate's client-rst of a session it let
 * through...) are connections.
 */
const REFUSED_ACTIONS: ReadonlySet<string> = new Set([
  'deny', 'denied', 'drop', 'dropped', 'block', 'blocked', 'reject', 'rejected', 'refused',
  'resetclient', 'resetserver', 'resetboth', 'blockwithreset', 'dropicmp',
]);

/**
 * Whether `buf[s, e)` is a DNS host name (`www.baidu.com`): labels of letters, digits and hyphens
 * joined by dots, at least two, the last not all digits. No address is one: IPv4 ends in digits,
 * IPv6 has colons.
 */
export function isHostName(buf: Uint8Array, s: number, e: number): boolean {
  let dots = 0;
  let labelStart = s;
  let lastAlpha = false;
  for (let i = s; i <= e; i++) {
    const c = i < e ? buf[i]! : 46;
    if (c === 46) {
      if (i === labelStart || buf[labelStart] === 45 || buf[i - 1] === 45) return false;
      if (i < e) dots++;
      labelStart = i + 1;
      continue;
    }
    const alpha = (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
    if (!alpha && !(c >= 48 && c <= 57) && c !== 45 && c !== 95) return false;
    if (i === labelStart) lastAlpha = false;
    if (alpha) lastAlpha = true;
  }
  return dots >= 1 && lastAlpha;
}

/**
 * Link-layer control protocols as a packet list names them (lower-cased), which carry no data
 * anywhere (pcap.ts ETHERTYPE_NAMES; Cisco's and the spanning tree's LLC frames too).
 */
const LINK_CONTROL_PROTOCOLS: ReadonlyMap<string, string> = new Map([
  ['arp', 'ARP'], ['rarp', 'RARP'], ['lldp', 'LLDP'], ['eapol', 'EAPOL'], ['lacp', 'slow protocols (LACP)'],
  ['stp', 'STP'], ['rstp', 'STP'], ['cdp', 'CDP'], ['dtp', 'DTP'], ['vtp', 'VTP'], ['ptpv2', 'PTP'], ['cfm', 'CFM'], ['loop', 'loopback test'],
]);

/** Rows of a Wireshark Endpoints table held to find the capture's own host among them (see releaseEndpoints). */
const MAX_ENDPOINT_ROWS = 100_000;

/** A header name as compared: lower case, without `_`, `-`, `.` and white space. */
export function normalizeColumnName(name: string): string {
  return name.toLowerCase().replace(/[\s_.-]+/g, '');
}

// `|`: SiLK's rwcut, whose default output pads its columns with spaces.
const DELIMITERS = [',', '\t', ';', '|'];

/** The delimiter a header line uses most (outside quotes); `,` when it has none. */
export function detectDelimiter(header: string): string {
  let best = ',';
  let bestCount = 0;
  for (const d of DELIMITERS) {
    let count = 0;
    let quoted = false;
    for (let i = 0; i < header.length; i++) {
      const ch = header[i];
      if (ch === '"') quoted = !quoted;
      else if (!quoted && ch === d) count++;
    }
    if (count > bestCount) {
      best = d;
      bestCount = count;
    }
  }
  return best;
}

/**
 * Other names a header may be recognised by when its whole name is not one (see
 * {@link headerNames}): without a unit or qualifier in brackets (`Bytes Sent (B)`,
 * `TimeGenerated [UTC]`), the first of alternatives split by `/` (`Destination Port / ICMP Code`),
 * the last part of a dotted path (`jsonPayload.connection.dest_ip`, a JSON log flattened to
 * CSV), and without Log Analytics' type suffix (`DestIP_s`, `BytesSrcToDest_d`).
 */
function alternativeNames(name: string): string[] {
  const out: string[] = [];
  const unqualified = name.replace(/\([^)]*\)|\[[^\]]*\]/g, ' ').trim();
  if (unqualified !== '' && unqualified !== name.trim()) out.push(unqualified);
  const slash = unqualified.indexOf('/');
  if (slash > 0) out.push(unqualified.slice(0, slash));
  const dotted = /^[^\s.]+(?:\.[^\s.]+)+$/.test(unqualified) ? unqualified.slice(unqualified.lastIndexOf('.') + 1) : '';
  if (dotted !== '') out.push(dotted);
  for (const n of [unqualified, dotted]) {
    const typed = /^(.+[a-z0-9])_[sdtbg]$/i.exec(n);
    if (typed !== null) out.push(typed[1]!);
  }
  return out.map(normalizeColumnName).filter((n) => n !== '');
}

/** Each header's name as compared ({@link normalizeColumnName}), and its other names ({@link alternativeNames}). */
interface HeaderNames {
  readonly normalized: readonly string[];
  readonly alternatives: readonly (readonly string[])[];
}

function headerNames(names: readonly string[]): HeaderNames {
  return { normalized: names.map(normalizeColumnName), alternatives: names.map(alternativeNames) };
}

/** The first column a synonym names, whole names first, then the other names of each header. */
function findColumn(header: HeaderNames, synonyms: readonly string[]): number {
  for (const s of synonyms) {
    const i = header.normalized.indexOf(s);
    if (i >= 0) return i;
  }
  for (const s of synonyms) {
    const i = header.alternatives.findIndex((alts) => alts.includes(s));
    if (i >= 0) return i;
  }
  return -1;
}

/**
 * The columns of Wireshark's Endpoints table (`Address,Packets,Bytes,Tx Packets,Tx Bytes,Rx
 * Packets,Rx Bytes,...`, from ui/qt/models/atap_data_model.cpp), or null for another header.
 */
function endpointsLayout(normalized: readonly string[]): { address: number; tx: number; rx: number } | null {
  const address = normalized.indexOf('address');
  const tx = normalized.indexOf('txbytes');
  const rx = normalized.indexOf('rxbytes');
  if (address < 0 || tx < 0 || rx < 0 || normalized.includes('addressb')) return null;
  return { address, tx, rx };
}

/** Column index of each logical column (-1 when absent) for a header; throws on a bad mapping. */
export function resolveColumns(
  names: readonly string[],
  mapping: Readonly<Record<string, string>> = {},
  lineNo = 1,
): Record<ColumnKey, number> {
  const header = headerNames(names);
  const normalized = header.normalized;
  const cols = {} as Record<ColumnKey, number>;
  for (const key of COLUMN_KEYS) {
    const mapped = mapping[key];
    if (mapped !== undefined) {
      let i = names.indexOf(mapped);
      if (i < 0) i = names.findIndex((n) => n.trim() === mapped.trim());
      if (i < 0) i = normalized.indexOf(normalizeColumnName(mapped));
      if (i < 0) {
        throw new InputError(
          `line ${lineNo}: column '${mapped}' mapped to ${key} is not in the CSV header (columns: ${names.join(', ')})`,
        );
      }
      cols[key] = i;
    } else {
      cols[key] = findColumn(header, SYNONYMS[key]);
    }
  }
  // Wireshark's Statistics > Endpoints, copied as CSV: a row per address, with what it sent (Tx)
  // and received (Rx). The capture's own host is one row (a non-public address); for every other,
  // what it received is what the monitored side sent it.
  const endpoints = endpointsLayout(normalized);
  if (endpoints !== null) {
    if (mapping.dst === undefined && cols.dst < 0) cols.dst = endpoints.address;
    if (cols.dst === endpoints.address) {
      if (mapping.bytes_out === undefined) cols.bytes_out = endpoints.rx;
      if (mapping.bytes_in === undefined) cols.bytes_in = endpoints.tx;
    }
  }
  if (mapping.bytes_out === undefined && cols.bytes_out < 0)
    cols.bytes_out = findColumn(header, SYNONYMS.bytes);
  if (mapping.start === undefined && cols.start < 0)
    cols.start = findColumn(header, SYNONYMS.time);
  if (cols.dst < 0) {
    throw new InputError(
      `line ${lineNo}: no destination column in the CSV header (columns: ${names.join(', ')}); expected one such as dst_ip, destination or remote_addr, or map one as dst`,
    );
  }
  return cols;
}


/**
 * Whether `line` is the header of a Wireshark Endpoints table (read as one: its capture host is
 * found among all its rows, so a split check reads it whole).
 */
export function isEndpointsHeader(line: string): boolean {
  const split = splitHeader(line, detectDelimiter(line));
  return split !== null && endpointsLayout(headerNames(split.names.map((n) => n.trim())).normalized) !== null;
}

/**
 * The names of a header line, and the quote byte of its file: `'` when every name is wrapped in
 * single quotes (a header quoted as tshark's `-E quote=s` quotes values), else `"`.
 */
function splitHeader(line: string, delimiter: string): { names: string[]; quote: number } | null {
  const names = splitCsvText(line, delimiter);
  if (names !== null && names.length > 0 && names.every((n) => /^\s*'[^]*'\s*$/.test(n))) {
    const single = splitCsvText(line, delimiter, SINGLE_QUOTE);
    if (single !== null) return { names: single, quote: SINGLE_QUOTE };
  }
  return names === null ? null : { names, quote: QUOTE };
}

/** Detection: 0.5 when the first line is a header with a recognisable destination column. */
export function detectGenericCsv(lines: readonly string[]): number {
  const candidates = lines.filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  const sep = SEP_LINE.exec(candidates[0] ?? '');
  const header = sep === null ? candidates[0] : candidates[1];
  if (header === undefined) return 0;
  const split = splitHeader(header, sep?.[1] ?? detectDelimiter(header));
  if (split === null) return 0;
  const named = headerNames(split.names);
  return findColumn(named, SYNONYMS.dst) >= 0 || endpointsLayout(named.normalized) !== null ? 0.5 : 0;
}

/**
 * Whether the first line (after comments and a `sep=` line) is a CSV header that generic CSV
 * reads (it names a destination column) and is not itself a record of another format
 * (`isRecord`): then the lines after it are that CSV's rows, whatever their quoted fields hold.
 */
export function isCsvHeaderFirst(lines: readonly string[], isRecord: (line: string) => boolean): boolean {
  const first = lines.find((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  return first !== undefined && !isRecord(first) && detectGenericCsv(lines) > 0;
}

function validateMapping(mapping: Readonly<Record<string, string>>): void {
  for (const key of Object.keys(mapping)) {
    if (!(COLUMN_KEYS as readonly string[]).includes(key)) {
      throw new UsageError(
        `unknown CSV column key '${key}' (expected one of ${COLUMN_KEYS.join(', ')})`,
      );
    }
  }
}

/**
 * A count: `1234`; `1234.0` or `1234.00` as a float column or a number format writes a whole
 * number; `1.2E+03` as a spreadsheet writes one in scientific format, when it is a whole number.
 * -1 for anything else, reported as malformed (docs/verdict.md): a fraction (`1.5`), hex or
 * binary (`0x10`), a thousands separator (`48.000`, `1,234`), 16 or more digits.
 */
function parseCount(buf: Buffer, s: number, e: number): number {
  const v = parseUint(buf, s, e);
  if (v >= 0 || e === s) return v;
  // `.0` or `.00`, as a float column or a two-decimal number format writes a whole number (three
  // digits after a point would be a thousands separator).
  if (e - s >= 3 && buf[e - 2] === 46 && buf[e - 1] === 48) return parseUint(buf, s, e - 2);
  if (e - s >= 4 && buf[e - 3] === 46 && buf[e - 2] === 48 && buf[e - 1] === 48) return parseUint(buf, s, e - 3);
  const text = latin1(buf, s, e);
  if (!SCIENTIFIC.test(text)) return -1;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : -1;
}

/** A port with its service name and protocol, as consoles show it: `443 (https) / tcp`, `53 (domain)`. */
const SHOWN_PORT = /^(\d{1,5})\s*(?:\([^)]*\))?\s*(?:\/\s*[A-Za-z0-9-]+)?$/;

/**
 * Bytes per unit a column header names in brackets (`Bytes Sent (KB)`, `Rx [MiB]`): decimal
 * prefixes as SI and IEC 80000-13 define them (kB, KB, MB, GB, TB: powers of 1000), binary ones
 * as IEC names them (KiB, MiB, GiB, TiB: powers of 1024); 1 for bytes, no unit or another one.
 */
const UNIT_BYTES: Readonly<Record<string, number>> = {
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40,
};

function unitOf(name: string): number {
  const unit = /[([]\s*([A-Za-z]{2,3})\s*[)\]]/.exec(name)?.[1]?.toLowerCase();
  return unit !== undefined ? (UNIT_BYTES[unit] ?? 1) : 1;
}

/** A time of day alone: `10:00`, `10:00:05`, `10:00:05.123`. */
const TIME_OF_DAY = /^\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/** A number in a spreadsheet's scientific format: `1.2E+03`, `5e6`. */
const SCIENTIFIC = /^\d(\.\d+)?[eE]\+?\d{1,2}$/;

/** Values that leave a count unset rather than malformed (compared in lower case). */
const UNSET_VALUES = new Set(['', '-', 'null', 'n/a', 'na', 'none', 'nan', 'undefined']);

/** Longest host name kept (a DNS name's limit); a longer value names no host. */
const MAX_HOSTNAME_CHARS = 253;
/** Whether a text has a letter (a host name has one; a number does not). */
const HAS_LETTER = /\p{L}/u;
/** Longest app name kept; a longer one is cut, with `…`. */
const MAX_APP_CHARS = 255;
/** Longest value the name caches keep (1,024 of them at most). */
const MAX_CACHED_TEXT_BYTES = 1024;

/** Parser for generic CSV/TSV connection lists. */
export class GenericCsvParser implements LineParser {
  readonly format = 'generic-csv' as const;
  private readonly mapping: Readonly<Record<string, string>>;
  private delimiter = 44;
  private forcedDelimiter: string | null = null;
  private cols: Record<ColumnKey, number> | null = null;
  /** Second columns for empty addresses and ports (see alternateColumns). */
  private alt: AlternateColumns = { dst: -1, src: -1, dst_port: -1, src_port: -1 };
  /** Azure traffic analytics' lists of public addresses, by side (see publicFlows); -1 when none. */
  private publicIps = { src: -1, dst: -1 };
  /** The action column is Azure's FlowStatus, whose `D` is a denied flow. */
  private deniedLetter = false;
  /** The header's column names. */
  private names: string[] = [];
  /** Number of leading fields a record must have (the last needed column + 1). */
  private needed = 0;
  /**
   * How many fields a row is split into: {@link needed}, and one more when the header's last
   * column is needed, so a row with more fields than the header is seen.
   */
  private limit = 0;
  /** The header names tshark fields (`ip.src`): a row with more fields than it gets tshark's fix. */
  private tsharkNames = false;
  /** SiLK flow records (rwcut's sIP and dIP columns): unidirectional, as NetFlow's are (FlowRecord.oneWay). */
  private silk = false;
  /** A Wireshark Conversations or Endpoints table, whose addresses are names when its name resolution was on. */
  private wiresharkTable = false;
  /**
   * The rows of a Wireshark Endpoints table read so far, held until its end (see releaseEndpoints):
   * one of them may be the capture's own host. Null when the table is not one, or held too many.
   */
  private endpointRows: FlowRecord[] | null = null;
  private headerBytes: Buffer = Buffer.alloc(0);
  /** After nfdump's `Summary` line, until the header comes again. */
  private inTrailer = false;
  private readonly fields = new CsvFields(32);
  private readonly rec: FlowRecord = newRecord();
  private readonly hosts = new TextCache(1024);
  private readonly apps = new TextCache(256);
  /** Where {@link locate} found the address, and the port it split off (-1: none). */
  private at = 0;
  private atEnd = 0;
  private atPort = -1;
  /** A record whose quoted field runs past the lines read so far (see {@link continueRecord}). */
  private held: HeldRecord | null = null;
  /** While the lines of a record given up are read again (see {@link release}). */
  private replaying = false;
  /** The `date` column whose day the start column's time of day is on, else -1. */
  private dateCol = -1;
  /** Bytes per unit of each column whose header names a unit larger than a byte (see UNIT_BYTES). */
  private unitBytes: number[] = [];
  /**
   * The addresses on one side of every row with a source (a capture host's own, in a packet list
   * or tshark's fields): a public one that was also a source is listed as a destination of the rows
   * it received, which the verdict warns of (see verdict/common-addresses). A server every row went
   * to was no source: not warned of.
   */
  private readonly sides = new CommonSides(true);
  /** The quote byte of the records: `"`, or `'` (see {@link decideQuote}). */
  private quote = QUOTE;
  /** Whether {@link quote} is known (from the header or the first record). */
  private quoteDecided = false;

  /**
   * @param oneWay its records count one direction of a connection each (nfdump's unidirectional
   *   NetFlow/IPFIX): see FlowRecord.oneWay
   */
  constructor(
    options: ParserOptions = {},
    private readonly oneWay = false,
  ) {
    this.mapping = options.columns ?? {};
    validateMapping(this.mapping);
  }

  line(buf: Buffer, start: number, end: number, lineNo: number, sink: RecordSink): void {
    if (this.held !== null) {
      this.continueRecord(buf, start, end, lineNo, sink);
      return;
    }
    start = skipBom(buf, start, end);
    const first = skipBlanks(buf, start, end);
    if (first === end || buf[first] === 35) return;
    const cols = this.cols;
    if (cols === null) {
      const text = utf8(buf, start, end);
      // Excel's `sep=;` line names the delimiter before the header.
      const sep = SEP_LINE.exec(text);
      if (sep !== null) {
        this.forcedDelimiter = sep[1]!;
        return;
      }
      this.header(text, lineNo);
      this.headerBytes = Buffer.from(buf.subarray(start, end));
      return;
    }
    // The header again (concatenated files): not a record; it also ends an nfdump trailer.
    const hb = this.headerBytes;
    if (end - start === hb.length && buf.compare(hb, 0, hb.length, start, end) === 0) {
      this.inTrailer = false;
      // Another Endpoints table (another capture's): its own host is found among its own rows.
      if (this.endpointRows !== null && this.endpointRows.length > 0) {
        this.releaseEndpoints(sink, true);
        this.endpointRows = [];
      }
      return;
    }
    // nfdump `-o csv` ends with a `Summary` line, a summary header and a totals row: no records.
    if (this.inTrailer) return;
    if (bytesEqual(buf, start, trimBlanksEnd(buf, start, end), 'Summary')) {
      this.inTrailer = true;
      return;
    }

    if (!this.quoteDecided) this.decideQuote(buf, start, end);
    const n = this.split(buf, start, end);
    if (this.replaying) {
      // A line read again after a give-up: on its own, never the start of another record.
      if (n === UNTERMINATED_QUOTE) sink.skip(lineNo, 'unterminated quoted field');
      else this.record(buf, n, lineNo, sink);
      return;
    }
    if (n === UNTERMINATED_QUOTE || (n === this.needed && this.opensPast(buf, end))) {
      this.hold(buf, start, end, lineNo);
      return;
    }
    this.record(buf, n, lineNo, sink);
  }

  /**
   * Splits a record into its needed fields ({@link limit}); when a field past the header's last
   * turns up (every column is needed, so the split looked for one), the whole record, to see
   * whether the extra fields hold anything (see record).
   */
  private split(buf: Buffer, start: number, end: number): number {
    const n = splitCsvLine(buf, start, end, this.delimiter, this.fields, this.limit, this.quote);
    // A tshark row with more fields than its header is split whole even when its last column is
    // not read (see plausible).
    const whole = n > this.needed || (this.tsharkNames && n === this.needed && this.limit === this.needed && this.moreFieldsThanNames(buf, end));
    return whole ? splitCsvLine(buf, start, end, this.delimiter, this.fields, 0x7fffffff, this.quote) : n;
  }

  /**
   * Whether more fields follow the last needed one than the header names, counted by their
   * delimiters, found natively (a quoted delimiter counts too: the whole split then decides).
   */
  private moreFieldsThanNames(buf: Buffer, end: number): boolean {
    const past = this.names.length - this.needed;
    let at = this.fields.pos[this.needed * 2 - 1]!;
    for (let found = 0; found <= past; found++) {
      const d = buf.indexOf(this.delimiter, at);
      if (d < 0 || d >= end) return false;
      at = d + 1;
    }
    return true;
  }

  /**
   * At the first record: whether its values are all wrapped in `'`, as tshark's `-E quote=s` writes
   * them (it quotes no header, and leaves empty values empty); then `'` is the file's quote byte,
   * so a value holding the delimiter (`'80 → 443 [SYN, ACK]'`) stays one field.
   */
  private decideQuote(buf: Buffer, start: number, end: number): void {
    const f = this.fields;
    const n = splitCsvLine(buf, start, end, this.delimiter, f, 0x7fffffff, SINGLE_QUOTE);
    // A record of empty values (tshark's row for an ARP frame: `,,`) says nothing: the next decides.
    let values = 0;
    for (let i = 0; i < n; i++) if (skipBlanks(buf, f.pos[i * 2]!, f.pos[i * 2 + 1]!) < f.pos[i * 2 + 1]!) values++;
    if (n !== UNTERMINATED_QUOTE && values === 0) return;
    this.quoteDecided = true;
    if (n === UNTERMINATED_QUOTE) return;
    let wrapped = 0;
    for (let i = 0; i < n; i++) {
      const s = f.pos[i * 2]!;
      const e = f.pos[i * 2 + 1]!;
      const t = skipBlanks(buf, s, e);
      const u = trimBlanksEnd(buf, t, e);
      // Quoted (the split took the quotes off), or read raw after a quote inside it (`'it's'`).
      if ((s > start && buf[s - 1] === SINGLE_QUOTE && e < end && buf[e] === SINGLE_QUOTE) || (u - t >= 2 && buf[t] === SINGLE_QUOTE && buf[u - 1] === SINGLE_QUOTE)) wrapped++;
      else if (u > t) return;
    }
    if (wrapped > 0) this.quote = SINGLE_QUOTE;
  }

  /**
   * Whether a field after the last one needed (which the split did not reach) opens a quote that
   * runs past the end of the line.
   */
  private opensPast(buf: Buffer, end: number): boolean {
    let at = this.fields.pos[this.needed * 2 - 1]!;
    while (at < end && buf[at] !== this.delimiter) at++;
    // Most rows have no quote past their last needed field (a wide export's raw event): found
    // natively, without reading the rest byte by byte.
    if (at >= end || buf.subarray(at + 1, end).indexOf(this.quote) < 0) return false;
    return csvQuoteOpenAfter(buf, at + 1, end, this.delimiter, false, this.quote);
  }

  /** Keeps a copy of the first line of a record that runs on. */
  private hold(buf: Buffer, start: number, end: number, lineNo: number): void {
    const bytes = Buffer.allocUnsafe(Math.max(1024, 2 * (end - start)));
    buf.copy(bytes, 0, start, end);
    this.held = { bytes, length: end - start, lines: [lineNo], starts: [0], ends: [end - start] };
  }

  /** The next line of a held record: joins it, and reads the record once its quote is closed. */
  private continueRecord(buf: Buffer, start: number, end: number, lineNo: number, sink: RecordSink): void {
    const h = this.held!;
    const size = h.length + 1 + end - start;
    if (lineNo !== h.lines[h.lines.length - 1]! + 1 || size > MAX_RECORD_BYTES || h.lines.length >= MAX_RECORD_LINES) {
      // Not a record after all (or a line too long for the splitter came between).
      this.release(sink);
      this.line(buf, start, end, lineNo, sink);
      return;
    }
    if (size > h.bytes.length) {
      const bytes = Buffer.allocUnsafe(Math.min(MAX_RECORD_BYTES, Math.max(size, 2 * h.bytes.length)));
      h.bytes.copy(bytes, 0, 0, h.length);
      h.bytes = bytes;
    }
    h.bytes[h.length] = 10;
    buf.copy(h.bytes, h.length + 1, start, end);
    h.lines.push(lineNo);
    h.starts.push(h.length + 1);
    h.ends.push(size);
    h.length = size;
    if (csvQuoteOpenAfter(buf, start, end, this.delimiter, true, this.quote)) return;
    // Closed, but by a quote followed by text: a stray quote that a later field's quote met, not
    // a field holding line breaks; its lines are read one by one (none is absorbed unsaid).
    if (!csvQuoteClosesCleanly(buf, start, end, this.delimiter, this.quote)) {
      this.release(sink);
      return;
    }
    this.held = null;
    const n = this.split(h.bytes, 0, h.length);
    // The line-by-line reading and the split agree on where the quote closed; a disagreement
    // would be a fault here, never a reason to lose the record's lines silently.
    if (n === UNTERMINATED_QUOTE) {
      this.held = h;
      this.release(sink);
      return;
    }
    this.record(h.bytes, n, h.lines[0]!, sink);
  }

  /**
   * Gives up a held record: its first line is skipped as an unterminated quoted field, and the
   * lines after it are read again as lines of their own, as they would be without joining (none
   * starts a record of several lines: lines that each close one quote and open another would
   * otherwise be held and read again over and over).
   */
  private release(sink: RecordSink): void {
    const h = this.held!;
    this.held = null;
    sink.skip(h.lines[0]!, 'unterminated quoted field');
    this.replaying = true;
    try {
      for (let k = 1; k < h.lines.length; k++) this.line(h.bytes, h.starts[k]!, h.ends[k]!, h.lines[k]!, sink);
    } finally {
      this.replaying = false;
    }
  }

  /** Reads a record split into `n` fields (in {@link fields}). */
  private record(buf: Buffer, n: number, lineNo: number, sink: RecordSink): void {
    const f = this.fields;
    const cols = this.cols!;
    if (n < this.needed) {
      sink.skip(
        lineNo,
        'record has fewer fields than the header needs',
        `${n} fields, need ${this.needed}`,
      );
      return;
    }
    // More fields than the header names, not all empty (a trailing delimiter is common): a
    // delimiter inside an unquoted value moved the values after it (tshark writes frame.time as
    // `Aug 22, 2013 ...` and joins the values of several IP layers, an ICMP error's or a tunnel's,
    // with `,`), so none can be trusted.
    // When the last column is not read, the extra fields may be its own (tshark's _ws.col.Info,
    // `[SYN, ACK]`): the row is refused only when its needed values are not what their columns hold.
    if (n > this.names.length && n > this.needed && (this.limit > this.needed || !this.plausible(buf, n))) {
      for (let i = this.names.length; i < n; i++) {
        const s = f.pos[i * 2]!;
        if (skipBlanks(buf, s, f.pos[i * 2 + 1]!) < f.pos[i * 2 + 1]!) {
          sink.skip(
            lineNo,
            'record has more fields than the header',
            `${n} fields, header names ${this.names.length}${this.tsharkNames ? '; tshark: use -E quote=d, and -E occurrence=f' : ''}`,
          );
          return;
        }
      }
    }
    const r = this.rec;
    resetRecord(r, lineNo);
    r.oneWay = this.oneWay || this.silk;
    if ((this.publicIps.dst >= 0 || this.publicIps.src >= 0) && this.publicFlows(buf, r, lineNo, sink)) return;
    // Addresses go to the aggregator as byte ranges when both are plain (see FlowRecord.ipBytes).
    const alt = this.alt;
    let dc = cols.dst;
    if (!this.locate(buf, dc)) {
      if (alt.dst < 0 || !this.locate(buf, alt.dst)) {
        sink.skip(lineNo, 'destination address is empty');
        return;
      }
      dc = alt.dst;
    }
    // Destination NAT (a public address forwarded inside, or elsewhere): the connection went where
    // the firewall translated it to. An inbound connection to a server behind it then has the
    // server inside, and the foreign client as its remote party; 0.0.0.0 (or ::) is no translation.
    let ds = this.at;
    let de = this.atEnd;
    r.respPort = this.atPort;
    if (cols.nat_dst >= 0 && this.locate(buf, cols.nat_dst) && !this.unspecified(buf, this.at, this.atEnd)) {
      dc = cols.nat_dst;
      ds = this.at;
      de = this.atEnd;
      if (this.atPort >= 0) r.respPort = this.atPort;
    }
    if (this.wiresharkTable) this.refuseResolvedName(buf, dc, ds, de, lineNo);
    const dstPlain = f.escaped[dc] === 0;
    let sc = cols.src;
    let hasSrc = sc >= 0 && this.locate(buf, sc);
    if (!hasSrc && alt.src >= 0 && this.locate(buf, alt.src)) {
      hasSrc = true;
      sc = alt.src;
    }
    if (hasSrc) r.origPort = this.atPort;
    const ss = this.at;
    const se = this.atEnd;
    if (hasSrc && this.wiresharkTable) this.refuseResolvedName(buf, sc, ss, se, lineNo);
    if (hasSrc && dstPlain && f.escaped[sc] === 0) {
      r.ipBytes = buf;
      r.origIpStart = this.at;
      r.origIpEnd = this.atEnd;
      r.respIpStart = ds;
      r.respIpEnd = de;
    } else {
      r.origIp = !hasSrc ? MONITORED_SIDE : this.addressText(buf, sc, this.at, this.atEnd);
      r.respIp = this.addressText(buf, dc, ds, de);
    }
    this.common(buf, r, lineNo, sink, true);
    // A link-layer control frame in a packet list (Wireshark's Protocol column): no data, as a
    // capture's own frames of it are; its addresses are MACs (Broadcast, Apple_12:34:56).
    const control = LINK_CONTROL_PROTOCOLS.get(r.proto);
    // Only where the addresses are no IP addresses: PTP over UDP is `PTPv2` too.
    if (control !== undefined && parseIp(latin1(buf, ds, de)) === null) {
      sink.noData(lineNo, control);
      return;
    }
    if (hasSrc) this.sides.note(null, buf, ss, se, ds, de);
    if (this.endpointRows !== null) {
      this.holdEndpoint(r, sink);
      return;
    }
    sink.flow(r);
  }

  /** Holds an Endpoints table's row (a copy: the record and its bytes are reused), up to MAX_ENDPOINT_ROWS. */
  private holdEndpoint(r: FlowRecord, sink: RecordSink): void {
    const rows = this.endpointRows!;
    const copy: FlowRecord = { ...r, ipBytes: null };
    if (r.ipBytes !== null) {
      copy.origIp = latin1(r.ipBytes, r.origIpStart, r.origIpEnd);
      copy.respIp = latin1(r.ipBytes, r.respIpStart, r.respIpEnd);
    }
    rows.push(copy);
    if (rows.length >= MAX_ENDPOINT_ROWS) this.releaseEndpoints(sink, false);
  }

  /**
   * Gives the held rows of an Endpoints table to the sink. Each row is an address with what it sent
   * (Tx) and received (Rx) in the capture. The capture's own host is a row too, and every byte of
   * the capture is its own: its bytes are the sum of every other row's (a little less where other
   * hosts talked among themselves, as by broadcast). Its Rx, read as sent to it, was counted as
   * data sent (a public capture host became a violation): with `whole`, the largest row of three or
   * more whose Tx is 95-100% of the others' Rx together, and whose Rx is 95-100% of their Tx, is that
   * host: a record without data when its address is not public, else a destination warned of.
   * Rows past MAX_ENDPOINT_ROWS are given as they are read.
   */
  private releaseEndpoints(sink: RecordSink, whole: boolean): void {
    const rows = this.endpointRows!;
    this.endpointRows = null;
    let hub = -1;
    if (whole && rows.length >= 3) {
      // Read as sent to a row: its Rx (origBytes); as received from it: its Tx (respBytes).
      let rx = 0;
      let tx = 0;
      let top = 0;
      let known = true;
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        if (r.origBytes < 0 || r.respBytes < 0) known = false;
        rx += r.origBytes;
        tx += r.respBytes;
        if (r.origBytes + r.respBytes > rows[top]!.origBytes + rows[top]!.respBytes) top = i;
      }
      const h = rows[top]!;
      // What it sent is what the others received, and what it received what they sent, but for
      // what they sent among themselves.
      const within = (own: number, others: number): boolean => own > 0 && own >= 0.95 * others && own <= others;
      if (known && within(h.respBytes, rx - h.origBytes) && within(h.origBytes, tx - h.respBytes)) hub = top;
      // A public address is never set aside on this evidence alone (a capture filtered to one
      // server has that server at its centre): it stays a destination, with the warning an
      // address on one side of every record gets (the policy's localNetworks is the fix).
      const ip = hub >= 0 ? parseIp(h.respIp) : null;
      if (ip !== null && classifyAddress(ip) === 'public') {
        sink.commonAddresses?.({ app: null, family: ip.version, addresses: [h.respIp], records: rows.length });
        hub = -1;
      }
    }
    for (let i = 0; i < rows.length; i++) {
      if (i === hub) sink.noData(rows[i]!.line, "the capture's own host: its bytes are the other addresses'");
      else sink.flow(rows[i]!);
    }
  }

  /**
   * Whether a tshark row's needed values are what their columns hold: an address (or nothing)
   * where an address goes, digits (or nothing) where a port or a byte count goes. A row whose
   * extra fields are its last column's commas has them so; a row where tshark joined the values of
   * several layers with `,` (an ICMP error's or a tunnel's two `ip.dst`) has moved every value after
   * the first joined one, an address into a port or byte column (tshark's own export of a GRE
   * tunnel: `10.0.0.5,10.0.1.7,10.0.0.9,77.88.8.8,443,...` under `ip.src,ip.dst,tcp.dstport`).
   */
  private plausible(buf: Buffer, n: number): boolean {
    const cols = this.cols!;
    const alt = this.alt;
    // The first column not read holds an address where its name says no address goes: the
    // layers' second values moved it there (`ip.src,ip.dst,_ws.col.Info` over a tunnel, whose
    // Info is never an address alone).
    const next = this.needed;
    if (next < n && next < this.names.length && !/(src|dst|addr|host)$/i.test(this.names[next]!)) {
      const text = csvText(buf, this.fields, next, 'latin1').trim();
      if (text !== '' && parseIp(text) !== null) return false;
    }
    for (const c of [cols.dst, cols.src, alt.dst, alt.src]) {
      if (c < 0) continue;
      const text = csvText(buf, this.fields, c, 'latin1').trim();
      if (text !== '' && text !== '-' && parseIp(text) === null) return false;
    }
    for (const c of [cols.dst_port, cols.src_port, alt.dst_port, alt.src_port, cols.bytes_out, cols.bytes_in]) {
      if (c < 0) continue;
      const text = csvText(buf, this.fields, c, 'latin1').trim();
      if (text !== '-' && !/^\d*$/.test(text)) return false;
    }
    return true;
  }

  /**
   * What a row says besides its addresses: ports, protocol, byte counts (`withBytes`), times, host,
   * app, and whether it was refused.
   */
  private common(buf: Buffer, r: FlowRecord, lineNo: number, sink: RecordSink, withBytes: boolean): void {
    const cols = this.cols!;
    const alt = this.alt;
    // A port column wins over a port written with the address, unless it is empty (then a second
    // port column may give it).
    if (cols.dst_port >= 0) {
      const p = this.port(buf, cols.dst_port, lineNo, sink);
      r.respPort = p >= 0 ? p : alt.dst_port >= 0 ? this.port(buf, alt.dst_port, lineNo, sink, r.respPort) : r.respPort;
    }
    if (cols.src_port >= 0) {
      const p = this.port(buf, cols.src_port, lineNo, sink);
      r.origPort = p >= 0 ? p : alt.src_port >= 0 ? this.port(buf, alt.src_port, lineNo, sink, r.origPort) : r.origPort;
    }
    if (cols.proto >= 0) r.proto = this.proto(buf, cols.proto);
    if (withBytes) {
      if (cols.bytes_out >= 0 && (r.origBytes = this.bytes(buf, cols.bytes_out)) < 0) this.badCount(buf, cols.bytes_out, lineNo, sink);
      if (cols.bytes_in >= 0 && (r.respBytes = this.bytes(buf, cols.bytes_in)) < 0) this.badCount(buf, cols.bytes_in, lineNo, sink);
      // A SiLK record is one direction's: it carries nothing back (the reply is a record of its own).
      else if (cols.bytes_in < 0 && this.silk) r.respBytes = 0;
    }
    if (cols.start >= 0) r.firstSeenMs = this.time(buf, cols.start, lineNo, sink);
    if (cols.end >= 0) r.lastSeenMs = this.time(buf, cols.end, lineNo, sink);
    if (cols.host >= 0) {
      const host = this.optionalText(buf, cols.host, this.hosts);
      // A DNS name is at most 253 characters: a longer value names no host. Nor does one without a
      // letter: Palo Alto's first column, "Domain", is a reserved field that always holds 1.
      r.hostname = host !== null && host.length <= MAX_HOSTNAME_CHARS && HAS_LETTER.test(host) ? host : null;
    }
    if (cols.app >= 0) {
      const app = this.optionalText(buf, cols.app, this.apps);
      r.app = app !== null && app.length > MAX_APP_CHARS ? `${app.slice(0, MAX_APP_CHARS)}…` : app;
    }
    if (cols.action >= 0) r.rejected = this.refused(buf, cols.action);
    if (cols.local_orig >= 0) r.origLocal = this.saysTrue(buf, cols.local_orig);
    if (cols.local_resp >= 0) r.respLocal = this.saysTrue(buf, cols.local_resp);
  }

  /** Whether field `col` says yes (T, true, True, 1: see saysTrue). */
  private saysTrue(buf: Buffer, col: number): boolean {
    const f = this.fields;
    const s = skipBlanks(buf, f.pos[col * 2]!, f.pos[col * 2 + 1]!);
    return saysTrue(buf, s, trimBlanksEnd(buf, s, f.pos[col * 2 + 1]!));
  }

  /**
   * A row of Azure traffic analytics whose other side is on the internet: its address column is
   * empty, and the public addresses are listed in `DestPublicIPs_s` (outbound) or `SrcPublicIPs_s`
   * (inbound), space-separated, each `ip|flowsStarted|flowsEnded|outboundPackets|inboundPackets|
   * outboundBytes|inboundBytes` (Microsoft's traffic analytics schema; outbound is from the Azure
   * side). Each public address is a record, with its own byte counts. False when the row is not
   * one (it is then read as any row).
   */
  private publicFlows(buf: Buffer, r: FlowRecord, lineNo: number, sink: RecordSink): boolean {
    const cols = this.cols!;
    const pub = this.publicIps;
    const f = this.fields;
    const filled = (col: number): boolean => col >= 0 && csvText(buf, f, col).trim() !== '';
    const outward = !filled(cols.dst) && filled(pub.dst);
    const inward = !outward && !filled(cols.src) && filled(pub.src);
    if (!outward && !inward) return false;
    const localCol = outward ? cols.src : cols.dst;
    const local = localCol >= 0 && this.locate(buf, localCol) ? this.addressText(buf, localCol, this.at, this.atEnd) : MONITORED_SIDE;
    this.common(buf, r, lineNo, sink, false);
    const listCol = outward ? pub.dst : pub.src;
    for (const entry of csvText(buf, f, listCol).trim().split(/\s+/)) {
      const parts = entry.split('|');
      const counts = parts.length === 7 ? [parts[5]!, parts[6]!].map((x) => (/^\d{1,15}$/.test(x) ? Number(x) : -1)) : [-1, -1];
      if (counts[0]! < 0 || counts[1]! < 0) sink.malformed?.(lineNo, this.names[listCol] ?? `column ${listCol + 1}`, entry);
      const [sent, received] = counts as [number, number];
      r.ipBytes = null;
      if (outward) {
        r.origIp = local;
        r.respIp = parts[0]!;
        r.origBytes = sent;
        r.respBytes = received;
      } else {
        r.origIp = parts[0]!;
        r.respIp = local;
        r.origBytes = received;
        r.respBytes = sent;
      }
      sink.flow(r);
    }
    return true;
  }

  /**
   * Finds the address in field `col` into {@link at}/{@link atEnd}; false when it is empty or `-`.
   * `1.2.3.4:443` and `[2001:db8::1]:443` are split, the port left in {@link atPort} (else -1).
   */
  /** Whether `buf[s, e)` is the unspecified address, as a NAT column writes "no translation". */
  private unspecified(buf: Buffer, s: number, e: number): boolean {
    return bytesEqual(buf, s, e, '0.0.0.0') || bytesEqual(buf, s, e, '::');
  }

  private locate(buf: Buffer, col: number): boolean {
    const f = this.fields;
    let s = skipBlanks(buf, f.pos[col * 2]!, f.pos[col * 2 + 1]!);
    let e = trimBlanksEnd(buf, s, f.pos[col * 2 + 1]!);
    this.atPort = -1;
    if (e === s || bytesEqual(buf, s, e, '-')) return false;
    if (buf[s] === 91) {
      const close = buf.indexOf(93, s);
      if (close > s && close < e) {
        if (close + 1 < e && buf[close + 1] === 58) this.atPort = parseUint(buf, close + 2, e);
        s++;
        e = close;
      }
    } else {
      let colons = 0;
      let lastColon = -1;
      for (let i = s; i < e; i++) {
        if (buf[i] === 58) {
          colons++;
          lastColon = i;
        }
      }
      // One colon: IPv4 (or a name) with a port; IPv6 has at least two.
      if (colons === 1) {
        this.atPort = parseUint(buf, lastColon + 1, e);
        e = lastColon;
      }
    }
    this.at = s;
    this.atEnd = e;
    return true;
  }

  /**
   * Refuses a Wireshark table whose address in `buf[s, e)` (column `col`) is a host name: the
   * table was copied with name resolution on, which writes names for the addresses it has one for.
   * Its rows with names cannot be judged, and skipping them would judge the table on the others
   * (the rows to `sdns.cn` and `www.baidu.com` left out, it was compliant).
   */
  private refuseResolvedName(buf: Buffer, col: number, s: number, e: number, lineNo: number): void {
    if (!isHostName(buf, s, e)) return;
    throw new InputError(
      `line ${lineNo}: ${this.names[col]} is a host name (${latin1(buf, s, e)}), not an address: the table was copied with Wireshark's name resolution on; turn it off (the Name resolution box of the Conversations or Endpoints window) and copy the table again`,
    );
  }

  /** An address as a string: the located range, or the unescaped field when it was quoted with `""`. */
  private addressText(buf: Buffer, col: number, s: number, e: number): string {
    return this.fields.escaped[col] === 1
      ? csvText(buf, this.fields, col, 'latin1').trim()
      : latin1(buf, s, e);
  }

  /** A count or port in field `col`; `otherwise` when the field is empty or not a number. */
  private count(buf: Buffer, col: number, otherwise: number): number {
    const f = this.fields;
    const s = skipBlanks(buf, f.pos[col * 2]!, f.pos[col * 2 + 1]!);
    const v = parseCount(buf, s, trimBlanksEnd(buf, s, f.pos[col * 2 + 1]!));
    return v >= 0 ? v : otherwise;
  }

  /**
   * The port in field `col`: a number up to 65535, also as a firewall console shows it with its
   * service and protocol (`443 (https) / tcp`, Cisco FMC); else `otherwise`, and a value that is
   * there but no port is reported.
   */
  private port(buf: Buffer, col: number, lineNo: number, sink: RecordSink, otherwise = -1): number {
    const v = this.count(buf, col, -1);
    if (v >= 0 && v <= 65535) return v;
    const text = csvText(buf, this.fields, col, 'latin1').trim();
    const shown = SHOWN_PORT.exec(text);
    if (shown !== null && Number(shown[1]) <= 65535) return Number(shown[1]);
    this.reportUnlessUnset(text, col, lineNo, sink);
    return otherwise;
  }

  /**
   * The byte count in field `col`, or -1: in a column whose header names a larger unit
   * (`Bytes Sent (KB)`), the number, which may have a fraction, times the unit (see UNIT_BYTES).
   */
  private bytes(buf: Buffer, col: number): number {
    const unit = this.unitBytes[col] ?? 1;
    if (unit === 1) return this.count(buf, col, -1);
    const text = csvText(buf, this.fields, col, 'latin1').trim();
    return /^\d{1,15}(\.\d+)?$/.test(text) ? Math.round(Number(text) * unit) : -1;
  }

  /** Reports field `col`, a byte count that did not read as one, unless it is empty or an unset marker. */
  private badCount(buf: Buffer, col: number, lineNo: number, sink: RecordSink): void {
    this.reportUnlessUnset(csvText(buf, this.fields, col).trim(), col, lineNo, sink);
  }

  /** Reports `text`, field `col`'s value, as malformed unless it is empty or an unset marker. */
  private reportUnlessUnset(text: string, col: number, lineNo: number, sink: RecordSink): void {
    if (!UNSET_VALUES.has(text.toLowerCase())) sink.malformed?.(lineNo, this.names[col] ?? `column ${col + 1}`, text);
  }

  /**
   * The time in field `col` (see parseTimestampText), or NaN. Text that is neither a time nor unset
   * is reported; a small number is not (a time relative to the capture's start, as Wireshark writes).
   */
  private time(buf: Buffer, col: number, lineNo: number, sink: RecordSink): number {
    const f = this.fields;
    if (f.escaped[col] === 0) {
      const s = skipBlanks(buf, f.pos[col * 2]!, f.pos[col * 2 + 1]!);
      const ms = parseTimestampBytes(buf, s, trimBlanksEnd(buf, s, f.pos[col * 2 + 1]!));
      if (ms !== undefined) return ms;
    }
    let text = csvText(buf, this.fields, col, 'latin1');
    if (col === this.cols!.start && this.dateCol >= 0 && TIME_OF_DAY.test(text.trim())) text = `${csvText(buf, f, this.dateCol, 'latin1').trim()} ${text.trim()}`;
    const ms = parseTimestampText(text);
    if (ms !== ms && !/^\d+(\.\d+)?$/.test(text.trim())) this.reportUnlessUnset(csvText(buf, this.fields, col).trim(), col, lineNo, sink);
    return ms;
  }

  private proto(buf: Buffer, col: number): string {
    const f = this.fields;
    const s = skipBlanks(buf, f.pos[col * 2]!, f.pos[col * 2 + 1]!);
    const e = trimBlanksEnd(buf, s, f.pos[col * 2 + 1]!);
    if (e === s || bytesEqual(buf, s, e, '-')) return '';
    const n = parseUint(buf, s, e);
    if (n >= 0) return ipProtocolName(n);
    // Azure traffic analytics' L4Protocol_s: T and U.
    if (e - s === 1 && (buf[s] === 84 || buf[s] === 116)) return 'tcp';
    if (e - s === 1 && (buf[s] === 85 || buf[s] === 117)) return 'udp';
    return latin1(buf, s, e).toLowerCase();
  }

  /** Whether the action in field `col` is one by which a firewall refused the connection. */
  private refused(buf: Buffer, col: number): boolean {
    const f = this.fields;
    const s = skipBlanks(buf, f.pos[col * 2]!, f.pos[col * 2 + 1]!);
    const e = trimBlanksEnd(buf, s, f.pos[col * 2 + 1]!);
    // The longest refusal is 14 characters; longer text is not one.
    if (e === s || e - s > 20) return false;
    const text = f.escaped[col] === 1 ? csvText(buf, f, col, 'latin1') : latin1(buf, s, e);
    const action = normalizeColumnName(text);
    return REFUSED_ACTIONS.has(action) || (this.deniedLetter && action === 'd');
  }

  /**
   * Text of field `col`, null when empty or `-`; repeated values share one string via `cache`
   * (values longer than {@link MAX_CACHED_TEXT_BYTES} are not kept there).
   */
  private optionalText(buf: Buffer, col: number, cache: TextCache): string | null {
    const f = this.fields;
    if (f.escaped[col] === 1) {
      const t = csvText(buf, f, col).trim();
      return t === '' || t === '-' ? null : t;
    }
    const s = skipBlanks(buf, f.pos[col * 2]!, f.pos[col * 2 + 1]!);
    const e = trimBlanksEnd(buf, s, f.pos[col * 2 + 1]!);
    if (e === s || bytesEqual(buf, s, e, '-')) return null;
    return e - s > MAX_CACHED_TEXT_BYTES ? utf8(buf, s, e) : cache.get(buf, s, e, utf8);
  }

  private header(line: string, lineNo: number): void {
    const delimiter = this.forcedDelimiter ?? detectDelimiter(line);
    const split = splitHeader(line, delimiter);
    if (split === null)
      throw new InputError(`line ${lineNo}: CSV header has an unterminated quoted field`);
    const names = split.names;
    this.quote = split.quote;
    this.quoteDecided = split.quote === SINGLE_QUOTE;
    const cols = resolveColumns(
      names.map((n) => n.trim()),
      this.mapping,
      lineNo,
    );
    this.cols = cols;
    this.names = names.map((n) => n.trim());
    this.alt = alternateColumns(this.names, cols, this.mapping);
    const named = headerNames(this.names);
    this.publicIps = { src: findColumn(named, ['srcpublicips']), dst: findColumn(named, ['destpublicips', 'dstpublicips']) };
    // Azure traffic analytics writes FlowStatus as one letter: A (allowed) or D (denied).
    const action = cols.action >= 0 ? this.names[cols.action]! : '';
    this.deniedLetter = action !== '' && [normalizeColumnName(action), ...alternativeNames(action)].includes('flowstatus');
    this.delimiter = delimiter.charCodeAt(0);
    // A start time in a `time` column beside a `date` column (FortiAnalyzer, Check Point exports):
    // the time of day on that date.
    this.dateCol = cols.start >= 0 && named.normalized[cols.start] === 'time' && this.mapping.start === undefined ? named.normalized.indexOf('date') : -1;
    this.unitBytes = this.names.map(unitOf);
    this.needed = Math.max(...Object.values(cols), ...Object.values(this.alt), this.publicIps.src, this.publicIps.dst, this.dateCol) + 1;
    this.limit = this.needed >= this.names.length ? this.needed + 1 : this.needed;
    this.tsharkNames = this.names.some((name) => /^[a-z_][a-z0-9_]*\.[a-z0-9_.]+$/.test(name));
    const endpoints = endpointsLayout(named.normalized);
    this.wiresharkTable = (named.normalized.includes('addressa') && named.normalized.includes('addressb')) || endpoints !== null;
    this.silk = named.normalized.includes('sip') && named.normalized.includes('dip');
    this.endpointRows = endpoints !== null && cols.dst === endpoints.address && cols.bytes_out === endpoints.rx && cols.bytes_in === endpoints.tx ? [] : null;
    this.fields.grow(this.limit);
  }

  finish(sink: RecordSink): void {
    if (this.held !== null) this.release(sink);
    if (this.endpointRows !== null) this.releaseEndpoints(sink, true);
    this.sides.report(sink);
  }
}

/** Registry entry: 0.5 for a header with a destination column, below the specific formats. */
export const genericCsvFormat: FormatDefinition = {
  name: 'generic-csv',
  description: 'CSV or TSV with a header row naming a destination column',
  detect: detectGenericCsv,
  create: (options) => new GenericCsvParser(options),
};
