// Prieto et al.'s levers and measures ("Grokking at the Edge of Numerical Stability"): StableMax and
// float64 cross-entropy against closed forms written out by hand, the softmax-collapse count on
// logits built to collapse on some kernels and not others, ⊥Grad against a float64 projection
// computed here, nlm_cosine against the gradient of a step taken by hand, and tiny seeded runs.
// Gradients against finite differences: engine-grad.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRunConfig, type RunConfigInput } from '../src/config/schema.ts';
import { getKernels, jsKernels, type Kernels, withKernels } from '../src/engine/kernels.ts';
import { wasmKernels } from '../src/engine/kernels-node.ts';
import {
  crossEntropy,
  crossEntropyFloat64,
  crossEntropyFloat64Score,
  crossEntropyScore,
  type LossScore,
  stablemaxCrossEntropy,
  stablemaxCrossEntropyScore,
} from '../src/engine/ops.ts';
import { type Data, Tensor } from '../src/engine/tensor.ts';
import { buildExperiment } from '../src/experiment/build.ts';
import { createOptimizer, orthogonalize } from '../src/train/optimizers.ts';
import type { TrainSpec } from '../src/train/spec.ts';
import type { EvalRecord } from '../src/train/trainer.ts';
import { UsageError } from '../src/util/errors.ts';
import { Rng } from '../src/util/rng.ts';
import { tinyGrokkingConfig } from './helpers/tiny-config.ts';

const logitsOf = (rows: number[][], dtype: 'f32' | 'f64' = 'f32') =>
  Tensor.from(rows.flat(), [rows.length, rows[0].length], dtype);
const paramOf = (rows: number[][], dtype: 'f32' | 'f64' = 'f32') => {
  const t = logitsOf(rows, dtype);
  return Tensor.param(t.data, t.shape);
};

/** Both wasm builds that run here, and the TypeScript kernels, each once. */
function allKernels(): Kernels[] {
  const found = [getKernels(), wasmKernels(), wasmKernels({ simd128Only: true }), jsKernels()];
  const byName = new Map<string, Kernels>();
  for (const k of found) if (k !== null && !byName.has(k.name)) byName.set(k.name, k);
  return [...byName.values()];
}

// ---------------------------------------------------------------------------------------------
// StableMax and float64 cross-entropy against closed forms

// s = [3, 1/2, 1] (S = 9/2) twice, then s = [1/4, 3/2, 2] (S = 15/4).
const SM_ROWS = [
  [2, -1, 0],
  [2, -1, 0],
  [-3, 0.5, 1],
];
const SM_LABELS = Int32Array.from([0, 1, 2]);
// −log p[label]: p = 3/(9/2) = 2/3, (1/2)/(9/2) = 1/9, 2/(15/4) = 8/15.
const SM_LOSS = (Math.log(3 / 2) + Math.log(9) + Math.log(15 / 8)) / 3;
// ∂/∂x_j (log S − log s_label) = s′(x_j)(1/S − [j = label]/s_label), s′ = 1 (x ≥ 0) or s² (x < 0);
// then divided by the 3 rows.
const SM_GRAD = [
  [2 / 9 - 1 / 3, 1 / 4 / (9 / 2), 2 / 9],
  [2 / 9, (1 / 4) * (2 / 9 - 2), 2 / 9],
  [(1 / 16) * (4 / 15), 4 / 15, 4 / 15 - 1 / 2],
].map((row) => row.map((v) => v / 3));

test('StableMax cross-entropy of known logits equals its closed form (float64 to 1e-15, float32 to its rounding)', () => {
  const x64 = paramOf(SM_ROWS, 'f64');
  const loss64 = stablemaxCrossEntropy(x64, SM_LABELS);
  assert.ok(Math.abs(loss64.item() - SM_LOSS) <= 1e-15 * SM_LOSS, `${loss64.item()} vs ${SM_LOSS}`);
  loss64.backward();
  const g64 = x64.grad as Data;
  SM_GRAD.flat().forEach((want, i) => {
    assert.ok(Math.abs(g64[i] - want) <= 1e-15, `gradient ${i}: ${g64[i]} vs ${want}`);
  });

  // From float32 logits: the same float64 arithmetic, rounded to float32 only at the end.
  const x32 = paramOf(SM_ROWS);
  const loss32 = stablemaxCrossEntropy(x32, SM_LABELS);
  assert.equal(loss32.item(), Math.fround(loss64.item()));
  loss32.backward();
  assert.deepEqual(Array.from(x32.grad as Data), Array.from(g64, Math.fround));
});

