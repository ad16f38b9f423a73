/**
 * The `groklab` command line. Each command lives in its own module, loaded only when that command
 * runs: `groklab --help` and `groklab presets` do not pay for DuckDB, Vega, BullMQ or the engine.
 */
import { Command, CommanderError } from 'commander';
import { GROKLAB_VERSION } from '../config/version.ts';
import { CommandExit, UsageError } from '../util/errors.ts';

type Register = (program: Command) => void;

/**
 * Every command: the one-line summary `groklab --help` lists (also its description unless its
 * module gives a longer one), and the module that defines it.
 */
const COMMANDS: Record<string, { summary: string; load: () => Promise<Register> }> = {
  train: {
    summary: 'train a model from a preset (or a config file) into a new run folder',
    load: async () => (await import('./train.ts')).registerTrain,
  },
  resume: {
    summary: 'continue a run from a checkpoint, optionally with changed training settings',
    load: async () => (await import('./train.ts')).registerResume,
  },
  runs: {
    summary: 'list runs with their status and latest accuracies',
    load: async () => (await import('./runs.ts')).registerRuns,
  },
  presets: {
    summary: 'list the built-in presets',
    load: async () => (await import('./presets.ts')).registerPresets,
  },
  detect: {
    summary: "did a run (or anyone's training log) grok, when, and how sharply",
    load: async () => (await import('./detect.ts')).registerDetect,
  },
  analyze: {
    summary:
      'why a run grokked: Fourier circuit, progress measures, norms, Hessian, pruning, ablation, patching',
    load: async () => (await import('./analyze.ts')).registerAnalyze,
  },
  plot: {
    summary: 'learning curves and weight norms of runs as SVG and PNG',
    load: async () => (await import('./plot.ts')).registerPlot,
  },
  export: {
    summary: "a run's checkpoint with TransformerLens's names and shapes, plus its HookedTransformerConfig",
    load: async () => (await import('./export.ts')).registerExport,
  },
  import: {
    summary: 'a lab export (.zip) or TransformerLens checkpoints as a run folder',
    load: async () => (await import('./import.ts')).registerImport,
  },
  serve: {
    summary: 'live dashboard of a runs directory, and the lab at /lab',
    load: async () => (await import('./serve.ts')).registerServe,
  },
  sweep: {
    summary: 'train a grid of runs here (one process per core) or on a Redis queue',
    load: async () => (await import('./sweep.ts')).registerSweep,
  },
  worker: {
    summary: 'take sweep runs from a Redis queue and train them',
    load: async () => (await import('./sweep.ts')).registerWorker,
  },
  'sweep-report': {
    summary: "a sweep's table, phase diagrams and literature claim checks",
    load: async () => (await import('./sweep-report.ts')).registerSweepReport,
  },
};

/** The command named on the command line (`groklab help CMD` names one too), if any. */
function requestedCommand(argv: string[]): string | undefined {
  const [first, second] = argv;
  const name = first === 'help' ? second : first;
  return name !== undefined && Object.hasOwn(COMMANDS, name) ? name : undefined;
}

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 bad input). */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('groklab')
    .description('Train small networks on algorithmic data and watch them grok')
    .version(GROKLAB_VERSION)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  try {
    const name = requestedCommand(argv);
    if (name !== undefined) {
      (await COMMANDS[name].load())(program);
      // A command whose module gives no longer description is described by its summary.
      const command = program.commands.find((c) => c.name() === name);
      if (command && command.description() === '') command.description(COMMANDS[name].summary);
    } else {
      // Only the list is needed (help, or an unknown command to reject): names and summaries.
      for (const [command, { summary }] of Object.entries(COMMANDS))
        program.command(command).summary(summary);
    }
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommandExit) return err.code;
    if (err instanceof UsageError) {
      for (const p of err.problems) process.stderr.write(`groklab: ${p.field}: ${p.message}\n`);
      return 2;
    }
    if (err instanceof CommanderError) {
      // Help and version exit 0; unknown commands/options and missing arguments are bad input.
      return err.exitCode === 0 ? 0 : 2;
    }
    process.stderr.write(`groklab: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}
