/**
 * Decides the status of one remote address under a policy. Called once per distinct address, so
 * it may be as careful as it likes: every location database is asked, and the operator (AS and
 * the country it is registered in) is looked up.
 */
import type { AsnInfo, AsnLookup } from '../geo/asn-table';
import type { GeoLookup } from '../geo/geo-lookup';
import { classifyAddress } from '../net/address-class';
import { cidrContains, type Cidr, type ParsedIp } from '../net/ip';
import type { AddressClass } from '../types';
import type { CompiledPolicy } from './policy';

/** Where the operator facts come from (either may be missing). */
export interface OperatorSources {
  /** Country each AS is registered in, by address (an MMDB country database of AS registrations). */
  readonly country: GeoLookup | null;
  /** AS number and organisation by address. */
  readonly asn: AsnLookup | null;
}

/** What the engine knows about an address before it sees any traffic. */
export interface AddressFacts {
  /** Canonical text of the address. */
  readonly ip: string;
  readonly addressClass: AddressClass;
  /** Inside the monitored networks (policy `localNetworks`). */
  readonly local: boolean;
  /** Country from the first database that knows it; null when none does or the address is not public. */
  readonly country: string | null;
  /** Each location database's answer, by database name (public addresses only). */
  readonly countries: Readonly<Record<string, string | null>>;
  /** The location databases give different countries. */
  readonly disputed: boolean;
  readonly asn: number | null;
  readonly asOrganization: string | null;
  /** Country the operating AS is registered in. */
  readonly operatorCountry: string | null;
  /** Status before traffic is considered (a verdict may still turn a violation into `blocked`). */
  readonly status: 'allowed' | 'violation' | 'unknown' | 'non-public';
  /** Why: the rule that fired, in words. */
  readonly rule: string | null;
  /** A concern the policy only warns about (disputed location, operator, unknown location). */
  readonly warning: string | null;
}

/** Is the address on the monitored side? */
export function isLocal(ip: ParsedIp, cls: AddressClass, policy: CompiledPolicy): boolean {
  if (policy.localIncludesNonPublic && cls !== 'public') return true;
  for (const cidr of policy.localCidrs) if (cidrContains(cidr, ip)) return true;
  return false;
}

const NO_COUNTRIES: Readonly<Record<string, string | null>> = Object.freeze({});

interface Judgement {
  status: 'allowed' | 'violation' | 'unknown';
  rule: string | null;
}

/** The judgement of one country answer under the policy's country rules. */
function judgeCountryUncached(country: string | null, policy: CompiledPolicy): Judgement {
  if (country === null) {
    const fail = policy.policy.unknown === 'fail';
    return {
      status: fail ? 'violation' : 'unknown',
      rule: `no database knows where this address is (policy unknown: ${fail ? 'fail' : 'warn'})`,
    };
  }
  if (policy.denied.has(country)) {
    return { status: 'violation', rule: `${country} is denied by ${policy.policy.deniedBy[country] ?? 'deniedCountries'}` };
  }
  if (policy.allowed && !policy.allowed.has(country)) {
    return { status: 'violation', rule: `${country} is not in the allowed set ${policy.allowedLabel}` };
  }
  return { status: 'allowed', rule: null };
}

/**
 * Judgements by policy and country answer: a log has tens of thousands of addresses but a few
 * hundred countries, so each rule text is built once. Judgements are shared, so never changed.
 */
const judgementCache = new WeakMap<CompiledPolicy, Map<string | null, Readonly<Judgement>>>();

function judgeCountry(country: string | null, policy: CompiledPolicy): Readonly<Judgement> {
  let byCountry = judgementCache.get(policy);
  if (byCountry === undefined) {
    byCountry = new Map();
    judgementCache.set(policy, byCountry);
  }
  let judgement = byCountry.get(country);
  if (judgement === undefined) {
    judgement = Object.freeze(judgeCountryUncached(country, policy));
    byCountry.set(country, judgement);
  }
  return judgement;
}

function asText(asn: number | null, org: string | null): string {
  if (asn === null) return 'an unknown AS';
  return org ? `AS${asn} (${org})` : `AS${asn}`;
}

