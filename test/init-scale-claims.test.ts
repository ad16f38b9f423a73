// The α (model.init_scale) claims of sweep-report: the trend rule and both claims on hand-made rows
// with known answers, then feature movement read from real checkpoints (a trained run, and
// checkpoints written by hand whose features are known to equal step 0's up to scale), and a real
// sweep over α through buildSweepReport.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { openExperiment } from '../src/experiment/open.ts';
import { startRun } from '../src/runner/session.ts';
import { openRun } from '../src/runs/index.ts';
import { decodeSafetensors, encodeSafetensors } from '../src/runs/safetensors.ts';
import { type AxisValue, type SweepManifest, writeSweepManifest } from '../src/sweep/manifest.ts';
import { checkClaims } from '../src/sweep-report/claims.ts';
import {
  FEATURE_MOVEMENT_MIN,
  featureOnset,
  measureRunFeatures,
  measureSweepFeatures,
  movementAfterMemorization,
  type RunFeatureMovement,
} from '../src/sweep-report/feature-movement.ts';
import type { SweepAxis, SweepRunRow } from '../src/sweep-report/gather.ts';
import {
  type AlphaLevel,
  alphaTrend,
  checkpointAtOrAfter,
  delayRatio,
} from '../src/sweep-report/init-scale.ts';
import { buildSweepReport } from '../src/sweep-report/report.ts';
import { sweepRow } from './helpers/sweep-row.ts';
import { tempDirs } from './helpers/temp-dirs.ts';
import { tinyGrokkingConfig } from './helpers/tiny-config.ts';

const tmp = tempDirs('init-scale-claims');
const ALPHA = 'model.init_scale';
const thresholds = { mem: 0.99, grok: 0.9 };

/** A finished run at α (and seed) that memorized at tMem and first crossed at tGrok (null: never). */
function run(
  id: string,
  values: Record<string, AxisValue>,
  tMem: number | null,
  tGrok: number | null,
  stepsRun = 1000,
): SweepRunRow {
  return sweepRow(
    { run_id: id, cell: 0, values, steps: stepsRun },
    {
      evaluations: 50,
      t_mem: tMem,
      t_grok_onset: tGrok === null ? null : tGrok - 10,
      t_grok_crossing: tGrok,
      gap_crossing: tGrok !== null && tMem !== null ? tGrok - tMem : null,
      ratio_crossing: tGrok !== null && tMem ? tGrok / tMem : null,
      final_train_acc: 1,
      final_test_acc: tGrok === null ? 0.1 : 0.99,
      max_train_acc: 1,
      max_test_acc: tGrok === null ? 0.1 : 0.99,
      task_key: '{}',
      alike_key: '{}',
      verdict: tGrok === null ? 'memorized-only' : 'grokked',
    },
  );
}

/** Feature data of a run whose movement reaches half its maximum `max` at checkpoint `tFeat`. */
function features(id: string, steps: number[], tFeat: number | null, max = 0.6): RunFeatureMovement {
  const movement = steps.map((s) => (tFeat !== null && s >= tFeat ? max : tFeat === null ? 0.01 : 0.1));
  return {
    run_id: id,
    layer: 'layers.0',
    examples: 100,
    steps,
    movement,
    ...featureOnset(steps, movement),
    error: null,
  };
}

const axesOf = (...keys: string[]): SweepAxis[] => keys.map((key) => ({ key, values: [] }));
const claim = (
  id: string,
  rows: SweepRunRow[],
  feats?: RunFeatureMovement[],
  axes = axesOf(ALPHA, 'seed'),
) => {
  const found = checkClaims({ axes, rows, thresholds, features: feats }).find((c) => c.id === id);
  assert.ok(found, id);
  return found;
};

/** Two seeds per α, each with t_mem 100 and the given t_grok (null: never crossed). */
function delayRows(tGroks: Array<[number, number | null, number | null]>, stepsRun = 1000): SweepRunRow[] {
  return tGroks.flatMap(([alpha, a, b]) => [
    run(`a${alpha}-s0`, { [ALPHA]: alpha, seed: 0 }, 100, a, stepsRun),
    run(`a${alpha}-s1`, { [ALPHA]: alpha, seed: 1 }, 100, b, stepsRun),
  ]);
}

