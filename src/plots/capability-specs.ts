/**
 * The event timeline of `groklab detect FILE --capabilities GLOB --timeline FILE.svg`: one row per
 * capability over the symlog step axis every groklab chart uses (specs.ts), with its evaluations
 * (grey ticks), t_mem of its train column (blue diamond), its change from 10% to 90% (a bar coloured
 * by its label) and the onset of a jump (a triangle). Built from plain data; render.ts draws it.
 */
import type { TopLevelSpec } from 'vega-lite';
import { CONFIG, PALETTE, stepTicks, TRAIN_COLOR, WIDTH } from './specs.ts';

/** One capability as the timeline draws it. */
export interface TimelineCapability {
  /** Row label (the column name; prefixed with the log when several logs are drawn). */
  name: string;
  /** grokked, jumped-early, jumped, rising-gradually, declined, flat, insufficient-data. */
  label: string;
  /** Steps it was evaluated at. */
  evaluations: number[];
  t_mem: number | null;
  /** The onset of a jump, or null. */
  onset: number | null;
  /** The change drawn as a bar, or null (flat). */
  span: { from: number; to: number } | null;
}

/** Colours per label: jumps warm, gradual cool, decline black, nothing grey (Okabe & Ito). */
export const LABEL_COLORS: Record<string, string> = {
  grokked: PALETTE[1],
  'jumped-early': PALETTE[3],
  jumped: PALETTE[4],
  'rising-gradually': PALETTE[5],
  declined: PALETTE[6],
  flat: '#999999',
  'insufficient-data': '#cccccc',
};

const ROW_HEIGHT = 26;

export function capabilityTimelineSpec(
  capabilities: TimelineCapability[],
  options: { title: string; subtitle: string[] },
): TopLevelSpec {
  const maxStep = Math.max(1, ...capabilities.flatMap((c) => c.evaluations));
  const order = capabilities.map((c) => c.name);
  const y = {
    field: 'name',
    type: 'nominal' as const,
    sort: order,
    scale: { domain: order },
    axis: { title: null, labelLimit: 260 },
  };
  const labels = [...new Set(capabilities.map((c) => c.label))];
  const color = {
    field: 'label',
    type: 'nominal' as const,
    scale: { domain: labels, range: labels.map((l) => LABEL_COLORS[l] ?? '#999999') },
    legend: {
      title: null,
      orient: 'bottom' as const,
      direction: 'horizontal' as const,
      symbolType: 'square',
      symbolSize: 120,
    },
  };
  const evaluationRows = capabilities.flatMap((c) => c.evaluations.map((step) => ({ name: c.name, step })));
  const spanRows = capabilities.flatMap((c) =>
    c.span ? [{ name: c.name, label: c.label, step: Math.max(0, c.span.from), step_end: c.span.to }] : [],
  );
  const onsetRows = capabilities.flatMap((c) =>
    c.onset !== null ? [{ name: c.name, label: c.label, step: c.onset }] : [],
  );
  const memRows = capabilities.flatMap((c) => (c.t_mem !== null ? [{ name: c.name, step: c.t_mem }] : []));
  // Symlog as in every groklab chart, but linear only below the first positive evaluation step: a
  // log of checkpoints 1000…100000 does not spend half the width on steps 0…1000.
  const positive = capabilities.flatMap((c) => c.evaluations.filter((s) => s > 0));
  const constant = positive.length > 0 ? Math.min(...positive) : 1;
  const x = {
    field: 'step',
    type: 'quantitative' as const,
    scale: { type: 'symlog' as const, constant, domain: [0, maxStep], nice: false, zero: false },
    axis: {
      values: stepTicks(maxStep).filter((t) => t === 0 || t >= constant),
      format: ',d',
      title: 'training step (log scale; step 0 at the left edge)',
    },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    config: CONFIG,
    title: { text: options.title, subtitle: options.subtitle },
    width: WIDTH,
    height: Math.max(ROW_HEIGHT * 2, ROW_HEIGHT * capabilities.length),
    datasets: {
      evaluations: evaluationRows,
      spans: spanRows,
      onsets: onsetRows,
      t_mem: memRows,
      labels: capabilities.map((c) => ({ name: c.name, label: c.label })),
    },
    layer: [
      {
        data: { name: 'evaluations' },
        mark: { type: 'tick', color: '#bbbbbb', thickness: 1, size: 10 },
        encoding: { x, y },
      },
      {
        data: { name: 'spans' },
        mark: { type: 'bar', height: 10, opacity: 0.85 },
        encoding: { x, x2: { field: 'step_end' }, y, color },
      },
      {
        data: { name: 'onsets' },
        mark: {
          type: 'point',
          shape: 'triangle-up',
          filled: true,
          size: 90,
          stroke: 'white',
          strokeWidth: 0.5,
        },
        encoding: { x, y, color },
      },
      {
        data: { name: 't_mem' },
        mark: { type: 'point', shape: 'diamond', filled: true, size: 70, color: TRAIN_COLOR },
        encoding: { x, y },
      },
      {
        // The label of a capability with no bar is written at the right, so every row says what it is.
        data: { name: 'labels' },
        mark: { type: 'text', align: 'left', dx: 6, fontSize: 11, color: '#444' },
        encoding: { y, x: { value: WIDTH }, text: { field: 'label' } },
      },
    ],
    resolve: { scale: { color: 'shared' } },
  } as TopLevelSpec;
}
