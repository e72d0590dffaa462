// Float64 references and input helpers shared by several families' tests (forward tests and
// gradient checks use the same references).
#pragma once
#include "testing.h"

namespace gt {

// Each value rounded to what dt can hold.
Host rounded(Host h, grl_dtype dt);
// Uniform random values in [lo, hi), already representable in dt.
Host rounded_random(Shape s, grl_dtype dt, double lo, double hi);
// Softmax (or log-softmax) along `axis` of a row-major array.
Host softmax_ref(const Host& x, int axis, bool log);
// Layer norm (biased variance, as PyTorch) or RMS norm over rows of length n; w / b may be null.
Host norm_ref(const Host& x, int64_t n, const Host* w, const Host* b, double eps, bool rms);

}  // namespace gt
