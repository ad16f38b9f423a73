/**
 * Built-in sweep specs, run with `groklab sweep --preset NAME`. Each is an ordinary spec object (the
 * same keys as a spec file, see spec.ts and docs/sweeps.md); its name defaults to the preset name.
 */
import type { SweepSpecInput } from './spec.ts';

export interface SweepPreset {
  description: string;
  spec: SweepSpecInput;
}

export const SWEEP_PRESETS: Record<string, SweepPreset> = {
  tiny: {
    description:
      'x+y mod 31 with a small MLP: weight decay 0.3 and 1 × 2 seeds, 200 steps each (a few seconds per run); tries out the sweep machinery',
    spec: {
      config: {
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
      },
      axes: { wd: [0.3, 1] },
      seeds: 2,
    },
  },
};
