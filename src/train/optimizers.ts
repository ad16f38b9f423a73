import { KERNELS } from '../engine/kernel-table/index.ts';
import type { AdamCoefficients } from '../engine/kernels.ts';
import { arrayKernels } from '../engine/ops/arrays.ts';
import type { Tensor } from '../engine/tensor.ts';
import type { TrainSpec } from './spec.ts';

/**
 * Optimizers over named float32 parameters. Their state (moments, step count) is exported by
 * name so a checkpoint restores a run exactly.
 *  - adamw: Adam with decoupled weight decay θ ← θ(1 − lr·γ) (Loshchilov & Hutter; PyTorch AdamW).
 *  - adam: Adam on the loss plus (γ/2)‖θ‖², i.e. γθ added to every gradient.
 *  - sgd: heavy-ball momentum b ← μb + g, θ ← θ − lr·b, with the same L2 term as adam.
 */
export interface Optimizer {
  step(lr: number): void;
  /** Number of updates taken so far. */
  readonly updates: number;
  exportState(): { tensors: Map<string, Float32Array>; updates: number };
  importState(state: { tensors: Map<string, Float32Array>; updates: number }): void;
}

export function createOptimizer(spec: TrainSpec, params: Map<string, Tensor>): Optimizer {
  return spec.optimizer === 'sgd' ? new Sgd(spec, params) : new Adam(spec, params);
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
