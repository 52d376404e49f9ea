/**
 * Classifies addresses with the IANA IPv4 and IPv6 Special-Purpose Address Registries
 * (https://www.iana.org/assignments/iana-ipv4-special-registry,
 * https://www.iana.org/assignments/iana-ipv6-special-registry) plus multicast (RFC 5771, RFC 4291).
 * Classification happens before geolocation: GeoIP databases answer for private ranges too (the
 * bundled one places 192.168.1.1 in AU and 2001:db8::1 in JP).
 */
import type { AddressClass } from '../types';
import type { ParsedIp } from './ip';

/** Classes whose addresses are globally reachable and so can be geolocated. */
export function isPublicClass(c: AddressClass): boolean {
  return c === 'public';
}

function classifyIpv4(v: number): AddressClass {
  const a = v >>> 24;
  const b = (v >>> 16) & 255;
  const c = (v >>> 8) & 255;
  const d = v & 255;
  switch (a) {
    case 0:
      return 'this-network';
    case 10:
      return 'private';
    case 100:
      return b >= 64 && b <= 127 ? 'carrier-grade-nat' : 'public';
    case 127:
      return 'loopback';
    case 169:
      return b === 254 ? 'link-local' : 'public';
    case 172:
      return b >= 16 && b <= 31 ? 'private' : 'public';
    case 192:
      if (b === 168) return 'private';
      // 192.0.0.0/24 is IETF protocol assignments; PCP (RFC 7723) and TURN (RFC 8155) anycast
      // inside it are globally reachable, as their IPv6 twins 2001:1::1 and 2001:1::2 are.
      if (b === 0 && c === 0) return d === 9 || d === 10 ? 'public' : 'ietf-protocol';
      if (b === 0 && c === 2) return 'documentation';
      if (b === 88 && c === 99) return 'reserved'; // deprecated 6to4 relay anycast (RFC 7526)
      return 'public';
    case 198:
      if (b === 18 || b === 19) return 'benchmarking';
      if (b === 51 && c === 100) return 'documentation';
      return 'public';
    case 203:
      return b === 0 && c === 113 ? 'documentation' : 'public';
    default:
      if (a >= 224 && a <= 239) return 'multicast';
      if (v === 0xffffffff) return 'broadcast';
      if (a >= 240) return 'reserved';
      return 'public';
  }
}

function classifyIpv6(g: readonly number[]): AddressClass {
  const g0 = g[0]!;
  if (g0 === 0) {
    if (g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0 && g[6] === 0) {
      if (g[7] === 0) return 'unspecified';
      if (g[7] === 1) return 'loopback';
    }
    return 'reserved';
  }
  if (g0 === 0x64 && g[1] === 0xff9b && g[2] === 1) return 'local-nat64'; // 64:ff9b:1::/48
  if (g0 === 0x100 && g[1] === 0 && g[2] === 0 && g[3] === 0) return 'discard-only'; // 100::/64
  if (g0 === 0x2001) {
    const g1 = g[1]!;
    if (g1 === 0) return 'teredo'; // 2001::/32
    if (g1 === 2 && g[2] === 0) return 'benchmarking'; // 2001:2::/48
    if (g1 === 0xdb8) return 'documentation'; // 2001:db8::/32
    // 2001::/23 is IETF protocol assignments; a few inside it are globally reachable anycast.
    if (g1 < 0x200) {
      if (g1 === 1 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0 && g[6] === 0) {
        return g[7] === 1 || g[7] === 2 || g[7] === 3 ? 'public' : 'ietf-protocol';
      }
      if (g1 === 3) return 'public'; // AMT, 2001:3::/32
      if (g1 === 4 && g[2] === 0x112) return 'public'; // AS112-v6, 2001:4:112::/48
      if (g1 >= 0x20 && g1 <= 0x2f) return 'public'; // ORCHIDv2 is not routed, but is assigned
      if (g1 >= 0x30 && g1 <= 0x3f) return 'public'; // DRIP entity tags, 2001:30::/28 (RFC 9374)
      return 'ietf-protocol';
    }
    return 'public';
  }
  if (g0 === 0x2002) return '6to4'; // 2002::/16
  if (g0 === 0x3fff && g[1]! < 0x1000) return 'documentation'; // 3fff::/20 (RFC 9637)
  if (g0 === 0x5f00) return 'reserved'; // SRv6 SIDs, 5f00::/16
  if (g0 >= 0xfc00 && g0 <= 0xfdff) return 'unique-local';
  if (g0 >= 0xfe80 && g0 <= 0xfebf) return 'link-local';
  if (g0 >= 0xfec0 && g0 <= 0xfeff) return 'site-local';
  if (g0 >= 0xff00) return 'multicast';
  if (g0 >= 0x2000 && g0 <= 0x3fff) return 'public'; // global unicast, 2000::/3
  return 'reserved';
}

/**
 * Whether packets to `ip` never leave the link they were sent on: IPv4's local network control
 * block 224.0.0.0/24 (mDNS, LLMNR, routing protocols) and limited broadcast 255.255.255.255, and
 * IPv6 multicast of interface-local or link-local scope (ff01::/16, ff02::/16, with any flags). Who
 * sent to one was on the observed link, so inside the monitored networks (Aggregator.flow).
 */
export function isLinkScoped(ip: ParsedIp): boolean {
  if (ip.version === 4) return ip.v4 >>> 8 === 0xe00000 || ip.v4 === 0xffffffff;
  const g0 = ip.groups[0]!;
  const scope = g0 & 0x0f;
  return g0 >= 0xff00 && (scope === 1 || scope === 2);
}

/** The special-purpose class of an address, or `public` when it is globally routable unicast. */
export function classifyAddress(ip: ParsedIp): AddressClass {
  return ip.version === 4 ? classifyIpv4(ip.v4) : classifyIpv6(ip.groups);
}
