/**
 * CEF connection events: the extension's keys read by their CEF meanings (in: source to
 * destination; out: the reverse), each line a row of generic CSV under those columns.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { detectFormat } from '../../../lambda/engine/parsers';
import { CefParser, cefExtensionStart, cefPairs, cefTime } from '../../../lambda/engine/parsers/cef';
import { checkBytes, destination, policyOf } from '../../helpers/engine';
import { parseAll } from './harness';

const fixture = (name: string): string => readFileSync(join(__dirname, '../../fixtures/kv', name), 'utf8');

describe('CEF connection events', () => {
  it('reads src/dst, in as sent by the source and out as sent back, act, times, dhost and destination NAT', async () => {
    // Act
    const v = await checkBytes(fixture('cef-connections-synthetic.log'), { policy: policyOf('us') });

    // Assess
    expect(v.input.format).toBe('cef');
    expect(v.totals).toMatchObject({ records: 4, connections: 3, skipped: 1, malformedValues: 0 });
    expect(v.errors).toEqual([{ line: 3, reason: 'CEF event without a destination address (dst)' }]);
    expect(destination(v, '8.8.8.8')).toMatchObject({
      status: 'allowed', connections: 1, bytesSent: 4200, bytesReceived: 1200, ports: [443], protocols: ['tcp'],
      firstSeen: '2024-03-01T10:00:00.000Z', lastSeen: '2024-03-01T10:00:05.000Z', hostnames: ['dns.google'], apps: [],
    });
    // Denied: refused, its bytes not delivered; its time from rt, a CEF date with a year.
    expect(destination(v, '1.2.4.8')).toMatchObject({ status: 'blocked', blockedAttempts: 1, bytesSent: 0, firstSeen: '2024-03-01T10:00:01.000Z' });
    // Behind destination NAT: the foreign client is the remote party; what the server sent back (out) left.
    expect(destination(v, '185.220.101.5')).toMatchObject({ status: 'violation', bytesSent: 250000, bytesReceived: 800 });
    expect(v.destinations.map((d) => d.ip)).not.toContain('52.1.2.3');
  });

  it('splits the extension at keys, not at spaces, and undoes its escapes', () => {
    const line = 'CEF:0|V\\|endor|P|1|id|name|5|src=10.0.0.1 msg=a b\\=c d dst=8.8.8.8 cs1Label=x y act=block\\\\ ';
    const from = cefExtensionStart(line);
    expect(line.slice(from)).toBe('src=10.0.0.1 msg=a b\\=c d dst=8.8.8.8 cs1Label=x y act=block\\\\ ');
    expect(cefPairs(line.slice(from))).toEqual({
      names: ['src', 'msg', 'dst', 'cs1Label', 'act'],
      values: ['10.0.0.1', 'a b=c d', '8.8.8.8', 'x y', 'block\\'],
    });
    expect(cefExtensionStart('CEF:0|only|four|bars|')).toBe(-1);
    expect(cefExtensionStart('src=1 dst=2')).toBe(-1);
  });

  it('reads CEF dates with a year (UTC zone names), and leaves others to be reported', () => {
    expect(cefTime('Mar 01 2024 10:00:01 GMT')).toBe('2024-03-01T10:00:01Z');
    expect(cefTime('Dec 1 2023 23:59:59.250')).toBe('2023-12-01T23:59:59.250Z');
    expect(cefTime('Mar 01 2024 10:00:01 +0100')).toBe('2024-03-01T10:00:01+0100');
    expect(cefTime('Mar 01 10:00:01')).toBe('Mar 01 10:00:01');
    expect(cefTime('Mar 01 2024 10:00:01 PST')).toBe('Mar 01 2024 10:00:01 PST');
    expect(cefTime('1709287200000')).toBe('1709287200000');
  });

  it('takes bytesIn and the other full key names by their CEF meanings, never by their look', async () => {
    const v = await checkBytes('CEF:0|V|P|1|id|n|1|sourceAddress=10.0.0.1 destinationAddress=8.8.8.8 destinationPort=443 bytesIn=300 bytesOut=7000 app=HTTPS\n', { policy: policyOf('us') });
    expect(destination(v, '8.8.8.8')).toMatchObject({ bytesSent: 300, bytesReceived: 7000, ports: [443], apps: [] });
  });

  it('is detected from a CEF line among the first (a syslog header before it), and reads every line in at most one call', () => {
    expect(detectFormat(fixture('cef-connections-synthetic.log').split('\n'))?.name).toBe('cef');
    const piece = fc.constantFrom('CEF:0|', '|', '\\|', 'src=', 'dst=', '8.8.8.8', '10.0.0.1', ' ', 'in=', 'out=', '5', '\\=', '\\\\', '"', ',', '#', 'act=deny', 'rt=Mar 01 2024 10:00:01 GMT');
    const line = fc.array(piece, { maxLength: 24 }).map((p) => p.join(''));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), (lines) => {
        // (A line break inside a generated line makes two lines: each still ends in at most one call.)
        const { callsPerLine } = parseAll(new CefParser(), lines.join('\n'));
        for (const calls of callsPerLine.values()) expect(calls).toBeLessThanOrEqual(1);
      }),
      { numRuns: 500 },
    );
  });
});
