import { allocate, allocateOutput, assertSameDtype, opResult, type Tensor } from '../tensor.ts';
import { arrayKernels } from './arrays.ts';

/** LayerNorm over the last axis with learned gain and bias (both [D]). */
export function layerNorm(x: Tensor, gain: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  const dtype = assertSameDtype('layerNorm', x, gain, bias);
  const dim = x.shape[x.shape.length - 1];
  if (gain.size !== dim || bias.size !== dim)
    throw new Error(`layerNorm: gain/bias must have ${dim} elements`);
  const rows = x.size / dim;
  const arrays = arrayKernels(x.data, gain.data, bias.data);
  if (arrays !== null) {
    const [xf, gf, bf] = [x.data, gain.data, bias.data] as Float32Array[];
    const out = allocateOutput('f32', x.size) as Float32Array;
    const normed = allocateOutput('f32', x.size) as Float32Array;
    const invStd = allocateOutput('f32', rows) as Float32Array;
    arrays.layerNormForward(out, normed, invStd, xf, gf, bf, rows, dim, eps);
    return opResult(out, x.shape, [x, gain, bias], (g) => {
      const grad = (t: Tensor) => (t.requiresGrad ? (t.gradBuffer() as Float32Array) : null);
      arrays.layerNormBackward(
        grad(x),
        grad(gain),
        grad(bias),
        g as Float32Array,
        normed,
        invStd,
        gf,
        rows,
        dim,
      );
    });
  }
  const xd = x.data;
  const gd = gain.data;
  const bd = bias.data;
  const out = allocate(dtype, x.size);
  const normed = allocate(dtype, x.size);
  const invStd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let mu = 0;
    for (let j = 0; j < dim; j++) mu += xd[o + j];
    mu /= dim;
    let variance = 0;
    for (let j = 0; j < dim; j++) variance += (xd[o + j] - mu) ** 2;
    variance /= dim;
    const inv = 1 / Math.sqrt(variance + eps);
    invStd[r] = inv;
    for (let j = 0; j < dim; j++) {
      const n = (xd[o + j] - mu) * inv;
      normed[o + j] = n;
      out[o + j] = n * gd[j] + bd[j];
    }
  }
  return opResult(out, x.shape, [x, gain, bias], (g) => {
    if (gain.requiresGrad || bias.requiresGrad) {
      const gg = gain.gradBuffer();
      const gb = bias.gradBuffer();
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < dim; j++) {
          gg[j] += g[r * dim + j] * normed[r * dim + j];
          gb[j] += g[r * dim + j];
        }
      }
    }
    if (!x.requiresGrad) return;
    // dx = inv/D · (D·ĝ − Σĝ − n·Σ(ĝ⊙n)) with ĝ = g⊙gain
    const gx = x.gradBuffer();
    for (let r = 0; r < rows; r++) {
      const o = r * dim;
      let sumG = 0;
      let sumGN = 0;
      for (let j = 0; j < dim; j++) {
        const gh = g[o + j] * gd[j];
        sumG += gh;
        sumGN += gh * normed[o + j];
      }
      const k = invStd[r] / dim;
      for (let j = 0; j < dim; j++) {
        gx[o + j] += k * (dim * g[o + j] * gd[j] - sumG - normed[o + j] * sumGN);
      }
    }
  });
}
