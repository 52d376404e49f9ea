/**
 * A tiny writer of MaxMind DB (MMDB) files, so tests can build databases that answer exactly as
 * they need (a public address with no country, a database whose answers change between builds)
 * instead of hunting for such addresses in a real database.
 *
 * Format: https://maxmind.github.io/MaxMind-DB/ — a binary search tree over address bits (each
 * node two records of `recordSize` bits: < nodeCount is another node, == nodeCount is "no data",
 * > nodeCount points into the data section), 16 zero bytes, the data section, then
 * `\xAB\xCD\xEFMaxMind.com` and the metadata map.
 *
 * @example
 * const bytes = writeMmdb([{ cidr: '203.0.113.0/24', record: { country: { iso_code: 'NZ' } } }]);
 * new Reader(bytes).get('203.0.113.7'); // { country: { iso_code: 'NZ' } }
 */
import { parseCidr } from '../../lambda/engine/net/ip';

/**
 * An unsigned 16-bit integer. Plain numbers are written as uint32; the spec types some metadata
 * fields (`ip_version`, `record_size`, format versions) as uint16, and strict readers check.
 */
export class MmdbUint16 {
  constructor(readonly value: number) {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
      throw new RangeError(`mmdb-writer: ${value} is not a uint16`);
    }
  }
}

/** A value that can be stored in an MMDB data section. MMDB has no null. */
export type MmdbValue =
  | string
  | MmdbUint16
  | number
  | bigint
  | boolean
  | Uint8Array
  | readonly MmdbValue[]
  | { readonly [key: string]: MmdbValue };

/** One network and the record every address inside it maps to. */
export interface MmdbNetwork {
  /** `a.b.c.d/n`, `x::/n`, or a bare address (a host route). */
  readonly cidr: string;
  readonly record: MmdbValue;
}

/** Options of {@link writeMmdb}. */
export interface MmdbWriterOptions {
  /** @default 6 — IPv4 networks then live in `::/96`, as in MaxMind's own databases */
  readonly ipVersion?: 4 | 6;
  /** @default 24 */
  readonly recordSize?: 24 | 28 | 32;
  /** @default 'Test-Country' */
  readonly databaseType?: string;
  /** Seconds since the epoch, or a Date. @default 1700000000 (2023-11-14T22:13:20Z) */
  readonly buildEpoch?: number | Date;
  /** @default ['en'] */
  readonly languages?: readonly string[];
  /** @default { en: 'residency test database' } */
  readonly description?: Readonly<Record<string, string>>;
}

const METADATA_MARKER = Buffer.from([0xab, 0xcd, 0xef, ...Buffer.from('MaxMind.com')]);
const DATA_SECTION_SEPARATOR_BYTES = 16;

// Data section type numbers (spec "Output Data Section"); 8 and up are "extended" types.
const TYPE_UTF8 = 2;
const TYPE_DOUBLE = 3;
const TYPE_BYTES = 4;
const TYPE_UINT16 = 5;
const TYPE_UINT32 = 6;
const TYPE_MAP = 7;
const TYPE_INT32 = 8;
const TYPE_UINT64 = 9;
const TYPE_UINT128 = 10;
const TYPE_ARRAY = 11;
const TYPE_BOOLEAN = 14;

/** Control byte(s): 3 type bits (0 = extended, type - 7 in the next byte) and a 5-bit size. */
function controlBytes(type: number, size: number): Buffer {
  let sizeBits: number;
  let extra: number[];
  if (size < 29) {
    sizeBits = size;
    extra = [];
  } else if (size < 29 + 256) {
    sizeBits = 29;
    extra = [size - 29];
  } else if (size < 285 + 65536) {
    sizeBits = 30;
    extra = [(size - 285) >> 8, (size - 285) & 255];
  } else {
    const rest = size - 65821;
    if (rest >= 2 ** 24) throw new RangeError(`mmdb-writer: value of ${size} bytes is too large`);
    sizeBits = 31;
    extra = [rest >> 16, (rest >> 8) & 255, rest & 255];
  }
  const head = type <= 7 ? [(type << 5) | sizeBits] : [sizeBits, type - 7];
  return Buffer.from([...head, ...extra]);
}

/** Big-endian bytes of a non-negative integer, without leading zero bytes (0 is empty). */
function unsignedBytes(value: bigint): Buffer {
  const bytes: number[] = [];
  for (let v = value; v > 0n; v >>= 8n) bytes.unshift(Number(v & 255n));
  return Buffer.from(bytes);
}

