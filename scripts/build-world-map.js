#!/usr/bin/env node
// Writes lambda/engine/report/world-map-data.ts (the report map's geometry) from world-atlas with
// d3-geo; see lambda/engine/report/world-map-build.ts. Needs a build (npm run build) first.
'use strict';
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { worldMapDataSource } = require('../dist/lambda/engine/report/world-map-build.js');

const out = join(__dirname, '..', 'lambda', 'engine', 'report', 'world-map-data.ts');
writeFileSync(out, worldMapDataSource());
console.log(`build-world-map: ${out}`);
