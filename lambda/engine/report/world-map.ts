/**
 * The report's world map: inline SVG of the Natural Earth countries (world-atlas, public domain),
 * never fetched, drawn once at build time (world-map-data.ts, from world-map-build.ts). One arc per
 * destination country from the monitored side, coloured by status and as wide as the log of the
 * bytes sent to it.
 */
import type { DestinationStatus } from '../types';
import type { VerdictDestination } from '../verdict/verdict';
import { countryName, countryNumeric } from './country-names';
import { escapeHtml } from './escape';
import { ATLAS_COUNTRIES, LAND_PATH, SMALL_COUNTRIES_ON_MAP, SPHERE_PATH } from './world-map-data';
import { formatBytes } from '../verdict/render-summary';

/** Map size in SVG user units (the page scales it to its width). */
export const MAP_WIDTH = 960;
export const MAP_HEIGHT = 500;

/**
 * Countries too small for the 110m atlas (and some not in the 50m one): centroid longitude and
 * latitude. Computed once from world-atlas countries-50m (the largest polygon's centroid), by hand
 * where even that has none (BQ BV CC CX GF GI GP MQ RE SJ TK TV UM YT).
 */
const SMALL_COUNTRIES =
  'AD:1.6:42.5|AG:-61.8:17.1|AI:-63.1:18.2|AS:-170.7:-14.3|AW:-70.0:12.5|AX:19.9:60.2|' +
  'BB:-59.6:13.2|BH:50.5:26.0|BL:-62.8:17.9|BM:-64.8:32.3|BQ:-68.3:12.2|BV:3.4:-54.4|' +
  'CC:96.8:-12.2|CK:-159.8:-21.2|CV:-23.6:15.1|CW:-69.0:12.2|CX:105.7:-10.5|DM:-61.4:15.4|' +
  'FM:158.2:6.9|FO:-6.9:62.2|GD:-61.7:12.1|GF:-53.1:3.9|GG:-2.6:49.5|GI:-5.4:36.1|GP:-61.6:16.2|' +
  'GS:-36.7:-54.4|GU:144.8:13.4|HK:114.1:22.4|HM:73.5:-53.1|IM:-4.5:54.2|IO:72.4:-7.3|' +
  'JE:-2.1:49.2|KI:-157.4:1.9|KM:43.3:-11.7|KN:-62.7:17.3|KY:-81.3:19.3|LC:-61.0:13.9|LI:9.5:47.1|' +
  'MC:7.4:43.8|MF:-63.1:18.1|MH:171.2:7.1|MO:113.5:22.2|MP:145.7:15.2|MQ:-61.0:14.6|MS:-62.2:16.7|' +
  'MT:14.4:35.9|MU:57.6:-20.3|MV:73.5:4.2|NF:167.9:-29.1|NR:166.9:-0.5|NU:-169.9:-19.0|' +
  'PF:-149.4:-17.7|PM:-56.3:46.9|PN:-128.3:-24.4|PW:134.6:7.5|RE:55.5:-21.1|SC:55.5:-4.7|' +
  'SG:103.8:1.4|SH:-5.7:-16.0|SJ:16.0:78.5|SM:12.5:43.9|ST:6.6:0.2|SX:-63.1:18.1|TC:-71.7:21.8|' +
  'TK:-171.8:-9.2|TO:-175.2:-21.2|TV:179.2:-8.5|UM:166.6:19.3|VA:12.4:41.9|VC:-61.2:13.3|' +
  'VG:-64.6:18.4|VI:-64.8:17.7|WF:-178.1:-14.3|WS:-172.4:-13.6|YT:45.2:-12.8';
/** A destination country's colour class on the map, worst first. */
export type MapStatus = 'violation' | 'warning' | 'allowed' | 'blocked';

const MAP_STATUS_RANK: Record<MapStatus, number> = { violation: 0, warning: 1, allowed: 2, blocked: 3 };

/** One destination country on the map. */
export interface MapCountry {
  country: string;
  status: MapStatus;
  destinations: number;
  connections: number;
  bytesSent: number;
}

/** Rounds every number in SVG path data to one decimal place (keeps the report small). */
export function roundPath(d: string): string {
  return d.replace(/-?\d+(?:\.\d+)?(?:e-?\d+)?/g, (n) => {
    const r = Math.round(Number(n) * 10) / 10;
    return String(Object.is(r, -0) ? 0 : r);
  });
}

