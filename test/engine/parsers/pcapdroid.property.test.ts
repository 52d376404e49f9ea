import fc from 'fast-check';
import { InputError } from '../../../lambda/engine/errors';
import { PcapdroidCsvParser } from '../../../lambda/engine/parsers/pcapdroid';
import { arbitraryLine, joinLines, parseAll } from './harness';

const HEADER = Buffer.from(
  'IPProto,SrcIP,SrcPort,DstIp,DstPort,UID,App,PackageName,Proto,Status,Info,BytesSent,BytesRcvd,PktsSent,PktsRcvd,FirstSeen,LastSeen',
);
const VOCABULARY = [
  '6',
  '17',
  '10.215.173.1',
  '10.215.173.2',
  '1.2.4.8',
  'fd00:2:fd00:1:fd00:1:fd00:1',
  '443',
  '53',
  '10123',
  'Chrome',
  'com.android.chrome',
  'TLS',
  'DNS',
  'Closed',
  'Unreachable',
  'www.google.com',
  '1718000000123',
  '"',
  '""',
  'IPProto',
  '',
];
const line = arbitraryLine(VOCABULARY, [',', ',', ',', ', ', '']);
const text = (b: Buffer): string =>
  b
    .toString('latin1')
    .replace(/\r$/, '')
    .replace(/^\xef\xbb\xbf/, '');
// The parser's header: IPProto, quoted or not, then a delimiter (`,`, or `;` or a tab as a re-save
// writes), after a data frame's unnamed index column (empty or `""`) with the same delimiter.
const isHeader = (b: Buffer): boolean => {
  const m = /^(?:(?:"")?([,;\t]))?(?:ipproto|"ipproto")([,;\t])/i.exec(text(b));
  return m !== null && (m[1] === undefined || m[1] === m[2]);
};

describe('PCAPdroid CSV parser properties', () => {
  it('never throws on arbitrary lines, except InputError for an IPProto header without SrcIP/DstIp', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 25 }), (lines) => {
        try {
          parseAll(new PcapdroidCsvParser(), joinLines([HEADER, ...lines]));
        } catch (err) {
          expect(err).toBeInstanceOf(InputError);
          expect(lines.some(isHeader)).toBe(true);
        }
      }),
      { numRuns: 4000 },
    );
  });

  it('ends every data line in exactly one sink call', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 25 }), (lines) => {
        const data = lines.filter((l) => !isHeader(l));
        const result = parseAll(new PcapdroidCsvParser(), joinLines([HEADER, ...data]));
        data.forEach((l, i) => {
          expect(result.callsPerLine.get(i + 2) ?? 0).toBe(text(l) === '' ? 0 : 1);
        });
      }),
      { numRuns: 4000 },
    );
  });
});
