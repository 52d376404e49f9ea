/**
 * Names inside captured payloads, for the pcap reader: DNS answers (RFC 1035 §4.1, name
 * compression §4.1.4) and the TLS ClientHello `server_name` extension (RFC 8446 §4.1.2, RFC 6066
 * §3). Each parser looks at the bytes it is given only (no reassembly; QUIC's CRYPTO frames are
 * put together in `quic-initial.ts`) and never reads past `end`; anything malformed yields nothing.
 */

/** Longest hostname accepted (RFC 1035 §2.3.4, without the trailing dot). */
const MAX_NAME_CHARS = 253;
/** Compression pointers followed per name before giving up (a loop guard). */
const MAX_POINTER_HOPS = 32;
/** Questions and answers read per DNS message. */
const MAX_QUESTIONS = 4;
const MAX_ANSWERS = 64;

const TYPE_A = 1;
const TYPE_AAAA = 28;
const CLASS_IN = 1;

/** Dotted-quad text of the 4 bytes at `at`. */
export function formatIpv4(b: Buffer, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** RFC 5952 text of the 16 bytes at `at`: lower-case hex, the longest run of zero groups as `::`. */
export function formatIpv6(b: Buffer, at: number): string {
  let bestStart = -1;
  let bestLen = 0;
  let runStart = -1;
  for (let g = 0; g <= 8; g++) {
    const zero = g < 8 && b[at + 2 * g] === 0 && b[at + 2 * g + 1] === 0;
    if (zero) {
      if (runStart < 0) runStart = g;
    } else if (runStart >= 0) {
      if (g - runStart > bestLen) {
        bestStart = runStart;
        bestLen = g - runStart;
      }
      runStart = -1;
    }
  }
  if (bestLen < 2) bestStart = -1;
  let out = '';
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      out += g === 0 ? '::' : ':';
      g += bestLen - 1;
      continue;
    }
    out += ((b[at + 2 * g]! << 8) | b[at + 2 * g + 1]!).toString(16);
    if (g < 7) out += ':';
  }
  return out;
}

/**
 * The name as a lower-case hostname (letters, digits, `-`, `_`, dots; labels 1–63 characters,
 * 253 in all; one trailing dot dropped), or null when it is not one.
 */
export function cleanHostname(name: string): string | null {
  let n = name.endsWith('.') ? name.slice(0, -1) : name;
  if (n.length === 0 || n.length > MAX_NAME_CHARS) return null;
  n = n.toLowerCase();
  let label = 0;
  for (let i = 0; i < n.length; i++) {
    const c = n.charCodeAt(i);
    if (c === 46) {
      if (label === 0) return null;
      label = 0;
      continue;
    }
    const ok = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95;
    if (!ok || ++label > 63) return null;
  }
  return label === 0 ? null : n;
}

/** Reads a (possibly compressed) DNS name at `at`; `next` is where the record continues. */
function readName(b: Buffer, msg: number, end: number, at: number): { name: string | null; next: number } {
  let p = at;
  let next = -1;
  let hops = 0;
  let name = '';
  let valid = true;
  for (;;) {
    if (p >= end) return { name: null, next: -1 };
    const len = b[p]!;
    if (len === 0) {
      if (next < 0) next = p + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (p + 1 >= end || ++hops > MAX_POINTER_HOPS) return { name: null, next: -1 };
      if (next < 0) next = p + 2;
      p = msg + (((len & 0x3f) << 8) | b[p + 1]!);
      continue;
    }
    if ((len & 0xc0) !== 0 || p + 1 + len > end) return { name: null, next: -1 };
    if (name.length + len + 1 > MAX_NAME_CHARS + 1) valid = false;
    if (valid) name += (name === '' ? '' : '.') + b.toString('latin1', p + 1, p + 1 + len);
    p += 1 + len;
  }
  return { name: valid ? cleanHostname(name) : null, next };
}

