/**
 * VPC Flow Logs through a CloudWatch Logs subscription to Firehose: JSON messages one after
 * another, each a gzip member in the S3 object. The messages are built field for field as AWS
 * documents them (CloudWatch Logs User Guide, "Subscription filters": owner, logGroup, logStream,
 * subscriptionFilters, messageType, logEvents of id, timestamp, message), with flow log records
 * in the default version 2 format.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { detectFormat } from '../../../lambda/engine/parsers';
import { CloudWatchVpcParser } from '../../../lambda/engine/parsers/cloudwatch-vpc';
import { vpcFormatFields } from '../../../lambda/engine/parsers/vpc-flow';
import { checkBytes, destination, policyOf } from '../../helpers/engine';
import { RecordingSink } from './harness';

const ENI = 'eni-0a1b2c3d4e5f67890';
/** A default-format record from 10.0.1.5 (inside) to `dst`. */
const record = (dst: string, bytes: number, action = 'ACCEPT', start = 1700000000): string =>
  `2 123456789012 ${ENI} 10.0.1.5 ${dst} 49152 443 6 10 ${bytes} ${start} ${start + 60} ${action} OK`;

function dataMessage(messages: string[], firstId = 1): Record<string, unknown> {
  return {
    owner: '123456789012',
    logGroup: 'vpc-flow-logs',
    logStream: `${ENI}-all`,
    subscriptionFilters: ['to-firehose'],
    messageType: 'DATA_MESSAGE',
    logEvents: messages.map((message, i) => ({ id: String(31953106606966983378809025079804211143289615424298221568n + BigInt(firstId + i)), timestamp: 1700000000000 + i, message })),
  };
}

const CONTROL = {
  messageType: 'CONTROL_MESSAGE',
  owner: 'CloudwatchLogs',
  logGroup: '',
  logStream: '',
  subscriptionFilters: [],
  logEvents: [{ id: '', timestamp: 1700000000000, message: 'CWL CONTROL MESSAGE: Checking health of destination Firehose.' }],
};

/** The responders of the flows a sink was given, and the skips it was told of. */
function seen(sink: RecordingSink): { flows: string[]; skips: unknown[] } {
  const flows: string[] = [];
  const skips: unknown[] = [];
  for (const c of sink.calls) {
    if (c.kind === 'flow') flows.push(c.record.respIp);
    else if (c.kind === 'skip') skips.push({ line: c.line, reason: c.reason, ...('detail' in c ? { detail: c.detail } : {}) });
  }
  return { flows, skips };
}

/** As Firehose writes them to S3: each message a gzip member of its own, nothing between them. */
function firehoseObject(objects: unknown[]): Buffer {
  return Buffer.concat(objects.map((o) => gzipSync(JSON.stringify(o))));
}

