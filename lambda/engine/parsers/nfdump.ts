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

/** Parser for nfdump CSV. */
export class NfdumpCsvParser implements LineParser {
  readonly format = 'nfdump-csv' as const;
  private readonly csv: LineParser = new GenericCsvParser({ columns: NFDUMP_COLUMNS }, true);

  line(buf: Buffer, start: number, end: number, lineNo: number, sink: RecordSink): void {
    this.csv.line(buf, start, end, lineNo, sink);
  }

  finish(sink: RecordSink): void {
    this.csv.finish(sink);
  }
}

const HEADER = /^ts,te,td,sa,da,sp,dp,pr(,|$)/;

/** Detection: 1 when the first line is the nfdump CSV header. */
export function detectNfdumpCsv(lines: readonly string[]): number {
  const first = lines.find((l) => l.trim() !== '');
  return first !== undefined && HEADER.test(first.trim()) ? 1 : 0;
}

/** Registry entry. */
export const nfdumpCsvFormat: FormatDefinition = {
  name: 'nfdump-csv',
  description: 'nfdump -o csv output (NetFlow/IPFIX/sFlow flows from nfcapd or nfpcapd)',
  detect: detectNfdumpCsv,
  create: () => new NfdumpCsvParser(),
};
