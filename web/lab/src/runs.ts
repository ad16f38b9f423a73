/**
 * The lab's runs on the page: their state (model.ts LabRun), one training worker per running run
 * (train-worker.ts), persistence (store.ts), the live `detect` verdict, and export/import of run
 * folders. Components subscribe with useSyncExternalStore and call the LabActions methods.
 */
import type { Override } from '../../../src/config/overrides.ts';
import { parseRunConfig, type RunConfig } from '../../../src/config/schema.ts';
import { analyzeLog } from '../../../src/measures/analyze.ts';
import { detectPortableRun, loadLogText } from '../../../src/measures/run-log.ts';
import type { DetectResult } from '../../../src/measures/types.ts';
import { type PortableRun, unzipRunFolder, zipRunFolder } from '../../../src/runs/portable.ts';
import type { EvalRecord } from '../../../src/train/trainer.ts';
import { UsageError } from '../../../src/util/errors.ts';
import { RUN_COLORS } from '../../dashboard/src/palette.ts';
import type { ConfigProblem, LabActions, LabRun, LabRunState } from './model.ts';
import type { FromWorker, ResumePoint, ToWorker } from './protocol.ts';
import { LabStore, type StoredRun } from './store.ts';

/**
 * How often the live verdict is recomputed, and the page redrawn for new evaluations, while runs
 * train. The page shares the machine's cores with the kernel threads: redrawing at every
 * evaluation of a fast run (ten a second for the demo) would take CPU time from training.
 */
const DETECT_INTERVAL_MS = 1000;
const REDRAW_INTERVAL_MS = 250;

/** The run-folder status a lab state is exported as. */
const EXPORTED_STATE: Record<LabRunState, string> = {
  new: 'stopped',
  running: 'stopped',
  paused: 'stopped',
  stopped: 'stopped',
  finished: 'finished',
  failed: 'failed',
  imported: 'finished',
};

export function problemsOf(error: unknown): ConfigProblem[] | null {
  if (error instanceof UsageError) return error.problems.map((p) => ({ field: p.field, message: p.message }));
  return null;
}

/** Validates a config as `groklab train` does: the config, or every problem with its field. */
export function validateConfig(raw: unknown): { config: RunConfig } | { problems: ConfigProblem[] } {
  try {
    return { config: parseRunConfig(raw) };
  } catch (error) {
    const problems = problemsOf(error);
    if (problems === null) throw error;
    return { problems };
  }
}

function runIdFor(prefix: string, taken: (id: string) => boolean): string {
  const now = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  const base = `${prefix.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'run'}-${stamp}`;
  let id = base;
  for (let n = 2; taken(id); n++) id = `${base}-${n}`;
  return id;
}

export class LabRuns implements LabActions {
  private readonly runs = new Map<string, LabRun>();
  private readonly workers = new Map<string, Worker>();
  /** Checkpoints kept in memory when IndexedDB is unavailable. */
  private readonly memoryCheckpoints = new Map<string, Uint8Array>();
  private readonly listeners = new Set<() => void>();
  private snapshot: LabRun[] = [];
  private detectTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private nextColor = 0;
  private redrawTimer: ReturnType<typeof setTimeout> | null = null;

  private constructor(
    private readonly store: LabStore | null,
    /** Where the built lab's files are (the worker's script). */
    private readonly base: URL,
  ) {}

  static async open(base: URL): Promise<LabRuns> {
    const runs = new LabRuns(await LabStore.open(), base);
    await runs.load();
    return runs;
  }

  get persistent(): boolean {
    return this.store !== null;
  }

