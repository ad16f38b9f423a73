import { z } from 'zod';
import { modelSpec } from '../models/spec.ts';
import { issuesToProblems, taskSchema } from '../tasks/index.ts';
import { evalSpec, trainSpec } from '../train/spec.ts';
import { type FieldProblem, UsageError } from '../util/errors.ts';
import { strictObject } from '../util/schema.ts';
import { GROKLAB_VERSION } from './version.ts';

const seed = (what: string) =>
  z
    .number({ error: `${what} must be an integer in [0, 4294967295]` })
    .int(`${what} must be an integer in [0, 4294967295]`)
    .min(0, `${what} must be an integer in [0, 4294967295]`)
    .max(4294967295, `${what} must be an integer in [0, 4294967295]`);

/** Everything that determines a run. Written fully resolved to the run's config.json. */
export const runConfigSchema = strictObject({
  /** Name of the preset it started from (informational). */
  preset: z.string().optional(),
  /** Seeds model initialization and minibatch order. */
  seed: seed('seed'),
  /** Seeds the train/test split; defaults to `seed`. */
  split_seed: seed('split_seed').optional(),
  task: taskSchema,
  model: modelSpec,
  train: trainSpec,
  eval: evalSpec,
  /** Filled in when the run is created. */
  groklab_version: z.string().optional(),
  /** Resumes that changed this run or forked it from another: where from, and what was overridden. */
  lineage: z
    .array(
      strictObject({
        from_run: z.string(),
        from_step: z.number(),
        overrides: z.record(z.string(), z.unknown()),
        at: z.string(),
      }),
    )
    .optional(),
});

export type RunConfigInput = z.input<typeof runConfigSchema>;
export type RunConfig = z.output<typeof runConfigSchema> & { split_seed: number; groklab_version: string };

export { GROKLAB_VERSION };

/**
 * Real-valued inputs (MNIST) need an MLP that reads them (input features), and only such a task has
 * them: token tasks take onehot or embed inputs.
 */
function modelInputProblem(taskKind: string, model: RunConfig['model']): FieldProblem | null {
  const realValued = taskKind === 'mnist';
  if (realValued && model.kind !== 'mlp') {
    return {
      field: 'model.kind',
      message: `task ${taskKind} has real-valued inputs: model.kind must be mlp (with input features)`,
    };
  }
  if (model.kind !== 'mlp') return null;
  if (realValued && model.input !== 'features') {
    return {
      field: 'model.input',
      message: `task ${taskKind} has real-valued inputs: model.input must be features`,
    };
  }
  if (!realValued && model.input === 'features') {
    return {
      field: 'model.input',
      message: `features needs a task of real-valued inputs (mnist); task ${taskKind} has tokens: use onehot or embed`,
    };
  }
  return null;
}

/** Validates a whole config; every problem is reported with its field path (exit code 2 in the CLI). */
export function parseRunConfig(raw: unknown): RunConfig {
  const parsed = runConfigSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(issuesToProblems(parsed.error.issues, ''));
  const config = parsed.data;
  if (config.model.kind === 'mlp' && config.model.input === 'embed' && config.model.embed_dim === undefined) {
    throw new UsageError({
      field: 'model.embed_dim',
      message: 'required when model.input is embed (an integer ≥ 1)',
    });
  }
  const inputProblem = modelInputProblem(config.task.kind, config.model);
  if (inputProblem !== null) throw new UsageError(inputProblem);
  return {
    ...config,
    split_seed: config.split_seed ?? config.seed,
    groklab_version: config.groklab_version ?? GROKLAB_VERSION,
  };
}
