/** Which Zeek logs, by their path (`#path` in TSV, `_path` in JSON), are conn.logs: shared by the TSV and JSON readers. */

/**
 * The long-connections package (corelight/zeek-long-connections) logs connections still open to
 * `conn_long`, again and again, each record with the totals so far: adding them up would count a
 * connection several times, and its final record is in conn.log anyway.
 */
export const CONN_LONG = 'conn_long';
export const CONN_LONG_WHAT = '(a snapshot of a connection still open, with its totals so far: its final record is in conn.log), not a connection';

/**
 * Whether a Zeek log path (`#path`, `_path`) is a conn.log's: `conn`, or a filtered conn log such
 * as `conn_red`; not `conn_long` (see CONN_LONG).
 */
export function isConnLogPath(path: string): boolean {
  return path.startsWith('conn') && !path.startsWith(CONN_LONG);
}

/** Why a Zeek log whose path is `path` is not read as a conn.log (for the TSV header). */
export function notConnLogReason(path: string): string {
  return path.startsWith(CONN_LONG)
    ? `this is a Zeek ${path}.log (snapshots of connections still open, with their totals so far: each connection's final record is in conn.log), not a conn.log`
    : `this is a Zeek ${path}.log, not a conn.log`;
}

/**
 * Zeek's conn_state values that say the responder sent no data: `S0` (an attempt, no reply),
 * `REJ` (refused: a reset), `RSTOS0` and `SH` (the originator gave up before any SYN-ACK). Zeek
 * logs `duration` and both byte counts only for connections that lasted (duration > 0), so a lone
 * SYN has its byte counts unset; its state still says the responder sent nothing: a scanner's probe
 * of a monitored server is a refused attempt, not a connection of unknown size (see
 * Aggregator.flow).
 */
export const NO_REPLY_STATES: ReadonlySet<string> = new Set(['S0', 'REJ', 'RSTOS0', 'SH']);