/** How many answer combinations one set of databases keeps shared objects for. */
const MAX_SHARED_COUNTRIES = 4096;

/** Shared `countries` objects by answers: one level of the tree per database. */
interface CountriesNode {
  readonly next: Map<string | null, CountriesNode>;
  countries: Readonly<Record<string, string | null>> | null;
}
const countriesByGeos = new WeakMap<readonly GeoLookup[], { root: CountriesNode; size: number }>();

/**
 * The frozen `countries` object for one combination of answers (`answers[g]`: database g's
 * country), shared by every address with those answers.
 */
function sharedCountries(geos: readonly GeoLookup[], answers: readonly (string | null)[]): Readonly<Record<string, string | null>> {
  let tree = countriesByGeos.get(geos);
  if (tree === undefined) countriesByGeos.set(geos, (tree = { root: { next: new Map(), countries: null }, size: 0 }));
  let found: CountriesNode | undefined = tree.root;
  for (let g = 0; g < geos.length && found !== undefined; g++) found = found.next.get(answers[g]!);
  if (found !== undefined && found.countries !== null) return found.countries;
  const made: Record<string, string | null> = {};
  for (let g = 0; g < geos.length; g++) made[geos[g]!.info.name] = answers[g]!;
  const countries = Object.freeze(made);
  if (tree.size < MAX_SHARED_COUNTRIES) {
    tree.size++;
    let node = tree.root;
    for (let g = 0; g < geos.length; g++) {
      let child = node.next.get(answers[g]!);
      if (child === undefined) node.next.set(answers[g]!, (child = { next: new Map(), countries: null }));
      node = child;
    }
    node.countries = countries;
  }
  return countries;
}

/** The facts of an address that is not looked up: not public, or inside the monitored networks. */
function unlocatedFacts(ip: ParsedIp, addressClass: AddressClass, local: boolean): AddressFacts {
  return {
    ip: ip.text, addressClass, local, country: null, countries: NO_COUNTRIES, disputed: false,
    asn: null, asOrganization: null, operatorCountry: null, status: 'non-public', rule: null, warning: null,
  };
}

/** The facts of an address whose lookup failed: status unknown, with the failure as its warning. */
export function unsettledFacts(ip: ParsedIp, policy: CompiledPolicy, err: unknown): AddressFacts {
  const addressClass = classifyAddress(ip);
  return {
    ip: ip.text, addressClass, local: isLocal(ip, addressClass, policy), country: null, countries: {}, disputed: false,
    asn: null, asOrganization: null, operatorCountry: null, status: 'unknown', rule: null,
    warning: `lookup failed: ${err instanceof Error ? err.message : String(err)}`,
  };
}

/** Classifies, locates and judges one address. */
export function evaluateAddress(
  ip: ParsedIp,
  policy: CompiledPolicy,
  geos: readonly GeoLookup[],
  operator: OperatorSources = { country: null, asn: null },
): AddressFacts {
  const addressClass = classifyAddress(ip);
  const local = isLocal(ip, addressClass, policy);
  if (addressClass !== 'public' || local) return unlocatedFacts(ip, addressClass, local);
  const answers: (string | null)[] = [];
  for (let g = 0; g < geos.length; g++) answers.push(geos[g]!.countryOf(ip));
  const as = operator.asn?.lookup(ip) ?? null;
  return judgeLocated(ip, addressClass, policy, geos, answers, as, operator.country?.countryOf(ip) ?? null);
}

/** The first lookup failure of a batch (in address order) and the facts of every address. */
export interface EvaluatedAddresses {
  facts: AddressFacts[];
  /** The first failed lookup's error, of the first address whose lookup failed; null when none did. */
  failure: unknown;
}

/**
 * Classifies, locates and judges many addresses: the same facts as {@link evaluateAddress} for each,
 * but each source (location databases, then the AS table, then the operator countries) answers for
 * every address in one run, after its {@link GeoLookup.acquire}. So a database read only while in
 * use is read once per batch, and one source's code and upper tree levels stay in the caches.
 *
 * A failed lookup does not stop the batch: that address gets status `unknown` with the failure as
 * its warning (it is asked of no further source), and the first failure is returned, for an error
 * verdict that still lists every address. A source that cannot be acquired fails every lookup.
 */
