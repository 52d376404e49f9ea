import { gzipSync } from 'node:zlib';
import { checkBytes, fixture } from '../helpers/engine';

const POP3 = fixture('zeek', 'conn-pop3.tsv.log').toString('latin1');
const HEADER = POP3.split('\n').filter((l) => l.startsWith('#') && !l.startsWith('#close')).join('\n');
const RECORD = POP3.split('\n').find((l) => l !== '' && !l.startsWith('#'))!;

describe('limits on hostile input', () => {
  it('refuses a gzip bomb after reading a bounded amount, never compliant', async () => {
    // A valid header, then 64 MiB of empty lines: gzip makes that ~64 KiB, an expansion of ~1000.
    const bomb = gzipSync(Buffer.concat([Buffer.from(`${HEADER}\n`), Buffer.alloc(64 * 1024 * 1024, 10)]));
    const v = await checkBytes(bomb, {}, 4096);
    expect(v.compliant).toBe(false);
    expect(v.error).toMatch(/gzip data expands more than 1000 times .*gzip bomb/);
    expect(v.input.decodedBytes).toBeLessThan(64 * 1024 * 1024);
  });

  it('honours a lower expansion limit for repetitive logs', async () => {
    const text = `${HEADER}\n${`${RECORD}\n`.repeat(200_000)}`;
    const v = await checkBytes(gzipSync(text), { maxGzipRatio: 20 }, 65536);
    expect(v.error).toMatch(/expands more than 20 times/);
  });

  it('declares a file unreadable once bad records outnumber good ones past the limit', async () => {
    const bad = `${RECORD.replace('212.227.15.188', 'not-an-ip')}\n`.repeat(3000);
    const v = await checkBytes(`${HEADER}\n${RECORD}\n${bad}`, { maxSkippedRecords: 1000 }, 4096);
    expect(v.compliant).toBe(false);
    expect(v.error).toMatch(/^unreadable as zeek-tsv: \d+ of \d+ records could not be read \(first problem: line \d+: destination address is not an IP address: "not-an-ip"\)$/);
  });

  it('declares unreadable a file that fits one chunk, or whose records come out at the end (HAR)', async () => {
    // Checked on the whole input, not only between chunks: one good record and 3,000 bad ones in one chunk.
    const bad = `${RECORD.replace('212.227.15.188', 'not-an-ip')}\n`.repeat(3000);
    const whole = `${HEADER}\n${RECORD}\n${bad}`;
    const v = await checkBytes(whole, { maxSkippedRecords: 1000 }, whole.length);
    expect(v.compliant).toBe(false);
    expect(v.error).toMatch(/^unreadable as zeek-tsv: 3000 of 3001 records could not be read \(first problem: line \d+: destination address is not an IP address: "not-an-ip"\)$/);
    const har = JSON.stringify({ log: { entries: [{ serverIPAddress: '8.8.8.8', request: { url: 'https://dns.google/' } }, ...new Array<null>(2000).fill(null)] } });
    const h = await checkBytes(har, { maxSkippedRecords: 100 }, 4096);
    expect(h.compliant).toBe(false);
    expect(h.error).toMatch(/^unreadable as har: 2000 of 2001 records could not be read \(first problem: line 2: entry is not an object\)$/);
  });

  it('reads to the end a file with a bad stretch among good records, and judges it on the whole', async () => {
    const bad = `${RECORD.replace('212.227.15.188', 'not-an-ip')}\n`.repeat(1500);
    const good = (n: number): string => `${RECORD}\n`.repeat(n);
    const v = await checkBytes(`${HEADER}\n${good(200)}${bad}${good(20_000)}`, { maxSkippedRecords: 1000 }, 4096);
    expect(v.error).toBeUndefined();
    expect(v.totals).toMatchObject({ connections: 20_200, skipped: 1500 });
  });

  it('keeps reading a file where bad records are the minority', async () => {
    const mixed = `${RECORD}\n${RECORD.replace('212.227.15.188', 'x')}\n`.repeat(2000);
    const v = await checkBytes(`${HEADER}\n${mixed}`, { maxSkippedRecords: 100 }, 4096);
    expect(v.error).toBeUndefined();
    expect(v.totals).toMatchObject({ connections: 2000, skipped: 2000 });
  });

  it('stops cleanly on a time budget with a partial, non-compliant verdict', async () => {
    const big = `${HEADER}\n${`${RECORD}\n`.repeat(50_000)}`;
    let calls = 0;
    const v = await checkBytes(big, { shouldStop: () => ++calls > 3 }, 65536);
    expect(v).toMatchObject({ compliant: false, partial: true });
    expect(v.error).toMatch(/^stopped early after \d+ bytes and \d+ records \(time budget\)/);
    expect(v.totals.records).toBeGreaterThan(0);
    expect(v.totals.records).toBeLessThan(50_000);
  });

  it('refuses a log with more distinct destinations than the limit, naming it, never compliant', async () => {
    // Prepare: the same record to 5 different servers.
    const fields = RECORD.split('\t');
    const respAt = HEADER.split('\n').find((l) => l.startsWith('#fields'))!.split('\t').indexOf('id.resp_h') - 1;
    const lines = [1, 2, 3, 4, 5].map((n) => fields.map((f, i) => (i === respAt ? `8.8.4.${n}` : f)).join('\t'));
    const log = `${HEADER}\n${lines.join('\n')}\n`;

    // Act
    const atLimit = await checkBytes(log, { maxDestinations: 5 });
    const over = await checkBytes(log, { maxDestinations: 4 });

    // Assess
    expect(atLimit.error).toBeUndefined();
    expect(atLimit.totals.destinations).toBe(5);
    expect(over.compliant).toBe(false);
    expect(over.error).toMatch(/^more than 4 distinct destinations \(the limit; a larger one needs more memory: --max-destinations/);
    expect(over.totals.destinations).toBe(4);
    // The Zeek fast path (which meets the fifth server first) counts as the JavaScript path does.
    const overSlow = await checkBytes(log, { maxDestinations: 4, fastPath: false });
    expect(over.totals).toEqual(overSlow.totals);
    expect(over.error).toBe(overSlow.error);
  });
});
