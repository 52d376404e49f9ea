/**
 * Azure flow logs as Network Watcher writes them to a storage account (PT1H.json), built as
 * Microsoft's documentation shows them: a network security group flow log of version 2 (its
 * example's tuples: a flow's begin without counts, then its counts) and a virtual network flow log
 * (flowLogVersion 4, protocol numbers, state D for a denied flow, encryption NX).
 */
import fc from 'fast-check';
import { detectFormat } from '../../../lambda/engine/parsers';
import { AzureFlowParser } from '../../../lambda/engine/parsers/azure-flow';
import { checkBytes, destination, policyOf } from '../../helpers/engine';
import { RecordingSink } from './harness';

function read(doc: string, chunk = 64): RecordingSink {
  const sink = new RecordingSink();
  const parser = new AzureFlowParser();
  const bytes = Buffer.from(doc);
  for (let i = 0; i < bytes.length; i += chunk) parser.push(bytes.subarray(i, i + chunk), sink);
  parser.finish(sink);
  return sink;
}
const flows = (sink: RecordingSink) => sink.calls.flatMap((c) => (c.kind === 'flow' ? [c.record] : []));

const NSG_V2 = JSON.stringify({
  records: [
    {
      time: '2018-11-13T12:00:35.3899262Z',
      systemId: 'a0fca5ce-022c-47b1-9735-89943b42f2fa',
      category: 'NetworkSecurityGroupFlowEvent',
      resourceId: '/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/FABRIKAMRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/FABRIAKMVM1-NSG',
      operationName: 'NetworkSecurityGroupFlowEvents',
      properties: {
        Version: 2,
        flows: [
          { rule: 'DefaultRule_DenyAllInBound', flows: [{ mac: '000D3AF87856', flowTuples: ['1542110380,45.129.33.153,10.0.0.4,47047,3389,T,I,D,B,,,,'] }] },
          {
            rule: 'DefaultRule_AllowInternetOutBound',
            flows: [
              {
                mac: '000D3AF87856',
                flowTuples: ['1542110377,10.0.0.4,1.2.4.8,44931,443,T,O,A,B,,,,', '1542110379,10.0.0.4,1.2.4.8,44931,443,T,O,A,E,12,5200,9,66000', '1542110379,10.0.0.4,8.8.8.8,44934,53,U,O,A,C,1,66,1,90'],
              },
            ],
          },
        ],
      },
    },
  ],
});

const VNET_V4 = JSON.stringify({
  records: [
    {
      time: '2022-09-14T09:00:52.5625085Z',
      flowLogVersion: 4,
      flowLogGUID: '66aa66aa-bb77-cc88-dd99-00ee00ee00ee',
      macAddress: '112233445566',
      category: 'FlowLogFlowEvent',
      flowLogResourceID: '/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_EASTUS2EUAP/FLOWLOGS/VNETFLOWLOG',
      targetResourceID: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myResourceGroup/providers/Microsoft.Network/virtualNetworks/myVNet',
      operationName: 'FlowLogFlowEvent',
      flowRecords: {
        flows: [
          {
            aclID: '00aa00aa-bb11-cc22-dd33-44ee44ee44ee',
            flowGroups: [
              {
                rule: 'DefaultRule_AllowInternetOutBound',
                flowTuples: ['1663146003599,10.0.0.6,1.2.4.8,23956,443,6,O,B,NX,0,0,0,0', '1663146003606,10.0.0.6,1.2.4.8,23956,443,6,O,E,NX,3,767,2,1580'],
              },
              { rule: 'DefaultRule_DenyAllInBound', flowTuples: ['1663146003640,45.129.33.153,10.0.0.6,47047,22,6,I,D,NX,0,0,0,0'] },
            ],
          },
        ],
      },
    },
  ],
});

describe('Azure network security group flow logs (version 2)', () => {
  it('reads each tuple as a record: the flow opened from src, its counts since its last tuple, a denied flow refused', async () => {
    expect(detectFormat(NSG_V2.split('\n'), Buffer.from(NSG_V2))?.name).toBe('azure-flow-log');
    const sink = read(NSG_V2);
    expect(flows(sink).map((r) => [r.line, r.origIp, r.respIp, r.respPort, r.proto, r.origBytes, r.respBytes, r.rejected])).toEqual([
      [1, '45.129.33.153', '10.0.0.4', 3389, 'tcp', 0, 0, true],
      [2, '10.0.0.4', '1.2.4.8', 443, 'tcp', -1, -1, false],
      [3, '10.0.0.4', '1.2.4.8', 443, 'tcp', 5200, 66000, false],
      [4, '10.0.0.4', '8.8.8.8', 53, 'udp', 66, 90, false],
    ]);
    expect(flows(sink)[0]!.firstSeenMs).toBe(1542110380000);
    const v = await checkBytes(NSG_V2, { policy: policyOf('us') });
    expect(v.input.format).toBe('azure-flow-log');
    expect(destination(v, '1.2.4.8')).toMatchObject({ status: 'violation', bytesSent: 5200, bytesReceived: 66000, connections: 2, evidenceLines: [2, 3] });
    expect(destination(v, '45.129.33.153')).toMatchObject({ status: 'blocked', blockedAttempts: 1 });
  });

  it('reads version 1 tuples (no counts) with their bytes unknown', () => {
    const v1 = NSG_V2.replace('"Version":2', '"Version":1').replace(/"1542110379,10\.0\.0\.4,1\.2\.4\.8,44931,443,T,O,A,E,12,5200,9,66000"/, '"1542110379,10.0.0.4,1.2.4.8,44931,443,T,O,A"');
    const r = flows(read(v1)).find((f) => f.line === 3)!;
    expect([r.respIp, r.origBytes, r.respBytes]).toEqual(['1.2.4.8', -1, -1]);
  });
});

