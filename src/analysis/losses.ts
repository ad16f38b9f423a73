/** Losses and accuracy over rows of a logit matrix: moved to src/train/progress-losses.ts (the trainer's progress measures use them too). */
export { accuracyOf, type LossKind, meanLoss } from '../train/progress-losses.ts';
