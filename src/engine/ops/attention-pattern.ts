import { allocate, assertSameDtype, type Data, opResult, type Tensor } from '../tensor.ts';

/**
 * Causal self-attention in two differentiable steps, for models whose attention pattern is looked at
 * or replaced (hooked forward passes): causalPattern gives softmax(q·kᵀ/√d_head) per head with the
 * causal mask, applyPattern the pattern-weighted values. Together they compute what causalAttention
 * computes in one fused op, with every position as a query. Heads sit side by side in the last axis:
 * head h uses columns h·D/H … (h+1)·D/H − 1. Loops in TypeScript (float32 or float64).
 */

/** Sizes shared by the loops. */
interface Dims {
  batch: number;
  seq: number;
  dim: number;
  heads: number;
}

function dimsOf(op: string, x: Tensor, heads: number): Dims {
  if (x.shape.length !== 3) throw new Error(`${op} needs [B, T, D] tensors, got [${x.shape}]`);
  const [batch, seq, dim] = x.shape;
  if (dim % heads !== 0) throw new Error(`${op}: ${dim} columns do not split into ${heads} heads`);
  return { batch, seq, dim, heads };
}

/**
 * Attention probabilities [B, H, T, T] (query, key) of q and k ([B, T, D]): query i sees keys 0…i;
 * the entries of later keys are 0.
 */
export function causalPattern(q: Tensor, k: Tensor, heads: number): Tensor {
  const dtype = assertSameDtype('causalPattern', q, k);
  const dims = dimsOf('causalPattern', q, heads);
  if (k.shape.join() !== q.shape.join()) {
    throw new Error(`causalPattern: q [${q.shape}] and k [${k.shape}] differ`);
  }
  const { batch, seq } = dims;
  const pattern = allocate(dtype, batch * heads * seq * seq);
  patternForward(q.data, k.data, pattern, dims);
  return opResult(pattern, [batch, heads, seq, seq], [q, k], (g) =>
    patternBackward(
      g,
      pattern,
      q.data,
      k.data,
      q.requiresGrad ? q.gradBuffer() : null,
      k.requiresGrad ? k.gradBuffer() : null,
      dims,
    ),
  );
}

/** z[b, i, head h] = Σ_j pattern[b, h, i, j] · v[b, j, head h]: [B, T, D] from a [B, H, T, T] pattern. */
export function applyPattern(pattern: Tensor, v: Tensor, heads: number): Tensor {
  const dtype = assertSameDtype('applyPattern', pattern, v);
  const dims = dimsOf('applyPattern', v, heads);
  const { batch, seq, dim } = dims;
  if (pattern.shape.join() !== [batch, heads, seq, seq].join()) {
    throw new Error(
      `applyPattern: pattern [${pattern.shape}] does not match v [${v.shape}] with ${heads} heads`,
    );
  }
  const z = allocate(dtype, batch * seq * dim);
  weightedValues(pattern.data, v.data, z, dims);
  return opResult(z, [batch, seq, dim], [pattern, v], (g) =>
    weightedValuesBackward(
      g,
      pattern.data,
      v.data,
      pattern.requiresGrad ? pattern.gradBuffer() : null,
      v.requiresGrad ? v.gradBuffer() : null,
      dims,
    ),
  );
}

// The loops live in plain functions taking arrays as parameters (see attention.ts: closures made
// them several times slower).

function patternForward(qd: Data, kd: Data, pattern: Data, dims: Dims): void {
  const { batch, seq, dim, heads } = dims;
  const dh = dim / heads;
  const scale = 1 / Math.sqrt(dh);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < seq; i++) {
        const qo = (b * seq + i) * dim + h * dh;
        const po = ((b * heads + h) * seq + i) * seq;
        let max = -Infinity;
        for (let j = 0; j <= i; j++) {
          const ko = (b * seq + j) * dim + h * dh;
          let s = 0;
          for (let c = 0; c < dh; c++) s += qd[qo + c] * kd[ko + c];
          s *= scale;
          pattern[po + j] = s;
          if (s > max) max = s;
        }
        let z = 0;
        for (let j = 0; j <= i; j++) {
          const e = Math.exp(pattern[po + j] - max);
          pattern[po + j] = e;
          z += e;
        }
        for (let j = 0; j <= i; j++) pattern[po + j] /= z;
      }
    }
  }
}

function patternBackward(
  g: Data,
  pattern: Data,
  qd: Data,
  kd: Data,
  gq: Data | null,
  gk: Data | null,
  dims: Dims,
): void {
  const { batch, seq, dim, heads } = dims;
  const dh = dim / heads;
  const scale = 1 / Math.sqrt(dh);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < seq; i++) {
        const qo = (b * seq + i) * dim + h * dh;
        const po = ((b * heads + h) * seq + i) * seq;
        // The softmax adjoint over the visible keys: ds_j = p_j (g_j − Σ p·g), times the 1/√dh scale.
        let dot = 0;
        for (let j = 0; j <= i; j++) dot += pattern[po + j] * g[po + j];
        for (let j = 0; j <= i; j++) {
          const ds = pattern[po + j] * (g[po + j] - dot) * scale;
          const ko = (b * seq + j) * dim + h * dh;
          if (gq) for (let c = 0; c < dh; c++) gq[qo + c] += ds * kd[ko + c];
          if (gk) for (let c = 0; c < dh; c++) gk[ko + c] += ds * qd[qo + c];
        }
      }
    }
  }
}

function weightedValues(pattern: Data, vd: Data, z: Data, dims: Dims): void {
  const { batch, seq, dim, heads } = dims;
  const dh = dim / heads;
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < seq; i++) {
        const zo = (b * seq + i) * dim + h * dh;
        const po = ((b * heads + h) * seq + i) * seq;
        for (let j = 0; j < seq; j++) {
          const p = pattern[po + j];
          if (p === 0) continue;
          const vo = (b * seq + j) * dim + h * dh;
          for (let c = 0; c < dh; c++) z[zo + c] += p * vd[vo + c];
        }
      }
    }
  }
}

function weightedValuesBackward(
  g: Data,
  pattern: Data,
  vd: Data,
  gp: Data | null,
  gv: Data | null,
  dims: Dims,
): void {
  const { batch, seq, dim, heads } = dims;
  const dh = dim / heads;
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < seq; i++) {
        const go = (b * seq + i) * dim + h * dh;
        const po = ((b * heads + h) * seq + i) * seq;
        for (let j = 0; j < seq; j++) {
          const vo = (b * seq + j) * dim + h * dh;
          if (gp) {
            let s = 0;
            for (let c = 0; c < dh; c++) s += g[go + c] * vd[vo + c];
            gp[po + j] += s;
          }
          if (gv) {
            const p = pattern[po + j];
            for (let c = 0; c < dh; c++) gv[vo + c] += p * g[go + c];
          }
        }
      }
    }
  }
}
