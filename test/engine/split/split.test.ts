/**
 * The split check's edges: what cannot be split, input errors and limits met in a range, the
 * time budget, and a range judged under another configuration.
 */
import { gzipSync } from 'node:zlib';
import type { CheckOptions } from '../../../lambda/engine/check';
import { checkPart } from '../../../lambda/engine/split/check-part';
import { checkSplit } from '../../../lambda/engine/split/check-split';
import { mergeParts, PartMismatchError } from '../../../lambda/engine/split/merge';
import { planSplit, type SplitPlan } from '../../../lambda/engine/split/plan';
import { verdictJson } from '../../../lambda/engine/verdict/serialize';
import { bundledDatabases, checkBytes, fixture, policyOf } from '../../helpers/engine';
import { bufferSource } from './split-logs';

function optionsOf(extra: Partial<CheckOptions> = {}): CheckOptions {
  return { name: 'test.log', policy: policyOf('us'), databases: bundledDatabases(), toolVersion: '0.0.0-test', now: new Date('2026-01-01T00:00:00Z'), ...extra };
}

/** A Zeek conn.log: one header block, `n` connections to 8.8.8.8 (`extra` lines after line `at`). */
function zeekLog(n: number, extra: string[] = [], at = Math.floor(n / 2)): Buffer {
  const lines = ['#separator \\x09', '#path\tconn', '#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\torig_bytes\tresp_bytes'];
  for (let i = 0; i < n; i++) {
    if (i === at) lines.push(...extra);
    lines.push(`${1_700_000_000 + i}\t10.0.0.5\t${40000 + i}\t8.8.8.8\t443\ttcp\t${i}\t${2 * i}`);
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

const evenCuts = (size: number, n: number): number[] => Array.from({ length: n - 1 }, (_, i) => Math.floor(((i + 1) * size) / n));

describe('planSplit', () => {
  it.each([
    ['gzip', gzipSync(fixture('zeek', 'conn-pop3.tsv.log')), 'gzip data can only be decoded from its start'],
    ['a pcap capture', fixture('pcap', 'zeek-pop3.pcap'), 'pcap records are not lines'],
    ['a HAR file', fixture('har', 'chrome.har'), 'har records are not lines'],
    ['an empty log', Buffer.alloc(0), 'the log is empty'],
  ])('checks %s in one pass', (_what, bytes, reason) => {
    expect(planSplit(bytes, bytes.length, { partBytes: 100 })).toEqual({ whole: true, reason });
  });

  it('starts no range inside the leading header lines, and gives the header to the others', () => {
    // Prepare
    const log = zeekLog(200);
    const headerEnd = log.indexOf('1700000000');

    // Act
    const plan = planSplit(log, log.length, { cuts: [1, 10, headerEnd + 5] }) as SplitPlan;

    // Assess
    expect(plan.headerEnd).toBe(headerEnd);
    expect(plan.parts.map((p) => [p.start, p.end])).toEqual([
      [0, headerEnd],
      [headerEnd, headerEnd],
      [headerEnd, headerEnd + 5],
      [headerEnd + 5, log.length],
    ]);
    expect(plan.context).toEqual(['#separator \\x09', '#path\tconn', '#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\torig_bytes\tresp_bytes']);
  });

  it('cuts ranges of the asked size, at most 1000 of them', () => {
    const log = zeekLog(1000);
    const plan = planSplit(log, 10 * 1024 * 1024 * 1024, { partBytes: 1024 }) as SplitPlan;
    expect(plan.parts).toHaveLength(1000);
    const small = planSplit(log, log.length, { partBytes: 4096 }) as SplitPlan;
    expect(small.parts.length).toBe(Math.ceil((log.length - small.headerEnd) / 4096));
    expect(small.parts.at(-1)!.end).toBe(log.length);
  });
});

describe('checkSplit', () => {
  it('splits flow logs of a custom format given without a header line (RESIDENCY_VPC_FORMAT), as one pass reads them', async () => {
    // Prepare: CloudWatch Logs export records, five fields, no header: no format is detected.
    const fields = ['interface-id', 'srcaddr', 'dstaddr', 'bytes', 'action'];
    const log = Buffer.from(
      Array.from({ length: 600 }, (_, i) => `2023-11-14T22:14:${String(i % 60).padStart(2, '0')}.000Z eni-0a1b 10.0.1.5 ${i % 3 === 0 ? '95.163.0.1' : `54.239.28.${80 + (i % 7)}`} ${100 + i} ${i % 10 === 0 ? 'REJECT' : 'ACCEPT'}`).join('\n') + '\n',
    );
    const options = optionsOf({ parserOptions: { vpcFields: fields } });

    // Act
    const single = await checkBytes(log, options);
    const split = await checkSplit(bufferSource(log, 512), options, { cuts: evenCuts(log.length, 5) });

    // Assess
    expect(single.totals).toMatchObject({ records: 600, skipped: 0 });
    expect(single.input).toMatchObject({ format: 'vpc-flow', formatSource: 'option' });
    expect(split.mode).toBe('split');
    expect(verdictJson(split.verdict)).toBe(verdictJson(single));
    expect((await checkSplit(bufferSource(log, 512), optionsOf(), { cuts: evenCuts(log.length, 5) })).mode).toBe('whole');
  });

  it('stops where a single pass stops: a dns.log header block in the middle', async () => {
    // Prepare
    const log = zeekLog(300, ['#separator \\x09', '#path\tdns', '#fields\tts\tid.orig_h\tid.resp_h']);

    // Act
    const single = await checkBytes(log, optionsOf());
    const split = await checkSplit(bufferSource(log, 512), optionsOf(), { cuts: evenCuts(log.length, 6) });

    // Assess
    expect(single.error).toBe('line 155: this is a Zeek dns.log, not a conn.log (give a dns.log beside the conn.log with --dns)');
    expect(split.verdict.error).toBe(single.error);
    expect(split.verdict.input.sha256).toBeNull();
    expect(split.verdict.totals).toEqual(single.totals);
  });

  it('adds up each app\'s share of a shared destination over the ranges, as a single pass does', async () => {
    // Prepare: two interfaces reach 1.1.1.1 in every range; 33 reach 8.8.8.8 over the log, at most 8 in a range.
    const lines = ['version interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status'];
    for (let i = 0; i < 200; i++) {
      lines.push(`2 eni-${i % 2 === 0 ? 'a' : 'b'} 10.0.0.5 1.1.1.1 ${40000 + i} 443 6 1 ${i % 2 === 0 ? 1000 : 1} 1700000000 1700000060 ACCEPT OK`);
      lines.push(`2 eni-${String(Math.floor(i / 6)).padStart(2, '0')} 10.0.0.5 8.8.8.8 ${40000 + i} 443 6 1 10 1700000000 1700000060 ACCEPT OK`);
    }
    const log = Buffer.from(`${lines.join('\n')}\n`);

    // Act
    const single = await checkBytes(log, optionsOf());
    const split = await checkSplit(bufferSource(log, 512), optionsOf(), { cuts: evenCuts(log.length, 8) });

    // Assess
    const shared = (v: typeof single, ip: string) => v.destinations.find((d) => d.ip === ip)!;
    expect(shared(single, '1.1.1.1').appTraffic).toEqual([
      { app: 'eni-a', connections: 100, blockedAttempts: 0, bytesSent: 100_000, bytesReceived: 0 },
      { app: 'eni-b', connections: 100, blockedAttempts: 0, bytesSent: 100, bytesReceived: 0 },
    ]);
    expect(shared(single, '8.8.8.8').apps).toHaveLength(32);
    expect(shared(single, '8.8.8.8')).not.toHaveProperty('appTraffic');
    expect(split.mode).toBe('split');
    expect(verdictJson({ ...split.verdict, checkedAt: '' })).toBe(verdictJson({ ...single, checkedAt: '' }));
  });

  it('declares a log unreadable when its bad records pass the limit and outnumber the good ones', async () => {
    // Prepare: a first range of junk only, as a wrong file looks.
    const junk = Buffer.from(Array.from({ length: 400 }, (_, i) => `junk ${i}`).join('\n') + '\n');
    const log = Buffer.concat([zeekLog(0), junk, zeekLog(50).subarray(zeekLog(0).length)]);

    // Act
    const split = await checkSplit(bufferSource(log), optionsOf({ maxSkippedRecords: 100 }), { cuts: evenCuts(log.length, 4) });

    // Assess
    expect(split.mode).toBe('split');
    expect(split.verdict.compliant).toBe(false);
    expect(split.verdict.error).toMatch(/^unreadable as zeek-tsv: \d+ of \d+ records could not be read \(first problem: line 4: record has fewer fields/);
  });

  it('gives a partial, never compliant verdict of what was read when a range runs out of time', async () => {
    // Prepare: the third range's check is stopped at its first checkpoint.
    const log = zeekLog(20_000);
    let calls = 0;
    const shouldStop = (): boolean => ++calls > 1e9;
    const cuts = evenCuts(log.length, 4);
    const plan = planSplit(log, log.length, { cuts }) as SplitPlan;
    const options = optionsOf();
    const results = await Promise.all(
      plan.parts.map((p) =>
        checkPart(bufferSource(log, 1024).read(Math.max(0, p.start - 1)), plan, { ...p, context: p.index === 0 ? [] : plan.context }, {
          ...options,
          ...(p.index === 2 ? { shouldStop: () => true } : { shouldStop }),
        }),
      ),
    );

    // Act
    const outcome = mergeParts(plan, results, { sha256: 'f'.repeat(64), bytes: log.length }, options);

    // Assess
    expect(outcome.kind).toBe('verdict');
    const verdict = outcome.kind === 'verdict' ? outcome.verdict : null;
    expect(verdict).toMatchObject({ compliant: false, partial: true, input: { sha256: null } });
    expect(verdict!.error).toMatch(/^stopped early after \d+ bytes and \d+ records \(time budget\): this verdict covers only part of the input$/);
    expect(verdict!.totals.records).toBeGreaterThan(results[0]!.aggregate.records + results[1]!.aggregate.records);
    expect(verdict!.totals.records).toBeLessThan(20_000);
  });

  it('refuses to merge a range judged with another policy', async () => {
    // Prepare
    const log = zeekLog(100);
    const plan = planSplit(log, log.length, { cuts: evenCuts(log.length, 2) }) as SplitPlan;
    const results = await Promise.all(
      plan.parts.map((p, i) =>
        checkPart(bufferSource(log).read(Math.max(0, p.start - 1)), plan, { ...p, context: i === 0 ? [] : plan.context }, optionsOf(i === 1 ? { policy: policyOf('de') } : {})),
      ),
    );

    // Act / Assess
    expect(() => mergeParts(plan, results, { sha256: 'f'.repeat(64), bytes: log.length }, optionsOf())).toThrow(PartMismatchError);
  });

  it('checks a CSV in one pass when a range ends inside a quoted field holding line breaks, and splits it otherwise', async () => {
    // Prepare: record 20's note spans three lines; the others are one line each.
    const lines = ['src_ip,dst_ip,bytes_out,note'];
    for (let i = 0; i < 40; i++) lines.push(i === 20 ? `10.0.0.5,8.8.8.8,${i},"first\n1.1.1.1 is no record here,\nlast"` : `10.0.0.5,${i % 2 ? '8.8.8.8' : '1.1.1.1'},${i},plain`);
    const log = Buffer.from(`${lines.join('\n')}\n`);
    const inside = log.indexOf('1.1.1.1 is no record');
    const after = log.indexOf('last"') + 6;

    // Act
    const single = await checkBytes(log, optionsOf());
    const cutInside = await checkSplit(bufferSource(log), optionsOf(), { cuts: [inside] });
    const cutAfter = await checkSplit(bufferSource(log), optionsOf(), { cuts: [after] });

    // Assess
    expect(single.totals).toMatchObject({ records: 40, skipped: 0, bytesSent: 780 });
    expect(cutInside).toMatchObject({ mode: 'whole', reason: 'range 0 ends inside a quoted field that holds line breaks, which the next range cannot tell from records' });
    expect(cutAfter.mode).toBe('split');
    expect(verdictJson(cutInside.verdict)).toBe(verdictJson(single));
    expect(verdictJson(cutAfter.verdict)).toBe(verdictJson(single));
  });

  it('splits zeek-cut -m -F , output as one pass reads it (the names line carried to every range in its separator)', async () => {
    const log = Buffer.from(fixture('zeek', 'conn-pop3-zeekcut-m.tsv').toString('latin1').replace(/\t/g, ','), 'latin1');
    const single = await checkBytes(log, optionsOf());
    const split = await checkSplit(bufferSource(log, 512), optionsOf(), { cuts: evenCuts(log.length, 4) });
    expect(single.totals.connections).toBeGreaterThan(0);
    expect(split.mode).toBe('split');
    expect(verdictJson(split.verdict)).toBe(verdictJson(single));
  });

  it('checks UTF-16 text in one pass, whose ranges past the first could not be read as it is', async () => {
    const records = Array.from({ length: 300 }, (_, i) => `eni-0a1b2c3d 10.0.1.5 5.255.${i % 250}.5 ${100 + i} ACCEPT`).join('\n');
    const options = optionsOf({ parserOptions: { vpcFields: ['interface-id', 'srcaddr', 'dstaddr', 'bytes', 'action'] } });
    for (const log of [Buffer.from(`\ufeff${records}\n`, 'utf16le'), Buffer.from(`${records}\n`, 'utf16le')]) {
      const single = await checkBytes(log, options);
      const split = await checkSplit(bufferSource(log, 512), options, { cuts: evenCuts(log.length, 4) });
      expect(split).toMatchObject({ mode: 'whole', reason: 'UTF-16 text is read from its start' });
      expect(verdictJson(split.verdict)).toBe(verdictJson(single));
    }
    expect((await checkBytes(Buffer.from(`\ufeff${records}\n`, 'utf16le'), options)).totals).toMatchObject({ records: 300, connections: 300, skipped: 0 });
  });

  it('splits zeek-cut -M output as one pass reads it (the names again before each log, in another order too)', async () => {
    const lines: string[] = [];
    for (let k = 0; k < 6; k++) {
      lines.push(k % 2 === 0 ? 'ts\tid.orig_h\tid.resp_h\torig_bytes' : 'ts\tid.resp_h\tid.orig_h\torig_bytes');
      for (let i = 0; i < 20; i++) {
        const [a, b] = ['192.168.1.10', `${k % 2 === 0 ? 8 : 1}.${k}.${i}.8`];
        lines.push(`1714557600.${i}\t${k % 2 === 0 ? a : b}\t${k % 2 === 0 ? b : a}\t${100 + i}`);
      }
    }
    const log = Buffer.from(`${lines.join('\n')}\n`);
    const single = await checkBytes(log, optionsOf());
    expect(single.totals).toMatchObject({ records: 120, skipped: 0, connections: 120 });
    for (const n of [2, 3, 5, 8]) {
      const split = await checkSplit(bufferSource(log, 512), optionsOf(), { cuts: evenCuts(log.length, n) });
      expect(split.mode).toBe('split');
      expect(verdictJson(split.verdict)).toBe(verdictJson(single));
    }
  });

  it('checks a log naming more than 30 transport protocols in one pass (their listing depends on the whole order)', async () => {
    // Prepare
    const lines = ['src_ip,dst_ip,proto'];
    for (let i = 0; i < 40; i++) lines.push(`10.0.0.5,8.8.8.8,proto${i}`, `10.0.0.5,1.1.1.1,proto${39 - i}`);
    const log = Buffer.from(`${lines.join('\n')}\n`);

    // Act
    const split = await checkSplit(bufferSource(log), optionsOf(), { cuts: evenCuts(log.length, 3) });

    // Assess
    expect(split).toMatchObject({ mode: 'whole', reason: 'the log names more than 30 transport protocols' });
    expect(verdictJson(split.verdict)).toBe(verdictJson(await checkBytes(log, optionsOf())));
  });

  it('gives the single pass\'s verdict when the log calls a public address inside (local_resp) in one range only', async () => {
    // Prepare: a campus server with a public address; only the first range's lines say it is
    // inside (local_resp T: the foreign peer is their remote party), the last range reaches it
    // with the flags unset (it is their remote party, judged).
    const lines = ['#separator \\x09', '#path\tconn', '#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\torig_bytes\tresp_bytes\tlocal_orig\tlocal_resp'];
    for (let i = 0; i < 60; i++) lines.push(`${1_700_000_000 + i}\t1.2.4.8\t${40000 + i}\t128.112.128.15\t22\ttcp\t10\t${100 + i}\tF\tT`);
    for (let i = 0; i < 60; i++) lines.push(`${1_700_001_000 + i}\t10.0.0.5\t${40000 + i}\t128.112.128.15\t443\ttcp\t7\t9\t-\t-`);
    const log = Buffer.from(`${lines.join('\n')}\n`);

    // Act
    const split = await checkSplit(bufferSource(log, 512), optionsOf(), { cuts: evenCuts(log.length, 4) });
    const whole = await checkBytes(log, optionsOf());

    // Assess
    expect(split.mode).toBe('split');
    expect(verdictJson(split.verdict)).toBe(verdictJson(whole));
    expect(whole.destinations.find((d) => d.ip === '1.2.4.8')).toMatchObject({ status: 'violation', connections: 60 });
    expect(whole.destinations.find((d) => d.ip === '128.112.128.15')).toMatchObject({ connections: 60, bytesSent: 7 * 60, country: 'US' });
  });

  it("gives a header-less log of a VPC's and a transit gateway's records the verdict of one pass, cut anywhere", async () => {
    const tgw = '6 TransitGateway 123456789012 tgw-0123 tgw-attach-a 123456789012 123456789012 vpc-a vpc-e subnet-a subnet-e eni-a eni-e use1-az1 use1-az1 tgw-attach-x 10.0.0.5 8.8.8.8 49152 443 6 10 5000 1709287200 1709287260 OK IPv4 0 0 0 0 19 us-east-1 ingress - -';
    const vpc = '2 123456789012 eni-0a1b2c 10.0.1.5 223.5.5.5 49152 443 6 10 700 1709287200 1709287260 ACCEPT OK';
    const log = Buffer.from(`${[...Array(30).fill(vpc), ...Array(30).fill(tgw), ...Array(30).fill(vpc)].join('\n')}\n`);
    const whole = await checkBytes(log, optionsOf());
    for (const n of [2, 3, 7]) {
      // Act
      const split = await checkSplit(bufferSource(log, 256), optionsOf(), { cuts: evenCuts(log.length, n) });

      // Assess
      expect(split.mode).toBe('split');
      expect(verdictJson(split.verdict)).toBe(verdictJson(whole));
    }
    expect(whole.totals).toMatchObject({ records: 90, connections: 90, skipped: 0 });
  });

  it("reads a Wireshark Endpoints table whole: its capture host is found among all its rows, not a range's", async () => {
    const rows = ['"192.168.1.23",40,99000,20,20000,20,79000', '"185.199.108.153",20,60000,10,50000,10,10000', '"8.8.8.8",20,39000,10,29000,10,10000'];
    const log = Buffer.from(`Address,Packets,Bytes,Tx Packets,Tx Bytes,Rx Packets,Rx Bytes\n${rows.join('\n')}\n`);

    // Act
    const split = await checkSplit(bufferSource(log, 64), optionsOf(), { cuts: [log.indexOf('"185')] });
    const whole = await checkBytes(log, optionsOf());

    // Assess
    expect(split.mode).toBe('whole');
    expect(verdictJson(split.verdict)).toBe(verdictJson(whole));
    expect(whole.totals).toMatchObject({ noData: 1, bytesSent: 20000 });
  });

  it('checks a log over the decoded-size limit in one pass, which refuses it', async () => {
    const log = zeekLog(100);
    const split = await checkSplit(bufferSource(log), optionsOf({ maxDecodedBytes: 1000 }), { cuts: evenCuts(log.length, 3) });
    expect(split.mode).toBe('whole');
    expect(split.verdict.error).toBe('input is larger than the limit of 1000 bytes');
  });
});
