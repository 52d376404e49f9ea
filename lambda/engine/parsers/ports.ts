/**
 * Which end of a connection is the server, when the log does not say who opened it: by the ports,
 * in the spirit of Zeek's `likely_server_ports`.
 */

/**
 * Ports servers listen on, as met in phone and desktop captures: the well-known services, then
 * proxies, databases, MQTT, push, STUN/TURN, SIP, XMPP and alternative HTTP(S). A port not listed
 * is taken for a client's.
 */
const SERVICE_PORTS: ReadonlySet<number> = new Set([
  20, 21, 22, 23, 25, 53, 67, 69, 80, 88, 110, 119, 123, 135, 137, 138, 139, 143, 161, 162, 179, 389, 443, 445,
  465, 500, 514, 554, 587, 631, 636, 853, 873, 989, 990, 993, 995,
  1080, 1194, 1433, 1521, 1883, 2049, 3128, 3306, 3389, 3478, 3479, 4500, 5060, 5061, 5222, 5223, 5228, 5349, 5353,
  5432, 5671, 5672, 5900, 6379, 6443, 8000, 8008, 8080, 8081, 8443, 8883, 8888, 9092, 9200, 9443, 19302, 27017,
]);

/**
 * Where clients' ports begin: Linux and Android pick them from 32768-60999, Windows, macOS and
 * iOS from 49152-65535 (IANA's dynamic range).
 */
const EPHEMERAL_FROM = 32768;

/** Whether traffic from `sport` to `dport` goes from a service port to a port that is not one. */
export function fromServerPort(sport: number, dport: number): boolean {
  return SERVICE_PORTS.has(sport) && !SERVICE_PORTS.has(dport);
}

/**
 * {@link fromServerPort}, or, when neither port is a service port, from a port below the
 * ephemeral range to one in it: for a TCP connection met after its SYN, whose first packet seen
 * may be either side's (a server on an unlisted port answering a phone). Not for UDP, whose first
 * datagram is nearly always the client's, whatever its port (RTP from 16384, say).
 */
export function fromServerPortOrRange(sport: number, dport: number): boolean {
  if (SERVICE_PORTS.has(sport) || SERVICE_PORTS.has(dport)) return fromServerPort(sport, dport);
  return sport < EPHEMERAL_FROM && dport >= EPHEMERAL_FROM;
}
