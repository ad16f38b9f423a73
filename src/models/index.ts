import type { DType } from '../engine/tensor.ts';
import { Mlp } from './mlp.ts';
import type { Model, ModelIO } from './model.ts';
import type { ModelSpec } from './spec.ts';
import { Transformer } from './transformer.ts';

export type { ForwardOptions, Hook, HookContext, HookPoint } from './hooks.ts';
export type { Model, ModelIO } from './model.ts';
export type { BlockRoles, HiddenLayer, ModelRoles, TokenInput } from './roles.ts';
export { type MlpSpec, type ModelSpec, modelSpec, type TransformerSpec } from './spec.ts';

export function buildModel(spec: ModelSpec, io: ModelIO, seed: number, dtype: DType = 'f32'): Model {
  return spec.kind === 'transformer'
    ? new Transformer(spec, io, seed, dtype)
    : new Mlp(spec, io, seed, dtype);
}
