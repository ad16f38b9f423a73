// Models' hook points (src/models/hooks.ts): the hooked path computes what the fast path computes, for
// every LayerNorm mode, input kind, bias option and activation; hooks see and replace activations; names
// are checked.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gradcheck } from '../src/engine/gradcheck.ts';
import { applyPattern, causalPattern, crossEntropy, scale } from '../src/engine/ops.ts';
import { noGrad, Tensor } from '../src/engine/tensor.ts';
import {
  buildModel,
  type Hook,
  type Model,
  type ModelIO,
  type ModelSpec,
  type TransformerSpec,
} from '../src/models/index.ts';
import { Rng } from '../src/util/rng.ts';

const io: ModelIO = { vocabSize: 8, seqLen: 3, numClasses: 7 };
const BATCH = 6;

function randomTokens(batch: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: batch * io.seqLen }, () => rng.int(io.vocabSize));
}

const transformer = (layernorm: TransformerSpec['layernorm'], activation: TransformerSpec['activation']) =>
  ({
    kind: 'transformer',
    layers: 2,
    d_model: 8,
    heads: 2,
    d_mlp: 12,
    activation,
    layernorm,
    init_scale: 1,
  }) satisfies ModelSpec;

const activations = ['relu', 'gelu', 'quadratic'] as const;
const LAYERNORMS = ['none', 'pre', 'post', 'pre_replace'] as const;
const SPECS: ModelSpec[] = [
  ...LAYERNORMS.flatMap((ln) => activations.map((a) => transformer(ln, a))),
  ...(['onehot', 'embed'] as const).flatMap((input) =>
    [true, false].flatMap((bias) =>
      activations.map(
        (activation): ModelSpec => ({
          kind: 'mlp',
          input,
          embed_dim: 3,
          width: 9,
          depth: 2,
          activation,
          init_scale: 1,
          // The default (absent) and bias false.
          ...(bias ? {} : { bias: false }),
        }),
      ),
    ),
  ),
];
const labelOf = (spec: ModelSpec) =>
  spec.kind === 'transformer'
    ? `transformer, layernorm ${spec.layernorm}, ${spec.activation}`
    : `MLP, ${spec.input} input, ${spec.activation}${spec.bias === false ? ', no bias' : ''}`;

function logitsOf(model: Model, tokens: Int32Array, options?: Parameters<Model['forward']>[2]): Float64Array {
  return Float64Array.from(noGrad(() => model.forward(tokens, BATCH, options)).data);
}

