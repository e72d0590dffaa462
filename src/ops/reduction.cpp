// Reduction family: sum, mean, var, std, max, min, argmax, argmin, p-norms, logsumexp and cumsum,
// with their backward rules. Every reduction runs over one contiguous [outer, rlen, inner] view of
// its input (shaders/reduction); every backward is one pass over x (reduction/reduce_grad), plus a
// counting pass for the ties of max, min and the INFINITY norm.
//
// Gradient conventions (PyTorch's): max and min (and the INFINITY norm, over |x|) send g to the
// elements equal to the result, split equally among ties (g / count, as amax/amin; NaN results go
// to the NaN elements); norm p = 0 has a zero gradient; norm p = 2 and general p give 0 where the
// norm is 0, general p also where x is 0; std gives 0 where the std is 0. argmax/argmin have no
// gradient. Only floating dtypes record a backward.
#include <cmath>
#include <limits>
#include <string>

#include "autograd/autograd.h"
#include "ops/compose.h"
#include "ops/launch.h"

namespace grl {

namespace {

// ---- kernels and their push constants ---------------------------------------------------------

struct ReducePush {
  uint64_t src, dst, src2, dst2;
  uint32_t outer, rlen, inner, chunk, nchunks, tiles, ti_log2, mode, rows_per_group, ngroups, flags, op,
      out_dt;
  float p0, p1;
  uint32_t line_len;  // rlen of the input (a second pass runs with rlen = nchunks)
};
static_assert(sizeof(ReducePush) == 96);

struct CumsumPush {
  uint64_t src, dst, carry;
  uint32_t outer, rlen, inner, seg, nseg, mode, phase, flags, ngroups, units_per_group;
};
static_assert(sizeof(CumsumPush) == 64);

// Backward kernel: one thread per element of x (shaders/reduction/reduce_grad.comp).
struct GradPush {
  uint64_t x, y, g, aux, dx;
  uint32_t n, op, ndim, pad;
  float p0;
  uint32_t pad2;  // the uvec4s below start 16-byte aligned
  uint32_t shape[4], sx[4], so[4];
};
static_assert(sizeof(GradPush) == 112);
constexpr int64_t kGradPerThread = 4;  // consecutive elements per thread (PER in the shader)

constexpr uint32_t kModeTile = 0, kModeRows = 1;
constexpr uint32_t kFlagSrcState = 1, kFlagDstState = 2, kFlagOutF32 = 4;
constexpr uint32_t kCumRows = 0, kCumCols = 1;
constexpr uint32_t kPhaseTotals = 0, kPhaseScan = 1;
constexpr uint32_t kFlagSrcAcc = 1, kFlagDstAcc = 2, kFlagExclusive = 4, kFlagReverse = 8;

// Op codes of reduction/reduce.comp.
enum class ReduceOp : uint32_t { Sum = 0, Mean = 1, Max = 2, Min = 3, Norm1 = 4, Norm2 = 5, NormP = 6,
                                  NormInf = 7, Norm0 = 8, CountEq = 9, CountAbsEq = 10 };

// Op codes of reduction/reduce_grad.comp.
enum class GradOp : uint32_t { Scale = 0, Var = 1, Std = 2, Extreme = 3, Norm1 = 4, Norm2 = 5, NormP = 6,
                                NormInf = 7, LogSumExp = 8 };

// The kernel families, with the partial state each keeps (in 32-bit or 64-bit words per output).
enum class Family { Reduce, Welford, Arg, LogSumExp };

const Kernel& family_kernel(const char* fn, Family f, grl_dtype dt) {
  static const KernelSet reduce("reduction/reduce", {GRL_F32, GRL_F16, GRL_BF16, GRL_I32, GRL_I64});
  static const KernelSet welford("reduction/welford", {GRL_F32, GRL_F16, GRL_BF16});
  static const KernelSet arg("reduction/arg", {GRL_F32, GRL_F16, GRL_BF16, GRL_I32, GRL_I64});
  static const KernelSet lse("reduction/logsumexp", {GRL_F32, GRL_F16, GRL_BF16});
  switch (f) {
    case Family::Reduce: return reduce.get(fn, "x", dt);
    case Family::Welford: return welford.get(fn, "x", dt);
    case Family::Arg: return arg.get(fn, "x", dt);
    default: return lse.get(fn, "x", dt);
  }
}

// ---- geometry -----------------------------------------------------------------------------------

// A reduction seen as [outer, rlen, inner] over a contiguous source. When the reduced axes are
// not adjacent (ignoring size-1 dims) the source is a permuted copy with the reduced axes last.
using AxisMask = std::array<bool, GRL_MAX_DIMS>;

struct ReduceGeometry {
  Shape out_shape;
  Shape keep_shape;  // x's shape with the reduced axes set to 1 (the backward broadcasts over it)
  AxisMask red{};
  int64_t outer = 1, rlen = 1, inner = 1;
  bool permute = false;
  Shape perm_shape;
  std::array<int64_t, GRL_MAX_DIMS> perm_stride{};
};

ReduceGeometry mask_geometry(const Tensor& x, const AxisMask& red, bool keepdim);

ReduceGeometry reduce_geometry(const char* fn, const Tensor& x, const int32_t* axes, int32_t naxes,
                               uint32_t keepdim, bool single_axis) {
  if (keepdim > 1) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'keepdim' = %u; expected 0 or 1", fn, keepdim);
  if (naxes < 0)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'naxes' = %d; expected >= 0 (0 reduces every axis)", fn, naxes);
  const int nd = x.shape.ndim;
  AxisMask red{};
  if (!axes || naxes == 0) {
    for (int d = 0; d < nd; ++d) red[static_cast<size_t>(d)] = true;
  } else {
    bool seen[GRL_MAX_DIMS] = {};  // a 0-d tensor takes axis 0 or -1, which reduce nothing
    for (int32_t k = 0; k < naxes; ++k) {
      std::string name = single_axis ? std::string("axis") : format("axes[%d]", k);
      int32_t a = arg_axis(fn, name.c_str(), axes[k], nd);
      if (seen[a])
        fail(GRL_ERROR_INVALID_ARGUMENT, "%s: axis %d appears twice in 'axes' (given as %d); list each axis "
             "once", fn, a, axes[k]);
      seen[a] = true;
      if (nd > 0) red[static_cast<size_t>(a)] = true;
    }
  }
  return mask_geometry(x, red, keepdim != 0);
}

// The geometry of reducing the axes marked in `red` (also rebuilt by the backward).
ReduceGeometry mask_geometry(const Tensor& x, const AxisMask& red_in, bool keepdim) {
  const int nd = x.shape.ndim;
  ReduceGeometry g;
  g.red = red_in;
  auto red = [&](int d) { return g.red[static_cast<size_t>(d)]; };
  g.keep_shape = x.shape;
  for (int d = 0; d < nd; ++d) {
    if (!red(d)) g.out_shape[g.out_shape.ndim++] = x.shape[d];
    else if (keepdim) g.out_shape[g.out_shape.ndim++] = 1;
    if (red(d)) g.keep_shape[d] = 1;
  }
  // Runs of reduced axes among the dims that are not 1 (size-1 dims can be ignored either way).
  int runs = 0, first = -1, last = -1;
  bool in_run = false;
  for (int d = 0; d < nd; ++d) {
    if (x.shape[d] == 1) continue;
    if (red(d)) {
      if (!in_run) ++runs;
      in_run = true;
      if (first < 0) first = d;
      last = d;
    } else {
      in_run = false;
    }
  }
  for (int d = 0; d < nd; ++d) {
    if (red(d)) g.rlen *= x.shape[d];
    else if (runs <= 1 && first >= 0 && d > last) g.inner *= x.shape[d];
    else g.outer *= x.shape[d];
  }
  if (runs > 1) {
    g.permute = true;
    g.perm_shape.ndim = nd;
    int k = 0;
    for (int pass = 0; pass < 2; ++pass)
      for (int d = 0; d < nd; ++d)
        if (red(d) == (pass == 1)) {
          g.perm_shape[k] = x.shape[d];
          g.perm_stride[static_cast<size_t>(k)] = x.stride[static_cast<size_t>(d)];
          ++k;
        }
  }
  return g;
}

// The contiguous tensor the kernels read as [outer, rlen, inner].
TensorRef reduce_source(Tensor& x, const ReduceGeometry& g) {
  if (!g.permute) return contiguous(x);
  TensorRef view = make_view(x, g.perm_shape, g.perm_stride, x.offset);
  return contiguous(*view);
}

// The flat indexing of the kernels keeps every offset below 2^32 with room for their loop steps.
void check_size(const char* fn, int64_t n) {
  if (n > static_cast<int64_t>(UINT32_MAX) - 4096)
    fail(GRL_ERROR_UNSUPPORTED, "%s: %lld elements exceed the 2^32 limit of one reduction kernel", fn,
         static_cast<long long>(n));
}

Shape flat_shape(int64_t n) {
  Shape s;
  s.ndim = 1;
  s[0] = n;
  return s;
}

// ---- launch configuration -----------------------------------------------------------------------

constexpr uint32_t kGroupSize = 256;
constexpr uint32_t kRowsMaxLen = 1024;    // rows up to this long (inner == 1) get one subgroup each
constexpr uint64_t kTargetGroups = 2048;  // workgroups that keep a large GPU busy (H100: 132 SMs)
constexpr uint32_t kMinPerThread = 16;    // elements per thread before a reduced axis is split
constexpr uint64_t kMaxChunks = 2048;     // bound on the partial states the second pass folds

struct Config {
  uint32_t mode = kModeTile, ti_log2 = 0, tiles = 1, nchunks = 1, chunk = 0, rows_per_group = 1;
  uint64_t groups = 0;
};

uint32_t subgroup_size(const Device& dev) {
  uint32_t s = dev.info().subgroup_size;
  return s == 0 ? 1 : std::min(s, kGroupSize);
}

// Chooses how [outer, rlen, inner] maps onto workgroups. `split` allows cutting rlen into chunks
// reduced by a second dispatch (never for that second dispatch itself).
Config configure(const Device& dev, uint64_t outer, uint64_t rlen, uint64_t inner, bool split) {
  Config c;
  if (inner == 1 && rlen <= kRowsMaxLen) {
    c.mode = kModeRows;
    // The host's subgroup size only sizes the batch: the kernel loops over its rows with however
    // many subgroups the workgroup really has.
    c.rows_per_group = std::max<uint32_t>(1, kGroupSize / subgroup_size(dev));
    c.chunk = static_cast<uint32_t>(rlen);
    c.groups = (outer + c.rows_per_group - 1) / c.rows_per_group;
    return c;
  }
  uint32_t ti = 1;
  while (ti < inner && ti < 32) ti <<= 1;
  while ((1u << c.ti_log2) < ti) ++c.ti_log2;
  const uint64_t tr = kGroupSize / ti;
  c.tiles = static_cast<uint32_t>((inner + ti - 1) / ti);
  const uint64_t base = outer * c.tiles;
  uint64_t nch = 1;
  if (split && base < kTargetGroups) {
    nch = std::min<uint64_t>((kTargetGroups + base - 1) / base, (rlen + tr * kMinPerThread - 1) / (tr * kMinPerThread));
    nch = std::clamp<uint64_t>(nch, 1, kMaxChunks);
  }
  uint64_t chunk = (rlen + nch - 1) / nch;
  chunk = (chunk + tr - 1) / tr * tr;  // whole strides per thread
  nch = (rlen + chunk - 1) / chunk;
  c.nchunks = static_cast<uint32_t>(nch);
  c.chunk = static_cast<uint32_t>(chunk);
  c.groups = base * nch;
  return c;
}

void fill_config(ReducePush& pc, const Config& c, uint64_t outer, uint64_t rlen, uint64_t inner) {
  pc.outer = static_cast<uint32_t>(outer);
  pc.rlen = static_cast<uint32_t>(rlen);
  pc.inner = static_cast<uint32_t>(inner);
  pc.chunk = c.chunk;
  pc.nchunks = c.nchunks;
  pc.tiles = c.tiles;
  pc.ti_log2 = c.ti_log2;
  pc.mode = c.mode;
  pc.rows_per_group = c.rows_per_group;
  pc.ngroups = static_cast<uint32_t>(c.groups);
}

// Blocks a kernel reaches through src2/dst2 besides its input and output: read while folding the
// input (first pass), read or written when the final values are written (last pass).
struct SideBlocks {
  Block* fold_read = nullptr;
  Block* finish_read = nullptr;
  Block* finish_write = nullptr;
};

// Records the reduction of src ([outer, rlen, inner], rlen >= 1) into out: one dispatch, or two
// when rlen is long next to the output (partial states in a temporary; the device's hazard
// tracking orders the second dispatch after the first).
void launch_reduce(const Kernel& k, Family fam, ReducePush pc, Tensor& src, const ReduceGeometry& g, Tensor& out,
                   SideBlocks side = {}) {
  Device& dev = src.dev();
  const uint64_t outer = static_cast<uint64_t>(g.outer), rlen = static_cast<uint64_t>(g.rlen),
                 inner = static_cast<uint64_t>(g.inner);
  pc.line_len = static_cast<uint32_t>(rlen);
  Config c1 = configure(dev, outer, rlen, inner, true);
  if (c1.nchunks == 1) {
    fill_config(pc, c1, outer, rlen, inner);
    pc.src = src.address();
    pc.dst = out.address();
    dev.dispatch_1d(k, &pc, sizeof pc, c1.groups, {src.block(), side.fold_read, side.finish_read},
                    {out.block(), side.finish_write});
    return;
  }
  const int64_t nstates = static_cast<int64_t>(outer * c1.nchunks * inner);
  const bool int_acc = !is_float(src.dtype);
  int64_t words = fam == Family::Welford ? 3 : fam == Family::LogSumExp ? 2 : 1;
  TensorRef states = new_tensor(src.device(), int_acc ? GRL_I64 : GRL_F32, flat_shape(nstates * words));
  TensorRef indices;
  if (fam == Family::Arg) indices = new_tensor(src.device(), GRL_I32, flat_shape(nstates));
  Block* idx_block = indices ? indices->block() : nullptr;

  ReducePush p1 = pc;
  fill_config(p1, c1, outer, rlen, inner);
  p1.src = src.address();
  p1.dst = states->address();
  if (indices) p1.dst2 = indices->address();
  p1.flags = pc.flags | kFlagDstState;
  dev.dispatch_1d(k, &p1, sizeof p1, c1.groups, {src.block(), side.fold_read}, {states->block(), idx_block});

  Config c2 = configure(dev, outer, c1.nchunks, inner, false);
  ReducePush p2 = pc;
  fill_config(p2, c2, outer, c1.nchunks, inner);
  p2.src = states->address();
  if (indices) p2.src2 = indices->address();
  p2.dst = out.address();
  p2.flags = pc.flags | kFlagSrcState;
  dev.dispatch_1d(k, &p2, sizeof p2, c2.groups, {states->block(), idx_block, side.finish_read},
                  {out.block(), side.finish_write});
}

// ---- the reduction ops ----------------------------------------------------------------------------

enum class Op { Sum, Mean, Var, Std, Max, Min, ArgMax, ArgMin, Norm, LogSumExp };

const char* op_name(Op op) {
  switch (op) {
    case Op::Sum: return "sum";
    case Op::Mean: return "mean";
    case Op::Var: return "var";
    case Op::Std: return "std";
    case Op::Max: return "max";
    case Op::Min: return "min";
    case Op::ArgMax: return "argmax";
    case Op::ArgMin: return "argmin";
    case Op::Norm: return "norm";
    default: return "logsumexp";
  }
}

bool float_only(Op op) {
  return op == Op::Mean || op == Op::Var || op == Op::Std || op == Op::Norm || op == Op::LogSumExp;
}

struct OpArgs {
  double p = 2.0;          // norm
  int32_t correction = 0;  // var, std
};

// A forward result with what its backward needs besides x and the result.
struct Reduced {
  TensorRef out;
  TensorRef aux;  // f32, output-sized, when asked for: the mean (var, std) or the result (logsumexp)
  ReduceGeometry geo;
};

Reduced reduce(const char* fn, Op op, Tensor& x, const int32_t* axes, int32_t naxes, uint32_t keepdim,
               OpArgs args = {}, bool want_aux = false) {
  const bool is_int = x.dtype == GRL_I32 || x.dtype == GRL_I64;
  if (float_only(op) && is_int)
    fail(GRL_ERROR_DTYPE, "%s: 'x' has dtype %s; %s needs a floating dtype (f32, f16 or bf16): cast x first, "
         "e.g. grl_cast(x, GRL_F32, &y)", fn, dtype_name(x.dtype), op_name(op));
  if (op == Op::Norm && (std::isnan(args.p) || args.p < 0))
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'p' = %g; expected p >= 0 (0 counts nonzeros) or INFINITY", fn, args.p);

  Family fam = Family::Reduce;
  ReducePush pc{};
  switch (op) {
    case Op::Sum: pc.op = static_cast<uint32_t>(ReduceOp::Sum); break;
    case Op::Mean: pc.op = static_cast<uint32_t>(ReduceOp::Mean); break;
    case Op::Max: pc.op = static_cast<uint32_t>(ReduceOp::Max); break;
    case Op::Min: pc.op = static_cast<uint32_t>(ReduceOp::Min); break;
    case Op::Var: fam = Family::Welford, pc.op = 0; break;
    case Op::Std: fam = Family::Welford, pc.op = 1; break;
    case Op::ArgMax: fam = Family::Arg, pc.op = 0; break;
    case Op::ArgMin: fam = Family::Arg, pc.op = 1; break;
    case Op::LogSumExp: fam = Family::LogSumExp; break;
    case Op::Norm: {
      ReduceOp n = ReduceOp::NormP;
      if (args.p == 0) n = ReduceOp::Norm0;
      else if (args.p == 1) n = ReduceOp::Norm1;
      else if (args.p == 2) n = ReduceOp::Norm2;
      else if (std::isinf(args.p)) n = ReduceOp::NormInf;
      pc.op = static_cast<uint32_t>(n);
      pc.p0 = static_cast<float>(args.p);
      pc.p1 = static_cast<float>(1.0 / args.p);
      break;
    }
  }
  const Kernel& k = family_kernel(fn, fam, x.dtype);

  const bool single = op == Op::ArgMax || op == Op::ArgMin;
  Reduced r;
  r.geo = reduce_geometry(fn, x, axes, naxes, keepdim, single);
  const ReduceGeometry& g = r.geo;
  const bool no_identity = op == Op::Max || op == Op::Min || single || (op == Op::Norm && std::isinf(args.p));
  if (g.rlen == 0 && no_identity)
    fail(GRL_ERROR_SHAPE, "%s: the reduced axes of 'x' (shape %s) hold no elements and %s has no value for an "
         "empty set", fn, x.shape.str().c_str(), op_name(op));

  grl_dtype out_dt = x.dtype;
  if (single || (op == Op::Sum && is_int)) out_dt = GRL_I64;
  r.out = new_tensor(x.device(), out_dt, g.out_shape);
  if (g.out_shape.numel() == 0) return r;
  if (g.rlen == 0) {  // the value of an empty reduction, as PyTorch gives it
    const double nan = std::numeric_limits<double>::quiet_NaN();
    double v = 0;
    if (op == Op::Mean || op == Op::Var || op == Op::Std) v = nan;
    if (op == Op::LogSumExp) v = -std::numeric_limits<double>::infinity();
    fill(*r.out, v);
    return r;
  }
  check_size(fn, x.numel());

  pc.out_dt = static_cast<uint32_t>(out_dt);
  if (op == Op::Mean) pc.p0 = static_cast<float>(1.0 / static_cast<double>(g.rlen));
  if (fam == Family::Welford)
    pc.p0 = static_cast<float>(std::max<double>(static_cast<double>(g.rlen) - args.correction, 0.0));
  TensorRef src = reduce_source(x, g);
  SideBlocks side;
  if (want_aux && (fam == Family::Welford || fam == Family::LogSumExp)) {
    // Written by the pass that finishes the values; Welford's reads the input's first element of
    // each line again (its states hold the mean of shifted values).
    r.aux = new_tensor(x.device(), GRL_F32, g.out_shape);
    pc.dst2 = r.aux->address();
    side.finish_write = r.aux->block();
    if (fam == Family::Welford) {
      pc.src2 = src->address();
      side.finish_read = src->block();
    }
  }
  launch_reduce(k, fam, pc, *src, g, *r.out, side);
  return r;
}

// ---- cumsum -------------------------------------------------------------------------------------

constexpr uint64_t kScanUnits = 8192;      // subgroups that keep a large GPU busy on row scans
constexpr uint64_t kScanThreads = 65536;   // threads for column scans
constexpr uint64_t kRowSegMin = 2048;      // shortest row segment worth a carry pass
constexpr uint64_t kColSegMin = 128;

struct ScanShape {
  uint32_t mode = kCumRows, units_per_group = 1;
  uint64_t outer = 1, rlen = 1, inner = 1, seg = 1, nseg = 1;
  uint64_t groups() const {
    if (mode == kCumRows) return (outer * nseg + units_per_group - 1) / units_per_group;
    return (outer * nseg * inner + kGroupSize - 1) / kGroupSize;
  }
};

ScanShape scan_shape(const Device& dev, uint64_t outer, uint64_t rlen, uint64_t inner, bool split) {
  ScanShape s;
  s.outer = outer, s.rlen = rlen, s.inner = inner;
  s.mode = inner == 1 ? kCumRows : kCumCols;
  s.units_per_group = std::max<uint32_t>(1, kGroupSize / subgroup_size(dev));
  uint64_t nseg = 1;
  if (split) {
    if (s.mode == kCumRows && rlen > 2 * kRowSegMin && outer < kScanUnits)
      nseg = std::min((kScanUnits + outer - 1) / outer, (rlen + kRowSegMin - 1) / kRowSegMin);
    if (s.mode == kCumCols && rlen > 2 * kColSegMin && outer * inner < kScanThreads)
      nseg = std::min((kScanThreads + outer * inner - 1) / (outer * inner), (rlen + kColSegMin - 1) / kColSegMin);
  }
  s.seg = (rlen + nseg - 1) / nseg;
  s.nseg = (rlen + s.seg - 1) / s.seg;
  return s;
}

void dispatch_scan(const Kernel& k, Device& dev, const ScanShape& s, uint32_t phase, uint32_t flags, Tensor& src,
                   Tensor& dst, Tensor* carry) {
  CumsumPush pc{};
  pc.src = src.address();
  pc.dst = dst.address();
  pc.carry = carry ? carry->address() : 0;
  pc.outer = static_cast<uint32_t>(s.outer);
  pc.rlen = static_cast<uint32_t>(s.rlen);
  pc.inner = static_cast<uint32_t>(s.inner);
  pc.seg = static_cast<uint32_t>(s.seg);
  pc.nseg = static_cast<uint32_t>(s.nseg);
  pc.mode = s.mode;
  pc.phase = phase;
  pc.flags = flags;
  pc.units_per_group = s.units_per_group;
  pc.ngroups = static_cast<uint32_t>(s.groups());
  dev.dispatch_1d(k, &pc, sizeof pc, s.groups(), {src.block(), carry ? carry->block() : nullptr}, {dst.block()});
}

// Prefix sums along `axis` (already normalised), from the end of each line when `reverse` (the
// backward of cumsum: dx = reverse cumsum of g).
TensorRef scan(const char* fn, Tensor& x, int32_t a, bool reverse) {
  static const KernelSet ks("reduction/cumsum", {GRL_F32, GRL_F16, GRL_BF16, GRL_I32, GRL_I64});
  const Kernel& k = ks.get(fn, "x", x.dtype);
  const int nd = x.shape.ndim;
  const bool is_int = !is_float(x.dtype);
  TensorRef out = new_tensor(x.device(), is_int ? GRL_I64 : x.dtype, x.shape);
  if (x.numel() == 0) return out;
  check_size(fn, x.numel());
  uint64_t outer = 1, rlen = 1, inner = 1;
  for (int d = 0; d < nd; ++d) {
    uint64_t n = static_cast<uint64_t>(x.shape[d]);
    if (d < a) outer *= n;
    else if (d == a) rlen = n;
    else inner *= n;
  }
  Device& dev = x.dev();
  TensorRef src = contiguous(x);
  ScanShape s = scan_shape(dev, outer, rlen, inner, true);
  const uint32_t rev = reverse ? kFlagReverse : 0;
  if (s.nseg == 1) {
    dispatch_scan(k, dev, s, kPhaseScan, rev, *src, *out, nullptr);
    return out;
  }
  // Blocked scan: segment totals, their exclusive scan in place (the same kernel over
  // [outer, nseg, inner]), then each segment scanned from its carry. Segments are numbered in
  // scan order, so a reverse scan only mirrors the passes that touch the input and the output.
  TensorRef carry = new_tensor(x.device(), is_int ? GRL_I64 : GRL_F32,
                               flat_shape(static_cast<int64_t>(outer * s.nseg * inner)));
  dispatch_scan(k, dev, s, kPhaseTotals, kFlagDstAcc | rev, *src, *carry, nullptr);
  ScanShape cs = scan_shape(dev, outer, s.nseg, inner, false);
  dispatch_scan(k, dev, cs, kPhaseScan, kFlagSrcAcc | kFlagDstAcc | kFlagExclusive, *carry, *carry, nullptr);
  dispatch_scan(k, dev, s, kPhaseScan, rev, *src, *out, carry.get());
  return out;
}

// ---- backward -----------------------------------------------------------------------------------

// dx of shape xs and dtype dt in one pass: each element from x (any layout; null when the rule
// does not read it) and the values of its output element in y, g and aux. y and aux are contiguous
// and output-sized (y of dtype dt, aux f32); g is output-sized in any layout and dtype.
TensorRef grad_pass(GradOp op, const Shape& xs, grl_dtype dt, const Shape& keep, Tensor* x, Tensor* y, Tensor& g_in,
                    Tensor* aux, float p0 = 0.f) {
  static const KernelSet ks("reduction/reduce_grad", {GRL_F32, GRL_F16, GRL_BF16});
  const Kernel& k = ks.get("backward", "x", dt);
  TensorRef dx = new_tensor(g_in.device(), dt, xs);
  const int64_t n = xs.numel();
  if (n == 0) return dx;
  check_size("backward", n);
  TensorRef g = g_in.dtype == dt ? TensorRef::retain(&g_in) : op::call(grl_cast, &g_in, dt);
  g = contiguous(*g);
  // Output-sized operands seen with x's rank: size 1 (broadcast) along the reduced axes.
  auto keep_view = [&keep](Tensor* t) {
    return t ? make_view(*t, keep, contiguous_strides(keep), t->offset) : TensorRef();
  };
  TensorRef tx = x ? TensorRef::retain(x) : TensorRef();
  TensorRef ty = keep_view(y), tg = keep_view(g.get()), ta = keep_view(aux);
  Geometry geo = elementwise_geometry(xs, {tx.get(), tg.get()});
  if (!geo.fits) {
    // More than 4 alternating runs of reduced and kept axes (or a scattered x): broadcast every
    // operand to x's shape first. Extra passes, but only for such rare layouts.
    if (tx) tx = materialize(*tx, xs);
    if (ty) ty = materialize(*ty, xs);
    if (ta) ta = materialize(*ta, xs);
    tg = materialize(*tg, xs);
    geo = elementwise_geometry(xs, {tx.get(), tg.get()});
  }
  GradPush pc{};
  pc.x = tx ? tx->address() : 0;
  pc.y = ty ? ty->address() : 0;
  pc.g = tg->address();
  pc.aux = ta ? ta->address() : 0;
  pc.dx = dx->address();
  pc.n = static_cast<uint32_t>(n);
  pc.op = static_cast<uint32_t>(op);
  pc.ndim = static_cast<uint32_t>(geo.ndim);
  pc.p0 = p0;
  for (size_t d = 0; d < 4; ++d) {
    pc.shape[d] = geo.shape[d];
    pc.sx[d] = geo.stride[0][d];
    pc.so[d] = geo.stride[1][d];
  }
  auto block = [](const TensorRef& t) { return t ? t->block() : nullptr; };
  g_in.dev().dispatch_1d(k, &pc, sizeof pc, groups_for(n, kGroupSize * kGradPerThread),
                         {block(tx), block(ty), block(tg), block(ta)}, {dx->block()});
  return dx;
}

// How many elements of each line equal its result y (|x| for the INFINITY norm), in f32.
TensorRef count_ties(Tensor& x, Tensor& y, const AxisMask& red, bool abs) {
  const Kernel& k = family_kernel("backward", Family::Reduce, x.dtype);
  ReduceGeometry geo = mask_geometry(x, red, true);
  TensorRef count = new_tensor(x.device(), GRL_F32, geo.out_shape);
  ReducePush pc{};
  pc.op = static_cast<uint32_t>(abs ? ReduceOp::CountAbsEq : ReduceOp::CountEq);
  pc.flags = kFlagOutF32;
  pc.src2 = y.address();
  TensorRef src = reduce_source(x, geo);
  SideBlocks side;
  side.fold_read = y.block();
  launch_reduce(k, Family::Reduce, pc, *src, geo, *count, side);
  return count;
}

// What a reduction's backward keeps: tensors only where the rule reads them (sum and mean keep
// none, so x can be freed after the forward).
struct SavedReduction {
  Op op;
  OpArgs args;
  Shape xs, keep;
  AxisMask red{};
  grl_dtype dt;
  int64_t rlen;
  TensorRef x, y, aux;
};

TensorRef reduce_backward(const SavedReduction& s, Tensor& g) {
  Tensor* x = s.x.get();
  Tensor* y = s.y.get();
  Tensor* aux = s.aux.get();
  if (s.xs.numel() == 0) return new_tensor(g.device(), s.dt, s.xs);
  const double div = std::max<double>(static_cast<double>(s.rlen) - s.args.correction, 0.0);
  switch (s.op) {
    case Op::Sum: return grad_pass(GradOp::Scale, s.xs, s.dt, s.keep, nullptr, nullptr, g, nullptr, 1.f);
    case Op::Mean:
      return grad_pass(GradOp::Scale, s.xs, s.dt, s.keep, nullptr, nullptr, g, nullptr,
                       static_cast<float>(1.0 / static_cast<double>(s.rlen)));
    case Op::Var:  // a zero divisor gives inf and NaN, as the forward's inf and NaN
      return grad_pass(GradOp::Var, s.xs, s.dt, s.keep, x, nullptr, g, aux, static_cast<float>(2.0 / div));
    case Op::Std: return grad_pass(GradOp::Std, s.xs, s.dt, s.keep, x, y, g, aux, static_cast<float>(1.0 / div));
    case Op::Max:
    case Op::Min: {
      TensorRef count = count_ties(*x, *y, s.red, false);
      return grad_pass(GradOp::Extreme, s.xs, s.dt, s.keep, x, y, g, count.get());
    }
    case Op::Norm: {
      const double p = s.args.p;
      if (p == 0) {  // a count of nonzeros: piecewise constant
        TensorRef z = new_tensor(g.device(), s.dt, s.xs);
        fill(*z, 0);
        return z;
      }
      if (p == 1) return grad_pass(GradOp::Norm1, s.xs, s.dt, s.keep, x, nullptr, g, nullptr);
      if (p == 2) return grad_pass(GradOp::Norm2, s.xs, s.dt, s.keep, x, y, g, nullptr);
      if (std::isinf(p)) {
        TensorRef count = count_ties(*x, *y, s.red, true);
        return grad_pass(GradOp::NormInf, s.xs, s.dt, s.keep, x, y, g, count.get());
      }
      return grad_pass(GradOp::NormP, s.xs, s.dt, s.keep, x, y, g, nullptr, static_cast<float>(p - 1));
    }
    default: return grad_pass(GradOp::LogSumExp, s.xs, s.dt, s.keep, x, nullptr, g, aux);
  }
}

// Whether a reduction of x records a backward (and so asks the forward for its aux values).
bool wants_grad(Op op, const Tensor& x) {
  return op != Op::ArgMax && op != Op::ArgMin && is_float(x.dtype) && autograd::needs_grad({&x});
}

void record_reduction(Op op, Tensor& x, Reduced& r, OpArgs args) {
  SavedReduction s;
  s.op = op;
  s.args = args;
  s.xs = x.shape;
  s.keep = r.geo.keep_shape;
  s.red = r.geo.red;
  s.dt = x.dtype;
  s.rlen = r.geo.rlen;
  const bool norm_flat = op == Op::Norm && (args.p == 0 || args.p == 1);
  if (op != Op::Sum && op != Op::Mean && !(op == Op::Norm && args.p == 0)) s.x = autograd::saved(x);
  if (op == Op::Std || op == Op::Max || op == Op::Min || (op == Op::Norm && !norm_flat))
    s.y = autograd::saved(*r.out);
  s.aux = r.aux;  // never seen by autograd: holding it makes no cycle
  autograd::record(op_name(op), *r.out, {&x}, [s](Tensor& g) {
    std::vector<TensorRef> grads;
    grads.push_back(reduce_backward(s, g));
    return grads;
  });
}

TensorRef reduce_op(const char* fn, Op op, Tensor& x, const int32_t* axes, int32_t naxes, uint32_t keepdim,
                    OpArgs args = {}) {
  const bool grad = wants_grad(op, x);
  Reduced r = reduce(fn, op, x, axes, naxes, keepdim, args, grad);
  if (grad) record_reduction(op, x, r, args);
  return std::move(r.out);
}

TensorRef cumsum_op(const char* fn, Tensor& x, int32_t axis) {
  const int32_t a = arg_axis(fn, "axis", axis, x.shape.ndim);
  TensorRef out = scan(fn, x, a, false);
  if (is_float(x.dtype) && autograd::needs_grad({&x}))
    autograd::record("cumsum", *out, {&x}, [a](Tensor& g) {
      std::vector<TensorRef> grads;
      grads.push_back(scan("backward", g, a, true));
      return grads;
    });
  return out;
}

}  // namespace

GRL_BACKWARD_RULE(sum);
GRL_BACKWARD_RULE(mean);
GRL_BACKWARD_RULE(var);
GRL_BACKWARD_RULE(std);
GRL_BACKWARD_RULE(max);
GRL_BACKWARD_RULE(min);
GRL_BACKWARD_RULE(norm);
GRL_BACKWARD_RULE(logsumexp);
GRL_BACKWARD_RULE(cumsum);

}  // namespace grl

