/**
 * A hash index from short byte strings to integers, so the hot path can find an address's
 * endpoint without turning its bytes into a JS string (string creation and hashing dominated the
 * per-record cost). Open addressing with linear probing over FNV-1a hashes. Each slot is four
 * int32s (hash, entry + 1, value, unused) and each key a fixed 48-byte cell (length byte + bytes),
 * so a hit touches two cache lines.
 */

/** Keys longer than this are not indexed (the caller falls back to a string map). */
export const MAX_INDEXED_KEY_BYTES = 47;
const KEY_CELL = 48;
const SLOT = 4;

export class ByteKeyIndex {
  private slots: Int32Array;
  private mask: number;
  private keys: Uint8Array;
  private count = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.slots = new Int32Array(cap * SLOT);
    this.mask = cap - 1;
    this.keys = new Uint8Array(initialCapacity * KEY_CELL);
  }

  /** Number of keys held. */
  get size(): number {
    return this.count;
  }

  /** The FNV-1a hash of `buf[start, end)`, never 0. */
  static hash(buf: Uint8Array, start: number, end: number): number {
    let h = -2128831035; // 0x811c9dc5 as int32
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 16777619);
    return h | 1;
  }

  /** The value stored for `buf[start, end)`, or -1. */
  get(buf: Uint8Array, start: number, end: number): number {
    const h = ByteKeyIndex.hash(buf, start, end);
    const slots = this.slots;
    const mask = this.mask;
    const len = end - start;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const at = slot * SLOT;
      const entry = slots[at + 1]!;
      if (entry === 0) return -1;
      if (slots[at] === h) {
        const keys = this.keys;
        let k = (entry - 1) * KEY_CELL;
        if (keys[k] === len) {
          k++;
          let i = start;
          while (i < end && keys[k] === buf[i]) {
            i++;
            k++;
          }
          if (i === end) return slots[at + 2]!;
        }
      }
    }
  }

  /**
   * Maps `buf[start, end)` (at most {@link MAX_INDEXED_KEY_BYTES} long, not present yet) to
   * `value`. Returns false, storing nothing, when the key is too long.
   */
  add(buf: Uint8Array, start: number, end: number, value: number): boolean {
    const len = end - start;
    if (len > MAX_INDEXED_KEY_BYTES) return false;
    if ((this.count + 1) * 2 > this.mask + 1) this.grow();
    const entry = this.count++;
    if ((entry + 1) * KEY_CELL > this.keys.length) {
      const bigger = new Uint8Array(this.keys.length * 2);
      bigger.set(this.keys);
      this.keys = bigger;
    }
    const k = entry * KEY_CELL;
    this.keys[k] = len;
    this.keys.set(buf.subarray(start, end), k + 1);
    this.insert(ByteKeyIndex.hash(buf, start, end), entry + 1, value);
    return true;
  }

  private insert(h: number, entryRef: number, value: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let slot = h & mask;
    while (slots[slot * SLOT + 1] !== 0) slot = (slot + 1) & mask;
    slots[slot * SLOT] = h;
    slots[slot * SLOT + 1] = entryRef;
    slots[slot * SLOT + 2] = value;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2);
    this.mask = this.slots.length / SLOT - 1;
    for (let at = 0; at < old.length; at += SLOT) {
      if (old[at + 1] !== 0) this.insert(old[at]!, old[at + 1]!, old[at + 2]!);
    }
  }
}

/**
 * Parses a strict dotted-quad IPv4 address from bytes (no leading zeros, octets 0-255), or
 * returns -1. Anything unusual goes to the string path, which decides and explains.
 */
export function parseIpv4Bytes(buf: Uint8Array, start: number, end: number): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      const v = c - 48;
      if (v < 0 || v > 9 || (digits === 1 && octet === 0)) return -1;
      octet = octet * 10 + v;
      if (++digits > 3 || octet > 255) return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

/** An open-addressing index from IPv4 addresses (as unsigned 32-bit numbers) to integers. */
export class Ipv4Index {
  private slots: Int32Array;
  private mask: number;
  private count = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.slots = new Int32Array(cap * 2);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  private static slotOf(key: number, mask: number): number {
    return (Math.imul(key | 0, -1640531535) >>> 12) & mask;
  }

  /** The value for an address, or -1. */
  get(key: number): number {
    const slots = this.slots;
    const mask = this.mask;
    const k = key | 0;
    for (let slot = Ipv4Index.slotOf(key, mask); ; slot = (slot + 1) & mask) {
      const ref = slots[slot * 2 + 1]!;
      if (ref === 0) return -1;
      if (slots[slot * 2] === k) return ref - 1;
    }
  }

  /** Maps an address that is not present yet to a non-negative value. */
  add(key: number, value: number): void {
    if ((this.count + 1) * 2 > this.mask + 1) this.grow();
    this.count++;
    this.insert(key | 0, value + 1);
  }

  private insert(k: number, ref: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let slot = Ipv4Index.slotOf(k, mask);
    while (slots[slot * 2 + 1] !== 0) slot = (slot + 1) & mask;
    slots[slot * 2] = k;
    slots[slot * 2 + 1] = ref;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2);
    this.mask = this.slots.length / 2 - 1;
    for (let at = 0; at < old.length; at += 2) if (old[at + 1] !== 0) this.insert(old[at]!, old[at + 1]!);
  }
}
