// Learning-rate schedules (torch.optim.lr_scheduler semantics), computed on the host in double;
// every step writes the new lr into the optimizer (its device buffer and host mirror).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "optim/optim.h"

using namespace grl;
using namespace grl::optim;

struct grl_lr_scheduler_s {
  grl_optimizer opt = nullptr;  // holds a reference
  grl_lr_schedule_options o{};
  std::vector<int64_t> milestones;  // sorted copy
  double lr0 = 0;
  // Where the schedule is; a step computes the next position and commits it once the lr is set.
  struct Position {
    int64_t t = 0;  // PyTorch's last_epoch
    // CosineAnnealingWarmRestarts: position in the current period and its length.
    int64_t t_cur = 0, t_i = 0;
    // ReduceLROnPlateau.
    double best = 0;
    int64_t bad = 0, cooldown_left = 0;
  } at;
  ~grl_lr_scheduler_s() { grl_optimizer_release(opt); }
};

namespace {

const double kPi = std::numbers::pi;

const char* schedule_name(grl_lr_schedule_kind k) {
  switch (k) {
    case GRL_LR_STEP: return "StepLR";
    case GRL_LR_MULTISTEP: return "MultiStepLR";
    case GRL_LR_EXPONENTIAL: return "ExponentialLR";
    case GRL_LR_COSINE: return "CosineAnnealingLR";
    case GRL_LR_COSINE_WARM_RESTARTS: return "CosineAnnealingWarmRestarts";
    case GRL_LR_LINEAR_WARMUP: return "LinearLR";
    case GRL_LR_ONE_CYCLE: return "OneCycleLR";
    case GRL_LR_REDUCE_ON_PLATEAU: return "ReduceLROnPlateau";
    default: return "?";
  }
}

[[noreturn]] void bad_field(const char* fn, const char* field, double v, const char* kind, const char* expected) {
  fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->%s is %g; %s expects %s", fn, field, v, kind, expected);
}

void validate(const char* fn, const grl_lr_schedule_options& o) {
  if (o.version != GRL_LR_SCHEDULE_OPTIONS_VERSION)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->version is %u; expected %u (start from GRL_LR_SCHEDULE_OPTIONS_INIT)",
         fn, o.version, GRL_LR_SCHEDULE_OPTIONS_VERSION);
  if (static_cast<int>(o.kind) < 0 || o.kind > GRL_LR_REDUCE_ON_PLATEAU)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->kind is %d; expected a grl_lr_schedule_kind (0..%d)", fn,
         static_cast<int>(o.kind), static_cast<int>(GRL_LR_REDUCE_ON_PLATEAU));
  const char* k = schedule_name(o.kind);
  auto gamma = [&](bool below_one) {
    if (!std::isfinite(o.gamma) || o.gamma < 0 || (below_one && o.gamma >= 1))
      bad_field(fn, "gamma", o.gamma, k, below_one ? "a factor in [0, 1)" : "a finite factor >= 0");
  };
  auto eta_min = [&] {
    if (!std::isfinite(o.eta_min) || o.eta_min < 0) bad_field(fn, "eta_min", o.eta_min, k, "a finite value >= 0");
  };
  switch (o.kind) {
    case GRL_LR_STEP:
      gamma(false);
      if (o.step_size < 1) bad_field(fn, "step_size", static_cast<double>(o.step_size), k, "at least 1");
      break;
    case GRL_LR_MULTISTEP:
      gamma(false);
      if (o.n_milestones < 0)
        bad_field(fn, "n_milestones", o.n_milestones, k, "a count >= 0");
      if (o.n_milestones > 0 && !o.milestones)
        fail(GRL_ERROR_NULL_ARGUMENT, "%s: opts->milestones is NULL but n_milestones is %d", fn, o.n_milestones);
      for (int32_t i = 0; i < o.n_milestones; ++i)
        if (o.milestones[i] < 0)
          fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->milestones[%d] is %lld; expected a step >= 0", fn, i,
               static_cast<long long>(o.milestones[i]));
      break;
    case GRL_LR_EXPONENTIAL:
      gamma(false);
      break;
    case GRL_LR_COSINE:
      if (o.t_max < 1) bad_field(fn, "t_max", static_cast<double>(o.t_max), k, "a period of at least 1 step");
      eta_min();
      break;
    case GRL_LR_COSINE_WARM_RESTARTS:
      if (o.t_0 < 1) bad_field(fn, "t_0", static_cast<double>(o.t_0), k, "a first period of at least 1 step");
      if (o.t_mult < 1) bad_field(fn, "t_mult", static_cast<double>(o.t_mult), k, "an integer factor >= 1");
      eta_min();
      break;
    case GRL_LR_LINEAR_WARMUP:
      if (!(o.start_factor > 0 && o.start_factor <= 1))
        bad_field(fn, "start_factor", o.start_factor, k, "a factor in (0, 1]");
      if (o.warmup_steps < 1)
        bad_field(fn, "warmup_steps", static_cast<double>(o.warmup_steps), k, "at least 1 step");
      break;
    case GRL_LR_ONE_CYCLE:
      if (o.t_max < 1) bad_field(fn, "t_max", static_cast<double>(o.t_max), k, "a total of at least 1 step");
      if (!(o.pct_start >= 0 && o.pct_start <= 1)) bad_field(fn, "pct_start", o.pct_start, k, "a fraction in [0, 1]");
      if (!(o.div_factor > 0) || !std::isfinite(o.div_factor))
        bad_field(fn, "div_factor", o.div_factor, k, "a finite value > 0");
      if (!(o.final_div_factor > 0) || !std::isfinite(o.final_div_factor))
        bad_field(fn, "final_div_factor", o.final_div_factor, k, "a finite value > 0");
      break;
    case GRL_LR_REDUCE_ON_PLATEAU:
      gamma(true);
      if (o.mode_max != 0 && o.mode_max != 1) bad_field(fn, "mode_max", o.mode_max, k, "0 (min) or 1 (max)");
      if (o.patience < 0) bad_field(fn, "patience", static_cast<double>(o.patience), k, "a count >= 0");
      if (!(o.threshold >= 0) || !std::isfinite(o.threshold))
        bad_field(fn, "threshold", o.threshold, k, "a finite relative threshold >= 0");
      if (o.cooldown < 0) bad_field(fn, "cooldown", static_cast<double>(o.cooldown), k, "a count >= 0");
      if (!(o.min_lr >= 0) || !std::isfinite(o.min_lr)) bad_field(fn, "min_lr", o.min_lr, k, "a finite value >= 0");
      break;
    default:
      break;
  }
}

