import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { DESTINATION_COLUMNS } from '../../../lambda/engine/verdict/destination-columns';
import {
  destinationsPartitionOf,
  JSONL_PIECE_CHARS,
  serializeDestinationsJsonl,
  verdictIdOf,
} from '../../../lambda/engine/verdict/destinations-jsonl';
import { destinationListOf } from '../../../lambda/engine/verdict/build-verdict';
import { verdictJson } from '../../../lambda/engine/verdict/serialize';
import type { Verdict, VerdictDestination } from '../../../lambda/engine/verdict/verdict';
import { checkBytes } from '../../helpers/engine';
import { everyFieldVerdict, parseRows, rowsText } from '../../helpers/destination-rows';
import { destinationOf, droneVerdict, verdictOf } from '../../report/report-fixtures';

const KEY = 'verdicts/incoming/team/drone.conn.log.verdict.json';

/** What a row must say about a destination, field for field from the verdict. */
function expectedDestinationFields(d: VerdictDestination): Record<string, unknown> {
  return {
    ip: d.ip,
    country: d.country,
    countries: d.countries,
    address_class: d.addressClass,
    status: d.status,
    rule: d.rule,
    warning: d.warning,
    disputed: d.disputed,
    connections: d.connections,
    blocked_attempts: d.blockedAttempts,
    bytes_sent: d.bytesSent,
    bytes_received: d.bytesReceived,
    connections_with_unknown_bytes: d.connectionsWithUnknownBytes,
    first_seen: d.firstSeen,
    last_seen: d.lastSeen,
    ports: d.ports,
    protocols: d.protocols,
    hostnames: d.hostnames,
    apps: d.apps,
    evidence_lines: d.evidenceLines,
    asn: d.asn,
    as_organization: d.asOrganization,
    operator_country: d.operatorCountry,
  };
}

/** What every row of a verdict must say about the verdict. */
function expectedVerdictFields(v: Verdict, verdictKey: string): Record<string, unknown> {
  return {
    verdict_id: verdictIdOf(v, verdictKey),
    verdict_key: verdictKey,
    checked_at: v.checkedAt,
    verdict_compliant: v.compliant,
    verdict_partial: v.partial === true,
    verdict_error: v.error ?? null,
    tool_version: v.tool.version,
    input_name: v.input.name,
    input_sha256: v.input.sha256,
    input_format: v.input.format,
    input_version_id: v.input.source?.versionId ?? null,
    policy_name: v.policy.name,
    policy_sha256: v.policy.sha256,
    databases: v.databases.map((db) => ({
      name: db.name,
      role: db.role,
      database_type: db.databaseType,
      build_epoch: db.buildEpoch,
      sha256: db.sha256,
    })),
  };
}