describe('the pieces, by hand', () => {
  it('t_feat is the first checkpoint at half the largest movement, none when it barely moved', () => {
    assert.deepEqual(featureOnset([0, 10, 20, 40], [0, 0.1, 0.3, 0.4]), { max_movement: 0.4, t_feat: 20 });
    // Exactly half counts; a null (constant features) is skipped.
    assert.deepEqual(featureOnset([0, 5, 10], [null, 0.2, 0.4]), { max_movement: 0.4, t_feat: 5 });
    assert.deepEqual(featureOnset([0, 10], [0, FEATURE_MOVEMENT_MIN / 2]), {
      max_movement: FEATURE_MOVEMENT_MIN / 2,
      t_feat: null,
    });
    assert.deepEqual(featureOnset([], []), { max_movement: null, t_feat: null });
  });

  it('the movement after memorization: the further rise from t_mem and where half of it is done', () => {
    // The α = 8 shape: most movement while memorizing (to 0.32 by t_mem 2000), flat, then a second rise.
    const steps = [0, 1000, 2000, 6000, 8000, 14000, 26000, 36000];
    const movement = [0, 0.3, 0.32, 0.326, 0.336, 0.395, 0.455, 0.46];
    const after = movementAfterMemorization(steps, movement, 2000);
    assert.equal(after.at_mem, 0.32);
    assert.ok(Math.abs((after.rise ?? 0) - 0.14) < 1e-12, String(after.rise));
    assert.equal(after.t_feat_after, 14000, 'half of the rise (0.39) is done at 14000, not 8000');
    // t_mem between checkpoints starts from the last one before it; a small rise has no half step.
    assert.equal(movementAfterMemorization(steps, movement, 1500).at_mem, 0.3);
    const flat = movementAfterMemorization([0, 100, 200], [0, 0.4, 0.41], 100);
    assert.equal(flat.t_feat_after, null);
    assert.ok(Math.abs((flat.rise ?? 0) - 0.01) < 1e-12);
    assert.deepEqual(movementAfterMemorization([0, 100], [null, 0.2], 0), {
      at_mem: null,
      rise: null,
      t_feat_after: null,
    });
  });

  it('finds the first checkpoint at or after a step', () => {
    assert.equal(checkpointAtOrAfter([0, 100, 200], 150), 200);
    assert.equal(checkpointAtOrAfter([0, 100, 200], 100), 100);
    assert.equal(checkpointAtOrAfter([0, 100, 200], 250), 200);
    assert.equal(checkpointAtOrAfter([], 5), null);
  });

  it('the delay ratio is t_grok/t_mem, or a lower bound from the steps trained', () => {
    const v = { [ALPHA]: 1, seed: 0 };
    assert.deepEqual(delayRatio(run('x', v, 100, 450)), { value: 4.5, censored: false });
    assert.deepEqual(delayRatio(run('x', v, 100, null, 2000)), { value: 20, censored: true });
    assert.equal(delayRatio(run('x', v, null, null)), null);
  });

  it('judges a trend from bounds: growth, a dip beyond the tolerance, censoring', () => {
    const at = (alpha: number, median: number, censored = false): AlphaLevel => ({
      alpha,
      runs: 2,
      median,
      upper: censored ? null : median,
      censored,
    });
    assert.deepEqual(alphaTrend([at(1, 2), at(2, 4), at(4, 6)], 3), { dip: null, grows: true });
    assert.deepEqual(alphaTrend([at(1, 2), at(2, 4), at(4, 5.9)], 3), { dip: null, grows: false });
    // A 5% dip is level; a 15% one is a fall, found between the right pair.
    assert.equal(alphaTrend([at(1, 2), at(2, 10), at(4, 9.5)], 3).dip, null);
    assert.deepEqual(
      alphaTrend([at(1, 2), at(2, 10), at(4, 8.5)], 3).dip?.map((l) => l.alpha),
      [2, 4],
    );
    // The largest α censored: known to grow once its bound is large enough, else unknown.
    assert.equal(alphaTrend([at(1, 2), at(2, 4), at(4, 6, true)], 3).grows, true);
    assert.equal(alphaTrend([at(1, 2), at(2, 4), at(4, 5, true)], 3).grows, null);
    // A censored level cannot show a fall: its true median may be anything above its bound.
    assert.equal(alphaTrend([at(1, 2), at(2, 10), at(4, 3, true)], 3).dip, null);
    // Factor 1 means strictly later.
    assert.equal(alphaTrend([at(1, 5), at(2, 5), at(4, 5)], 1).grows, false);
  });
});

