// Measures of grokking (src/measures) and `groklab detect`: synthetic curves with known answers for
// every verdict, the worked literature example, the noise rule, data problems that must be reported,
// the CSV / JSONL / TensorBoard readers (TensorBoard checked against bytes TensorFlow's protobuf
// runtime wrote), other people's logs (what the log is, the memorization band, unfinished runs),
// bad input, and real groklab runs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { registerDetect } from '../src/cli/detect.ts';
import { PRESETS } from '../src/config/presets.ts';
import { parseRunConfig } from '../src/config/schema.ts';
import {
  analyzeCurve,
  baselineFromTask,
  type CurveInput,
  type DetectResult,
  detectPath,
  detectRun,
  isFailure,
} from '../src/measures/index.ts';
import { crc32c, maskedCrc32c, readTfRecords } from '../src/measures/readers/tfrecord.ts';
import { startRun } from '../src/runner/session.ts';
import { createRunFolder } from '../src/runs/index.ts';
import { buildTask, makeSplit, splitToJson, trainFractionOf } from '../src/tasks/index.ts';
import { UsageError } from '../src/util/errors.ts';
import { Rng } from '../src/util/rng.ts';
import {
  collapsedMemorizerLog,
  grokkedWithCollapseLog,
  withoutStabilityColumns,
  writeRunWithLog,
} from './fixtures/measures/collapse-runs.ts';
import { FIXTURE_LOGS, tensorboardDriftingPlateau } from './fixtures/measures/make-logs.ts';
import {
  eventFile,
  fileVersionEvent,
  simpleScalarEvent,
  tensorScalarEvent,
} from './fixtures/measures/tensorboard-writer.ts';
import { tempDirs } from './helpers/temp-dirs.ts';

const tmpDir = tempDirs('measures');
const fixture = (name: string) => path.resolve(import.meta.dirname, 'fixtures/measures', name);

const grid = (from: number, to: number, every: number) => {
  const steps: number[] = [];
  for (let s = from; s <= to; s += every) steps.push(s);
  return steps;
};
const logistic = (x: number) => 1 / (1 + Math.exp(-x));
/** Train accuracy rising linearly from `start` to 1 at `tMem` (at most `top`). */
const memorizing =
  (tMem: number, start = 0.01, top = 1) =>
  (s: number) =>
    Math.min(top, start + (1 - start) * Math.min(1, s / tMem));
/** Test accuracy jumping from `low` to `high` around t0 with logistic scale w. */
const jump =
  (t0: number, w: number, low = 0.01, high = 1) =>
  (s: number) =>
    low + (high - low) * logistic((s - t0) / w);

function curveOf(
  steps: number[],
  train: (s: number) => number,
  test: (s: number) => number,
  extra: Partial<Record<'train_loss' | 'test_loss' | 'weight_norm', (s: number) => number>> = {},
): CurveInput {
  const curve: CurveInput = { step: steps, train_acc: steps.map(train), test_acc: steps.map(test) };
  for (const [key, f] of Object.entries(extra)) curve[key as 'train_loss'] = steps.map(f);
  return curve;
}

const kinds = (r: DetectResult) => r.issues.map((i) => i.kind);
const close = (actual: number | null | undefined, expected: number, tolerance: number, what: string) => {
  assert.ok(
    actual !== null && actual !== undefined && Math.abs(actual - expected) <= tolerance,
    `${what}: ${actual} is not within ${tolerance} of ${expected}`,
  );
};

describe('the worked literature example', () => {
  // Train accuracy 100% at step 7,000; test accuracy ~1% from 0 to 100K, 57% at 101K, 98% at 102K,
  // 100% at 103K; evaluations every 1,000 steps up to 110K; chance 1/97 (x/y mod 97).
  const steps = grid(0, 110_000, 1000);
  const train = (s: number) => (s >= 7000 ? 1 : 0.01 + (0.9 * s) / 7000);
  const test = (s: number) => (s <= 100_000 ? 0.01 : s === 101_000 ? 0.57 : s === 102_000 ? 0.98 : 1);
  const r = analyzeCurve(curveOf(steps, train, test), { classes: 97 });

  it('reports the onset (101,000, the textbook t_grok) and the first crossing of 90% (102,000) under different names', () => {
    assert.equal(r.measures.t_mem, 7000);
    assert.equal(r.measures.t_grok_onset, 101_000);
    assert.equal(r.measures.t_grok_crossing, 102_000);
    assert.equal(r.measures.gap_onset, 94_000);
    assert.equal(r.measures.gap_crossing, 95_000);
    close(r.measures.ratio_onset, 101 / 7, 1e-12, 'ratio onset');
    assert.equal(r.measures.t_grok_crossing_previous_eval, 101_000);
    assert.equal(r.verdict.label, 'grokked');
  });

  it('measures the jump: ~2K steps, ≈2% of t_grok', () => {
    const tr = r.transition;
    assert.ok(tr);
    assert.equal(tr.plateau_level, 0.01);
    assert.equal(tr.peak_level, 1);
    assert.deepEqual(tr.largest_rise, { from_step: 100_000, to_step: 101_000, rise: 0.57 - 0.01 });
    // 10% of the rise is 0.01 + 0.099 = 0.109, reached between 100K (0.01) and 101K (0.57);
    // 90% is 0.901, between 101K (0.57) and 102K (0.98).
    const t10 = 100_000 + (1000 * 0.099) / 0.56;
    const t90 = 101_000 + (1000 * (0.901 - 0.57)) / 0.41;
    close(tr.t10, t10, 1e-6, 't10');
    close(tr.t90, t90, 1e-6, 't90');
    close(tr.width_10_90, t90 - t10, 1e-6, 'width'); // 1,630.5 steps
    assert.equal(tr.width_10_90_max, 2000); // the textbook's "~2K": from 100K (below 10%) to 102K (above 90%)
    close(tr.width_relative, (t90 - t10) / 101_000, 1e-12, 'width relative'); // 1.6%
    close(tr.width_10_90_max / 101_000, 0.0198, 1e-4, 'grid width relative'); // ≈ 2%
    close(tr.max_slope, 0.56 / 1000, 1e-12, 'max slope');
    assert.equal(tr.max_slope_step, 100_500);
    assert.equal(tr.valid, true);
  });

  it('fits a sigmoid with its midpoint inside the jump', () => {
    for (const fit of [r.sigmoid.step, r.sigmoid.log_step]) {
      assert.ok(fit?.converged);
      assert.ok(fit.t0 > 100_000 && fit.t0 < 102_000, `t0 ${fit.t0}`);
      close(fit.c, 0.01, 0.005, 'c');
      close(fit.d, 1, 0.005, 'd');
      assert.ok((fit.r2 ?? 0) > 0.999);
    }
  });
});

