// groklab sweep-report: the statistics (fits, censored medians, per-cell aggregation, claim checks)
// on hand-made rows, then a real sweep of tiny runs — some grok, some only memorize, some fit
// nothing, one is still "running" with a torn metrics line, one is broken, three never started —
// gathered with DuckDB into tables, charts, claim checks and the CLI.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { before, describe, it, test } from 'node:test';
import { Command } from 'commander';
import { main } from '../src/cli/main.ts';
import { registerSweepReport, resolveSweepTarget } from '../src/cli/sweep-report.ts';
import { detectRun } from '../src/measures/index.ts';
import { logTicks, specToSvg } from '../src/plots/index.ts';
import { startRun } from '../src/runner/session.ts';
import { readMetrics, writeStatusFile } from '../src/runs/index.ts';
import { planSweep } from '../src/sweep/expand.ts';
import { type AxisValue, type SweepManifest, sweepDir, writeSweepManifest } from '../src/sweep/manifest.ts';
import { prepareSweep } from '../src/sweep/prepare.ts';
import { parseSweepSpec } from '../src/sweep/spec.ts';
import { checkClaims, FIT_R2_MIN } from '../src/sweep-report/claims.ts';
import {
  boundedMedian,
  censoredMedian,
  fitInverse,
  fitLine,
  fitPowerLaw,
  isLogSpaced,
} from '../src/sweep-report/fit.ts';
import {
  aggregateRows,
  type Gathered,
  gatherSweep,
  type SweepAxis,
  type SweepRunRow,
  type SweepRunState,
} from '../src/sweep-report/gather.ts';
import { axisTitle, choosePhaseAxes, planPlots } from '../src/sweep-report/plots.ts';
import { buildSweepReport, sweepReport } from '../src/sweep-report/report.ts';
import { UsageError } from '../src/util/errors.ts';
import { writeRunFiles } from './helpers/run-files.ts';
import { sweepRow } from './helpers/sweep-row.ts';
import { tempDirs } from './helpers/temp-dirs.ts';
import { tinyGrokkingConfig } from './helpers/tiny-config.ts';

