import fc from 'fast-check';
import { CloudWatchVpcParser } from '../../../lambda/engine/parsers/cloudwatch-vpc';
import { RecordingSink } from './harness';

class CountingSink extends RecordingSink {
  others = 0;
  notConnection(): void {
    this.others++;
  }
}

function run(bytes: Buffer, chunkSize: number): CountingSink {
  const sink = new CountingSink();
  const parser = new CloudWatchVpcParser();
  for (let i = 0; i < bytes.length; i += chunkSize) parser.push(bytes.subarray(i, i + chunkSize), sink);
  parser.finish(sink);
  return sink;
}

const address = fc.oneof(fc.constantFrom('10.0.1.5', '47.246.1.1', '2406:da00::1', '-', '300.1.1.1'), fc.ipV4());
const flowRecord = fc
  .tuple(address, address, fc.nat(70000), fc.constantFrom('ACCEPT', 'REJECT', '-'), fc.constantFrom('OK', 'NODATA', 'SKIPDATA'))
  .map(([src, dst, bytes, action, status]) => `2 123456789012 eni-0a1b2c3d ${src} ${dst} 49152 443 6 10 ${bytes} 1700000000 1700000060 ${action} ${status}`);
const event = fc.oneof(
  { weight: 5, arbitrary: fc.record({ id: fc.string(), timestamp: fc.nat(), message: flowRecord }) },
  { weight: 1, arbitrary: fc.record({ message: fc.oneof(fc.string(), fc.constant('')) }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
);
const message = fc.oneof(
  { weight: 5, arbitrary: fc.array(event, { maxLength: 8 }).map((logEvents) => ({ messageType: 'DATA_MESSAGE', owner: '123456789012', logGroup: 'g', logStream: 's', subscriptionFilters: ['f'], logEvents })) },
  { weight: 1, arbitrary: fc.constant({ messageType: 'CONTROL_MESSAGE', logEvents: [{ message: 'CWL CONTROL MESSAGE' }] }) },
);

/** The AWS CLI's filter-log-events output: object events (with a message or without), other members after. */
const cliEvent = fc.oneof(
  { weight: 5, arbitrary: fc.record({ logStreamName: fc.string(), timestamp: fc.nat(), message: flowRecord, ingestionTime: fc.nat(), eventId: fc.string() }) },
  { weight: 1, arbitrary: fc.record({ message: fc.oneof(fc.string(), fc.constant(''), fc.nat()) }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })) },
);
const cliOutput = fc.record({
  events: fc.array(cliEvent, { maxLength: 8 }),
  searchedLogStreams: fc.array(fc.record({ logStreamName: fc.string(), searchedCompletely: fc.boolean() }), { maxLength: 2 }),
  nextToken: fc.string(),
});

describe('CloudWatch Logs VPC parser properties', () => {
  it('never throws on arbitrary bytes, and reads them the same in any chunks', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 64 }), (bytes, chunk) => {
        const whole = run(Buffer.from(bytes), bytes.length + 1);
        expect(run(Buffer.from(bytes), chunk).calls).toEqual(whole.calls);
      }),
      { numRuns: 1000 },
    );
  });

  it('ends every log event, and every message without one, in exactly one sink call', () => {
    fc.assert(
      fc.property(fc.array(message, { maxLength: 6 }), fc.boolean(), fc.integer({ min: 1, max: 500 }), (messages, spaced, chunk) => {
        const text = messages.map((m) => JSON.stringify(m)).join(spaced ? '\n' : '');
        const sink = run(Buffer.from(text), chunk);
        const units = messages.reduce((n, m) => n + (m.messageType === 'DATA_MESSAGE' ? m.logEvents.length : 1), 0);
        expect(sink.calls.length + sink.others).toBe(units);
        // Numbered 1, 2, ... in file order.
        expect(sink.calls.map((c) => c.line)).toEqual([...sink.calls.map((c) => c.line)].sort((a, b) => a - b));
      }),
      { numRuns: 500 },
    );
  });

  it('ends every event of the AWS CLI\'s output in exactly one sink call, pretty-printed or not, in any chunks', () => {
    fc.assert(
      fc.property(cliOutput, fc.boolean(), fc.integer({ min: 1, max: 300 }), (output, pretty, chunk) => {
        const sink = run(Buffer.from(JSON.stringify(output, null, pretty ? 4 : undefined)), chunk);
        expect(sink.calls.length + sink.others).toBe(output.events.length);
        expect(sink.calls.map((c) => c.line)).toEqual(output.events.map((_, i) => i + 1));
      }),
      { numRuns: 500 },
    );
  });
});
