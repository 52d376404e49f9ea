/**
 * fast-check arbitraries for verdict JSON tests: text and numbers from every corner JSON spells
 * differently, and destinations, violations and list entries built from them.
 */
import fc from 'fast-check';
import type { Verdict, VerdictDestination, VerdictViolation } from '../../lambda/engine/verdict/verdict';

/** Text with what JSON must escape or encode: quotes, backslashes, control characters, non-ASCII, lone surrogates. */
export const awkwardText = fc.string({
  unit: fc.oneof(
    fc.constantFrom('"', '\\', '\u0000', '\b', '\n', '\u001f', '\u007f', '\u0080', 'ä', '\u2028', '\u2029', '€', '😀', '\ud800', '\udfff', '/'),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }),
  ),
  maxLength: 12,
});

/** Mostly plain ASCII (the fast path), sometimes awkward. */
export const someText = fc.oneof({ arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 20 }), weight: 3 }, { arbitrary: awkwardText, weight: 1 });

/** Numbers from every corner `String(n)` spells differently, NaN and the infinities included. */
export const awkwardNumber = fc.oneof(
  fc.nat(),
  fc.maxSafeNat(),
  fc.maxSafeInteger(),
  fc.double(),
  fc.constantFrom(0, -0, 9, 10, 99, 100, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 1e21, 1e-7, 123e-20, -1.5, 0.1, NaN, Infinity, -Infinity),
);

const status = fc.constantFrom<VerdictDestination['status']>('violation', 'unknown', 'blocked', 'allowed', 'non-public');
const addressClass = fc.constantFrom<VerdictDestination['addressClass']>('public', 'private', 'loopback', 'link-local');
const country = fc.oneof(fc.constantFrom('CN', 'US', 'DE'), someText);

/** A destination, fields in the verdict's order. */
export const destinationArb: fc.Arbitrary<VerdictDestination> = fc
  .record({
    ip: someText,
    country: fc.option(country),
    countries: fc.dictionary(someText, fc.option(country), { maxKeys: 3 }),
    addressClass,
    status,
    rule: fc.option(someText),
    connections: awkwardNumber,
    blockedAttempts: awkwardNumber,
    bytesSent: awkwardNumber,
    bytesReceived: awkwardNumber,
    connectionsWithUnknownBytes: awkwardNumber,
    firstSeen: fc.option(someText),
    lastSeen: fc.option(someText),
    ports: fc.array(awkwardNumber, { maxLength: 4 }),
    protocols: fc.array(fc.oneof(fc.constantFrom('tcp', 'udp'), someText), { maxLength: 3 }),
    hostnames: fc.array(someText, { maxLength: 3 }),
    apps: fc.array(someText, { maxLength: 2 }),
    evidenceLines: fc.array(awkwardNumber, { maxLength: 4 }),
    disputed: fc.boolean(),
    asn: fc.option(awkwardNumber),
    asOrganization: fc.option(someText),
    operatorCountry: fc.option(country),
    warning: fc.option(someText),
  })
  .map((d) => ({ ...d }));

/** A violation, fields in the verdict's order. */
export const violationArb: fc.Arbitrary<VerdictViolation> = fc.record({
  ip: someText,
  country: fc.option(country),
  rule: someText,
  hostnames: fc.array(someText, { maxLength: 3 }),
  bytesSent: awkwardNumber,
  connections: awkwardNumber,
  evidenceLines: fc.array(awkwardNumber, { maxLength: 4 }),
  asn: fc.option(awkwardNumber),
  asOrganization: fc.option(someText),
  operatorCountry: fc.option(country),
});

/** A verdict's lists, generated, on the header of `base`. */
export function verdictArb(base: Verdict): fc.Arbitrary<Verdict> {
  return fc
    .record({
      countries: fc.array(
        fc.record({ country: fc.option(country), status, destinations: awkwardNumber, connections: awkwardNumber, bytesSent: awkwardNumber, bytesReceived: awkwardNumber }),
        { maxLength: 3 },
      ),
      destinations: fc.array(destinationArb, { maxLength: 6 }),
      violations: fc.array(violationArb, { maxLength: 4 }),
      warnings: fc.array(fc.record({ ip: someText, rule: someText }), { maxLength: 2 }),
      errors: fc.array(fc.record({ line: awkwardNumber, reason: someText }), { maxLength: 2 }),
      unattributed: fc.array(fc.record({ line: awkwardNumber, reason: someText }), { maxLength: 2 }),
      name: someText,
    })
    .map(({ name, ...lists }) => ({ ...base, input: { ...base.input, name }, ...lists }));
}
