/**
 * Talking to `groklab serve`: JSON fetches and the two live feeds (Server-Sent Events). The types
 * are the server's own (src/server/api-types.ts), imported as types only.
 */
import { useCallback, useEffect, useReducer, useState } from 'react';
import type {
  AnalysisView,
  DetectResult,
  MetricsRecord,
  RowsEvent,
  RunDetailResponse,
  RunEvents,
  RunListResponse,
  RunRowState,
  RunStatusJson,
  SweepDetailResponse,
} from '../../../src/server/api-types.ts';

export type * from '../../../src/server/api-types.ts';

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export async function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  const response = await fetch(url, { signal, headers: { Accept: 'application/json' } });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = (await response.json()) as { error?: string };
      if (body.error) message = body.error;
    } catch {
      // Not JSON: keep the status line.
    }
    throw new ApiError(response.status, message);
  }
  return (await response.json()) as T;
}

export const runApi = (id: string) => `/api/runs/${encodeURIComponent(id)}`;
/**
 * A run's detail for drawing: a log longer than this many evaluations comes thinned by the server
 * (extremes of every series kept, src/server/thin-metrics.ts); records arriving live are all drawn.
 */
export const MAX_DRAWN_POINTS = 4000;
export const runDetailApi = (id: string) => `${runApi(id)}?max_points=${MAX_DRAWN_POINTS}`;
export const sweepApi = (name: string) => `/api/sweeps/${encodeURIComponent(name)}`;

function parse<K extends keyof RunEvents>(_event: K, e: Event): RunEvents[K] {
  return JSON.parse((e as MessageEvent<string>).data) as RunEvents[K];
}

/** A fetch that reruns when `url` changes; `reload` fetches again. */
export function useJson<T>(url: string | null): {
  data: T | null;
  error: ApiError | Error | null;
  reload: () => void;
} {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [version, setVersion] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: version is a deliberate refetch trigger
  useEffect(() => {
    if (url === null) return;
    const controller = new AbortController();
    getJson<T>(url, controller.signal)
      .then((d) => {
        setData(d);
        setError(null);
      })
      .catch((e: Error) => {
        if (e.name !== 'AbortError') setError(e);
      });
    return () => controller.abort();
  }, [url, version]);
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  return { data, error, reload };
}

/** The run list, kept current by GET /api/events (`runs` once, then `rows` with the changes). */
export function useRunList(): { list: RunListResponse | null; live: boolean; error: string | null } {
  const [list, setList] = useState<RunListResponse | null>(null);
  const [live, setLive] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const source = new EventSource('/api/events');
    source.addEventListener('runs', (e) => {
      setList(JSON.parse((e as MessageEvent<string>).data) as RunListResponse);
      setError(null);
    });
    source.addEventListener('rows', (e) => {
      const update = JSON.parse((e as MessageEvent<string>).data) as RowsEvent;
      setList((prev) => {
        if (!prev) return prev;
        const changed = new Map(update.changed.map((r) => [r.id, r]));
        const removed = new Set(update.removed);
        const runs = prev.runs.filter((r) => !removed.has(r.id)).map((r) => changed.get(r.id) ?? r);
        const known = new Set(runs.map((r) => r.id));
        for (const r of update.changed) if (!known.has(r.id)) runs.push(r);
        return { ...prev, runs, sweeps: update.sweeps ?? prev.sweeps, generated_at: update.generated_at };
      });
    });
    source.onopen = () => setLive(true);
    source.onerror = () => {
      setLive(false);
      if (source.readyState === EventSource.CLOSED) setError('lost the connection to groklab serve');
    };
    return () => source.close();
  }, []);
  return { list, live, error };
}

export interface RunFeedState {
  detail: RunDetailResponse | null;
  /** The records drawn: the detail's (maybe thinned), then every one that arrived live. */
  records: MetricsRecord[];
  /** Evaluations in the run's log so far (more than records.length when the detail was thinned). */
  total: number;
  status: RunStatusJson | null;
  state: RunRowState | null;
  detect: DetectResult | null;
  detectError: string | null;
  live: boolean;
  gone: string | null;
  error: ApiError | Error | null;
}

