import { type FrequencyAblation, frequencyAblationHook, otherFrequencies } from './ablation.ts';
import { hookedLogits } from './chunks.ts';
import type { RunContext } from './context.ts';
import { loadCheckpoint, lossesOf } from './measure-checkpoint.ts';
import { type PatchingResult, patchEverySite } from './patching.ts';

export const ABLATION_KINDS = ['freq'] as const;
export type AblationKind = (typeof ABLATION_KINDS)[number];

/** Which checkpoints to patch: 'auto' = the memorizing checkpoint with activations from the latest. */
export type PatchChoice = 'auto' | { target: number; source: number };

/** The checkpoint at `step` with its key frequencies kept alone, and removed (modular tasks). */
export function frequencyAblationAt(
  ctx: RunContext,
  step: number,
  keys: readonly number[],
): FrequencyAblation {
  const p = ctx.p;
  if (p === null) throw new Error('frequency ablation needs a modular task');
  loadCheckpoint(ctx, step);
  const { model, task } = ctx;
  const input = model.roles().input;
  const without = (removed: readonly number[] | null) => {
    const hook = removed && frequencyAblationHook(input, model.io, p, removed);
    const logits = hookedLogits(model, task.inputs, task.numExamples, () =>
      hook ? { [input.site]: hook } : {},
    );
    return lossesOf(ctx, logits);
  };
  return {
    step,
    site: input.site,
    key_frequencies: [...keys],
    unablated: without(null),
    key_only: without(otherFrequencies(p, keys)),
    without_key: without(keys),
  };
}

/** Every site of the checkpoint at `target` patched from the checkpoint at `source`. */
export function patchingAt(ctx: RunContext, target: number, source: number): PatchingResult {
  const sourceModel = ctx.experiment.modelAt(source);
  loadCheckpoint(ctx, target);
  const { task } = ctx;
  const result = patchEverySite(ctx.model, sourceModel, task.inputs, task.numExamples, (logits) =>
    lossesOf(ctx, logits),
  );
  return { target_step: target, source_step: source, ...result };
}
