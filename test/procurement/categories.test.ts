import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../lambda/engine/errors';
import {
  classifyHostname,
  DATA_CATEGORIES,
  matchesPattern,
  parseCategoryTable,
  type CategoryTable,
} from '../../lambda/engine/procurement/categories';
import { REPO_ROOT } from '../helpers/cli';

/** A table from `[pattern, category]` pairs, each with a placeholder source. */
function tableOf(...rows: [string, string][]): CategoryTable {
  return parseCategoryTable(
    JSON.stringify({ entries: rows.map(([pattern, category]) => ({ pattern, category, source: 'test' })) }),
    'test.json',
  );
}

describe('matchesPattern', () => {
  it.each([
    ['dji.com', 'dji.com', true],
    ['dji.com', 'flysafe.dji.com', true],
    ['dji.com', 'notdji.com', false],
    ['dji.com', 'dji.com.evil.example', false],
    ['*.bugly.qq.com', 'android.bugly.qq.com', true],
    ['*.bugly.qq.com', 'a.b.bugly.qq.com', true],
    ['*.bugly.qq.com', 'bugly.qq.com', false],
    ['*.bugly.qq.com', 'androidxbugly.qq.com', false],
    ['log-*.vendor.example', 'log-eu.vendor.example', true],
    ['log-*.vendor.example', 'api.vendor.example', false],
  ])('%s against %s is %s', (pattern, host, expected) => {
    // Act + Assess
    expect(matchesPattern(pattern, host)).toBe(expected);
  });
});

describe('classifyHostname', () => {
  it('ignores case and a trailing dot', () => {
    const table = tableOf(['*.bugly.qq.com', 'device-identifiers-and-crash-reports']);
    expect(classifyHostname(table, 'Android.BUGLY.qq.com.')?.category).toBe('device-identifiers-and-crash-reports');
  });

  it('prefers the most specific pattern, whatever the order', () => {
    // Prepare
    const table = tableOf(['vendor.example', 'analytics'], ['flightlog.vendor.example', 'flight-logs']);
    // Act + Assess
    expect(classifyHostname(table, 'flightlog.vendor.example')?.category).toBe('flight-logs');
    expect(classifyHostname(table, 'eu.flightlog.vendor.example')?.category).toBe('flight-logs');
    expect(classifyHostname(table, 'stats.vendor.example')?.category).toBe('analytics');
  });

  it('returns null for a host no pattern matches', () => {
    expect(classifyHostname(tableOf(['vendor.example', 'updates']), 'other.example')).toBeNull();
  });
});

describe('parseCategoryTable', () => {
  it.each([
    ['not JSON', '{', /not valid JSON/],
    ['no entries', '{}', /entries: expected an array/],
    ['an unknown category', '{"entries":[{"pattern":"a.example","category":"telemetry","source":"x"}]}', /entries\[0\]: category: expected one of/],
    ['no source', '{"entries":[{"pattern":"a.example","category":"media"}]}', /entries\[0\]: source/],
    ['a bad pattern', '{"entries":[{"pattern":"https://a.example/","category":"media","source":"x"}]}', /entries\[0\]: pattern/],
    ['a bare wildcard', '{"entries":[{"pattern":"*","category":"media","source":"x"}]}', /entries\[0\]: pattern/],
    ['an unknown field', '{"entries":[{"pattern":"a.example","category":"media","source":"x","why":1}]}', /entries\[0\]: why: unknown field/],
  ])('rejects %s, naming the file and the entry', (_what, text, message) => {
    expect(() => parseCategoryTable(text, 'cats.json')).toThrow(InputError);
    expect(() => parseCategoryTable(text, 'cats.json')).toThrow(message);
  });

  it('reads the bundled table: every entry sourced, no .example hosts', () => {
    // Prepare
    const text = readFileSync(join(REPO_ROOT, 'data', 'categories.json'), 'utf8');
    // Act
    const table = parseCategoryTable(text, 'data/categories.json');
    // Assess
    expect(table.entries.length).toBeGreaterThan(10);
    for (const e of table.entries) {
      expect(e.source).toMatch(/^https:\/\//);
      expect(e.pattern).not.toMatch(/\.example$/);
      expect(DATA_CATEGORIES).toContain(e.category);
    }
    expect(classifyHostname(table, 'android.bugly.qq.com')?.category).toBe('device-identifiers-and-crash-reports');
    expect(classifyHostname(table, 'a.tile.openstreetmap.org')?.category).toBe('map-tiles');
  });
});
