// A thread of the wasm kernels: the training worker starts one per extra thread (threads-web.ts).
import { serveChunksInWebWorker } from '../../../src/engine/threads-web.ts';

serveChunksInWebWorker();
