/**
 * The configuration in the page's URL, so a teacher can share a run: `#preset=demo&set=train.weight_decay=0`,
 * the same preset and `--set` overrides `groklab train` takes (values as --set reads them).
 */
import { type Override, parseOverrides } from '../../../src/config/overrides.ts';
import { PRESETS } from '../../../src/config/presets.ts';

export const DEFAULT_PRESET = 'demo';

export interface UrlConfig {
  preset: string;
  overrides: Override[];
}

/** `key=value` as `--set` writes it: strings that would read as JSON (e.g. "0.5") are quoted. */
export function formatOverride({ key, value }: Override): string {
  if (typeof value === 'string') {
    let readsAsJson = true;
    try {
      JSON.parse(value);
    } catch {
      readsAsJson = false;
    }
    return `${key}=${readsAsJson ? JSON.stringify(value) : value}`;
  }
  return `${key}=${JSON.stringify(value)}`;
}

/** The preset and overrides in a location hash; an unknown preset falls back to the default. */
export function readUrlConfig(hash: string): UrlConfig {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const named = params.get('preset') ?? DEFAULT_PRESET;
  const preset = named in PRESETS ? named : DEFAULT_PRESET;
  let overrides: Override[] = [];
  try {
    overrides = parseOverrides(params.getAll('set'));
  } catch {
    overrides = [];
  }
  return { preset, overrides };
}

export function urlHash({ preset, overrides }: UrlConfig): string {
  const params = new URLSearchParams();
  params.set('preset', preset);
  for (const o of overrides) params.append('set', formatOverride(o));
  return `#${params.toString()}`;
}

/** The command line that trains the same configuration. */
export function cliLine({ preset, overrides }: UrlConfig): string {
  const quote = (s: string) => (/^[A-Za-z0-9._=:+-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`);
  return [
    'groklab train --preset',
    quote(preset),
    ...overrides.map((o) => `--set ${quote(formatOverride(o))}`),
  ].join(' ');
}