describe('delay-grows-with-alpha on hand-made rows', () => {
  const ID = 'delay-grows-with-alpha';

  it('holds when the median ratio grows ≥ 3×, with the numbers', () => {
    // Medians 2, 4, 8 (seeds 150/250, 350/450, 700/900 over t_mem 100).
    const c = claim(
      ID,
      delayRows([
        [1, 150, 250],
        [2, 350, 450],
        [4, 700, 900],
      ]),
    );
    assert.equal(c.status, 'held', c.why);
    assert.match(c.why, /α 1 → 2, 2 → 4, 4 → 8 \(2 runs each\)/);
    assert.match(c.why, /largest\/smallest 4×/);
    assert.match(c.why, /from α 1 to α 4 median t_mem 100 → 100, t_grok 200 → 800/);
    // Onsets are 10 steps before each crossing here: medians 190, 390, 790 over t_mem 100.
    assert.match(
      c.why,
      /by the onset of the jump, t_grok_onset\/t_mem: α 1 → 1\.9, 2 → 3\.9, 4 → 7\.9 \(2 runs each\)/,
    );
  });

  it('is not held when it grows less than 3×, or falls on the way', () => {
    const small = claim(
      ID,
      delayRows([
        [1, 200, 200],
        [2, 300, 300],
        [4, 500, 500],
      ]),
    );
    assert.equal(small.status, 'not held', small.why);
    assert.match(small.why, /does not grow enough \(largest\/smallest 2.5×/);
    const dip = claim(
      ID,
      delayRows([
        [1, 200, 200],
        [2, 900, 900],
        [4, 700, 700],
        [8, 1000, 1000],
      ]),
    );
    assert.equal(dip.status, 'not held', dip.why);
    assert.match(dip.why, /falls from α 2 to α 4/);
  });

  it('counts runs that never crossed as ≥ steps trained / t_mem', () => {
    const tGroks: Array<[number, number | null, number | null]> = [
      [1, 200, 200],
      [2, 400, 400],
      [4, null, null],
    ];
    // Budget 500: α 4 is ≥ 5, not yet 3 × 2 = 6: cannot be told.
    const short = claim(ID, delayRows(tGroks, 500));
    assert.equal(short.status, 'not tested', short.why);
    assert.match(short.why, /4 → ≥ 5/);
    assert.match(short.why, /t_grok 200 → ≥ 500/);
    // Budget 1000: ≥ 10 ≥ 6.
    const long = claim(ID, delayRows(tGroks, 1000));
    assert.equal(long.status, 'held', long.why);
    assert.match(long.why, /4 → ≥ 10/);
    assert.match(long.why, /largest\/smallest ≥ 5×/);
  });

  it('is not tested without the axis or with fewer than 3 values of α, and judges other axes apart', () => {
    const rows = delayRows([
      [1, 150, 250],
      [2, 350, 450],
      [4, 700, 900],
    ]);
    const none = claim(ID, rows, undefined, axesOf('train.weight_decay', 'seed'));
    assert.equal(none.status, 'not tested');
    assert.match(none.why, /axis missing: the sweep varies no model\.init_scale/);
    const two = claim(ID, rows.slice(0, 4));
    assert.equal(two.status, 'not tested', two.why);
    assert.match(two.why, /only 2 values of α/);
    // The same rows at wd 1 hold; at wd 0.1 the ratio falls: the claim is not held overall.
    const wd = (r: SweepRunRow, w: number, grok: number | null) => ({
      ...r,
      run_id: `${r.run_id}-wd${w}`,
      values: { ...r.values, 'train.weight_decay': w },
      t_grok_crossing: grok,
    });
    const both = [
      ...rows.map((r) => wd(r, 1, r.t_grok_crossing)),
      ...rows.map((r) => wd(r, 0.1, 1000 - (r.t_grok_crossing ?? 0))),
    ];
    const c = claim(ID, both, undefined, axesOf(ALPHA, 'train.weight_decay', 'seed'));
    assert.equal(c.status, 'not held', c.why);
    assert.match(c.why, /at train\.weight_decay = 1: .* it grows/);
    assert.match(c.why, /at train\.weight_decay = 0\.1: .* it falls/);
  });
});

describe('features-move-with-grokking on hand-made rows', () => {
  const ID = 'features-move-with-grokking';
  const steps = [0, 100, 200, 300, 400, 500, 600, 800, 1000];
  const rows = delayRows([
    [1, 150, 250],
    [2, 350, 450],
    [4, 700, 900],
  ]);

  it('holds when t_feat is at or before the checkpoint of the jump and grows with α', () => {
    // t_grok 250 → its checkpoint is 300: t_feat 300 coincides (within the grid), 100 precedes.
    const tFeat: Record<string, number> = {
      'a1-s0': 100,
      'a1-s1': 300,
      'a2-s0': 200,
      'a2-s1': 400,
      'a4-s0': 500,
      'a4-s1': 600,
    };
    const feats = rows.map((r) => features(r.run_id, steps, tFeat[r.run_id]));
    const c = claim(ID, rows, feats);
    assert.equal(c.status, 'held', c.why);
    assert.match(c.why, /in all 6 runs that generalized/);
    assert.match(c.why, /α 1 → 200, 2 → 300, 4 → 550/);
    assert.equal(c.numbers.feat_by_grok, 6);
  });

  it('is not held when a run that generalized moved its features only after the jump', () => {
    const tFeat: Record<string, number> = {
      'a1-s0': 100,
      'a1-s1': 100,
      'a2-s0': 200,
      'a2-s1': 600, // t_grok 450 → checkpoint 500 < 600
      'a4-s0': 500,
      'a4-s1': 600,
    };
    const c = claim(
      ID,
      rows,
      rows.map((r) => features(r.run_id, steps, tFeat[r.run_id])),
    );
    assert.equal(c.status, 'not held', c.why);
    assert.match(
      c.why,
      /after the jump in 1 of 6 runs that generalized: a2-s1 \(α 2\): t_feat 600, t_grok 450 \(checkpoint 500\)/,
    );
  });

  it('is not held when t_feat does not grow with α', () => {
    const c = claim(
      ID,
      rows,
      rows.map((r) => features(r.run_id, steps, 100)),
    );
    assert.equal(c.status, 'not held', c.why);
    assert.match(c.why, /α 1 → 100, 2 → 100, 4 → 100/);
  });

  it('counts features that never moved, at an α that never generalized, as later than anything trained', () => {
    const lazy = delayRows([
      [1, 150, 250],
      [2, 350, 450],
      [4, null, null],
    ]);
    const tFeat: Record<string, number | null> = {
      'a1-s0': 100,
      'a1-s1': 200,
      'a2-s0': 300,
      'a2-s1': 400,
      'a4-s0': null,
      'a4-s1': null,
    };
    const c = claim(
      ID,
      lazy,
      lazy.map((r) => features(r.run_id, steps, tFeat[r.run_id])),
    );
    assert.equal(c.status, 'held', c.why);
    assert.match(c.why, /in all 4 runs that generalized/);
    assert.match(c.why, /4 → ≥ 1000/);
  });

  it('is not tested without feature data, saying why', () => {
    const none = claim(ID, rows);
    assert.equal(none.status, 'not tested');
    assert.match(none.why, /no finished run's features could be measured \(not measured\)/);
    const errors = claim(
      ID,
      rows,
      rows.map((r) => ({ ...features(r.run_id, [], null), error: 'no checkpoints' })),
    );
    assert.equal(errors.status, 'not tested');
    assert.match(errors.why, /\(no checkpoints\)/);
  });
});

describe('feature movement from real checkpoints', () => {
  const runsDir = path.join(tmp(), 'runs');
  const config = tinyGrokkingConfig({ train: { steps: 150 }, eval: { checkpoint_every: 25 } });
  let trained: RunFeatureMovement;

  before(async () => {
    await startRun(runsDir, config, { id: 'trained' });
    trained = measureRunFeatures(openRun(runsDir, 'trained'));
  });

  it('starts at 0, moves, and finds t_feat at half its maximum', () => {
    assert.equal(trained.error, null);
    assert.equal(trained.layer, 'layers.0');
    // Every test example (about 30% of 31² pairs), fewer than the 2000 cap.
    assert.equal(trained.examples, openExperiment(openRun(runsDir, 'trained')).test.count);
    assert.ok(trained.examples > 250 && trained.examples < 320);
    assert.deepEqual(trained.steps.slice(0, 3), [0, 1, 2]);
    assert.equal(trained.steps.at(-1), 150);
    assert.ok(Math.abs(trained.movement[0] as number) < 1e-5, `step 0 moved ${trained.movement[0]}`);
    const max = trained.max_movement as number;
    assert.ok(max > FEATURE_MOVEMENT_MIN, `a run that groks moves its features (max ${max})`);
    const i = trained.steps.indexOf(trained.t_feat as number);
    assert.ok(i > 0);
    assert.ok((trained.movement[i] as number) >= max / 2);
    for (const m of trained.movement.slice(0, i)) assert.ok((m as number) < max / 2);
  });

  it('reads the features, not the logits: changing the output layer, or scaling the hidden layer, moves nothing', () => {
    const run = openRun(runsDir, 'trained');
    const model = openExperiment(run).createModel();
    const roles = model.roles();
    const outName = [...model.params].find(([, t]) => t === roles.unembed)?.[0] as string;
    const outLayer = outName.slice(0, outName.lastIndexOf('.') + 1);
    const { tensors, metadata } = decodeSafetensors(run.readCheckpoint(0));
    // Step 1000: the output layer ×3 (the logits change, the features do not).
    const scaled = (keep: (name: string) => boolean, factor: number) =>
      Object.fromEntries(
        Object.entries(tensors).map(([k, t]) => [
          k,
          k.startsWith('param.') && !keep(k.slice(6))
            ? { shape: t.shape, data: t.data.map((x) => x * factor) }
            : t,
        ]),
      );
    run.writeCheckpoint(
      1000,
      encodeSafetensors(
        scaled((n) => !n.startsWith(outLayer), 3),
        metadata,
      ),
    );
    // Step 2000: the hidden layer's weight and bias ×2: a quadratic activation's features ×4, CKA unchanged.
    run.writeCheckpoint(
      2000,
      encodeSafetensors(
        scaled((n) => n.startsWith(outLayer), 2),
        metadata,
      ),
    );
    const m = measureRunFeatures(run);
    const at = (step: number) => m.movement[m.steps.indexOf(step)] as number;
    assert.ok(Math.abs(at(1000)) < 1e-5, `output layer changed: moved ${at(1000)}`);
    assert.ok(Math.abs(at(2000)) < 1e-5, `features scaled: moved ${at(2000)}`);
    // The trained checkpoints are unchanged by the extra ones (same examples, same step 0).
    assert.deepEqual(m.movement.slice(0, trained.steps.length), trained.movement);
  });

  it('says why a run has no feature movement: no checkpoints, no such run', () => {
    fs.cpSync(path.join(runsDir, 'trained'), path.join(runsDir, 'bare'), { recursive: true });
    fs.rmSync(path.join(runsDir, 'bare', 'checkpoints'), { recursive: true });
    const [bare, missing] = measureSweepFeatures(runsDir, ['bare', 'missing']);
    assert.equal(bare.error, 'no checkpoints');
    assert.match(missing.error ?? '', /run "missing" does not exist/);
    assert.equal(missing.t_feat, null);
  });
});

describe('a real sweep over α', () => {
  const runsDir = path.join(tmp(), 'runs');
  const name = 'alpha';
  const alphas = [0.5, 1, 2];
  const manifest: SweepManifest = {
    format: 'groklab-sweep/1',
    name,
    created_at: new Date(0).toISOString(),
    spec: {},
    axes: [
      { key: ALPHA, values: alphas },
      { key: 'seed', values: [0] },
    ],
    cells: alphas.map((alpha, i) => ({ run_id: `${name}-${i}`, values: { [ALPHA]: alpha, seed: 0 } })),
  };

  before(async () => {
    writeSweepManifest(runsDir, manifest);
    for (const [i, alpha] of alphas.entries()) {
      const c = tinyGrokkingConfig({ train: { steps: 200 }, eval: { checkpoint_every: 50 } });
      await startRun(runsDir, { ...c, model: { ...c.model, init_scale: alpha } }, { id: `${name}-${i}` });
    }
  });

  it('puts both claims, the per-run table and the feature curves in the JSON and the markdown', async () => {
    const built = await buildSweepReport(runsDir, name, { formats: ['svg'], now: new Date(0) });
    const ids = built.json.claims.map((c) => c.id);
    assert.deepEqual(ids.slice(-2), ['delay-grows-with-alpha', 'features-move-with-grokking']);
    const initScale = built.json.init_scale;
    assert.ok(initScale);
    assert.deepEqual(
      initScale.runs.map((r) => r.alpha),
      alphas,
    );
    for (const f of initScale.features) {
      assert.equal(f.error, null);
      assert.equal(f.steps[0], 0);
      assert.equal(f.steps.length, f.movement.length);
    }
    // The per-run rows agree with the gathered measures and the feature curves.
    for (const r of initScale.runs) {
      const row = built.json.runs.find((x) => x.run_id === r.run_id);
      const f: RunFeatureMovement | undefined = initScale.features.find((x) => x.run_id === r.run_id);
      assert.equal(r.t_grok, row?.t_grok_crossing);
      assert.equal(r.t_feat, f?.t_feat);
      if (r.t_grok !== null && r.t_mem !== null) assert.equal(r.delay_ratio, r.t_grok / r.t_mem);
    }
    const md = built.files.find((f) => f.name === 'report.md')?.data as string;
    assert.match(md, /## Init scale α: delay and feature movement \(per run\)/);
    assert.match(md, /\| alpha-0 \| 0\.5 \| 0 \|/);
    assert.match(md, /median t_grok\/t_mem: α 0\.5 → /);
    assert.match(built.text, /per run, init scale α:/);
    assert.match(built.text, /features-move-with-grokking: /);
  });
});
