/**
 * The live run list (GET /api/events): one poller for all clients, running only while at least one
 * is connected. A client first gets the whole list (`runs`), then only what changed (`rows`: the
 * rows that differ, the ids that disappeared, and the sweep summaries when they changed), so a big
 * runs directory with one run training does not resend every row every few seconds.
 */
import type { RowsEvent, RunListResponse } from './api-types.ts';
import type { RunCatalog } from './run-catalog.ts';
import type { SseChannel } from './sse.ts';

export class RunListFeed {
  private readonly catalog: RunCatalog;
  private readonly pollMs: number;
  private readonly resources: { timers: number };
  private readonly clients = new Set<SseChannel>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private rows = new Map<string, string>();
  private sweeps = '';
  private latest: RunListResponse | null = null;

  constructor(catalog: RunCatalog, pollMs: number, resources: { timers: number }) {
    this.catalog = catalog;
    this.pollMs = pollMs;
    this.resources = resources;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Adds a client: it gets the full list now; returns its clean-up. */
  subscribe(channel: SseChannel): () => void {
    if (this.clients.size === 0 || this.latest === null) this.refresh();
    this.clients.add(channel);
    channel.send('runs', this.latest);
    if (this.timer === null) {
      this.resources.timers++;
      this.timer = setInterval(() => this.poll(), this.pollMs);
    }
    return () => {
      this.clients.delete(channel);
      if (this.clients.size === 0 && this.timer !== null) {
        clearInterval(this.timer);
        this.timer = null;
        this.resources.timers--;
        this.latest = null;
      }
    };
  }

  /** Reads the list and returns what changed since the last read. */
  private refresh(): RowsEvent | null {
    const list = this.catalog.list();
    const rows = new Map(list.runs.map((r) => [r.id, JSON.stringify(r)]));
    const changed = list.runs.filter((r) => this.rows.get(r.id) !== rows.get(r.id));
    const removed = [...this.rows.keys()].filter((id) => !rows.has(id));
    const sweeps = JSON.stringify(list.sweeps);
    const sweepsChanged = sweeps !== this.sweeps;
    this.rows = rows;
    this.sweeps = sweeps;
    this.latest = list;
    if (changed.length === 0 && removed.length === 0 && !sweepsChanged) return null;
    return { changed, removed, sweeps: sweepsChanged ? list.sweeps : null, generated_at: list.generated_at };
  }

  private poll(): void {
    let update: RowsEvent | null;
    try {
      update = this.refresh();
    } catch (err) {
      // The runs directory may be unreadable for a moment (being moved); try again next time.
      process.stderr.write(`groklab serve: listing runs failed: ${(err as Error).message}\n`);
      return;
    }
    if (update) for (const client of this.clients) client.send('rows', update);
  }
}
