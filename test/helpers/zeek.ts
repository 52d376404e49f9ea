/** Tiny Zeek logs for tests that need many small, readable logs. */

/**
 * A Zeek conn.log (TSV, with its `#` header lines) from 192.168.0.4 to each address, 100 bytes
 * sent and 200 received on each connection.
 */
export function zeekConnLog(destinations: readonly string[]): string {
  const header = [
    '#separator \\x09',
    '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state',
    '#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring',
  ];
  const lines = destinations.map((ip, i) => `${1_700_000_000 + i}.000000\tC${i}\t192.168.0.4\t${50_000 + i}\t${ip}\t443\ttcp\t-\t1.0\t100\t200\tSF`);
  return `${[...header, ...lines].join('\n')}\n`;
}
