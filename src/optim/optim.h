// The optimizer object behind grl_optimizer (shared by the step, clipping, schedules and
// checkpoint files) and the layout of its device-side scalar buffer.
#pragma once
#include <array>
#include <atomic>
#include <string>
#include <vector>

#include "capi/api.h"

namespace grl::optim {

// The scalar buffer (an I32 tensor of 32-bit words) mirrors shaders/optim/optim.glsl: a header
// of kHeaderWords words, then one kRecordWords record per parameter.
constexpr uint32_t kWordT = 0;       // uint: optimizer steps taken
constexpr uint32_t kWordLr = 1;      // float: current lr
constexpr uint32_t kWordMu = 2;      // float: NLMS mu for the next step
constexpr uint32_t kWordMuUsed = 3;  // float: NLMS mu of the step being run
constexpr uint32_t kHeaderWords = 8;
constexpr uint32_t kRecordWords = 4;  // step count (int), then three per-step scalars

// Update-kernel flags (UF_* in optim.glsl).
constexpr uint32_t kAmsgrad = 1, kDecoupled = 2, kNesterov = 4, kMomentum = 8, kCentered = 16, kWeightDecay = 32;

// Push constants of every update kernel (the Push block of optim.glsl).
struct UpdatePush {
  uint64_t p, g, st0, st1, st2, sc;
  uint32_t n, rec, flags, parts;
  float h[8];
};
static_assert(sizeof(UpdatePush) == 96);

// Per-parameter state: up to three f32 tensors of the parameter's shape, bound to st0..st2.
struct ParamState {
  std::array<TensorRef, 3> slot;
  TensorRef step;  // I32 [1] view of the parameter's record (its step count)
};

const char* kind_name(grl_optimizer_kind k);

// Multi-tensor launches (norm stages, clipping) take up to kBatch tensors of one dtype; a
// tensor's first norm stage leaves kSpan partials.
constexpr size_t kBatch = 8;
constexpr uint32_t kSpan = 256;
enum NormMode : uint32_t { kSumSquares = 0, kSumAbs = 1, kMaxAbs = 2, kSumPow = 3 };

// Records the first norm stage of xs (contiguous, non-empty; runs of one dtype are launched
// together, so sort by dtype first): the partials of xs[j] go to out[base + j * kSpan ...].
void norm_partials(const char* fn, const std::vector<Tensor*>& xs, Tensor& out, uint32_t base, NormMode mode,
                   float p);

}  // namespace grl::optim

struct grl_optimizer_s {
  std::atomic<int64_t> refs{1};
  grl::LiveHandle<grl::HandleKind::optimizer> live;
  grl_optimizer_options o{};  // with every default resolved
  std::vector<grl::TensorRef> params;
  std::vector<grl::optim::ParamState> state;
  // Flat view of the state for checkpoints: "<param index>.<slot>" and the tensor.
  std::vector<std::string> names;
  std::vector<grl::TensorRef> tensors;
  grl::TensorRef sc;        // the scalar buffer
  grl::TensorRef partials;  // NLMS: kSpan first-stage partials of each gradient's squared norm
  double lr = 0;          // host mirror of the lr last set
  uint32_t flags = 0;     // update-kernel flags
  float h[8] = {};        // update-kernel constants
  grl_device_s* device() const { return params.front()->device(); }
  grl::Device& dev() const { return params.front()->dev(); }
};

namespace grl::optim {

grl_optimizer_s& arg_optimizer(const char* fn, grl_optimizer opt);
// Header words of the scalar buffer (waits for the device).
void read_header(grl_optimizer_s& o, uint32_t words[4]);
// Sets step count, lr and NLMS mu on the device and the host mirror (values already checked).
void write_scalars(grl_optimizer_s& o, uint32_t t, double lr, double mu);

}  // namespace grl::optim
