// Writes a synthetic Zeek conn.log (TSV) with a realistic mix: tens of thousands of distinct
// destinations with Zipf-like popularity, ~12% IPv6, private and LAN traffic, a little
// inbound traffic, unset byte counts. Deterministic (seeded), so runs are comparable.
//
//   node bench/generate-zeek.mjs OUT RECORDS [DESTINATIONS]
import { createWriteStream } from 'node:fs';

const [out, recordsArg, destsArg] = process.argv.slice(2);
if (!out || !recordsArg) {
  console.error('usage: node bench/generate-zeek.mjs OUT RECORDS [DESTINATIONS]');
  process.exit(2);
}
const RECORDS = Number(recordsArg);
const DESTS = Number(destsArg ?? 40000);

let seed = 0x2545f491;
function rand() {
  // xorshift32
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 4294967296;
}
const int = (n) => Math.floor(rand() * n);

function publicV4() {
  for (;;) {
    const a = 1 + int(223);
    if ([10, 100, 127, 169, 172, 192, 198, 203].includes(a)) continue;
    return `${a}.${int(256)}.${int(256)}.${1 + int(254)}`;
  }
}
function publicV6() {
  const prefixes = ['2a00', '2a01', '2a02', '2a03', '2600', '2607', '2001:4860', '2400', '2404', '2406', '2c0f'];
  const p = prefixes[int(prefixes.length)];
  const groups = p.split(':');
  while (groups.length < 4) groups.push(int(65536).toString(16));
  return `${groups.join(':')}::${int(65536).toString(16)}:${(1 + int(65535)).toString(16)}`;
}
const dests = [];
for (let i = 0; i < DESTS; i++) {
  const r = rand();
  if (r < 0.08) dests.push(`192.168.${int(4)}.${1 + int(254)}`);
  else if (r < 0.1) dests.push(`10.${int(256)}.${int(256)}.${1 + int(254)}`);
  else if (r < 0.22) dests.push(publicV6());
  else dests.push(publicV4());
}
// The most popular destinations first: a LAN resolver and big clouds.
dests[0] = '192.168.1.1';
dests[1] = '8.8.8.8';
const origins = [];
for (let i = 0; i < 200; i++) origins.push(i % 10 === 0 ? `fd00:1::${(i + 1).toString(16)}` : `192.168.1.${10 + i}`);

// local_orig/local_resp as Zeek writes them with its default Site::private_address_space_is_local:
// T for the private addresses made above, F for public ones.
const inside = (a) => (a.startsWith('192.168.') || a.startsWith('10.') || a.startsWith('fd') ? 'T' : 'F');

const protos = ['tcp', 'tcp', 'tcp', 'udp', 'udp', 'icmp'];
const services = ['ssl', 'http', 'dns', '-', 'quic', '-'];
const ports = [443, 443, 443, 80, 53, 8080, 5228, 123];
const header = [
  '#separator \\x09',
  '#set_separator\t,',
  '#empty_field\t(empty)',
  '#unset_field\t-',
  '#path\tconn',
  '#open\t2026-11-25-10-00-00',
  '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\tip_proto',
  '#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\tcount',
].join('\n');

const ws = createWriteStream(out);
ws.write(`${header}\n`);
let ts = 1764064800;
let buf = '';
const uidChars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function uid() {
  let s = 'C';
  for (let i = 0; i < 17; i++) s += uidChars[int(62)];
  return s;
}
async function main() {
  for (let i = 0; i < RECORDS; i++) {
    ts += rand() * 0.01;
    // Zipf-like popularity (log-uniform rank): the top 100 of 40,000 take ~40% of connections.
    const dest = dests[Math.min(DESTS - 1, Math.floor(Math.pow(DESTS, rand())) - 1)];
    let orig = origins[int(origins.length)];
    if (dest.includes(':') !== orig.includes(':')) orig = dest.includes(':') ? 'fd00:1::1' : '192.168.1.10';
    const inbound = rand() < 0.02;
    const p = int(protos.length);
    const unset = rand() < 0.05;
    const ob = unset ? '-' : String(int(5000));
    const rb = unset ? '-' : String(int(200000));
    const dur = unset ? '-' : (rand() * 30).toFixed(6);
    const [oh, rh] = inbound ? [dest, orig] : [orig, dest];
    buf += `${ts.toFixed(6)}\t${uid()}\t${oh}\t${1024 + int(60000)}\t${rh}\t${ports[int(ports.length)]}\t${protos[p]}\t${services[p]}\t${dur}\t${ob}\t${rb}\tSF\t${inside(oh)}\t${inside(rh)}\t0\tShADadFf\t${1 + int(40)}\t${int(9000)}\t${1 + int(60)}\t${int(300000)}\t-\t6\n`;
    if (buf.length > 1 << 20) {
      if (!ws.write(buf)) await new Promise((r) => ws.once('drain', r));
      buf = '';
    }
  }
  ws.write(buf);
  ws.write('#close\t2026-11-25-11-00-00\n');
  ws.end();
}
main();
