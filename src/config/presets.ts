import { UsageError } from '../util/errors.ts';
import type { RunConfigInput } from './schema.ts';

export interface Preset {
  description: string;
  config: RunConfigInput;
}

const adamw = {
  optimizer: 'adamw',
  lr: 1e-3,
  weight_decay: 1,
  beta1: 0.9,
  beta2: 0.98,
  eps: 1e-8,
  momentum: 0,
  warmup_steps: 10,
  batch_size: 'full',
  loss: 'cross_entropy',
  stop_test_acc: null,
  stop_patience: 1,
} as const;

/** Nanda et al.'s one-layer transformer: d_model 128, 4 heads, d_mlp 512, ReLU, no LayerNorm, their init. */
const nandaTransformer = {
  kind: 'transformer',
  layers: 1,
  d_model: 128,
  heads: 4,
  d_mlp: 512,
  activation: 'relu',
  layernorm: 'none',
  init_scale: 1,
  init: 'nanda',
} as const;

/**
 * Prieto et al. 2025 ("Grokking at the Edge of Numerical Stability"), their Figure 1 setting: x+y mod 113,
 * 40% of pairs, inputs the concatenated one-hot x and y, an MLP with two hidden layers of 200 ReLU units and
 * no biases, full-batch AdamW lr 0.01, β₂ 0.99, ε 1e-25, no weight decay. Each lever preset changes one thing.
 */
const prietoMlp113 = {
  seed: 0,
  task: { kind: 'modular', op: 'add', p: 113, train_fraction: 0.4, sequence: 'x_y' },
  model: {
    kind: 'mlp',
    input: 'onehot',
    width: 200,
    depth: 2,
    activation: 'relu',
    init_scale: 1,
    bias: false,
  },
  train: {
    ...adamw,
    lr: 0.01,
    weight_decay: 0,
    beta2: 0.99,
    eps: 1e-25,
    warmup_steps: 0,
    steps: 10000,
    stop_test_acc: 0.99,
    stop_patience: 3,
  },
  eval: { every: 50, log_points_per_decade: 10, checkpoint_every: 2000 },
} as const;