export function evaluateAddresses(
  ips: readonly ParsedIp[],
  policy: CompiledPolicy,
  geos: readonly GeoLookup[],
  operator: OperatorSources = { country: null, asn: null },
): EvaluatedAddresses {
  const facts: AddressFacts[] = new Array<AddressFacts>(ips.length);
  const classes: AddressClass[] = new Array<AddressClass>(ips.length);
  // The addresses that are looked up, and each source's answers for them.
  const looked: number[] = [];
  classifyAll(ips, policy, facts, classes, looked);
  const n = looked.length;
  const failed: unknown[] = new Array<unknown>(n).fill(undefined);
  // Each source acquired once, then asked for every address not failed yet. Acquired even with
  // no address to ask: a source read only while in use takes the hash it is cited by then.
  const asked: Asked = { ips, looked, failed, unready: null };
  const countries = geos.map(() => new Array<string | null>(n).fill(null));
  for (let g = 0; g < geos.length; g++) {
    const geo = acquired(geos[g]!, asked);
    if (geo !== null) askCountries(geo, asked, countries[g]!);
  }
  const operators = new Array<AsnInfo | null>(n).fill(null);
  if (operator.asn !== null) {
    const asn = acquired(operator.asn, asked);
    if (asn !== null) askOperators(asn, asked, operators);
  }
  const operatorCountries = new Array<string | null>(n).fill(null);
  if (operator.country !== null) {
    const geo = acquired(operator.country, asked);
    if (geo !== null) askCountries(geo, asked, operatorCountries);
  }
  const failure = judgeAll(asked, policy, geos, classes, countries, operators, operatorCountries, facts);
  return { facts, failure: failure ?? asked.unready };
}

// evaluateAddresses' loops over addresses, each a function of its own (optimised while it runs,
// a loop's code would be thrown away by the code after it, which has not run yet).

/** Classifies every address: facts for those not looked up, their indices in `looked` for the rest. */
function classifyAll(
  ips: readonly ParsedIp[],
  policy: CompiledPolicy,
  facts: AddressFacts[],
  classes: AddressClass[],
  looked: number[],
): void {
  for (let i = 0; i < ips.length; i++) {
    const ip = ips[i]!;
    const addressClass = classifyAddress(ip);
    classes[i] = addressClass;
    const local = isLocal(ip, addressClass, policy);
    if (addressClass !== 'public' || local) facts[i] = unlocatedFacts(ip, addressClass, local);
    else looked.push(i);
  }
}

/** Judges every address looked up from its sources' answers; returns the first failed lookup's error, or null. */
function judgeAll(
  asked: Asked,
  policy: CompiledPolicy,
  geos: readonly GeoLookup[],
  classes: readonly AddressClass[],
  countries: readonly (readonly (string | null)[])[],
  operators: readonly (AsnInfo | null)[],
  operatorCountries: readonly (string | null)[],
  facts: AddressFacts[],
): unknown {
  const { ips, looked, failed } = asked;
  let failure: unknown = null;
  const row: (string | null)[] = new Array<string | null>(geos.length);
  for (let k = 0; k < looked.length; k++) {
    const i = looked[k]!;
    const ip = ips[i]!;
    if (failed[k] !== undefined) {
      if (failure === null) failure = failed[k];
      facts[i] = unsettledFacts(ip, policy, failed[k]);
      continue;
    }
    for (let g = 0; g < geos.length; g++) row[g] = countries[g]![k]!;
    facts[i] = judgeLocated(ip, classes[i]!, policy, geos, row, operators[k]!, operatorCountries[k]!);
  }
  return failure;
}

/** The addresses of an evaluateAddresses batch that are looked up, and how their lookups went. */
interface Asked {
  ips: readonly ParsedIp[];
  /** Which of `ips` are looked up: the k-th lookup is of ips[looked[k]]. */
  looked: readonly number[];
  /** The k-th lookup's failure (undefined while none): asked of no further source. */
  failed: unknown[];
  /** The first source that could not be acquired: the failure when no address was looked up. */
  unready: unknown;
}

