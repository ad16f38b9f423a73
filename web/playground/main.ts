/**
 * The browser playground: loads a committed kernel build, served as is (/groklab-fma.wasm where
 * the browser has relaxed SIMD, else /groklab.wasm), makes it the kernels, trains each PLAYGROUND_CONFIGS entry for PLAYGROUND_STEPS steps, shows
 * the losses and exposes them as `window.groklab` (test/browser.test.ts reads it and compares
 * with the same computation on Node).
 */
import { getKernels, kernelsFromWasmBytes, useKernels } from '../../src/engine/kernels.ts';
import { float64Bits, PLAYGROUND_CONFIGS, PLAYGROUND_STEPS, trainSteps } from './train-steps.ts';

export interface PlaygroundRun {
  losses: number[];
  /** Each loss's IEEE-754 binary64 bits as 16 hex digits, for a bit-for-bit comparison. */
  bits: string[];
  ms: number;
}

export interface PlaygroundResult {
  kernels: string;
  threads: number;
  steps: number;
  /** The kernel build loaded, and its size. */
  wasmFile: string;
  wasmBytes: number;
  crossOriginIsolated: boolean;
  userAgent: string;
  runs: Record<string, PlaygroundRun>;
}

export interface PlaygroundState {
  done: boolean;
  result?: PlaygroundResult;
  error?: string;
}

declare global {
  interface Window {
    groklab?: PlaygroundState;
  }
}

const output = document.getElementById('output') as HTMLElement;
const status = document.getElementById('status') as HTMLElement;

function show(result: PlaygroundResult): void {
  const lines = [
    `kernels: ${result.kernels} (${result.threads} thread${result.threads === 1 ? '' : 's'}), ` +
      `${result.wasmFile} ${result.wasmBytes} bytes, crossOriginIsolated ${result.crossOriginIsolated}`,
    `${result.userAgent}`,
    '',
  ];
  for (const [name, run] of Object.entries(result.runs)) {
    lines.push(`${name}: ${result.steps} steps in ${run.ms.toFixed(0)} ms, train loss after each step`);
    run.losses.forEach((loss, i) => {
      lines.push(`  step ${String(i + 1).padStart(2)}  ${loss.toPrecision(17).padEnd(20)} ${run.bits[i]}`);
    });
    lines.push('');
  }
  output.textContent = lines.join('\n');
}

async function fetchBytes(file: string): Promise<Uint8Array<ArrayBuffer>> {
  const response = await fetch(`/${file}`);
  if (!response.ok) throw new Error(`GET /${file}: ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function main(): Promise<void> {
  window.groklab = { done: false };
  let wasmFile = 'groklab-fma.wasm';
  let bytes = await fetchBytes(wasmFile);
  // Browsers without relaxed SIMD reject the fused multiply-add build: use the SIMD128 one.
  if (!WebAssembly.validate(bytes)) {
    wasmFile = 'groklab.wasm';
    bytes = await fetchBytes(wasmFile);
  }
  useKernels(await kernelsFromWasmBytes(bytes));
  const kernels = getKernels();
  status.textContent = `training with ${kernels.name} kernels…`;
  // Let the page paint before the synchronous training blocks the main thread.
  await new Promise((resolve) => setTimeout(resolve, 0));
  const runs: Record<string, PlaygroundRun> = {};
  for (const [name, config] of Object.entries(PLAYGROUND_CONFIGS)) {
    const t0 = performance.now();
    const losses = trainSteps(config, PLAYGROUND_STEPS);
    runs[name] = { losses, bits: losses.map(float64Bits), ms: performance.now() - t0 };
  }
  const result: PlaygroundResult = {
    kernels: kernels.name,
    threads: kernels.threads,
    steps: PLAYGROUND_STEPS,
    wasmFile,
    wasmBytes: bytes.length,
    crossOriginIsolated: globalThis.crossOriginIsolated ?? false,
    userAgent: navigator.userAgent,
    runs,
  };
  show(result);
  status.textContent = 'done';
  window.groklab = { done: true, result };
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
  status.textContent = 'failed';
  output.textContent = message;
  window.groklab = { done: true, error: message };
});
