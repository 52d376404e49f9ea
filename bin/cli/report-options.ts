/** `check --report html,md,csv,jsonl`: which reports to write beside each verdict. */
import { UsageError } from '../../lambda/engine/errors';
import { serializeDestinationsJsonl } from '../../lambda/engine/verdict/destinations-jsonl';
import type { Verdict } from '../../lambda/engine/verdict/verdict';

type ReportModule = typeof import('../../lambda/engine/report');
let reportModule: ReportModule | undefined;

/**
 * The report renderers, loaded on first use: a check that writes no report (`--report none`, the
 * benchmark's setting) does not pay for loading the world map's geometry.
 */
function reports(): ReportModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (reportModule ??= require('../../lambda/engine/report') as ReportModule);
}

/** A report kind `--report` accepts. */
export type ReportKind = 'html' | 'md' | 'csv' | 'jsonl';

/**
 * A report's text: one string, or pieces for a report that grows with the number of destinations
 * (written piece by piece, never joined).
 */
export type ReportText = string | Iterable<string>;

/**
 * Each kind: the suffix of its file beside `<name>.verdict.json`, and its renderer (given the
 * verdict and the path its verdict was written to).
 */
export const REPORT_KINDS: Readonly<
  Record<ReportKind, { suffix: string; render: (v: Verdict, verdictPath: string) => ReportText }>
> = {
  html: { suffix: '.report.html', render: (v) => reports().renderHtmlReport(v) },
  md: { suffix: '.report.md', render: (v) => reports().renderMarkdownReport(v) },
  csv: { suffix: '.destinations.csv', render: (v) => reports().renderDestinationsCsv(v) },
  // The rows the deployed function writes for Athena (docs/athena.md), uncompressed; empty for a
  // verdict without destinations, so no file of an earlier run is left beside the new verdict.
  jsonl: { suffix: '.destinations.jsonl', render: (v, verdictPath) => serializeDestinationsJsonl(v, { verdictKey: verdictPath }) },
};

/** Reports written when `--report` is not given. */
export const DEFAULT_REPORTS: readonly ReportKind[] = ['html'];

function isReportKind(s: string): s is ReportKind {
  return Object.prototype.hasOwnProperty.call(REPORT_KINDS, s);
}

/**
 * Parses `--report`: a comma-separated list of `html`, `md`, `csv`, `jsonl`, or `none`. Each kind
 * once, in the order given. Throws a {@link UsageError} (exit 2) on anything else.
 */
export function parseReportOption(value: string | undefined): ReportKind[] {
  if (value === undefined) return [...DEFAULT_REPORTS];
  const items = value.split(',').map((s) => s.trim().toLowerCase());
  if (items.length === 1 && items[0] === 'none') return [];
  const kinds: ReportKind[] = [];
  for (const item of items) {
    if (!isReportKind(item)) {
      const seen = item === '' ? 'an empty entry' : item === 'none' ? "'none' with other kinds" : `'${item}'`;
      throw new UsageError(`--report: unknown report kind ${seen} (expected a list of html, md, csv, jsonl, or none)`);
    }
    if (!kinds.includes(item)) kinds.push(item);
  }
  return kinds;
}
