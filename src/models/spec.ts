import { z } from 'zod';
import { strictObject } from '../util/schema.ts';

const positiveInt = (what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .int(`${what} must be an integer`)
    .min(1, `${what} must be ≥ 1`);

const initScale = z
  .number({ error: 'init_scale must be a number' })
  .positive('init_scale must be > 0 (α multiplies every initial weight; 1 = default init)');

export const transformerSpec = strictObject({
  kind: z.literal('transformer'),
  layers: positiveInt('layers').max(12, 'layers must be ≤ 12'),
  d_model: positiveInt('d_model').max(4096, 'd_model must be ≤ 4096'),
  heads: positiveInt('heads'),
  d_mlp: positiveInt('d_mlp').max(16384, 'd_mlp must be ≤ 16384'),
  activation: z.enum(['relu', 'gelu', 'quadratic'], {
    error: 'activation must be one of relu, gelu, quadratic',
  }),
  /**
   * none; pre: x + Attn(LN1(x)), then + MLP(LN2(·)), a final LayerNorm; post: LayerNorm after each
   * residual addition; pre_replace: Grokfast's block, whose normalized stream replaces the residual,
   * h = LN1(x), h + Attn(h), then + MLP(LN2(·)), a final LayerNorm (parameters named as for pre).
   */
  layernorm: z.enum(['none', 'pre', 'post', 'pre_replace'], {
    error: 'layernorm must be one of none, pre, post, pre_replace',
  }),
  init_scale: initScale,
  /**
   * pytorch (the default when absent): PyTorch's defaults (embedding N(0,1), positions N(0,1/d), Linear U(±1/√fan_in));
   * nanda: Nanda et al.'s code (every matrix N(0,1/fan_in), embedding and positions N(0,1/d), zero biases).
   */
  init: z.enum(['pytorch', 'nanda'], { error: 'init must be one of pytorch, nanda' }).optional(),
}).refine((m) => m.d_model % m.heads === 0, {
  message: 'heads must divide d_model',
  path: ['heads'],
});

export const mlpSpec = strictObject({
  kind: z.literal('mlp'),
  /**
   * onehot: the concatenated one-hot tokens; embed: a learned table per token; features: the task's
   * real-valued input vector (MNIST's pixels), for tasks that have one.
   */
  input: z.enum(['onehot', 'embed', 'features'], { error: 'input must be one of onehot, embed, features' }),
  embed_dim: positiveInt('embed_dim').max(4096, 'embed_dim must be ≤ 4096').optional(),
  width: positiveInt('width').max(16384, 'width must be ≤ 16384'),
  depth: positiveInt('depth').max(16, 'depth must be ≤ 16'),
  activation: z.enum(['relu', 'gelu', 'quadratic'], {
    error: 'activation must be one of relu, gelu, quadratic',
  }),
  init_scale: initScale,
  /** false: no bias in any layer (Prieto et al.'s MLP). Optional; absent means true, as before it existed. */
  bias: z.boolean({ error: 'bias must be true or false' }).optional(),
});

export const modelSpec = z.discriminatedUnion('kind', [transformerSpec, mlpSpec], {
  error: 'kind must be one of transformer, mlp',
});

export type TransformerSpec = z.infer<typeof transformerSpec>;
export type MlpSpec = z.infer<typeof mlpSpec>;
export type ModelSpec = z.infer<typeof modelSpec>;
