/**
 * Screenshots of the dashboard for docs/, from runs trained here:
 *
 *   node --import tsx scripts/dashboard-screenshots.ts [--runs-dir DIR] [--out docs]
 *
 *   docs/dashboard-run.png        the run page of the demo preset (grokked; t_mem, onset, t_grok marked)
 *   docs/dashboard-analysis.png   its analysis panels (Fourier spectrum over training, restricted/excluded loss)
 *   docs/dashboard-sweep.png      the phase diagram of a small sweep (weight decay × training fraction)
 *
 * Runs go to a temporary folder unless --runs-dir is given; runs that already finished there are
 * reused, so a second call only takes the pictures. Training takes a few minutes on 2 cores: the demo
 * (~30 s), its analysis, and nine small runs of x+y mod 31.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { analyzeRun } from '../src/analysis/run-analysis.ts';
import { PRESETS } from '../src/config/presets.ts';
import type { RunConfigInput } from '../src/config/schema.ts';
import { startRun } from '../src/runner/session.ts';
import { openRun } from '../src/runs/index.ts';
import { startDashboardServer } from '../src/server/index.ts';
import { SWEEP_FORMAT, type SweepManifest, writeSweepManifest } from '../src/sweep/manifest.ts';
import { launchChromium } from '../test/helpers/chromium.ts';
import { tinyGrokkingConfig } from '../test/helpers/tiny-config.ts';
import { DASHBOARD_DIST, ensureDashboardBuilt } from '../web/dashboard/build.ts';

const root = path.resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const runsDir = path.resolve(
  option('--runs-dir') ?? fs.mkdtempSync(path.join(os.tmpdir(), 'groklab-shots-')),
);
const outDir = path.resolve(option('--out') ?? path.join(root, 'docs'));
const say = (line: string) => process.stderr.write(`${line}\n`);

/** Trains `config` as run `id` unless a finished run of that id is already there. */
async function train(id: string, config: RunConfigInput): Promise<void> {
  if (fs.existsSync(path.join(runsDir, id))) {
    if (openRun(runsDir, id).readStatus().state === 'finished') return;
    fs.rmSync(path.join(runsDir, id), { recursive: true });
  }
  const t0 = performance.now();
  const outcome = await startRun(runsDir, config, { id });
  say(
    `trained ${id}: ${outcome.reason} at step ${outcome.last?.step} in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
}

/** The tests' tiny x+y mod 31 MLP at one weight decay and training fraction, trained to grokking. */
function sweepConfig(weightDecay: number, trainFraction: number): RunConfigInput {
  const config = tinyGrokkingConfig({
    train: { weight_decay: weightDecay, steps: 1500, stop_test_acc: 0.99, stop_patience: 3 },
    eval: { every: 20, checkpoint_every: 1000 },
  });
  if (config.task.kind !== 'modular') throw new Error('the screenshot sweep varies a modular task');
  return { ...config, task: { ...config.task, train_fraction: trainFraction } };
}

async function shoot(page: Page, url: string, file: string, ready: string, clip?: { height: number }) {
  await page.goto(url);
  await page.waitForSelector(ready, { timeout: 60_000 });
  await page.waitForTimeout(800); // charts settle (resize observer, fonts)
  const target = path.join(outDir, file);
  if (clip) await page.screenshot({ path: target, clip: { x: 0, y: 0, width: 1400, height: clip.height } });
  else await page.screenshot({ path: target, fullPage: true });
  say(`wrote ${target}`);
}

say(`runs in ${runsDir}`);
await train('demo', { preset: 'demo', ...structuredClone(PRESETS.demo.config) });
const demo = openRun(runsDir, 'demo');
if (!fs.existsSync(path.join(demo.dir, 'analysis', 'analysis.json'))) {
  const t0 = performance.now();
  analyzeRun(demo, { onProgress: (m) => say(`  ${m}`) });
  say(`analysed demo in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

const weightDecays = [0.1, 0.3, 1];
const fractions = [0.4, 0.55, 0.7];
const cells: SweepManifest['cells'] = [];
for (const wd of weightDecays) {
  for (const frac of fractions) {
    const id = `wd-frac-wd${wd}-f${frac}`;
    await train(id, sweepConfig(wd, frac));
    cells.push({ run_id: id, values: { 'train.weight_decay': wd, 'task.train_fraction': frac, seed: 0 } });
  }
}
writeSweepManifest(runsDir, {
  format: SWEEP_FORMAT,
  name: 'wd-frac',
  created_at: new Date().toISOString(),
  spec: {
    base: 'x+y mod 31, MLP 128',
    grid: { 'train.weight_decay': weightDecays, 'task.train_fraction': fractions },
  },
  axes: [
    { key: 'train.weight_decay', values: weightDecays },
    { key: 'task.train_fraction', values: fractions },
    { key: 'seed', values: [0] },
  ],
  cells,
});

await ensureDashboardBuilt({ log: say });
const server = await startDashboardServer({ runsDir, port: 0, staticDir: DASHBOARD_DIST });
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  fs.mkdirSync(outDir, { recursive: true });
  await shoot(page, new URL('/runs/demo', server.url).href, 'dashboard-run.png', '[data-testid="analysis"]', {
    height: 1210,
  });
  // The analysis section, cut from the whole page (clip coordinates are page coordinates here).
  const analysisTop = await page.evaluate(
    () =>
      (document.querySelector('[data-testid="analysis"]')?.getBoundingClientRect().top ?? 0) + window.scrollY,
  );
  await page.screenshot({
    path: path.join(outDir, 'dashboard-analysis.png'),
    clip: { x: 0, y: Math.max(0, analysisTop - 8), width: 1400, height: 1320 },
    fullPage: true,
  });
  say(`wrote ${path.join(outDir, 'dashboard-analysis.png')}`);
  await shoot(
    page,
    new URL('/sweeps/wd-frac', server.url).href,
    'dashboard-sweep.png',
    '[data-testid="sweep-heatmap"]',
    {
      height: 620,
    },
  );
} finally {
  await browser.close();
  await server.close();
}
