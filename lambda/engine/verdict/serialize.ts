/**
 * Verdict → JSON text, in pieces, so a verdict with tens of thousands of destinations is written
 * without building one huge string. Layout: one top-level field per line, small objects indented,
 * list entries one compact object per line (easy to grep and diff, cheap to write).
 */
import type { Verdict, VerdictDestination } from './verdict';

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

/**
 * One destination as compact JSON, field for field what `JSON.stringify` writes (tens of
 * thousands per verdict; the generic path dominated writing large verdicts).
 */
export function destinationJson(d: VerdictDestination): string {
  let countries = '{';
  let first = true;
  for (const k of Object.keys(d.countries)) {
    countries += `${first ? '' : ','}${str(k)}:${str(d.countries[k] ?? null)}`;
    first = false;
  }
  countries += '}';
  return (
    `{"ip":${str(d.ip)},"country":${str(d.country)},"countries":${countries},"addressClass":${str(d.addressClass)},` +
    `"status":${str(d.status)},"rule":${str(d.rule)},"connections":${num(d.connections)},"blockedAttempts":${num(d.blockedAttempts)},` +
    `"bytesSent":${num(d.bytesSent)},"bytesReceived":${num(d.bytesReceived)},"connectionsWithUnknownBytes":${num(d.connectionsWithUnknownBytes)},` +
    `"firstSeen":${str(d.firstSeen)},"lastSeen":${str(d.lastSeen)},"ports":[${d.ports.join(',')}],"protocols":${strList(d.protocols)},` +
    `"hostnames":${strList(d.hostnames)},"apps":${strList(d.apps)},"evidenceLines":[${d.evidenceLines.join(',')}],` +
    `"disputed":${d.disputed},"asn":${d.asn === null ? 'null' : num(d.asn)},"asOrganization":${str(d.asOrganization)},` +
    `"operatorCountry":${str(d.operatorCountry)},"warning":${str(d.warning)}}`
  );
}

const LIST_FIELDS = new Set(['countries', 'destinations', 'violations', 'warnings', 'errors']);

function indent(json: string): string {
  return json.replace(/\n/g, '\n  ');
}

/** Yields the verdict's JSON text in pieces; their concatenation is valid JSON. */
export function* serializeVerdict(v: Verdict): Generator<string> {
  const keys = Object.keys(v) as (keyof Verdict)[];
  yield '{\n';
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!;
    const value = v[key];
    const comma = k < keys.length - 1 ? ',' : '';
    if (LIST_FIELDS.has(key) && Array.isArray(value) && value.length > 0) {
      yield `  ${JSON.stringify(key)}: [\n`;
      let batch = '';
      for (let i = 0; i < value.length; i++) {
        const item = key === 'destinations' ? destinationJson(value[i] as VerdictDestination) : JSON.stringify(value[i]);
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