let small: Map<string, [number, number]> | null = null;

/** SMALL_COUNTRIES: code → longitude and latitude. */
export function smallCountries(): ReadonlyMap<string, [number, number]> {
  small ??= new Map(
    SMALL_COUNTRIES.split('|').map((row) => {
      const [c = '', lon = '0', lat = '0'] = row.split(':');
      return [c, [Number(lon), Number(lat)]];
    }),
  );
  return small;
}

/** A country as the atlas draws it: outline, centre, centre on the map. */
type AtlasCountry = readonly [string, [number, number] | null, [number, number] | null];

/** The atlas's country of a code (by its ISO numeric code; Kosovo, which has none, by XK). */
function atlasCountry(code: string): AtlasCountry | null {
  const key = code === 'XK' ? code : countryNumeric(code);
  return key === null ? null : (ATLAS_COUNTRIES[key] ?? null);
}

/** Longitude and latitude of a country's centre, or null for a code the map cannot place. */
export function countryCentroid(code: string): [number, number] | null {
  const centre = atlasCountry(code)?.[1];
  if (centre) return [centre[0], centre[1]];
  const lonLat = smallCountries().get(code);
  return lonLat ? [lonLat[0], lonLat[1]] : null;
}

/** A country's centre on the map, or null for a code the map cannot place. */
function centreOnMap(code: string): [number, number] | null {
  const country = atlasCountry(code);
  if (country?.[1]) return country[2];
  return SMALL_COUNTRIES_ON_MAP[code] ?? null;
}

/** The map status of one destination. */
function mapStatusOf(d: VerdictDestination): MapStatus {
  if (d.status === 'violation') return 'violation';
  if (d.status === 'unknown' || d.disputed || d.warning !== null) return 'warning';
  if (d.status === 'blocked') return 'blocked';
  return 'allowed';
}

/** Destinations grouped by country (public, placed ones only), worst status first, then bytes. */
export function mapCountries(destinations: Iterable<VerdictDestination>): MapCountry[] {
  return mapCountriesCounting(destinations).countries;
}

/** {@link mapCountries}, and how many public destinations have no known location, in one pass. */
function mapCountriesCounting(destinations: Iterable<VerdictDestination>): { countries: MapCountry[]; unlocated: number } {
  let unlocated = 0;
  const byCountry = new Map<string, MapCountry>();
  for (const d of destinations) {
    if (d.country === null && d.status !== 'non-public') unlocated++;
    if (d.country === null || d.status === ('non-public' satisfies DestinationStatus)) continue;
    const status = mapStatusOf(d);
    const c = byCountry.get(d.country);
    if (!c) {
      byCountry.set(d.country, { country: d.country, status, destinations: 1, connections: d.connections, bytesSent: d.bytesSent });
      continue;
    }
    if (MAP_STATUS_RANK[status] < MAP_STATUS_RANK[c.status]) c.status = status;
    c.destinations++;
    c.connections += d.connections;
    c.bytesSent += d.bytesSent;
  }
  const countries = [...byCountry.values()].sort(
    (a, b) => MAP_STATUS_RANK[a.status] - MAP_STATUS_RANK[b.status] || b.bytesSent - a.bytesSent || (a.country < b.country ? -1 : 1),
  );
  return { countries, unlocated };
}

/** Stroke width of an arc: logarithmic in bytes sent (1 B → 1, 1 MB → 4.4, 1 GB → 6.2). */
export function arcWidth(bytesSent: number): number {
  return Math.min(8, Math.round((0.8 + 0.6 * Math.log10(1 + Math.max(0, bytesSent))) * 10) / 10);
}

function r1(n: number): string {
  const r = Math.round(n * 10) / 10;
  return String(Object.is(r, -0) ? 0 : r);
}

