/**
 * Types shared across the engine. Parsers emit {@link FlowRecord}s into a {@link RecordSink};
 * the aggregator folds them into per-destination totals; the verdict is plain JSON data.
 */

/** Log formats the engine reads. */
export type FormatName =
  | 'zeek-tsv'
  | 'zeek-json'
  | 'vpc-flow'
  | 'vpc-flow-cloudwatch'
  | 'pcapdroid-csv'
  | 'generic-csv'
  | 'pcap'
  | 'pcapng'
  | 'har'
  | 'suricata-eve'
  | 'aws-network-firewall'
  | 'nfdump-csv'
  | 'key-value'
  | 'cef'
  | 'gcp-vpc-flow'
  | 'azure-flow-log'
  | 'windows-firewall';

/**
 * One connection (or one direction of one, for VPC flow logs) as a parser read it. Parsers reuse a
 * single object for speed: a sink must copy whatever it keeps.
 */
export interface FlowRecord {
  /** 1-based line number (record index for binary formats): the evidence pointer. */
  line: number;
  /** Address of the side that opened the connection (VPC: `srcaddr`; PCAPdroid: `SrcIP`). */
  origIp: string;
  /** Port of the originator, -1 when unknown. */
  origPort: number;
  /** Address of the side that answered (VPC: `dstaddr`; PCAPdroid: `DstIp`). */
  respIp: string;
  /** Port of the responder, -1 when unknown. */
  respPort: number;
  /** Transport protocol in lower case (`tcp`, `udp`, `icmp`, ...) or its IANA number. */
  proto: string;
  /** Payload bytes from the originator to the responder; -1 when the log does not say. */
  origBytes: number;
  /** Payload bytes from the responder to the originator; -1 when the log does not say. */
  respBytes: number;
  /** Start of the connection in epoch milliseconds, NaN when unknown. */
  firstSeenMs: number;
  /** End (or last packet) of the connection in epoch milliseconds, NaN when unknown. */
  lastSeenMs: number;
  /** The network refused the connection (VPC `REJECT`): nothing was sent. */
  rejected: boolean;
  /**
   * The record counts one direction of a connection (VPC Flow Logs, netflow, nfdump): the reply,
   * if any, is a record of its own, so a `respBytes` of 0 does not say that nothing came back.
   */
  oneWay: boolean;
  /**
   * The log itself says this side is inside the monitored networks, whatever its address: Zeek's
   * `local_orig`/`local_resp` (from the sensor's `Site::local_nets`), the interface side of a VPC
   * record by its `flow-direction`. It decides which side is this record's remote party, with the
   * policy's `localNetworks`; it never exempts an address from being judged.
   */
  origLocal: boolean;
  respLocal: boolean;
  /** Hostname the evidence names for the responder, if any. */
  hostname: string | null;
  /**
   * Other names the evidence gives the responder's address (every DNS answer for it in a capture
   * or sensor log; {@link hostname} may be among them), or null. Shared: never changed by readers.
   */
  otherHostnames?: readonly string[] | null;
  /** App or device that made the connection, if the log names it. */
  app: string | null;
  /**
   * Fast path for byte-scanning parsers: when non-null, the addresses are the byte ranges
   * `[origIpStart, origIpEnd)` and `[respIpStart, respIpEnd)` of this buffer, and `origIp`/`respIp`
   * are ignored. Saves creating two strings per record.
   */
  ipBytes: Buffer | null;
  origIpStart: number;
  origIpEnd: number;
  respIpStart: number;
  respIpEnd: number;
}

