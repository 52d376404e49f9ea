import fc from 'fast-check';
import { executionNameOf } from '../../lambda/adapters/sfn-start-execution';

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
