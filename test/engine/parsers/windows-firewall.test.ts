import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectFormat } from '../../../lambda/engine/parsers';
import { EVENTS_LOST_REASON, WindowsFirewallParser } from '../../../lambda/engine/parsers/windows-firewall';
import { checkBytes, destination, policyOf } from '../../helpers/engine';
import { endpoints, parseAll } from './harness';

const log = readFileSync(join(__dirname, '../../fixtures/windows-firewall/pfirewall-synthetic.log'), 'latin1');
const parse = (text: string) => parseAll(new WindowsFirewallParser(), text);
const HEADER = '#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path pid';

describe('Windows Firewall log (pfirewall.log)', () => {
  it('is detected by its header lines, not by a generic reader', () => {
    expect(detectFormat(log.split(/\r?\n/).filter((l) => l !== ''))?.name).toBe('windows-firewall');
    expect(detectFormat([HEADER, '2024-03-01 10:00:01 ALLOW TCP 192.168.1.20 13.107.42.14 51514 443 0 - 0 0 0 - - - SEND 4410'])?.name).toBe('windows-firewall');
  });

  it('reads ALLOW as connections and DROP as refused attempts, with ports, protocol, time and the process', () => {
    // Act
    const result = parse(log);

    // Assess
    expect(endpoints(result.flows)).toEqual([
      '192.168.1.20 -> 13.107.42.14',
      '192.168.1.20 -> 8.8.8.8',
      '192.168.1.20 -> 1.2.4.8',
      '192.168.1.20 -> 77.88.55.60',
      '45.155.205.1 -> 192.168.1.20',
      '192.168.1.20 -> 192.168.1.1',
    ]);
    expect(result.flows[0]).toMatchObject({ line: 6, proto: 'tcp', origPort: 51514, respPort: 443, origBytes: -1, respBytes: -1, rejected: false, app: 'pid 4410', origLocal: true, respLocal: false });
    expect(result.flows[0]!.firstSeenMs).toBe(Date.UTC(2024, 2, 1, 10, 0, 1));
    expect(result.flows.map((r) => r.rejected)).toEqual([false, false, false, true, true, false]);
    expect(result.flows[4]).toMatchObject({ origLocal: false, respLocal: true, app: 'pid 0' });
    expect(result.flows[5]).toMatchObject({ proto: 'icmp', origPort: -1, respPort: -1 });
    expect(result.skips).toEqual([{ line: 12, reason: EVENTS_LOST_REASON, detail: '12 events' }]);
  });

  it('judges the destinations: a refused attempt is blocked, an allowed one to CN a violation of unknown size', async () => {
    // Act
    const v = await checkBytes(log, { policy: policyOf('us') });

    // Assess
    expect(v.input.format).toBe('windows-firewall');
    expect(destination(v, '1.2.4.8')).toMatchObject({ status: 'violation', connections: 1, connectionsWithUnknownBytes: 1, apps: ['pid 9120'] });
    expect(destination(v, '77.88.55.60')).toMatchObject({ status: 'blocked', blockedAttempts: 1 });
    expect(destination(v, '45.155.205.1')).toMatchObject({ status: 'blocked', blockedAttempts: 1 });
    expect(v.totals).toMatchObject({ records: 7, connections: 6, skipped: 1 });
  });

  it("takes the machine's own side from path, so a machine with a public address is not its own destination", async () => {
    const text = [
      HEADER,
      '2024-03-01 10:00:01 ALLOW TCP 203.0.113.7 13.107.42.14 51514 443 0 - 0 0 0 - - - SEND 4410',
      '2024-03-01 10:00:02 ALLOW TCP 1.2.4.8 203.0.113.7 40000 443 0 - 0 0 0 - - - RECEIVE 4',
    ].join('\n');

    // Act
    const v = await checkBytes(text, { policy: policyOf('us') });

    // Assess
    expect(v.destinations.map((d) => d.ip).sort()).toEqual(['1.2.4.8', '13.107.42.14']);
  });

  it('reads a log of older Windows without pid, and skips lines the #Fields line does not fit, with reasons', () => {
    const old = HEADER.replace(' pid', '');
    const text = [
      '2024-03-01 10:00:00 ALLOW TCP 192.168.1.20 8.8.8.8 1 2 0 - 0 0 0 - - - SEND',
      old,
      '2024-03-01 10:00:01 ALLOW TCP 192.168.1.20 13.107.42.14 51514 443 0 - 0 0 0 - - - SEND',
      '2024-03-01 10:00:02 ALLOW TCP 192.168.1.20 13.107.42.14 51514 443',
      '2024-03-01 10:00:03 AUDIT TCP 192.168.1.20 13.107.42.14 51514 443 0 - 0 0 0 - - - SEND',
    ].join('\n');

    // Act
    const result = parse(text);

    // Assess
    expect(result.flows).toHaveLength(1);
    expect(result.flows[0]).toMatchObject({ respIp: '13.107.42.14', app: null });
    expect(result.skips).toEqual([
      { line: 1, reason: 'record before the #Fields line' },
      { line: 4, reason: 'record field count differs from the #Fields line', detail: '8 fields, #Fields names 17' },
      { line: 5, reason: 'action is neither ALLOW nor DROP', detail: 'AUDIT' },
    ]);
  });

  it('never throws on mutated lines, and counts every data line (property)', async () => {
    const lines = log.split(/\r?\n/);
    const head = lines.filter((l) => l.startsWith('#'));
    const data = lines.filter((l) => l !== '' && !l.startsWith('#'));
    const mutated = fc
      .tuple(fc.constantFrom(...data), fc.nat(120), fc.string({ maxLength: 10 }), fc.nat(10))
      .map(([line, at, insert, cut]) => line.slice(0, at % (line.length + 1)) + insert + line.slice((at % (line.length + 1)) + cut));
    await fc.assert(
      fc.asyncProperty(fc.array(mutated, { minLength: 1, maxLength: 20 }), async (rows) => {
        const v = await checkBytes(`${head.join('\n')}\n${rows.join('\n')}\n`, { policy: policyOf('us') });
        const counted = rows.flatMap((l) => l.split(/\r?\n|\r/)).filter((l) => l.trim() !== '' && !l.trim().startsWith('#')).length;
        if (v.error === undefined) {
          expect(v.totals.records).toBe(counted);
          expect(v.totals.records).toBe(v.totals.connections + v.totals.skipped + v.totals.noData + v.totals.unattributed);
        } else {
          expect(v.compliant).toBe(false);
        }
      }),
      { numRuns: 150 },
    );
  });
});
