/**
 * Generators of text logs for the split tests: every splittable format, with what makes a
 * split hard (header blocks in the middle, layout changes, CRLF and bare last lines, byte order
 * marks, blank, bad and over-long lines, trailers, quoted fields, long lists per destination).
 */
import fc from 'fast-check';
import type { RangeSource } from '../../../lambda/engine/split/check-split';

/** A log in memory read from any offset, in chunks of `chunkSize` bytes. */
export function bufferSource(bytes: Buffer, chunkSize = 4096): RangeSource {
  return {
    size: bytes.length,
    async *read(start: number) {
      for (let i = start; i < bytes.length; i += chunkSize) yield bytes.subarray(i, Math.min(bytes.length, i + chunkSize));
    },
  };
}

/** Remote addresses in several countries and classes (IPv6 and IPv4-mapped spellings too). */
export const REMOTES = [
  '8.8.8.8',
  '1.1.1.1',
  '47.88.1.1',
  '223.5.5.5',
  '77.88.8.8',
  '52.216.8.100',
  '203.0.113.7',
  '2001:4860:4860::8888',
  '2001:4860:4860:0:0:0:0:8888',
  '::ffff:8.8.4.4',
  '2a02:6b8::feed:ff',
  '192.168.1.20',
  '100.64.0.1',
];
/** Monitored-side addresses. */
export const LOCALS = ['192.168.1.10', '10.0.0.5', '172.16.0.9'];
/** Host names: more than a destination lists (32). */
const NAMES = ['dns.google', 'one.one.one.one', 'cdn.example', 'yandex.ru', 'api.drone.example', ...Array.from({ length: 40 }, (_, i) => `h${i}.example`)];
const APPS = ['com.example.drone', 'com.android.chrome', 'Maps, Navigation', 'Système', ...Array.from({ length: 36 }, (_, i) => `com.example.app${i}`)];

/** A log as lines, each with its own line ending; the last may have none. */
export interface GeneratedLog {
  readonly lines: readonly string[];
  readonly crlf: readonly boolean[];
  readonly bom: boolean;
  readonly finalNewline: boolean;
}

/** The bytes of a generated log. */
export function logBytes(log: GeneratedLog): Buffer {
  let text = log.bom ? '\uFEFF' : '';
  log.lines.forEach((line, i) => {
    const last = i === log.lines.length - 1;
    text += line;
    if (!last || log.finalNewline) text += log.crlf[i] ? '\r\n' : '\n';
  });
  return Buffer.from(text, 'utf8');
}

// One busy destination: past the caps on listed ports (64) and evidence lines (10).
const remote = fc.oneof({ weight: 1, arbitrary: fc.constant('8.8.8.8') }, { weight: 2, arbitrary: fc.constantFrom(...REMOTES) });
const local = fc.constantFrom(...LOCALS);
const port = fc.oneof(fc.constantFrom(53, 80, 443, 8443), fc.integer({ min: 1, max: 65535 }));
const bytes = fc.oneof(fc.integer({ min: 0, max: 5_000_000 }), fc.constant(-1));
const time = fc.integer({ min: 1_600_000_000, max: 1_800_000_000 });
const junk = fc.string({ maxLength: 60 }).map((s) => s.replace(/[\r\n]/g, ' '));
/** A line over the limit the tests set (LONG_LINE_LIMIT). */
export const LONG_LINE_LIMIT = 400;
const longLine = fc.integer({ min: LONG_LINE_LIMIT + 2, max: LONG_LINE_LIMIT * 3 }).map((n) => 'x'.repeat(n));

/** Lines of a log, header blocks interleaved: `sections` of header then records. */
function assemble<H, R>(
  header: fc.Arbitrary<H>,
  record: fc.Arbitrary<R>,
  render: (h: H, records: R[]) => string[],
  maxSections = 3,
): fc.Arbitrary<GeneratedLog> {
  return fc
    .record({
      sections: fc.array(fc.tuple(header, fc.array(record, { minLength: 0, maxLength: 150, size: 'max' })), { minLength: 1, maxLength: maxSections }),
      bom: fc.boolean(),
      finalNewline: fc.boolean(),
      crlfRate: fc.constantFrom(0, 0, 0.5, 1),
      seed: fc.integer(),
    })
    .map(({ sections, bom, finalNewline, crlfRate, seed }) => {
      const lines = sections.flatMap(([h, rs]) => render(h, rs));
      let x = seed | 0;
      const crlf = lines.map(() => {
        x = (Math.imul(x, 1103515245) + 12345) | 0;
        return ((x >>> 8) % 1000) / 1000 < crlfRate;
      });
      return { lines, crlf, bom, finalNewline };
    });
}

