// The dashboard in a real browser: `groklab serve`'s server over a temporary runs directory, the UI
// built by Vite (web/dashboard, built here when web/dashboard/dist is missing or stale), headless
// Debian Chromium driven by playwright-core. A real `groklab train` process trains while the run page
// is open and its curves must grow over Server-Sent Events; a run opens from the list; two runs are
// compared; a sweep of tiny runs shows its phase diagram and a click on a cell opens that run; a run
// whose log has softmax_collapse and nlm_cosine shows their chart and its collapse with the verdict
// (one without them shows neither); a traversal attempt in the page URL gets no file. Screenshots go
// to test-artifacts/dashboard/.
// GROKLAB_SKIP_BROWSER=1 skips it (with a reason), like test/browser.test.ts.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startRun } from '../src/runner/session.ts';
import { type DashboardServer, startDashboardServer } from '../src/server/index.ts';
import { SWEEP_FORMAT, writeSweepManifest } from '../src/sweep/manifest.ts';
import { DASHBOARD_DIST, ensureDashboardBuilt } from '../web/dashboard/build.ts';
import {
  COLLAPSE_STEPS,
  collapsedMemorizerLog,
  withoutStabilityColumns,
  writeRunWithLog,
} from './fixtures/measures/collapse-runs.ts';
import { CHROMIUM, launchChromium } from './helpers/chromium.ts';
import { tempDirs } from './helpers/temp-dirs.ts';
import { tinyGrokkingConfig } from './helpers/tiny-config.ts';

const root = path.resolve(import.meta.dirname, '..');
const ARTIFACTS = path.join(root, 'test-artifacts/dashboard');
const skip = process.env.GROKLAB_SKIP_BROWSER === '1';
const makeDir = tempDirs('dashboard');

/** A small model that trains fast; `steps` evaluations every 10 steps. */
function quickConfig(steps: number, changes: { weight_decay?: number; train_fraction?: number } = {}) {
  const config = tinyGrokkingConfig({
    model: { kind: 'mlp', input: 'onehot', width: 64, depth: 1, activation: 'quadratic', init_scale: 1 },
    train: { steps, weight_decay: changes.weight_decay ?? 1 },
    eval: { every: 10, log_points_per_decade: 3, checkpoint_every: 1000 },
  });
  config.task = { ...config.task, train_fraction: changes.train_fraction ?? 0.7 } as typeof config.task;
  return config;
}

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const points = async (page: Page, testId: string) =>
  Number(await page.getAttribute(`[data-testid="${testId}"]`, 'data-points'));

