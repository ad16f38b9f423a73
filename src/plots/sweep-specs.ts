/**
 * Vega-Lite specs for a sweep's charts, built from plain data (src/sweep-report/plots.ts gathers it):
 *
 *   phaseDiagramSpec      a heatmap over two axes of the grid (faceted by any further axes), one
 *                         cell per setting, the value written in it; cells where nothing grokked
 *                         are grey and hatched, labelled, never left out
 *   gapVersusDecaySpec    Δt = t_grok − t_mem per run against 1/γ, with the fitted line a/γ + b
 *   tGrokVersusFractionSpec  t_grok per run and its median against the training fraction; runs
 *                         that did not generalize as markers in a row at the top
 *   variantCurvesSpec     test and train accuracy against step, one line per variant of a sweep
 *
 * Like specs.ts, every dataset sits in the spec's top-level `datasets`.
 */
import type { TopLevelSpec } from 'vega-lite';
import { ACCURACY_SPLIT_DASH, CONFIG, logAxis, PALETTE, percentY, stepX, WIDTH } from './specs.ts';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
/** Fill of cells with no value to colour (never grokked) and their hatching. */
export const NONE_FILL = '#d4d4d4';
const HATCH = '#8a8a8a';
const CELL_WIDTH = 86;
const CELL_HEIGHT = 58;
/** Colours of groups (other axes) in the line charts: the palette without black and yellow. */
const GROUP_COLORS = PALETTE.filter((c) => c !== '#000000' && c !== '#F0E442');

/**
 * Subtitle lines wrapped at word boundaries. Vega sizes the chart from an estimate of the text's
 * width (no font metrics in Node) that runs wide, so long lines would leave a blank right margin.
 */
export function wrapLines(lines: readonly string[], width = 84): string[] {
  const out: string[] = [];
  for (const line of lines) {
    let current = '';
    for (const word of line.split(' ')) {
      if (current !== '' && current.length + 1 + word.length > width) {
        out.push(current);
        current = word;
      } else current = current === '' ? word : `${current} ${word}`;
    }
    out.push(current);
  }
  return out;
}

export type PhaseCellKind = 'value' | 'none' | 'empty';

/** One cell of the phase diagram. */
export interface PhaseCell {
  /** Category labels on the x and y axes (members of the axis domains). */
  x: string;
  y: string;
  /** Facet label when the grid has more than two axes ('' otherwise). */
  panel: string;
  /** value: coloured by `value`; none: measured, never reached (grey, hatched); empty: no runs measured yet. */
  kind: PhaseCellKind;
  value: number | null;
  /** First line: the value as text, or what the cell is ("no grok", "not run"). */
  label: string;
  /** Second line, e.g. "2/3 grokked". */
  detail: string;
  /** Text colour readable on the cell's fill. */
  text_color: string;
}

export interface PhaseDiagramData {
  title: string;
  subtitle: string[];
  /** Axis categories in ascending order of their values; y is drawn bottom to top. */
  x: { title: string; domain: string[] };
  y: { title: string; domain: string[] };
  /** Facets, in order; a single '' for one panel. */
  panels: string[];
  panelTitle: string | null;
  color: {
    title: string;
    scale: 'log' | 'linear';
    domain: [number, number];
    format: string;
    values?: number[];
  };
  cells: PhaseCell[];
}

/** Legend ticks of a log colour scale: 1, 2, 5 × 10^k inside the domain (its ends when fewer than 3). */
export function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let k = Math.floor(Math.log10(lo)); 10 ** k <= hi; k++)
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** k;
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks.push(Number(v.toPrecision(6)));
    }
  if (ticks.length >= 3) return ticks;
  return [...new Set([lo, ...ticks, hi])].sort((p, q) => p - q);
}

/** Viridis is dark at the low end: white text there, near-black text from the middle up. */
export function textColorOn(value: number, scale: 'log' | 'linear', domain: [number, number]): string {
  const f = (v: number) => (scale === 'log' ? Math.log(v) : v);
  const lo = f(domain[0]);
  const hi = f(domain[1]);
  const t = hi > lo ? (f(value) - lo) / (hi - lo) : 0.5;
  return t < 0.55 ? '#ffffff' : '#1a1a1a';
}

/** The colour scale of the heatmap: viridis, log or linear, over `domain`. */
function colorScale(d: PhaseDiagramData['color']) {
  return d.scale === 'log'
    ? { type: 'log' as const, domain: d.domain, scheme: 'viridis', nice: false }
    : { type: 'linear' as const, domain: d.domain, scheme: 'viridis', nice: false };
}

