// Worker thread of the wasm kernels on Node (threads.ts starts one per extra thread): the chunk
// loop of threads-worker-loop.mjs on the kernels as the module exports them, given its setup as
// workerData, saying 'ready' on parentPort and hooking the thread's 'exit'. Plain JavaScript, so
// that it boots without a TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import { serveChunks } from './threads-worker-loop.mjs';

serveChunks(workerData, undefined, {
  ready: () => parentPort.postMessage('ready'),
  onExit: (hook) => process.on('exit', hook),
});
