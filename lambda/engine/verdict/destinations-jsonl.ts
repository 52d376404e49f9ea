/**
 * Verdict → JSON Lines, one self-contained line per destination (the columns of
 * `destination-columns.ts`, in that order), for Athena and any other JSON Lines reader.
 * Streamed in pieces of about {@link JSONL_PIECE_CHARS} characters, so a verdict with 100,000
 * destinations never becomes one string; the same verdict always gives the same text.
 */
import { createHash } from 'node:crypto';
import {
  DESTINATION_COLUMNS,
  type DestinationScopedColumn,
  type VerdictScopedColumn,
} from './destination-columns';
import { eachDestination } from './build-verdict';
import { str, strList } from './serialize';
import type { Verdict, VerdictDestination } from './verdict';

/** Pieces are yielded once they reach this many characters (the last one may be shorter). */
export const JSONL_PIECE_CHARS = 64 * 1024;

/** What a row says about where its verdict is, beyond the verdict itself. */
export interface DestinationRowsContext {
  /** The verdict document's S3 key (Lambda) or file path (CLI). */
  readonly verdictKey: string;
}

const LARGEST_BIGINT = 2 ** 63;

/**
 * A Hive `bigint` as JSON: an integer, or null when the value is not an integer that fits (a sum
 * past 2^63 cannot be stored, and its `1e+21` form would make Athena fail on the whole file).
 * Integers below 2^63 never print with an exponent.
 */
function bigint(n: number | null | undefined): string {
  return typeof n === 'number' && Number.isInteger(n) && Math.abs(n) < LARGEST_BIGINT ? String(n) : 'null';
}

function bigintList(xs: readonly number[] | null | undefined): string {
  if (!xs || xs.length === 0) return '[]';
  let out = '[';
  for (let i = 0; i < xs.length; i++) out += (i > 0 ? ',' : '') + bigint(xs[i]);
  return `${out}]`;
}

function bool(b: boolean | null | undefined): string {
  return b === true ? 'true' : b === false ? 'false' : 'null';
}

function text(s: string | null | undefined): string {
  return str(typeof s === 'string' ? s : null);
}

function textList(xs: readonly string[] | null | undefined): string {
  return strList(xs ?? []);
}

function textMap(m: Record<string, string | null> | null | undefined): string {
  if (!m) return '{}';
  let out = '{';
  let first = true;
  for (const k of Object.keys(m)) {
    out += `${first ? '' : ','}${str(k)}:${text(m[k])}`;
    first = false;
  }
  return `${out}}`;
}

/** Each destination column's value, as JSON text. Verdicts written by earlier versions may lack fields. */
const DESTINATION_FIELDS: { readonly [K in DestinationScopedColumn]: (d: VerdictDestination) => string } = {
  ip: (d) => text(d.ip),
  country: (d) => text(d.country),
  countries: (d) => textMap(d.countries),
  address_class: (d) => text(d.addressClass),
  status: (d) => text(d.status),
  rule: (d) => text(d.rule),
  warning: (d) => text(d.warning),
  disputed: (d) => bool(d.disputed),
  connections: (d) => bigint(d.connections),
  blocked_attempts: (d) => bigint(d.blockedAttempts),
  bytes_sent: (d) => bigint(d.bytesSent),
  bytes_received: (d) => bigint(d.bytesReceived),
  connections_with_unknown_bytes: (d) => bigint(d.connectionsWithUnknownBytes),
  first_seen: (d) => text(d.firstSeen),
  last_seen: (d) => text(d.lastSeen),
  ports: (d) => bigintList(d.ports),
  protocols: (d) => textList(d.protocols),
  hostnames: (d) => textList(d.hostnames),
  apps: (d) => textList(d.apps),
  evidence_lines: (d) => bigintList(d.evidenceLines),
  asn: (d) => bigint(d.asn),
  as_organization: (d) => text(d.asOrganization),
  operator_country: (d) => text(d.operatorCountry),
};

