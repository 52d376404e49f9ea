import {
  cidrContains,
  formatIpv4,
  formatIpv6,
  parseCidr,
  parseIp,
  parseIpv4,
  parseIpv6,
  type Cidr,
  type ParsedIp,
} from '../../../lambda/engine/net/ip';

const ip = (text: string): ParsedIp => {
  const parsed = parseIp(text);
  if (!parsed) throw new Error(`test setup: ${text} should parse`);
  return parsed;
};
const cidr = (text: string): Cidr => {
  const parsed = parseCidr(text);
  if (!parsed) throw new Error(`test setup: ${text} should parse as a CIDR`);
  return parsed;
};

describe('parseIpv4', () => {
  it.each([
    ['0.0.0.0', 0],
    ['1.2.3.4', 0x01020304],
    ['8.8.8.8', 0x08080808],
    ['10.0.0.1', 0x0a000001],
    ['192.168.1.1', 0xc0a80101],
    ['255.255.255.255', 0xffffffff],
  ])('reads %s as the 32-bit number %d', (text, expected) => {
    // Act
    const value = parseIpv4(text);

    // Assess
    expect(value).toBe(expected);
  });

  it.each([
    ['300.8.8.8', 'an octet above 255'],
    ['256.0.0.0', 'an octet of 256'],
    ['1.2.3.256', 'a last octet of 256'],
    ['1.2.3', 'three octets (inet_aton would read 1.2.0.3)'],
    ['1.2', 'two octets'],
    ['16909060', 'a bare 32-bit number'],
    ['1.2.3.4.5', 'five octets'],
    ['010.1.1.1', 'a leading zero (octal to some tools)'],
    ['1.2.3.04', 'a leading zero in the last octet'],
    ['00.1.1.1', 'a doubled zero'],
    ['0x7f.0.0.1', 'a hex octet'],
    ['1.2.3.4.', 'a trailing dot'],
    ['.1.2.3.4', 'a leading dot'],
    ['1..3.4', 'an empty octet'],
    ['', 'the empty string'],
    [' 1.2.3.4', 'a leading space'],
    ['1.2.3.4 ', 'a trailing space'],
    ['1.2. 3.4', 'an inner space'],
    ['1.2.3.-4', 'a sign'],
    ['1.2.3.4/32', 'a prefix length'],
    ['1.2.3.4:80', 'a port'],
    ['１.2.3.4', 'a full-width digit'],
  ])('rejects %j (%s)', (text) => {
    // Act
    const value = parseIpv4(text);

    // Assess
    expect(value).toBeNull();
  });
});

