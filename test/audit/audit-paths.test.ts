import { auditRoot, classifyAuditKey, runFolderName } from '../../lambda/engine/audit/audit-paths';

describe('auditRoot', () => {
  it.each([
    [['incoming/'], 'incoming/'],
    [['incoming/drone-a/', 'incoming/app-b/'], 'incoming/'],
    // A common prefix that is not a whole folder name is cut back to the folder.
    [['incoming/drone-a/', 'incoming/drone-b/'], 'incoming/'],
    [['logs/2026-0'], 'logs/'],
    [['a/', 'b/'], ''],
    [[], ''],
  ])('of %j is %j', (prefixes, root) => {
    expect(auditRoot(prefixes)).toBe(root);
  });
});

describe('classifyAuditKey', () => {
  const prefixes = ['incoming/drone-a/', 'incoming/app-b/'];

  it('gives a log its path relative to the root', () => {
    expect(classifyAuditKey('incoming/drone-a/2026/conn.log', 'incoming/', prefixes)).toEqual({ kind: 'log', path: 'drone-a/2026/conn.log' });
  });

  it.each([
    ['incoming/other/conn.log', 'outside'],
    ['archive/conn.log', 'outside'],
    ['incoming/drone-a/', 'folder'],
    ['incoming/drone-a/2026/', 'folder'],
    ['incoming/drone-a/.DS_Store', 'hidden'],
    ['incoming/drone-a/.git/conn.log', 'hidden'],
    ['incoming/app-b/conn.log.verdict.json', 'output'],
    ['incoming/app-b/conn.log.report.html', 'output'],
    ['incoming/app-b/conn.log.report.md', 'output'],
    ['incoming/app-b/drone-x.procurement.json', 'output'],
    ['incoming/app-b/drone-x.procurement.md', 'output'],
    ['incoming/app-b/conn.log.destinations.csv', 'output'],
  ])('skips %s as %s', (key, reason) => {
    expect(classifyAuditKey(key, 'incoming/', prefixes)).toEqual({ kind: 'skip', reason });
  });

  it.each(['incoming/drone-a/2024-06.weekly.report.log', 'incoming/drone-a/site.report.csv', 'incoming/drone-a/report.html.log'])(
    'audits %s: named like a report, but not one residency writes',
    (key) => {
      expect(classifyAuditKey(key, 'incoming/', prefixes)).toEqual({ kind: 'log', path: key.slice('incoming/'.length) });
    },
  );

  it('takes every key under the root when no prefixes are given', () => {
    expect(classifyAuditKey('conn.log', '')).toEqual({ kind: 'log', path: 'conn.log' });
  });
});

describe('runFolderName', () => {
  it('is the start time in UTC without colons', () => {
    expect(runFolderName(new Date('2026-06-01T03:00:00.000Z'))).toBe('2026-06-01T03-00-00.000Z');
  });
});
