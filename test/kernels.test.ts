// Matrix-product kernels: both implementations against a float64 reference, determinism of
// the wasm kernel (across calls and across thread counts), worker threads (start, exit,
// failures, injected by a worker module of the tests: engine-fault-worker.mjs), the committed
// .wasm being a build of the repository's source, the browser-safe loading path, the kernel
// selection, and the GROKLAB_KERNELS / GROKLAB_THREADS switches. Every kernel of the table
// against its reference: engine-kernel-table.test.ts.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { defaultKernels } from '../src/engine/kernel-selection.ts';
import {
  jsKernels,
  type Kernels,
  kernelsFromWasmBytes,
  memoryImport,
  parseKernelChoice,
  unsharedWasmBytes,
} from '../src/engine/kernels.ts';
import { kernelsFor, wasmKernels } from '../src/engine/kernels-node.ts';
import { MAX_THREADS, parseThreadCount, planChunks } from '../src/engine/threads.ts';
import { UsageError } from '../src/util/errors.ts';
import { Rng } from '../src/util/rng.ts';

const root = path.resolve(import.meta.dirname, '..');
const wasmPath = path.join(root, 'src/kernels/groklab-fma.wasm');
const simd128Path = path.join(root, 'src/kernels/groklab.wasm');

/** Relative tolerance, as a fraction of Σ|a·b| (+|c| when accumulating) for each element. */
const TOL = 1e-5;

const COMBOS: Array<[boolean, boolean]> = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

function random(rng: Rng, length: number): Float32Array {
  const x = new Float32Array(length);
  for (let i = 0; i < length; i++) x[i] = rng.uniform() * 2 - 1;
  return x;
}

/** Checks k.matmul against float64 loops; returns the worst error relative to Σ|terms|. */
function check(
  kernels: Kernels,
  rng: Rng,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  accumulate: boolean,
): void {
  // Views at odd offsets into larger buffers, and a C longer than m·n whose tail must survive.
  const a = random(rng, m * k + 3).subarray(3);
  const b = random(rng, k * n + 5).subarray(1, 1 + k * n);
  const c = random(rng, m * n + 7).subarray(2);
  const before = c.slice();
  kernels.matmul(a, b, c, m, n, k, transA, transB, accumulate);
  const label = `${kernels.name} m=${m} n=${n} k=${k} transA=${transA} transB=${transB} acc=${accumulate}`;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = accumulate ? before[i * n + j] : 0;
      let mag = Math.abs(sum);
      for (let p = 0; p < k; p++) {
        const t = (transA ? a[p * m + i] : a[i * k + p]) * (transB ? b[j * k + p] : b[p * n + j]);
        sum += t;
        mag += Math.abs(t);
      }
      const got = c[i * n + j];
      if (!(Math.abs(got - sum) <= TOL * mag + 1e-30)) {
        assert.fail(`${label}: C[${i},${j}] = ${got}, expected ${sum} (Σ|terms| ${mag})`);
      }
    }
  }
  for (let i = m * n; i < c.length; i++) assert.equal(c[i], before[i], `${label}: wrote past m·n`);
}

const SIZES = [1, 3, 7, 17, 33, 65];

/** The TypeScript kernels and both wasm builds. */
function all(): Kernels[] {
  const wasm = wasmKernels();
  assert.ok(wasm, 'WebAssembly SIMD kernels should load on Node ≥ 20');
  assert.equal(wasm.name, 'wasm-fma', 'Node 20 runs the relaxed-SIMD build (its V8 flag is set on load)');
  const simd128 = wasmKernels({ simd128Only: true });
  assert.ok(simd128);
  assert.equal(simd128.name, 'wasm-simd');
  return [jsKernels(), wasm, simd128];
}

