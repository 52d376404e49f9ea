import fc from 'fast-check';
import { NfdumpCsvParser } from '../../../lambda/engine/parsers/nfdump';
import { arbitraryLine, csvCallsPerLine, joinLines, parseAll } from './harness';

const HEADER = Buffer.from(
  'ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr',
);
const VOCABULARY = ['2008-05-16 15:50:58', '0.000', '192.168.2.16', '2001:db8::1', '[::1]:80', '80', 'TCP', 'UDP', '17', '...AP.SF', '61', '    0.000', '-', '"', 'Summary', 'flows,bytes,packets,avg_bps,avg_pps,avg_bpp', ''];
const line = arbitraryLine(VOCABULARY, [',', ',', ',', '']);
const text = (b: Buffer): string => b.toString('latin1').replace(/\r$/, '');

describe('nfdump CSV parser properties', () => {
  it('never throws on arbitrary lines after the header; at most one sink call per line', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 25 }), (lines) => {
        const result = parseAll(new NfdumpCsvParser(), joinLines([HEADER, ...lines]));
        for (const n of result.callsPerLine.values()) expect(n).toBe(1);
      }),
      { numRuns: 3000 },
    );
  });

  it('ends every record in exactly one sink call on its first line; from a Summary line to a repeated header, none', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 25 }), (lines) => {
        const result = parseAll(new NfdumpCsvParser(), joinLines([HEADER, ...lines]));
        expect(lines.map((_, i) => result.callsPerLine.get(i + 2) ?? 0)).toEqual(csvCallsPerLine(text(HEADER), lines));
      }),
      { numRuns: 3000 },
    );
  });
});
