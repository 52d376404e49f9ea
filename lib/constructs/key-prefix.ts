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