describe('verdicts on synthetic curves with known answers', () => {
  const steps = grid(0, 10_000, 100);

  it('grokked: memorized at 500, logistic jump at 5000 (scale 100); the fit recovers t0 and k', () => {
    const r = analyzeCurve(curveOf(steps, memorizing(500), jump(5000, 100)), { classes: 100 });
    assert.equal(r.verdict.label, 'grokked', r.verdict.reason);
    assert.equal(r.measures.t_mem, 500);
    // test ≥ 0.9 ⇔ logistic ≥ 0.89/0.99 ⇔ s ≥ 5000 + 100·ln(0.899/0.101) = 5218.6 → the 5300 evaluation.
    assert.equal(r.measures.t_grok_crossing, 5300);
    // 10% of the rise ⇔ logistic ≈ 0.1 ⇔ s ≈ 5000 − 100·ln 9 = 4780 → the 4800 evaluation.
    assert.equal(r.measures.t_grok_onset, 4800);
    const fit = r.sigmoid.step;
    assert.ok(fit);
    close(fit.t0, 5000, 1, 'fitted t0');
    close(fit.k, 0.01, 1e-4, 'fitted k');
    close(fit.c, 0.01, 1e-3, 'fitted c');
    assert.ok((fit.r2 ?? 0) > 0.9999);
    assert.equal(r.sigmoid.best, 'step');
  });

  it('comprehension: test accuracy rises while the training set is still being learned', () => {
    const r = analyzeCurve(curveOf(steps, memorizing(2000), jump(1500, 100)), { classes: 100 });
    assert.equal(r.verdict.label, 'comprehension', r.verdict.reason);
    assert.ok((r.measures.t_grok_crossing ?? 0) < 2000);
  });

  it('memorized-only: a single noisy evaluation above 0.9 is not t_grok', () => {
    const test = (s: number) => (s === 3000 ? 0.95 : 0.01);
    const r = analyzeCurve(curveOf(steps, memorizing(500), test), { classes: 100 });
    assert.equal(r.verdict.label, 'memorized-only', r.verdict.reason);
    assert.equal(r.measures.t_grok_crossing, null);
    assert.equal(r.transition, null); // the median smoother removes the spike: no rise at all
    const isolated = r.issues.find((i) => i.kind === 'isolated-crossing');
    assert.deepEqual(isolated?.examples, [3000]);
  });

  it('memorized-only: a last evaluation alone above 0.9 is not confirmed', () => {
    const test = (s: number) => (s === 10_000 ? 0.95 : 0.01);
    const r = analyzeCurve(curveOf(steps, memorizing(500), test), { classes: 100 });
    assert.equal(r.verdict.label, 'memorized-only');
    assert.ok(kinds(r).includes('unconfirmed-crossing'));
    assert.match(r.verdict.notes.join('\n'), /last evaluation \(step 10000\)/);
    // The reason says what happened, not that the threshold was never reached.
    assert.match(r.verdict.reason, /reached 0\.95 only at the last evaluation \(step 10000\)/);
    assert.doesNotMatch(r.verdict.reason, /never reached/);
  });

  it('no-fit: train accuracy tops out at 0.4', () => {
    const r = analyzeCurve(
      curveOf(steps, memorizing(500, 0.01, 0.4), () => 0.01),
      { classes: 100 },
    );
    assert.equal(r.verdict.label, 'no-fit', r.verdict.reason);
    assert.equal(r.measures.t_mem, null);
    assert.match(r.verdict.reason, /highest 0\.40/);
  });

  it('gradual: test accuracy creeping up linearly in log(step) from 600 to 20,000', () => {
    const long = grid(0, 20_000, 100);
    const creep = (s: number) =>
      0.01 + 0.98 * Math.min(1, Math.max(0, Math.log(s / 600) / Math.log(20_000 / 600)));
    const r = analyzeCurve(curveOf(long, memorizing(300), creep), { classes: 100 });
    assert.equal(r.verdict.label, 'gradual', r.verdict.reason);
    assert.ok((r.transition?.width_log ?? 0) > 2, `width_log ${r.transition?.width_log}`);
  });

  it('above-chance-plateau: plateau at 0.5 with 10 classes; with --baseline 0.5 the same curve is grokked', () => {
    const test = (s: number) => (s < 500 ? 0.1 + (0.4 * s) / 500 : jump(5000, 100, 0.5)(s));
    const curve = curveOf(steps, memorizing(500), test);
    const strict = analyzeCurve(curve, { classes: 10 });
    assert.equal(strict.verdict.label, 'above-chance-plateau', strict.verdict.reason);
    assert.equal(strict.transition?.checks.plateau_near_baseline, false);
    const explained = analyzeCurve(curve, { classes: 10, baseline: 0.5 });
    assert.equal(explained.verdict.label, 'grokked', explained.verdict.reason);
    assert.equal(explained.baseline.source, 'user');
  });

  it('unstable: test accuracy collapses for a while after generalizing', () => {
    const test = (s: number) => (s >= 8000 && s < 8500 ? 0.3 : jump(5000, 100)(s));
    const r = analyzeCurve(curveOf(steps, memorizing(500), test), { classes: 100 });
    assert.equal(r.verdict.label, 'unstable', r.verdict.reason);
    assert.equal(r.instability.collapses[0].from_step, 8000);
    assert.equal(r.instability.collapses[0].to_step, 8400);
  });

  it('unstable: a loss spike after generalizing; one stray evaluation is not a spike', () => {
    const loss = (spikeAt: number[]) => (s: number) => (spikeAt.includes(s) ? 2 : s < 5300 ? 1 : 1e-4);
    const spiked = analyzeCurve(
      curveOf(steps, memorizing(500), jump(5000, 100), { train_loss: loss([8000, 8100, 8200]) }),
      { classes: 100 },
    );
    assert.equal(spiked.verdict.label, 'unstable', spiked.verdict.reason);
    assert.deepEqual(
      { ...spiked.instability.loss_spikes[0], reference: 0 },
      { metric: 'train_loss', from_step: 8000, to_step: 8200, worst: 2, reference: 0 },
    );
    const stray = analyzeCurve(
      curveOf(steps, memorizing(500), jump(5000, 100), { train_loss: loss([8000]) }),
      {
        classes: 100,
      },
    );
    assert.equal(stray.verdict.label, 'grokked', stray.verdict.reason);
  });

  it('insufficient-data with fewer than 3 evaluations', () => {
    const r = analyzeCurve({ step: [0, 100], train_acc: [0, 1], test_acc: [0, 1] });
    assert.equal(r.verdict.label, 'insufficient-data');
  });

  it('noisy grokked curve: noise and a stray spike above 0.9 on the plateau move neither t_grok nor the onset', () => {
    const rng = new Rng(7);
    const clean = curveOf(steps, memorizing(500), jump(5000, 100));
    const noisy = (clean.test_acc as number[]).map((v, i) =>
      steps[i] === 2500 ? 0.93 : Math.min(1, Math.max(0, v + 0.02 * rng.normal())),
    );
    const r = analyzeCurve({ ...clean, test_acc: noisy }, { classes: 100 });
    assert.equal(r.verdict.label, 'grokked', r.verdict.reason);
    close(r.measures.t_grok_crossing, 5300, 100, 't_grok crossing');
    close(r.measures.t_grok_onset, 4800, 100, 'onset');
    assert.deepEqual(r.issues.find((i) => i.kind === 'isolated-crossing')?.examples, [2500]);
  });
});

describe('the baseline comes from the task and the split', () => {
  it('nanda-113 (x+y mod 113, 30%): about 30% of test pairs are answered by their swap', () => {
    const config = parseRunConfig(PRESETS['nanda-113'].config);
    const task = buildTask(config.task);
    const split = makeSplit(task.numExamples, trainFractionOf(config.task), config.split_seed);
    const b = baselineFromTask(task, split);
    close(b.symmetric_share, 0.3 * (1 - 1 / 113), 0.015, 'symmetric share');
    close(b.value, (b.symmetric_share ?? 0) + (1 - (b.symmetric_share ?? 0)) / 113, 1e-12, 'baseline');
    assert.equal(b.chance, 1 / 113);
    // x−y: the swap has another answer (except x = y, which swaps onto itself): chance only.
    const sub = buildTask({ kind: 'modular', op: 'sub', p: 113, train_fraction: 0.3 });
    assert.equal(baselineFromTask(sub, split).symmetric_share, 0);
  });

  it('a nanda-113 run with a 0.27 plateau is grokked; against 1/113 alone it would be an above-chance plateau', () => {
    const config = parseRunConfig(PRESETS['nanda-113'].config);
    const task = buildTask(config.task);
    const split = makeSplit(task.numExamples, trainFractionOf(config.task), config.split_seed);
    const runDir = path.join(tmpDir(), 'nanda-like');
    fs.mkdirSync(runDir);
    fs.writeFileSync(path.join(runDir, 'config.json'), JSON.stringify(config));
    fs.writeFileSync(path.join(runDir, 'split.json'), JSON.stringify(splitToJson(split)));
    // The curve Nanda et al. show: memorized by ~1,400 steps while test accuracy climbs to the
    // swap plateau 0.27, which lasts until the jump near 9,000 steps.
    const lines = grid(0, 20_000, 100).map((s) =>
      JSON.stringify({
        step: s,
        train_acc: memorizing(1400)(s),
        test_acc: s < 1400 ? 0.009 + (0.261 * s) / 1400 : jump(9000, 400, 0.27)(s),
        train_loss: 1,
        test_loss: 1,
        weight_norm: 60 - s / 1000,
      }),
    );
    fs.writeFileSync(path.join(runDir, 'metrics.jsonl'), `${lines.join('\n')}\n`);
    const r = detectRun(runDir);
    assert.equal(r.baseline.source, 'task-split');
    assert.equal(r.source.task, 'x+y mod 113');
    assert.equal(r.verdict.label, 'grokked', r.verdict.reason);
    close(r.transition?.plateau_level, 0.27, 0.01, 'plateau');
    assert.equal(r.weight_norm?.at_t_mem, 60 - 1.4);
    const strict = detectRun(runDir, { classes: 113 });
    assert.equal(strict.verdict.label, 'above-chance-plateau', strict.verdict.reason);
  });
});

