import { classifyAddress, isLinkScoped, isPublicClass } from '../../../lambda/engine/net/address-class';
import { parseIp } from '../../../lambda/engine/net/ip';
import type { AddressClass } from '../../../lambda/engine/types';

/** Parses and classifies; a test address that does not parse is a broken test, not a result. */
function classOf(text: string): AddressClass {
  const ip = parseIp(text);
  if (!ip) throw new Error(`test setup: ${text} should parse`);
  return classifyAddress(ip);
}

/**
 * One row per range: the first and last address inside, and the addresses just below and just
 * above it with the class each of those has. Ranges and names follow the IANA IPv4 and IPv6
 * Special-Purpose Address Registries (RFC 6890 and later), plus multicast (RFC 5771, RFC 4291).
 */
type RangeRow = [
  range: string,
  cls: AddressClass,
  first: string,
  last: string,
  below: [string, AddressClass] | null,
  above: [string, AddressClass] | null,
];

// prettier-ignore
const IPV4_RANGES: RangeRow[] = [
  ['0.0.0.0/8', 'this-network', '0.0.0.0', '0.255.255.255', null, ['1.0.0.0', 'public']],
  ['10.0.0.0/8', 'private', '10.0.0.0', '10.255.255.255', ['9.255.255.255', 'public'], ['11.0.0.0', 'public']],
  ['100.64.0.0/10', 'carrier-grade-nat', '100.64.0.0', '100.127.255.255', ['100.63.255.255', 'public'], ['100.128.0.0', 'public']],
  ['127.0.0.0/8', 'loopback', '127.0.0.0', '127.255.255.255', ['126.255.255.255', 'public'], ['128.0.0.0', 'public']],
  ['169.254.0.0/16', 'link-local', '169.254.0.0', '169.254.255.255', ['169.253.255.255', 'public'], ['169.255.0.0', 'public']],
  ['172.16.0.0/12', 'private', '172.16.0.0', '172.31.255.255', ['172.15.255.255', 'public'], ['172.32.0.0', 'public']],
  ['192.0.0.0/29', 'ietf-protocol', '192.0.0.0', '192.0.0.7', ['191.255.255.255', 'public'], ['192.0.0.8', 'ietf-protocol']],
  ['192.0.0.9/32 (PCP anycast, globally reachable)', 'public', '192.0.0.9', '192.0.0.9', ['192.0.0.8', 'ietf-protocol'], ['192.0.0.10', 'public']],
  ['192.0.0.10/32 (TURN anycast, globally reachable)', 'public', '192.0.0.10', '192.0.0.10', ['192.0.0.9', 'public'], ['192.0.0.11', 'ietf-protocol']],
  ['192.0.0.0/24 (rest)', 'ietf-protocol', '192.0.0.170', '192.0.0.255', null, ['192.0.1.0', 'public']],
  ['192.0.2.0/24', 'documentation', '192.0.2.0', '192.0.2.255', ['192.0.1.255', 'public'], ['192.0.3.0', 'public']],
  ['192.88.99.0/24', 'reserved', '192.88.99.0', '192.88.99.255', ['192.88.98.255', 'public'], ['192.88.100.0', 'public']],
  ['192.168.0.0/16', 'private', '192.168.0.0', '192.168.255.255', ['192.167.255.255', 'public'], ['192.169.0.0', 'public']],
  ['198.18.0.0/15', 'benchmarking', '198.18.0.0', '198.19.255.255', ['198.17.255.255', 'public'], ['198.20.0.0', 'public']],
  ['198.51.100.0/24', 'documentation', '198.51.100.0', '198.51.100.255', ['198.51.99.255', 'public'], ['198.51.101.0', 'public']],
  ['203.0.113.0/24', 'documentation', '203.0.113.0', '203.0.113.255', ['203.0.112.255', 'public'], ['203.0.114.0', 'public']],
  ['224.0.0.0/4', 'multicast', '224.0.0.0', '239.255.255.255', ['223.255.255.255', 'public'], ['240.0.0.0', 'reserved']],
  ['240.0.0.0/4', 'reserved', '240.0.0.0', '255.255.255.254', ['239.255.255.255', 'multicast'], ['255.255.255.255', 'broadcast']],
  ['255.255.255.255/32', 'broadcast', '255.255.255.255', '255.255.255.255', ['255.255.255.254', 'reserved'], null],
];