function largest(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

/**
 * float32: the hooked path rounds differently from the fused kernels (explicit attention in TypeScript,
 * every position computed), so each logit may differ by a few units in the last place of the largest
 * logit: the bound is 1e-5 of it (~80 ulps). float64: 1e-12.
 */
const TOLERANCE = { f32: 1e-5, f64: 1e-12 } as const;

describe('cached forward equals plain forward', () => {
  for (const spec of SPECS) {
    for (const dtype of ['f32', 'f64'] as const) {
      it(`${labelOf(spec)} (${dtype}, within ${TOLERANCE[dtype]} of the largest logit)`, () => {
        const model = buildModel(spec, io, 3, dtype);
        const tokens = randomTokens(BATCH, 5);
        const plain = logitsOf(model, tokens);
        const cache = new Map<string, Tensor>();
        const cached = logitsOf(model, tokens, { cache });
        const bound = TOLERANCE[dtype] * largest(plain);
        for (let i = 0; i < plain.length; i++) {
          assert.ok(Math.abs(cached[i] - plain[i]) <= bound, `logit ${i}: ${cached[i]} vs ${plain[i]}`);
        }
        // The cache holds every hook point, with its listed shape, and the logits site is the output.
        const points = model.hookPoints();
        assert.deepEqual([...cache.keys()].sort(), points.map((p) => p.name).sort());
        for (const p of points) assert.deepEqual(cache.get(p.name)?.shape, [BATCH, ...p.shape], p.name);
        assert.deepEqual(Float64Array.from(cache.get(model.roles().logits)?.data ?? []), cached);

        // Hooks that return their input change nothing, bit for bit.
        const identity: Record<string, Hook> = Object.fromEntries(
          points.map((p) => [p.name, (x: Tensor) => x]),
        );
        assert.deepEqual(logitsOf(model, tokens, { hooks: identity }), cached);
        // Options that ask for nothing keep the fast path.
        assert.deepEqual(logitsOf(model, tokens, {}), plain);
      });
    }
  }
});

describe('hooks that replace activations', () => {
  it('zeroing the last hidden activation of an MLP leaves the output bias as every logit', () => {
    const spec: ModelSpec = {
      kind: 'mlp',
      input: 'onehot',
      width: 9,
      depth: 2,
      activation: 'relu',
      init_scale: 1,
    };
    const model = buildModel(spec, io, 4, 'f64');
    const zero: Hook = (x) => scale(x, 0);
    const logits = logitsOf(model, randomTokens(BATCH, 6), { hooks: { 'layers.1.post': zero } });
    const bias = model.params.get('out.b') as Tensor;
    for (let i = 0; i < logits.length; i++) assert.equal(logits[i], bias.data[i % io.numClasses]);
    // Without biases nothing is left: every logit is 0.
    const unbiased = buildModel({ ...spec, bias: false }, io, 4, 'f64');
    const zeros = logitsOf(unbiased, randomTokens(BATCH, 6), { hooks: { 'layers.1.post': zero } });
    assert.deepEqual([...zeros], new Array(BATCH * io.numClasses).fill(0));
  });

  it('pre_replace: the stream after ln1 is the residual (zeroing attention and MLP leaves LN_f(LN1(x_last))·W_U, 1e-12)', () => {
    const spec = transformer('pre_replace', 'relu');
    const model = buildModel({ ...spec, layers: 1 }, io, 5, 'f64');
    const tokens = randomTokens(BATCH, 7);
    const zero: Hook = (x) => scale(x, 0);
    const cache = new Map<string, Tensor>();
    const logits = logitsOf(model, tokens, {
      cache,
      hooks: { 'blocks.0.attn_out': zero, 'blocks.0.mlp_out': zero },
    });
    const param = (n: string) => model.params.get(n) as Tensor;
    const d = spec.d_model;
    const layerNormOf = (x: number[], name: string) => {
      const mu = x.reduce((a, v) => a + v, 0) / d;
      const variance = x.reduce((a, v) => a + (v - mu) ** 2, 0) / d;
      return x.map(
        (v, j) =>
          ((v - mu) / Math.sqrt(variance + 1e-5)) * param(`${name}.gain`).data[j] +
          param(`${name}.bias`).data[j],
      );
    };
    for (let b = 0; b < BATCH; b++) {
      const t = io.seqLen - 1;
      const token = tokens[b * io.seqLen + t];
      const x = Array.from(
        { length: d },
        (_, j) => param('embed').data[token * d + j] + param('pos').data[t * d + j],
      );
      const h = layerNormOf(x, 'blocks.0.ln1');
      // The ln1 site holds h at every position, and the residual after the block is h itself.
      const site = cache.get('blocks.0.ln1') as Tensor;
      const post = cache.get('blocks.0.resid_post') as Tensor;
      for (let j = 0; j < d; j++) {
        assert.ok(Math.abs(site.data[(b * io.seqLen + t) * d + j] - h[j]) < 1e-12);
        assert.ok(Math.abs(post.data[(b * io.seqLen + t) * d + j] - h[j]) < 1e-12);
      }
      const final = layerNormOf(h, 'ln_final');
      for (let c = 0; c < io.numClasses; c++) {
        let expected = 0;
        for (let j = 0; j < d; j++) expected += final[j] * param('unembed').data[j * io.numClasses + c];
        assert.ok(Math.abs(logits[b * io.numClasses + c] - expected) < 1e-12, `example ${b} class ${c}`);
      }
    }
  });

  it('zeroing every attention and MLP output leaves (W_E[token] + W_pos[last])·W_U (layernorm none, 1e-12)', () => {
    const spec = transformer('none', 'relu');
    const model = buildModel(spec, io, 5, 'f64');
    const tokens = randomTokens(BATCH, 7);
    const zero: Hook = (x) => scale(x, 0);
    const hooks: Record<string, Hook> = {};
    for (let l = 0; l < spec.layers; l++) {
      hooks[`blocks.${l}.attn_out`] = zero;
      hooks[`blocks.${l}.mlp_out`] = zero;
    }
    const logits = logitsOf(model, tokens, { hooks });
    const [embed, pos, unembed] = ['embed', 'pos', 'unembed'].map((n) => model.params.get(n) as Tensor);
    const d = spec.d_model;
    for (let b = 0; b < BATCH; b++) {
      const token = tokens[b * io.seqLen + io.seqLen - 1];
      for (let c = 0; c < io.numClasses; c++) {
        let expected = 0;
        for (let j = 0; j < d; j++)
          expected +=
            (embed.data[token * d + j] + pos.data[(io.seqLen - 1) * d + j]) *
            unembed.data[j * io.numClasses + c];
        assert.ok(Math.abs(logits[b * io.numClasses + c] - expected) < 1e-12, `example ${b} class ${c}`);
      }
    }
  });

  it('a zero attention pattern is the same as zero attention values (bit for bit)', () => {
    const model = buildModel(transformer('pre', 'gelu'), io, 6, 'f64');
    const tokens = randomTokens(BATCH, 8);
    const zero: Hook = (x) => scale(x, 0);
    assert.deepEqual(
      logitsOf(model, tokens, { hooks: { 'blocks.1.attn.pattern': zero } }),
      logitsOf(model, tokens, { hooks: { 'blocks.1.attn.z': zero } }),
    );
  });

  it('hooks see the tokens and the batch of the pass', () => {
    const model = buildModel(transformer('none', 'relu'), io, 2);
    const tokens = randomTokens(BATCH, 9);
    let seen: { site: string; batch: number; tokens: Int32Array } | null = null;
    logitsOf(model, tokens, {
      hooks: {
        embed: (x, context) => {
          seen = context;
          return x;
        },
      },
    });
    assert.deepEqual(seen, { site: 'embed', tokens, batch: BATCH });
  });

  it('unknown names and misshapen replacements are errors', () => {
    const model = buildModel(transformer('none', 'relu'), io, 2);
    const tokens = randomTokens(BATCH, 9);
    assert.throws(
      () => logitsOf(model, tokens, { hooks: { 'blocks.0.mlp.hidden': (x) => x } }),
      /unknown hook point "blocks.0.mlp.hidden"/,
    );
    assert.throws(
      () => logitsOf(model, tokens, { cache: new Map(), cacheSites: ['ln_final'] }),
      /unknown hook point "ln_final"/,
    );
    assert.throws(() => logitsOf(model, tokens, { cacheSites: ['embed'] }), /cacheSites needs a cache/);
    assert.throws(
      () =>
        logitsOf(model, tokens, { hooks: { 'blocks.0.attn.pattern': () => Tensor.zeros([BATCH, 2, 3]) } }),
      /hook at blocks.0.attn.pattern returned f32 \[6,2,3\]; it must return f32 \[6,2,3,3\]/,
    );
    const mlp = buildModel(
      { kind: 'mlp', input: 'onehot', width: 4, depth: 1, activation: 'relu', init_scale: 1 },
      io,
      1,
    );
    assert.throws(() => logitsOf(mlp, tokens, { hooks: { embed: (x) => x } }), /unknown hook point "embed"/);
  });

  it('hook point names per model kind', () => {
    const names = (spec: ModelSpec) =>
      buildModel(spec, io, 1)
        .hookPoints()
        .map((p) => p.name);
    const block = (l: number) =>
      [
        'attn.q',
        'attn.k',
        'attn.v',
        'attn.pattern',
        'attn.z',
        'attn_out',
        'resid_mid',
        'mlp.pre',
        'mlp.post',
        'mlp_out',
        'resid_post',
      ].map((s) => `blocks.${l}.${s}`);
    assert.deepEqual(names(transformer('pre', 'relu')), [
      'embed',
      'pos',
      ...block(0),
      ...block(1),
      'ln_final',
      'logits',
    ]);
    assert.deepEqual(names(transformer('pre_replace', 'relu')), [
      'embed',
      'pos',
      'blocks.0.ln1',
      ...block(0),
      'blocks.1.ln1',
      ...block(1),
      'ln_final',
      'logits',
    ]);
    assert.deepEqual(names(transformer('post', 'relu')), [
      'embed',
      'pos',
      ...block(0),
      ...block(1),
      'logits',
    ]);
    assert.deepEqual(
      names({ kind: 'mlp', input: 'onehot', width: 4, depth: 2, activation: 'relu', init_scale: 1 }),
      ['layers.0.pre', 'layers.0.post', 'layers.1.pre', 'layers.1.post', 'logits'],
    );
    assert.deepEqual(
      names({
        kind: 'mlp',
        input: 'embed',
        embed_dim: 3,
        width: 4,
        depth: 1,
        activation: 'relu',
        init_scale: 1,
      }),
      ['embed', 'layers.0.pre', 'layers.0.post', 'logits'],
    );
  });

  it('roles name the parameters analysis reads', () => {
    const model = buildModel(transformer('pre', 'relu'), io, 1);
    const roles = model.roles();
    const param = (name: string) => model.params.get(name);
    assert.equal(roles.input.table, param('embed'));
    assert.equal(roles.unembed, param('unembed'));
    assert.equal(roles.blocks[1].wv, param('blocks.1.attn.wv'));
    assert.equal(roles.blocks[1].wo, param('blocks.1.attn.wo'));
    assert.equal(roles.blocks[1].win, param('blocks.1.mlp.w1'));
    assert.equal(roles.blocks[1].wout, param('blocks.1.mlp.w2'));
    const onehot = buildModel(
      { kind: 'mlp', input: 'onehot', width: 4, depth: 1, activation: 'relu', init_scale: 1 },
      io,
      1,
    );
    assert.deepEqual(
      { kind: onehot.roles().input.kind, site: onehot.roles().input.site },
      { kind: 'one-hot', site: 'layers.0.pre' },
    );
    assert.equal(onehot.roles().input.table, onehot.params.get('layers.0.w'));
    assert.equal(onehot.roles().unembed, onehot.params.get('out.w'));
    // bias false: the same roles, and weights only.
    for (const input of ['onehot', 'embed'] as const) {
      const unbiased = buildModel(
        {
          kind: 'mlp',
          input,
          embed_dim: 3,
          width: 4,
          depth: 2,
          activation: 'relu',
          init_scale: 1,
          bias: false,
        },
        io,
        1,
      );
      const r = unbiased.roles();
      assert.deepEqual(
        [...unbiased.params.keys()],
        [...(input === 'embed' ? ['embed'] : []), 'layers.0.w', 'layers.1.w', 'out.w'],
      );
      assert.equal(r.input.table, unbiased.params.get(input === 'embed' ? 'embed' : 'layers.0.w'));
      assert.equal(r.firstLayer, input === 'embed' ? unbiased.params.get('layers.0.w') : null);
      assert.equal(r.unembed, unbiased.params.get('out.w'));
      assert.deepEqual(
        r.hidden.map((h) => [h.pre, h.post]),
        [
          ['layers.0.pre', 'layers.0.post'],
          ['layers.1.pre', 'layers.1.post'],
        ],
      );
    }
    // pre_replace: the same parameters as pre, in the same roles.
    const replaced = buildModel(transformer('pre_replace', 'relu'), io, 1);
    assert.deepEqual([...replaced.params.keys()], [...model.params.keys()]);
    assert.equal(replaced.roles().blocks[1].win, replaced.params.get('blocks.1.mlp.w1'));
  });
});

describe('the hooked path is differentiable', () => {
  it('causalPattern and applyPattern gradients match finite differences', () => {
    const rng = new Rng(3);
    const param = (shape: number[]) =>
      Tensor.param(
        Float64Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.normal()),
        shape,
      );
    const [q, k, v] = [param([2, 3, 4]), param([2, 3, 4]), param([2, 3, 4])];
    const report = gradcheck(([a, b, c]) => applyPattern(causalPattern(a, b, 2), c, 2), [q, k, v]);
    assert.ok(report.worstRatio <= 1, JSON.stringify(report.worst));
    const pattern = param([2, 2, 3, 3]);
    const direct = gradcheck(([p, c]) => applyPattern(p, c, 2), [pattern, v]);
    assert.ok(direct.worstRatio <= 1, JSON.stringify(direct.worst));
  });

  for (const layernorm of LAYERNORMS) {
    it(`a transformer's loss through a replaced pattern (layernorm ${layernorm}) matches finite differences`, () => {
      const model = buildModel(transformer(layernorm, 'gelu'), io, 4, 'f64');
      const tokens = randomTokens(4, 12);
      const labels = Int32Array.from([0, 3, 6, 2]);
      // Halving the pattern keeps it differentiable in q and k.
      const hooks = { 'blocks.0.attn.pattern': (x: Tensor) => scale(x, 0.5) };
      const report = gradcheck(
        () => crossEntropy(model.forward(tokens, 4, { hooks }), labels),
        [...model.params.values()],
      );
      assert.ok(report.worstRatio <= 1, JSON.stringify(report.worst));
    });
  }
});
