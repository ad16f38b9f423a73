// Sweeps: spec validation (every problem names its field, exit 2, nothing written), exact range
// expansion, and the local process pool end to end: Ctrl-C, a killed sweep resumed, crash retries.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { stringify } from 'yaml';
import { PRESETS } from '../src/config/presets.ts';
import type { RunConfigInput } from '../src/config/schema.ts';
import { isPidAlive } from '../src/runs/index.ts';
import { cellRunId, manifestOf, planSweep } from '../src/sweep/expand.ts';
import { readSweepManifest, sweepManifestSchema } from '../src/sweep/manifest.ts';
import { sweepDifferences } from '../src/sweep/prepare.ts';
import { SWEEP_PRESETS } from '../src/sweep/presets.ts';
import { expandAxis } from '../src/sweep/ranges.ts';
import { parseRedisUrl } from '../src/sweep/redis-url.ts';
import { parseSweepSpec, readSweepSpecFile } from '../src/sweep/spec.ts';
import { type FieldProblem, UsageError } from '../src/util/errors.ts';
import { checkpointSteps, expectedSteps, metricSteps, runStatus, waitFor } from './helpers/run-files.ts';
import { tempDirs } from './helpers/temp-dirs.ts';
import { tinyGrokkingConfig } from './helpers/tiny-config.ts';

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin/groklab.mjs');
const fixtures = path.join(root, 'test/fixtures/sweeps');
const tmp = tempDirs('sweep');

// ---- spec validation -------------------------------------------------------------------------

function problemsOf(raw: unknown): FieldProblem[] {
  try {
    planSweep(parseSweepSpec(raw, { defaultName: 'grid', baseDir: fixtures }));
  } catch (err) {
    if (err instanceof UsageError) return err.problems;
    throw err;
  }
  return [];
}

