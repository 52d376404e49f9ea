/**
 * Country lookups over a MaxMind-format (MMDB) database, through the `maxmind` package's pure
 * `Reader` built from a Buffer (the adapters read the bytes from disk or S3).
 */
import { createHash } from 'node:crypto';
import { Reader } from 'maxmind';
import { GeoDatabaseError } from '../errors';
import type { ParsedIp } from '../net/ip';
import { NOT_FOUND, SearchTree } from './search-tree';

/** What a verdict cites about a database. */
export interface GeoDatabaseInfo {
  /** File or object name the database was read from. */
  name: string;
  /** `databaseType` from the MMDB metadata. */
  databaseType: string;
  /** Build time from the MMDB metadata, ISO 8601. */
  buildEpoch: string;
  /** SHA-256 of the database file. */
  sha256: string;
  /** Size of the database file in bytes. */
  bytes: number;
}

/** A country database. */
export interface GeoLookup {
  readonly info: GeoDatabaseInfo;
  /** ISO 3166-1 alpha-2 code of the country the address is located in, or null when unknown. */
  country(ip: string): string | null;
  /**
   * As {@link country}, for an address already parsed (an IPv4-mapped address is the IPv4 address
   * it carries): the engine's path, a walk of the search tree plus a cache hit.
   */
  countryOf(ip: ParsedIp): string | null;
  /**
   * Readies the database for a run of lookups and returns the lookup to make them through (valid
   * until another database sharing its memory is acquired), or throws the reason it cannot.
   * Optional: a database held in memory is always ready. A database read from its file only while
   * in use (one buffer shared by several, for a check of one input) reads it here; the engine asks
   * each database for all its answers in one run (see evaluateAddresses), so each is read once.
   */
  acquire?(): GeoLookup;
}

type MmdbRecord = Record<string, unknown> | null;

/** Most decoded records kept per database before the cache starts afresh. */
const MAX_CACHED_RECORDS = 100_000;

/**
 * Decoded data records by their offset in the database. Many networks share one record (a country
 * database has a few hundred distinct ones), so decoding each once saves most of a lookup's cost.
 */
class DecodedRecordCache {
  private readonly map = new Map<number, unknown>();

  get(key: number): unknown {
    return this.map.get(key);
  }

  set(key: number, value: unknown): void {
    if (this.map.size >= MAX_CACHED_RECORDS) this.map.clear();
    this.map.set(key, value);
  }
}

function isoCode(value: unknown): string | null {
  if (typeof value === 'string' && /^[A-Za-z]{2}$/.test(value)) return value.toUpperCase();
  return null;
}

/**
 * Reads the country from the record layouts in use: GeoIP2/GeoLite2 and DB-IP
 * (`country.iso_code`), ip-location-db and IPinfo (`country_code`), and flat variants.
 */
export function countryOfRecord(record: MmdbRecord): string | null {
  if (!record || typeof record !== 'object') return null;
  const flat = isoCode(record.country_code) ?? isoCode(record.country_iso_code);
  if (flat) return flat;
  const country = record.country;
  if (country && typeof country === 'object') {
    const code = isoCode((country as Record<string, unknown>).iso_code);
    if (code) return code;
  }
  return isoCode(country);
}

/**
 * Opens an MMDB database held in memory.
 *
 * @example
 * const geo = openGeoDatabase('geo.mmdb', fs.readFileSync('geo.mmdb'));
 * geo.country('8.8.8.8'); // 'US'
 *
 * With `hash: false` its `info.sha256` is empty: the caller cites the hash of the bytes it looks
 * up in.
 */
export function openGeoDatabase(name: string, bytes: Buffer, options: { hash?: boolean } = {}): GeoLookup {
  let reader: Reader<Record<string, unknown>>;
  try {
    reader = new Reader<Record<string, unknown>>(bytes, { cache: new DecodedRecordCache() });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new GeoDatabaseError(`${name}: not a readable MMDB database (${why})`, { cause: err });
  }
  const meta = reader.metadata;
  const databaseType = String(meta.databaseType ?? '');
  // Words of the type, `_` and digits included as separators (IPinfo's `ipinfo generic_asn_free.mmdb`).
  if (/(?:^|[^a-z])(asn|isp|connection|anonymous|domain)(?:[^a-z]|$)/i.test(databaseType) && !/country|city/i.test(databaseType)) {
    throw new GeoDatabaseError(
      `${name}: database type '${databaseType}' has no countries; give a country or city database`,
    );
  }
  const buildEpoch = meta.buildEpoch instanceof Date ? meta.buildEpoch : new Date(Number(meta.buildEpoch) * 1000);
  const info: GeoDatabaseInfo = {
    name,
    databaseType,
    buildEpoch: Number.isNaN(buildEpoch.getTime()) ? '' : buildEpoch.toISOString(),
    // Left empty for a caller that hashes the bytes itself, later (see DatabaseBuffer).
    sha256: options.hash === false ? '' : createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.length,
  };
  // An IPv4-only tree is 32 levels deep, so the reader would walk it with the first 32 bits of an
  // IPv6 address and answer for an unrelated IPv4 network (2a00:1450:: as 42.0.20.80, CN).
  const ipv4Only = meta.ipVersion === 4;
  const countryOfText = (ip: string): string | null => {
    if (ipv4Only && ip.includes(':')) return null;
    try {
      return countryOfRecord(reader.get(ip));
    } catch (err) {
      // Addresses are validated before lookup, so a failure here means a corrupt database.
      const why = err instanceof Error ? err.message : String(err);
      throw new GeoDatabaseError(`${name}: corrupt database (lookup of ${ip} failed: ${why})`, {
        cause: err,
      });
    }
  };
  // Probe the search tree once so a truncated or corrupt file fails now, naming the file.
  countryOfText('1.1.1.1');
  if (meta.ipVersion === 6) countryOfText('2001:4860:4860::8888');
  let tree: SearchTree;
  try {
    tree = new SearchTree(bytes, meta);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new GeoDatabaseError(`${name}: corrupt database (${why})`, { cause: err });
  }
  // Country by data pointer. The record at a pointer never changes, so the first address that
  // reaches a pointer decodes it (through the reader, the reference) and the rest reuse the answer.
  const byPointer = new Map<number, string | null>();
  return {
    info,
    country: countryOfText,
    countryOf(ip: ParsedIp): string | null {
      let pointer: number;
      if (ip.version === 4) pointer = tree.ipv4(ip.v4);
      else if (ipv4Only) return null;
      else pointer = tree.ipv6(ip.groups);
      if (pointer === NOT_FOUND) return null;
      let country = byPointer.get(pointer);
      if (country === undefined) {
        country = countryOfText(ip.text);
        if (byPointer.size >= MAX_CACHED_RECORDS) byPointer.clear();
        byPointer.set(pointer, country);
      }
      return country;
    },
  };
}
