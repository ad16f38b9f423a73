/** The LU chart of a sweep with a train.fixed_norm axis: lu.ts's points as a Vega-Lite spec. */
import { type LuChartRow, luChartSpec } from '../plots/lu-spec.ts';
import type { Gathered } from './gather.ts';
import { FIXED_NORM_AXIS, GOLDILOCKS_ACC_SHARE, luAnalysis, luRunPoints } from './lu.ts';

/** What plots.ts needs of a chart; kept structural so this file does not import plots.ts. */
interface Planned {
  stem: string;
  description: string;
  spec: ReturnType<typeof luChartSpec>;
}

/** The LU chart, a reason it cannot be drawn, or null when the sweep has no fixed-norm axis. */
export function luPlot(name: string, g: Gathered): Planned | { plot: string; reason: string } | null {
  const lu = luAnalysis(g.axes, g.rows);
  if (lu === null) return null;
  const plot = 'LU: loss against the fixed weight norm';
  const runs = luRunPoints(g.axes, g.rows);
  if (runs.length === 0)
    return { plot, reason: `no finished run on the ${FIXED_NORM_AXIS} axis has final losses yet` };
  const rows: LuChartRow[] = [];
  for (const r of runs) {
    rows.push({
      kind: 'run',
      group: r.group,
      split: 'train',
      norm: r.norm,
      loss: r.train_loss,
      acc: r.train_acc,
    });
    rows.push({
      kind: 'run',
      group: r.group,
      split: 'test',
      norm: r.norm,
      loss: r.test_loss,
      acc: r.test_acc,
    });
  }
  for (const c of lu.curves)
    for (const p of c.points) {
      rows.push({
        kind: 'median',
        group: c.group,
        split: 'train',
        norm: p.norm,
        loss: p.train_loss,
        acc: p.train_acc,
      });
      rows.push({
        kind: 'median',
        group: c.group,
        split: 'test',
        norm: p.norm,
        loss: p.test_loss,
        acc: p.test_acc,
      });
    }
  const single = lu.curves.length === 1 ? lu.curves[0] : null;
  const zone = single?.goldilocks
    ? bandAround(
        single.points.map((p) => p.norm),
        single.goldilocks,
      )
    : null;
  const seeds = Math.max(...lu.curves.flatMap((c) => c.points.map((p) => p.runs)));
  return {
    stem: 'lu-fixed-norm',
    description:
      'final train and test loss (log) and accuracy against the fixed weight norm: train loss L-shaped, test loss U-shaped, the Goldilocks zone shaded',
    spec: luChartSpec({
      title: `Sweep ${name}: loss against the fixed weight norm (Omnigrok's LU)`,
      subtitle: [
        `each run's final values (dots)${seeds > 1 ? ' and their median over seeds (lines)' : ', joined by lines'}; ${lu.left_out ?? 'every run counted'}`,
        ...(zone
          ? [
              `shaded: the Goldilocks zone, norms whose median test accuracy is ≥ ${GOLDILOCKS_ACC_SHARE} × the best`,
            ]
          : []),
      ],
      rows,
      groups: lu.curves.map((c) => c.group),
      groupTitle: lu.group_keys.join(', '),
      zone,
    }),
  };
}

/**
 * The zone as a band: from the geometric midpoint with the norm below its first to that with the
 * norm above its last (or the norm itself at the ends of the axis), so a one-norm zone is visible.
 */
function bandAround(
  norms: readonly number[],
  zone: { from: number; to: number },
): { from: number; to: number } {
  const i = norms.indexOf(zone.from);
  const j = norms.indexOf(zone.to);
  return {
    from: i > 0 ? Math.sqrt(norms[i - 1] * zone.from) : zone.from,
    to: j >= 0 && j < norms.length - 1 ? Math.sqrt(norms[j + 1] * zone.to) : zone.to,
  };
}
