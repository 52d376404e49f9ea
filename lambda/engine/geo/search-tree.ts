/**
 * The search tree of a MaxMind-format (MMDB) database, walked with direct byte reads from an
 * address already parsed to numbers. `maxmind`'s `Reader` stays the reader of record (it opens
 * and validates the file, and decodes data records); this only finds which data record an address
 * maps to, which is most of a lookup's cost when done from text.
 *
 * Format: https://maxmind.github.io/MaxMind-DB/ ("Search Tree Section"). The tree has `nodeCount`
 * nodes of two records each (left for a 0 bit, right for a 1 bit), `recordSize` bits per record.
 * A record below `nodeCount` is the next node; equal to `nodeCount` means "no data"; above it is a
 * pointer into the data section, at `record - nodeCount - 16` from the section's start (the 16
 * bytes being the separator after the tree).
 */

/** The metadata fields the walk needs (as `maxmind`'s `Reader.metadata` gives them). */
export interface SearchTreeMetadata {
  readonly nodeCount: number;
  readonly recordSize: number;
  readonly ipVersion: number;
}

/** The value a walk gives when the database has no record for the address. */
export const NOT_FOUND = -1;

/** A database's search tree over its bytes. */
export class SearchTree {
  private readonly bytes: Uint8Array;
  private readonly nodeCount: number;
  private readonly recordSize: 24 | 28 | 32;
  /**
   * Node where IPv4 addresses start. In an IPv6 tree they are stored as-is, in `::/96`, so this is
   * the node reached after 96 zero bits (or the record met on the way, if the tree ends sooner).
   */
  private readonly ipv4Start: number;

  /** Throws a RangeError when the metadata does not describe a tree that fits in `db`. */
  constructor(db: Uint8Array, metadata: SearchTreeMetadata) {
    const { nodeCount, recordSize } = metadata;
    if (recordSize !== 24 && recordSize !== 28 && recordSize !== 32) {
      throw new RangeError(`unsupported record size ${recordSize}`);
    }
    // The tree and the 16-byte separator must lie inside the file, so the walk never reads past it.
    const treeBytes = (nodeCount * recordSize) / 4;
    if (!Number.isSafeInteger(nodeCount) || nodeCount < 0 || treeBytes + 16 > db.length) {
      throw new RangeError(`search tree of ${nodeCount} nodes does not fit in ${db.length} bytes`);
    }
    this.bytes = new Uint8Array(db.buffer, db.byteOffset, db.length);
    this.nodeCount = nodeCount;
    this.recordSize = recordSize;
    let node = 0;
    if (metadata.ipVersion === 6) for (let k = 0; k < 3; k++) node = this.descend(node, 0, 32);
    this.ipv4Start = node;
  }

  /**
   * The node (or record) reached from `node` by the top `bits` bits of `value` (at most 32),
   * highest first, stopping at the first record that is not a node. One loop per record size, the
   * record read in place: this runs for every bit of every lookup.
   */
  private descend(node: number, value: number, bits: number): number {
    const b = this.bytes;
    const nodeCount = this.nodeCount;
    let i = bits - 1;
    if (this.recordSize === 24) {
      for (; i >= 0 && node < nodeCount; i--) {
        const o = node * 6 + ((value >>> i) & 1) * 3;
        node = (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!;
      }
    } else if (this.recordSize === 28) {
      // Seven bytes: left's low 24 bits, a middle byte (high nibble left's top 4 bits, low
      // nibble right's), then right's low 24 bits.
      for (; i >= 0 && node < nodeCount; i--) {
        const o = node * 7;
        node =
          ((value >>> i) & 1) === 0
            ? ((b[o + 3]! & 0xf0) << 20) | (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!
            : ((b[o + 3]! & 0x0f) << 24) | (b[o + 4]! << 16) | (b[o + 5]! << 8) | b[o + 6]!;
      }
    } else {
      for (; i >= 0 && node < nodeCount; i--) {
        const o = node * 8 + ((value >>> i) & 1) * 4;
        node = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
      }
    }
    return node;
  }

  /**
   * The data record an IPv4 address (a 32-bit number) maps to: its pointer (a record value above
   * `nodeCount`, fixed for the record, so usable as a cache key), or {@link NOT_FOUND}.
   */
  ipv4(v4: number): number {
    const node = this.descend(this.ipv4Start, v4, 32);
    return node > this.nodeCount ? node : NOT_FOUND;
  }

  /** As {@link ipv4}, for an IPv6 address given as eight 16-bit groups. */
  ipv6(groups: readonly number[]): number {
    const nodeCount = this.nodeCount;
    let node = 0;
    for (let g = 0; g < 8 && node < nodeCount; g++) node = this.descend(node, groups[g]!, 16);
    return node > nodeCount ? node : NOT_FOUND;
  }
}
