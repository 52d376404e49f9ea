/** Verdict → every destination as CSV (RFC 4180, CRLF), safe to open in a spreadsheet. Pure. */
import type { Verdict, VerdictDestination } from '../verdict/verdict';
import { countryName } from './country-names';
import { csvField } from './escape';

const COLUMNS: readonly [string, (d: VerdictDestination) => string | number | null][] = [
  ['ip', (d) => d.ip],
  ['status', (d) => d.status],
  ['country', (d) => d.country],
  ['country_name', (d) => (d.country === null ? null : countryName(d.country))],
  ['disputed', (d) => (d.disputed ? 'yes' : 'no')],
  ['address_class', (d) => d.addressClass],
  ['hostnames', (d) => d.hostnames.join(' ')],
  ['apps', (d) => d.apps.join(' ')],
  ['asn', (d) => d.asn],
  ['as_organization', (d) => d.asOrganization],
  ['operator_country', (d) => d.operatorCountry],
  ['bytes_sent', (d) => d.bytesSent],
  ['bytes_received', (d) => d.bytesReceived],
  ['connections', (d) => d.connections],
  ['blocked_attempts', (d) => d.blockedAttempts],
  ['first_seen', (d) => d.firstSeen],
  ['last_seen', (d) => d.lastSeen],
  ['ports', (d) => d.ports.join(' ')],
  ['protocols', (d) => d.protocols.join(' ')],
  ['rule', (d) => d.rule],
  ['warning', (d) => d.warning],
  ['evidence_lines', (d) => d.evidenceLines.join(' ')],
  // Last, so the columns before keep their places. bytes_sent is the destination's total over
  // every app: each app's own share, in the order of `apps`, is here.
  ['app_bytes_sent', (d) => appBytesSent(d)],
];

/** Each app's own bytes sent, in the order of `apps`; empty when the verdict does not split them. */
function appBytesSent(d: VerdictDestination): string {
  const split = d.appTraffic;
  if (split === undefined || d.apps.length === 0) return '';
  return d.apps.map((app) => split.find((t) => t.app === app)?.bytesSent ?? '').join(' ');
}

/**
 * Renders one row per destination in the verdict's order (violations first). Cells a spreadsheet
 * would run as formulas (leading `=`, `+`, `-`, `@`, tab, CR) get a leading `'`.
 *
 * @example
 * writeFileSync('conn.log.destinations.csv', renderDestinationsCsv(verdict));
 */
export function renderDestinationsCsv(v: Verdict): string {
  const lines = [COLUMNS.map(([name]) => name).join(',')];
  for (const d of v.destinations) lines.push(COLUMNS.map(([, get]) => csvField(get(d))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
