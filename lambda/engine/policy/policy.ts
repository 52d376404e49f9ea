/**
 * Policies: which countries data may go to, which it must never go to, and what counts as the
 * monitored side. Parsing is strict: an unknown field or a bad value is a {@link PolicyError}
 * naming the field.
 */
import { createHash } from 'node:crypto';
import { PolicyError } from '../errors';
import { describeJsonError, findDuplicateField } from '../json-syntax';
import { parseCidr, parseIp, type Cidr } from '../net/ip';
import { isCountryCode } from './countries';
import { findPolicyPreset, findPreset } from './presets';

/** What to do with a public address that no database can place. */
export type UnknownAction = 'fail' | 'warn';

/** The keyword in `localNetworks` that stands for every non-public range. */
export const NON_PUBLIC = 'non-public';

/** The effective policy, as recorded in the verdict (and hashed). */
export interface Policy {
  /** A label for people ("Drone programme: US only"). */
  name: string | null;
  /** Countries data may go to; null when only the deny list applies. */
  allowedCountries: string[] | null;
  /** The presets and codes the allowed set was built from: presets, then codes, sorted, each once. */
  allowedFrom: string[];
  /** Countries that are always violations. */
  deniedCountries: string[];
  /** For each denied country, the preset (or `deniedCountries`) that denies it. */
  deniedBy: Record<string, string>;
  /** Networks that are always allowed, whatever their country. */
  allowCidrs: string[];
  /** The monitored side: CIDRs, or `non-public` for every non-public range. */
  localNetworks: string[];
  /** Public addresses that no database can place. */
  unknown: UnknownAction;
  /** Addresses the location databases disagree about, when any answer is outside the policy. */
  disputed: DisputedAction;
  /** Addresses located in policy but operated by an AS registered in a denied country. */
  operator: OperatorAction;
}

/** What to do when location databases disagree and an answer is outside the policy. */
export type DisputedAction = 'fail' | 'warn';
/** What to do with an address operated by an AS registered in a denied country. */
export type OperatorAction = 'fail' | 'warn' | 'off';

/** A policy compiled for evaluation. */
export interface CompiledPolicy {
  readonly policy: Policy;
  readonly sha256: string;
  readonly allowed: ReadonlySet<string> | null;
  readonly denied: ReadonlySet<string>;
  readonly allowCidrs: readonly Cidr[];
  readonly localCidrs: readonly Cidr[];
  readonly localIncludesNonPublic: boolean;
  /** Human wording of the allowed set, e.g. `US` or `eu (27 countries)`. */
  readonly allowedLabel: string;
}

const POLICY_FIELDS = new Set([
  '$schema',
  'name',
  'description',
  'allowedCountries',
  'deniedCountries',
  'allowCidrs',
  'localNetworks',
  'unknown',
  'disputed',
  'operator',
]);

/** Expands presets and codes into countries; throws naming `field` on a bad entry. */
function expandCountries(
  entries: readonly unknown[],
  field: string,
): { countries: string[]; from: string[]; source: Map<string, string> } {
  const presets = new Set<string>();
  const codes = new Set<string>();
  entries.forEach((entry, i) => {
    if (typeof entry !== 'string' || entry.trim() === '') {
      throw new PolicyError(`${field}[${i}]: expected a country code or preset name, got ${JSON.stringify(entry)}`);
    }
    const text = entry.trim();
    const preset = findPreset(text);
    if (preset) {
      if (preset.denyOnly && field === 'allowedCountries') {
        throw new PolicyError(`${field}[${i}]: ${preset.name} is a deny preset: name it in deniedCountries (--deny), not as the countries data may go to`);
      }
      presets.add(preset.name);
      return;
    }
    const code = text.toUpperCase();
    if (!isCountryCode(code)) {
      const hint = code === 'UK' ? ' (the United Kingdom is GB)' : '';
      throw new PolicyError(
        `${field}[${i}]: '${text}' is neither an ISO 3166-1 alpha-2 country code nor a preset${hint}`,
      );
    }
    codes.add(code);
  });
  // Canonical order (presets, then codes, each sorted and once), not the order written, so that
  // reordering a list changes neither the attribution nor the policy hash.
  const presetNames = [...presets].sort();
  const codeList = [...codes].sort();
  const source = new Map<string, string>();
  for (const name of presetNames) {
    for (const c of findPreset(name)!.countries) if (!source.has(c)) source.set(c, name);
  }
  for (const code of codeList) if (!source.has(code)) source.set(code, field);
  return { countries: [...source.keys()].sort(), from: [...presetNames, ...codeList], source };
}

