// The loop of a worker of the wasm kernels' thread pool: see thread-pool.ts for the protocol.
// Plain JavaScript so that it boots without a TypeScript loader, and free of Node imports so that
// Web Workers run it too (threads-web.ts): how a worker says it is ready, and how it learns that
// its thread is exiting, come from its platform (`io`). It instantiates the compiled module
// (posted by the pool) on the shared memory, says it is ready, then claims and computes chunks of
// the current job until told to stop.

/**
 * The io of a Node worker thread: 'ready' to parentPort, and the process's 'exit' event (which a
 * worker thread's process.exit() and an uncaught exception raise in that thread). Found at run
 * time, so that nothing here imports node: modules.
 */
export function nodeWorkerIo() {
  const { parentPort } = process.getBuiltinModule('node:worker_threads');
  return {
    ready: () => parentPort.postMessage('ready'),
    onExit: (hook) => process.on('exit', hook),
  };
}

/**
 * Serves the pool described by `data` (a WorkerSetup of thread-pool.ts). `wrapKernel` may wrap
 * each shared kernel's function (tests inject faults this way: test/engine-fault-worker.mjs).
 * `io.ready()` tells the pool the worker serves; `io.onExit(hook)`, where the platform has such
 * an event, runs `hook` when the thread exits (possibly mid-chunk). The default is a Node worker
 * thread's (nodeWorkerIo). Returns once the pool stops.
 */
export function serveChunks(data, wrapKernel = (kernel) => kernel, io = nodeWorkerIo()) {
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

  // Leaving mid-chunk must not leave the caller waiting for that chunk: say so, and wake it.
  const exiting = () => {
    Atomics.store(ctrl, L.ERROR, 2);
    Atomics.notify(ctrl, L.FINISHED);
  };
  io.onExit?.(exiting);

  io.ready();
  try {
    let ticket = Atomics.load(ctrl, L.TICKET);
    while (Atomics.load(ctrl, L.STOP) === 0) {
      ticket = claim(ticket);
      if (!spinFor(ticket)) Atomics.wait(ctrl, L.TICKET, ticket);
      ticket = Atomics.load(ctrl, L.TICKET);
    }
  } catch (error) {
    // Only the platform's own failures get here (runChunk catches the kernels'): where it has
    // no exit event (a Web Worker), this is the last chance to tell the caller.
    exiting();
    throw error;
  }
}
