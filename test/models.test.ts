// Models against an independent, deliberately plain float64 implementation (every position
// computed, per-example loops), whole-model gradients against finite differences, and float32
// models on the wasm kernels (activations in the model's arena) against the same model in float64.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { gradcheck } from '../src/engine/gradcheck.ts';
import { getKernels, useKernels as selectKernels, WasmKernels } from '../src/engine/kernels.ts';
import { wasmKernels } from '../src/engine/kernels-node.ts';
import { crossEntropy } from '../src/engine/ops.ts';
import { noGrad, type Tensor } from '../src/engine/tensor.ts';
import { buildModel, type ModelIO, type ModelSpec, type TransformerSpec } from '../src/models/index.ts';
import { buildTask } from '../src/tasks/index.ts';
import { Rng } from '../src/util/rng.ts';
import { assertTorch, PYTHON, SKIP_TORCH } from './helpers/torch.ts';

const io: ModelIO = { vocabSize: 8, seqLen: 3, numClasses: 7 };

function randomTokens(batch: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: batch * io.seqLen }, () => rng.int(io.vocabSize));
}

type Vec = number[];
const matVec = (x: Vec, w: Tensor, rows: number, cols: number): Vec =>
  Array.from({ length: cols }, (_, j) => {
    let s = 0;
    for (let i = 0; i < rows; i++) s += x[i] * w.data[i * cols + j];
    return s;
  });
const addVec = (a: Vec, b: Vec | Tensor): Vec => a.map((v, i) => v + (Array.isArray(b) ? b[i] : b.data[i]));
const act = (v: number, kind: string) =>
  kind === 'relu'
    ? Math.max(0, v)
    : kind === 'quadratic'
      ? v * v
      : 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
const layerNormVec = (x: Vec, g: Tensor, b: Tensor): Vec => {
  const mu = x.reduce((s, v) => s + v, 0) / x.length;
  const variance = x.reduce((s, v) => s + (v - mu) ** 2, 0) / x.length;
  return x.map((v, i) => ((v - mu) / Math.sqrt(variance + 1e-5)) * g.data[i] + b.data[i]);
};

/** Textbook transformer: all positions through all layers, answer read at the last one. */
function referenceLogits(
  spec: TransformerSpec,
  params: Map<string, Tensor>,
  tokens: Int32Array,
  b: number,
): Vec {
  const d = spec.d_model;
  const param = (name: string) => params.get(name) as Tensor;
  const ln = (x: Vec, name: string) => layerNormVec(x, param(`${name}.gain`), param(`${name}.bias`));
  let xs: Vec[] = [];
  for (let t = 0; t < io.seqLen; t++) {
    const tok = tokens[b * io.seqLen + t];
    xs.push(
      Array.from({ length: d }, (_, j) => param('embed').data[tok * d + j] + param('pos').data[t * d + j]),
    );
  }
  const dh = d / spec.heads;
  for (let l = 0; l < spec.layers; l++) {
    const name = `blocks.${l}`;
    const normed = spec.layernorm === 'pre' || spec.layernorm === 'pre_replace';
    const hs = normed ? xs.map((x) => ln(x, `${name}.ln1`)) : xs;
    // Grokfast's block: the normalized stream replaces the residual.
    if (spec.layernorm === 'pre_replace') xs = hs;
    const q = hs.map((h) => matVec(h, param(`${name}.attn.wq`), d, d));
    const k = hs.map((h) => matVec(h, param(`${name}.attn.wk`), d, d));
    const v = hs.map((h) => matVec(h, param(`${name}.attn.wv`), d, d));
    const attended = xs.map((_, i) => {
      const out = new Array<number>(d).fill(0);
      for (let h = 0; h < spec.heads; h++) {
        const scores = [];
        for (let j = 0; j <= i; j++) {
          let s = 0;
          for (let c = 0; c < dh; c++) s += q[i][h * dh + c] * k[j][h * dh + c];
          scores.push(s / Math.sqrt(dh));
        }
        const max = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - max));
        const z = e.reduce((a, c) => a + c, 0);
        for (let j = 0; j <= i; j++)
          for (let c = 0; c < dh; c++) out[h * dh + c] += (e[j] / z) * v[j][h * dh + c];
      }
      return out;
    });
    xs = xs.map((x, i) => addVec(x, matVec(attended[i], param(`${name}.attn.wo`), d, d)));
    if (spec.layernorm === 'post') xs = xs.map((x) => ln(x, `${name}.ln1`));
    const ms = normed ? xs.map((x) => ln(x, `${name}.ln2`)) : xs;
    xs = xs.map((x, i) => {
      const hidden = addVec(
        matVec(ms[i], param(`${name}.mlp.w1`), d, spec.d_mlp),
        param(`${name}.mlp.b1`),
      ).map((z) => act(z, spec.activation));
      return addVec(
        addVec(x, matVec(hidden, param(`${name}.mlp.w2`), spec.d_mlp, d)),
        param(`${name}.mlp.b2`),
      );
    });
    if (spec.layernorm === 'post') xs = xs.map((x) => ln(x, `${name}.ln2`));
  }
  let last = xs[io.seqLen - 1];
  if (spec.layernorm === 'pre' || spec.layernorm === 'pre_replace') last = ln(last, 'ln_final');
  return matVec(last, param('unembed'), d, io.numClasses);
}