for (const kernels of all()) {
  test(`${kernels.name}: matches a float64 reference on odd sizes, all transposes, accumulate or not`, () => {
    const rng = new Rng(7);
    for (let t = 0; t < 40; t++) {
      const m = SIZES[rng.int(SIZES.length)];
      const n = SIZES[rng.int(SIZES.length)];
      const k = SIZES[rng.int(SIZES.length)];
      for (const [transA, transB] of COMBOS) {
        for (const accumulate of [false, true]) check(kernels, rng, m, n, k, transA, transB, accumulate);
      }
    }
  });

  test(`${kernels.name}: matches the reference across the wasm blocking edges (MC=128, NC=512, KC=256)`, () => {
    const rng = new Rng(11);
    for (const [m, n, k] of [
      [130, 520, 300],
      [129, 9, 513],
    ]) {
      for (const [transA, transB] of COMBOS) check(kernels, rng, m, n, k, transA, transB, transA !== transB);
    }
  });

  test(`${kernels.name}: empty shapes`, () => {
    const c = Float32Array.of(5, 6, 7, 8);
    kernels.matmul(new Float32Array(0), new Float32Array(0), c, 2, 2, 0, false, false, true);
    assert.deepEqual([...c], [5, 6, 7, 8], 'k = 0 with accumulate leaves C');
    kernels.matmul(new Float32Array(0), new Float32Array(0), c, 2, 2, 0, false, false, false);
    assert.deepEqual([...c], [0, 0, 0, 0], 'k = 0 without accumulate zeroes C');
    kernels.matmul(new Float32Array(0), new Float32Array(6), c, 0, 2, 3, false, false, false);
    assert.deepEqual([...c], [0, 0, 0, 0]);
  });

  test(`${kernels.name}: rejects bad shapes, short arrays and aliasing`, () => {
    const x = new Float32Array(16);
    const mm = (a: Float32Array, b: Float32Array, c: Float32Array, m: number, n: number, k: number) =>
      kernels.matmul(a, b, c, m, n, k, false, false, false);
    assert.throws(() => mm(x, x, new Float32Array(16), 2.5, 2, 2), RangeError);
    assert.throws(() => mm(x, x, new Float32Array(16), -1, 2, 2), RangeError);
    assert.throws(() => mm(x, x, new Float32Array(15), 4, 4, 4), /c has 15/);
    assert.throws(() => mm(x, x.subarray(8), x.subarray(2), 2, 2, 2), /alias/);
    assert.throws(() => mm(x.subarray(8), x, x.subarray(3), 2, 2, 2), /alias/);
    // Disjoint views of one buffer are fine.
    mm(x.subarray(0, 4), x.subarray(4, 8), x.subarray(8, 12), 2, 2, 2);
  });
}

for (const simd128Only of [false, true]) {
  test(`${simd128Only ? 'wasm-simd' : 'wasm-fma'}: bit-identical results across repeated calls, memory growth included`, () => {
    const wasm = wasmKernels({ simd128Only })!;
    const rng = new Rng(3);
    const [m, n, k] = [67, 45, 301];
    const a = random(rng, m * k);
    const b = random(rng, k * n);
    const first = new Float32Array(m * n);
    wasm.matmul(a, b, first, m, n, k, false, true, false);
    for (let r = 0; r < 3; r++) {
      // A bigger product in between grows the memory and moves every view.
      const big = 200 * (r + 1);
      const [x, y] = [random(rng, big * big), random(rng, big * big)];
      wasm.matmul(x, y, new Float32Array(big * big), big, big, big, true, false, false);
      const again = new Float32Array(m * n);
      wasm.matmul(a, b, again, m, n, k, false, true, false);
      assert.deepEqual(new Uint32Array(again.buffer), new Uint32Array(first.buffer));
    }
  });
}