describe('a steep climb to the swap plateau is not the transition', () => {
  it('60% of pairs: test accuracy jumps to the 0.58 swap plateau with memorization, groks much later', () => {
    // Seen in a real p=47 transformer run at 60%: the climb from chance to the plateau is a single
    // large step between two evaluations, larger than any step of the real jump near 3,000.
    const steps = grid(0, 5000, 50);
    const test = (s: number) => (s < 100 ? 0.02 : s < 150 ? 0.3 : jump(3000, 150, 0.58)(s));
    const r = analyzeCurve(curveOf(steps, memorizing(200), test), { baseline: 0.6 });
    assert.equal(r.verdict.label, 'grokked', r.verdict.reason);
    close(r.transition?.plateau_level, 0.58, 0.01, 'plateau');
    assert.ok((r.measures.t_grok_onset ?? 0) > 2500, `onset ${r.measures.t_grok_onset}`);
    assert.ok((r.measures.t_grok_onset ?? Infinity) <= 3000, `onset ${r.measures.t_grok_onset}`);
  });
});

describe('data problems are handled and reported', () => {
  it('NaN, empty values, duplicated and out-of-order steps, percentages and gaps', () => {
    const steps = grid(0, 10_000, 100);
    const base = curveOf(steps, memorizing(500), jump(5000, 100));
    const step: Array<number | null> = [...steps];
    const train = [...(base.train_acc as number[])].map((v) => 100 * v); // percentages
    const test: Array<number | null> = [...(base.test_acc as number[])];
    test[10] = Number.NaN; // step 1000
    test[11] = null; // step 1100: not logged
    step[12] = null; // a row without a step
    // Steps 6100–6900 missing: a gap; then step 7000 logged again (a resumed run) with another value.
    const keep = steps.map((s) => !(s > 6000 && s < 7000));
    const pick = <T>(list: T[]) => list.filter((_, i) => keep[i]);
    const curve = { step: pick(step), train_acc: pick(train), test_acc: pick(test) };
    curve.step.push(7000, 300);
    curve.train_acc.push(100, 100 * memorizing(500)(300));
    curve.test_acc.push(0.999, jump(5000, 100)(300));
    const r = analyzeCurve(curve, { classes: 100 });
    const issue = (kind: string, metric: string) =>
      r.issues.find((i) => i.kind === kind && i.metric === metric);
    assert.equal(issue('non-finite', 'test_acc')?.count, 1);
    assert.deepEqual(issue('non-finite', 'test_acc')?.examples, [1000]);
    assert.equal(issue('missing-value', 'test_acc')?.count, 1);
    assert.equal(issue('missing-step', 'test_acc')?.count, 1);
    assert.equal(issue('missing-step', 'train_acc')?.count, 1);
    assert.deepEqual(issue('duplicate-step', 'test_acc')?.examples, [300, 7000]);
    assert.equal(issue('duplicate-step', 'test_acc')?.severity, 'warning'); // 7000 differs
    assert.ok(issue('unsorted', 'test_acc'));
    assert.ok(issue('percent-scale', 'train_acc'));
    assert.deepEqual(issue('sparse', 'test_acc')?.examples, [6000]);
    // Still the right answers.
    assert.equal(r.measures.t_mem, 500);
    assert.equal(r.measures.t_grok_crossing, 5300);
    assert.equal(r.measures.final_test_acc, jump(5000, 100)(10_000));
    assert.equal(r.verdict.label, 'grokked');
    assert.equal(r.sampling?.spacing_max, 1000);
  });

  it('an accuracy slightly above 1 is a bad value, not a percentage', () => {
    const steps = grid(0, 10_000, 100);
    const curve = curveOf(steps, memorizing(500), (s) => (s === 9000 ? 1.01 : jump(5000, 100)(s)));
    const r = analyzeCurve(curve, { classes: 100 });
    assert.ok(!kinds(r).includes('percent-scale'));
    assert.deepEqual(r.issues.find((i) => i.kind === 'out-of-range')?.examples, [9000]);
    assert.equal(r.measures.t_grok_crossing, 5300);
  });

  it('rejects curves whose arrays do not match the steps', () => {
    assert.throws(
      () => analyzeCurve({ step: [0, 1, 2], train_acc: [0, 1], test_acc: [0, 0, 0] }),
      (err: unknown) => err instanceof UsageError && err.problems[0].field === 'curve.train_acc',
    );
  });
});

