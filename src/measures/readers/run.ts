/**
 * groklab run folders: metrics.jsonl for the curves, config.json and split.json for the exact
 * baseline (baseline.ts), status.json for whether the run is still going. The files are read here;
 * what they say is read by run-log.ts, which reads a run held in memory the same way.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isInterrupted, RUN_FILES, readJsonFile, readMetrics } from '../../runs/index.ts';
import type { LoadedLog } from '../analyze.ts';
import { loadRunParts } from '../run-log.ts';

export function isRunFolder(dir: string): boolean {
  return fs.existsSync(path.join(dir, RUN_FILES.config)) && fs.existsSync(path.join(dir, RUN_FILES.metrics));
}

export function loadRun(dir: string): LoadedLog {
  if (!isRunFolder(dir))
    throw new Error(`not a groklab run: ${RUN_FILES.config} or ${RUN_FILES.metrics} is missing`);
  const { records, tornTail } = readMetrics(path.join(dir, RUN_FILES.metrics));
  const statusPath = path.join(dir, RUN_FILES.status);
  return loadRunParts({
    records,
    tornTail,
    config: () => readJsonFile(path.join(dir, RUN_FILES.config)),
    split: () => readJsonFile(path.join(dir, RUN_FILES.split)),
    status: () => (fs.existsSync(statusPath) ? readJsonFile(statusPath) : undefined),
    statusName: statusPath,
    isInterrupted: (status) => isInterrupted(status),
    path: dir,
    runId: path.basename(path.resolve(dir)),
    where: dir,
  });
}
