/** PortableRun (portable.ts) to and from run folders on disk: the Node side of lab exports. */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './atomic.ts';
import { createRunFolder, RunFolder } from './folder.ts';
import { type PortableRun, RUN_FILES, runFolderFiles } from './portable.ts';

/**
 * The run folder `dir` as a PortableRun, its files read as they are (status.json unvalidated, so
 * runFolderFiles gives back its bytes). A torn last metrics line is skipped and flagged (tornTail).
 */
export function readPortableRun(dir: string): PortableRun {
  const resolved = path.resolve(dir);
  const run = new RunFolder(path.dirname(resolved), path.basename(resolved));
  const { records, tornTail } = run.readMetrics();
  const status = JSON.parse(fs.readFileSync(run.statusPath, 'utf8')) as unknown;
  if (typeof status !== 'object' || status === null || Array.isArray(status)) {
    throw new Error(`${run.statusPath} is not a JSON object`);
  }
  const checkpoints = new Map<number, Uint8Array>();
  for (const step of run.listCheckpoints()) checkpoints.set(step, run.readCheckpoint(step));
  return {
    id: run.id,
    config: run.readConfig(),
    split: run.readSplit(),
    records,
    status: status as Record<string, unknown>,
    checkpoints,
    tornTail,
  };
}

/**
 * Writes `run` as the new run folder `runsDir/<id>` (default its own id): staged and renamed into
 * place like every run folder made with more than its config (createRunFolder), so an interrupted
 * import leaves nothing behind. UsageError (field `run`) when the id is taken or invalid.
 */
export function writePortableRun(runsDir: string, run: PortableRun, id: string = run.id): RunFolder {
  return createRunFolder(runsDir, id, { config: run.config, split: run.split }, (staged) => {
    // config.json and split.json were written from the same formatter; the rest replaces the
    // empty metrics log and the fresh status createRunFolder starts with.
    for (const file of runFolderFiles(run)) {
      if (file.path === RUN_FILES.config || file.path === RUN_FILES.split) continue;
      const target = path.join(staged.dir, ...file.path.split('/'));
      writeFileAtomic(target, file.bytes);
    }
  });
}