using namespace grl;

#define GRL_REDUCE(name, op)                                                                       \
  extern "C" GRL_API grl_status name(grl_tensor x, const int32_t* axes, int32_t naxes, uint32_t keepdim, \
                                     grl_tensor* out) {                                            \
    GRL_API_BEGIN();                                                                               \
    Tensor& tx = arg_tensor(__func__, "x", x);                                                     \
    GRL_CHECK_OUT(out);                                                                            \
    DeviceLock lock(tx.dev().mutex());                                                             \
    *out = reduce_op(__func__, op, tx, axes, naxes, keepdim).release();                            \
    GRL_API_END();                                                                                 \
  }

GRL_REDUCE(grl_sum, Op::Sum)
GRL_REDUCE(grl_mean, Op::Mean)
GRL_REDUCE(grl_max, Op::Max)
GRL_REDUCE(grl_min, Op::Min)
GRL_REDUCE(grl_logsumexp, Op::LogSumExp)

extern "C" GRL_API grl_status grl_var(grl_tensor x, const int32_t* axes, int32_t naxes, int32_t correction,
                                      uint32_t keepdim, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tx = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  DeviceLock lock(tx.dev().mutex());
  OpArgs args;
  args.correction = correction;
  *out = reduce_op(__func__, Op::Var, tx, axes, naxes, keepdim, args).release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_std(grl_tensor x, const int32_t* axes, int32_t naxes, int32_t correction,
                                      uint32_t keepdim, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tx = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  DeviceLock lock(tx.dev().mutex());
  OpArgs args;
  args.correction = correction;
  *out = reduce_op(__func__, Op::Std, tx, axes, naxes, keepdim, args).release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_argmax(grl_tensor x, int32_t axis, uint32_t keepdim, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tx = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  DeviceLock lock(tx.dev().mutex());
  *out = reduce_op(__func__, Op::ArgMax, tx, &axis, 1, keepdim).release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_argmin(grl_tensor x, int32_t axis, uint32_t keepdim, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tx = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  DeviceLock lock(tx.dev().mutex());
  *out = reduce_op(__func__, Op::ArgMin, tx, &axis, 1, keepdim).release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_norm(grl_tensor x, double p, const int32_t* axes, int32_t naxes,
                                       uint32_t keepdim, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tx = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  DeviceLock lock(tx.dev().mutex());
  OpArgs args;
  args.p = p;
  *out = reduce_op(__func__, Op::Norm, tx, axes, naxes, keepdim, args).release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_cumsum(grl_tensor x, int32_t axis, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tx = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  DeviceLock lock(tx.dev().mutex());
  *out = cumsum_op(__func__, tx, axis).release();
  GRL_API_END();
}
