/**
 * Named country sets. Each names its source so a verdict's rule text can cite it
 * ("CN is denied by foreign-adversaries").
 */

/** A named set of countries usable in `allowedCountries`, `deniedCountries` and `--jurisdiction`. */
export interface CountryPreset {
  readonly name: string;
  readonly description: string;
  readonly countries: readonly string[];
  /** Only for `deniedCountries`/`--deny`: as an allowed set it would allow exactly what it names. */
  readonly denyOnly?: true;
}

const EU27 = [
  'AT', 'BE', 'BG', 'HR', 'CY', 'CZ', 'DK', 'EE', 'FI', 'FR', 'DE', 'GR', 'HU', 'IE',
  'IT', 'LV', 'LT', 'LU', 'MT', 'NL', 'PL', 'PT', 'RO', 'SK', 'SI', 'ES', 'SE',
];
const EEA = [...EU27, 'IS', 'LI', 'NO'];

/**
 * Countries with an EU adequacy decision (GDPR Art. 45) at the time of writing:
 * https://commission.europa.eu/law/law-topic/data-protection/international-dimension-data-protection/adequacy-decisions_en
 * Brazil's is Commission Implementing Decision (EU) 2026/179 of 26 January 2026 (OJ 28.1.2026).
 * Canada's covers commercial organisations under PIPEDA. The United States' (EU-US Data Privacy
 * Framework, 2023) covers only certified organisations, which a network log cannot show, so US is
 * left out: add it explicitly when every recipient is certified.
 */
const ADEQUACY = ['AD', 'AR', 'BR', 'CA', 'FO', 'GG', 'IL', 'IM', 'JP', 'JE', 'NZ', 'KR', 'CH', 'GB', 'UY'];

/**
 * Foreign adversaries named in 15 CFR 791.4 (ICTS supply chain rule): China (the rule includes
 * Hong Kong; Macau is part of the PRC and databases report it apart), Cuba, Iran, North Korea,
 * Russia. The rule's sixth entry, the Maduro regime of Venezuela, is a government, not a country,
 * so it is not listed here.
 */
const FOREIGN_ADVERSARIES = ['CN', 'HK', 'MO', 'CU', 'IR', 'KP', 'RU'];

const PRESETS: readonly CountryPreset[] = [
  { name: 'us', description: 'United States', countries: ['US'] },
  { name: 'eu', description: 'European Union (EU-27)', countries: EU27 },
  { name: 'eea', description: 'European Economic Area (EU-27, Iceland, Liechtenstein, Norway)', countries: EEA },
  { name: 'five-eyes', description: 'Five Eyes (US, GB, CA, AU, NZ)', countries: ['US', 'GB', 'CA', 'AU', 'NZ'] },
  {
    name: 'gdpr-adequate',
    description: 'EEA plus countries with an EU adequacy decision (US excluded: DPF covers certified organisations only)',
    countries: [...EEA, ...ADEQUACY],
  },
  {
    name: 'foreign-adversaries',
    description: 'Foreign adversaries per 15 CFR 791.4 (CN incl. HK and MO, CU, IR, KP, RU)',
    countries: FOREIGN_ADVERSARIES,
    denyOnly: true,
  },
];

const BY_NAME = new Map(PRESETS.map((p) => [p.name, p]));

/** Looks up a preset by its lower-case name. */
export function findPreset(name: string): CountryPreset | undefined {
  return BY_NAME.get(name.toLowerCase());
}

/** All presets, for `--help` and `residency policy show`. */
export function listPresets(): readonly CountryPreset[] {
  return PRESETS;
}

/** A named whole policy (the fields of a policy file), usable wherever a policy is named. */
export interface PolicyPreset {
  readonly name: string;
  readonly description: string;
  readonly policy: {
    readonly name: string;
    readonly allowedCountries: readonly string[];
    readonly deniedCountries: readonly string[];
    readonly unknown: 'fail' | 'warn';
    readonly disputed: 'fail' | 'warn';
    readonly operator: 'fail' | 'warn' | 'off';
  };
}

const POLICY_PRESETS: readonly PolicyPreset[] = [
  {
    name: 'us-gov-drone',
    description:
      'US government drone procurement: data stays in the US, never reaches a foreign adversary, and every doubt fails (unknown or disputed location, an operator registered in a foreign adversary)',
    policy: {
      name: 'us-gov-drone',
      allowedCountries: ['us'],
      deniedCountries: ['foreign-adversaries'],
      unknown: 'fail',
      disputed: 'fail',
      operator: 'fail',
    },
  },
];

const POLICY_BY_NAME = new Map(POLICY_PRESETS.map((p) => [p.name, p]));

/** Looks up a policy preset by its lower-case name. */
export function findPolicyPreset(name: string): PolicyPreset | undefined {
  return POLICY_BY_NAME.get(name.trim().toLowerCase());
}

/** All policy presets. */
export function listPolicyPresets(): readonly PolicyPreset[] {
  return POLICY_PRESETS;
}
