// End to end: real training runs on a tiny seeded task, through the run folder and the CLI.
//
// The task is x+y mod 31 with 70% of the pairs for training, learned by a one-hidden-layer MLP
// (one-hot inputs, quadratic activation, width 128) with AdamW lr 1e-2, weight decay 1, full
// batch. Measured on a 2-core machine (eval every 10 steps), for seeds 0/1/2 (seed = split_seed):
//   first eval with train acc ≥ 0.99 (t_mem):  50 / 50 / 50
//   first eval with test acc ≥ 0.9   (t_grok): 240 / 270 / 230   (≥ 0.95 at 270 / 290 / 250)
// and test acc ≤ 0.01 up to step ~110 (seed 0), i.e. a plateau after memorization, then the jump.
// About 10–20 ms per step, so a grokking curve takes a few seconds.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import type { RunConfigInput } from '../src/config/schema.ts';
import { getKernels } from '../src/engine/kernels-default.ts';
import { RunDiverged, resumeRun, startRun } from '../src/runner/session.ts';
import { decodeSafetensors, type MetricsRecord, openRun, type RunFolder } from '../src/runs/index.ts';
import type { EvalRecord } from '../src/train/trainer.ts';
import { UsageError } from '../src/util/errors.ts';
import { tempDirs } from './helpers/temp-dirs.ts';
import { tinyGrokkingConfig } from './helpers/tiny-config.ts';

const tmpRunsDir = tempDirs('e2e');

function records(run: RunFolder): EvalRecord[] {
  const read = run.readMetrics();
  assert.equal(read.tornTail, false, `${run.metricsPath} has a torn last line`);
  return read.records as unknown as EvalRecord[];
}

/** Records without wall_s, the one field that legitimately differs between identical runs. */
function withoutWall(list: readonly EvalRecord[] | readonly MetricsRecord[]): Record<string, unknown>[] {
  return list.map((r) => {
    const { wall_s: _wall, ...rest } = r as unknown as Record<string, unknown>;
    return rest;
  });
}

function steps(list: readonly { step: number }[]): number[] {
  return list.map((r) => r.step);
}

