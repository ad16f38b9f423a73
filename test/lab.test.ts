// The lab in real headless Chromium (Debian `chromium`, driven by playwright-core): the demo groks
// in the tab and the page says so; the tab's metrics equal `groklab train`'s for the same config,
// bit for bit (the same engine and .wasm, in a Web Worker); an exported zip gives `groklab detect`
// the same verdict; pause, resume and a mid-run weight-decay change give what `groklab resume
// --set` gives; a bad field shows its message and trains nothing; runs survive a reload.
// GROKLAB_SKIP_BROWSER=1 skips it (with a reason).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { applyOverrides, type Override } from '../src/config/overrides.ts';
import { presetRunConfig } from '../src/config/presets.ts';
import { resumeRun, startRun } from '../src/runner/session.ts';
import { openRun } from '../src/runs/index.ts';
import type { EvalRecord } from '../src/train/trainer.ts';
import { buildLab, type LabServer, serveLab } from '../web/lab/build.ts';
import type { LabRun } from '../web/lab/src/model.ts';
import { CHROMIUM, launchChromium } from './helpers/chromium.ts';
import { tempDirs } from './helpers/temp-dirs.ts';

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin/groklab.mjs');
const SCREENSHOT = path.join(root, 'test-artifacts/lab-demo.png');
const skip = process.env.GROKLAB_SKIP_BROWSER === '1';
const tmp = tempDirs('lab');

/** A 1-layer transformer with GELU and pre-LayerNorm on minibatches: exp, erf, sqrt and the sampler. */
const TINY_TRANSFORMER = {
  seed: 7,
  task: { kind: 'modular', op: 'add', p: 23, train_fraction: 0.5 },
  model: {
    kind: 'transformer',
    layers: 1,
    d_model: 32,
    heads: 2,
    d_mlp: 64,
    activation: 'gelu',
    layernorm: 'pre',
    init_scale: 1,
  },
  train: {
    optimizer: 'adamw',
    lr: 1e-2,
    weight_decay: 1,
    beta1: 0.9,
    beta2: 0.98,
    eps: 1e-8,
    momentum: 0,
    warmup_steps: 2,
    batch_size: 64,
    loss: 'cross_entropy',
    stop_test_acc: null,
    stop_patience: 1,
    steps: 120,
  },
  eval: { every: 20, log_points_per_decade: 10, checkpoint_every: 50 },
};

/** Everything a metrics record holds but the wall clock. */
function withoutWall(records: readonly EvalRecord[]): Array<Omit<EvalRecord, 'wall_s'>> {
  return records.map(({ wall_s: _wall, ...rest }) => rest);
}

function cliRecords(runsDir: string, id: string): EvalRecord[] {
  return openRun(runsDir, id).readMetrics().records as unknown as EvalRecord[];
}