type FeedAction =
  | { type: 'start' }
  | { type: 'loaded'; detail: RunDetailResponse }
  | { type: 'metrics'; records: MetricsRecord[] }
  | { type: 'status'; data: RunEvents['status'] }
  | { type: 'detect'; data: RunEvents['detect'] }
  | { type: 'live'; live: boolean }
  | { type: 'gone'; reason: string }
  | { type: 'error'; error: Error };

const emptyFeed: RunFeedState = {
  detail: null,
  records: [],
  total: 0,
  status: null,
  state: null,
  detect: null,
  detectError: null,
  live: false,
  gone: null,
  error: null,
};

function feedReducer(s: RunFeedState, a: FeedAction): RunFeedState {
  switch (a.type) {
    case 'start':
      return emptyFeed;
    case 'loaded':
      return {
        ...emptyFeed,
        detail: a.detail,
        records: a.detail.metrics,
        total: a.detail.metrics_total,
        status: a.detail.status,
        state: a.detail.row.state,
        detect: a.detail.detect,
        detectError: a.detail.detect_error,
      };
    case 'metrics':
      return { ...s, records: s.records.concat(a.records), total: s.total + a.records.length };
    case 'status':
      return { ...s, status: a.data.status, state: a.data.state };
    case 'detect':
      return { ...s, detect: a.data.detect, detectError: a.data.detect_error };
    case 'live':
      return { ...s, live: a.live };
    case 'gone':
      return { ...s, gone: a.reason, live: false };
    case 'error':
      return { ...s, error: a.error };
  }
}

/**
 * One run, live: GET /api/runs/:id for everything so far, then /api/runs/:id/events from the byte
 * offset where that read ended, so no record is missed or repeated. A `reset` (the log was
 * rewritten by a resume from an earlier checkpoint) starts over.
 */
export function useRunFeed(id: string | null): RunFeedState {
  const [state, dispatch] = useReducer(feedReducer, emptyFeed);
  useEffect(() => {
    if (id === null) return;
    dispatch({ type: 'start' });
    let closed = false;
    let source: EventSource | null = null;
    const controller = new AbortController();
    const load = async () => {
      const detail = await getJson<RunDetailResponse>(runDetailApi(id), controller.signal);
      if (closed) return;
      dispatch({ type: 'loaded', detail });
      const params = new URLSearchParams({ offset: String(detail.metrics_offset) });
      if (detail.metrics_file) params.set('file', detail.metrics_file);
      source = new EventSource(`${runApi(id)}/events?${params}`);
      source.addEventListener('metrics', (e) => {
        const data = parse('metrics', e);
        if (data.records.length > 0) dispatch({ type: 'metrics', records: data.records });
      });
      source.addEventListener('status', (e) => dispatch({ type: 'status', data: parse('status', e) }));
      source.addEventListener('detect', (e) => dispatch({ type: 'detect', data: parse('detect', e) }));
      source.addEventListener('reset', () => {
        source?.close();
        if (!closed) load().catch(fail);
      });
      source.addEventListener('gone', (e) => {
        source?.close();
        dispatch({ type: 'gone', reason: parse('gone', e).reason });
      });
      source.onopen = () => dispatch({ type: 'live', live: true });
      source.onerror = () => dispatch({ type: 'live', live: false });
    };
    const fail = (error: Error) => {
      if (!closed && error.name !== 'AbortError') dispatch({ type: 'error', error });
    };
    load().catch(fail);
    return () => {
      closed = true;
      controller.abort();
      source?.close();
    };
  }, [id]);
  return state;
}

export function useAnalysis(id: string, available: boolean) {
  return useJson<AnalysisView>(available ? `${runApi(id)}/analysis` : null);
}

export function useSweep(name: string) {
  return useJson<SweepDetailResponse>(sweepApi(name));
}
