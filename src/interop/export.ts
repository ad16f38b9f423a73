/**
 * `groklab export`: a run's checkpoint as a TransformerLens checkpoint, i.e. a safetensors file with
 * HookedTransformer's state_dict names and shapes plus its HookedTransformerConfig as JSON.
 */
import fs from 'node:fs';
import path from 'node:path';
import { GROKLAB_VERSION, parseRunConfig } from '../config/schema.ts';
import type { ModelIO } from '../models/index.ts';
import { decodeCheckpoint } from '../runs/checkpoint.ts';
import {
  encodeSafetensors,
  type RunFolder,
  type StoredTensor,
  writeFileAtomic,
  writeJsonAtomic,
} from '../runs/index.ts';
import { UsageError } from '../util/errors.ts';
import { exportableSpec, type HookedTransformerConfigJson, hookedTransformerConfig } from './tl-config.ts';
import { toTransformerLens } from './tl-weights.ts';

export const TL_CONFIG_FILE = 'hooked_transformer_config.json';

/** `step-00000100.safetensors`: groklab's checkpoint naming, which import reads the step from. */
export function exportFileName(step: number): string {
  return `step-${String(step).padStart(8, '0')}.safetensors`;
}

/** The model's sizes, read from the checkpoint's own embedding, positions and unembedding. */
function sizesOf(params: ReadonlyMap<string, StoredTensor>): ModelIO {
  const shape = (name: string) => params.get(name)?.shape ?? [0, 0];
  return { vocabSize: shape('embed')[0], seqLen: shape('pos')[0], numClasses: shape('unembed')[1] };
}

/** `--step` values: the run's latest checkpoint by default, `all`, or one step it has. */
export function exportSteps(run: RunFolder, step: number | 'all' | undefined): number[] {
  const available = run.listCheckpoints();
  if (available.length === 0) {
    throw new UsageError({ field: 'run', message: `run "${run.id}" has no checkpoints to export` });
  }
  if (step === undefined) return [available[available.length - 1]];
  if (step === 'all') return available;
  if (!available.includes(step)) {
    throw new UsageError({
      field: '--step',
      message: `run "${run.id}" has no checkpoint at step ${step}; allowed: all, ${available.join(', ')}`,
    });
  }
  return [step];
}

/**
 * Writes `outDir/step-<N>.safetensors` for each step and `outDir/hooked_transformer_config.json`;
 * returns the paths written. Everything is checked and converted before the first file is written.
 */
export function exportRun(run: RunFolder, steps: number[], outDir: string): string[] {
  const spec = exportableSpec(parseRunConfig(run.readConfig()).model);
  const files: { file: string; bytes: Uint8Array }[] = [];
  let tlConfig: HookedTransformerConfigJson | null = null;
  for (const step of steps) {
    const { params } = decodeCheckpoint(run.readCheckpoint(step));
    const io = sizesOf(params);
    tlConfig = hookedTransformerConfig(spec, io, `groklab-${run.id}`);
    const tensors = toTransformerLens(params, spec, io);
    // format "pt" is what safetensors.torch.save_file writes; the step lets `groklab import` read it back.
    const metadata = {
      format: 'pt',
      step: String(step),
      groklab_run: run.id,
      groklab_version: GROKLAB_VERSION,
    };
    files.push({
      file: path.join(outDir, exportFileName(step)),
      bytes: encodeSafetensors(tensors, metadata),
    });
  }
  fs.mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const { file, bytes } of files) {
    writeFileAtomic(file, bytes);
    written.push(file);
  }
  const configFile = path.join(outDir, TL_CONFIG_FILE);
  writeJsonAtomic(configFile, tlConfig);
  written.push(configFile);
  return written;
}
