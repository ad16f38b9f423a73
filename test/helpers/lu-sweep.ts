import { planSweep } from '../../src/sweep/expand.ts';
import { prepareSweep } from '../../src/sweep/prepare.ts';
import { parseSweepSpec } from '../../src/sweep/spec.ts';
import { FIXED_NORM_AXIS } from '../../src/sweep-report/lu.ts';
import { writeRunFiles } from './run-files.ts';
import { tinyGrokkingConfig } from './tiny-config.ts';

/**
 * A sweep over train.fixed_norm written by hand (no training): per norm, the final values every
 * seed is built around; the seeds scale them by SEED_FACTOR, so the medians are these values.
 */
export const LU_NORMS = [1, 3, 10, 30, 100];
export const LU_TRAIN_LOSS = [3.4, 3.0, 0.2, 1e-3, 1e-5];
export const LU_TEST_LOSS = [3.4, 3.2, 1.0, 2.5, 9];
export const LU_TEST_ACC = [0.03, 0.05, 0.8, 0.75, 0.1];
export const LU_TRAIN_ACC = [0.05, 0.1, 1, 1, 1];
export const SEED_FACTOR = [0.8, 1, 1.3];

/** The final values of the run at `norm` (an LU_NORMS value) and seed. */
export function luFinals(norm: number, seed: number) {
  const i = LU_NORMS.indexOf(norm);
  const f = SEED_FACTOR[seed];
  return {
    train_loss: LU_TRAIN_LOSS[i] * f,
    test_loss: LU_TEST_LOSS[i] * f,
    train_acc: LU_TRAIN_ACC[i],
    test_acc: Math.min(1, LU_TEST_ACC[i] * f),
  };
}

/**
 * Writes the sweep `name` (axis `norm`, 3 seeds) into runsDir: its manifest and one run folder per
 * cell with evaluations at steps 0, 50 and 100, only the last of which has the final values.
 */
export function writeLuSweep(runsDir: string, name: string): void {
  const spec = parseSweepSpec(
    {
      name,
      config: tinyGrokkingConfig({ train: { weight_decay: 0, fixed_norm: 1 } }),
      axes: { norm: LU_NORMS },
      seeds: 3,
    },
    { baseDir: runsDir },
  );
  const plan = planSweep(spec);
  prepareSweep(runsDir, plan);
  for (const cell of plan.cells) {
    const norm = cell.values[FIXED_NORM_AXIS] as number;
    const finals = luFinals(norm, cell.values.seed as number);
    const records = [0, 50, 100].map((step) =>
      step === 100
        ? { step, ...finals, weight_norm: norm }
        : { step, train_loss: 3.5, test_loss: 3.5, train_acc: 0.03, test_acc: 0.03, weight_norm: norm },
    );
    writeRunFiles(runsDir, cell.runId, cell.config, records);
  }
}
