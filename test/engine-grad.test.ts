// Every op's gradient against central finite differences in float64 (tolerance: see gradcheck.ts;
// a ratio ≤ 1 means |analytic − numeric| ≤ 1e-7 + 1e-6·|numeric|; in float64 the ops run the kernel
// table's references, so this checks their gradients too), then the float32 loops of the wasm
// kernels, and of the references (GROKLAB_KERNELS=js), against those float64 ops (values and
// gradients), on the heap and in an arena, and the lifetime rules of arena storage. Each kernel
// against its reference: engine-kernel-table.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withArena } from '../src/engine/arena.ts';
import { compareFloat32, gradcheck, randomParam } from '../src/engine/gradcheck.ts';
import { getKernels, jsKernels, type Kernels, withKernels } from '../src/engine/kernels.ts';
import { wasmKernels } from '../src/engine/kernels-node.ts';
import {
  add,
  causalAttention,
  crossEntropy,
  crossEntropyFloat64,
  embedRows,
  gather,
  gatherSum,
  gelu,
  layerNorm,
  linear,
  logSoftmax,
  matmul,
  mean,
  mseOneHot,
  mul,
  relu,
  reshape,
  scale,
  softmax,
  square,
  stablemaxCrossEntropy,
  sub,
  sum,
  sumLast,
  takePosition,
} from '../src/engine/ops.ts';
import { opResult, Tensor } from '../src/engine/tensor.ts';
import { Rng } from '../src/util/rng.ts';

const rng = new Rng(2024);
const p = (...shape: number[]) => randomParam(shape, rng);

function check(name: string, f: (x: Tensor[]) => Tensor, inputs: Tensor[]): void {
  test(`gradient of ${name}`, () => {
    const report = gradcheck(f, inputs);
    assert.ok(
      report.worstRatio <= 1,
      `${name}: worst ${JSON.stringify(report.worst)} ratio ${report.worstRatio}`,
    );
  });
}

for (const [transA, transB] of [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
]) {
  const a = transA ? p(4, 3) : p(3, 4);
  const b = transB ? p(5, 4) : p(4, 5);
  check(`matmul transA=${transA} transB=${transB}`, ([x, y]) => matmul(x, y, { transA, transB }), [a, b]);
}
check('linear (x·W + bias)', ([x, w, b]) => linear(x, w, b), [p(5, 3), p(3, 4), p(4)]);
check('add (same shape)', ([x, y]) => add(x, y), [p(3, 4), p(3, 4)]);
check('add (bias broadcast)', ([x, y]) => add(x, y), [p(2, 3, 4), p(4)]);
check('add (middle-axis broadcast)', ([x, y]) => add(x, y), [p(2, 3, 4), p(2, 1, 4)]);
check('add (both sides broadcast)', ([x, y]) => add(x, y), [p(3, 1), p(1, 4)]);
check('sub', ([x, y]) => sub(x, y), [p(3, 4), p(4)]);
check('mul (broadcast)', ([x, y]) => mul(x, y), [p(2, 3, 4), p(3, 1)]);
check('scale', ([x]) => scale(x, -2.5), [p(5)]);
check('relu', ([x]) => relu(x), [p(4, 5)]);
check('gelu', ([x]) => gelu(x), [p(4, 5)]);
check('square (quadratic activation)', ([x]) => square(x), [p(4, 5)]);
check('softmax', ([x]) => softmax(x), [p(3, 6)]);
check('logSoftmax', ([x]) => logSoftmax(x), [p(3, 6)]);
check('sum', ([x]) => sum(x), [p(3, 4)]);
check('mean', ([x]) => mean(x), [p(3, 4)]);
check('sumLast', ([x]) => sumLast(x), [p(2, 3, 4)]);
check('reshape', ([x]) => reshape(x, [4, 3]), [p(2, 6)]);
check('takePosition', ([x]) => takePosition(x, -1), [p(3, 4, 5)]);
check('layerNorm', ([x, g, b]) => layerNorm(x, g, b), [p(3, 2, 6), p(6), p(6)]);

