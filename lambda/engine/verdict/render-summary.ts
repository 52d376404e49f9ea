/** Verdict → the short human summary the CLI prints. Pure string building. */
import { firstViolations, violationCount } from './build-verdict';
import type { Verdict } from './verdict';

/** Rendering options. */
export interface SummaryOptions {
  /** Use ANSI colours. @default false */
  color?: boolean;
  /** How many violating destinations to list. @default 10 */
  topViolations?: number;
}

/** Formats a byte count with binary-free SI units (1.2 kB, 3.4 MB). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB', 'PB'];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/**
 * A count with thousands separators, as `n.toLocaleString('en-US')` writes it (1,234,567), without
 * ICU: the first toLocaleString of a process sets up ICU's number formatting, about 20 ms, more
 * than the rest of writing a small check's HTML report. Fractions, and integers past 2^53, still
 * go to toLocaleString.
 */
export function formatCount(n: number): string {
  if (!Number.isSafeInteger(n) || Object.is(n, -0)) return n.toLocaleString('en-US');
  const digits = String(Math.abs(n));
  let out = digits.slice(0, ((digits.length - 1) % 3) + 1);
  for (let i = out.length; i < digits.length; i += 3) out += `,${digits.slice(i, i + 3)}`;
  return n < 0 ? `-${out}` : out;
}

/**
 * Text from the log made safe for a terminal: control characters (C0, DEL, C1; an ESC would let
 * a host name in an uploaded log rewrite the screen or the window title) become `\u{XX}` escapes.
 */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (ch) => `\\u{${ch.charCodeAt(0).toString(16)}}`);
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function padLeft(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}

/** One line stating the policy in plain words. */
export function describePolicy(v: Verdict): string {
  const p = v.policy;
  const parts: string[] = [];
  if (p.allowedCountries) parts.push(p.allowedCountries.length > 0 ? `data must stay in: ${p.allowedCountries.join(', ')}` : 'no public destination is allowed');
  if (p.deniedCountries.length > 0) parts.push(`never to: ${p.deniedCountries.join(', ')}`);
  if (p.allowCidrs.length > 0) parts.push(`allowlisted networks: ${p.allowCidrs.join(', ')}`);
  return parts.join('; ');
}

/** Renders the summary of one verdict. */
export function renderSummary(v: Verdict, options: SummaryOptions = {}): string {
  const c = options.color
    ? { red: (s: string) => `\x1b[31m${s}\x1b[0m`, green: (s: string) => `\x1b[32m${s}\x1b[0m`, yellow: (s: string) => `\x1b[33m${s}\x1b[0m`, bold: (s: string) => `\x1b[1m${s}\x1b[0m` }
    : { red: (s: string) => s, green: (s: string) => s, yellow: (s: string) => s, bold: (s: string) => s };
  const lines: string[] = [];
  const t = v.totals;
  const hash = v.input.sha256 ? `sha256 ${v.input.sha256.slice(0, 16)}…` : 'not fully read';
  lines.push(c.bold(printable(v.input.name)) + ` (${v.input.format ?? 'unknown format'}${v.input.compression === 'gzip' ? ', gzip' : ''}, ${formatBytes(v.input.bytes)}, ${hash})`);
  lines.push(`Policy: ${describePolicy(v)}`);
  if (v.error) {
    lines.push(c.red(`Result: ERROR, could not check: ${printable(v.error)}`));
    return `${lines.join('\n')}\n`;
  }
  if (v.compliant) {
    lines.push(c.green(`Result: COMPLIANT`) + ` (${t.destinations} destinations, ${formatBytes(t.bytesSent)} sent)`);
  } else {
    lines.push(
      c.red(`Result: NOT COMPLIANT`) +
        ` (${t.violatingDestinations} of ${t.destinations} destinations in violation, ${formatBytes(t.bytesSentViolating)} of ${formatBytes(t.bytesSent)} sent outside the policy)`,
    );
  }
  lines.push('');
  lines.push(`  ${pad('Country', 8)}${pad('Status', 11)}${padLeft('Dest', 7)}${padLeft('Conns', 10)}${padLeft('Sent', 11)}${padLeft('Received', 11)}`);
  for (const row of v.countries) {
    const status = row.status === 'violation' ? c.red(pad(row.status, 11)) : row.status === 'allowed' ? c.green(pad(row.status, 11)) : c.yellow(pad(row.status, 11));
    lines.push(
      `  ${pad(row.country ?? '--', 8)}${status}${padLeft(String(row.destinations), 7)}${padLeft(String(row.connections), 10)}${padLeft(formatBytes(row.bytesSent), 11)}${padLeft(formatBytes(row.bytesReceived), 11)}`,
    );
  }
  const top = options.topViolations ?? 10;
  const violations = violationCount(v);
  if (violations > 0) {
    lines.push('');
    lines.push(c.bold('Top violating destinations:'));
    for (const x of firstViolations(v, top)) {
      const names = x.hostnames.length > 0 ? ` ${printable(x.hostnames.slice(0, 3).join(', '))}` : '';
      lines.push(`  ${x.ip} (${x.country ?? '??'})${names}: ${x.connections} conns, ${formatBytes(x.bytesSent)} sent; ${x.rule} [lines ${x.evidenceLines.slice(0, 5).join(', ')}]`);
    }
    if (violations > top) lines.push(`  … and ${violations - top} more (see the verdict JSON)`);
  }
  for (const w of v.warnings.slice(0, top)) lines.push(c.yellow(`  warning: ${w.ip}: ${w.rule}`));
  lines.push('');
  lines.push(`Records ${t.records}: ${t.connections} connections, ${t.skipped} skipped, ${t.noData} without data.`);
  if (t.skipped > 0) {
    const reasons = Object.entries(t.skippedByReason).map(([k, n]) => `${n}× ${k}`).join('; ');
    lines.push(c.yellow(`Skipped: ${reasons} (first at line ${v.errors[0]?.line ?? '?'})`));
  }
  const malformed = t.malformedValues ?? 0;
  if (malformed > 0) {
    const fields = Object.entries(t.malformedValuesByField ?? {}).map(([k, n]) => `${n}× ${printable(k)}`).join('; ');
    const first = v.malformedValues?.[0];
    const at = first ? ` (first at line ${first.line}: ${printable(first.field)} ${printable(JSON.stringify(first.value))})` : '';
    lines.push(c.yellow(`Malformed values, read as unknown: ${fields}${at}`));
  }
  const unknown = t.connectionsWithUnknownBytes ?? 0;
  if (unknown > 0) lines.push(`Byte counts unknown on ${unknown} connection${unknown === 1 ? '' : 's'} (sent, received or both): what is not known is in no byte total.`);
  return `${lines.join('\n')}\n`;
}