/** Built-in configurations. Each is a complete config; `--set key=value` changes single fields. */
export const PRESETS: Record<string, Preset> = {
  demo: {
    description:
      'x+y mod 47, one-hidden-layer MLP (quadratic activation), AdamW: memorizes by step ~100, generalizes near step ~1300; about 15 s on 2 CPU cores',
    config: {
      seed: 0,
      task: { kind: 'modular', op: 'add', p: 47, train_fraction: 0.5 },
      model: { kind: 'mlp', input: 'onehot', width: 256, depth: 1, activation: 'quadratic', init_scale: 1 },
      train: { ...adamw, lr: 3e-3, weight_decay: 0.5, steps: 3000, stop_test_acc: 0.99, stop_patience: 5 },
      eval: { every: 25, log_points_per_decade: 10, checkpoint_every: 500 },
    },
  },
  'nanda-113': {
    description:
      'Nanda et al. 2023: x+y mod 113, 30% of pairs, 1-layer transformer d=128, AdamW wd 1, full batch',
    config: {
      seed: 0,
      task: { kind: 'modular', op: 'add', p: 113, train_fraction: 0.3 },
      model: nandaTransformer,
      train: { ...adamw, steps: 40000 },
      eval: { every: 100, log_points_per_decade: 10, checkpoint_every: 1000 },
    },
  },
  'power-97': {
    description:
      'Power et al. 2022: x/y mod 97, 50% of pairs, 2-layer transformer d=128, AdamW wd 1, batch 512',
    config: {
      seed: 0,
      task: { kind: 'modular', op: 'div', p: 97, train_fraction: 0.5 },
      model: {
        kind: 'transformer',
        layers: 2,
        d_model: 128,
        heads: 4,
        d_mlp: 512,
        activation: 'relu',
        layernorm: 'pre',
        init_scale: 1,
      },
      train: { ...adamw, batch_size: 512, steps: 100000 },
      eval: { every: 100, log_points_per_decade: 10, checkpoint_every: 2000 },
    },
  },
  'mlp-97': {
    description: 'x+y mod 97 with a one-hidden-layer MLP on one-hot inputs (quadratic activation), AdamW',
    config: {
      seed: 0,
      task: { kind: 'modular', op: 'add', p: 97, train_fraction: 0.4 },
      model: { kind: 'mlp', input: 'onehot', width: 512, depth: 1, activation: 'quadratic', init_scale: 1 },
      train: { ...adamw, weight_decay: 1, steps: 20000 },
      eval: { every: 100, log_points_per_decade: 10, checkpoint_every: 1000 },
    },
  },
  'parity-40-3': {
    description:
      'Sparse parity: 40 bits, 3 relevant, 1000 samples, MLP width 1000, SGD (Barak et al. / Merrill et al.)',
    config: {
      seed: 0,
      task: { kind: 'parity', n_bits: 40, k: 3, n_samples: 2000, train_fraction: 0.5 },
      model: { kind: 'mlp', input: 'onehot', width: 1000, depth: 1, activation: 'relu', init_scale: 1 },
      train: {
        ...adamw,
        optimizer: 'sgd',
        lr: 0.1,
        momentum: 0.9,
        weight_decay: 0.01,
        warmup_steps: 0,
        batch_size: 32,
        steps: 50000,
      },
      eval: { every: 100, log_points_per_decade: 10, checkpoint_every: 2000 },
    },
  },
  's5-compose': {
    description: 'Permutation group S5, x·y, 50% of pairs, 1-layer transformer, AdamW wd 1',
    config: {
      seed: 0,
      task: { kind: 'permutation', n: 5, op: 'compose', train_fraction: 0.5 },
      model: nandaTransformer,
      train: { ...adamw, steps: 30000 },
      eval: { every: 100, log_points_per_decade: 10, checkpoint_every: 1000 },
    },
  },
  'grokfast-97': {
    description:
      'Lee et al. 2024 (Grokfast-MA): x·y mod 97 (y ≠ 0) as [x, ∘, y, =], 50% of pairs, 2-layer causal transformer d=128 (GELU, pre-LN), Adam lr 1e-3 + L2 0.01, batch 512, gradient filter MA(100, λ 5): test accuracy ≥ 95% near step 1,000, about 1.5 minutes on 2 cores',
    config: {
      seed: 0,
      task: {
        kind: 'modular',
        op: 'mul',
        p: 97,
        train_fraction: 0.5,
        sequence: 'x_op_y_eq',
        nonzero_y: true,
      },
      model: {
        kind: 'transformer',
        layers: 2,
        d_model: 128,
        heads: 4,
        d_mlp: 512,
        activation: 'gelu',
        layernorm: 'pre_replace',
        init_scale: 1,
      },
      train: {
        ...adamw,
        optimizer: 'adam',
        weight_decay: 0.01,
        batch_size: 512,
        steps: 3000,
        stop_test_acc: 0.95,
        stop_patience: 3,
        grad_filter: { kind: 'ma', window: 100, lamb: 5 },
      },
      // One evaluation per epoch (⌈4656 / 512⌉ = 10 steps), train metrics from the epoch's batches
      // as trained, as in the paper's code.
      eval: { every: 10, log_points_per_decade: 0, checkpoint_every: 2000, train_metrics: 'batches' },
    },
  },
  'stability-softmax-113': {
    description:
      'Prieto et al. 2025: x+y mod 113, MLP 200×2 without biases, AdamW lr 0.01, no weight decay, float32 softmax: memorizes, then softmax collapse stalls it',
    config: prietoMlp113,
  },
  'stability-float64-113': {
    description:
      'As stability-softmax-113 with the softmax of the loss in float64 (Prieto et al.): softmax collapse comes later',
    config: { ...prietoMlp113, train: { ...prietoMlp113.train, loss_precision: 'float64' } },
  },
  'stability-stablemax-113': {
    description:
      'As stability-softmax-113 with StableMax cross-entropy (β₂ 0.999, Prieto et al.): groks without weight decay',
    config: {
      ...prietoMlp113,
      train: { ...prietoMlp113.train, loss: 'stablemax_cross_entropy', beta2: 0.999 },
    },
  },
  'stability-orthograd-113': {
    description:
      "As stability-softmax-113 with ⊥AdamW (the gradient's component along the weights removed, Prieto et al.): groks without weight decay",
    config: { ...prietoMlp113, train: { ...prietoMlp113.train, orthogonal_grad: true } },
  },
  'omnigrok-mnist': {
    description:
      'Liu et al. 2022 (Omnigrok) on real MNIST: the first 1,000 training images, MLP 784-200-200-10 (ReLU), MSE on one-hot targets, AdamW lr 1e-3 wd 0.01, batch 200, initialization ×8: memorizes by step 2,000, test accuracy ≥ 0.8 near step 33,000 (about 4 minutes on 2 CPU cores; the whole 100,000-step budget about 12)',
    config: {
      seed: 0,
      task: { kind: 'mnist', train_size: 1000 },
      // Omnigrok's "depth 3" counts its three Linear layers: two hidden layers and the output layer.
      model: { kind: 'mlp', input: 'features', width: 200, depth: 2, activation: 'relu', init_scale: 8 },
      train: {
        ...adamw,
        weight_decay: 0.01,
        beta2: 0.999,
        warmup_steps: 0,
        batch_size: 200,
        loss: 'mse',
        steps: 100000,
      },
      eval: { every: 1000, log_points_per_decade: 10, checkpoint_every: 10000 },
    },
  },
};

/**
 * The run config `groklab train --preset <name>` starts from (before any --set): the preset's config
 * with its name. Unknown names are a UsageError naming the field and the presets there are.
 */
export function presetRunConfig(name: string, field = '--preset'): Record<string, unknown> {
  const preset = PRESETS[name];
  if (!preset) {
    throw new UsageError({
      field,
      message: `unknown preset "${name}"; one of ${Object.keys(PRESETS).join(', ')}`,
    });
  }
  return { preset: name, ...structuredClone(preset.config) } as Record<string, unknown>;
}
