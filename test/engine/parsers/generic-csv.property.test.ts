import fc from 'fast-check';
import { GenericCsvParser } from '../../../lambda/engine/parsers/generic-csv';
import { arbitraryLine, joinLines, parseAll } from './harness';

const HEADERS = [
  'timestamp,src_ip,dst_ip,dst_port,protocol,bytes_out,bytes_in,hostname,app',
  'remote_addr\tbytes',
  '"Destination IP";"Bytes Sent";"Time"',
];
const VOCABULARY = [
  '8.8.8.8',
  '10.0.0.1',
  '[2001:db8::1]:443',
  '1.2.3.4:80',
  '-',
  '443',
  'tcp',
  '17',
  '1234',
  '1.5e3',
  '2024-06-10T08:00:00Z',
  '1718000000',
  'example.com',
  '"',
  '""',
  '"a,b"',
  'Summary',
  '#',
  '',
];
const line = arbitraryLine(VOCABULARY, [',', ';', '\t', ' ', '']);
const text = (b: Buffer): string => b.toString('latin1').replace(/\r$/, '');

describe('generic CSV parser properties', () => {
  it('never throws on arbitrary lines after a valid header', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...HEADERS),
        fc.array(line, { maxLength: 25 }),
        (header, lines) => {
          parseAll(new GenericCsvParser(), joinLines([Buffer.from(header), ...lines]));
        },
      ),
      { numRuns: 4000 },
    );
  });

  it('ends every data line in at most one sink call, and exactly one unless blank, comment or trailer', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...HEADERS),
        fc.array(line, { maxLength: 25 }),
        (header, lines) => {
          const result = parseAll(
            new GenericCsvParser(),
            joinLines([Buffer.from(header), ...lines]),
          );
          let trailer = false;
          lines.forEach((l, i) => {
            const t = text(l).replace(/^\xef\xbb\xbf/, '');
            const calls = result.callsPerLine.get(i + 2) ?? 0;
            if (t === header) trailer = false;
            else if (/^Summary[ \t]*$/.test(t)) trailer = true;
            const silent =
              trailer || t === header || /^[ \t]*(#|$)/.test(t) || /^Summary[ \t]*$/.test(t);
            expect(calls).toBe(silent ? 0 : 1);
          });
        },
      ),
      { numRuns: 4000 },
    );
  });

  it('reads back any destination and byte count it was given', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    fc.assert(
      fc.property(
        fc.tuple(octet, octet, octet, octet),
        fc.nat(2 ** 40),
        fc.boolean(),
        (o, bytes, quoted) => {
          const ip = o.join('.');
          const field = quoted ? `"${ip}"` : ip;
          const [r] = parseAll(
            new GenericCsvParser(),
            `dst_ip,bytes_sent\n${field},${bytes}\n`,
          ).flows;
          expect(r).toMatchObject({ origIp: '0.0.0.0', respIp: ip, origBytes: bytes });
        },
      ),
    );
  });
});