describe('dashboard in headless Chromium', {
  skip: skip ? 'GROKLAB_SKIP_BROWSER=1: headless Chromium test skipped' : false,
  timeout: 180_000,
}, () => {
  let runsDir: string;
  let server: DashboardServer;
  let browser: Browser;
  let trainer: ChildProcess | null = null;
  let trainerLog = '';
  const pageErrors: string[] = [];
  const sweepRuns = { low: 'sweep-wd0.3-f0.7', high: 'sweep-wd1-f0.7', small: 'sweep-wd1-f0.6' };

  before(async () => {
    assert.ok(
      fs.existsSync(CHROMIUM),
      `${CHROMIUM} is missing: apt-get install -y chromium, or set GROKLAB_SKIP_BROWSER=1`,
    );
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const built = await ensureDashboardBuilt();
    if (built) process.stderr.write(`built the dashboard UI in ${(built.ms / 1000).toFixed(1)} s\n`);
    runsDir = makeDir();

    // The live run: a real training process, stopped by the test.
    const configFile = path.join(makeDir(), 'live.json');
    fs.writeFileSync(configFile, JSON.stringify(quickConfig(20_000)));
    trainer = spawn(
      process.execPath,
      [
        path.join(root, 'bin/groklab.mjs'),
        'train',
        '--config',
        configFile,
        '--runs-dir',
        runsDir,
        '--id',
        'live-run',
        '--quiet',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GROKLAB_THREADS: '1' } },
    );
    trainer.stdout?.on('data', (c) => {
      trainerLog += c;
    });
    trainer.stderr?.on('data', (c) => {
      trainerLog += c;
    });

    // A small sweep (weight decay × training fraction, one cell left empty), trained meanwhile.
    await startRun(runsDir, quickConfig(40, { weight_decay: 0.3 }), { id: sweepRuns.low });
    await startRun(runsDir, quickConfig(40, { weight_decay: 1 }), { id: sweepRuns.high });
    await startRun(runsDir, quickConfig(40, { weight_decay: 1, train_fraction: 0.6 }), {
      id: sweepRuns.small,
    });
    writeSweepManifest(runsDir, {
      format: SWEEP_FORMAT,
      name: 'wd-frac',
      created_at: new Date().toISOString(),
      spec: { base: 'tiny', grid: { 'train.weight_decay': [0.3, 1], 'task.train_fraction': [0.6, 0.7] } },
      axes: [
        { key: 'train.weight_decay', values: [0.3, 1] },
        { key: 'task.train_fraction', values: [0.6, 0.7] },
        { key: 'seed', values: [0] },
      ],
      cells: [
        { run_id: sweepRuns.low, values: { 'train.weight_decay': 0.3, 'task.train_fraction': 0.7, seed: 0 } },
        { run_id: sweepRuns.high, values: { 'train.weight_decay': 1, 'task.train_fraction': 0.7, seed: 0 } },
        { run_id: sweepRuns.small, values: { 'train.weight_decay': 1, 'task.train_fraction': 0.6, seed: 0 } },
      ],
    });

    // Hand-made logs (test/fixtures/measures): a run stalled in softmax collapse, and the same log
    // as a trainer without the two measures writes it.
    writeRunWithLog(runsDir, 'collapsed', collapsedMemorizerLog(), { weight_decay: 0 });
    writeRunWithLog(runsDir, 'older-run', withoutStabilityColumns(collapsedMemorizerLog()), {
      weight_decay: 0,
    });

    // A mixture run's log: x+y jumps at step 400, x·y at step 3000 (metrics per component).
    writeRunWithLog(runsDir, 'mixture-log', mixtureLog() as Parameters<typeof writeRunWithLog>[2], {
      weight_decay: 1,
    });

    server = await startDashboardServer({
      runsDir,
      port: 0,
      staticDir: DASHBOARD_DIST,
      pollMs: 300,
      listPollMs: 500,
    });
    browser = await launchChromium();
  });

  after(async () => {
    // Every process started here is stopped, whatever happened.
    if (trainer && trainer.exitCode === null && trainer.signalCode === null) trainer.kill('SIGKILL');
    await browser?.close();
    await server?.close();
  });

  const newPage = async () => {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('requestfailed', (r) => {
      // Only this server may be contacted (EventSource requests are aborted on navigation: fine).
      if (!r.url().startsWith(server.url)) pageErrors.push(`request to ${r.url()}`);
    });
    return page;
  };

  test('a run opens from the list and its curves grow while it trains', async () => {
    const page = await newPage();
    const runRequests: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/api/runs/live-run'))
        runRequests.push(new URL(r.url()).pathname);
    });
    await page.goto(server.url);
    await page.waitForSelector('tr[data-run="live-run"]', { timeout: 60_000 });
    await page.click('tr[data-run="live-run"] a.run-link');
    await page.waitForURL(/\/runs\/live-run$/);
    await page.waitForSelector('[data-testid="run-page"][data-run="live-run"]');
    await until(
      'a first evaluation on the chart',
      async () => (await points(page, 'chart-accuracy')) > 0,
      60_000,
    );
    const first = await points(page, 'chart-accuracy');
    await until(
      'more evaluations, pushed over SSE',
      async () => (await points(page, 'chart-accuracy')) >= first + 3,
      45_000,
    );
    const later = await points(page, 'chart-accuracy');
    assert.ok(later > first, `points grew from ${first} to ${later}`);
    const counts = await page.evaluate(() =>
      ['chart-accuracy', 'chart-loss', 'chart-norms'].map((id) =>
        Number(document.querySelector(`[data-testid="${id}"]`)?.getAttribute('data-points')),
      ),
    );
    assert.ok(
      counts.every((n) => n === counts[0] && n >= later),
      `every chart gets the same records: ${counts}`,
    );
    // A trainer that measures softmax collapse and the NLM cosine: their chart grows with the others.
    if (await page.$('[data-testid="chart-stability"]')) {
      assert.ok((await points(page, 'chart-stability')) >= counts[0], 'the stability chart gets them too');
    }
    assert.equal(await page.getAttribute('[data-testid="run-page"] .state-running', 'data-state'), 'running');
    // Nothing was polled: one request for the run so far, then one event stream brought the rest.
    assert.deepEqual(runRequests, ['/api/runs/live-run', '/api/runs/live-run/events']);
    await page.screenshot({ path: path.join(ARTIFACTS, 'run-live.png'), fullPage: true });
    assert.equal(trainer?.exitCode, null, `the training process ended early:\n${trainerLog}`);
    trainer?.kill('SIGINT'); // stops after the current step with a checkpoint: the state becomes "stopped"
    await until(
      'the status change',
      async () => (await page.$('[data-testid="run-page"] .state-stopped')) !== null,
      30_000,
    );
    await page.close();
  });

  test('runs selected in the list are compared on shared axes', async () => {
    const page = await newPage();
    await page.goto(server.url);
    await page.waitForSelector(`tr[data-run="${sweepRuns.low}"]`);
    await page.check(`tr[data-run="${sweepRuns.low}"] input[type=checkbox]`);
    await page.check(`tr[data-run="${sweepRuns.high}"] input[type=checkbox]`);
    await page.click('[data-testid="compare-button"]');
    await page.waitForURL(/\/compare\?runs=/);
    await page.waitForSelector('[data-testid="compare-table"] tbody tr >> nth=1');
    assert.equal(await page.locator('[data-testid="compare-table"] tbody tr').count(), 2);
    // The configs differ in weight decay only, and the table says so.
    assert.match(
      (await page.locator('[data-testid="compare-table"] thead').textContent()) ?? '',
      /train\.weight_decay/,
    );
    assert.ok((await points(page, 'compare-accuracy')) > 0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'compare.png'), fullPage: true });
    await page.close();
  });

  test('a sweep page draws the phase diagram and a click on a cell opens its run', async () => {
    const page = await newPage();
    await page.goto(new URL('/sweeps', server.url).href);
    await page.click('[data-sweep="wd-frac"] a');
    await page.waitForURL(/\/sweeps\/wd-frac/);
    await page.waitForSelector('[data-testid="sweep-heatmap"] g.heat-cell');
    // 2 × 2 cells; three runs and one empty cell.
    assert.equal(await page.locator('[data-testid="sweep-heatmap"] g.heat-cell').count(), 4);
    assert.equal(
      await page.locator('[data-testid="sweep-heatmap"] g.heat-cell[data-kind="missing"]').count(),
      1,
    );
    await page.selectOption('[data-testid="sweep-metric"]', 'final_test_acc');
    await page.waitForSelector('[data-testid="sweep-heatmap"] g.heat-cell[data-kind="value"]');
    await page.screenshot({ path: path.join(ARTIFACTS, 'sweep.png'), fullPage: true });
    // Top row is the larger training fraction (0.7); the right column the larger weight decay (1).
    const cell = page.locator('[data-testid="sweep-heatmap"] g.heat-cell[data-row="0"][data-col="1"]');
    assert.match(
      (await cell.locator('title').textContent()) ?? '',
      /train\.weight_decay = 1, task\.train_fraction = 0\.7/,
    );
    await cell.click();
    await page.waitForURL(new RegExp(`/runs/${sweepRuns.high.replace('.', '\\.')}$`));
    await page.waitForSelector(`[data-testid="run-page"][data-run="${sweepRuns.high}"]`);
    assert.ok((await points(page, 'chart-accuracy')) > 0);
    // A groklab run's task and split give the memorization band, from chance 1/31 upward.
    await page.waitForSelector('[data-testid="detect-panel"] dt');
    const detection = (await page.locator('[data-testid="detect-panel"]').textContent()) ?? '';
    assert.match(detection, /memorization band\s*0\.032–0\.\d{3}/);
    await page.close();
  });

  test('a mixture run shows its accuracy per component; a run without components does not', async () => {
    const page = await newPage();
    await page.goto(new URL('runs/mixture-log', server.url).href);
    await page.waitForSelector('[data-testid="run-page"][data-run="mixture-log"]');
    await until('the components chart', async () => (await points(page, 'chart-components')) > 0, 30_000);
    assert.equal(await points(page, 'chart-components'), MIXTURE_STEPS.length);
    const legend = (await page.locator('[data-testid="chart-components"] .u-legend').textContent()) ?? '';
    for (const label of ['all (test)', 'add test', 'add train', 'mul test', 'mul train']) {
      assert.ok(legend.includes(label), `legend lacks ${label}: ${legend}`);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, 'run-components.png'), fullPage: true });
    await page.goto(new URL('runs/older-run', server.url).href);
    await page.waitForSelector('[data-testid="run-page"][data-run="older-run"]');
    await until('its curves', async () => (await points(page, 'chart-accuracy')) > 0, 30_000);
    assert.equal(await page.locator('[data-testid="chart-components"]').count(), 0);
    await page.close();
  });

  test('a run with softmax_collapse and nlm_cosine shows their chart and the collapse with its verdict; an older run neither', async () => {
    const page = await newPage();
    await page.goto(new URL('runs/collapsed', server.url).href);
    await page.waitForSelector('[data-testid="run-page"][data-run="collapsed"]');
    await page.waitForSelector('[data-testid="chart-stability"]');
    assert.equal(await points(page, 'chart-stability'), COLLAPSE_STEPS.length);
    const legend = (await page.locator('[data-testid="chart-stability"] .u-legend').textContent()) ?? '';
    assert.match(legend, /softmax collapse \(share at loss 0\)/);
    assert.match(legend, /NLM cosine cos\(−∇L, θ\)/);
    // Both lines are drawn: pixels in each series' colour on the canvas (Okabe & Ito green and purple).
    // (A string: tsx would wrap a function's inner helpers in a __name the page does not have.)
    const inked: { green: number; purple: number } = await page.evaluate(`(() => {
      const canvas = document.querySelector('[data-testid="chart-stability"] canvas');
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let green = 0;
      let purple = 0;
      for (let i = 0; i < data.length; i += 4) {
        const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
        if (Math.abs(r - 0x00) + Math.abs(g - 0x9e) + Math.abs(b - 0x73) < 40) green++;
        if (Math.abs(r - 0xcc) + Math.abs(g - 0x79) + Math.abs(b - 0xa7) < 40) purple++;
      }
      return { green, purple };
    })()`);
    assert.ok(inked.green > 100 && inked.purple > 100, `line pixels ${JSON.stringify(inked)}`);
    await page.waitForSelector('[data-testid="detect-panel"] dt');
    const detection = (await page.locator('[data-testid="detect-panel"]').textContent()) ?? '';
    assert.match(
      detection,
      /softmax collapse: 93% of the training examples have a float32 loss of exactly 0 at the end \(≥ 50% from step 2400 on\): their gradient vanished; the naïve-loss-minimization cosine is 0\.97/,
    );
    assert.match(detection, /softmax collapse93% at the end \(≥ 50% first at step 2,400\)/);
    assert.match(detection, /NLM cosine0\.97 \(median of the last 5 evaluations\)/);
    assert.match((await page.locator('.summary-strip').textContent()) ?? '', /softmax collapse 93%/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'run-stability.png'), fullPage: true });

    await page.goto(new URL('runs/older-run', server.url).href);
    await page.waitForSelector('[data-testid="run-page"][data-run="older-run"]');
    await until('its curves', async () => (await points(page, 'chart-norms')) > 0, 30_000);
    await page.waitForSelector('[data-testid="detect-panel"] dt');
    assert.equal(await page.locator('[data-testid="chart-stability"]').count(), 0);
    assert.doesNotMatch((await page.locator('[data-testid="run-page"]').textContent()) ?? '', /softmax|NLM/);
    await page.close();
  });

  test('a traversal attempt in the page URL or the API gets no file', async () => {
    const page = await newPage();
    for (const attempt of [
      'runs/..%2F..%2Fetc%2Fpasswd',
      'runs/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      'runs/..%252F..%252Fetc%252Fpasswd',
    ]) {
      const response = await page.goto(new URL(attempt, server.url).href);
      assert.ok(response && [400, 404].includes(response.status()), `${attempt}: ${response?.status()}`);
      assert.doesNotMatch(await page.content(), /root:x:0:0/);
    }
    await page.goto(server.url);
    const statuses = await page.evaluate(async () => {
      const out: number[] = [];
      for (const p of [
        '/api/runs/..%2F..%2Fetc%2Fpasswd',
        '/api/runs/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
        '/api/runs/%2Fetc%2Fpasswd',
      ]) {
        const r = await fetch(p);
        const text = await r.text();
        out.push(text.includes('root:x:0:0') ? -1 : r.status);
      }
      return out;
    });
    assert.deepEqual(statuses, [400, 400, 400]);
    // A well-formed id that is not a run: the page says so.
    await page.goto(new URL('runs/no-such-run', server.url).href);
    await page.waitForSelector('[data-testid="run-error"]');
    assert.match(
      (await page.locator('[data-testid="run-error"]').textContent()) ?? '',
      /no run "no-such-run"/,
    );
    await page.screenshot({ path: path.join(ARTIFACTS, 'not-found.png') });
    await page.close();
    assert.deepEqual(pageErrors, [], 'the pages threw no errors and contacted no other host');
  });
});

const MIXTURE_STEPS = [0, 10, 100, 200, 400, 600, 1000, 2000, 3000, 4000, 5000];

/** Two components: x+y generalizes at step 400, x·y at 3000; the aggregate is their mean. */
function mixtureLog(): Record<string, unknown>[] {
  const jump = (step: number, at: number) => (step >= at ? 1 : 0.02);
  return MIXTURE_STEPS.map((step) => {
    const add = jump(step, 400);
    const mul = jump(step, 3000);
    const train = step >= 100 ? 1 : 0.1;
    return {
      step,
      train_loss: 1 - train + 0.01,
      train_acc: train,
      test_loss: 2 - add - mul + 0.01,
      test_acc: (add + mul) / 2,
      weight_norm: 10,
      norms: {},
      lr: 0.001,
      wall_s: step / 100,
      components: {
        add: { train_loss: 0.01, train_acc: train, test_loss: 1.01 - add, test_acc: add },
        mul: { train_loss: 0.01, train_acc: train, test_loss: 1.01 - mul, test_acc: mul },
      },
    };
  });
}
