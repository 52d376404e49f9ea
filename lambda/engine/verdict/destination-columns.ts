/**
 * The columns of the destinations table: one row per destination of a verdict, each row carrying
 * the verdict's context, so every row can be queried on its own (docs/athena.md).
 *
 * The single list both sides are made from: the JSON Lines writer (`destinations-jsonl.ts`) writes
 * exactly these keys in this order, and the Glue table (`lib/constructs/verdict-catalog.ts`)
 * declares exactly these columns. Names are lower-case snake_case because the Glue Data Catalog
 * stores column names in lower case; keys that already are lower case match their columns byte
 * for byte under either JSON SerDe, with no `mapping.*` properties and no reliance on the SerDe's
 * case folding.
 *
 * Only ever add columns (at the end of their group), never rename or retype one: the table reads
 * every file written so far.
 */

/** A column: its name (= the JSON key), its Hive type as Glue declares it, and what it holds. */
export interface DestinationColumn {
  readonly name: string;
  /** Hive type: `string`, `bigint`, `int`, `boolean`, `array<…>`, `map<string,…>`, `struct<…>`. */
  readonly type: string;
  /** Where the value comes from: the destination, or the verdict it belongs to (same on every row). */
  readonly scope: 'destination' | 'verdict';
  /** Column comment in the Glue table (at most 255 characters). */
  readonly comment: string;
}

/** Type of `databases`: each database the verdict cites. */
export const DATABASES_COLUMN_TYPE =
  'array<struct<name:string,role:string,database_type:string,build_epoch:string,sha256:string>>';

/** Every column, in the order the JSON Lines writer writes them. */
export const DESTINATION_COLUMNS = [
  { name: 'ip', type: 'string', scope: 'destination', comment: 'Remote address (IPv6 in RFC 5952 form)' },
  { name: 'country', type: 'string', scope: 'destination', comment: 'ISO 3166-1 alpha-2 country, or null when no database places it' },
  { name: 'countries', type: 'map<string,string>', scope: 'destination', comment: "Each location database's country, by database name" },
  { name: 'address_class', type: 'string', scope: 'destination', comment: 'public, or the IANA special-purpose class (private, link-local, ...)' },
  { name: 'status', type: 'string', scope: 'destination', comment: 'allowed, violation, unknown, non-public or blocked' },
  { name: 'rule', type: 'string', scope: 'destination', comment: 'Why, in words (null for plainly allowed or non-public)' },
  { name: 'warning', type: 'string', scope: 'destination', comment: 'A concern the policy only warns about, or null' },
  { name: 'disputed', type: 'boolean', scope: 'destination', comment: 'The location databases give different countries' },
  { name: 'connections', type: 'bigint', scope: 'destination', comment: 'Accepted connections (records) to the destination' },
  { name: 'blocked_attempts', type: 'bigint', scope: 'destination', comment: 'Connections the network refused (nothing was sent on them)' },
  { name: 'bytes_sent', type: 'bigint', scope: 'destination', comment: 'Bytes the monitored side sent to the destination' },
  { name: 'bytes_received', type: 'bigint', scope: 'destination', comment: 'Bytes the monitored side received from the destination' },
  { name: 'connections_with_unknown_bytes', type: 'bigint', scope: 'destination', comment: 'Connections whose byte counts the log left unset' },
  { name: 'first_seen', type: 'string', scope: 'destination', comment: 'ISO 8601 UTC time of the first connection, or null' },
  { name: 'last_seen', type: 'string', scope: 'destination', comment: 'ISO 8601 UTC time of the last connection, or null' },
  { name: 'ports', type: 'array<int>', scope: 'destination', comment: 'Remote ports seen (up to 64)' },
  { name: 'protocols', type: 'array<string>', scope: 'destination', comment: 'Transport protocols seen' },
  { name: 'hostnames', type: 'array<string>', scope: 'destination', comment: 'Names the log gives for the destination' },
  { name: 'apps', type: 'array<string>', scope: 'destination', comment: 'Apps or devices that reached it (PCAPdroid App, VPC interface)' },
  { name: 'evidence_lines', type: 'array<bigint>', scope: 'destination', comment: 'First line (packet, entry) numbers of records that reached it' },
  { name: 'asn', type: 'bigint', scope: 'destination', comment: 'Autonomous system operating the address, or null' },
  { name: 'as_organization', type: 'string', scope: 'destination', comment: 'Organisation of that autonomous system, or null' },
  { name: 'operator_country', type: 'string', scope: 'destination', comment: 'Country the operating AS is registered in, or null' },
  { name: 'verdict_id', type: 'string', scope: 'verdict', comment: 'Identifies the verdict (128-bit hex); the data file is named after it' },
  { name: 'verdict_key', type: 'string', scope: 'verdict', comment: 'S3 key (or file path) of the verdict document' },
  { name: 'checked_at', type: 'string', scope: 'verdict', comment: 'ISO 8601 UTC time of the check; dt is its date' },
  { name: 'verdict_compliant', type: 'boolean', scope: 'verdict', comment: 'The whole log was compliant' },
  { name: 'verdict_partial', type: 'boolean', scope: 'verdict', comment: 'The check stopped before the end of the log (time budget)' },
  { name: 'verdict_error', type: 'string', scope: 'verdict', comment: "The verdict's error (set on partial verdicts), or null" },
  { name: 'tool_version', type: 'string', scope: 'verdict', comment: 'Version of residency that checked the log' },
  { name: 'input_name', type: 'string', scope: 'verdict', comment: 'File name or S3 key of the log' },
  { name: 'input_sha256', type: 'string', scope: 'verdict', comment: 'SHA-256 of the log as uploaded (hex)' },
  { name: 'input_format', type: 'string', scope: 'verdict', comment: 'Log format (zeek-tsv, vpc-flow, pcap, ...)' },
  { name: 'input_version_id', type: 'string', scope: 'verdict', comment: 'S3 version ID of the log, or null' },
  { name: 'policy_name', type: 'string', scope: 'verdict', comment: 'Label of the policy, or null' },
  { name: 'policy_sha256', type: 'string', scope: 'verdict', comment: 'SHA-256 of the canonical policy JSON (hex)' },
  { name: 'databases', type: DATABASES_COLUMN_TYPE, scope: 'verdict', comment: 'Databases used: name, role, database_type, build_epoch (ISO 8601, empty for the ASN table), sha256' },
] as const satisfies readonly DestinationColumn[];

/** The name of a column. */
export type DestinationColumnName = (typeof DESTINATION_COLUMNS)[number]['name'];
/** Columns whose value comes from the destination. */
export type DestinationScopedColumn = Extract<(typeof DESTINATION_COLUMNS)[number], { scope: 'destination' }>['name'];
/** Columns whose value comes from the verdict (the same on every row of a verdict). */
export type VerdictScopedColumn = Extract<(typeof DESTINATION_COLUMNS)[number], { scope: 'verdict' }>['name'];

/** The partition column: the UTC date of `checked_at`, as `yyyy-MM-dd` (not a key in the rows). */
export const DESTINATIONS_PARTITION_COLUMN = {
  name: 'dt',
  type: 'string',
  comment: 'UTC date of the check (yyyy-MM-dd), the date part of checked_at',
} as const;

/** Java `DateTimeFormatter` pattern of the partition values, as partition projection reads it. */
export const DESTINATIONS_PARTITION_FORMAT = 'yyyy-MM-dd';
