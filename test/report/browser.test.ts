import * as fs from 'fs';
import * as path from 'path';
import { parseCsv } from '../../src/cli/compare';
import { cliHarness } from '../helpers/cli';
import { NOISY, writeScenario } from '../sweep/scenarios';

/**
 * Opens a sweep's report.html in a real headless browser (Debian's chromium through
 * playwright-core) and checks what it renders: every plot present and non-empty, the ranked
 * table's rows those of summary.csv, and nothing fetched from anywhere.
 */
const CHROMIUM = process.env.SPLITSIM_CHROMIUM ?? '/usr/bin/chromium';
const { maybe, work, run } = cliHarness('report', 'src/cli/report.js');
const haveBrowser = fs.existsSync(CHROMIUM);
if (!haveBrowser) console.log(`skipping the report browser test: no chromium at ${CHROMIUM} (apt-get install chromium; .ci/run does)`);
const withBrowser = haveBrowser ? maybe : describe.skip;

withBrowser('report.html in a headless browser', () => {
  test('every plot is drawn and non-empty, the table rows equal summary.csv, nothing is fetched', async () => {
    const f = writeScenario(work, 'noisy.yaml', NOISY);
    const r = run(['sweep', '--scenario', f, '--vary', 'uplink.rateBps=2e5..2e7', '--steps', '5', '--log', '--out', 'out']);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const dir = path.join(work, 'out');
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      const fetched: string[] = [];
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith('file:')) return route.continue();
        fetched.push(url);
        return route.abort();
      });
      await page.goto(`file://${path.join(dir, 'report.html')}`, { waitUntil: 'load' });
      const plots = await page.evaluate(() => [...document.querySelectorAll('figure.plot')].map((fig) => {
        const svg = fig.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        // Vega draws every mark as a path (lines, symbols, bars, rules) inside a g.mark-* group.
        const marks = svg ? [...svg.querySelectorAll('g[class^="mark-"] path, g[class^="mark-"] line')].filter((p) => {
          const b = (p as SVGGraphicsElement).getBBox();
          return b.width > 0 || b.height > 0;
        }).length : 0;
        return { name: fig.getAttribute('data-plot'), width: box?.width ?? 0, height: box?.height ?? 0, marks };
      }));
      expect(plots.map((p) => p.name)).toEqual(['rate-accuracy', 'latency-breakdown', 'energy-breakdown', 'sweep-latency', 'sweep-energy']);
      for (const p of plots) {
        expect([p.name, p.width > 200, p.height > 100, p.marks > 3]).toEqual([p.name, true, true, true]);
      }
      const table = await page.evaluate(() => [...document.querySelectorAll('#ranked tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
      const [head, ...rows] = parseCsv(fs.readFileSync(path.join(dir, 'summary.csv'), 'utf8'));
      const col = (name: string) => head.indexOf(name);
      expect(table.map((t) => [t[0], t[1]])).toEqual(rows.map((x) => [x[col('rank')], x[col('pipeline')]]));
      expect(table.map((t) => t[7])).toEqual(rows.map((x) => Number(x[col('e2e_mean_ms')]).toFixed(2)));
      const regimes = await page.evaluate(() => document.querySelectorAll('#regimes > li').length);
      expect(regimes).toBe(6);
      expect(fetched).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