describe('the lab in headless Chromium', {
  skip: skip ? 'GROKLAB_SKIP_BROWSER=1: headless Chromium test skipped' : false,
}, () => {
  let server: LabServer;
  let browser: Browser;
  let page: Page;
  const logs: string[] = [];

  before(async () => {
    assert.ok(
      fs.existsSync(CHROMIUM),
      `${CHROMIUM} is missing: run \`apt-get install -y chromium\` (Debian package), or set GROKLAB_SKIP_BROWSER=1`,
    );
    const dir = tmp();
    const built = await buildLab(dir);
    assert.ok(built.inputs.includes('src/train/trainer.ts'), 'the bundle holds the trainer');
    server = await serveLab(dir);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await page.goto(`${server.url}#preset=demo`);
    await page.waitForFunction(() => window.groklabLab !== undefined, undefined, { timeout: 60_000 });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const runOf = (id: string): Promise<LabRun> =>
    page.evaluate((runId) => {
      const run = window.groklabLab?.runs.get(runId);
      if (run === undefined) throw new Error(`no run ${runId}`);
      return run;
    }, id);

  const waitForState = async (id: string, states: string[], timeout = 180_000) => {
    await page.waitForFunction(
      ([runId, wanted]) =>
        (wanted as string[]).includes(window.groklabLab?.runs.get(runId as string)?.state ?? ''),
      [id, states] as const,
      { timeout, polling: 100 },
    );
    return runOf(id);
  };

  /** Creates and starts a run in the page; its id. */
  const trainInPage = (config: unknown): Promise<string> =>
    page.evaluate((raw) => {
      const runs = window.groklabLab?.runs;
      if (runs === undefined) throw new Error('the lab is not loaded');
      const made = runs.create(raw);
      if (!('id' in made)) throw new Error(JSON.stringify(made.problems));
      runs.start(made.id);
      return made.id;
    }, config);

  test('the demo groks in the tab, the page says grokked, and its metrics equal groklab train’s bit for bit', {
    timeout: 300_000,
  }, async (t) => {
    const before = (await page.evaluate(() => window.groklabLab?.runs.getSnapshot().length)) ?? 0;
    await page.getByTestId('train-button').click();
    await page.waitForFunction((n) => (window.groklabLab?.runs.getSnapshot().length ?? 0) > n, before);
    const id = await page.evaluate(() => window.groklabLab?.runs.getSnapshot().at(-1)?.id ?? '');
    const t0 = performance.now();
    const run = await waitForState(id, ['finished', 'failed']);
    const tabSeconds = (performance.now() - t0) / 1000;
    assert.equal(run.state, 'finished', `${run.message}\n${logs.join('\n')}`);
    await page.getByTestId('verdict-badge').filter({ hasText: 'grokked' }).waitFor({ timeout: 10_000 });
    assert.equal(run.detect?.verdict.label, 'grokked');
    assert.match(run.kernels ?? '', /^wasm-fma/, 'the tab trains with the wasm kernels');
    if ((await page.evaluate(() => navigator.hardwareConcurrency)) > 1) {
      assert.match(
        run.kernels ?? '',
        /2 threads|[3-8] threads/,
        'a cross-origin isolated tab trains with threads',
      );
    }
    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    const runsDir = tmp();
    const n0 = performance.now();
    await startRun(runsDir, presetRunConfig('demo'), { id: 'cli-demo' });
    const nodeSeconds = (performance.now() - n0) / 1000;
    t.diagnostic(`demo: tab ${tabSeconds.toFixed(1)} s (${run.kernels}), node ${nodeSeconds.toFixed(1)} s`);
    const cli = cliRecords(runsDir, 'cli-demo');
    assert.equal(run.records.length, cli.length);
    assert.deepEqual(
      withoutWall(run.records),
      withoutWall(cli),
      'the tab and the CLI give different metrics',
    );
    assert.deepEqual(run.checkpoints, openRun(runsDir, 'cli-demo').listCheckpoints());

    // The exported zip is a run folder: `groklab detect` reads it and gives the page's verdict.
    const zipBase64 = await page.evaluate(async (runId) => {
      const blob = await window.groklabLab?.runs.exportZip(runId);
      const bytes = new Uint8Array(await (blob as Blob).arrayBuffer());
      let text = '';
      for (const b of bytes) text += String.fromCharCode(b);
      return btoa(text);
    }, id);
    const zip = path.join(tmp(), `${id}.zip`);
    fs.writeFileSync(zip, Buffer.from(zipBase64, 'base64'));
    const detect = spawnSync(process.execPath, [bin, 'detect', zip, '--json'], { encoding: 'utf8' });
    assert.equal(detect.status, 0, detect.stderr);
    const [fromCli] = JSON.parse(detect.stdout) as Array<{
      verdict: { label: string };
      measures: { t_grok_crossing: number | null };
    }>;
    assert.equal(fromCli.verdict.label, run.detect?.verdict.label);
    assert.equal(fromCli.measures.t_grok_crossing, run.detect?.measures.t_grok_crossing);
  });

  test('a small transformer on minibatches gives groklab train’s metrics bit for bit', {
    timeout: 120_000,
  }, async () => {
    const id = await trainInPage(TINY_TRANSFORMER);
    const run = await waitForState(id, ['finished', 'failed']);
    assert.equal(run.state, 'finished', run.message);
    const runsDir = tmp();
    await startRun(runsDir, TINY_TRANSFORMER, { id: 'tiny' });
    assert.deepEqual(withoutWall(run.records), withoutWall(cliRecords(runsDir, 'tiny')));
  });

  test('pause, resume and a mid-run weight-decay change give what groklab resume --set gives', {
    timeout: 300_000,
  }, async () => {
    const config = applyOverrides(presetRunConfig('demo'), [
      { key: 'train.weight_decay', value: 0 },
      { key: 'train.steps', value: 1500 },
      { key: 'train.stop_test_acc', value: null },
    ]);
    const id = await trainInPage(config);
    await page.waitForFunction((runId) => (window.groklabLab?.runs.get(runId)?.step ?? 0) >= 200, id);
    await page.evaluate((runId) => window.groklabLab?.runs.pause(runId), id);
    const paused = await waitForState(id, ['paused']);
    assert.ok(paused.checkpoints.includes(paused.step), 'a pause checkpoints the step it stopped at');
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal((await runOf(id)).step, paused.step, 'a paused run does not train');
    await page.evaluate((runId) => window.groklabLab?.runs.resume(runId), id);
    await page.waitForFunction(
      ([runId, s]) => (window.groklabLab?.runs.get(runId as string)?.step ?? 0) > (s as number) + 100,
      [id, paused.step] as const,
    );
    const change: Override[] = [{ key: 'train.weight_decay', value: 1 }];
    await page.evaluate(([runId, o]) => window.groklabLab?.runs.change(runId as string, o as Override[]), [
      id,
      change,
    ] as const);
    const run = await waitForState(id, ['finished', 'failed']);
    assert.equal(run.state, 'finished', run.message);
    const lineage = (run.config?.lineage ?? []) as Array<{
      from_run: string;
      from_step: number;
      overrides: Record<string, unknown>;
    }>;
    assert.equal(lineage.length, 1, 'the change is recorded in the lineage, once');
    assert.equal(lineage[0].from_run, id);
    assert.deepEqual(lineage[0].overrides, { 'train.weight_decay': 1 });
    const changedAt = lineage[0].from_step;
    assert.ok(changedAt > paused.step + 100);

    // The CLI: train to the step the change was made at, then resume with the same setting.
    const runsDir = tmp();
    await startRun(runsDir, applyOverrides(config, [{ key: 'train.steps', value: changedAt }]), {
      id: 'cli',
    });
    await resumeRun(runsDir, 'cli', {
      overrides: [...change, { key: 'train.steps', value: 1500 }],
    });
    assert.deepEqual(withoutWall(run.records), withoutWall(cliRecords(runsDir, 'cli')));
  });

  test('a bad field shows its message and trains nothing', { timeout: 60_000 }, async () => {
    const count = await page.evaluate(() => window.groklabLab?.runs.getSnapshot().length);
    await page.goto(`${server.url}#preset=demo&set=train.lr=-1`);
    await page.waitForFunction(() => window.groklabLab !== undefined);
    const problem = page.getByTestId('config-problem').first();
    await problem.waitFor();
    assert.match((await problem.textContent()) ?? '', /train\.lr/);
    assert.equal(await page.getByTestId('train-button').isDisabled(), true);
    assert.equal(
      await page.evaluate(() => window.groklabLab?.runs.getSnapshot().length),
      count,
      'nothing was created',
    );
    const refused = await page.evaluate(() =>
      window.groklabLab?.runs.create({ task: { kind: 'modular', op: 'pow', p: 47 } }),
    );
    assert.ok(
      refused !== undefined &&
        'problems' in refused &&
        refused.problems.some((p) => p.field.startsWith('task')),
    );
  });

  test('runs and their verdicts survive a reload', { timeout: 60_000 }, async () => {
    const before = await page.evaluate(() =>
      window.groklabLab?.runs.getSnapshot().map((r) => [r.id, r.records.length, r.state]),
    );
    await page.reload();
    await page.waitForFunction(() => window.groklabLab !== undefined);
    const afterReload = await page.evaluate(() =>
      window.groklabLab?.runs.getSnapshot().map((r) => [r.id, r.records.length, r.state]),
    );
    assert.deepEqual(afterReload, before);
    await page
      .getByTestId('verdict-badge')
      .filter({ hasText: 'grokked' })
      .first()
      .waitFor({ timeout: 10_000 });
  });
});
