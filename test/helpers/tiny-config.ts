import type { RunConfigInput } from '../../src/config/schema.ts';

/**
 * x+y mod 31, 70% of pairs for training, MLP width 128 (one-hot, quadratic), AdamW lr 1e-2, wd 1:
 * memorizes by step ~50 and groks around step 250 (measured in train-e2e.test.ts). Fields can be
 * changed per test.
 */
export function tinyGrokkingConfig(
  options: {
    seed?: number;
    model?: RunConfigInput['model'];
    train?: Partial<RunConfigInput['train']>;
    eval?: Partial<RunConfigInput['eval']>;
  } = {},
): RunConfigInput {
  return {
    preset: 'tiny-grokking',
    seed: options.seed ?? 0,
    task: { kind: 'modular', op: 'add', p: 31, train_fraction: 0.7 },
    model: options.model ?? {
      kind: 'mlp',
      input: 'onehot',
      width: 128,
      depth: 1,
      activation: 'quadratic',
      init_scale: 1,
    },
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
      steps: 150,
      stop_test_acc: null,
      stop_patience: 1,
      ...options.train,
    },
    eval: { every: 10, log_points_per_decade: 5, checkpoint_every: 100, ...options.eval },
  };
}

/** A 1-layer transformer in Nanda et al.'s layout (no LayerNorm, ReLU, their init), d 32, 4 heads. */
export const TINY_NANDA_TRANSFORMER = {
  kind: 'transformer',
  layers: 1,
  d_model: 32,
  heads: 4,
  d_mlp: 128,
  activation: 'relu',
  layernorm: 'none',
  init_scale: 1,
  init: 'nanda',
} as const satisfies RunConfigInput['model'];