const labels = Int32Array.from([2, 0, 4, 1]);
check('crossEntropy', ([x]) => crossEntropy(x, labels), [p(4, 5)]);
check('mseOneHot', ([x]) => mseOneHot(x, labels), [p(4, 5)]);
check('crossEntropyFloat64', ([x]) => crossEntropyFloat64(x, labels), [p(4, 5)]);
check('stablemaxCrossEntropy', ([x]) => stablemaxCrossEntropy(x, labels), [p(4, 5)]);
// Logits of either sign well away from 0 (s(x) = x + 1 above, 1/(1 − x) below), and large ones.
check('stablemaxCrossEntropy (logits of scale 5)', ([x]) => stablemaxCrossEntropy(x, labels), [
  randomParam([4, 5], rng, 5),
]);

const ids = Int32Array.from([3, 0, 3, 5, 1, 3]);
check('gather (repeated ids scatter-add)', ([t]) => gather(t, ids, [2, 3]), [p(6, 4)]);
check('embedRows (all positions)', ([t, pos]) => embedRows(t, pos, ids, 2, 3, false), [p(6, 4), p(3, 4)]);
check('embedRows (last position)', ([t, pos]) => embedRows(t, pos, ids, 2, 3, true), [p(6, 4), p(3, 4)]);
check('gatherSum (one-hot product)', ([t]) => gatherSum(t, ids, 2, 3, 6), [p(18, 4)]);
check('gatherSum + bias + quadratic', ([t, b]) => gatherSum(t, ids, 2, 3, 6, b, 'quadratic'), [
  p(18, 4),
  p(4),
]);

check('causalAttention (all positions)', ([q, k, v]) => causalAttention(q, k, v, 2).out, [
  p(2, 3, 4),
  p(2, 3, 4),
  p(2, 3, 4),
]);
check('causalAttention (last position only)', ([q, k, v]) => causalAttention(q, k, v, 2).out, [
  p(2, 1, 4),
  p(2, 3, 4),
  p(2, 3, 4),
]);

test('gradcheck notices a wrong gradient', () => {
  // Forward x², backward as if the derivative were 3x: the check must fail.
  const brokenSquare = (x: Tensor): Tensor => {
    const out = Float64Array.from(x.data, (v) => v * v);
    return opResult(out, x.shape, [x], (g) => {
      const gx = x.gradBuffer();
      for (let i = 0; i < g.length; i++) gx[i] += g[i] * 3 * x.data[i];
    });
  };
  assert.ok(gradcheck(([t]) => brokenSquare(t), [p(4)]).worstRatio > 1e3);
});

