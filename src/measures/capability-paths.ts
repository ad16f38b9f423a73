/**
 * `groklab detect PATH... --capabilities GLOB` on files: every path `detect` takes (run folder, runs
 * directory, run zip, CSV, JSONL, TensorBoard file or directory) read by readers/, each log's matching
 * columns analysed by capabilities.ts. Node only (it reads files).
 */
import path from 'node:path';
import { UsageError } from '../util/errors.ts';
import { analyzeLog, type LoadedLog } from './analyze.ts';
import {
  analyzeCapability,
  type CapabilityOptions,
  type CapabilityOutcome,
  type CapabilityResult,
  capabilityColumns,
  capabilityOptionProblems,
  noMatch,
} from './capabilities.ts';
import { type HiddenGrokking, hiddenGrokking } from './hidden-grokking.ts';
import { loadTarget, targetsOf } from './readers/index.ts';
import { extractSeries } from './series.ts';

export interface CapabilityDetection {
  /** One per matching column of every log, in path and column order; a run of a runs directory that cannot be read is a failure. */
  outcomes: CapabilityOutcome[];
  /** Logs with no matching column (when another log had some). */
  unmatched: string[];
  /** The steps each capability was evaluated at (the timeline's dots). */
  steps: Map<CapabilityResult, number[]>;
  /** Per log (its path) with two or more accuracy capabilities: the hidden-grokking claims. */
  hidden: Map<string, HiddenGrokking>;
}

/**
 * detect's verdict on a groklab run's aggregate curves (a mixture's whole test set), the reference
 * the hidden-grokking claims compare with; null for other logs or when the aggregate cannot be read.
 */
function aggregateOf(log: LoadedLog) {
  if (log.source.kind !== 'groklab-run') return null;
  try {
    return analyzeLog(log);
  } catch {
    return null;
  }
}

/**
 * Analyses the matching columns of every path. UsageError (--capabilities) when the glob matches no
 * column in any of them, listing each log's columns; bad options are UsageErrors too.
 */
export function detectCapabilities(paths: string[], options: CapabilityOptions): CapabilityDetection {
  const problems = capabilityOptionProblems(options);
  if (problems.length > 0) throw new UsageError(problems);
  const outcomes: CapabilityOutcome[] = [];
  const unmatched: Array<{ where: string; columns: string[] }> = [];
  const steps = new Map<CapabilityResult, number[]>();
  const hidden = new Map<string, HiddenGrokking>();
  for (const p of paths) {
    const { targets, runsDir } = targetsOf(p);
    for (const target of targets) {
      let log: LoadedLog;
      let matched: ReturnType<typeof capabilityColumns>;
      try {
        log = loadTarget(target);
        matched = capabilityColumns(log, options);
      } catch (err) {
        // In a runs directory one unreadable run does not stop the others (as in `detect`).
        if (!runsDir || (err instanceof UsageError && err.problems.some((pr) => pr.field.startsWith('--'))))
          throw err;
        outcomes.push({
          source: { kind: 'groklab-run', path: target.path, run_id: path.basename(target.path) },
          error: (err as Error).message,
        });
        continue;
      }
      if (matched.columns.length === 0) {
        unmatched.push({ where: log.where, columns: matched.all });
        continue;
      }
      const results = matched.columns.map((column) => {
        const result = analyzeCapability(log, column, matched.step, options);
        const role = result.kind === 'accuracy' ? 'test_acc' : 'test_loss';
        steps.set(result, extractSeries(log.table.rows, matched.step, column, role).series.steps);
        return result;
      });
      outcomes.push(...results);
      if (results.filter((r) => r.kind === 'accuracy').length >= 2) {
        const claims = hiddenGrokking(results, aggregateOf(log));
        if (claims) hidden.set(results[0].source.path ?? log.where, claims);
      }
    }
  }
  if (!outcomes.some((o) => !('error' in o))) {
    if (unmatched.length > 0) throw noMatch(options.glob, unmatched);
  }
  return { outcomes, unmatched: unmatched.map((u) => u.where), steps, hidden };
}