// ---- Zeek TSV --------------------------------------------------------------------------------

const ZEEK_FIELDS_A = ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'service', 'duration', 'orig_bytes', 'resp_bytes'];
const ZEEK_FIELDS_B = ['id.resp_h', 'id.resp_p', 'id.orig_h', 'id.orig_p', 'orig_bytes', 'resp_bytes', 'proto', 'ts'];

type ZeekRecord =
  | { kind: 'conn'; orig: string; oport: number; resp: string; rport: number; proto: string; ob: number; rb: number; ts: number; dur: number }
  | { kind: 'bad'; text: string }
  | { kind: 'long'; text: string }
  | { kind: 'blank' }
  | { kind: 'comment'; text: string };

const zeekRecord: fc.Arbitrary<ZeekRecord> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('conn' as const), orig: local, oport: port, resp: remote, rport: port, proto: fc.constantFrom('tcp', 'udp', 'icmp'), ob: bytes, rb: bytes, ts: time, dur: fc.integer({ min: 0, max: 3600 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('conn' as const), orig: remote, oport: port, resp: local, rport: port, proto: fc.constantFrom('tcp', 'udp'), ob: bytes, rb: bytes, ts: time, dur: fc.constant(0) }) },
  { weight: 1, arbitrary: junk.map((text) => ({ kind: 'bad' as const, text: text.replace(/^#/, '') })) },
  { weight: 1, arbitrary: longLine.map((text) => ({ kind: 'long' as const, text })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'blank' as const }) },
  { weight: 1, arbitrary: fc.constantFrom('#close\t2024-01-01-00-00-00', '#open\t2024-01-01-00-00-00', '#types\ttime\tstring').map((text) => ({ kind: 'comment' as const, text })) },
);

interface ZeekHeader {
  fields: string[];
  sep: '\t' | ',';
  unset: string;
  close: boolean;
}

const zeekHeader: fc.Arbitrary<ZeekHeader> = fc.record({
  fields: fc.constantFrom(ZEEK_FIELDS_A, ZEEK_FIELDS_A, ZEEK_FIELDS_B),
  sep: fc.constantFrom('\t' as const, '\t' as const, '\t' as const, ',' as const),
  unset: fc.constantFrom('-', '-', 'NONE'),
  close: fc.boolean(),
});

function zeekLines(h: ZeekHeader, records: ZeekRecord[]): string[] {
  const sepEsc = h.sep === '\t' ? '\\x09' : '\\x2c';
  const out = [
    `#separator ${sepEsc}`,
    `#set_separator${h.sep},`,
    `#empty_field${h.sep}(empty)`,
    `#unset_field${h.sep}${h.unset}`,
    `#path${h.sep}conn`,
    `#open${h.sep}2024-01-01-00-00-00`,
    `#fields${h.sep}${h.fields.join(h.sep)}`,
    `#types${h.sep}${h.fields.map(() => 'string').join(h.sep)}`,
  ];
  for (const r of records) {
    if (r.kind === 'conn') {
      const v: Record<string, string> = {
        ts: `${r.ts}.${String(r.dur % 1000).padStart(6, '0')}`,
        uid: 'C1',
        'id.orig_h': r.orig,
        'id.orig_p': String(r.oport),
        'id.resp_h': r.resp,
        'id.resp_p': String(r.rport),
        proto: r.proto,
        service: h.unset,
        duration: `${r.dur}.5`,
        orig_bytes: r.ob < 0 ? h.unset : String(r.ob),
        resp_bytes: r.rb < 0 ? h.unset : String(r.rb),
      };
      out.push(h.fields.map((f) => v[f]!).join(h.sep));
    } else if (r.kind === 'bad' || r.kind === 'long' || r.kind === 'comment') {
      out.push(r.text);
    } else {
      out.push('');
    }
  }
  if (h.close) out.push(`#close${h.sep}2024-01-01-01-00-00`);
  return out;
}

export const zeekTsvLog = assemble(zeekHeader, zeekRecord, zeekLines);

// ---- Zeek JSON -------------------------------------------------------------------------------

export const zeekJsonLog = assemble(
  fc.constant(null),
  fc.oneof(
    { weight: 10, arbitrary: fc.record({ o: local, op: port, r: remote, rp: port, ob: bytes, rb: bytes, ts: time, nested: fc.boolean() }).map((c) =>
      c.nested
        ? JSON.stringify({ ts: c.ts, id: { orig_h: c.o, orig_p: c.op, resp_h: c.r, resp_p: c.rp }, proto: 'tcp', orig_bytes: c.ob < 0 ? undefined : c.ob, resp_bytes: c.rb })
        : JSON.stringify({ ts: c.ts, 'id.orig_h': c.o, 'id.orig_p': c.op, 'id.resp_h': c.r, 'id.resp_p': c.rp, proto: 'udp', orig_bytes: c.ob, duration: 1.25 }),
    ) },
    { weight: 1, arbitrary: junk },
    { weight: 1, arbitrary: fc.constant('{"ts":1,"no":"addresses"}') },
    { weight: 1, arbitrary: fc.constant('') },
  ),
  (_h, records) => ['{"ts":1700000000,"id.orig_h":"10.0.0.5","id.resp_h":"8.8.8.8","proto":"udp"}', ...records],
);

// ---- VPC flow logs ---------------------------------------------------------------------------

const VPC_HEADERS = [
  'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
  'version interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr srcport dstport protocol bytes start end action log-status',
  'srcaddr dstaddr bytes action',
  null,
];

type VpcRecord = { kind: 'flow'; eni?: string; src: string; dst: string; sp: number; dp: number; b: number; t: number; action: string; status: string } | { kind: 'bad'; text: string } | { kind: 'long'; text: string };

/** A dual-stack instance's own public IPv6 address: on one side of every record of its interface. */
const OWN_IPV6 = '2600:1f18:4a3:6902:616f:c0a8:1234:5678';
const OWN_PEERS = ['2a00:1450:4001:82a::200e', '2400:da00::6666'];

const vpcRecord: fc.Arbitrary<VpcRecord> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('flow' as const), src: fc.oneof(local, remote), dst: fc.oneof(remote, local), sp: port, dp: port, b: fc.nat(100000), t: time, action: fc.constantFrom('ACCEPT', 'ACCEPT', 'REJECT'), status: fc.constantFrom('OK', 'OK', 'OK', 'NODATA', 'SKIPDATA') }) },
  {
    weight: 3,
    arbitrary: fc.record({ peer: fc.constantFrom(...OWN_PEERS), out: fc.boolean(), sp: port, dp: port, b: fc.nat(100000), t: time }).map((r) => ({
      kind: 'flow' as const, eni: 'eni-0f9e8d7c6b5a40312', src: r.out ? OWN_IPV6 : r.peer, dst: r.out ? r.peer : OWN_IPV6, sp: r.sp, dp: r.dp, b: r.b, t: r.t, action: 'ACCEPT', status: 'OK',
    })),
  },
  { weight: 1, arbitrary: junk.map((text) => ({ kind: 'bad' as const, text })) },
  { weight: 1, arbitrary: longLine.map((text) => ({ kind: 'long' as const, text })) },
);