/** Path data of an arc from `o` to `d`: a quadratic curve bowing upwards, or a loop when they meet. */
function arcPath(o: [number, number], d: [number, number]): string {
  const dx = d[0] - o[0];
  const dy = d[1] - o[1];
  const dist = Math.hypot(dx, dy);
  if (dist < 6) {
    return `M${r1(o[0])} ${r1(o[1])}C${r1(o[0] - 18)} ${r1(o[1] - 34)} ${r1(o[0] + 18)} ${r1(o[1] - 34)} ${r1(d[0])} ${r1(d[1])}`;
  }
  // Control point: off the midpoint, perpendicular to the chord, on the upper side.
  let nx = -dy / dist;
  let ny = dx / dist;
  if (ny > 0) {
    nx = -nx;
    ny = -ny;
  }
  const bow = Math.min(160, dist * 0.3);
  const cx = (o[0] + d[0]) / 2 + nx * bow;
  const cy = (o[1] + d[1]) / 2 + ny * bow;
  return `M${r1(o[0])} ${r1(o[1])}Q${r1(cx)} ${r1(cy)} ${r1(d[0])} ${r1(d[1])}`;
}

/** What the map needs from the verdict. */
export interface WorldMapInput {
  /** Read once, in order; an item need not outlive the next (see eachDestination). */
  destinations: Iterable<VerdictDestination>;
  /** The monitored side's country (assumed), or null when unknown. */
  origin: string | null;
}

/** The map's SVG and the facts its legend states. */
export interface WorldMap {
  svg: string;
  countries: MapCountry[];
  /** Destination countries the map cannot place (drawn nowhere; listed in the tables). */
  unplaced: string[];
  /** Public destinations with no known location. */
  unlocated: number;
  originPlaced: boolean;
}

const STATUS_WORDS: Record<MapStatus, string> = {
  violation: 'violation',
  warning: 'unknown, disputed or warned',
  allowed: 'allowed',
  blocked: 'blocked by the network',
};

/** Renders the world map with one `<path class="arc" data-country="XX">` per destination country. */
export function renderWorldMap(input: WorldMapInput): WorldMap {
  const { countries, unlocated } = mapCountriesCounting(input.destinations);
  const origin = input.origin ? centreOnMap(input.origin) : null;

  const fills: string[] = [];
  const arcs: string[] = [];
  const dots: string[] = [];
  const unplaced: string[] = [];
  // Worst last, so red arcs are drawn on top.
  for (const c of [...countries].reverse()) {
    const code = escapeHtml(c.country);
    const title = `<title>${escapeHtml(countryName(c.country))} (${code}): ${STATUS_WORDS[c.status]}; ${c.destinations} destination${c.destinations === 1 ? '' : 's'}, ${escapeHtml(formatBytes(c.bytesSent))} sent</title>`;
    const outline = atlasCountry(c.country)?.[0];
    if (outline !== undefined) fills.push(`<path class="fill ${c.status}" data-country="${code}" d="${outline}"/>`);
    const at = centreOnMap(c.country);
    if (!at) {
      unplaced.push(c.country);
      continue;
    }
    const width = arcWidth(c.bytesSent);
    if (origin) {
      arcs.push(`<path class="arc ${c.status}" data-country="${code}" stroke-width="${width}" d="${arcPath(origin, at)}">${title}</path>`);
    } else {
      // No origin to draw from: the arc degenerates to a ring around the destination.
      const r = 3 + width;
      arcs.push(
        `<path class="arc ${c.status}" data-country="${code}" stroke-width="${width}" d="M${r1(at[0] - r)} ${r1(at[1])}a${r} ${r} 0 1 0 ${2 * r} 0a${r} ${r} 0 1 0 ${-2 * r} 0">${title}</path>`,
      );
    }
    dots.push(`<circle class="dot ${c.status}" cx="${r1(at[0])}" cy="${r1(at[1])}" r="2.5"/>`);
  }
  const originMark = origin
    ? `<g class="origin"><circle cx="${r1(origin[0])}" cy="${r1(origin[1])}" r="7"/><circle cx="${r1(origin[0])}" cy="${r1(origin[1])}" r="2.5" class="core"/></g>`
    : '';
  const svg =
    `<svg class="world-map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${MAP_WIDTH} ${MAP_HEIGHT}" role="img" aria-label="World map of destination countries">` +
    `<path class="sphere" d="${SPHERE_PATH}"/><path class="land" d="${LAND_PATH}"/>` +
    `<g class="fills">${fills.join('')}</g><g class="arcs">${arcs.join('')}</g><g class="dots">${dots.join('')}</g>${originMark}</svg>`;
  return { svg, countries, unplaced, unlocated, originPlaced: origin !== null };
}