test('both wasm builds give the same bits in both V8 tiers (Liftoff, TurboFan), and differ from each other', () => {
  // V8 compiles wasm with Liftoff first and TurboFan later: a fused multiply-add lowered one way
  // in one tier and another way in the other would make results depend on timing.
  const script = `
    import { createHash } from 'node:crypto';
    import { kernelsFor } from './src/engine/kernels-node.ts';
    import { Rng } from './src/util/rng.ts';
    const rng = new Rng(11);
    const [m, n, k] = [67, 45, 301];
    const a = Float32Array.from({ length: m * k }, () => rng.normal());
    const b = Float32Array.from({ length: k * n }, () => rng.normal());
    for (const choice of ['wasm', 'wasm-simd']) {
      const kernels = kernelsFor(choice);
      const c = new Float32Array(m * n);
      kernels.matmul(a, b, c, m, n, k, false, true, false);
      console.log(kernels.name, createHash('sha256').update(new Uint8Array(c.buffer)).digest('hex'));
    }`;
  const outputs = ['--liftoff-only', '--no-liftoff'].map((flag) => {
    const r = spawnSync(process.execPath, [flag, '--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim().split('\n');
  });
  assert.deepEqual(outputs[0], outputs[1]);
  const [fma, simd] = outputs[0].map((line) => line.split(' '));
  assert.equal(fma[0], 'wasm-fma');
  assert.equal(simd[0], 'wasm-simd');
  assert.notEqual(fma[1], simd[1], 'fused multiply-adds round differently');
});

/** An arena of `floats` floats' room: a first generation asks for it, the second has it. */
function sizedArena(kernels: NonNullable<ReturnType<typeof wasmKernels>>, floats: number) {
  const arena = kernels.newArena();
  arena.reset();
  assert.equal(arena.alloc(floats), null, 'a new arena has no room yet');
  arena.reset();
  return arena;
}

for (const threads of [1, 2]) {
  test(`wasm (${threads} thread(s)): operands in wasm memory are used in place, others copied in or run on the private instance, all with the same bits`, async () => {
    const wasm = wasmKernels({ threads })!;
    await wasm.startThreads();
    const rng = new Rng(8);
    const [m, n, k] = [150, 70, 90];
    const [a, b] = [random(rng, m * k), random(rng, k * n)];
    const expected = new Float32Array(m * n);
    wasmKernels()!.matmul(a, b, expected, m, n, k, false, false, false);
    const bits = (x: Float32Array) => [...new Uint32Array(Float32Array.from(x).buffer)];

    const arena = sizedArena(wasm, 3 * m * n + m * k + k * n);
    const [ra, rb, rc] = [arena.alloc(m * k)!, arena.alloc(k * n)!, arena.alloc(m * n)!];
    ra.set(a);
    rb.set(b);
    wasm.matmul(ra, rb, rc, m, n, k, false, false, false);
    assert.deepEqual(bits(rc), bits(expected), 'in place');
    const heapC = new Float32Array(m * n);
    wasm.matmul(ra, b, heapC, m, n, k, false, false, false);
    assert.deepEqual(bits(heapC), bits(expected), 'mixed');

    // Operands far larger than the scratch left past the arena: an unshared memory may not grow
    // under the arena's views (the private instance computes), a shared one grows in place.
    const big = 700;
    const [x, y] = [random(rng, big * big), random(rng, big * big)];
    const viaBig = new Float32Array(big * big);
    const before = wasm.memoryBytes();
    wasm.matmul(x, y, viaBig, big, big, big, false, false, false);
    assert.ok(wasm.memoryBytes() > before);
    assert.equal(rc.length, m * n, 'the arena view is still attached');
    assert.deepEqual(bits(rc), bits(expected), 'the arena data survived');
    const again = arena.alloc(m * n)!;
    wasm.matmul(ra, rb, again, m, n, k, false, false, false);
    assert.deepEqual(bits(again), bits(expected), 'in place after the big product');
    const reference = new Float32Array(big * big);
    wasmKernels()!.matmul(x, y, reference, big, big, big, false, false, false);
    assert.deepEqual(bits(viaBig), bits(reference));
    wasm.close();
  });
}

test('wasm array kernels check lengths and ids before touching memory', () => {
  const wasm = wasmKernels()!;
  const x = new Float32Array(8);
  const k = wasm.arrays;
  assert.throws(() => k.biasAct(x, null, new Float32Array(3), 2, 4, 'relu'), /bias has 3 elements, needs 4/);
  assert.throws(() => k.colSums(new Float32Array(4), x, 3, 4, false), /src has 8 elements, needs 12/);
  assert.throws(
    () => k.embedRows(new Float32Array(8), new Float32Array(12), null, Int32Array.from([0, 3]), 2, 1, 0, 4),
    /id 3 outside 0\.\.2/,
  );
  assert.throws(
    () => k.crossEntropyForward(new Float32Array(6), new Float32Array(6), Int32Array.from([0, 3]), 2, 3),
    /id 3 outside 0\.\.2/,
  );
  assert.throws(
    () => k.fill(new Float64Array(4) as unknown as Float32Array, 0),
    /dst is float64; the kernels take float32/,
  );
});

test('kernelsFromWasmBytes gives the same results as the synchronous loader', async () => {
  const fromBytes = await kernelsFromWasmBytes(fs.readFileSync(wasmPath));
  assert.equal(fromBytes.name, 'wasm-fma');
  const rng = new Rng(5);
  const [m, n, k] = [33, 17, 65];
  const a = random(rng, m * k);
  const b = random(rng, k * n);
  const c1 = new Float32Array(m * n);
  const c2 = new Float32Array(m * n);
  fromBytes.matmul(a, b, c1, m, n, k, true, true, false);
  wasmKernels()!.matmul(a, b, c2, m, n, k, true, true, false);
  assert.deepEqual(c1, c2);
  await assert.rejects(
    kernelsFromWasmBytes(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])),
    /does not export/,
  );
});

