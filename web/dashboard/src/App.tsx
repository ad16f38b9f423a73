/** The page frame: header with navigation and the live state of the connection, then the routed page. */
import { useEffect } from 'react';
import { useRunList } from './api.ts';
import { ComparePage } from './pages/ComparePage.tsx';
import { RunListPage as RunList } from './pages/RunList.tsx';
import { RunPage } from './pages/RunPage.tsx';
import { SweepListPage, SweepPage } from './pages/SweepPages.tsx';
import { Link, matchPage, useLocation } from './router.tsx';

export function App() {
  const location = useLocation();
  const page = matchPage(location);
  const { list, live, error } = useRunList();

  useEffect(() => {
    const title =
      page.page === 'run'
        ? page.id
        : page.page === 'sweep'
          ? `sweep ${page.name}`
          : page.page === 'compare'
            ? 'compare'
            : page.page;
    document.title = `${title} · groklab`;
  }, [page]);

  const running = list?.runs.filter((r) => r.state === 'running').length ?? 0;
  return (
    <>
      <header className="top">
        <Link to="/" className="brand">
          groklab
        </Link>
        <nav>
          <Link to="/" className={page.page === 'runs' || page.page === 'run' ? 'active' : undefined}>
            Runs
          </Link>
          <Link
            to="/sweeps"
            className={page.page === 'sweeps' || page.page === 'sweep' ? 'active' : undefined}
          >
            Sweeps
          </Link>
          <Link to="/compare" className={page.page === 'compare' ? 'active' : undefined}>
            Compare
          </Link>
        </nav>
        <span className="spacer" />
        {list && (
          <span className="muted small" title={list.runs_dir}>
            {list.runs.length} runs{running > 0 ? `, ${running} running` : ''} in {list.runs_dir}
          </span>
        )}
        <span className={live ? 'live on' : 'live'} data-testid="list-live">
          {live ? 'live' : error ? 'disconnected' : 'connecting'}
        </span>
      </header>
      <main>
        {page.page === 'runs' && <RunList list={list} query={location.query} />}
        {page.page === 'run' && <RunPage key={page.id} id={page.id} />}
        {page.page === 'compare' && <ComparePage ids={page.ids} />}
        {page.page === 'sweeps' && <SweepListPage list={list} />}
        {page.page === 'sweep' && <SweepPage key={page.name} name={page.name} query={location.query} />}
        {page.page === 'not-found' && (
          <section className="error-box">
            <h1>Not found</h1>
            <p>
              There is no page at <code>{page.path}</code>. <Link to="/">All runs</Link>
            </p>
          </section>
        )}
      </main>
    </>
  );
}
