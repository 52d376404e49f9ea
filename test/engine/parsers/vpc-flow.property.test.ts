import fc from 'fast-check';
import { InputError } from '../../../lambda/engine/errors';
import {
  vpcHeaderFields,
  VPC_DEFAULT_FIELDS,
  VpcFlowParser,
} from '../../../lambda/engine/parsers/vpc-flow';
import { arbitraryLine, joinLines, parseAll } from './harness';

const VOCABULARY = [
  '2',
  '5',
  '-',
  '10.0.0.1',
  '203.0.113.5',
  '2001:db8::1',
  '443',
  '6',
  '17',
  '4249',
  '1418530010',
  'ACCEPT',
  'REJECT',
  'OK',
  'NODATA',
  'SKIPDATA',
  'eni-1235b8ca123456789',
  'srcaddr',
  'dstaddr',
  'pkt-dstaddr',
  'version',
  'bytes',
  'interface-id',
  'log-status',
  'ingress',
  '\t',
  '"',
];
const line = arbitraryLine(VOCABULARY, [' ', ' ', '  ', '']);
const V2_HEADER = Buffer.from(VPC_DEFAULT_FIELDS.join(' '));

/** What the parser sees of a line: CR dropped as the line splitter does. */
const text = (b: Buffer): string => b.toString('latin1').replace(/\r$/, '');
const isBlank = (b: Buffer): boolean => /^ *$/.test(text(b).replace(/^\xef\xbb\xbf/, ''));

describe('VPC flow parser properties', () => {
  it('never throws on arbitrary lines, except InputError for a header line without both addresses', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 25 }), fc.boolean(), (lines, withHeader) => {
        const all = withHeader ? [V2_HEADER, ...lines] : lines;
        try {
          parseAll(new VpcFlowParser(), joinLines(all));
        } catch (err) {
          // The only whole-input failure is a header naming a source but no destination (or the reverse).
          expect(err).toBeInstanceOf(InputError);
          expect(all.some((l) => vpcHeaderFields(text(l)) !== null)).toBe(true);
        }
      }),
      { numRuns: 4000 },
    );
  });

  it('ends every data line in exactly one sink call; only blank and header lines make none', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 25 }), (lines) => {
        const all = [V2_HEADER, ...lines.filter((l) => vpcHeaderFields(text(l)) === null)];
        const result = parseAll(new VpcFlowParser(), joinLines(all));
        all.forEach((l, i) => {
          const calls = result.callsPerLine.get(i + 1) ?? 0;
          const silent = isBlank(l) || i === 0;
          expect(calls).toBe(silent ? 0 : 1);
        });
        expect(result.flows.length + result.skips.length + result.noData.length).toBe(
          all.slice(1).filter((l) => !isBlank(l)).length,
        );
      }),
      { numRuns: 4000 },
    );
  });

  it('reads any well-formed default record', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    const ip = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
    fc.assert(
      fc.property(
        ip,
        ip,
        fc.nat(65535),
        fc.nat(65535),
        fc.nat(4e9),
        fc.boolean(),
        (src, dst, sp, bytes, start, reject) => {
          const record = `2 123456789010 eni-0a1b2c3d ${src} ${dst} ${sp} 443 6 10 ${bytes} ${start} ${start + 60} ${reject ? 'REJECT' : 'ACCEPT'} OK`;
          const [r] = parseAll(new VpcFlowParser(), record).flows;
          expect(r).toMatchObject({
            origIp: src,
            respIp: dst,
            origPort: sp,
            respPort: 443,
            origBytes: bytes,
            respBytes: 0,
            rejected: reject,
          });
          expect(r!.firstSeenMs).toBe(start * 1000);
        },
      ),
    );
  });
});