function stringArray(value: unknown, field: string): string[] {
  if (!Array.isArray(value)) throw new PolicyError(`${field}: expected an array of strings`);
  return value.map((v, i) => {
    if (typeof v !== 'string') throw new PolicyError(`${field}[${i}]: expected a string, got ${JSON.stringify(v)}`);
    return v.trim();
  });
}

/** Canonical networks, sorted and each once (order does not matter, and must not change the hash). */
function cidrList(values: readonly string[], field: string, allowKeyword: boolean): string[] {
  const list = values.map((v, i) => {
    if (allowKeyword && v.toLowerCase() === NON_PUBLIC) return NON_PUBLIC;
    const cidr = parseCidr(v);
    if (!cidr) throw new PolicyError(`${field}[${i}]: '${v}' is not a CIDR network such as 203.0.113.0/24`);
    // 64:ff9b::/96 or ::ffff:0:0/96: addresses there are read as the IPv4 address they carry, so
    // the prefix itself would stand for every IPv4 address (0.0.0.0/0), which no one means.
    if (cidr.version === 4 && cidr.bits === 0 && v.includes(':')) {
      throw new PolicyError(
        `${field}[${i}]: '${v}' is the NAT64 or IPv4-mapped prefix, whose addresses are read as the IPv4 addresses they carry: it would take in every IPv4 address; name IPv4 networks instead`,
      );
    }
    // Every address on the monitored side: no destination would be judged, not even a denied one,
    // and every log would be compliant.
    if (field === 'localNetworks' && cidr.bits === 0) {
      throw new PolicyError(
        `${field}[${i}]: '${v}' takes in every IPv${cidr.version} address: every destination would be on the monitored side and none judged; name your own networks`,
      );
    }
    return cidr.text;
  });
  return [...new Set(list)].sort();
}

/**
 * What a person should know about a policy that is valid as written: networks written with bits
 * set past their prefix length (`114.114.114.114/8`), which are read as the network they lie in
 * (`114.0.0.0/8`, as routers read them) though they are as often a typo for one address (`/32`).
 * One line each, naming the field; empty when there is nothing to say.
 */
export function policyNotes(input: PolicyInput): string[] {
  const notes: string[] = [];
  for (const field of ['allowCidrs', 'localNetworks'] as const) {
    const list = input[field];
    if (!Array.isArray(list)) continue;
    list.forEach((v: unknown, i) => {
      if (typeof v !== 'string') return;
      const cidr = parseCidr(v.trim());
      if (cidr && hasHostBits(v.trim(), cidr)) {
        notes.push(
          `${field}[${i}]: '${v.trim()}' has bits set past its prefix length: read as the network ${cidr.text} (one address is /${cidr.version === 4 ? 32 : 128})`,
        );
      }
      // Valid (a denied country is still a violation), but then nothing else is: most likely not meant.
      if (cidr && field === 'allowCidrs' && cidr.bits === 0) {
        notes.push(
          `${field}[${i}]: '${v.trim()}' takes in every IPv${cidr.version} address: only a denied country can be a violation there; allowedCountries, unknown, disputed and operator no longer apply`,
        );
      }
    });
  }
  return notes;
}

/**
 * A note when the policy both allows and denies some countries (`-j us,cn --deny
 * foreign-adversaries`): the deny list wins, so a destination there is a violation, which the
 * allowed list says was not meant. One line, naming the countries and what denies each; null when
 * the lists do not meet.
 */
export function overlapNote(policy: Policy): string | null {
  const allowed = policy.allowedCountries;
  if (allowed === null) return null;
  const both = allowed.filter((c) => policy.deniedBy[c] !== undefined);
  if (both.length === 0) return null;
  const shown = both.slice(0, 8).map((c) => `${c} (by ${policy.deniedBy[c]})`);
  if (both.length > shown.length) shown.push(`and ${both.length - shown.length} more`);
  return `both allowed and denied: ${shown.join(', ')}; denied wins, so a destination there is a violation`;
}

/** Whether the address written in `text` differs from the network `cidr` it was parsed to. */
function hasHostBits(text: string, cidr: Cidr): boolean {
  const slash = text.indexOf('/');
  const ip = parseIp(slash >= 0 ? text.slice(0, slash) : text);
  if (ip === null) return false;
  if (ip.version === 4) return ip.v4 !== cidr.v4;
  return ip.groups.some((g, i) => g !== cidr.groups[i]);
}

/** Input of {@link buildPolicy}: the JSON fields of a policy file. */
export interface PolicyInput {
  name?: unknown;
  description?: unknown;
  allowedCountries?: unknown;
  deniedCountries?: unknown;
  allowCidrs?: unknown;
  localNetworks?: unknown;
  unknown?: unknown;
  disputed?: unknown;
  operator?: unknown;
}

