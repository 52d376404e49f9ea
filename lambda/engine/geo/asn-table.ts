/**
 * Who operates an address: autonomous system number and organisation, from the
 * `@ip-location-db/asn` range files (`first,last,asn,organisation` rows, IPv4 as numbers in
 * `asn-ipv4-num.csv`, IPv6 as text in `asn-ipv6.csv`). Loaded into sorted typed arrays: a few MB
 * for ~500,000 ranges, O(log n) lookups.
 */
import { createHash } from 'node:crypto';
import { GeoDatabaseError } from '../errors';
import { parseIpv6, type ParsedIp } from '../net/ip';

/** An address's operator. */
export interface AsnInfo {
  asn: number;
  organisation: string | null;
}

/** What a verdict cites about the ASN data. */
export interface AsnTableInfo {
  name: string;
  ranges: number;
  sha256: string;
}

/** Splits one CSV line with optional double-quoted fields (the organisation may hold commas). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line.charCodeAt(i) === 34) {
      let value = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) {
          value += line.slice(i);
          i = line.length + 1;
          break;
        }
        value += line.slice(i, q);
        if (line.charCodeAt(q + 1) === 34) {
          value += '"';
          i = q + 2;
        } else {
          i = q + 2;
          break;
        }
      }
      out.push(value);
    } else {
      const comma = line.indexOf(',', i);
      const end = comma < 0 ? line.length : comma;
      out.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return out;
}

/** IPv6 groups as four 32-bit words, most significant first. */
function words(groups: readonly number[]): [number, number, number, number] {
  return [
    groups[0]! * 65536 + groups[1]!,
    groups[2]! * 65536 + groups[3]!,
    groups[4]! * 65536 + groups[5]!,
    groups[6]! * 65536 + groups[7]!,
  ];
}

/**
 * Where the ranges starting under each 16-bit prefix begin: entry `k` is the number of ranges
 * starting below `k << 16` (IPv4) or `k << 112` (IPv6), and entry 65536 the total. A lookup then
 * binary-searches one prefix's few ranges, a cache line or two, instead of the whole table.
 */
function prefixIndex(starts: Uint32Array, stride: number): Uint32Array {
  const index = new Uint32Array(INDEX_WORDS);
  const count = starts.length / stride;
  let k = 0;
  for (let i = 0; i < count; i++) {
    const top = starts[i * stride]! >>> 16;
    while (k <= top) index[k++] = i;
  }
  while (k <= 65536) index[k++] = count;
  return index;
}

/** Words of one prefix index. */
const INDEX_WORDS = 65537;

/** Compares the 128-bit value at `arr[i*4..]` with `w`. */
function compare128(arr: Uint32Array, i: number, w: readonly number[]): number {
  const at = i * 4;
  for (let k = 0; k < 4; k++) {
    const d = arr[at + k]! - w[k]!;
    if (d !== 0) return d;
  }
  return 0;
}

const MAGIC = 0x4e534152; // 'RASN' little-endian
/**
 * 2: the prefix indexes are stored (loading runs no loop over the ranges), and organisation names
 * are an offset table and UTF-8 bytes, each decoded when first needed.
 */
const VERSION = 2;

/**
 * Converts the published CSV files into the table's compact binary form (done once, at build
 * time: parsing the CSVs takes seconds, loading the binary milliseconds).
 */