const variants: Array<Partial<TransformerSpec>> = [
  { layers: 1, layernorm: 'none', activation: 'relu' },
  { layers: 2, layernorm: 'pre', activation: 'gelu' },
  { layers: 2, layernorm: 'post', activation: 'quadratic' },
  { layers: 1, layernorm: 'pre_replace', activation: 'relu' },
  { layers: 2, layernorm: 'pre_replace', activation: 'gelu' },
];

for (const v of variants) {
  const spec: TransformerSpec = {
    kind: 'transformer',
    layers: 1,
    d_model: 8,
    heads: 2,
    d_mlp: 12,
    activation: 'relu',
    layernorm: 'none',
    init_scale: 1,
    ...v,
  };
  const label = `${spec.layers} layer(s), layernorm ${spec.layernorm}, ${spec.activation}`;

  test(`transformer (${label}) matches the all-positions reference to 1e-10`, () => {
    const model = buildModel(spec, io, 3, 'f64');
    const tokens = randomTokens(5, 11);
    const logits = noGrad(() => model.forward(tokens, 5));
    for (let b = 0; b < 5; b++) {
      const ref = referenceLogits(spec, model.params, tokens, b);
      for (let c = 0; c < io.numClasses; c++) {
        assert.ok(Math.abs(logits.data[b * io.numClasses + c] - ref[c]) < 1e-10, `example ${b} class ${c}`);
      }
    }
  });

  test(`transformer (${label}) loss gradient matches finite differences`, () => {
    const model = buildModel(spec, io, 4, 'f64');
    const tokens = randomTokens(4, 12);
    const labels = Int32Array.from([0, 3, 6, 2]);
    const params = [...model.params.values()];
    const report = gradcheck(() => crossEntropy(model.forward(tokens, 4), labels), params);
    assert.ok(report.worstRatio <= 1, JSON.stringify(report.worst));
  });
}

for (const bias of [true, false]) {
  test(`MLP with one-hot input equals the explicit one-hot matrix product (bias ${bias})`, () => {
    const model = buildModel(
      { kind: 'mlp', input: 'onehot', width: 6, depth: 2, activation: 'quadratic', init_scale: 1, bias },
      io,
      5,
      'f64',
    );
    const tokens = randomTokens(3, 13);
    const logits = noGrad(() => model.forward(tokens, 3));
    const param = (name: string) => model.params.get(name) as Tensor;
    // Without biases the layers are plain products: add nothing.
    const plus = (x: Vec, name: string) => (bias ? addVec(x, param(name)) : x);
    for (let b = 0; b < 3; b++) {
      const onehot = new Array<number>(io.seqLen * io.vocabSize).fill(0);
      for (let t = 0; t < io.seqLen; t++) onehot[t * io.vocabSize + tokens[b * io.seqLen + t]] = 1;
      let h = plus(matVec(onehot, param('layers.0.w'), onehot.length, 6), 'layers.0.b').map((z) => z * z);
      h = plus(matVec(h, param('layers.1.w'), 6, 6), 'layers.1.b').map((z) => z * z);
      const ref = plus(matVec(h, param('out.w'), 6, io.numClasses), 'out.b');
      for (let c = 0; c < io.numClasses; c++)
        assert.ok(Math.abs(logits.data[b * io.numClasses + c] - ref[c]) < 1e-10);
    }
  });
}

