/**
 * The plateau: test accuracy after memorization and before the jump (to the end of the log when there
 * is no jump). Measured: its level, whether it is level or climbing, where it sits in the baseline
 * band (baseline.ts), and its likely cause in words.
 *
 * - Window: from where the detector looked (memorization) up to the evaluation before the onset.
 * - Drift: median of the window's last third minus median of its first third (smoothed curve).
 *   The plateau is flat when drift ≤ max(DRIFT_MIN, DRIFT_SHARE_OF_RISE × (peak − plateau)): a curve
 *   whose jump starts at the onset rises less than 10% of the jump before it, so only a plateau that
 *   climbs by itself (partial generalization) goes past the bound.
 * - Band position: above the band when level > high + tolerance (detector.ts's plateau tolerance),
 *   else the nearer end when within the tolerance of it, else between.
 */
import { isBaselineKnown } from './baseline.ts';
import { plateauTolerance } from './detector.ts';
import { indexAtOrAfter, median, runningMedian } from './smooth.ts';
import type { BandPosition, BaselineInfo, PlateauInfo, Series, Transition } from './types.ts';

export const DRIFT_MIN = 0.05;
export const DRIFT_SHARE_OF_RISE = 0.15;

/** The plateau of `test` (raw test accuracy), or null when the model never memorized. */
export function describePlateau(
  test: Series,
  tMem: number | null,
  transition: Transition | null,
  baseline: BaselineInfo,
): PlateauInfo | null {
  const window = plateauWindow(test, tMem, transition);
  if (window === null) return null;
  const smoothed = runningMedian(test.values).slice(window.from, window.to + 1);
  const level = transition?.plateau_level ?? median(smoothed);
  const ends = thirds(smoothed);
  const drift = ends ? ends.end - ends.start : null;
  const rise = transition ? transition.peak_level - transition.plateau_level : 0;
  const flat = drift === null ? null : drift <= Math.max(DRIFT_MIN, DRIFT_SHARE_OF_RISE * rise);
  const position = bandPosition(level, baseline.band);
  return {
    level,
    from_step: test.steps[window.from],
    to_step: test.steps[window.to],
    start_level: ends?.start ?? null,
    end_level: ends?.end ?? null,
    drift,
    flat,
    band_position: position,
    cause: plateauCause(level, flat, position, baseline),
  };
}

/** Indices [from, to] of the plateau, or null. */
function plateauWindow(
  test: Series,
  tMem: number | null,
  transition: Transition | null,
): { from: number; to: number } | null {
  if (transition) {
    const from = indexAtOrAfter(test, transition.plateau_from_step);
    const onset = indexAtOrAfter(test, transition.onset_step);
    return { from, to: Math.max(from, onset - 1) };
  }
  if (tMem === null) return null;
  const from = indexAtOrAfter(test, tMem);
  return from < 0 ? null : { from, to: test.steps.length - 1 };
}

/** Medians of the first and last thirds of `values`, or null under 3 values. */
function thirds(values: number[]): { start: number; end: number } | null {
  if (values.length < 3) return null;
  const third = Math.floor(values.length / 3);
  return { start: median(values.slice(0, third)), end: median(values.slice(values.length - third)) };
}

function bandPosition(level: number, band: BaselineInfo['band']): BandPosition | null {
  if (band === null) return null;
  const tolerance = plateauTolerance(band.high);
  if (level > band.high + tolerance) return 'above';
  const fromLow = Math.abs(level - band.low);
  const fromHigh = Math.abs(level - band.high);
  if (Math.min(fromLow, fromHigh) > tolerance) return 'between';
  return fromLow <= fromHigh ? 'low-end' : 'high-end';
}

const acc = (x: number) => x.toFixed(2);
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** The likely cause, worded to follow the level: "0.27 ≈ the training fraction: …". */
function plateauCause(
  level: number,
  flat: boolean | null,
  position: BandPosition | null,
  baseline: BaselineInfo,
): string {
  if (flat === false) return 'and climbing: partial generalization, more than memorizing explains';
  const band = baseline.band;
  if (band === null || position === null) return causeWithoutBand(level, baseline);
  const range = `${acc(band.low)}–${acc(band.high)}`;
  const chance = baseline.classes !== null ? `chance 1/${baseline.classes}` : `chance ${acc(band.low)}`;
  const swapShare = baseline.symmetric_share ?? 0;
  // A band no wider than the tolerance has one end worth naming: chance (or the user's baseline).
  if (band.high - band.low <= plateauTolerance(band.high) && position !== 'above') {
    return baseline.source === 'user' ? `≈ the baseline ${acc(band.high)} (--baseline)` : `≈ ${chance}`;
  }
  switch (position) {
    case 'above':
      return `above the memorization band ${range}: more than memorizing explains`;
    case 'high-end':
      return swapShare > 0
        ? `≈ the training fraction, the high end of the memorization band ${range}: a memorizing model answering swapped pairs of a commutative operation (${pct(swapShare)} of test pairs have their swap in training)`
        : `≈ the baseline ${acc(band.high)}, the high end of the memorization band ${range}`;
    case 'low-end':
      return `≈ ${chance}, the low end of the memorization band ${range}: a memorizing model that does not answer swapped pairs (e.g. an MLP on concatenated one-hot inputs)`;
    case 'between':
      return `inside the memorization band ${range}, between chance and what swapped pairs explain`;
  }
}

/** Without a band (no task, no --classes): compared with the baseline, or the first evaluation's estimate. */
function causeWithoutBand(level: number, baseline: BaselineInfo): string {
  const value = baseline.value;
  const known = isBaselineKnown(baseline);
  if (value !== null && level <= value + plateauTolerance(value)) {
    return known
      ? `≈ the baseline ${acc(value)}`
      : `≈ the first evaluation's test accuracy ${acc(value)}: chance`;
  }
  if (known && value !== null) return `above the baseline ${acc(value)}: more than memorizing explains`;
  if (baseline.source === 'real-inputs') {
    return `above ${acc(value ?? 0)}, chance: a network that memorized real-valued inputs also answers test inputs that resemble them`;
  }
  return '≈ the training fraction, likely: a memorizing model answering swapped pairs of a commutative operation sits there (--task, --p and --train-fraction check it)';
}