/** Each verdict column's value, as JSON text (computed once per verdict). */
const VERDICT_FIELDS: {
  readonly [K in VerdictScopedColumn]: (v: Verdict, context: DestinationRowsContext) => string;
} = {
  verdict_id: (v, context) => text(verdictIdOf(v, context.verdictKey)),
  verdict_key: (_v, context) => text(context.verdictKey),
  checked_at: (v) => text(v.checkedAt),
  verdict_compliant: (v) => bool(v.compliant),
  verdict_partial: (v) => bool(v.partial === true),
  verdict_error: (v) => text(v.error),
  tool_version: (v) => text(v.tool?.version),
  input_name: (v) => text(v.input?.name),
  input_sha256: (v) => text(v.input?.sha256),
  input_format: (v) => text(v.input?.format),
  input_version_id: (v) => text(v.input?.source?.versionId),
  policy_name: (v) => text(v.policy?.name),
  policy_sha256: (v) => text(v.policy?.sha256),
  databases: (v) =>
    `[${(v.databases ?? [])
      .map(
        (db) =>
          `{"name":${text(db.name)},"role":${text(db.role)},"database_type":${text(db.databaseType)},` +
          `"build_epoch":${text(db.buildEpoch)},"sha256":${text(db.sha256)}}`,
      )
      .join(',')}]`,
};

/**
 * The verdict's identifier (and its destinations object's name): the first 128 bits (hex) of a
 * SHA-256. For a verdict of an S3 upload, of its key and the upload it judged (version ID, ETag,
 * event sequencer): the same for every verdict of one upload, so two deliveries of it checked at
 * once name one object, and the second write cannot add a second copy of its rows; another
 * upload of the key gets another. Verdicts that record no sequencer (local checks, and S3
 * verdicts written before it was recorded) keep the identifier made with their check time and
 * input hash, so a redelivery still finds the object written under it.
 */
export function verdictIdOf(v: Verdict, verdictKey: string): string {
  const source = v.input?.source ?? {};
  const parts =
    'sequencer' in source
      ? [verdictKey, 'upload', source.versionId ?? '', source.etag ?? '', source.sequencer ?? '']
      : [verdictKey, v.checkedAt, v.input?.sha256 ?? '', source.versionId ?? '', source.etag ?? ''];
  return createHash('sha256').update(parts.join('\n'), 'utf8').digest('hex').slice(0, 32);
}

/** The partition value of a verdict's rows: the UTC date of `checkedAt` (`2026-01-31`), or null if it has none. */
export function destinationsPartitionOf(checkedAt: string): string | null {
  const date = /^(\d{4}-\d{2}-\d{2})T/.exec(checkedAt)?.[1];
  return date ?? null;
}

/**
 * Yields the verdict's JSON Lines text in pieces: one line per destination, in the verdict's
 * order, each ending in `\n`. A verdict without destinations (an error verdict) yields nothing.
 *
 * @example
 * for (const piece of serializeDestinationsJsonl(verdict, { verdictKey: 'verdicts/x.verdict.json' })) out.write(piece);
 */
export function* serializeDestinationsJsonl(v: Verdict, context: DestinationRowsContext): Generator<string> {
  // The line as alternating constant text and per-destination values: the keys and the verdict's
  // columns are written into the constants once.
  const constants: string[] = [];
  const fields: ((d: VerdictDestination) => string)[] = [];
  let pending = '{';
  for (const [i, column] of DESTINATION_COLUMNS.entries()) {
    pending += `${i > 0 ? ',' : ''}"${column.name}":`;
    if (column.scope === 'destination') {
      constants.push(pending);
      fields.push(DESTINATION_FIELDS[column.name]);
      pending = '';
    } else {
      pending += VERDICT_FIELDS[column.name](v, context);
    }
  }
  const tail = `${pending}}\n`;
  let piece = '';
  // One at a time: a built verdict's destinations are read from its totals, not made into objects.
  for (const d of eachDestination(v)) {
    for (let i = 0; i < fields.length; i++) piece += constants[i]! + fields[i]!(d);
    piece += tail;
    if (piece.length >= JSONL_PIECE_CHARS) {
      yield piece;
      piece = '';
    }
  }
  if (piece !== '') yield piece;
}
