import { type Activation, activate, linear, matmul } from '../engine/ops.ts';
import type { Tensor } from '../engine/tensor.ts';

/** A fully connected layer x·w (+ b), weights stored [in, out]; `b` is absent for an MLP with bias false. */
export interface DenseLayer {
  w: Tensor;
  b?: Tensor;
}

/** x·w + b, then the activation if given: one fused op with a bias; a product (and an activation) without. */
export function dense(x: Tensor, layer: DenseLayer, activation?: Activation): Tensor {
  if (layer.b) return linear(x, layer.w, layer.b, activation);
  const product = matmul(x, layer.w);
  return activation === undefined ? product : activate(product, activation);
}
