/**
 * Verdict → JSON text, in pieces, so a verdict with tens of thousands of destinations is written
 * without building one huge string. Layout: one top-level field per line, small objects indented,
 * list entries one compact object per line (easy to grep and diff, cheap to write).
 */
import type { Verdict, VerdictDestination, VerdictViolation } from './verdict';

/** A JSON string literal; the fast path skips JSON.stringify for printable ASCII without `"` or `\`. */
export function str(s: string | null): string {
  if (s === null) return 'null';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return JSON.stringify(s);
  }
  return `"${s}"`;
}

/** A JSON array of strings. */
export function strList(xs: readonly string[]): string {
  if (xs.length === 0) return '[]';
  let out = '[';
  for (let i = 0; i < xs.length; i++) out += (i > 0 ? ',' : '') + str(xs[i]!);
  return `${out}]`;
}

function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/** How many distinct quoted strings one verdict keeps for reuse. */
const MAX_QUOTED = 65536;

/**
 * JSON string literals of the values that repeat from one destination to the next (countries,
 * statuses, rule texts, AS organisations, database names), each made once per verdict.
 */
export class QuotedStrings {
  private readonly quoted = new Map<string, string>();

  /** `str(s)`, from the memo when `s` was quoted before. */
  of(s: string | null): string {
    if (s === null) return 'null';
    let q = this.quoted.get(s);
    if (q === undefined) {
      q = str(s);
      if (this.quoted.size < MAX_QUOTED) this.quoted.set(s, q);
    }
    return q;
  }
}

/**
 * One destination as compact JSON, field for field what `JSON.stringify` writes (tens of
 * thousands per verdict; the generic path dominated writing large verdicts).
 */
export function destinationJson(d: VerdictDestination, quoted = new QuotedStrings()): string {
  let countries = '{';
  let first = true;
  for (const k of Object.keys(d.countries)) {
    countries += `${first ? '' : ','}${quoted.of(k)}:${quoted.of(d.countries[k] ?? null)}`;
    first = false;
  }
  countries += '}';
  return (
    `{"ip":${str(d.ip)},"country":${quoted.of(d.country)},"countries":${countries},"addressClass":${quoted.of(d.addressClass)},` +
    `"status":${quoted.of(d.status)},"rule":${quoted.of(d.rule)},"connections":${num(d.connections)},"blockedAttempts":${num(d.blockedAttempts)},` +
    `"bytesSent":${num(d.bytesSent)},"bytesReceived":${num(d.bytesReceived)},"connectionsWithUnknownBytes":${num(d.connectionsWithUnknownBytes)},` +
    `"firstSeen":${str(d.firstSeen)},"lastSeen":${str(d.lastSeen)},"ports":[${d.ports.join(',')}],"protocols":${quotedList(d.protocols, quoted)},` +
    `"hostnames":${strList(d.hostnames)},"apps":${strList(d.apps)},"evidenceLines":[${d.evidenceLines.join(',')}],` +
    `"disputed":${d.disputed},"asn":${d.asn === null ? 'null' : num(d.asn)},"asOrganization":${quoted.of(d.asOrganization)},` +
    `"operatorCountry":${quoted.of(d.operatorCountry)},"warning":${quoted.of(d.warning)}}`
  );
}

/** A JSON array of strings that repeat across destinations (protocol names). */
function quotedList(xs: readonly string[], quoted: QuotedStrings): string {
  if (xs.length === 0) return '[]';
  let out = '[';
  for (let i = 0; i < xs.length; i++) out += (i > 0 ? ',' : '') + quoted.of(xs[i]!);
  return `${out}]`;
}

/** One violation as compact JSON, field for field what `JSON.stringify` writes. */
export function violationJson(v: VerdictViolation, quoted = new QuotedStrings()): string {
  return (
    `{"ip":${str(v.ip)},"country":${quoted.of(v.country)},"rule":${quoted.of(v.rule)},"hostnames":${strList(v.hostnames)},` +
    `"bytesSent":${num(v.bytesSent)},"connections":${num(v.connections)},"evidenceLines":[${v.evidenceLines.join(',')}],` +
    `"asn":${v.asn === null ? 'null' : num(v.asn)},"asOrganization":${quoted.of(v.asOrganization)},"operatorCountry":${quoted.of(v.operatorCountry)}}`
  );
}

const LIST_FIELDS = new Set(['countries', 'destinations', 'violations', 'warnings', 'errors']);

function indent(json: string): string {
  return json.replace(/\n/g, '\n  ');
}

/** Yields the verdict's JSON text in pieces; their concatenation is valid JSON. */
export function* serializeVerdict(v: Verdict): Generator<string> {
  const keys = Object.keys(v) as (keyof Verdict)[];
  const quoted = new QuotedStrings();
  yield '{\n';
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!;
    const value = v[key];
    const comma = k < keys.length - 1 ? ',' : '';
    if (LIST_FIELDS.has(key) && Array.isArray(value) && value.length > 0) {
      yield `  ${JSON.stringify(key)}: [\n`;
      let batch = '';
      for (let i = 0; i < value.length; i++) {
        const item =
          key === 'destinations'
            ? destinationJson(value[i] as VerdictDestination, quoted)
            : key === 'violations'
              ? violationJson(value[i] as VerdictViolation, quoted)
              : JSON.stringify(value[i]);
        batch += `    ${item}${i < value.length - 1 ? ',' : ''}\n`;
        if (batch.length > 64 * 1024) {
          yield batch;
          batch = '';
        }
      }
      yield `${batch}  ]${comma}\n`;
    } else {
      yield `  ${JSON.stringify(key)}: ${indent(JSON.stringify(value, null, 2))}${comma}\n`;
    }
  }
  yield '}\n';
}

/**
 * The verdict's JSON as UTF-8 bytes, built from the pieces: a verdict with hundreds of thousands
 * of destinations can be larger than the longest string V8 allows (about 512 MB).
 */
export function verdictBytes(v: Verdict): Buffer {
  const pieces: Buffer[] = [];
  for (const piece of serializeVerdict(v)) pieces.push(Buffer.from(piece, 'utf8'));
  return Buffer.concat(pieces);
}

/** The verdict's JSON text as one string. */
export function verdictJson(v: Verdict): string {
  let out = '';
  for (const piece of serializeVerdict(v)) out += piece;
  return out;
}
