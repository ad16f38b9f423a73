/**
 * Built-in sweep specs, run with `groklab sweep --preset NAME`. Each is an ordinary spec object (the
 * same keys as a spec file, see spec.ts and docs/sweeps.md); its name defaults to the preset name.
 */
import type { SweepSpecInput } from './spec.ts';

export interface SweepPreset {
  description: string;
  spec: SweepSpecInput;
}

/** x+y mod 31 on a one-hidden-layer MLP: memorizes in ~50 steps, and with weight decay groks within a few hundred. */
const modAdd31Mlp = {
  seed: 0,
  task: { kind: 'modular', op: 'add', p: 31, train_fraction: 0.7 },
  model: { kind: 'mlp', input: 'onehot', width: 128, depth: 1, activation: 'quadratic', init_scale: 1 },
  train: {
    optimizer: 'adamw',
    lr: 1e-2,
    weight_decay: 1,
    beta1: 0.9,
    beta2: 0.98,
    eps: 1e-8,
    momentum: 0,
    warmup_steps: 10,
    batch_size: 'full',
    loss: 'cross_entropy',
    steps: 200,
    stop_test_acc: null,
    stop_patience: 1,
  },
  eval: { every: 10, log_points_per_decade: 5, checkpoint_every: 50 },
} as const;

/**
 * x+y mod 59 on a small one-layer transformer in Nanda et al.'s layout (d 64, 4 heads, d_mlp 256, no
 * LayerNorm), full batch, AdamW lr 3e-3, with the progress measures on (docs/early-warning.md). With
 * weight decay 1 and 40% of the pairs it memorizes by step ~100 and groks near step ~1400 (seed 0);
 * about 15 ms a step on one core.
 */
const earlyWarning59 = {
  seed: 0,
  task: { kind: 'modular', op: 'add', p: 59, train_fraction: 0.4 },
  model: {
    kind: 'transformer',
    layers: 1,
    d_model: 64,
    heads: 4,
    d_mlp: 256,
    activation: 'relu',
    layernorm: 'none',
    init_scale: 1,
    init: 'nanda',
  },
  train: {
    optimizer: 'adamw',
    lr: 3e-3,
    weight_decay: 1,
    beta1: 0.9,
    beta2: 0.98,
    eps: 1e-8,
    momentum: 0,
    warmup_steps: 10,
    batch_size: 'full',
    loss: 'cross_entropy',
    steps: 4000,
    stop_test_acc: 0.99,
    stop_patience: 3,
  },
  eval: { every: 50, log_points_per_decade: 5, checkpoint_every: 1000, progress: true },
} as const;

