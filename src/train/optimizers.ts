import { KERNELS } from '../engine/kernel-table/index.ts';
import type { AdamCoefficients } from '../engine/kernels.ts';
import { arrayKernels } from '../engine/ops/arrays.ts';
import type { Data, Tensor } from '../engine/tensor.ts';
import type { TrainSpec } from './spec.ts';

/**
 * Optimizers over named float32 parameters. Their state (moments, step count) is exported by
 * name so a checkpoint restores a run exactly.
 *  - adamw: Adam with decoupled weight decay θ ← θ(1 − lr·γ) (Loshchilov & Hutter; PyTorch AdamW).
 *  - adam: Adam on the loss plus (γ/2)‖θ‖², i.e. γθ added to every gradient.
 *  - sgd: heavy-ball momentum b ← μb + g, θ ← θ − lr·b, with the same L2 term as adam.
 * With train.orthogonal_grad, any of them steps on ⊥Grad's projected gradient (OrthogonalGradients).
 */
export interface Optimizer {
  step(lr: number): void;
  /** Number of updates taken so far. */
  readonly updates: number;
  exportState(): { tensors: Map<string, Float32Array>; updates: number };
  importState(state: { tensors: Map<string, Float32Array>; updates: number }): void;
}

export function createOptimizer(spec: TrainSpec, params: Map<string, Tensor>): Optimizer {
  const optimizer = spec.optimizer === 'sgd' ? new Sgd(spec, params) : new Adam(spec, params);
  return spec.orthogonal_grad === true ? new OrthogonalGradients(optimizer, params) : optimizer;
}

/**
 * ⊥Grad (Prieto et al., their OrthoGrad): before the optimizer's update, and so before any L2 term
 * it adds, each parameter tensor's gradient g loses its component along the parameter w and is
 * rescaled to its former norm: g ← g − (g·w / (w·w + 1e-30))·w, then g ← g·‖g_before‖/(‖g‖ + 1e-30).
 * Sums in float64; the projected gradient is rounded to float32 before its norm is taken, as their
 * code does. No state of its own: the optimizer's is exported as is.
 */
class OrthogonalGradients implements Optimizer {
  constructor(
    private readonly inner: Optimizer,
    private readonly params: Map<string, Tensor>,
  ) {}

  get updates(): number {
    return this.inner.updates;
  }

  step(lr: number): void {
    for (const p of this.params.values()) if (p.grad !== null) orthogonalize(p.grad, p.data);
    this.inner.step(lr);
  }

  exportState() {
    return this.inner.exportState();
  }

  importState(state: { tensors: Map<string, Float32Array>; updates: number }): void {
    this.inner.importState(state);
  }
}

/** g ← g without its component along w, rescaled to g's norm before (in place). */
export function orthogonalize(g: Data, w: Data): void {
  let gw = 0;
  let ww = 0;
  let gg = 0;
  for (let i = 0; i < g.length; i++) {
    gw += g[i] * w[i];
    ww += w[i] * w[i];
    gg += g[i] * g[i];
  }
  const along = gw / (ww + 1e-30);
  let projected = 0;
  for (let i = 0; i < g.length; i++) {
    g[i] -= along * w[i];
    projected += g[i] * g[i];
  }
  const rescale = Math.sqrt(gg) / (Math.sqrt(projected) + 1e-30);
  for (let i = 0; i < g.length; i++) g[i] *= rescale;
}

abstract class BaseOptimizer implements Optimizer {
  updates = 0;
  protected readonly slots = new Map<string, Float32Array>();

  constructor(
    protected readonly params: Map<string, Tensor>,
    slotNames: string[],
  ) {
    for (const [name, p] of params) {
      if (p.dtype !== 'f32') throw new Error(`optimizer: parameter ${name} is not float32`);
      for (const slot of slotNames) this.slots.set(`${name}.${slot}`, new Float32Array(p.size));
    }
  }

  abstract step(lr: number): void;

  exportState() {
    return {
      tensors: new Map([...this.slots].map(([k, v]) => [k, Float32Array.from(v)])),
      updates: this.updates,
    };
  }

  importState(state: { tensors: Map<string, Float32Array>; updates: number }): void {
    for (const [key, slot] of this.slots) {
      const saved = state.tensors.get(key);
      if (!saved || saved.length !== slot.length)
        throw new Error(`optimizer state is missing or mis-sized: ${key}`);
      slot.set(saved);
    }
    this.updates = state.updates;
  }

  protected slot(name: string, slot: string): Float32Array {
    return this.slots.get(`${name}.${slot}`) as Float32Array;
  }
}

class Adam extends BaseOptimizer {
  constructor(
    private readonly spec: TrainSpec,
    params: Map<string, Tensor>,
  ) {
    super(params, ['exp_avg', 'exp_avg_sq']);
  }

  step(lr: number): void {
    const { beta1, beta2, eps, weight_decay: wd } = this.spec;
    const decoupled = this.spec.optimizer === 'adamw';
    this.updates++;
    const c: AdamCoefficients = {
      beta1,
      beta2,
      l2: decoupled ? 0 : wd,
      shrink: decoupled ? 1 - lr * wd : 1,
      stepSize: lr / (1 - beta1 ** this.updates),
      sqrtBias2: Math.sqrt(1 - beta2 ** this.updates),
      eps,
    };
    for (const [name, p] of this.params) {
      const g = p.grad;
      if (g === null) continue;
      const w = p.data as Float32Array;
      const m = this.slot(name, 'exp_avg');
      const v = this.slot(name, 'exp_avg_sq');
      const arrays = arrayKernels(w, g);
      if (arrays) arrays.adamUpdate(w, g as Float32Array, m, v, c);
      // Without wasm: the kernel's TypeScript reference, which gives the same bits.
      else KERNELS.adamUpdate.reference(w, g, m, v, c);
    }
  }
}

class Sgd extends BaseOptimizer {
  constructor(
    private readonly spec: TrainSpec,
    params: Map<string, Tensor>,
  ) {
    super(params, ['momentum']);
  }

  step(lr: number): void {
    const { momentum: mu, weight_decay: wd } = this.spec;
    this.updates++;
    for (const [name, p] of this.params) {
      const g = p.grad;
      if (g === null) continue;
      const w = p.data;
      const b = this.slot(name, 'momentum');
      for (let i = 0; i < w.length; i++) {
        const gi = g[i] + wd * w[i];
        b[i] = this.updates === 1 ? gi : mu * b[i] + gi;
        w[i] -= lr * b[i];
      }
    }
  }
}
