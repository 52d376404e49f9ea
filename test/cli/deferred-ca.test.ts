/**
 * Which command lines the CLI runs again with the user's `NODE_EXTRA_CA_CERTS` (bin/cli/deferred-ca.ts):
 * those that open TLS connections to AWS, and no other (each run again costs a second Node start).
 */
import { needsCaCertificates } from '../../bin/cli/deferred-ca';

describe('needsCaCertificates', () => {
  it.each([
    [['submit', 'conn.log']],
    [['audit', 's3://bucket/logs/', '-j', 'us']],
    [['audit', 'logs/', '--previous=s3://bucket/audits/x/']],
    [['procurement', 's3://bucket/products/']],
    [['procurement', '--out', 'statements', 's3://bucket']],
  ])('is true for %j', (argv) => {
    expect(needsCaCertificates(argv)).toBe(true);
  });

  it.each([
    [['check', 'conn.log', '-j', 'us']],
    [['audit', 'logs/', '-j', 'us']],
    [['procurement', 'products/']],
    [['procurement', '--help']],
    [['explain', '8.8.8.8']],
    [['check', 's3://bucket/conn.log']],
    [[]],
  ])('is false for %j', (argv) => {
    expect(needsCaCertificates(argv)).toBe(false);
  });
});