test('float64 cross-entropy equals log Σ e^x − x[label] written out, its gradient (p − onehot)/N rounded to float32', () => {
  const rows = [
    [1, 2, 3],
    [0.5, -4, 2.25],
  ];
  const labels = Int32Array.from([2, 0]);
  const closed = (row: number[], label: number) =>
    Math.log(row.reduce((s, v) => s + Math.exp(v), 0)) - row[label];
  const want = (closed(rows[0], 2) + closed(rows[1], 0)) / 2;
  const x64 = paramOf(rows, 'f64');
  const loss64 = crossEntropyFloat64(x64, labels);
  assert.ok(Math.abs(loss64.item() - want) <= 1e-15 * want, `${loss64.item()} vs ${want}`);
  loss64.backward();
  const g64 = x64.grad as Data;
  rows.forEach((row, r) => {
    const z = row.reduce((s, v) => s + Math.exp(v), 0);
    row.forEach((v, j) => {
      const g = (Math.exp(v) / z - (j === labels[r] ? 1 : 0)) / 2;
      assert.ok(Math.abs(g64[r * 3 + j] - g) <= 1e-15, `gradient [${r}, ${j}]: ${g64[r * 3 + j]} vs ${g}`);
    });
  });
  const x32 = paramOf(rows);
  const loss32 = crossEntropyFloat64(x32, labels);
  assert.equal(loss32.item(), Math.fround(loss64.item()));
  loss32.backward();
  assert.deepEqual(Array.from(x32.grad as Data), Array.from(g64, Math.fround));
  // And it is the float32 cross-entropy's value, to float32 rounding.
  const f32 = crossEntropy(logitsOf(rows), labels).item();
  assert.ok(Math.abs(f32 - loss32.item()) <= 1e-6 * want, `${f32} vs ${loss32.item()}`);
});

