#!/usr/bin/env node
// Entry point: runs the compiled CLI (dist/, made by `npm run build`, shipped in the npm package).
import { existsSync } from 'node:fs';

// A reader that stops early (`groklab runs | head`) is not an error: stop quietly, as Unix tools do.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    'groklab: the compiled CLI (dist/) is missing; in a source checkout run: npm run build\n',
  );
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
