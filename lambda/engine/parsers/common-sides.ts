/**
 * Finds, for each interface (a record's app) and address family, the addresses on one side of
 * every record: what a parser whose records do not say which side is inside reports at its end
 * (RecordSink.commonAddresses; see verdict/common-addresses for what becomes of it). Two byte
 * comparisons a record; addresses compared as the log spells them (a log that spells one address
 * two ways only loses the hint).
 */
import type { RecordSink } from '../types';
import { latin1 } from './bytes';

/**
 * Interfaces tracked at most. A log with more gives no hints at all (RecordSink's
 * commonAddressesOverflow), whichever of its interfaces came first: so a split check, whose
 * ranges each see some of them, finds what one pass does.
 */
export const MAX_COMMON_INTERFACES = 4096;

class FamilySides {
  records = 0;
  /** Both ends of the first record while every later record has them, else null. */
  a: Buffer | null = null;
  b: Buffer | null = null;
  /** Whether `a` and `b` were the source of a record. */
  aSource = false;
  bSource = false;
}

function same(x: Buffer, buf: Buffer, start: number, end: number): boolean {
  return x.length === end - start && buf.compare(x, 0, x.length, start, end) === 0;
}

function isIpv6(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] === 0x3a) return true;
  return false;
}

export class CommonSides {
  private readonly groups = new Map<string | null, FamilySides[]>();
  private overflow = false;

  /** @param trackSources report which common addresses were a record's source (CommonAddresses.sources) */
  constructor(private readonly trackSources = false) {}

  /** A record of interface `app` between `buf[s1, e1)` and `buf[s2, e2)`. */
  note(app: string | null, buf: Buffer, s1: number, e1: number, s2: number, e2: number): void {
    let g = this.groups.get(app);
    if (g === undefined) {
      if (this.overflow) return;
      if (this.groups.size >= MAX_COMMON_INTERFACES) {
        this.overflow = true;
        this.groups.clear();
        return;
      }
      g = [new FamilySides(), new FamilySides()];
      this.groups.set(app, g);
    }
    const f = g[isIpv6(buf, s1, e1) ? 1 : 0]!;
    if (f.records++ === 0) {
      f.a = Buffer.from(buf.subarray(s1, e1));
      f.aSource = true;
      f.b = same(f.a, buf, s2, e2) ? null : Buffer.from(buf.subarray(s2, e2));
      return;
    }
    if (f.a !== null) {
      if (same(f.a, buf, s1, e1)) f.aSource = true;
      else if (!same(f.a, buf, s2, e2)) f.a = null;
    }
    if (f.b !== null) {
      if (same(f.b, buf, s1, e1)) f.bSource = true;
      else if (!same(f.b, buf, s2, e2)) f.b = null;
    }
  }

  /** Tells the sink what each interface's records had in common. */
  report(sink: RecordSink): void {
    if (this.overflow) {
      sink.commonAddressesOverflow?.();
      return;
    }
    if (sink.commonAddresses === undefined) return;
    for (const [app, g] of this.groups) {
      for (let i = 0; i < 2; i++) {
        const f = g[i]!;
        if (f.records === 0) continue;
        const addresses: string[] = [];
        const sources: string[] = [];
        for (const [x, source] of [[f.a, f.aSource], [f.b, f.bSource]] as const) {
          if (x === null) continue;
          addresses.push(latin1(x, 0, x.length));
          if (source) sources.push(latin1(x, 0, x.length));
        }
        sink.commonAddresses({ app, family: i === 0 ? 4 : 6, addresses, records: f.records, ...(this.trackSources ? { sources } : {}) });
      }
    }
  }
}
