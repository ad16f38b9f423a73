import type { Tensor } from '../engine/tensor.ts';
import type { GradFilterSpec } from './spec.ts';

/**
 * Grokfast's gradient filters (Lee et al. 2024; their grokfast.py, gradfilter_ema and
 * gradfilter_ma with the defaults warmup=True, filter_type='mean', trigger=False). Applied per
 * parameter tensor, in place, after backward and before the optimizer. The state holds averages of
 * the raw gradients (taken before the filter changes them), so it does not depend on `lamb`.
 *  - ema: on a parameter's first gradient the state is that gradient; then, every step including
 *    the first, state ← α·state + (1−α)·g and g ← g + λ·state.
 *  - ma: the last `window` gradients, the current one included; once there are `window` of them,
 *    g ← g + λ·mean(window); before that g is unchanged.
 * A parameter without a gradient (never reached by backward) is skipped, as the reference skips a
 * `p.grad` of None.
 */
export interface GradFilter {
  readonly spec: GradFilterSpec;
  /** Filters every parameter's gradient in place. */
  apply(): void;
  exportState(): GradFilterState;
  /** Continues from a saved state (one that `stateFitsFilter` accepts); null: starts fresh. */
  importState(state: GradFilterState | null): void;
}

/** A filter's state, by parameter name; checkpoints store it (src/runs/checkpoint.ts). */
export interface GradFilterState {
  /** The filter that built it. */
  spec: GradFilterSpec;
  /** Gradients filtered so far, per parameter (parameters without one yet are absent). */
  seen: Record<string, number>;
  /**
   * ema: `<param>.ema` (float32). ma: `<param>.window.<i>` (float32; i = 0 the oldest, up to
   * min(seen, window) of them) and `<param>.sum`, their running sum (float64).
   */
  tensors: Map<string, Float32Array | Float64Array>;
}

export function createGradFilter(
  spec: GradFilterSpec | null | undefined,
  params: Map<string, Tensor>,
): GradFilter | null {
  if (spec === null || spec === undefined) return null;
  for (const [name, p] of params) {
    if (p.dtype !== 'f32') throw new Error(`grad filter: parameter ${name} is not float32`);
  }
  return spec.kind === 'ema' ? new EmaGradFilter(spec, params) : new MaGradFilter(spec, params);
}

/**
 * Whether a saved state can continue under `spec`: the same kind and the same alpha or window.
 * `lamb` may differ, since the state averages raw gradients whatever lamb is.
 */
export function stateFitsFilter(spec: GradFilterSpec, saved: GradFilterSpec): boolean {
  if (spec.kind === 'ema') return saved.kind === 'ema' && saved.alpha === spec.alpha;
  return saved.kind === 'ma' && saved.window === spec.window;
}

/** The filter in words, e.g. "ma (window 100, lamb 5)". */
export function describeGradFilter(spec: GradFilterSpec): string {
  return spec.kind === 'ema'
    ? `ema (alpha ${spec.alpha}, lamb ${spec.lamb})`
    : `ma (window ${spec.window}, lamb ${spec.lamb})`;
}

type EmaSpec = Extract<GradFilterSpec, { kind: 'ema' }>;
type MaSpec = Extract<GradFilterSpec, { kind: 'ma' }>;

class EmaGradFilter implements GradFilter {
  /** Per parameter, created from its first gradient. */
  private readonly ema = new Map<string, Float32Array>();
  private readonly seen = new Map<string, number>();

  constructor(
    readonly spec: EmaSpec,
    private readonly params: Map<string, Tensor>,
  ) {}

  apply(): void {
    const { alpha, lamb } = this.spec;
    const keep = 1 - alpha;
    for (const [name, p] of this.params) {
      const g = p.grad;
      if (g === null) continue;
      let ema = this.ema.get(name);
      if (ema === undefined) {
        ema = new Float32Array(g);
        this.ema.set(name, ema);
      }
      // Each value computed in float64 and rounded to float32 once, where it is stored.
      for (let i = 0; i < g.length; i++) {
        ema[i] = alpha * ema[i] + keep * g[i];
        g[i] += lamb * ema[i];
      }
      this.seen.set(name, (this.seen.get(name) ?? 0) + 1);
    }
  }

  exportState(): GradFilterState {
    const tensors = new Map<string, Float32Array | Float64Array>();
    for (const [name, ema] of this.ema) tensors.set(`${name}.ema`, ema.slice());
    return { spec: this.spec, seen: Object.fromEntries(this.seen), tensors };
  }

  importState(state: GradFilterState | null): void {
    this.ema.clear();
    this.seen.clear();
    if (state === null) return;
    checkFits(this.spec, state);
    for (const [name, count] of Object.entries(state.seen)) {
      const p = savedParam(this.params, name, count);
      if (count === 0) continue;
      this.ema.set(name, savedTensor(state, `${name}.ema`, p.size, Float32Array).slice());
      this.seen.set(name, count);
    }
  }
}