/** Where parsers put what they read. Every data line ends in exactly one of these calls. */
export interface RecordSink {
  flow(record: FlowRecord): void;
  /** A record that could not be used; `reason` is a short stable phrase, `detail` the value seen. */
  skip(line: number, reason: string, detail?: string): void;
  /** A record that by design carries no connection (VPC `NODATA`; not `SKIPDATA`, whose traffic went unrecorded: skipped). */
  noData(line: number, status: string): void;
  /**
   * A record of a connection that happened but names no server address to attribute it to (a HAR
   * entry without `serverIPAddress`). Sinks without this method get a {@link skip} instead.
   */
  unattributed?(line: number, reason: string, detail?: string): void;
  /**
   * A record of another kind that the format mixes in with connections (a dns.log record in a
   * stream of every Zeek log): skipped and counted as such, but not weighed as unreadable.
   * Sinks without this method get a {@link skip} instead.
   */
  notConnection?(line: number, reason: string): void;
  /**
   * A value present in a record that is used but not readable as its field's type (a byte count
   * `12x3`, `-5`, `1e3`): the record still counts, with that value unknown (never zero), and the
   * value is reported. `field` is the column as the log names it. Unset markers (Zeek `-`, an empty
   * CSV cell) are not malformed. Sinks without this method only see the record.
   */
  malformed?(line: number, field: string, value: string): void;
  /**
   * Called by {@link LineParser.finish} of a parser whose records do not say which side is inside,
   * once per interface and address family: the addresses on one side of every one of its records
   * (see verdict/common-addresses). Sinks without this method ignore it.
   */
  commonAddresses?(found: CommonAddresses): void;
  /** Instead of commonAddresses: the log named more interfaces than are tracked, so no hint holds. */
  commonAddressesOverflow?(): void;
}

/**
 * The addresses on one side of every record of one group (an interface, by its id, or the whole
 * log when its records name none) and address family, as a parser found them.
 */
export interface CommonAddresses {
  /** The interface (a record's app); null for the records that name none. */
  readonly app: string | null;
  readonly family: 4 | 6;
  /** At most two: both ends of the first record, kept while every later record has them. */
  readonly addresses: readonly string[];
  /** Records of the group. */
  readonly records: number;
  /**
   * Of `addresses`, those that were the source of a record, when the parser says (generic CSV):
   * only those are warned of, as a host's own address sends as well as receives, where a server
   * every row went to only receives. Absent: every address may be.
   */
  readonly sources?: readonly string[];
}

/** A parser for a line-oriented format. Header and comment lines produce no sink call. */
export interface LineParser {
  readonly format: FormatName;
  /** Handles bytes `[start, end)` of `buf` (line terminator already removed). */
  line(buf: Buffer, start: number, end: number, lineNo: number, sink: RecordSink): void;
  /** Called once after the last line. */
  finish(sink: RecordSink): void;
}

/**
 * A parser for a binary or whole-document format (pcap, HAR): it takes the decoded bytes chunk by
 * chunk, as they arrive. Record "lines" are then packet or entry numbers.
 */
export interface ChunkParser {
  readonly format: FormatName;
  /** Handles the next chunk of decoded bytes (valid only during the call: copy what you keep). */
  push(chunk: Buffer, sink: RecordSink): void;
  /** Called once after the last chunk. */
  finish(sink: RecordSink): void;
  /**
   * Input units read into connections so far, where a record is not a unit of the input (a
   * capture's packets, which become connection records only at the end): what skipped units are
   * weighed against. Without it, the connections the sink was given.
   */
  unitsInConnections?(): number;
}

/** Options a parser may take from the user. */
export interface ParserOptions {
  /** Generic CSV: column mapping such as `{ dst: 'remote_ip', bytes_out: 'tx' }`. */
  columns?: Readonly<Record<string, string>>;
  /**
   * VPC Flow Logs: the field names of records with no header line before them (a custom format as
   * CloudWatch Logs or Firehose deliver it), from the flow log's LogFormat.
   */
  vpcFields?: readonly string[];
}

/** Address classes from the IANA special-purpose address registries. */
export type AddressClass =
  | 'public'
  | 'private'
  | 'carrier-grade-nat'
  | 'loopback'
  | 'link-local'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'benchmarking'
  | 'reserved'
  | 'unspecified'
  | 'this-network'
  | 'ietf-protocol'
  | 'unique-local'
  | 'site-local'
  | 'discard-only'
  | 'teredo'
  | '6to4'
  | 'local-nat64';

/** Status of a destination in the verdict. */
export type DestinationStatus = 'allowed' | 'violation' | 'unknown' | 'non-public' | 'blocked';
