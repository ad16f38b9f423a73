/**
 * How far each run's features moved from their step-0 values, checkpoint by checkpoint (lazy →
 * rich, Kumar et al. 2024): movement = 1 − linear CKA between the last hidden layer's activations at
 * a checkpoint and at step 0 (analysis/features.ts), over a fixed set of the run's test examples.
 * t_feat is the first checkpoint where the movement reaches half its maximum over the run.
 *
 * Read through the run's own experiment (experiment/open.ts) and the model's hooks (analysis/probe.ts),
 * so nothing here depends on the task or the model's parameter names.
 */
import { featureMovement } from '../analysis/features.ts';
import { probeModel } from '../analysis/probe.ts';
import { openExperiment } from '../experiment/open.ts';
import type { Model } from '../models/index.ts';
import { openRun, type RunFolder } from '../runs/index.ts';
import { sliceExamples } from '../train/data.ts';

/** Examples the features are read on: the first this many of the run's test split (it is shuffled). */
export const FEATURE_PROBE_EXAMPLES = 2000;
/** Below this maximum movement (1 − CKA) the features did not move (lazy): no t_feat. */
export const FEATURE_MOVEMENT_MIN = 0.05;

export interface RunFeatureMovement {
  run_id: string;
  /** The hidden layer read, e.g. 'layers.0'; null when nothing could be read. */
  layer: string | null;
  /** Examples the features were compared on. */
  examples: number;
  /** Checkpoint steps, ascending. */
  steps: number[];
  /** 1 − CKA to step 0 at each checkpoint; null where CKA is undefined (constant features). */
  movement: Array<number | null>;
  max_movement: number | null;
  /** First checkpoint with movement ≥ max/2; null when the maximum is below FEATURE_MOVEMENT_MIN. */
  t_feat: number | null;
  /** Why the run could not be measured (no checkpoints, unreadable config), else null. */
  error: string | null;
}

/** The maximum movement and the first step where it reaches half of it (null below `minMovement`). */
export function featureOnset(
  steps: readonly number[],
  movement: ReadonlyArray<number | null>,
  minMovement: number = FEATURE_MOVEMENT_MIN,
): { max_movement: number | null; t_feat: number | null } {
  let max: number | null = null;
  for (const m of movement) if (m !== null && (max === null || m > max)) max = m;
  if (max === null || max < minMovement) return { max_movement: max, t_feat: null };
  const half = max / 2;
  const i = movement.findIndex((m) => m !== null && m >= half);
  return { max_movement: max, t_feat: steps[i] };
}

/**
 * The movement after memorization: much of it can happen while the network memorizes, and the lazy →
 * rich picture is about what comes after. From the last checkpoint at or before t_mem (`at_mem`), the
 * further rise to the largest later movement, and the first checkpoint after t_mem where half of that
 * rise is done (null when the rise is below `minRise`, or nothing is known at t_mem).
 */
export function movementAfterMemorization(
  steps: readonly number[],
  movement: ReadonlyArray<number | null>,
  tMem: number,
  minRise: number = FEATURE_MOVEMENT_MIN,
): { at_mem: number | null; rise: number | null; t_feat_after: number | null } {
  let start = -1;
  for (let i = 0; i < steps.length && steps[i] <= tMem; i++) if (movement[i] !== null) start = i;
  if (start === -1) return { at_mem: null, rise: null, t_feat_after: null };
  const atMem = movement[start] as number;
  let max = atMem;
  for (let i = start + 1; i < steps.length; i++) max = Math.max(max, movement[i] ?? max);
  const rise = max - atMem;
  if (rise < minRise) return { at_mem: atMem, rise, t_feat_after: null };
  const i = movement.findIndex((m, j) => j > start && m !== null && m >= atMem + rise / 2);
  return { at_mem: atMem, rise, t_feat_after: steps[i] };
}

function unmeasured(runId: string, error: string): RunFeatureMovement {
  const none = { layer: null, examples: 0, steps: [], movement: [], max_movement: null, t_feat: null };
  return { run_id: runId, ...none, error };
}

/** The probe's last hidden layer over `count` examples. */
function hiddenOf(model: Model, tokens: Int32Array, count: number) {
  const probe = probeModel(model, tokens, count);
  return { layer: probe.hiddenLayer, data: probe.hidden, width: probe.hiddenWidth };
}

/** Feature movement at every checkpoint of one run. */
export function measureRunFeatures(
  run: RunFolder,
  maxExamples: number = FEATURE_PROBE_EXAMPLES,
): RunFeatureMovement {
  const steps = run.listCheckpoints();
  if (steps.length === 0) return unmeasured(run.id, 'no checkpoints');
  const experiment = openExperiment(run);
  // Held-out examples: what the network has to generalize to. A split without any falls back to train.
  const pool = experiment.test.count > 0 ? experiment.test : experiment.train;
  const probe = sliceExamples(pool, 0, Math.min(maxExamples, pool.count));
  const model = experiment.createModel();
  // Step 0's checkpoint when there is one (it is what training started from); else the seeded init.
  if (steps[0] === 0) experiment.loadCheckpoint(model, 0);
  const initial = hiddenOf(model, probe.tokens, probe.count);
  const movement = steps.map((step) => {
    experiment.loadCheckpoint(model, step);
    const h = hiddenOf(model, probe.tokens, probe.count);
    const cka = featureMovement(h.layer, h.data, initial.data, probe.count, h.width).cka_to_init;
    // CKA of identical features can round to just above 1: no movement, not a negative one.
    return cka === null ? null : Math.max(0, 1 - cka);
  });
  return {
    run_id: run.id,
    layer: initial.layer,
    examples: probe.count,
    steps,
    movement,
    ...featureOnset(steps, movement),
    error: null,
  };
}

/** Feature movement of each of `runIds` in `runsDir`; a run that cannot be read gets its error. */
export function measureSweepFeatures(
  runsDir: string,
  runIds: readonly string[],
  maxExamples: number = FEATURE_PROBE_EXAMPLES,
): RunFeatureMovement[] {
  return runIds.map((id) => {
    try {
      return measureRunFeatures(openRun(runsDir, id), maxExamples);
    } catch (err) {
      return unmeasured(id, ((err as Error).message ?? String(err)).split('\n')[0]);
    }
  });
}