function vpcLines(header: string | null, records: VpcRecord[]): string[] {
  const fields = (header ?? VPC_HEADERS[0]!).split(' ');
  const out = header === null ? [] : [header];
  for (const r of records) {
    if (r.kind !== 'flow') {
      out.push(r.text);
      continue;
    }
    const nodata = r.status !== 'OK';
    const v: Record<string, string> = {
      version: '2',
      'account-id': '123456789010',
      'interface-id': r.eni ?? 'eni-1235b8ca123456789',
      srcaddr: nodata ? '-' : r.src,
      dstaddr: nodata ? '-' : r.dst,
      'pkt-srcaddr': '-',
      'pkt-dstaddr': nodata ? '-' : r.dst,
      srcport: String(r.sp),
      dstport: String(r.dp),
      protocol: '6',
      packets: '10',
      bytes: String(r.b),
      start: String(r.t),
      end: String(r.t + 60),
      action: r.action,
      'log-status': r.status,
    };
    out.push(fields.map((f) => v[f]!).join(' '));
  }
  return out;
}

export const vpcFlowLog = assemble(fc.constantFrom(...VPC_HEADERS), vpcRecord, vpcLines);

// ---- PCAPdroid CSV ---------------------------------------------------------------------------

const PCAPDROID_HEADERS = [
  'IPProto,SrcIP,SrcPort,DstIp,DstPort,UID,App,PackageName,Proto,Status,Info,BytesSent,BytesRcvd,PktsSent,PktsRcvd,FirstSeen,LastSeen',
  'IPProto,SrcIP,SrcPort,DstIp,DstPort,UID,App,Proto,Status,Info,BytesSent,BytesRcvd,PktsSent,PktsRcvd,FirstSeen,LastSeen',
];

