// Optimizers against their closed forms, and the schedules.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getKernels, jsKernels, useKernels } from '../src/engine/kernels.ts';
import { wasmKernels } from '../src/engine/kernels-node.ts';
import { Tensor } from '../src/engine/tensor.ts';
import { createOptimizer } from '../src/train/optimizers.ts';
import { isCheckpointStep, isEvalStep, learningRate } from '../src/train/schedule.ts';
import type { EvalSpec, TrainSpec } from '../src/train/spec.ts';
import { Rng } from '../src/util/rng.ts';

const base: TrainSpec = {
  optimizer: 'adamw',
  lr: 0.01,
  weight_decay: 0.5,
  beta1: 0.9,
  beta2: 0.98,
  eps: 1e-8,
  momentum: 0.9,
  warmup_steps: 0,
  batch_size: 'full',
  loss: 'cross_entropy',
  steps: 10,
  stop_test_acc: null,
  stop_patience: 1,
};

function param(values: number[]): Tensor {
  return Tensor.param(Float32Array.from(values), [values.length]);
}

/** Runs `steps` updates with fixed gradient g and returns θ. */
function optimize(spec: TrainSpec, theta0: number[], grads: number[][]): Float32Array {
  const p = param(theta0);
  const opt = createOptimizer(spec, new Map([['w', p]]));
  for (const g of grads) {
    p.grad = Float32Array.from(g);
    opt.step(spec.lr);
  }
  return p.data as Float32Array;
}

/** Adam in float64, written from the paper's equations. */
function adamReference(spec: TrainSpec, theta0: number[], grads: number[][], decoupled: boolean): number[] {
  const theta = [...theta0];
  const m = theta.map(() => 0);
  const v = theta.map(() => 0);
  grads.forEach((g, t) => {
    for (let i = 0; i < theta.length; i++) {
      const gi = g[i] + (decoupled ? 0 : spec.weight_decay * theta[i]);
      if (decoupled) theta[i] *= 1 - spec.lr * spec.weight_decay;
      m[i] = spec.beta1 * m[i] + (1 - spec.beta1) * gi;
      v[i] = spec.beta2 * v[i] + (1 - spec.beta2) * gi * gi;
      const mHat = m[i] / (1 - spec.beta1 ** (t + 1));
      const vHat = v[i] / (1 - spec.beta2 ** (t + 1));
      theta[i] -= (spec.lr * mHat) / (Math.sqrt(vHat) + spec.eps);
    }
  });
  return theta;
}

const theta0 = [0.5, -1.25, 2];
const grads = [
  [0.1, -0.3, 0.7],
  [0.2, 0.1, -0.4],
  [-0.5, 0.05, 0.3],
];

test('adamw matches the decoupled-weight-decay reference (float32 tolerance 1e-6)', () => {
  const got = optimize(base, theta0, grads);
  const ref = adamReference(base, theta0, grads, true);
  ref.forEach((r, i) => {
    assert.ok(Math.abs(got[i] - r) < 1e-6, `${got[i]} vs ${r}`);
  });
});

test('adam with L2 term matches Adam on loss + (γ/2)‖θ‖²', () => {
  const spec = { ...base, optimizer: 'adam' as const };
  const got = optimize(spec, theta0, grads);
  const ref = adamReference(spec, theta0, grads, false);
  ref.forEach((r, i) => {
    assert.ok(Math.abs(got[i] - r) < 1e-6, `${got[i]} vs ${r}`);
  });
  // and it differs from decoupled decay, so the two modes are really different
  const adamw = optimize(base, theta0, grads);
  assert.ok(Math.abs(adamw[0] - got[0]) > 1e-4);
});