test('every spec problem is reported against its field, all at once', () => {
  const cases: Array<[unknown, Array<[string, RegExp]>]> = [
    [{ preset: 'demo', axes: { wd: [1] }, extra: 1 }, [['extra', /unknown sweep spec key; allowed: name, /]]],
    [{ axes: { wd: [1] } }, [['preset', /needs a base: preset \(one of demo, /]]],
    [{ preset: 'demo', config: {}, axes: { wd: [1] } }, [['config', /give one base, not preset and config/]]],
    [{ preset: 'nope', axes: { wd: [1] } }, [['preset', /unknown preset "nope"; one of demo/]]],
    [{ config_file: 'missing.json', axes: { wd: [1] } }, [['config_file', /cannot read .*missing\.json/]]],
    [{ name: '../x', preset: 'demo', axes: { wd: [1] } }, [['name', /invalid sweep name/]]],
    [
      { preset: 'demo', axes: { 'train.weight_dacay': [0.3, 1] } },
      [
        [
          'axes.train.weight_dacay',
          /unknown config key; allowed in train: .*weight_decay.*did you mean train\.weight_decay\?/,
        ],
      ],
    ],
    [
      { preset: 'demo', axes: { 'model.heads': [1, 2] } },
      [['axes.model.heads', /allowed in model: kind, input/]],
    ],
    [
      { preset: 'demo', axes: { 'trian.lr': [1] } },
      [['axes.trian.lr', /unknown config key: trian is not a section/]],
    ],
    [{ preset: 'demo', axes: { preset: ['a', 'b'] } }, [['axes.preset', /filled in by groklab/]]],
    [
      { preset: 'demo', set: { stepz: 10 }, axes: { wd: [1] } },
      [['set.stepz', /unknown config key.*did you mean steps\?/]],
    ],
    [
      { preset: 'demo', axes: { wd: { from: 1e-3, to: 1, num: 1, log: true } } },
      [['axes.wd.num', /must be an integer ≥ 2/]],
    ],
    [
      { preset: 'demo', axes: { wd: { from: 0, to: 1, num: 3, log: true } } },
      [['axes.wd.from', /> 0 for a log range/]],
    ],
    [
      { preset: 'demo', axes: { frac: { from: 0.1, to: 0.9, step: -0.1 } } },
      [['axes.frac.step', /must be positive/]],
    ],
    [
      { preset: 'demo', axes: { frac: { from: 0.1, to: 0.9, step: 0.1, num: 3 } } },
      [['axes.frac', /either step or num/]],
    ],
    [{ preset: 'demo', axes: { frac: { from: 0.1, to: 0.9 } } }, [['axes.frac', /needs step .* or num/]]],
    [
      { preset: 'demo', axes: { frac: { from: 0.1, to: 'x', step: 0.1 } } },
      [['axes.frac.to', /finite number/]],
    ],
    [
      { preset: 'demo', axes: { wd: { from: 0, to: 1, stop: 2, num: 2 } } },
      [['axes.wd.stop', /unknown range key; allowed: from, to, step, num, log, integer/]],
    ],
    [{ preset: 'demo', axes: { p: [7, 7] } }, [['axes.p[1]', /repeats value 7/]]],
    [{ preset: 'demo', axes: { wd: [] } }, [['axes.wd', /must not be empty/]]],
    [{ preset: 'demo', axes: { wd: 0.3 } }, [['axes.wd', /single fixed value belongs under set/]]],
    [{ preset: 'demo', axes: { wd: [{ a: 1 }] } }, [['axes.wd[0]', /number, string or boolean/]]],
    [
      { preset: 'demo', axes: { wd: [1], 'train.weight_decay': [2] } },
      [['axes.train.weight_decay', /already an axis \(axes\.wd\)/]],
    ],
    [{ preset: 'demo', set: { wd: 1 }, axes: { wd: [1, 2] } }, [['axes.wd', /also fixed by set\.wd/]]],
    [{ preset: 'demo', axes: { seed: [1, 2] }, seeds: 2 }, [['axes.seed', /given by seeds/]]],
    [{ preset: 'demo', seeds: 0 }, [['seeds', /integer in \[1, 10000\]/]]],
    [{ preset: 'demo', seeds: [0, 1.5] }, [['seeds[1]', /integer in \[0, 4294967295\]/]]],
    [{ preset: 'demo' }, [['axes', /at least one axis/]]],
    // Cell configs are validated too, and the problem is traced back to the axis or set key.
    [{ preset: 'demo', axes: { wd: [-1, 0.5] } }, [['axes.wd', /weight_decay must be ≥ 0 \(value -1\)/]]],
    [{ preset: 'demo', set: { lr: -1 }, axes: { wd: [1] } }, [['set.lr', /lr must be > 0/]]],
    [{ preset: 'demo', axes: { op: ['add', 'div'], p: [47, 48] } }, [['axes.p', /prime.*\(value 48\)/]]],
    // Variants: named overrides, checked like set: and cells, each problem at its variant's field.
    [{ preset: 'demo', variants: [1] }, [['variants', /must be a mapping from variant names to overrides/]]],
    [{ preset: 'demo', variants: {} }, [['variants', /at least one variant/]]],
    [{ preset: 'demo', variants: { a: 3 } }, [['variants.a', /must be a mapping of config keys to values/]]],
    [
      { preset: 'demo', variants: { 'bad name': {} } },
      [['variants.bad name', /a variant name is 1–64 letters/]],
    ],
    [
      { preset: 'demo', variants: { a: { 'train.weight_dacay': 1 } } },
      [['variants.a.train.weight_dacay', /unknown config key.*did you mean train\.weight_decay\?/]],
    ],
    [
      { preset: 'demo', variants: { a: { wd: 1, 'train.weight_decay': 2 } } },
      [['variants.a.train.weight_decay', /already set by variants\.a\.wd/]],
    ],
    [
      { preset: 'demo', set: { wd: 1 }, variants: { a: { wd: 2 } } },
      [['variants.a.wd', /also fixed by set\.wd/]],
    ],
    [
      { preset: 'demo', variants: { a: { wd: 2 }, b: {} }, axes: { wd: [1, 2] } },
      [
        [
          'axes.wd',
          /train\.weight_decay is also set by variant a \(variants\.a\.wd\); a key is set in one place/,
        ],
      ],
    ],
    [
      { preset: 'demo', variants: { a: { train: { lr: 1 } } }, axes: { lr: [1, 2] } },
      [['axes.lr', /train\.lr is also set by variant a \(variants\.a\.train\)/]],
    ],
    [
      { preset: 'demo', variants: { a: {} }, axes: { variant: ['a'] } },
      [['axes.variant', /given by variants:/]],
    ],
    [
      { preset: 'demo', variants: { base: {}, neg: { wd: -1 } } },
      [['variants.neg.wd', /weight_decay must be ≥ 0$/]],
    ],
    [
      { preset: 'demo', variants: { a: { 'model.width': 0.5 } }, seeds: 2 },
      [['variants.a.model.width', /width must be an integer/]],
    ],
    // An object value: its problem is named inside it.
    [
      {
        preset: 'demo',
        variants: {
          baseline: {},
          'grokfast-ema': { 'train.grad_filter': { kind: 'ema', alpha: 1.5, lamb: 2 } },
        },
      },
      [['variants.grokfast-ema.train.grad_filter.alpha', /alpha/]],
    ],
    // A whole section given by a variant: the problem is named inside it.
    [
      {
        preset: 'demo',
        variants: { a: { task: { kind: 'modular', op: 'add', p: 1, train_fraction: 0.5 } } },
      },
      [['variants.a.task.p', /p must be/]],
    ],
  ];
  for (const [raw, expected] of cases) {
    const problems = problemsOf(raw);
    const label = JSON.stringify(raw);
    assert.ok(problems.length > 0, `${label} was accepted`);
    for (const [field, message] of expected) {
      const hit = problems.find((p) => p.field === field);
      assert.ok(hit, `${label}: no problem at ${field}; got ${JSON.stringify(problems)}`);
      assert.match(hit.message, message, label);
    }
  }
});

test('a bad spec through the CLI exits 2 with one line per problem and writes nothing', () => {
  const runsDir = path.join(tmp(), 'runs');
  const r = spawnSync(
    process.execPath,
    [bin, 'sweep', path.join(fixtures, 'bad.yaml'), '--runs-dir', runsDir],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 2, r.stderr);
  for (const line of [
    /^groklab: extra: unknown sweep spec key/m,
    /^groklab: set\.stepz: unknown config key.*did you mean steps\?/m,
    /^groklab: axes\.train\.weight_dacay: unknown config key; allowed in train: /m,
    /^groklab: axes\.lr\.num: must be an integer ≥ 2$/m,
    /^groklab: axes\.frac\.step: must be positive to go from 0\.1 to 0\.9$/m,
    /^groklab: axes\.p\[1\]: repeats value 7/m,
    /^groklab: seeds\[1\]: must be an integer/m,
  ])
    assert.match(r.stderr, line);
  assert.equal(fs.existsSync(runsDir), false, 'nothing may be written for a bad spec');

  const missing = spawnSync(process.execPath, [bin, 'sweep', '--preset', 'nope', '--runs-dir', runsDir], {
    encoding: 'utf8',
  });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--preset: unknown sweep preset "nope"; one of tiny/);
  assert.equal(fs.existsSync(runsDir), false);
});

