export { fsyncDir, readJsonFile, writeFileAtomic, writeJsonAtomic } from './atomic.ts';
export { type DecodedCheckpoint, decodeCheckpoint, encodeCheckpoint, loadParams } from './checkpoint.ts';
export {
  checkRunIdFree,
  createRunFolder,
  listRuns,
  newRunId,
  openRun,
  RUN_FILES,
  type RunContents,
  RunFolder,
  type RunListState,
  type RunSummary,
  resolveRunFolder,
  SWEEPS_FOLDER,
  validateRunId,
} from './folder.ts';
export {
  MetricsLog,
  type MetricsRead,
  type MetricsRecord,
  readMetrics,
  rewriteMetrics,
  truncateMetricsAfter,
} from './metrics.ts';
export {
  type Dtype,
  decodeSafetensors,
  encodeSafetensors,
  type StoredTensor,
  SUPPORTED_DTYPES,
  type TensorArray,
} from './safetensors.ts';
export {
  isInterrupted,
  isPidAlive,
  RUN_STATES,
  type RunState,
  type RunStatus,
  RunStatusSchema,
  type RunStatusUpdate,
  readStatusFile,
  writeStatusFile,
} from './status.ts';
