import { Token } from 'aws-cdk-lib';

/**
 * Checks that `prefix` is a literal S3 key prefix usable in IAM object ARNs and in notification
 * filters: non-empty, no wildcard, no leading slash.
 *
 * @param what the prop being checked, named in the error message
 * @returns the prefix unchanged
 */
export function validateKeyPrefix(what: string, prefix: string): string {
  if (Token.isUnresolved(prefix)) {
    throw new Error(`${what}: expected a literal S3 key prefix, got an unresolved token`);
  }
  if (prefix.length === 0 || /[*?]/.test(prefix) || prefix.startsWith('/')) {
    throw new Error(
      `${what}: expected a non-empty S3 key prefix without wildcards or leading '/' ` +
        `(e.g. 'incoming/'), got '${prefix}'`,
    );
  }
  return prefix;
}

/**
 * Checks that neither of two key prefixes contains the other, so the objects under one are never
 * listed under the other (a table over `prefix` must not read what is written under `other`).
 *
 * @param what the prop being checked, named in the error message
 * @returns `prefix` unchanged
 */
export function validateDisjointPrefixes(what: string, prefix: string, other: string): string {
  if (prefix.startsWith(other) || other.startsWith(prefix)) {
    throw new Error(
      `${what}: '${prefix}' overlaps the prefix '${other}'; ` +
        'choose one that neither contains nor is contained in it',
    );
  }
  return prefix;
}