export const pcapdroidLog = assemble(
  fc.constantFrom(...PCAPDROID_HEADERS),
  fc.oneof(
    { weight: 10, arbitrary: fc.record({ src: local, sp: port, dst: remote, dp: port, app: fc.constantFrom(...APPS), info: fc.constantFrom(...NAMES, ''), sent: fc.nat(100000), rcvd: fc.nat(100000), t: time, status: fc.constantFrom('Closed', 'Active', 'Unreachable') }).map((r) => ({ kind: 'conn' as const, ...r })) },
    { weight: 1, arbitrary: junk.map((text) => ({ kind: 'bad' as const, text })) },
  ),
  (header, records) => {
    const hasPackage = header.includes('PackageName');
    return [
      header,
      ...records.map((r) =>
        r.kind === 'bad'
          ? r.text
          : [6, r.src, r.sp, r.dst, r.dp, 10123, r.app, ...(hasPackage ? [r.app.startsWith('com.') ? r.app : ''] : []), 'TLS', r.status, r.info, r.sent, r.rcvd, 3, 4, r.t * 1000, r.t * 1000 + 500].join(','),
      ),
    ];
  },
);

// ---- Generic CSV and nfdump ------------------------------------------------------------------

export const genericCsvLog = fc
  .record({
    delimiter: fc.constantFrom(',', ';', '\t'),
    sepLine: fc.boolean(),
    comment: fc.boolean(),
    repeats: fc.nat(2),
  })
  .chain(({ delimiter, sepLine, comment, repeats }) =>
    assemble(
      fc.constant(null),
      fc.oneof(
        { weight: 10, arbitrary: fc.record({ s: local, d: remote, dp: port, ob: bytes, ib: bytes, t: time, host: fc.constantFrom(...NAMES, '-', ''), quoted: fc.boolean() }).map((r) =>
          [r.s, r.quoted ? `"${r.d}"` : r.d, r.dp, 'tcp', r.ob < 0 ? '' : r.ob, r.ib < 0 ? '-' : r.ib, new Date(r.t * 1000).toISOString(), r.host, r.quoted ? '"App ""quoted"""' : 'app'].join(delimiter),
        ) },
        // A quoted field holding line breaks (blank, `#` and header-like lines among them), and a
        // quote never closed: records that span lines, and lines read again after a give-up.
        { weight: 2, arbitrary: fc.record({ s: local, d: remote, ob: bytes, note: fc.array(fc.constantFrom('', '# not a comment', 'src_ip,dst_ip', 'a, "b"', '""', 'x'), { minLength: 1, maxLength: 4 }) }).map((r) =>
          [r.s, r.d, 443, 'tcp', r.ob < 0 ? '' : r.ob, 1, '', '', `"${r.note.join('\n').replace(/"/g, '""')}"`].join(delimiter),
        ) },
        { weight: 1, arbitrary: fc.record({ s: local, d: remote }).map((r) => [r.s, r.d, 443, 'tcp', 1, 1, '', '', '"never closed'].join(delimiter)) },
        { weight: 1, arbitrary: junk },
        { weight: 1, arbitrary: fc.constant('# a comment line') },
        { weight: 1, arbitrary: fc.constant('') },
        { weight: 1, arbitrary: longLine },
      ),
      (_h, records) => {
        const header = ['src_ip', 'dst_ip', 'dst_port', 'proto', 'bytes_out', 'bytes_in', 'start', 'hostname', 'app'].join(delimiter);
        const head = [...(comment ? ['# exported by a firewall'] : []), ...(sepLine ? [`sep=${delimiter}`] : []), header];
        const out = [...head];
        const chunk = Math.max(1, Math.ceil(records.length / (repeats + 1)));
        records.forEach((r, i) => {
          if (i > 0 && i % chunk === 0) out.push(header);
          out.push(r);
        });
        return out;
      },
      1,
    ),
  );

const NFDUMP_HEADER = 'ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr';

