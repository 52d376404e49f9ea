/**
 * Verdict → one self-contained HTML report for people: a pass/fail banner with the policy in
 * words, a world map of where the data went, per-country, per-destination and per-app tables, and
 * the evidence behind it. No network requests (inline CSS and SVG only), printable to PDF. Pure:
 * string in, string out.
 */
import type { DestinationStatus } from '../types';
import { eachDestination, firstDestinationsOfList } from '../verdict/build-verdict';
import { formatBytes, formatCount } from '../verdict/render-summary';
import type { Verdict, VerdictDestination } from '../verdict/verdict';
import { appBreakdown, type AppSummary } from './app-breakdown';
import { countryLabel, countryName } from './country-names';
import { escapeHtml } from './escape';
import { describePolicyWords, monitoredCountry, resultWord } from './report-facts';
import { renderWorldMap } from './world-map';
import { REPORT_CSS } from './report-css';

/** Options of {@link renderHtmlReport}. */
export interface HtmlReportOptions {
  /** Destinations listed in full; the rest are counted and left to the verdict JSON. @default 500 */
  maxDestinations?: number;
  /** Apps listed in the per-app table. @default 200 */
  maxApps?: number;
  /** Skipped and unattributed records listed. @default 20 */
  maxErrors?: number;
}

/** Destinations listed in full by default. */
export const DEFAULT_MAX_DESTINATIONS = 500;

const STATUS_RANK: Record<DestinationStatus, number> = { violation: 0, unknown: 1, blocked: 2, allowed: 3, 'non-public': 4 };

const e = escapeHtml;

const num = formatCount;

function bytes(n: number): string {
  return `<span title="${num(n)} bytes">${e(formatBytes(n))}</span>`;
}

/** A country cell: non-public addresses have no country to name. */
function where(country: string | null, status: DestinationStatus): string {
  return country === null && status === 'non-public' ? '<span class="muted">not public</span>' : e(countryLabel(country));
}

function statusBadge(status: string): string {
  return `<span class="badge ${e(status)}">${e(status)}</span>`;
}

function time(iso: string | null): string {
  if (iso === null) return '<span class="muted">—</span>';
  const [day, clock] = iso.replace(/\.\d+Z$|Z$/, '').split('T');
  return clock === undefined ? `<time>${e(iso)}</time>` : `<time>${e(day!)}</time> <time>${e(clock)} UTC</time>`;
}

function list(items: readonly string[], max = 5): string {
  if (items.length === 0) return '<span class="muted">—</span>';
  const shown = items.slice(0, max).map((s) => `<span class="name">${e(s)}</span>`);
  if (items.length > max) shown.push(`<span class="muted">+${items.length - max} more</span>`);
  return shown.join(' ');
}

function operatorCell(d: Pick<VerdictDestination, 'asn' | 'asOrganization' | 'operatorCountry'>): string {
  if (d.asn === null && d.asOrganization === null) return '<span class="muted">—</span>';
  const parts: string[] = [];
  if (d.asn !== null) parts.push(`AS${d.asn}`);
  if (d.asOrganization) parts.push(e(d.asOrganization));
  const where = d.operatorCountry ? ` <span class="muted">(registered in ${e(countryName(d.operatorCountry))})</span>` : '';
  return parts.join(' ') + where;
}

function section(id: string, title: string, body: string): string {
  return `<section id="${id}"><h2>${e(title)}</h2>${body}</section>`;
}

