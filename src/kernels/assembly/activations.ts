// Activation codes of biasAct and actBackward: ACTIVATION_CODES in
// src/engine/kernel-table/elementwise.ts passes the same numbers. In a file of their own so that the
// module, which re-exports every export of the kernel files, does not export them too.

export const ACT_NONE: i32 = 0;
export const ACT_RELU: i32 = 1;
export const ACT_SQUARE: i32 = 2;
export const ACT_GELU: i32 = 3;