describe('reading other people’s logs', () => {
  it('a W&B CSV export: picks trainer/global_step over Step, merges the split rows, reports the NaN and the re-logged step', () => {
    const [r] = detectPath(fixture('wandb-export.csv'), { classes: 113 }) as DetectResult[];
    assert.deepEqual(r.columns, {
      step: 'trainer/global_step',
      train_acc: 'train/acc',
      test_acc: 'val/acc',
      train_loss: 'train/loss',
      test_loss: 'val/loss',
      weight_norm: null,
    });
    assert.equal(r.source.kind, 'csv');
    assert.equal(r.measures.t_mem, 300);
    assert.equal(r.measures.t_grok_onset, 1600);
    assert.equal(r.measures.t_grok_crossing, 1800);
    assert.equal(r.verdict.label, 'grokked', r.verdict.reason);
    assert.deepEqual(r.issues.find((i) => i.kind === 'non-finite')?.examples, [1200]);
    assert.deepEqual(
      r.issues.find((i) => i.kind === 'duplicate-step' && i.metric === 'test_acc')?.examples,
      [2500],
    );
    assert.equal(r.issues.find((i) => i.kind === 'missing-value' && i.metric === 'test_acc')?.count, 31);
  });

  it('a W&B panel export ("<run> - metric" with __MIN/__MAX companions) and flags that override', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'panel.csv');
    const rows = [
      'Step,"g - train/acc","g - train/acc__MIN","g - train/acc__MAX","g - val/acc","g - val/acc__MIN","g - val/acc__MAX"',
    ];
    for (const s of grid(0, 5000, 100)) {
      const tr = memorizing(300)(s).toFixed(4);
      const te = jump(2500, 50)(s).toFixed(4);
      rows.push(`${s},${tr},${tr},${tr},${te},0,1`);
    }
    fs.writeFileSync(file, `${rows.join('\r\n')}\r\n`);
    const [r] = detectPath(file) as DetectResult[];
    assert.equal(r.columns.train_acc, 'g - train/acc');
    assert.equal(r.columns.test_acc, 'g - val/acc');
    assert.equal(r.columns.step, 'Step');
    assert.equal(r.verdict.label, 'grokked', r.verdict.reason);
    assert.equal(r.baseline.source, 'first-evaluation');
    assert.ok(kinds(r).includes('baseline-estimated'));
    const [overridden] = detectPath(file, { columns: { test_acc: 'g - val/acc__MAX' } }) as DetectResult[];
    assert.equal(overridden.columns.test_acc, 'g - val/acc__MAX');
    assert.equal(overridden.verdict.label, 'comprehension'); // a constant 1 from the start
  });

  it('JSONL with Python NaN, nested keys, a bad line and a torn last line (Lightning-style names)', () => {
    const file = path.join(tmpDir(), 'log.jsonl');
    const lines = grid(0, 4000, 100).map((s) => {
      const valAcc = s === 1000 ? 'NaN' : jump(2000, 50)(s).toFixed(5);
      return `{"epoch": ${s / 100}, "step": ${s}, "train_acc_step": ${memorizing(200)(s)}, "train_acc_epoch": ${memorizing(200)(s)}, "val": {"acc": ${valAcc}, "loss": 1.0}}`;
    });
    lines.splice(5, 0, 'this is not json');
    fs.writeFileSync(file, `${lines.join('\n')}\n{"step": 4100, "val": {"ac`);
    const [r] = detectPath(file, { classes: 97 }) as DetectResult[];
    assert.equal(r.columns.step, 'step');
    assert.equal(r.columns.test_acc, 'val/acc');
    assert.equal(r.columns.test_loss, 'val/loss');
    assert.match(r.columns.train_acc ?? '', /^train_acc_(step|epoch)$/);
    assert.ok(kinds(r).includes('ambiguous-column'));
    assert.deepEqual(r.issues.find((i) => i.kind === 'non-finite')?.examples, [1000]);
    assert.deepEqual(r.issues.find((i) => i.kind === 'bad-line')?.examples, [6]);
    assert.ok(kinds(r).includes('torn-tail'));
    assert.equal(r.verdict.label, 'grokked', r.verdict.reason);
  });

  it('CRC-32C and TFRecord framing match TensorFlow', () => {
    assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
    // Every event file starts with a 24-byte record: its header is 18 00 00 00 00 00 00 00 a3 7f 4b 22.
    assert.equal(maskedCrc32c(Uint8Array.from([24, 0, 0, 0, 0, 0, 0, 0])), 0x224b7fa3);
  });

  // Bytes written by tensorboard_logger through TensorFlow's protobuf runtime (its test suite):
  // file version, then v/1 = 1.5 at step 1 and v/22 = 16 at step 2, wall time 256.5.
  const REFERENCE_EVENTS =
    '1800000000000000a37f4b220900000000000870401a0d627261696e2e4576656e743a32bc98212b19000000000000008bf1082809000000000008704010012a0c0a0a0a03762f31150000c03f2cecc0871a00000000000000129bd82d09000000000008704010022a0d0a0b0a04762f323215000080418fa3b688';

  it('reads an event file written by TensorFlow, and the test writer reproduces it byte for byte', () => {
    const reference = Uint8Array.from(Buffer.from(REFERENCE_EVENTS, 'hex'));
    const written = eventFile([
      fileVersionEvent(256.5),
      simpleScalarEvent(1, { 'v/1': 1.5 }, 256.5),
      simpleScalarEvent(2, { 'v/22': 16 }, 256.5),
    ]);
    assert.deepEqual(written, reference);
    assert.equal(readTfRecords(reference).records.length, 3);
  });

  it('a Keras-style TensorBoard directory (train/ and validation/, TF2 tensor scalars) gives the same answer as the curve', () => {
    const dir = tmpDir();
    const steps = grid(0, 3000, 50);
    const train = memorizing(200);
    const test = jump(1500, 40);
    fs.mkdirSync(path.join(dir, 'train'));
    fs.mkdirSync(path.join(dir, 'validation'));
    fs.writeFileSync(
      path.join(dir, 'train', 'events.out.tfevents.1700000000.host.1.v2'),
      eventFile([
        fileVersionEvent(),
        ...steps.map((s) => tensorScalarEvent(s, 'epoch_accuracy', train(s), 'float_val')),
        ...steps.map((s) => tensorScalarEvent(s, 'epoch_loss', 1, 'float_val')),
        ...steps.map((s) => tensorScalarEvent(s, 'epoch_steps', s, 'int64_val')),
      ]),
    );
    fs.writeFileSync(
      path.join(dir, 'validation', 'events.out.tfevents.1700000001.host.1.v2'),
      eventFile(steps.map((s) => tensorScalarEvent(s, 'epoch_accuracy', test(s), 'double_content'))),
    );
    const [r] = detectPath(dir, { classes: 59 }) as DetectResult[];
    assert.equal(r.source.kind, 'tensorboard');
    assert.equal(r.columns.step, '(event step)');
    assert.equal(r.columns.train_acc, 'train/epoch_accuracy');
    assert.equal(r.columns.test_acc, 'validation/epoch_accuracy');
    assert.equal(r.columns.train_loss, 'train/epoch_loss');
    const f32 = (x: number) => Math.fround(x);
    const expected = analyzeCurve(
      curveOf(steps, (s) => f32(train(s)), test),
      { classes: 59 },
    );
    assert.deepEqual(r.measures, expected.measures);
    assert.deepEqual(r.verdict, expected.verdict);
    assert.equal(r.verdict.label, 'grokked');
  });

  it('a PyTorch SummaryWriter file: a corrupt record and a torn tail are reported, not fatal', () => {
    const dir = tmpDir();
    const steps = grid(0, 2000, 20);
    const events = steps.map((s) =>
      simpleScalarEvent(s, {
        'Accuracy/train': memorizing(100)(s),
        'Accuracy/test': jump(1000, 20)(s),
        weight_norm: 50 - s / 100,
      }),
    );
    const bytes = eventFile([fileVersionEvent(), ...events]);
    // Flip a byte inside the 11th record's data, then cut the file in the middle of its last record.
    const recordStarts: number[] = [];
    for (let at = 0; at < bytes.length; ) {
      recordStarts.push(at);
      at += 16 + new DataView(bytes.buffer).getUint32(at, true);
    }
    bytes[recordStarts[11] + 20] ^= 0xff;
    const file = path.join(dir, 'events.out.tfevents.1700000000.host');
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 5));
    const [r] = detectPath(file) as DetectResult[];
    assert.equal(r.columns.train_acc, 'Accuracy/train');
    assert.equal(r.columns.test_acc, 'Accuracy/test');
    assert.equal(r.columns.weight_norm, 'weight_norm');
    assert.equal(r.issues.find((i) => i.kind === 'crc-mismatch')?.count, 1);
    assert.ok(kinds(r).includes('truncated-record'));
    assert.equal(r.sampling?.evaluations, steps.length - 2);
    assert.equal(r.verdict.label, 'grokked', r.verdict.reason);
  });
});

describe('bad input is a UsageError naming the problem', () => {
  const usage = (fn: () => unknown, pattern: RegExp) =>
    assert.throws(
      fn,
      (err: unknown) => err instanceof UsageError && pattern.test(err.message),
      String(pattern),
    );

  it('missing paths, unreadable files, unknown columns, bad thresholds', () => {
    const dir = tmpDir();
    usage(() => detectPath(path.join(dir, 'nope.csv')), /^path: ".*nope\.csv" does not exist/);
    usage(() => detectPath(dir), /neither a groklab run/);
    const garbage = path.join(dir, 'events.out.tfevents.123.host');
    fs.writeFileSync(garbage, 'definitely not a TFRecord');
    usage(() => detectPath(garbage), /not a TFRecord/);
    const broken = path.join(dir, 'broken.csv');
    fs.writeFileSync(broken, 'step,"train_acc\n1,2\n');
    usage(() => detectPath(broken), /unterminated quoted field/);
    const csv = fixture('wandb-export.csv');
    usage(
      () => detectPath(csv, { columns: { test_acc: 'val_accuracy' } }),
      /--test-acc: no column "val_accuracy" in .*; columns: Step, _runtime, _timestamp, epoch, trainer\/global_step, train\/acc, train\/loss, val\/acc, val\/loss/,
    );
    const noTest = path.join(dir, 'no-test.csv');
    fs.writeFileSync(noTest, 'step,train_acc,lr\n0,0.1,1\n');
    usage(
      () => detectPath(noTest),
      /--test-acc: no test acc column recognized .*columns: step, train_acc, lr/,
    );
    usage(() => detectPath(csv, { memThreshold: 0 }), /--mem-threshold: must be in \(0, 1\]/);
    usage(() => detectPath(csv, { grokThreshold: 1.5 }), /--grok-threshold: must be in \(0, 1\]/);
    usage(() => detectPath(csv, { classes: 1 }), /--classes: must be an integer ≥ 2/);
  });
});

