/** Starts the child process of one run (child.ts) and turns its messages and exit into a result. */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CHILD_EXIT, type ChildMessage, type ChildRequest, type FinalMetrics } from './child-protocol.ts';

// Compiled (dist/sweep/child-process.js): the compiled child.js. From the TypeScript sources
// (tests, development): child.mjs, which loads child.ts through tsx.
const CHILD_ENTRY = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? './child.mjs' : './child.js', import.meta.url),
);
const STDERR_TAIL = 4000;

export type ChildResult =
  | {
      kind: 'done';
      reason: 'budget' | 'threshold' | 'interrupted' | 'already-finished';
      metrics: FinalMetrics;
      resumedFrom: number | null;
      restarted: string | null;
    }
  | { kind: 'busy'; pid: number; hostname: string }
  /** Bad input (e.g. a config the run cannot take) or a diverged run: retrying will not help. */
  | { kind: 'final'; message: string }
  /** An error in the run, or the process died (signal, out of memory): worth a retry. */
  | { kind: 'failed'; message: string; step: number | null };

export interface ChildEvents {
  onStarted?(info: {
    step: number;
    totalSteps: number;
    resumedFrom: number | null;
    restarted: string | null;
  }): void;
  onEval?(info: { step: number; train_acc: number; test_acc: number }): void;
}

export interface RunChild {
  pid: number;
  result: Promise<ChildResult>;
  /** Asks the run to stop after its current step with a checkpoint (SIGINT). */
  stop(): void;
  /** Kills the process at once (SIGKILL); the run resumes from its last checkpoint later. */
  kill(): void;
}

/**
 * Environment of a child: the parent's, with one matrix-product thread per child unless the user
 * chose a count, since the pool already runs one child per core.
 */
export function childEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GROKLAB_THREADS: process.env.GROKLAB_THREADS ?? '1' };
}

export function launchRun(request: ChildRequest, events: ChildEvents = {}): RunChild {
  // No execArgv: the parent's flags (e.g. --test under the test runner) are not for the child;
  // NODE_OPTIONS in the environment still applies.
  const child = fork(CHILD_ENTRY, [], {
    env: childEnv(),
    execArgv: [],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL);
  });
  let last: ChildMessage | null = null;
  let started: { resumedFrom: number | null; restarted: string | null } = {
    resumedFrom: null,
    restarted: null,
  };
  let step: number | null = null;
  child.on('message', (message: ChildMessage) => {
    if (message.type === 'ready') {
      child.send(request);
      return;
    }
    last = message;
    if (message.type === 'started') {
      started = { resumedFrom: message.resumedFrom, restarted: message.restarted };
      step = message.step;
      events.onStarted?.(message);
    } else if (message.type === 'eval') {
      step = message.step;
      events.onEval?.(message);
    }
  });
  const result = new Promise<ChildResult>((resolve) => {
    child.once('error', (err) => resolve({ kind: 'failed', message: `cannot start: ${err.message}`, step }));
    child.once('exit', (code, signal) => {
      const final = last as ChildMessage | null;
      if (code === CHILD_EXIT.ok && final?.type === 'done') {
        const { type: _type, reason, ...metrics } = final;
        resolve({ kind: 'done', reason, metrics, ...started });
      } else if (code === CHILD_EXIT.busy && final?.type === 'busy') {
        resolve({ kind: 'busy', pid: final.pid, hostname: final.hostname });
      } else if (code === CHILD_EXIT.final && final?.type === 'error') {
        resolve({ kind: 'final', message: final.message });
      } else if (final?.type === 'error') {
        resolve({ kind: 'failed', message: final.message.split('\n')[0], step });
      } else {
        const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
        const detail = stderr.trim().split('\n').slice(-3).join(' | ');
        resolve({
          kind: 'failed',
          message: `process ${how}${step !== null ? ` near step ${step}` : ''}${detail ? `: ${detail}` : ''}`,
          step,
        });
      }
    });
  });
  return {
    pid: child.pid ?? -1,
    result,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
