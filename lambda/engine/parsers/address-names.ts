/**
 * Names that DNS answers gave for addresses, for captures and sensor logs that carry the answers
 * beside the connections (pcap, Suricata EVE). One address often has several names (a CDN or a
 * cloud front serving many sites), and the one answered last is not always the one a connection
 * was made for: each address keeps its names, the latest last, and a connection to it is named
 * by all of them (as `--dns` names destinations from a Zeek dns.log).
 */

/** Names kept per address; an address with more forgets its oldest. */
export const MAX_NAMES_PER_ADDRESS = 8;

/** Addresses → the names answered for them, bounded. */
export class AddressNames {
  private readonly map = new Map<string, string[]>();

  /**
   * @param maxAddresses addresses kept
   * @param forgetOldest past `maxAddresses`, forget the address learnt first (true), or learn no
   *   new address (false)
   */
  constructor(
    private readonly maxAddresses: number,
    private readonly forgetOldest: boolean,
  ) {}

  /** Learns that `address` (canonical text) was answered for `name`. */
  add(address: string, name: string): void {
    let list = this.map.get(address);
    if (list === undefined) {
      if (this.map.size >= this.maxAddresses) {
        if (!this.forgetOldest) return;
        const oldest = this.map.keys().next();
        if (!oldest.done) this.map.delete(oldest.value);
      }
      this.map.set(address, (list = []));
    }
    const at = list.indexOf(name);
    if (at === list.length - 1 && at >= 0) return;
    if (at >= 0) list.splice(at, 1);
    else if (list.length >= MAX_NAMES_PER_ADDRESS) list.shift();
    list.push(name);
  }

  /** The names answered for `address`, the latest last; null when none. */
  get(address: string): readonly string[] | null {
    return this.map.get(address) ?? null;
  }

  /** The name answered last for `address`, or null. */
  latest(address: string): string | null {
    const list = this.map.get(address);
    return list === undefined ? null : (list[list.length - 1] ?? null);
  }
}
