/** Per-app breakdown: for each app or interface the log names, the countries it reached. */
import type { DestinationStatus } from '../types';
import type { VerdictDestination } from '../verdict/verdict';

const RANK: Record<DestinationStatus, number> = { violation: 0, unknown: 1, blocked: 2, allowed: 3, 'non-public': 4 };

/** One app and where it sent data. */
export interface AppSummary {
  app: string;
  /** The worst status among its destinations. */
  status: DestinationStatus;
  destinations: number;
  bytesSent: number;
  /** Countries contacted, worst status first (null: no known location). */
  countries: { country: string | null; status: DestinationStatus }[];
}

/** Groups destinations by app (a destination shared by apps counts for each); worst apps first. */
export function appBreakdown(destinations: Iterable<VerdictDestination>): AppSummary[] {
  const apps = new Map<string, AppSummary & { byCountry: Map<string | null, DestinationStatus> }>();
  for (const d of destinations) {
    for (const app of d.apps ?? []) {
      let a = apps.get(app);
      if (!a) {
        a = { app, status: d.status, destinations: 0, bytesSent: 0, countries: [], byCountry: new Map() };
        apps.set(app, a);
      }
      a.destinations++;
      a.bytesSent += d.bytesSent;
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
