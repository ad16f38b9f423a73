// The loop of a worker thread of the wasm kernels: see threads.ts for the protocol. Plain
// JavaScript so that it boots without a TypeScript loader. It instantiates the compiled module
// (posted by the pool) on the shared memory, says it is ready, then claims and computes chunks of
// the current job until told to stop.
import { parentPort } from 'node:worker_threads';

/**
 * Serves the pool described by `data` (the workerData threads.ts posts). `wrapKernel` may wrap
 * each shared kernel's function (tests inject faults this way: test/engine-fault-worker.mjs).
 */
export function serveChunks(data, wrapKernel = (kernel) => kernel) {
  const { module, memory, ctrl: ctrlOffset, work, layout: L, kernels: names, remBits, spinMs } = data;
  const REM_MASK = (1 << remBits) - 1;
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const kernels = names.map((name) => wrapKernel(exports[name], name));
  const ctrl = new Int32Array(memory.buffer, ctrlOffset, L.INTS);
  const args = new Float64Array(memory.buffer, ctrlOffset + L.ARGS_F64 * 8, L.RESULTS_F64 - L.ARGS_F64);
  const results = new Float64Array(memory.buffer, ctrlOffset + L.RESULTS_F64 * 8, 64);

  /** Computes chunk `q` of the current job (valid: the caller holds the job until it is finished). */
  function runChunk(q) {
    try {
      const list = Array.from(args.subarray(0, ctrl[L.ARGC]));
      const workArg = ctrl[L.WORK_ARG];
      if (workArg >= 0) list[workArg] = work; // this thread's own workspace
      const t = L.TABLE + 4 * q;
      for (let i = 0; i < ctrl[L.WIDTH]; i++) list.push(ctrl[t + i]);
      results[q] = kernels[ctrl[L.KIND]](...list) ?? 0;
    } catch {
      Atomics.compareExchange(ctrl, L.ERROR, 0, 1);
    }
    Atomics.add(ctrl, L.WORKER_CHUNKS, 1);
    if (Atomics.add(ctrl, L.FINISHED, 1) + 1 === ctrl[L.CHUNKS]) Atomics.notify(ctrl, L.FINISHED);
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
}
