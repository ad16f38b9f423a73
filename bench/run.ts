// Training-step benchmark: median ms per training step for the built-in presets, the matrix-product
// GFLOP/s that achieves, peak memory, and, when Debian's python3-torch is present, two PyTorch peers
// on nanda-113: ../shared/peers/torch_grok.py (every position computed) and peers/torch_last_position.py
// (only what the loss reads), one on grokfast-97: peers/torch_grokfast.py (Lee et al.'s code's
// model and Grokfast-MA filter), and one on omnigrok-mnist: peers/torch_omnigrok.py (Omnigrok's
// MNIST MLP, MSE and AdamW step, in float32). groklab and the peers are measured in alternating rounds so that all
// see the same machine load; the ratios of their medians are the figures to compare.
// The load average before and after is printed: on a shared machine it says how much to trust them.
// First, command start-up: `groklab --help` and `groklab presets` (bench/cli-startup.ts).
// Last, the lab (bench/lab.ts): the demo and nanda-113 trained to their target in a headless
// Chromium tab and by `groklab train`, one after the other (about 12 minutes; --no-lab skips it).
//   npm run bench -- [--steps 20] [--rounds 3] [--presets nanda-113,omnigrok-mnist] [--no-peer] [--no-cli]
//                    [--no-lab | --lab-only] [--lab-presets demo,nanda-113]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PRESETS } from '../src/config/presets.ts';
import { parseRunConfig } from '../src/config/schema.ts';
import { WasmKernels } from '../src/engine/kernels.ts';
import { getKernels } from '../src/engine/kernels-default.ts';
import { matmulFlops } from '../src/engine/ops/matmul.ts';
import { buildExperiment } from '../src/experiment/build.ts';
import { median } from '../src/measures/smooth.ts';
import type { Trainer } from '../src/train/trainer.ts';
import { benchCliStartup } from './cli-startup.ts';
import { benchLab, formatLabRows } from './lab.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const steps = Number(option('steps', '20'));
const rounds = Number(option('rounds', '3'));
const presets = option('presets', 'nanda-113,power-97,mlp-97,demo,grokfast-97,omnigrok-mnist').split(',');
const withPeer = !args.includes('--no-peer');
const withCli = !args.includes('--no-cli');
const labOnly = args.includes('--lab-only');
const withLab = labOnly || !args.includes('--no-lab');
const labPresets = option('lab-presets', 'demo,nanda-113').split(',');

async function runLabBench(): Promise<void> {
  for (const line of formatLabRows(await benchLab(labPresets, (l) => console.log(l)))) console.log(line);
}

function trainerFor(name: string): Trainer {
  return buildExperiment(parseRunConfig(PRESETS[name].config)).createTrainer();
}

/** Median ms of `steps` training steps after 3 warm-up steps, and matrix-product GFLOP per step. */
function benchPreset(trainer: Trainer): { ms: number; gflopPerStep: number } {
  for (let i = 0; i < 3; i++) trainer.trainStep();
  const times: number[] = [];
  const flopsBefore = matmulFlops();
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    trainer.trainStep();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), gflopPerStep: (matmulFlops() - flopsBefore) / steps / 1e9 };
}

/** The PyTorch peers, both on nanda-113: the one of issue 3 and our last-position variant. */
const PEERS = [
  {
    name: 'full sequence',
    script: path.resolve(import.meta.dirname, '../../shared/peers/torch_grok.py'),
    args: ['--device', 'cpu'],
  },
  {
    name: 'last position',
    script: path.resolve(import.meta.dirname, 'peers/torch_last_position.py'),
    args: [],
  },
];

/**
 * Runs a PyTorch peer script in its --bench mode (one thread, OPENBLAS_NUM_THREADS=2) and returns
 * the number `key` of the JSON line it prints last.
 */
