import { compareSequencers } from '../../lambda/adapters/s3-check-object';

describe('compareSequencers', () => {
  it('orders the sequencers of one key as hex strings, the shorter right-padded with zeros', () => {
    // The example sequencer of the S3 event structure page, and the next event's.
    expect(compareSequencers('0055AED6DCD90281E5', '0055AED6DCD90281E6')).toBeLessThan(0);
    expect(compareSequencers('0055AED6DCD90281E6', '0055AED6DCD90281E5')).toBeGreaterThan(0);
    // 'FF' is 'FF00' against '0100': later, though the smaller number.
    expect(compareSequencers('FF', '0100')).toBeGreaterThan(0);
    expect(compareSequencers('AB', 'AB00')).toBe(0);
  });

  it('ignores the case of hex digits', () => {
    expect(compareSequencers('0055aed6dcd90281e5', '0055AED6DCD90281E5')).toBe(0);
    expect(compareSequencers('0055aed6dcd90281e5', '0055AED6DCD90281F0')).toBeLessThan(0);
  });
});