/**
 * Calls `found(address, name)` for each A/AAAA answer of a DNS response in `b[start, end)`. The
 * name is the first question's (what the client asked for, not the CDN name a CNAME chain ends
 * at), or the answer's owner name when the message has no question.
 */
export function readDnsAnswers(
  b: Buffer,
  start: number,
  end: number,
  found: (address: string, name: string) => void,
): void {
  if (end - start < 12) return;
  const flags = b.readUInt16BE(start + 2);
  // A response (QR), standard query opcode, no error.
  if ((flags & 0x8000) === 0 || (flags & 0x7800) !== 0 || (flags & 0x000f) !== 0) return;
  const questions = b.readUInt16BE(start + 4);
  const answers = b.readUInt16BE(start + 6);
  if (answers === 0 || questions > MAX_QUESTIONS) return;
  let p = start + 12;
  let asked: string | null = null;
  for (let i = 0; i < questions; i++) {
    const q = readName(b, start, end, p);
    if (q.next < 0 || q.next + 4 > end) return;
    if (i === 0) asked = q.name;
    p = q.next + 4;
  }
  for (let i = 0; i < answers && i < MAX_ANSWERS; i++) {
    const a = readName(b, start, end, p);
    if (a.next < 0 || a.next + 10 > end) return;
    const type = b.readUInt16BE(a.next);
    const cls = b.readUInt16BE(a.next + 2) & 0x7fff;
    const rdlen = b.readUInt16BE(a.next + 8);
    const rdata = a.next + 10;
    if (rdata + rdlen > end) return;
    const name = asked ?? a.name;
    if (name !== null && cls === CLASS_IN) {
      if (type === TYPE_A && rdlen === 4) found(formatIpv4(b, rdata), name);
      else if (type === TYPE_AAAA && rdlen === 16) found(formatIpv6(b, rdata), name);
    }
    p = rdata + rdlen;
  }
}

/** The `server_name` of a TLS ClientHello record starting at `b[start]`, or null (not one, or cut short). */
export function readTlsSni(b: Buffer, start: number, end: number): string | null {
  // TLS record: type 22 (handshake), version 3.x, length; the handshake message follows.
  if (end - start < 9 || b[start] !== 22 || b[start + 1] !== 3) return null;
  return readClientHelloSni(b, start + 5, Math.min(end, start + 5 + b.readUInt16BE(start + 3)));
}

/**
 * The `server_name` of a ClientHello handshake message (type 1, 24-bit length, body; RFC 8446
 * §4) starting at `b[start]`, without a TLS record around it (QUIC carries it in CRYPTO frames),
 * or null (not one, or cut short).
 */
export function readClientHelloSni(b: Buffer, start: number, end: number): string | null {
  if (end - start < 4 || b[start] !== 1) return null;
  const hsEnd = Math.min(end, start + 4 + ((b[start + 1]! << 16) | b.readUInt16BE(start + 2)));
  let p = start + 4 + 2 + 32; // client_version, random
  if (p + 1 > hsEnd) return null;
  p += 1 + b[p]!; // session id
  if (p + 2 > hsEnd) return null;
  p += 2 + b.readUInt16BE(p); // cipher suites
  if (p + 1 > hsEnd) return null;
  p += 1 + b[p]!; // compression methods
  if (p + 2 > hsEnd) return null;
  const extEnd = Math.min(hsEnd, p + 2 + b.readUInt16BE(p));
  p += 2;
  while (p + 4 <= extEnd) {
    const type = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    p += 4;
    if (type === 0) {
      // ServerNameList: length, then entries of (type, length, name); type 0 is host_name.
      const listEnd = Math.min(extEnd, p + len);
      let q = p + 2;
      while (q + 3 <= listEnd) {
        const nameType = b[q]!;
        const nameLen = b.readUInt16BE(q + 1);
        if (q + 3 + nameLen > listEnd) return null;
        if (nameType === 0) return cleanHostname(b.toString('latin1', q + 3, q + 3 + nameLen));
        q += 3 + nameLen;
      }
      return null;
    }
    p += len;
  }
  return null;
}