test('MLP bias: absent is true, bit for bit, with the names of every existing model; false has weights only', () => {
  const spec: ModelSpec = {
    kind: 'mlp',
    input: 'embed',
    embed_dim: 3,
    width: 5,
    depth: 2,
    activation: 'relu',
    init_scale: 1,
  };
  const absent = buildModel(spec, io, 7);
  const explicit = buildModel({ ...spec, bias: true }, io, 7);
  const names = ['embed', 'layers.0.w', 'layers.0.b', 'layers.1.w', 'layers.1.b', 'out.w', 'out.b'];
  assert.deepEqual([...absent.params.keys()], names);
  for (const [name, p] of absent.params) assert.deepEqual(explicit.params.get(name)?.data, p.data, name);
  const tokens = randomTokens(4, 3);
  assert.deepEqual(
    noGrad(() => explicit.forward(tokens, 4)).data,
    noGrad(() => absent.forward(tokens, 4)).data,
  );
  const unbiased = buildModel({ ...spec, bias: false }, io, 7);
  assert.deepEqual([...unbiased.params.keys()], ['embed', 'layers.0.w', 'layers.1.w', 'out.w']);
  // The embedding and first weight are drawn before any bias, so they are the biased model's.
  for (const name of ['embed', 'layers.0.w'])
    assert.deepEqual(unbiased.params.get(name)?.data, absent.params.get(name)?.data, name);
});

test("layernorm 'pre_replace' has pre's parameters, names and initial values, and computes something else", () => {
  const spec: TransformerSpec = {
    kind: 'transformer',
    layers: 2,
    d_model: 8,
    heads: 2,
    d_mlp: 12,
    activation: 'gelu',
    layernorm: 'pre',
    init_scale: 1,
  };
  const pre = buildModel(spec, io, 5);
  const replaced = buildModel({ ...spec, layernorm: 'pre_replace' }, io, 5);
  assert.deepEqual([...replaced.params.keys()], [...pre.params.keys()]);
  for (const [name, p] of pre.params) assert.deepEqual(replaced.params.get(name)?.data, p.data, name);
  const tokens = randomTokens(4, 3);
  assert.notDeepEqual(
    noGrad(() => replaced.forward(tokens, 4)).data,
    noGrad(() => pre.forward(tokens, 4)).data,
  );
});

for (const [input, bias] of [
  ['onehot', true],
  ['embed', true],
  ['onehot', false],
  ['embed', false],
] as const) {
  test(`MLP (${input}, bias ${bias}) loss gradient matches finite differences`, () => {
    const model = buildModel(
      { kind: 'mlp', input, embed_dim: 3, width: 5, depth: 2, activation: 'relu', init_scale: 1, bias },
      io,
      6,
      'f64',
    );
    const tokens = randomTokens(4, 14);
    const labels = Int32Array.from([1, 4, 0, 6]);
    const report = gradcheck(
      () => crossEntropy(model.forward(tokens, 4), labels),
      [...model.params.values()],
    );
    assert.ok(report.worstRatio <= 1, JSON.stringify(report.worst));
  });
}

