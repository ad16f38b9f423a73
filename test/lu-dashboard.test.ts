// The dashboard's LU panel in headless Chromium: a sweep over train.fixed_norm written by hand
// (test/helpers/lu-sweep.ts) shows final loss and accuracy against the norm, one point per norm, and
// its Goldilocks zone; a sweep over another axis shows no panel. GROKLAB_SKIP_BROWSER=1 skips it.
// The screenshot goes to test-artifacts/dashboard/lu.png.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { type DashboardServer, startDashboardServer } from '../src/server/index.ts';
import { readSweepManifest, writeSweepManifest } from '../src/sweep/manifest.ts';
import { DASHBOARD_DIST, ensureDashboardBuilt } from '../web/dashboard/build.ts';
import { CHROMIUM, launchChromium } from './helpers/chromium.ts';
import { LU_NORMS, writeLuSweep } from './helpers/lu-sweep.ts';
import { tempDirs } from './helpers/temp-dirs.ts';

const ARTIFACTS = path.resolve(import.meta.dirname, '..', 'test-artifacts/dashboard');
const skip = process.env.GROKLAB_SKIP_BROWSER === '1';
const makeDir = tempDirs('lu-dashboard');

describe('the LU panel of the sweep page', {
  skip: skip ? 'GROKLAB_SKIP_BROWSER=1: headless Chromium test skipped' : false,
  timeout: 120_000,
}, () => {
  let server: DashboardServer;
  let browser: Browser;

  before(async () => {
    assert.ok(
      fs.existsSync(CHROMIUM),
      `${CHROMIUM} is missing: apt-get install -y chromium, or set GROKLAB_SKIP_BROWSER=1`,
    );
    await ensureDashboardBuilt();
    const runsDir = makeDir();
    writeLuSweep(runsDir, 'lu');
    // The same runs under an axis that is not a norm: no LU panel.
    const manifest = readSweepManifest(runsDir, 'lu');
    writeSweepManifest(runsDir, {
      ...manifest,
      name: 'other',
      axes: manifest.axes.map((a) => (a.key === 'train.fixed_norm' ? { ...a, key: 'train.lr' } : a)),
      cells: manifest.cells.map((c) => {
        const { 'train.fixed_norm': norm, ...rest } = c.values;
        return { ...c, values: { ...rest, 'train.lr': norm } };
      }),
    });
    server = await startDashboardServer({ runsDir, port: 0, staticDir: DASHBOARD_DIST });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('draws loss and accuracy against the norm with the Goldilocks zone', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(new URL('/sweeps/lu', server.url).href);
    await page.waitForSelector('[data-testid="lu-loss"] canvas', { timeout: 30_000 });
    assert.equal(Number(await page.getAttribute('[data-testid="lu-loss"]', 'data-points')), LU_NORMS.length);
    assert.equal(
      Number(await page.getAttribute('[data-testid="lu-accuracy"]', 'data-points')),
      LU_NORMS.length,
    );
    // Medians over the three seeds: best test accuracy 0.8 at 10, 0.75 at 30 is within 0.9 × of it.
    assert.equal(
      await page.textContent('[data-testid="lu-zones"]'),
      'Goldilocks zone ‖θ‖ ∈ [10, 30] (median test accuracy ≥ 0.9 × the best, 0.800 at 10); lowest test loss 1.00 at 10',
    );
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'lu.png'), fullPage: true });
    await page.goto(new URL('/sweeps/other', server.url).href);
    await page.waitForSelector('[data-testid="sweep-heatmap"]', { timeout: 30_000 });
    assert.equal(await page.locator('[data-testid="lu-panel"]').count(), 0);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