/**
 * Hatching of a band cell: diagonal rules from one edge to another, placed with bandPosition (0 = the
 * band's start, 1 = its end) so they follow the cell whatever its size.
 */
function hatchLayers(xField: object, yField: object): unknown[] {
  const offsets = [0.25, 0.5, 0.75, 1];
  const lines: Array<[number, number, number, number]> = [];
  // Lines of slope −1 in band coordinates: from (a, 1) to (0, 1 − a)... on the x/y bands.
  for (const a of offsets) lines.push([a, 0, 0, a]);
  for (const a of offsets.slice(0, -1)) lines.push([1, a, a, 1]);
  return lines.map(([x1, y1, x2, y2], i) => ({
    name: `no_value_hatch_${i}`,
    transform: [{ filter: { field: 'kind', equal: 'none' } }],
    mark: { type: 'rule', color: HATCH, strokeWidth: 1, opacity: 0.7 },
    encoding: {
      x: { ...xField, bandPosition: x1 },
      y: { ...yField, bandPosition: y1 },
      x2: { field: 'x', bandPosition: x2 },
      y2: { field: 'y', bandPosition: y2 },
    },
  }));
}

/**
 * The value (bold) and the detail line of every cell, in the cell's text colour. One layer per colour
 * with the colour fixed on the mark: a colour channel here would merge with the heatmap's scale.
 */
function textLayers(cells: PhaseCell[], xField: object, yField: object): unknown[] {
  const colors = [...new Set(cells.map((c) => c.text_color))];
  return colors.flatMap((color, i) => {
    const transform = [{ filter: { field: 'text_color', equal: color } }];
    return [
      {
        name: `cell_labels_${i}`,
        transform,
        mark: { type: 'text', color, fontSize: 13, fontWeight: 'bold', dy: -8, baseline: 'middle' },
        encoding: { x: xField, y: yField, text: { field: 'label' } },
      },
      {
        name: `cell_details_${i}`,
        transform,
        mark: { type: 'text', color, fontSize: 10, dy: 9, baseline: 'middle' },
        encoding: { x: xField, y: yField, text: { field: 'detail' } },
      },
    ];
  });
}

export function phaseDiagramSpec(d: PhaseDiagramData): TopLevelSpec {
  const x = {
    field: 'x',
    type: 'ordinal',
    sort: d.x.domain,
    scale: { domain: d.x.domain, paddingInner: 0.04 },
    axis: { title: d.x.title, labelAngle: 0, orient: 'bottom' },
  };
  const y = {
    field: 'y',
    type: 'ordinal',
    sort: [...d.y.domain].reverse(),
    // Largest value at the top, as on a chart with a numeric y axis.
    scale: { domain: [...d.y.domain].reverse(), paddingInner: 0.04 },
    axis: { title: d.y.title },
  };
  const width = Math.max(1, d.x.domain.length) * CELL_WIDTH;
  const height = Math.max(1, d.y.domain.length) * CELL_HEIGHT;
  const only = (kind: PhaseCellKind) => [{ filter: { field: 'kind', equal: kind } }];
  const layer = [
    {
      name: 'value_cells',
      transform: only('value'),
      mark: { type: 'rect' },
      encoding: {
        x,
        y,
        color: {
          field: 'value',
          type: 'quantitative',
          scale: colorScale(d.color),
          // No cell has a value (nothing grokked): a colour legend would explain nothing.
          legend: d.cells.some((c) => c.kind === 'value')
            ? {
                title: d.color.title,
                titleLimit: 260,
                format: d.color.format,
                ...(d.color.values ? { values: d.color.values } : {}),
                orient: 'right',
                gradientLength: Math.max(120, Math.min(240, height - 20)),
              }
            : null,
        },
      },
    },
    {
      name: 'no_value_cells',
      transform: only('none'),
      mark: { type: 'rect', color: NONE_FILL },
      encoding: { x, y },
    },
    ...hatchLayers(x, y),
    {
      name: 'empty_cells',
      transform: only('empty'),
      mark: { type: 'rect', fill: '#ffffff', stroke: '#999999', strokeDash: [3, 3], strokeWidth: 1 },
      encoding: { x, y },
    },
    ...textLayers(d.cells, x, y),
  ];
  const common = {
    $schema: SCHEMA,
    title: { text: d.title, subtitle: wrapLines(d.subtitle) },
    config: { ...CONFIG, view: { stroke: null } },
    datasets: { cells: d.cells },
    data: { name: 'cells' },
  };
  if (d.panels.length <= 1) return { ...common, width, height, layer } as unknown as TopLevelSpec;
  return {
    ...common,
    facet: {
      field: 'panel',
      type: 'ordinal',
      sort: d.panels,
      header: { title: d.panelTitle, labelFontSize: 12, titleFontSize: 12, titleFontWeight: 'normal' },
    },
    columns: Math.min(3, d.panels.length),
    spec: { width, height, layer },
    resolve: { scale: { color: 'shared' } },
  } as unknown as TopLevelSpec;
}

