/**
 * Screenshots of the lab for the README and docs/, from runs trained in the tab here:
 *
 *   node --import tsx scripts/lab-screenshots.ts [--out docs]
 *
 *   docs/lab-demo.png       the demo preset trained in the tab: curves with t_mem, onset and t_grok
 *                           marked, the verdict `grokked`, the embedding's Fourier spectrum
 *   docs/lab-compare.png    the course experiment "weight decay on vs off", two runs side by side
 *   docs/lab-spectrum.png   the demo run's spectrum panel: key frequencies and their energy share
 *
 * The lab is built into a temporary folder, served with the isolation headers and driven in
 * headless Chromium by its own buttons. About a minute on 2 cores.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium } from '../test/helpers/chromium.ts';
import { buildLab, serveLab } from '../web/lab/build.ts';

const root = path.resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const outDir = path.resolve(outAt >= 0 ? args[outAt + 1] : path.join(root, 'docs'));
const say = (line: string) => process.stderr.write(`${line}\n`);

/** Waits until every run in the page has stopped training; their ids. */
async function waitUntilDone(page: Page, count: number): Promise<void> {
  await page.waitForFunction(
    (n) => {
      const runs = window.groklabLab?.runs.getSnapshot() ?? [];
      return runs.length >= n && runs.every((r) => r.state === 'finished' || r.state === 'failed');
    },
    count,
    { timeout: 600_000, polling: 250 },
  );
  // Let the last verdict and the charts redraw.
  await page.waitForTimeout(1000);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'groklab-lab-shots-'));
try {
  await buildLab(dir);
  const server = await serveLab(dir);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`${server.url}#preset=demo`);
    await page.waitForFunction(() => window.groklabLab !== undefined);
    fs.mkdirSync(outDir, { recursive: true });

    say('training the demo in the tab…');
    await page.getByTestId('train-button').click();
    await waitUntilDone(page, 1);
    await page.getByTestId('verdict-badge').filter({ hasText: 'grokked' }).waitFor();
    await page.screenshot({ path: path.join(outDir, 'lab-demo.png'), fullPage: true });
    await page.getByTestId('spectrum-panel').screenshot({ path: path.join(outDir, 'lab-spectrum.png') });

    say('weight decay on vs off, side by side…');
    await page.getByTestId('experiment-weight-decay').click();
    await waitUntilDone(page, 3);
    await page.screenshot({ path: path.join(outDir, 'lab-compare.png'), fullPage: true });
    say(
      `wrote lab-demo.png, lab-spectrum.png, lab-compare.png in ${path.relative(process.cwd(), outDir) || '.'}`,
    );
  } finally {
    await browser.close();
    await server.close();
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
