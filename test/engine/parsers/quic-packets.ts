/**
 * Builds QUIC client Initial packets for tests, protected as RFC 9001 §5 says (QUIC v1) or RFC
 * 9369 §3.3 (v2): the same steps as `make-quic-captures.py`, with the keys of the engine's
 * `clientInitialKeys` (checked against the RFC vectors in quic-initial.test.ts).
 */
import { createCipheriv } from 'node:crypto';
import { clientInitialKeys } from '../../../lambda/engine/parsers/quic-initial';

/** The RFC appendices' client DCID. */
export const DCID = Buffer.from('8394c8f03e515708', 'hex');

/**
 * A client Initial protected as RFC 9001 §5 says (v1 or v2), carrying `payload` as its frames
 * and PADDING up to `size` bytes (1200, as clients send them): 4-byte packet number, no token, an
 * empty SCID, keys from `dcid`.
 */
export function protectInitial(version: number, pn: number, payload: Buffer, dcid = DCID, size = 1200): Buffer {
  const keys = clientInitialKeys(version, dcid)!;
  const type = version === 1 ? 0 : 1;
  const header = Buffer.alloc(1 + 4 + 1 + dcid.length + 1 + 1 + 2 + 4);
  const padding = Math.max(16 - payload.length, size - header.length - payload.length - 16, 0);
  const body = Buffer.concat([payload, Buffer.alloc(padding)]);
  let p = header.writeUInt8(0xc3 | (type << 4), 0);
  p = header.writeUInt32BE(version, p);
  p = header.writeUInt8(dcid.length, p);
  p += dcid.copy(header, p);
  p = header.writeUInt8(0, p); // SCID length
  p = header.writeUInt8(0, p); // token length
  p = header.writeUInt16BE(0x4000 | (4 + body.length + 16), p);
  const pnAt = header.writeUInt32BE(pn, p) - 4;
  const nonce = Buffer.from(keys.iv);
  nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ pn) >>> 0, 8);
  const gcm = createCipheriv('aes-128-gcm', keys.key, nonce);
  gcm.setAAD(header);
  const sealed = Buffer.concat([gcm.update(body), gcm.final(), gcm.getAuthTag()]);
  const ecb = createCipheriv('aes-128-ecb', keys.hp, null);
  const mask = ecb.update(sealed.subarray(0, 16));
  const packet = Buffer.concat([header, sealed]);
  packet[0] = packet[0]! ^ (mask[0]! & 0x0f);
  for (let i = 0; i < 4; i++) packet[pnAt + i] = packet[pnAt + i]! ^ mask[1 + i]!;
  return packet;
}

/** RFC 9000 §16 variable-length integer, shortest form (values below 2^30 here). */
export function varint(v: number): Buffer {
  if (v < 0x40) return Buffer.from([v]);
  if (v < 0x4000) return Buffer.from([0x40 | (v >> 8), v & 0xff]);
  const b = Buffer.alloc(4);
  b.writeUInt32BE((0x80000000 | v) >>> 0);
  return b;
}

/** A CRYPTO frame (RFC 9000 §19.6). */
export function cryptoFrame(offset: number, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x06]), varint(offset), varint(data.length), data]);
}