test('the committed groklab-fma.wasm and groklab.wasm are builds of src/kernels/assembly', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'groklab-wasm-'));
  try {
    execFileSync(process.execPath, [path.join(root, 'scripts/build-wasm.mjs'), '--out-dir', dir], {
      stdio: 'pipe',
    });
    for (const committed of [wasmPath, simd128Path]) {
      const name = path.basename(committed);
      assert.ok(
        fs.readFileSync(path.join(dir, name)).equals(fs.readFileSync(committed)),
        `src/kernels/${name} is stale: run npm run build:wasm`,
      );
    }
    assert.deepEqual(fs.readdirSync(dir).sort(), ['groklab-fma.wasm', 'groklab.wasm']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('GROKLAB_KERNELS parsing and selection', () => {
  assert.equal(parseKernelChoice(undefined), 'auto');
  assert.equal(parseKernelChoice(''), 'auto');
  assert.equal(parseKernelChoice('auto'), 'auto');
  assert.equal(parseKernelChoice('js'), 'js');
  assert.equal(parseKernelChoice(' WASM '), 'wasm');
  assert.throws(() => parseKernelChoice('gpu'), UsageError);
  assert.equal(parseKernelChoice('wasm-simd'), 'wasm-simd');
  assert.throws(
    () => parseKernelChoice('gpu'),
    /GROKLAB_KERNELS: must be js, wasm, wasm-simd or auto, got 'gpu'/,
  );
  assert.equal(kernelsFor('js').name, 'js');
  assert.equal(kernelsFor('wasm').name, 'wasm-fma');
  assert.equal(kernelsFor('auto').name, 'wasm-fma');
  assert.equal(kernelsFor('wasm-simd').name, 'wasm-simd');
});

/** Runs an ES module script with tsx in the repository, with the given environment changes. */
function runScript(script: string, env: Record<string, string | undefined> = {}, timeout = 60_000) {
  const full: Record<string, string | undefined> = { ...process.env };
  delete full.GROKLAB_KERNELS;
  delete full.GROKLAB_THREADS;
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete full[key];
    else full[key] = value;
  }
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env: full,
    encoding: 'utf8',
    timeout,
  });
}