test('causalAttention hides future positions', () => {
  const [q, k, v] = [p(1, 3, 4), p(1, 3, 4), p(1, 3, 4)];
  const { probs } = causalAttention(q, k, v, 2);
  // probs is [B, H, Tq, T]: row i has zeros after column i and sums to 1.
  for (let h = 0; h < 2; h++) {
    for (let i = 0; i < 3; i++) {
      let total = 0;
      for (let j = 0; j < 3; j++) {
        const value = probs[(h * 3 + i) * 3 + j];
        if (j > i) assert.equal(value, 0);
        total += value;
      }
      assert.ok(Math.abs(total - 1) < 1e-12);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Float32 on the wasm kernels

/** Runs `fn` with the wasm kernels (whatever GROKLAB_KERNELS says). */
function onWasm<T>(fn: (kernels: Kernels) => T): T {
  const before = getKernels();
  const wasm = before.name === 'wasm-simd' ? before : wasmKernels();
  assert.ok(wasm, 'the wasm kernels load on Node');
  return withKernels(wasm, () => fn(wasm));
}

/** Float32 results within this fraction of the largest float64 value of each array. */
const F32_TOL = 2e-5;

const attentionIds = Int32Array.from([3, 0, 5, 5, 1, 3, 2, 4]); // [2, 4]
const lookUp = (table: Tensor, positions: Tensor, lastOnly: boolean) => ({
  table,
  positions,
  ids: attentionIds,
  batch: 2,
  seq: 4,
  lastOnly,
});
const float32Cases: Array<[string, (x: Tensor[]) => Tensor, number[][]]> = [
  [
    'matmul',
    ([x, y]) => matmul(x, y),
    [
      [7, 5],
      [5, 6],
    ],
  ],
  [
    'matmul transA transB',
    ([x, y]) => matmul(x, y, { transA: true, transB: true }),
    [
      [5, 7],
      [6, 5],
    ],
  ],
  ['linear', ([x, w, b]) => linear(x, w, b), [[7, 5], [5, 6], [6]]],
  ['linear + relu', ([x, w, b]) => linear(x, w, b, 'relu'), [[7, 5], [5, 6], [6]]],
  ['linear + gelu', ([x, w, b]) => linear(x, w, b, 'gelu'), [[7, 5], [5, 9], [9]]],
  ['linear + quadratic', ([x, w, b]) => linear(x, w, b, 'quadratic'), [[7, 5], [5, 6], [6]]],
  [
    'add (same shape)',
    ([x, y]) => add(x, y),
    [
      [3, 5],
      [3, 5],
    ],
  ],
  ['add (bias broadcast)', ([x, y]) => add(x, y), [[2, 3, 5], [5]]],
  ['relu', ([x]) => relu(x), [[4, 5]]],
  ['gelu', ([x]) => gelu(x), [[4, 9]]],
  ['square', ([x]) => square(x), [[4, 5]]],
  ['gather', ([t]) => gather(t, attentionIds, [2, 4]), [[6, 5]]],
  ['gatherSum', ([t]) => gatherSum(t, attentionIds, 2, 4, 6), [[24, 5]]],
  ['gatherSum + bias', ([t, b]) => gatherSum(t, attentionIds, 2, 4, 6, b), [[24, 5], [5]]],
  ['gatherSum + bias + relu', ([t, b]) => gatherSum(t, attentionIds, 2, 4, 6, b, 'relu'), [[24, 5], [5]]],
  [
    'gatherSum + bias + quadratic',
    ([t, b]) => gatherSum(t, attentionIds, 2, 4, 6, b, 'quadratic'),
    [[24, 5], [5]],
  ],
  [
    'embedRows (all positions)',
    ([t, pos]) => embedRows(t, pos, attentionIds, 2, 4, false),
    [
      [6, 5],
      [4, 5],
    ],
  ],
  [
    'embedRows (last position)',
    ([t, pos]) => embedRows(t, pos, attentionIds, 2, 4, true),
    [
      [6, 5],
      [4, 5],
    ],
  ],
  ['layerNorm', ([x, g, b]) => layerNorm(x, g, b), [[3, 2, 9], [9], [9]]],
  ['crossEntropy', ([x]) => crossEntropy(x, Int32Array.from([2, 0, 6, 1])), [[4, 7]]],
  // Heads of 3 columns (not a multiple of the 4 lanes), 3 heads (one partial group of lanes).
  [
    'causalAttention (all positions)',
    ([q, k, v]) => causalAttention(q, k, v, 3).out,
    [
      [2, 4, 9],
      [2, 4, 9],
      [2, 4, 9],
    ],
  ],
  [
    'causalAttention (last 2 positions)',
    ([q, k, v]) => causalAttention(q, k, v, 3).out,
    [
      [2, 2, 9],
      [2, 4, 9],
      [2, 4, 9],
    ],
  ],
  [
    'causalAttention (6 heads, last position)',
    ([q, k, v]) => causalAttention(q, k, v, 6).out,
    [
      [2, 1, 12],
      [2, 4, 12],
      [2, 4, 12],
    ],
  ],
  [
    'causalAttention on look-ups (last position)',
    ([qt, qp, kt, kp, vt, vp]) =>
      causalAttention(lookUp(qt, qp, true), lookUp(kt, kp, false), lookUp(vt, vp, false), 5).out,
    [
      [6, 10],
      [4, 10],
      [6, 10],
      [4, 10],
      [6, 10],
      [4, 10],
    ],
  ],
  [
    'causalAttention on look-ups (all positions) and a dense value',
    ([qt, qp, kt, kp, v]) => causalAttention(lookUp(qt, qp, false), lookUp(kt, kp, false), v, 2).out,
    [
      [6, 8],
      [4, 8],
      [6, 8],
      [4, 8],
      [2, 4, 8],
    ],
  ],
];

for (const [name, f, shapes] of float32Cases) {
  test(`float32 on the wasm kernels: ${name} matches the float64 op, on the heap and in an arena`, () => {
    onWasm((kernels) => {
      const inputs = shapes.map((shape) => randomParam(shape, rng));
      for (const arena of [null, kernels.arrays?.newArena() ?? null]) {
        const report = compareFloat32(f, inputs, { arena });
        assert.ok(
          report.worst <= F32_TOL,
          `${name} (${arena ? 'arena' : 'heap'}): ${JSON.stringify(report)}`,
        );
      }
    });
  });

  test(`float32 on the pure TypeScript kernels (the references): ${name} matches the float64 op`, () => {
    const inputs = shapes.map((shape) => randomParam(shape, rng));
    const report = withKernels(jsKernels(), () => compareFloat32(f, inputs));
    assert.ok(report.worst <= F32_TOL, `${name}: ${JSON.stringify(report)}`);
  });
}

test('look-ups in causalAttention give what the materialized rows give, also without wasm', () => {
  const [qt, qp, kt, kp, vt, vp] = [p(6, 4), p(4, 4), p(6, 4), p(4, 4), p(6, 4), p(4, 4)];
  const fused = causalAttention(lookUp(qt, qp, true), lookUp(kt, kp, false), lookUp(vt, vp, false), 2).out;
  const rows = (t: Tensor, pos: Tensor, last: boolean) =>
    reshape(embedRows(t, pos, attentionIds, 2, 4, last), [2, last ? 1 : 4, 4]);
  const plain = causalAttention(rows(qt, qp, true), rows(kt, kp, false), rows(vt, vp, false), 2).out;
  assert.deepEqual(fused.shape, [2, 1, 4]);
  assert.deepEqual([...fused.data], [...plain.data]);
});

test('arena storage: reused by the next generation, and a stale backward pass throws', () => {
  onWasm((kernels) => {
    const arrays = kernels.arrays;
    assert.ok(arrays);
    const arena = arrays.newArena();
    const w = Tensor.param(
      Float32Array.from({ length: 20 }, (_, i) => i / 10 - 1),
      [4, 5],
    );
    const x = Tensor.from(
      Array.from({ length: 12 }, (_, i) => Math.sin(i)),
      [3, 4],
    );
    const forward = () => {
      arena.reset();
      return withArena(arena, () => relu(matmul(x, w)));
    };
    forward(); // sizes the arena: this generation's storage is the heap
    const first = forward();
    assert.equal(first.dataInArena, true, 'the second generation lives in the arena');
    const values = Float32Array.from(first.data);
    const second = forward();
    assert.equal(second.data.buffer, first.data.buffer, 'the next generation reuses the storage');
    assert.equal(second.data.byteOffset, first.data.byteOffset);
    assert.deepEqual([...second.data], [...values]);
    assert.throws(() => sum(first).backward(), /earlier forward pass/);
    sum(second).backward();
    assert.ok(
      w.grad instanceof Float32Array && !arena.owns(w.grad),
      'a parameter gradient stays on the heap',
    );
  });
});

test('an op output computed outside the arena keeps its data on the heap and its gradient in the arena', () => {
  onWasm((kernels) => {
    const arena = kernels.arrays?.newArena() ?? null;
    assert.ok(arena);
    const w = Tensor.param(
      Float32Array.from({ length: 12 }, (_, i) => i / 6 - 1),
      [4, 3],
    );
    const x = Tensor.param(
      Float32Array.from({ length: 8 }, (_, i) => Math.cos(i)),
      [2, 4],
    );
    for (let pass = 0; pass < 2; pass++) {
      arena.reset();
      const h = withArena(arena, () => relu(x));
      const logits = matmul(h, w);
      assert.equal(logits.dataInArena, false);
      crossEntropy(logits, Int32Array.from([1, 2])).backward();
      if (pass === 1) {
        assert.ok(logits.grad && arena.owns(logits.grad), "the logits' gradient lives in the arena");
        arena.reset();
        assert.doesNotThrow(() => logits.data[0], 'the logits themselves stay valid');
        assert.throws(() => crossEntropy(logits, Int32Array.from([1, 2])).backward(), /earlier forward pass/);
      }
    }
  });
});
