/**
 * Escaping for every output format. Everything a log names (host names, app names, URLs, file
 * names, rule text) is attacker-chosen: it is escaped where it lands, never trusted.
 */

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch] ?? ch);
}

/**
 * Escapes text for a Markdown table cell or paragraph: emphasis, code, link and table punctuation
 * is backslash-escaped, `&`, `<` and `>` become entities (no raw HTML, no autolinks in angle
 * brackets), and line breaks become spaces (a cell is one line).
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]|~#!]/g, (ch) => `\\${ch}`);
}

/**
 * A Markdown code span of a name from the log (host name, address, app): nothing inside it is
 * markup or a link. The fence is longer than any run of backticks inside (CommonMark 6.1); `|` is
 * escaped, as GFM tables require even in code spans.
 */
export function markdownCode(text: string): string {
  const flat = text.replace(/[\r\n\t]+/g, ' ').replace(/\|/g, '\\|');
  if (flat === '') return '';
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') || flat.startsWith(' ') ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}

/** Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection"). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV field: a cell that a spreadsheet would run as a formula gets a leading `'`, then RFC 4180
 * quoting (fields with a comma, quote or line break are quoted, quotes doubled).
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
