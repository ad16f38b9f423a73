// The kernel table (src/engine/kernel-table) against both .wasm builds: the builds export exactly
// the table's kernels (and the module functions the loader needs), each with the parameters its
// entry passes (read from the binary's type section), and each kernel computes what its reference
// computes: the wasm kernel on float32 copies of an example's arrays against the reference in
// float64 on the same values. A kernel added to the table without an example here fails the test.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  type AdamCoefficients,
  KERNEL_NAMES,
  KERNELS,
  type KernelName,
  MODULE_FUNCTIONS,
  SHARED_KERNELS,
} from '../src/engine/kernel-table/index.ts';
import { Operand, WORKSPACE } from '../src/engine/kernel-table/spec.ts';
import { wasmKernels } from '../src/engine/kernels-node.ts';
import { Rng } from '../src/util/rng.ts';

const root = path.resolve(import.meta.dirname, '..');
const BUILDS = ['groklab-fma.wasm', 'groklab.wasm'];

// ---------------------------------------------------------------------------------------------
// Function signatures from a wasm binary

type ValueType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';
interface Signature {
  params: ValueType[];
  results: ValueType[];
}

const VALUE_TYPES: Record<number, ValueType> = {
  127: 'i32',
  126: 'i64',
  125: 'f32',
  124: 'f64',
  123: 'v128',
};

/** The exports of a module: name → kind, and each exported function's signature. */
function exportsOf(bytes: Uint8Array): { kinds: Map<string, number>; signatures: Map<string, Signature> } {
  let at = 8;
  const u32 = (): number => {
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[at++];
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return result;
    }
  };
  const name = (): string => {
    const length = u32();
    at += length;
    return new TextDecoder().decode(bytes.subarray(at - length, at));
  };
  const limits = (): void => {
    const flags = bytes[at++];
    u32();
    if (flags & 1) u32();
  };
  const valueTypes = (): ValueType[] => Array.from({ length: u32() }, () => VALUE_TYPES[bytes[at++]]);
  const types: Signature[] = [];
  const functionTypes: number[] = []; // imported functions first, then the module's own
  const kinds = new Map<string, number>();
  const functionExports = new Map<string, number>();
  while (at < bytes.length) {
    const id = bytes[at++];
    const end = u32() + at;
    if (id === 1) {
      for (let count = u32(); count > 0; count--) {
        assert.equal(bytes[at++], 0x60, 'a function type');
        types.push({ params: valueTypes(), results: valueTypes() });
      }
    } else if (id === 2) {
      for (let count = u32(); count > 0; count--) {
        name();
        name();
        const kind = bytes[at++];
        if (kind === 0) functionTypes.push(u32());
        else if (kind === 1) {
          at++;
          limits();
        } else if (kind === 2) limits();
        else at += 2;
      }
    } else if (id === 3) {
      for (let count = u32(); count > 0; count--) functionTypes.push(u32());
    } else if (id === 7) {
      for (let count = u32(); count > 0; count--) {
        const exported = name();
        const kind = bytes[at++];
        const index = u32();
        kinds.set(exported, kind);
        if (kind === 0) functionExports.set(exported, index);
      }
    }
    at = end;
  }
  const signatures = new Map([...functionExports].map(([n, index]) => [n, types[functionTypes[index]]]));
  return { kinds, signatures };
}

// ---------------------------------------------------------------------------------------------
// Examples: each kernel's arguments as its reference takes them, arrays in float64

const rng = new Rng(99);
const rand = (length: number) => Float64Array.from({ length }, () => rng.normal());
const positive = (length: number) => Float64Array.from({ length }, () => rng.uniform() + 0.01);
const tokens = (length: number, below: number) => Int32Array.from({ length }, () => rng.int(below));

/** Attention sizes: 2 sequences of 4 positions, the last 2 as queries, 9 columns in 3 heads. */
const [B, T, TQ, D, H, V] = [2, 4, 2, 9, 3, 6];
const lookUp = () => ({ rows: rand(V * D), pos: rand(T * D), ids: tokens(B * T, V) });
const dense = (rows: number) => ({ rows: rand(B * rows * D), pos: null, ids: null });
const adam: AdamCoefficients = {
  beta1: 0.9,
  beta2: 0.98,
  l2: 0.01,
  shrink: 0.999,
  stepSize: 1e-3,
  sqrtBias2: 0.3,
  eps: 1e-8,
};

