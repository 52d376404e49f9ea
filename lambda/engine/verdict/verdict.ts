/**
 * The verdict: the machine-readable contract other tools read (documented in docs/verdict.md).
 * Fields are only ever added, never renamed or removed.
 */
import type { GeoDatabaseInfo } from '../geo/geo-lookup';
import type { Policy } from '../policy/policy';
import type { AddressClass, DestinationStatus, FormatName } from '../types';

/** Version of the verdict layout; bumped when fields are added. */
export const VERDICT_SCHEMA_VERSION = 1;

export interface VerdictInput {
  name: string;
  /** SHA-256 of the bytes as uploaded (before any gzip decoding); null if reading stopped early. */
  sha256: string | null;
  /** Size of the input as uploaded. */
  bytes: number;
  /** Size after gzip decoding (equal to `bytes` for plain input). */
  decodedBytes: number;
  /** `gzip` or `none`. */
  compression: 'gzip' | 'none';
  format: FormatName | null;
  /** How the format was chosen. */
  formatSource: 'detected' | 'option' | null;
  /** Where the object came from, when not a local file (S3 `versionId`, `etag`, `bucket`, `key`). */
  source?: Record<string, string | null>;
}

export interface VerdictDestination {
  ip: string;
  country: string | null;
  /** Each database's country, by database name. */
  countries: Record<string, string | null>;
  addressClass: AddressClass;
  status: DestinationStatus;
  /** The rule that decided the status, in words (null for plainly allowed or non-public). */
  rule: string | null;
  connections: number;
  /** Connections the network refused (VPC `REJECT`): nothing was sent on them. */
  blockedAttempts: number;
  bytesSent: number;
  bytesReceived: number;
  /** Connections whose byte counts the log did not give. */
  connectionsWithUnknownBytes: number;
  firstSeen: string | null;
  lastSeen: string | null;
  ports: number[];
  protocols: string[];
  hostnames: string[];
  apps: string[];
  /** First line numbers of the records that reached this destination. */
  evidenceLines: number[];
  /** The location databases disagree about the country (see `countries`). */
  disputed: boolean;
  /** Autonomous system operating the address, and its organisation. */
  asn: number | null;
  asOrganization: string | null;
  /** Country the operating AS is registered in. */
  operatorCountry: string | null;
  /** A concern the policy only warns about (disputed location, operator, unknown location). */
  warning: string | null;
  /**
   * Each app's own share of `connections`, `blockedAttempts` and bytes, in the order of `apps`.
   * Present only when the log names the apps and all of them are listed (more than 32 apps: absent).
   */
  appTraffic?: VerdictAppTraffic[];
}

/** One app's share of a destination's traffic: the records that name it. */
export interface VerdictAppTraffic {
  app: string;
  connections: number;
  blockedAttempts: number;
  bytesSent: number;
  bytesReceived: number;
}

export interface VerdictViolation {
  ip: string;
  country: string | null;
  rule: string;
  hostnames: string[];
  bytesSent: number;
  connections: number;
  evidenceLines: number[];
  asn: number | null;
  asOrganization: string | null;
  operatorCountry: string | null;
}

export interface VerdictTotals {
  /** Data records read (header and comment lines excluded). */
  records: number;
  /** Records attributed to a destination. */
  connections: number;
  /** Records that could not be used (see `errors` and `skippedByReason`). */
  skipped: number;
  /** Records that by design carry no connection (VPC NODATA, a capture's ARP frames). */
  noData: number;
  bytesSent: number;
  bytesSentViolating: number;
  bytesReceived: number;
  destinations: number;
  violatingDestinations: number;
  skippedByReason: Record<string, number>;
  /** Records of connections the log names no server address for (HAR entries without `serverIPAddress`). */
  unattributed: number;
  /**
   * Connections whose byte counts are unknown (unset in the log, or malformed): their bytes are in
   * no byte total. Absent in verdicts written before it was added.
   */
  connectionsWithUnknownBytes?: number;
  /**
   * Values present but unreadable in records that were used (a byte count `12x3`): each counted as
   * unknown, never as zero. By field in `malformedValuesByField`, the first 100 in `malformedValues`.
   * Absent in verdicts written before they were added.
   */
  malformedValues?: number;
  malformedValuesByField?: Record<string, number>;
}

export interface Verdict {
  schemaVersion: number;
  compliant: boolean;
  /** Present when the input could not be checked; the verdict is then never compliant. */
  error?: string;
  /** Present (true) when the check stopped before the end of the input (time budget). */
  partial?: boolean;
  tool: { name: 'residency'; version: string };
  checkedAt: string;
  input: VerdictInput;
  policy: Policy & { sha256: string };
  databases: (GeoDatabaseInfo & { role: 'location' | 'operator-country' | 'asn' })[];
  totals: VerdictTotals;
  countries: { country: string | null; status: DestinationStatus; destinations: number; connections: number; bytesSent: number; bytesReceived: number }[];
  destinations: VerdictDestination[];
  violations: VerdictViolation[];
  /** Destinations that only warn (policy `unknown: warn`). */
  warnings: { ip: string; rule: string }[];
  errors: { line: number; reason: string }[];
  /** The first 100 unattributed records (see `totals.unattributed`). */
  unattributed: { line: number; reason: string }[];
  /** The first 100 malformed values (see `totals.malformedValues`); absent in older verdicts. */
  malformedValues?: { line: number; field: string; value: string }[];
}