/** Encodes one value: maps, arrays, strings, integers (by range), doubles, booleans, bytes. */
export function encodeMmdbValue(value: MmdbValue): Buffer {
  if (typeof value === 'string') {
    const utf8 = Buffer.from(value, 'utf8');
    return Buffer.concat([controlBytes(TYPE_UTF8, utf8.length), utf8]);
  }
  if (typeof value === 'boolean') return controlBytes(TYPE_BOOLEAN, value ? 1 : 0);
  if (value instanceof MmdbUint16) {
    const payload = unsignedBytes(BigInt(value.value));
    return Buffer.concat([controlBytes(TYPE_UINT16, payload.length), payload]);
  }
  if (typeof value === 'bigint') {
    if (value < 0n || value >= 2n ** 128n)
      throw new RangeError(`mmdb-writer: ${value} is out of range`);
    const payload = unsignedBytes(value);
    return Buffer.concat([
      controlBytes(value < 2n ** 64n ? TYPE_UINT64 : TYPE_UINT128, payload.length),
      payload,
    ]);
  }
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0 && value <= 0xffffffff) {
      const payload = unsignedBytes(BigInt(value));
      return Buffer.concat([controlBytes(TYPE_UINT32, payload.length), payload]);
    }
    if (Number.isInteger(value) && value < 0 && value >= -0x80000000) {
      // Always four bytes: readers sign-extend only a full-width int32.
      const payload = Buffer.alloc(4);
      payload.writeInt32BE(value);
      return Buffer.concat([controlBytes(TYPE_INT32, 4), payload]);
    }
    const payload = Buffer.alloc(8);
    payload.writeDoubleBE(value);
    return Buffer.concat([controlBytes(TYPE_DOUBLE, 8), payload]);
  }
  if (value instanceof Uint8Array)
    return Buffer.concat([controlBytes(TYPE_BYTES, value.length), value]);
  if (Array.isArray(value)) {
    const items = value as readonly MmdbValue[];
    return Buffer.concat([controlBytes(TYPE_ARRAY, items.length), ...items.map(encodeMmdbValue)]);
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, MmdbValue>);
    const parts = entries.flatMap(([k, v]) => [encodeMmdbValue(k), encodeMmdbValue(v)]);
    return Buffer.concat([controlBytes(TYPE_MAP, entries.length), ...parts]);
  }
  throw new TypeError(`mmdb-writer: cannot store ${JSON.stringify(value)} (MMDB has no null)`);
}

/** A search-tree child: another node, a record (index into the data section), or nothing. */
type Child = TreeNode | { readonly data: number } | null;
interface TreeNode {
  left: Child;
  right: Child;
}

function isNode(child: Child): child is TreeNode {
  return child !== null && 'left' in child;
}

/** The network as a bit string over the tree's address width. */
function networkBits(cidr: string, ipVersion: 4 | 6): { bits: boolean[]; prefix: number } {
  const net = parseCidr(cidr);
  if (!net) throw new Error(`mmdb-writer: '${cidr}' is not a CIDR network`);
  if (net.version === 4) {
    const v4 = Array.from({ length: 32 }, (_, i) => ((net.v4 >>> (31 - i)) & 1) === 1);
    // In an IPv6 tree IPv4 lives in ::/96, where readers look for it.
    return ipVersion === 4
      ? { bits: v4, prefix: net.bits }
      : { bits: [...new Array<boolean>(96).fill(false), ...v4], prefix: 96 + net.bits };
  }
  if (ipVersion === 4)
    throw new Error(`mmdb-writer: '${cidr}' is IPv6 but the database is IPv4-only`);
  const bits = net.groups.flatMap((g) =>
    Array.from({ length: 16 }, (_, i) => ((g >> (15 - i)) & 1) === 1),
  );
  return { bits, prefix: net.bits };
}

/** Sets the subtree at `bits[depth..prefix)` under `child` to `leaf`, splitting leaves on the way. */
function insert(
  child: Child,
  bits: readonly boolean[],
  depth: number,
  prefix: number,
  leaf: Child,
): Child {
  if (depth === prefix) return leaf;
  // A shorter network already here: push it down into both halves before narrowing.
  const node: TreeNode = isNode(child) ? child : { left: child, right: child };
  if (bits[depth]) node.right = insert(node.right, bits, depth + 1, prefix, leaf);
  else node.left = insert(node.left, bits, depth + 1, prefix, leaf);
  return node;
}

