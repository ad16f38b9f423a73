/** Messages between a sweep (local pool or queue worker) and the child process training one run. */

export interface ChildRequest {
  type: 'run';
  runsDir: string;
  runId: string;
  /** The cell's config, used when the run is started (a resumed run keeps its own config.json). */
  config: Record<string, unknown>;
  /** Queue workers only: a "running" status from another host is stale (see inspectRun). */
  takeover: boolean;
}

export interface FinalMetrics {
  step: number;
  train_acc: number | null;
  test_acc: number | null;
  wall_s: number | null;
}

export type ChildMessage =
  /** Sent once the child listens for its request (messages sent earlier could be lost). */
  | { type: 'ready' }
  | {
      type: 'started';
      step: number;
      totalSteps: number;
      /** Checkpoint step resumed from; null for a fresh start. */
      resumedFrom: number | null;
      /** Why an existing folder was deleted and the run started over, if it was. */
      restarted: string | null;
    }
  | { type: 'eval'; step: number; train_acc: number; test_acc: number }
  | ({ type: 'done'; reason: 'budget' | 'threshold' | 'interrupted' | 'already-finished' } & FinalMetrics)
  /** `final`: bad input or a diverged run, which a retry would only repeat. */
  | { type: 'error'; message: string; final: boolean }
  | { type: 'busy'; pid: number; hostname: string };

/** Exit codes of the child. Anything else (or a signal) is a crash. */
export const CHILD_EXIT = { ok: 0, error: 1, final: 2, busy: 3 } as const;
