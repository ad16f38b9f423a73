/**
 * Top Hessian eigenvalues of the training loss, by Lanczos iteration on Hessian-vector products.
 *
 * The engine has reverse mode only, so H·v is a central difference of exact (backpropagated) gradients:
 *   H·v ≈ (∇L(θ + εv) − ∇L(θ − εv)) / (2ε),  ‖v‖ = 1.
 * Its error is the truncation term (ε²/6)·∇³L[v, v, ·] plus rounding ≈ u·‖terms of ∇L‖/ε (u the unit
 * roundoff). In float64 with ε = 1e-4 both are ~1e-9 relative on the models here (the test compares
 * with a dense Hessian to 1e-6 relative); in float32 (ε = 1e-2) 1–10% (measured on a p = 47
 * transformer against float64: 1% on λ ≈ 11, 10% on λ ≈ 5e-4). Each result carries a
 * measured estimate: ‖H_{2ε}u − H_εu‖/3 at the top Ritz vector u, the truncation error of H_εu by
 * Richardson's argument (it grows as ε²), plus whatever rounding changes between the two.
 *
 * ReLU networks: the gradient jumps where a pre-activation crosses 0, and a difference across such a
 * kink adds a term ~1/ε that is no curvature at all (measured on a p = 47 transformer: 12.4 ± 1.2
 * instead of 10.9 at t_mem, 3× too large on the plateau).
 * So for ReLU models the masks are frozen at θ (the activation pattern of every example and neuron is
 * recorded once and replayed at θ ± εv): the loss is then smooth around θ and equals the model's at θ,
 * and the difference gives the Hessian of the loss where it is defined (almost everywhere), as
 * automatic differentiation would.
 *
 * Lanczos keeps every vector and re-orthogonalizes fully (twice), so the Ritz values are reliable
 * for the few top eigenvalues asked for; each has the residual bound |β_m·y_m| (a true eigenvalue of
 * H lies within it of the Ritz value, for exact H·v).
 */
import { crossEntropy, mseOneHot, scale, stablemaxCrossEntropy } from '../engine/ops.ts';
import { allocate, type Data, noGrad, opResult, type Tensor } from '../engine/tensor.ts';
import type { HiddenLayer, Hook, Model } from '../models/index.ts';
import type { Examples } from '../train/data.ts';
import { Rng } from '../util/rng.ts';
import { type Chunk, chunksOf } from './chunks.ts';
import { axpy, dot, norm2, symmetricEigen } from './linalg.ts';
import type { LossKind } from './losses.ts';

/** The loss and its gradient at a point of parameter space (flattened in the model's parameter order). */
export interface GradientOracle {
  size: number;
  gradient(theta: Float64Array): { loss: number; grad: Float64Array };
}

export function flattenParams(model: Model): Float64Array {
  let size = 0;
  for (const p of model.params.values()) size += p.size;
  const theta = new Float64Array(size);
  let o = 0;
  for (const p of model.params.values()) {
    theta.set(p.data, o);
    o += p.size;
  }
  return theta;
}

function writeParams(model: Model, theta: Float64Array): void {
  let o = 0;
  for (const p of model.params.values()) {
    (p.data as Data).set(theta.subarray(o, o + p.size));
    o += p.size;
  }
}

/** Mean training loss over all of `examples` (one full batch) and its backpropagated gradient. */
export function modelGradientOracle(model: Model, examples: Examples, loss: LossKind): GradientOracle {
  const saved = flattenParams(model);
  return {
    size: saved.length,
    gradient(theta) {
      writeParams(model, theta);
      for (const p of model.params.values()) p.grad = null;
      const logits = model.forward(examples.tokens, examples.count);
      const value = lossOf(logits, examples.labels, loss);
      value.backward();
      const grad = new Float64Array(theta.length);
      let o = 0;
      for (const p of model.params.values()) {
        if (p.grad) grad.set(p.grad, o);
        p.grad = null;
        o += p.size;
      }
      writeParams(model, saved);
      return { loss: value.item(), grad };
    },
  };
}

/** ReLU with a fixed mask: x where the mask is 1, else 0; the gradient passes where the mask is 1. */
function maskedRelu(x: Tensor, mask: Uint8Array): Tensor {
  const out = allocate(x.dtype, x.size);
  const xd = x.data;
  for (let i = 0; i < out.length; i++) out[i] = mask[i] === 1 ? xd[i] : 0;
  return opResult(out, x.shape, [x], (g) => {
    const gx = x.gradBuffer();
    for (let i = 0; i < g.length; i++) if (mask[i] === 1) gx[i] += g[i];
  });
}

