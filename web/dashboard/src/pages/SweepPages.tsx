/** Sweeps: the list, and a sweep's phase diagram over two chosen axes (median t_grok or final test accuracy). */
import { useEffect, useState } from 'react';
import { type AxisValue, type RunListResponse, type SweepCellRow, useSweep } from '../api.ts';
import { StateBadge, VerdictBadge } from '../components/Badges.tsx';
import { CellKindLegend, type HeatCell, Heatmap } from '../components/Heatmap.tsx';
import { compactStep, formatAcc, formatStep, formatTime, formatValue } from '../format.ts';
import { comparePath, Link, navigate, runPath, sweepPath } from '../router.tsx';
import { FIXED_NORM_AXIS, LuPanel } from './LuPanel.tsx';

export function SweepListPage({ list }: { list: RunListResponse | null }) {
  if (!list) return <p className="muted">loading sweeps…</p>;
  return (
    <section>
      <h1>Sweeps</h1>
      {list.sweeps.length === 0 ? (
        <p className="empty">
          No sweeps in <code>{list.runs_dir}/sweeps</code> yet.
        </p>
      ) : (
        <div className="table-wrap">
          <table className="runs" data-testid="sweep-table">
            <thead>
              <tr>
                <th>sweep</th>
                <th>created</th>
                <th>axes</th>
                <th className="num">runs</th>
                <th>states</th>
                <th className="num">grokked</th>
              </tr>
            </thead>
            <tbody>
              {list.sweeps.map((s) => (
                <tr key={s.name} data-sweep={s.name}>
                  <td>
                    <Link to={sweepPath(s.name)}>{s.name}</Link>
                  </td>
                  <td>{formatTime(s.created_at)}</td>
                  <td>
                    {s.axes.map((a) => (
                      <div key={a.key}>
                        <b>{a.key}</b>: {a.values.map(formatValue).join(', ')}
                      </div>
                    ))}
                  </td>
                  <td className="num">{s.cells}</td>
                  <td>
                    {Object.entries(s.states)
                      .map(([state, n]) => `${n} ${state}`)
                      .join(', ')}
                  </td>
                  <td className="num">
                    {s.grokked} / {s.cells}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

type MetricKey = 't_grok' | 't_grok_onset' | 't_mem' | 'final_test_acc' | 'grokked_share';

const METRICS: Record<MetricKey, { label: string; steps: boolean }> = {
  t_grok: { label: 'median t_grok (first test acc ≥ 0.9; 0.8 on MNIST)', steps: true },
  t_grok_onset: { label: 'median onset of the jump', steps: true },
  t_mem: { label: 'median t_mem (train acc ≥ 0.99)', steps: true },
  final_test_acc: { label: 'median final test accuracy', steps: false },
  grokked_share: { label: 'share of runs that grokked', steps: false },
};

const NONE = '(none)';

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const same = (a: AxisValue | undefined, b: AxisValue) => a === b;
const isActive = (c: SweepCellRow) => c.state === 'running';

interface Aggregate {
  kind: HeatCell['kind'];
  value: number | null;
  note?: string;
  runs: SweepCellRow[];
}

/** One cell of the diagram: its runs (several seeds, or axes left free) reduced to one number. */
function aggregate(runs: SweepCellRow[], metric: MetricKey): Aggregate {
  if (runs.length === 0) return { kind: 'missing', value: null, runs };
  const present = runs.filter((r) => r.state !== 'missing');
  if (present.length === 0) return { kind: 'missing', value: null, runs };
  if (metric === 'final_test_acc') {
    const values = present.map((r) => r.final_test_acc).filter((v): v is number => v !== null);
    if (values.length === 0)
      return { kind: present.some(isActive) ? 'running' : 'missing', value: null, runs };
    return {
      kind: 'value',
      value: median(values),
      runs,
      note: present.some(isActive) ? 'running' : undefined,
    };
  }
  if (metric === 'grokked_share') {
    const grokked = present.filter((r) => r.verdict === 'grokked').length;
    return {
      kind: 'value',
      value: grokked / present.length,
      runs,
      note: present.length > 1 ? `${grokked}/${present.length}` : undefined,
    };
  }
  // Steps: a run that has not reached the threshold counts as "later than any", so the median is
  // a step only when more than half the runs got there; otherwise the cell never grokked (yet).
  const values = present.map((r) => r[metric]);
  const reached = values.filter((v): v is number => v !== null);
  const note =
    present.length > 1 && reached.length < present.length
      ? `${reached.length}/${present.length} reached`
      : undefined;
  if (reached.length * 2 <= present.length) {
    const waiting = present.some((r, i) => values[i] === null && isActive(r));
    return { kind: waiting ? 'running' : 'never', value: null, runs, note };
  }
  const sorted = values.map((v) => v ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
  return { kind: 'value', value: median(sorted), runs, note };
}

export function SweepPage({ name, query }: { name: string; query: URLSearchParams }) {
  const { data: sweep, error, reload } = useSweep(name);
  const [selected, setSelected] = useState<SweepCellRow[] | null>(null);

  // While runs are training the cells change: fetch again every few seconds.
  const active = sweep?.cells.some((c) => c.state === 'running') ?? false;
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(reload, 3000);
    return () => clearInterval(timer);
  }, [active, reload]);

  const axes = sweep?.axes ?? [];
  const candidates = axes.filter((a) => a.key !== 'seed' && a.values.length > 1).map((a) => a.key);
  const fallback = axes.filter((a) => a.key !== 'seed').map((a) => a.key);
  const choices = candidates.length > 0 ? candidates : fallback;
  const xKey = choices.includes(query.get('x') ?? '') ? (query.get('x') as string) : (choices[0] ?? NONE);
  const yParam = query.get('y');
  const yKey =
    yParam !== null && (yParam === NONE || (choices.includes(yParam) && yParam !== xKey))
      ? yParam
      : (choices.find((k) => k !== xKey) ?? NONE);
  const metric = (
    (query.get('metric') ?? 't_grok') in METRICS ? (query.get('metric') ?? 't_grok') : 't_grok'
  ) as MetricKey;
  const fixedAxes = axes.filter(
    (a) => a.key !== xKey && a.key !== yKey && a.key !== 'seed' && a.values.length > 1,
  );
  const fixed = new Map<string, string>(fixedAxes.map((a) => [a.key, query.get(`at.${a.key}`) ?? 'all']));

  const setQuery = (changes: Record<string, string | null>) => {
    const q = new URLSearchParams(query);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) q.delete(k);
      else q.set(k, v);
    }
    navigate(`${sweepPath(name)}?${q}`, { replace: true });
    setSelected(null);
  };

  // Cheap (a few dozen cells): computed on every render.
  const grid = (() => {
    if (!sweep) return null;
    const xValues = axes.find((a) => a.key === xKey)?.values ?? [null];
    // Larger values at the top, as in a phase diagram.
    const yValues =
      yKey === NONE ? [null] : [...(axes.find((a) => a.key === yKey)?.values ?? [null])].reverse();
    const inFilter = (c: SweepCellRow) =>
      fixedAxes.every((a) => {
        const f = fixed.get(a.key);
        return f === 'all' || formatValue(c.values[a.key]) === f;
      });
    const cells = yValues.map((y) =>
      xValues.map((x) =>
        aggregate(
          sweep.cells.filter(
            (c) =>
              inFilter(c) &&
              (x === null || same(c.values[xKey], x)) &&
              (y === null || same(c.values[yKey], y)),
          ),
          metric,
        ),
      ),
    );
    const values = cells
      .flat()
      .flatMap((c) => (c.value !== null && Number.isFinite(c.value) ? [c.value] : []));
    return { xValues, yValues, cells, values };
  })();

  if (error) {
    return (
      <section className="error-box">
        <h1>Sweep {name}</h1>
        <p>{error.message}</p>
        <Link to="/sweeps">All sweeps</Link>
      </section>
    );
  }
  if (!sweep || !grid) return <p className="muted">loading sweep {name}…</p>;

  const steps = METRICS[metric].steps;
  const lo = grid.values.length > 0 ? Math.min(...grid.values) : 0;
  const hi = grid.values.length > 0 ? Math.max(...grid.values) : 1;
  const position = (v: number) => {
    if (!steps) return v; // accuracies and shares: 0..1 as is
    if (hi <= lo) return 0.5;
    const l = Math.log(Math.max(1, lo));
    const h = Math.log(Math.max(1, hi));
    return h > l ? (Math.log(Math.max(1, v)) - l) / (h - l) : 0.5;
  };
  const cellAt = (r: number, c: number): HeatCell => {
    const a = grid.cells[r][c];
    const where = [
      xKey !== NONE ? `${xKey} = ${formatValue(grid.xValues[c])}` : null,
      yKey !== NONE ? `${yKey} = ${formatValue(grid.yValues[r])}` : null,
    ]
      .filter(Boolean)
      .join(', ');
    const runs = `${a.runs.length} run${a.runs.length === 1 ? '' : 's'}`;
    if (a.kind !== 'value' || a.value === null) {
      const text = a.kind === 'never' ? 'never' : a.kind === 'running' ? 'running' : '';
      return { kind: a.kind, text, note: a.note, title: `${where}: ${text || 'no run'} (${runs})` };
    }
    const text = steps
      ? compactStep(a.value)
      : metric === 'grokked_share'
        ? `${Math.round(a.value * 100)}%`
        : formatAcc(a.value);
    return {
      kind: 'value',
      t: position(a.value),
      text: Number.isFinite(a.value) ? text : 'never',
      note: a.note,
      title: `${where}: ${METRICS[metric].label} ${steps ? formatStep(a.value) : text} (${runs}${a.note ? `, ${a.note}` : ''}); click to open`,
    };
  };

  const open = (r: number, c: number) => {
    const runs = grid.cells[r][c].runs.filter((x) => x.state !== 'missing');
    if (runs.length === 1) navigate(runPath(runs[0].run_id));
    else if (runs.length > 1) setSelected(runs);
  };

  const cellWidth = Math.max(56, Math.min(120, Math.floor(720 / Math.max(1, grid.xValues.length))));
  const cellHeight = Math.max(36, Math.min(64, Math.floor(420 / Math.max(1, grid.yValues.length))));
  return (
    <section data-testid="sweep-page" data-sweep={name}>
      <div className="toolbar">
        <h1>Sweep {name}</h1>
        <span className="muted">
          {sweep.cells.length} runs · created {formatTime(sweep.created_at)}
        </span>
      </div>
      <div className="toolbar small controls">
        <label>
          x axis{' '}
          <select value={xKey} onChange={(e) => setQuery({ x: e.target.value })} data-testid="sweep-x">
            {choices.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </label>
        <label>
          y axis{' '}
          <select value={yKey} onChange={(e) => setQuery({ y: e.target.value })} data-testid="sweep-y">
            <option>{NONE}</option>
            {choices
              .filter((k) => k !== xKey)
              .map((k) => (
                <option key={k}>{k}</option>
              ))}
          </select>
        </label>
        <label>
          colour{' '}
          <select
            value={metric}
            onChange={(e) => setQuery({ metric: e.target.value })}
            data-testid="sweep-metric"
          >
            {Object.entries(METRICS).map(([k, m]) => (
              <option key={k} value={k}>
                {m.label}
              </option>
            ))}
          </select>
        </label>
        {fixedAxes.map((a) => (
          <label key={a.key}>
            {a.key}{' '}
            <select value={fixed.get(a.key)} onChange={(e) => setQuery({ [`at.${a.key}`]: e.target.value })}>
              <option value="all">all (pooled)</option>
              {a.values.map((v) => (
                <option key={String(v)} value={formatValue(v)}>
                  {formatValue(v)}
                </option>
              ))}
            </select>
          </label>
        ))}
      </div>
      {axes.some((a) => a.key === FIXED_NORM_AXIS) && <LuPanel cells={sweep.cells} axes={axes} />}
      <Heatmap
        rowLabels={grid.yValues.map((v) => (v === null ? '' : formatValue(v)))}
        colLabels={grid.xValues.map((v) => (v === null ? '' : formatValue(v)))}
        cellWidth={cellWidth}
        cellHeight={cellHeight}
        xTitle={xKey}
        yTitle={yKey === NONE ? '' : yKey}
        cell={cellAt}
        onCellClick={open}
        colorBar={
          grid.values.length > 0
            ? {
                low: steps ? compactStep(lo) : metric === 'grokked_share' ? '0%' : '0',
                high: steps ? compactStep(hi) : metric === 'grokked_share' ? '100%' : '1',
                title: steps ? `${METRICS[metric].label} (log scale)` : METRICS[metric].label,
              }
            : undefined
        }
        testId="sweep-heatmap"
      />
      <CellKindLegend />
      <p className="muted small">
        Each cell pools the runs with those axis values
        {axes.some((a) => a.key === 'seed') ? ' (all seeds)' : ''}. A run that never reached the threshold
        counts as later than any that did, so a cell shows a median step only when more than half of its runs
        got there. Click a cell to open its run, or to list its runs when there are several.
      </p>
      {selected && (
        <section className="panel" data-testid="cell-runs">
          <h2>
            {selected.length} runs in this cell{' '}
            <Link to={comparePath(selected.map((r) => r.run_id))}>compare them</Link>
          </h2>
          <CellTable cells={selected} axes={axes.map((a) => a.key)} />
        </section>
      )}
      <details>
        <summary>All {sweep.cells.length} runs of this sweep</summary>
        <CellTable cells={sweep.cells} axes={axes.map((a) => a.key)} />
      </details>
    </section>
  );
}

function CellTable({ cells, axes }: { cells: SweepCellRow[]; axes: string[] }) {
  return (
    <div className="table-wrap">
      <table className="runs compact">
        <thead>
          <tr>
            <th>run</th>
            {axes.map((a) => (
              <th key={a}>{a}</th>
            ))}
            <th>state</th>
            <th>verdict</th>
            <th className="num">t_mem</th>
            <th className="num">t_grok</th>
            <th className="num">final test acc</th>
          </tr>
        </thead>
        <tbody>
          {cells.map((c) => (
            <tr key={c.run_id} data-run={c.run_id}>
              <td>{c.state === 'missing' ? c.run_id : <Link to={runPath(c.run_id)}>{c.run_id}</Link>}</td>
              {axes.map((a) => (
                <td key={a}>{formatValue(c.values[a])}</td>
              ))}
              <td>
                <StateBadge state={c.state} />
              </td>
              <td>
                <VerdictBadge verdict={c.verdict} />
              </td>
              <td className="num">{formatStep(c.t_mem)}</td>
              <td className="num">{formatStep(c.t_grok)}</td>
              <td className="num">{formatAcc(c.final_test_acc)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
