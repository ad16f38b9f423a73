/** Every per-checkpoint measure of one checkpoint (the Hessian and pruning probe are separate: run-analysis.ts). */
import type { Data } from '../engine/tensor.ts';
import { noGrad } from '../engine/tensor.ts';
import type { Model } from '../models/index.ts';
import { attentionGrids, summarizeAttention } from './attention.ts';
import { chunksOf } from './chunks.ts';
import type { RunContext } from './context.ts';
import { featureMovement } from './features.ts';
import { columnEnergies, fourierBasis, type SpectrumSummary, summarizeSpectrum } from './fourier.ts';
import { accuracyOf, meanLoss } from './losses.ts';
import { gridFrequencies, summarizeNeurons } from './neurons.ts';
import { weightNorms } from './norms.ts';
import { type ProbeResult, probeModel } from './probe.ts';
import { progressMeasures } from './progress.ts';
import type { AnalysisDocument, CheckpointAnalysis, CheckpointLosses } from './types.ts';
import { fourierViews, type ViewName } from './views.ts';

/** Loads the checkpoint at `step` into the context's float32 model. */
export function loadCheckpoint(ctx: RunContext, step: number): void {
  ctx.experiment.loadCheckpoint(ctx.model, step);
}

export function lossesOf(ctx: RunContext, logits: ArrayLike<number>): CheckpointLosses {
  const { task, split, loss } = ctx;
  const c = task.numClasses;
  return {
    train_loss: meanLoss(logits, c, task.labels, split.train, loss),
    test_loss: meanLoss(logits, c, task.labels, split.test, loss),
    train_acc: accuracyOf(logits, c, task.labels, split.train),
    test_acc: accuracyOf(logits, c, task.labels, split.test),
  };
}

/** The model's own logits over every example of the task (float32, in chunks). */
export function allLogits(ctx: RunContext, model: Model = ctx.model): Data {
  const { task } = ctx;
  const out = new Float32Array(task.numExamples * task.numClasses);
  noGrad(() => {
    for (const chunk of chunksOf(task.inputs, task.seqLen, task.numExamples)) {
      out.set(model.forward(chunk.tokens, chunk.count).data, chunk.start * task.numClasses);
    }
  });
  return out;
}

/** Spectra of every Fourier view of the loaded model (modular tasks). */
export function fourierOf(ctx: RunContext, keys: readonly number[] | null): CheckpointAnalysis['fourier'] {
  if (ctx.p === null) return null;
  const views = fourierViews(ctx.model, ctx.p, ctx.task.operandPositions);
  const frequencies = fourierBasis(ctx.p).frequencies;
  const out: Partial<Record<ViewName, SpectrumSummary>> = {};
  for (const [name, matrices] of Object.entries(views) as Array<[ViewName, (typeof views)[ViewName]]>) {
    if (matrices && matrices.length > 0)
      out[name] = summarizeSpectrum(columnEnergies(...matrices), frequencies, keys);
  }
  return out;
}

export function progressOf(
  ctx: RunContext,
  logits: ArrayLike<number>,
  keys: readonly number[] | null,
): CheckpointAnalysis['progress'] {
  if (!ctx.circuit || !keys || keys.length === 0) return null;
  return progressMeasures(logits, ctx.circuit, ctx.task.labels, ctx.split.train, keys, ctx.loss);
}

export interface MeasuredCheckpoint {
  record: CheckpointAnalysis;
  probe: ProbeResult;
}

/** All base measures of the checkpoint at `step`; hessian and pruning are left null. */
export function measureCheckpoint(
  ctx: RunContext,
  step: number,
  source: CheckpointAnalysis['source'],
  keys: readonly number[] | null,
): MeasuredCheckpoint {
  loadCheckpoint(ctx, step);
  const { io, task } = ctx;
  const probe = probeModel(ctx.model, task.inputs, task.numExamples);
  const record: CheckpointAnalysis = {
    step,
    source,
    losses: lossesOf(ctx, probe.logits),
    norms: weightNorms(ctx.model.params, ctx.init),
    fourier: fourierOf(ctx, keys),
    progress: progressOf(ctx, probe.logits, keys),
    neurons:
      ctx.grid && ctx.p !== null
        ? summarizeNeurons(
            probe.hiddenLayer,
            gridFrequencies(probe.hidden, probe.hiddenWidth, ctx.grid),
            ctx.p,
          )
        : null,
    features: featureMovement(
      probe.hiddenLayer,
      probe.hidden,
      ctx.initHidden,
      task.numExamples,
      probe.hiddenWidth,
    ),
    attention:
      probe.attention.length > 0
        ? summarizeAttention(probe.attention, probe.count, probe.heads, io.seqLen, ctx.grid)
        : null,
    hessian: null,
    pruning: null,
  };
  return { record, probe };
}

/** The attention heatmaps of a probe's last layer (transformers on full-grid modular tasks). */
export function attentionGridOf(
  ctx: RunContext,
  step: number,
  probe: ProbeResult,
): AnalysisDocument['attention_grid'] {
  if (!ctx.grid || ctx.p === null || probe.attention.length === 0) return null;
  const layer = probe.attention.length - 1;
  return {
    step,
    layer,
    p: ctx.p,
    heads: attentionGrids(probe.attention[layer], probe.count, probe.heads, ctx.io.seqLen, ctx.grid),
  };
}
