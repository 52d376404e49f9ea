/** The engine's public surface. Pure: adapters supply bytes, databases, time and tool version. */
export { runCheck, type CheckOptions } from './check';
export { ResidencyError, InputError, PolicyError, GeoDatabaseError, UsageError } from './errors';
export { openGeoDatabase, type GeoLookup, type GeoDatabaseInfo } from './geo/geo-lookup';
export { evaluateAddress, type AddressFacts } from './policy/evaluate';
export {
  buildPolicy,
  compilePolicy,
  parsePolicyJson,
  policyFromLists,
  canonicalJson,
  type Policy,
  type CompiledPolicy,
} from './policy/policy';
export { findPreset, listPresets, type CountryPreset } from './policy/presets';
export { FORMATS, findFormat } from './parsers';
export { parseIp, parseCidr } from './net/ip';
export { classifyAddress } from './net/address-class';
export { renderSummary } from './verdict/render-summary';
export type { Verdict, VerdictDestination, VerdictViolation } from './verdict/verdict';
export type * from './types';
