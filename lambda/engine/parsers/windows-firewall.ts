/**
 * The Windows Defender Firewall log (`%SystemRoot%\System32\LogFiles\Firewall\pfirewall.log`), as
 * the firewall writes it when "Log successful connections" (and dropped packets) is on:
 *
 *   #Version: 1.5
 *   #Software: Microsoft Windows Firewall
 *   #Time Format: Local
 *   #Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path pid
 *
 *   2023-11-26 22:28:01 ALLOW TCP 192.168.10.106 1.2.4.8 65470 443 0 - 0 0 0 - - - SEND 4410
 *
 * Values are separated by spaces, `-` is unset, and the `#Fields` line names them (`pid`, the
 * process, came with Windows 10). A line is a connection the firewall allowed (`ALLOW`) or a
 * packet it dropped (`DROP`, a refused attempt); `path` says which side is the machine's own:
 * `SEND` its source, `RECEIVE` its destination (FlowRecord.origLocal, respLocal), so a machine with
 * a public address is no destination of its own. The log gives no byte counts (`size` is one
 * packet's): they are unknown. `INFO-EVENTS-LOST` says the firewall lost that many events: traffic
 * went unrecorded, so the line is a skipped record, as a VPC `SKIPDATA` is. Times are the machine's
 * local time (`#Time Format: Local`), whose zone the log does not give: read as UTC.
 */
import type { FlowRecord, LineParser, RecordSink } from '../types';
import { latin1, parseTimestampText, parseUint } from './bytes';
import type { FormatDefinition } from './index';
import { newRecord, resetRecord } from './record';

/** The fields read, by their `#Fields` names. */
const NAMES = ['date', 'time', 'action', 'protocol', 'src-ip', 'dst-ip', 'src-port', 'dst-port', 'info', 'path', 'pid'] as const;
type Name = (typeof NAMES)[number];

/** The skip reason of an `INFO-EVENTS-LOST` line. */
export const EVENTS_LOST_REASON = 'INFO-EVENTS-LOST: the firewall lost events (traffic went unrecorded)';

/** Parser for Windows Firewall logs (pfirewall.log). */
export class WindowsFirewallParser implements LineParser {
  readonly format = 'windows-firewall' as const;
  private cols: Record<Name, number> | null = null;
  private fieldCount = 0;
  private readonly rec: FlowRecord = newRecord();

  line(buf: Buffer, start: number, end: number, lineNo: number, sink: RecordSink): void {
    const text = latin1(buf, start, end).trim();
    if (text === '') return;
    if (text.startsWith('#')) {
      if (text.startsWith('#Fields:')) this.fields(text.slice('#Fields:'.length).trim().split(/\s+/));
      return;
    }
    const cols = this.cols;
    if (cols === null) {
      sink.skip(lineNo, 'record before the #Fields line');
      return;
    }
    const t = text.split(/ +/);
    const value = (name: Name): string | null => {
      const c = cols[name];
      const v = c >= 0 && c < t.length ? t[c]! : '-';
      return v === '-' ? null : v;
    };
    const action = value('action');
    if (action === 'INFO-EVENTS-LOST') {
      sink.skip(lineNo, EVENTS_LOST_REASON, `${t.length === this.fieldCount ? (value('info') ?? 'some') : 'some'} events`);
      return;
    }
    if (t.length !== this.fieldCount) {
      sink.skip(lineNo, 'record field count differs from the #Fields line', `${t.length} fields, #Fields names ${this.fieldCount}`);
      return;
    }
    if (action !== 'ALLOW' && action !== 'DROP') {
      sink.skip(lineNo, 'action is neither ALLOW nor DROP', action ?? '-');
      return;
    }
    const r = this.rec;
    resetRecord(r, lineNo);
    r.origIp = value('src-ip') ?? '';
    r.respIp = value('dst-ip') ?? '';
    r.origPort = portOf(value('src-port'));
    r.respPort = portOf(value('dst-port'));
    r.proto = (value('protocol') ?? '').toLowerCase();
    r.rejected = action === 'DROP';
    const path = value('path');
    r.origLocal = path === 'SEND';
    r.respLocal = path === 'RECEIVE';
    const date = value('date');
    const time = value('time');
    const at = date !== null && time !== null ? parseTimestampText(`${date}T${time}Z`) : NaN;
    r.firstSeenMs = at;
    r.lastSeenMs = at;
    const pid = value('pid');
    r.app = pid !== null && /^\d+$/.test(pid) ? `pid ${pid}` : null;
    sink.flow(r);
  }

  private fields(names: string[]): void {
    const cols = {} as Record<Name, number>;
    for (const name of NAMES) cols[name] = names.indexOf(name);
    this.cols = cols;
    this.fieldCount = names.length;
  }

  finish(): void {}
}

function portOf(v: string | null): number {
  if (v === null) return -1;
  const n = parseUint(Buffer.from(v, 'latin1'), 0, v.length);
  return n <= 65535 ? n : -1;
}

/** Registry entry: certain when the header names the Windows Firewall or its fields. */
export const windowsFirewallFormat: FormatDefinition = {
  name: 'windows-firewall',
  description: 'Windows Defender Firewall log (pfirewall.log)',
  detect: (lines) =>
    lines.some((l) => l.startsWith('#Software: Microsoft Windows Firewall') || l.startsWith('#Fields: date time action protocol src-ip dst-ip')) ? 1 : 0,
  create: () => new WindowsFirewallParser(),
};