function lossOf(logits: Tensor, labels: Int32Array, loss: LossKind): Tensor {
  if (loss === 'mse') return mseOneHot(logits, labels);
  if (loss === 'stablemax_cross_entropy') return stablemaxCrossEntropy(logits, labels);
  return crossEntropy(logits, labels);
}

/**
 * Hooks that freeze every ReLU of the model: each pre-activation is kept as it passes, and the
 * activation after it is replaced by that pre-activation under the mask `maskFor(post site, pre)`.
 */
function frozenReluHooks(
  layers: readonly HiddenLayer[],
  maskFor: (site: string, pre: Tensor) => Uint8Array,
): Record<string, Hook> {
  const hooks: Record<string, Hook> = {};
  for (const layer of layers) {
    let pre: Tensor | null = null;
    hooks[layer.pre] = (x) => {
      pre = x;
      return x;
    };
    hooks[layer.post] = () => {
      if (!pre) throw new Error(`frozen ReLU: ${layer.post} reached before ${layer.pre}`);
      return maskedRelu(pre, maskFor(layer.post, pre));
    };
  }
  return hooks;
}

/**
 * The mean training loss and its gradient with every ReLU's mask frozen at the model's current
 * parameters (see the header): hooks on the model's ReLU layers record the masks in a first pass and
 * replay them. Forward passes go in chunks; gradients accumulate.
 */
export function frozenReluGradientOracle(model: Model, examples: Examples, loss: LossKind): GradientOracle {
  const saved = flattenParams(model);
  const relus = model.roles().hidden.filter((h) => h.activation === 'relu');
  const masks = new Map<string, Uint8Array>();
  const chunks = chunksOf(examples.tokens, examples.seqLen, examples.count);
  const hooksFor = (chunk: Chunk) =>
    frozenReluHooks(relus, (site, pre) => {
      const key = `${chunk.start}:${site}`;
      let mask = masks.get(key);
      if (!mask) {
        mask = Uint8Array.from(pre.data, (v) => (v > 0 ? 1 : 0));
        masks.set(key, mask);
      }
      return mask;
    });
  noGrad(() => {
    for (const chunk of chunks) model.forward(chunk.tokens, chunk.count, { hooks: hooksFor(chunk) });
  });
  return {
    size: saved.length,
    gradient(theta) {
      writeParams(model, theta);
      for (const p of model.params.values()) p.grad = null;
      let value = 0;
      for (const chunk of chunks) {
        const logits = model.forward(chunk.tokens, chunk.count, { hooks: hooksFor(chunk) });
        const labels = examples.labels.subarray(chunk.start, chunk.start + chunk.count);
        const chunkLoss = lossOf(logits, labels, loss);
        value += chunkLoss.item() * (chunk.count / examples.count);
        scale(chunkLoss, chunk.count / examples.count).backward();
      }
      const grad = new Float64Array(theta.length);
      let o = 0;
      for (const p of model.params.values()) {
        if (p.grad) grad.set(p.grad, o);
        p.grad = null;
        o += p.size;
      }
      writeParams(model, saved);
      return { loss: value, grad };
    },
  };
}

/** H·v by central differences of gradients at θ, with step ε along v/‖v‖. */
export function centralDifferenceHvp(
  oracle: GradientOracle,
  theta: Float64Array,
  epsilon: number,
): (v: Float64Array) => Float64Array {
  return (v) => {
    const length = norm2(v);
    if (length === 0) return new Float64Array(v.length);
    const h = epsilon / length;
    const plus = Float64Array.from(theta);
    const minus = Float64Array.from(theta);
    axpy(h, v, plus);
    axpy(-h, v, minus);
    const gPlus = oracle.gradient(plus).grad;
    const gMinus = oracle.gradient(minus).grad;
    const out = new Float64Array(v.length);
    for (let i = 0; i < out.length; i++) out[i] = (gPlus[i] - gMinus[i]) / (2 * h);
    return out;
  };
}

export interface LanczosResult {
  /** Top Ritz values, descending. */
  eigenvalues: number[];
  /** Residual bound |β_m·y_m| of each. */
  residuals: number[];
  /** Unit Ritz vectors of the top eigenvalues. */
  vectors: Float64Array[];
  iterations: number;
}

