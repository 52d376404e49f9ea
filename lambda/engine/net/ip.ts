/**
 * Strict IP address parsing. `maxmind` answers for malformed input (`300.8.8.8` gives a country,
 * `1.2.3` is read as `1.2.0.3`), so every address is validated here before it is looked up.
 */

/** A parsed address: IPv4 as a 32-bit number, IPv6 as eight 16-bit groups. */
export type ParsedIp =
  | { readonly version: 4; readonly v4: number; readonly text: string }
  | { readonly version: 6; readonly groups: readonly number[]; readonly text: string };

/**
 * Parses a dotted-quad IPv4 address: exactly four decimal octets 0-255 without leading zeros
 * (`010.0.0.1` is ambiguous: some tools read it as octal).
 */
export function parseIpv4(s: string): number | null {
  let value = 0;
  let octets = 0;
  let i = 0;
  const n = s.length;
  while (octets < 4) {
    const start = i;
    let octet = 0;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      octet = octet * 10 + (c - 48);
      i++;
    }
    const len = i - start;
    if (len === 0 || len > 3 || octet > 255 || (len > 1 && s.charCodeAt(start) === 48)) return null;
    value = value * 256 + octet;
    octets++;
    if (octets < 4) {
      if (i >= n || s.charCodeAt(i) !== 46) return null;
      i++;
    }
  }
  return i === n ? value : null;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Parses an IPv6 address (RFC 4291 text forms, including an embedded dotted quad). A zone id
 * (`fe80::1%eth0`) is dropped; brackets (`[2001:db8::1]`) are accepted.
 */
export function parseIpv6(input: string): number[] | null {
  let s = input;
  if (s.length > 2 && s.charCodeAt(0) === 91 && s.charCodeAt(s.length - 1) === 93) {
    s = s.slice(1, -1);
  }
  const zone = s.indexOf('%');
  if (zone >= 0) {
    if (zone === s.length - 1) return null;
    s = s.slice(0, zone);
  }
  if (s.length < 2 || s.length > 45) return null;
  const head: number[] = [];
  const tail: number[] = [];
  let target = head;
  let seenDoubleColon = false;
  let i = 0;
  const n = s.length;
  if (s.startsWith('::')) {
    seenDoubleColon = true;
    target = tail;
    i = 2;
    if (i === n) return [0, 0, 0, 0, 0, 0, 0, 0];
  } else if (s.charCodeAt(0) === 58) {
    return null;
  }
  while (i < n) {
    // A dotted quad may end the address.
    const rest = s.slice(i);
    if (rest.indexOf('.') >= 0 && rest.indexOf(':') < 0) {
      const v4 = parseIpv4(rest);
      if (v4 === null) return null;
      target.push(Math.floor(v4 / 65536), v4 & 0xffff);
      break;
    }
    let value = 0;
    let digits = 0;
    while (i < n) {
      const h = hexValue(s.charCodeAt(i));
      if (h < 0) break;
      value = value * 16 + h;
      digits++;
      i++;
    }
    if (digits === 0 || digits > 4) return null;
    target.push(value);
    if (i === n) break;
    if (s.charCodeAt(i) !== 58) return null;
    i++;
    if (i < n && s.charCodeAt(i) === 58) {
      if (seenDoubleColon) return null;
      seenDoubleColon = true;
      target = tail;
      i++;
      if (i === n) break;
    } else if (i === n) {
      return null;
    }
  }
  const total = head.length + tail.length;
  if (seenDoubleColon ? total > 7 : total !== 8) return null;
  const groups = head.slice();
  for (let k = total; k < 8; k++) groups.push(0);
  for (let k = 0; k < tail.length; k++) groups[8 - tail.length + k] = tail[k]!;
  return groups;
}

/** Formats a 32-bit number as a dotted quad. */
export function formatIpv4(v: number): string {
  return `${Math.floor(v / 16777216) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** Formats eight groups as RFC 5952 canonical text (lower case, longest zero run compressed). */
export function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  // Built by concatenation: no array per address (tens of thousands of destinations).
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i !== bestStart + bestLen) out += ':';
    out += groups[i]!.toString(16);
  }
  return out;
}

/**
 * Parses an IPv4 or IPv6 address into canonical form. IPv4-mapped IPv6 (`::ffff:a.b.c.d`) and the
 * NAT64 well-known prefix (`64:ff9b::a.b.c.d`, RFC 6052) become the IPv4 address they carry.
 */
export function parseIp(s: string): ParsedIp | null {
  if (s.indexOf(':') < 0) {
    const v4 = parseIpv4(s);
    return v4 === null ? null : { version: 4, v4, text: s };
  }
  const g = parseIpv6(s);
  if (g === null) return null;
  const mapped = g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff;
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0;
  if (mapped || nat64) {
    const v4 = g[6]! * 65536 + g[7]!;
    return { version: 4, v4, text: formatIpv4(v4) };
  }
  return { version: 6, groups: g, text: formatIpv6(g) };
}

/** A network in CIDR notation. */
export interface Cidr {
  readonly version: 4 | 6;
  readonly text: string;
  /** IPv4: network as a number; IPv6: network groups. */
  readonly v4: number;
  readonly groups: readonly number[];
  readonly bits: number;
}

/** Parses `a.b.c.d/n` or `x::/n` (a bare address is a host route). Returns null when invalid. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const addrText = slash >= 0 ? text.slice(0, slash) : text;
  const bitsText = slash >= 0 ? text.slice(slash + 1) : '';
  const ip = parseIp(addrText);
  if (ip === null) return null;
  const isV6Text = addrText.indexOf(':') >= 0;
  const max = isV6Text ? 128 : 32;
  let bits = max;
  if (slash >= 0) {
    if (!/^\d{1,3}$/.test(bitsText)) return null;
    bits = Number(bitsText);
    if (bits > max) return null;
  }
  if (ip.version === 4) {
    // An IPv4-mapped network written in IPv6 form keeps only the bits past the mapping prefix.
    const v4bits = isV6Text ? bits - 96 : bits;
    if (v4bits < 0) return null;
    const mask = v4bits === 0 ? 0 : (0xffffffff << (32 - v4bits)) >>> 0;
    const v4 = (ip.v4 & mask) >>> 0;
    return { version: 4, text: `${formatIpv4(v4)}/${v4bits}`, v4, groups: [], bits: v4bits };
  }
  const groups = ip.groups.map((g, i) => {
    const keep = Math.max(0, Math.min(16, bits - i * 16));
    return keep === 0 ? 0 : g & ((0xffff << (16 - keep)) & 0xffff);
  });
  return { version: 6, text: `${formatIpv6(groups)}/${bits}`, v4: 0, groups, bits };
}

/** True when the address lies inside the network. */
export function cidrContains(cidr: Cidr, ip: ParsedIp): boolean {
  if (cidr.version !== ip.version) return false;
  if (ip.version === 4) {
    if (cidr.bits === 0) return true;
    const mask = (0xffffffff << (32 - cidr.bits)) >>> 0;
    return ((ip.v4 & mask) >>> 0) === cidr.v4;
  }
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, cidr.bits - i * 16));
    if (keep === 0) return true;
    const mask = (0xffff << (16 - keep)) & 0xffff;
    if ((ip.groups[i]! & mask) !== cidr.groups[i]) return false;
  }
  return true;
}
