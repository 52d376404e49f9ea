/**
 * An audit summary as one self-contained HTML page (`summary.html`): a banner, the per-prefix
 * table, what changed since the earlier verdicts, and the logs that are not compliant. Lists are
 * capped (a fleet audit has a million logs); summary.json has them all. No network requests.
 * Pure: summary in, string out.
 */
import { escapeHtml } from '../report/escape';
import { REPORT_CSS } from '../report/report-css';
import { formatBytes, formatCount } from '../verdict/render-summary';
import type { DatabaseBuild } from './diff';
import { changedLogs, type AuditCounts, type AuditSummary } from './summary';

/** Options of {@link renderAuditHtml}. */
export interface AuditHtmlOptions {
  /** Changed logs listed in full; the rest are counted. @default 500 */
  maxChangedLogs?: number;
  /** Logs that are not compliant listed in full; the rest are counted. @default 1000 */
  maxFailingLogs?: number;
}

const e = escapeHtml;
const num = formatCount;
const bytes = (n: number): string => `<span title="${num(n)} bytes">${e(formatBytes(n))}</span>`;
const country = (c: string | null): string => e(c ?? 'unknown');
const builds = (dbs: readonly DatabaseBuild[]): string =>
  dbs.length === 0 ? 'none' : dbs.map((d) => `${e(d.name)} (built ${e(d.buildEpoch || 'unknown')})`).join(', ');

function table(head: readonly string[], rows: readonly string[]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function more(shown: number, total: number, what: string): string {
  return total > shown ? `<p class="muted">${num(total - shown)} more ${what} are in summary.json.</p>` : '';
}

function resultOf(t: AuditCounts): { word: string; cls: string } {
  if (t.errors > 0) return { word: 'ERRORS', cls: 'error' };
  return t.nonCompliant > 0 ? { word: 'NOT COMPLIANT', cls: 'fail' } : { word: 'COMPLIANT', cls: 'pass' };
}

function banner(s: AuditSummary): string {
  const t = s.totals;
  const { word, cls } = resultOf(t);
  const incomplete = s.complete
    ? ''
    : `<p class="partial">This run did not get to every log: ${e(s.incompleteReason ?? 'stopped early')}. ${num(t.notChecked)} logs were not checked.</p>`;
  return (
    `<header class="banner ${cls}" role="status"><p class="result">${e(word)}</p>` +
    `<p class="detail">${num(t.logs)} logs: ${num(t.compliant)} compliant, ${num(t.nonCompliant)} not compliant, ${num(t.errors)} could not be checked; ` +
    `${bytes(t.bytesSentViolating)} of ${bytes(t.bytesSent)} sent went outside the policy.</p>${incomplete}</header>`
  );
}

function prefixTable(s: AuditSummary): string {
  const rows = s.prefixes.map(
    (p) =>
      `<tr><td class="name">${e(p.prefix)}</td><td class="n">${num(p.logs)}</td><td class="n">${num(p.compliant)}</td>` +
      `<td class="n">${num(p.nonCompliant)}</td><td class="n">${num(p.errors)}</td><td class="n">${num(p.notChecked)}</td>` +
      `<td class="n">${bytes(p.bytesSentViolating)}</td><td class="n">${num(p.newViolations)}</td><td class="n">${num(p.resolvedViolations)}</td>` +
      `<td class="n">${num(p.countryChanges)}</td></tr>`,
  );
  return (
    `<section id="prefixes"><h2>Per prefix</h2>` +
    table(['prefix', 'logs', 'compliant', 'not compliant', 'errors', 'not checked', 'sent outside', 'new violations', 'resolved', 'country changes'], rows) +
    `</section>`
  );
}

function changes(s: AuditSummary, max: number): string {
  if (s.previous === null) return '';
  const t = s.totals;
  const changed = changedLogs(s);
  const items = changed.slice(0, max).map((log) => {
    const lines = [
      ...log.diff.newViolations.map((v) => `<li>new violation: ${e(v.ip)} (${country(v.country)}): ${e(v.rule)}, ${bytes(v.bytesSent)} sent</li>`),
      ...log.diff.resolvedViolations.map((v) => `<li>resolved: ${e(v.ip)} (${country(v.country)})</li>`),
      ...log.diff.countryChanges.map(
        (c) =>
          `<li>country changed: ${e(c.ip)} ${country(c.before)} → ${country(c.after)} ` +
          `(databases then: ${builds(c.databasesBefore)}; now: ${builds(c.databasesAfter)})</li>`,
      ),
    ];
    return `<h3 class="name">${e(log.path)}</h3><ul>${lines.join('')}</ul>`;
  });
  return (
    `<section id="changes"><h2>Changes since ${e(s.previous)}</h2>` +
    `<p>${num(t.compared)} of ${num(t.logs)} logs had an earlier verdict: ${num(t.newViolations)} new violations, ` +
    `${num(t.resolvedViolations)} resolved, ${num(t.countryChanges)} destinations changed country.</p>` +
    items.join('') +
    more(items.length, changed.length, 'changed logs') +
    `</section>`
  );
}

function failing(s: AuditSummary, max: number): string {
  const logs = s.logs.filter((l) => l.status !== 'compliant');
  if (logs.length === 0) return '';
  const rows = logs.slice(0, max).map(
    (l) =>
      `<tr><td class="name">${e(l.path)}</td><td><span class="badge ${l.status === 'error' ? 'unknown' : 'violation'}">${e(l.status)}</span>` +
      `${l.error !== undefined ? ` ${e(l.error)}` : ''}</td><td class="n">${num(l.violatingDestinations)}</td>` +
      `<td class="n">${bytes(l.bytesSentViolating)}</td><td class="name">${l.verdict === null ? '' : e(l.verdict)}</td></tr>`,
  );
  return (
    `<section id="failing"><h2>Logs that are not compliant</h2>` +
    table(['log', 'status', 'violating destinations', 'sent outside', 'verdict'], rows) +
    more(rows.length, logs.length, 'logs that are not compliant') +
    `</section>`
  );
}

/**
 * Renders `summary.html`.
 *
 * @example writeFileSync(join(runDir, 'summary.html'), renderAuditHtml(summary));
 */
export function renderAuditHtml(s: AuditSummary, options: AuditHtmlOptions = {}): string {
  const title = `${resultOf(s.totals).word}: audit of ${s.directory} — residency`;
  const body =
    `<h1>Audit <span class="name">${e(s.directory)}</span></h1>` +
    banner(s) +
    prefixTable(s) +
    changes(s, options.maxChangedLogs ?? 500) +
    failing(s, options.maxFailingLogs ?? 1000) +
    `<footer><p>${e(s.startedAt)} – ${e(s.finishedAt)}, ${e(s.tool.name)} ${e(s.tool.version)}; databases: ${builds(s.databases)}; ` +
    `policy sha256 ${e(s.policySha256 ?? 'none')}; ${num(s.skipped)} files skipped as not logs. summary.json is the record; this page is a view of it.</p></footer>`;
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${e(title)}</title><style>${REPORT_CSS}</style></head><body><main>${body}</main></body></html>\n`
  );
}
