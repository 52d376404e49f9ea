/**
 * summary.json in pieces: an audit of a million logs has a million lines in `logs`, more text than
 * one JavaScript string may hold. The pieces concatenate to exactly `JSON.stringify(summary, null,
 * 2)` and a newline. Pure.
 */
import type { AuditSummary } from './summary';

const LOGS_FIELD = '"logs": []';

/**
 * Yields the text of `summary.json`, one piece per log line.
 *
 * @example writeOutputPieces(runDir, 'summary', '.json', auditSummaryJson(summary));
 */
export function* auditSummaryJson(summary: AuditSummary): Generator<string> {
  const head = JSON.stringify({ ...summary, logs: [] }, null, 2);
  const at = head.lastIndexOf(LOGS_FIELD);
  if (summary.logs.length === 0 || at === -1) {
    yield `${JSON.stringify(summary, null, 2)}\n`;
    return;
  }
  yield `${head.slice(0, at)}"logs": [\n`;
  for (let i = 0; i < summary.logs.length; i++) {
    const line = JSON.stringify(summary.logs[i], null, 2).replace(/\n/g, '\n    ');
    yield `    ${line}${i < summary.logs.length - 1 ? ',' : ''}\n`;
  }
  yield `  ]${head.slice(at + LOGS_FIELD.length)}\n`;
}
