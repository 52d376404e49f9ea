/** Per-app breakdown: for each app or interface the log names, the countries it reached and what it sent. */
import type { DestinationStatus } from '../types';
import type { VerdictDestination } from '../verdict/verdict';

const RANK: Record<DestinationStatus, number> = { violation: 0, unknown: 1, blocked: 2, allowed: 3, 'non-public': 4 };

/** One app and where it sent data. */
export interface AppSummary {
  app: string;
  /** The worst status among its destinations. */
  status: DestinationStatus;
  destinations: number;
  /** The app's own connections and bytes (its records only, not the other apps' to the same destination). */
  connections: number;
  bytesSent: number;
  bytesReceived: number;
  /**
   * Destinations whose traffic the verdict does not split by app (more apps than it lists, or a
   * verdict from before `appTraffic`): the app's share of them is not in the counts above.
   */
  unsplitDestinations: number;
  /** Countries contacted, worst status first (null: no known location). */
  countries: { country: string | null; status: DestinationStatus }[];
}

type Building = AppSummary & { byCountry: Map<string | null, DestinationStatus> };

/**
 * Groups destinations by app; worst apps first, then by bytes sent. A destination shared by apps
 * counts for each, with each app's own connections and bytes (`appTraffic`): never the
 * destination's totals, which would credit every app with the others' bytes.
 */
export function appBreakdown(destinations: Iterable<VerdictDestination>): AppSummary[] {
  const apps = new Map<string, Building>();
  const summaryOf = (app: string, status: DestinationStatus): Building => {
    let a = apps.get(app);
    if (!a) {
      a = { app, status, destinations: 0, connections: 0, bytesSent: 0, bytesReceived: 0, unsplitDestinations: 0, countries: [], byCountry: new Map() };
      apps.set(app, a);
    }
    return a;
  };
  for (const d of destinations) {
    const listed = d.apps ?? [];
    if (listed.length === 0) continue;
    const split = d.appTraffic;
    for (const app of listed) {
      const a = summaryOf(app, d.status);
      a.destinations++;
      const own = split?.find((t) => t.app === app);
      if (own) {
        a.connections += own.connections;
        a.bytesSent += own.bytesSent;
        a.bytesReceived += own.bytesReceived;
      } else {
        a.unsplitDestinations++;
      }
      if (RANK[d.status] < RANK[a.status]) a.status = d.status;
      if (d.status === 'non-public') continue;
      const seen = a.byCountry.get(d.country);
      if (seen === undefined || RANK[d.status] < RANK[seen]) a.byCountry.set(d.country, d.status);
    }
  }
  return [...apps.values()]
    .map(({ byCountry, ...a }) => ({
      ...a,
      countries: [...byCountry.entries()]
        .map(([country, status]) => ({ country, status }))
        .sort((x, y) => RANK[x.status] - RANK[y.status] || String(x.country).localeCompare(String(y.country))),
    }))
    .sort((x, y) => RANK[x.status] - RANK[y.status] || y.bytesSent - x.bytesSent || x.app.localeCompare(y.app));
}
