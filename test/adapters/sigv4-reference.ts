/**
 * The AWS SDK's own Signature Version 4 signer (`@smithy/signature-v4`, which the S3 client
 * signs with), set up to check the function's small signer against an independent implementation.
 */
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentials } from '../../lambda/adapters/sfn-start-execution';

/** SHA-256 and HMAC-SHA256 in the SDK's hash interface. */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: unknown) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', secret as string | Buffer);
  }
  update(data: unknown): void {
    this.hash.update(data as string | Buffer);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

/** The SDK signer for Step Functions in `region`, without the payload-hash header S3 needs. */
export function sdkSigner(credentials: AwsCredentials, region = 'us-east-1'): SignatureV4 {
  return new SignatureV4({ service: 'states', region, credentials, sha256: NodeSha256, applyChecksum: false });
}
