/**
 * The lab's runs kept in the browser (IndexedDB), so they survive a reload: each run's state, its
 * metrics (one entry per evaluation, appended as they come) and its checkpoints (safetensors bytes,
 * as in a run folder). Every write is its own transaction, so a reload mid-training loses at most
 * the evaluations and checkpoint in flight.
 */
import type { EvalRecord } from '../../../src/train/trainer.ts';
import type { LabRun } from './model.ts';
import type { Spectrum } from './protocol.ts';

const DB_NAME = 'groklab-lab';
const DB_VERSION = 1;
const RUNS = 'runs';
const RECORDS = 'records';
const CHECKPOINTS = 'checkpoints';

/** What is stored of a run besides its records and checkpoints. */
export type StoredRun = Omit<LabRun, 'records' | 'keyShare' | 'detect'>;

interface StoredRecord {
  id: string;
  step: number;
  record: EvalRecord;
  keyShare: number | null;
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

/** All of one run's keys [id, step] in a store keyed by [id, step]. */
const runRange = (id: string) => IDBKeyRange.bound([id, -1], [id, Number.MAX_SAFE_INTEGER]);

export class LabStore {
  private constructor(private readonly db: IDBDatabase) {}

  /** Opens the database; null where IndexedDB is unavailable (runs then live only in the tab). */
  static async open(): Promise<LabStore | null> {
    if (typeof indexedDB === 'undefined') return null;
    try {
      const open = indexedDB.open(DB_NAME, DB_VERSION);
      open.onupgradeneeded = () => {
        const db = open.result;
        db.createObjectStore(RUNS, { keyPath: 'id' });
        db.createObjectStore(RECORDS, { keyPath: ['id', 'step'] });
        db.createObjectStore(CHECKPOINTS);
      };
      return new LabStore(await request(open));
    } catch {
      return null;
    }
  }

  async loadRuns(): Promise<Array<StoredRun & { records: EvalRecord[]; keyShare: LabRun['keyShare'] }>> {
    const tx = this.db.transaction([RUNS, RECORDS], 'readonly');
    const runs = (await request(tx.objectStore(RUNS).getAll())) as StoredRun[];
    const records = (await request(tx.objectStore(RECORDS).getAll())) as StoredRecord[];
    const byRun = new Map<string, StoredRecord[]>();
    for (const r of records) {
      const list = byRun.get(r.id) ?? [];
      list.push(r);
      byRun.set(r.id, list);
    }
    return runs
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .map((run) => {
        const list = (byRun.get(run.id) ?? []).sort((a, b) => a.step - b.step);
        return {
          ...run,
          records: list.map((r) => r.record),
          keyShare: list.flatMap((r) => (r.keyShare === null ? [] : [{ step: r.step, share: r.keyShare }])),
        };
      });
  }

  async saveRun(run: StoredRun): Promise<void> {
    const tx = this.db.transaction(RUNS, 'readwrite');
    tx.objectStore(RUNS).put(run);
    await done(tx);
  }

  async addRecord(id: string, record: EvalRecord, spectrum: Spectrum | null): Promise<void> {
    const tx = this.db.transaction(RECORDS, 'readwrite');
    const entry: StoredRecord = { id, step: record.step, record, keyShare: spectrum?.keyShare ?? null };
    tx.objectStore(RECORDS).put(entry);
    await done(tx);
  }

  async addRecords(id: string, records: readonly EvalRecord[]): Promise<void> {
    const tx = this.db.transaction(RECORDS, 'readwrite');
    for (const record of records)
      tx.objectStore(RECORDS).put({ id, step: record.step, record, keyShare: null });
    await done(tx);
  }

  async putCheckpoint(id: string, step: number, bytes: Uint8Array): Promise<void> {
    const tx = this.db.transaction(CHECKPOINTS, 'readwrite');
    tx.objectStore(CHECKPOINTS).put(bytes, [id, step]);
    await done(tx);
  }

  async getCheckpoint(id: string, step: number): Promise<Uint8Array | null> {
    const tx = this.db.transaction(CHECKPOINTS, 'readonly');
    const bytes = (await request(tx.objectStore(CHECKPOINTS).get([id, step]))) as Uint8Array | undefined;
    return bytes ?? null;
  }

  /** Deletes a run's records and checkpoints after `step` (all of them for step −1), and with −1 also nothing else. */
  async truncate(id: string, step: number): Promise<void> {
    const tx = this.db.transaction([RECORDS, CHECKPOINTS], 'readwrite');
    const after = IDBKeyRange.bound([id, step + 1], [id, Number.MAX_SAFE_INTEGER]);
    tx.objectStore(RECORDS).delete(step < 0 ? runRange(id) : after);
    tx.objectStore(CHECKPOINTS).delete(step < 0 ? runRange(id) : after);
    await done(tx);
  }

  async deleteRun(id: string): Promise<void> {
    const tx = this.db.transaction([RUNS, RECORDS, CHECKPOINTS], 'readwrite');
    tx.objectStore(RUNS).delete(id);
    tx.objectStore(RECORDS).delete(runRange(id));
    tx.objectStore(CHECKPOINTS).delete(runRange(id));
    await done(tx);
  }
}