const tmp = tempDirs('sweep-report');
const WD = 'train.weight_decay';
const FRAC = 'task.train_fraction';
const close = (a: number | null, b: number, what: string, tol = 1e-9) =>
  assert.ok(a !== null && Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} ≠ ${b}`);

describe('fit and median math', () => {
  it('recovers an exact line and an exact 1/γ law, with R² = 1', () => {
    const fit = fitLine([0, 1, 2, 3], [1, 3, 5, 7]);
    assert.ok(fit);
    close(fit.a, 2, 'slope');
    close(fit.b, 1, 'intercept');
    close(fit.r2, 1, 'R²');
    const gammas = [0.1, 0.3, 1, 3];
    const inv = fitInverse(
      gammas,
      gammas.map((g) => 50 / g + 20),
    );
    assert.ok(inv);
    close(inv.a, 50, 'a');
    close(inv.b, 20, 'b');
    close(inv.r2, 1, 'R²');
    const power = fitPowerLaw(
      gammas,
      gammas.map((g) => 7 / g),
    );
    assert.ok(power);
    close(power.k, -1, 'exponent');
    close(power.c, 7, 'prefactor');
  });

  it('computes R² by its definition on noisy points', () => {
    // By hand: means 2.5 and 2.5, Sxx = 5, Sxy = 4, SS_tot = 4.
    const xs = [1, 2, 3, 4];
    const ys = [1.5, 1.5, 3.5, 3.5];
    const fit = fitLine(xs, ys);
    assert.ok(fit);
    // Slope = Sxy / Sxx = (−1.5·−1 + −0.5·−1 + 0.5·1 + 1.5·1) / 5 = 4 / 5.
    close(fit.a, 0.8, 'slope');
    close(fit.b, 2.5 - 0.8 * 2.5, 'intercept');
    const ssRes = xs.reduce((s, x, i) => s + (ys[i] - (fit.a * x + fit.b)) ** 2, 0);
    close(fit.r2, 1 - ssRes / 4, 'R²');
    assert.equal(fitLine([1, 1, 1], [1, 2, 3]), null, 'no slope from one x value');
    assert.equal(fitLine([1], [1]), null);
    assert.throws(() => fitInverse([0, 1], [1, 2]), /γ must be > 0/);
  });

  it('takes the median of censored values (null = later than every observed one)', () => {
    assert.equal(censoredMedian([]), null);
    assert.equal(censoredMedian([null]), null);
    assert.equal(censoredMedian([5]), 5);
    assert.equal(censoredMedian([3, null, 1]), 3);
    assert.equal(censoredMedian([1, null]), null, 'half censored: the median is censored');
    assert.equal(censoredMedian([4, 2, 3, null]), 3.5);
    assert.equal(censoredMedian([1, 2, null, null]), null);
  });

  it('bounds the median of censored times (censored at their bound, or at +∞)', () => {
    const obs = (value: number) => ({ value, censored: false });
    const atLeast = (value: number) => ({ value, censored: true });
    assert.equal(boundedMedian([]), null);
    assert.deepEqual(boundedMedian([obs(3), obs(1), obs(2)]), { lower: 2, upper: 2, exact: true });
    // A censored run beyond every observed one does not change a median decided by the others.
    assert.deepEqual(boundedMedian([obs(1), obs(2), atLeast(9)]), { lower: 2, upper: 2, exact: true });
    // Here it decides it: at least 5, maybe more.
    assert.deepEqual(boundedMedian([obs(1), atLeast(5), atLeast(9)]), {
      lower: 5,
      upper: Number.POSITIVE_INFINITY,
      exact: false,
    });
    assert.deepEqual(boundedMedian([obs(4), atLeast(6)]), {
      lower: 5,
      upper: Number.POSITIVE_INFINITY,
      exact: false,
    });
  });

  it('tells log-spaced axis values from linear ones', () => {
    assert.ok(isLogSpaced([0.1, 0.3, 1, 3]));
    assert.ok(isLogSpaced([1, 2, 4, 8]));
    assert.ok(!isLogSpaced([0.1, 0.2, 0.3]));
    assert.ok(!isLogSpaced([0, 0.1, 1]));
    assert.equal(axisTitle({ key: WD, values: [0, 0.1, 0.3, 1, 3] }), `${WD} (0, then log-spaced)`);
    assert.equal(axisTitle({ key: FRAC, values: [0.3, 0.5, 0.7] }), FRAC);
    assert.deepEqual(logTicks(30, 200), [50, 100, 200]);
    assert.deepEqual(logTicks(110, 130), [110, 130]);
  });
});

/**
 * A report row with every measure unknown but what `over` sets; its config is plain training (float32
 * softmax cross-entropy, no filter, no ⊥Grad) with the weight decay of its axis value (else 1).
 */
function row(cell: number, values: Record<string, AxisValue>, over: Partial<SweepRunRow> = {}): SweepRunRow {
  return sweepRow(
    { run_id: `r${cell}`, cell, values },
    {
      weight_decay: typeof values[WD] === 'number' ? values[WD] : 1,
      task_key: '{"kind":"modular","op":"add","p":31}',
      alike_key: JSON.stringify(values),
      ...over,
    },
  );
}

/** A finished run that memorized at t_mem and (unless tGrok is null) first crossed at tGrok. */
function measured(
  cell: number,
  values: Record<string, AxisValue>,
  tMem: number | null,
  tGrok: number | null,
  verdict: SweepRunRow['verdict'],
  extra: Partial<SweepRunRow> = {},
): SweepRunRow {
  return row(cell, values, {
    t_mem: tMem,
    t_grok_crossing: tGrok,
    t_grok_onset: tGrok === null ? null : tGrok - 10,
    gap_crossing: tGrok !== null && tMem !== null ? tGrok - tMem : null,
    ratio_crossing: tGrok !== null && tMem ? tGrok / tMem : null,
    max_train_acc: tMem === null ? 0.4 : 1,
    final_train_acc: tMem === null ? 0.4 : 1,
    final_test_acc: tGrok === null ? 0.05 : 0.97,
    max_test_acc: tGrok === null ? 0.05 : 0.97,
    verdict,
    ...extra,
  });
}

describe('aggregation over seeds (DuckDB, no run folders)', () => {
  const axes: SweepAxis[] = [
    { key: WD, values: [0.1, 1] },
    { key: 'seed', values: [0, 1, 2] },
  ];
  const rows = [
    measured(0, { [WD]: 0.1, seed: 0 }, 100, 900, 'grokked'),
    measured(1, { [WD]: 0.1, seed: 1 }, 100, null, 'memorized-only'),
    measured(2, { [WD]: 0.1, seed: 2 }, 120, 700, 'grokked'),
    measured(3, { [WD]: 1, seed: 0 }, 100, null, 'memorized-only'),
    row(4, { [WD]: 1, seed: 1 }, { state: 'not-started', evaluations: 0, steps_run: null }),
    measured(5, { [WD]: 1, seed: 2 }, 80, null, 'memorized-only', { state: 'running' }),
  ];

  it('counts, censored medians, fractions, means and the usual verdict per cell', async () => {
    const cells = await aggregateRows(axes, rows);
    assert.equal(cells.length, 2);
    const [low, high] = cells;
    assert.deepEqual(low.values, { [WD]: 0.1 });
    assert.equal(low.runs, 3);
    assert.equal(low.measured, 3);
    assert.equal(low.grokked, 2);
    close(low.frac_grokked, 2 / 3, 'frac grokked');
    // t_grok 900, ∞, 700 → median 900 (the censored run counts as later than all).
    assert.equal(low.median_t_grok_crossing, 900);
    assert.equal(low.median_gap_crossing, 800);
    assert.equal(low.median_t_mem, 100);
    close(low.mean_final_test_acc, (0.97 + 0.05 + 0.97) / 3, 'mean test acc');
    assert.equal(low.verdict, 'grokked');

    assert.deepEqual(high.values, { [WD]: 1 });
    assert.equal(high.runs, 3);
    assert.equal(high.measured, 2, 'the run not started has no measures');
    assert.equal(high.pending, 2, 'not started and running');
    assert.equal(high.finished, 1);
    assert.equal(high.median_t_grok_crossing, null, 'no run generalized: censored median');
    assert.equal(high.frac_grokked, 0);
    assert.equal(high.verdict, 'memorized-only');
  });
});

describe('claim checks on hand-made rows', () => {
  const thresholds = { mem: 0.99, grok: 0.9 };
  const wdAxes: SweepAxis[] = [
    { key: WD, values: [0, 0.25, 0.5, 1, 30] },
    { key: 'seed', values: [0, 1] },
  ];
  // Δt = 100/γ + 40 with ±5 steps of seed noise, t_mem = 50.
  const wdRows: SweepRunRow[] = [];
  for (const [i, gamma] of wdAxes[0].values.entries()) {
    for (const seed of [0, 1]) {
      const cell = i * 2 + seed;
      const v = { [WD]: gamma as number, seed };
      if (gamma === 0) wdRows.push(measured(cell, v, 50, null, 'memorized-only'));
      else if (gamma === 30) wdRows.push(measured(cell, v, null, null, 'no-fit'));
      else {
        const gap = 100 / (gamma as number) + 40 + (seed === 0 ? -5 : 5);
        wdRows.push(measured(cell, v, 50, 50 + gap, 'grokked'));
      }
    }
  }
  const byId = (ctx: Parameters<typeof checkClaims>[0]) =>
    Object.fromEntries(checkClaims(ctx).map((c) => [c.id, c]));

  it('weight decay: γ = 0 no grok, Δt ≈ a/γ + b, too much γ fits nothing — all held, with the numbers', () => {
    const c = byId({ axes: wdAxes, rows: wdRows, thresholds });
    assert.equal(c['no-decay-no-grok'].status, 'held', c['no-decay-no-grok'].why);
    assert.equal(c['no-decay-no-grok'].numbers.runs, 2);
    assert.equal(c['too-much-decay-no-fit'].status, 'held', c['too-much-decay-no-fit'].why);
    assert.equal(c['too-much-decay-no-fit'].numbers.no_fit_from_gamma, 30);
    const fit = c['delay-inverse-decay'];
    assert.equal(fit.status, 'held', fit.why);
    const group = (fit.numbers.groups as Array<{ a: number; b: number; r2: number }>)[0];
    close(group.a, 100, 'a', 1e-9);
    close(group.b, 40, 'b', 1e-9);
    assert.ok(group.r2 > 0.99 && group.r2 < 1, `R² ${group.r2}`);
    assert.match(fit.why, /Δt = 100\/γ \+ 40/);
    assert.equal(c['goldilocks-fraction'].status, 'not tested');
    assert.match(c['goldilocks-fraction'].why, /axis missing/);
  });

  it('the delay fit counts runs whose plateau climbed before the jump (above-chance-plateau), and says how many', () => {
    // The smallest γ's runs climbed partway before their jump: still a delay after memorizing.
    const climbed = wdRows.map((r) =>
      r.values[WD] === 0.25 ? { ...r, verdict: 'above-chance-plateau' as const } : r,
    );
    const fit = byId({ axes: wdAxes, rows: climbed, thresholds })['delay-inverse-decay'];
    assert.equal(fit.status, 'held', fit.why);
    const group = (fit.numbers.groups as Array<{ a: number; points: number; plateau_climbed: number }>)[0];
    close(group.a, 100, 'a', 1e-9);
    assert.deepEqual([group.points, group.plateau_climbed], [6, 2]);
    assert.match(fit.why, /6 runs, 2 of them above-chance-plateau/);
    // Runs that never generalized add no point, whatever their verdict.
    const none = wdRows.map((r) => (r.values[WD] === 0.25 ? { ...r, verdict: 'gradual' as const } : r));
    const fewer = (
      byId({ axes: wdAxes, rows: none, thresholds })['delay-inverse-decay'].numbers.groups as Array<{
        points: number;
      }>
    )[0];
    assert.equal(fewer.points, 4);
  });

  it('says "not held" when the data contradict a claim', () => {
    // γ = 0 groks; the delay grows with γ; the largest γ still memorizes.
    const rows = wdRows.map((r) => {
      const gamma = r.values[WD] as number;
      if (gamma === 0) return measured(r.cell, r.values as Record<string, number>, 50, 400, 'grokked');
      if (gamma === 30)
        return measured(r.cell, r.values as Record<string, number>, 60, null, 'memorized-only');
      return measured(r.cell, r.values as Record<string, number>, 50, 50 + 200 * gamma, 'grokked');
    });
    const c = byId({ axes: wdAxes, rows, thresholds });
    assert.equal(c['no-decay-no-grok'].status, 'not held');
    assert.match(c['no-decay-no-grok'].why, /2 of 2 finished runs with γ = 0 grokked/);
    assert.equal(c['delay-inverse-decay'].status, 'not held');
    assert.match(c['delay-inverse-decay'].why, /a ≤ 0/);
    // Every γ fits: the sweep did not reach a γ that is too large, which neither confirms nor refutes.
    assert.equal(c['too-much-decay-no-fit'].status, 'not tested');
    assert.match(c['too-much-decay-no-fit'].why, /γ = 30, 2 of 2 finished runs memorized .*extend the/);
    // Nothing fits at γ = 1 but γ = 30 fits again: against the claim.
    const bumpy = rows.map((r) =>
      r.values[WD] === 1 ? measured(r.cell, r.values as Record<string, number>, null, null, 'no-fit') : r,
    );
    const check = byId({ axes: wdAxes, rows: bumpy, thresholds })['too-much-decay-no-fit'];
    assert.equal(check.status, 'not held');
    assert.match(check.why, /nothing fit at γ = 1, but at the largest weight decay, γ = 30, 2 of 2/);
  });

  it('leaves out runs that have not finished, and says "not tested" when too few remain', () => {
    const rows = wdRows.map((r) =>
      (r.values[WD] as number) === 0 || (r.values[WD] as number) >= 0.5
        ? { ...r, state: 'running' as SweepRunState }
        : r,
    );
    const c = byId({ axes: wdAxes, rows, thresholds });
    assert.equal(c['no-decay-no-grok'].status, 'not tested');
    assert.equal(c['delay-inverse-decay'].status, 'not tested', 'only γ = 0.25 finished');
    assert.match(c['delay-inverse-decay'].why, /fewer than 3/);
    assert.equal(c['too-much-decay-no-fit'].status, 'not tested');
    assert.match(c['too-much-decay-no-fit'].why, /no finished run yet at γ = 0\.5, 1, 30/);
  });

  it('training fraction: a Goldilocks band, or why not', () => {
    const axes: SweepAxis[] = [
      { key: FRAC, values: [0.2, 0.5, 0.9] },
      { key: 'seed', values: [0, 1] },
    ];
    const make = (high: 'fast' | 'slow') =>
      [0.2, 0.5, 0.9].flatMap((f, i) =>
        [0, 1].map((seed) => {
          const v = { [FRAC]: f, seed };
          const cell = i * 2 + seed;
          if (f === 0.2) return measured(cell, v, 40, null, 'memorized-only');
          if (f === 0.5) return measured(cell, v, 50, 600, 'grokked');
          // Fast: the jump starts at 1.5·t_mem (no delay); slow: at 6·t_mem.
          return high === 'fast'
            ? measured(cell, v, 60, 100, 'comprehension', { t_grok_onset: 90 })
            : measured(cell, v, 60, 400, 'grokked', { t_grok_onset: 360 });
        }),
      );
    const held = byId({ axes, rows: make('fast'), thresholds })['goldilocks-fraction'];
    assert.equal(held.status, 'held', held.why);
    assert.match(held.why, /with 20% of the data 0 of 2 runs generalized/);
    assert.match(held.why, /median \(onset or t_grok\)\/t_mem 1\.5/);
    const notHeld = byId({ axes, rows: make('slow'), thresholds })['goldilocks-fraction'];
    assert.equal(notHeld.status, 'not held');
    assert.match(notHeld.why, /the largest fraction did not generalize without a delay/);
    const two = byId({ axes, rows: make('fast').filter((r) => r.values[FRAC] !== 0.5), thresholds })[
      'goldilocks-fraction'
    ];
    assert.equal(two.status, 'not tested');
    assert.match(two.why, /3 or more training fractions/);
  });
});

describe('lever claims on hand-made rows', () => {
  const thresholds = { mem: 0.99, grok: 0.9 };
  let nextCell = 0;
  /** A finished run of `variant` that memorized at step 100 within a budget of `steps_budget`; `over` says the rest. */
  const run = (variant: string, seed: number, over: Partial<SweepRunRow> = {}) =>
    row(
      nextCell++,
      { variant, seed },
      {
        weight_decay: 0,
        t_mem: 100,
        max_train_acc: 1,
        final_train_acc: 1,
        max_test_acc: 0.05,
        verdict: 'memorized-only',
        steps_budget: 60000,
        steps_run: 60000,
        alike_key: `${variant}:${seed}`,
        ...over,
      },
    );
  /** A run that reached test accuracy 0.9 at `t` and 0.95 at `t95` (default t), then stopped. */
  const reached = (t: number, t95 = t): Partial<SweepRunRow> => ({
    t_grok_crossing: t,
    t_test_acc_95: t95,
    max_test_acc: 0.99,
    verdict: 'grokked',
    steps_run: t95 + 20,
  });
  const claim = (rows: SweepRunRow[], id: string) => {
    const variants = [...new Set(rows.map((r) => r.values.variant as string))];
    const axes: SweepAxis[] = [
      { key: 'variant', values: variants },
      { key: 'seed', values: [0, 1] },
    ];
    const found = checkClaims({ axes, rows, thresholds }).find((c) => c.id === id);
    assert.ok(found, id);
    return found;
  };
  const ma = { grad_filter: 'ma', weight_decay: 0.01 };
  const ema = { grad_filter: 'ema', weight_decay: 0.005 };

  it('grokfast-accelerates: held against a baseline that never got there (censored) and one that did', () => {
    const censored = [
      run('baseline', 0),
      run('baseline', 1),
      run('ma', 0, { ...ma, ...reached(780, 800) }),
      run('ma', 1, { ...ma, ...reached(880, 900) }),
      run('ema', 0, { ...ema, ...reached(1200) }),
      run('ema', 1, { ...ema, ...reached(1500) }),
    ];
    const c = claim(censored, 'grokfast-accelerates');
    assert.equal(c.status, 'held', c.why);
    assert.match(c.why, /without a filter ≥ 60000 \(2 runs, none reached it within their budgets\)/);
    // Medians 850 and 1350 against at least 60000: at least 70.6× and 44.4× sooner.
    assert.match(c.why, /ema 1350 \(≥ 44\.4× sooner\); ma 850 \(≥ 70\.6× sooner\)/);
    const task = (c.numbers.groups as Array<{ baseline: { censored: boolean; median: number } }>)[0];
    assert.deepEqual([task.baseline.censored, task.baseline.median], [true, 60000]);

    // The paper's baseline reaches 95% at ~39,890 steps: an exact median, an exact ratio.
    const exact = censored.map((r) =>
      r.values.variant === 'baseline' ? { ...r, ...reached(39000, r.values.seed === 0 ? 39890 : 41000) } : r,
    );
    const e = claim(exact, 'grokfast-accelerates');
    assert.equal(e.status, 'held', e.why);
    // (39890 + 41000) / 2 = 40445; 40445 / 850 = 47.58.
    assert.match(
      e.why,
      /without a filter 40445 \(2 of 2 runs reached it\); ema 1350 \(30× sooner\); ma 850 \(47\.6× sooner\)/,
    );
  });

  it('grokfast-accelerates: a median is only as good as its censored runs allow', () => {
    // Baseline 30000, ≥ 35000, ≥ 60000: the median is at least 35000, not 35000 itself.
    const rows = [
      run('baseline', 0, reached(29000, 30000)),
      run('baseline', 1, { steps_run: 35000 }),
      run('baseline', 2, { steps_run: 60000 }),
      run('ma', 0, { ...ma, ...reached(34000) }),
    ];
    const c = claim(rows, 'grokfast-accelerates');
    assert.equal(c.status, 'held', c.why);
    assert.match(c.why, /without a filter ≥ 35000 \(1 of 3 runs reached it\); ma 34000 \(≥ 1\.03× sooner\)/);
    // A filter whose runs mostly never got there: against a baseline that did, it is no sooner …
    const slowFilter = [run('ma', 0, ma), run('ma', 1, ma), run('ma', 2, { ...ma, ...reached(100) })];
    const baselineReached = [
      run('baseline', 0, reached(29000, 30000)),
      run('baseline', 1, reached(31000, 32000)),
    ];
    const s = claim([...baselineReached, ...slowFilter], 'grokfast-accelerates');
    assert.equal(s.status, 'not held', s.why);
    assert.match(
      s.why,
      /^not sooner than without a filter: ma\. .*without a filter 31000 \(2 of 2 runs reached it\); ma ≥ 60000 \(1 of 3 runs reached it\)$/,
    );
    // … but against a baseline that mostly never got there either, the budgets were too short to tell.
    const u = claim([...rows.slice(0, 3), ...slowFilter], 'grokfast-accelerates');
    assert.equal(u.status, 'not tested', u.why);
    assert.match(
      u.why,
      /^too few runs reached test accuracy 0\.95 within their budgets to compare ma with the runs without a filter\. .*without a filter ≥ 35000 \(1 of 3 runs reached it\); ma ≥ 60000 \(1 of 3 runs reached it\)$/,
    );
  });

  it('grokfast-accelerates: not held when a filter is slower, and not tested without filters or a baseline', () => {
    const rows = [
      run('baseline', 0, reached(39000, 40000)),
      run('ma', 0, { ...ma, ...reached(800) }),
      run('ema', 0, { ...ema, ...reached(50000) }),
    ];
    const c = claim(rows, 'grokfast-accelerates');
    assert.equal(c.status, 'not held', c.why);
    assert.match(c.why, /^not sooner than without a filter: ema\. /);
    assert.match(c.why, /ema 50000 \(0\.8× sooner\); ma 800 \(50× sooner\)/);

    // Runs are chosen by their config: a variant named grokfast-ma without a filter is no filter.
    const named = claim([run('grokfast-ma', 0), run('baseline', 0)], 'grokfast-accelerates');
    assert.equal(named.status, 'not tested');
    assert.match(named.why, /^the sweep has no run with a gradient filter \(train\.grad_filter\)$/);
    const otherTask = claim(
      [run('baseline', 0, { task_key: '{"p":97}' }), run('ma', 0, { ...ma, ...reached(800) })],
      'grokfast-accelerates',
    );
    assert.equal(otherTask.status, 'not tested');
    assert.match(
      otherTask.why,
      /no finished run without a gradient filter on the same task, with the same loss, precision and ⊥Grad, as the 1 finished run with one/,
    );
    // Runs without a filter but with another lever are no baseline for it.
    const otherLever = claim(
      [
        run('stablemax', 0, { loss: 'stablemax_cross_entropy', ...reached(9000) }),
        run('f64', 0, { loss_precision: 'float64' }),
        run('ma', 0, { ...ma, ...reached(800) }),
      ],
      'grokfast-accelerates',
    );
    assert.equal(otherLever.status, 'not tested', otherLever.why);
    // Groups are compared apart, and named by what sets them apart.
    const twoLosses = claim(
      [
        run('baseline', 0, reached(39000, 40000)),
        run('ma', 0, { ...ma, ...reached(800) }),
        run('stablemax', 0, { loss: 'stablemax_cross_entropy', ...reached(9000) }),
        run('stablemax-ma', 0, { ...ma, loss: 'stablemax_cross_entropy', ...reached(12000) }),
      ],
      'grokfast-accelerates',
    );
    assert.equal(twoLosses.status, 'not held');
    assert.match(
      twoLosses.why,
      /^not sooner than without a filter: ma at train\.loss = stablemax_cross_entropy\. /,
    );
    assert.match(
      twoLosses.why,
      /train\.loss = cross_entropy: median steps to test accuracy 0\.95: without a filter 40000 .*ma 800 \(50× sooner\)/,
    );
    const running = claim(
      [
        run('baseline', 0),
        run('ma', 0, { ...ma, state: 'running' }),
        run('ma', 1, { ...ma, state: 'running' }),
      ],
      'grokfast-accelerates',
    );
    assert.equal(running.status, 'not tested');
    assert.match(
      running.why,
      /none of the 2 runs with a gradient filter \(train\.grad_filter\) has finished yet/,
    );
  });

  it('softmax-collapse-without-decay: held, not held, not tested', () => {
    const collapsed = (t: number, f: number): Partial<SweepRunRow> => ({ t_collapse: t, final_collapse: f });
    const rows = [
      run('plain', 0, { ...collapsed(1200, 0.97), steps_budget: 10000, steps_run: 10000 }),
      run('plain', 1, { ...collapsed(1500, 0.99), t_mem: 120, steps_budget: 10000, steps_run: 10000 }),
      // Not plain: a gradient filter, weight decay, ⊥Grad or float64 (each generalizes here, and is not counted).
      run('ma', 0, { ...ma, ...reached(800) }),
      run('decay', 0, { weight_decay: 1, ...reached(800) }),
      run('ortho', 0, { orthogonal_grad: true, ...reached(800) }),
      run('f64', 0, { loss_precision: 'float64', ...reached(800) }),
      // A fixed weight norm (Omnigrok's constrained training) cannot collapse: not plain either.
      run('norm', 0, { fixed_norm: 50, ...reached(800) }),
    ];
    const c = claim(rows, 'softmax-collapse-without-decay');
    assert.equal(c.status, 'held', c.why);
    assert.match(
      c.why,
      /^all 2 finished runs without regularization memorized \(train accuracy ≥ 0\.99 at step 100–120\), none reached test accuracy 0\.9 within its budget of 10000 steps \(highest 0\.05\), and at the end 97%–99% of the training examples had a loss of exactly 0 \(≥ 0\.5 from step 1200–1500\)$/,
    );
    assert.equal(c.numbers.runs, 2);

    const generalized = rows.map((r, i) => (i === 0 ? { ...r, ...reached(5000) } : r));
    const g = claim(generalized, 'softmax-collapse-without-decay');
    assert.equal(g.status, 'not held');
    assert.match(g.why, /1 of 2 reached test accuracy 0\.9 \(r\d+ at step 5000\)/);
    const low = rows.map((r, i) => (i === 1 ? { ...r, ...collapsed(1500, 0.2) } : r));
    const l = claim(low, 'softmax-collapse-without-decay');
    assert.equal(l.status, 'not held');
    assert.match(
      l.why,
      /1 of 2 ended below a collapse fraction of 0\.5 \(final collapse fractions 20%–97%\)/,
    );

    const old = rows.map((r) => ({ ...r, t_collapse: null, final_collapse: null }));
    const o = claim(old, 'softmax-collapse-without-decay');
    assert.equal(o.status, 'not tested');
    assert.match(o.why, /the 2 finished runs without regularization recorded no softmax_collapse/);
    const none = claim(rows.slice(2), 'softmax-collapse-without-decay');
    assert.equal(none.status, 'not tested');
    assert.match(
      none.why,
      /^the sweep has no run with float32 softmax cross-entropy, weight decay 0, no ⊥Grad/,
    );
  });

  it('stablemax- and orthogonal-grad-groks-without-decay: held, not held, not tested', () => {
    const cases = [
      ['stablemax-groks-without-decay', { loss: 'stablemax_cross_entropy' }, /StableMax/],
      ['orthogonal-grad-groks-without-decay', { orthogonal_grad: true }, /⊥Grad/],
    ] as const;
    for (const [id, lever, name] of cases) {
      const rows = [
        run('lever', 0, { ...lever, ...reached(3000) }),
        run('lever', 1, { ...lever, ...reached(3400) }),
        // With weight decay it does not count, whatever it did.
        run('decayed', 0, { ...lever, weight_decay: 0.1 }),
        run('plain', 0),
      ];
      const c = claim(rows, id);
      assert.equal(c.status, 'held', `${id}: ${c.why}`);
      assert.match(
        c.why,
        /^all 2 finished runs reached test accuracy 0\.9 without weight decay: t_grok 3000–3400 steps, t_mem 100 \(verdicts: grokked 2\)$/,
      );
      const failed = rows.map((r, i) =>
        i === 1
          ? {
              ...r,
              t_grok_crossing: null,
              t_test_acc_95: null,
              verdict: 'memorized-only' as const,
              max_test_acc: 0.3,
            }
          : r,
      );
      const f = claim(failed, id);
      assert.equal(f.status, 'not held', id);
      assert.match(
        f.why,
        /^1 of 2 finished runs did not reach test accuracy 0\.9 within its budget of 60000 steps \(highest 0\.99; verdicts: grokked 1, memorized-only 1\); the others at step 3000$/,
      );
      const none = claim(rows.slice(2), id);
      assert.equal(none.status, 'not tested', id);
      assert.match(none.why, name);
      assert.match(none.why, /^the sweep has no run with/);
    }
  });

  it('float64-delays-collapse: held, not held, not tested, pairing runs alike but for the precision', () => {
    const pair = (key: string, t32: number | null, t64: number | null, seed = 0) => [
      run('f32', seed, {
        alike_key: key,
        t_collapse: t32,
        final_collapse: t32 === null ? 0.1 : 0.9,
        steps_run: 10000,
      }),
      run('f64', seed, {
        alike_key: key,
        loss_precision: 'float64',
        t_collapse: t64,
        final_collapse: t64 === null ? 0.1 : 0.9,
        steps_run: 10000,
      }),
    ];
    const held = claim([...pair('A', 1200, 4000), ...pair('B', 1300, null, 1)], 'float64-delays-collapse');
    assert.equal(held.status, 'held', held.why);
    assert.match(
      held.why,
      /r\d+ at step 1200, r\d+ at step 4000 \(3\.33×\); r\d+ at step 1300, r\d+ never within 10000 steps/,
    );
    const early = claim([...pair('A', 1200, 800), ...pair('B', 1300, null, 1)], 'float64-delays-collapse');
    assert.equal(early.status, 'not held');
    assert.match(
      early.why,
      /^in 1 of 2 pairs float64 collapsed no later than float32: r\d+ at step 1200, r\d+ at step 800/,
    );
    const onlyF64 = claim(pair('A', 1200, 800).slice(1), 'float64-delays-collapse');
    assert.equal(onlyF64.status, 'not tested');
    assert.match(
      onlyF64.why,
      /^the finished float64 run has no finished float32 run alike but for the precision/,
    );
    // Runs that differ in more than the precision are not a pair.
    const unlike = pair('A', 1200, 800);
    unlike[1] = { ...unlike[1], alike_key: 'A with another lr' };
    assert.equal(claim(unlike, 'float64-delays-collapse').status, 'not tested');
    const neither = claim(pair('A', null, null), 'float64-delays-collapse');
    assert.equal(neither.status, 'not tested');
    assert.match(neither.why, /neither run reached a collapse fraction of 0\.5 within its budget/);
    const none = claim(pair('A', 1200, 800).slice(0, 1), 'float64-delays-collapse');
    assert.equal(none.status, 'not tested');
    assert.match(none.why, /^the sweep has no run with a float64 softmax/);
  });
});

describe('phase diagram options', () => {
  const axes: SweepAxis[] = [
    { key: WD, values: [0, 1] },
    { key: FRAC, values: [0.3, 0.7] },
    { key: 'model.width', values: [64, 128] },
    { key: 'seed', values: [0] },
  ];
  const aliases = { wd: WD, frac: FRAC };

  it('defaults to the first two non-seed axes and takes keys or aliases', () => {
    assert.deepEqual(choosePhaseAxes(axes, {}), { x: WD, y: FRAC, metric: 't_grok' });
    assert.deepEqual(choosePhaseAxes(axes, { x: 'frac', metric: 'gap' }, aliases), {
      x: FRAC,
      y: WD,
      metric: 'gap',
    });
    assert.deepEqual(choosePhaseAxes(axes, { y: 'wd' }, aliases), { x: FRAC, y: WD, metric: 't_grok' });
    assert.equal(choosePhaseAxes([{ key: 'seed', values: [0, 1] }], {}), null);
  });

  it('rejects unknown axes, the seed, x = y and unknown metrics, all at once', () => {
    const err = (() => {
      try {
        choosePhaseAxes(axes, { x: 'lr', y: 'seed', metric: 'loss' }, aliases);
      } catch (e) {
        return e;
      }
      return null;
    })();
    assert.ok(err instanceof UsageError);
    const fields = err.problems.map((p) => p.field).sort();
    assert.deepEqual(fields, ['--metric', '--x', '--y']);
    assert.match(
      err.message,
      /"lr" is not an axis of the sweep; axes: train\.weight_decay, task\.train_fraction, model\.width/,
    );
    assert.match(err.message, /seeds are aggregated/);
    assert.match(err.message, /use t_grok, test_acc, gap/);
    assert.throws(() => choosePhaseAxes(axes, { x: 'wd', y: WD }, aliases), /--y: must differ from --x/);
  });

  it('draws every cell, the ones that never grokked included, one panel per further axis', async () => {
    const rows: SweepRunRow[] = [];
    let cell = 0;
    for (const w of [64, 128])
      for (const f of [0.3, 0.7])
        for (const wd of [0, 1]) {
          const v = { [WD]: wd, [FRAC]: f, 'model.width': w, seed: 0 };
          rows.push(
            wd === 0
              ? measured(cell++, v, 50, null, 'memorized-only')
              : measured(cell++, v, 50, 300 + w, 'grokked'),
          );
        }
    const cells = await aggregateRows(axes, rows);
    const gathered: Gathered = { axes, rows, cells, thresholds: { mem: 0.99, grok: 0.9 } };
    const plan = planPlots('t', gathered, choosePhaseAxes(axes, {}));
    const phase = plan.plots.find((p) => p.stem === 'phase-t_grok');
    assert.ok(phase);
    const spec = phase.spec as unknown as {
      datasets: { cells: Array<{ kind: string; label: string; panel: string }> };
    };
    assert.equal(spec.datasets.cells.length, 8, 'one entry per cell');
    assert.equal(spec.datasets.cells.filter((c) => c.kind === 'none' && c.label === 'no grok').length, 4);
    assert.deepEqual(
      [...new Set(spec.datasets.cells.map((c) => c.panel))],
      ['model.width = 64', 'model.width = 128'],
    );
    assert.ok(plan.plots.some((p) => p.stem === 'gap-vs-inverse-decay'));
    assert.ok(plan.plots.some((p) => p.stem === 't-grok-vs-fraction'));
    const svg = await specToSvg(phase.spec);
    assert.match(svg, /model\.width = 128/, 'the facets are drawn');
    assert.equal(svg.match(/>no grok</g)?.length, 4);

    // One non-seed axis: a single row of cells; and no fraction or weight-decay chart without its axis.
    const oneAxis: SweepAxis[] = [axes[2], axes[3]];
    const oneRows = rows.filter((r) => r.values[WD] === 1 && r.values[FRAC] === 0.7);
    const one: Gathered = {
      ...gathered,
      axes: oneAxis,
      rows: oneRows,
      cells: await aggregateRows(oneAxis, oneRows),
    };
    const onePlan = planPlots('t', one, choosePhaseAxes(oneAxis, {}));
    assert.deepEqual(
      onePlan.plots.map((p) => p.stem),
      ['phase-t_grok'],
    );
    assert.deepEqual(
      onePlan.skipped.map((p) => p.reason),
      [`the sweep has no ${WD} axis`, `the sweep has no ${FRAC} axis`],
    );
    assert.match(await specToSvg(onePlan.plots[0].spec), /364/, 'median t_grok of width 64');
  });
});

/**
 * Lever sweeps on run folders written by hand (no training): the grid comes from a spec with
 * variants (so each folder's config.json is what the sweep would give the run), and each run's
 * metrics.jsonl has a chosen shape — memorized at step 100, test accuracy jumping to 0.99 at a
 * chosen step or never, softmax_collapse reaching a chosen fraction at a chosen step or not
 * recorded. Three sweeps: every lever claim held, every one not held, every one not tested.
 */
describe('lever claims and the variant chart from run folders', () => {
  const runsDir = path.join(tmp(), 'runs');
  const base = tinyGrokkingConfig({
    train: { weight_decay: 0, steps: 2000, stop_test_acc: 0.99, stop_patience: 3 },
    eval: { every: 50, log_points_per_decade: 0, checkpoint_every: 1000 },
  });
  interface Shape {
    /** Step where test accuracy jumps to 0.99 (the run then stops 3 evaluations later); null: never. */
    generalizeAt: number | null;
    /** Step where softmax_collapse jumps to `collapse`; null: stays at 0.01. */
    collapseAt?: number | null;
    collapse?: number;
    /** false: a log from before softmax_collapse was recorded. */
    recorded?: boolean;
  }
  /** metrics.jsonl records: every 50 steps to the budget, or to 3 evaluations past generalizing. */
  function records(shape: Shape): Array<Record<string, number>> {
    const last = shape.generalizeAt === null ? 2000 : shape.generalizeAt + 100;
    const out: Array<Record<string, number>> = [];
    for (let step = 0; step <= last; step += 50) {
      const train = step >= 100 ? 1 : 0.05 + 0.4 * (step / 100);
      const test = shape.generalizeAt !== null && step >= shape.generalizeAt ? 0.99 : 0.02;
      const record: Record<string, number> = {
        step,
        train_acc: train,
        test_acc: test,
        train_loss: 1 - train + 1e-3,
        test_loss: 4 - 3 * test,
        weight_norm: 40,
      };
      if (shape.recorded !== false) {
        const collapsed = shape.collapseAt != null && step >= shape.collapseAt;
        record.softmax_collapse = collapsed ? (shape.collapse ?? 0.98) : 0.01;
        if (step > 0) record.nlm_cosine = 0.5;
      }
      out.push(record);
    }
    return out;
  }
  /** Writes a sweep of one seed per variant: the manifest from the spec, each run's folder by hand. */
  async function leverSweep(
    name: string,
    variants: Record<string, { set: Record<string, unknown>; shape: Shape }>,
  ): Promise<Gathered> {
    const spec = parseSweepSpec(
      {
        name,
        config: base,
        variants: Object.fromEntries(Object.entries(variants).map(([v, d]) => [v, d.set])),
        seeds: 1,
      },
      { baseDir: runsDir },
    );
    const plan = planSweep(spec);
    const manifest = prepareSweep(runsDir, plan);
    for (const cell of plan.cells) {
      const { shape } = variants[cell.values.variant as string];
      writeRunFiles(runsDir, cell.runId, cell.config, records(shape));
    }
    return gatherSweep(runsDir, manifest);
  }
  const claimsOf = (g: Gathered) => Object.fromEntries(checkClaims(g).map((c) => [c.id, c]));
  const ma = { 'train.grad_filter': { kind: 'ma', window: 100, lamb: 5 }, wd: 0.01 };
  const ema = { 'train.grad_filter': { kind: 'ema', alpha: 0.98, lamb: 2 }, wd: 0.005 };
  const stablemax = { 'train.loss': 'stablemax_cross_entropy', 'train.beta2': 0.999 };
  let held: Gathered;

  before(async () => {
    held = await leverSweep('levers', {
      plain: { set: {}, shape: { generalizeAt: null, collapseAt: 400 } },
      ma: { set: ma, shape: { generalizeAt: 300 } },
      ema: { set: ema, shape: { generalizeAt: 500 } },
      f64: { set: { 'train.loss_precision': 'float64' }, shape: { generalizeAt: null, collapseAt: 1200 } },
      stablemax: { set: stablemax, shape: { generalizeAt: 800 } },
      ortho: { set: { 'train.orthogonal_grad': true }, shape: { generalizeAt: 900 } },
    });
  });

  it('reads each run’s levers from its config and the new measures from its metrics', () => {
    const byVariant = Object.fromEntries(held.rows.map((r) => [r.values.variant as string, r]));
    assert.deepEqual(held.axes[0], {
      key: 'variant',
      values: ['plain', 'ma', 'ema', 'f64', 'stablemax', 'ortho'],
    });
    const levers = (r: SweepRunRow) => [
      r.grad_filter,
      r.loss,
      r.loss_precision,
      r.orthogonal_grad,
      r.weight_decay,
    ];
    assert.deepEqual(levers(byVariant.plain), ['none', 'cross_entropy', 'float32', false, 0]);
    assert.deepEqual(levers(byVariant.ma), ['ma', 'cross_entropy', 'float32', false, 0.01]);
    assert.deepEqual(levers(byVariant.ema), ['ema', 'cross_entropy', 'float32', false, 0.005]);
    assert.deepEqual(levers(byVariant.f64), ['none', 'cross_entropy', 'float64', false, 0]);
    assert.deepEqual(levers(byVariant.stablemax), ['none', 'stablemax_cross_entropy', 'float32', false, 0]);
    assert.deepEqual(levers(byVariant.ortho), ['none', 'cross_entropy', 'float32', true, 0]);
    assert.equal(byVariant.plain.alike_key, byVariant.f64.alike_key, 'alike but for the precision');
    assert.notEqual(byVariant.plain.alike_key, byVariant.ortho.alike_key);
    assert.equal(new Set(held.rows.map((r) => r.task_key)).size, 1, 'one task');
    assert.deepEqual(
      [byVariant.plain.t_test_acc_95, byVariant.plain.t_collapse, byVariant.plain.final_collapse],
      [null, 400, 0.98],
    );
    assert.deepEqual([byVariant.ma.t_test_acc_95, byVariant.ma.steps_run], [300, 400]);
    assert.equal(byVariant.ma.final_collapse, 0.01);
    assert.equal(byVariant.ma.final_nlm_cosine, 0.5);
    assert.equal(byVariant.f64.t_collapse, 1200);
    const cell = held.cells.find((c) => c.values.variant === 'ema');
    assert.equal(cell?.median_t_test_acc_95, 500);
  });

  it('every lever claim held, each with its numbers', () => {
    const c = claimsOf(held);
    for (const id of [
      'grokfast-accelerates',
      'softmax-collapse-without-decay',
      'stablemax-groks-without-decay',
      'orthogonal-grad-groks-without-decay',
      'float64-delays-collapse',
    ])
      assert.equal(c[id].status, 'held', `${id}: ${c[id].why}`);
    assert.match(
      c['grokfast-accelerates'].why,
      /without a filter ≥ 2000 \(1 run, none reached it within its budget\); ema 500 \(≥ 4× sooner\); ma 300 \(≥ 6\.67× sooner\)/,
    );
    assert.match(
      c['softmax-collapse-without-decay'].why,
      /at the end 98% of the training examples had a loss of exactly 0 \(≥ 0\.5 from step 400\)/,
    );
    assert.match(c['stablemax-groks-without-decay'].why, /t_grok 800/);
    assert.match(c['orthogonal-grad-groks-without-decay'].why, /t_grok 900/);
    assert.match(c['float64-delays-collapse'].why, /levers-000 at step 400, levers-003 at step 1200 \(3×\)/);
  });

  it('every lever claim not held when the runs go against it', async () => {
    const g = await leverSweep('contrary', {
      plain: { set: {}, shape: { generalizeAt: 600, collapseAt: 300, collapse: 0.6 } },
      ma: { set: ma, shape: { generalizeAt: 1800 } },
      f64: { set: { 'train.loss_precision': 'float64' }, shape: { generalizeAt: 700, collapseAt: 200 } },
      stablemax: { set: stablemax, shape: { generalizeAt: null } },
      ortho: { set: { 'train.orthogonal_grad': true }, shape: { generalizeAt: null } },
    });
    const c = claimsOf(g);
    for (const id of [
      'grokfast-accelerates',
      'softmax-collapse-without-decay',
      'stablemax-groks-without-decay',
      'orthogonal-grad-groks-without-decay',
      'float64-delays-collapse',
    ])
      assert.equal(c[id].status, 'not held', `${id}: ${c[id].why}`);
    assert.match(
      c['grokfast-accelerates'].why,
      /without a filter 600 \(1 of 1 run reached it\); ma 1800 \(0\.333× sooner\)/,
    );
    assert.match(
      c['softmax-collapse-without-decay'].why,
      /1 of 1 reached test accuracy 0\.9 \(contrary-000 at step 600\)/,
    );
    assert.match(
      c['stablemax-groks-without-decay'].why,
      /^1 of 1 finished run did not reach test accuracy 0\.9/,
    );
    assert.match(c['float64-delays-collapse'].why, /contrary-000 at step 300, contrary-002 at step 200/);
  });

  it('every lever claim not tested on plain runs that predate softmax_collapse, whatever the variants are called', async () => {
    const g = await leverSweep('old', {
      'grokfast-ma': { set: {}, shape: { generalizeAt: null, recorded: false } },
      stablemax: { set: { wd: 0.5 }, shape: { generalizeAt: 700, recorded: false } },
    });
    const c = claimsOf(g);
    for (const id of [
      'grokfast-accelerates',
      'softmax-collapse-without-decay',
      'stablemax-groks-without-decay',
      'orthogonal-grad-groks-without-decay',
      'float64-delays-collapse',
    ])
      assert.equal(c[id].status, 'not tested', `${id}: ${c[id].why}`);
    assert.match(c['grokfast-accelerates'].why, /no run with a gradient filter/);
    assert.match(c['softmax-collapse-without-decay'].why, /recorded no softmax_collapse in metrics\.jsonl/);
    assert.match(c['stablemax-groks-without-decay'].why, /no run with StableMax/);
    const row = g.rows.find((r) => r.values.variant === 'grokfast-ma');
    assert.deepEqual([row?.final_collapse, row?.t_collapse, row?.final_nlm_cosine], [null, null, null]);
  });

  it('the report: variants listed, lever columns, and one accuracy curve per variant', async () => {
    const report = await buildSweepReport(runsDir, 'levers', { formats: ['svg'] });
    const names = report.files.map((f) => f.name);
    assert.ok(names.includes('variant-accuracy.svg'), names.join());
    const md = String(report.files.find((f) => f.name === 'report.md')?.data);
    assert.match(md, /^- `variant`: plain, ma, ema, f64, stablemax, ortho$/m);
    assert.match(md, /^- \*\*plain\*\*: the base config as is$/m);
    assert.match(
      md,
      /^- \*\*ma\*\*: `train\.grad_filter` = `\{"kind":"ma","window":100,"lamb":5\}`, `train\.weight_decay` = `0\.01`$/m,
    );
    assert.match(md, /\| t 95% \| collapse \| t collapse \| verdict \|/);
    assert.match(md, /\| levers-000 \| plain \| 0 \| finished \| .* \| — \| 0\.98 \| 400 \| /);
    assert.match(md, /\| median t 95% \|/);
    const plot = report.json.plots.find((p) => p.name === 'variant-accuracy');
    assert.ok(plot);
    const planned = planPlots('levers', held, choosePhaseAxes(held.axes, {}));
    const spec = planned.plots.find((p) => p.stem === 'variant-accuracy')?.spec as unknown as {
      datasets: {
        rows: Array<{ kind: string; variant: string; split: string; step: number; value: number }>;
      };
    };
    const rows = spec.datasets.rows;
    const curve = (variant: string, split: string) =>
      rows.filter((r) => r.kind === 'curve' && r.variant === variant && r.split === split);
    // Every evaluation of the first seed's run (41 for plain: steps 0, 50, …, 2000), both splits.
    assert.equal(curve('plain', 'test').length, 41);
    assert.equal(curve('plain', 'train').length, 41);
    assert.deepEqual(
      curve('ma', 'test').map((r) => [r.step, r.value]),
      [0, 50, 100, 150, 200, 250, 300, 350, 400].map((s) => [s, s >= 300 ? 0.99 : 0.02]),
    );
    assert.deepEqual(
      rows.filter((r) => r.kind === 'reached').map((r) => [r.variant, r.step]),
      [
        ['ma', 300],
        ['ema', 500],
        ['stablemax', 800],
        ['ortho', 900],
      ],
    );
    const svg = String(report.files.find((f) => f.name === 'variant-accuracy.svg')?.data);
    for (const v of ['plain', 'ma', 'ema', 'f64', 'stablemax', 'ortho'])
      assert.match(svg, new RegExp(`>${v}<`));
    assert.match(svg, /accuracy of each variant/);
  });
});

/**
 * A real sweep: weight decay {0, 0.3, 0.6, 1, 10} × training fraction {0.3, 0.7} × seeds {0, 1} on
 * x+y mod 31 (AdamW lr 0.03, ≤ 250 steps, stop once test acc ≥ 0.95 twice). Measured on a 2-core
 * machine: at 70%, γ = 0.3, 0.6, 1 grok with Δt ≈ 200, 120, 85; γ = 0 only memorizes; γ = 10 fits
 * nothing (train acc ≤ 0.3); at 30% nothing generalizes within 250 steps. At 30% only seed 0 is
 * trained: seed 1 is a run stopped at step 60 and made to look alive (status running, this
 * process's pid) with a torn last metrics line (γ = 0), a broken folder (γ = 10) and three runs
 * never started.
 */
describe('a sweep of tiny runs', () => {
  const runsDir = path.join(tmp(), 'runs');
  const name = 'grid';
  const wds = [0, 0.3, 0.6, 1, 10];
  const fracs = [0.3, 0.7];
  const id = (wd: number, frac: number, seed: number) => `${name}-wd${wd}-f${frac}-s${seed}`;
  const manifest: SweepManifest = {
    format: 'groklab-sweep/1',
    name,
    created_at: new Date(0).toISOString(),
    spec: {},
    axes: [
      { key: WD, values: wds },
      { key: FRAC, values: fracs },
      { key: 'seed', values: [0, 1] },
    ],
    cells: wds.flatMap((wd) =>
      fracs.flatMap((frac) =>
        [0, 1].map((seed) => ({ run_id: id(wd, frac, seed), values: { [WD]: wd, [FRAC]: frac, seed } })),
      ),
    ),
  };
  const config = (wd: number, frac: number, seed: number) => {
    const c = tinyGrokkingConfig({
      seed,
      train: { lr: 0.03, weight_decay: wd, steps: 250, stop_test_acc: 0.95, stop_patience: 2 },
    });
    return { ...c, task: { ...c.task, train_fraction: frac } };
  };
  const running = id(0, 0.3, 1);
  const broken = id(10, 0.3, 1);
  const notStarted = [id(0.3, 0.3, 1), id(0.6, 0.3, 1), id(1, 0.3, 1)];
  let gathered: Gathered;

  before(async () => {
    writeSweepManifest(runsDir, manifest);
    for (const cell of manifest.cells) {
      const { [WD]: wd, [FRAC]: frac, seed } = cell.values as Record<string, number>;
      if (frac === 0.3 && seed === 1) continue;
      await startRun(runsDir, config(wd, frac, seed), { id: cell.run_id });
    }
    const stopped = await startRun(runsDir, config(0, 0.3, 1), {
      id: running,
      hooks: { onStep: (step) => step >= 60 },
    });
    writeStatusFile(stopped.run.statusPath, { state: 'running' });
    // A complete record without its newline (a write cut short): readMetrics skips it, so must the report.
    fs.appendFileSync(stopped.run.metricsPath, '{"step":70,"train_acc":1,"test_acc":1,"train_loss":0');
    fs.mkdirSync(path.join(runsDir, broken));
    fs.writeFileSync(path.join(runsDir, broken, 'config.json'), '{"train": ');
    gathered = await gatherSweep(runsDir, manifest);
  });

  it('has one row per run in the manifest, whatever its state', () => {
    assert.equal(gathered.rows.length, 20);
    assert.deepEqual(
      gathered.rows.map((r) => r.run_id),
      manifest.cells.map((c) => c.run_id),
    );
    const state = (runId: string) => gathered.rows.find((r) => r.run_id === runId)?.state;
    for (const runId of notStarted) assert.equal(state(runId), 'not-started');
    assert.equal(state(running), 'running');
    assert.equal(state(broken), 'broken');
    assert.equal(gathered.rows.filter((r) => r.state === 'finished').length, 15);
    const b = gathered.rows.find((r) => r.run_id === broken);
    assert.ok(b?.error, 'a broken run says why');
    assert.equal(b?.verdict, null);
    const n = gathered.rows.find((r) => r.run_id === notStarted[0]);
    assert.equal(n?.evaluations, 0);
    assert.equal(n?.t_mem, null);
    assert.deepEqual(n?.values, { [WD]: 0.3, [FRAC]: 0.3, seed: 1 });
  });

  it("agrees with detectRun and with each run's metrics log (DuckDB vs TypeScript)", () => {
    for (const r of gathered.rows.filter((row) => row.state === 'finished' || row.state === 'running')) {
      const dir = path.join(runsDir, r.run_id);
      const d = detectRun(dir);
      const { records, tornTail } = readMetrics(path.join(dir, 'metrics.jsonl'));
      const last = records[records.length - 1] as Record<string, number>;
      assert.equal(tornTail, r.run_id === running);
      assert.equal(r.evaluations, records.length, `${r.run_id}: evaluations`);
      assert.equal(r.last_eval_step, last.step, `${r.run_id}: last step`);
      assert.equal(r.final_test_acc, last.test_acc, `${r.run_id}: final test acc`);
      assert.equal(r.final_train_loss, last.train_loss, `${r.run_id}: final train loss`);
      assert.equal(r.final_weight_norm, last.weight_norm, `${r.run_id}: final weight norm`);
      assert.equal(r.t_mem, d.measures.t_mem);
      assert.equal(r.t_grok_onset, d.measures.t_grok_onset);
      assert.equal(r.t_grok_crossing, d.measures.t_grok_crossing);
      assert.equal(r.gap_crossing, d.measures.gap_crossing);
      assert.equal(r.ratio_onset, d.measures.ratio_onset);
      assert.equal(r.verdict, d.verdict.label);
      assert.equal(r.steps_budget, 250);
    }
    const live = gathered.rows.find((r) => r.run_id === running);
    assert.equal(live?.last_eval_step, 60, 'the torn record at step 70 is not read');
  });

  it('groks where the literature says it should (and the measures say so)', () => {
    const at = (wd: number, frac: number) =>
      gathered.rows.filter((r) => r.values[WD] === wd && r.values[FRAC] === frac && r.state === 'finished');
    const table = gathered.rows
      .map((r) => `${r.run_id}: ${r.verdict} t_mem ${r.t_mem} t_grok ${r.t_grok_crossing}`)
      .join('\n');
    for (const wd of [0.3, 0.6, 1]) for (const r of at(wd, 0.7)) assert.equal(r.verdict, 'grokked', table);
    for (const r of at(0, 0.7)) assert.equal(r.verdict, 'memorized-only', table);
    for (const r of [...at(10, 0.7), ...at(10, 0.3)]) assert.equal(r.verdict, 'no-fit', table);
    for (const r of at(1, 0.3)) assert.equal(r.t_grok_crossing, null, table);
  });

  it('aggregates per cell and checks the claims from the data', () => {
    assert.equal(gathered.cells.length, 10);
    const cell = (wd: number, frac: number) =>
      gathered.cells.find((c) => c.values[WD] === wd && c.values[FRAC] === frac);
    const c03 = cell(0.3, 0.3);
    assert.equal(c03?.runs, 2);
    assert.equal(c03?.pending, 1);
    assert.equal(c03?.measured, 1);
    const c1 = cell(1, 0.7);
    assert.equal(c1?.grokked, 2);
    const tgroks = gathered.rows
      .filter((r) => r.values[WD] === 1 && r.values[FRAC] === 0.7)
      .map((r) => r.t_grok_crossing as number);
    assert.equal(c1?.median_t_grok_crossing, (tgroks[0] + tgroks[1]) / 2);
    assert.equal(cell(0, 0.7)?.median_t_grok_crossing, null);

    const claims = Object.fromEntries(checkClaims(gathered).map((c) => [c.id, c]));
    assert.equal(claims['no-decay-no-grok'].status, 'held', claims['no-decay-no-grok'].why);
    assert.match(claims['no-decay-no-grok'].why, /1 run not finished or unreadable left out/);
    assert.equal(claims['too-much-decay-no-fit'].status, 'held', claims['too-much-decay-no-fit'].why);
    const fit = claims['delay-inverse-decay'];
    assert.equal(fit.status, 'held', fit.why);
    // The claim's fit is the least-squares fit of the grokked finished runs at 70%, recomputed here.
    const points = gathered.rows.filter(
      (r) => r.state === 'finished' && r.verdict === 'grokked' && r.values[FRAC] === 0.7,
    );
    const expected = fitInverse(
      points.map((r) => r.values[WD] as number),
      points.map((r) => r.gap_crossing as number),
    );
    const group = (fit.numbers.groups as Array<{ group: string; a: number; r2: number }>).find(
      (g) => g.group === `${FRAC} = 0.7`,
    );
    assert.ok(expected && group);
    close(group.a, expected.a, 'a');
    assert.ok(group.a > 0 && group.r2 >= FIT_R2_MIN, fit.why);
    assert.equal(claims['goldilocks-fraction'].status, 'not tested', 'two fractions cannot show a band');
  });

  it('writes the report folder: tables, JSON with claims, markdown and charts', async () => {
    const report = await sweepReport(runsDir, name, { formats: ['svg', 'png'] });
    const dir = path.join(sweepDir(runsDir, name), 'report');
    const files = fs.readdirSync(dir).sort();
    assert.deepEqual(files, [
      'cells.csv',
      'gap-vs-inverse-decay.png',
      'gap-vs-inverse-decay.svg',
      'phase-t_grok.png',
      'phase-t_grok.svg',
      'report.md',
      'runs.csv',
      'runs.json',
      't-grok-vs-fraction.png',
      't-grok-vs-fraction.svg',
    ]);
    assert.deepEqual(report.paths.map((p) => path.basename(p)).sort(), files);
    const csv = fs.readFileSync(path.join(dir, 'runs.csv'), 'utf8').trimEnd().split('\n');
    assert.equal(csv.length, 21);
    assert.match(
      csv[0],
      /^run_id,train\.weight_decay,task\.train_fraction,seed,state,steps_budget,steps_run,/,
    );
    assert.ok(csv.some((l) => l.startsWith(`${notStarted[0]},0.3,0.3,1,not-started,`)));
    assert.equal(fs.readFileSync(path.join(dir, 'cells.csv'), 'utf8').trimEnd().split('\n').length, 11);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'runs.json'), 'utf8'));
    assert.equal(json.runs.length, 20);
    assert.equal(json.claims.length, 11);
    // The α claims come last, not tested without a model.init_scale axis; no feature data is measured.
    for (const c of json.claims.slice(9) as Array<{ status: string; why: string }>) {
      assert.equal(c.status, 'not tested');
      assert.match(c.why, /axis missing: the sweep varies no model\.init_scale/);
    }
    assert.equal(json.init_scale, undefined);
    // The lever claims are there, each not tested on plain weight-decay runs, saying why.
    const levers = json.claims.slice(4, 9) as Array<{ id: string; status: string; why: string }>;
    assert.deepEqual(
      levers.map((c) => c.id),
      [
        'grokfast-accelerates',
        'softmax-collapse-without-decay',
        'stablemax-groks-without-decay',
        'orthogonal-grad-groks-without-decay',
        'float64-delays-collapse',
      ],
    );
    for (const i of [0, 2, 3, 4]) assert.equal(levers[i].status, 'not tested', levers[i].why);
    assert.match(levers[0].why, /the sweep has no run with a gradient filter/);
    assert.match(levers[2].why, /the sweep has no run with StableMax/);
    assert.match(levers[4].why, /the sweep has no run with a float64 softmax/);
    // γ = 0 runs are plain softmax runs: tested when their logs record softmax_collapse.
    const collapse = levers[1];
    if (collapse.status === 'not tested') assert.match(collapse.why, /recorded no softmax_collapse/);
    else assert.match(collapse.why, /without regularization/);
    assert.equal(json.summary['not-started'], 3);
    assert.equal(json.runs.find((r: { run_id: string }) => r.run_id === running).state, 'running');
    const md = fs.readFileSync(path.join(dir, 'report.md'), 'utf8');
    for (const c of json.claims)
      assert.ok(md.includes(c.why.replaceAll('|', '\\|')), `report.md lacks ${c.id}`);
    assert.match(md, /!\[phase-t_grok\]\(phase-t_grok\.png\)/);
    // No variants, no levers: the tables and charts of a weight-decay sweep as before.
    assert.doesNotMatch(md, /t 95%|collapse \||variant/);
    const png = fs.readFileSync(path.join(dir, 'phase-t_grok.png'));
    assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    const svg = fs.readFileSync(path.join(dir, 'phase-t_grok.svg'), 'utf8');
    assert.match(svg, /no grok/);
    assert.match(svg, />10</, 'the real weight-decay values label the axis');
  });

  it('the CLI: table on stdout, paths on stderr, exit 2 and nothing written on bad input', async () => {
    const dir = sweepDir(runsDir, name);
    // In process (a child process would spend seconds loading the CLI): the command's own streams.
    const r = { stdout: '', stderr: '' };
    const sink = (key: 'stdout' | 'stderr') =>
      new Writable({
        write(chunk, _encoding, done) {
          r[key] += String(chunk);
          done();
        },
      });
    const program = new Command('groklab').exitOverride();
    registerSweepReport(program, sink('stdout'), sink('stderr'));
    await program.parseAsync(['sweep-report', dir, '--metric', 'test_acc', '--formats', 'svg'], {
      from: 'user',
    });
    assert.match(r.stdout, new RegExp(`${running}\\s+0\\s+0\\.3\\s+1\\s+running`));
    assert.match(r.stdout, /claims:\n {2}held {7}no-decay-no-grok/);
    const written = r.stderr.trim().split('\n');
    assert.ok(written.includes(path.join(dir, 'report', 'phase-test_acc.svg')), r.stderr);
    assert.ok(!fs.existsSync(path.join(dir, 'report', 'phase-test_acc.png')), 'only the formats asked for');
    const before = fs.readdirSync(path.join(dir, 'report')).sort();
    for (const args of [
      [dir, '--x', 'lr'],
      [dir, '--metric', 'loss'],
      [dir, '--formats', 'pdf'],
      ['nope', '--runs-dir', runsDir],
    ]) {
      // Through main, as the groklab command runs it: UsageError → exit code 2.
      assert.equal(await main(['sweep-report', ...args]), 2, args.join(' '));
      assert.deepEqual(
        fs.readdirSync(path.join(dir, 'report')).sort(),
        before,
        `${args.join(' ')} wrote something`,
      );
    }
  });
});

test('finds the sweep from a spec file, a sweep folder, a runs folder or a name', async () => {
  const runsDir = path.join(tmp(), 'runs');
  const manifest = (name: string): SweepManifest => ({
    format: 'groklab-sweep/1',
    name,
    created_at: new Date(0).toISOString(),
    spec: {},
    axes: [{ key: 'seed', values: [0] }],
    cells: [{ run_id: `${name}-0`, values: { seed: 0 } }],
  });
  writeSweepManifest(runsDir, manifest('alpha'));
  const resolved = (t: string) => resolveSweepTarget(t, 'elsewhere');
  assert.deepEqual(resolved(sweepDir(runsDir, 'alpha')), { runsDir: path.resolve(runsDir), name: 'alpha' });
  assert.deepEqual(resolved(runsDir), { runsDir: path.resolve(runsDir), name: 'alpha' });
  assert.deepEqual(resolved(path.join(runsDir, 'sweeps')), { runsDir: path.resolve(runsDir), name: 'alpha' });
  const spec = path.join(tmp(), 'wd-sweep.yaml');
  fs.writeFileSync(spec, 'name: alpha\npreset: demo\naxes:\n  wd: [0, 1]\n');
  assert.deepEqual(resolveSweepTarget(spec, runsDir), { runsDir, name: 'alpha' });
  fs.writeFileSync(spec, 'preset: demo\naxes:\n  wd: [0, 1]\n');
  assert.deepEqual(
    resolveSweepTarget(spec, runsDir),
    { runsDir, name: 'wd-sweep' },
    'no name: the file name',
  );
  assert.deepEqual(resolveSweepTarget('alpha', runsDir), { runsDir, name: 'alpha' });
  assert.throws(() => resolveSweepTarget(path.join(runsDir, 'missing.yaml'), runsDir), /does not exist/);
  writeSweepManifest(runsDir, manifest('beta'));
  assert.throws(() => resolved(runsDir), /holds 2 sweeps \(alpha, beta\)/);
  await assert.rejects(buildSweepReport(runsDir, 'gamma'), /no sweep "gamma".*sweeps: alpha, beta/);
});
