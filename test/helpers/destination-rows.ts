/**
 * Verdicts and readers for the destinations JSON Lines tests (engine, CDK table, function).
 */
import { gunzipSync } from 'node:zlib';
import { serializeDestinationsJsonl } from '../../lambda/engine/verdict/destinations-jsonl';
import type { Verdict } from '../../lambda/engine/verdict/verdict';
import { destinationOf, verdictOf } from '../report/report-fixtures';

/** One parsed row. */
export type DestinationRow = Record<string, unknown>;

/** Parses JSON Lines text (each line ends in `\n`) into rows; fails on a blank or broken line. */
export function parseRows(text: string): DestinationRow[] {
  if (text === '') return [];
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as DestinationRow);
}

/** Rows of a gzip-compressed JSON Lines object. */
export function parseGzipRows(bytes: Uint8Array): DestinationRow[] {
  return parseRows(gunzipSync(bytes).toString('utf8'));
}

/** The whole JSON Lines text of a verdict (joined: for small verdicts in tests only). */
export function rowsText(v: Verdict, verdictKey = 'verdicts/incoming/test.log.verdict.json'): string {
  return [...serializeDestinationsJsonl(v, { verdictKey })].join('');
}

/**
 * A verdict in which every column has a non-null value on some row: a partial verdict (so it has
 * an error) of a named policy, from an S3 object version, with a disputed violation operated by a
 * known AS, a blocked destination and a non-public one.
 */
export function everyFieldVerdict(): Verdict {
  const v = verdictOf([
    destinationOf({
      ip: '183.3.226.35',
      country: 'CN',
      countries: { 'geo.mmdb': 'CN', 'other.mmdb': 'HK' },
      status: 'violation',
      rule: 'CN is denied by foreign-adversaries',
      warning: 'operator AS4134 is registered in CN',
      disputed: true,
      connections: 3,
      blockedAttempts: 1,
      bytesSent: 23_142,
      bytesReceived: 1_222,
      connectionsWithUnknownBytes: 1,
      ports: [443, 8443],
      protocols: ['tcp', 'udp'],
      hostnames: ['crash.example.cn', 'ü.example'],
      apps: ['com.example.drone'],
      evidenceLines: [23, 24, 90],
      asn: 4134,
      asOrganization: 'Chinanet',
      operatorCountry: 'CN',
    }),
    destinationOf({ ip: '203.0.113.9', country: 'RU', status: 'blocked', rule: 'no connection carried data to it: every attempt was refused by the network or left unanswered (2 attempts)', connections: 0, blockedAttempts: 2, bytesSent: 0, bytesReceived: 0 }),
    destinationOf({ ip: '192.168.1.1', country: null, addressClass: 'private', status: 'non-public', firstSeen: null, lastSeen: null }),
  ]);
  return {
    ...v,
    compliant: false,
    partial: true,
    error: 'stopped early after 1000 bytes and 3 records (time budget): this verdict covers only part of the input',
    input: {
      ...v.input,
      name: 'incoming/team/drone.conn.log',
      source: { bucket: 'uploads', key: 'incoming/team/drone.conn.log', versionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY', etag: 'abc123' },
    },
    policy: { ...v.policy, name: 'Drone programme: US only' },
    databases: [
      ...v.databases,
      { name: '@ip-location-db/asn', role: 'asn', databaseType: 'ASN ranges (515157)', buildEpoch: '', sha256: 'ef'.repeat(32), bytes: 0 },
    ],
  };
}
