/**
 * A run folder read back: its config.json through the schema (the one definition of what a config
 * is), and the experiment it makes with the run's own saved split, with models loadable at any of
 * its checkpoints.
 */
import path from 'node:path';
import { parseRunConfig, type RunConfig } from '../config/schema.ts';
import type { Model } from '../models/index.ts';
import { decodeCheckpoint, loadParams } from '../runs/checkpoint.ts';
import { RUN_FILES, type RunFolder, readJsonFile } from '../runs/index.ts';
import { UsageError } from '../util/errors.ts';
import { buildExperiment, type Experiment } from './build.ts';

/** `<runDir>/config.json` validated by the schema; an Error naming the file and each problem otherwise. */
export function readRunConfig(runDir: string): RunConfig {
  const file = path.join(runDir, RUN_FILES.config);
  const raw = readJsonFile(file);
  try {
    return parseRunConfig(raw);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const problems = err.problems.map((p) => `${p.field}: ${p.message}`).join('; ');
    throw new Error(`${file} is not a valid groklab config: ${problems}`);
  }
}

export interface RunExperiment extends Experiment {
  run: RunFolder;
  /** Loads the parameters of the checkpoint at `step` into `model` (of this experiment's architecture). */
  loadCheckpoint(model: Model, step: number): void;
  /** A new model with the parameters of the checkpoint at `step`. */
  modelAt(step: number): Model;
}

export function openExperiment(run: RunFolder): RunExperiment {
  const experiment = buildExperiment(readRunConfig(run.dir), run.readSplit());
  const loadCheckpoint = (model: Model, step: number) =>
    loadParams(model, decodeCheckpoint(run.readCheckpoint(step)).params);
  return {
    ...experiment,
    run,
    loadCheckpoint,
    modelAt(step) {
      const model = experiment.createModel();
      loadCheckpoint(model, step);
      return model;
    },
  };
}
