/**
 * Firewall traffic logs written as key=value pairs, one record a line, as FortiGate writes them
 * (FortiOS syslog, and logs downloaded from the unit or FortiAnalyzer as text):
 *
 *   date=2024-03-01 time=10:00:00 devname="FGT60F" ... eventtime=1709287200123456789 tz="+0000"
 *   logid="0000000013" type="traffic" subtype="forward" ... srcip=192.168.1.20 srcport=51000
 *   dstip=8.8.8.8 dstport=443 ... proto=6 action="close" ... sentbyte=4200 rcvdbyte=1200 ...
 *
 * and other logs whose keys are the column names generic CSV recognises. A syslog header before
 * the first pair (`<189>`, `Mar  1 10:00:00 fw01 `) is passed over; values may be quoted (`"..."`,
 * with `\"` inside).
 *
 * Each line's keys are its header: the line is read as a row of generic CSV under them (one parser
 * per set of keys: FortiGate writes different keys for different traffic), so columns, byte
 * directions (FortiGate's `sentbyte` is what the source sent), refused actions, times and
 * destination NAT (`tranip`) are read as for the same log exported as CSV. Without `eventtime`,
 * FortiGate's `date` and `time` (with `tz` when given) are the record's time. FortiGate logs of
 * other types (`type="event"`, `"utm"`) are records of another kind. CEF (`CEF:0|...`), whose
 * `in`/`out` run against the names, is not read as this format.
 */
import { InputError } from '../errors';
import type { LineParser, ParserOptions, RecordSink } from '../types';
import { GenericCsvParser, resolveColumns } from './generic-csv';
import type { FormatDefinition } from './index';
import { utf8 } from './bytes';

/** One pair: a key, `=`, then a quoted value or one without spaces. Sticky: read where the last ended. */
const PAIR = /([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)/y;
/** Where the pairs begin: the first key at the start of the line, after a space, or after a syslog `<PRI>`. */
const FIRST_KEY = /(?:^|[\s>])[A-Za-z_][\w.-]*=/;
/** Fewer pairs than this on a line is no record of such a log. */
const MIN_PAIRS = 4;
/** How many sets of keys keep a parser of their own (past this, a parser is made per line). */
const MAX_LAYOUTS = 256;

/** A line's pairs, in order; null when it has fewer than {@link MIN_PAIRS}. */
export function keyValuePairs(text: string): { names: string[]; values: string[] } | null {
  const first = FIRST_KEY.exec(text);
  if (first === null) return null;
  const names: string[] = [];
  const values: string[] = [];
  let at = first.index + (/[\s>]/.test(first[0][0]!) ? 1 : 0);
  while (at < text.length) {
    while (at < text.length && (text[at] === ' ' || text[at] === '\t')) at++;
    if (at >= text.length) break;
    PAIR.lastIndex = at;
    const m = PAIR.exec(text);
    if (m === null) {
      // Not a pair (free text between pairs): passed over to the next space.
      const next = text.slice(at).search(/\s/);
      if (next < 0) break;
      at += next;
      continue;
    }
    names.push(m[1]!);
    const v = m[2]!;
    values.push(v.startsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v);
    at = PAIR.lastIndex;
  }
  return names.length >= MIN_PAIRS ? { names, values } : null;
}

/** A CSV field for `s`: quoted when it holds what would end or open one. */
function csvField(s: string): string {
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Whether the pairs name a destination address, as a generic CSV header would. */
function namesDestination(names: readonly string[], mapping: Readonly<Record<string, string>> = {}): boolean {
  try {
    return resolveColumns(names, mapping).dst >= 0;
  } catch (err) {
    if (err instanceof InputError) return false;
    throw err;
  }
}

/** Parser for key=value traffic logs. */
export class KeyValueParser implements LineParser {
  readonly format = 'key-value' as const;
  private readonly layouts = new Map<string, GenericCsvParser>();

  constructor(private readonly options: ParserOptions = {}) {
    // (A bad --columns mapping is refused now, as generic CSV refuses it.)
    new GenericCsvParser(options);
  }

  line(buf: Buffer, start: number, end: number, lineNo: number, sink: RecordSink): void {
    const text = utf8(buf, start, end);
    if (text.trim() === '') return;
    const pairs = keyValuePairs(text);
    if (pairs === null) {
      sink.skip(lineNo, 'line without key=value pairs');
      return;
    }
    const { names, values } = pairs;
    const type = names.indexOf('type');
    if (type >= 0 && names.includes('logid') && values[type] !== 'traffic') {
      (sink.notConnection ?? sink.skip).call(sink, lineNo, `FortiGate ${values[type] || 'untyped'} log, not traffic`);
      return;
    }
    // FortiGate without eventtime: its date and time of day (in the unit's zone, `tz` when given).
    if (!names.includes('eventtime') && !names.includes('timestamp')) {
      const date = names.indexOf('date');
      const time = names.indexOf('time');
      if (date >= 0 && time >= 0) {
        const tz = names.indexOf('tz');
        names.push('timestamp');
        values.push(`${values[date]} ${values[time]}${tz >= 0 ? values[tz] : ''}`);
      }
    }
    const header = names.map(csvField).join(',');
    let parser = this.layouts.get(header);
    if (parser === undefined) {
      if (!namesDestination(names, this.options.columns)) {
        sink.skip(lineNo, 'record names no destination address (no key such as dstip, dst or dst_ip)');
        return;
      }
      parser = new GenericCsvParser(this.options);
      const h = Buffer.from(header, 'utf8');
      parser.line(h, 0, h.length, lineNo, sink);
      if (this.layouts.size < MAX_LAYOUTS) this.layouts.set(header, parser);
    }
    const row = Buffer.from(values.map(csvField).join(','), 'utf8');
    parser.line(row, 0, row.length, lineNo, sink);
  }

  finish(): void {}
}

/** Detection: 0.9 when one of the first lines is a key=value record naming a destination (not CEF). */
export function detectKeyValue(lines: readonly string[]): number {
  for (const line of lines.slice(0, 20)) {
    if (line.trim() === '' || /(^|\|)CEF:\d/.test(line)) continue;
    const pairs = keyValuePairs(line);
    if (pairs !== null && namesDestination(pairs.names)) return 0.9;
  }
  return 0;
}

/** Registry entry: below the formats with a header of their own, above generic CSV. */
export const keyValueFormat: FormatDefinition = {
  name: 'key-value',
  description: 'firewall traffic logs as key=value pairs (FortiGate syslog and log downloads)',
  detect: detectKeyValue,
  create: (options) => new KeyValueParser(options),
};
