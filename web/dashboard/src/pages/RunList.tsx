/** The run list: every run with its state, key config, latest accuracies, verdict and t_grok; filter, sort, compare. */
import { type ReactNode, useMemo, useState } from 'react';
import type { RunListResponse, RunRow } from '../api.ts';
import { StateBadge, VerdictBadge } from '../components/Badges.tsx';
import { formatAcc, formatHyper, formatStep, formatTime } from '../format.ts';
import { comparePath, Link, navigate, runPath, sweepPath } from '../router.tsx';

interface Column {
  key: string;
  label: string;
  title?: string;
  sort: (r: RunRow) => number | string | null;
  render: (r: RunRow) => ReactNode;
  numeric?: boolean;
}

const COLUMNS: Column[] = [
  {
    key: 'id',
    label: 'run',
    sort: (r) => r.id,
    render: (r) => (
      <Link to={runPath(r.id)} className="run-link">
        {r.id}
      </Link>
    ),
  },
  { key: 'state', label: 'state', sort: (r) => r.state, render: (r) => <StateBadge state={r.state} /> },
  {
    key: 'verdict',
    label: 'verdict',
    sort: (r) => r.verdict,
    render: (r) => <VerdictBadge verdict={r.verdict} reason={r.verdict_reason} />,
  },
  {
    key: 't_mem',
    label: 't_mem',
    title: 'first step with train accuracy ≥ 0.99',
    sort: (r) => r.t_mem,
    render: (r) => formatStep(r.t_mem),
    numeric: true,
  },
  {
    key: 't_grok',
    label: 't_grok',
    title: 'first confirmed step with test accuracy ≥ 0.9 (0.8 on MNIST; the onset of the jump in brackets)',
    sort: (r) => r.t_grok,
    render: (r) => (
      <>
        {formatStep(r.t_grok)}
        {r.t_grok_onset !== null && <span className="muted"> ({formatStep(r.t_grok_onset)})</span>}
      </>
    ),
    numeric: true,
  },
  {
    key: 'test',
    label: 'test acc',
    sort: (r) => r.last?.test_acc ?? null,
    render: (r) => formatAcc(r.last?.test_acc),
    numeric: true,
  },
  {
    key: 'train',
    label: 'train acc',
    sort: (r) => r.last?.train_acc ?? null,
    render: (r) => formatAcc(r.last?.train_acc),
    numeric: true,
  },
  {
    key: 'step',
    label: 'step',
    sort: (r) => r.step,
    render: (r) => (
      <>
        {formatStep(r.step)}
        {r.total_steps !== null && <span className="muted"> / {formatStep(r.total_steps)}</span>}
      </>
    ),
    numeric: true,
  },
  {
    key: 'task',
    label: 'task',
    title: 'operation, modulus, training fraction',
    sort: (r) => r.task,
    render: (r) => (
      <>
        {r.task ?? '–'}
        {r.train_fraction !== null && <span className="muted"> · {Math.round(r.train_fraction * 100)}%</span>}
      </>
    ),
  },
  { key: 'model', label: 'model', sort: (r) => r.model, render: (r) => r.model ?? '–' },
  { key: 'optimizer', label: 'optimizer', sort: (r) => r.optimizer, render: (r) => r.optimizer ?? '–' },
  {
    key: 'lr',
    label: 'lr',
    title: 'learning rate',
    sort: (r) => r.lr,
    render: (r) => formatHyper(r.lr),
    numeric: true,
  },
  {
    key: 'wd',
    label: 'wd',
    title: 'weight decay',
    sort: (r) => r.weight_decay,
    render: (r) => formatHyper(r.weight_decay),
    numeric: true,
  },
  { key: 'seed', label: 'seed', sort: (r) => r.seed, render: (r) => r.seed ?? '–', numeric: true },
  { key: 'preset', label: 'preset', sort: (r) => r.preset, render: (r) => r.preset ?? '–' },
  { key: 'created', label: 'created', sort: (r) => r.created_at, render: (r) => formatTime(r.created_at) },
];

function haystack(r: RunRow): string {
  return [
    r.id,
    r.state,
    r.preset,
    r.task,
    r.model,
    r.optimizer,
    r.verdict,
    `lr=${formatHyper(r.lr)}`,
    `wd=${formatHyper(r.weight_decay)}`,
    `seed=${r.seed}`,
    ...r.sweeps.map((s) => `sweep:${s}`),
  ]
    .filter((x) => x !== null)
    .join(' ')
    .toLowerCase();
}

function compare(a: number | string | null, b: number | string | null): number {
  if (a === null && b === null) return 0;
  if (a === null) return 1; // missing values last, whatever the direction
  if (b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), 'en', { numeric: true });
}