export function buildAsnTableBinary(name: string, ipv4NumCsv: Buffer, ipv6Csv: Buffer): Buffer {
  const orgs: string[] = [];
  const orgIndex = new Map<string, number>();
  const org = (s: string): number => {
    if (s === '') return -1;
    let i = orgIndex.get(s);
    if (i === undefined) {
      i = orgs.length;
      orgs.push(s);
      orgIndex.set(s, i);
    }
    return i;
  };
  const v4: number[] = [];
  let lastEnd = -1;
  const v4Lines = ipv4NumCsv.toString('utf8').split('\n');
  v4Lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line === '') return;
    const f = csvFields(line);
    const start = Number(f[0]);
    const end = Number(f[1]);
    const asn = Number(f[2]);
    if (!(start >= 0 && end >= start && end <= 0xffffffff && asn >= 0)) {
      throw new GeoDatabaseError(`${name}: IPv4 line ${i + 1} is not first,last,asn,organisation: ${JSON.stringify(line.slice(0, 80))}`);
    }
    if (start <= lastEnd) return;
    lastEnd = end;
    v4.push(start, end, asn, org(f[3] ?? ''));
  });
  const v6: number[] = [];
  ipv6Csv.toString('utf8').split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line === '') return;
    const f = csvFields(line);
    const a = parseIpv6(f[0] ?? '');
    const b = parseIpv6(f[1] ?? '');
    const asn = Number(f[2]);
    if (!a || !b || !(asn >= 0)) {
      throw new GeoDatabaseError(`${name}: IPv6 line ${i + 1} is not first,last,asn,organisation: ${JSON.stringify(line.slice(0, 80))}`);
    }
    v6.push(...words(a), ...words(b), asn, org(f[3] ?? ''));
  });
  const n4 = v4.length / 4;
  const n6 = v6.length / 10;
  // Organisations: count, count + 1 offsets into the UTF-8 bytes that follow, the bytes.
  const orgBytes = orgs.map((o) => Buffer.from(o, 'utf8'));
  const offsets = new Uint32Array(orgs.length + 2);
  offsets[0] = orgs.length;
  for (let i = 0; i < orgs.length; i++) offsets[i + 2] = offsets[i + 1]! + orgBytes[i]!.length;
  const orgText = Buffer.concat([Buffer.from(offsets.buffer), ...orgBytes]);
  const sha = createHash('sha256').update(ipv4NumCsv).update(ipv6Csv).digest();
  const header = new Uint32Array([MAGIC, VERSION, n4, n6, orgText.length]);
  const body = new Uint32Array(n4 * 4 + n6 * 10);
  // Column-major: all starts, then all ends, ... so lookups binary-search one contiguous array.
  for (let i = 0; i < n4; i++) for (let c = 0; c < 4; c++) body[c * n4 + i] = v4[i * 4 + c]! >>> 0;
  const base = n4 * 4;
  for (let i = 0; i < n6; i++) {
    for (let k = 0; k < 4; k++) body[base + i * 4 + k] = v6[i * 10 + k]!;
    for (let k = 0; k < 4; k++) body[base + n6 * 4 + i * 4 + k] = v6[i * 10 + 4 + k]!;
    body[base + n6 * 8 + i] = v6[i * 10 + 8]!;
    body[base + n6 * 9 + i] = v6[i * 10 + 9]! >>> 0;
  }
  const indexes = new Uint32Array(2 * INDEX_WORDS);
  indexes.set(prefixIndex(body.subarray(0, n4), 1), 0);
  indexes.set(prefixIndex(body.subarray(base, base + n6 * 4), 4), INDEX_WORDS);
  return Buffer.concat([Buffer.from(header.buffer), sha, Buffer.from(body.buffer), Buffer.from(indexes.buffer), orgText]);
}

/** Who operates an address, from some source of AS ranges. */
export interface AsnLookup {
  readonly info: AsnTableInfo;
  /** The operator of an address, or null when no range holds it. */
  lookup(ip: ParsedIp): AsnInfo | null;
  /**
   * Readies the source for a run of lookups and returns the lookup to make them through, or throws
   * the reason it cannot (see {@link GeoLookup.acquire}). Optional: a table held in memory is
   * always ready.
   */
  acquire?(): AsnLookup;
}

/** Sorted ranges for IPv4 and IPv6, over one binary buffer. */
export class AsnTable implements AsnLookup {
  private readonly v4Start: Uint32Array;
  private readonly v4End: Uint32Array;
  private readonly v4Asn: Uint32Array;
  private readonly v4Org: Int32Array;
  private readonly v6Start: Uint32Array;
  private readonly v6End: Uint32Array;
  private readonly v6Asn: Uint32Array;
  private readonly v6Org: Int32Array;
  private readonly v4Index: Uint32Array;
  private readonly v6Index: Uint32Array;
  /** Organisation names: offsets into the UTF-8 bytes, and each name once decoded. */
  private readonly orgOffsets: Uint32Array;
  private readonly orgBytes: Buffer;
  /** Organisation names decoded so far, by number (sized once: filled sparsely, it would be a dictionary). */
  private readonly orgs: (string | undefined)[];
  private readonly name: string;
  readonly info: AsnTableInfo;

