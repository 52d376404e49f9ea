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

describe('the bundled table (data/categories.json)', () => {
  const text = readFileSync(join(REPO_ROOT, 'data', 'categories.json'), 'utf8');
  const raw = JSON.parse(text) as { updated: string; entries: Record<string, unknown>[] };
  const table = parseCategoryTable(text, 'data/categories.json');

  it('has one entry per pattern, each written as the matcher reads it', () => {
    const patterns = raw.entries.map((e) => e.pattern as string);
    expect(new Set(patterns).size).toBe(patterns.length);
    for (const p of patterns) expect(p).toBe(p.trim().toLowerCase());
  });

  it('says for every entry what the source says and whether it was checked', () => {
    expect(raw.updated).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const e of raw.entries) {
      expect(e.source).toMatch(/^https:\/\/\S+$/);
      expect(typeof e.note).toBe('string');
      expect((e.note as string).length).toBeGreaterThan(20);
      expect(typeof e.sourceChecked).toBe('boolean');
    }
  });

  it.each([
    ['android.bugly.qq.com', 'device-identifiers-and-crash-reports'],
    ['firebase-settings.crashlytics.com', 'device-identifiers-and-crash-reports'],
    ['crashlyticsreports-pa.googleapis.com', 'device-identifiers-and-crash-reports'],
    ['o4508312317132800.ingest.us.sentry.io', 'device-identifiers-and-crash-reports'],
    ['o123.ingest.de.sentry.io', 'device-identifiers-and-crash-reports'],
    ['o123.ingest.sentry.io', 'device-identifiers-and-crash-reports'],
    ['sessions.bugsnag.com', 'device-identifiers-and-crash-reports'],
    ['api.instabug.com', 'device-identifiers-and-crash-reports'],
    ['mydjiflight.dji.com', 'flight-logs'],
    ['fffdrone.aasky.net', 'flight-logs'],
    ['www.skypixel.com', 'media'],
    ['flysafe-api.dji.com', 'location-checks'],
    ['webrd01.is.autonavi.com', 'map-tiles'],
    ['online3.map.bdimg.com', 'map-tiles'],
    ['maps.hereapi.com', 'map-tiles'],
    ['api.mapbox.com', 'map-tiles'],
    ['events.mapbox.com', 'analytics'],
    ['app-measurement.com', 'analytics'],
    ['region1.app-measurement.com', 'analytics'],
    ['region1.google-analytics.com', 'analytics'],
    ['ulogs.umeng.com', 'analytics'],
    ['api2.branch.io', 'analytics'],
    ['mesu.apple.com', 'updates'],
    ['r3---sn-abc.gvt1.com', 'updates'],
  ])('classifies %s as %s', (host, category) => {
    expect(classifyHostname(table, host)?.category).toBe(category);
  });

  it.each([
    // Shared domains carry many kinds of data: no pattern may claim them as a whole.
    'www.googleapis.com',
    'storage.googleapis.com',
    'www.dji.com',
    'dji.com',
    'errlog.umeng.com',
    'www.umeng.com',
    'qq.com',
    'www.baidu.com',
    'restapi.amap.com',
    'oss-us-west-1.aliyuncs.com',
    's3.amazonaws.com',
  ])('leaves %s unclassified', (host) => {
    expect(classifyHostname(table, host)).toBeNull();
  });
});