export function RunListPage(props: { list: RunListResponse | null; query: URLSearchParams }) {
  const { list } = props;
  const filter = props.query.get('q') ?? '';
  const sortParam = props.query.get('sort') ?? '-created';
  const descending = sortParam.startsWith('-');
  const sortKey = descending ? sortParam.slice(1) : sortParam;
  const [selected, setSelected] = useState<string[]>([]);

  const setQuery = (changes: Record<string, string | null>) => {
    const q = new URLSearchParams(props.query);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null || v === '') q.delete(k);
      else q.set(k, v);
    }
    const text = q.toString();
    navigate(`/${text ? `?${text}` : ''}`, { replace: true });
  };

  const rows = useMemo(() => {
    if (!list) return [];
    const terms = filter
      .toLowerCase()
      .split(/\s+/)
      .filter((t) => t !== '');
    const column = COLUMNS.find((c) => c.key === sortKey) ?? COLUMNS[COLUMNS.length - 1];
    return list.runs
      .filter((r) => {
        const text = haystack(r);
        return terms.every((t) => text.includes(t));
      })
      .sort((a, b) => {
        const va = column.sort(a);
        const vb = column.sort(b);
        if (va === null || vb === null) return compare(va, vb);
        return descending ? compare(vb, va) : compare(va, vb);
      });
  }, [list, filter, sortKey, descending]);

  if (!list) return <p className="muted">loading runs…</p>;

  const toggle = (id: string) =>
    setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : [...s, id]));
  const visibleIds = rows.map((r) => r.id);
  const allVisibleSelected = visibleIds.length > 0 && visibleIds.every((id) => selected.includes(id));

  return (
    <section>
      <div className="toolbar">
        <h1>Runs</h1>
        <input
          type="search"
          className="filter"
          placeholder="filter: words that must all appear, e.g. grokked wd=1 sweep:wd-frac"
          value={filter}
          onChange={(e) => setQuery({ q: e.target.value })}
          aria-label="filter runs"
          data-testid="run-filter"
        />
        <span className="muted">
          {rows.length} of {list.runs.length} runs
        </span>
        <button
          type="button"
          disabled={selected.length < 2}
          onClick={() => navigate(comparePath(selected))}
          data-testid="compare-button"
          title="select two or more runs with the check boxes"
        >
          Compare {selected.length > 0 ? selected.length : ''} selected
        </button>
        {selected.length > 0 && (
          <button type="button" className="link-button" onClick={() => setSelected([])}>
            clear selection
          </button>
        )}
      </div>
      {list.runs.length === 0 ? (
        <p className="empty">
          No runs in <code>{list.runs_dir}</code> yet. Start one with <code>groklab train --preset demo</code>
          ; it appears here as soon as it starts.
        </p>
      ) : (
        <div className="table-wrap">
          <table className="runs" data-testid="run-table">
            <thead>
              <tr>
                <th>
                  <input
                    type="checkbox"
                    aria-label="select all shown runs"
                    checked={allVisibleSelected}
                    onChange={() =>
                      setSelected(
                        allVisibleSelected
                          ? selected.filter((id) => !visibleIds.includes(id))
                          : [...new Set([...selected, ...visibleIds])],
                      )
                    }
                  />
                </th>
                {COLUMNS.map((c) => (
                  <th
                    key={c.key}
                    className={c.numeric ? 'num' : undefined}
                    title={c.title}
                    aria-sort={sortKey === c.key ? (descending ? 'descending' : 'ascending') : 'none'}
                  >
                    <button
                      type="button"
                      className="sort"
                      onClick={() =>
                        setQuery({ sort: sortKey === c.key && !descending ? `-${c.key}` : c.key })
                      }
                    >
                      {c.label}
                      <span className="sort-mark">{sortKey === c.key ? (descending ? '▼' : '▲') : ''}</span>
                    </button>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.id} data-run={r.id} className={selected.includes(r.id) ? 'selected' : undefined}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`select ${r.id}`}
                      checked={selected.includes(r.id)}
                      onChange={() => toggle(r.id)}
                    />
                  </td>
                  {COLUMNS.map((c) => (
                    <td key={c.key} className={c.numeric ? 'num' : undefined}>
                      {c.render(r)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.sweeps.length > 0 && (
        <p className="muted">
          Sweeps:{' '}
          {list.sweeps.map((s, i) => (
            <span key={s.name}>
              {i > 0 && ', '}
              <Link to={sweepPath(s.name)}>{s.name}</Link>
            </span>
          ))}
        </p>
      )}
    </section>
  );
}
