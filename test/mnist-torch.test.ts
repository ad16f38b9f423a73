// groklab's MNIST training (preset omnigrok-mnist, made small) against Omnigrok's own in float64
// PyTorch (test/peers/torch_omnigrok_check.py): the same initial weights, images and batches, trained
// step by step; the loss of every step and the final parameters compared.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { PRESETS } from '../src/config/presets.ts';
import { parseRunConfig } from '../src/config/schema.ts';
import { mseOneHot } from '../src/engine/ops.ts';
import { noGrad } from '../src/engine/tensor.ts';
import { buildExperiment } from '../src/experiment/build.ts';
import { MinibatchSchedule } from '../src/train/data.ts';
import { assertTorch, PYTHON, SKIP_TORCH } from './helpers/torch.ts';

const TORCH_PEER = path.resolve(import.meta.dirname, 'peers/torch_omnigrok_check.py');

const STEPS = 30;

/**
 * groklab trains in float32, the peer in float64 from the same float32 initial weights and the same
 * images (Omnigrok's float64 bytes/255), so the two runs part only by groklab's rounding, which Adam
 * carries from step to step. Measured (30 steps, 400 images, batch 100, α = 8; the same with
 * GROKLAB_KERNELS js, wasm and wasm-simd): every step's loss within 1.3e-7 relative (step 1, the
 * forward pass alone: 1.1e-8); each final parameter tensor within 3.2e-5 (layers.1.w; the others
 * 0.5–1.6e-5) of that tensor's largest movement over training (max |θ_30 − θ_0|, about 0.03 at
 * weights of up to 8/√200 ≈ 0.57; measured against the movement, not the weights, so that the
 * updates themselves are compared). Tolerances: 1e-6 relative for the losses, 2e-4 of the movement
 * for the parameters.
 *
 * The check sees the hyperparameters: in the peer, weight decay 0 instead of 0.01 moves the losses
 * by 1.6e-3 relative (1600× the tolerance) and the parameters by 2.1e-2 of their movement (100×);
 * α = 7 instead of 8 moves the losses by 1.6 relative and the parameters by 1.04 of their movement.
 * Both are asserted below to lie at least 10× outside the tolerances.
 */
const TOLERANCE = { loss: 1e-6, params: 2e-4 } as const;

