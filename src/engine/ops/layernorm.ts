import { allocateOutput, assertSameDtype, opResult, type Tensor } from '../tensor.ts';
import { loopsFor } from './arrays.ts';

/** LayerNorm over the last axis with learned gain and bias (both [D]). */
export function layerNorm(x: Tensor, gain: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  const dtype = assertSameDtype('layerNorm', x, gain, bias);
  const dim = x.shape[x.shape.length - 1];
  if (gain.size !== dim || bias.size !== dim)
    throw new Error(`layerNorm: gain/bias must have ${dim} elements`);
  const rows = x.size / dim;
  const loops = loopsFor(x.data, gain.data, bias.data);
  const out = allocateOutput(dtype, x.size);
  // Kept for the backward pass: the normalized rows and each row's 1/σ.
  const normed = allocateOutput(dtype, x.size);
  const invStd = allocateOutput(dtype, rows);
  loops.layerNormForward(out, normed, invStd, x.data, gain.data, bias.data, rows, dim, eps);
  return opResult(out, x.shape, [x, gain, bias], (g) => {
    const grad = (t: Tensor) => (t.requiresGrad ? t.gradBuffer() : null);
    loops.layerNormBackward(grad(x), grad(gain), grad(bias), g, normed, invStd, gain.data, rows, dim);
  });
}
