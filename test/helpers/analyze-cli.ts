import { Writable } from 'node:stream';
import { Command } from 'commander';
import { registerAnalyze } from '../../src/cli/analyze.ts';

/** Runs `groklab analyze ARGS` in process; returns what it printed (stdout and stderr together). */
export async function analyzeCli(args: string[]): Promise<string> {
  let text = '';
  const sink = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  const program = new Command('groklab').exitOverride();
  registerAnalyze(program, sink, sink);
  await program.parseAsync(['analyze', ...args], { from: 'user' });
  return text;
}