describe('parseIpv6', () => {
  it.each([
    ['::', [0, 0, 0, 0, 0, 0, 0, 0]],
    ['::1', [0, 0, 0, 0, 0, 0, 0, 1]],
    ['1::', [1, 0, 0, 0, 0, 0, 0, 0]],
    ['2001:db8::1', [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]],
    ['2001:DB8::A', [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xa]],
    ['2001:db8:0:0:1:0:0:1', [0x2001, 0xdb8, 0, 0, 1, 0, 0, 1]],
    ['1:2:3:4:5:6:7:8', [1, 2, 3, 4, 5, 6, 7, 8]],
    [
      'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      [0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff],
    ],
    ['1:2:3:4:5:6:7::', [1, 2, 3, 4, 5, 6, 7, 0]],
    ['::2:3:4:5:6:7:8', [0, 2, 3, 4, 5, 6, 7, 8]],
    ['1::8', [1, 0, 0, 0, 0, 0, 0, 8]],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]],
    ['::1.2.3.4', [0, 0, 0, 0, 0, 0, 0x0102, 0x0304]],
    ['::ffff:1.2.3.4', [0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]],
    ['1:2:3:4:5:6:1.2.3.4', [1, 2, 3, 4, 5, 6, 0x0102, 0x0304]],
    ['2001:db8::192.0.2.33', [0x2001, 0xdb8, 0, 0, 0, 0, 0xc000, 0x0221]],
    ['fe80::1%eth0', [0xfe80, 0, 0, 0, 0, 0, 0, 1]],
    ['fe80::1%25', [0xfe80, 0, 0, 0, 0, 0, 0, 1]],
    ['[2001:db8::1]', [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]],
    ['[fe80::1%eth0]', [0xfe80, 0, 0, 0, 0, 0, 0, 1]],
  ])('reads %s as its eight groups', (text, expected) => {
    // Act
    const groups = parseIpv6(text);

    // Assess
    expect(groups).toEqual(expected);
  });

  it.each([
    [':::', 'three colons'],
    ['1::2::3', 'two double colons'],
    ['1:2:3:4:5:6:7:8:9', 'nine groups'],
    ['1:2:3:4:5:6:7', 'seven groups without ::'],
    ['1:2:3:4::5:6:7:8', 'eight groups and ::'],
    ['::1:2:3:4:5:6:7:8', 'a leading :: before eight groups'],
    ['1:2:3:4:5:6:7:8::', 'a trailing :: after eight groups'],
    ['12345::1', 'a five-hex-digit group'],
    ['2001:db8::g', 'a non-hex digit'],
    [':1::', 'a single leading colon'],
    ['1::2:', 'a single trailing colon'],
    ['1:2:3:4:5:6:7:8:', 'a trailing colon after eight groups'],
    ['1:2:3:4:5:6:7:1.2.3.4', 'a dotted quad after seven groups'],
    ['::ffff:1.2.3', 'a three-octet dotted quad'],
    ['::ffff:300.2.3.4', 'an out-of-range dotted quad'],
    ['::ffff:01.2.3.4', 'a dotted quad with a leading zero'],
    ['::1.2.3.4:1', 'a group after the dotted quad'],
    ['fe80::1%', 'an empty zone id'],
    ['[::1', 'an unclosed bracket'],
    ['::1]', 'a stray closing bracket'],
    ['[]', 'empty brackets'],
    [':', 'a lone colon'],
    ['', 'the empty string'],
    [' ::1', 'a leading space'],
    ['2001:db8::1 ', 'a trailing space'],
    ['1.2.3.4', 'a bare IPv4 address'],
  ])('rejects %j (%s)', (text) => {
    // Act
    const groups = parseIpv6(text);

    // Assess
    expect(groups).toBeNull();
  });
});

describe('parseIp', () => {
  it('keeps the text of an IPv4 address as written', () => {
    // Act
    const parsed = parseIp('8.8.8.8');

    // Assess
    expect(parsed).toEqual({ version: 4, v4: 0x08080808, text: '8.8.8.8' });
  });

  it.each([
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:0DB8:0000:0000:0000:ff00:0042:8329', '2001:db8::ff00:42:8329'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['FE80::ABCD', 'fe80::abcd'],
  ])('canonicalises %s to the RFC 5952 form %s', (text, canonical) => {
    // Act
    const parsed = parseIp(text);

    // Assess
    expect(parsed).toMatchObject({ version: 6, text: canonical });
  });

  it.each([
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::FFFF:8.8.8.8', '8.8.8.8'],
    ['::ffff:0102:0304', '1.2.3.4'],
    ['0:0:0:0:0:ffff:c0a8:0101', '192.168.1.1'],
    ['[::ffff:10.0.0.1]', '10.0.0.1'],
  ])('turns the IPv4-mapped address %s into the IPv4 address %s', (text, v4) => {
    // Act
    const parsed = parseIp(text);

    // Assess
    expect(parsed).toEqual({ version: 4, v4: parseIpv4(v4), text: v4 });
  });

  it.each([
    ['64:ff9b::1.2.3.4', '1.2.3.4'],
    ['64:ff9b::808:808', '8.8.8.8'],
    ['64:FF9B:0:0:0:0:a00:1', '10.0.0.1'],
  ])('turns the NAT64 well-known-prefix address %s into the IPv4 address %s', (text, v4) => {
    // Act
    const parsed = parseIp(text);

    // Assess
    expect(parsed).toEqual({ version: 4, v4: parseIpv4(v4), text: v4 });
  });

  it.each(['::1.2.3.4', '::ffff:0:1.2.3.4', '64:ff9b:1::1.2.3.4', '::fffe:1.2.3.4'])(
    'keeps %s as IPv6 (neither IPv4-mapped nor the NAT64 well-known prefix)',
    (text) => {
      // Act
      const parsed = parseIp(text);

      // Assess
      expect(parsed?.version).toBe(6);
    },
  );

  it.each(['', '300.8.8.8', '1.2.3', ':::', '1::2::3', 'example.com', '1.2.3.4%eth0', 'localhost'])(
    'rejects %j',
    (text) => {
      // Act
      const parsed = parseIp(text);

      // Assess
      expect(parsed).toBeNull();
    },
  );
});

