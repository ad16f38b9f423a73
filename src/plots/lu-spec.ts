/**
 * Omnigrok's LU chart (src/sweep-report/lu.ts gathers the data): final train and test loss against
 * the fixed weight norm, both on log axes, next to the final accuracies against it. Dots are runs,
 * lines the medians over seeds (one line style per setting of the other axes), and the shaded band
 * is the Goldilocks zone where there is a single curve.
 */
import type { TopLevelSpec } from 'vega-lite';
import { CONFIG, PALETTE, SOLID, TEST_COLOR, TRAIN_COLOR, TRAIN_DASH } from './specs.ts';
import { wrapLines } from './sweep-specs.ts';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const ZONE_FILL = '#F0E442';

/** One value of one split at one norm: a run's (kind 'run') or a median (kind 'median'). */
export interface LuChartRow {
  kind: 'run' | 'median';
  group: string;
  split: 'train' | 'test';
  norm: number;
  loss: number;
  acc: number | null;
}

export interface LuChartData {
  title: string;
  subtitle: string[];
  rows: LuChartRow[];
  groups: string[];
  groupTitle: string;
  /** The Goldilocks band on the norm axis, or null (none, or several curves). */
  zone: { from: number; to: number } | null;
}

export function luChartSpec(d: LuChartData): TopLevelSpec {
  const norms = d.rows.map((r) => r.norm);
  const losses = d.rows.map((r) => r.loss).filter((v) => v > 0);
  const lo = Math.min(...norms);
  const hi = Math.max(...norms);
  const x = {
    field: 'norm',
    type: 'quantitative',
    scale: { type: 'log', domain: [lo / 1.25, hi * 1.25], nice: false },
    axis: { title: 'fixed weight norm ‖θ‖₂ (log)', labelFlush: false },
  };
  const color = {
    field: 'split',
    type: 'nominal',
    scale: { domain: ['train', 'test'], range: [TRAIN_COLOR, TEST_COLOR] },
    legend: { title: 'split' },
  };
  const dash =
    d.groups.length > 1
      ? {
          field: 'group',
          type: 'nominal',
          scale: {
            domain: d.groups,
            range: d.groups.map((_, i) => (i === 0 ? SOLID : i === 1 ? TRAIN_DASH : [2, 2])),
          },
          legend: { title: d.groupTitle, symbolType: 'stroke', labelLimit: 320 },
        }
      : { value: SOLID };
  const zoneLayer = d.zone
    ? [
        {
          data: { values: [d.zone] },
          mark: { type: 'rect', color: ZONE_FILL, opacity: 0.35 },
          encoding: {
            x: { field: 'from', type: 'quantitative', scale: x.scale },
            x2: { field: 'to' },
          },
        },
      ]
    : [];
  // A loss of exactly 0 (a collapsed softmax) has no place on a log axis: left out.
  const shown = (field: 'loss' | 'acc') => (field === 'loss' ? 'datum.loss > 0' : 'isValid(datum.acc)');
  const panel = (
    field: 'loss' | 'acc',
    y: Record<string, unknown>,
    title: string,
  ): Record<string, unknown> => ({
    width: 380,
    height: 300,
    title: { text: title, fontSize: 13 },
    layer: [
      ...zoneLayer,
      {
        data: { name: 'rows' },
        transform: [{ filter: `datum.kind === 'run' && ${shown(field)}` }],
        mark: { type: 'point', filled: true, size: 36, opacity: 0.45 },
        encoding: {
          x,
          y,
          color,
          tooltip: [{ field: 'norm' }, { field: 'split' }, { field }, { field: 'group' }],
        },
      },
      {
        data: { name: 'rows' },
        transform: [{ filter: `datum.kind === 'median' && ${shown(field)}` }],
        mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: {
          x,
          y,
          color,
          strokeDash: dash,
          detail: { field: 'group', type: 'nominal' },
          order: { field: 'norm', type: 'quantitative' },
        },
      },
    ],
  });
  return {
    $schema: SCHEMA,
    title: { text: d.title, subtitle: wrapLines(d.subtitle, 110) },
    config: { ...CONFIG, range: { category: PALETTE } },
    datasets: { rows: d.rows },
    hconcat: [
      panel(
        'loss',
        {
          field: 'loss',
          type: 'quantitative',
          scale: {
            type: 'log',
            domain: [Math.min(...losses) / 2, Math.max(...losses) * 2],
            nice: false,
          },
          axis: { title: 'final loss (log)', format: '.1e' },
        },
        'Loss: train L-shaped, test U-shaped',
      ),
      panel(
        'acc',
        {
          field: 'acc',
          type: 'quantitative',
          scale: { domain: [0, 1] },
          axis: { title: 'final accuracy', format: '.0%' },
        },
        'Accuracy',
      ),
    ],
  } as unknown as TopLevelSpec;
}
