/**
 * Hostnames from a Zeek `dns.log` (TSV or JSON lines) given beside a `conn.log`: each answer that
 * is an address is named by the query that produced it, so a destination reads
 * "bugly.example -> 1.2.3.4" instead of a bare address.
 */
import { InputError } from '../errors';
import { decodeInput } from '../input/decode';
import { LineSplitter } from '../input/line-splitter';
import { parseIp } from '../net/ip';

/** Names by canonical address. */
export type NameIndex = Map<string, string[]>;

/** Caps: names kept per address, and addresses kept in all. */
export const MAX_NAMES_PER_ADDRESS = 32;
export const MAX_NAMED_ADDRESSES = 1_000_000;

const HOSTNAME = /^[a-z0-9_](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9_](?:[a-z0-9_-]{0,62}))*\.?$/;

/** Adds `name` for `address` (ignoring non-addresses and non-hostnames). */
export function addName(index: NameIndex, address: string, name: string): void {
  const ip = parseIp(address.trim());
  const host = name.trim().toLowerCase().replace(/\.$/, '');
  if (!ip || host.length > 253 || !HOSTNAME.test(host)) return;
  let names = index.get(ip.text);
  if (!names) {
    if (index.size >= MAX_NAMED_ADDRESSES) return;
    names = [];
    index.set(ip.text, names);
  }
  if (names.length < MAX_NAMES_PER_ADDRESS && !names.includes(host)) names.push(host);
}

/** Statistics of a read, for the one-line summary. */
export interface DnsReadStats {
  records: number;
  answers: number;
  skipped: number;
}

/** Reads a Zeek dns.log into `index`. Lines it cannot use are counted, never fatal. */
export async function readZeekDnsNames(source: AsyncIterable<Uint8Array>, index: NameIndex = new Map()): Promise<{ index: NameIndex; stats: DnsReadStats }> {
  const stats: DnsReadStats = { records: 0, answers: 0, skipped: 0 };
  let sep = '\t';
  let setSep = ',';
  let fields: string[] | null = null;
  const onLine = (buf: Buffer, start: number, end: number): void => {
    if (start === end) return;
    const line = buf.toString('utf8', start, end);
    if (line.startsWith('#')) {
      if (line.startsWith('#separator')) {
        sep = line.slice(10).trim().replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
      } else if (line.startsWith(`#set_separator${sep}`)) {
        setSep = line.slice(14 + sep.length);
      } else if (line.startsWith(`#fields${sep}`)) {
        fields = line.slice(7 + sep.length).split(sep);
      }
      return;
    }
    stats.records++;
    let query: unknown;
    let answers: unknown;
    if (line.trimStart().startsWith('{')) {
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        query = o.query;
        answers = o.answers;
      } catch {
        stats.skipped++;
        return;
      }
    } else if (fields) {
      const values = line.split(sep);
      query = values[fields.indexOf('query')];
      const a = values[fields.indexOf('answers')];
      answers = a === undefined || a === '-' || a === '(empty)' ? [] : a.split(setSep);
    }
    if (typeof query !== 'string' || query === '-' || !Array.isArray(answers)) {
      stats.skipped++;
      return;
    }
    for (const answer of answers) {
      if (typeof answer !== 'string') continue;
      const before = index.get(parseIp(answer)?.text ?? '')?.length ?? 0;
      addName(index, answer, query);
      if ((index.get(parseIp(answer)?.text ?? '')?.length ?? 0) > before) stats.answers++;
    }
  };
  const { chunks } = decodeInput(source);
  const splitter = new LineSplitter(onLine, () => stats.skipped++);
  for await (const chunk of chunks) splitter.push(chunk);
  splitter.end();
  return { index, stats };
}

/** A Zeek dns.log to read: its name (in errors) and how to open its bytes. */
export interface DnsLogSource {
  readonly name: string;
  open(): Promise<AsyncIterable<Uint8Array>>;
}

/**
 * Reads Zeek dns.logs into one name index (undefined when none are given), wherever their bytes
 * come from. A log without one usable DNS record is an error; `why` says, in the message, why it
 * was read as a dns.log.
 */
export async function readDnsLogs(logs: readonly DnsLogSource[], why: string): Promise<NameIndex | undefined> {
  if (logs.length === 0) return undefined;
  const index: NameIndex = new Map();
  for (const log of logs) {
    let stats: DnsReadStats;
    try {
      ({ stats } = await readZeekDnsNames(await log.open(), index));
    } catch (err) {
      // A damaged file (a gzip that ends early) is named like the log files are.
      if (err instanceof InputError && !err.message.startsWith(`${log.name}: `)) throw new InputError(`${log.name}: ${err.message}`, { cause: err });
      throw err;
    }
    // Lines it could not use do not count: a file of junk is not a dns.log.
    if (stats.records === stats.skipped) throw new InputError(`${log.name}: no DNS records found (${why})`);
  }
  return index;
}
