/**
 * The monitored side's own address taken for a destination. A log that does not say which side of
 * a record is inside (default version 2 VPC Flow Logs: no `flow-direction`) lists an interface's
 * public address (a dual-stack instance's IPv6 address) as the destination of every record it
 * received, with what it received counted as sent. Which address is the interface's own cannot be
 * told for certain from the records (an interface that forwards packets, or one that talks to one
 * peer only, looks the same), so it is never guessed: the address on one side of every record of
 * an interface is reported as a warning on that destination, naming the fix (the policy's
 * `localNetworks`, or logging `flow-direction`). The verdict's status and rules do not change.
 */
import { parseIp } from '../net/ip';
import { MAX_COMMON_INTERFACES } from '../parsers/common-sides';
import type { AddressFacts } from '../policy/evaluate';
import type { CommonAddresses } from '../types';

export type { CommonAddresses };


/** Per group: the addresses left after intersecting every range's, as the log spells them. */
export class CommonAddressHints {
  private readonly groups = new Map<string, { app: string | null; family: 4 | 6; addresses: string[]; records: number; sources?: string[] }>();

  /** Distinct interfaces (null for records naming none). */
  private readonly apps = new Set<string | null>();
  /** More interfaces than tracked, in a range or over all: no hint holds (see MAX_COMMON_INTERFACES). */
  private overflowed = false;

  get size(): number {
    return this.groups.size;
  }

  /** Whether the hints were given up (too many interfaces, or a range that could not say). */
  get overflow(): boolean {
    return this.overflowed;
  }

  /** Gives every hint up: the log named more interfaces than are tracked. */
  giveUp(): void {
    this.overflowed = true;
    this.groups.clear();
    this.apps.clear();
  }

  /** Adds what one parser (or one range of a split log) found: its addresses meet the group's. */
  add(h: CommonAddresses): void {
    if (h.records === 0 || this.overflowed) return;
    const key = `${h.family}${h.app === null ? '' : ` ${h.app}`}`;
    // Spellings are compared as written, as the parser compares them within one pass: ranges of a
    // split log then meet in what one pass finds (canonical forms would find more).
    const g = this.groups.get(key);
    if (g === undefined) {
      if (!this.apps.has(h.app)) {
        if (this.apps.size >= MAX_COMMON_INTERFACES) {
          this.giveUp();
          return;
        }
        this.apps.add(h.app);
      }
      this.groups.set(key, { app: h.app, family: h.family, addresses: [...new Set(h.addresses)], records: h.records, ...(h.sources ? { sources: [...new Set(h.sources)] } : {}) });
      return;
    }
    g.addresses = g.addresses.filter((a) => h.addresses.includes(a));
    g.records += h.records;
    // A source in any range was a source in the log.
    if (h.sources) g.sources = [...new Set([...(g.sources ?? []), ...h.sources])];
  }

  /** The groups, for a range of a split log to pass on. */
  list(): CommonAddresses[] {
    return [...this.groups.values()].map((g) => ({ ...g, addresses: [...g.addresses], ...(g.sources ? { sources: [...g.sources] } : {}) }));
  }

  /**
   * The facts of each listed destination to warn of, the warning added, by address. `factsOf(ip)`:
   * the facts of a listed destination, or undefined when `ip` is not listed. A destination inside
   * the monitored networks (`non-public`) is not warned of.
   */
  warnedFacts(factsOf: (ip: string) => AddressFacts | undefined): Map<string, AddressFacts> {
    const out = new Map<string, AddressFacts>();
    if (this.groups.size === 0) return out;
    const outside = (ip: string): boolean => {
      const f = factsOf(ip);
      return f !== undefined && f.status !== 'non-public';
    };
    for (const [ip, text] of this.warnings(outside)) out.set(ip, withWarning(factsOf(ip)!, text));
    return out;
  }

  /** The addresses that may be the monitored side's own, as the verdict lists them. */
  candidates(): Set<string> {
    const out = new Set<string>();
    for (const g of this.groups.values()) for (const a of g.addresses) out.add(canonical(a));
    return out;
  }

  /**
   * The warning for each listed destination that is likely an interface's own address, by address.
   * `outside(ip)`: whether `ip` is a listed destination outside the monitored networks. A group's
   * one common address is warned of when it is listed outside; of two (an interface seen with one
   * peer), both are, when both are listed outside (when one is inside, it is the interface's own,
   * and the other is simply its peer).
   */
  warnings(outside: (ip: string) => boolean): Map<string, string> {
    const out = new Map<string, string>();
    for (const g of this.groups.values()) {
      // Where the parser said which were sources, only those (see CommonAddresses.sources).
      const sources = g.sources;
      const addresses = [...new Set(g.addresses.filter((a) => sources === undefined || sources.includes(a)).map(canonical))];
      // One record has both its sides in common with itself: no sign of which is inside.
      if (g.records < 2 || addresses.length === 0 || !addresses.every(outside)) continue;
      const where = `every IPv${g.family} record of ${g.app ?? 'the log'} (${g.records} records)`;
      const own = `${g.app === null ? 'the monitored side' : 'that interface'}'s own address, listed as a destination because the log does not say which side of a record is inside`;
      const fix = "if so, add it (or its network) to the policy's localNetworks, beside \"non-public\" (VPC Flow Logs without flow-direction: or log it)";
      for (const a of addresses) {
        const other = addresses.find((b) => b !== a);
        const text =
          other === undefined
            ? `this address is on one side of ${where}: likely ${own}; ${fix}`
            : `this address and ${other} are the two sides of ${where}: one of the two is likely ${own}; ${fix}`;
        const prev = out.get(a);
        out.set(a, prev === undefined ? text : `${prev}; ${text}`);
      }
    }
    return out;
  }
}

/** An address as the verdict lists it (a spelling that is no address, as it is). */
function canonical(spelling: string): string {
  return parseIp(spelling)?.text ?? spelling;
}

/** `facts` with `text` as its warning, after any warning it has. */
function withWarning(facts: AddressFacts, text: string): AddressFacts {
  return { ...facts, warning: facts.warning === null ? text : `${facts.warning}; ${text}` };
}