describe('run folders and runs directories', () => {
  const demo = () => parseRunConfig(PRESETS.demo.config);
  const splitOf = (config: ReturnType<typeof demo>) =>
    splitToJson(makeSplit(47 * 47, trainFractionOf(config.task), config.split_seed));

  it('a run that has just started is insufficient-data, and says it is still running', () => {
    const runsDir = tmpDir();
    const config = demo();
    createRunFolder(runsDir, 'fresh', {
      config: config as unknown as Record<string, unknown>,
      split: splitOf(config),
    });
    const r = detectRun(path.join(runsDir, 'fresh'));
    assert.equal(r.verdict.label, 'insufficient-data');
    assert.equal(r.source.state, 'running');
    assert.match(r.verdict.notes.join('\n'), /still running/);
    assert.equal(r.baseline.source, 'task-split');
  });

  it('in a runs directory a broken run is an error row while the others are analysed; metrics.jsonl reads as its run', async () => {
    const runsDir = tmpDir();
    const config = demo();
    const contents = { config: config as unknown as Record<string, unknown>, split: splitOf(config) };
    const good = createRunFolder(runsDir, 'good', contents);
    const lines = grid(0, 3000, 25).map((s) =>
      JSON.stringify({ step: s, train_acc: memorizing(100)(s), test_acc: jump(1000, 60, 0)(s) }),
    );
    fs.writeFileSync(good.metricsPath, `${lines.join('\n')}\n`);
    const bad = createRunFolder(runsDir, 'bad', contents);
    fs.writeFileSync(bad.metricsPath, '{"step": 0, "train_acc": 0.1}\nnot json\n{"step": 1}\n');
    fs.mkdirSync(path.join(runsDir, 'stray'));
    const outcomes = detectPath(runsDir);
    assert.deepEqual(
      outcomes.map((o) => `${o.source.run_id}: ${isFailure(o) ? 'error' : o.verdict.label}`),
      ['bad: error', 'good: grokked', 'stray: error'],
    );
    assert.match(await detectCli([runsDir]), /\nstray: error: not a groklab run/);
    const failure = outcomes[0];
    assert.ok(isFailure(failure));
    assert.match(failure.error, /metrics\.jsonl:2: invalid JSON/);
    const [viaFile] = detectPath(good.metricsPath) as DetectResult[];
    assert.equal(viaFile.source.kind, 'groklab-run');
    assert.equal(viaFile.baseline.source, 'task-split');
  });
});

/** Runs `groklab detect ARGS` through registerDetect; returns what it printed. */
async function detectCli(args: string[]): Promise<string> {
  let printed = '';
  const out = new Writable({
    write(chunk, _encoding, done) {
      printed += String(chunk);
      done();
    },
  });
  const program = new Command('groklab').exitOverride();
  registerDetect(program, out);
  await program.parseAsync(['detect', ...args], { from: 'user' });
  return printed;
}

describe('groklab detect on real groklab runs', () => {
  // x+y mod 31, 70% of pairs, one-hidden-layer MLP (one-hot, quadratic, width 128), AdamW lr 1e-2,
  // full batch; seed 0, measured: memorizes at step 50, test accuracy ≤ 0.01 until ~110, ≥ 0.9 at 240.
  const config = (weightDecay: number, steps: number, every: number) => ({
    seed: 0,
    task: { kind: 'modular', op: 'add', p: 31, train_fraction: 0.7 },
    model: { kind: 'mlp', input: 'onehot', width: 128, depth: 1, activation: 'quadratic', init_scale: 1 },
    train: {
      optimizer: 'adamw',
      lr: 1e-2,
      weight_decay: weightDecay,
      beta1: 0.9,
      beta2: 0.98,
      eps: 1e-8,
      momentum: 0,
      warmup_steps: 10,
      batch_size: 'full',
      loss: 'cross_entropy',
      steps,
      stop_test_acc: 0.99,
      stop_patience: 3,
    },
    eval: { every, log_points_per_decade: 5, checkpoint_every: 100_000 },
  });
  const runsDir = path.join(tmpDir(), 'runs');

  it('weight decay 1 groks, none memorizes only, 20 does not even fit; a runs directory gives a table', async () => {
    await startRun(runsDir, config(1, 600, 10), { id: 'wd1' });
    await startRun(runsDir, config(0, 300, 20), { id: 'wd0' });
    await startRun(runsDir, config(20, 150, 20), { id: 'wd20' });

    const grokked = detectRun(path.join(runsDir, 'wd1'));
    assert.equal(grokked.verdict.label, 'grokked', grokked.verdict.reason);
    assert.equal(grokked.measures.t_mem, 50);
    close(grokked.measures.t_grok_crossing, 240, 30, 't_grok crossing');
    assert.ok((grokked.measures.t_grok_onset ?? 0) >= 2 * 50);
    assert.equal(grokked.baseline.source, 'task-split');
    assert.equal(grokked.source.state, 'finished');
    assert.ok(grokked.weight_norm && grokked.weight_norm.at_t_mem !== null);
    assert.deepEqual(grokked.issues, []);

    const outcomes = detectPath(runsDir);
    assert.deepEqual(
      outcomes.map((o) => [o.source.run_id, isFailure(o) ? 'error' : o.verdict.label]),
      [
        ['wd0', 'memorized-only'],
        ['wd1', 'grokked'],
        ['wd20', 'no-fit'],
      ],
    );

    const table = await detectCli([runsDir]);
    assert.match(table, /^source\s+verdict\s+t_mem\s+onset\s+t_grok/);
    assert.match(table, /\nwd1\s+grokked\s+50\s/);
    assert.match(table, /\nwd0\s+memorized-only\s/);
    assert.match(table, /\nwd20\s+no-fit\s/);

    const json = JSON.parse(await detectCli([path.join(runsDir, 'wd1'), '--json']));
    assert.deepEqual(json, JSON.parse(JSON.stringify([grokked])));

    const report = await detectCli([path.join(runsDir, 'wd1')]);
    assert.match(report, /verdict: grokked/);
    assert.match(report, /t_grok onset \(detector: jump starts\)\s+\d+/);
    assert.match(report, /t_grok crossing \(test acc ≥ 0\.9, confirmed\)\s+\d+/);

    await assert.rejects(
      detectCli([runsDir, '--mem-threshold', '2', '--classes', 'x']),
      (err: unknown) =>
        err instanceof UsageError &&
        err.problems.map((p) => p.field).join(' ') === '--classes --mem-threshold',
    );
  });
});