  /** Opens a table made by {@link buildAsnTableBinary}; a bad file is a GeoDatabaseError naming it. */
  constructor(name: string, binary: Buffer) {
    // Typed-array views need 4-byte alignment: copy only when the buffer is not aligned (a file
    // read whole is; a slice of a pooled buffer may not be).
    let bytes: Uint8Array = binary;
    if (binary.byteOffset % 4 !== 0) {
      bytes = new Uint8Array(binary.length);
      bytes.set(binary);
    }
    const base = bytes.byteOffset;
    const u32 = new Uint32Array(bytes.buffer, base, Math.floor(bytes.length / 4));
    if (u32.length < 13 || u32[0] !== MAGIC || u32[1] !== VERSION) {
      throw new GeoDatabaseError(`${name}: not an ASN table (rebuild it with npm run build)`);
    }
    const n4 = u32[2]!;
    const n6 = u32[3]!;
    const orgLen = u32[4]!;
    const bodyStart = 5 + 8; // header words + 32-byte sha
    const bodyWords = n4 * 4 + n6 * 10;
    if ((bodyStart + bodyWords + 2 * INDEX_WORDS) * 4 + orgLen !== bytes.length) {
      throw new GeoDatabaseError(`${name}: ASN table is truncated or corrupt`);
    }
    const at = (word: number, len: number): Uint32Array => new Uint32Array(bytes.buffer, base + (bodyStart + word) * 4, len);
    this.v4Start = at(0, n4);
    this.v4End = at(n4, n4);
    this.v4Asn = at(2 * n4, n4);
    this.v4Org = new Int32Array(bytes.buffer, base + (bodyStart + 3 * n4) * 4, n4);
    const b = 4 * n4;
    this.v6Start = at(b, n6 * 4);
    this.v6End = at(b + n6 * 4, n6 * 4);
    this.v6Asn = at(b + n6 * 8, n6);
    this.v6Org = new Int32Array(bytes.buffer, base + (bodyStart + b + n6 * 9) * 4, n6);
    this.v4Index = at(bodyWords, INDEX_WORDS);
    this.v6Index = at(bodyWords + INDEX_WORDS, INDEX_WORDS);
    if (this.v4Index[INDEX_WORDS - 1] !== n4 || this.v6Index[INDEX_WORDS - 1] !== n6) {
      throw new GeoDatabaseError(`${name}: ASN table is truncated or corrupt`);
    }
    const orgStart = base + (bodyStart + bodyWords + 2 * INDEX_WORDS) * 4;
    const orgCount = orgLen >= 4 ? new Uint32Array(bytes.buffer, orgStart, 1)[0]! : -1;
    const orgTableBytes = (orgCount + 2) * 4;
    if (orgCount < 0 || orgTableBytes > orgLen) {
      throw new GeoDatabaseError(`${name}: ASN table organisation list is corrupt`);
    }
    this.orgOffsets = new Uint32Array(bytes.buffer, orgStart + 4, orgCount + 1);
    this.orgs = new Array<string | undefined>(orgCount);
    this.orgBytes = Buffer.from(bytes.buffer, orgStart + orgTableBytes, orgLen - orgTableBytes);
    this.name = name;
    this.info = {
      name,
      ranges: n4 + n6,
      sha256: Buffer.from(bytes.buffer, base + 20, 32).toString('hex'),
    };
  }

  private result(asn: number, orgIndex: number): AsnInfo {
    return { asn, organisation: this.organisation(orgIndex) };
  }

  private organisation(i: number): string | null {
    if (i < 0 || i + 1 >= this.orgOffsets.length) return null;
    let name = this.orgs[i];
    if (name === undefined) {
      const start = this.orgOffsets[i]!;
      const end = this.orgOffsets[i + 1]!;
      if (end < start || end > this.orgBytes.length) {
        throw new GeoDatabaseError(`${this.name}: ASN table organisation list is corrupt`);
      }
      name = this.orgBytes.toString('utf8', start, end);
      this.orgs[i] = name;
    }
    return name;
  }

  /** The operator of an address, or null when no range holds it. */
  lookup(ip: ParsedIp): AsnInfo | null {
    // Search only the ranges starting under the address's 16-bit prefix. When none of them starts
    // at or below the address, the search ends just before them: on the last range starting under
    // a lower prefix, the only other one that can hold the address.
    if (ip.version === 4) {
      const v = ip.v4 >>> 0;
      const k = v >>> 16;
      let lo = this.v4Index[k]!;
      let hi = this.v4Index[k + 1]! - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        if (this.v4Start[mid]! <= v) lo = mid + 1;
        else hi = mid - 1;
      }
      if (hi < 0 || this.v4End[hi]! < v) return null;
      return this.result(this.v4Asn[hi]!, this.v4Org[hi]!);
    }
    const w = words(ip.groups);
    const k = ip.groups[0]!;
    let lo = this.v6Index[k]!;
    let hi = this.v6Index[k + 1]! - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (compare128(this.v6Start, mid, w) <= 0) lo = mid + 1;
      else hi = mid - 1;
    }
    if (hi < 0 || compare128(this.v6End, hi, w) < 0) return null;
    return this.result(this.v6Asn[hi]!, this.v6Org[hi]!);
  }
}