test('getKernels (imported from kernels-default.ts, as before) follows GROKLAB_KERNELS and GROKLAB_THREADS in a fresh process', () => {
  const script =
    "import { getKernels } from './src/engine/kernels-default.ts'; const k = getKernels(); console.log(k.name, k.threads);";
  const auto = Math.min(8, os.availableParallelism());
  assert.equal(runScript(script).stdout.trim(), `wasm-fma ${auto}`);
  assert.equal(runScript(script, { GROKLAB_KERNELS: 'js' }).stdout.trim(), 'js 1');
  assert.equal(runScript(script, { GROKLAB_KERNELS: 'wasm' }).stdout.trim(), `wasm-fma ${auto}`);
  assert.equal(runScript(script, { GROKLAB_KERNELS: 'wasm-simd' }).stdout.trim(), `wasm-simd ${auto}`);
  assert.equal(runScript(script, { GROKLAB_THREADS: '1' }).stdout.trim(), 'wasm-fma 1');
  assert.equal(runScript(script, { GROKLAB_THREADS: '3' }).stdout.trim(), 'wasm-fma 3');
  const bad = runScript(script, { GROKLAB_KERNELS: 'fast' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /GROKLAB_KERNELS: must be js, wasm, wasm-simd or auto/);
  const badThreads = runScript(script, { GROKLAB_THREADS: 'many' });
  assert.notEqual(badThreads.status, 0);
  assert.match(badThreads.stderr, /GROKLAB_THREADS: must be an integer from 1 to 16 or auto/);
});

test('GROKLAB_THREADS parsing', () => {
  const auto = Math.min(8, os.availableParallelism());
  assert.equal(parseThreadCount(undefined), auto);
  assert.equal(parseThreadCount(''), auto);
  assert.equal(parseThreadCount(' Auto '), auto);
  assert.equal(parseThreadCount('1'), 1);
  assert.equal(parseThreadCount(' 4 '), 4);
  assert.equal(parseThreadCount(String(MAX_THREADS)), MAX_THREADS);
  for (const bad of ['0', '-1', '1.5', '2x', 'two', String(MAX_THREADS + 1), '1e1']) {
    assert.throws(() => parseThreadCount(bad), UsageError, bad);
  }
  assert.throws(
    () => parseThreadCount('0'),
    /GROKLAB_THREADS: must be an integer from 1 to 16 or auto .*got '0'/,
  );
});

test('planChunks cuts the longer side of C into disjoint bands covering it', () => {
  for (const [m, n, threads] of [
    [3830, 512, 2],
    [128, 512, 2],
    [3830, 128, 3],
    [5, 7, 2],
    [300, 300, 8],
    [129, 1000, 16],
  ]) {
    const table = planChunks(m, n, threads);
    const byRows = m >= n;
    let next = 0;
    for (let q = 0; q < table.length; q += 4) {
      const [i0, i1, j0, j1] = table.slice(q, q + 4);
      const [lo, hi] = byRows ? [i0, i1] : [j0, j1];
      assert.deepEqual(byRows ? [j0, j1] : [i0, i1], [0, byRows ? n : m]);
      assert.equal(lo, next);
      assert.ok(hi > lo);
      if (hi !== (byRows ? m : n)) assert.equal(hi % (byRows ? 4 : 8), 0, 'cut on a micro-tile boundary');
      next = hi;
    }
    assert.equal(next, byRows ? m : n);
    assert.ok(table.length / 4 <= Math.max(1, 4 * threads));
  }
  assert.equal(planChunks(3830, 512, 2).length / 4, 8);
});

test('wasm threads: 1, 2 and 3 threads give identical bytes, all transposes, accumulate or not', async () => {
  const one = wasmKernels()!;
  const many = [2, 3].map((threads) => wasmKernels({ threads, minParallelFlops: 0, adaptive: false })!);
  for (const k of many) assert.equal(await k.startThreads(), k.threads);
  assert.deepEqual(
    many.map((k) => k.threads),
    [2, 3],
  );
  const rng = new Rng(13);
  const dims = [1, 5, 31, 64, 97, 130, 257, 300];
  const depths = [1, 3, 100, 256, 257, 600];
  for (let t = 0; t < 14; t++) {
    const m = dims[rng.int(dims.length)];
    const n = dims[rng.int(dims.length)];
    const k = depths[rng.int(depths.length)];
    // Every kind of finite float32 (subnormals, ±0, huge) in a, odd offsets for b.
    const a = new Float32Array(m * k);
    const bits = new Uint32Array(a.buffer);
    for (let i = 0; i < bits.length; i++) {
      bits[i] = Math.floor(rng.uniform() * 2 ** 32);
      if (!Number.isFinite(a[i])) a[i] = rng.uniform() - 0.5;
    }
    const b = random(rng, k * n + 1).subarray(1);
    const c0 = random(rng, m * n + 1).subarray(t % 2);
    for (const [transA, transB] of COMBOS) {
      for (const accumulate of [false, true]) {
        const results = [one, ...many].map((kernels) => {
          const c = c0.slice();
          kernels.matmul(a, b, c, m, n, k, transA, transB, accumulate);
          return new Uint32Array(c.buffer);
        });
        const label = `m=${m} n=${n} k=${k} transA=${transA} transB=${transB} acc=${accumulate}`;
        assert.deepEqual(results[1], results[0], `2 threads, ${label}`);
        assert.deepEqual(results[2], results[0], `3 threads, ${label}`);
      }
    }
  }
  // The memory grows while the workers run (their instances must see the new pages).
  const [m, n, k] = [520, 480, 600];
  const a = random(rng, m * k);
  const b = random(rng, k * n);
  const expected = new Float32Array(m * n);
  one.matmul(a, b, expected, m, n, k, false, false, false);
  // The threaded kernels are also right (not merely consistent), and workers did take chunks.
  for (const kernels of many) {
    const c = new Float32Array(m * n);
    kernels.matmul(a, b, c, m, n, k, false, false, false);
    assert.deepEqual(new Uint32Array(c.buffer), new Uint32Array(expected.buffer));
    for (const [transA, transB] of COMBOS) check(kernels, rng, 130, 97, 300, transA, transB, transA);
    assert.equal(kernels.threads, many.indexOf(kernels) + 2, 'no fallback to one thread');
    const stats = kernels.threadStats();
    assert.ok(stats.workerChunks > 0 && stats.workerChunks < stats.chunks, JSON.stringify(stats));
    kernels.close();
    assert.equal(kernels.threads, 1);
  }
});

/**
 * The pool option that starts workers running engine-fault-worker.mjs: the production worker loop
 * with `fault` in every kernel call (throw, exit, hang, or slow: 20 ms more per chunk).
 */
function faultyWorker(fault: 'throw' | 'exit' | 'hang' | 'slow') {
  return { url: new URL('./engine-fault-worker.mjs', import.meta.url), settings: { fault } };
}

/**
 * Every kernel that the threads share by ranges, on inputs large enough to be shared, with heap
 * operands and with operands in an arena: the output bytes of each, in order.
 */
function rangeKernelOutputs(
  wasm: NonNullable<ReturnType<typeof wasmKernels>>,
  inArena: boolean,
): Uint32Array[] {
  const kernels = wasm.arrays;
  const rng = new Rng(31);
  const arena = inArena ? sizedArena(wasm, 8_000_000) : null;
  const store = (length: number): Float32Array => arena?.alloc(length) ?? new Float32Array(length);
  const filled = (length: number): Float32Array => {
    const x = store(length);
    x.set(random(rng, length));
    return x;
  };
  const [rows, cols] = [700, 300];
  const out: Float32Array[] = [];
  const keep = (x: Float32Array) => out.push(Float32Array.from(x));
  const pre = filled(rows * cols);
  const bias = filled(cols);
  const post = store(rows * cols);
  for (const act of ['relu', 'gelu', 'quadratic'] as const) {
    kernels.biasAct(pre, post, bias, rows, cols, act);
    keep(pre);
    keep(post);
  }
  const g = filled(rows * cols);
  const gx = filled(rows * cols);
  const sums = filled(cols);
  kernels.actBackward(gx, g, pre, 'gelu', true, rows, sums);
  keep(gx);
  keep(sums);
  const colSum = filled(cols);
  kernels.colSums(colSum, g, rows, cols, true);
  keep(colSum);
  const added = store(rows * cols);
  kernels.addRepeat(added, g, bias);
  keep(added);
  const [batch, seq, dim, heads, vocab] = [900, 4, 64, 4, 50];
  const ids = Int32Array.from({ length: batch * seq }, () => rng.int(vocab));
  const table = filled(vocab * dim);
  const pos = filled(seq * dim);
  const rowsOut = store(batch * seq * dim);
  kernels.embedRows(rowsOut, table, pos, ids, batch, seq, 0, dim);
  keep(rowsOut);
  const probs = store(batch * heads * seq * seq);
  const attended = store(batch * seq * dim);
  const source = { rows: table, pos, ids };
  kernels.attentionForward(
    attended,
    probs,
    source,
    source,
    { rows: rowsOut, pos: null, ids: null },
    batch,
    seq,
    seq,
    dim,
    heads,
  );
  keep(attended);
  keep(probs);
  const [normOut, normed, invStd] = [store(rows * cols), store(rows * cols), store(rows)];
  kernels.layerNormForward(normOut, normed, invStd, g, bias, bias, rows, cols, 1e-5);
  keep(normOut);
  keep(invStd);
  const classes = 97;
  const n = 3000;
  const logits = filled(n * classes);
  const labels = Int32Array.from({ length: n }, () => rng.int(classes));
  const softmax = store(n * classes);
  const total = kernels.crossEntropyForward(softmax, logits, labels, n, classes);
  keep(Float32Array.of(total, Math.fround(total - Math.fround(total))));
  keep(softmax);
  const dLogits = store(n * classes);
  kernels.crossEntropyBackward(dLogits, softmax, labels, n, classes, 1 / n, false);
  keep(dLogits);
  return out.map((x) => new Uint32Array(x.buffer));
}

test('wasm range kernels: 1, 2 and 3 threads give identical bytes, on the heap and in an arena', async () => {
  for (const inArena of [false, true]) {
    const results: Uint32Array[][] = [];
    for (const threads of [1, 2, 3]) {
      const kernels = wasmKernels({ threads, adaptive: false })!;
      await kernels.startThreads();
      results.push(rangeKernelOutputs(kernels, inArena));
      if (threads > 1) {
        const stats = kernels.threadStats();
        assert.ok(stats.workerChunks > 0, `the workers took part: ${JSON.stringify(stats)}`);
      }
      kernels.close();
    }
    for (const other of results.slice(1)) {
      for (const [i, bytes] of other.entries()) {
        assert.deepEqual(bytes, results[0][i], `output ${i} (arena ${inArena})`);
      }
    }
  }
});

test('a worker that throws during a range kernel: results stay right, single-threaded from then on', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    const kernels = wasmKernels({ threads: 2, worker: faultyWorker('throw'), adaptive: false })!;
    assert.equal(await kernels.startThreads(), 2);
    const rng = new Rng(4);
    const [rows, cols] = [4000, 500];
    const pre = random(rng, rows * cols);
    const bias = random(rng, cols);
    const expected = pre.slice();
    wasmKernels()!.arrays.biasAct(expected, null, bias, rows, cols, 'none');
    // The worker fails on its first range; the call is then made again on one thread.
    for (let r = 0; r < 50 && kernels.threads === 2; r++) {
      const x = pre.slice();
      kernels.arrays.biasAct(x, null, bias, rows, cols, 'none');
      assert.deepEqual(x, expected);
    }
    assert.equal(kernels.threads, 1, 'fell back to one thread');
    const x = pre.slice();
    kernels.arrays.biasAct(x, null, bias, rows, cols, 'none');
    assert.deepEqual(x, expected);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(warnings.length, 1, warnings.join('\n'));
  } finally {
    process.off('warning', onWarning);
  }
});

