/**
 * The HTML report of a real check, opened in headless Chromium (Debian's `chromium`, driven by
 * playwright-core): it renders without console errors, makes no network request at all, draws one
 * arc per destination country and says NOT COMPLIANT. Leaves a screenshot in test-output/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { renderHtmlReport } from '../../lambda/engine/report/render-html-report';
import { mapCountries } from '../../lambda/engine/report/world-map';
import { destinationOf, droneVerdict, HOSTILE, verdictOf } from './report-fixtures';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUT = join(__dirname, '..', '..', 'test-output');

/** URL schemes that do not leave the machine. */
const LOCAL_URL = /^(data|file|about|blob):/;

describe('HTML report in a browser', () => {
  let browser: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH${process.env.CI ? ' (CI is set: this test must run)' : ''}`,
      );
    }
    profile = mkdtempSync(join(tmpdir(), 'residency-chromium-'));
    // A fresh profile each run (playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      viewport: { width: 1280, height: 900 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('shows the drone example as NOT COMPLIANT, one arc per country, with no requests and no console errors', async () => {
    // Prepare
    const verdict = await droneVerdict();
    const html = renderHtmlReport(verdict);
    mkdirSync(OUT, { recursive: true });
    const file = join(OUT, 'report.html');
    writeFileSync(file, html);
    const expectedCountries = new Set(
      verdict.destinations.filter((d) => d.country !== null && d.status !== 'non-public').map((d) => d.country),
    );
    const page = await browser.newPage();
    const requests: string[] = [];
    const consoleErrors: string[] = [];
    page.on('request', (r) => {
      if (!LOCAL_URL.test(r.url())) requests.push(r.url());
    });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(err.message));

    // Act
    await page.goto(`file://${file}`, { waitUntil: 'load' });
    const banner = await page.locator('.banner .result').innerText();
    const arcs = await page.locator('svg.world-map path.arc').evaluateAll((els) => els.map((el) => el.getAttribute('data-country')));
    const mapBox = await page.locator('svg.world-map').boundingBox();
    await page.screenshot({ path: join(OUT, 'report.png'), fullPage: false });
    await page.close();

    // Assess
    expect(requests).toEqual([]);
    expect(consoleErrors).toEqual([]);
    expect(banner).toBe('NOT COMPLIANT');
    expect(arcs.sort()).toEqual([...expectedCountries].sort());
    expect(arcs).toHaveLength(mapCountries(verdict.destinations).length);
    expect(mapBox?.width).toBeGreaterThan(800);
  });

  it('runs nothing that a log planted in host names and apps', async () => {
    // Prepare
    const verdict = verdictOf(
      HOSTILE.map((evil, i) => destinationOf({ ip: `1.2.3.${i}`, country: 'CN', status: 'violation', rule: evil, hostnames: [evil], apps: [evil] })),
    );
    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });

    // Act
    await page.setContent(renderHtmlReport(verdict), { waitUntil: 'load' });
    const planted = await page.locator('main script, main img, main svg:not(.world-map)').count();
    const shown = await page.locator('td.names .name').allInnerTexts();
    await page.close();

    // Assess
    expect(dialogs).toEqual([]);
    expect(planted).toBe(0);
    expect(shown.sort()).toEqual([...HOSTILE].sort());
  });
});
