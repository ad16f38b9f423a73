/**
 * The LU chart of a sweep with a train.fixed_norm axis (Omnigrok): final train and test loss (log)
 * and accuracy against the fixed weight norm (log), the median over the finished runs at each norm,
 * one line style per setting of the other axes. The Goldilocks zone uses sweep-report's rule
 * (src/sweep-report/lu.ts): norms whose median test accuracy is ≥ 0.9 × the best. `groklab
 * sweep-report` judges the shapes; this page only draws them.
 */
import { useMemo } from 'react';
import type { AxisValue, SweepCellRow } from '../api.ts';
import { Chart, type ChartSeries } from '../components/Chart.tsx';
import { formatAcc, formatLoss, formatValue } from '../format.ts';
import { TEST_COLOR, TRAIN_COLOR } from '../palette.ts';

export const FIXED_NORM_AXIS = 'train.fixed_norm';
const GOLDILOCKS_ACC_SHARE = 0.9;
const GROUP_DASHES: Array<number[] | undefined> = [undefined, [7, 4], [2, 3], [10, 3, 2, 3]];

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const known = (values: Array<number | null>) =>
  values.filter((v): v is number => v !== null && Number.isFinite(v));

interface Point {
  norm: number;
  runs: number;
  train_loss: number | null;
  test_loss: number | null;
  train_acc: number | null;
  test_acc: number | null;
}

interface Curve {
  group: string;
  points: Point[];
  zone: { norms: number[]; best: number; at: number } | null;
}

function curvesOf(
  cells: SweepCellRow[],
  groupKeys: string[],
): { norms: number[]; curves: Curve[]; counted: number } {
  const done = cells.filter((c) => c.state === 'finished' && typeof c.values[FIXED_NORM_AXIS] === 'number');
  const label = (values: Record<string, AxisValue>) =>
    groupKeys.map((k) => `${k} = ${formatValue(values[k])}`).join(', ');
  const norms = [...new Set(done.map((c) => c.values[FIXED_NORM_AXIS] as number))].sort((a, b) => a - b);
  const groups = [...new Set(done.map((c) => label(c.values)))];
  const curves = groups.map((group): Curve => {
    const mine = done.filter((c) => label(c.values) === group);
    const points = norms.map((norm): Point => {
      const at = mine.filter((c) => c.values[FIXED_NORM_AXIS] === norm);
      return {
        norm,
        runs: at.length,
        train_loss: median(known(at.map((c) => c.final_train_loss))),
        test_loss: median(known(at.map((c) => c.final_test_loss))),
        train_acc: median(known(at.map((c) => c.final_train_acc))),
        test_acc: median(known(at.map((c) => c.final_test_acc))),
      };
    });
    const scored = points.filter((p): p is Point & { test_acc: number } => p.test_acc !== null);
    const best = scored.reduce<(Point & { test_acc: number }) | null>(
      (m, p) => (m === null || p.test_acc > m.test_acc ? p : m),
      null,
    );
    const zone =
      best !== null && best.test_acc > 0
        ? {
            norms: scored
              .filter((p) => p.test_acc >= GOLDILOCKS_ACC_SHARE * best.test_acc)
              .map((p) => p.norm),
            best: best.test_acc,
            at: best.norm,
          }
        : null;
    return { group, points, zone };
  });
  return { norms, curves, counted: done.length };
}

export function LuPanel({ cells, axes }: { cells: SweepCellRow[]; axes: Array<{ key: string }> }) {
  const { norms, curves, counted } = useMemo(
    () =>
      curvesOf(
        cells,
        axes.map((a) => a.key).filter((k) => k !== 'seed' && k !== FIXED_NORM_AXIS),
      ),
    [cells, axes],
  );
  const series = (field: 'loss' | 'acc'): ChartSeries[] =>
    curves.flatMap((c, i) =>
      (['train', 'test'] as const).map((split) => ({
        label: `${split}${c.group ? ` (${c.group})` : ''}`,
        color: split === 'train' ? TRAIN_COLOR : TEST_COLOR,
        dash: GROUP_DASHES[i % GROUP_DASHES.length],
        width: 2,
        points: true,
        spanGaps: true,
        values: c.points.map((p) => {
          const v = p[`${split}_${field}`];
          return field === 'loss' && v !== null && v <= 0 ? null : v;
        }),
      })),
    );
  const pending = cells.filter((c) => typeof c.values[FIXED_NORM_AXIS] === 'number').length - counted;
  return (
    <section className="panel" data-testid="lu-panel">
      <h2>LU: loss against the fixed weight norm</h2>
      {norms.length === 0 ? (
        <p className="muted">No finished run yet.</p>
      ) : (
        <>
          <div className="charts">
            <Chart
              title="Final loss (log scale): train L-shaped, test U-shaped"
              x={norms}
              series={series('loss')}
              xKind="log"
              xLabel="fixed weight norm ‖θ‖₂ (log)"
              yLog
              testId="lu-loss"
            />
            <Chart
              title="Final accuracy"
              x={norms}
              series={series('acc')}
              xKind="log"
              xLabel="fixed weight norm ‖θ‖₂ (log)"
              yRange={[0, 1]}
              yFormat={(v) => v.toFixed(1)}
              testId="lu-accuracy"
            />
          </div>
          <ul className="small" data-testid="lu-zones">
            {curves.map((c) => (
              <li key={c.group}>
                {c.group ? `${c.group}: ` : ''}
                {c.zone
                  ? `Goldilocks zone ‖θ‖ ∈ [${formatValue(c.zone.norms[0])}, ${formatValue(c.zone.norms[c.zone.norms.length - 1])}] (median test accuracy ≥ ${GOLDILOCKS_ACC_SHARE} × the best, ${formatAcc(c.zone.best)} at ${formatValue(c.zone.at)})`
                  : 'no Goldilocks zone yet (no test accuracy above 0)'}
                ; lowest test loss {formatLoss(minBy(c.points, 'test_loss')?.test_loss)} at{' '}
                {formatValue(minBy(c.points, 'test_loss')?.norm)}
              </li>
            ))}
          </ul>
          <p className="muted small">
            Each point is the median over the finished runs at that norm of their last evaluation
            {pending > 0 ? `; ${pending} runs not finished are left out` : ''}.{' '}
            <code>groklab sweep-report</code> says whether the shapes hold, with the numbers.
          </p>
        </>
      )}
    </section>
  );
}

function minBy(points: Point[], field: 'test_loss'): Point | undefined {
  return points.reduce<Point | undefined>(
    (m, p) => (p[field] !== null && (m === undefined || (p[field] as number) < (m[field] as number)) ? p : m),
    undefined,
  );
}
