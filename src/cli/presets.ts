/** `groklab presets`: the built-in configurations, one line each. */
import type { Command } from 'commander';
import { PRESETS } from '../config/presets.ts';

export function registerPresets(program: Command): void {
  program.command('presets').action(() => {
    const width = Math.max(...Object.keys(PRESETS).map((n) => n.length));
    for (const [name, preset] of Object.entries(PRESETS)) {
      process.stdout.write(`${name.padEnd(width)}  ${preset.description}\n`);
    }
  });
}
