import { runCli } from '../helpers/cli';

describe('residency explain', () => {
  it('shows location per database, operator and the operator-country warning for a US server run from China', () => {
    // 47.88.0.0/16: Alibaba (US) Technology, AS45102, located in the US, AS registered in CN.
    const r = runCli(['explain', '47.88.1.1', '-j', 'us', '--deny', 'foreign-adversaries']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/location: +US \(geo-whois-asn-country\.mmdb\)/);
    expect(r.stdout).toMatch(/location: +US \(dbip-country\.mmdb\)/);
    expect(r.stdout).toMatch(/operator: +AS45102 Alibaba/);
    expect(r.stdout).toMatch(/operator country: CN/);
    expect(r.stdout).toMatch(/warning: +located in US, operated by AS45102 .* registered in CN; CN is denied by foreign-adversaries/);
  });

  it('exits 1 for a violation and prints JSON facts with --json', () => {
    const r = runCli(['explain', '183.3.226.35', '192.168.1.1', '--deny', 'foreign-adversaries', '--json']);
    expect(r.status).toBe(1);
    const [cn, lan] = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(cn).toMatchObject({ ip: '183.3.226.35', status: 'violation', asn: 4134, operatorCountry: 'CN' });
    expect(lan).toMatchObject({ ip: '192.168.1.1', addressClass: 'private', status: 'non-public' });
  });

  it('refuses what is not an address, in one line', () => {
    const r = runCli(['explain', '300.8.8.8']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe("residency: explain: '300.8.8.8' is not an IP address");
  });
});