describe('other people’s logs: what the log is, the memorization band, runs that stopped early', () => {
  const pytorchCsv = fixture('pytorch-nanda-113.csv');
  const wandbCsv = fixture('wandb-stopped-mid-rise.csv');
  /** The band of x+y mod p with a training fraction f over random splits, computed here from scratch. */
  const expectedAddBand = (p: number, f: number) => {
    const n = p * p;
    const nTrain = Math.round(f * n);
    // Every pair but the p with x = y has a distinct swap with the same answer; it is one of the
    // n − 1 other examples, in training with probability nTrain / (n − 1).
    const share = ((n - p) / n) * (nTrain / (n - 1));
    return { low: 1 / p, high: share + (1 - share) / p };
  };
  const copyWithConfig = (log: string, config: unknown) => {
    const dir = tmpDir();
    const file = path.join(dir, path.basename(log));
    fs.copyFileSync(log, file);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    return file;
  };

  it('the committed fixture logs are exactly what make-logs.ts writes', () => {
    for (const [name, make] of Object.entries(FIXTURE_LOGS)) {
      assert.equal(fs.readFileSync(fixture(name), 'utf8'), make(), `${name}: rerun make-logs.ts`);
    }
  });

  it('a PyTorch-style CSV of a Nanda-like run is grokked, with its 0.27 plateau explained', () => {
    const [r] = detectPath(pytorchCsv) as DetectResult[];
    assert.deepEqual(r.columns, {
      step: 'step',
      train_acc: 'train_acc',
      test_acc: 'test_acc',
      train_loss: 'train_loss',
      test_loss: 'test_loss',
      weight_norm: null,
    });
    assert.equal(r.verdict.label, 'grokked', r.verdict.reason);
    assert.equal(r.baseline.source, 'first-evaluation');
    assert.equal(r.baseline.band, null);
    close(r.plateau?.level, 0.27, 0.01, 'plateau');
    assert.equal(r.plateau?.flat, true);
    assert.match(
      r.verdict.reason,
      /plateau at 0\.27 ≈ the training fraction, likely: a memorizing model answering swapped pairs of a commutative operation/,
    );
    // Plateau from memorization (~1,300) for about 12,000 steps, then 10→90% of the jump within 2,000.
    close(r.measures.t_mem, 1300, 100, 't_mem');
    close(r.measures.t_grok_onset, 13_500, 500, 'onset');
    assert.ok((r.transition?.width_10_90_max ?? Infinity) <= 2000, `width ${r.transition?.width_10_90_max}`);
  });

  it('--task add --p 113 --train-fraction 0.3 gives the band 1/113 – 0.30, and the plateau sits at its high end', async () => {
    const { low, high } = expectedAddBand(113, 0.3);
    const [json] = JSON.parse(
      await detectCli([pytorchCsv, '--task', 'add', '--p', '113', '--train-fraction', '0.3', '--json']),
    ) as DetectResult[];
    assert.equal(json.baseline.source, 'task-fraction');
    close(json.baseline.band?.low, low, 1e-12, 'band low');
    close(json.baseline.band?.high, high, 1e-12, 'band high');
    close(json.baseline.value, high, 1e-12, 'baseline');
    assert.equal(json.plateau?.band_position, 'high-end');
    assert.equal(json.verdict.label, 'grokked', json.verdict.reason);
    assert.match(
      json.verdict.reason,
      /high end of the memorization band 0\.01–0\.30: a memorizing model answering swapped pairs/,
    );

    const text = await detectCli([pytorchCsv, '--task', 'add', '--p', '113', '--train-fraction', '0.3']);
    assert.match(
      text,
      /memorization band\s+0\.009 \(chance 1\/113\) – 0\.304 \(chance 1\/113 \+ swapped pairs\); the plateau 0\.27 sits at the high end/,
    );
    assert.match(text, /from --task add --p 113 --train-fraction 0\.3/);

    // The expected share agrees with the exact share of groklab's own random split of nanda-113.
    const config = parseRunConfig(PRESETS['nanda-113'].config);
    const task = buildTask(config.task);
    const exact = baselineFromTask(task, makeSplit(task.numExamples, 0.3, config.split_seed));
    close(exact.value, high, 0.01, 'exact against expected');
  });

  it('hints name what memorizing explains: x−y has no swap plateau, and --classes stays strict chance', () => {
    const [sub] = detectPath(pytorchCsv, {
      task: { op: 'sub', p: 113, trainFraction: 0.3 },
    }) as DetectResult[];
    assert.deepEqual(sub.baseline.band, { low: 1 / 113, high: 1 / 113 });
    assert.equal(sub.plateau?.band_position, 'above');
    assert.equal(sub.verdict.label, 'above-chance-plateau', sub.verdict.reason);
    const [strict] = detectPath(pytorchCsv, {
      classes: 113,
      task: { op: 'add', p: 113, trainFraction: 0.3 },
    }) as DetectResult[];
    assert.equal(strict.baseline.source, 'classes');
    assert.equal(strict.verdict.label, 'above-chance-plateau', strict.verdict.reason);
  });

  it('a groklab config.json next to a log says what the log is; flags override it', () => {
    const config = parseRunConfig(PRESETS['nanda-113'].config);
    const file = copyWithConfig(pytorchCsv, config);
    const [r] = detectPath(file) as DetectResult[];
    assert.equal(r.baseline.source, 'task-fraction');
    assert.equal(r.source.task, 'x+y mod 113');
    assert.ok(r.baseline.detail.includes(path.join(path.dirname(file), 'config.json')), r.baseline.detail);
    const { low, high } = expectedAddBand(113, 0.3);
    close(r.baseline.band?.low, low, 1e-12, 'band low');
    close(r.baseline.band?.high, high, 1e-12, 'band high');
    assert.equal(r.plateau?.band_position, 'high-end');
    assert.equal(r.verdict.label, 'grokked', r.verdict.reason);

    const [flagged] = detectPath(file, { task: { op: 'add', p: 113, trainFraction: 0.7 } }) as DetectResult[];
    assert.match(flagged.baseline.detail, /from --task add --p 113 --train-fraction 0\.7/);
    close(flagged.baseline.band?.high, expectedAddBand(113, 0.7).high, 1e-12, 'band high at 70%');
    assert.equal(flagged.plateau?.band_position, 'between'); // 0.27: far from chance and from the 0.70 a swapper scores
  });

  it('a config.json with only a task section works for a TensorBoard directory; a foreign one is ignored, and said so', () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'events.out.tfevents.1700000000.host'), tensorboardDriftingPlateau());
    fs.writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({ task: { kind: 'modular', op: 'mul', p: 59, train_fraction: 0.5 } }),
    );
    const [withTask] = detectPath(dir) as DetectResult[];
    assert.equal(withTask.baseline.source, 'task-fraction');
    assert.equal(withTask.baseline.classes, 59);

    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ hidden_size: 128, vocab_size: 114 }));
    const [foreign] = detectPath(dir) as DetectResult[];
    assert.equal(foreign.baseline.source, 'first-evaluation');
    const ignored = foreign.issues.find((i) => i.kind === 'ignored-config');
    assert.equal(ignored?.severity, 'info');
    assert.match(ignored?.message ?? '', /has no groklab "task" section/);

    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ task: { kind: 'modular', op: 'add' } }));
    const [broken] = detectPath(dir) as DetectResult[];
    const warning = broken.issues.find((i) => i.kind === 'ignored-config');
    assert.equal(warning?.severity, 'warning');
    assert.match(warning?.message ?? '', /task\.p/);
  });

  it('a plateau that drifts upward is above-chance-plateau (partial generalization), even where the band would explain its level', () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'events.out.tfevents.1700000000.host'), tensorboardDriftingPlateau());
    const [r] = detectPath(dir) as DetectResult[];
    assert.equal(r.columns.train_acc, 'Accuracy/train');
    assert.equal(r.columns.test_acc, 'Accuracy/test');
    assert.equal(r.verdict.label, 'above-chance-plateau', r.verdict.reason);
    assert.equal(r.plateau?.flat, false);
    assert.ok((r.plateau?.drift ?? 0) > 0.1, `drift ${r.plateau?.drift}`);
    assert.match(r.verdict.reason, /climbed from 0\.3\d to 0\.\d\d .*partial generalization/);
    const [hinted] = detectPath(dir, { task: { op: 'add', p: 59, trainFraction: 0.5 } }) as DetectResult[];
    // Its level is inside the band, but a plateau that climbs is not memorization alone.
    assert.equal(hinted.transition?.checks.plateau_near_baseline, true);
    assert.equal(hinted.verdict.label, 'above-chance-plateau', hinted.verdict.reason);
  });

  it('the demo-like MLP run: plateau 0.00 at the low end of the band 1/47 – 0.48, not "baseline 0.47"', async () => {
    const config = parseRunConfig(PRESETS.demo.config);
    const split = makeSplit(47 * 47, trainFractionOf(config.task), config.split_seed);
    const runsDir = tmpDir();
    const run = createRunFolder(runsDir, 'demo-like', {
      config: config as unknown as Record<string, unknown>,
      split: splitToJson(split),
    });
    // The README's demo run: memorized by step 100, test accuracy 0.00 until ~600, 0.90 at ~1275.
    const rng = new Rng(47);
    const lines = grid(0, 2500, 25).map((s) =>
      JSON.stringify({
        step: s,
        train_acc: memorizing(100)(s),
        test_acc: Math.max(0, jump(1000, 70, 0.001)(s) + 0.002 * rng.normal()),
      }),
    );
    fs.writeFileSync(run.metricsPath, `${lines.join('\n')}\n`);
    // The band's high end from scratch: test pairs (x, y), x ≠ y, whose (y, x) is in training.
    const inTrain = new Set(split.train);
    const answered = [...split.test].filter((i) => {
      const [x, y] = [Math.floor(i / 47), i % 47];
      return x !== y && inTrain.has(y * 47 + x);
    }).length;
    const share = answered / split.test.length;

    const r = detectRun(run.dir);
    assert.equal(r.baseline.source, 'task-split');
    close(r.baseline.band?.low, 1 / 47, 1e-12, 'band low');
    close(r.baseline.band?.high, share + (1 - share) / 47, 1e-12, 'band high');
    assert.equal(r.plateau?.band_position, 'low-end');
    assert.equal(r.verdict.label, 'grokked', r.verdict.reason);
    assert.match(
      r.verdict.reason,
      /plateau at 0\.00 ≈ chance 1\/47, the low end of the memorization band 0\.02–0\.4\d/,
    );
    assert.doesNotMatch(r.verdict.reason, /baseline 0\.4/);
    assert.match(await detectCli([run.dir]), /the plateau 0\.00 sits at the low end \(chance\)/);
  });

  it('a W&B export (_step, slashed names) of a run stopped mid-jump is undecided, not memorized-only', async () => {
    const [r] = detectPath(wandbCsv) as DetectResult[];
    assert.equal(r.columns.step, '_step');
    assert.equal(r.columns.train_acc, 'train/acc');
    assert.equal(r.columns.test_acc, 'val/acc');
    assert.equal(r.columns.test_loss, 'val/loss');
    assert.equal(r.verdict.label, 'undecided', r.verdict.reason);
    assert.match(
      r.verdict.reason,
      /test accuracy 0\.43 and rising \(\+0\.2\d over the last 6 evaluations, steps 4100–4600\); the run ended mid-transition/,
    );
    assert.equal(r.end_trend?.rising, true);
    assert.match(await detectCli([wandbCsv]), /verdict: undecided\n/);

    // The same log cut on its plateau ended with nothing moving: that is memorized-only.
    const dir = tmpDir();
    const early = fs
      .readFileSync(wandbCsv, 'utf8')
      .split('\n')
      .filter((line, i) => i === 0 || Number(line.split(',')[0]) <= 3000);
    fs.writeFileSync(path.join(dir, 'early.csv'), early.join('\n'));
    const [cut] = detectPath(path.join(dir, 'early.csv')) as DetectResult[];
    assert.equal(cut.end_trend?.rising, false);
    assert.equal(cut.verdict.label, 'memorized-only', cut.verdict.reason);
  });

  it('a run stopped at its first evaluation past the threshold, mid-rise, is undecided; a lone last spike is not a rise', () => {
    const steps = grid(0, 5300, 100);
    const rising = analyzeCurve(curveOf(steps, memorizing(500), jump(5000, 100)), { classes: 100 });
    assert.equal(rising.measures.t_grok_crossing, null);
    assert.equal(rising.verdict.label, 'undecided', rising.verdict.reason);
    const spike = analyzeCurve(
      curveOf(steps, memorizing(500), (s) => (s === 5300 ? 0.95 : 0.01)),
      { classes: 100 },
    );
    assert.equal(spike.verdict.label, 'memorized-only', spike.verdict.reason);
  });

  it('bad hint values exit 2 with a message naming the flag and what it allows', async () => {
    const cli = (args: string[]) =>
      spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          `import { main } from ${JSON.stringify(path.resolve(import.meta.dirname, '../src/cli/main.ts'))}; process.exitCode = await main(process.argv.slice(1));`,
          'detect',
          pytorchCsv,
          ...args,
        ],
        { encoding: 'utf8', cwd: path.resolve(import.meta.dirname, '..') },
      );
    const bad = cli(['--task', 'plus', '--p', '1', '--train-fraction', '1.5']);
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(
      bad.stderr,
      /--task: must be one of groklab's modular operations: add, sub, mul, div, .*; got "plus"/,
    );
    assert.match(bad.stderr, /--p: must be an integer in \[2, 2000\], got 1/);
    assert.match(bad.stderr, /--train-fraction: must be in \(0, 1\), got 1\.5/);
    assert.equal(bad.stdout, '');

    const fields = async (args: string[]) => {
      try {
        await detectCli([pytorchCsv, ...args]);
      } catch (err) {
        if (err instanceof UsageError) return err.problems.map((p) => `${p.field}: ${p.message}`);
        throw err;
      }
      return [];
    };
    assert.deepEqual(await fields(['--task', 'div', '--p', '4', '--train-fraction', '0.3']), [
      '--p: must be prime for --task div (it needs inverses mod p), got 4',
    ]);
    const [missingP, missingFraction] = await fields(['--task', 'add']);
    assert.match(missingP, /^--p: required with --task/);
    assert.match(missingFraction, /^--train-fraction: required with --task/);
    assert.match(
      (await fields(['--p', '113', '--train-fraction', '0.3']))[0],
      /^--task: required with --p and --train-fraction \(one of add, sub,/,
    );
    assert.deepEqual(await fields(['--task', 'add', '--p', 'x', '--train-fraction', '0.3']), [
      '--p: must be a number, got "x"',
    ]);
  });
});