function table(head: readonly string[], rows: readonly string[], classes = ''): string {
  return `<table class="${classes}"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function defs(pairs: readonly [string, string][]): string {
  return `<dl class="facts">${pairs.map(([k, v]) => `<dt>${e(k)}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

function page(title: string, body: string): string {
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">` +
    // No request may leave the page: the policy says so to the browser too.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${e(title)}</title><style>${REPORT_CSS}</style></head><body><main>${body}</main></body></html>\n`
  );
}

function banner(v: Verdict): string {
  const word = resultWord(v);
  const cls = v.error ? 'error' : v.compliant ? 'pass' : 'fail';
  const t = v.totals;
  let detail: string;
  if (v.error) detail = `Could not check this log: ${e(v.error)}`;
  else if (v.compliant) detail = `${num(t.destinations)} destinations, ${e(formatBytes(t.bytesSent))} sent, none outside the policy.`;
  else
    detail =
      `${num(t.violatingDestinations)} of ${num(t.destinations)} destinations are violations; ` +
      `${e(formatBytes(t.bytesSentViolating))} of ${e(formatBytes(t.bytesSent))} sent went where the policy forbids.`;
  const partial = v.partial ? `<p class="partial">The check stopped before the end of the log (time budget): these results cover only part of it.</p>` : '';
  return (
    `<header class="banner ${cls}" role="status"><p class="result">${e(word)}</p>` +
    `<p class="policy">${describePolicyWords(v.policy).map((line) => `<span>${e(line)}</span>`).join('')}</p>` +
    `<p class="detail">${detail}</p>${partial}</header>`
  );
}

function mapSection(v: Verdict): string {
  const origin = monitoredCountry(v.policy);
  const map = renderWorldMap({ destinations: eachDestination(v), origin });
  const notes: string[] = [];
  notes.push(
    map.originPlaced && origin
      ? `<span class="key origin-key"></span> Monitored side, assumed to be in ${e(countryName(origin))} (the log does not say where it is: this is the policy's first allowed country).`
      : `The monitored side's location is unknown (the policy names no allowed country), so no origin is drawn: each destination country is ringed instead.`,
  );
  notes.push(
    `<span class="key violation"></span> violation <span class="key warning"></span> unknown, disputed or warned ` +
      `<span class="key allowed"></span> allowed <span class="key blocked"></span> blocked by the network. ` +
      `Line width grows with the logarithm of the bytes sent; each country is marked at its centre, not at the servers' locations.`,
  );
  if (map.unlocated > 0) notes.push(`${num(map.unlocated)} public destination${map.unlocated === 1 ? ' has' : 's have'} no known location and ${map.unlocated === 1 ? 'is' : 'are'} not drawn (see the destinations table).`);
  if (map.unplaced.length > 0) notes.push(`Not drawn (no map position): ${map.unplaced.map((c) => e(countryLabel(c))).join(', ')}.`);
  return section(
    'map',
    'Where the data went',
    `<figure>${map.svg}<figcaption>${notes.map((n) => `<p>${n}</p>`).join('')}</figcaption></figure>`,
  );
}

function countriesSection(v: Verdict): string {
  const rows = [...v.countries]
    .sort((a, b) => STATUS_RANK[a.status] - STATUS_RANK[b.status] || b.bytesSent - a.bytesSent)
    .map(
      (c) =>
        `<tr class="${e(c.status)}"><td>${where(c.country, c.status)}</td><td>${statusBadge(c.status)}</td><td class="n">${num(c.destinations)}</td>` +
        `<td class="n">${num(c.connections)}</td><td class="n">${bytes(c.bytesSent)}</td><td class="n">${bytes(c.bytesReceived)}</td></tr>`,
    );
  if (rows.length === 0) return section('countries', 'By country', '<p class="muted">No destinations.</p>');
  return section('countries', 'By country', table(['Country', 'Status', 'Destinations', 'Connections', 'Sent', 'Received'], rows));
}

function destinationRow(d: VerdictDestination): string {
  const why = [d.rule, d.warning].filter((x): x is string => x !== null).map((x) => e(x)).join('<br>');
  const refused = d.blockedAttempts > 0 ? ` <span class="muted">(+${num(d.blockedAttempts)} refused)</span>` : '';
  return (
    `<tr class="${e(d.status)}"><td>${statusBadge(d.status)}</td><td class="ip">${e(d.ip)}</td>` +
    `<td>${where(d.country, d.status)}${d.disputed ? ' <span class="badge unknown">disputed</span>' : ''}</td>` +
    `<td class="names">${list(d.hostnames)}</td><td>${operatorCell(d)}</td>` +
    `<td class="n">${bytes(d.bytesSent)}</td><td class="n">${bytes(d.bytesReceived)}</td><td class="n">${num(d.connections)}${refused}</td>` +
    `<td>${time(d.firstSeen)}</td><td>${time(d.lastSeen)}</td><td class="rule">${why || '<span class="muted">—</span>'}</td></tr>`
  );
}

function destinationsSection(v: Verdict, max: number): string {
  // A built verdict lists violations first, then by bytes: its first few are made into objects.
  // A hand-built one is sorted again, so it reads the same.
  const first = firstDestinationsOfList(v, max);
  const sorted = first
    ? null
    : [...v.destinations].sort((a, b) => STATUS_RANK[a.status] - STATUS_RANK[b.status] || b.bytesSent - a.bytesSent);
  const total = first ? first.total : sorted!.length;
  if (total === 0) return section('destinations', 'Destinations', '<p class="muted">No destinations.</p>');
  const shown = first ? first.shown : sorted!.slice(0, max);
  const rows = shown.map(destinationRow);
  const rest = total - shown.length;
  const more =
    rest > 0
      ? `<p class="more">and ${num(rest)} more — see the verdict JSON (<code>destinations</code>) for every destination. ` +
        `Listed: the first ${num(shown.length)}, violations first.</p>`
      : '';
  return section(
    'destinations',
    'Destinations',
    `<div class="scroll">${table(['Status', 'Address', 'Country', 'Host names', 'Operator (AS)', 'Sent', 'Received', 'Connections', 'First seen', 'Last seen', 'Rule'], rows, 'wide')}</div>` + more,
  );
}

function appsSection(v: Verdict, max: number): string {
  const apps = appBreakdown(eachDestination(v));
  if (apps.length === 0) return '';
  // A share the verdict does not give (more apps at a destination than it lists) is said, not guessed.
  const unsplit = (a: AppSummary): string =>
    a.unsplitDestinations > 0 ? ` <span class="muted">+ its share of ${num(a.unsplitDestinations)} shared destination${a.unsplitDestinations === 1 ? '' : 's'}</span>` : '';
  const rows = apps.slice(0, max).map(
    (a) =>
      `<tr class="${e(a.status)}"><td class="name">${e(a.app)}</td><td>${statusBadge(a.status)}</td>` +
      `<td>${a.countries.map((c) => `<span class="country ${e(c.status)}">${e(countryLabel(c.country))}</span>`).join(', ')}</td>` +
      `<td class="n">${num(a.destinations)}</td><td class="n">${num(a.connections)}${unsplit(a)}</td>` +
      `<td class="n">${bytes(a.bytesSent)}${unsplit(a)}</td><td class="n">${bytes(a.bytesReceived)}${unsplit(a)}</td></tr>`,
  );
  const more = apps.length > max ? `<p class="more">and ${num(apps.length - max)} more apps — see the verdict JSON.</p>` : '';
  return section(
    'apps',
    'By app or interface',
    `<p class="muted">The app (PCAPdroid) or network interface (VPC) the log names for each destination, the countries it reached, ` +
      `and its own connections and bytes (a destination several apps reached counts for each, with each app's own share).</p>` +
      table(['App or interface', 'Worst status', 'Countries contacted', 'Destinations', 'Connections', 'Sent', 'Received'], rows) +
      more,
  );
}

function warningsSection(v: Verdict): string {
  if (v.warnings.length === 0) return '';
  const rows = v.warnings.slice(0, 200).map((w) => `<li><span class="ip">${e(w.ip)}</span>: ${e(w.rule)}</li>`);
  const more = v.warnings.length > 200 ? `<li class="muted">and ${num(v.warnings.length - 200)} more — see the verdict JSON.</li>` : '';
  return section('warnings', 'Warnings', `<ul class="warnings">${rows.join('')}${more}</ul>`);
}

function evidenceSection(v: Verdict, maxErrors: number): string {
  const i = v.input;
  const t = v.totals;
  const input = defs([
    ['Input', `<span class="name">${e(i.name)}</span>`],
    ['SHA-256', i.sha256 ? `<code>${e(i.sha256)}</code>` : '<span class="muted">not fully read</span>'],
    ['Size', `${bytes(i.bytes)}${i.compression === 'gzip' ? ` gzip, ${bytes(i.decodedBytes)} decoded` : ''}`],
    ['Format', i.format ? `${e(i.format)} <span class="muted">(${i.formatSource === 'option' ? 'chosen with --format' : 'detected'})</span>` : '<span class="muted">unknown</span>'],
    ...(i.source
      ? ([
          ['Source', Object.entries(i.source)
            .map(([k, val]) => `${e(k)}: <span class="name">${val === null ? '—' : e(val)}</span>`)
            .join('<br>')],
        ] as [string, string][])
      : []),
    ['Checked at', time(v.checkedAt)],
    ['Tool', `${e(v.tool.name)} ${e(v.tool.version)}`],
  ]);
  const dbRows = v.databases.map(
    (d) =>
      `<tr><td class="name">${e(d.name)}</td><td>${e(d.role)}</td><td>${e(d.databaseType) || '<span class="muted">—</span>'}</td>` +
      `<td>${d.buildEpoch ? time(d.buildEpoch) : '<span class="muted">—</span>'}</td><td class="n">${bytes(d.bytes)}</td><td><code class="hash">${e(d.sha256)}</code></td></tr>`,
  );
  const p = v.policy;
  const policy = defs([
    ['In words', describePolicyWords(p).map((s) => e(s)).join('<br>')],
    ...(p.name ? ([['Name', e(p.name)]] as [string, string][]) : []),
    ['Allowed countries', p.allowedCountries ? (p.allowedCountries.length ? e(p.allowedCountries.join(', ')) : '<span class="muted">none: no country is allowed</span>') + (p.allowedFrom.length ? ` <span class="muted">(from ${e(p.allowedFrom.join(', '))})</span>` : '') : '<span class="muted">any not denied</span>'],
    ['Denied countries', p.deniedCountries.length ? e(p.deniedCountries.join(', ')) : '<span class="muted">none</span>'],
    ['Always allowed networks', p.allowCidrs.length ? e(p.allowCidrs.join(', ')) : '<span class="muted">none</span>'],
    ['Monitored side', e(p.localNetworks.join(', '))],
    ['Unknown location', e(p.unknown)],
    ['Disputed location', e(p.disputed)],
    ['Operator in a denied country', e(p.operator)],
    ['Policy SHA-256', `<code>${e(p.sha256)}</code>`],
  ]);
  const counts = defs([
    ['Records read', num(t.records)],
    ['Connections', num(t.connections)],
    ['Skipped', num(t.skipped)],
    ['No data (by design)', num(t.noData)],
    ...((t.unattributed ?? 0) > 0 ? ([['Unattributed', num(t.unattributed)]] as [string, string][]) : []),
    ['Bytes sent', bytes(t.bytesSent)],
    ['Bytes received', bytes(t.bytesReceived)],
    ...((t.connectionsWithUnknownBytes ?? 0) > 0 ? ([['Connections with unknown byte counts', num(t.connectionsWithUnknownBytes!)]] as [string, string][]) : []),
    ...((t.malformedValues ?? 0) > 0 ? ([['Malformed values', num(t.malformedValues!)]] as [string, string][]) : []),
  ]);
  const reasons = Object.entries(t.skippedByReason ?? {}).sort((a, b) => b[1] - a[1]);
  const skipped =
    reasons.length > 0
      ? `<h3>Skipped records</h3>${table(['Reason', 'Records'], reasons.map(([r, n]) => `<tr><td>${e(r)}</td><td class="n">${num(n)}</td></tr>`))}` +
        (v.errors.length > 0
          ? `<p>First skipped records:</p><ul class="lines">${v.errors.slice(0, maxErrors).map((x) => `<li>line ${num(x.line)}: ${e(x.reason)}</li>`).join('')}</ul>`
          : '')
      : '';
  const unattributed =
    (v.unattributed ?? []).length > 0
      ? `<h3>Unattributed records</h3><p class="muted">Connections the log names no server address for: they reached some destination, but which one cannot be told.</p>` +
        `<ul class="lines">${v.unattributed.slice(0, maxErrors).map((x) => `<li>line ${num(x.line)}: ${e(x.reason)}</li>`).join('')}</ul>`
      : '';
  const malformedFields = Object.entries(t.malformedValuesByField ?? {}).sort((a, b) => b[1] - a[1]);
  const malformed =
    malformedFields.length > 0
      ? `<h3>Malformed values</h3><p class="muted">Values the log holds that are not what their field must be (a byte count that is not a number): each was read as unknown, never as zero, and its record still counts.</p>` +
        table(['Field', 'Values'], malformedFields.map(([f, n]) => `<tr><td><code>${e(f)}</code></td><td class="n">${num(n)}</td></tr>`)) +
        `<ul class="lines">${(v.malformedValues ?? []).slice(0, maxErrors).map((x) => `<li>line ${num(x.line)}: <code>${e(x.field)}</code> ${e(JSON.stringify(x.value))}</li>`).join('')}</ul>`
      : '';
  return section(
    'evidence',
    'Evidence',
    `<div class="cols"><div><h3>Input</h3>${input}</div><div><h3>Counts</h3>${counts}</div></div>` +
      `<h3>Location databases</h3>${table(['Database', 'Role', 'Type', 'Built', 'Size', 'SHA-256'], dbRows)}` +
      `<h3>Policy</h3>${policy}${skipped}${unattributed}${malformed}`,
  );
}

/**
 * Renders the HTML report of a verdict: one self-contained file.
 *
 * @example
 * writeFileSync('conn.log.report.html', renderHtmlReport(verdict));
 */
export function renderHtmlReport(v: Verdict, options: HtmlReportOptions = {}): string {
  const title = `${resultWord(v)}: ${v.input.name} — residency report`;
  const heading = `<h1>Data residency report <span class="name">${e(v.input.name)}</span></h1>`;
  if (v.error) {
    return page(title, heading + banner(v) + section('what-now', 'What this means', `<p>The log was not checked, so nothing can be said about where its data went. Fix the input (or the options) and check again.</p>`) + evidenceSection(v, options.maxErrors ?? 20));
  }
  return page(
    title,
    heading +
      banner(v) +
      mapSection(v) +
      countriesSection(v) +
      destinationsSection(v, options.maxDestinations ?? DEFAULT_MAX_DESTINATIONS) +
      appsSection(v, options.maxApps ?? 200) +
      warningsSection(v) +
      evidenceSection(v, options.maxErrors ?? 20) +
      `<footer><p>Generated by ${e(v.tool.name)} ${e(v.tool.version)} from the verdict of ${time(v.checkedAt)}. The verdict JSON is the record; this page is a view of it.</p></footer>`,
  );
}
