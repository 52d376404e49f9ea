/** Verdicts for report tests: the bundled drone example checked for real, and hand-built ones. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import type { CheckOptions } from '../../lambda/engine/check';
import { readZeekDnsNames } from '../../lambda/engine/names/zeek-dns';
import type { Verdict, VerdictDestination } from '../../lambda/engine/verdict/verdict';
import { checkBytes, chunked, policyOf } from '../helpers/engine';

const EXAMPLES = join(__dirname, '..', '..', 'examples');
const BUILT_ADAPTER = join(__dirname, '..', '..', 'dist', 'lambda', 'adapters', 'load-geo-database.js');

/**
 * The bundled operator sources (AS numbers and organisations) when `npm run build` has made the
 * ASN table, which it puts beside the compiled adapter; without it the report just has no ASNs.
 */
function operatorSources(): CheckOptions['operator'] | undefined {
  if (!existsSync(BUILT_ADAPTER)) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const built = require(BUILT_ADAPTER) as { loadOperatorSources(): CheckOptions['operator'] };
  return built.loadOperatorSources();
}

/** The README's example: the drone app's capture with its dns.log, against US + foreign adversaries. */
export async function droneVerdict(): Promise<Verdict> {
  const operator = operatorSources();
  const { index } = await readZeekDnsNames(chunked(readFileSync(join(EXAMPLES, 'drone-app.dns.log'))));
  return checkBytes(readFileSync(join(EXAMPLES, 'drone-app.conn.log')), {
    name: 'drone-app.conn.log',
    policy: policyOf('us', 'foreign-adversaries'),
    names: index,
    ...(operator ? { operator } : {}),
  });
}

/**
 * A PCAPdroid export in which two apps reach one address: one sends 50 MB, the other 200 bytes
 * (rows written by hand in PCAPdroid's column order); a third app reaches another address.
 */
export const SHARED_DESTINATION_PCAPDROID = [
  'IPProto,SrcIP,SrcPort,DstIp,DstPort,UID,App,PackageName,Proto,Status,Info,BytesSent,BytesRcvd,PktsSent,PktsRcvd,FirstSeen,LastSeen',
  '6,10.215.173.1,50520,119.29.29.29,443,10187,BigUploader,com.big.uploader,TLS,Closed,dnspod.cn,50000000,5120,14,12,1718000001050,1718000004311',
  '6,10.215.173.1,50521,119.29.29.29,443,10200,Calculator,com.tiny.calc,TLS,Closed,dnspod.cn,200,100,1,1,1718000001050,1718000004311',
  '6,10.215.173.1,50412,142.250.185.78,443,10123,Chrome,com.android.chrome,HTTPS,Closed,www.google.com,2817,40112,21,38,1718000000201,1718000012950',
  '',
].join('\n');

/** The verdict of {@link SHARED_DESTINATION_PCAPDROID} under `us`. */
export function sharedDestinationVerdict(): Promise<Verdict> {
  return checkBytes(SHARED_DESTINATION_PCAPDROID, { name: 'shared-dest.csv', policy: policyOf('us') });
}

/** A destination with every field set to something plain; override what the test is about. */
export function destinationOf(fields: Partial<VerdictDestination> & Pick<VerdictDestination, 'ip'>): VerdictDestination {
  return {
    country: 'US',
    countries: {},
    addressClass: 'public',
    status: 'allowed',
    rule: null,
    connections: 1,
    blockedAttempts: 0,
    bytesSent: 100,
    bytesReceived: 200,
    connectionsWithUnknownBytes: 0,
    firstSeen: '2026-01-01T00:00:00.000Z',
    lastSeen: '2026-01-01T00:01:00.000Z',
    ports: [443],
    protocols: ['tcp'],
    hostnames: [],
    apps: [],
    evidenceLines: [1],
    disputed: false,
    asn: null,
    asOrganization: null,
    operatorCountry: null,
    warning: null,
    ...fields,
  };
}

/** A verdict around the given destinations (totals and countries derived from them). */
export function verdictOf(destinations: VerdictDestination[], fields: Partial<Verdict> = {}): Verdict {
  const countries = new Map<string, Verdict['countries'][number]>();
  for (const d of destinations) {
    const k = `${d.country}/${d.status}`;
    const c = countries.get(k) ?? { country: d.country, status: d.status, destinations: 0, connections: 0, bytesSent: 0, bytesReceived: 0 };
    c.destinations++;
    c.connections += d.connections;
    c.bytesSent += d.bytesSent;
    c.bytesReceived += d.bytesReceived;
    countries.set(k, c);
  }
  const violating = destinations.filter((d) => d.status === 'violation');
  const policy = policyOf('us', 'foreign-adversaries');
  return {
    schemaVersion: 1,
    compliant: violating.length === 0,
    tool: { name: 'residency', version: '0.0.0-test' },
    checkedAt: '2026-01-01T00:00:00.000Z',
    input: { name: 'test.log', sha256: 'ab'.repeat(32), bytes: 1234, decodedBytes: 1234, compression: 'none', format: 'zeek-tsv', formatSource: 'detected' },
    policy: { ...policy.policy, sha256: policy.sha256 },
    databases: [{ name: 'geo.mmdb', role: 'location', databaseType: 'GeoLite2-Country', buildEpoch: '2026-01-01T00:00:00.000Z', sha256: 'cd'.repeat(32), bytes: 99 }],
    totals: {
      records: destinations.length,
      connections: destinations.length,
      skipped: 0,
      noData: 0,
      bytesSent: destinations.reduce((s, d) => s + d.bytesSent, 0),
      bytesSentViolating: violating.reduce((s, d) => s + d.bytesSent, 0),
      bytesReceived: destinations.reduce((s, d) => s + d.bytesReceived, 0),
      destinations: destinations.length,
      violatingDestinations: violating.length,
      skippedByReason: {},
      unattributed: 0,
    },
    countries: [...countries.values()],
    destinations,
    violations: violating.map((d) => ({
      ip: d.ip, country: d.country, rule: d.rule ?? '', hostnames: d.hostnames, bytesSent: d.bytesSent,
      connections: d.connections, evidenceLines: d.evidenceLines, asn: d.asn, asOrganization: d.asOrganization, operatorCountry: d.operatorCountry,
    })),
    warnings: [],
    errors: [],
    unattributed: [],
    ...fields,
  };
}

/** The attacker-chosen strings the escaping tests plant in host names, apps and rules. */
export const HOSTILE = ['<script>alert(1)</script>', '"><img src=x onerror=alert(2)>', "'><svg onload=alert(3)>"];
