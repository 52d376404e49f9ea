import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readZeekDnsNames } from '../../../lambda/engine/names/zeek-dns';
import { checkBytes, chunked, policyOf } from '../../helpers/engine';

const DNS_TSV = readFileSync(join(__dirname, '..', '..', '..', 'examples', 'drone-app.dns.log'));

describe('readZeekDnsNames', () => {
  it('names each address answer of a TSV dns.log by its query, skipping CNAME answers', async () => {
    const { index, stats } = await readZeekDnsNames(chunked(DNS_TSV, 13));
    expect(stats).toEqual({ records: 6, answers: 6, skipped: 0 });
    expect(index.get('47.88.1.1')).toEqual(['config.dronevendor.example']);
    expect(index.get('2402:4e00::1')).toEqual(['android.bugly.example']);
    expect(index.has('config-lb.dronevendor.example')).toBe(false);
  });

  it('reads the JSON-lines form, canonicalising addresses and ignoring junk lines', async () => {
    const json = [
      '{"ts":1,"query":"Bugly.Example.","answers":["2402:4E00:0000::0001","bugly-cname.example"]}',
      'not json',
      '{"ts":2,"query":"x.example"}',
    ].join('\n');
    const { index, stats } = await readZeekDnsNames(chunked(Buffer.from(json)));
    expect(index.get('2402:4e00::1')).toEqual(['bugly.example']);
    expect(stats).toEqual({ records: 3, answers: 1, skipped: 2 });
  });

  it('gives names to the destinations of a check', async () => {
    const { index } = await readZeekDnsNames(chunked(DNS_TSV));
    const conn = readFileSync(join(__dirname, '..', '..', '..', 'examples', 'drone-app.conn.log'));
    const v = await checkBytes(conn, { policy: policyOf('us', 'foreign-adversaries'), names: index });
    expect(v.violations.find((x) => x.ip === '183.3.226.35')?.hostnames).toEqual(['android.bugly.example']);
  });
});
