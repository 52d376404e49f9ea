/** A procurement statement as Markdown, for a procurement file or a ticket. Pure. */
import { printable } from '../verdict/render-summary';
import type { ProcurementStatement, StatementDestination } from './statement';

/** Text from a log made safe for a Markdown table cell. */
function cell(text: string): string {
  return printable(text).replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
}

function operator(d: StatementDestination): string {
  if (d.asn === null) return 'unknown';
  return `AS${d.asn} ${d.asOrganization ?? ''} (registered in ${d.operatorCountry ?? 'unknown'})`.replace(/ +/g, ' ');
}

/** Renders the statement as Markdown. */
export function renderStatementMarkdown(s: ProcurementStatement): string {
  const out: string[] = [];
  const p = s.evidence.policy;
  out.push(`# Procurement statement: ${cell(s.product)}`, '');
  out.push(`**Result: ${s.result}** under policy \`${cell(p.name ?? 'unnamed')}\` (sha256 \`${p.sha256}\`).`, '');
  if (s.reasons.length > 0) {
    out.push('Why it fails:', '');
    for (const r of s.reasons) out.push(`- ${cell(r)}`);
    out.push('');
  }
  if (s.review.length > 0) {
    out.push('To review (compliant traffic the table does not classify, or that the policy only warns about):', '');
    for (const r of s.review) out.push(`- ${cell(r)}`);
    out.push('');
  }
  out.push('## Data categories', '');
  out.push('| category | result | destinations | failed | connections | bytes sent | hosts |');
  out.push('| --- | --- | ---: | ---: | ---: | ---: | --- |');
  for (const c of s.categories) {
    out.push(
      `| ${c.category} | ${c.result} | ${c.destinations} | ${c.failedDestinations} | ${c.connections} | ${c.bytesSent} | ${cell(c.hosts.join(', '))} |`,
    );
  }
  out.push('');
  out.push('## Destinations that failed', '');
  if (s.failedDestinations.length === 0) {
    out.push('None.', '');
  } else {
    out.push('| host | address | country | operator | categories | bytes sent | rule |');
    out.push('| --- | --- | --- | --- | --- | ---: | --- |');
    for (const d of s.failedDestinations) {
      out.push(
        `| ${cell(d.hostnames.join(', ') || '(no host name)')} | ${d.ip} | ${d.country ?? 'unknown'} | ${cell(operator(d))} | ${d.categories.join(', ')} | ${d.bytesSent} | ${cell(d.rule ?? '')} |`,
      );
    }
    out.push('');
  }
  const e = s.evidence;
  out.push('## Evidence', '');
  out.push(`- Tool: residency ${e.tool.version}, checked at ${e.checkedAt}`);
  out.push(`- Policy: \`${cell(p.name ?? 'unnamed')}\`, sha256 \`${p.sha256}\`: allowed ${p.allowedCountries?.join(', ') ?? '(any)'}; denied ${p.deniedCountries.join(', ') || '(none)'}; unknown ${p.unknown}, disputed ${p.disputed}, operator ${p.operator}`);
  out.push(`- Category table: ${cell(e.categoryTable.name)} (${e.categoryTable.entries} entries), sha256 \`${e.categoryTable.sha256}\``);
  out.push('- Inputs:');
  for (const i of e.inputs) {
    const state = i.error ? `error: ${i.error}` : i.partial ? 'partial' : i.compliant ? 'compliant' : 'violations';
    out.push(`  - ${cell(i.name)}: sha256 \`${i.sha256 ?? 'n/a'}\`, ${i.bytes} bytes, ${i.format ?? 'unknown format'}, ${cell(state)}`);
  }
  if (e.nameSources.length > 0) {
    out.push('- Host names from DNS logs:');
    for (const n of e.nameSources) out.push(`  - ${cell(n.name)}: sha256 \`${n.sha256}\`, ${n.bytes} bytes`);
  }
  out.push('- Databases:');
  for (const d of e.databases) {
    out.push(`  - ${cell(d.name)} (${d.role}, ${cell(d.databaseType)}), built ${d.buildEpoch || 'unknown'}, sha256 \`${d.sha256}\``);
  }
  out.push('');
  return out.join('\n');
}
