import { CommonAddressHints } from '../../../lambda/engine/verdict/common-addresses';

describe('CommonAddressHints: addresses on one side of every record of an interface', () => {
  const ENI = 'eni-0a1b2c3d4e5f60718';
  const outsideAll = (): boolean => true;

  it('intersects what ranges found, spelling by spelling, as one pass over the log does', () => {
    // Prepare: one range saw the instance with one peer, the next with another.
    const hints = new CommonAddressHints();

    // Act
    hints.add({ app: ENI, family: 6, addresses: ['2600:1f18::5', '2a00:1450::1'], records: 2 });
    hints.add({ app: ENI, family: 6, addresses: ['2600:1f18::5', '2400:da00::6666'], records: 3 });
    // Another spelling of the same address is another spelling: a single pass would not have kept it either.
    hints.add({ app: 'eni-0f9e8d7c6b5a40312', family: 6, addresses: ['2600:1f18::a'], records: 1 });
    hints.add({ app: 'eni-0f9e8d7c6b5a40312', family: 6, addresses: ['2600:1f18:0:0:0:0:0:a'], records: 1 });

    // Assess
    expect(hints.list()).toEqual([
      { app: ENI, family: 6, addresses: ['2600:1f18::5'], records: 5 },
      { app: 'eni-0f9e8d7c6b5a40312', family: 6, addresses: [], records: 2 },
    ]);
    expect([...hints.warnings(outsideAll).keys()]).toEqual(['2600:1f18::5']);
  });

  it('warns of an interface seen with one peer only when both ends are outside, and lists addresses as the verdict does', () => {
    // Prepare
    const hints = new CommonAddressHints();
    hints.add({ app: ENI, family: 4, addresses: ['10.0.1.5', '52.94.133.131'], records: 2 });
    hints.add({ app: null, family: 6, addresses: ['2600:1f18:0:0:0:0:0:5', '2a00:1450:4001:82a:0:0:0:200e'], records: 4 });
    const outside = (ip: string): boolean => ip !== '10.0.1.5';

    // Act
    const warnings = hints.warnings(outside);

    // Assess: the IPv4 peer's other end is inside, so it is simply the peer.
    expect([...warnings.keys()]).toEqual(['2600:1f18::5', '2a00:1450:4001:82a::200e']);
    expect(warnings.get('2600:1f18::5')).toBe(
      "this address and 2a00:1450:4001:82a::200e are the two sides of every IPv6 record of the log (4 records): one of the two is likely the monitored side's own address, listed as a destination because the log does not say which side of a record is inside; if so, add it (or its network) to the policy's localNetworks, beside \"non-public\" (VPC Flow Logs without flow-direction: or log it)",
    );
  });

  it('ignores a group with no records, and warns of nothing that is not listed outside', () => {
    // Prepare
    const hints = new CommonAddressHints();
    hints.add({ app: ENI, family: 6, addresses: ['2600:1f18::5'], records: 0 });
    hints.add({ app: 'eni-1', family: 6, addresses: ['2600:1f18::7'], records: 3 });

    // Act / Assess
    expect(hints.size).toBe(1);
    expect(hints.warnings(() => false).size).toBe(0);
  });
});

describe('CommonAddressHints of a single record', () => {
  it('gives no hint: both sides of one record are on one side of every record', () => {
    // A firewall export of one inbound connection: its foreign client was said likely to be the
    // monitored side's own address.
    const hints = new CommonAddressHints();
    hints.add({ app: null, family: 4, addresses: ['203.0.113.50', '198.51.100.7'], records: 1 });

    // Act / Assess
    expect(hints.warnings(() => true).size).toBe(0);
    hints.add({ app: null, family: 4, addresses: ['203.0.113.50'], records: 1 });
    expect([...hints.warnings(() => true).keys()]).toEqual(['203.0.113.50']);
  });
});

describe('CommonAddressHints past the interfaces tracked', () => {
  it('counts an interface once for both its families, and gives every hint up past the cap', () => {
    // Prepare: 4,096 dual-stack interfaces are within the cap.
    const hints = new CommonAddressHints();
    for (let i = 0; i < 4096; i++) {
      hints.add({ app: `eni-${i}`, family: 4, addresses: ['10.0.0.5'], records: 2 });
      hints.add({ app: `eni-${i}`, family: 6, addresses: [`2600:1f18::${i.toString(16)}`], records: 2 });
    }
    expect(hints.overflow).toBe(false);
    expect(hints.warnings(() => true).size).toBe(4096 + 1);

    // Act: one more interface.
    hints.add({ app: 'eni-last', family: 6, addresses: ['2600:1f18::ffff'], records: 2 });

    // Assess
    expect(hints.overflow).toBe(true);
    expect(hints.warnings(() => true).size).toBe(0);
    expect(hints.list()).toEqual([]);
  });
});
