#!/usr/bin/env node
/**
 * Build step: converts the `@ip-location-db/asn` CSV files into the compact table the engine
 * loads (`dist/data/asn-table.bin`). Run by `npm run build`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildAsnTableBinary } from '../lambda/engine/geo/asn-table';

const dir = dirname(require.resolve('@ip-location-db/asn/package.json'));
const out = process.argv[2] ?? join(__dirname, '..', 'data', 'asn-table.bin');
const binary = buildAsnTableBinary(
  '@ip-location-db/asn',
  readFileSync(join(dir, 'asn-ipv4-num.csv')),
  readFileSync(join(dir, 'asn-ipv6.csv')),
);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, binary);
process.stdout.write(`${out}: ${binary.length} bytes\n`);