// One loop per kind of source, not one for all with a callback: each stays monomorphic, and is
// optimised once.

/** The source ready for lookups, or null when it cannot be (every lookup of the batch failed with why). */
function acquired<S extends { acquire?(): S }>(source: S, asked: Asked): S | null {
  try {
    return source.acquire?.() ?? source;
  } catch (err) {
    asked.unready ??= err;
    const failed = asked.failed;
    for (let k = 0; k < failed.length; k++) failed[k] ??= err;
    return null;
  }
}

function askCountries(geo: GeoLookup, asked: Asked, answers: (string | null)[]): void {
  const { ips, looked, failed } = asked;
  for (let k = 0; k < looked.length; k++) {
    if (failed[k] !== undefined) continue;
    try {
      answers[k] = geo.countryOf(ips[looked[k]!]!);
    } catch (err) {
      failed[k] = err;
    }
  }
}

function askOperators(asn: AsnLookup, asked: Asked, answers: (AsnInfo | null)[]): void {
  const { ips, looked, failed } = asked;
  for (let k = 0; k < looked.length; k++) {
    if (failed[k] !== undefined) continue;
    try {
      answers[k] = asn.lookup(ips[looked[k]!]!);
    } catch (err) {
      failed[k] = err;
    }
  }
}

/** A judgement and the warning that goes with it. */
interface Judged {
  judgement: Readonly<Judgement>;
  warning: string | null;
  /** The country the judgement is of, when not the first database's answer. */
  judgedCountry?: string;
}

// The two rare turns of a judgement are functions of their own: kept inside judgeLocated, their
// string building made it several times costlier to optimise, and again after every deopt.

/**
 * Databases disagree: when one of their answers is outside the policy, the disagreement is a
 * violation (policy `disputed: fail`) or a warning. Only a warning means the dispute alone fails
 * nothing: when any database places the address in policy, it is judged by that answer, whichever
 * database gave it (the order of `--db` must not decide).
 */
function judgeDisputed(
  policy: CompiledPolicy,
  geos: readonly GeoLookup[],
  answers: readonly (string | null)[],
  judgement: Readonly<Judgement>,
  warning: string | null,
): Judged {
  // Each database's answer (names may repeat; the countries object keeps the last).
  const distinct: string[] = [];
  for (let g = 0; g < geos.length; g++) {
    const c = answers[g]!;
    if (c !== null && !distinct.includes(c)) distinct.push(c);
  }
  const said = saidBy(geos, answers);
  const outside = distinct.map((c) => ({ c, j: judgeCountry(c, policy) })).find((x) => x.j.status === 'violation');
  if (!outside) return { judgement, warning };
  const disputedRule = `databases disagree (${said}); ${outside.j.rule}`;
  if (policy.policy.disputed === 'fail') return { judgement: { status: 'violation', rule: disputedRule }, warning };
  const disputedWarning = `${disputedRule} (policy disputed: warn)`;
  if (judgement.status !== 'allowed') {
    for (const c of distinct) {
      const j = judgeCountry(c, policy);
      if (j.status === 'allowed') return { judgement: j, warning: disputedWarning, judgedCountry: c };
    }
  }
  return { judgement, warning: disputedWarning };
}

/** What each database says, for a rule: `a.mmdb says CN, b.mmdb says US`. */
function saidBy(geos: readonly GeoLookup[], answers: readonly (string | null)[]): string {
  return geos.map((g, i) => `${g.info.name} says ${answers[i] ?? 'unknown'}`).join(', ');
}

/**
 * A denied country answer outweighs what would let the address pass (the policy's `allowCidrs`,
 * another database's allowed answer under `disputed: warn`): denied countries are always
 * violations. The judgement of the first denied answer, in database order; null when none is.
 */
