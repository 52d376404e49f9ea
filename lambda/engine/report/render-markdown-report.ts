/**
 * Verdict → a short Markdown summary for tickets and pull requests: the result, the policy in
 * words, per-country totals, the violations, the warnings, and the evidence. Everything from the log is escaped
 * so it cannot add links, images, HTML or table columns. Pure.
 */
import { formatBytes } from '../verdict/render-summary';
import type { Verdict } from '../verdict/verdict';
import { countryLabel } from './country-names';
import { escapeMarkdown, markdownCode } from './escape';
import { describePolicyWords, resultWord } from './report-facts';

/** Options of {@link renderMarkdownReport}. */
export interface MarkdownReportOptions {
  /** Violating destinations listed. @default 20 */
  maxViolations?: number;
  /** Country rows listed. @default 30 */
  maxCountries?: number;
}

const m = escapeMarkdown;
const code = markdownCode;

/** A hash or other hex value as code, escaped like text if it is not plain hex. */
function hex(value: string | null): string {
  if (value === null) return 'not fully read';
  return /^[0-9a-f]+$/i.test(value) ? `\`${value}\`` : m(value);
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

/**
 * The destinations the policy only warns about (an operator registered in a denied country, a
 * disputed or unknown location), as the HTML report lists them: not violations, but what a
 * reader of the ticket must see.
 */
function warningsSection(v: Verdict, max: number): string[] {
  const warned = new Set(v.warnings.slice(0, max).map((w) => w.ip));
  const byIp = new Map<string, Verdict['destinations'][number]>();
  for (const d of v.destinations) if (warned.has(d.ip)) byIp.set(d.ip, d);
  const out = ['### Warnings', ''];
  out.push(row(['Address', 'Country', 'Host names', 'Operator', 'Sent', 'Concern']), row(['---', '---', '---', '---', '---:', '---']));
  for (const w of v.warnings.slice(0, max)) {
    const d = byIp.get(w.ip);
    const operator = d === undefined ? '' : [d.asn === null ? '' : `AS${d.asn}`, d.asOrganization ?? ''].filter(Boolean).join(' ');
    out.push(
      row([
        code(w.ip),
        d === undefined ? '—' : m(countryLabel(d.country)),
        d === undefined ? '—' : d.hostnames.slice(0, 3).map(code).join(', ') || '—',
        m(operator) || '—',
        d === undefined ? '—' : formatBytes(d.bytesSent),
        m(w.rule),
      ]),
    );
  }
  if (v.warnings.length > max) out.push('', `and ${v.warnings.length - max} more — see the verdict JSON.`);
  out.push('');
  return out;
}

/**
 * Renders the Markdown summary of a verdict.
 *
 * @example
 * writeFileSync('conn.log.report.md', renderMarkdownReport(verdict));
 */
export function renderMarkdownReport(v: Verdict, options: MarkdownReportOptions = {}): string {
  const maxViolations = options.maxViolations ?? 20;
  const maxCountries = options.maxCountries ?? 30;
  const t = v.totals;
  const out: string[] = [];
  out.push(`## residency: ${resultWord(v)} — ${code(v.input.name)}`, '');
  out.push(...describePolicyWords(v.policy).map((line) => `**${m(line)}**  `), '');
  if (v.error) {
    out.push(`Could not check this log: ${m(v.error)}`, '');
  } else {
    out.push(
      v.compliant
        ? `${t.destinations} destinations, ${formatBytes(t.bytesSent)} sent, none outside the policy${v.warnings.length > 0 ? `; ${v.warnings.length} with a warning (below)` : ''}.`
        : `${t.violatingDestinations} of ${t.destinations} destinations are violations; ${formatBytes(t.bytesSentViolating)} of ${formatBytes(t.bytesSent)} sent went where the policy forbids.`,
      '',
    );
    if (v.partial) out.push('> The check stopped before the end of the log (time budget): these results cover only part of it.', '');
    if (v.countries.length > 0) {
      out.push(row(['Country', 'Status', 'Destinations', 'Connections', 'Sent']), row(['---', '---', '---:', '---:', '---:']));
      for (const c of v.countries.slice(0, maxCountries)) {
        out.push(row([m(countryLabel(c.country)), c.status, String(c.destinations), String(c.connections), formatBytes(c.bytesSent)]));
      }
      if (v.countries.length > maxCountries) out.push('', `and ${v.countries.length - maxCountries} more rows — see the verdict JSON.`);
      out.push('');
    }
    if (v.violations.length > 0) {
      out.push('### Violations', '');
      out.push(row(['Address', 'Country', 'Host names', 'Operator', 'Sent', 'Rule']), row(['---', '---', '---', '---', '---:', '---']));
      for (const x of v.violations.slice(0, maxViolations)) {
        const operator = [x.asn === null ? '' : `AS${x.asn}`, x.asOrganization ?? ''].filter(Boolean).join(' ');
        out.push(
          row([code(x.ip), m(countryLabel(x.country)), x.hostnames.slice(0, 3).map(code).join(', ') || '—', m(operator) || '—', formatBytes(x.bytesSent), m(x.rule)]),
        );
      }
      if (v.violations.length > maxViolations) out.push('', `and ${v.violations.length - maxViolations} more — see the verdict JSON.`);
      out.push('');
    }
    if (v.warnings.length > 0) out.push(...warningsSection(v, maxViolations));
  }
  out.push('<details><summary>Evidence</summary>', '');
  out.push(`- Input: ${code(v.input.name)} (${m(v.input.format ?? 'unknown format')}, ${v.input.bytes} bytes), SHA-256 ${hex(v.input.sha256)}`);
  out.push(`- Policy SHA-256 ${hex(v.policy.sha256)}`);
  for (const d of v.databases) out.push(`- Database ${code(d.name)} (${m(d.role)}${d.buildEpoch ? `, built ${m(d.buildEpoch)}` : ''}), SHA-256 ${hex(d.sha256)}`);
  out.push(`- Records ${t.records}, connections ${t.connections}, skipped ${t.skipped}${t.unattributed ? `, unattributed ${t.unattributed}` : ''}`);
  if (t.connectionsWithUnknownBytes) out.push(`- Byte counts unknown on ${t.connectionsWithUnknownBytes} connections (sent, received or both: what is not known is in no byte total)`);
  if (t.malformedValues) {
    const fields = Object.entries(t.malformedValuesByField ?? {}).map(([f, n]) => `${n}× ${code(f)}`).join(', ');
    const first = v.malformedValues?.[0];
    out.push(`- Malformed values, read as unknown: ${fields}${first ? ` (first at line ${first.line}: ${code(first.field)} ${code(JSON.stringify(first.value))})` : ''}`);
  }
  out.push(`- ${m(v.tool.name)} ${m(v.tool.version)}, checked at ${m(v.checkedAt)}`, '', '</details>', '');
  return out.join('\n');
}