double cosine(double hi, double lo, double pos, double period) {
  return lo + (hi - lo) * (1 + std::cos(kPi * pos / period)) / 2;
}

using Position = grl_lr_scheduler_s::Position;

// PyTorch's OneCycleLR (anneal_strategy 'cos', two phases) at step t, with max_lr = lr0.
double one_cycle(const grl_lr_scheduler_s& s, int64_t t) {
  const auto& o = s.o;
  double initial = s.lr0 / o.div_factor, min_lr = initial / o.final_div_factor;
  double end1 = o.pct_start * static_cast<double>(o.t_max) - 1, end2 = static_cast<double>(o.t_max) - 1;
  double x = static_cast<double>(t);
  auto anneal = [](double start, double end, double pct) { return end + (start - end) / 2.0 * (std::cos(kPi * pct) + 1); };
  // A phase of zero length (pct_start * t_max == 1, or pct_start == 1 at the last step) is at
  // its end; PyTorch divides by zero there.
  auto pct = [](double num, double den) { return den == 0 ? 1.0 : num / den; };
  if (x <= end1) return anneal(initial, s.lr0, pct(x, end1));
  return anneal(s.lr0, min_lr, pct(x - end1, end2 - end1));
}

// The lr at position `at` for the closed-form schedules.
double closed_form(const grl_lr_scheduler_s& s, const Position& at) {
  const auto& o = s.o;
  const int64_t t = at.t;
  switch (o.kind) {
    case GRL_LR_STEP: return s.lr0 * std::pow(o.gamma, static_cast<double>(t / o.step_size));
    case GRL_LR_MULTISTEP: {
      auto passed = std::upper_bound(s.milestones.begin(), s.milestones.end(), t) - s.milestones.begin();
      return s.lr0 * std::pow(o.gamma, static_cast<double>(passed));
    }
    case GRL_LR_EXPONENTIAL: return s.lr0 * std::pow(o.gamma, static_cast<double>(t));
    case GRL_LR_COSINE: return cosine(s.lr0, o.eta_min, static_cast<double>(t), static_cast<double>(o.t_max));
    case GRL_LR_COSINE_WARM_RESTARTS:
      return cosine(s.lr0, o.eta_min, static_cast<double>(at.t_cur), static_cast<double>(at.t_i));
    case GRL_LR_LINEAR_WARMUP: {
      double w = static_cast<double>(std::min(t, o.warmup_steps)) / static_cast<double>(o.warmup_steps);
      return s.lr0 * (o.start_factor + (1 - o.start_factor) * w);
    }
    case GRL_LR_ONE_CYCLE: return one_cycle(s, t);
    default: return s.lr0;
  }
}

