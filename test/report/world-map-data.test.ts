/**
 * The report map's geometry is drawn at build time (world-map-data.ts): the committed file must be
 * what world-map-build.ts draws from world-atlas with d3-geo now, so a change to the atlas, the
 * projection or the small countries' table cannot leave the reports drawing the old map.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { worldMapDataSource } from '../../lambda/engine/report/world-map-build';
import { ATLAS_COUNTRIES, LAND_PATH, SMALL_COUNTRIES_ON_MAP, SPHERE_PATH } from '../../lambda/engine/report/world-map-data';
import { countryCentroid, renderWorldMap, smallCountries } from '../../lambda/engine/report/world-map';

describe('world-map-data.ts', () => {
  it('is what world-map-build.ts draws (run node scripts/build-world-map.js after a build if not)', () => {
    const committed = readFileSync(join(__dirname, '..', '..', 'lambda', 'engine', 'report', 'world-map-data.ts'), 'utf8');
    expect(committed === worldMapDataSource()).toBe(true);
  });

  it('draws the globe, the land and every country with a centre on the map', () => {
    expect(SPHERE_PATH).toMatch(/^M[-\d.]+,[-\d.]+/);
    expect(LAND_PATH.length).toBeGreaterThan(50_000);
    const countries = Object.entries(ATLAS_COUNTRIES);
    expect(countries.length).toBeGreaterThan(170);
    for (const [key, [outline, centre, at]] of countries) {
      expect(key).toMatch(/^(\d{3}|XK)$/);
      expect(outline).toMatch(/^M/);
      expect(centre).not.toBeNull();
      expect(at![0]).toBeGreaterThan(0);
      expect(at![0]).toBeLessThan(960);
      expect(at![1]).toBeGreaterThan(0);
      expect(at![1]).toBeLessThan(500);
    }
    expect(Object.keys(SMALL_COUNTRIES_ON_MAP).sort()).toEqual([...smallCountries().keys()].sort());
  });

  it('places countries where they are: France in the west of Europe, Singapore by the equator, Kosovo by XK', () => {
    expect(countryCentroid('FR')![0]).toBeCloseTo(2.5, 0);
    expect(countryCentroid('SG')).toEqual([103.8, 1.4]);
    expect(countryCentroid('XK')).not.toBeNull();
    expect(countryCentroid('ZZ')).toBeNull();
    const map = renderWorldMap({
      destinations: [{ ip: '8.8.8.8', country: 'XK', status: 'violation', disputed: false, warning: null, connections: 1, bytesSent: 10 } as never],
      origin: 'US',
    });
    expect(map.svg).toContain('<path class="fill violation" data-country="XK" d="M');
    expect(map.unplaced).toEqual([]);
    expect(map.originPlaced).toBe(true);
  });
});
