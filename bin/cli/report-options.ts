/** `check --report html,md,csv`: which reports to write beside each verdict. */
import { UsageError } from '../../lambda/engine/errors';
import { renderDestinationsCsv, renderHtmlReport, renderMarkdownReport } from '../../lambda/engine/report';
import type { Verdict } from '../../lambda/engine/verdict/verdict';

/** A report kind `--report` accepts. */
export type ReportKind = 'html' | 'md' | 'csv';

/** Each kind: the suffix of its file beside `<name>.verdict.json`, and its renderer. */
export const REPORT_KINDS: Readonly<Record<ReportKind, { suffix: string; render: (v: Verdict) => string }>> = {
  html: { suffix: '.report.html', render: (v) => renderHtmlReport(v) },
  md: { suffix: '.report.md', render: renderMarkdownReport },
  csv: { suffix: '.destinations.csv', render: renderDestinationsCsv },
};

/** Reports written when `--report` is not given. */
export const DEFAULT_REPORTS: readonly ReportKind[] = ['html'];

function isReportKind(s: string): s is ReportKind {
  return Object.prototype.hasOwnProperty.call(REPORT_KINDS, s);
}

/**
 * Parses `--report`: a comma-separated list of `html`, `md`, `csv`, or `none`. Each kind once, in
 * the order given. Throws a {@link UsageError} (exit 2) on anything else.
 */
export function parseReportOption(value: string | undefined): ReportKind[] {
  if (value === undefined) return [...DEFAULT_REPORTS];
  const items = value.split(',').map((s) => s.trim().toLowerCase());
  if (items.length === 1 && items[0] === 'none') return [];
  const kinds: ReportKind[] = [];
  for (const item of items) {
    if (!isReportKind(item)) {
      const seen = item === '' ? 'an empty entry' : item === 'none' ? "'none' with other kinds" : `'${item}'`;
      throw new UsageError(`--report: unknown report kind ${seen} (expected a list of html, md, csv, or none)`);
    }
    if (!kinds.includes(item)) kinds.push(item);
  }
  return kinds;
}
