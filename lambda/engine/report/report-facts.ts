/** Facts every report format states the same way: the result word, the policy in plain words. */
import type { Policy } from '../policy/policy';
import type { Verdict } from '../verdict/verdict';
import { countryName } from './country-names';

/** Countries named in full before the rest are counted ("and 12 more"). */
const MAX_NAMED_COUNTRIES = 30;

/** `COMPLIANT`, `NOT COMPLIANT` or `COULD NOT CHECK`. */
export function resultWord(v: Pick<Verdict, 'compliant' | 'error'>): string {
  if (v.error) return 'COULD NOT CHECK';
  return v.compliant ? 'COMPLIANT' : 'NOT COMPLIANT';
}

function names(codes: readonly string[]): string {
  const shown = codes.slice(0, MAX_NAMED_COUNTRIES).map(countryName);
  if (codes.length > MAX_NAMED_COUNTRIES) shown.push(`and ${codes.length - MAX_NAMED_COUNTRIES} more`);
  return shown.join(', ');
}

/** The policy in plain words, one sentence per line ("Data must stay in: United States"). */
export function describePolicyWords(p: Policy): string[] {
  const lines: string[] = [];
  if (p.allowedCountries && p.allowedCountries.length === 0) {
    lines.push('No public destination is allowed');
  } else if (p.allowedCountries) {
    const presets = p.allowedFrom.filter((x) => !/^[A-Z]{2}$/.test(x));
    const from = presets.length > 0 && p.allowedCountries.length > 1 ? ` (${presets.join(', ')})` : '';
    lines.push(`Data must stay in: ${names(p.allowedCountries)}${from}`);
  } else {
    lines.push('Data may go to any country not denied');
  }
  if (p.deniedCountries.length > 0) {
    const sources = [...new Set(Object.values(p.deniedBy))].filter((s) => s !== 'deniedCountries');
    lines.push(`Never to: ${names(p.deniedCountries)}${sources.length > 0 ? ` (${sources.join(', ')})` : ''}`);
  }
  if (p.allowCidrs.length > 0) lines.push(`Always allowed networks: ${p.allowCidrs.join(', ')}`);
  return lines;
}

/**
 * Where the monitored side is assumed to be: the policy's first allowed country (the verdict has
 * no location for it), or null when the policy names none.
 */
export function monitoredCountry(p: Policy): string | null {
  return p.allowedCountries?.[0] ?? null;
}
