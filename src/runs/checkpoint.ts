import type { Model } from '../models/model.ts';
import type { TrainerState } from '../train/trainer.ts';
import { decodeSafetensors, encodeSafetensors, type StoredTensor } from './safetensors.ts';

/**
 * Checkpoint layout (safetensors): `param.<name>` for every model parameter (float32, the model's
 * own shapes, loadable by any safetensors reader), `optim.<name>.<slot>` for optimizer moments;
 * metadata holds the step, optimizer kind and update count, and training seconds so far.
 */
export function encodeCheckpoint(model: Model, state: TrainerState, optimizerKind: string): Uint8Array {
  const tensors: Record<string, StoredTensor> = {};
  for (const [name, p] of model.params) tensors[`param.${name}`] = { shape: [...p.shape], data: p.data };
  for (const [key, data] of state.optimizer.tensors) tensors[`optim.${key}`] = { shape: [data.length], data };
  return encodeSafetensors(tensors, {
    format: 'groklab-checkpoint-1',
    step: String(state.step),
    optimizer: optimizerKind,
    optimizer_updates: String(state.optimizer.updates),
    wall_s: String(state.wallSeconds),
  });
}

export interface DecodedCheckpoint {
  step: number;
  wallSeconds: number;
  optimizerKind: string;
  optimizer: TrainerState['optimizer'];
  params: Map<string, StoredTensor>;
}

export function decodeCheckpoint(bytes: Uint8Array): DecodedCheckpoint {
  const { tensors, metadata } = decodeSafetensors(bytes);
  if (metadata.format !== 'groklab-checkpoint-1')
    throw new Error('not a groklab checkpoint (metadata.format)');
  const params = new Map<string, StoredTensor>();
  const optimizerTensors = new Map<string, Float32Array>();
  for (const [key, t] of Object.entries(tensors)) {
    if (key.startsWith('param.')) params.set(key.slice('param.'.length), t);
    else if (key.startsWith('optim.') && t.data instanceof Float32Array) {
      optimizerTensors.set(key.slice('optim.'.length), t.data);
    }
  }
  return {
    step: Number(metadata.step),
    wallSeconds: Number(metadata.wall_s),
    optimizerKind: metadata.optimizer,
    optimizer: { tensors: optimizerTensors, updates: Number(metadata.optimizer_updates) },
    params,
  };
}

/** Copies checkpointed parameters into a freshly built model of the same architecture. */
export function loadParams(model: Model, params: Map<string, StoredTensor>): void {
  for (const [name, p] of model.params) {
    const saved = params.get(name);
    if (!saved || saved.data.length !== p.size) {
      throw new Error(
        `checkpoint does not match the model: parameter ${name} is missing or has another size`,
      );
    }
    p.data.set(saved.data);
  }
}