export const SWEEP_PRESETS: Record<string, SweepPreset> = {
  tiny: {
    description:
      'x+y mod 31 with a small MLP: weight decay 0.3 and 1 × 2 seeds, 200 steps each (a few seconds per run); tries out the sweep machinery',
    spec: {
      config: modAdd31Mlp,
      axes: { wd: [0.3, 1] },
      seeds: 2,
    },
  },
  'wd-frac': {
    description:
      'the literature claims on 48 runs of x+y mod 31 (MLP): weight decay 0…10 × training fraction 0.3…0.9 × 2 seeds, ≤ 3000 steps each; about 2–4 minutes on 2 cores',
    spec: {
      config: modAdd31Mlp,
      // Patience 3: a run stopped on a single evaluation above the threshold has no confirmed crossing.
      set: {
        steps: 3000,
        'train.stop_test_acc': 0.99,
        'train.stop_patience': 3,
        'eval.checkpoint_every': 500,
      },
      axes: { wd: [0, 0.1, 0.3, 1, 3, 10], frac: [0.3, 0.5, 0.7, 0.9] },
      seeds: 2,
    },
  },
  'grokfast-97': {
    description:
      "Lee et al. 2024 (Grokfast) on x·y mod 97: the plain baseline (no filter, no weight decay, up to 60000 steps) against Grokfast-MA and -EMA with the paper's settings; each stops once test accuracy has held ≥ 0.95 for 3 evaluations",
    spec: {
      preset: 'grokfast-97',
      variants: {
        // The paper's baseline reaches 95% test accuracy at ~39,890 steps: a budget well past it.
        baseline: {
          'train.grad_filter': null,
          wd: 0,
          steps: 60000,
          'train.stop_test_acc': 0.95,
          'train.stop_patience': 3,
          // Every 100 steps, not every epoch: 4,000 full evaluations would add half again to its time.
          'eval.every': 100,
        },
        'grokfast-ma': { 'train.grad_filter': { kind: 'ma', window: 100, lamb: 5 }, wd: 0.01 },
        'grokfast-ema': { 'train.grad_filter': { kind: 'ema', alpha: 0.98, lamb: 2 }, wd: 0.005 },
      },
      seeds: 1,
    },
  },
  'grokfast-demo': {
    description:
      'Grokfast off the paper: the demo preset (MLP on x+y mod 47, AdamW wd 0.5) without a filter, with Grokfast-EMA (α 0.98, λ 2) and with Grokfast-MA (window 100, λ 5), 3 seeds each; about a minute on 2 cores',
    spec: {
      preset: 'demo',
      variants: {
        baseline: {},
        'grokfast-ema': { 'train.grad_filter': { kind: 'ema', alpha: 0.98, lamb: 2 } },
        'grokfast-ma': { 'train.grad_filter': { kind: 'ma', window: 100, lamb: 5 } },
      },
      set: { 'train.stop_test_acc': 0.95, 'train.stop_patience': 3 },
      seeds: 3,
    },
  },
  'grokfast-nanda': {
    description:
      "Grokfast off the paper: nanda-113 (Nanda et al.'s transformer on x+y mod 113, full batch, AdamW wd 1) without a filter and with Grokfast-EMA (α 0.98, λ 2), each to test accuracy 0.95 or 12,000 steps",
    spec: {
      preset: 'nanda-113',
      variants: {
        baseline: {},
        'grokfast-ema': { 'train.grad_filter': { kind: 'ema', alpha: 0.98, lamb: 2 } },
      },
      set: { steps: 12000, 'train.stop_test_acc': 0.95, 'train.stop_patience': 3 },
      seeds: 1,
    },
  },
  'stability-113': {
    description:
      'Prieto et al. 2025 on x+y mod 113 (MLP, AdamW, no weight decay): float32 softmax cross-entropy, the same in float64, StableMax and ⊥AdamW; softmax collapse and which of them groks',
    spec: {
      preset: 'stability-softmax-113',
      variants: {
        'softmax-f32': {},
        'softmax-f64': { 'train.loss_precision': 'float64' },
        stablemax: { 'train.loss': 'stablemax_cross_entropy', 'train.beta2': 0.999 },
        'orthogonal-adamw': { 'train.orthogonal_grad': true },
      },
      seeds: 1,
    },
  },
  'omnigrok-alpha': {
    description:
      'Liu et al. 2022 (Omnigrok) on real MNIST: omnigrok-mnist with initialization scale α = 1, 2, 4, 8 × 2 seeds, each to 50,000 steps or until test accuracy has held ≥ 0.82 for 10 evaluations (the grok threshold detect uses for MNIST is 0.8): the delay t_grok/t_mem grows with α, and features move late where test accuracy rises late',
    spec: {
      preset: 'omnigrok-mnist',
      // Checkpoints every 2,000 steps: feature movement is measured at checkpoints, so this is its resolution.
      set: {
        steps: 50000,
        // Ten evaluations: at α = 1 test accuracy passes 0.82 before the training set is fitted, and a
        // run stopped then has no t_mem to measure the delay from.
        'train.stop_test_acc': 0.82,
        'train.stop_patience': 10,
        'eval.checkpoint_every': 2000,
      },
      axes: { 'model.init_scale': [1, 2, 4, 8] },
      seeds: 2,
    },
  },
  'lu-mnist': {
    description:
      "Omnigrok's LU mechanism on real MNIST: omnigrok-mnist without weight decay, batch 100, 10,000 steps, the weight norm held fixed at 2…90 (α = norm / 11.7 from 0.17 to 7.7): train loss against the norm is L-shaped, test loss U-shaped",
    spec: {
      preset: 'omnigrok-mnist',
      set: {
        wd: 0,
        'model.init_scale': 1,
        'train.batch_size': 100,
        steps: 10000,
        'eval.every': 500,
        'eval.checkpoint_every': 10000,
      },
      axes: { 'train.fixed_norm': [2, 3, 5, 8, 12, 18, 27, 40, 60, 90] },
      seeds: 1,
    },
  },
  'early-warning': {
    description:
      'the circuit-forming warning measured (docs/early-warning.md): x+y mod 59 on a small transformer with the progress measures on; weight decay 1 with 20-50% of the pairs, 0.1 and 0 with 40-50%: runs that grok within the budget, later or not at all; seeds 3 and 4 (held out: the rule was set on seeds 0-2), ≤ 4000 steps each; about 11 minutes on 2 cores',
    spec: {
      config: earlyWarning59,
      variants: {
        'wd1-f0.5': { frac: 0.5 },
        'wd1-f0.4': {},
        'wd1-f0.3': { frac: 0.3 },
        'wd1-f0.2': { frac: 0.2 },
        'wd0.1-f0.4': { wd: 0.1 },
        'wd0-f0.4': { wd: 0 },
        'wd0-f0.5': { wd: 0, frac: 0.5 },
      },
      // Seed 0 set the rule's thresholds; seeds 1 and 2 measured its first version (docs/early-warning.md).
      seeds: [3, 4],
    },
  },
  'lu-demo': {
    description:
      'The LU mechanism on the demo task (x+y mod 47, MLP): no weight decay, the weight norm held fixed at 10…160 (α = norm / 10.06 from 1 to 16), 3,000 steps each: train loss L-shaped, test loss U-shaped, and it generalizes only in between; about 2.5 minutes on 2 cores',
    spec: {
      preset: 'demo',
      set: { wd: 0, 'train.stop_test_acc': null },
      axes: { 'train.fixed_norm': [10, 14.1, 20, 28.3, 40, 56.6, 80, 113, 160] },
      seeds: 1,
    },
  },
};
