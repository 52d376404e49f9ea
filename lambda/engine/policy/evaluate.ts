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

function facts(
  ip: ParsedIp,
  addressClass: AddressClass,
  local: boolean,
  country: string | null,
  countries: Record<string, string | null>,
  status: AddressFacts['status'],
  rule: string | null,
): AddressFacts {
  return { ip: ip.text, addressClass, local, country, countries, status, rule };
}

const NO_COUNTRIES: Readonly<Record<string, string | null>> = Object.freeze({});

/** Classifies, locates and judges one address. */
export function evaluateAddress(
  ip: ParsedIp,
  policy: CompiledPolicy,
  geos: readonly GeoLookup[],
): AddressFacts {
  const addressClass = classifyAddress(ip);
  const local = isLocal(ip, addressClass, policy);
  if (addressClass !== 'public' || local) {
    return facts(ip, addressClass, local, null, NO_COUNTRIES, 'non-public', null);
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
      return facts(ip, addressClass, local, country, countries, 'allowed', `${cidr.text} is in allowCidrs`);
    }
  }
  if (country === null) {
    const fail = policy.policy.unknown === 'fail';
    return facts(
      ip,
      addressClass,
      local,
      null,
      countries,
      fail ? 'violation' : 'unknown',
      `no database knows where this address is (policy unknown: ${fail ? 'fail' : 'warn'})`,
    );
  }
  if (policy.denied.has(country)) {
    const by = policy.policy.deniedBy[country] ?? 'deniedCountries';
    return facts(ip, addressClass, local, country, countries, 'violation', `${country} is denied by ${by}`);
  }
  if (policy.allowed && !policy.allowed.has(country)) {
    return facts(ip, addressClass, local, country, countries, 'violation', `${country} is not in the allowed set ${policy.allowedLabel}`);
  }
  return facts(ip, addressClass, local, country, countries, 'allowed', null);
}
