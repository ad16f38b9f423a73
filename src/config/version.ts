/**
 * groklab's version, recorded in every run's config. A constant rather than a read of package.json
 * so the config module loads in a browser too; a test checks that it equals package.json's.
 */
export const GROKLAB_VERSION = '0.1.0';
