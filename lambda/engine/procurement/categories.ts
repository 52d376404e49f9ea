/**
 * Data categories of a procurement statement, and the table that maps host names to them
 * (`data/categories.json`, or a user's own with `--categories`). Pure: the caller reads the file.
 */
import { InputError } from '../errors';
import { describeJsonError } from '../json-syntax';

/** The categories a procurement statement judges, in report order. */
export const DATA_CATEGORIES = [
  'flight-logs',
  'media',
  'device-identifiers-and-crash-reports',
  'location-checks',
  'map-tiles',
  'analytics',
  'updates',
] as const;

/** A category of the table. */
export type DataCategory = (typeof DATA_CATEGORIES)[number];

/** Traffic to hosts that match no pattern, or that the log names no host for. */
export const UNCLASSIFIED = 'unclassified';

/** A category of a statement: one of the table's, or `unclassified`. */
export type StatementCategory = DataCategory | typeof UNCLASSIFIED;

/** Every category of a statement, in report order (`unclassified` last). */
export const STATEMENT_CATEGORIES: readonly StatementCategory[] = [...DATA_CATEGORIES, UNCLASSIFIED];

/** One row of the table. */
export interface CategoryEntry {
  /** `example.com` (the name and every name under it) or a glob such as `*.bugly.qq.com`. */
  pattern: string;
  category: DataCategory;
  /** A public URL or document that says what the host does. */
  source: string;
  note?: string;
}

/** A parsed table, with the SHA-256 the caller computed of its bytes (cited as evidence). */
export interface CategoryTable {
  /** Where the table came from (file name), as the statement cites it. */
  name: string;
  entries: CategoryEntry[];
}

const ENTRY_FIELDS = new Set(['pattern', 'category', 'source', 'note', 'sourceChecked']);
const TABLE_FIELDS = new Set(['$schema', 'description', 'updated', 'entries']);
/** Host name characters, with `*` for globs. */
const PATTERN_RE = /^[a-z0-9*_-]+(\.[a-z0-9*_-]+)*$/;

function isCategory(value: unknown): value is DataCategory {
  return typeof value === 'string' && (DATA_CATEGORIES as readonly string[]).includes(value);
}

/** A host name in the form patterns are matched against: lower case, no trailing dot. */
export function normalizeHostname(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

/**
 * Parses a category table (`{ "entries": [{ pattern, category, source, note? }] }`); a bad entry
 * is an {@link InputError} naming the file and the entry.
 */
export function parseCategoryTable(text: string, name: string): CategoryTable {
  let data: unknown;
  try {
    data = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new InputError(`${name}: not valid JSON (${describeJsonError(text, err)})`, { cause: err });
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new InputError(`${name}: expected a JSON object with an "entries" array`);
  }
  const obj = data as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!TABLE_FIELDS.has(key)) throw new InputError(`${name}: ${key}: unknown field (known: description, updated, entries)`);
  }
  if (!Array.isArray(obj.entries)) throw new InputError(`${name}: entries: expected an array`);
  const entries = obj.entries.map((raw: unknown, i: number): CategoryEntry => {
    const at = `${name}: entries[${i}]`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError(`${at}: expected an object`);
    const e = raw as Record<string, unknown>;
    for (const key of Object.keys(e)) {
      if (!ENTRY_FIELDS.has(key)) throw new InputError(`${at}: ${key}: unknown field (known: ${[...ENTRY_FIELDS].join(', ')})`);
    }
    if (typeof e.pattern !== 'string') throw new InputError(`${at}: pattern: expected a string`);
    const pattern = normalizeHostname(e.pattern);
    if (!PATTERN_RE.test(pattern) || pattern.replace(/[*.]/g, '') === '') {
      throw new InputError(`${at}: pattern: '${e.pattern}' is not a host name or a glob such as *.example.com`);
    }
    if (!isCategory(e.category)) {
      throw new InputError(`${at}: category: expected one of ${DATA_CATEGORIES.join(', ')}, got ${JSON.stringify(e.category)}`);
    }
    if (typeof e.source !== 'string' || e.source.trim() === '') {
      throw new InputError(`${at}: source: expected a URL or document saying what the host does`);
    }
    if (e.note !== undefined && typeof e.note !== 'string') throw new InputError(`${at}: note: expected a string`);
    return { pattern, category: e.category, source: e.source.trim(), ...(e.note !== undefined ? { note: e.note } : {}) };
  });
  return { name, entries };
}

/** Whether a host name (normalized) matches a pattern (normalized). */
export function matchesPattern(pattern: string, hostname: string): boolean {
  if (!pattern.includes('*')) return hostname === pattern || hostname.endsWith(`.${pattern}`);
  // A glob: `*` stands for one or more characters, dots included (`*.qq.com` matches a.b.qq.com).
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/\./g, '\\.')).join('.+')}$`);
  return re.test(hostname);
}

/** The literal characters of a pattern: the more, the more specific. */
function specificity(pattern: string): number {
  return pattern.replace(/\*/g, '').length;
}

/**
 * The table entry a host name belongs to, or null. When several match, the most specific pattern
 * (most literal characters) wins, then the first in the table.
 */
export function classifyHostname(table: CategoryTable, hostname: string): CategoryEntry | null {
  const host = normalizeHostname(hostname);
  if (host === '') return null;
  let best: CategoryEntry | null = null;
  for (const entry of table.entries) {
    if (!matchesPattern(entry.pattern, host)) continue;
    if (!best || specificity(entry.pattern) > specificity(best.pattern)) best = entry;
  }
  return best;
}