function runPeer(name: string, script: string, peerArgs: string[], key: string): number {
  const r = spawnSync('/usr/bin/python3', [script, ...peerArgs, '--threads', '1', '--bench', String(steps)], {
    encoding: 'utf8',
    env: { ...process.env, OPENBLAS_NUM_THREADS: '2' },
  });
  if (r.status !== 0) throw new Error(`PyTorch peer (${name}) failed: ${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  const value = (JSON.parse(line) as Record<string, unknown>)[key];
  if (typeof value !== 'number') throw new Error(`PyTorch peer (${name}) printed no ${key}: ${line}`);
  return value;
}

/** A PyTorch peer's median ms/step for nanda-113. */
const peerNanda = (peer: (typeof PEERS)[number]) =>
  runPeer(peer.name, peer.script, peer.args, 'median_ms_per_step');

/** The PyTorch peers of single presets, measured each round when their preset is benchmarked. */
const PRESET_PEERS: { preset: string; name: string; script: string; args: string[] }[] = [
  {
    // Lee et al.'s model with its Grokfast-MA filter on, as in the preset.
    preset: 'grokfast-97',
    name: 'grokfast',
    script: path.resolve(import.meta.dirname, 'peers/torch_grokfast.py'),
    args: ['--filter', 'ma'],
  },
  {
    // Omnigrok's MLP, MSE and AdamW on 1000 MNIST images, in float32 as groklab.
    preset: 'omnigrok-mnist',
    name: 'omnigrok',
    script: path.resolve(import.meta.dirname, 'peers/torch_omnigrok.py'),
    args: [],
  },
];

const peerAvailable =
  withPeer &&
  [...PEERS, ...PRESET_PEERS].every((peer) => existsSync(peer.script)) &&
  spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

const loadAverage = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');
const kernels = getKernels();
console.log(`load average before: ${loadAverage()} (1, 5, 15 min)`);
console.log(
  `machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.version}, ` +
    `kernels ${kernels.name}, ${kernels.threads} thread(s)`,
);
if (labOnly) {
  await runLabBench();
  console.log(`load average after: ${loadAverage()}`);
  process.exit(0);
}
if (withCli) benchCliStartup(10);
console.log(
  `median over ${rounds} round(s) of the median of ${steps} training steps (after 3 warm-up steps)`,
);

const trainers = new Map(presets.map((name) => [name, trainerFor(name)]));
const ours = new Map<string, number[]>(presets.map((name) => [name, []]));
const flops = new Map<string, number>();
const peerTimes = PEERS.map((): number[] => []);
const presetPeerTimes = new Map<string, number[]>(PRESET_PEERS.map((peer) => [peer.preset, []]));
for (let round = 0; round < rounds; round++) {
  for (const name of presets) {
    const { ms, gflopPerStep } = benchPreset(trainers.get(name) as Trainer);
    ours.get(name)?.push(ms);
    flops.set(name, gflopPerStep);
  }
  if (peerAvailable) {
    if (presets.includes('nanda-113')) {
      for (const [i, peer] of PEERS.entries()) peerTimes[i].push(peerNanda(peer));
    }
    for (const peer of PRESET_PEERS) {
      if (presets.includes(peer.preset)) {
        presetPeerTimes.get(peer.preset)?.push(runPeer(peer.name, peer.script, peer.args, 'ms_per_step'));
      }
    }
  }
}

const nameWidth = Math.max(12, ...presets.map((name) => name.length));
for (const name of presets) {
  const ms = median(ours.get(name) ?? []);
  const gflop = flops.get(name) ?? 0;
  console.log(
    `${name.padEnd(nameWidth)} ${ms.toFixed(1).padStart(8)} ms/step   matmul ${gflop.toFixed(2)} GFLOP/step, ` +
      `${(gflop / (ms / 1000)).toFixed(1)} GFLOP/s over the whole step`,
  );
}
const wasmBytes = kernels instanceof WasmKernels ? kernels.memoryBytes() : 0;
console.log(
  `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB` +
    (wasmBytes > 0 ? ` (wasm memory ${(wasmBytes / 2 ** 20).toFixed(0)} MiB)` : ''),
);
// Whole milliseconds, or tenths below 10 ms (the small presets' steps).
const rounded = (xs: number[]) => xs.map((x) => x.toFixed(x < 10 ? 1 : 0)).join(', ');
const nanda = ours.get('nanda-113') ?? [];
if (!withPeer) console.log('PyTorch peer: not run (--no-peer)');
else if (!peerAvailable)
  console.log('PyTorch peer: not available (apt-get install -y python3-torch libopenblas0-pthread)');
else if (nanda.length > 0) {
  console.log(`groklab nanda-113 rounds: ${rounded(nanda)}`);
  PEERS.forEach((peer, i) => {
    const times = peerTimes[i];
    // Each round's ratio compares runs a few seconds apart, under about the same load.
    const perRound = nanda.map((x, round) => x / times[round]);
    console.log(
      `PyTorch peer (${peer.name}) ${median(times).toFixed(1)} ms/step (rounds: ${rounded(times)}); ` +
        `ratio groklab / peer ${(median(nanda) / median(times)).toFixed(2)}, ` +
        `per round ${perRound.map((x) => x.toFixed(2)).join(', ')} (median ${median(perRound).toFixed(2)})`,
    );
  });
}
for (const peer of PRESET_PEERS) {
  const mine = ours.get(peer.preset) ?? [];
  const theirs = presetPeerTimes.get(peer.preset) ?? [];
  if (!peerAvailable || mine.length === 0) continue;
  const perRound = mine.map((x, round) => x / theirs[round]);
  console.log(
    `groklab ${peer.preset} rounds: ${rounded(mine)}; PyTorch peer (${peer.name}) ` +
      `${median(theirs).toFixed(1)} ms/step (rounds: ${rounded(theirs)}); ` +
      `ratio groklab / peer ${(median(mine) / median(theirs)).toFixed(2)}, ` +
      `per round ${perRound.map((x) => x.toFixed(2)).join(', ')}`,
  );
}
if (withLab) await runLabBench();
console.log(`load average after: ${loadAverage()}`);
