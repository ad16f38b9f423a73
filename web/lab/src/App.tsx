/**
 * The lab's page: a configuration (preset + overrides, in the URL) on the left with the runs, the
 * charts of the runs shown side by side on the right, and the focused run's verdict, controls and
 * Fourier spectrum.
 */
import { useCallback, useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { applyOverrides, type Override } from '../../../src/config/overrides.ts';
import { presetRunConfig } from '../../../src/config/presets.ts';
import { ConfigEditor } from './components/ConfigEditor.tsx';
import { Experiments } from './components/Experiments.tsx';
import { ImportBox } from './components/ImportBox.tsx';
import { LargeTextToggle } from './components/LargeText.tsx';
import { RunCharts } from './components/RunCharts.tsx';
import { RunControls } from './components/RunControls.tsx';
import { RunList } from './components/RunList.tsx';
import { SpectrumPanel } from './components/SpectrumPanel.tsx';
import { VerdictPanel } from './components/VerdictPanel.tsx';
import type { ConfigProblem } from './model.ts';
import { type LabRuns, validateConfig } from './runs.ts';
import { formatOverride, readUrlConfig, type UrlConfig, urlHash } from './url-state.ts';

function configOf({ preset, overrides }: UrlConfig): Record<string, unknown> {
  return applyOverrides(presetRunConfig(preset), overrides);
}

function problemsOf(url: UrlConfig): ConfigProblem[] {
  try {
    const checked = validateConfig(configOf(url));
    return 'problems' in checked ? checked.problems : [];
  } catch (error) {
    return [{ field: 'config', message: error instanceof Error ? error.message : String(error) }];
  }
}

function labelOf(url: UrlConfig): string {
  return [url.preset, ...url.overrides.map(formatOverride)].join(' ');
}

export function App({ runs }: { runs: LabRuns }) {
  const all = useSyncExternalStore(runs.subscribe, runs.getSnapshot);
  const [url, setUrl] = useState<UrlConfig>(() => readUrlConfig(window.location.hash));
  const [shown, setShown] = useState<Set<string>>(() => new Set(all.slice(-3).map((r) => r.id)));
  const [focused, setFocused] = useState<string | null>(() => all.at(-1)?.id ?? null);
  const problems = useMemo(() => problemsOf(url), [url]);
  const experimentConfig = useMemo(() => (problems.length > 0 ? undefined : configOf(url)), [problems, url]);

  useEffect(() => {
    const onHash = () => setUrl(readUrlConfig(window.location.hash));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const onChange = useCallback((preset: string, overrides: Override[]) => {
    const next = { preset, overrides };
    setUrl(next);
    window.history.replaceState(null, '', urlHash(next));
  }, []);

  /** Creates and starts runs side by side, showing only them. */
  const train = useCallback(
    (variants: Array<{ label: string; overrides: Override[] }>) => {
      const ids: string[] = [];
      for (const variant of variants) {
        const made = runs.create(applyOverrides(configOf(url) as object, variant.overrides), variant.label);
        if ('id' in made) ids.push(made.id);
      }
      runs.startTogether(ids);
      if (ids.length > 0) {
        setShown(new Set(ids));
        setFocused(ids[0]);
      }
    },
    [runs, url],
  );

  const onTrain = useCallback(() => train([{ label: labelOf(url), overrides: [] }]), [train, url]);
  const onExperiment = useCallback(
    (variants: Array<{ label: string; overrides: Override[] }>) =>
      train(variants.map((v) => ({ label: `${url.preset} ${v.label}`, overrides: v.overrides }))),
    [train, url],
  );

  const toggle = useCallback((id: string) => {
    setShown((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  }, []);

  const shownRuns = all.filter((r) => shown.has(r.id));
  const focus = all.find((r) => r.id === focused) ?? null;

  return (
    <div className="lab">
      <header className="lab-header">
        <h1>groklab lab</h1>
        <LargeTextToggle />
        <p className="lab-tagline">
          Train a network in this tab and watch it memorize, sit at chance, then grok.{' '}
          {runs.persistent
            ? 'Runs are kept in this browser.'
            : 'This browser keeps no storage: runs last until the tab closes.'}
        </p>
      </header>
      <main className="lab-main">
        <section className="lab-left" aria-label="Configuration and runs">
          <ConfigEditor
            preset={url.preset}
            overrides={url.overrides}
            onChange={onChange}
            problems={problems}
            onTrain={onTrain}
          />
          <Experiments onRun={onExperiment} disabled={problems.length > 0} config={experimentConfig} />
          <RunList
            runs={all}
            shown={shown}
            focused={focused}
            onToggle={toggle}
            onFocus={setFocused}
            actions={runs}
          />
          <ImportBox actions={runs} />
        </section>
        <section className="lab-right" aria-label="Training curves">
          <RunCharts runs={shownRuns} />
          {focus !== null && (
            <div className="lab-focus">
              <VerdictPanel run={focus} />
              <RunControls run={focus} actions={runs} />
              <SpectrumPanel run={focus} />
            </div>
          )}
        </section>
      </main>
    </div>
  );
}
