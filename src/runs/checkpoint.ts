import type { Model } from '../models/model.ts';
import type { GradFilterState } from '../train/grad-filter.ts';
import { type GradFilterSpec, gradFilterSpec } from '../train/spec.ts';
import type { BatchTally, TrainerState } from '../train/trainer.ts';
import { decodeSafetensors, encodeSafetensors, type StoredTensor } from './safetensors.ts';

/**
 * Checkpoint layout (safetensors): `param.<name>` for every model parameter (float32, the model's
 * own shapes, loadable by any safetensors reader), `optim.<name>.<slot>` for optimizer moments;
 * metadata holds the step, optimizer kind and update count, and training seconds so far (and, with
 * eval.train_metrics batches, `train_batches`: the batches tallied since the last evaluation). With a
 * gradient filter (train.grad_filter), `filter.<key>` holds its tensors (GradFilterState: e.g.
 * `filter.<name>.ema`, `filter.<name>.window.<i>`, `filter.<name>.sum`) and the metadata its spec
 * (`grad_filter`, JSON) and the gradients it has seen per parameter (`grad_filter_seen`, JSON); a
 * checkpoint without them has no filter state. An MA filter's window (`window` gradients, 100× the
 * parameters for Grokfast-MA) is kept only in a run's newest resume point (see runner/session.ts):
 * other checkpoints name the filter in `grad_filter_dropped`, and a resume from them refills it.
 */
export function encodeCheckpoint(
  model: Model,
  state: TrainerState,
  optimizerKind: string,
  /** A filter whose state is left out on purpose (an MA window kept elsewhere): recorded as such. */
  droppedFilter?: GradFilterSpec,
): Uint8Array {
  const tensors: Record<string, StoredTensor> = {};
  for (const [name, p] of model.params) tensors[`param.${name}`] = { shape: [...p.shape], data: p.data };
  for (const [key, data] of state.optimizer.tensors) tensors[`optim.${key}`] = { shape: [data.length], data };
  const metadata: Record<string, string> = {
    format: 'groklab-checkpoint-1',
    step: String(state.step),
    optimizer: optimizerKind,
    optimizer_updates: String(state.optimizer.updates),
    wall_s: String(state.wallSeconds),
  };
  if (state.filter !== undefined) {
    for (const [key, data] of state.filter.tensors) tensors[`filter.${key}`] = { shape: [data.length], data };
    metadata.grad_filter = JSON.stringify(state.filter.spec);
    metadata.grad_filter_seen = JSON.stringify(state.filter.seen);
  }
  if (state.trainBatches !== undefined) metadata.train_batches = JSON.stringify(state.trainBatches);
  if (state.filter === undefined && droppedFilter !== undefined) {
    metadata.grad_filter_dropped = JSON.stringify(droppedFilter);
  }
  return encodeSafetensors(tensors, metadata);
}

export interface DecodedCheckpoint {
  step: number;
  wallSeconds: number;
  optimizerKind: string;
  optimizer: TrainerState['optimizer'];
  /** The gradient filter's state; null when the checkpoint has none (filter off, or written before filters). */
  filter: GradFilterState | null;
  /** eval.train_metrics batches: the tally of training batches since the last evaluation. */
  trainBatches: BatchTally | null;
  /** The filter (its spec, JSON) whose state was left out of this checkpoint (withoutFilterWindow), if any. */
  filterDropped: string | null;
  params: Map<string, StoredTensor>;
}

export function decodeCheckpoint(bytes: Uint8Array): DecodedCheckpoint {
  const { tensors, metadata } = decodeSafetensors(bytes);
  if (metadata.format !== 'groklab-checkpoint-1')
    throw new Error('not a groklab checkpoint (metadata.format)');
  const params = new Map<string, StoredTensor>();
  const optimizerTensors = new Map<string, Float32Array>();
  const filterTensors = new Map<string, Float32Array | Float64Array>();
  for (const [key, t] of Object.entries(tensors)) {
    if (key.startsWith('param.')) params.set(key.slice('param.'.length), t);
    else if (key.startsWith('optim.') && t.data instanceof Float32Array) {
      optimizerTensors.set(key.slice('optim.'.length), t.data);
    } else if (
      key.startsWith('filter.') &&
      (t.data instanceof Float32Array || t.data instanceof Float64Array)
    ) {
      filterTensors.set(key.slice('filter.'.length), t.data);
    }
  }
  return {
    step: Number(metadata.step),
    wallSeconds: Number(metadata.wall_s),
    optimizerKind: metadata.optimizer,
    optimizer: { tensors: optimizerTensors, updates: Number(metadata.optimizer_updates) },
    filter: decodeFilterState(metadata, filterTensors),
    filterDropped: metadata.grad_filter_dropped ?? null,
    trainBatches: decodeTally(metadata.train_batches),
    params,
  };
}

/** Whether a checkpoint holds a moving-average filter's window (large: see withoutFilterWindow). */
export function holdsFilterWindow(bytes: Uint8Array): boolean {
  const { metadata } = decodeSafetensors(bytes);
  return metadata.grad_filter?.includes('"ma"') === true;
}

/**
 * The checkpoint without its gradient filter state, marked as such: what an older checkpoint keeps
 * once a newer one holds an MA window (parameters and optimizer moments are untouched).
 */
export function withoutFilterWindow(bytes: Uint8Array): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(bytes);
  const kept = Object.fromEntries(Object.entries(tensors).filter(([key]) => !key.startsWith('filter.')));
  const { grad_filter: spec, grad_filter_seen: _seen, ...rest } = metadata;
  return encodeSafetensors(kept, {
    ...rest,
    grad_filter_dropped: spec ?? '',
  });
}

function decodeFilterState(
  metadata: Record<string, string>,
  tensors: Map<string, Float32Array | Float64Array>,
): GradFilterState | null {
  if (metadata.grad_filter === undefined) return null;
  const spec = gradFilterSpec.safeParse(parseJson(metadata.grad_filter));
  const seen = parseJson(metadata.grad_filter_seen ?? '');
  const counts =
    typeof seen === 'object' && seen !== null && !Array.isArray(seen)
      ? (seen as Record<string, unknown>)
      : null;
  if (!spec.success || counts === null || !Object.values(counts).every(Number.isSafeInteger)) {
    throw new Error(
      'checkpoint metadata grad_filter / grad_filter_seen is not a valid gradient filter state',
    );
  }
  return { spec: spec.data, seen: counts as Record<string, number>, tensors };
}

function decodeTally(text: string | undefined): BatchTally | null {
  if (text === undefined) return null;
  const t = parseJson(text) as Partial<BatchTally> | undefined;
  const finite = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
  if (
    !t ||
    !finite(t.loss) ||
    !finite(t.correct) ||
    !finite(t.count) ||
    !(t.zeroLoss === null || finite(t.zeroLoss))
  ) {
    throw new Error('checkpoint metadata train_batches is not a valid tally of training batches');
  }
  return t as BatchTally;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
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