function writeRecords(
  out: Buffer,
  at: number,
  recordSize: 24 | 28 | 32,
  left: number,
  right: number,
): void {
  if (recordSize === 24) {
    out.writeUIntBE(left, at, 3);
    out.writeUIntBE(right, at + 3, 3);
  } else if (recordSize === 28) {
    // The middle byte holds the high nibble of each record: left's on top, right's below.
    out.writeUIntBE(left & 0xffffff, at, 3);
    out[at + 3] = ((left >>> 24) << 4) | (right >>> 24);
    out.writeUIntBE(right & 0xffffff, at + 4, 3);
  } else {
    out.writeUInt32BE(left, at);
    out.writeUInt32BE(right, at + 4);
  }
}

/**
 * Writes an MMDB database mapping each network to its record. A more specific network wins over
 * a less specific one whatever the order; for the same network the later entry wins.
 */
export function writeMmdb(
  networks: readonly MmdbNetwork[],
  options: MmdbWriterOptions = {},
): Buffer {
  const ipVersion = options.ipVersion ?? 6;
  const recordSize = options.recordSize ?? 24;
  const buildEpoch = options.buildEpoch ?? 1_700_000_000;

  // Data section: each distinct record once.
  const dataOffsets: number[] = [];
  const byEncoding = new Map<string, number>();
  const dataParts: Buffer[] = [];
  let dataLength = 0;
  const recordIndex = (record: MmdbValue): number => {
    const encoded = encodeMmdbValue(record);
    const key = encoded.toString('hex');
    let index = byEncoding.get(key);
    if (index === undefined) {
      index = dataOffsets.length;
      byEncoding.set(key, index);
      dataOffsets.push(dataLength);
      dataParts.push(encoded);
      dataLength += encoded.length;
    }
    return index;
  };

  const prepared = networks.map((n, order) => ({
    ...networkBits(n.cidr, ipVersion),
    order,
    record: n.record,
  }));
  prepared.sort((a, b) => a.prefix - b.prefix || a.order - b.order);
  let root: Child = null;
  for (const n of prepared)
    root = insert(root, n.bits, 0, n.prefix, { data: recordIndex(n.record) });
  // The root must be a node, even for an empty database or a /0.
  const rootNode: TreeNode = isNode(root) ? root : { left: root, right: root };

  const nodes: TreeNode[] = [];
  const numbers = new Map<TreeNode, number>();
  const visit = (node: TreeNode): void => {
    numbers.set(node, nodes.length);
    nodes.push(node);
    if (isNode(node.left)) visit(node.left);
    if (isNode(node.right)) visit(node.right);
  };
  visit(rootNode);
  const nodeCount = nodes.length;
  const recordValue = (child: Child): number => {
    if (child === null) return nodeCount;
    if (isNode(child)) return numbers.get(child)!;
    return nodeCount + DATA_SECTION_SEPARATOR_BYTES + dataOffsets[child.data]!;
  };
  const maxRecord = 2 ** recordSize - 1;
  if (nodeCount + DATA_SECTION_SEPARATOR_BYTES + dataLength > maxRecord) {
    throw new RangeError(`mmdb-writer: too large for ${recordSize}-bit records`);
  }

  const nodeBytes = recordSize / 4;
  const tree = Buffer.alloc(nodeCount * nodeBytes);
  nodes.forEach((node, i) =>
    writeRecords(tree, i * nodeBytes, recordSize, recordValue(node.left), recordValue(node.right)),
  );

  const metadata = encodeMmdbValue({
    binary_format_major_version: new MmdbUint16(2),
    binary_format_minor_version: new MmdbUint16(0),
    build_epoch: BigInt(
      typeof buildEpoch === 'number' ? buildEpoch : Math.floor(buildEpoch.getTime() / 1000),
    ),
    database_type: options.databaseType ?? 'Test-Country',
    description: options.description ?? { en: 'residency test database' },
    ip_version: new MmdbUint16(ipVersion),
    languages: options.languages ?? ['en'],
    node_count: nodeCount,
    record_size: new MmdbUint16(recordSize),
  });
  return Buffer.concat([
    tree,
    Buffer.alloc(DATA_SECTION_SEPARATOR_BYTES),
    ...dataParts,
    METADATA_MARKER,
    metadata,
  ]);
}