describe('softmax collapse and the NLM cosine (Prieto et al.), when the log has them', () => {
  const runsDir = path.join(tmpDir(), 'runs');
  const collapsedDir = writeRunWithLog(runsDir, 'collapsed', collapsedMemorizerLog(), {
    weight_decay: 0,
  }).dir;
  const oldDir = writeRunWithLog(runsDir, 'old', withoutStabilityColumns(collapsedMemorizerLog()), {
    weight_decay: 0,
  }).dir;
  const grokkedDir = writeRunWithLog(runsDir, 'grokked', grokkedWithCollapseLog()).dir;
  // The tables of the fixture, read here by hand: 46% at 2300, 55% at 2400, 93% at 3000; the last
  // five cosines 0.96, 0.97, 0.98, 0.97, 0.96 have the median 0.97.
  const stall =
    'softmax collapse: 93% of the training examples have a float32 loss of exactly 0 at the end (≥ 50% from step 2400 on): their gradient vanished; the naïve-loss-minimization cosine is 0.97 (median of the last 5 evaluations)';

  it('a memorized-only run stalled in collapse: t_collapse, the final share and cosine, and a reason that says why', () => {
    const r = detectRun(collapsedDir);
    assert.equal(r.verdict.label, 'memorized-only');
    assert.ok(r.verdict.reason.endsWith(`: no generalization within the budget; ${stall}`), r.verdict.reason);
    assert.deepEqual(r.softmax_collapse, {
      column: 'softmax_collapse',
      loss_precision: 'float32',
      final: 0.93,
      final_step: 3000,
      max: 0.93,
      max_step: 3000,
      t_collapse: 2400,
      high_since: 2400,
    });
    assert.deepEqual(r.nlm_cosine, {
      column: 'nlm_cosine',
      final: 0.96,
      final_step: 3000,
      median_late: 0.97,
      late_from_step: 2600,
      late_evaluations: 5,
      max: 0.98,
      max_step: 2800,
    });
    // No nlm_cosine at step 0 is how the trainer writes it, not a data problem.
    assert.deepEqual(r.issues, []);
  });

  it('the report has a row for each, and --json the fields', async () => {
    const report = await detectCli([collapsedDir]);
    assert.match(
      report,
      /softmax collapse \(train, float32 loss = 0\)\s+final 93% at step 3000 · max 93% at 3000 · t_collapse \(≥ 50%\) 2400\n/,
    );
    assert.match(
      report,
      /NLM cosine cos\(−∇L, θ\)\s+final 0\.96 at step 3000 · median of the last 5 evaluations 0\.97 \(from step 2600\) · max 0\.98 at 2800\n/,
    );
    assert.match(report, /columns .* · softmax_collapse=softmax_collapse · nlm_cosine=nlm_cosine\n/);
    const [json] = JSON.parse(await detectCli([collapsedDir, '--json']));
    assert.equal(json.softmax_collapse.t_collapse, 2400);
    assert.equal(json.nlm_cosine.median_late, 0.97);
  });

  it('without the columns everything is as it was: null fields, no rows, the reason without the collapse', async () => {
    const collapsed = detectRun(collapsedDir);
    const old = detectRun(oldDir);
    assert.equal(old.softmax_collapse, null);
    assert.equal(old.nlm_cosine, null);
    assert.equal(collapsed.verdict.reason, `${old.verdict.reason}; ${stall}`);
    // The columns change nothing else.
    const rest = (r: DetectResult) => ({
      ...r,
      source: { ...r.source, path: null, run_id: null },
      softmax_collapse: null,
      nlm_cosine: null,
      verdict: { ...r.verdict, reason: '' },
    });
    assert.deepEqual(rest(collapsed), rest(old));
    const report = await detectCli([oldDir]);
    assert.doesNotMatch(report, /softmax|NLM|nlm/);
    const [json] = JSON.parse(await detectCli([oldDir, '--json']));
    assert.equal(json.softmax_collapse, null);
    assert.equal(json.nlm_cosine, null);
  });

  it('the precision in the reason is the run config’s: float64 loss, StableMax in float64', () => {
    const f64 = writeRunWithLog(runsDir, 'f64', collapsedMemorizerLog(), {
      weight_decay: 0,
      loss_precision: 'float64',
    });
    const r = detectRun(f64.dir);
    assert.equal(r.softmax_collapse?.loss_precision, 'float64');
    assert.match(r.verdict.reason, /93% of the training examples have a float64 loss of exactly 0/);
    const stablemax = writeRunWithLog(runsDir, 'stablemax', collapsedMemorizerLog(), {
      weight_decay: 0,
      loss: 'stablemax_cross_entropy',
    });
    assert.equal(detectRun(stablemax.dir).softmax_collapse?.loss_precision, 'float64');
  });

  it('a run that grokked and then collapsed in part keeps its reason; the measures are still reported', () => {
    const r = detectRun(grokkedDir);
    assert.equal(r.verdict.label, 'grokked', r.verdict.reason);
    assert.doesNotMatch(r.verdict.reason, /softmax|collapse/);
    // 60% × (s − 1500)/1500 of 1104 examples: 530/1104 = 0.480 at 2700, 574/1104 = 0.520 at 2800.
    assert.equal(r.softmax_collapse?.t_collapse, 2800);
    assert.equal(r.softmax_collapse?.final, 662 / 1104);
    // The cosine falls linearly from 0.3 at 1500 to 0.2 at 3000: 0.2 + 0.1 × 200/1500 at 2800.
    close(r.nlm_cosine?.median_late, 0.2 + (0.1 * 200) / 1500, 1e-12, 'median of the last five cosines');
  });

  it('t_collapse is the first evaluation ≥ 50%, high_since the start of the stretch that lasts; a collapse that eased is no stall', () => {
    const steps = grid(0, 900, 100);
    const base = curveOf(steps, memorizing(100), () => 0.02);
    const dipped = analyzeCurve({
      ...base,
      softmax_collapse: [0, 0, 0.2, 0.6, 0.4, 0.5, 0.7, 0.8, 0.85, 0.9],
    });
    assert.equal(dipped.softmax_collapse?.t_collapse, 300);
    assert.equal(dipped.softmax_collapse?.high_since, 500);
    assert.match(
      dipped.verdict.reason,
      /90% of the training examples have a loss of exactly 0 at the end \(≥ 50% from step 500 on\): their gradient vanished$/,
    );
    // A cosine that peaked before the collapse and fell after it (as in real runs) is named with its peak.
    const fell = analyzeCurve({
      ...base,
      softmax_collapse: [0, 0, 0.2, 0.6, 0.4, 0.5, 0.7, 0.8, 0.85, 0.9],
      nlm_cosine: [null, 0.3, 0.6, 0.85, 0.8, 0.5, 0.3, 0.25, 0.2, 0.22],
    });
    assert.match(
      fell.verdict.reason,
      /their gradient vanished; the naïve-loss-minimization cosine is 0\.25 \(median of the last 5 evaluations\), down from 0\.85 at step 300$/,
    );
    const eased = analyzeCurve({
      ...base,
      softmax_collapse: [0, 0, 0.2, 0.6, 0.7, 0.8, 0.6, 0.5, 0.45, 0.4],
      nlm_cosine: [null, 0.1, 0.2, 0.5, 0.9, 0.95, 0.9, 0.8, 0.7, 0.6],
    });
    assert.equal(eased.verdict.label, 'memorized-only');
    assert.equal(eased.softmax_collapse?.max, 0.8);
    assert.equal(eased.softmax_collapse?.high_since, null);
    assert.doesNotMatch(eased.verdict.reason, /softmax/);
    assert.equal(eased.nlm_cosine?.median_late, 0.8);
    // A model that never fit but whose fitted examples all sit at loss 0 is told the same.
    const noFit = analyzeCurve({
      ...curveOf(
        steps,
        () => 0.9,
        () => 0.02,
      ),
      softmax_collapse: steps.map(() => 0.88),
    });
    assert.equal(noFit.verdict.label, 'no-fit');
    assert.match(noFit.verdict.reason, /; softmax collapse: 88% of the training examples/);
  });

  it('from CSV, JSONL (nested names) and TensorBoard logs under the same names; bad values are dropped and reported', () => {
    const dir = tmpDir();
    const log = collapsedMemorizerLog();
    const cell = (v: unknown) => (v === undefined ? '' : String(v));
    const csv = path.join(dir, 'log.csv');
    fs.writeFileSync(
      csv,
      `${['step,train_acc,test_acc,softmax_collapse,nlm_cosine', ...log.map((r) => [r.step, r.train_acc, r.test_acc, r.softmax_collapse, r.nlm_cosine].map(cell).join(','))].join('\n')}\n`,
    );
    const [fromCsv] = detectPath(csv) as DetectResult[];
    assert.equal(fromCsv.verdict.label, 'memorized-only');
    assert.equal(fromCsv.softmax_collapse?.loss_precision, null);
    assert.equal(fromCsv.softmax_collapse?.t_collapse, 2400);
    assert.match(fromCsv.verdict.reason, /93% of the training examples have a loss of exactly 0 at the end/);
    assert.equal(fromCsv.nlm_cosine?.median_late, 0.97);

    const jsonl = path.join(dir, 'log.jsonl');
    const lines = log.map((r, i) =>
      JSON.stringify({
        step: r.step,
        train: { acc: r.train_acc },
        val: { acc: r.test_acc },
        // Two bad values: a share above 1 at step 10 and a cosine that is NaN at step 20.
        stability: {
          softmax_collapse: i === 1 ? 1.5 : r.softmax_collapse,
          nlm_cosine: i === 2 ? 'NaN' : r.nlm_cosine,
        },
      }),
    );
    fs.writeFileSync(jsonl, `${lines.join('\n')}\n`);
    const [fromJsonl] = detectPath(jsonl) as DetectResult[];
    assert.equal(fromJsonl.softmax_collapse?.column, 'stability/softmax_collapse');
    assert.equal(fromJsonl.nlm_cosine?.column, 'stability/nlm_cosine');
    assert.equal(fromJsonl.softmax_collapse?.t_collapse, 2400);
    const bad = fromJsonl.issues.filter((i) => i.metric === 'softmax_collapse' || i.metric === 'nlm_cosine');
    assert.deepEqual(
      bad.map((i) => [i.kind, i.metric, i.examples]),
      [
        ['out-of-range', 'softmax_collapse', [10]],
        ['non-finite', 'nlm_cosine', [20]],
      ],
    );

    const events = path.join(dir, 'tb', 'events.out.tfevents.1700000000.host');
    fs.mkdirSync(path.dirname(events));
    fs.writeFileSync(
      events,
      eventFile([
        fileVersionEvent(),
        ...log.map((r) =>
          simpleScalarEvent(Number(r.step), {
            'train/acc': Number(r.train_acc),
            'test/acc': Number(r.test_acc),
            softmax_collapse: Number(r.softmax_collapse),
            ...(r.nlm_cosine === undefined ? {} : { nlm_cosine: Number(r.nlm_cosine) }),
          }),
        ),
      ]),
    );
    const [fromTb] = detectPath(path.dirname(events)) as DetectResult[];
    // simple_value is a float32.
    assert.equal(fromTb.softmax_collapse?.final, Math.fround(0.93));
    assert.equal(fromTb.softmax_collapse?.t_collapse, 2400);
    assert.equal(fromTb.nlm_cosine?.median_late, Math.fround(0.97));
    assert.equal(fromTb.verdict.label, 'memorized-only');
    assert.match(fromTb.verdict.reason, /; softmax collapse: 93% of the training examples/);
  });
});
