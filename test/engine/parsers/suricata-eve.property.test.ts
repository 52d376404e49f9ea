import fc from 'fast-check';
import { SuricataEveParser } from '../../../lambda/engine/parsers/suricata-eve';
import { arbitraryLine, joinLines, parseAll } from './harness';

const VOCABULARY = [
  '{',
  '}',
  '"event_type":',
  '"flow"',
  '"netflow"',
  '"alert"',
  '"dns"',
  '"tls"',
  '"src_ip":',
  '"dest_ip":',
  '"10.0.0.1"',
  '"2001:0db8:0000:0000:0000:0000:0000:0001"',
  '"flow":{',
  '"netflow":{',
  '"bytes":',
  '"bytes_toserver":',
  '"action":"blocked"',
  '"event":{',
  '"firewall_name":"fw"',
  '12',
  '-1',
  'null',
  '"',
];
const line = arbitraryLine(VOCABULARY, [',', ':', '', ' ']);

/** Events as objects: near-valid records with arbitrary field values. */
const value = fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.double(), fc.constant(null), fc.constantFrom('10.0.0.1', '203.0.113.5', '2001:0db8:0000:0000:0000:0000:0000:0001', 'blocked', 'drop'));
const event = fc.record(
  {
    event_type: fc.oneof(fc.constantFrom('flow', 'netflow', 'alert', 'dns', 'tls', 'http', 'stats'), value),
    flow_id: fc.oneof(fc.integer({ min: 0, max: 5 }), value),
    src_ip: value,
    dest_ip: value,
    src_port: value,
    dest_port: value,
    proto: value,
    direction: fc.oneof(fc.constant('to_client'), value),
    flow: fc.oneof(fc.dictionary(fc.constantFrom('bytes_toserver', 'bytes_toclient', 'start', 'end', 'action', 'src_ip', 'dest_ip'), value), value),
    netflow: fc.oneof(fc.dictionary(fc.constantFrom('bytes', 'start', 'end'), value), value),
    alert: fc.oneof(fc.record({ action: value }), value),
    tls: fc.oneof(fc.record({ sni: value }), value),
    dns: fc.oneof(fc.record({ rrname: value, rrtype: fc.constantFrom('A', 'AAAA'), rdata: value, answers: fc.array(fc.record({ rrtype: fc.constantFrom('A', 'AAAA', 'CNAME'), rdata: value }), { maxLength: 3 }) }, { requiredKeys: [] }), value),
  },
  { requiredKeys: [] },
);
const wrapped = fc.oneof(event, event.map((e) => ({ firewall_name: 'fw', availability_zone: 'us-east-1a', event_timestamp: '1700000000', event: e })));

const isRecordEvent = (o: Record<string, unknown>): boolean => {
  const e = (o.event_type === undefined && o.event !== null && typeof o.event === 'object' ? o.event : o) as Record<string, unknown>;
  if (e.event_type === 'flow' || e.event_type === 'netflow') return true;
  if (e.event_type === 'alert') return (e.alert as Record<string, unknown> | null)?.action === 'blocked';
  return typeof e.event_type !== 'string';
};

describe('Suricata EVE parser properties', () => {
  it('never throws on arbitrary lines, and makes at most one sink call per line', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 25 }), (lines) => {
        const result = parseAll(new SuricataEveParser(), joinLines(lines));
        for (const n of result.callsPerLine.values()) expect(n).toBe(1);
      }),
      { numRuns: 3000 },
    );
  });

  it('ends every flow, netflow, blocked alert and malformed event in exactly one sink call, others in none', () => {
    fc.assert(
      fc.property(fc.array(wrapped, { maxLength: 25 }), (events) => {
        const result = parseAll(new SuricataEveParser('aws-network-firewall'), events.map((e) => JSON.stringify(e)).join('\n'));
        events.forEach((e, i) => {
          expect(result.callsPerLine.get(i + 1) ?? 0).toBe(isRecordEvent(e) ? 1 : 0);
        });
      }),
      { numRuns: 3000 },
    );
  });
});
