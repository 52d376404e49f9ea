import { COUNTRY_CODES, isCountryCode } from '../../../lambda/engine/policy/countries';
import { findPreset, listPresets, type CountryPreset } from '../../../lambda/engine/policy/presets';

// prettier-ignore
const EU27 = [
  'AT', 'BE', 'BG', 'CY', 'CZ', 'DE', 'DK', 'EE', 'ES', 'FI', 'FR', 'GR', 'HR', 'HU',
  'IE', 'IT', 'LT', 'LU', 'LV', 'MT', 'NL', 'PL', 'PT', 'RO', 'SE', 'SI', 'SK',
];

function preset(name: string): CountryPreset {
  const found = findPreset(name);
  if (!found) throw new Error(`test setup: no preset ${name}`);
  return found;
}
const sorted = (list: readonly string[]): string[] => [...list].sort();

describe('country presets', () => {
  it('offers us, eu, eea, five-eyes, gdpr-adequate and foreign-adversaries', () => {
    // Act
    const names = listPresets().map((p) => p.name);

    // Assess
    expect(names).toEqual(['us', 'eu', 'eea', 'five-eyes', 'gdpr-adequate', 'foreign-adversaries']);
  });

  it('defines us as the United States alone', () => {
    // Act
    const { countries } = preset('us');

    // Assess
    expect(countries).toEqual(['US']);
  });

  it('defines eu as exactly the 27 member states (Croatia in, the United Kingdom out)', () => {
    // Act
    const { countries } = preset('eu');

    // Assess
    expect(countries).toHaveLength(27);
    expect(sorted(countries)).toEqual(EU27);
    expect(countries).not.toContain('GB');
  });

  it('defines eea as exactly 30 countries: the EU plus Iceland, Liechtenstein and Norway', () => {
    // Act
    const { countries } = preset('eea');

    // Assess
    expect(countries).toHaveLength(30);
    expect(sorted(countries)).toEqual(sorted([...EU27, 'IS', 'LI', 'NO']));
    expect(countries).not.toContain('CH');
  });

  it('defines five-eyes as US, GB, CA, AU and NZ', () => {
    // Act
    const { countries } = preset('five-eyes');

    // Assess
    expect(sorted(countries)).toEqual(['AU', 'CA', 'GB', 'NZ', 'US']);
  });

  it('defines gdpr-adequate as the EEA plus adequacy countries, leaving out the US', () => {
    // Prepare
    // Brazil: Commission Implementing Decision (EU) 2026/179 of 26 January 2026.
    const adequacy = [
      'AD',
      'AR',
      'BR',
      'CA',
      'CH',
      'FO',
      'GB',
      'GG',
      'IL',
      'IM',
      'JE',
      'JP',
      'KR',
      'NZ',
      'UY',
    ];

    // Act
    const { countries } = preset('gdpr-adequate');

    // Assess
    expect(sorted(countries)).toEqual(sorted([...EU27, 'IS', 'LI', 'NO', ...adequacy]));
    expect(countries).not.toContain('US');
  });

  it('defines foreign-adversaries as CN HK MO CU IR KP RU (15 CFR 791.4)', () => {
    // Act
    const { countries } = preset('foreign-adversaries');

    // Assess
    expect(sorted(countries)).toEqual(['CN', 'CU', 'HK', 'IR', 'KP', 'MO', 'RU']);
  });

  it.each(listPresets().map((p) => [p.name, p] as const))(
    'lists only valid country codes, each once, with a description, in %s',
    (_name, p) => {
      // Act
      const invalid = p.countries.filter((c) => !isCountryCode(c));

      // Assess
      expect(invalid).toEqual([]);
      expect(new Set(p.countries).size).toBe(p.countries.length);
      expect(p.description.length).toBeGreaterThan(0);
    },
  );

  it('finds presets whatever the case of the name', () => {
    // Act
    const found = [findPreset('EU'), findPreset('Five-Eyes'), findPreset('us')].map((p) => p?.name);

    // Assess
    expect(found).toEqual(['eu', 'five-eyes', 'us']);
  });

  it('finds no preset for an unknown name', () => {
    // Act
    const found = findPreset('nato');

    // Assess
    expect(found).toBeUndefined();
  });
});

describe('country codes', () => {
  it('accepts the 249 ISO 3166-1 alpha-2 codes plus XK (Kosovo)', () => {
    // Act
    const size = COUNTRY_CODES.size;

    // Assess
    expect(size).toBe(250);
    expect(isCountryCode('XK')).toBe(true);
  });

  it.each(['GB', 'US', 'CN', 'HK', 'MO', 'AQ'])('accepts %s', (code) => {
    // Act
    const ok = isCountryCode(code);

    // Assess
    expect(ok).toBe(true);
  });

  it.each(['UK', 'EU', 'ZZ', 'AN', 'gb', 'USA', ''])('rejects %j', (code) => {
    // Act
    const ok = isCountryCode(code);

    // Assess
    expect(ok).toBe(false);
  });
});
