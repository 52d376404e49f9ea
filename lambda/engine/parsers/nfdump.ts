/**
 * nfdump `-o csv` output (https://github.com/phaag/nfdump, `nfdump -r FILE -o csv`): a header
 * `ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,...`, one row per flow, then a
 * `Summary` line, a summary header (`flows,bytes,packets,avg_bps,avg_pps,avg_bpp`) and a totals
 * row, which are not records.
 *
 * Read as generic CSV with a fixed column mapping: `sa`/`sp` the flow's source, `da`/`dp` its
 * destination, `ibyt` the bytes from source to destination, `obyt` the reverse bytes of a
 * bidirectional (NSEL, biflow) record, 0 in unidirectional NetFlow/IPFIX where the reverse
 * direction is a record of its own. `ts`/`te` are written in the local time of the nfdump process
 * without an offset and are read as UTC (run nfdump with `TZ=UTC`).
 *
 * nfdump 1.7.5 and later name the columns as output_csv.c's format table does (`-o csv` writes
 * `firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,bytes,flows`, and `-o
 * csv:%ts,%sa,...` the names of the elements asked for): `srcAddr`/`dstAddr`, `bytes` or `inBytes`
 * the bytes from source to destination, `outBytes` the reverse. Either header is read by name.
 * Without `outBytes` (1.7.5's default) the reverse bytes are unknown, not 0: a NetFlow record's
 * reverse is a record of its own, but a bidirectional one's (NSEL, IPFIX biflow) is not in the
 * output, and the CSV does not say which it is.
 */
import type { LineParser, RecordSink } from '../types';
import { GenericCsvParser } from './generic-csv';
import type { FormatDefinition } from './index';

/** The nfdump CSV columns, as a generic CSV mapping. */
export const NFDUMP_COLUMNS: Readonly<Record<string, string>> = {
  src: 'sa',
  dst: 'da',
  src_port: 'sp',
  dst_port: 'dp',
  proto: 'pr',
  bytes_out: 'ibyt',
  bytes_in: 'obyt',
  start: 'ts',
  end: 'te',
};

/**
 * The column names of nfdump 1.7.5 and later (src/output/output_csv.c, `formatTable`'s
 * `csvHeader`): a header of these alone, with `srcAddr` and `dstAddr`, is nfdump's.
 */
const NAMES_175 = new Set(
  (
    'version count Ident engine exporterID firstSeen lastSeen received duration packets inPackets bytes inBytes ' +
    'srcPort dstPort icmpTYpe icmpCode proto flags fwdStatus tos srcTos bps pps bpp srcAddr dstAddr input output ' +
    'srcMask dstMask direction dstTos biDirection endReason srcNet dstNet inIfName outIfName outPackets outBytes ' +
    'flows srcVlan dstVlan srcAS dstAS bgpNextIP nextIP routerIP mplsLabel1 mplsLabel2 mplsLabel3 mplsLabel4 ' +
    'mplsLabel5 mplsLabel6 mplsLabel7 mplsLabel8 mplsLabel9 mplsLabel10 mplsLabel1-10 inSrcMac outDstMac inDstMac ' +
    'outSrcMac nextAS prevAS clientLatency serverLatency appLatency eventTime event connectionID xEvent srcXIP ' +
    'dstXIP srcXPort dstXPort ingressACL egressACL nselUser pbStart pbEnd pbStep pbSize nbarID nbarName ' +
    'obsDomainID obsPointID ingressVrfID ingressVrfName egressVrfID egressVrfName pfInterface pfAction pfReason ' +
    'pfDirection pfRule flowID inSrvID outSrvID natString ja3 ja4 sniName tlsVersion srcGeo dstGeo srcLocation ' +
    'dstLocation srcOrg dstOrg srcTor dstTor label minTTL maxTTL Frag'
  ).split(' '),
);

/** The generic CSV mapping of a 1.7.5 header's names: only the columns it has. */
function columns175(names: readonly string[]): Record<string, string> {
  const has = (n: string): boolean => names.includes(n);
  const mapping: Record<string, string> = { src: 'srcAddr', dst: 'dstAddr' };
  if (has('srcPort')) mapping.src_port = 'srcPort';
  if (has('dstPort')) mapping.dst_port = 'dstPort';
  if (has('proto')) mapping.proto = 'proto';
  // `%ibyt` (inBytes) and `%byt` (bytes) are both the source's bytes; `%obyt` the reverse.
  if (has('inBytes')) mapping.bytes_out = 'inBytes';
  else if (has('bytes')) mapping.bytes_out = 'bytes';
  if (has('outBytes')) mapping.bytes_in = 'outBytes';
  if (has('firstSeen')) mapping.start = 'firstSeen';
  if (has('lastSeen')) mapping.end = 'lastSeen';
  return mapping;
}

/** The names of an nfdump 1.7.5 header line, or null when the line is not one. */
function header175(line: string): string[] | null {
  const names = line.trim().split(',');
  return names.includes('srcAddr') && names.includes('dstAddr') && names.every((n) => NAMES_175.has(n)) ? names : null;
}

/** Parser for nfdump CSV. */
export class NfdumpCsvParser implements LineParser {
  readonly format = 'nfdump-csv' as const;
  /** Made at the header, whose names say which mapping (before 1.7.5 or after). */
  private csv: LineParser | null = null;

  line(buf: Buffer, start: number, end: number, lineNo: number, sink: RecordSink): void {
    if (this.csv === null) {
      const text = buf.toString('latin1', start, end);
      if (text.trim() === '') return;
      const names = header175(text);
      this.csv = new GenericCsvParser({ columns: names === null ? NFDUMP_COLUMNS : columns175(names) }, true);
    }
    this.csv.line(buf, start, end, lineNo, sink);
  }

  finish(sink: RecordSink): void {
    this.csv?.finish(sink);
  }
}

const HEADER = /^ts,te,td,sa,da,sp,dp,pr(,|$)/;

/** Detection: 1 when the first line is an nfdump CSV header (before 1.7.5, or after). */
export function detectNfdumpCsv(lines: readonly string[]): number {
  const first = lines.find((l) => l.trim() !== '');
  return first !== undefined && (HEADER.test(first.trim()) || header175(first) !== null) ? 1 : 0;
}

/** Registry entry. */
export const nfdumpCsvFormat: FormatDefinition = {
  name: 'nfdump-csv',
  description: 'nfdump -o csv output (NetFlow/IPFIX/sFlow flows from nfcapd or nfpcapd)',
  detect: detectNfdumpCsv,
  create: () => new NfdumpCsvParser(),
};