// ---- expansion -------------------------------------------------------------------------------

test('ranges and log ranges expand to exactly the intended values', () => {
  const values = (form: unknown) => {
    const r = expandAxis('axes.x', form);
    assert.deepEqual(r.problems, [], JSON.stringify(form));
    return r.values;
  };
  assert.deepEqual(values({ from: 0.1, to: 0.9, step: 0.2 }), [0.1, 0.3, 0.5, 0.7, 0.9]);
  assert.deepEqual(values({ from: 0.1, to: 0.9, step: 0.1 }), [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
  assert.deepEqual(
    values({ from: 0, to: 1, step: 0.1 }),
    [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
  );
  assert.deepEqual(values({ from: 0, to: 1, step: 0.3 }), [0, 0.3, 0.6, 0.9]);
  assert.deepEqual(values({ from: 1, to: 10, step: 3 }), [1, 4, 7, 10]);
  assert.deepEqual(values({ from: 1, to: 0, step: -0.25 }), [1, 0.75, 0.5, 0.25, 0]);
  assert.deepEqual(values({ from: 1e-5, to: 5e-5, step: 1e-5 }), [1e-5, 2e-5, 3e-5, 4e-5, 5e-5]);
  assert.deepEqual(values({ from: 0, to: 1, num: 5 }), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(values({ from: -0.3, to: 0.3, num: 3 }), [-0.3, 0, 0.3]);
  assert.deepEqual(values({ from: 1e-4, to: 1, num: 5, log: true }), [1e-4, 1e-3, 1e-2, 0.1, 1]);
  assert.deepEqual(values({ from: 64, to: 1024, num: 5, log: true }), [64, 128, 256, 512, 1024]);
  assert.deepEqual(values({ from: 1e-3, to: 1e-2, num: 3, log: true }), [1e-3, 0.00316227766017, 1e-2]);
  assert.deepEqual(values({ from: 32, to: 512, num: 4, log: true, integer: true }), [32, 81, 203, 512]);
  assert.deepEqual(values([0.1, 'x', true]), [0.1, 'x', true]);
  assert.deepEqual(
    expandAxis('axes.x', { from: 1, to: 2, num: 5, integer: true }).problems[0].field,
    'axes.x[1]',
  );
});

test('the grid is the cartesian product in spec order with seeds last, and run ids are stable', () => {
  const spec = parseSweepSpec(
    { name: 'g', preset: 'demo', axes: { wd: [0.1, 1], op: ['add', 'sub'] }, seeds: 2 },
    { baseDir: root },
  );
  const plan = planSweep(spec);
  assert.deepEqual(
    plan.cells.map((c) => [c.runId, c.values['train.weight_decay'], c.values['task.op'], c.values.seed]),
    [
      ['g-000', 0.1, 'add', 0],
      ['g-001', 0.1, 'add', 1],
      ['g-002', 0.1, 'sub', 0],
      ['g-003', 0.1, 'sub', 1],
      ['g-004', 1, 'add', 0],
      ['g-005', 1, 'add', 1],
      ['g-006', 1, 'sub', 0],
      ['g-007', 1, 'sub', 1],
    ],
  );
  const cell = plan.cells[6].config as {
    seed: number;
    train: { weight_decay: number };
    task: { op: string };
  };
  assert.deepEqual([cell.seed, cell.train.weight_decay, cell.task.op], [0, 1, 'sub']);
  assert.equal(cellRunId('g', 999, 1000), 'g-999');
  assert.equal(cellRunId('g', 7, 1001), 'g-0007');

  // A YAML spec file: name from the spec, 3 log-spaced weight decays × 3 fractions × 3 seeds.
  const { raw, context } = readSweepSpecFile(path.join(fixtures, 'wd-frac.yaml'));
  const fixture = planSweep(parseSweepSpec(raw, context));
  assert.equal(fixture.cells.length, 27);
  assert.deepEqual(
    fixture.spec.axes.map((a) => [a.key, a.values]),
    [
      ['train.weight_decay', [0.01, 0.1, 1]],
      ['task.train_fraction', [0.3, 0.5, 0.7]],
      ['seed', [0, 1, 2]],
    ],
  );
  assert.equal(fixture.cells[26].runId, 'wd-frac-026');
  assert.equal((fixture.cells[0].config.train as { steps: number }).steps, 2000);
});

test("variants: the first axis, each cell its variant's overrides; the manifest keeps them and a changed variant is a different sweep", () => {
  const raw = {
    name: 'v',
    preset: 'demo',
    set: { steps: 500 },
    variants: {
      baseline: {},
      decayed: { wd: 1, lr: 3e-3 },
      mse: { 'train.loss': 'mse', 'model.init_scale': 0.5 },
      bare: null,
    },
    axes: { frac: [0.3, 0.5] },
    seeds: 2,
  };
  const plan = planSweep(parseSweepSpec(raw, { baseDir: root }));
  assert.deepEqual(
    plan.spec.axes.map((a) => [a.key, a.field, a.values]),
    [
      ['variant', 'variants', ['baseline', 'decayed', 'mse', 'bare']],
      ['task.train_fraction', 'axes.frac', [0.3, 0.5]],
      ['seed', 'seeds', [0, 1]],
    ],
  );
  assert.equal(plan.cells.length, 16);
  assert.deepEqual(plan.cells[5].values, { variant: 'decayed', 'task.train_fraction': 0.3, seed: 1 });
  assert.equal(plan.cells[5].runId, 'v-005');
  type Cfg = {
    train: { weight_decay: number; lr: number; loss: string; steps: number };
    model: { init_scale: number };
  };
  const demo = PRESETS.demo.config as unknown as Cfg;
  const cfg = (i: number) => plan.cells[i].config as unknown as Cfg;
  // The base as is (with set:), then each variant's overrides; set: and the axes apply to every variant.
  for (const i of [0, 12]) {
    assert.equal(cfg(i).train.weight_decay, demo.train.weight_decay);
    assert.equal(cfg(i).train.lr, demo.train.lr);
  }
  assert.deepEqual([cfg(5).train.weight_decay, cfg(5).train.lr, cfg(5).train.steps], [1, 3e-3, 500]);
  assert.deepEqual(
    [cfg(9).train.loss, cfg(9).model.init_scale, cfg(9).train.weight_decay],
    ['mse', 0.5, demo.train.weight_decay],
  );
  assert.equal((plan.cells[6].config.task as { train_fraction: number }).train_fraction, 0.5);

  const manifest = manifestOf(plan, 'then');
  assert.deepEqual(manifest.variants, {
    baseline: {},
    decayed: { 'train.weight_decay': 1, 'train.lr': 3e-3 },
    mse: { 'train.loss': 'mse', 'model.init_scale': 0.5 },
    bare: {},
  });
  assert.deepEqual(manifest.axes[0], { key: 'variant', values: ['baseline', 'decayed', 'mse', 'bare'] });
  assert.deepEqual(sweepManifestSchema.parse(JSON.parse(JSON.stringify(manifest))), manifest);
  // Same names, other overrides: other runs under the same ids.
  const changed = manifestOf(
    planSweep(
      parseSweepSpec(
        { ...raw, variants: { ...raw.variants, decayed: { wd: 3, lr: 3e-3 } } },
        { baseDir: root },
      ),
    ),
  );
  assert.deepEqual(sweepDifferences(manifest, changed), [
    'variant decayed {"train.weight_decay":1,"train.lr":0.003} → {"train.weight_decay":3,"train.lr":0.003}',
  ]);
  // The same variants written with aliases or full keys are the same sweep.
  const reworded = manifestOf(
    planSweep(
      parseSweepSpec(
        { ...raw, variants: { ...raw.variants, decayed: { 'train.weight_decay': 1, 'train.lr': 3e-3 } } },
        { baseDir: root },
      ),
    ),
  );
  assert.deepEqual(sweepDifferences(manifest, reworded), []);
  const renamed = manifestOf(
    planSweep(parseSweepSpec({ ...raw, variants: { baseline: {}, decay: { wd: 1 } } }, { baseDir: root })),
  );
  assert.match(
    sweepDifferences(manifest, renamed).join(),
    /^variant \["baseline", "decayed", "mse", "bare"\] → \["baseline", "decay"\]$/,
  );
});

test('built-in sweeps parse and expand; the lever sweeps vary named variants', () => {
  for (const [name, preset] of Object.entries(SWEEP_PRESETS)) {
    const plan = planSweep(parseSweepSpec(preset.spec, { defaultName: name, baseDir: root }));
    assert.ok(plan.cells.length > 0, name);
    assert.equal(plan.cells[0].runId, `${name}-000`);
  }
  const variantsOf = (name: string) => {
    const plan = planSweep(parseSweepSpec(SWEEP_PRESETS[name].spec, { defaultName: name, baseDir: root }));
    return Object.fromEntries(
      plan.cells.map((c) => [c.values.variant as string, c.config.train as Record<string, unknown>]),
    );
  };
  const grokfast = variantsOf('grokfast-97');
  assert.deepEqual(Object.keys(grokfast), ['baseline', 'grokfast-ma', 'grokfast-ema']);
  assert.deepEqual(
    [
      grokfast.baseline.grad_filter,
      grokfast.baseline.steps,
      grokfast.baseline.stop_test_acc,
      grokfast.baseline.stop_patience,
    ],
    [null, 60000, 0.95, 3],
  );
  assert.deepEqual(grokfast['grokfast-ma'].grad_filter, { kind: 'ma', window: 100, lamb: 5 });
  assert.equal(grokfast['grokfast-ma'].weight_decay, 0.01);
  assert.deepEqual(grokfast['grokfast-ema'].grad_filter, { kind: 'ema', alpha: 0.98, lamb: 2 });
  assert.equal(grokfast['grokfast-ema'].weight_decay, 0.005);
  const stability = variantsOf('stability-113');
  assert.deepEqual(Object.keys(stability), ['softmax-f32', 'softmax-f64', 'stablemax', 'orthogonal-adamw']);
  assert.equal(stability['softmax-f64'].loss_precision, 'float64');
  assert.deepEqual([stability.stablemax.loss, stability.stablemax.beta2], ['stablemax_cross_entropy', 0.999]);
  assert.equal(stability['orthogonal-adamw'].orthogonal_grad, true);
  for (const train of Object.values(stability)) assert.equal(train.weight_decay, 0);
});

// ---- queue URLs ----------------------------------------------------------------------------------

test('queue URLs are checked', () => {
  assert.deepEqual(parseRedisUrl('redis://:s3cret@10.0.0.5:6380/2'), {
    host: '10.0.0.5',
    port: 6380,
    db: 2,
    username: undefined,
    password: 's3cret',
    tls: undefined,
  });
  assert.deepEqual(parseRedisUrl('rediss://h').tls, {});
  assert.equal(parseRedisUrl('rediss://[::1]').host, '::1');
  for (const [bad, message] of [
    ['http://x:1', /must start with redis:\/\//],
    ['redis://h:1/x', /database must be a number/],
    ['nonsense', /not a URL/],
  ] as const) {
    assert.throws(
      () => parseRedisUrl(bad),
      (err: UsageError) => err.problems[0].field === '--queue' && message.test(err.message),
    );
  }
});

// ---- the local pool, end to end ------------------------------------------------------------------

const spawned: ChildProcess[] = [];
after(() => {
  for (const child of spawned)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

interface CliRun {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>;
}

function startCli(args: string[], env: Record<string, string> = {}): CliRun {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env } });
  spawned.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

function writeSpec(dir: string, name: string, config: RunConfigInput, axes: Record<string, unknown>): string {
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, stringify({ name, config, axes, seeds: 2 }));
  return file;
}

test('local pool: Ctrl-C stops the runs resumably, a killed sweep resumes, finished runs are not rerun', async () => {
  const dir = tmp();
  const runsDir = path.join(dir, 'runs');
  const config = tinyGrokkingConfig({ train: { steps: 240 }, eval: { checkpoint_every: 40 } });
  const spec = writeSpec(dir, 'pool', config, { wd: [0.5, 1] });
  const ids = ['pool-000', 'pool-001', 'pool-002', 'pool-003'];
  const args = ['sweep', spec, '--runs-dir', runsDir, '--workers', '2'];

  // 1. Ctrl-C while two runs train: they checkpoint and stop; exit 130.
  const first = startCli(args);
  await waitFor('a run past its first checkpoints', () =>
    ids.some((id) => checkpointSteps(runsDir, id).includes(40)),
  );
  first.child.kill('SIGINT');
  const r1 = await first.done;
  assert.equal(r1.code, 130, r1.stderr);
  assert.match(r1.stderr, /interrupted; rerun the same command to continue/);
  const states1 = ids.map((id) => runStatus(runsDir, id)?.state ?? 'none');
  assert.ok(states1.includes('stopped'), states1.join());
  assert.ok(!states1.includes('running'), states1.join());
  assert.equal(readSweepManifest(runsDir, 'pool').cells.length, 4);

  // 2. Rerun, then SIGKILL the sweep once a run has finished and another is under way.
  const second = startCli(args);
  await waitFor(
    'one run finished and another training',
    () =>
      ids.some((id) => runStatus(runsDir, id)?.state === 'finished') &&
      ids.some(
        (id) =>
          runStatus(runsDir, id)?.state === 'running' && checkpointSteps(runsDir, id).some((s) => s >= 40),
      ),
  );
  second.child.kill('SIGKILL');
  await second.done;
  // Its children notice and exit, leaving "running" statuses of dead processes (resumable).
  await waitFor(
    'the killed sweep’s children to exit',
    () =>
      ids.every(
        (id) => runStatus(runsDir, id)?.state !== 'running' || !isPidAlive(runStatus(runsDir, id)?.pid ?? 0),
      ),
    10_000,
  );
  const finishedBefore = ids.filter((id) => runStatus(runsDir, id)?.state === 'finished');
  const snapshot = new Map(
    finishedBefore.map((id) => {
      const file = path.join(runsDir, id, 'metrics.jsonl');
      return [id, { bytes: fs.readFileSync(file, 'utf8'), mtime: fs.statSync(file).mtimeMs }];
    }),
  );

  // 3. Rerun to the end: every run finished, the earlier ones untouched.
  const third = await startCli([...args, '--quiet']).done;
  assert.equal(third.code, 0, third.stderr + third.stdout);
  for (const id of ids) {
    assert.equal(runStatus(runsDir, id)?.state, 'finished', id);
    assert.deepEqual(metricSteps(runsDir, id), expectedSteps(config), `${id}: evaluation steps`);
  }
  for (const [id, before] of snapshot) {
    const file = path.join(runsDir, id, 'metrics.jsonl');
    assert.equal(fs.readFileSync(file, 'utf8'), before.bytes, `${id} was rerun`);
    assert.equal(fs.statSync(file).mtimeMs, before.mtime, `${id} was rewritten`);
    assert.match(third.stdout, new RegExp(`^${id} .* finished \\(before\\)`, 'm'));
  }
  assert.match(third.stdout, /^run +wd +seed +state +step +train acc +test acc +verdict$/m);
  assert.match(third.stdout, /sweep pool: 4\/4 finished/);
  assert.equal(
    fs.existsSync(path.join(runsDir, 'sweeps/pool/lock.json')),
    false,
    'the sweep lock is released',
  );

  // The same name with a different grid is refused, naming the change.
  const changed = writeSpec(dir, 'pool', config, { wd: [0.5, 1, 2] });
  const refused = spawnSync(process.execPath, [bin, 'sweep', changed, '--runs-dir', runsDir], {
    encoding: 'utf8',
  });
  assert.equal(refused.status, 2);
  assert.match(
    refused.stderr,
    /name: a different sweep named "pool" .*train\.weight_decay \[0\.5, 1\] → \[0\.5, 1, 2\].*new name/,
  );
});

test('a crashed run is retried from its last checkpoint; one that keeps crashing fails the sweep (exit 1)', async () => {
  const dir = tmp();
  const runsDir = path.join(dir, 'runs');
  const config = tinyGrokkingConfig({ train: { steps: 100 }, eval: { checkpoint_every: 50 } });
  const spec = writeSpec(dir, 'crash', config, { wd: [1] });
  // crash-000 dies right after its step-50 checkpoint (once); crash-001 at step 45, on every attempt.
  const r = await startCli(['sweep', spec, '--runs-dir', runsDir, '--workers', '2', '--retries', '1'], {
    GROKLAB_TEST_CRASH_AT_STEP: 'crash-000@50,crash-001@45',
  }).done;
  assert.equal(r.code, 1, r.stderr + r.stdout);
  assert.match(
    r.stderr,
    /crash-000: process killed by SIGKILL.*retrying from its last checkpoint \(retry 1 of 1\)/,
  );
  assert.match(r.stderr, /crash-000: resuming from step 50/);
  assert.match(r.stderr, /crash-001: failed after 2 attempt\(s\): process killed by SIGKILL/);
  assert.equal(runStatus(runsDir, 'crash-000')?.state, 'finished');
  assert.deepEqual(metricSteps(runsDir, 'crash-000'), expectedSteps(config));
  assert.notEqual(runStatus(runsDir, 'crash-001')?.state, 'finished');
  assert.match(r.stdout, /^crash-000 .*finished \(2 tries\)/m);
  assert.match(r.stdout, /^crash-001 .*failed \(2 tries\)/m);
  assert.match(r.stdout, /sweep crash: 1\/2 finished, 1 failed/);
});

test('a run that diverges fails once, with the reason, and is not retried', async () => {
  const dir = tmp();
  const runsDir = path.join(dir, 'runs');
  // SGD at lr 100 on the tiny task: the loss overflows within a few steps.
  const config = tinyGrokkingConfig({
    train: { optimizer: 'sgd', lr: 100, warmup_steps: 0, steps: 60 },
    eval: { checkpoint_every: 20 },
  });
  const spec = path.join(dir, 'diverge.yaml');
  fs.writeFileSync(spec, stringify({ name: 'diverge', config, axes: { wd: [0] } }));
  const r = await startCli(['sweep', spec, '--runs-dir', runsDir, '--workers', '1', '--retries', '2']).done;
  assert.equal(r.code, 1, r.stderr + r.stdout);
  assert.match(
    r.stderr,
    /diverge-000: failed: training diverged: the train loss is (NaN|-?Infinity) at step \d+/,
  );
  assert.doesNotMatch(r.stderr, /retrying/);
  assert.equal(runStatus(runsDir, 'diverge-000')?.state, 'failed');
});
