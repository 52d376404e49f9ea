/**
 * A hash table keyed by byte ranges, so the hot path can find an address's cached verdict without
 * turning its bytes into a string (string creation and hashing dominated the per-record cost).
 * Open addressing with linear probing over FNV-1a hashes; keys are copied into an arena.
 */
export class ByteKeyTable<V> {
  private slots: Int32Array;
  private slotHashes: Int32Array;
  private mask: number;
  private arena: Uint8Array;
  private arenaUsed = 0;
  private keyStart: Int32Array;
  private keyLength: Int32Array;
  private readonly values: V[] = [];

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.slots = new Int32Array(cap);
    this.slotHashes = new Int32Array(cap);
    this.mask = cap - 1;
    this.arena = new Uint8Array(initialCapacity * 24);
    this.keyStart = new Int32Array(initialCapacity);
    this.keyLength = new Int32Array(initialCapacity);
  }

  /** Number of keys held. */
  get size(): number {
    return this.values.length;
  }

  private static hash(buf: Uint8Array, start: number, end: number): number {
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    return h | 1; // never 0, so 0 can mark "no hash" cheaply
  }

  private keyEquals(index: number, buf: Uint8Array, start: number, end: number): boolean {
    const len = end - start;
    if (this.keyLength[index] !== len) return false;
    const arena = this.arena;
    let k = this.keyStart[index]!;
    for (let i = start; i < end; i++, k++) if (arena[k] !== buf[i]) return false;
    return true;
  }

  /** The value stored for the bytes `buf[start, end)`, or undefined. */
  get(buf: Uint8Array, start: number, end: number): V | undefined {
    const h = ByteKeyTable.hash(buf, start, end);
    const mask = this.mask;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const v = this.slots[slot]!;
      if (v === 0) return undefined;
      if (this.slotHashes[slot] === h && this.keyEquals(v - 1, buf, start, end)) return this.values[v - 1];
    }
  }

  /** Stores a value for a key that is not present yet. */
  add(buf: Uint8Array, start: number, end: number, value: V): void {
    const index = this.values.length;
    if ((index + 1) * 2 > this.slots.length) this.grow();
    const len = end - start;
    if (this.arenaUsed + len > this.arena.length) {
      const bigger = new Uint8Array(Math.max(this.arena.length * 2, this.arenaUsed + len));
      bigger.set(this.arena.subarray(0, this.arenaUsed));
      this.arena = bigger;
    }
    if (index >= this.keyStart.length) {
      const ks = new Int32Array(this.keyStart.length * 2);
      ks.set(this.keyStart);
      this.keyStart = ks;
      const kl = new Int32Array(this.keyLength.length * 2);
      kl.set(this.keyLength);
      this.keyLength = kl;
    }
    this.arena.set(buf.subarray(start, end), this.arenaUsed);
    this.keyStart[index] = this.arenaUsed;
    this.keyLength[index] = len;
    this.arenaUsed += len;
    this.values.push(value);
    this.insertSlot(ByteKeyTable.hash(buf, start, end), index + 1);
  }

  private insertSlot(h: number, ref: number): void {
    const mask = this.mask;
    let slot = h & mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
    this.slots[slot] = ref;
    this.slotHashes[slot] = h;
  }

  private grow(): void {
    const oldSlots = this.slots;
    const oldHashes = this.slotHashes;
    this.slots = new Int32Array(oldSlots.length * 2);
    this.slotHashes = new Int32Array(oldSlots.length * 2);
    this.mask = this.slots.length - 1;
    for (let i = 0; i < oldSlots.length; i++) {
      if (oldSlots[i] !== 0) this.insertSlot(oldHashes[i]!, oldSlots[i]!);
    }
  }
}
