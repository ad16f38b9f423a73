/**
 * Omnigrok's LU reading of a sweep with a train.fixed_norm axis (src/sweep-report/lu.ts): the shape
 * rules on rows with known answers, and the report (runs.json, report.md, the chart) on run folders
 * written by hand.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { specToSvg } from '../src/plots/index.ts';
import { RunCatalog } from '../src/server/run-catalog.ts';
import type { AxisValue } from '../src/sweep/manifest.ts';
import type { SweepAxis, SweepRunRow } from '../src/sweep-report/gather.ts';
import {
  FIXED_NORM_AXIS,
  judgeTestU,
  judgeTrainL,
  type LuPoint,
  luAnalysis,
} from '../src/sweep-report/lu.ts';
import { luPlot } from '../src/sweep-report/lu-plot.ts';
import { buildSweepReport } from '../src/sweep-report/report.ts';
import {
  LU_NORMS,
  LU_TEST_ACC,
  LU_TEST_LOSS,
  LU_TRAIN_ACC,
  LU_TRAIN_LOSS,
  luFinals,
  SEED_FACTOR,
  writeLuSweep,
} from './helpers/lu-sweep.ts';
import { sweepRow } from './helpers/sweep-row.ts';
import { tempDirs } from './helpers/temp-dirs.ts';

const tmpRunsDir = tempDirs('lu');

const NORMS = LU_NORMS;
const TRAIN_LOSS = LU_TRAIN_LOSS;
const TEST_LOSS = LU_TEST_LOSS;
const TEST_ACC = LU_TEST_ACC;
const TRAIN_ACC = LU_TRAIN_ACC;

function row(cell: number, values: Record<string, AxisValue>, over: Partial<SweepRunRow>): SweepRunRow {
  return sweepRow(
    { run_id: `r${cell}`, cell, values, steps: 100 },
    { weight_decay: 0, verdict: 'no-fit', ...over },
  );
}

/** Three seeds per norm around the values above (and, with `extra`, one more axis). */
function sweepRows(extra?: { key: string; values: AxisValue[] }): { axes: SweepAxis[]; rows: SweepRunRow[] } {
  const axes: SweepAxis[] = [
    ...(extra ? [extra] : []),
    { key: FIXED_NORM_AXIS, values: NORMS },
    { key: 'seed', values: [0, 1, 2] },
  ];
  const rows: SweepRunRow[] = [];
  for (const e of extra?.values ?? [null])
    for (const [i, norm] of NORMS.entries())
      for (const [seed, f] of SEED_FACTOR.entries()) {
        const values: Record<string, AxisValue> = { [FIXED_NORM_AXIS]: norm, seed };
        if (extra && e !== null) values[extra.key] = e;
        rows.push(
          row(rows.length, values, {
            final_train_loss: TRAIN_LOSS[i] * f,
            final_test_loss: TEST_LOSS[i] * f,
            final_train_acc: TRAIN_ACC[i],
            final_test_acc: Math.min(1, TEST_ACC[i] * f),
          }),
        );
      }
  return { axes, rows };
}

const points = (train: number[], test: number[]): LuPoint[] =>
  train.map((t, i) => ({
    norm: 2 ** i,
    runs: 1,
    train_loss: t,
    test_loss: test[i],
    train_acc: null,
    test_acc: null,
  }));

