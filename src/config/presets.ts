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
};