test('init_scale α multiplies every initial weight', () => {
  const spec: TransformerSpec = {
    kind: 'transformer',
    layers: 1,
    d_model: 8,
    heads: 2,
    d_mlp: 12,
    activation: 'relu',
    layernorm: 'pre',
    init_scale: 1,
  };
  const base = buildModel(spec, io, 9);
  const scaled = buildModel({ ...spec, init_scale: 3 }, io, 9);
  for (const [name, p] of base.params) {
    const q = scaled.params.get(name) as Tensor;
    const isNorm = name.includes('ln');
    for (let i = 0; i < p.size; i++) {
      const expected = isNorm ? p.data[i] : Math.fround(p.data[i] * 3);
      assert.ok(Math.abs(q.data[i] - expected) <= 1e-6 * Math.abs(expected) + 1e-7, `${name}[${i}]`);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Float32 on the wasm kernels

/** Runs `fn` with the wasm kernels (whatever GROKLAB_KERNELS says), then restores the kernels. */
function onWasm<T>(fn: (kernels: WasmKernels) => T): T {
  const before = getKernels();
  const wasm = before instanceof WasmKernels ? before : wasmKernels();
  assert.ok(wasm, 'the wasm kernels load on Node');
  selectKernels(wasm);
  try {
    return fn(wasm);
  } finally {
    selectKernels(before);
  }
}

/** Loss, logits and parameter gradients of one forward/backward pass. */
function pass(model: ReturnType<typeof buildModel>, tokens: Int32Array, labels: Int32Array) {
  for (const p of model.params.values()) p.grad = null;
  const logits = model.forward(tokens, labels.length);
  const loss = crossEntropy(logits, labels);
  loss.backward();
  return {
    loss: loss.item(),
    logits: Float64Array.from(logits.data),
    grads: [...model.params.values()].map((p) => Float64Array.from(p.grad ?? [])),
  };
}

const float32Specs: ModelSpec[] = [
  {
    kind: 'transformer',
    layers: 1,
    d_model: 12,
    heads: 3,
    d_mlp: 20,
    activation: 'relu',
    layernorm: 'none',
    init_scale: 1,
  },
  {
    kind: 'transformer',
    layers: 2,
    d_model: 16,
    heads: 4,
    d_mlp: 24,
    activation: 'gelu',
    layernorm: 'pre',
    init_scale: 1,
  },
  {
    kind: 'transformer',
    layers: 2,
    d_model: 8,
    heads: 2,
    d_mlp: 12,
    activation: 'quadratic',
    layernorm: 'post',
    init_scale: 1,
  },
  {
    kind: 'transformer',
    layers: 2,
    d_model: 16,
    heads: 4,
    d_mlp: 24,
    activation: 'gelu',
    layernorm: 'pre_replace',
    init_scale: 1,
  },
  { kind: 'mlp', input: 'onehot', width: 10, depth: 2, activation: 'quadratic', init_scale: 1 },
  { kind: 'mlp', input: 'embed', embed_dim: 3, width: 9, depth: 2, activation: 'relu', init_scale: 1 },
  { kind: 'mlp', input: 'onehot', width: 10, depth: 2, activation: 'relu', init_scale: 1, bias: false },
  {
    kind: 'mlp',
    input: 'embed',
    embed_dim: 3,
    width: 9,
    depth: 2,
    activation: 'gelu',
    init_scale: 1,
    bias: false,
  },
];

for (const spec of float32Specs) {
  const label = JSON.stringify(spec);
  test(`float32 on the wasm kernels matches the float64 model: ${label}`, () => {
    onWasm(() => {
      const tokens = randomTokens(9, 21);
      const labels = Int32Array.from([0, 3, 6, 2, 5, 1, 4, 6, 0]);
      const reference = pass(buildModel(spec, io, 8, 'f64'), tokens, labels);
      const model = buildModel(spec, io, 8, 'f32');
      // Twice: the first pass sizes the model's arena, the second runs in it.
      pass(model, tokens, labels);
      const got = pass(model, tokens, labels);
      const close = (a: Float64Array, b: Float64Array, what: string) => {
        let scale = 0;
        for (const v of a) scale = Math.max(scale, Math.abs(v));
        for (let i = 0; i < a.length; i++) {
          assert.ok(Math.abs(a[i] - b[i]) <= 5e-5 * scale + 1e-7, `${what}[${i}]: ${b[i]} vs ${a[i]}`);
        }
      };
      assert.ok(Math.abs(got.loss - reference.loss) < 1e-5 * Math.abs(reference.loss));
      close(reference.logits, got.logits, 'logits');
      for (const [i, g] of reference.grads.entries()) close(g, got.grads[i], `gradient ${i}`);
    });
  });
}

test("a model's logits outlive its next forward pass; its activations do not", () => {
  onWasm(() => {
    const spec: TransformerSpec = {
      kind: 'transformer',
      layers: 2,
      d_model: 8,
      heads: 2,
      d_mlp: 12,
      activation: 'relu',
      layernorm: 'pre',
      init_scale: 1,
    };
    const model = buildModel(spec, io, 2);
    const labels = Int32Array.from([1, 2, 3]);
    model.forward(randomTokens(3, 1), 3); // sizes the arena
    const first = model.forward(randomTokens(3, 2), 3);
    const saved = Float32Array.from(first.data);
    const second = model.forward(randomTokens(3, 3), 3);
    assert.deepEqual([...first.data], [...saved], 'the first logits are unchanged');
    assert.notDeepEqual([...second.data], [...saved]);
    assert.throws(() => crossEntropy(first, labels).backward(), /earlier forward pass/);
    crossEntropy(second, labels).backward();
  });
});

test('training steps reuse the arena: wasm memory stops growing after the first steps', () => {
  onWasm((kernels) => {
    const spec: TransformerSpec = {
      kind: 'transformer',
      layers: 1,
      d_model: 16,
      heads: 4,
      d_mlp: 32,
      activation: 'relu',
      layernorm: 'none',
      init_scale: 1,
    };
    const model = buildModel(spec, io, 3);
    const tokens = randomTokens(64, 4);
    const labels = Int32Array.from({ length: 64 }, (_, i) => i % io.numClasses);
    const sizes: number[] = [];
    for (let step = 0; step < 5; step++) {
      pass(model, tokens, labels);
      sizes.push(kernels.memoryBytes());
    }
    assert.equal(sizes[4], sizes[2], `memory after each step: ${sizes}`);
  });
});

test("init 'nanda': every matrix N(0, 1/fan_in), embedding and positions N(0, 1/d), zero biases", () => {
  const spec: TransformerSpec = {
    kind: 'transformer',
    layers: 1,
    d_model: 64,
    heads: 4,
    d_mlp: 256,
    activation: 'relu',
    layernorm: 'none',
    init_scale: 1,
    init: 'nanda',
  };
  const model = buildModel(spec, { vocabSize: 98, seqLen: 3, numClasses: 97 }, 0);
  const rmsOf = (data: ArrayLike<number>) => {
    let sum = 0;
    for (let i = 0; i < data.length; i++) sum += data[i] * data[i];
    return Math.sqrt(sum / data.length);
  };
  const std = (name: string) => {
    const data = model.params.get(name)!.data;
    return { rms: rmsOf(data), n: data.length };
  };
  // Closed form: the sample RMS of n draws of N(0, σ²) is σ within a relative error of ~1/√(2n);
  // 5 standard errors is far beyond chance and far below the factor √3 (uniform) or 8 (N(0,1)) it guards.
  for (const [name, sigma] of [
    ['embed', 1 / 8],
    ['pos', 1 / 8],
    ['blocks.0.attn.wq', 1 / 8],
    ['blocks.0.attn.wo', 1 / 8],
    ['blocks.0.mlp.w1', 1 / 8],
    ['blocks.0.mlp.w2', 1 / 16],
    ['unembed', 1 / 8],
  ] as const) {
    const { rms, n } = std(name);
    assert.ok(Math.abs(rms / sigma - 1) < 5 / Math.sqrt(2 * n), `${name}: rms ${rms} vs σ ${sigma}`);
  }
  for (const name of ['blocks.0.mlp.b1', 'blocks.0.mlp.b2'])
    assert.ok(
      model.params.get(name)!.data.every((v) => v === 0),
      `${name} is zero`,
    );
  // The default stays PyTorch's: embedding N(0, 1).
  const pytorch = buildModel({ ...spec, init: undefined }, { vocabSize: 98, seqLen: 3, numClasses: 97 }, 0);
  const e = pytorch.params.get('embed')!.data;
  const rms = rmsOf(e);
  assert.ok(Math.abs(rms - 1) < 5 / Math.sqrt(2 * e.length), `pytorch embed rms ${rms}`);
});

// ---------------------------------------------------------------------------------------------
// Grokfast's Decoder in PyTorch (test/peers/torch_block_check.py)

const TORCH_PEER = path.resolve(import.meta.dirname, 'peers/torch_block_check.py');

/**
 * groklab computes in float32 and the peer in float64 from the same float32 weights, so the
 * difference is groklab's rounding: each logit and each gradient element within 1e-5 of its tensor's
 * largest magnitude (about 80 float32 ulps of it, the bound test/interop.test.ts uses for logits;
 * measured: 2.8e-7 for the logits, at most 6.6e-7 for a gradient), the loss within 1e-6 relative (measured: 7e-9).
 * The exact erf GELU (Grokfast's nn.GELU()) moves these logits by 3.7e-5 of the largest, so the
 * check tells the two activations apart (asserted below).
 */
const TORCH_TOLERANCE = { relative: 1e-5, loss: 1e-6 } as const;

test("'pre_replace' transformer (Grokfast's block, GELU, [x, op, y, =]) matches Grokfast's Decoder in float64 PyTorch: logits, loss and gradients", {
  skip: SKIP_TORCH,
}, () => {
  assertTorch();
  // Grokfast's data, small: x·y mod 13 with y ≠ 0 as [x, op, y, =]; every example is one batch.
  const task = buildTask({
    kind: 'modular',
    op: 'mul',
    p: 13,
    train_fraction: 0.5,
    sequence: 'x_op_y_eq',
    nonzero_y: true,
  });
  const spec: TransformerSpec = {
    kind: 'transformer',
    layers: 2,
    d_model: 32,
    heads: 4,
    d_mlp: 128,
    activation: 'gelu',
    layernorm: 'pre_replace',
    init_scale: 1,
  };
  const model = buildModel(spec, task, 11);
  const batch = task.numExamples;
  const logits = model.forward(task.inputs, batch);
  const loss = crossEntropy(logits, task.labels);
  loss.backward();

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'groklab-torch-block-'));
  try {
    const input = path.join(dir, 'in.json');
    const output = path.join(dir, 'out.json');
    const rows = Array.from({ length: batch }, (_, b) =>
      Array.from(task.inputs.subarray(b * task.seqLen, (b + 1) * task.seqLen)),
    );
    fs.writeFileSync(
      input,
      JSON.stringify({
        layers: spec.layers,
        d_model: spec.d_model,
        heads: spec.heads,
        d_mlp: spec.d_mlp,
        vocab: task.vocabSize,
        seq_len: task.seqLen,
        classes: task.numClasses,
        params: Object.fromEntries(
          [...model.params].map(([name, p]) => [name, { shape: p.shape, data: Array.from(p.data) }]),
        ),
        tokens: rows,
        labels: Array.from(task.labels),
      }),
    );
    const r = spawnSync(PYTHON, [TORCH_PEER, input, output], { encoding: 'utf8' });
    assert.equal(r.status, 0, `torch_block_check.py failed:\n${r.stderr}`);
    const peer = JSON.parse(fs.readFileSync(output, 'utf8')) as {
      logits: number[];
      loss: number;
      grads: Record<string, number[]>;
      erf_gelu_max_logit_diff: number;
    };

    const close = (ours: ArrayLike<number>, theirs: number[], what: string) => {
      assert.equal(ours.length, theirs.length, `${what}: sizes differ`);
      const scale = theirs.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assert.ok(scale > 0, `${what} is all zeros in the peer`);
      let worst = 0;
      for (let i = 0; i < theirs.length; i++) worst = Math.max(worst, Math.abs(ours[i] - theirs[i]));
      assert.ok(
        worst <= TORCH_TOLERANCE.relative * scale,
        `${what}: max |Δ| ${worst} > ${TORCH_TOLERANCE.relative} × ${scale}`,
      );
      return worst / scale;
    };
    close(logits.data, peer.logits, 'logits');
    assert.ok(
      Math.abs(loss.item() - peer.loss) <= TORCH_TOLERANCE.loss * peer.loss,
      `loss ${loss.item()} vs ${peer.loss}`,
    );
    assert.deepEqual(Object.keys(peer.grads).sort(), [...model.params.keys()].sort());
    for (const [name, p] of model.params) close(p.grad ?? [], peer.grads[name], `gradient of ${name}`);
    // The exact erf GELU (Grokfast's nn.GELU()) would fail this check: the test sees the activation.
    const logitScale = peer.logits.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.ok(
      peer.erf_gelu_max_logit_diff > 2 * TORCH_TOLERANCE.relative * logitScale,
      `erf GELU moves the logits by only ${peer.erf_gelu_max_logit_diff}`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