describe('formatIpv4 and formatIpv6', () => {
  it.each([
    [0, '0.0.0.0'],
    [0x01020304, '1.2.3.4'],
    [0x80000000, '128.0.0.0'],
    [0xffffffff, '255.255.255.255'],
  ])('formats %d as %s', (value, text) => {
    // Act
    const formatted = formatIpv4(value);

    // Assess
    expect(formatted).toBe(text);
  });

  it.each([
    [[0, 0, 0, 0, 0, 0, 0, 0], '::'],
    [[1, 0, 0, 0, 0, 0, 0, 0], '1::'],
    [[0, 0, 0, 0, 0, 0, 0, 1], '::1'],
    [[1, 0, 1, 0, 1, 0, 1, 0], '1:0:1:0:1:0:1:0'],
    [[1, 0, 0, 1, 0, 0, 1, 0], '1::1:0:0:1:0'],
    [[0x2001, 0xdb8, 0, 0, 1, 0, 0, 0], '2001:db8:0:0:1::'],
    [
      [0xabcd, 0, 0xabcd, 0xabcd, 0xabcd, 0xabcd, 0xabcd, 0xabcd],
      'abcd:0:abcd:abcd:abcd:abcd:abcd:abcd',
    ],
  ])(
    'formats %j as %s (longest zero run, first on a tie, never a single group)',
    (groups, text) => {
      // Act
      const formatted = formatIpv6(groups);

      // Assess
      expect(formatted).toBe(text);
    },
  );
});

describe('parseCidr', () => {
  it.each([
    ['10.0.0.0/8', { version: 4, text: '10.0.0.0/8', v4: 0x0a000000, bits: 8 }],
    ['10.1.2.3/8', { version: 4, text: '10.0.0.0/8', v4: 0x0a000000, bits: 8 }],
    ['192.168.1.1/32', { version: 4, text: '192.168.1.1/32', v4: 0xc0a80101, bits: 32 }],
    ['203.0.113.7', { version: 4, text: '203.0.113.7/32', v4: 0xcb007107, bits: 32 }],
    ['0.0.0.0/0', { version: 4, text: '0.0.0.0/0', v4: 0, bits: 0 }],
    ['255.255.255.255/1', { version: 4, text: '128.0.0.0/1', v4: 0x80000000, bits: 1 }],
    ['::ffff:10.0.0.0/104', { version: 4, text: '10.0.0.0/8', v4: 0x0a000000, bits: 8 }],
  ])('reads %s as the IPv4 network %j', (text, expected) => {
    // Act
    const parsed = parseCidr(text);

    // Assess
    expect(parsed).toMatchObject(expected);
  });

  it.each([
    ['2001:db8::/32', '2001:db8::/32', 32],
    ['2001:db8:ffff::1/32', '2001:db8::/32', 32],
    ['fe80::/10', 'fe80::/10', 10],
    ['fe80:1234::/10', 'fe80::/10', 10],
    ['::/0', '::/0', 0],
    ['2001:db8::1', '2001:db8::1/128', 128],
    ['2001:db8::1/128', '2001:db8::1/128', 128],
    ['[2001:db8::]/48', '2001:db8::/48', 48],
    ['2001:db8:abcd:12ff::/63', '2001:db8:abcd:12fe::/63', 63],
  ])('reads %s as the IPv6 network %s', (text, canonical, bits) => {
    // Act
    const parsed = parseCidr(text);

    // Assess
    expect(parsed).toMatchObject({ version: 6, text: canonical, bits });
  });

  it.each([
    ['1.2.3.4/33', 'an IPv4 mask above 32'],
    ['2001:db8::/129', 'an IPv6 mask above 128'],
    ['1.2.3.4/', 'an empty mask'],
    ['1.2.3.4/-1', 'a negative mask'],
    ['1.2.3.4/a', 'a non-numeric mask'],
    ['1.2.3.4/ 8', 'a space in the mask'],
    ['1.2.3.4/1000', 'a four-digit mask'],
    ['1.2.3.4/255.0.0.0', 'a dotted netmask'],
    ['10.0.0.0/8/8', 'two masks'],
    ['300.0.0.0/8', 'an invalid address'],
    ['/8', 'no address'],
    ['', 'the empty string'],
    ['::ffff:10.0.0.0/90', 'an IPv4-mapped network shorter than the mapping prefix'],
  ])('rejects %j (%s)', (text) => {
    // Act
    const parsed = parseCidr(text);

    // Assess
    expect(parsed).toBeNull();
  });
});

