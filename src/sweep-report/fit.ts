/**
 * The small statistics a sweep report needs, kept apart from I/O so they can be checked by hand:
 * ordinary least squares y = a·x + b with R², the Δt = a/γ + b fit of the weight-decay claim, a
 * power law fitted in log-log space, and the median of right-censored values (a run that never
 * grokked has a t_grok "later than the budget", not a missing one).
 */

export interface LinearFit {
  /** Slope and intercept of y = a·x + b. */
  a: number;
  b: number;
  /** 1 − SS_res / SS_tot; null when every y is the same (nothing to explain). */
  r2: number | null;
  /** Points used. */
  n: number;
}

/** Least squares y = a·x + b; null with fewer than 2 points or when every x is the same. */
export function fitLine(xs: readonly number[], ys: readonly number[]): LinearFit | null {
  if (xs.length !== ys.length) throw new Error(`fitLine: ${xs.length} x values but ${ys.length} y values`);
  const n = xs.length;
  if (n < 2) return null;
  const mx = mean(xs);
  const my = mean(ys);
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i] - mx;
    const dy = ys[i] - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  // Relative test: x values that differ only by rounding noise do not define a slope.
  if (sxx <= 1e-12 * Math.max(1, mx * mx) * n) return null;
  const a = sxy / sxx;
  const b = my - a * mx;
  let ssRes = 0;
  for (let i = 0; i < n; i++) {
    const r = ys[i] - (a * xs[i] + b);
    ssRes += r * r;
  }
  return { a, b, r2: syy > 0 ? 1 - ssRes / syy : null, n };
}

/** Δt = a/γ + b over points (γ, Δt) with γ > 0: a line in 1/γ. */
export function fitInverse(gammas: readonly number[], gaps: readonly number[]): LinearFit | null {
  if (gammas.some((g) => !(g > 0))) throw new Error('fitInverse: every γ must be > 0');
  return fitLine(
    gammas.map((g) => 1 / g),
    gaps,
  );
}

export interface PowerFit {
  /** y = c·x^k. */
  k: number;
  c: number;
  /** R² of the straight line in log-log space. */
  r2: number | null;
  n: number;
}

/** y = c·x^k by least squares on (ln x, ln y); points with x ≤ 0 or y ≤ 0 cannot be used and are left out. */
export function fitPowerLaw(xs: readonly number[], ys: readonly number[]): PowerFit | null {
  const lx: number[] = [];
  const ly: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    if (xs[i] > 0 && ys[i] > 0) {
      lx.push(Math.log(xs[i]));
      ly.push(Math.log(ys[i]));
    }
  }
  const fit = fitLine(lx, ly);
  return fit ? { k: fit.a, c: Math.exp(fit.b), r2: fit.r2, n: fit.n } : null;
}

export function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/**
 * Median where null means "censored: larger than anything observed" (e.g. t_grok of a run that
 * did not generalize within its budget). Null when the median itself is censored, i.e. when at
 * least half the values (the upper middle one, for an even count) are; null for no values.
 * For an even count of observed middles it is their mean, as DuckDB's quantile_cont(0.5).
 */
export function censoredMedian(values: readonly (number | null)[]): number | null {
  if (values.length === 0) return null;
  const sorted = values.map((v) => (v === null ? Number.POSITIVE_INFINITY : v)).sort((p, q) => p - q);
  const mid = (sorted.length - 1) / 2;
  const m = (sorted[Math.floor(mid)] + sorted[Math.ceil(mid)]) / 2;
  return Number.isFinite(m) ? m : null;
}

/** A time that was observed, or only known to be at least `value` (the run stopped before reaching it). */
export interface MaybeCensored {
  value: number;
  censored: boolean;
}

/**
 * Bounds on the median of times some of which are right-censored: `lower` puts every censored time
 * at its bound, `upper` at +∞ (the median is monotone in each value, so the true median lies between).
 * `exact` when the two agree; null for no values.
 */
export function boundedMedian(
  values: readonly MaybeCensored[],
): { lower: number; upper: number; exact: boolean } | null {
  if (values.length === 0) return null;
  const median = (xs: number[]) => {
    const sorted = [...xs].sort((p, q) => p - q);
    const mid = (sorted.length - 1) / 2;
    const lo = sorted[Math.floor(mid)];
    const hi = sorted[Math.ceil(mid)];
    return lo === hi ? lo : (lo + hi) / 2;
  };
  const lower = median(values.map((v) => v.value));
  const upper = median(values.map((v) => (v.censored ? Number.POSITIVE_INFINITY : v.value)));
  return { lower, upper, exact: lower === upper };
}

/** Whether positive values are roughly evenly spaced on a log scale (e.g. 0.1, 0.3, 1, 3). */
export function isLogSpaced(values: readonly number[]): boolean {
  const v = [...new Set(values)].sort((p, q) => p - q);
  if (v.length < 3 || v[0] <= 0) return false;
  const ratios = v.slice(1).map((x, i) => x / v[i]);
  const lo = Math.min(...ratios);
  const hi = Math.max(...ratios);
  // Even on a log scale (ratios within ×1.6 of each other) and clearly not linear (steps grow ≥ 1.5×).
  // A linear grid 0.1, 0.2, 0.3 has ratios 2, 1.5: its ratios differ by more than its smallest one grows.
  const linearSteps = v.slice(1).map((x, i) => x - v[i]);
  const linear = Math.max(...linearSteps) <= 1.25 * Math.min(...linearSteps);
  return lo >= 1.5 && hi / lo <= 1.6 && !linear;
}
