// Shared by the optimizer kernels: the layout of the optimizer's scalar buffer (written by
// tick.comp, read by the update kernels) and the push-constant block every update kernel takes.
// Keep in step with src/optim/optim.h (kHeaderWords, Record, UpdatePush).

// Scalar buffer, in 32-bit words: a header, then one 4-word record per parameter.
#define SC_T 0u        // uint: optimizer steps taken
#define SC_LR 1u       // float: current lr
#define SC_MU 2u       // float: NLMS mu for the next step
#define SC_MU_USED 3u  // float: NLMS mu of the step being run
#define SC_HEADER 8u
// Record words: per-parameter step count (int) and up to three per-step scalars from the tick.
#define REC_STEP 0u
#define REC_S0 1u
#define REC_S1 2u
#define REC_S2 3u

#define UF_AMSGRAD 1u
#define UF_DECOUPLED 2u   // AdamW: decoupled weight decay
#define UF_NESTEROV 4u
#define UF_MOMENTUM 8u    // a momentum buffer is kept
#define UF_CENTERED 16u
#define UF_WEIGHT_DECAY 32u

// The update kernels' push constants (tick.comp defines OPTIM_TICK and has its own).
#ifndef OPTIM_TICK
layout(push_constant) uniform Push {
  uint64_t p;      // parameter (in place)
  uint64_t g;      // its gradient
  uint64_t st0;    // f32 state tensors of the parameter's numel (0 when unused)
  uint64_t st1;
  uint64_t st2;
  uint64_t sc;     // the optimizer's scalar buffer
  uint n;
  uint rec;        // word index of this parameter's record in sc
  uint flags;
  uint parts;      // NLMS: number of partial sums at st0
  float h[8];      // constant hyperparameters, per kind
} pc;

float sc_f(uint w) { return uintBitsToFloat(U32Buf(pc.sc).v[w]); }
#endif
