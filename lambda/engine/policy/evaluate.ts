/**
 * Decides the status of one remote address under a policy. Called once per distinct address, so
 * it may be as careful as it likes.
 */
import type { GeoLookup } from '../geo/geo-lookup';
import { classifyAddress } from '../net/address-class';
import { cidrContains, type ParsedIp } from '../net/ip';
import type { AddressClass } from '../types';
import type { CompiledPolicy } from './policy';

/** What the engine knows about an address before it sees any traffic. */
export interface AddressFacts {
  /** Canonical text of the address. */
  readonly ip: string;
  readonly addressClass: AddressClass;
  /** Inside the monitored networks (policy `localNetworks`). */
  readonly local: boolean;
  /** Country from the first database that knows it, null when none does or the address is not public. */
  readonly country: string | null;
  /** Each database's answer, by database name (public addresses only). */
  readonly countries: Readonly<Record<string, string | null>>;
  /** Status before traffic is considered (a verdict may still turn a violation into `blocked`). */
  readonly status: 'allowed' | 'violation' | 'unknown' | 'non-public';
  /** Why: the rule that fired, in words. */
  readonly rule: string | null;
}

/** Is the address on the monitored side? */
export function isLocal(ip: ParsedIp, cls: AddressClass, policy: CompiledPolicy): boolean {
  if (policy.localIncludesNonPublic && cls !== 'public') return true;
  for (const cidr of policy.localCidrs) if (cidrContains(cidr, ip)) return true;
  return false;
}

/** Classifies, locates and judges one address. */
export function evaluateAddress(
  ip: ParsedIp,
  policy: CompiledPolicy,
  geos: readonly GeoLookup[],
): AddressFacts {
  const addressClass = classifyAddress(ip);
  const local = isLocal(ip, addressClass, policy);
  const base = { ip: ip.text, addressClass, local };
  if (addressClass !== 'public' || local) {
    return { ...base, country: null, countries: {}, status: 'non-public', rule: null };
  }
  const countries: Record<string, string | null> = {};
  let country: string | null = null;
  for (const geo of geos) {
    const c = geo.country(ip.text);
    countries[geo.info.name] = c;
    if (country === null) country = c;
  }
  for (const cidr of policy.allowCidrs) {
    if (cidrContains(cidr, ip)) {
      return { ...base, country, countries, status: 'allowed', rule: `${cidr.text} is in allowCidrs` };
    }
  }
  if (country === null) {
    return policy.policy.unknown === 'fail'
      ? { ...base, country, countries, status: 'violation', rule: 'no database knows where this address is (policy unknown: fail)' }
      : { ...base, country, countries, status: 'unknown', rule: 'no database knows where this address is (policy unknown: warn)' };
  }
  if (policy.denied.has(country)) {
    const by = policy.policy.deniedBy[country] ?? 'deniedCountries';
    return { ...base, country, countries, status: 'violation', rule: `${country} is denied by ${by}` };
  }
  if (policy.allowed && !policy.allowed.has(country)) {
    return {
      ...base,
      country,
      countries,
      status: 'violation',
      rule: `${country} is not in the allowed set ${policy.allowedLabel}`,
    };
  }
  return { ...base, country, countries, status: 'allowed', rule: null };
}