/** Validates policy fields and returns the effective policy. */
export function buildPolicy(input: PolicyInput): Policy {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new PolicyError('policy: expected a JSON object');
  }
  for (const key of Object.keys(input)) {
    if (!POLICY_FIELDS.has(key)) {
      throw new PolicyError(`${key}: unknown policy field (known: ${[...POLICY_FIELDS].filter((f) => f !== '$schema').join(', ')})`);
    }
  }
  if (input.name !== undefined && typeof input.name !== 'string') throw new PolicyError('name: expected a string');
  if (input.description !== undefined && typeof input.description !== 'string') {
    throw new PolicyError('description: expected a string');
  }
  // `allowedCountries: null` means "deny list only", so without a deny list nothing is checked.
  const noAllowed = input.allowedCountries === undefined || input.allowedCountries === null;
  if (noAllowed && input.deniedCountries === undefined) {
    throw new PolicyError('allowedCountries: a policy needs allowedCountries, deniedCountries, or both');
  }
  let allowed: ReturnType<typeof expandCountries> | null = null;
  if (input.allowedCountries !== undefined && input.allowedCountries !== null) {
    if (!Array.isArray(input.allowedCountries)) throw new PolicyError('allowedCountries: expected an array');
    allowed = expandCountries(input.allowedCountries, 'allowedCountries');
  }
  let denied = { countries: [] as string[], from: [] as string[], source: new Map<string, string>() };
  if (input.deniedCountries !== undefined) {
    if (!Array.isArray(input.deniedCountries)) throw new PolicyError('deniedCountries: expected an array');
    if (noAllowed && input.deniedCountries.length === 0) {
      throw new PolicyError('deniedCountries: empty, and there is no allowedCountries: the policy would check nothing');
    }
    denied = expandCountries(input.deniedCountries, 'deniedCountries');
  }
  // 15 CFR 791.4 and PRC law treat Hong Kong and Macau as part of China; databases report them apart.
  if (denied.source.has('CN')) {
    const why = denied.source.get('CN')!;
    for (const c of ['HK', 'MO']) if (!denied.source.has(c)) denied.source.set(c, `${why} (China includes ${c})`);
  }
  const deniedCountries = [...denied.source.keys()].sort();
  const deniedBy: Record<string, string> = {};
  for (const c of deniedCountries) deniedBy[c] = denied.source.get(c)!;
  // null is no value: an error naming the field, as any other wrong value (not the default).
  const unknown = input.unknown === undefined ? 'fail' : input.unknown;
  if (unknown !== 'fail' && unknown !== 'warn') {
    throw new PolicyError(`unknown: expected "fail" or "warn", got ${JSON.stringify(unknown)}`);
  }
  const disputed = input.disputed === undefined ? 'fail' : input.disputed;
  if (disputed !== 'fail' && disputed !== 'warn') {
    throw new PolicyError(`disputed: expected "fail" or "warn", got ${JSON.stringify(disputed)}`);
  }
  const operator = input.operator === undefined ? 'warn' : input.operator;
  if (operator !== 'fail' && operator !== 'warn' && operator !== 'off') {
    throw new PolicyError(`operator: expected "fail", "warn" or "off", got ${JSON.stringify(operator)}`);
  }
  const localNetworks =
    input.localNetworks === undefined
      ? [NON_PUBLIC]
      : cidrList(stringArray(input.localNetworks, 'localNetworks'), 'localNetworks', true);
  if (localNetworks.length === 0) throw new PolicyError('localNetworks: must name at least one network (or "non-public")');
  return {
    name: typeof input.name === 'string' ? input.name : null,
    allowedCountries: allowed ? allowed.countries : null,
    allowedFrom: allowed ? allowed.from : [],
    deniedCountries,
    deniedBy,
    allowCidrs: input.allowCidrs === undefined ? [] : cidrList(stringArray(input.allowCidrs, 'allowCidrs'), 'allowCidrs', false),
    localNetworks,
    unknown,
    disputed,
    operator,
  };
}

/**
 * `policy` with `networks` added to its `localNetworks` (the CLI's `--local`): CIDRs, or
 * `non-public`. Errors name `flag` and the value.
 */
export function withLocalNetworks(policy: Policy, networks: readonly string[], flag = '--local'): Policy {
  let added: string[];
  try {
    added = cidrList(networks, 'localNetworks', true);
  } catch (err) {
    if (err instanceof PolicyError) throw new PolicyError(err.message.replace(/^localNetworks\[\d+\]/, flag));
    throw err;
  }
  return { ...policy, localNetworks: [...new Set([...policy.localNetworks, ...added])].sort() };
}

