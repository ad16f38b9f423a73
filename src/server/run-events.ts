/**
 * The live feed of one run (GET /api/runs/:id/events): new metrics records as the trainer appends
 * them, status changes, and the detector's result whenever t_mem, t_grok or the verdict change.
 *
 * The run folder is watched with fs.watch (appends to metrics.jsonl and the rename that replaces
 * status.json both show up as events on the folder) and polled as well, because fs.watch can be
 * unavailable (inotify limits, network file systems) or miss events. Each wake-up reads only the
 * bytes after the last complete line sent (src/server/metrics-tail.ts). Event ids are
 * "<file>:<offset>", so an EventSource that reconnects (sending Last-Event-ID) resumes exactly.
 */
import fs from 'node:fs';
import path from 'node:path';
import { RUN_FILES } from '../runs/index.ts';
import type { RunEvents } from './api-types.ts';
import { MetricsTail } from './metrics-tail.ts';
import type { RunCatalog } from './run-catalog.ts';
import type { SseChannel } from './sse.ts';

export interface RunFeedOptions {
  /** Polling period, also when fs.watch works (ms). */
  pollMs: number;
  /** Counts of live watchers and timers, for the server's stats (tests check nothing leaks). */
  resources: { watchers: number; timers: number };
}

/** Where a client wants the stream to start: after byte `offset` of the file with identity `file`. */
export interface FeedStart {
  offset: number;
  file: string | null;
}

/** Parses `<file>:<offset>` (an event id) or a bare offset; null when malformed. */
export function parseFeedStart(id: string | undefined, offset: string | undefined, file: string | undefined) {
  if (id !== undefined && id !== '') {
    const m = /^([0-9]+-[0-9]+):([0-9]+)$/.exec(id);
    return m ? { file: m[1], offset: Number(m[2]) } : null;
  }
  if (offset === undefined || offset === '') return { offset: 0, file: null };
  if (!/^[0-9]{1,15}$/.test(offset)) return null;
  if (file !== undefined && !/^[0-9]+-[0-9]+$/.test(file)) return null;
  return { offset: Number(offset), file: file ?? null };
}

function send<K extends keyof RunEvents>(channel: SseChannel, event: K, data: RunEvents[K], id?: string) {
  channel.send(event, data, id);
}

/** Starts feeding `channel`; returns the clean-up (closes the watcher, clears the timers). */
export function feedRun(
  channel: SseChannel,
  catalog: RunCatalog,
  id: string,
  runDir: string,
  start: FeedStart,
  options: RunFeedOptions,
): () => void {
  const tail = new MetricsTail(path.join(runDir, RUN_FILES.metrics), start.offset, start.file);
  const { resources } = options;
  let lastStatus = '';
  let lastDetect = '';
  let detectPending = false;
  let wakeTimer: ReturnType<typeof setTimeout> | null = null;
  let detectTimer: ReturnType<typeof setTimeout> | null = null;

  const initial = catalog.status(id);
  send(channel, 'hello', { offset: start.offset, file: start.file ?? '', state: initial.state });

  const checkDetect = () => {
    const entry = catalog.detect(id);
    const m = entry.detect?.measures;
    const key = JSON.stringify([
      entry.detect?.verdict.label,
      m?.t_mem,
      m?.t_grok_onset,
      m?.t_grok_crossing,
      entry.error,
    ]);
    if (key !== lastDetect) {
      lastDetect = key;
      send(channel, 'detect', { detect: entry.detect, detect_error: entry.error });
    }
    // Throttled (the log changed again within the interval): look again once it has passed.
    detectPending = !entry.fresh;
    if (detectPending && detectTimer === null) {
      resources.timers++;
      detectTimer = setTimeout(() => {
        detectTimer = null;
        resources.timers--;
        wake();
      }, options.pollMs);
    }
  };

  const tick = () => {
    if (channel.closed) return;
    if (!fs.existsSync(runDir)) {
      send(channel, 'gone', { reason: `run "${id}" was removed` });
      channel.close();
      return;
    }
    let changed = detectPending;
    const read = tail.read();
    if (read.kind === 'reset') {
      send(channel, 'reset', { reason: read.reason });
      channel.close();
      return;
    }
    if (read.kind === 'lines' && (read.lines.records.length > 0 || read.lines.badLines > 0)) {
      const { records, offset, badLines, file } = read.lines;
      send(channel, 'metrics', { records, offset, bad_lines: badLines }, `${file}:${offset}`);
      changed = true;
    }
    let status: ReturnType<RunCatalog['status']>;
    try {
      status = catalog.status(id);
    } catch {
      return; // the folder is going away; the next tick says so
    }
    const statusKey = JSON.stringify([status.state, status.status?.step, status.status?.message]);
    if (statusKey !== lastStatus) {
      lastStatus = statusKey;
      send(channel, 'status', { state: status.state, status: status.status });
      changed = true;
    }
    if (changed) checkDetect();
  };

  const wake = () => {
    if (wakeTimer !== null || channel.closed) return;
    // Coalesce the burst of events one append and one status rename make.
    resources.timers++;
    wakeTimer = setTimeout(() => {
      wakeTimer = null;
      resources.timers--;
      tick();
    }, 30);
  };

  let watcher: fs.FSWatcher | null = null;
  try {
    watcher = fs.watch(runDir, { persistent: false }, (_event, name) => {
      if (name === null || name === RUN_FILES.metrics || name === RUN_FILES.status) wake();
    });
    resources.watchers++;
    watcher.on('error', () => {
      // Polling carries on alone.
      if (watcher) {
        watcher.close();
        watcher = null;
        resources.watchers--;
      }
    });
  } catch {
    watcher = null;
  }
  resources.timers++;
  const poll = setInterval(tick, options.pollMs);
  tick();

  return () => {
    clearInterval(poll);
    resources.timers--;
    if (wakeTimer !== null) {
      clearTimeout(wakeTimer);
      resources.timers--;
    }
    if (detectTimer !== null) {
      clearTimeout(detectTimer);
      resources.timers--;
    }
    if (watcher) {
      watcher.close();
      resources.watchers--;
    }
  };
}
