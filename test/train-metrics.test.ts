// eval.train_metrics: batches — train metrics from the batches trained since the last evaluation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRunConfig } from '../src/config/schema.ts';
import { resumeRun, startRun } from '../src/runner/session.ts';
import type { RunFolder } from '../src/runs/index.ts';
import type { EvalRecord } from '../src/train/trainer.ts';
import { UsageError } from '../src/util/errors.ts';
import { tempDirs } from './helpers/temp-dirs.ts';
import { tinyGrokkingConfig } from './helpers/tiny-config.ts';

const tmpRunsDir = tempDirs('groklab-train-metrics-');

function records(run: RunFolder): EvalRecord[] {
  return (run.readMetrics().records as unknown as EvalRecord[]).map(({ wall_s: _wall, ...rest }) => ({
    ...rest,
    wall_s: 0,
  }));
}

describe('eval.train_metrics', () => {
  it('batches, full batch, every step: the record at step s+1 holds the full-set scores of step s', async () => {
    const runsDir = tmpRunsDir();
    const steps = 30;
    const evalEvery = { every: 1, log_points_per_decade: 0 };
    const full = records(
      (await startRun(runsDir, tinyGrokkingConfig({ train: { steps }, eval: evalEvery }), { id: 'full' }))
        .run,
    );
    const batches = records(
      (
        await startRun(
          runsDir,
          tinyGrokkingConfig({ train: { steps }, eval: { ...evalEvery, train_metrics: 'batches' } }),
          { id: 'batches' },
        )
      ).run,
    );
    // The same training either way: test metrics and weights agree at every step.
    assert.deepEqual(
      batches.map((r) => [r.step, r.test_loss, r.test_acc, r.weight_norm]),
      full.map((r) => [r.step, r.test_loss, r.test_acc, r.weight_norm]),
    );
    // Step 0 scores the whole set; afterwards the one batch (the whole set) before its update.
    assert.deepEqual([batches[0].train_loss, batches[0].train_acc], [full[0].train_loss, full[0].train_acc]);
    for (let s = 0; s < steps; s++) {
      const scored = batches[s + 1];
      assert.equal(scored.train_loss, full[s].train_loss, `train_loss at ${s + 1}`);
      assert.equal(scored.train_acc, full[s].train_acc, `train_acc at ${s + 1}`);
      assert.equal(scored.softmax_collapse, full[s].softmax_collapse, `softmax_collapse at ${s + 1}`);
    }
  });

  it('batches, minibatches: the mean over the epoch of the batch scores; a resume mid-epoch continues the tally', async () => {
    const runsDir = tmpRunsDir();
    // 672 training examples in batches of 100: 7 steps per epoch, evaluated every 7.
    const config = tinyGrokkingConfig({
      train: { steps: 49, batch_size: 100 },
      eval: { every: 7, log_points_per_decade: 0, checkpoint_every: 100, train_metrics: 'batches' },
    });
    const whole = (await startRun(runsDir, config, { id: 'whole' })).run;
    const stopped = await startRun(runsDir, config, { id: 'b', hooks: { onStep: (step) => step === 17 } });
    assert.equal(stopped.reason, 'interrupted');
    const resumed = (await resumeRun(runsDir, 'b')).run;
    assert.deepEqual(records(resumed), records(whole));
    const accs = records(whole).map((r) => r.train_acc);
    assert.ok(accs.every((a) => a >= 0 && a <= 1));
    assert.ok(new Set(accs).size > 3, 'the batch accuracies change as the network learns');
  });

  it('names the field and the allowed values', () => {
    const config = tinyGrokkingConfig() as unknown as { eval: Record<string, unknown> };
    config.eval.train_metrics = 'epoch';
    assert.throws(
      () => parseRunConfig(config),
      (err: unknown) =>
        err instanceof UsageError &&
        err.problems.some(
          (p) =>
            p.field === 'eval.train_metrics' && p.message === 'train_metrics must be one of full, batches',
        ),
    );
  });
});
