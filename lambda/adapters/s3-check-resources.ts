/**
 * Policy and GeoIP databases for the function: from the environment's specification, fetched
 * from S3 when named by URL, kept for the life of a warm container and refreshed when the S3
 * object's ETag changes.
 */
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { openGeoDatabase, type GeoLookup } from '../engine/geo/geo-lookup';
import { compilePolicy, parsePolicyJson, policyFromSpec, type CompiledPolicy } from '../engine/policy/policy';
import type { CheckerConfig } from '../config';
import { loadGeoDatabases, loadOperatorSources } from './load-geo-database';
import type { OperatorSources } from '../engine/policy/evaluate';
import { httpStatusOf, S3ObjectNotFoundError } from './s3-errors';
import { unquoteEtag } from './s3-etag';
import { readS3ObjectToBuffer } from './s3-log-source';
import { parseS3Url } from './s3-url';

/** Largest policy object read from S3. */
export const MAX_POLICY_BYTES = 1024 * 1024;
/** Largest MMDB object read from S3 (city databases run to a few hundred MB). */
export const MAX_DATABASE_BYTES = 1024 * 1024 * 1024;
/** How often a warm container asks S3 whether a database or policy object changed. */
export const REVALIDATE_MS = 5 * 60 * 1000;

interface Cached<T> {
  etag: string | undefined;
  checkedAt: number;
  value: T;
}

/** Loads and caches what a check needs besides the log. */
export class CheckResources {
  private policy: Cached<CompiledPolicy> | null = null;
  private readonly databases = new Map<string, Cached<GeoLookup>>();
  private bundled: GeoLookup[] | null = null;
  private operator: OperatorSources | null = null;

  constructor(
    private readonly client: S3Client,
    private readonly config: CheckerConfig,
    private readonly now: () => number = Date.now,
  ) {}

  private async etagOf(url: string): Promise<string | undefined> {
    const { bucket, key } = parseS3Url(url);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return unquoteEtag(head.ETag);
    } catch (err) {
      // A HEAD response has no body, so the SDK's error says only "NotFound: UnknownError": name
      // the object, or the log line does not say which configured URL is wrong.
      if (httpStatusOf(err) === 404) throw new S3ObjectNotFoundError(`${url}: no such object`, { cause: err });
      throw err;
    }
  }

  private async fresh<T>(url: string, cached: Cached<T> | null | undefined, load: (bytes: Buffer) => T, max: number): Promise<Cached<T>> {
    const now = this.now();
    if (cached && now - cached.checkedAt < REVALIDATE_MS) return cached;
    if (cached) {
      const etag = await this.etagOf(url);
      if (etag !== undefined && etag === cached.etag) {
        cached.checkedAt = now;
        return cached;
      }
    }
    const { bucket, key } = parseS3Url(url);
    const etag = await this.etagOf(url);
    const bytes = await readS3ObjectToBuffer(this.client, bucket, key, max, etag ? { ifMatch: etag } : {});
    return { etag, checkedAt: now, value: load(bytes) };
  }

  /** The compiled policy. A bad policy throws (a configuration fault, retried, then dead-lettered). */
  async getPolicy(): Promise<CompiledPolicy> {
    const spec = this.config.policySpec;
    if (!spec.startsWith('s3://')) {
      this.policy ??= { etag: undefined, checkedAt: 0, value: compilePolicy(policyFromSpec(spec, 'RESIDENCY_POLICY')) };
      return this.policy.value;
    }
    this.policy = await this.fresh(spec, this.policy, (bytes) => compilePolicy(parsePolicyJson(bytes.toString('utf8'), spec)), MAX_POLICY_BYTES);
    return this.policy.value;
  }

  /** The bundled operator sources (AS registration countries, ASN table), loaded once. */
  getOperator(): OperatorSources {
    this.operator ??= loadOperatorSources();
    return this.operator;
  }

  /** The databases: those named in RESIDENCY_GEOIP_DBS, else the bundled ones. */
  async getDatabases(): Promise<GeoLookup[]> {
    if (this.config.databaseUrls.length === 0) {
      this.bundled ??= loadGeoDatabases([]);
      return this.bundled;
    }
    const out: GeoLookup[] = [];
    for (const url of this.config.databaseUrls) {
      const name = parseS3Url(url).key.split('/').pop() ?? url;
      const entry = await this.fresh(url, this.databases.get(url), (bytes) => openGeoDatabase(name, bytes), MAX_DATABASE_BYTES);
      this.databases.set(url, entry);
      out.push(entry.value);
    }
    return out;
  }
}
