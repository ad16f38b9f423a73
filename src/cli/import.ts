/**
 * `groklab import FILE... --config JSON`: TransformerLens checkpoints as a groklab run (src/interop).
 * `groklab import RUN.zip`: a zipped run folder (a lab export, src/runs/portable.ts) unpacked into
 * the runs directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { parseOverrides } from '../config/overrides.ts';
import { parseRunConfig } from '../config/schema.ts';
import { type ImportRequest, importTransformerLens } from '../interop/import.ts';
import { parseStepList } from '../interop/steps.ts';
import { parseRunStatus, RUN_FILES, unzipRunFolder, validateRunId } from '../runs/portable.ts';
import { writePortableRun } from '../runs/portable-node.ts';
import { MODULAR_OPS, TASK_LIMITS } from '../tasks/index.ts';
import { type FieldProblem, UsageError } from '../util/errors.ts';
import { alignColumns } from '../util/text-table.ts';
import { defaultRunsDir } from './defaults.ts';
import { numberFlag } from './number-flag.ts';

interface ImportCliOptions {
  config?: string;
  task?: string;
  p?: string;
  trainFraction?: string;
  seed: string;
  split?: string;
  steps?: string;
  set: string[];
  id?: string;
  runsDir: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** Adds `import` to a commander program; the summary goes to `out`. */
export function registerImport(program: Command, out: NodeJS.WritableStream = process.stdout): void {
  program
    .command('import')
    .description(
      'turn TransformerLens checkpoints (safetensors, one per training step) into a run folder that analyze and detect work on: each checkpoint evaluated on the task; or unpack a zipped run folder (a lab export) into the runs directory',
    )
    .argument(
      '<files...>',
      'safetensors files of a HookedTransformer state_dict (steps from --steps, their metadata or their names), or one .zip of a run folder (then only --id and --runs-dir apply)',
    )
    .option('--config <json>', 'the HookedTransformerConfig as a JSON file (required)')
    .option(
      '--task <op>',
      `the modular operation trained on (${MODULAR_OPS.join(', ')}); tokens [x, y, =] with = as token p`,
    )
    .option(
      '--p <p>',
      `the modulus, an integer in [${TASK_LIMITS.modularP.min}, ${TASK_LIMITS.modularP.max}]`,
    )
    .option(
      '--train-fraction <f>',
      'share of all pairs in the training set, in (0, 1) (default with --split: from it)',
    )
    .option('--seed <n>', 'seed of the train/test split (as in a groklab run)', '0')
    .option('--split <file>', 'the training set the checkpoints were trained on, as a groklab split.json')
    .option('--steps <list>', 'the training step of each file, in order, e.g. 0,1000,2000')
    .option('--set <key=value>', 'record other settings, e.g. train.weight_decay=1 (repeatable)', collect, [])
    .option('--id <id>', "run id (default: import-<UTC time>; for a .zip, its run folder's name)")
    .option('--runs-dir <dir>', 'where run folders live (env GROKLAB_RUNS)', defaultRunsDir())
    .action((files: string[], opts: ImportCliOptions, command: Command) => {
      if (files.some(isZip)) {
        importZip(files, opts, command, out);
        return;
      }
      const outcome = withFlagNames(() => importTransformerLens(parseRequest(files, opts)));
      for (const note of outcome.notes) process.stderr.write(`note: ${note}\n`);
      const { run, records } = outcome;
      out.write(`imported ${records.length} checkpoint(s) into ${run.dir}\n`);
      const rows = records.map((r) => [
        String(r.step),
        r.train_loss.toPrecision(4),
        r.train_acc.toFixed(3),
        r.test_loss.toPrecision(4),
        r.test_acc.toFixed(3),
      ]);
      const table = alignColumns(['step', 'train loss', 'train acc', 'test loss', 'test acc'], rows, 0);
      out.write(`${table.join('\n')}\n`);
    });
}

const isZip = (file: string) => file.toLowerCase().endsWith('.zip');

/** Flags that only TransformerLens imports take. */
const TL_FLAGS: Array<[keyof ImportCliOptions, string]> = [
  ['config', '--config'],
  ['task', '--task'],
  ['p', '--p'],
  ['trainFraction', '--train-fraction'],
  ['seed', '--seed'],
  ['split', '--split'],
  ['steps', '--steps'],
  ['set', '--set'],
];

/**
 * Unpacks one zipped run folder into the runs directory, as its own run id or --id. The zip is read
 * and checked whole (its config and status validated) before anything is written, and the folder is
 * staged and renamed into place, so a failed import leaves nothing behind.
 */