export const nfdumpLog = assemble(
  fc.constant(null),
  fc.oneof(
    { weight: 10, arbitrary: fc.record({ s: local, d: remote, sp: port, dp: port, ib: fc.nat(100000), ob: fc.nat(1000), t: time }).map((r) => {
      const ts = new Date(r.t * 1000).toISOString().replace('T', ' ').replace('Z', '');
      return `${ts},${ts},0.000,${r.s},${r.d},${r.sp},${r.dp},TCP,......,0,0,1,${r.ib},0,${r.ob},0,0,0,0,0,0,0,0,0.0.0.0,0.0.0.0,0,0,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0.000,0.000,0.000,0.0.0.0,0/0,1,1970-01-01 00:00:00.000`;
    }) },
    { weight: 1, arbitrary: junk },
  ),
  (_h, records) => [NFDUMP_HEADER, ...records, 'Summary', 'flows,bytes,packets,avg_bps,avg_pps,avg_bpp', `${records.length},1234,56,0,0,0`],
);

// ---- Suricata EVE ----------------------------------------------------------------------------

export const eveLog = fc.boolean().chain((withNames) =>
  assemble(
    fc.constant(null),
    fc.oneof(
      { weight: 8, arbitrary: fc.record({ s: local, d: remote, sp: port, dp: port, b: fc.nat(10000), id: fc.nat(50), netflow: fc.boolean() }).map((r) =>
        JSON.stringify(
          r.netflow
            ? { timestamp: '2024-03-01T10:00:00.000000+0000', flow_id: r.id, event_type: 'netflow', src_ip: r.s, src_port: r.sp, dest_ip: r.d, dest_port: r.dp, proto: 'TCP', netflow: { pkts: 1, bytes: r.b, start: '2024-03-01T10:00:00.000000+0000', end: '2024-03-01T10:00:01.000000+0000' } }
            : { timestamp: '2024-03-01T10:00:00.000000+0000', flow_id: r.id, event_type: 'flow', src_ip: r.s, src_port: r.sp, dest_ip: r.d, dest_port: r.dp, proto: 'TCP', flow: { bytes_toserver: r.b, bytes_toclient: 10, start: '2024-03-01T10:00:00.000000+0000' } },
        ),
      ) },
      { weight: withNames ? 2 : 0, arbitrary: fc.record({ d: remote, name: fc.constantFrom(...NAMES), id: fc.nat(50) }).map((r) =>
        JSON.stringify({ timestamp: '2024-03-01T10:00:00.000000+0000', flow_id: r.id, event_type: 'tls', src_ip: '10.0.0.5', dest_ip: r.d, tls: { sni: r.name } }),
      ) },
      { weight: 1, arbitrary: fc.constant('{"event_type":"stats","stats":{}}') },
      { weight: 1, arbitrary: junk },
    ),
    (_h, records) => records,
    1,
  ),
);

/** Every generator, by the format a check detects. */
export const GENERATED_LOGS: Record<string, fc.Arbitrary<GeneratedLog>> = {
  'zeek-tsv': zeekTsvLog,
  'zeek-json': zeekJsonLog,
  'vpc-flow': vpcFlowLog,
  'pcapdroid-csv': pcapdroidLog,
  'generic-csv': genericCsvLog,
  'nfdump-csv': nfdumpLog,
  'suricata-eve': eveLog,
};

/**
 * A PCAPdroid log past every cap of a destination's lists and of the kept errors: hundreds of
 * connections to one address on distinct ports, under 40+ names and apps, with 150 bad lines.
 */
export const capsLog: fc.Arbitrary<GeneratedLog> = fc
  .record({
    conns: fc.array(fc.record({ dp: fc.integer({ min: 1, max: 65535 }), name: fc.constantFrom(...NAMES), app: fc.constantFrom(...APPS) }), { minLength: 300, maxLength: 400 }),
    bad: fc.array(fc.nat(399), { minLength: 150, maxLength: 150 }),
  })
  .map(({ conns, bad }) => {
    const lines = [PCAPDROID_HEADERS[0]!];
    const badAt = new Set(bad);
    conns.forEach((c, i) => {
      if (badAt.has(i)) lines.push(`not,a,record,${i}`);
      lines.push([6, '192.168.1.10', 40000 + i, '8.8.8.8', c.dp, 10123, c.app, c.app, 'TLS', 'Closed', c.name, 100, 200, 1, 1, 1_700_000_000_000 + i, 1_700_000_000_500 + i].join(','));
    });
    return { lines, crlf: lines.map(() => false), bom: false, finalNewline: true };
  });
