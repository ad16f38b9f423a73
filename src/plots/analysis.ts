/**
 * The charts of `groklab analyze`, drawn from <run>/analysis/analysis.json alone into the same folder:
 *
 *   plotAnalysis(runDir, options?)   <run>/analysis/{spectrum,progress,norms,hessian,pruning}.{svg,png}
 *
 * Only the charts that apply are drawn (a run that is not modular arithmetic has no spectrum and no
 * progress measures; the Hessian and pruning charts need those probes); the others are reported as
 * skipped with the reason. Every chart is rendered before the first file is written, and each file
 * is written atomically. The train/test curves come from the document's `curves` (metrics.jsonl as
 * it was when the analysis ran), so the charts match the checkpoints analysed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ANALYSIS_DIR, ANALYSIS_FILE, ANALYSIS_FORMAT, type AnalysisDocument } from '../analysis/types.ts';
import { readJsonFile } from '../runs/index.ts';
import { UsageError } from '../util/errors.ts';
import { type AnalysisChartName, analysisChartSpecs } from './analysis-specs/index.ts';
import { checkFormats, PLOT_FORMATS, type PlotFormat, type RenderedFile, writeCharts } from './index.ts';
import { specToSvg, svgToPng } from './render.ts';

export interface AnalysisPlotOptions {
  /** Which files to write (default svg and png). */
  formats?: readonly PlotFormat[];
  /** Where to write (default: the folder of analysis.json). */
  outDir?: string;
}

export interface AnalysisPlots {
  /** Paths written, in chart order. */
  written: string[];
  charts: AnalysisChartName[];
  skipped: Array<{ name: AnalysisChartName; reason: string }>;
}

/** Reads <run>/analysis/analysis.json; UsageError when it is missing or not an analysis document. */
export function readAnalysisDocument(runDir: string): AnalysisDocument {
  const file = path.join(runDir, ANALYSIS_DIR, ANALYSIS_FILE);
  if (!fs.existsSync(file)) {
    throw new UsageError({
      field: 'run',
      message: `"${runDir}" has no ${ANALYSIS_DIR}/${ANALYSIS_FILE}: run groklab analyze first`,
    });
  }
  const doc = readJsonFile(file) as Partial<AnalysisDocument>;
  if (doc.format !== ANALYSIS_FORMAT || !Array.isArray(doc.checkpoints) || !doc.curves) {
    throw new UsageError({
      field: 'run',
      message: `${file} is not a groklab analysis (format "${String(doc.format)}", expected "${ANALYSIS_FORMAT}")`,
    });
  }
  return doc as AnalysisDocument;
}

/** Renders every chart that applies to `doc` into `outDir` without writing anything. */
export async function renderAnalysisCharts(
  doc: AnalysisDocument,
  outDir: string,
  formats: readonly PlotFormat[] = PLOT_FORMATS,
): Promise<{ files: RenderedFile[]; charts: AnalysisChartName[]; skipped: AnalysisPlots['skipped'] }> {
  const { charts, skipped } = analysisChartSpecs(doc);
  const files: RenderedFile[] = [];
  for (const chart of charts) {
    const svg = await specToSvg(chart.spec);
    const stem = path.join(outDir, chart.name);
    for (const f of formats) files.push({ path: `${stem}.${f}`, data: f === 'svg' ? svg : svgToPng(svg) });
  }
  return { files, charts: charts.map((c) => c.name), skipped };
}

/** Renders every chart that applies to `doc`, then writes them all into `outDir`. */
export async function writeAnalysisCharts(
  doc: AnalysisDocument,
  outDir: string,
  formats: readonly PlotFormat[] = PLOT_FORMATS,
): Promise<AnalysisPlots> {
  const { files, charts, skipped } = await renderAnalysisCharts(doc, outDir, formats);
  return { written: writeCharts(files), charts, skipped };
}

/** Draws the charts of a run's analysis.json next to it (or into options.outDir); returns what was written. */
export async function plotAnalysis(
  runDir: string,
  options: AnalysisPlotOptions = {},
): Promise<AnalysisPlots> {
  const formats = checkFormats(options.formats ?? PLOT_FORMATS);
  const doc = readAnalysisDocument(runDir);
  return writeAnalysisCharts(doc, options.outDir ?? path.join(runDir, ANALYSIS_DIR), formats);
}