describe('destinations as JSON Lines', () => {
  it("writes one line per destination, in the verdict's order, with the destination's and the verdict's values", async () => {
    // Prepare: the README's example, checked for real.
    const v = await droneVerdict();
    expect(v.destinations.length).toBeGreaterThan(5);

    // Act
    const rows = parseRows(rowsText(v, KEY));

    // Assess
    expect(rows).toHaveLength(v.destinations.length);
    rows.forEach((row, i) => {
      expect(row).toEqual({ ...expectedDestinationFields(v.destinations[i]!), ...expectedVerdictFields(v, KEY) });
    });
  });

  it('gives every column a value of the verdict, none left null when the verdict has it', () => {
    // Prepare
    const v = everyFieldVerdict();

    // Act
    const rows = parseRows(rowsText(v, KEY));

    // Assess
    rows.forEach((row, i) => {
      expect(row).toEqual({ ...expectedDestinationFields(v.destinations[i]!), ...expectedVerdictFields(v, KEY) });
    });
    for (const { name } of DESTINATION_COLUMNS) {
      expect({ [name]: rows.some((r) => r[name] !== null) }).toEqual({ [name]: true });
    }
    expect(rows[0]).toMatchObject({ verdict_partial: true, verdict_error: v.error, policy_name: 'Drone programme: US only' });
  });

  it('writes exactly the shared columns, in their order, on every line', () => {
    // Act
    const rows = parseRows(rowsText(everyFieldVerdict(), KEY));

    // Assess
    for (const row of rows) expect(Object.keys(row)).toEqual(DESTINATION_COLUMNS.map((c) => c.name));
  });

  it('names columns in lower-case snake_case, each once, so Glue stores them as written', () => {
    const names = DESTINATION_COLUMNS.map((c) => c.name);
    for (const name of names) expect(name).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
    expect(new Set(names).size).toBe(names.length);
  });

  it('gives the same bytes for the same verdict, also when read back from its stored JSON', async () => {
    // Prepare: the duplicate-delivery path rebuilds the rows from the stored verdict text.
    const v = await droneVerdict();
    const stored = JSON.parse(verdictJson(v)) as Verdict;

    // Act
    const first = rowsText(v, KEY);
    const again = rowsText(v, KEY);
    const fromStored = rowsText(stored, KEY);

    // Assess
    expect(again).toBe(first);
    expect(fromStored).toBe(first);
  });

  it('writes nothing for an error verdict (it has no destinations)', async () => {
    // Prepare
    const v = await checkBytes('not a log\n');
    expect(v.error).toMatch(/unknown log format/);

    // Act
    const pieces = [...serializeDestinationsJsonl(v, { verdictKey: KEY })];

    // Assess
    expect(pieces).toEqual([]);
  });

  it('keeps each destination on one line whatever its names contain', () => {
    const text = fc.string({ unit: 'binary' });
    fc.assert(
      fc.property(fc.array(fc.tuple(text, fc.array(text, { maxLength: 3 }), text), { minLength: 1, maxLength: 5 }), (entries) => {
        // Prepare: log-controlled strings (host names, apps, rules) with newlines, quotes, U+2028, lone surrogates.
        const v = verdictOf(entries.map(([rule, hostnames, app], i) => destinationOf({ ip: `198.51.100.${i}`, rule, hostnames, apps: [app] })));

        // Act
        const out = rowsText(v, KEY);

        // Assess: Hadoop's line reader splits on \n and \r only; each line is one JSON document.
        const lines = out.slice(0, -1).split(/\r\n|\r|\n/);
        expect(lines).toHaveLength(entries.length);
        lines.forEach((line, i) => {
          const row = JSON.parse(line) as Record<string, unknown>;
          expect(row.rule).toBe(JSON.parse(JSON.stringify(entries[i]![0])));
          expect(row.hostnames).toEqual(JSON.parse(JSON.stringify(entries[i]![1])));
        });
      }),
      { numRuns: 200 },
    );
  });

  it('writes counts past 2^53 as plain integers, and null for what a bigint cannot hold', () => {
    // Prepare
    const v = verdictOf([destinationOf({ ip: '198.51.100.1', bytesSent: 5e18, bytesReceived: 1e21, connections: 1.5 })]);

    // Act
    const line = rowsText(v, KEY);

    // Assess: `1e+21` (past 2^63 anyway) would make Athena fail on the whole file.
    expect(line).toContain('"bytes_sent":5000000000000000000,');
    expect(line).toContain('"bytes_received":null,');
    expect(line).toContain('"connections":null,');
  });

  it('streams a verdict with 100,000 destinations in pieces of about 64 KiB, reading it as it goes', () => {
    // Prepare: a verdict whose destination list counts how far it has been read.
    const N = 100_000;
    const destinations = Array.from({ length: N }, (_, i) =>
      destinationOf({ ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, hostnames: [`host-${i}.example`], bytesSent: i }),
    );
    let furthest = -1;
    const watched = new Proxy(destinations, {
      get(target, prop, receiver) {
        if (typeof prop === 'string' && /^\d+$/.test(prop)) furthest = Math.max(furthest, Number(prop));
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const v = verdictOf(destinations);
    v.destinations = watched;

    // Act
    const pieces = serializeDestinationsJsonl(v, { verdictKey: KEY });
    const first = pieces.next();
    const readForFirstPiece = furthest + 1;
    let count = 1;
    let lines = (first.value as string).split('\n').length - 1;
    let longest = (first.value as string).length;
    let lastRow = '';
    for (const piece of pieces) {
      count++;
      lines += piece.split('\n').length - 1;
      longest = Math.max(longest, piece.length);
      lastRow = piece.slice(piece.lastIndexOf('\n', piece.length - 2) + 1);
    }

    // Assess: the first piece came after a few dozen destinations, not all of them; no piece is
    // much over 64 KiB (one line at most), and together they hold every destination once.
    expect(readForFirstPiece).toBeLessThan(200);
    expect(count).toBeGreaterThan(N / 200);
    expect(longest).toBeLessThan(JSONL_PIECE_CHARS + 4096);
    expect(lines).toBe(N);
    expect(JSON.parse(lastRow)).toMatchObject({ ip: '10.1.134.159', bytes_sent: N - 1 });
  });
});

describe('destinations as JSON Lines from a built verdict', () => {
  it('writes the rows from the totals, leaving the destinations unmade, as it would from objects', async () => {
    // Prepare
    const v = await droneVerdict();
    expect(destinationListOf(v)).not.toBeNull();

    // Act
    const lean = rowsText(v);
    const stillLean = destinationListOf(v) !== null;
    const fromObjects = rowsText({ ...v });

    // Assess
    expect(stillLean).toBe(true);
    expect(lean).toBe(fromObjects);
    expect(lean.split('\n').filter(Boolean)).toHaveLength(v.totals.destinations);
  });
});

describe('verdictIdOf', () => {
  it('is 128 bits of hex, the same for the same verdict and key', () => {
    const v = everyFieldVerdict();
    expect(verdictIdOf(v, KEY)).toMatch(/^[0-9a-f]{32}$/);
    expect(verdictIdOf(JSON.parse(JSON.stringify(v)) as Verdict, KEY)).toBe(verdictIdOf(v, KEY));
  });

  it('is the same for two checks of one upload (its verdict records the event sequencer)', () => {
    const v = withSequencer(everyFieldVerdict(), '0055AED6DCD90281E5');
    const again = { ...v, checkedAt: '2026-01-01T00:00:00.001Z', input: { ...v.input, sha256: null } };
    expect(verdictIdOf(again, KEY)).toBe(verdictIdOf(v, KEY));
  });

  it('differs for another upload of the key (version, ETag or sequencer), or another key', () => {
    const v = withSequencer(everyFieldVerdict(), '0055AED6DCD90281E5');
    const source = v.input.source!;
    const ids = new Set([
      verdictIdOf(v, KEY),
      verdictIdOf({ ...v, input: { ...v.input, source: { ...source, versionId: 'other' } } }, KEY),
      verdictIdOf({ ...v, input: { ...v.input, source: { ...source, etag: 'other' } } }, KEY),
      verdictIdOf(withSequencer(v, '0055AED6DCD90281E6'), KEY),
      verdictIdOf(withSequencer(v, null), KEY),
      verdictIdOf(v, `${KEY}x`),
    ]);
    expect(ids.size).toBe(6);
  });

  it('keeps its check time for a verdict that records no sequencer (a local check, or written before)', () => {
    const v = everyFieldVerdict();
    const ids = new Set([
      verdictIdOf(v, KEY),
      verdictIdOf({ ...v, checkedAt: '2026-01-01T00:00:00.001Z' }, KEY),
      verdictIdOf({ ...v, input: { ...v.input, source: { ...v.input.source, versionId: 'other' } } }, KEY),
      verdictIdOf(v, `${KEY}x`),
    ]);
    expect(ids.size).toBe(4);
    // The identifier such verdicts were written under: their destinations objects keep their names.
    expect(verdictIdOf(v, KEY)).toBe(
      createHash('sha256')
        .update([KEY, v.checkedAt, v.input.sha256, v.input.source!.versionId, v.input.source!.etag].join('\n'), 'utf8')
        .digest('hex')
        .slice(0, 32),
    );
  });
});

function withSequencer(v: Verdict, sequencer: string | null): Verdict {
  return { ...v, input: { ...v.input, source: { ...v.input.source, sequencer } } };
}

describe('destinationsPartitionOf', () => {
  it('is the UTC date of the check', () => {
    expect(destinationsPartitionOf('2026-01-31T23:59:59.999Z')).toBe('2026-01-31');
    expect(destinationsPartitionOf('2026-02-01T00:00:00.000Z')).toBe('2026-02-01');
  });

  it('is null for a time that is not ISO 8601', () => {
    expect(destinationsPartitionOf('yesterday')).toBeNull();
    expect(destinationsPartitionOf('')).toBeNull();
  });
});
