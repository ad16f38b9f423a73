// GFLOP/s of the matrix-product kernels on the training shapes, wasm on 1 and 2 threads side
// by side (GROKLAB_THREADS does not apply here; --threads picks the counts).
// Usage: node --import tsx bench/matmul.ts [--runs N] [--js-runs N] [--only wasm|js] [--threads 1,2]
// Each figure is the median of N timed calls after one warm-up call (which also lets V8 tier
// the wasm code up from Liftoff to TurboFan), with the best call in parentheses: on shared
// machines the median moves with the neighbours, the best much less. The thread counts take
// turns call by call, so that a neighbour's load hits them alike. The copies in and out of
// wasm memory are included; the workers are started before timing.
import os from 'node:os';
import { parseArgs } from 'node:util';
import { jsKernels, type Kernels } from '../src/engine/kernels.ts';
import { wasmKernels } from '../src/engine/kernels-node.ts';
import { median } from '../src/measures/smooth.ts';
import { Rng } from '../src/util/rng.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '15' },
    'js-runs': { type: 'string', default: '3' },
    only: { type: 'string' },
    threads: { type: 'string', default: '1,2' },
  },
});

// (m, n, k) of a 128 → 512 → 128 MLP on 3830 examples: forward, dX = dY·Wᵀ, dW = Xᵀ·dY.
const SHAPES: Array<[number, number, number]> = [
  [3830, 512, 128],
  [3830, 128, 512],
  [128, 512, 3830],
];
const COMBOS: Array<[boolean, boolean]> = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

/** "median (best)" GFLOP/s from call times in ms. */
function cell(flop: number, times: number[]): string {
  const g = (ms: number) => (flop / ms / 1e6).toFixed(1);
  return `${g(median(times))} (${g(Math.min(...times))})`;
}

/** "median (best)" for each kernel, timed in turns on the same operands. */
function measure(
  kernels: Kernels[],
  m: number,
  n: number,
  k: number,
  tA: boolean,
  tB: boolean,
  runs: number,
): string[] {
  const rng = new Rng(1);
  const a = Float32Array.from({ length: m * k }, () => rng.uniform() - 0.5);
  const b = Float32Array.from({ length: k * n }, () => rng.uniform() - 0.5);
  const c = new Float32Array(m * n);
  const times = kernels.map((kk) => {
    kk.matmul(a, b, c, m, n, k, tA, tB, false);
    return [] as number[];
  });
  for (let r = 0; r < runs; r++) {
    kernels.forEach((kk, i) => {
      const t0 = performance.now();
      kk.matmul(a, b, c, m, n, k, tA, tB, false);
      times[i].push(performance.now() - t0);
    });
  }
  return times.map((t) => cell(2 * m * n * k, t));
}

const columns: Array<{ label: string; kernels: Kernels[]; runs: number }> = [];
if (values.only !== 'js') {
  const counts = values.threads.split(',').map(Number);
  const wasm = counts.map((threads) => wasmKernels({ threads }));
  if (wasm.some((w) => w === null)) console.log('wasm-simd kernels unavailable');
  else {
    for (const w of wasm) await w!.startThreads();
    columns.push({
      label: counts.map((t) => `wasm ${t}T`.padStart(15)).join(''),
      kernels: wasm as Kernels[],
      runs: Number(values.runs),
    });
  }
}
if (values.only !== 'wasm')
  columns.push({ label: 'js'.padStart(15), kernels: [jsKernels()], runs: Number(values['js-runs']) });

console.log(
  `${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.availableParallelism()} cores), Node ${process.version}`,
);
console.log(
  `${'m×n×k'.padEnd(16)}${'op'.padEnd(6)}${columns.map((c) => c.label).join('')}  GFLOP/s: median (best)`,
);
for (const [m, n, k] of SHAPES) {
  for (const [tA, tB] of COMBOS) {
    const op = `${tA ? 'T' : 'N'}${tB ? 'T' : 'N'}`;
    const cells = columns.flatMap((col) =>
      measure(col.kernels, m, n, k, tA, tB, col.runs).map((x) => x.padStart(15)),
    );
    console.log(`${`${m}×${n}×${k}`.padEnd(16)}${op.padEnd(6)}${cells.join('')}`);
  }
}