/**
 * Parses a policy JSON document; `source` names it in errors, and in the {@link policyNotes}
 * added to `notes` when given.
 */
export function parsePolicyJson(text: string, source: string, notes?: string[]): Policy {
  let data: unknown;
  try {
    data = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new PolicyError(`${source}: not valid JSON (${describeJsonError(text, err)})`, { cause: err });
  }
  const twice = findDuplicateField(text);
  if (twice !== null) throw new PolicyError(`${source}: line ${twice.line}, column ${twice.column}: ${twice.reason}`);
  try {
    const policy = buildPolicy(data as PolicyInput);
    if (notes) for (const note of policyNotes(data as PolicyInput)) notes.push(`${source}: ${note}`);
    return policy;
  } catch (err) {
    if (err instanceof PolicyError) throw new PolicyError(`${source}: ${err.message}`, { cause: err });
    throw err;
  }
}

/**
 * Builds a policy from command-line style lists: `jurisdiction` = allowed presets/codes
 * (`us,CA`), `deny` = denied presets/codes.
 */
export function policyFromLists(jurisdiction: string | undefined, deny: string | undefined): Policy {
  const split = (s: string | undefined): string[] | undefined =>
    s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter((x) => x !== '');
  const allowedCountries = split(jurisdiction);
  const deniedCountries = split(deny);
  if (allowedCountries && allowedCountries.length === 0) {
    throw new PolicyError('--jurisdiction: expected country codes or preset names, such as us or US,CA');
  }
  // An empty deny list (`--deny "$UNSET"`) would quietly check nothing when it is the only list.
  if (deniedCountries && deniedCountries.length === 0) {
    throw new PolicyError('--deny: expected country codes or preset names, such as foreign-adversaries or CN,RU');
  }
  return buildPolicy({ allowedCountries, deniedCountries });
}

/** Canonical JSON: sorted keys, so equal policies hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .sort()
      .filter((k) => obj[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function describeAllowed(policy: Policy): string {
  const list = policy.allowedCountries ?? [];
  // `allowedCountries: []`: no public destination may be reached.
  if (list.length === 0) return '(empty: no country is allowed)';
  if (list.length <= 8) return list.join(', ');
  return `${policy.allowedFrom.join(', ')} (${list.length} countries)`;
}

/** Compiles a policy for evaluation. */
export function compilePolicy(policy: Policy): CompiledPolicy {
  const parse = (list: readonly string[]): Cidr[] => list.filter((x) => x !== NON_PUBLIC).map((x) => parseCidr(x)!);
  return {
    policy,
    sha256: createHash('sha256').update(canonicalJson(policy)).digest('hex'),
    allowed: policy.allowedCountries ? new Set(policy.allowedCountries) : null,
    denied: new Set(policy.deniedCountries),
    allowCidrs: parse(policy.allowCidrs),
    localCidrs: parse(policy.localNetworks),
    localIncludesNonPublic: policy.localNetworks.includes(NON_PUBLIC),
    allowedLabel: describeAllowed(policy),
  };
}

/** The policy of a policy preset (`us-gov-drone`), or undefined when there is no such preset. */
export function policyFromPreset(name: string): Policy | undefined {
  const preset = findPolicyPreset(name);
  if (!preset) return undefined;
  return buildPolicy({
    ...preset.policy,
    allowedCountries: [...preset.policy.allowedCountries],
    deniedCountries: [...preset.policy.deniedCountries],
  });
}

/**
 * A policy from a one-string specification (the Lambda's `RESIDENCY_POLICY`): inline JSON
 * (`{"allowedCountries": ...}`), a policy preset (`us-gov-drone`), or a comma-separated list of
 * country presets and codes (`us`, `eu,CH`).
 * A list of deny-only presets (`foreign-adversaries`) is read as a deny list.
 */
export function policyFromSpec(spec: string, source: string): Policy {
  const text = spec.trim();
  if (text.startsWith('{')) return parsePolicyJson(text, source);
  const preset = policyFromPreset(text);
  if (preset) return preset;
  const items = text.split(',').map((x) => x.trim()).filter((x) => x !== '');
  if (items.length === 0) throw new PolicyError(`${source}: empty policy`);
  const denyOnly = items.every((x) => findPreset(x)?.denyOnly === true);
  try {
    return denyOnly ? policyFromLists(undefined, text) : policyFromLists(text, undefined);
  } catch (err) {
    if (err instanceof PolicyError) throw new PolicyError(`${source}: ${err.message}`, { cause: err });
    throw err;
  }
}