describe('cidrContains', () => {
  it.each([
    ['10.0.0.0/8', '10.0.0.0', true],
    ['10.0.0.0/8', '10.255.255.255', true],
    ['10.0.0.0/8', '9.255.255.255', false],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['172.16.0.0/12', '172.31.255.255', true],
    ['172.16.0.0/12', '172.32.0.0', false],
    ['203.0.113.7/32', '203.0.113.7', true],
    ['203.0.113.7/32', '203.0.113.8', false],
    ['0.0.0.0/0', '0.0.0.0', true],
    ['0.0.0.0/0', '255.255.255.255', true],
    ['128.0.0.0/1', '200.1.1.1', true],
    ['128.0.0.0/1', '127.255.255.255', false],
    ['255.255.255.255/32', '255.255.255.255', true],
    ['10.0.0.0/8', '::ffff:10.1.2.3', true],
    ['10.0.0.0/8', '64:ff9b::10.1.2.3', true],
  ])('%s contains %s: %s', (network, address, expected) => {
    // Act
    const contains = cidrContains(cidr(network), ip(address));

    // Assess
    expect(contains).toBe(expected);
  });

  it.each([
    ['2001:db8::/32', '2001:db8::', true],
    ['2001:db8::/32', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', true],
    ['2001:db8::/32', '2001:db9::', false],
    ['2001:db8::/32', '2001:db7:ffff:ffff:ffff:ffff:ffff:ffff', false],
    ['fe80::/10', 'febf:ffff::1', true],
    ['fe80::/10', 'fec0::', false],
    ['2001:db8::1/128', '2001:db8::1', true],
    ['2001:db8::1/128', '2001:db8::2', false],
    ['2001:db8::1/128', '2001:db8::', false],
    ['::/0', '::', true],
    ['::/0', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', true],
    ['2001:db8:abcd:12fe::/63', '2001:db8:abcd:12ff:1::', true],
    ['2001:db8:abcd:12fe::/63', '2001:db8:abcd:1300::', false],
  ])('%s contains %s: %s', (network, address, expected) => {
    // Act
    const contains = cidrContains(cidr(network), ip(address));

    // Assess
    expect(contains).toBe(expected);
  });

  it.each([
    ['::/0', '1.2.3.4'],
    ['0.0.0.0/0', '2001:db8::1'],
    ['10.0.0.0/8', '::a00:1'],
  ])('never matches across address families: %s does not contain %s', (network, address) => {
    // Act
    const contains = cidrContains(cidr(network), ip(address));

    // Assess
    expect(contains).toBe(false);
  });
});
