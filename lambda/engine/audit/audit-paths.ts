/**
 * Which files of an audited folder (or S3 keys under an audited prefix) are logs, and what their
 * paths relative to the audit are. Pure: the same rules for a local folder, the CLI's `s3://`
 * prefix and the scheduled audit of an upload bucket.
 */

/**
 * File names that are outputs of residency itself, never logs. Only the names it writes: a log may
 * well be called `2024-06.weekly.report.log`.
 */
export const OUTPUT_FILE = /\.verdict\.json$|\.report\.(?:html|md)$|\.destinations\.csv$|\.destinations\.jsonl$|\.procurement\.(?:json|md)$/;

/** Why a key under the audited prefix is not audited. */
export type AuditSkipReason = 'folder' | 'hidden' | 'output' | 'outside';

/** What a key is to an audit: a log at a relative path, or skipped (and counted). */
export type AuditKey = { kind: 'log'; path: string } | { kind: 'skip'; reason: AuditSkipReason };

/**
 * The folder the logs' paths are relative to: the longest common prefix of `prefixes` that ends
 * at a `/` (`''` when they share none). One prefix that is a folder is its own root.
 *
 * @example auditRoot(['incoming/drone-a/', 'incoming/app-b/']) // 'incoming/'
 */
export function auditRoot(prefixes: readonly string[]): string {
  if (prefixes.length === 0) return '';
  let common = prefixes[0] as string;
  for (const p of prefixes.slice(1)) {
    let i = 0;
    while (i < common.length && i < p.length && common[i] === p[i]) i++;
    common = common.slice(0, i);
  }
  return common.slice(0, common.lastIndexOf('/') + 1);
}

/**
 * Classifies one S3 key found under `root`. Skipped, as in a local folder: folder markers (keys
 * ending in `/`), hidden names (a path segment starting with `.`), residency's own outputs
 * (`*.verdict.json`, `*.report.html`, `*.report.md`, `*.destinations.csv`, `*.destinations.jsonl`,
 * `*.procurement.json`, `*.procurement.md`), and keys under none of `prefixes`.
 */
export function classifyAuditKey(key: string, root: string, prefixes: readonly string[] = [root]): AuditKey {
  if (!key.startsWith(root) || !prefixes.some((p) => key.startsWith(p))) return { kind: 'skip', reason: 'outside' };
  if (key.endsWith('/')) return { kind: 'skip', reason: 'folder' };
  const path = key.slice(root.length);
  const segments = path.split('/');
  if (segments.some((s) => s.startsWith('.'))) return { kind: 'skip', reason: 'hidden' };
  if (OUTPUT_FILE.test(segments[segments.length - 1] ?? '')) return { kind: 'skip', reason: 'output' };
  return { kind: 'log', path };
}

/** The name of a run's folder: its start time in UTC, `:` replaced by `-` (valid on every file system). */
export function runFolderName(startedAt: Date): string {
  return startedAt.toISOString().replace(/:/g, '-');
}
