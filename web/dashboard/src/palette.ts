/**
 * Colours. Lines: Okabe & Ito's colour-blind-safe palette (the same as the static charts in
 * src/plots: train blue, test vermillion). Heatmaps: viridis, perceptually uniform and readable
 * with every common colour-vision deficiency and in greyscale.
 */

export const OKABE_ITO = [
  '#0072B2',
  '#D55E00',
  '#009E73',
  '#CC79A7',
  '#E69F00',
  '#56B4E9',
  '#000000',
  '#F0E442',
];
export const TRAIN_COLOR = OKABE_ITO[0];
export const TEST_COLOR = OKABE_ITO[1];
/** Prieto et al.'s measures: softmax collapse green, the NLM cosine reddish purple (as in src/plots). */
export const COLLAPSE_COLOR = OKABE_ITO[2];
export const NLM_COLOR = OKABE_ITO[3];
/** One colour per run in comparisons (yellow last: weak on white). */
export const RUN_COLORS = [
  '#0072B2',
  '#D55E00',
  '#009E73',
  '#CC79A7',
  '#E69F00',
  '#56B4E9',
  '#000000',
  '#999999',
];
/** Per-tensor norms: the palette without train blue and test vermillion. */
export const TENSOR_COLORS = [
  '#009E73',
  '#CC79A7',
  '#E69F00',
  '#56B4E9',
  '#999999',
  '#F0E442',
  '#0072B2',
  '#D55E00',
];

const VIRIDIS = [
  [68, 1, 84],
  [72, 40, 120],
  [62, 73, 137],
  [49, 104, 142],
  [38, 130, 142],
  [31, 158, 137],
  [53, 183, 121],
  [110, 206, 88],
  [181, 222, 43],
  [253, 231, 37],
];

/** Viridis at t in [0, 1] (clamped). */
export function viridis(t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const c = VIRIDIS[i].map((a, k) => Math.round(a + (VIRIDIS[i + 1][k] - a) * f));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

/** Text colour readable on viridis(t). */
export function textOn(t: number): string {
  return t > 0.55 ? '#111' : '#fff';
}
