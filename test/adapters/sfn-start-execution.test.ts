import fc from 'fast-check';
import { executionNameOf, signJsonRequest } from '../../lambda/adapters/sfn-start-execution';
import { sdkSigner } from './sigv4-reference';

describe('signJsonRequest', () => {
  it('signs exactly as the AWS SDK signer does (any body, time, endpoint, session token)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string(),
        fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }),
        fc.constantFrom('https://states.eu-west-1.amazonaws.com', 'http://127.0.0.1:4599'),
        fc.option(fc.stringMatching(/^[A-Za-z0-9/+=]{20,60}$/), { nil: undefined }),
        async (body, when, endpoint, sessionToken) => {
          // Prepare
          const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', ...(sessionToken ? { sessionToken } : {}) };
          const now = new Date(Math.floor(when.getTime() / 1000) * 1000);

          // Act
          const ours = signJsonRequest(endpoint, 'AWSStepFunctions.StartExecution', body, credentials, 'eu-west-1', 'states', now);

          // Assess
          const { authorization, ...headers } = ours.headers;
          const url = new URL(endpoint);
          const theirs = await sdkSigner(credentials, 'eu-west-1').sign(
            { method: 'POST', protocol: url.protocol, hostname: url.hostname, path: '/', headers, body, query: {} },
            { signingDate: now },
          );
          expect(authorization).toBe(theirs.headers.authorization);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('executionNameOf', () => {
  it('names one object version the same way every time, within Step Functions rules', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.option(fc.string(), { nil: undefined }), (bucket, key, versionId) => {
        const name = executionNameOf({ bucket, key, ...(versionId !== undefined ? { versionId } : {}) });
        expect(name).toBe(executionNameOf({ bucket, key, ...(versionId !== undefined ? { versionId } : {}) }));
        expect(name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
      }),
    );
  });

  it('names two versions of one key differently', () => {
    expect(executionNameOf({ bucket: 'b', key: 'incoming/conn.log', versionId: '1' })).not.toBe(
      executionNameOf({ bucket: 'b', key: 'incoming/conn.log', versionId: '2' }),
    );
  });
});