function importZip(
  files: string[],
  opts: ImportCliOptions,
  command: Command,
  out: NodeJS.WritableStream,
): void {
  const problems: FieldProblem[] = [];
  if (files.length !== 1) {
    problems.push({
      field: 'files',
      message: `a .zip is imported alone; got ${files.length} files: ${files.join(', ')}`,
    });
  }
  for (const [key, flag] of TL_FLAGS) {
    const source = command.getOptionValueSource(key);
    if (source !== undefined && source !== 'default') {
      problems.push({
        field: flag,
        message: 'is for TransformerLens checkpoints; a .zip holds its run folder whole',
      });
    }
  }
  if (problems.length > 0) throw new UsageError(problems);
  const [file] = files;
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(fs.readFileSync(file));
  } catch (err) {
    throw new UsageError({ field: file, message: `cannot read it: ${(err as Error).message}` });
  }
  const run = unzipRunFolder(bytes, file);
  const where = (name: string) => `${file}: ${run.id}/${name}`;
  try {
    parseRunConfig(run.config);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    throw new UsageError(
      err.problems.map((p) => ({ field: where(RUN_FILES.config), message: `${p.field}: ${p.message}` })),
    );
  }
  try {
    parseRunStatus(run.status, RUN_FILES.status);
  } catch (err) {
    throw new UsageError({ field: where(RUN_FILES.status), message: (err as Error).message });
  }
  const id = opts.id ?? run.id;
  try {
    validateRunId(id);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    throw new UsageError({ field: opts.id !== undefined ? '--id' : 'run', message: err.problems[0].message });
  }
  if (fs.existsSync(path.join(opts.runsDir, id))) {
    throw new UsageError({
      field: opts.id !== undefined ? '--id' : 'run',
      message: `run "${id}" already exists in ${opts.runsDir}; import it under another id with --id`,
    });
  }
  const folder = writePortableRun(opts.runsDir, run, id);
  if (run.tornTail)
    process.stderr.write(
      `note: ${run.id}/${RUN_FILES.metrics} ended in an incomplete line; it was left out\n`,
    );
  const steps = [...run.checkpoints.keys()].sort((a, b) => a - b);
  out.write(
    `imported run ${id} into ${folder.dir}: ${run.records.length} evaluation(s), ` +
      `checkpoints at ${steps.length > 0 ? `step ${steps.join(', ')}` : 'no step'}\n`,
  );
}

/** Flags as an ImportRequest; every missing or malformed flag is reported at once. */
function parseRequest(files: string[], opts: ImportCliOptions): ImportRequest {
  const problems: FieldProblem[] = [];
  const required = (field: string, value: string | undefined, allowed: string) => {
    if (value === undefined) problems.push({ field, message: `required (${allowed})` });
  };
  required('--config', opts.config, 'a HookedTransformerConfig as a JSON file');
  required('--task', opts.task, `one of ${MODULAR_OPS.join(', ')}`);
  required(
    '--p',
    opts.p,
    `the modulus, an integer in [${TASK_LIMITS.modularP.min}, ${TASK_LIMITS.modularP.max}]`,
  );
  if (opts.trainFraction === undefined && opts.split === undefined) {
    problems.push({
      field: '--train-fraction',
      message: 'required unless --split is given (a number in (0, 1))',
    });
  }
  const p = numberFlag(problems, '--p', opts.p);
  const trainFraction = numberFlag(problems, '--train-fraction', opts.trainFraction);
  const seed = numberFlag(problems, '--seed', opts.seed);
  const tlConfig = opts.config === undefined ? undefined : readJson('--config', opts.config, problems);
  const split = opts.split === undefined ? undefined : readJson('--split', opts.split, problems);
  let steps: number[] | undefined;
  try {
    steps = opts.steps === undefined ? undefined : parseStepList(opts.steps);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    problems.push(...err.problems);
  }
  if (problems.length > 0) throw new UsageError(problems);
  return {
    files,
    tlConfig,
    task: { kind: 'modular', op: opts.task, p, train_fraction: trainFraction },
    seed: seed as number,
    split,
    steps,
    overrides: parseOverrides(opts.set),
    runsDir: opts.runsDir,
    id: opts.id,
  };
}

/** Config fields set from flags, named by the flag in messages. */
const FLAG_OF: Record<string, string> = {
  'task.op': '--task',
  'task.p': '--p',
  'task.train_fraction': '--train-fraction',
  seed: '--seed',
};

function withFlagNames<T>(work: () => T): T {
  try {
    return work();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    throw new UsageError(err.problems.map((p) => ({ ...p, field: FLAG_OF[p.field] ?? p.field })));
  }
}

function readJson(field: string, file: string, problems: FieldProblem[]): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    problems.push({ field, message: `cannot read ${file}: ${(err as Error).message}` });
    return undefined;
  }
}