/**
 * The window is a ring buffer of float32 copies, and its sum is kept running in float64 (the
 * newest gradient added, the evicted one subtracted), so a step costs O(parameters) whatever the
 * window. The reference instead recomputes sum(deque)/len in float32 every step, so its mean
 * differs from this one by float32 rounding (relative ~1e-7), not in what is averaged.
 */
class MaGradFilter implements GradFilter {
  private readonly windows = new Map<string, MovingWindow>();

  constructor(
    readonly spec: MaSpec,
    private readonly params: Map<string, Tensor>,
  ) {}

  apply(): void {
    const { window: size, lamb } = this.spec;
    for (const [name, p] of this.params) {
      const g = p.grad;
      if (g === null) continue;
      let w = this.windows.get(name);
      if (w === undefined) {
        w = new MovingWindow(size, p.size);
        this.windows.set(name, w);
      }
      const slot = w.slotFor(w.seen);
      const sum = w.sum;
      const evicted = w.slots[slot];
      w.seen++;
      if (evicted !== null) {
        // The window is full: one pass updates the sum, overwrites the oldest copy with the
        // newest gradient, and filters the gradient (the same arithmetic as the passes below).
        for (let i = 0; i < g.length; i++) {
          const s = sum[i] + (g[i] - evicted[i]);
          sum[i] = s;
          evicted[i] = g[i];
          g[i] += lamb * (s / size);
        }
        continue;
      }
      w.slots[slot] = new Float32Array(g);
      for (let i = 0; i < g.length; i++) sum[i] += g[i];
      if (w.seen >= size) {
        for (let i = 0; i < g.length; i++) g[i] += lamb * (sum[i] / size);
      }
    }
  }

  exportState(): GradFilterState {
    const tensors = new Map<string, Float32Array | Float64Array>();
    const seen: Record<string, number> = {};
    for (const [name, w] of this.windows) {
      seen[name] = w.seen;
      const filled = Math.min(w.seen, w.size);
      for (let i = 0; i < filled; i++) {
        tensors.set(`${name}.window.${i}`, (w.slots[w.slotFor(w.seen - filled + i)] as Float32Array).slice());
      }
      tensors.set(`${name}.sum`, w.sum.slice());
    }
    return { spec: this.spec, seen, tensors };
  }

  importState(state: GradFilterState | null): void {
    this.windows.clear();
    if (state === null) return;
    checkFits(this.spec, state);
    for (const [name, count] of Object.entries(state.seen)) {
      const p = savedParam(this.params, name, count);
      if (count === 0) continue;
      const w = new MovingWindow(this.spec.window, p.size);
      w.seen = count;
      const filled = Math.min(count, w.size);
      for (let i = 0; i < filled; i++) {
        const saved = savedTensor(state, `${name}.window.${i}`, p.size, Float32Array);
        w.slots[w.slotFor(count - filled + i)] = saved.slice();
      }
      w.sum.set(savedTensor(state, `${name}.sum`, p.size, Float64Array));
      this.windows.set(name, w);
    }
  }
}

/** One parameter's last `size` gradients: gradient number n (from 0) lives in slot n mod size. */
class MovingWindow {
  /** Gradients pushed so far. */
  seen = 0;
  readonly slots: (Float32Array | null)[];
  readonly sum: Float64Array;

  constructor(
    readonly size: number,
    length: number,
  ) {
    this.slots = new Array<Float32Array | null>(size).fill(null);
    this.sum = new Float64Array(length);
  }

  slotFor(n: number): number {
    return n % this.size;
  }
}

function checkFits(spec: GradFilterSpec, state: GradFilterState): void {
  if (!stateFitsFilter(spec, state.spec)) {
    throw new Error(
      `grad filter state is of ${describeGradFilter(state.spec)}, not of ${describeGradFilter(spec)}`,
    );
  }
}

function savedParam(params: Map<string, Tensor>, name: string, count: number): Tensor {
  const p = params.get(name);
  if (p === undefined) throw new Error(`grad filter state names an unknown parameter: ${name}`);
  if (!Number.isSafeInteger(count) || count < 0)
    throw new Error(`grad filter state: ${name} has seen ${count} gradients`);
  return p;
}

function savedTensor<T extends Float32Array | Float64Array>(
  state: GradFilterState,
  key: string,
  length: number,
  kind: { new (n: number): T; prototype: T },
): T {
  const saved = state.tensors.get(key);
  if (!(saved instanceof kind) || saved.length !== length)
    throw new Error(`grad filter state is missing or mis-sized: ${key}`);
  return saved;
}