test("omnigrok-mnist trains as Omnigrok's notebook does in float64 PyTorch: the loss of every step and the final parameters", {
  skip: SKIP_TORCH,
}, (t) => {
  assertTorch();
  const preset = PRESETS['omnigrok-mnist'].config;
  const config = parseRunConfig({
    ...preset,
    task: { kind: 'mnist', train_size: 400, test_size: 100 },
    model: { ...preset.model, init_scale: 8 },
    train: { ...preset.train, batch_size: 100, steps: STEPS },
  });
  const { train } = config;
  assert.equal(config.model.kind, 'mlp');
  assert.equal(train.optimizer, 'adamw');
  assert.equal(train.loss, 'mse');
  assert.equal(train.warmup_steps, 0, 'the peer trains at a constant learning rate, as Omnigrok');
  const experiment = buildExperiment(config);
  const { task } = experiment;
  const features = task.features;
  assert.ok(features, 'mnist gives its pixels as features');

  const model = experiment.createModel();
  const initial = Object.fromEntries(
    [...model.params].map(([name, p]) => [name, { shape: [...p.shape], data: Array.from(p.data) }]),
  );
  // Every batch the trainer draws, and its loss as training computes it: the trainer's forward pass
  // goes through here, and mseOneHot of its logits is the loss trainStep backpropagates.
  const position = new Map(Array.from(experiment.train.tokens, (token, i) => [token, i]));
  const batches: number[][] = [];
  const losses: number[] = [];
  const forward = model.forward.bind(model);
  model.forward = (tokens, batch, options) => {
    const logits = forward(tokens, batch, options);
    const labels = Int32Array.from(tokens, (t) => task.labels[t]);
    batches.push(Array.from(tokens, (t) => position.get(t) ?? -1));
    losses.push(noGrad(() => mseOneHot(logits, labels).item()));
    return logits;
  };
  const trainer = experiment.createTrainer(model);
  const start = performance.now();
  for (let s = 0; s < STEPS; s++) trainer.trainStep();
  const ms = performance.now() - start;
  assert.equal(losses.length, STEPS, 'one forward pass per step');
  // Every batch holds training examples only, and they are groklab's minibatch schedule's.
  assert.ok(
    batches.every((b) => b.length === train.batch_size && b.every((i) => i >= 0)),
    'full batches of training examples',
  );
  const schedule = new MinibatchSchedule(experiment.train, train.batch_size as number, config.seed);
  batches.forEach((batch, s) => {
    assert.deepEqual(
      batch,
      Array.from(schedule.batchFor(s + 1).tokens, (t) => position.get(t)),
    );
  });

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'groklab-torch-omnigrok-'));
  try {
    const input = path.join(dir, 'in.json');
    const output = path.join(dir, 'out.json');
    const { dim, values } = features;
    fs.writeFileSync(
      input,
      JSON.stringify({
        width: config.model.width,
        depth: config.model.depth,
        classes: task.numClasses,
        init_scale: config.model.init_scale,
        params: initial,
        images: Array.from(experiment.train.tokens, (t) =>
          Array.from(values.subarray(t * dim, (t + 1) * dim)),
        ),
        labels: Array.from(experiment.train.labels),
        batches,
        lr: train.lr,
        beta1: train.beta1,
        beta2: train.beta2,
        eps: train.eps,
        weight_decay: train.weight_decay,
        variants: { no_weight_decay: { weight_decay: 0 }, alpha_7: { init_scale: 7 } },
      }),
    );
    const r = spawnSync(PYTHON, [TORCH_PEER, input, output], { encoding: 'utf8' });
    assert.equal(r.status, 0, `torch_omnigrok_check.py failed:\n${r.stderr}`);
    const peer = JSON.parse(fs.readFileSync(output, 'utf8')) as {
      losses: number[];
      params: Record<string, number[]>;
      variants: Record<string, { losses: number[]; params: Record<string, number[]> }>;
      torch_init_std: Record<string, number>;
    };

    // Largest relative difference of the losses, and per tensor the largest difference of the final
    // parameters over the tensor's largest movement in the peer's run.
    const lossDiff = (theirs: number[]) => {
      assert.equal(theirs.length, STEPS);
      return Math.max(...theirs.map((v, s) => Math.abs(losses[s] - v) / Math.abs(v)));
    };
    const paramDiffs = (theirs: Record<string, number[]>) => {
      assert.deepEqual(Object.keys(theirs).sort(), [...model.params.keys()].sort());
      const out: Record<string, number> = {};
      for (const [name, p] of model.params) {
        const before = initial[name].data;
        assert.equal(theirs[name].length, p.size, `${name}: sizes differ`);
        let moved = 0;
        let worst = 0;
        theirs[name].forEach((v, i) => {
          moved = Math.max(moved, Math.abs(v - before[i]));
          worst = Math.max(worst, Math.abs(p.data[i] - v));
        });
        assert.ok(moved > 0, `${name} did not move in the peer`);
        out[name] = worst / moved;
      }
      return out;
    };

    const measured = { loss: lossDiff(peer.losses), params: paramDiffs(peer.params) };
    t.diagnostic(`measured: ${JSON.stringify(measured)}; groklab took ${ms.toFixed(0)} ms`);
    assert.ok(losses[STEPS - 1] < losses[0] / 5, `the loss falls: ${losses[0]} → ${losses[STEPS - 1]}`);
    assert.ok(measured.loss <= TOLERANCE.loss, `losses differ by ${measured.loss} relative`);
    for (const [name, d] of Object.entries(measured.params)) {
      assert.ok(d <= TOLERANCE.params, `${name}: final parameters differ by ${d} of their movement`);
    }

    // The check can fail: each variant of the peer's run lies far outside the tolerances.
    for (const [name, variant] of Object.entries(peer.variants)) {
      const loss = lossDiff(variant.losses);
      const params = Math.max(...Object.values(paramDiffs(variant.params)));
      t.diagnostic(`peer variant ${name}: losses ${loss} relative, parameters ${params} of their movement`);
      assert.ok(loss > 10 * TOLERANCE.loss, `${name}: losses differ by only ${loss}`);
      assert.ok(params > 10 * TOLERANCE.params, `${name}: parameters differ by only ${params}`);
    }

    // groklab's initialization is Omnigrok's in distribution: PyTorch's U(−1/√fan_in, 1/√fan_in),
    // every parameter × α. Each weight matrix's spread matches a fresh PyTorch init × α (the
    // smallest, out.w, has 2000 entries: its sample std is within ~1% of the true one).
    const alpha = config.model.init_scale;
    for (const [name, p] of model.params) {
      const fanIn = name.endsWith('.w') ? p.shape[0] : initial[name.replace(/\.b$/, '.w')].shape[0];
      const bound = alpha / Math.sqrt(fanIn);
      const largest = initial[name].data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assert.ok(largest <= bound, `${name}: max |θ₀| ${largest} above α/√fan_in = ${bound}`);
      const theirs = peer.torch_init_std[name];
      if (theirs === undefined) continue;
      const data = initial[name].data;
      const mean = data.reduce((a, v) => a + v, 0) / data.length;
      const std = Math.sqrt(data.reduce((a, v) => a + (v - mean) ** 2, 0) / (data.length - 1));
      assert.ok(Math.abs(std / theirs - 1) < 0.05, `${name}: std ${std}, PyTorch × α ${theirs}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