/** Lanczos with full re-orthogonalization on a symmetric operator of dimension n. */
export function lanczos(
  apply: (v: Float64Array) => Float64Array,
  n: number,
  options: { iterations: number; top: number; seed?: number },
): LanczosResult {
  const m = Math.min(options.iterations, n);
  const rng = new Rng(options.seed ?? 1);
  const basis: Float64Array[] = [];
  const alpha: number[] = [];
  const beta: number[] = [];
  let q: Float64Array = Float64Array.from({ length: n }, () => rng.normal());
  q = scaled(q, 1 / norm2(q));
  let lastBeta = 0;
  for (let j = 0; j < m; j++) {
    basis.push(q);
    const w = apply(q);
    const a = dot(q, w);
    alpha.push(a);
    // Two passes of Gram-Schmidt against every earlier vector keep the basis orthogonal to rounding.
    for (let pass = 0; pass < 2; pass++) for (const u of basis) axpy(-dot(u, w), u, w);
    const b = norm2(w);
    lastBeta = b;
    if (j === m - 1) break;
    const scale = Math.max(Math.abs(a), ...beta.map(Math.abs), 1e-300);
    if (b <= 1e-12 * scale) break; // an invariant subspace: its Ritz values are exact
    beta.push(b);
    q = scaled(w, 1 / b);
  }
  const k = alpha.length;
  const t = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    t[i * k + i] = alpha[i];
    if (i + 1 < k) {
      t[i * k + i + 1] = beta[i];
      t[(i + 1) * k + i] = beta[i];
    }
  }
  const { values, vectors } = symmetricEigen(t, k);
  const top = Math.min(options.top, k);
  const eigenvalues: number[] = [];
  const residuals: number[] = [];
  const ritz: Float64Array[] = [];
  for (let i = 0; i < top; i++) {
    eigenvalues.push(values[i]);
    residuals.push(Math.abs(lastBeta * vectors[(k - 1) * k + i]));
    const u = new Float64Array(n);
    for (let j = 0; j < k; j++) axpy(vectors[j * k + i], basis[j], u);
    ritz.push(u);
  }
  return { eigenvalues, residuals, vectors: ritz, iterations: k };
}

function scaled(v: Float64Array, s: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] * s;
  return out;
}

export interface HessianSummary {
  objective: string;
  /** 'frozen at θ' for ReLU models (see the header); null otherwise. */
  relu_masks: 'frozen at θ' | null;
  dtype: 'f32' | 'f64';
  hvp: 'central-difference';
  epsilon: number;
  lanczos_iterations: number;
  /** Descending. */
  top_eigenvalues: number[];
  ritz_residuals: number[];
  /** ‖H_{2ε}u − H_εu‖/3 at the top Ritz vector u (absolute, same units as the eigenvalues). */
  hvp_error_estimate: number;
  gradient_evaluations: number;
  seconds: number;
}

export const DEFAULT_EPSILON = { f64: 1e-4, f32: 1e-2 } as const;

/** Top eigenvalues of the Hessian of the mean training loss at the model's current parameters. */
export function topHessianEigenvalues(
  model: Model,
  train: Examples,
  loss: LossKind,
  options: {
    iterations: number;
    top: number;
    epsilon?: number;
    seed?: number;
  },
): HessianSummary {
  const started = performance.now();
  const first = model.params.values().next().value;
  const dtype = first?.dtype === 'f64' ? 'f64' : 'f32';
  const epsilon = options.epsilon ?? DEFAULT_EPSILON[dtype];
  const theta = flattenParams(model);
  const relu = model.roles().hidden.some((h) => h.activation === 'relu');
  const oracle = relu
    ? frozenReluGradientOracle(model, train, loss)
    : modelGradientOracle(model, train, loss);
  let evaluations = 0;
  const counting: GradientOracle = {
    size: oracle.size,
    gradient(x) {
      evaluations++;
      return oracle.gradient(x);
    },
  };
  const hvp = centralDifferenceHvp(counting, theta, epsilon);
  const result = lanczos(hvp, theta.length, {
    iterations: options.iterations,
    top: options.top,
    seed: options.seed,
  });
  let errorEstimate = 0;
  if (result.vectors.length > 0) {
    const u = result.vectors[0];
    const h1 = hvp(u);
    const h2 = centralDifferenceHvp(counting, theta, 2 * epsilon)(u);
    let d = 0;
    for (let i = 0; i < u.length; i++) d += (h2[i] - h1[i]) ** 2;
    errorEstimate = Math.sqrt(d) / 3;
  }
  return {
    objective: `mean ${loss === 'mse' ? 'MSE' : 'cross-entropy'} over the training set, without any weight-decay term`,
    relu_masks: relu ? 'frozen at θ' : null,
    dtype,
    hvp: 'central-difference',
    epsilon,
    lanczos_iterations: result.iterations,
    top_eigenvalues: result.eigenvalues,
    ritz_residuals: result.residuals,
    hvp_error_estimate: errorEstimate,
    gradient_evaluations: evaluations,
    seconds: (performance.now() - started) / 1000,
  };
}
