/** The training step of each imported checkpoint: from --steps, else the file's metadata, else its name. */
import path from 'node:path';
import { type FieldProblem, UsageError } from '../util/errors.ts';

export interface StepSource {
  file: string;
  metadata: Record<string, string>;
}

const STEP = /^\d+$/;

/** `--steps 0,100,200` as numbers; UsageError naming --steps. */
export function parseStepList(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const bad = parts.filter((s) => !STEP.test(s) || !Number.isSafeInteger(Number(s)));
  if (bad.length > 0) {
    throw new UsageError({
      field: '--steps',
      message: `must be a comma-separated list of integers ≥ 0 (one per file), e.g. 0,100,200; got ${bad.map((s) => JSON.stringify(s)).join(', ')}`,
    });
  }
  return parts.map(Number);
}

/** The last number in a file name (step-00000100.safetensors, ckpt_2500.safetensors), or null. */
function stepInName(file: string): number | null {
  const numbers = path.basename(file, path.extname(file)).match(/\d+/g);
  return numbers ? Number(numbers[numbers.length - 1]) : null;
}

/** One step per file, all different; UsageError (field --steps) saying which file lacks one. */
export function checkpointSteps(sources: StepSource[], given?: number[]): number[] {
  if (given !== undefined && given.length !== sources.length) {
    throw new UsageError({
      field: '--steps',
      message: `gives ${given.length} step(s) for ${sources.length} file(s); give exactly one step per file, in the same order`,
    });
  }
  const problems: FieldProblem[] = [];
  const steps = sources.map(({ file, metadata }, i) => {
    if (given !== undefined) return given[i];
    const fromMetadata =
      metadata.step !== undefined && STEP.test(metadata.step) ? Number(metadata.step) : null;
    const step = fromMetadata ?? stepInName(file);
    if (step === null || !Number.isSafeInteger(step)) {
      problems.push({
        field: '--steps',
        message: `cannot tell the training step of ${file} (no "step" in its safetensors metadata, no number in its name); pass --steps with one step per file`,
      });
      return -1;
    }
    return step;
  });
  if (problems.length > 0) throw new UsageError(problems);
  const seen = new Map<number, string>();
  steps.forEach((step, i) => {
    const earlier = seen.get(step);
    if (earlier !== undefined) {
      problems.push({
        field: '--steps',
        message: `step ${step} is given twice (${earlier} and ${sources[i].file}); every checkpoint needs its own step`,
      });
    }
    seen.set(step, sources[i].file);
  });
  if (problems.length > 0) throw new UsageError(problems);
  return steps;
}
