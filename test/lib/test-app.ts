import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';

/** Repository root, where cdk.json lives. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/**
 * A CDK app with the context of `cdk.json` (feature flags included) plus `context`, so tests
 * synthesize exactly what `cdk synth` does.
 */
export function newTestApp(context: Record<string, unknown> = {}): App {
  const cdkJson = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return new App({ context: { ...cdkJson.context, ...context } });
}

/** Context that skips asset bundling, for tests that never synthesize. */
export const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] };
