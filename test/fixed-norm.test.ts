/**
 * train.fixed_norm (Omnigrok's constrained training): the projection against a float64 reference,
 * a training run that stays on the sphere at every evaluation and checkpoint, resume equal to an
 * uninterrupted run, and the config's checks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRunConfig, type RunConfigInput } from '../src/config/schema.ts';
import { Tensor } from '../src/engine/tensor.ts';
import { buildExperiment } from '../src/experiment/build.ts';
import { resumeRun, startRun } from '../src/runner/session.ts';
import { decodeSafetensors, type RunFolder } from '../src/runs/index.ts';
import { projectToNorm, totalNorm } from '../src/train/fixed-norm.ts';
import type { EvalRecord } from '../src/train/trainer.ts';
import { UsageError } from '../src/util/errors.ts';
import { tempDirs } from './helpers/temp-dirs.ts';
import { tinyGrokkingConfig } from './helpers/tiny-config.ts';

const tmpRunsDir = tempDirs('fixed-norm');

/**
 * Each projected value is x·(w/‖x‖) rounded once to float32, so it is within half an ulp, a relative
 * 2^-24, of the exact product; the norm of the rounded vector is then within 2^-24 of w as well.
 * The tolerance allows twice that for the float64 sums.
 */
const REL_TOL = 2 ** -23;

/** A seeded generator independent of the engine's (so the data owe nothing to the code under test). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomTensor(rand: () => number, size: number, scale: number): Tensor {
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = (rand() * 2 - 1) * scale;
  return new Tensor(data, [size], true);
}

/** ‖θ‖₂ in float64 with Kahan summation, element by element (a reference, not the code under test). */
function referenceNorm(tensors: readonly Float32Array[]): number {
  let sum = 0;
  let carry = 0;
  for (const d of tensors) {
    for (const x of d) {
      const y = x * x - carry;
      const t = sum + y;
      carry = t - sum - y;
      sum = t;
    }
  }
  return Math.sqrt(sum);
}

function records(run: RunFolder): EvalRecord[] {
  return run.readMetrics().records as unknown as EvalRecord[];
}

function withoutWall(list: readonly EvalRecord[]): Record<string, unknown>[] {
  return list.map(({ wall_s: _wall, ...rest }) => rest);
}

/** The parameters of a checkpoint, as float64 arrays by name. */
function checkpointParams(run: RunFolder, step: number): Map<string, Float32Array> {
  const { tensors } = decodeSafetensors(run.readCheckpoint(step));
  const out = new Map<string, Float32Array>();
  for (const [name, t] of Object.entries(tensors))
    if (name.startsWith('param.')) out.set(name, t.data as Float32Array);
  assert.ok(out.size > 0, `checkpoint ${step} of ${run.id} has parameters`);
  return out;
}

describe('projectToNorm', () => {
  it('scales every tensor by one factor so that the total norm is the target (float64 reference, tolerance 2^-23)', () => {
    const rand = lcg(7);
    // Tensors of very different sizes and scales, as a model's embedding, weights and biases are.
    const tensors = [randomTensor(rand, 1000, 3), randomTensor(rand, 37, 0.01), randomTensor(rand, 256, 40)];
    const before = tensors.map((t) => Float32Array.from(t.data as Float32Array));
    for (const target of [0.5, 11.7, 1234.5]) {
      for (const [i, t] of tensors.entries()) (t.data as Float32Array).set(before[i]);
      const factor = projectToNorm(tensors, target);
      const expectedFactor = target / referenceNorm(before);
      assert.ok(Math.abs(factor / expectedFactor - 1) < 1e-12, `factor ${factor} vs ${expectedFactor}`);
      const after = tensors.map((t) => t.data as Float32Array);
      const norm = referenceNorm(after);
      assert.ok(Math.abs(norm / target - 1) <= REL_TOL, `norm ${norm} for target ${target}`);
      assert.ok(Math.abs(totalNorm(tensors) / norm - 1) < 1e-12, 'totalNorm agrees with the reference');
      // The direction is kept: each value is the scaled one to float32 rounding.
      for (const [k, d] of after.entries()) {
        for (let i = 0; i < d.length; i++) {
          const exact = before[k][i] * expectedFactor;
          assert.ok(
            Math.abs(d[i] - exact) <= REL_TOL * Math.abs(exact),
            `tensor ${k}[${i}]: ${d[i]} vs ${exact}`,
          );
        }
      }
    }
  });

  it('leaves all-zero parameters alone (no direction to scale)', () => {
    const zero = new Tensor(new Float32Array(5), [5], true);
    assert.equal(projectToNorm([zero], 3), 1);
    assert.deepEqual([...(zero.data as Float32Array)], [0, 0, 0, 0, 0]);
  });
});