export interface GapPoint {
  inv_gamma: number;
  gap: number;
  gamma: number;
  group: string;
  run: string;
}

export interface GapVersusDecayData {
  title: string;
  subtitle: string[];
  points: GapPoint[];
  /** The fitted line of each group, as points along 1/γ. */
  lines: Array<{ inv_gamma: number; gap: number; group: string }>;
  /** γ values with their 1/γ, labelled above the chart. */
  gammas: Array<{ inv_gamma: number; label: string }>;
  groups: string[];
  groupTitle: string;
}

/** Δt per run against 1/γ (linear axes: a 1/γ law is a straight line), fitted lines dashed. */
export function gapVersusDecaySpec(d: GapVersusDecayData): TopLevelSpec {
  const colors = d.groups.map((_, i) => GROUP_COLORS[i % GROUP_COLORS.length]);
  const color = {
    field: 'group',
    type: 'nominal',
    scale: { domain: d.groups, range: colors },
    legend: d.groups.length > 1 ? { title: d.groupTitle, titleLimit: 320, labelLimit: 320 } : null,
  };
  const maxX = Math.max(1e-9, ...d.points.map((p) => p.inv_gamma), ...d.lines.map((l) => l.inv_gamma));
  const maxY = Math.max(1, ...d.points.map((p) => p.gap), ...d.lines.map((l) => l.gap));
  const x = {
    field: 'inv_gamma',
    type: 'quantitative',
    scale: { domain: [0, maxX * 1.08], nice: false },
    axis: { title: '1/γ (1 / weight decay)' },
  };
  const y = {
    field: 'gap',
    type: 'quantitative',
    scale: { domain: [0, maxY * 1.1], nice: true },
    axis: { title: 'Δt = t_grok − t_mem (steps)' },
  };
  return {
    $schema: SCHEMA,
    title: { text: d.title, subtitle: wrapLines(d.subtitle) },
    config: CONFIG,
    datasets: { points: d.points, lines: d.lines, gammas: d.gammas },
    width: 560,
    height: 340,
    layer: [
      {
        name: 'fit_lines',
        data: { name: 'lines' },
        mark: { type: 'line', strokeWidth: 2, strokeDash: [6, 4], clip: true },
        encoding: { x, y, color, detail: { field: 'group', type: 'nominal' } },
      },
      {
        name: 'gap_points',
        data: { name: 'points' },
        mark: { type: 'point', filled: true, size: 70, opacity: 0.85 },
        encoding: {
          x,
          y,
          color,
          tooltip: [{ field: 'run' }, { field: 'gamma' }, { field: 'gap' }],
        },
      },
      {
        name: 'gamma_labels',
        data: { name: 'gammas' },
        mark: { type: 'text', fontSize: 10, color: '#444', baseline: 'bottom', dy: -4 },
        encoding: {
          x: { field: 'inv_gamma', type: 'quantitative' },
          y: { value: 0 },
          text: { field: 'label' },
        },
      },
    ],
  } as unknown as TopLevelSpec;
}

export interface FractionPoint {
  fraction: number;
  /** Where it is drawn: the fraction shifted a little per group so groups do not hide one another. */
  xpos: number;
  t_grok: number;
  group: string;
  run: string;
  /** 'grokked', 'no delay' (comprehension) or 'other' (generalized another way). */
  kind: string;
}

/** Runs of one group at one fraction that never reached the threshold. */
export interface MissedRuns {
  fraction: number;
  group: string;
  count: number;
}

export interface TGrokVersusFractionData {
  title: string;
  subtitle: string[];
  points: FractionPoint[];
  medians: Array<{ fraction: number; xpos: number; t_grok: number; group: string }>;
  missed: MissedRuns[];
  fractions: number[];
  /** The band above this step holds the runs that did not generalize (above every t_grok and budget). */
  top: number;
  budget: number | null;
  yMin: number;
  groups: string[];
  groupTitle: string;
}