test('a worker failing while a kernel adds into arena storage in place: a clear error, then one thread', async () => {
  const onWarning = () => {};
  process.on('warning', onWarning);
  try {
    const kernels = wasmKernels({ threads: 2, worker: faultyWorker('throw'), adaptive: false })!;
    assert.equal(await kernels.startThreads(), 2);
    // Ranges of ~1 ms each: the worker wakes in time to claim one.
    const [rows, cols] = [8000, 500];
    const arena = sizedArena(kernels, rows * cols + cols);
    const pre = arena.alloc(rows * cols)!;
    const bias = arena.alloc(cols)!;
    pre.fill(1);
    bias.fill(2);
    // The worker fails on its first range (it may need a few calls to get one); pre may then be
    // partly updated, which cannot be redone.
    let thrown: unknown = null;
    for (let r = 0; r < 50 && kernels.threads === 2; r++) {
      try {
        kernels.arrays.biasAct(pre, null, bias, rows, cols, 'none');
      } catch (error) {
        thrown = error;
      }
    }
    assert.match(String(thrown), /cannot be recovered/);
    assert.equal(kernels.threads, 1);
    const x = new Float32Array(rows * cols).fill(1);
    kernels.arrays.biasAct(x, null, new Float32Array(cols).fill(2), rows, cols, 'none');
    assert.ok(x.every((v) => v === 3));
    await new Promise((resolve) => setImmediate(resolve)); // the warning is emitted on next tick
  } finally {
    process.off('warning', onWarning);
  }
});

