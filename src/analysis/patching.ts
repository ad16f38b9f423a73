/**
 * Activation patching between two checkpoints of a run: the target network (e.g. the memorizing one)
 * runs on every example with the activation at one site replaced by what the source network (e.g. the
 * grokked one) computes there on the same example, one site at a time, in the target's forward order.
 * A site whose patch restores the source's test accuracy carries what the target lacks, given the
 * target's weights downstream of it. Patching the logits restores the source exactly; patching
 * nothing leaves the target as it was (the two baselines).
 */
import { noGrad, type Tensor } from '../engine/tensor.ts';
import type { Model } from '../models/index.ts';
import { hookedLogits } from './chunks.ts';
import type { CheckpointLosses } from './types.ts';

export interface PatchedSite extends CheckpointLosses {
  site: string;
  /** (patched − target) / (source − target) of test accuracy; null when the two baselines agree. */
  restored_test_acc: number | null;
  /** The same for test loss. */
  restored_test_loss: number | null;
}

export interface PatchingResult {
  /** The checkpoint that runs, patched (the memorizing network). */
  target_step: number;
  /** The checkpoint the activations come from (the grokked network). */
  source_step: number;
  /** Both networks unpatched, on the same (hooked) forward path as the patched runs. */
  baseline: { target: CheckpointLosses; source: CheckpointLosses };
  sites: PatchedSite[];
}

/** Share of the gap between the baselines that the patched value closes. */
function restored(patched: number, target: number, source: number): number | null {
  const gap = source - target;
  return Math.abs(gap) > 1e-9 ? (patched - target) / gap : null;
}

/**
 * Patches every hook point of `target` from `source` (same architecture) over `count` token sequences;
 * `evaluate` turns logits over those examples into losses.
 */
export function patchEverySite(
  target: Model,
  source: Model,
  tokens: Int32Array,
  count: number,
  evaluate: (logits: ArrayLike<number>) => CheckpointLosses,
): Pick<PatchingResult, 'baseline' | 'sites'> {
  const baseline = {
    target: evaluate(hookedLogits(target, tokens, count)),
    source: evaluate(hookedLogits(source, tokens, count)),
  };
  const sites = target.hookPoints().map(({ name }): PatchedSite => {
    const logits = hookedLogits(target, tokens, count, (chunk) => {
      const cache = new Map<string, Tensor>();
      noGrad(() => source.forward(chunk.tokens, chunk.count, { cache, cacheSites: [name] }));
      const patch = cache.get(name) as Tensor;
      return { [name]: () => patch };
    });
    const losses = evaluate(logits);
    return {
      site: name,
      ...losses,
      restored_test_acc: restored(losses.test_acc, baseline.target.test_acc, baseline.source.test_acc),
      restored_test_loss: restored(losses.test_loss, baseline.target.test_loss, baseline.source.test_loss),
    };
  });
  return { baseline, sites };
}
