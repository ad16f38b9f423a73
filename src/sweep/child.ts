/**
 * The child process of one sweep run (started through child.mjs): receives a ChildRequest over IPC,
 * starts, restarts or resumes the run, reports progress, and exits. SIGINT/SIGTERM stop it after
 * the current step with a checkpoint (the run is marked stopped, resumable); if the parent dies
 * (IPC channel closed), it exits at once, and the run resumes from its last checkpoint later.
 *
 * Test-only fault injection: GROKLAB_TEST_CRASH_AT_STEP=N (or RUN@N,RUN@N,... for single runs) kills
 * this process with SIGKILL right after step N, after that step's checkpoint if it has one (so a
 * retry resumes past it), otherwise on every attempt. Read here and nowhere else: only sweep
 * children honour it.
 */
import { parseRunConfig } from '../config/schema.ts';
import { RunDiverged, type RunHooks, type RunOutcome, resumeRun, startRun } from '../runner/session.ts';
import { RunFolder } from '../runs/index.ts';
import { UsageError } from '../util/errors.ts';
import { CHILD_EXIT, type ChildMessage, type ChildRequest } from './child-protocol.ts';
import { finalMetrics, inspectRun, removeRunFolder } from './run-state.ts';

let stopRequested = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stopRequested = true;
  });
}
// The parent is gone (killed): nobody will collect this run's result; stop now, resume later.
process.on('disconnect', () => process.exit(CHILD_EXIT.error));

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) resolve();
    else process.send(message, () => resolve());
  });
}

/** The step GROKLAB_TEST_CRASH_AT_STEP asks this run to crash at: `N` (every run) or `RUN@N` items. */
function crashHook(runId: string): number | null {
  for (const item of (process.env.GROKLAB_TEST_CRASH_AT_STEP ?? '').split(',')) {
    const [target, step] = item.includes('@') ? item.split('@') : [runId, item];
    if (target === runId && step !== undefined && step.trim() !== '') return Number(step);
  }
  return null;
}

async function runOne(req: ChildRequest): Promise<number> {
  const crashAt = crashHook(req.runId);
  let resumedFrom: number | null = null;
  let restarted: string | null = null;
  const hooks: RunHooks = {
    onStart: ({ step, totalSteps }) =>
      void send({ type: 'started', step, totalSteps, resumedFrom, restarted }),
    onEval: (r) => void send({ type: 'eval', step: r.step, train_acc: r.train_acc, test_acc: r.test_acc }),
    onStep: (step) => {
      if (step === crashAt) process.kill(process.pid, 'SIGKILL');
      return stopRequested;
    },
  };

  const disposition = inspectRun(req.runsDir, req.runId, req.takeover);
  let outcome: RunOutcome;
  switch (disposition.kind) {
    case 'busy':
      await send({ type: 'busy', pid: disposition.pid, hostname: disposition.hostname });
      return CHILD_EXIT.busy;
    case 'finished': {
      const run = new RunFolder(req.runsDir, req.runId);
      await send({ type: 'done', reason: 'already-finished', ...finalMetrics(run, disposition.step) });
      return CHILD_EXIT.ok;
    }
    case 'restart':
      restarted = disposition.reason;
      removeRunFolder(req.runsDir, req.runId);
      outcome = await startRun(req.runsDir, req.config, { id: req.runId, hooks });
      break;
    case 'start':
      outcome = await startRun(req.runsDir, req.config, { id: req.runId, hooks });
      break;
    case 'resume': {
      const run = new RunFolder(req.runsDir, req.runId);
      const status = run.readStatus();
      if (status.state === 'running') {
        // Only reached with takeover: the status is another host's, whose worker lost the job.
        run.writeStatus({
          state: 'stopped',
          message: `taken over from ${status.hostname} (pid ${status.pid})`,
        });
      }
      const steps = parseRunConfig(run.readConfig()).train.steps;
      if (disposition.step >= steps) {
        // Stopped right after its last step: nothing left to train.
        run.writeStatus({ state: 'finished', step: disposition.step, message: 'step budget reached' });
        await send({ type: 'done', reason: 'budget', ...finalMetrics(run, disposition.step) });
        return CHILD_EXIT.ok;
      }
      resumedFrom = disposition.step;
      outcome = await resumeRun(req.runsDir, req.runId, { hooks });
      break;
    }
  }
  // The status has the step it stopped at; the last evaluation may be a little earlier.
  const metrics = finalMetrics(outcome.run, outcome.run.readStatus().step);
  await send({ type: 'done', reason: outcome.reason, ...metrics });
  return CHILD_EXIT.ok;
}

process.once('message', (req: ChildRequest) => {
  runOne(req)
    .catch(async (err: unknown) => {
      // Bad input, or a run that diverged (its status says failed; resuming would diverge again).
      const final = err instanceof UsageError || err instanceof RunDiverged;
      const message = final ? err.message : ((err as Error).stack ?? String(err));
      await send({ type: 'error', message, final });
      return final ? CHILD_EXIT.final : CHILD_EXIT.error;
    })
    .then((code) => process.exit(code));
});
void send({ type: 'ready' });
