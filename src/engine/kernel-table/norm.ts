/** LayerNorm over the rows of a rows×dim matrix, forward and backward (src/kernels/assembly/norm.ts). */
import type { Data } from '../tensor.ts';
import { inout, input, kernel, output } from './spec.ts';

/**
 * normed = (x − mean)/√(var + eps) per row, out = normed·gain + bias, invStd[r] = 1/√(var + eps):
 * out, normed and invStd are written.
 */
function layerNormForward(
  out: Data,
  normed: Data,
  invStd: Data,
  x: Data,
  gain: Data,
  bias: Data,
  rows: number,
  dim: number,
  eps: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let mu = 0;
    for (let j = 0; j < dim; j++) mu += x[o + j];
    mu /= dim;
    let variance = 0;
    for (let j = 0; j < dim; j++) variance += (x[o + j] - mu) ** 2;
    variance /= dim;
    const inv = 1 / Math.sqrt(variance + eps);
    invStd[r] = inv;
    for (let j = 0; j < dim; j++) {
      const n = (x[o + j] - mu) * inv;
      normed[o + j] = n;
      out[o + j] = n * gain[j] + bias[j];
    }
  }
}

/**
 * Adds LayerNorm's gradients, each when its target is not null: gGain += Σ_r g⊙normed,
 * gBias += Σ_r g, gx += invStd/D · (D·ĝ − Σĝ − normed·Σ(ĝ⊙normed)) with ĝ = g⊙gain.
 */
function layerNormBackward(
  gx: Data | null,
  gGain: Data | null,
  gBias: Data | null,
  g: Data,
  normed: Data,
  invStd: Data,
  gain: Data,
  rows: number,
  dim: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    if (gGain) for (let j = 0; j < dim; j++) gGain[j] += g[o + j] * normed[o + j];
    if (gBias) for (let j = 0; j < dim; j++) gBias[j] += g[o + j];
    if (!gx) continue;
    let sumG = 0;
    let sumGN = 0;
    for (let j = 0; j < dim; j++) {
      const gh = g[o + j] * gain[j];
      sumG += gh;
      sumGN += gh * normed[o + j];
    }
    const k = invStd[r] / dim;
    for (let j = 0; j < dim; j++) gx[o + j] += k * (dim * g[o + j] * gain[j] - sumG - normed[o + j] * sumGN);
  }
}

export const normKernels = {
  layerNormForward: kernel({
    reference: layerNormForward,
    threads: 'ranges',
    wasm: (out, normed, invStd, x, gain, bias, rows, dim, eps) => ({
      args: {
        out: output(out, rows * dim),
        normed: output(normed, rows * dim),
        invStd: output(invStd, rows),
        x: input(x, rows * dim),
        gain: input(gain, dim),
        bias: input(bias, dim),
        rows,
        dim,
        eps,
      },
      split: { over: rows, work: 2 * rows * dim },
    }),
  }),
  layerNormBackward: kernel({
    reference: layerNormBackward,
    threads: 'none',
    wasm: (gx, gGain, gBias, g, normed, invStd, gain, rows, dim) => ({
      args: {
        gx: inout(gx, rows * dim),
        gGain: inout(gGain, dim),
        gBias: inout(gBias, dim),
        g: input(g, rows * dim),
        normed: input(normed, rows * dim),
        invStd: input(invStd, rows),
        gain: input(gain, dim),
        rows,
        dim,
      },
    }),
  }),
};