describe('training with train.fixed_norm', () => {
  // The tiny MLP starts at ‖θ‖ ≈ 7.3 and, unconstrained, grows to ≈ 55; at 40 it fits in 120 steps.
  const NORM = 40;
  const config = (train: Partial<RunConfigInput['train']> = {}) =>
    tinyGrokkingConfig({ train: { weight_decay: 0, fixed_norm: NORM, steps: 120, ...train } });

  it('keeps ‖θ‖ at fixed_norm at every evaluation and checkpoint, step 0 included', async () => {
    const runsDir = tmpRunsDir();
    const { run } = await startRun(runsDir, config(), { id: 'a' });
    const list = records(run);
    assert.equal(list[0].step, 0);
    assert.equal(list.at(-1)?.step, 120);
    for (const r of list) {
      assert.ok(Math.abs(r.weight_norm / NORM - 1) <= REL_TOL, `step ${r.step}: ‖θ‖ = ${r.weight_norm}`);
      // The per-tensor norms are not fixed, only their total: check that they add up.
      const fromTensors = Math.sqrt(Object.values(r.norms).reduce((s, n) => s + n * n, 0));
      assert.ok(Math.abs(fromTensors / r.weight_norm - 1) < 1e-12);
    }
    // It trains on the sphere: the loss falls well below chance (ln 31 ≈ 3.43).
    assert.ok((list.at(-1)?.train_loss ?? Number.POSITIVE_INFINITY) < 0.5, 'train loss falls');
    for (const step of run.listCheckpoints()) {
      const norm = referenceNorm([...checkpointParams(run, step).values()]);
      assert.ok(Math.abs(norm / NORM - 1) <= REL_TOL, `checkpoint ${step}: ‖θ‖ = ${norm}`);
    }
  });

  it('differs from the unconstrained run, whose norm drifts away from its start', async () => {
    const runsDir = tmpRunsDir();
    const free = records((await startRun(runsDir, config({ fixed_norm: null }), { id: 'free' })).run);
    const initial = free[0].weight_norm;
    assert.ok(Math.abs(initial - NORM) > 1, `the initial norm ${initial} is not already ${NORM}`);
    assert.ok(Math.abs((free.at(-1)?.weight_norm ?? 0) - initial) > 1e-3, 'the free norm moves');
  });

  it('equals the free trainer with a reference projection after every update and once at the start', () => {
    const parsed = parseRunConfig(config());
    const constrained = buildExperiment(parsed).createTrainer();
    const free = buildExperiment(parseRunConfig(config({ fixed_norm: null }))).createTrainer();
    const reference = (trainer: typeof free) => {
      const data = [...trainer.model.params.values()].map((p) => p.data as Float32Array);
      const factor = NORM / referenceNorm(data);
      for (const d of data) for (let i = 0; i < d.length; i++) d[i] = d[i] * factor;
    };
    reference(free);
    for (let s = 0; s < 8; s++) {
      constrained.trainStep();
      free.trainStep();
      reference(free);
      for (const [name, p] of constrained.model.params) {
        const a = p.data as Float32Array;
        const b = free.model.params.get(name)?.data as Float32Array;
        let worst = 0;
        let scale = 0;
        for (let i = 0; i < a.length; i++) {
          worst = Math.max(worst, Math.abs(a[i] - b[i]));
          scale = Math.max(scale, Math.abs(b[i]));
        }
        // Sums in another order can move a last bit; Adam carries that along, it does not blow it up.
        assert.ok(worst <= 1e-5 * scale, `step ${s + 1}, ${name}: max difference ${worst} (scale ${scale})`);
      }
    }
  });

  it('an interrupted run resumed in place equals an uninterrupted one (minibatches)', async () => {
    const runsDir = tmpRunsDir();
    const cfg = config({ batch_size: 256, steps: 150 });
    const a = (await startRun(runsDir, cfg, { id: 'a' })).run;
    const stopped = await startRun(runsDir, cfg, { id: 'b', hooks: { onStep: (step) => step === 77 } });
    assert.equal(stopped.reason, 'interrupted');
    const resumed = await resumeRun(runsDir, 'b');
    assert.equal(resumed.reason, 'budget');
    assert.deepEqual(withoutWall(records(resumed.run)), withoutWall(records(a)));
    const pa = checkpointParams(a, 150);
    const pb = checkpointParams(resumed.run, 150);
    for (const [name, data] of pa) assert.deepEqual(pb.get(name), data, name);
  });

  it('null is the same run as no field, bit for bit', async () => {
    const runsDir = tmpRunsDir();
    const absent = tinyGrokkingConfig({ train: { steps: 30 } });
    const off = tinyGrokkingConfig({ train: { steps: 30, fixed_norm: null } });
    const ra = records((await startRun(runsDir, absent, { id: 'absent' })).run);
    const rb = records((await startRun(runsDir, off, { id: 'off' })).run);
    assert.deepEqual(withoutWall(rb), withoutWall(ra));
  });
});

describe('train.fixed_norm in the config', () => {
  const problems = (fixed_norm: unknown) => {
    try {
      parseRunConfig(tinyGrokkingConfig({ train: { fixed_norm } as Partial<RunConfigInput['train']> }));
      return [];
    } catch (err) {
      assert.ok(err instanceof UsageError, String(err));
      return err.problems.map((p) => `${p.field}: ${p.message}`);
    }
  };

  it('takes a number > 0 or null, and names the field and what is allowed otherwise', () => {
    assert.deepEqual(problems(11.7), []);
    assert.deepEqual(problems(null), []);
    for (const bad of [0, -1]) {
      assert.deepEqual(
        problems(bad),
        ['train.fixed_norm: fixed_norm must be > 0 or null (off)'],
        String(bad),
      );
    }
    for (const bad of ['big', true, [1]]) {
      assert.deepEqual(
        problems(bad),
        ['train.fixed_norm: fixed_norm must be a number > 0 or null (off)'],
        String(bad),
      );
    }
  });

  it('is absent from configs written before it existed', () => {
    assert.equal(parseRunConfig(tinyGrokkingConfig()).train.fixed_norm, undefined);
    assert.equal('fixed_norm' in parseRunConfig(tinyGrokkingConfig()).train, false);
  });
});
