// A worker for the thread-pool tests (test/kernels.test.ts): the production worker's loop
// (src/engine/threads-worker-loop.mjs) with a fault injected into every kernel call it makes,
// chosen by workerData.settings.fault:
//   throw  the call throws;
//   exit   the thread exits mid-chunk;
//   hang   the call never returns (until the thread is terminated);
//   slow   the call takes 20 ms more (as on a machine whose cores are busy).
// Tests select it with the pool option `worker` (src/engine/threads.ts PoolOptions).
import { workerData } from 'node:worker_threads';
import { serveChunks } from '../src/engine/threads-worker-loop.mjs';

const { fault } = workerData.settings;

function injectFault() {
  if (fault === 'throw') throw new Error('injected fault');
  if (fault === 'exit') process.exit(1); // in a worker: ends this thread only, mid-chunk
  while (fault === 'hang'); // stuck for good
  if (fault === 'slow') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
}

serveChunks(workerData, (kernel) => (...args) => {
  injectFault();
  return kernel(...args);
});