  // --- the external store React subscribes to ---
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): LabRun[] => this.snapshot;

  get(id: string): LabRun | undefined {
    return this.runs.get(id);
  }

  private changed(): void {
    if (this.redrawTimer !== null) clearTimeout(this.redrawTimer);
    this.redrawTimer = null;
    this.snapshot = [...this.runs.values()];
    for (const listener of this.listeners) listener();
  }

  /** Redraws within REDRAW_INTERVAL_MS (the state itself is current at once: get() reads it). */
  private changedSoon(): void {
    this.redrawTimer ??= setTimeout(() => this.changed(), REDRAW_INTERVAL_MS);
  }

  private update(
    id: string,
    patch: Partial<LabRun>,
    persist = true,
    redraw: 'now' | 'soon' = 'now',
  ): LabRun | undefined {
    const run = this.runs.get(id);
    if (run === undefined) return undefined;
    const next = { ...run, ...patch };
    this.runs.set(id, next);
    if (redraw === 'now') this.changed();
    else this.changedSoon();
    if (persist) void this.store?.saveRun(stored(next));
    return next;
  }

  private async load(): Promise<void> {
    if (this.store === null) return;
    for (const saved of await this.store.loadRuns()) {
      // A run that was training when the page went away continues from its last checkpoint.
      const state: LabRunState = saved.state === 'running' ? 'stopped' : saved.state;
      const message =
        saved.state === 'running'
          ? `the page was closed at step ${saved.step}; resume continues from the last checkpoint`
          : saved.message;
      const run: LabRun = { ...saved, state, message, detect: null };
      this.runs.set(run.id, run);
      this.nextColor++;
      this.scheduleDetect(run.id, 0);
    }
    this.changed();
  }

  private newRun(fields: Partial<LabRun> & Pick<LabRun, 'id' | 'label' | 'config'>): LabRun {
    const run: LabRun = {
      color: RUN_COLORS[this.nextColor++ % RUN_COLORS.length],
      split: null,
      records: [],
      spectrum: null,
      keyShare: [],
      checkpoints: [],
      state: 'new',
      step: 0,
      message: '',
      kernels: null,
      detect: null,
      createdAt: new Date().toISOString(),
      ...fields,
    };
    this.runs.set(run.id, run);
    this.changed();
    void this.store?.saveRun(stored(run));
    return run;
  }

  create(raw: unknown, label?: string): { id: string } | { problems: ConfigProblem[] } {
    const checked = validateConfig(raw);
    if ('problems' in checked) return checked;
    const config = checked.config;
    const id = runIdFor(config.preset ?? 'run', (candidate) => this.runs.has(candidate));
    this.newRun({ id, label: label ?? id, config });
    return { id };
  }

  // --- training ---

  /**
   * Threads for runs starting now: the cores shared among the runs training, these `starting` ones
   * included (at most 8, as on Node).
   */
  private threadsFor(starting = 1): number {
    const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
    const training = [...this.runs.values()].filter((r) => r.state === 'running').length + starting;
    return Math.max(1, Math.min(8, Math.floor(cores / training)));
  }

  private spawn(id: string, message: ToWorker & { type: 'start' }): void {
    this.workers.get(id)?.terminate();
    const worker = new Worker(new URL('./train-worker.js', this.base), { type: 'module' });
    this.workers.set(id, worker);
    worker.onmessage = (event: MessageEvent<FromWorker>) => this.receive(id, event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      this.update(id, { state: 'failed', message: `the training worker failed: ${event.message}` });
    };
    this.update(id, { state: 'running', message: 'starting…' });
    worker.postMessage(message);
  }

  private receive(id: string, message: FromWorker): void {
    const run = this.runs.get(id);
    if (run === undefined) return;
    switch (message.type) {
      case 'kernels':
        this.update(id, {
          kernels: `${message.name}, ${message.threads} thread${message.threads === 1 ? '' : 's'}${message.note ? ` (${message.note})` : ''}`,
        });
        return;
      case 'started':
        this.update(id, { config: message.config as RunConfig, split: message.split, step: message.step });
        return;
      case 'eval': {
        const { record, spectrum } = message;
        const records = [...run.records.filter((r) => r.step < record.step), record];
        const keyShare = spectrum
          ? [
              ...run.keyShare.filter((k) => k.step < record.step),
              { step: record.step, share: spectrum.keyShare },
            ]
          : run.keyShare;
        this.update(
          id,
          { records, keyShare, spectrum: spectrum ?? run.spectrum, step: record.step },
          false,
          'soon',
        );
        void this.store?.addRecord(id, record, spectrum);
        this.scheduleDetect(id, DETECT_INTERVAL_MS);
        return;
      }
      case 'checkpoint': {
        const checkpoints = [...run.checkpoints.filter((s) => s < message.step), message.step];
        if (this.store === null) this.memoryCheckpoints.set(`${id}/${message.step}`, message.bytes);
        else void this.store.putCheckpoint(id, message.step, message.bytes);
        this.update(id, { checkpoints, step: message.step });
        return;
      }
      case 'state': {
        const state: LabRunState = message.state;
        this.update(id, { state, step: message.step, message: message.message });
        if (state === 'finished' || state === 'failed') {
          this.workers.get(id)?.terminate();
          this.workers.delete(id);
        }
        this.scheduleDetect(id, 0);
        return;
      }
      case 'notice':
        this.update(id, { message: message.message }, false);
        return;
      case 'invalid':
        this.update(id, {
          state: run.records.length > 0 ? 'paused' : 'failed',
          message: message.problems.map((p) => `${p.field}: ${p.message}`).join('; '),
        });
        return;
    }
  }

  private scheduleDetect(id: string, delay: number): void {
    if (this.detectTimers.has(id)) return;
    this.detectTimers.set(
      id,
      setTimeout(() => {
        this.detectTimers.delete(id);
        const run = this.runs.get(id);
        if (run !== undefined) this.update(id, { detect: detectOf(run) }, false);
      }, delay),
    );
  }

  start(id: string): void {
    this.startTogether([id]);
  }

  /** Starts runs side by side, sharing the cores among them from the start. */
  startTogether(ids: readonly string[]): void {
    const threads = this.threadsFor(ids.length);
    for (const id of ids) {
      const run = this.runs.get(id);
      if (run === undefined || run.config === null) continue;
      this.spawn(id, { type: 'start', runId: id, config: run.config, threads });
    }
  }

  pause(id: string): void {
    this.workers.get(id)?.postMessage({ type: 'pause' } satisfies ToWorker);
  }

  resume(id: string): void {
    const run = this.runs.get(id);
    if (run === undefined) return;
    const worker = this.workers.get(id);
    if (worker !== undefined && run.state === 'paused') {
      worker.postMessage({ type: 'continue' } satisfies ToWorker);
      return;
    }
    void this.continueFromCheckpoint(id, []);
  }

  /** A fresh worker continuing the run from its latest checkpoint (after a reload or an import). */
  private async continueFromCheckpoint(id: string, overrides: Override[]): Promise<void> {
    const run = this.runs.get(id);
    if (run === undefined || run.config === null) return;
    const step = run.checkpoints.at(-1);
    if (step === undefined) {
      this.start(id);
      return;
    }
    const point = await this.resumePoint(run, id, step, overrides);
    if (point === null) return;
    // As `groklab resume` in place: later metrics are dropped, then training continues.
    const records = run.records.filter((r) => r.step <= step);
    this.update(id, { records, step });
    void this.store?.truncate(id, step);
    this.spawn(id, {
      type: 'start',
      runId: id,
      config: run.config,
      threads: this.threadsFor(),
      resume: point,
    });
  }

  private async resumePoint(
    run: LabRun,
    fromRun: string,
    step: number,
    overrides: Override[],
  ): Promise<ResumePoint | null> {
    const checkpoint = await this.checkpoint(fromRun, step);
    if (checkpoint === null || run.config === null) {
      this.update(run.id, { state: 'failed', message: `the checkpoint at step ${step} is missing` });
      return null;
    }
    return {
      fromRun,
      step,
      checkpoint,
      previousConfig: run.config,
      history: run.records.filter((r) => r.step <= step),
      split: run.split,
      overrides,
      record: overrides.length > 0,
    };
  }

  private async checkpoint(id: string, step: number): Promise<Uint8Array | null> {
    if (this.store === null) return this.memoryCheckpoints.get(`${id}/${step}`) ?? null;
    return this.store.getCheckpoint(id, step);
  }

  reset(id: string): void {
    const run = this.runs.get(id);
    if (run === undefined || run.config === null) return;
    this.workers.get(id)?.terminate();
    this.workers.delete(id);
    for (const key of [...this.memoryCheckpoints.keys()])
      if (key.startsWith(`${id}/`)) this.memoryCheckpoints.delete(key);
    this.update(id, {
      records: [],
      keyShare: [],
      spectrum: null,
      checkpoints: [],
      step: 0,
      detect: null,
      state: 'new',
      message: '',
    });
    void this.store?.truncate(id, -1).then(() => this.start(id));
    if (this.store === null) this.start(id);
  }

  change(id: string, overrides: Override[]): void {
    const run = this.runs.get(id);
    if (run === undefined) return;
    const worker = this.workers.get(id);
    if (worker !== undefined && (run.state === 'running' || run.state === 'paused')) {
      worker.postMessage({ type: 'change', overrides } satisfies ToWorker);
      return;
    }
    void this.continueFromCheckpoint(id, overrides);
  }

  fork(id: string, step: number, overrides: Override[] = []): void {
    void this.forkAsync(id, step, overrides);
  }

  private async forkAsync(id: string, step: number, overrides: Override[]): Promise<void> {
    const source = this.runs.get(id);
    if (source === undefined || source.config === null) return;
    const forkId = runIdFor(`${id}-from${step}`, (candidate) => this.runs.has(candidate));
    const point = await this.resumePoint(source, id, step, overrides);
    if (point === null) return;
    point.record = true; // a fork always records where it came from, as `groklab resume --fork` does
    const history = point.history;
    const copied = source.checkpoints.filter((s) => s <= step);
    this.newRun({
      id: forkId,
      label: `${source.label} from ${step}`,
      config: source.config,
      split: source.split,
      records: history,
      keyShare: source.keyShare.filter((k) => k.step <= step),
      checkpoints: copied,
      step,
    });
    for (const s of copied) {
      const bytes = await this.checkpoint(id, s);
      if (bytes === null) continue;
      if (this.store === null) this.memoryCheckpoints.set(`${forkId}/${s}`, bytes);
      else await this.store.putCheckpoint(forkId, s, bytes);
    }
    await this.store?.addRecords(forkId, history);
    this.spawn(forkId, {
      type: 'start',
      runId: forkId,
      config: source.config,
      threads: this.threadsFor(),
      resume: point,
    });
  }

  remove(id: string): void {
    this.workers.get(id)?.terminate();
    this.workers.delete(id);
    this.runs.delete(id);
    for (const key of [...this.memoryCheckpoints.keys()])
      if (key.startsWith(`${id}/`)) this.memoryCheckpoints.delete(key);
    void this.store?.deleteRun(id);
    this.changed();
  }

  /** The run as a portable run folder: what export writes and detect reads. */
  async portable(id: string): Promise<PortableRun> {
    const run = this.runs.get(id);
    if (run === undefined || run.config === null) throw new Error(`no run ${id} with a config`);
    const checkpoints = new Map<number, Uint8Array>();
    for (const step of run.checkpoints) {
      const bytes = await this.checkpoint(id, step);
      if (bytes !== null) checkpoints.set(step, bytes);
    }
    return {
      id,
      config: run.config as unknown as Record<string, unknown>,
      split: run.split,
      records: run.records as unknown as PortableRun['records'],
      status: {
        state: EXPORTED_STATE[run.state],
        step: run.step,
        message:
          run.state === 'finished'
            ? run.message
            : `exported from the groklab lab at step ${run.step}; resume with groklab resume`,
        ...(run.kernels ? { kernels: run.kernels.split(',')[0] } : {}),
      },
      checkpoints,
    };
  }

  async exportZip(id: string): Promise<Blob> {
    const bytes = zipRunFolder(await this.portable(id));
    return new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/zip' });
  }

  async importFile(file: File): Promise<{ id: string } | { error: string }> {
    const bytes = new Uint8Array(await file.arrayBuffer());
    try {
      if (/\.zip$/i.test(file.name)) return await this.importRunFolder(unzipRunFolder(bytes));
      const text = new TextDecoder().decode(bytes);
      const loaded = loadLogText(file.name, text);
      const detect = analyzeLog(loaded);
      const records = recordsFromDetect(loaded.table.rows, detect);
      const id = runIdFor(file.name.replace(/\.[^.]*$/, ''), (c) => this.runs.has(c));
      this.newRun({
        id,
        label: file.name,
        config: null,
        records,
        state: 'imported',
        step: records.at(-1)?.step ?? 0,
        message: `imported from ${file.name}`,
      });
      void this.store?.addRecords(id, records);
      this.update(id, { detect }, false);
      return { id };
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) };
    }
  }

  private async importRunFolder(folder: PortableRun): Promise<{ id: string }> {
    const config = parseRunConfig(folder.config);
    const id = this.runs.has(folder.id) ? runIdFor(folder.id, (c) => this.runs.has(c)) : folder.id;
    const records = folder.records as unknown as EvalRecord[];
    const checkpoints = [...folder.checkpoints.keys()].sort((a, b) => a - b);
    const trainable = checkpoints.length > 0;
    this.newRun({
      id,
      label: folder.id,
      config,
      split: folder.split,
      records,
      checkpoints,
      state: trainable ? 'stopped' : 'imported',
      step: Math.max(records.at(-1)?.step ?? 0, checkpoints.at(-1) ?? 0),
      message: `imported from ${folder.id}.zip`,
    });
    for (const [step, bytes] of folder.checkpoints) {
      if (this.store === null) this.memoryCheckpoints.set(`${id}/${step}`, bytes);
      else await this.store.putCheckpoint(id, step, bytes);
    }
    await this.store?.addRecords(id, records);
    this.scheduleDetect(id, 0);
    return { id };
  }
}

