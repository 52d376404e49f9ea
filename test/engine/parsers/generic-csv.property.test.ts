import fc from 'fast-check';
import { GenericCsvParser } from '../../../lambda/engine/parsers/generic-csv';
import { arbitraryLine, csvCallsPerLine, joinLines, parseAll } from './harness';

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

  it('ends every record in exactly one sink call on its first line; blank, comment and trailer lines in none', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...HEADERS),
        fc.array(line, { maxLength: 25 }),
        (header, lines) => {
          const result = parseAll(
            new GenericCsvParser(),
            joinLines([Buffer.from(header), ...lines]),
          );
          expect(lines.map((_, i) => result.callsPerLine.get(i + 2) ?? 0)).toEqual(csvCallsPerLine(header, lines));
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