// Writes lr into the optimizer as grl_optimizer_set_lr does, reporting its errors as ours.
void set_lr(const char* fn, grl_optimizer opt, double lr) {
  if (!std::isfinite(lr) || lr < 0)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: the schedule produced lr %g (expected a finite value >= 0); check its "
         "options", fn, lr);
  if (grl_optimizer_set_lr(opt, lr) != GRL_OK) throw Error(grl_last_error_status(), grl_last_error_message());
}

}  // namespace

extern "C" {

GRL_API grl_status grl_lr_scheduler_create(grl_optimizer opt, const grl_lr_schedule_options* opts,
                                           grl_lr_scheduler* out) {
  GRL_API_BEGIN();
  auto& o = arg_optimizer(__func__, opt);
  arg_not_null(__func__, "opts", opts);
  GRL_CHECK_OUT(out);
  validate(__func__, *opts);
  auto s = std::make_unique<grl_lr_scheduler_s>();
  s->o = *opts;
  if (opts->kind == GRL_LR_MULTISTEP) {
    s->milestones.assign(opts->milestones, opts->milestones + opts->n_milestones);
    std::sort(s->milestones.begin(), s->milestones.end());
  }
  s->o.milestones = nullptr;  // the caller's array need not outlive the call
  {
    DeviceLock lock(o.dev().mutex());
    s->lr0 = o.lr;
  }
  s->at.t_i = opts->t_0;
  s->at.best = opts->mode_max ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  // Like PyTorch's constructor, step 0 sets the lr (the warm-up start, the one-cycle initial lr).
  if (opts->kind != GRL_LR_REDUCE_ON_PLATEAU) set_lr(__func__, opt, closed_form(*s, s->at));
  grl_optimizer_retain(opt);
  s->opt = opt;
  *out = s.release();
  GRL_API_END();
}

GRL_API void grl_lr_scheduler_release(grl_lr_scheduler sched) { delete sched; }

GRL_API grl_status grl_lr_scheduler_step(grl_lr_scheduler sched, double metric, double* out) {
  GRL_API_BEGIN();
  if (!sched) fail(GRL_ERROR_NULL_ARGUMENT, "%s: argument 'sched' is NULL (expected a grl_lr_scheduler)", __func__);
  auto& s = *sched;
  const auto& o = s.o;
  Position next = s.at;
  ++next.t;
  if (o.kind == GRL_LR_ONE_CYCLE && next.t > o.t_max)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: OneCycleLR stepped %lld times but t_max (its total steps) is %lld", __func__,
         static_cast<long long>(next.t), static_cast<long long>(o.t_max));
  double lr;
  if (o.kind == GRL_LR_REDUCE_ON_PLATEAU) {
    double current;
    grl_status st = grl_optimizer_get_lr(s.opt, &current);
    if (st != GRL_OK) throw Error(st, grl_last_error_message());
    bool better = o.mode_max ? metric > next.best * (1 + o.threshold) : metric < next.best * (1 - o.threshold);
    if (better) {
      next.best = metric;
      next.bad = 0;
    } else {
      ++next.bad;
    }
    if (next.cooldown_left > 0) {
      --next.cooldown_left;
      next.bad = 0;
    }
    lr = current;
    if (next.bad > o.patience) {
      double reduced = std::max(current * o.gamma, o.min_lr);
      if (current - reduced > 1e-8) lr = reduced;  // PyTorch's eps: smaller changes are skipped
      next.cooldown_left = o.cooldown;
      next.bad = 0;
    }
    if (lr != current) set_lr(__func__, s.opt, lr);
  } else {
    if (o.kind == GRL_LR_COSINE_WARM_RESTARTS && ++next.t_cur >= next.t_i) {
      next.t_cur -= next.t_i;
      next.t_i *= o.t_mult;
    }
    lr = closed_form(s, next);
    set_lr(__func__, s.opt, lr);
  }
  s.at = next;  // only once the lr is set: a failed step leaves the schedule where it was
  if (out) *out = lr;
  GRL_API_END();
}

}  // extern "C"
