/**
 * The lab against the CLI: the same preset trained to the same test accuracy in a headless
 * Chromium tab (the lab's Web Worker, threads when cross-origin isolated) and by `groklab train` on
 * Node, one after the other on the same machine. Compared: the trainer's own clock (wall_s of the
 * first evaluation at or above the target) in each, and the tab's time from Start to that point
 * (worker start-up and kernel compilation included).
 *
 *   npm run bench -- --lab-only [--lab-presets demo,nanda-113]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { applyOverrides, type Override } from '../src/config/overrides.ts';
import { presetRunConfig } from '../src/config/presets.ts';
import { readMetrics } from '../src/runs/metrics.ts';
import type { EvalRecord } from '../src/train/trainer.ts';
import { launchChromium } from '../test/helpers/chromium.ts';
import { buildLab, serveLab } from '../web/lab/build.ts';

const bin = path.resolve(import.meta.dirname, '../bin/groklab.mjs');

/** What each preset is trained to: the demo to its own stop rule, nanda-113 to test accuracy ≥ 0.9. */
export const LAB_TARGETS: Record<string, { target: number; overrides: Override[] }> = {
  demo: { target: 0.99, overrides: [] },
  'nanda-113': {
    target: 0.9,
    overrides: [
      { key: 'train.stop_test_acc', value: 0.9 },
      { key: 'train.stop_patience', value: 1 },
    ],
  },
};

export interface LabBenchRow {
  preset: string;
  target: number;
  /** wall_s at the first evaluation with test_acc ≥ target. */
  nodeSeconds: number;
  tabSeconds: number;
  /** From pressing Start in the tab to that evaluation arriving on the page. */
  tabElapsed: number;
  tabKernels: string;
  steps: number;
}

function firstAtTarget(records: readonly EvalRecord[], target: number): EvalRecord {
  const hit = records.find((r) => r.test_acc >= target);
  if (hit === undefined) throw new Error(`test accuracy never reached ${target}`);
  return hit;
}

export async function benchLab(presets: string[], log: (line: string) => void): Promise<LabBenchRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'groklab-bench-lab-'));
  const rows: LabBenchRow[] = [];
  const browser = await launchChromium();
  try {
    await buildLab(path.join(dir, 'lab'));
    const server = await serveLab(path.join(dir, 'lab'));
    try {
      const page = await browser.newPage();
      await page.goto(server.url);
      await page.waitForFunction(() => window.groklabLab !== undefined);
      for (const preset of presets) {
        const { target, overrides } = LAB_TARGETS[preset] ?? { target: 0.9, overrides: [] };
        const config = applyOverrides(presetRunConfig(preset), overrides);
        const runsDir = path.join(dir, 'runs');
        const args = ['train', '--preset', preset, '--runs-dir', runsDir, '--id', preset, '--quiet'];
        for (const o of overrides) args.push('--set', `${o.key}=${JSON.stringify(o.value)}`);
        log(`lab bench: ${preset} on Node…`);
        const node = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
        if (node.status !== 0) throw new Error(`groklab train failed: ${node.stderr}`);
        const nodeHit = firstAtTarget(
          readMetrics(path.join(runsDir, preset, 'metrics.jsonl')).records as unknown as EvalRecord[],
          target,
        );
        log(`lab bench: ${preset} in the tab…`);
        const tab = await page.evaluate(
          async ([raw, goal]) => {
            const runs = window.groklabLab?.runs;
            if (runs === undefined) throw new Error('the lab is not loaded');
            const made = runs.create(raw);
            if (!('id' in made)) throw new Error(JSON.stringify(made.problems));
            const t0 = performance.now();
            runs.start(made.id);
            let elapsed: number | null = null;
            for (;;) {
              await new Promise((resolve) => setTimeout(resolve, 50));
              const run = runs.get(made.id);
              if (run === undefined) throw new Error('the run vanished');
              if (elapsed === null && run.records.some((r) => r.test_acc >= (goal as number)))
                elapsed = (performance.now() - t0) / 1000;
              if (run.state === 'failed') throw new Error(run.message);
              if (run.state === 'finished')
                return { records: run.records, kernels: run.kernels ?? '', elapsed };
            }
          },
          [config, target] as const,
        );
        const tabHit = firstAtTarget(tab.records, target);
        rows.push({
          preset,
          target,
          nodeSeconds: nodeHit.wall_s,
          tabSeconds: tabHit.wall_s,
          tabElapsed: tab.elapsed ?? Number.NaN,
          tabKernels: tab.kernels,
          steps: tabHit.step,
        });
      }
    } finally {
      await server.close();
    }
  } finally {
    await browser.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

export function formatLabRows(rows: readonly LabBenchRow[]): string[] {
  return rows.map(
    (r) =>
      `lab ${r.preset} to test acc ≥ ${r.target} (step ${r.steps}): node ${r.nodeSeconds.toFixed(1)} s, ` +
      `tab ${r.tabSeconds.toFixed(1)} s (${r.tabKernels}; ${r.tabElapsed.toFixed(1)} s from Start), ` +
      `ratio tab / node ${(r.tabSeconds / r.nodeSeconds).toFixed(2)}`,
  );
}
