/**
 * The products under an S3 prefix, for `residency procurement s3://bucket/prefix`: the keys are
 * listed and classified as the audit lists them (folder markers, hidden names and residency's
 * outputs skipped), then grouped as a local folder's files are. Objects are streamed when read.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { listAuditObjects, parseS3Folder, skippedCount, type AuditObject } from '../../lambda/adapters/s3-audit';
import { createS3Client, type S3ClientEnv } from '../../lambda/adapters/s3-client';
import { describeS3Failure, S3AdapterError } from '../../lambda/adapters/s3-errors';
import { openS3Object } from '../../lambda/adapters/s3-log-source';
import { formatS3Url } from '../../lambda/adapters/s3-url';
import { UsageError } from '../../lambda/engine/errors';
import { readDnsLogs, type NameIndex } from '../../lambda/engine/names/zeek-dns';
import { DNS_LOG_REASON, isDnsLogName, type NameSource, type Product, type ProductLog } from './procurement-products';

/**
 * Orders relative paths as a walk of a local folder does: one folder level at a time, each level
 * by name (`localeCompare`), a folder's contents where its name falls. S3 lists in byte order,
 * which would put `a/b/x.log` before `a/b_c.log`; the statement lists logs in the local order.
 */
export function compareAsFolderWalk(a: string, b: string): number {
  const as = a.split('/');
  const bs = b.split('/');
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    const order = (as[i] as string).localeCompare(bs[i] as string);
    if (order !== 0) return order;
  }
  return as.length - bs.length;
}

/**
 * Groups the logs found under a prefix into products, as a local folder's: the product is the
 * first segment of a log's path; logs directly under the prefix make one product named `rootName`.
 * Products with no log (only DNS logs) are left out. `paths` are relative to the prefix.
 */
export function groupProducts(rootName: string, paths: readonly string[]): { name: string; paths: string[] }[] {
  const sorted = [...paths].sort(compareAsFolderWalk);
  const top = sorted.filter((p) => !p.includes('/'));
  const folders = new Map<string, string[]>();
  for (const p of sorted.filter((x) => x.includes('/'))) {
    const name = p.slice(0, p.indexOf('/'));
    const inFolder = folders.get(name);
    if (inFolder === undefined) folders.set(name, [p]);
    else inFolder.push(p);
  }
  const groups = [...(top.length > 0 ? [{ name: rootName, paths: top }] : []), ...[...folders].map(([name, inFolder]) => ({ name, paths: inFolder }))];
  return groups.filter((g) => g.paths.some((p) => !isDnsLogName(p)));
}

/** Passes `body` on, and hands its SHA-256 and size to `done` once it has been read to the end. */
async function* hashing(body: AsyncIterable<Uint8Array>, done: (sha256: string, bytes: number) => void): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    bytes += chunk.byteLength;
    yield chunk;
  }
  done(hash.digest('hex'), bytes);
}

/**
 * Lists the products under `s3://bucket/prefix`. `close` releases the S3 client once their logs
 * have been read.
 *
 * @throws S3UrlError for a URL that is not `s3://bucket[/prefix]`; S3AdapterError when the listing
 *   fails (no such bucket, access denied); UsageError when nothing, or no log, is under the prefix.
 */
export async function findS3Products(url: string, env: S3ClientEnv): Promise<{ products: Product[]; close: () => void }> {
  const { bucket, prefix } = parseS3Folder(url);
  const client = createS3Client(env);
  try {
    let listing;
    try {
      listing = await listAuditObjects(client, bucket, [prefix]);
    } catch (err) {
      throw new S3AdapterError(`procurement: ${formatS3Url(bucket, prefix)}: listing failed (${describeS3Failure(err)})`, { cause: err });
    }
    if (listing.objects.length === 0) {
      const why = skippedCount(listing) === 0 ? 'no such prefix (no objects under it)' : 'no log files found';
      throw new UsageError(`procurement: ${formatS3Url(bucket, prefix)}: ${why}`);
    }
    const byPath = new Map(listing.objects.map((o) => [o.path, o]));
    const rootName = prefix === '' ? bucket : posix.basename(prefix);
    const reader = new S3ProductReader(client, bucket);
    const products = groupProducts(rootName, [...byPath.keys()]).map(
      (g): Product => ({ name: g.name, logs: reader.logs(g.paths.map((p) => byPath.get(p) as AuditObject)) }),
    );
    return { products, close: () => client.destroy() };
  } catch (err) {
    client.destroy();
    throw err;
  }
}

/** Opens a product's objects: each log streamed, the DNS logs of its folder read once in a row. */
class S3ProductReader {
  /** The names of the last folder read (one folder's at a time, as a local run holds them). */
  private lastNames: { folder: string; names: Promise<NameIndex | undefined> } | undefined;
  /** SHA-256 and size of each DNS log, taken as it was read for its names. */
  private readonly hashes = new Map<string, { sha256: string; bytes: number }>();

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  /** The logs among `objects`, each with the DNS logs of its folder. */
  logs(objects: readonly AuditObject[]): ProductLog[] {
    const dns = objects.filter((o) => isDnsLogName(o.path));
    return objects
      .filter((o) => !isDnsLogName(o.path))
      .map((o) => this.log(o, dns.filter((d) => posix.dirname(d.path) === posix.dirname(o.path))));
  }

  private log(object: AuditObject, dnsLogs: readonly AuditObject[]): ProductLog {
    const folder = posix.dirname(object.path);
    return {
      name: object.path,
      open: async () => (await openS3Object(this.client, this.bucket, object.key)).body,
      names: () => {
        if (this.lastNames?.folder !== folder) this.lastNames = { folder, names: this.readNames(dnsLogs) };
        return this.lastNames.names;
      },
      dnsLogs: dnsLogs.map((d) => ({ name: d.path, hash: () => this.hash(d) })),
      // Whatever stops an object from being read is that log's error; the other logs are still checked.
      readFailure: (err) => `${formatS3Url(this.bucket, object.key)}: read failed (${describeS3Failure(err)})`,
    };
  }

  private async readNames(dnsLogs: readonly AuditObject[]): Promise<NameIndex | undefined> {
    return readDnsLogs(
      dnsLogs.map((d) => ({
        name: d.path,
        open: async () => {
          const { body } = await openS3Object(this.client, this.bucket, d.key);
          return hashing(body, (sha256, bytes) => this.hashes.set(d.key, { sha256, bytes }));
        },
      })),
      DNS_LOG_REASON,
    );
  }

  /** A DNS log's SHA-256 and size: from its read for names, or (if that stopped early) read again. */
  private async hash(dnsLog: AuditObject): Promise<NameSource> {
    let found = this.hashes.get(dnsLog.key);
    if (found === undefined) {
      const { body } = await openS3Object(this.client, this.bucket, dnsLog.key);
      const reading = hashing(body, (sha256, bytes) => (found = { sha256, bytes }));
      while (!(await reading.next()).done);
    }
    const { sha256, bytes } = found as { sha256: string; bytes: number };
    return { name: dnsLog.path, sha256, bytes };
  }
}