describe('VPC Flow Logs in CloudWatch Logs subscription messages', () => {
  const messages = [
    CONTROL,
    dataMessage([record('47.246.1.1', 5200), record('8.8.8.8', 300), `2 123456789012 ${ENI} - - - - - - - 1700000000 1700000060 - NODATA`], 1),
    dataMessage([record('47.246.1.1', 800, 'ACCEPT', 1700000100), record('203.0.113.9', 0, 'REJECT')], 4),
  ];

  it('reads each log event as a flow log record, numbered by event, as Firehose delivers them', async () => {
    // Act
    const v = await checkBytes(firehoseObject(messages), { policy: policyOf('us') });

    // Assess: the control message and NODATA are records without data.
    expect(v.error).toBeUndefined();
    expect(v.input.format).toBe('vpc-flow-cloudwatch');
    expect(v.totals).toMatchObject({ records: 6, connections: 4, noData: 2, skipped: 0, bytesSent: 6300 });
    expect(v.errors).toEqual([]);
    const aliyun = destination(v, '47.246.1.1');
    expect(aliyun).toMatchObject({ connections: 2, bytesSent: 6000, status: 'violation', evidenceLines: [2, 5] });
    expect(destination(v, '8.8.8.8')).toMatchObject({ status: 'allowed', bytesSent: 300, evidenceLines: [3] });
    expect(destination(v, '203.0.113.9').status).not.toBe('violation');
    expect(v.compliant).toBe(false);
  });

  it('takes an object of control messages alone, as a new subscription delivers, for a log of no traffic', async () => {
    const v = await checkBytes(firehoseObject([CONTROL]), { policy: policyOf('us') });
    expect(v.error).toBeUndefined();
    expect(v.compliant).toBe(true);
    expect(v.totals).toMatchObject({ records: 1, connections: 0, noData: 1, skipped: 0 });
  });

  it('reads them the same with line breaks between them, pretty-printed, and cut into any chunks', async () => {
    const compact = await checkBytes(firehoseObject(messages), { policy: policyOf('us') });
    const texts = [
      messages.map((m) => JSON.stringify(m)).join('\n'),
      messages.map((m) => JSON.stringify(m, null, 2)).join('\n'),
      // Saved as one JSON array (jq -s), compact or not.
      JSON.stringify(messages),
      JSON.stringify(messages, null, 2),
    ];
    for (const text of texts) {
      for (const chunk of [1, 7, 4096]) {
        const v = await checkBytes(text, { policy: policyOf('us') }, chunk);
        // (The input differs only in its bytes: not compressed, spaced.)
        expect({ ...v, input: null, checkedAt: null }).toEqual({ ...compact, input: null, checkedAt: null });
        expect(v.input.format).toBe('vpc-flow-cloudwatch');
      }
    }
  });

  it('names each record it cannot read, and reads on after it', () => {
    // Prepare: a custom-format record (no header can name its fields), an event without a
    // message, an object that is not JSON, bytes that are no object, and an object cut off.
    const text = [
      JSON.stringify(dataMessage([`2 ${ENI} 10.0.1.5 47.246.1.1 49152 443 6 10 5200 1700000000 1700000060 ACCEPT OK vpc-0a1b2c3d`, record('8.8.8.8', 1)])),
      '{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1"}]}',
      '{"messageType":"DATA_MESSAGE","logEvents":[oops]}',
      'garbage',
      JSON.stringify({ messageType: 'OTHER', logEvents: [] }),
      JSON.stringify(dataMessage([record('1.1.1.1', 2)])),
      '{"messageType":"DATA_MESSAGE","logEvents":[{"message":"2 1',
    ].join('\n');
    const parser = new CloudWatchVpcParser();
    const sink = new RecordingSink();

    // Act
    parser.push(Buffer.from(text), sink);
    parser.finish(sink);

    // Assess
    const { flows, skips } = seen(sink);
    expect(flows).toEqual(['8.8.8.8', '1.1.1.1']);
    expect(skips).toEqual([
      { line: 1, reason: "flow log record in no default format, VPC version 2 or Transit Gateway (CloudWatch Logs messages name no custom format's fields: give the format with --vpc-format, or RESIDENCY_VPC_FORMAT in the pipeline)", detail: '14 fields' },
      { line: 3, reason: 'CloudWatch Logs event without a message' },
      { line: 4, reason: 'CloudWatch Logs message is not valid JSON', detail: expect.stringMatching(/JSON/) },
      { line: 5, reason: 'bytes between CloudWatch Logs messages that are not a message', detail: '7 bytes' },
      { line: 6, reason: 'not a CloudWatch Logs subscription message', detail: 'messageType "OTHER"' },
      { line: 8, reason: 'CloudWatch Logs message cut off at the end of the input' },
    ]);
  });

  it('skips a message too large to be one, without keeping it, and reads the next', () => {
    const parser = new CloudWatchVpcParser();
    const sink = new RecordingSink();
    const huge = Buffer.from(JSON.stringify(dataMessage([`2 ${'9'.repeat(17 * 1024 * 1024)}`])));
    for (let at = 0; at < huge.length; at += 1 << 20) parser.push(huge.subarray(at, at + (1 << 20)), sink);
    parser.push(Buffer.from(JSON.stringify(dataMessage([record('8.8.8.8', 1)]))), sink);
    parser.finish(sink);
    expect(seen(sink)).toEqual({ flows: ['8.8.8.8'], skips: [{ line: 1, reason: 'CloudWatch Logs message too large', detail: 'over 16777216 bytes' }] });
  });

  it('is detected from the first message, compact or pretty-printed, and from nothing else', () => {
    const compact = JSON.stringify(messages[1]);
    expect(detectFormat([compact])?.name).toBe('vpc-flow-cloudwatch');
    expect(detectFormat(JSON.stringify(messages[1], null, 2).split('\n'))?.name).toBe('vpc-flow-cloudwatch');
    expect(detectFormat(['{"ts":1700000000.1,"uid":"C1","id.orig_h":"10.0.0.1","id.resp_h":"8.8.8.8"}'])?.name).toBe('zeek-json');
    expect(detectFormat([record('8.8.8.8', 1)])?.name).toBe('vpc-flow');
  });
});

/**
 * What the AWS CLI prints for `aws logs filter-log-events` (its default `--output json`): the
 * service's response as Python's json.dumps writes it with an indent of 4, members in the order of
 * the API's response shape (events, searchedLogStreams, nextToken), every page joined into one
 * object. Each event as the API documents FilteredLogEvent: logStreamName, timestamp, message,
 * ingestionTime, eventId.
 */
