import { parseReportOption } from '../../bin/cli/report-options';
import { UsageError } from '../../lambda/engine/errors';

describe('parseReportOption', () => {
  it('defaults to the HTML report', () => {
    expect(parseReportOption(undefined)).toEqual(['html']);
  });

  it('takes a list, each kind once, and none for no report', () => {
    expect(parseReportOption('html,md,csv')).toEqual(['html', 'md', 'csv']);
    expect(parseReportOption('jsonl,html')).toEqual(['jsonl', 'html']);
    expect(parseReportOption('csv, MD,csv')).toEqual(['csv', 'md']);
    expect(parseReportOption('none')).toEqual([]);
  });

  it.each(['pdf', 'json', 'html,', 'none,html', ''])('rejects %j with a usage error', (value) => {
    expect(() => parseReportOption(value)).toThrow(UsageError);
    expect(() => parseReportOption(value)).toThrow(/^--report: unknown report kind .* \(expected a list of html, md, csv, jsonl, or none\)$/);
  });
});
