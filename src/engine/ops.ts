// The op set of the engine; models import from here.
export { type AttentionInput, causalAttention, type LookedUpRows } from './ops/attention.ts';
export { applyPattern, causalPattern } from './ops/attention-pattern.ts';
export type { Activation } from './ops/elementwise.ts';
export { activate, add, gelu, mul, relu, scale, square, sub } from './ops/elementwise.ts';
export { embedRows, gather, gatherSum } from './ops/embedding.ts';
export { layerNorm } from './ops/layernorm.ts';
export {
  accuracy,
  crossEntropy,
  crossEntropyFloat64,
  crossEntropyFloat64Score,
  crossEntropyScore,
  type LossScore,
  mseOneHot,
  stablemaxCrossEntropy,
  stablemaxCrossEntropyScore,
} from './ops/loss.ts';
export { gemm, linear, matmul } from './ops/matmul.ts';
export { mean, sum, sumLast } from './ops/reduce.ts';
export { reshape, takePosition } from './ops/shape.ts';
export { logSoftmax, softmax } from './ops/softmax.ts';
