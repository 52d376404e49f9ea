/** An audit summary as Markdown (`summary.md`, for tickets) and as a few lines for the terminal. Pure. */
import { printable } from '../verdict/render-summary';
import type { DatabaseBuild } from './diff';
import { changedLogs, type AuditCounts, type AuditSummary } from './summary';

/** Text from a log or a file name, safe inside a Markdown table cell. */
function cell(text: string): string {
  return printable(text).replace(/[|\\`*_[\]<>]/g, (c) => `\\${c}`);
}

/** Logs listed in `summary.md` per section; a fleet audit has a million (summary.json has them all). */
export const MAX_MARKDOWN_LOGS = 1000;
/** Lines of changes, and of errors, printed on the terminal. */
export const MAX_TERMINAL_LINES = 50;

const country = (c: string | null): string => c ?? 'unknown';

/** The line that stands for what a capped list left out. */
function leftOut(n: number, where: string): string {
  return `… and ${n} more (${where})`;
}
const builds = (dbs: readonly DatabaseBuild[]): string =>
  dbs.length === 0 ? 'none' : dbs.map((d) => `${cell(d.name)} (built ${d.buildEpoch || 'unknown'})`).join(', ');

function countsLine(c: AuditCounts): string {
  const notChecked = c.notChecked > 0 ? ` (${c.notChecked} not checked)` : '';
  return `${c.logs} logs: ${c.compliant} compliant, ${c.nonCompliant} non-compliant, ${c.errors} errors${notChecked}; ${c.bytesSentViolating} bytes sent outside the jurisdiction`;
}

/** The warning of a run that did not get to every log. */
function incompleteLine(s: AuditSummary): string {
  return `INCOMPLETE: ${s.incompleteReason ?? 'stopped early'}; ${s.totals.notChecked} logs were not checked.`;
}

/** `summary.md`: totals, the per-prefix table, what changed since the earlier verdicts, the failures. */
export function renderAuditMarkdown(s: AuditSummary): string {
  const out: string[] = [];
  const t = s.totals;
  out.push(`# Audit of ${cell(s.directory)}`, '');
  out.push(`${s.startedAt} – ${s.finishedAt}, residency ${s.tool.version}; databases: ${builds(s.databases)}.`, '');
  out.push(`**${t.errors > 0 ? 'ERRORS' : t.nonCompliant > 0 ? 'NON-COMPLIANT' : 'COMPLIANT'}**: ${countsLine(t)}.`, '');
  if (!s.complete) out.push(`**${cell(incompleteLine(s))}**`, '');
  out.push('| prefix | logs | compliant | non-compliant | errors | bytes sent outside | new violations | resolved | country changes |');
  out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const p of s.prefixes) {
    out.push(
      `| ${cell(p.prefix)} | ${p.logs} | ${p.compliant} | ${p.nonCompliant} | ${p.errors} | ${p.bytesSentViolating} | ${p.newViolations} | ${p.resolvedViolations} | ${p.countryChanges} |`,
    );
  }
  out.push('');
  if (s.previous !== null) {
    out.push(`## Changes since ${cell(s.previous)}`, '');
    out.push(
      `${t.compared} of ${t.logs} logs had an earlier verdict: ${t.newViolations} new violations, ${t.resolvedViolations} resolved, ${t.countryChanges} destinations changed country.`,
      '',
    );
    const changed = changedLogs(s);
    for (const log of changed.slice(0, MAX_MARKDOWN_LOGS)) {
      out.push(`### ${cell(log.path)}`, '');
      for (const v of log.diff.newViolations) out.push(`- new violation: ${v.ip} (${country(v.country)}): ${cell(v.rule)}, ${v.bytesSent} bytes sent`);
      for (const v of log.diff.resolvedViolations) out.push(`- resolved: ${v.ip} (${country(v.country)})`);
      for (const c of log.diff.countryChanges) {
        out.push(`- country changed: ${c.ip} ${country(c.before)} → ${country(c.after)} (databases then: ${builds(c.databasesBefore)}; now: ${builds(c.databasesAfter)})`);
      }
      out.push('');
    }
    if (changed.length > MAX_MARKDOWN_LOGS) out.push(leftOut(changed.length - MAX_MARKDOWN_LOGS, 'logs with changes: summary.json lists every one'), '');
  }
  const failing = s.logs.filter((l) => l.status !== 'compliant');
  if (failing.length > 0) {
    out.push('## Logs that are not compliant', '');
    out.push('| log | status | violating destinations | bytes sent outside | verdict |');
    out.push('| --- | --- | ---: | ---: | --- |');
    for (const l of failing.slice(0, MAX_MARKDOWN_LOGS)) {
      const status = l.error !== undefined ? `error: ${cell(l.error)}` : l.status;
      out.push(`| ${cell(l.path)} | ${status} | ${l.violatingDestinations} | ${l.bytesSentViolating} | ${l.verdict === null ? '' : cell(l.verdict)} |`);
    }
    if (failing.length > MAX_MARKDOWN_LOGS) out.push('', leftOut(failing.length - MAX_MARKDOWN_LOGS, 'logs: summary.json lists every one'));
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

/** A few lines for the terminal: totals, prefixes, and the changes since the earlier verdicts. */
export function renderAuditText(s: AuditSummary): string {
  const out: string[] = [countsLine(s.totals)];
  if (!s.complete) out.push(printable(incompleteLine(s)));
  const width = Math.max(...s.prefixes.map((p) => printable(p.prefix).length), 6);
  for (const p of s.prefixes) {
    out.push(`  ${printable(p.prefix).padEnd(width)}  ${p.logs} logs, ${p.compliant} compliant, ${p.nonCompliant} non-compliant, ${p.errors} errors, ${p.bytesSentViolating} bytes outside`);
  }
  if (s.previous !== null) {
    const t = s.totals;
    out.push(`Since ${printable(s.previous)}: ${t.newViolations} new violations, ${t.resolvedViolations} resolved, ${t.countryChanges} country changes (${t.compared} logs compared)`);
    const lines: string[] = [];
    for (const log of changedLogs(s)) {
      for (const v of log.diff.newViolations) lines.push(`  ${printable(log.path)}: new violation ${v.ip} (${country(v.country)})`);
      for (const v of log.diff.resolvedViolations) lines.push(`  ${printable(log.path)}: resolved ${v.ip} (${country(v.country)})`);
      for (const c of log.diff.countryChanges) lines.push(`  ${printable(log.path)}: ${c.ip} moved ${country(c.before)} → ${country(c.after)}`);
      if (lines.length > MAX_TERMINAL_LINES) break;
    }
    out.push(...capped(lines, t.newViolations + t.resolvedViolations + t.countryChanges, 'changes: summary.md and summary.json list them'));
  }
  const errors: string[] = [];
  for (const l of s.logs) {
    if (l.error !== undefined) errors.push(`  ${printable(l.path)}: error: ${printable(l.error)}`);
    if (errors.length > MAX_TERMINAL_LINES) break;
  }
  out.push(...capped(errors, s.totals.errors, 'errors: summary.json lists them'));
  return `${out.join('\n')}\n`;
}

/** The first {@link MAX_TERMINAL_LINES} of `lines`, then how many of `total` were left out. */
function capped(lines: string[], total: number, where: string): string[] {
  if (lines.length <= MAX_TERMINAL_LINES) return lines;
  return [...lines.slice(0, MAX_TERMINAL_LINES), `  ${leftOut(total - MAX_TERMINAL_LINES, where)}`];
}
