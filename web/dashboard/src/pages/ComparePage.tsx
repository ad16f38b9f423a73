/** Several runs on shared axes: one colour per run, test solid and train dashed, and the config keys that differ. */
import { useEffect, useMemo, useState } from 'react';
import { getJson, type RunDetailResponse, runDetailApi } from '../api.ts';
import { StateBadge, VerdictBadge } from '../components/Badges.tsx';
import { Chart, type ChartSeries, type Marker } from '../components/Chart.tsx';
import { formatAcc, formatStep, formatValue } from '../format.ts';
import { RUN_COLORS } from '../palette.ts';
import { Link, runPath } from '../router.tsx';

interface Loaded {
  id: string;
  detail: RunDetailResponse | null;
  error: string | null;
}

/** Fetches the runs, and again every few seconds while one of them is still training. */
function useRunDetails(ids: string[]): Loaded[] | null {
  const [loaded, setLoaded] = useState<Loaded[] | null>(null);
  const key = ids.join(',');
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` is `ids` by value
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const controller = new AbortController();
    const load = async () => {
      const results = await Promise.all(
        ids.map(async (id): Promise<Loaded> => {
          try {
            return {
              id,
              detail: await getJson<RunDetailResponse>(runDetailApi(id), controller.signal),
              error: null,
            };
          } catch (err) {
            return { id, detail: null, error: (err as Error).message };
          }
        }),
      );
      if (stopped) return;
      setLoaded(results);
      if (results.some((r) => r.detail?.row.state === 'running')) timer = setTimeout(load, 3000);
    };
    load();
    return () => {
      stopped = true;
      controller.abort();
      if (timer) clearTimeout(timer);
    };
  }, [key]);
  return loaded;
}

function flatten(value: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out[prefix] = formatValue(value);
  return out;
}

const IGNORED_KEYS = /^(groklab_version|lineage)/;
const color = (i: number) => RUN_COLORS[i % RUN_COLORS.length];

export function ComparePage({ ids }: { ids: string[] }) {
  const runs = useRunDetails(ids);
  const ok = useMemo(
    () => (runs ?? []).filter((r): r is Loaded & { detail: RunDetailResponse } => r.detail !== null),
    [runs],
  );

  const charts = useMemo(() => {
    const steps = [...new Set(ok.flatMap((r) => r.detail.metrics.map((m) => m.step)))].sort((a, b) => a - b);
    const index = new Map(steps.map((s, i) => [s, i]));
    const columnOf = (r: (typeof ok)[number], key: string, positiveOnly = false) => {
      const values = new Array<number | null>(steps.length).fill(null);
      for (const m of r.detail.metrics) {
        const v = m[key];
        if (typeof v === 'number' && Number.isFinite(v) && (!positiveOnly || v > 0))
          values[index.get(m.step) ?? 0] = v;
      }
      return values;
    };
    const accuracy: ChartSeries[] = [];
    const loss: ChartSeries[] = [];
    const norm: ChartSeries[] = [];
    const markers: Marker[] = [];
    ok.forEach((r, i) => {
      const c = color(i);
      const name = `#${i + 1}`;
      accuracy.push(
        { label: `${name} test`, color: c, values: columnOf(r, 'test_acc'), width: 2, spanGaps: true },
        {
          label: `${name} train`,
          color: c,
          values: columnOf(r, 'train_acc'),
          dash: [7, 4],
          width: 1.2,
          spanGaps: true,
        },
      );
      loss.push(
        { label: `${name} test`, color: c, values: columnOf(r, 'test_loss', true), width: 2, spanGaps: true },
        {
          label: `${name} train`,
          color: c,
          values: columnOf(r, 'train_loss', true),
          dash: [7, 4],
          width: 1.2,
          spanGaps: true,
        },
      );
      norm.push({
        label: `${name} ‖θ‖`,
        color: c,
        values: columnOf(r, 'weight_norm'),
        width: 2,
        spanGaps: true,
      });
      const t = r.detail.detect?.measures.t_grok_crossing;
      if (t !== null && t !== undefined)
        markers.push({ x: t, label: `${name} t_grok`, color: c, dash: [8, 3] });
    });
    return { steps, accuracy, loss, norm, markers };
  }, [ok]);

  const differing = useMemo(() => {
    const flat = ok.map((r) => flatten(r.detail.config ?? {}));
    const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))]
      .filter((k) => !IGNORED_KEYS.test(k))
      .sort();
    return keys
      .filter((k) => new Set(flat.map((f) => f[k] ?? '–')).size > 1)
      .map((k) => ({ key: k, values: flat.map((f) => f[k] ?? '–') }));
  }, [ok]);

  if (ids.length === 0) {
    return (
      <p className="empty">
        Pick runs to compare with the check boxes on the <Link to="/">run list</Link>.
      </p>
    );
  }
  if (!runs) return <p className="muted">loading {ids.length} runs…</p>;
  return (
    <section data-testid="compare-page">
      <h1>Compare {ids.length} runs</h1>
      <div className="table-wrap">
        <table className="runs compact" data-testid="compare-table">
          <thead>
            <tr>
              <th>#</th>
              <th>run</th>
              <th>state</th>
              <th>verdict</th>
              <th className="num">t_mem</th>
              <th className="num">t_grok</th>
              <th className="num">final test acc</th>
              {differing.map((d) => (
                <th key={d.key}>{d.key}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => {
              const i = ok.findIndex((o) => o.id === r.id);
              if (!r.detail) {
                return (
                  <tr key={r.id}>
                    <td />
                    <td>{r.id}</td>
                    <td colSpan={5 + differing.length} className="error-text">
                      {r.error}
                    </td>
                  </tr>
                );
              }
              const m = r.detail.detect?.measures;
              return (
                <tr key={r.id}>
                  <td>
                    <span className="swatch" style={{ background: color(i) }} /> #{i + 1}
                  </td>
                  <td>
                    <Link to={runPath(r.id)}>{r.id}</Link>
                  </td>
                  <td>
                    <StateBadge state={r.detail.row.state} />
                  </td>
                  <td>
                    <VerdictBadge verdict={r.detail.row.verdict} reason={r.detail.row.verdict_reason} />
                  </td>
                  <td className="num">{formatStep(m?.t_mem)}</td>
                  <td className="num">{formatStep(m?.t_grok_crossing)}</td>
                  <td className="num">{formatAcc(m?.final_test_acc)}</td>
                  {differing.map((d) => (
                    <td key={d.key}>{d.values[i]}</td>
                  ))}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {differing.length === 0 && ok.length > 1 && <p className="muted">The configs are identical.</p>}
      <div className="charts">
        <Chart
          title="Accuracy (test solid, train dashed)"
          x={charts.steps}
          series={charts.accuracy}
          yRange={[0, 1]}
          markers={charts.markers}
          syncKey="compare"
          testId="compare-accuracy"
          yFormat={(v) => v.toFixed(1)}
        />
        <Chart
          title="Loss (test solid, train dashed)"
          x={charts.steps}
          series={charts.loss}
          yLog
          syncKey="compare"
          testId="compare-loss"
        />
        <Chart
          title="Weight norm"
          x={charts.steps}
          series={charts.norm}
          syncKey="compare"
          testId="compare-norm"
        />
      </div>
    </section>
  );
}