test('workers that get too little CPU to help: jobs stay on the calling thread, with the same results', async () => {
  const kernels = wasmKernels({ threads: 2, worker: faultyWorker('slow') })!;
  assert.equal(await kernels.startThreads(), 2);
  const reference = wasmKernels()!;
  const rng = new Rng(12);
  const [m, n, k] = [600, 200, 200];
  const [a, b] = [random(rng, m * k), random(rng, k * n)];
  const expected = new Float32Array(m * n);
  reference.matmul(a, b, expected, m, n, k, false, false, false);
  const dispatched: number[] = [];
  for (let r = 0; r < 30; r++) {
    const c = new Float32Array(m * n);
    kernels.matmul(a, b, c, m, n, k, false, false, false);
    assert.deepEqual(c, expected);
    dispatched.push(kernels.threadStats().chunks);
  }
  // A worker 20 ms late on each chunk slows the first jobs down; then they are no longer shared.
  assert.ok(dispatched[0] > 0);
  assert.equal(dispatched[29], dispatched[15], `chunks shared so far, job by job: ${dispatched}`);
  assert.equal(kernels.threads, 2, 'the pool is not given up');
  kernels.close();
});

/** A large product run with a worker that fails; returns the warnings seen. */
async function withFailingWorker(fault: 'throw' | 'exit' | 'hang', stallMs = 60_000): Promise<string[]> {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    const kernels = wasmKernels({ threads: 2, worker: faultyWorker(fault), stallMs, adaptive: false })!;
    assert.equal(await kernels.startThreads(), 2);
    const reference = wasmKernels()!;
    const rng = new Rng(17);
    const [m, n, k] = [400, 96, 200];
    const a = random(rng, m * k);
    const b = random(rng, k * n);
    const c0 = random(rng, m * n);
    // The worker fails on its first chunk; it may need a few products to get one.
    for (let r = 0; r < 50 && kernels.threads === 2; r++) {
      const expected = c0.slice();
      reference.matmul(a, b, expected, m, n, k, false, true, true);
      const c = c0.slice();
      kernels.matmul(a, b, c, m, n, k, false, true, true);
      assert.deepEqual(new Uint32Array(c.buffer), new Uint32Array(expected.buffer));
    }
    assert.equal(kernels.threads, 1, 'fell back to one thread');
    // And keeps working.
    const expected = new Float32Array(m * n);
    const c = new Float32Array(m * n);
    reference.matmul(a, b, expected, m, n, k, true, false, false);
    kernels.matmul(a, b, c, m, n, k, true, false, false);
    assert.deepEqual(c, expected);
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on next tick
  } finally {
    process.off('warning', onWarning);
  }
  return warnings;
}

test('a worker that throws: results stay right, one warning, single-threaded from then on', async () => {
  const warnings = await withFailingWorker('throw');
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0], /the wasm kernels continue on one thread: a worker thread threw/);
});

test('a worker that dies mid-product: no hang, results stay right, a warning', async () => {
  const started = performance.now();
  const warnings = await withFailingWorker('exit');
  assert.ok(performance.now() - started < 20_000, 'noticed without waiting for the stall timeout');
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0], /the wasm kernels continue on one thread: a worker thread exited/);
});