function cliOutput(messages: string[], more: Record<string, unknown> = { searchedLogStreams: [{ logStreamName: `${ENI}-all`, searchedCompletely: true }], nextToken: 'Bxkq6kVGFtq2y_Moigeqscgt' }): string {
  const events = messages.map((message, i) => ({
    logStreamName: `${ENI}-all`,
    timestamp: 1700000000000 + i,
    message,
    ingestionTime: 1700000060000 + i,
    eventId: String(37983209383461384716812983475812391274981237498123400000n + BigInt(i)),
  }));
  return `${JSON.stringify({ events, ...more }, null, 4)}\n`;
}

describe('VPC Flow Logs as the AWS CLI prints them (aws logs filter-log-events, get-log-events)', () => {
  const records = [record('47.246.1.1', 5200), record('8.8.8.8', 300), `2 123456789012 ${ENI} - - - - - - - 1700000000 1700000060 - NODATA`, record('47.246.1.1', 800, 'ACCEPT', 1700000100)];

  it('reads each event as a flow log record, numbered by event, and nothing else of the output', async () => {
    // Act
    const v = await checkBytes(cliOutput(records), { policy: policyOf('us') });

    // Assess: searchedLogStreams holds an object too, which is no event.
    expect(v.input.format).toBe('vpc-flow-cloudwatch');
    expect(v.totals).toMatchObject({ records: 4, connections: 3, noData: 1, skipped: 0, bytesSent: 6300 });
    expect(destination(v, '47.246.1.1')).toMatchObject({ connections: 2, bytesSent: 6000, status: 'violation', evidenceLines: [1, 4] });
    expect(destination(v, '8.8.8.8')).toMatchObject({ status: 'allowed', evidenceLines: [2] });
  });

  it('reads them the same compact, as get-log-events prints them, and cut into any chunks', async () => {
    const pretty = await checkBytes(cliOutput(records), { policy: policyOf('us') });
    const texts = [
      cliOutput(records).replace(/\s*\n\s*/g, ''),
      cliOutput(records, { nextForwardToken: 'f/3798', nextBackwardToken: 'b/3798' }),
      cliOutput(records, {}),
    ];
    for (const text of texts) {
      for (const chunk of [1, 5, 4096]) {
        const v = await checkBytes(text, { policy: policyOf('us') }, chunk);
        expect({ ...v, input: null, checkedAt: null }).toEqual({ ...pretty, input: null, checkedAt: null });
      }
    }
  });

  it('reads a large output one event at a time, not as one message', async () => {
    // 40,000 events, 6 MB: more than a subscription message may hold is fine here.
    const many = Array.from({ length: 40_000 }, (_, i) => record(`11.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 100));
    const v = await checkBytes(cliOutput(many), { policy: policyOf('us') });
    expect(v.totals).toMatchObject({ records: 40_000, connections: 40_000, skipped: 0, bytesSent: 4_000_000 });
  });

  it('names each event it cannot read: no message, a custom format, an element that is no object', () => {
    // Prepare
    const text = cliOutput(records.slice(0, 2)).replace(
      '"events": [',
      `"events": [\n        {"logStreamName": "x", "timestamp": 1},\n        "stray",\n        {"message": "2 ${ENI} 10.0.1.5 8.8.8.8 443 6 ACCEPT"},\n        7,`,
    );
    const sink = new RecordingSink();
    const parser = new CloudWatchVpcParser();

    // Act
    parser.push(Buffer.from(text), sink);
    parser.finish(sink);

    // Assess
    const { flows, skips } = seen(sink);
    expect(flows).toEqual(['47.246.1.1', '8.8.8.8']);
    expect(skips).toEqual([
      { line: 1, reason: 'CloudWatch Logs event without a message' },
      { line: 2, reason: 'CloudWatch Logs event is not an object' },
      expect.objectContaining({ line: 3, reason: expect.stringContaining('--vpc-format') }),
      { line: 4, reason: 'CloudWatch Logs event is not an object' },
    ]);
  });

  it('is detected from its events list, and not from other JSON with events', () => {
    expect(detectFormat(cliOutput(records).split('\n').slice(0, 20))?.name).toBe('vpc-flow-cloudwatch');
    expect(detectFormat([cliOutput(records).replace(/\s*\n\s*/g, '')])?.name).toBe('vpc-flow-cloudwatch');
    expect(detectFormat(['{"events": [{"name": "deploy", "at": "2024-01-01"}]}'])).toBeNull();
  });
});

describe('a custom flow log format given (--vpc-format)', () => {
  // Version 5 fields as a NAT gateway's log has them: the real destination is pkt-dstaddr.
  const FORMAT = '${version} ${interface-id} ${srcaddr} ${dstaddr} ${pkt-srcaddr} ${pkt-dstaddr} ${srcport} ${dstport} ${protocol} ${bytes} ${start} ${end} ${action} ${log-status} ${flow-direction}';
  const fields = vpcFormatFields(FORMAT);
  const natRecord = (pktDst: string, bytes: number): string =>
    `5 ${ENI} 10.0.1.5 10.0.0.20 10.0.1.5 ${pktDst} 49152 443 6 ${bytes} 1700000000 1700000060 ACCEPT OK egress`;

  it('reads records in that format from CloudWatch Logs messages', async () => {
    const text = JSON.stringify(dataMessage([natRecord('47.246.1.1', 5200), natRecord('8.8.8.8', 10), '5 too few fields']));
    const v = await checkBytes(text, { policy: policyOf('us'), parserOptions: { vpcFields: fields } });
    expect(v.input.format).toBe('vpc-flow-cloudwatch');
    expect(v.totals).toMatchObject({ records: 3, connections: 2, skipped: 1, bytesSent: 5210 });
    expect(destination(v, '47.246.1.1')).toMatchObject({ status: 'violation', evidenceLines: [1] });
    expect(v.errors).toEqual([{ line: 3, reason: 'record field count differs from the format given: "4 fields, format names 15"' }]);
  });

  it('reads a header-less flow log file in that format, which detection alone cannot place', async () => {
    const text = `${natRecord('47.246.1.1', 5200)}\n${natRecord('8.8.8.8', 10)}\n`;
    const unknown = await checkBytes(text, { policy: policyOf('us') });
    expect(unknown.error).toMatch(/^unknown log format: it looks like VPC Flow Logs in a custom format without its header line: .* or give the format with --vpc-format \(RESIDENCY_VPC_FORMAT in the pipeline\)$/);
    const v = await checkBytes(text, { policy: policyOf('us'), parserOptions: { vpcFields: fields } });
    expect(v.input.format).toBe('vpc-flow');
    expect(v.totals).toMatchObject({ records: 2, connections: 2, bytesSent: 5210 });
    expect(destination(v, '47.246.1.1').status).toBe('violation');
  });

  it.each([
    ['', 'empty: give the flow log format, such as ${version} ${srcaddr} ${dstaddr} ...'],
    ['${version} ${srcaddr} ${dst addr}', "'${dst' is not a flow log field name (names such as srcaddr, pkt-dstaddr, in ${...} or alone)"],
    ['version srcaddr dstaddr srcaddr', "'srcaddr' is named twice"],
    ['version,srcaddr,bytes', 'the format has no dstaddr or pkt-dstaddr field'],
  ])('refuses the format %j, saying why', (text, message) => {
    expect(() => vpcFormatFields(text)).toThrow(message);
  });

  it('takes the names alone, with commas or spaces, and AWS\'s ${...} form alike', () => {
    expect(vpcFormatFields('version, srcaddr,dstaddr  bytes')).toEqual(['version', 'srcaddr', 'dstaddr', 'bytes']);
    expect(vpcFormatFields(FORMAT)).toEqual(FORMAT.split(' ').map((f) => f.slice(2, -1)));
  });
});

describe('AWS Network Firewall logs in CloudWatch Logs', () => {
  // The firewall's flow and alert records (the S3 fixture's lines), as a log group holds them:
  // each record one log event's message.
  const nfw = readFileSync(join(__dirname, '../../fixtures/suricata/aws-network-firewall-synthetic.log'), 'utf8').split('\n').filter((l) => l !== '');

  it.each([
    ['a subscription to Firehose', (): Buffer => firehoseObject([CONTROL, dataMessage(nfw.slice(0, 3)), dataMessage(nfw.slice(3), 4)])],
    ['aws logs filter-log-events', (): Buffer => Buffer.from(cliOutput(nfw))],
  ])('reads each message as a firewall record, as in its S3 files (%s)', async (_how, input) => {
    const bytes = input();
    const s3 = await checkBytes(nfw.join('\n'), { policy: policyOf('us') });
    const v = await checkBytes(bytes, { policy: policyOf('us') });
    expect(v.input.format).toBe('vpc-flow-cloudwatch');
    expect(v.totals).toMatchObject({ connections: s3.totals.connections, skipped: 0 });
    expect(v.destinations.map((d) => [d.ip, d.status, d.bytesSent, d.bytesReceived])).toEqual(s3.destinations.map((d) => [d.ip, d.status, d.bytesSent, d.bytesReceived]));
    expect(destination(v, '1.2.4.8')).toMatchObject({ status: 'blocked', blockedAttempts: 1 });
  });
});
