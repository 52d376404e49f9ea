/** What `residency procurement` checks: products and their logs, from a folder or an S3 prefix. */
import { basename } from 'node:path';
import type { NameIndex } from '../../lambda/engine/names/zeek-dns';

/** Why a file is read as a Zeek dns.log (said when it holds no DNS record). */
export const DNS_LOG_REASON = 'a file named *dns.log is read as a Zeek dns.log';

/** A DNS log cited as evidence: its name, SHA-256 and size. */
export interface NameSource {
  name: string;
  sha256: string;
  bytes: number;
}

/** One log of a product, wherever it is stored. */
export interface ProductLog {
  /** The log as its verdict names it: a path, or a key relative to the S3 prefix. */
  readonly name: string;
  /** The log's bytes, as stored (gzip is decoded by the engine). */
  open(): Promise<AsyncIterable<Uint8Array>>;
  /** The host names the DNS logs of its folder give (undefined when there are none). */
  names(): Promise<NameIndex | undefined>;
  /** The DNS logs of its folder, for the statement's evidence. */
  readonly dnsLogs: readonly { readonly name: string; hash(): Promise<NameSource> }[];
  /**
   * The one-line error for a failure to read the log (or its DNS logs) that is not an
   * `InputError`; null when the failure is not one of reading, and must not be hidden.
   */
  readFailure(err: unknown): string | null;
}

/** A product: its name and its logs. */
export interface Product {
  name: string;
  logs: ProductLog[];
}

/** Whether a file is a Zeek dns.log (by name), used for names rather than checked. */
export function isDnsLogName(file: string): boolean {
  return /(^|[._-])dns\.log(\.gz)?$/i.test(basename(file));
}
