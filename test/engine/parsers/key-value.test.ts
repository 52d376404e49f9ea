/**
 * key=value traffic logs (FortiGate syslog and log downloads): each line's keys read as a generic
 * CSV header, the same columns, byte directions, refusals and times as the log exported as CSV.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { detectFormat } from '../../../lambda/engine/parsers';
import { KeyValueParser, keyValuePairs } from '../../../lambda/engine/parsers/key-value';
import { checkBytes, destination, policyOf } from '../../helpers/engine';
import { parseAll, RecordingSink } from './harness';

const fixture = (name: string): string => readFileSync(join(__dirname, '../../fixtures/kv', name), 'utf8');

/** A FortiGate forward traffic log line (syslog priority first). */
const traffic = (pairs: string): string =>
  `<189>date=2024-03-01 time=10:00:00 devname="FGT60F" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" ${pairs}`;

describe('FortiGate traffic logs as key=value pairs (syslog)', () => {
  it('reads forward traffic: deny is refused, close and client-rst are connections; sentbyte is what the source sent', async () => {
    // Act
    const v = await checkBytes(fixture('fortigate-traffic-syslog-synthetic.log'), { policy: policyOf('us') });

    // Assess: the admin login between them is a record of another kind.
    expect(v.input.format).toBe('key-value');
    expect(v.totals).toMatchObject({ records: 4, connections: 3, skipped: 1, bytesSent: 4200 + 5400, bytesReceived: 1200 + 4200 });
    expect(v.errors).toEqual([{ line: 3, reason: 'FortiGate event log, not traffic' }]);
    expect(destination(v, '8.8.8.8')).toMatchObject({
      status: 'allowed', connections: 1, bytesSent: 4200, bytesReceived: 1200, ports: [443], protocols: ['tcp'], firstSeen: '2024-03-01T10:00:00.123Z', evidenceLines: [1],
    });
    expect(destination(v, '1.2.4.8')).toMatchObject({ status: 'blocked', blockedAttempts: 1, bytesSent: 0 });
    expect(destination(v, '47.246.1.1')).toMatchObject({ connections: 1, bytesSent: 5400, bytesReceived: 4200, hostnames: ['api.example.cn'] });
    // The source NAT address (transip) is no destination.
    expect(v.destinations.map((d) => d.ip)).not.toContain('203.0.113.5');
  });

  it('takes date and time (with tz when given) without eventtime, past a syslog header', async () => {
    const text = [
      traffic('tz="+0100" srcip=192.168.1.20 srcport=51000 dstip=8.8.8.8 dstport=53 proto=17 action="accept" sentbyte=100 rcvdbyte=200'),
      `Mar  1 10:00:00 fw01 ${traffic('srcip=192.168.1.20 dstip=9.9.9.9 dstport=53 proto=17 sentbyte=5 rcvdbyte=6').slice(5)}`,
    ].join('\n');
    const v = await checkBytes(`${text}\n`, { policy: policyOf('us') });
    expect(destination(v, '8.8.8.8')).toMatchObject({ firstSeen: '2024-03-01T09:00:00.000Z', protocols: ['udp'], bytesSent: 100 });
    expect(destination(v, '9.9.9.9')).toMatchObject({ firstSeen: '2024-03-01T10:00:00.000Z', bytesSent: 5 });
  });

  it('reads where destination NAT (tranip) sent an inbound connection: the foreign client is the remote party', async () => {
    const text = traffic('srcip=185.220.101.5 srcport=40111 dstip=52.1.2.3 dstport=443 proto=6 action="close" trandisp="dnat" tranip=10.1.1.50 tranport=443 sentbyte=800 rcvdbyte=250000');
    const v = await checkBytes(`${text}\n`, { policy: policyOf('us') });
    expect(destination(v, '185.220.101.5')).toMatchObject({ bytesSent: 250000, bytesReceived: 800 });
    expect(v.destinations.map((d) => d.ip)).toEqual(['185.220.101.5']);
  });

  it('reads quoted values with spaces, commas and escaped quotes, and names lines it cannot read', () => {
    expect(keyValuePairs('a=1 b="x, \\"y\\" z" c= d=4')).toEqual({ names: ['a', 'b', 'c', 'd'], values: ['1', 'x, "y" z', '', '4'] });
    // Any white space separates pairs; an unclosed quote is an empty value, and reading goes on.
    expect(keyValuePairs('a=1\rb=2\vc="x d=4 e=5')).toEqual({ names: ['a', 'b', 'c', 'd', 'e'], values: ['1', '2', '', '4', '5'] });
    // FortiGate's syslog lines put the first pair right after the priority.
    expect(keyValuePairs('<189>date=2024-03-01 time=10:00:00 a=1 b=2')?.names).toEqual(['date', 'time', 'a', 'b']);
    const sink = new RecordingSink();
    const parser = new KeyValueParser();
    for (const [i, line] of ['just words', traffic('srcip=10.0.0.1 dstport=443 sentbyte=1 rcvdbyte=2'), traffic('srcip=10.0.0.1 dstip=8.8.8.8 dstport=443 proto=6 sentbyte=1 rcvdbyte=2')].entries()) {
      const b = Buffer.from(line);
      parser.line(b, 0, b.length, i + 1, sink);
    }
    expect(sink.calls.map((c) => (c.kind === 'skip' ? `${c.line} ${c.reason}` : `${c.kind}`))).toEqual([
      '1 line without key=value pairs',
      '2 record names no destination address (no key such as dstip, dst or dst_ip)',
      'flow',
    ]);
  });

  it('is detected from a traffic line among the first, and not from CEF or other text', () => {
    expect(detectFormat(fixture('fortigate-traffic-syslog-synthetic.log').split('\n'))?.name).toBe('key-value');
    // CEF has a reader of its own, which reads in and out by their CEF meanings.
    expect(detectFormat(['CEF:0|Fortinet|Fortigate|7.0|13|traffic|5|src=10.0.0.1 dst=8.8.8.8 spt=1 dpt=443 in=10 out=20'])?.name).toBe('cef');
    expect(detectFormat(['a=1,b=2,c=3'])).toBeNull();
    expect(detectFormat(['dst_ip,bytes', '8.8.8.8,5'])?.name).toBe('generic-csv');
  });

  it('ends every line in at most one sink call, and never throws, whatever the text', () => {
    const key = fc.constantFrom('srcip', 'dstip', 'dstport', 'proto', 'sentbyte', 'rcvdbyte', 'action', 'type', 'logid', 'eventtime', 'date', 'time', 'x');
    // Values and separators with quotes, escapes, commas and every kind of white space.
    const odd = fc.constantFrom('"', '\\', ',', '\r', '\n', '\t', '\v', '\f', ' ', '#', '=', '<189>', '\u00a0', 'é');
    const text = fc.array(fc.oneof(odd, fc.string({ maxLength: 4 })), { maxLength: 6 }).map((xs) => xs.join(''));
    const value = fc.oneof(fc.constantFrom('8.8.8.8', '10.0.0.1', '6', '"traffic"', '"close"', '-', '', '1709287200123456789', '"a b"', '"x\\"y"'), text);
    const sep = fc.constantFrom(' ', '  ', '\t', '\r', ' \v ');
    const line = fc.oneof(
      fc.tuple(fc.array(fc.tuple(key, value).map(([k, v]) => `${k}=${v}`), { maxLength: 12 }), sep).map(([p, s]) => p.join(s)),
      text,
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), (lines) => {
        // (A line break inside a generated line makes two lines: each still ends in at most one call.)
        const { callsPerLine } = parseAll(new KeyValueParser(), lines.join('\n'));
        for (const calls of callsPerLine.values()) expect(calls).toBeLessThanOrEqual(1);
      }),
      { numRuns: 300 },
    );
  });
});
