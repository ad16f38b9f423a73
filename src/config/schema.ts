import { z } from 'zod';
import { modelSpec } from '../models/spec.ts';
import { issuesToProblems, taskSchema } from '../tasks/index.ts';
import { evalSpec, trainSpec } from '../train/spec.ts';
import { UsageError } from '../util/errors.ts';
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
  return {
    ...config,
    split_seed: config.split_seed ?? config.seed,
    groklab_version: config.groklab_version ?? GROKLAB_VERSION,
  };
}