export const POINT_KINDS = ['grokked', 'no delay', 'other'] as const;
/** Rows of the "did not generalize" band are this factor apart on the log axis. */
const MISSED_ROW_FACTOR = 1.3;

/**
 * t_grok of each run (shape: its verdict) and the median per setting (diamonds and lines) against
 * the training fraction, t_grok on a log axis. Runs that never reached the threshold are triangles
 * in a band at the top, one row per group, with their count.
 */
export function tGrokVersusFractionSpec(d: TGrokVersusFractionData): TopLevelSpec {
  const colors = d.groups.map((_, i) => GROUP_COLORS[i % GROUP_COLORS.length]);
  const color = {
    field: 'group',
    type: 'nominal',
    scale: { domain: d.groups, range: colors },
    legend: d.groups.length > 1 ? { title: d.groupTitle, titleLimit: 320, labelLimit: 320 } : null,
  };
  const lo = Math.min(...d.fractions);
  const hi = Math.max(...d.fractions);
  const pad = Math.max(0.03, (hi - lo) * 0.1);
  const x = {
    field: 'xpos',
    type: 'quantitative',
    scale: { domain: [Math.max(0, lo - pad), Math.min(1, hi + pad)], nice: false },
    axis: {
      title: 'training fraction (share of all pairs used for training)',
      values: d.fractions,
      format: '.0%',
    },
  };
  const bandBottom = d.top / Math.sqrt(MISSED_ROW_FACTOR);
  const bandTop = d.top * MISSED_ROW_FACTOR ** Math.max(1, d.groups.length);
  const axis = logAxis(Math.max(1, d.yMin), bandBottom);
  const y = {
    field: 't_grok',
    type: 'quantitative',
    scale: { type: 'log', domain: [axis.domain[0], bandTop], nice: false },
    axis: {
      title: 't_grok, steps (log scale)',
      values: axis.values.filter((v) => v < bandBottom),
      labelExpr: axis.labelExpr,
    },
  };
  const missed = d.missed.map((m) => ({
    ...m,
    xpos: m.fraction,
    row: d.top * MISSED_ROW_FACTOR ** d.groups.indexOf(m.group),
    label: `×${m.count}`,
  }));
  const layers: unknown[] = [
    {
      name: 'missed_band',
      data: { values: [{ from: bandBottom, to: bandTop }] },
      mark: { type: 'rect', color: '#f2f2f2' },
      encoding: { y: { field: 'from', type: 'quantitative' }, y2: { field: 'to' } },
    },
    {
      name: 'missed_band_label',
      data: { values: [{ at: bandTop, text: '▲ never reached the threshold within the budget' }] },
      mark: {
        type: 'text',
        fontSize: 10,
        color: '#555',
        align: 'right',
        baseline: 'top',
        x: 'width',
        dx: -4,
        dy: 3,
      },
      encoding: { y: { field: 'at', type: 'quantitative' }, text: { field: 'text' } },
    },
    {
      name: 'median_lines',
      data: { name: 'medians' },
      mark: { type: 'line', strokeWidth: 2 },
      encoding: { x, y, color, detail: { field: 'group', type: 'nominal' } },
    },
    {
      name: 'median_points',
      data: { name: 'medians' },
      mark: { type: 'point', filled: false, size: 180, strokeWidth: 2.5, shape: 'diamond' },
      encoding: { x, y, color },
    },
    {
      name: 'run_points',
      data: { name: 'points' },
      mark: { type: 'point', filled: true, size: 55, opacity: 0.75 },
      encoding: {
        x,
        y,
        color,
        shape: {
          field: 'kind',
          type: 'nominal',
          scale: { domain: [...POINT_KINDS], range: ['circle', 'square', 'cross'] },
          legend: { title: 'each run', symbolSize: 120 },
        },
        tooltip: [{ field: 'run' }, { field: 't_grok' }, { field: 'kind' }],
      },
    },
    {
      name: 'missed_markers',
      data: { name: 'missed' },
      mark: { type: 'point', shape: 'triangle-up', filled: true, size: 80, opacity: 1 },
      encoding: { x, y: { field: 'row', type: 'quantitative' }, color },
    },
    {
      name: 'missed_counts',
      data: { name: 'missed' },
      mark: { type: 'text', fontSize: 10, dx: 8, align: 'left', baseline: 'middle', color: '#333' },
      encoding: { x, y: { field: 'row', type: 'quantitative' }, text: { field: 'label' } },
    },
  ];
  if (d.budget !== null) {
    layers.splice(
      2,
      0,
      {
        name: 'budget_rule',
        data: { values: [{ budget: d.budget, label: `budget ${d.budget} steps` }] },
        mark: { type: 'rule', color: '#999', strokeDash: [2, 3] },
        encoding: { y: { field: 'budget', type: 'quantitative' } },
      },
      {
        name: 'budget_label',
        data: { values: [{ budget: d.budget, label: `budget ${d.budget} steps` }] },
        mark: { type: 'text', fontSize: 10, color: '#777', align: 'left', baseline: 'bottom', x: 4, dy: -2 },
        encoding: { y: { field: 'budget', type: 'quantitative' }, text: { field: 'label' } },
      },
    );
  }
  return {
    $schema: SCHEMA,
    title: { text: d.title, subtitle: wrapLines(d.subtitle) },
    config: CONFIG,
    datasets: { points: d.points, medians: d.medians, missed },
    width: 560,
    height: 360,
    layer: layers,
  } as unknown as TopLevelSpec;
}