test('adam and adamw: the wasm kernel gives the same bits as the TypeScript loop', () => {
  const wasm = wasmKernels();
  assert.ok(wasm, 'wasm kernels load');
  const previous = getKernels();
  /** Five updates of a 1001-value tensor (odd: the kernel's scalar tail) on the given kernels. */
  const run = (spec: TrainSpec, kernels: 'wasm' | 'js'): Float32Array[] => {
    useKernels(kernels === 'wasm' ? wasm : jsKernels());
    try {
      const rng = new Rng(7);
      const values = Array.from({ length: 1001 }, () => rng.normal());
      values[3] = 0;
      values[4] = -0;
      const p = param(values);
      const opt = createOptimizer(spec, new Map([['w', p]]));
      for (let t = 0; t < 5; t++) {
        p.grad = Float32Array.from(values, () => rng.normal() * 10 ** (rng.int(7) - 3));
        opt.step(spec.lr * (t + 1));
      }
      const state = opt.exportState().tensors;
      return [Float32Array.from(p.data), ...state.values()];
    } finally {
      useKernels(previous);
    }
  };
  for (const spec of [base, { ...base, optimizer: 'adam' as const }]) {
    const viaWasm = run(spec, 'wasm');
    const viaJs = run(spec, 'js');
    assert.equal(viaWasm.length, 3, 'θ, exp_avg, exp_avg_sq');
    viaWasm.forEach((x, i) => {
      assert.deepEqual(
        new Uint32Array(x.buffer),
        new Uint32Array(viaJs[i].buffer),
        `${spec.optimizer} array ${i}`,
      );
    });
  }
});

test('sgd with momentum matches the heavy-ball closed form', () => {
  const spec = { ...base, optimizer: 'sgd' as const, lr: 0.1, momentum: 0.9, weight_decay: 0.01 };
  const got = optimize(spec, theta0, grads);
  const theta = [...theta0];
  const buf = [0, 0, 0];
  grads.forEach((g, t) => {
    for (let i = 0; i < 3; i++) {
      const gi = g[i] + 0.01 * theta[i];
      buf[i] = t === 0 ? gi : 0.9 * buf[i] + gi;
      theta[i] -= 0.1 * buf[i];
    }
  });
  theta.forEach((r, i) => {
    assert.ok(Math.abs(got[i] - r) < 1e-6);
  });
});

test('optimizer state export/import continues bit-identically', () => {
  const p1 = param(theta0);
  const o1 = createOptimizer(base, new Map([['w', p1]]));
  for (const g of grads) {
    p1.grad = Float32Array.from(g);
    o1.step(base.lr);
  }
  const p2 = param(theta0);
  const o2 = createOptimizer(base, new Map([['w', p2]]));
  p2.grad = Float32Array.from(grads[0]);
  o2.step(base.lr);
  const saved = o2.exportState();
  const p3 = param([...p2.data]);
  const o3 = createOptimizer(base, new Map([['w', p3]]));
  o3.importState(saved);
  for (const g of grads.slice(1)) {
    p3.grad = Float32Array.from(g);
    o3.step(base.lr);
  }
  assert.deepEqual([...p3.data], [...p1.data]);
});

test('linear warmup reaches lr at warmup_steps', () => {
  const spec = { ...base, lr: 1e-3, warmup_steps: 10 };
  assert.equal(learningRate(spec, 1), 1e-4);
  assert.equal(learningRate(spec, 5), 5e-4);
  assert.equal(learningRate(spec, 10), 1e-3);
  assert.equal(learningRate(spec, 5000), 1e-3);
  assert.equal(learningRate({ ...spec, warmup_steps: 0 }, 1), 1e-3);
});

test('evaluation schedule: step 0, log-spaced early points, then every k', () => {
  const spec: EvalSpec = { every: 100, log_points_per_decade: 5, checkpoint_every: 1000 };
  const steps = Array.from({ length: 1001 }, (_, s) => s).filter((s) => isEvalStep(spec, s));
  assert.deepEqual(steps.slice(0, 12), [0, 1, 2, 3, 4, 6, 10, 16, 25, 40, 63, 100]);
  assert.deepEqual(steps.slice(-3), [800, 900, 1000]);
  // Dense enough to catch a jump of a few hundred steps.
  const gaps = steps.slice(1).map((s, i) => s - steps[i]);
  assert.ok(Math.max(...gaps) <= 100);
});

test('checkpoint schedule: powers of two, then every checkpoint_every', () => {
  const spec: EvalSpec = { every: 100, log_points_per_decade: 5, checkpoint_every: 1000 };
  const steps = Array.from({ length: 3001 }, (_, s) => s).filter((s) => isCheckpointStep(spec, s));
  assert.deepEqual(steps, [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 2000, 3000]);
});