function deniedJudgement(
  policy: CompiledPolicy,
  geos: readonly GeoLookup[],
  answers: readonly (string | null)[],
  disputed: boolean,
  cidr: Cidr | null,
): Judgement | null {
  for (let g = 0; g < answers.length; g++) {
    const c = answers[g]!;
    if (c === null || !policy.denied.has(c)) continue;
    let rule = judgeCountry(c, policy).rule!;
    if (disputed) rule = `databases disagree (${saidBy(geos, answers)}); ${rule}`;
    if (cidr !== null) rule += `; ${cidr.text} is in allowCidrs, which does not lift a denied country`;
    return { status: 'violation', rule };
  }
  return null;
}

/** An allowed address whose operator is registered in a denied country: a violation (policy `operator: fail`) or a warning. */
function judgeOperator(
  policy: CompiledPolicy,
  country: string | null,
  asn: number | null,
  asOrganization: string | null,
  operatorCountry: string,
  judgement: Readonly<Judgement>,
  warning: string | null,
): Judged {
  const operatorRule =
    `located in ${country}, operated by ${asText(asn, asOrganization)} registered in ${operatorCountry}; ` +
    `${operatorCountry} is denied by ${policy.policy.deniedBy[operatorCountry] ?? 'deniedCountries'}`;
  if (policy.policy.operator === 'fail') return { judgement: { status: 'violation', rule: operatorRule }, warning };
  return { judgement, warning: `${operatorRule} (policy operator: warn)` };
}

/**
 * Judges a public address outside the monitored networks from its sources' answers: `answers[g]`
 * is database g's country (read only, not kept), `as` its operator, `operatorCountry` the country
 * that operator is registered in.
 */
function judgeLocated(
  ip: ParsedIp,
  addressClass: AddressClass,
  policy: CompiledPolicy,
  geos: readonly GeoLookup[],
  answers: readonly (string | null)[],
  as: AsnInfo | null,
  operatorCountry: string | null,
): AddressFacts {
  let country: string | null = null;
  let disputed = false;
  for (let g = 0; g < geos.length; g++) {
    const c = answers[g]!;
    if (country === null) country = c;
    else if (c !== null && c !== country) disputed = true;
  }
  // Addresses mostly share a few answer combinations: one object per combination, not per address.
  const countries = sharedCountries(geos, answers);
  const asn = as?.asn ?? null;
  const asOrganization = as?.organisation ?? null;
  let status: AddressFacts['status'];
  let rule: string | null;
  let warning: string | null = null;
  let cidr: Cidr | null = null;
  for (let i = 0; i < policy.allowCidrs.length && cidr === null; i++) if (cidrContains(policy.allowCidrs[i]!, ip)) cidr = policy.allowCidrs[i]!;
  // Where an allowance could let it pass, a denied answer is looked for first (elsewhere the
  // judgements below find it: the only answer, or a dispute that fails).
  const denial = cidr !== null || (disputed && policy.policy.disputed === 'warn') ? deniedJudgement(policy, geos, answers, disputed, cidr) : null;
  if (denial !== null) {
    status = denial.status;
    rule = denial.rule;
  } else if (cidr !== null) {
    status = 'allowed';
    rule = `${cidr.text} is in allowCidrs`;
  } else {
    let judgement: Readonly<Judgement> = judgeCountry(country, policy);
    let judgedCountry = country;
    warning = judgement.status === 'unknown' ? judgement.rule : null;
    if (disputed) {
      const d = judgeDisputed(policy, geos, answers, judgement, warning);
      judgement = d.judgement;
      warning = d.warning;
      judgedCountry = d.judgedCountry ?? country;
    }
    if (
      judgement.status === 'allowed' &&
      operatorCountry !== null &&
      policy.denied.has(operatorCountry) &&
      policy.policy.operator !== 'off'
    ) {
      const o = judgeOperator(policy, judgedCountry, asn, asOrganization, operatorCountry, judgement, warning);
      judgement = o.judgement;
      warning = o.warning;
    }
    status = judgement.status;
    rule = judgement.rule;
  }
  return {
    ip: ip.text, addressClass, local: false, country, countries, disputed, asn, asOrganization, operatorCountry, status, rule, warning,
  };
}