describe('Azure flow logs: begin tuples, and flows accepted from outside', () => {
  it("reads a begin tuple's bytes as unknown: an accepted inbound flow is a connection, not a refused probe", async () => {
    // Microsoft: flows under non-default inbound rules are non-terminating, and only their begin
    // tuple is written.
    const doc = NSG_V2.replace('1542110380,45.129.33.153,10.0.0.4,47047,3389,T,I,D,B,,,,', '1542110380,1.2.4.8,10.0.0.4,51000,443,T,I,A,B,,,,');
    const v = await checkBytes(doc, { policy: policyOf('us') });
    expect(destination(v, '1.2.4.8')).toMatchObject({ status: 'violation', blockedAttempts: 0 });
    expect(v.compliant).toBe(false);
  });

  it('reads times in seconds or milliseconds by their magnitude, and a flow dropped for want of encryption as refused', () => {
    const doc = VNET_V4.replace('1663146003599,10.0.0.6,1.2.4.8,23956,443,6,O,B,NX,0,0,0,0', '1663146003,10.0.0.6,1.2.4.8,23956,443,6,O,B,NX_NOT_ACCEPTED,0,0,0,0');
    const first = flows(read(doc))[0]!;
    expect([first.firstSeenMs, first.rejected, first.origBytes]).toEqual([1663146003000, true, 0]);
  });
});

describe('Azure virtual network flow logs (flowLogVersion 4)', () => {
  it('reads each tuple: IANA protocol numbers, times in milliseconds, state D denied', async () => {
    expect(detectFormat([], Buffer.from(VNET_V4))?.name).toBe('azure-flow-log');
    const sink = read(VNET_V4, 7);
    expect(flows(sink).map((r) => [r.line, r.origIp, r.respIp, r.proto, r.origBytes, r.respBytes, r.rejected, r.firstSeenMs])).toEqual([
      [1, '10.0.0.6', '1.2.4.8', 'tcp', -1, -1, false, 1663146003599],
      [2, '10.0.0.6', '1.2.4.8', 'tcp', 767, 1580, false, 1663146003606],
      [3, '45.129.33.153', '10.0.0.6', 'tcp', 0, 0, true, 1663146003640],
    ]);
    const v = await checkBytes(VNET_V4, { policy: policyOf('us') });
    expect(destination(v, '1.2.4.8')).toMatchObject({ status: 'violation', bytesSent: 767, bytesReceived: 1580 });
    expect(destination(v, '45.129.33.153')).toMatchObject({ status: 'blocked' });
  });

  it('skips what it cannot read, counted, and refuses a document that is no flow log', async () => {
    const doc = JSON.stringify({ records: [{ flowRecords: { flows: [{ flowGroups: [{ flowTuples: ['1663146003599,10.0.0.6,1.2.4.8', 42, '1663146003599,,1.2.4.8,1,443,6,O,E,NX,1,1,1,1', '1663146003599,10.0.0.6,1.2.4.8,1,443,6,O,E,NX,1,lots,1,1'] }] }] } }, { category: 'other' }, 'text'] });
    const sink = read(doc);
    expect(sink.calls.filter((c) => c.kind === 'skip').map((c) => (c.kind === 'skip' ? [c.line, c.reason] : null))).toEqual([
      [1, 'flow tuple has too few fields'],
      [2, 'flow tuple is not a string'],
      [3, 'flow tuple has no source or destination address'],
      [5, 'flow log record has no flows'],
      [6, 'flow log record is not an object'],
    ]);
    expect(flows(sink).map((r) => [r.line, r.origBytes])).toEqual([[4, -1]]);
    expect(sink.malformedValues).toEqual([{ line: 4, field: 'bytes src->dst', value: 'lots' }]);
    const v = await checkBytes('{"records": [{"flowRecords": {"flows": []}}]', { format: 'azure-flow-log' });
    expect(v.error).toMatch(/ends before it closes/);
  });

  it('never throws but a one-line error, whatever the tuples hold', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ maxLength: 60 }), fc.integer()), { maxLength: 8 }), fc.integer({ min: 1, max: 50 }), (tuples, chunk) => {
        const sink = read(JSON.stringify({ records: [{ flowRecords: { flows: [{ flowGroups: [{ flowTuples: tuples }] }] } }] }), chunk);
        // Every tuple ends in one call.
        expect(sink.calls.length).toBe(tuples.length);
      }),
      { numRuns: 300 },
    );
  });
});