/** The checkpoint's tensors whose names start with `prefix`, as raw bytes, by name. */
function checkpointTensors(run: RunFolder, step: number, prefix: string): Map<string, Buffer> {
  const { tensors } = decodeSafetensors(run.readCheckpoint(step));
  const out = new Map<string, Buffer>();
  for (const [name, t] of Object.entries(tensors)) {
    if (name.startsWith(prefix))
      out.set(name, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  assert.ok(out.size > 0, `checkpoint ${step} of ${run.id} has no ${prefix}* tensors`);
  return out;
}

function assertSameTensors(a: RunFolder, b: RunFolder, step: number, prefix: string): void {
  const ta = checkpointTensors(a, step, prefix);
  const tb = checkpointTensors(b, step, prefix);
  assert.deepEqual([...tb.keys()], [...ta.keys()]);
  for (const [name, bytes] of ta) {
    assert.ok(
      bytes.equals(tb.get(name) as Buffer),
      `${prefix}: ${name} at step ${step} differs: ${a.id} vs ${b.id}`,
    );
  }
}

function assertStrictlyIncreasing(list: readonly { step: number }[], what: string): void {
  for (let i = 1; i < list.length; i++) {
    assert.ok(list[i].step > list[i - 1].step, `${what}: step ${list[i].step} after ${list[i - 1].step}`);
  }
}

describe('a tiny grokking run (x+y mod 31, MLP width 128, seed 0)', () => {
  const runsDir = tmpRunsDir();
  // Stops at the first eval with test acc ≥ 0.95 (step 270 for seed 0); 400 is a ceiling.
  const config = tinyGrokkingConfig({ train: { steps: 400, stop_test_acc: 0.95, stop_patience: 1 } });
  let run: RunFolder;
  let reason: string;
  let metrics: EvalRecord[];

  before(async () => {
    const outcome = await startRun(runsDir, config);
    run = outcome.run;
    reason = outcome.reason;
    metrics = records(run);
  });

  it('memorizes, then generalizes much later', () => {
    const curve = metrics
      .map((r) => `${r.step}:${r.train_acc.toFixed(2)}/${r.test_acc.toFixed(2)}`)
      .join(' ');
    const mem = metrics.find((r) => r.train_acc >= 0.99);
    assert.ok(mem, `never memorized: ${curve}`);
    const tMem = mem.step;
    // At memorization the test set is still at chance (1/31 ≈ 0.03): observed 0.00.
    assert.ok(mem.test_acc < 0.1, `test acc ${mem.test_acc} at t_mem ${tMem}: ${curve}`);
    // And it stays there for a while after: observed ≤ 0.01 up to 2·t_mem = 100.
    for (const r of metrics.filter((r) => r.step <= 2 * tMem)) {
      assert.ok(r.test_acc < 0.2, `test acc ${r.test_acc} at step ${r.step} ≤ 2·t_mem: ${curve}`);
    }
    const grok = metrics.find((r) => r.test_acc >= 0.9);
    assert.ok(grok, `never generalized: ${curve}`);
    // Observed t_grok / t_mem = 4.8 (seed 0), 5.4 and 4.6 (seeds 1, 2): 3 leaves a margin for
    // the curve to move a little (another machine's float rounding, a kernel change) while
    // still ruling out "learned train and test together".
    assert.ok(grok.step >= 3 * tMem, `t_grok ${grok.step} < 3·t_mem ${3 * tMem}: ${curve}`);
    // Train accuracy stays perfect from memorization on (no loss spikes at this lr).
    for (const r of metrics.filter((r) => r.step >= tMem))
      assert.ok(r.train_acc >= 0.99, `step ${r.step}: ${curve}`);
    const last = metrics[metrics.length - 1];
    assert.ok(last.test_acc >= 0.95, `final test acc ${last.test_acc}: ${curve}`);
    assert.equal(reason, 'threshold');
    assert.ok(last.step < 400, 'the stop rule ended the run before the step budget');
  });

  it('leaves a complete run folder', () => {
    const stored = run.readConfig() as Record<string, unknown> & { train: Record<string, unknown> };
    assert.equal(stored.preset, 'tiny-grokking');
    assert.equal(stored.seed, 0);
    assert.equal(stored.split_seed, 0, 'split_seed resolved to the seed');
    const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    assert.equal(stored.groklab_version, pkg.version);
    assert.deepEqual(stored.task, config.task);
    assert.deepEqual(stored.model, config.model);
    assert.deepEqual(stored.train, config.train);
    assert.deepEqual(stored.eval, config.eval);
    assert.equal(stored.lineage, undefined);

    const split = run.readSplit() as { num_examples: number; train: number[]; test: number[] };
    const n = 31 * 31;
    assert.equal(split.num_examples, n);
    assert.equal(split.train.length, Math.round(0.7 * n));
    assert.equal(split.test.length, n - Math.round(0.7 * n));
    const trainSet = new Set(split.train);
    assert.equal(trainSet.size, split.train.length, 'no duplicates in train');
    assert.ok(
      split.test.every((i) => !trainSet.has(i)),
      'train and test are disjoint',
    );
    const all = [...split.train, ...split.test].sort((a, b) => a - b);
    assert.deepEqual(
      all,
      Array.from({ length: n }, (_, i) => i),
      'train ∪ test covers every pair once',
    );

    assert.equal(metrics[0].step, 0, 'the initialization is evaluated');
    assertStrictlyIncreasing(metrics, 'metrics.jsonl');
    const last = metrics[metrics.length - 1];
    for (const r of metrics) {
      for (const key of [
        'train_loss',
        'train_acc',
        'test_loss',
        'test_acc',
        'weight_norm',
        'lr',
        'wall_s',
      ] as const) {
        assert.ok(Number.isFinite(r[key]), `step ${r.step}: ${key} = ${r[key]}`);
      }
      assert.ok(Object.keys(r.norms).length > 0);
    }
    // Log-spaced evals before `every` (5 per decade: 1, 2, 3, 4, 6), then every 10 steps.
    assert.deepEqual(steps(metrics.slice(0, 8)), [0, 1, 2, 3, 4, 6, 10, 20]);

    const checkpoints = run.listCheckpoints();
    // Powers of two below checkpoint_every, its multiples, and the last step.
    const expected = [0, 1, 2, 4, 8, 16, 32, 64, 100, 200];
    if (last.step % 100 !== 0) expected.push(last.step);
    assert.deepEqual(checkpoints, expected);

    const status = run.readStatus();
    assert.equal(status.state, 'finished');
    assert.equal(status.step, last.step);
    assert.equal(status.pid, process.pid);
    assert.equal(status.kernels, getKernels().name, 'the run says which kernels computed it');
  });
});

describe('determinism', () => {
  it('the same config and seed give identical metrics; another seed does not', async () => {
    const runsDir = tmpRunsDir();
    const config = tinyGrokkingConfig({ train: { steps: 100 } });
    const a = (await startRun(runsDir, config, { id: 'a' })).run;
    const b = (await startRun(runsDir, config, { id: 'b' })).run;
    const c = (await startRun(runsDir, tinyGrokkingConfig({ seed: 1, train: { steps: 100 } }), { id: 'c' }))
      .run;
    const ra = records(a);
    assert.ok(ra.length > 10);
    // Numbers read back from JSON are the same doubles iff they were written from the same doubles.
    assert.deepEqual(withoutWall(records(b)), withoutWall(ra));
    assertSameTensors(a, b, 100, 'param.');
    assert.deepEqual(steps(records(c)), steps(ra));
    assert.notDeepEqual(withoutWall(records(c)), withoutWall(ra));
    assert.notDeepEqual(c.readSplit(), a.readSplit(), 'the split follows the seed');
  });
});

describe('resume', () => {
  const N = 150;
  const S = 77; // neither an eval step (every 10) nor a checkpoint step (…, 64, 100)

  // A small transformer too (minibatches, pre-layernorm): cheap at this size, and it has other
  // parameters and kernels than the MLP.
  const smallTransformer: RunConfigInput = {
    ...tinyGrokkingConfig(),
    task: { kind: 'modular', op: 'sub', p: 13, train_fraction: 0.5 },
    model: {
      kind: 'transformer',
      layers: 1,
      d_model: 16,
      heads: 2,
      d_mlp: 32,
      activation: 'relu',
      layernorm: 'pre',
      init_scale: 1,
    },
  };
  const interruptCases: Array<{ name: string; config: RunConfigInput }> = [
    { name: 'MLP, full batch', config: tinyGrokkingConfig({ train: { steps: N } }) },
    { name: 'MLP, batches of 256', config: tinyGrokkingConfig({ train: { steps: N, batch_size: 256 } }) },
    {
      name: 'transformer, batches of 32',
      config: { ...smallTransformer, train: { ...smallTransformer.train, steps: 100, batch_size: 32 } },
    },
  ];

  for (const { name, config } of interruptCases) {
    it(`an interrupted run resumed in place equals an uninterrupted one (${name})`, async () => {
      const runsDir = tmpRunsDir();
      const total = config.train.steps;
      const a = (await startRun(runsDir, config, { id: 'a' })).run;

      const stopped = await startRun(runsDir, config, { id: 'b', hooks: { onStep: (step) => step === S } });
      assert.equal(stopped.reason, 'interrupted');
      assert.equal(stopped.step, S, 'the outcome names the step trained last, not the last evaluation');
      const b = stopped.run;
      assert.equal(b.readStatus().state, 'stopped');
      assert.equal(b.readStatus().step, S);
      assert.equal(b.latestCheckpoint(), S, 'the interrupt wrote its own checkpoint');
      assert.equal(records(b).at(-1)?.step, 70);

      const resumed = await resumeRun(runsDir, 'b');
      assert.equal(resumed.run.id, 'b', 'resumed in place');
      assert.equal(resumed.reason, 'budget');
      assert.equal(b.readStatus().state, 'finished');
      assert.equal(b.readStatus().step, total);

      const ra = records(a);
      const rb = records(b);
      assert.deepEqual(steps(rb), steps(ra), 'no duplicated or missing steps');
      assert.deepEqual(withoutWall(rb), withoutWall(ra));
      // Training time keeps counting across the interruption.
      for (let i = 1; i < rb.length; i++)
        assert.ok(rb[i].wall_s >= rb[i - 1].wall_s, `wall_s at step ${rb[i].step}`);
      assert.deepEqual(
        b.listCheckpoints(),
        [...a.listCheckpoints(), S].sort((x, y) => x - y),
      );
      assertSameTensors(a, b, total, 'param.');
      assertSameTensors(a, b, total, 'optim.');
      assertSameTensors(a, b, 64, 'param.');
      // Resuming in place without overrides leaves config.json as it was.
      assert.deepEqual(b.readConfig(), a.readConfig());
    });
  }

  it('an interrupted run with a Grokfast filter resumed in place equals an uninterrupted one (transformer, batches of 32)', async () => {
    const runsDir = tmpRunsDir();
    for (const grad_filter of [
      { kind: 'ema', alpha: 0.98, lamb: 2 },
      { kind: 'ma', window: 30, lamb: 5 },
    ] as const) {
      const config: RunConfigInput = {
        ...smallTransformer,
        train: { ...smallTransformer.train, steps: 100, batch_size: 32, grad_filter },
      };
      const a = (await startRun(runsDir, config, { id: `${grad_filter.kind}-a` })).run;
      const stopped = await startRun(runsDir, config, {
        id: `${grad_filter.kind}-b`,
        hooks: { onStep: (step) => step === S },
      });
      assert.equal(stopped.reason, 'interrupted');
      const b = (await resumeRun(runsDir, stopped.run.id)).run;
      assert.deepEqual(withoutWall(records(b)), withoutWall(records(a)), grad_filter.kind);
      assertSameTensors(a, b, 100, 'param.');
      assertSameTensors(a, b, 100, 'optim.');
      assertSameTensors(a, b, 100, 'filter.');
      // An MA window is kept only at the newest resume point; an EMA state in every checkpoint.
      if (grad_filter.kind === 'ema') assertSameTensors(a, b, 64, 'filter.');
    }
  });

  it('from an earlier checkpoint forks a new run that continues exactly', async () => {
    const runsDir = tmpRunsDir();
    const config = tinyGrokkingConfig({ train: { steps: N } });
    const a = (await startRun(runsDir, config, { id: 'a' })).run;
    const aMetricsBefore = fs.readFileSync(a.metricsPath, 'utf8');
    const aCheckpointsBefore = a.listCheckpoints();

    const histories: number[] = [];
    const outcome = await resumeRun(runsDir, 'a', {
      step: 64,
      hooks: { onStart: ({ step }) => histories.push(step) },
    });
    const fork = outcome.run;
    assert.notEqual(fork.id, 'a', 'an earlier checkpoint forks by default');
    assert.match(fork.id, /^a-from64-/);
    assert.deepEqual(histories, [64]);
    // The original is untouched.
    assert.equal(fs.readFileSync(a.metricsPath, 'utf8'), aMetricsBefore);
    assert.deepEqual(a.listCheckpoints(), aCheckpointsBefore);
    assert.equal(a.readStatus().state, 'finished');

    const ra = records(a);
    const rf = records(fork);
    // History up to the checkpoint is copied as is (wall_s included).
    assert.deepEqual(
      rf.filter((r) => r.step <= 64),
      ra.filter((r) => r.step <= 64),
    );
    assert.deepEqual(steps(rf), steps(ra));
    assert.deepEqual(withoutWall(rf), withoutWall(ra));
    assert.deepEqual(fork.listCheckpoints(), aCheckpointsBefore);
    assertSameTensors(a, fork, 64, 'param.');
    assertSameTensors(a, fork, N, 'param.');
    assertSameTensors(a, fork, N, 'optim.');

    const forkConfig = fork.readConfig() as { lineage?: Array<Record<string, unknown>> };
    assert.equal(forkConfig.lineage?.length, 1);
    assert.equal(forkConfig.lineage?.[0].from_run, 'a');
    assert.equal(forkConfig.lineage?.[0].from_step, 64);
    assert.deepEqual(forkConfig.lineage?.[0].overrides, {});
    assert.equal(fork.readStatus().state, 'finished');
  });

  it('with a changed weight decay records it and continues from the checkpoint step', async () => {
    const runsDir = tmpRunsDir();
    const a = (await startRun(runsDir, tinyGrokkingConfig({ train: { steps: 100 } }), { id: 'a' })).run;
    const before = records(a);
    const overrides = [
      { key: 'train.weight_decay', value: 0.25 },
      { key: 'train.steps', value: 140 },
    ];
    const outcome = await resumeRun(runsDir, 'a', { overrides });
    assert.equal(outcome.run.id, 'a', 'the latest checkpoint resumes in place');
    assert.equal(outcome.config.train.weight_decay, 0.25);

    const config = a.readConfig() as {
      train: { weight_decay: number; steps: number; lr: number };
      lineage?: Array<Record<string, unknown>>;
    };
    assert.equal(config.train.weight_decay, 0.25);
    assert.equal(config.train.steps, 140);
    assert.equal(config.train.lr, 1e-2, 'other fields unchanged');
    assert.equal(config.lineage?.length, 1);
    const entry = config.lineage?.[0] ?? {};
    assert.equal(entry.from_run, 'a');
    assert.equal(entry.from_step, 100);
    assert.deepEqual(entry.overrides, { 'train.weight_decay': 0.25, 'train.steps': 140 });
    assert.ok(!Number.isNaN(Date.parse(String(entry.at))), `lineage time ${entry.at}`);

    const after = records(a);
    assertStrictlyIncreasing(after, 'metrics after the resume');
    assert.deepEqual(after.slice(0, before.length), before, 'history up to the checkpoint kept as is');
    assert.deepEqual(steps(after.slice(before.length)), [110, 120, 130, 140]);
    assert.deepEqual(a.listCheckpoints().slice(-2), [100, 140]);
    assert.equal(a.readStatus().state, 'finished');
    assert.equal(a.readStatus().step, 140);
  });

  it('rejects changes to fields the checkpoint depends on, changing nothing', async () => {
    const runsDir = tmpRunsDir();
    const a = (await startRun(runsDir, tinyGrokkingConfig({ train: { steps: 5 } }), { id: 'a' })).run;
    const metricsBefore = fs.readFileSync(a.metricsPath, 'utf8');
    const configBefore = fs.readFileSync(a.configPath, 'utf8');
    for (const key of ['task.p', 'model.d_model']) {
      await assert.rejects(
        resumeRun(runsDir, 'a', {
          overrides: [
            { key, value: 37 },
            { key: 'train.steps', value: 10 },
          ],
        }),
        (err: unknown) => {
          assert.ok(err instanceof UsageError, `${key}: ${err}`);
          assert.deepEqual(
            err.problems.map((p) => p.field),
            [key],
          );
          return true;
        },
      );
    }
    assert.deepEqual(fs.readdirSync(runsDir), ['a'], 'no fork was created');
    assert.equal(fs.readFileSync(a.metricsPath, 'utf8'), metricsBefore);
    assert.equal(fs.readFileSync(a.configPath, 'utf8'), configBefore);
    assert.equal(a.readStatus().state, 'finished');
  });

  it('stops a run whose loss becomes non-finite, keeping the checkpoints before it to resume from', async () => {
    const runsDir = tmpRunsDir();
    // Plain SGD at lr 10 blows up after about ten steps.
    const config = tinyGrokkingConfig({ train: { optimizer: 'sgd', lr: 10, steps: 150 } });
    let diverged: RunDiverged | null = null;
    await startRun(runsDir, config, { id: 'd' }).catch((err: unknown) => {
      if (!(err instanceof RunDiverged)) throw err;
      diverged = err;
    });
    assert.ok(diverged !== null, 'startRun threw RunDiverged');
    const { outcome } = diverged as RunDiverged;
    assert.ok(!Number.isFinite(outcome.loss));
    assert.ok(outcome.step < 150);
    const run = outcome.run;
    assert.equal(run.readStatus().state, 'failed');
    assert.match(
      run.readStatus().message ?? '',
      new RegExp(`train loss is ${outcome.loss} at step ${outcome.step}`),
    );
    for (const r of records(run))
      assert.ok(Number.isFinite(r.train_loss), `no garbage logged (step ${r.step})`);
    const good = outcome.lastGoodCheckpoint;
    assert.ok(good !== null && good < outcome.step && run.listCheckpoints().includes(good));

    // From that checkpoint with a (much) smaller learning rate, training goes on.
    const resumed = await resumeRun(runsDir, 'd', {
      step: good,
      discardLater: true,
      overrides: [{ key: 'train.lr', value: 0.1 }],
    });
    assert.equal(resumed.reason, 'budget');
    assert.equal(resumed.step, 150);
    assert.equal(run.readStatus().state, 'finished');
  });

  it('refuses to resume in place a run whose process is still training, and allows it once that process is gone', async () => {
    const runsDir = tmpRunsDir();
    const a = (await startRun(runsDir, tinyGrokkingConfig({ train: { steps: 5 } }), { id: 'a' })).run;
    // Another live process on this host claims the run (our parent process stands in for it).
    a.writeStatus({ state: 'running', pid: process.ppid });
    await assert.rejects(
      resumeRun(runsDir, 'a', { overrides: [{ key: 'train.steps', value: 10 }] }),
      (err: unknown) => err instanceof UsageError && /still training/.test(err.message),
    );
    // A crashed run (status running, its process gone) resumes.
    a.writeStatus({ state: 'running', pid: 2 ** 22 + 12345 });
    const outcome = await resumeRun(runsDir, 'a', { overrides: [{ key: 'train.steps', value: 10 }] });
    assert.equal(outcome.last?.step, 10);
  });
});

describe('CLI', () => {
  const bin = path.resolve(import.meta.dirname, '../bin/groklab.mjs');
  const groklab = (args: string[], env: Record<string, string> = {}) => {
    const r = spawnSync(process.execPath, [bin, ...args], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('gives the same metrics bit for bit with 1, 2 or 3 matmul threads', () => {
    // The demo's products (e.g. 1104×256 by 256×47) are large enough to be split across threads.
    const metricsFor = (threads: string) => {
      const runsDir = tmpRunsDir();
      const r = groklab(
        [
          'train',
          '--preset',
          'demo',
          '--set',
          'train.steps=60',
          '--runs-dir',
          runsDir,
          '--id',
          'r',
          '--quiet',
        ],
        { GROKLAB_THREADS: threads },
      );
      assert.equal(r.code, 0, r.stderr);
      return withoutWall(records(openRun(runsDir, 'r')));
    };
    const one = metricsFor('1');
    assert.ok(one.length > 10);
    assert.deepEqual(metricsFor('2'), one);
    assert.deepEqual(metricsFor('3'), one);
  });

  it('trains the demo preset for a few steps, lists it, and resumes it', () => {
    const runsDir = tmpRunsDir();
    // eval.every=10 so that steps 20 and 40 are evaluated whatever the preset's eval settings are.
    const trained = groklab([
      'train',
      '--preset',
      'demo',
      '--set',
      'train.steps=20',
      '--set',
      'eval.every=10',
      '--runs-dir',
      runsDir,
      '--quiet',
    ]);
    assert.equal(trained.code, 0, trained.stderr);
    assert.equal(trained.stderr, '', '--quiet prints no progress');
    const ids = fs.readdirSync(runsDir);
    assert.equal(ids.length, 1);
    const [id] = ids;
    assert.match(id, /^demo-\d{8}-\d{6}$/);
    assert.match(trained.stdout, new RegExp(`run ${id} .*finished at step 20: step budget reached`));

    const table = groklab(['runs', '--runs-dir', runsDir]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`^${id} +finished +demo +20 `, 'm'));
    const listed = groklab(['runs', '--runs-dir', runsDir, '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const runs = JSON.parse(listed.stdout) as Array<{ id: string; state: string; step: number }>;
    assert.deepEqual(
      runs.map((r) => [r.id, r.state, r.step]),
      [[id, 'finished', 20]],
    );

    const run = openRun(runsDir, id);
    const before = records(run);
    assert.equal(before.at(-1)?.step, 20);
    const resumed = groklab(['resume', id, '--set', 'train.steps=40', '--runs-dir', runsDir, '--quiet']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /finished at step 40: step budget reached/);
    const after = records(run);
    assert.ok(after.length > before.length, 'more metrics');
    assert.deepEqual(after.slice(0, before.length), before);
    assert.equal(after.at(-1)?.step, 40);
    assertStrictlyIncreasing(after, 'metrics after the CLI resume');
    assert.equal(run.readStatus().state, 'finished');
    assert.equal(run.readStatus().step, 40);
    assert.equal((run.readConfig() as { train: { steps: number } }).train.steps, 40);
    assert.deepEqual(fs.readdirSync(runsDir), [id], 'resumed in place');
  });
});
