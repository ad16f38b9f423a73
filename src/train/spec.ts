import { z } from 'zod';
import { strictObject } from '../util/schema.ts';

const nonNegative = (what: string) =>
  z.number({ error: `${what} must be a number` }).min(0, `${what} must be ≥ 0`);
const positiveInt = (what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .int(`${what} must be an integer`)
    .min(1, `${what} must be ≥ 1`);
const unitInterval = (what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .min(0, `${what} must be in [0, 1)`)
    .lt(1, `${what} must be in [0, 1)`);

/**
 * Grokfast's gradient filter (Lee et al. 2024), applied to each parameter's gradient after backward
 * and before the optimizer (src/train/grad-filter.ts): ema keeps an exponential moving average of
 * the gradients (alpha: its decay), ma the mean of the last `window` ones; either is added to the
 * gradient times `lamb`.
 */
const gradFilterLamb = nonNegative('grad_filter.lamb');
const emaGradFilter = strictObject({
  kind: z.literal('ema'),
  alpha: z
    .number({ error: 'grad_filter.alpha must be a number in (0, 1)' })
    .gt(0, 'grad_filter.alpha must be in (0, 1)')
    .lt(1, 'grad_filter.alpha must be in (0, 1)'),
  lamb: gradFilterLamb,
});
const maGradFilter = strictObject({
  kind: z.literal('ma'),
  window: z
    .number({ error: 'grad_filter.window must be an integer in [1, 10000]' })
    .int('grad_filter.window must be an integer in [1, 10000]')
    .min(1, 'grad_filter.window must be an integer in [1, 10000]')
    .max(10_000, 'grad_filter.window must be an integer in [1, 10000]'),
  lamb: gradFilterLamb,
});
export const gradFilterSpec = z.discriminatedUnion('kind', [emaGradFilter, maGradFilter], {
  error: (iss) =>
    iss.code === 'invalid_union'
      ? 'grad_filter.kind must be one of ema, ma'
      : iss.code === 'invalid_type'
        ? 'grad_filter must be null, {kind: ema, alpha, lamb} or {kind: ma, window, lamb}'
        : undefined,
});
export type GradFilterSpec = z.infer<typeof gradFilterSpec>;

export const trainSpec = strictObject({
  optimizer: z.enum(['adamw', 'adam', 'sgd'], {
    error: 'optimizer must be one of adamw (decoupled weight decay), adam (L2 term in the loss), sgd',
  }),
  lr: z.number({ error: 'lr must be a number' }).positive('lr must be > 0'),
  weight_decay: nonNegative('weight_decay'),
  beta1: unitInterval('beta1'),
  beta2: unitInterval('beta2'),
  eps: z.number({ error: 'eps must be a number' }).positive('eps must be > 0'),
  momentum: unitInterval('momentum'),
  warmup_steps: z.number().int('warmup_steps must be an integer').min(0, 'warmup_steps must be ≥ 0'),
  batch_size: z.union(
    [
      z.literal('full'),
      z
        .number()
        .int('batch_size must be "full" or an integer ≥ 1')
        .min(1, 'batch_size must be "full" or an integer ≥ 1'),
    ],
    { error: 'batch_size must be "full" or an integer ≥ 1' },
  ),
  /** stablemax_cross_entropy: Prieto et al.'s StableMax in place of the softmax, computed in float64. */
  loss: z.enum(['cross_entropy', 'mse', 'stablemax_cross_entropy'], {
    error: 'loss must be one of cross_entropy, mse, stablemax_cross_entropy',
  }),
  /**
   * float64: cross_entropy's log-softmax in float64 from the float32 logits, its gradient rounded
   * back (Prieto et al.'s --softmax_precision 64). Optional; absent means float32, as before it
   * existed. StableMax is computed in float64 whatever this says.
   */
  loss_precision: z
    .enum(['float32', 'float64'], { error: 'loss_precision must be one of float32, float64' })
    .optional(),
  /**
   * ⊥Grad (Prieto et al.): each parameter's gradient loses its component along the parameter and is
   * rescaled to its former norm, before the optimizer. Optional; absent means false.
   */
  orthogonal_grad: z.boolean({ error: 'orthogonal_grad must be true or false' }).optional(),
  /** Grokfast's gradient filter (gradFilterSpec). Optional; absent or null means none. */
  grad_filter: gradFilterSpec.nullable().optional(),
  /**
   * Omnigrok's constrained training (src/train/fixed-norm.ts): after every update, and once before
   * the step-0 evaluation, all parameters are scaled by one factor so that ‖θ‖₂ = fixed_norm.
   * Optional; absent or null means off, so configs from before it keep their bits.
   */
  fixed_norm: z
    .number({ error: 'fixed_norm must be a number > 0 or null (off)' })
    .positive('fixed_norm must be > 0 or null (off)')
    .nullable()
    .optional(),
  steps: positiveInt('steps').max(100_000_000, 'steps must be ≤ 100000000'),
  /** Stop once test accuracy has stayed ≥ this for `stop_patience` evaluations; null: run all steps. */
  stop_test_acc: z
    .number({ error: 'stop_test_acc must be a number or null' })
    .gt(0, 'stop_test_acc must be in (0, 1] or null')
    .max(1, 'stop_test_acc must be in (0, 1] or null')
    .nullable(),
  stop_patience: positiveInt('stop_patience'),
}).superRefine((spec, ctx) => {
  if (spec.loss === 'mse' && spec.loss_precision === 'float64') {
    ctx.addIssue({
      code: 'custom',
      path: ['loss_precision'],
      message:
        'loss_precision float64 applies to cross_entropy (a softmax); with loss mse it must be float32 or absent',
    });
  }
});

export const evalSpec = strictObject({
  /** Evaluate every `every` steps… */
  every: positiveInt('every'),
  /** …plus this many log-spaced points per decade before that (0: none). */
  log_points_per_decade: z.number().int('log_points_per_decade must be an integer').min(0).max(100),
  /** Checkpoint every this many steps, plus at powers of two before it and at the end. */
  checkpoint_every: positiveInt('checkpoint_every'),
  /**
   * Where train_loss, train_acc and softmax_collapse come from. full (the default when absent): the
   * whole training set, scored at the evaluation. batches: the training batches of the steps since
   * the previous evaluation, each scored as it was trained (before its update), as Grokfast's and
   * many training loops' logs do; it saves a pass over the training set at every evaluation.
   */
  train_metrics: z
    .enum(['full', 'batches'], { error: 'train_metrics must be one of full, batches' })
    .optional(),
  /**
   * The early-warning progress measures (src/train/progress-measures.ts, docs/early-warning.md),
   * logged under `progress` at every evaluation. Optional; absent means false, so a config written
   * before it existed logs exactly what it did.
   */
  progress: z.boolean({ error: 'progress must be true or false' }).optional(),
});

export type TrainSpec = z.infer<typeof trainSpec>;
export type EvalSpec = z.infer<typeof evalSpec>;