// prettier-ignore
const IPV6_RANGES: RangeRow[] = [
  ['::/128', 'unspecified', '::', '::', null, ['::1', 'loopback']],
  ['::1/128', 'loopback', '::1', '::1', ['::', 'unspecified'], ['::2', 'reserved']],
  ['64:ff9b:1::/48', 'local-nat64', '64:ff9b:1::', '64:ff9b:1:ffff:ffff:ffff:ffff:ffff', ['64:ff9b:0:ffff:ffff:ffff:ffff:ffff', 'reserved'], ['64:ff9b:2::', 'reserved']],
  ['100::/64', 'discard-only', '100::', '100::ffff:ffff:ffff:ffff', ['ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'], ['100:0:0:1::', 'reserved']],
  ['2001::/32', 'teredo', '2001::', '2001:0:ffff:ffff:ffff:ffff:ffff:ffff', ['2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'public'], ['2001:1::', 'ietf-protocol']],
  ['2001:1::1/128 (PCP anycast)', 'public', '2001:1::1', '2001:1::1', ['2001:1::', 'ietf-protocol'], ['2001:1::2', 'public']],
  ['2001:1::2/128 (TURN anycast)', 'public', '2001:1::2', '2001:1::2', ['2001:1::1', 'public'], ['2001:1::3', 'public']],
  ['2001:1::3/128 (DNS-SD SRP anycast)', 'public', '2001:1::3', '2001:1::3', ['2001:1::2', 'public'], ['2001:1::4', 'ietf-protocol']],
  ['2001:2::/48', 'benchmarking', '2001:2::', '2001:2:0:ffff:ffff:ffff:ffff:ffff', ['2001:1:ffff:ffff:ffff:ffff:ffff:ffff', 'ietf-protocol'], ['2001:2:1::', 'ietf-protocol']],
  ['2001:3::/32 (AMT)', 'public', '2001:3::', '2001:3:ffff:ffff:ffff:ffff:ffff:ffff', ['2001:2:ffff:ffff:ffff:ffff:ffff:ffff', 'ietf-protocol'], ['2001:4::', 'ietf-protocol']],
  ['2001:4:112::/48 (AS112-v6)', 'public', '2001:4:112::', '2001:4:112:ffff:ffff:ffff:ffff:ffff', ['2001:4:111:ffff:ffff:ffff:ffff:ffff', 'ietf-protocol'], ['2001:4:113::', 'ietf-protocol']],
  ['2001:10::/28 (deprecated ORCHID)', 'ietf-protocol', '2001:10::', '2001:1f:ffff:ffff:ffff:ffff:ffff:ffff', ['2001:f:ffff:ffff:ffff:ffff:ffff:ffff', 'ietf-protocol'], ['2001:20::', 'public']],
  ['2001:20::/28 (ORCHIDv2)', 'public', '2001:20::', '2001:2f:ffff:ffff:ffff:ffff:ffff:ffff', ['2001:1f:ffff:ffff:ffff:ffff:ffff:ffff', 'ietf-protocol'], ['2001:30::', 'public']],
  ['2001:30::/28 (DRIP entity tags)', 'public', '2001:30::', '2001:3f:ffff:ffff:ffff:ffff:ffff:ffff', ['2001:2f:ffff:ffff:ffff:ffff:ffff:ffff', 'public'], ['2001:40::', 'ietf-protocol']],
  ['2001::/23 (rest)', 'ietf-protocol', '2001:40::', '2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff', null, ['2001:200::', 'public']],
  ['2001:db8::/32', 'documentation', '2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', ['2001:db7:ffff:ffff:ffff:ffff:ffff:ffff', 'public'], ['2001:db9::', 'public']],
  ['2002::/16', '6to4', '2002::', '2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff', ['2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'public'], ['2003::', 'public']],
  ['2000::/3', 'public', '2000::', '3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff', ['1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'], ['3fff::', 'documentation']],
  ['3fff::/20', 'documentation', '3fff::', '3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff', ['3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'public'], ['3fff:1000::', 'public']],
  ['3fff:1000::-3fff:ffff:... (end of 2000::/3)', 'public', '3fff:1000::', '3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', null, ['4000::', 'reserved']],
  ['5f00::/16 (SRv6 SIDs)', 'reserved', '5f00::', '5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff', ['5eff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'], ['5f01::', 'reserved']],
  ['fc00::/7', 'unique-local', 'fc00::', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', ['fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'], ['fe00::', 'reserved']],
  ['fe80::/10', 'link-local', 'fe80::', 'febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff', ['fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'], ['fec0::', 'site-local']],
  ['fec0::/10 (deprecated site-local)', 'site-local', 'fec0::', 'feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', ['febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'link-local'], ['ff00::', 'multicast']],
  ['ff00::/8', 'multicast', 'ff00::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', ['feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'site-local'], null],
];

describe.each([
  ['IPv4', IPV4_RANGES],
  ['IPv6', IPV6_RANGES],
])('classifyAddress, %s special-purpose ranges', (_family, rows) => {
  describe.each(rows)('%s', (_range, cls, first, last, below, above) => {
    it(`classifies the first address ${first} as ${cls}`, () => {
      // Act
      const result = classOf(first);

      // Assess
      expect(result).toBe(cls);
    });

    it(`classifies the last address ${last} as ${cls}`, () => {
      // Act
      const result = classOf(last);

      // Assess
      expect(result).toBe(cls);
    });

    if (below) {
      it(`classifies ${below[0]}, just below, as ${below[1]}`, () => {
        // Act
        const result = classOf(below[0]);

        // Assess
        expect(result).toBe(below[1]);
      });
    }

    if (above) {
      it(`classifies ${above[0]}, just above, as ${above[1]}`, () => {
        // Act
        const result = classOf(above[0]);

        // Assess
        expect(result).toBe(above[1]);
      });
    }
  });
});

describe('classifyAddress, everyday addresses', () => {
  it.each([
    ['192.168.1.1', 'private'],
    ['10.1.2.3', 'private'],
    ['172.20.0.5', 'private'],
    ['100.64.0.1', 'carrier-grade-nat'],
    ['127.0.0.1', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['224.0.0.251', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['1.2.4.8', 'public'],
    ['2a00:1450::1', 'public'],
    ['2001:4860:4860::8888', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['fe80::1%eth0', 'link-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    ['ff02::fb', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
  ] as [string, AddressClass][])('classifies %s as %s', (text, cls) => {
    // Act
    const result = classOf(text);

    // Assess
    expect(result).toBe(cls);
  });

  it.each([
    ['::ffff:192.168.1.1', 'private'],
    ['::ffff:8.8.8.8', 'public'],
    ['::ffff:100.64.0.1', 'carrier-grade-nat'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['64:ff9b::8.8.8.8', 'public'],
  ] as [string, AddressClass][])(
    'classifies %s by the IPv4 address it carries (%s)',
    (text, cls) => {
      // Act
      const result = classOf(text);

      // Assess
      expect(result).toBe(cls);
    },
  );

  it.each(['::1.2.3.4', '::ffff:0:1.2.3.4'])(
    'classifies the deprecated IPv4-compatible or translated form %s as reserved',
    (text) => {
      // Act
      const result = classOf(text);

      // Assess
      expect(result).toBe('reserved');
    },
  );
});

describe('isPublicClass', () => {
  it('treats only public addresses as globally routable', () => {
    // Prepare
    const classes: AddressClass[] = [
      'public',
      'private',
      'carrier-grade-nat',
      'loopback',
      'link-local',
      'multicast',
      'broadcast',
      'documentation',
      'benchmarking',
      'reserved',
      'unspecified',
      'this-network',
      'ietf-protocol',
      'unique-local',
      'site-local',
      'discard-only',
      'teredo',
      '6to4',
      'local-nat64',
    ];

    // Act
    const publicOnes = classes.filter(isPublicClass);

    // Assess
    expect(publicOnes).toEqual(['public']);
  });
});

describe('isLinkScoped', () => {
  it.each([
    ['224.0.0.251', true], // mDNS
    ['224.0.0.252', true], // LLMNR
    ['224.0.0.0', true],
    ['224.0.0.255', true],
    ['255.255.255.255', true], // limited broadcast (DHCP)
    ['ff02::fb', true], // mDNS over IPv6
    ['ff02::1:2', true], // DHCPv6 relays and servers
    ['ff01::1', true], // interface-local
    ['ff12::8000:1', true], // transient, link-local scope
    ['::ffff:224.0.0.251', true],
    ['224.0.1.1', false], // NTP: routed multicast
    ['239.255.255.250', false], // SSDP: organisation-local, not link-scoped
    ['223.255.255.255', false],
    ['192.168.1.255', false], // a directed broadcast is routable toward its network
    ['ff05::1:3', false], // site-local scope
    ['ff0e::1', false], // global scope
    ['fe80::1', false], // link-local unicast: a host on the link, but it may be the remote party
    ['8.8.8.8', false],
  ])('%s: %s', (text, expected) => {
    expect(isLinkScoped(parseIp(text)!)).toBe(expected);
  });
});