test('a worker stuck mid-product: given up after the stall timeout, results stay right', async () => {
  const warnings = await withFailingWorker('hang', 300);
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(
    warnings[0],
    /the wasm kernels continue on one thread: no progress from the worker threads for \d+ ms/,
  );
});

test('worker threads never keep the process alive, nor hold up process.exit', () => {
  const work = `
    import { wasmKernels } from './src/engine/kernels-node.ts';
    const k = wasmKernels({ threads: 2 });
    const n = 256;
    const a = new Float32Array(n * n).fill(1);
    const c = new Float32Array(n * n);
    for (let r = 0; r < 20; r++) k.matmul(a, a, c, n, n, n, false, false, false);
    console.log(c[0], k.threads, k.threadStats().chunks > 0);`;
  for (const ending of [
    '',
    'process.exit(0);',
    'await k.startThreads(); k.matmul(a, a, c, n, n, n, false, false, false);',
  ]) {
    const started = performance.now();
    const r = runScript(work + ending, {}, 20_000);
    assert.equal(r.status, 0, `${ending}: ${r.stderr} ${r.error ?? ''}`);
    assert.equal(r.stdout.trim(), '256 2 true');
    assert.ok(performance.now() - started < 15_000);
  }
});

test('the engine stays browser-safe: no runtime node: imports, and only the Node loader and threads reach Node', () => {
  const engine = path.join(root, 'src/engine');
  const files = fs
    .readdirSync(engine, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'));
  assert.ok(files.includes('kernels.ts') && files.includes('kernel-table/index.ts'), files.join(' '));
  for (const file of files) {
    const source = fs.readFileSync(path.join(engine, file), 'utf8');
    const runtime = [...source.matchAll(/^import\s+(?!type\s)[^;]*?from\s+'(node:[^']+)'/gm)].map(
      (m) => m[1],
    );
    assert.deepEqual(runtime, [], `${file} imports ${runtime.join(', ')}`);
    assert.doesNotMatch(source, /import\(\s*'node:/, file);
    // These two reach Node through process.getBuiltinModule, only when they run on Node.
    if (file === 'kernels-node.ts' || file === 'threads.ts') continue;
    assert.doesNotMatch(source, /getBuiltinModule|\bprocess\./, `${file} does not reach Node`);
  }
});

test('getKernels needs no set-up import: the Node default in a fresh process, useKernels and withKernels override', () => {
  const r = runScript(`
    import { getKernels, jsKernels, useKernels, withKernels, kernelsFromWasmBytes } from './src/engine/kernels.ts';
    import fs from 'node:fs';
    console.log(getKernels().name, getKernels().threads);
    console.log(withKernels(jsKernels(), () => getKernels().name), getKernels().name);
    useKernels(await kernelsFromWasmBytes(fs.readFileSync('src/kernels/groklab.wasm')));
    console.log(getKernels().name, getKernels().threads);`);
  assert.equal(r.status, 0, r.stderr);
  const auto = Math.min(8, os.availableParallelism());
  assert.equal(r.stdout.trim(), `wasm-fma ${auto}\njs wasm-fma\nwasm-simd 1`);
});

test('off Node, the default kernels are the pure TypeScript ones, with a warning that says how to load wasm', () => {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (message: string) => warnings.push(message);
  try {
    assert.equal(defaultKernels(false).name, 'js');
  } finally {
    console.warn = warn;
  }
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /useKernels\(await kernelsFromWasmBytes\(bytes\)\)/);
});

test('both builds import a shared memory of at most 4 GiB and have no data to rewrite per thread', () => {
  for (const file of [wasmPath, simd128Path]) {
    const bytes = fs.readFileSync(file);
    assert.deepEqual(memoryImport(bytes), {
      flagsAt: memoryImport(bytes)!.flagsAt,
      shared: true,
      initial: 1,
      maximum: 65536,
    });
    const unshared = unsharedWasmBytes(bytes);
    assert.equal(memoryImport(unshared)!.shared, false);
    assert.equal(unshared.length, bytes.length);
    assert.equal(bytes[memoryImport(bytes)!.flagsAt], 3, 'the input is not modified');
    // Sections: no data (11) or data count (12), which every instance on a shared memory would
    // write again, and no start function (8).
    const ids: number[] = [];
    for (let at = 8; at < bytes.length; ) {
      ids.push(bytes[at++]);
      let size = 0;
      for (let shift = 0; ; shift += 7) {
        const byte = bytes[at++];
        size += (byte & 0x7f) * 2 ** shift;
        if (byte < 0x80) break;
      }
      at += size;
    }
    for (const id of [8, 11, 12]) assert.ok(!ids.includes(id), `section ${id} in ${ids}`);
  }
});
