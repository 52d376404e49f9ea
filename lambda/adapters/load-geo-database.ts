/** Reads MMDB databases from disk (the bundled default, or files named with --db). */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { GeoDatabaseError } from '../engine/errors';
import { openGeoDatabase, type GeoLookup } from '../engine/geo/geo-lookup';

/** The database file names bundled with the tool, with the npm package that ships each. */
export const BUNDLED_DATABASES: readonly { file: string; pkg: string }[] = [
  { file: 'geo-whois-asn-country.mmdb', pkg: '@ip-location-db/geo-whois-asn-country-mmdb' },
];

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
