/**
 * The format registry and content-based detection. Each format looks at the first lines of the
 * decoded input and says how sure it is; the surest wins. `--format` bypasses detection.
 */
import type { ChunkParser, FormatName, LineParser, ParserOptions } from '../types';
import { genericCsvFormat } from './generic-csv';
import { cefFormat } from './cef';
import { harFormat } from './har';
import { keyValueFormat } from './key-value';
import { nfdumpCsvFormat } from './nfdump';
import { captureKind, PcapParser } from './pcap';
import { pcapdroidCsvFormat } from './pcapdroid';
import { awsNetworkFirewallFormat, suricataEveFormat } from './suricata-eve';
import { vpcFlowFormat } from './vpc-flow';
import { cloudWatchVpcFormat } from './cloudwatch-vpc';
import { gcpVpcFlowFormat } from './gcp-vpc-flow';
import { azureFlowFormat } from './azure-flow';
import { windowsFirewallFormat } from './windows-firewall';
import { ZeekJsonParser } from './zeek-json';
import { ZeekTsvParser, zeekCutHeader } from './zeek-tsv';

/** A log format the engine can read. */
export interface FormatDefinition {
  readonly name: FormatName;
  readonly description: string;
  /**
   * How sure the format is that these first lines are its own: 0 (no) to 1 (certain).
   * `lines` are the first non-empty lines (BOM removed), decoded as UTF-8; `head` is the first
   * decoded bytes (up to 64 KiB), for binary formats that recognise magic numbers.
   */
  detect(lines: readonly string[], head?: Buffer): number;
  /** A line parser, or a chunk parser for binary and whole-document formats. */
  create(options: ParserOptions): LineParser | ChunkParser;
}

/** True for parsers that take raw chunks rather than lines. */
export function isChunkParser(p: LineParser | ChunkParser): p is ChunkParser {
  return 'push' in p;
}

function firstJsonObject(lines: readonly string[]): Record<string, unknown> | null {
  // The first line may be cut off (`split -b`, `tail -c`, a copy of a log being written): then
  // the next one is the first whole record. The parser counts the cut one as skipped.
  let first = true;
  for (const line of lines) {
    const t = line.trim();
    if (t === '') continue;
    const v = t.startsWith('{') ? jsonObjectOf(t) : null;
    if (v !== null || !first || !t.endsWith('}')) return v;
    first = false;
  }
  return null;
}

function jsonObjectOf(line: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(line);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Whether a JSON record names a connection's responder as Zeek does. */
function isZeekConnObject(o: Record<string, unknown> | null): boolean {
  if (o === null) return false;
  const id = o.id as Record<string, unknown> | undefined;
  // id_resp_h: a Zeek with `redef Log::default_scope_sep = "_"`.
  return 'id.resp_h' in o || 'id_resp_h' in o || (id !== null && typeof id === 'object' && 'resp_h' in id);
}

const zeekTsv: FormatDefinition = {
  name: 'zeek-tsv',
  description: 'Zeek conn.log, TSV with #separator/#fields header lines (or the names alone, as zeek-cut -m writes them)',
  detect: (lines) => {
    if (lines.some((l) => l.startsWith('#separator') || l.startsWith('#fields\t'))) return 1;
    const first = lines.find((l) => l.trim() !== '');
    const cut = first === undefined ? null : zeekCutHeader(first);
    // Names separated by commas over quoted fields are a CSV export (pandas, a SIEM) of a conn.log,
    // which the generic CSV reader reads with its quoting; zeek-cut -F quotes nothing.
    if (cut === null || (cut.sep !== 9 && lines.some((l) => l.includes('"')))) return 0;
    return 1;
  },
  create: () => new ZeekTsvParser(),
};

const zeekJson: FormatDefinition = {
  name: 'zeek-json',
  description: 'Zeek conn.log, JSON lines',
  detect: (lines) => {
    const o = firstJsonObject(lines);
    if (!o) return 0;
    if (isZeekConnObject(o)) return 1;
    // A stream of every log (`_path` in each record) starts with what Zeek writes first
    // (packet_filter, reporter, loaded_scripts): a conn record further on makes it Zeek's.
    if (typeof o._path !== 'string') return 0;
    return lines.slice(0, 200).some((l) => l.trimStart().startsWith('{') && isZeekConnObject(jsonObjectOf(l.trim()))) ? 1 : 0;
  },
  create: () => new ZeekJsonParser(),
};

const pcap: FormatDefinition = {
  name: 'pcap',
  description: 'libpcap capture (tcpdump, Wireshark, PCAPdroid), any byte order, µs or ns timestamps',
  detect: (_lines, head) => (head && captureKind(head) === 'pcap' ? 1 : 0),
  create: () => new PcapParser('pcap'),
};

const pcapng: FormatDefinition = {
  name: 'pcapng',
  description: 'pcapng capture (Wireshark, dumpcap, tcpdump -w with pcapng)',
  detect: (_lines, head) => (head && captureKind(head) === 'pcapng' ? 1 : 0),
  create: () => new PcapParser('pcapng'),
};

/** Every format, in the order detection breaks ties. */
export const FORMATS: readonly FormatDefinition[] = [
  zeekTsv,
  zeekJson,
  vpcFlowFormat,
  cloudWatchVpcFormat,
  pcapdroidCsvFormat,
  genericCsvFormat,
  harFormat,
  suricataEveFormat,
  awsNetworkFirewallFormat,
  nfdumpCsvFormat,
  gcpVpcFlowFormat,
  azureFlowFormat,
  windowsFirewallFormat,
  keyValueFormat,
  cefFormat,
  pcap,
  pcapng,
];

/** Finds a format by name. */
export function findFormat(name: string): FormatDefinition | undefined {
  return FORMATS.find((f) => f.name === name);
}

/**
 * The format of a log whose format was not named, from its first lines: the best match (`detected`),
 * else, when the fields of a VPC flow log format were given, VPC Flow Logs (`option`: records of a
 * custom format without a header line, which no format takes); null when neither.
 */
export function formatOfHead(
  lines: readonly string[],
  head: Buffer,
  parserOptions: ParserOptions | undefined,
): { format: FormatDefinition; source: 'detected' | 'option' } | null {
  const detected = detectFormat(lines, head);
  if (detected !== null) return { format: detected, source: 'detected' };
  return parserOptions?.vpcFields !== undefined ? { format: vpcFlowFormat, source: 'option' } : null;
}

/** The best-matching format for the first lines, or null when none is confident enough. */
export function detectFormat(lines: readonly string[], head: Buffer = Buffer.alloc(0)): FormatDefinition | null {
  let best: FormatDefinition | null = null;
  let bestScore = 0;
  for (const f of FORMATS) {
    let score: number;
    try {
      score = f.detect(lines, head);
    } catch {
      score = 0;
    }
    if (score > bestScore) {
      best = f;
      bestScore = score;
    }
  }
  return bestScore >= 0.5 ? best : null;
}
