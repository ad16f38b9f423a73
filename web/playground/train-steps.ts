/**
 * A few training steps of a small configuration, recording the train loss after each one: the
 * computation the browser playground (main.ts) and its Node twin (test/browser.test.ts) run to
 * show that the same engine and the same .wasm give the same numbers in both.
 *
 * Browser-safe: the config schema and the experiment builder touch nothing of Node. Kernels are
 * whatever getKernels() returns: on Node the default loader, in a browser those set with
 * useKernels() beforehand.
 */
import { PRESETS } from '../../src/config/presets.ts';
import { parseRunConfig, type RunConfigInput } from '../../src/config/schema.ts';
import { buildExperiment } from '../../src/experiment/build.ts';

/** What trainSteps needs of a run config (a preset's `config` fits). */
export type TrainStepsConfig = Pick<
  RunConfigInput,
  'seed' | 'split_seed' | 'task' | 'model' | 'train' | 'eval'
>;

const evalEvery = { every: 100, log_points_per_decade: 10, checkpoint_every: 1000 } as const;

/**
 * The configurations the playground trains. `demo` is the `demo` preset (x+y mod 47, one-hot MLP,
 * quadratic activation, AdamW, full batch); `tiny-transformer` is a 1-layer
 * transformer with GELU and pre-LayerNorm on minibatches, so that exp, tanh/erf, sqrt and the
 * minibatch sampler are all exercised.
 */
export const PLAYGROUND_CONFIGS: Record<string, TrainStepsConfig> = {
  demo: PRESETS.demo.config,
  'tiny-transformer': {
    seed: 7,
    task: { kind: 'modular', op: 'add', p: 23, train_fraction: 0.5 },
    model: {
      kind: 'transformer',
      layers: 1,
      d_model: 32,
      heads: 2,
      d_mlp: 64,
      activation: 'gelu',
      layernorm: 'pre',
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
      warmup_steps: 2,
      batch_size: 64,
      loss: 'cross_entropy',
      stop_test_acc: null,
      stop_patience: 1,
      steps: 1000,
    },
    eval: evalEvery,
  },
};

/** Training steps each configuration runs in the playground and the test. */
export const PLAYGROUND_STEPS = 16;

/**
 * Builds the configuration's experiment (as `groklab train` does, without a run folder), runs
 * `steps` optimizer steps, and returns the train loss evaluated after each
 * (Trainer.evaluate().train_loss: the mean loss over the whole training set).
 */
export function trainSteps(config: TrainStepsConfig, steps: number): number[] {
  const trainer = buildExperiment(parseRunConfig(config)).createTrainer();
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    trainer.trainStep();
    losses.push(trainer.evaluate().train_loss);
  }
  return losses;
}

/** The binary64 bits of x as 16 hex digits. */
export function float64Bits(x: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  return view.getBigUint64(0).toString(16).padStart(16, '0');
}
