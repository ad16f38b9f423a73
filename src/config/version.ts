import { readFileSync } from 'node:fs';

/** groklab's version, from its package.json (recorded in every run's config). */
export const GROKLAB_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