test("each loss's score gives the op's value bit for bit, on every kernel", () => {
  const rng = new Rng(11);
  const rows = Array.from({ length: 37 }, () => Array.from({ length: 13 }, () => rng.normal() * 4));
  const labels = Int32Array.from({ length: 37 }, (_, i) => (i * 5) % 13);
  const pairs: Array<[(x: Tensor, y: Int32Array) => Tensor, (x: Tensor, y: Int32Array) => LossScore]> = [
    [crossEntropy, crossEntropyScore],
    [crossEntropyFloat64, crossEntropyFloat64Score],
    [stablemaxCrossEntropy, stablemaxCrossEntropyScore],
  ];
  for (const kernels of allKernels()) {
    withKernels(kernels, () => {
      for (const [op, score] of pairs) {
        assert.equal(
          score(logitsOf(rows), labels).loss,
          op(logitsOf(rows), labels).item(),
          `${op.name} on ${kernels.name}`,
        );
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// The softmax-collapse count

// Label 0 throughout. With 3 other logits at 0, z = 1 + 3e^{−m} for a margin m: float32 rounds it to
// 1 from m ≈ 17 on, float64 from m ≈ 38 on. StableMax's p = (m + 1)/(m + 4) never rounds to 1
// unless the other logits are enormous and negative (s ≈ 1e-30).
const COLLAPSE_ROWS: Record<string, number[]> = {
  margin5: [5, 0, 0, 0],
  margin20: [20, 0, 0, 0],
  margin40: [40, 0, 0, 0],
  margin200: [200, 0, 0, 0],
  wrong: [0, 200, 0, 0],
  othersHuge: [1000, -1e30, -1e30, -1e30],
  // z = 2, but the kernel's float64 sum 2^60 + log 2 rounds to 2^60: its loss is 0.
  absorbed: [2 ** 60, 2 ** 60, 0, 0],
};
const NAMES = Object.keys(COLLAPSE_ROWS);
const COLLAPSE_LOGITS = () => logitsOf(NAMES.map((k) => COLLAPSE_ROWS[k]));
const ZEROS = new Int32Array(NAMES.length);

function zeroRowsOneByOne(op: (x: Tensor, y: Int32Array) => Tensor): string[] {
  return NAMES.filter((k) => op(logitsOf([COLLAPSE_ROWS[k]]), new Int32Array(1)).item() === 0);
}

test('the collapse count is the rows whose loss, computed as training computes it, is exactly 0', () => {
  const floatZ = ['margin20', 'margin40', 'margin200', 'othersHuge', 'absorbed'];
  const doubleZ = ['margin40', 'margin200', 'othersHuge', 'absorbed'];
  for (const kernels of allKernels()) {
    withKernels(kernels, () => {
      // The wasm kernel sums z in float32, the TypeScript one in float64 (z = 1 + 6e-9 at margin 20).
      const want = kernels.name === 'js' ? doubleZ : floatZ;
      assert.deepEqual(zeroRowsOneByOne(crossEntropy), want, `${kernels.name}: the kernel's own row losses`);
      assert.equal(crossEntropyScore(COLLAPSE_LOGITS(), ZEROS).zeroLossRows, want.length, kernels.name);
    });
  }
  const float64 = ['margin40', 'margin200', 'othersHuge'];
  assert.deepEqual(zeroRowsOneByOne(crossEntropyFloat64), float64);
  assert.equal(crossEntropyFloat64Score(COLLAPSE_LOGITS(), ZEROS).zeroLossRows, float64.length);
  assert.deepEqual(zeroRowsOneByOne(stablemaxCrossEntropy), ['othersHuge']);
  assert.equal(stablemaxCrossEntropyScore(COLLAPSE_LOGITS(), ZEROS).zeroLossRows, 1);
});

// ---------------------------------------------------------------------------------------------
// ⊥Grad

/** The ⊥Grad gradient in float64 throughout: g − (g·w/w·w)w, rescaled to ‖g‖. */
function projectedFloat64(g: ArrayLike<number>, w: ArrayLike<number>): Float64Array {
  const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i] * b[i];
    return s;
  };
  const c = dot(g, w) / dot(w, w);
  const out = Float64Array.from(g, (v, i) => v - c * w[i]);
  const k = Math.sqrt(dot(g, g)) / Math.sqrt(dot(out, out));
  return out.map((v) => v * k);
}

const norm = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0));

test('⊥Grad leaves each gradient orthogonal to its parameter with its norm kept (float64 reference, 1e-6)', () => {
  const rng = new Rng(5);
  for (const size of [2, 17, 300]) {
    const w = Float32Array.from({ length: size }, () => rng.normal());
    // Mostly along w, as in a model's late training, so the projection removes most of g.
    const g = Float32Array.from(w, (v) => 3 * v + 0.1 * rng.normal());
    const before = Float32Array.from(g);
    orthogonalize(g, w);
    const want = projectedFloat64(before, w);
    const gNorm = norm(before);
    let dot = 0;
    for (let i = 0; i < size; i++) {
      dot += g[i] * w[i];
      assert.ok(Math.abs(g[i] - want[i]) <= 1e-6 * gNorm, `size ${size}, [${i}]: ${g[i]} vs ${want[i]}`);
    }
    assert.ok(Math.abs(dot) <= 1e-6 * gNorm * norm(w), `size ${size}: g·w = ${dot}`);
    assert.ok(Math.abs(norm(g) - gNorm) <= 1e-6 * gNorm, `size ${size}: ‖g‖ ${norm(g)} vs ${gNorm}`);
  }
  // A zero parameter (a bias at initialization) keeps its gradient as it was.
  const g = Float32Array.from([0.5, -2, 3]);
  orthogonalize(g, new Float32Array(3));
  assert.deepEqual(Array.from(g), [0.5, -2, 3]);
});

const SPEC: TrainSpec = {
  optimizer: 'sgd',
  lr: 0.1,
  weight_decay: 0,
  beta1: 0.9,
  beta2: 0.98,
  eps: 1e-8,
  momentum: 0,
  warmup_steps: 0,
  batch_size: 'full',
  loss: 'cross_entropy',
  steps: 10,
  stop_test_acc: null,
  stop_patience: 1,
};

function twoParams(rng: Rng): Map<string, Tensor> {
  const params = new Map<string, Tensor>();
  for (const [name, size] of [
    ['a', 6],
    ['b', 9],
  ] as const) {
    const p = Tensor.param(
      Float32Array.from({ length: size }, () => rng.normal()),
      [size],
    );
    p.grad = Float32Array.from(p.data, (v) => 2 * v + rng.normal());
    params.set(name, p);
  }
  return params;
}

test('⊥Grad projects per tensor: SGD steps along each projected gradient', () => {
  const params = twoParams(new Rng(8));
  const before = new Map(
    [...params].map(([k, p]) => [k, { w: Float32Array.from(p.data), g: Float32Array.from(p.grad as Data) }]),
  );
  createOptimizer({ ...SPEC, orthogonal_grad: true }, params).step(SPEC.lr);
  for (const [name, p] of params) {
    const { w, g } = before.get(name) as { w: Float32Array; g: Float32Array };
    const want = projectedFloat64(g, w);
    for (let i = 0; i < w.length; i++) {
      const step = (w[i] - p.data[i]) / SPEC.lr;
      assert.ok(Math.abs(step - want[i]) <= 1e-5 * norm(g), `${name}[${i}]: ${step} vs ${want[i]}`);
    }
  }
});

test('⊥Grad comes before the L2 term: Adam with it equals Adam on the projected gradient, bit for bit', () => {
  for (const optimizer of ['adam', 'adamw', 'sgd'] as const) {
    const spec = { ...SPEC, optimizer, weight_decay: 0.3, momentum: 0.5 };
    const withOrtho = twoParams(new Rng(9));
    const byHand = twoParams(new Rng(9));
    for (const p of byHand.values()) orthogonalize(p.grad as Data, p.data);
    const a = createOptimizer({ ...spec, orthogonal_grad: true }, withOrtho);
    const b = createOptimizer(spec, byHand);
    for (let step = 0; step < 3; step++) {
      a.step(0.01);
      b.step(0.01);
      for (const [name, p] of withOrtho) {
        const q = byHand.get(name) as Tensor;
        assert.deepEqual(Array.from(p.data), Array.from(q.data), `${optimizer} ${name} step ${step}`);
        // The next step's gradient, the same for both before the projection.
        const g = Float32Array.from(p.data, (v, i) => v * 0.5 + i * 0.01);
        p.grad = Float32Array.from(g);
        q.grad = g;
        orthogonalize(q.grad, q.data);
      }
    }
    const plain = twoParams(new Rng(9));
    createOptimizer(spec, plain).step(0.01);
    assert.notDeepEqual(
      Array.from((plain.get('a') as Tensor).data),
      Array.from((withOrtho.get('a') as Tensor).data),
    );
  }
});

// ---------------------------------------------------------------------------------------------
// Config

test('config: loss, loss_precision and orthogonal_grad are checked and optional', () => {
  const problems = (train: Record<string, unknown>) => {
    try {
      parseRunConfig(tinyGrokkingConfig({ train } as Parameters<typeof tinyGrokkingConfig>[0]));
      return [];
    } catch (err) {
      assert.ok(err instanceof UsageError, String(err));
      return err.problems.map((p) => `${p.field}: ${p.message}`);
    }
  };
  assert.deepEqual(problems({ loss: 'softmax' }), [
    'train.loss: loss must be one of cross_entropy, mse, stablemax_cross_entropy',
  ]);
  assert.deepEqual(problems({ loss_precision: 'float16' }), [
    'train.loss_precision: loss_precision must be one of float32, float64',
  ]);
  assert.deepEqual(problems({ orthogonal_grad: 'yes' }), [
    'train.orthogonal_grad: orthogonal_grad must be true or false',
  ]);
  assert.match(
    problems({ loss: 'mse', loss_precision: 'float64' }).join('\n'),
    /^train\.loss_precision: .*cross_entropy/,
  );
  assert.deepEqual(
    problems({ loss: 'stablemax_cross_entropy', loss_precision: 'float64', orthogonal_grad: true }),
    [],
  );
  // A config written before the fields existed reads back without them.
  const old = parseRunConfig(tinyGrokkingConfig());
  assert.equal(old.train.loss_precision, undefined);
  assert.equal(old.train.orthogonal_grad, undefined);
});

// ---------------------------------------------------------------------------------------------
// Training with the levers, and the two measures

const EVAL = { every: 4, log_points_per_decade: 0, checkpoint_every: 100 };

function tinyRun(train: Partial<RunConfigInput['train']>, steps = 12) {
  const config = parseRunConfig(
    tinyGrokkingConfig({ train: { steps, warmup_steps: 0, ...train }, eval: EVAL }),
  );
  return buildExperiment(config);
}

async function records(train: Partial<RunConfigInput['train']>): Promise<Array<Omit<EvalRecord, 'wall_s'>>> {
  const out: Array<Omit<EvalRecord, 'wall_s'>> = [];
  await tinyRun(train)
    .createTrainer()
    .run({
      onEval: ({ wall_s: _wall, ...rest }) => {
        out.push(rest);
      },
    });
  return out;
}

test('nlm_cosine is cos(−g, θ) of the raw gradient of the step just taken (⊥Grad and L2 on)', async () => {
  const train = { optimizer: 'adam', weight_decay: 0.5, orthogonal_grad: true } as const;
  const logged = await records(train);
  assert.deepEqual(
    logged.map((r) => r.step),
    [0, 4, 8, 12],
  );
  assert.equal(logged[0].nlm_cosine, undefined, 'absent at step 0');

  // Step 8 by hand: seven trainer steps, then the eighth's gradient.
  const experiment = tinyRun(train);
  const model = experiment.createModel();
  const trainer = experiment.createTrainer(model);
  for (let s = 0; s < 7; s++) trainer.trainStep();
  for (const p of model.params.values()) p.zeroGrad();
  crossEntropy(
    model.forward(experiment.train.tokens, experiment.train.count),
    experiment.train.labels,
  ).backward();
  const g: number[] = [];
  const theta: number[] = [];
  for (const p of model.params.values()) {
    g.push(...Array.from(p.grad ?? new Float32Array(p.size)));
    theta.push(...Array.from(p.data));
  }
  const cosine = -g.reduce((s, v, i) => s + v * theta[i], 0) / (norm(g) * norm(theta));
  const measured = logged[2].nlm_cosine as number;
  assert.ok(Math.abs(measured - cosine) <= 1e-12, `${measured} vs ${cosine}`);
  // After the projection the cosine would be 0: it was measured before.
  assert.ok(Math.abs(cosine) > 1e-3, `cosine ${cosine}`);
});

test('a tiny run with each new option gives the same bits twice, and differs from the default run', async () => {
  const base = await records({});
  for (const r of base) {
    assert.ok(r.softmax_collapse !== undefined && r.softmax_collapse >= 0 && r.softmax_collapse <= 1);
    if (r.step > 0) assert.ok(r.nlm_cosine !== undefined && Math.abs(r.nlm_cosine) <= 1);
  }
  const variants: Array<Partial<RunConfigInput['train']>> = [
    { loss: 'stablemax_cross_entropy' },
    { loss_precision: 'float64' },
    { orthogonal_grad: true },
    { orthogonal_grad: true, optimizer: 'adam' },
    { orthogonal_grad: true, optimizer: 'sgd', lr: 0.5, momentum: 0.9 },
  ];
  for (const train of variants) {
    const first = await records(train);
    assert.deepEqual(await records(train), first, JSON.stringify(train));
    // The option is used: the parameters move differently (float64 cross-entropy only in their last bits).
    assert.notEqual(
      first[first.length - 1].weight_norm,
      base[base.length - 1].weight_norm,
      JSON.stringify(train),
    );
    assert.ok(
      first.every((r) => r.softmax_collapse !== undefined && (r.step === 0 || r.nlm_cosine !== undefined)),
    );
  }
  const mse = await records({ loss: 'mse' });
  assert.ok(mse.every((r) => r.softmax_collapse === undefined));
  assert.ok(mse.slice(1).every((r) => r.nlm_cosine !== undefined));
});
