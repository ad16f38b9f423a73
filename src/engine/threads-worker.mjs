// Worker thread of the wasm kernels: see src/engine/threads.ts for the protocol.
// Plain JavaScript so that it boots without a TypeScript loader. It instantiates the compiled
// module (posted by the pool) on the shared memory, says it is ready, then claims and computes
// chunks of the current job (a product, or a range kernel) until told to stop.
import { parentPort, workerData } from 'node:worker_threads';

const { module, memory, ctrl: ctrlOffset, work, layout: L, kernels, remBits, spinMs, fault } = workerData;
const REM_MASK = (1 << remBits) - 1;
const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
const { matmul } = exports;
const rangeKernels = kernels.map((name) => exports[name]);
const ctrl = new Int32Array(memory.buffer, ctrlOffset, L.INTS);
const args = new Float64Array(memory.buffer, ctrlOffset + L.ARGS_F64 * 8, L.RESULTS_F64 - L.ARGS_F64);
const results = new Float64Array(memory.buffer, ctrlOffset + L.RESULTS_F64 * 8, 64);

/** Range `q` of the current range kernel; this thread's workspace replaces argument WORK_ARG. */
function runRange(kind, q) {
  const t = L.TABLE + 4 * q;
  const list = Array.from(args.subarray(0, ctrl[L.ARGC]));
  const workArg = ctrl[L.WORK_ARG];
  if (workArg >= 0) list[workArg] = work;
  results[q] = rangeKernels[kind - 1](...list, ctrl[t], ctrl[t + 1]) ?? 0;
}

/** Computes chunk `q` of the current job (valid: the caller holds the job until it is finished). */
function runChunk(q) {
  const p = L.PARAMS;
  const t = L.TABLE + 4 * q;
  try {
    if (fault === 'throw') throw new Error('injected fault');
    if (fault === 'exit') process.exit(1); // in a worker: ends this thread only, mid-chunk
    while (fault === 'hang'); // stuck for good (until terminated)
    if (fault === 'slow') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    const kind = ctrl[L.KIND];
    if (kind !== 0) runRange(kind, q);
    else
      matmul(
        ctrl[p],
        ctrl[p + 1],
        ctrl[p + 2],
        work,
        ctrl[p + 3],
        ctrl[p + 4],
        ctrl[p + 5],
        ctrl[p + 6],
        ctrl[p + 7],
        ctrl[p + 8],
        ctrl[t],
        ctrl[t + 1],
        ctrl[t + 2],
        ctrl[t + 3],
      );
  } catch {
    Atomics.compareExchange(ctrl, L.ERROR, 0, 1);
  }
  Atomics.add(ctrl, L.WORKER_CHUNKS, 1);
  if (Atomics.add(ctrl, L.FINISHED, 1) + 1 === ctrl[p + 9]) Atomics.notify(ctrl, L.FINISHED);
}

/** Claims and runs chunks while any are left; returns the last ticket seen. */
function claim(ticket) {
  for (;;) {
    const left = ticket & REM_MASK;
    if (left === 0) return ticket;
    const seen = Atomics.compareExchange(ctrl, L.TICKET, ticket, ticket - 1);
    if (seen !== ticket) {
      ticket = seen;
      continue;
    }
    runChunk(left - 1);
    ticket--;
  }
}

/** Polls for up to spinMs until the ticket changes; whether it did. */
function spinFor(ticket) {
  const start = performance.now();
  for (let i = 1; ; i++) {
    if (Atomics.load(ctrl, L.TICKET) !== ticket) return true;
    if (i % 64 === 0 && performance.now() - start > spinMs) return false;
  }
}

// Dying (process.exit, an uncaught exception) mid-chunk must not leave the caller waiting for
// that chunk: say so, and wake it.
process.on('exit', () => {
  Atomics.store(ctrl, L.ERROR, 2);
  Atomics.notify(ctrl, L.FINISHED);
});

parentPort.postMessage('ready');
let ticket = Atomics.load(ctrl, L.TICKET);
while (Atomics.load(ctrl, L.STOP) === 0) {
  ticket = claim(ticket);
  if (!spinFor(ticket)) Atomics.wait(ctrl, L.TICKET, ticket);
  ticket = Atomics.load(ctrl, L.TICKET);
}