/** Cases per kernel (odd sizes, so that the kernels' vector loops have tails). */
const EXAMPLES: Record<KernelName, unknown[][]> = {
  matmul: [
    [rand(5 * 7), rand(7 * 6), rand(5 * 6), 5, 6, 7, false, false, false],
    [rand(7 * 5), rand(6 * 7), rand(5 * 6), 5, 6, 7, true, true, true],
  ],
  fill: [[rand(13), 0.25]],
  copy: [[rand(13), rand(13)]],
  accumulate: [[rand(13), rand(13)]],
  biasAct: (['none', 'relu', 'quadratic', 'gelu'] as const).flatMap((act) => [
    [rand(5 * 7), rand(5 * 7), rand(7), 5, 7, act],
    [rand(5 * 7), rand(5 * 7), null, 5, 7, act],
  ]),
  actBackward: (['none', 'relu', 'quadratic', 'gelu'] as const).flatMap((act) => [
    [rand(5 * 7), rand(5 * 7), rand(5 * 7), act, false],
    [rand(5 * 7), rand(5 * 7), rand(5 * 7), act, true, 5, rand(7)],
  ]),
  addRepeat: [[rand(5 * 7), rand(5 * 7), rand(7)]],
  colSums: [
    [rand(7), rand(5 * 7), 5, 7, false],
    [rand(7), rand(5 * 7), 5, 7, true],
  ],
  embedRows: [
    [rand(B * T * D), rand(V * D), rand(T * D), tokens(B * T, V), B, T, 0, D],
    [rand(B * D), rand(V * D), null, tokens(B * T, V), B, T, T - 1, D],
  ],
  embedRowsBackward: [
    [rand(V * D), rand(T * D), rand(B * T * D), tokens(B * T, V), B, T, 0, D],
    [null, rand(T * D), rand(B * D), tokens(B * T, V), B, T, T - 1, D],
  ],
  rowSums: [[rand(B * D), rand(T * V * D), tokens(B * T, V), B, T, V, D]],
  scatterRowSums: [[rand(T * V * D), rand(B * D), tokens(B * T, V), B, T, V, D]],
  attentionForward: [
    [rand(B * TQ * D), rand(B * H * TQ * T), dense(TQ), lookUp(), dense(T), B, TQ, T, D, H],
    [rand(B * T * D), rand(B * H * T * T), lookUp(), lookUp(), lookUp(), B, T, T, D, H],
  ],
  attentionBackward: [
    [
      { rows: rand(B * TQ * D), pos: null },
      { rows: rand(V * D), pos: rand(T * D) },
      { rows: rand(B * T * D), pos: null },
      rand(B * TQ * D),
      positive(B * H * TQ * T),
      dense(TQ),
      lookUp(),
      dense(T),
      B,
      TQ,
      T,
      D,
      H,
    ],
  ],
  layerNormForward: [[rand(5 * 9), rand(5 * 9), rand(5), rand(5 * 9), rand(9), rand(9), 5, 9, 1e-5]],
  layerNormBackward: [
    [rand(5 * 9), rand(9), rand(9), rand(5 * 9), rand(5 * 9), positive(5), rand(9), 5, 9],
    [null, rand(9), null, rand(5 * 9), rand(5 * 9), positive(5), rand(9), 5, 9],
  ],
  crossEntropyForward: [[rand(6 * 11), rand(6 * 11), tokens(6, 11), 6, 11]],
  crossEntropyBackward: [
    [rand(6 * 11), positive(6 * 11), tokens(6, 11), 6, 11, 0.25, false],
    [rand(6 * 11), positive(6 * 11), tokens(6, 11), 6, 11, 0.25, true],
  ],
  adamUpdate: [[rand(13), rand(13), rand(13), positive(13), adam]],
};

/** A deep copy with every float array as `Float` (ids, numbers and flags as they are). */
function withFloats(x: unknown, Float: Float32ArrayConstructor | Float64ArrayConstructor): unknown {
  if (x instanceof Float32Array || x instanceof Float64Array) return Float.from(x);
  if (Array.isArray(x)) return x.map((v) => withFloats(v, Float));
  if (x !== null && typeof x === 'object' && !ArrayBuffer.isView(x)) {
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, withFloats(v, Float)]));
  }
  return x;
}

/** The float arrays in a value, in traversal order. */
function floatArrays(x: unknown): Array<Float32Array | Float64Array> {
  if (x instanceof Float32Array || x instanceof Float64Array) return [x];
  if (Array.isArray(x)) return x.flatMap(floatArrays);
  if (x !== null && typeof x === 'object' && !ArrayBuffer.isView(x))
    return Object.values(x).flatMap(floatArrays);
  return [];
}

// ---------------------------------------------------------------------------------------------

test('every kernel of the table has examples here, and SHARED_KERNELS are the ones threads share', () => {
  assert.deepEqual(Object.keys(EXAMPLES).sort(), [...KERNEL_NAMES].sort());
  assert.deepEqual(
    SHARED_KERNELS,
    KERNEL_NAMES.filter((name) => KERNELS[name].threads !== 'none'),
  );
});

