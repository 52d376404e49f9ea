/**
 * Verdict → JSON text, in pieces, so a verdict with tens of thousands of destinations is written
 * without building one huge string. Layout: one top-level field per line, small objects indented,
 * list entries one compact object per line (easy to grep and diff, cheap to write).
 */
import type { Verdict } from './verdict';

const LIST_FIELDS = new Set(['countries', 'destinations', 'violations', 'warnings', 'errors']);

function indent(json: string): string {
  return json.replace(/\n/g, '\n  ');
}

/** Yields the verdict's JSON text in pieces; their concatenation is valid JSON. */
export function* serializeVerdict(v: Verdict): Generator<string> {
  const keys = Object.keys(v) as (keyof Verdict)[];
  yield '{\n';
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!;
    const value = v[key];
    const comma = k < keys.length - 1 ? ',' : '';
    if (LIST_FIELDS.has(key) && Array.isArray(value) && value.length > 0) {
      yield `  ${JSON.stringify(key)}: [\n`;
      let batch = '';
      for (let i = 0; i < value.length; i++) {
        batch += `    ${JSON.stringify(value[i])}${i < value.length - 1 ? ',' : ''}\n`;
        if (batch.length > 64 * 1024) {
          yield batch;
          batch = '';
        }
      }
      yield `${batch}  ]${comma}\n`;
    } else {
      yield `  ${JSON.stringify(key)}: ${indent(JSON.stringify(value, null, 2))}${comma}\n`;
    }
  }
  yield '}\n';
}

/** The verdict's JSON text as one string. */
export function verdictJson(v: Verdict): string {
  let out = '';
  for (const piece of serializeVerdict(v)) out += piece;
  return out;
}