describe('the LU shapes', () => {
  it('is absent for a sweep without a fixed_norm axis', () => {
    assert.equal(luAnalysis([{ key: 'train.weight_decay', values: [0, 1] }], []), null);
  });

  it('takes the median over seeds per norm and finds L, U and the Goldilocks zone', () => {
    const { axes, rows } = sweepRows();
    const lu = luAnalysis(axes, rows);
    assert.ok(lu);
    assert.equal(lu.curves.length, 1);
    const [c] = lu.curves;
    assert.deepEqual(
      c.points.map((p) => [p.norm, p.runs, p.train_loss, p.test_loss, p.test_acc]),
      NORMS.map((n, i) => [n, 3, TRAIN_LOSS[i], TEST_LOSS[i], TEST_ACC[i]]),
    );
    assert.equal(c.train_l?.held, true, c.train_l?.text);
    assert.equal(c.test_u?.held, true, c.test_u?.text);
    assert.deepEqual(c.test_loss_min, { norm: 10, test_loss: 1 });
    // 0.9 × the best median test accuracy (0.8 at 10) is 0.72: 30 (0.75) is in the zone, 100 is not.
    assert.deepEqual(c.goldilocks, { norms: [10, 30], from: 10, to: 30, best_test_acc: 0.8, best_norm: 10 });
    assert.match(lu.summary[0], /^LU: held\. train loss L-shaped: .* from ‖θ‖ = 10 on/);
    assert.match(lu.summary[0], /lowest 1 at ‖θ‖ = 10, 9 at ‖θ‖ = 100 \(3\.4× and 9× the minimum\)/);
    assert.match(lu.summary[0], /Goldilocks zone ‖θ‖ ∈ \[10, 30\]/);
    assert.equal(lu.left_out, null);
  });

  it('L: a train loss that never falls 10× below the smallest norm, or rises again, is not L-shaped', () => {
    const flat = judgeTrainL(points([3, 2.5, 2, 1], [3, 2, 3, 4]));
    assert.equal(flat.held, false);
    assert.match(flat.text, /never 10× lower \(lowest 1 at ‖θ‖ = 8\)/);
    const rises = judgeTrainL(points([3, 0.1, 0.01, 0.5], [3, 2, 3, 4]));
    assert.equal(rises.held, false);
    assert.match(rises.text, /rises again above 0\.3 \(0\.5 at ‖θ‖ = 8\)/);
    assert.equal(judgeTrainL(points([3, 0.29, 0.01, 0.2], [3, 2, 3, 4])).held, true);
  });

  it('U: a minimum at an end, or ends too close to the minimum, is not U-shaped', () => {
    const falling = judgeTestU(points([3, 1, 0.1], [3, 2, 1]));
    assert.equal(falling.held, false);
    assert.match(falling.text, /minimum is at the largest norm/);
    const shallow = judgeTestU(points([3, 1, 0.1], [1.2, 1, 3]));
    assert.equal(shallow.held, false, 'the left end is only 1.2× the minimum (1.25× needed)');
    assert.equal(judgeTestU(points([3, 1, 0.1], [1.25, 1, 3])).held, true);
  });

  it('draws one curve per setting of the other axes, judges none below 3 norms, and counts what it leaves out', () => {
    const { axes, rows } = sweepRows({ key: 'model.init_scale', values: [1, 8] });
    // The second setting: only two norms finished, the rest still running.
    for (const r of rows)
      if (r.values['model.init_scale'] === 8 && (r.values[FIXED_NORM_AXIS] as number) > 3)
        r.state = 'running';
    const lu = luAnalysis(axes, rows);
    assert.ok(lu);
    assert.deepEqual(
      lu.curves.map((c) => [c.group, c.points.length, c.train_l?.held ?? null]),
      [
        ['model.init_scale = 1', 5, true],
        ['model.init_scale = 8', 2, null],
      ],
    );
    assert.match(lu.summary[1], /^model\.init_scale = 8: not judged: finished runs at 2 norms, 3 needed$/);
    assert.equal(lu.left_out, '9 of 30 runs not counted (not finished, or without final losses)');
  });

  it('renders the chart, with the Goldilocks band', async () => {
    const { axes, rows } = sweepRows();
    const plot = luPlot('lu', { axes, rows, cells: [], thresholds: { mem: 0.99, grok: 0.9 } });
    assert.ok(plot && 'spec' in plot);
    const svg = await specToSvg(plot.spec);
    assert.match(svg, /fixed weight norm/);
    assert.match(svg, /Goldilocks zone/);
    // The band runs between the geometric midpoints around the zone's norms [10, 30]: √30 to √3000.
    const zone = (
      plot.spec as unknown as { hconcat: Array<{ layer: Array<{ data?: { values?: unknown } }> }> }
    ).hconcat[0].layer[0].data?.values as Array<{ from: number; to: number }>;
    assert.ok(
      Math.abs(zone[0].from - Math.sqrt(30)) < 1e-12 && Math.abs(zone[0].to - Math.sqrt(3000)) < 1e-12,
    );
  });
});

describe('the LU section of a sweep report', () => {
  it('reads the final values from the run folders into runs.json, report.md and the chart', async () => {
    const runsDir = tmpRunsDir();
    writeLuSweep(runsDir, 'lu');
    const built = await buildSweepReport(runsDir, 'lu', { formats: ['svg'] });
    assert.deepEqual(
      built.json.axes[0],
      { key: FIXED_NORM_AXIS, values: NORMS },
      'the alias norm names the axis',
    );
    const lu = built.json.lu;
    assert.ok(lu);
    // The medians of the last evaluations (the earlier ones are all 3.5).
    assert.deepEqual(
      lu.curves[0].points.map((p) => [p.norm, p.train_loss, p.test_loss]),
      NORMS.map((n, i) => [n, TRAIN_LOSS[i], TEST_LOSS[i]]),
    );
    assert.deepEqual(lu.curves[0].goldilocks?.norms, [10, 30]);
    const md = built.files.find((f) => f.name === 'report.md')?.data as string;
    assert.match(md, /## LU: loss against the fixed weight norm \(Omnigrok\)/);
    assert.match(md, /- LU: held\. train loss L-shaped/);
    assert.match(md, /\| 10 \| 3 \| 0\.2 \| 1 \| 1\.000 \| 0\.800 \| ◀ \|/);
    assert.ok(built.files.some((f) => f.name === 'lu-fixed-norm.svg'));
    assert.match(built.text, /LU, final values against train\.fixed_norm/);
  });

  it('the dashboard API gives each cell its final losses', () => {
    const runsDir = tmpRunsDir();
    writeLuSweep(runsDir, 'lu');
    const cells = new RunCatalog(runsDir).sweep('lu').cells;
    assert.equal(cells.length, 15);
    for (const c of cells) {
      const f = luFinals(c.values[FIXED_NORM_AXIS] as number, c.values.seed as number);
      assert.equal(c.final_train_loss, f.train_loss);
      assert.equal(c.final_test_loss, f.test_loss);
    }
  });
});