for (const build of BUILDS) {
  test(`${build} exports exactly the module functions and the table's kernels, with the parameters the entries pass`, () => {
    const { kinds, signatures } = exportsOf(fs.readFileSync(path.join(root, 'src/kernels', build)));
    assert.deepEqual(
      [...kinds.values()].filter((kind) => kind !== 0),
      [],
      'only functions are exported',
    );
    assert.deepEqual([...signatures.keys()].sort(), [...MODULE_FUNCTIONS, ...KERNEL_NAMES].sort());
    for (const name of MODULE_FUNCTIONS) assert.deepEqual(signatures.get(name)?.params, [], name);
    for (const name of KERNEL_NAMES) {
      const signature = signatures.get(name) as Signature;
      const spec = KERNELS[name];
      const wasm = spec.wasm as (...args: unknown[]) => ReturnType<typeof spec.wasm>;
      for (const example of EXAMPLES[name]) {
        const call = wasm(...(withFloats(example, Float32Array) as unknown[]));
        assert.ok(call, `${name}: the example computes something`);
        // Arrays and the workspace are byte offsets, flags 0 or 1: all i32. Then the range or tile.
        const expected = Object.values(call.args).map((arg) =>
          arg instanceof Operand || arg === WORKSPACE || typeof arg === 'boolean' ? 'i32' : 'number',
        );
        const trailing = { none: 0, ranges: 2, tiles: 4 }[spec.threads];
        expected.push(...Array<'i32'>(trailing).fill('i32'));
        assert.equal(signature.params.length, expected.length, `${name}: parameter count`);
        signature.params.forEach((type, i) => {
          if (expected[i] === 'i32') assert.equal(type, 'i32', `${name}: parameter ${i}`);
          else
            assert.ok(
              type === 'i32' || type === 'f32' || type === 'f64',
              `${name}: parameter ${i} is ${type}`,
            );
        });
        assert.deepEqual(
          signature.results,
          name === 'crossEntropyForward' ? ['f64'] : [],
          `${name}: a kernel returns nothing, but the loss its sum`,
        );
        if (spec.threads === 'none') assert.equal(call.split, undefined, name);
        else if (spec.threads === 'tiles') assert.ok(call.split && 'flops' in call.split, name);
        else assert.ok(call.split && ('over' in call.split || 'blocks' in call.split), name);
      }
    }
  });
}

for (const simd128Only of [false, true]) {
  test(`${simd128Only ? 'wasm-simd' : 'wasm-fma'}: every kernel computes what its reference computes`, () => {
    const kernels = wasmKernels({ simd128Only });
    assert.ok(kernels);
    for (const name of KERNEL_NAMES) {
      EXAMPLES[name].forEach((example, i) => {
        const label = `${name} example ${i}`;
        const args32 = withFloats(example, Float32Array) as unknown[];
        // The reference on the same values, in float64: only the kernel's float32 rounding differs.
        const args64 = withFloats(args32, Float64Array) as unknown[];
        const run32 = kernels.arrays[name] as (...args: unknown[]) => unknown;
        const run64 = KERNELS[name].reference as (...args: unknown[]) => unknown;
        const got = run32(...args32);
        const expected = run64(...args64);
        if (typeof expected === 'number') {
          assert.ok(
            Math.abs((got as number) - expected) <= 1e-5 * Math.abs(expected),
            `${label}: ${got} vs ${expected}`,
          );
        } else assert.equal(got, undefined, label);
        const [outs32, outs64] = [floatArrays(args32), floatArrays(args64)];
        assert.equal(outs32.length, outs64.length);
        outs64.forEach((ref, j) => {
          let scale = 0;
          for (const v of ref) scale = Math.max(scale, Math.abs(v));
          for (let e = 0; e < ref.length; e++) {
            const err = Math.abs(outs32[j][e] - ref[e]);
            assert.ok(
              err <= 2e-5 * scale + 1e-30,
              `${label}, array ${j}[${e}]: ${outs32[j][e]} vs ${ref[e]}`,
            );
          }
        });
      });
    }
  });
}

test('adamUpdate: the wasm kernel gives the reference its bits on float32 arrays', () => {
  const kernels = wasmKernels();
  assert.ok(kernels);
  const example = EXAMPLES.adamUpdate[0];
  const [viaWasm, viaReference] = [0, 1].map(() => withFloats(example, Float32Array) as unknown[]);
  (kernels.arrays.adamUpdate as (...args: unknown[]) => void)(...viaWasm);
  (KERNELS.adamUpdate.reference as (...args: unknown[]) => void)(...viaReference);
  const bits = (args: unknown[]) => floatArrays(args).map((x) => [...new Uint32Array(x.buffer)]);
  assert.deepEqual(bits(viaWasm), bits(viaReference));
});
