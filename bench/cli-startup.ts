// Command start-up: wall time of whole `groklab` processes that return at once (`--help`,
// `presets`), as a user's shell sees them. The compiled CLI (bin/groklab.mjs → dist/, what the
// package ships) beside the same commands run from the TypeScript sources through tsx.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { median } from '../src/measures/smooth.ts';

const root = path.resolve(import.meta.dirname, '..');
const COMMANDS = [['--help'], ['presets']];

function timeProcess(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return (performance.now() - t0) / 1000;
}

/** Prints the median seconds of `repeats` runs of each command, compiled and through tsx, interleaved. */
export function benchCliStartup(repeats: number): void {
  if (!existsSync(path.join(root, 'dist/cli/main.js'))) {
    console.log('CLI start-up: dist/ is not built (npm run build)');
    return;
  }
  const fromSource = `import('./src/cli/main.ts').then(async (m) => { process.exitCode = await m.main(process.argv.slice(1)); })`;
  for (const command of COMMANDS) {
    const compiled: number[] = [];
    const viaTsx: number[] = [];
    for (let i = 0; i < repeats; i++) {
      compiled.push(timeProcess(['bin/groklab.mjs', ...command]));
      viaTsx.push(timeProcess(['--import', 'tsx', '-e', fromSource, '--', ...command]));
    }
    console.log(
      `groklab ${command.join(' ').padEnd(8)} ${median(compiled).toFixed(3)} s median of ${repeats} (compiled); ` +
        `${median(viaTsx).toFixed(3)} s from the sources through tsx`,
    );
  }
}