/** One point of a variant's accuracy curve (kind 'curve'), its first step at the target (kind 'reached'), or the target line (kind 'target'). */
export interface VariantCurveRow {
  kind: 'curve' | 'reached' | 'target';
  variant: string;
  /** Facet label ('' for one panel). */
  panel: string;
  /** 'train' or 'test' for curves; 'test' otherwise. */
  split: string;
  step: number;
  value: number;
}

export interface VariantCurvesData {
  title: string;
  subtitle: string[];
  rows: VariantCurveRow[];
  /** Legend order. */
  variants: string[];
  panels: string[];
  panelTitle: string | null;
  maxStep: number;
  /** The test accuracy drawn as a dotted line and marked where each variant first reached it. */
  target: number;
}

/**
 * Test accuracy (solid) and train accuracy (dashed) against step on the symlog step axis, one colour
 * per variant, a dot where each variant's test accuracy first reached the target and a dotted line at
 * the target; one panel per setting of the sweep's other axes. One dataset with a `kind` field, so
 * every layer can filter it inside a facet.
 */
export function variantCurvesSpec(d: VariantCurvesData): TopLevelSpec {
  const colors = d.variants.map((_, i) => GROUP_COLORS[i % GROUP_COLORS.length]);
  const color = {
    field: 'variant',
    type: 'nominal',
    scale: { domain: d.variants, range: colors },
    legend: { title: 'variant', symbolType: 'stroke', labelLimit: 320 },
  };
  const x = stepX(d.maxStep, true);
  const y = percentY('value', 'accuracy');
  const only = (kind: VariantCurveRow['kind']) => [{ filter: { field: 'kind', equal: kind } }];
  const layer = [
    {
      name: 'target_line',
      transform: only('target'),
      mark: { type: 'rule', color: '#777', strokeDash: [2, 3], strokeWidth: 1 },
      encoding: { y: { field: 'value', type: 'quantitative' } },
    },
    {
      name: 'accuracy_lines',
      transform: only('curve'),
      mark: { type: 'line', strokeWidth: 2, clip: true },
      encoding: {
        x,
        y,
        color,
        strokeDash: ACCURACY_SPLIT_DASH,
        detail: { field: 'split', type: 'nominal' },
      },
    },
    {
      name: 'target_points',
      transform: only('reached'),
      mark: { type: 'point', filled: true, size: 70, opacity: 1 },
      encoding: {
        x: { field: 'step', type: 'quantitative' },
        y: { field: 'value', type: 'quantitative' },
        color,
        tooltip: [{ field: 'variant' }, { field: 'step' }],
      },
    },
  ];
  const common = {
    $schema: SCHEMA,
    title: { text: d.title, subtitle: wrapLines(d.subtitle) },
    config: CONFIG,
    datasets: { rows: d.rows },
    data: { name: 'rows' },
  };
  if (d.panels.length <= 1) return { ...common, width: WIDTH, height: 300, layer } as unknown as TopLevelSpec;
  return {
    ...common,
    facet: {
      field: 'panel',
      type: 'ordinal',
      sort: d.panels,
      header: { title: d.panelTitle, labelFontSize: 12, titleFontSize: 12, titleFontWeight: 'normal' },
    },
    columns: Math.min(2, d.panels.length),
    spec: { width: 420, height: 240, layer },
  } as unknown as TopLevelSpec;
}