function stored(run: LabRun): StoredRun {
  const { records: _records, keyShare: _keyShare, detect: _detect, ...rest } = run;
  return rest;
}

/** The live verdict: `groklab detect` on the run as a run folder (null before two evaluations). */
function detectOf(run: LabRun): DetectResult | null {
  if (run.config === null || run.records.length < 2) return run.detect;
  try {
    return detectPortableRun({
      id: run.id,
      config: run.config as unknown as Record<string, unknown>,
      split: run.split,
      records: run.records as unknown as PortableRun['records'],
      status: { state: run.state === 'running' ? 'running' : EXPORTED_STATE[run.state], step: run.step },
      checkpoints: new Map(),
    });
  } catch {
    return run.detect;
  }
}

/** An imported log's rows as metrics records, through the columns detect chose for each role. */
function recordsFromDetect(rows: ReadonlyArray<Record<string, unknown>>, detect: DetectResult): EvalRecord[] {
  const columns = detect.columns as unknown as Record<string, string | null | undefined>;
  const value = (row: Record<string, unknown>, role: string): number => {
    const column = columns[role];
    const v = column ? Number(row[column]) : Number.NaN;
    return Number.isFinite(v) ? v : Number.NaN;
  };
  return rows
    .map((row) => ({
      step: value(row, 'step'),
      train_loss: value(row, 'train_loss'),
      train_acc: value(row, 'train_acc'),
      test_loss: value(row, 'test_loss'),
      test_acc: value(row, 'test_acc'),
      weight_norm: value(row, 'weight_norm'),
      norms: {},
      lr: Number.NaN,
      wall_s: Number.NaN,
    }))
    .filter((r) => Number.isFinite(r.step))
    .sort((a, b) => a.step - b.step);
}
