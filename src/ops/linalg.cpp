// Linear algebra family: matmul (numpy semantics), linear (x W^T + b, bias fused), bmm and outer,
// and their backward rules, all lowered to one batched, strided GEMM core (tiled, GEMV or split-k).
#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "autograd/autograd.h"
#include "ops/compose.h"
#include "ops/launch.h"

namespace grl {

namespace {

struct GemmPush {
  uint64_t a, b, c, bias;
  uint32_t M, N, K, kc;
  uint32_t sam, sak, sbk, sbn;
  uint32_t ldc, csb, bd1, sa0, sa1, sb0, sb1, splits, flags, pad;
};
static_assert(sizeof(GemmPush) == 104);

struct GemvPush {
  uint64_t x, mat, y, bias;
  uint32_t K, J, R, sxk, sxr, smk, smj, syj, syr, ysb, sbj, sbr, mode;
  uint32_t bd1, sx0, sx1, sm0, sm1;
};
static_assert(sizeof(GemvPush) == 104);

struct ReducePush {
  uint64_t partial, out, bias;
  uint32_t n, mn, N, splits;
};
static_assert(sizeof(ReducePush) == 40);

// Flags of GemmPush, matching shaders/linalg/gemm.glsl.
constexpr uint32_t kAKFast = 1, kBKFast = 2, kPartial = 4, kCVec4 = 8;
constexpr int64_t kMaxGroups = 65535;  // maxComputeWorkGroupCount guaranteed by Vulkan, per dim
constexpr int64_t kU32 = int64_t{1} << 32;
// Below this many 128x128 tiles (about one per SM of a large GPU) the 64x64 kernel fills the
// device better; its 4x4 micro tile costs more shared-memory traffic per FMA but that is not
// the limit at these sizes.
constexpr int64_t kBigTileMin = 120;
// Split-k when the 64x64 tiles are this few (a workgroup per SM would be 132 on an H100, and a
// single k-loop per SM exposes the latency of every k-slice), aiming at kSplitTargetGroups
// workgroups with at least kSplitMinK of k each.
constexpr int64_t kSplitBelowTiles = 128;
constexpr int64_t kSplitMinK = 128;
constexpr int64_t kSplitTargetGroups = 512;
// Products with at most this many output rows (or columns) stream the other operand through the
// GEMV kernel instead of padding a 64-row tile.
constexpr int64_t kGemvRows = 4;

int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// One batched product C[batch..., M, N] = A[batch..., M, K] B[batch..., K, N] (+ bias[N]) read
// through strides: A's element (m, k) of batch index i is at a + sum(i_d * sa[d]) + m*sam + k*sak
// (elements), B's alike; a stride of 0 broadcasts. C is the contiguous output.
struct Problem {
  Tensor* a = nullptr;
  Tensor* b = nullptr;
  Tensor* bias = nullptr;  // contiguous [N] or null
  int64_t M = 0, N = 0, K = 0;
  int64_t sam = 0, sak = 0, sbk = 0, sbn = 0;
  int nb = 0;
  std::array<int64_t, GRL_MAX_DIMS> bs{}, sa{}, sb{};
  int64_t batch() const {
    int64_t n = 1;
    for (int i = 0; i < nb; ++i) n *= bs[static_cast<size_t>(i)];
    return n;
  }
};

// Largest element offset inside one matrix view (rows x cols), 0 for empty ones.
int64_t span(int64_t rows, int64_t srow, int64_t cols, int64_t scol) {
  if (rows <= 0 || cols <= 0) return 0;
  return (rows - 1) * srow + (cols - 1) * scol;
}

// Drops size-1 batch dims, merges dims that are one run of memory for both operands, and folds
// batch dims over which B is broadcast into A's rows when A's rows continue through them (a
// [B, M, K] @ [K, N] product, and linear on [..., in], become one [B*M, K] @ [K, N] with large
// tiles instead of B small ones).
void simplify(Problem& p) {
  int n = 0;
  for (int i = 0; i < p.nb; ++i) {
    const size_t s = static_cast<size_t>(i);
    if (p.bs[s] == 1) continue;
    if (n > 0) {
      const size_t q = static_cast<size_t>(n - 1);
      if (p.sa[q] == p.sa[s] * p.bs[s] && p.sb[q] == p.sb[s] * p.bs[s]) {
        p.bs[q] *= p.bs[s];
        p.sa[q] = p.sa[s];
        p.sb[q] = p.sb[s];
        continue;
      }
    }
    const size_t q = static_cast<size_t>(n++);
    p.bs[q] = p.bs[s];
    p.sa[q] = p.sa[s];
    p.sb[q] = p.sb[s];
  }
  p.nb = n;
  while (p.nb > 0) {
    const size_t d = static_cast<size_t>(p.nb - 1);
    if (p.sb[d] != 0 || !(p.M == 1 || p.sa[d] == p.M * p.sam)) break;
    const int64_t sam = p.M == 1 ? p.sa[d] : p.sam;
    if (span(p.M * p.bs[d], sam, p.K, p.sak) >= kU32) break;
    p.sam = sam;
    p.M *= p.bs[d];
    --p.nb;
  }
}

void check_limits(const char* fn, const Problem& p) {
  auto unsupported = [&](const char* what) {
    fail(GRL_ERROR_UNSUPPORTED, "%s: %s exceeds the 32-bit indexing of the GEMM kernels (M = %lld, N = %lld, "
         "K = %lld); split the product", fn, what, static_cast<long long>(p.M), static_cast<long long>(p.N),
         static_cast<long long>(p.K));
  };
  if (p.M >= kU32 / 2 || p.N >= kU32 / 2 || p.K >= kU32 / 2) unsupported("a dimension");
  if (span(p.M, p.sam, p.K, p.sak) >= kU32) unsupported("one matrix of 'a'");
  if (span(p.K, p.sbk, p.N, p.sbn) >= kU32) unsupported("one matrix of 'b'");
  if (p.M * p.N >= kU32) unsupported("one output matrix");
  for (int i = 0; i < p.nb; ++i)
    if (p.sa[static_cast<size_t>(i)] >= kU32 || p.sb[static_cast<size_t>(i)] >= kU32) unsupported("a batch stride");
}

// One dispatch's share of the batch: element offsets of A and B, the index of its first output
// matrix, and the two innermost batch dims the kernel walks itself (z = i0 * bd1 + i1).
struct Slice {
  int64_t oa = 0, ob = 0, oc = 0;
  uint32_t z = 1, bd1 = 1, sa0 = 0, sa1 = 0, sb0 = 0, sb1 = 0;
};

// Calls f for each dispatch needed to cover the batch: the innermost one or two batch dims go to
// the grid's z (at most zcap), the others are looped over here with one dispatch each.
template <typename F>
void for_each_slice(const Problem& p, int64_t zcap, F&& f) {
  const int nb = p.nb;
  // d1: the innermost dim when it fits whole; d0: the next one out, in chunks that fit.
  int d1 = -1, d0 = -1;
  if (nb >= 1 && p.bs[static_cast<size_t>(nb - 1)] <= zcap) d1 = nb - 1;
  d0 = (d1 >= 0 ? d1 : nb) - 1;
  const int host_nd = std::max(d0, 0);
  const int64_t bd1 = d1 >= 0 ? p.bs[static_cast<size_t>(d1)] : 1;
  const int64_t n0 = d0 >= 0 ? p.bs[static_cast<size_t>(d0)] : 1;
  const int64_t chunk = std::min(n0, zcap / bd1);
  std::array<int64_t, GRL_MAX_DIMS> sc{};  // output strides in matrices
  int64_t acc = 1;
  for (int i = nb - 1; i >= 0; --i) {
    sc[static_cast<size_t>(i)] = acc;
    acc *= p.bs[static_cast<size_t>(i)];
  }
  Slice s;
  if (d1 >= 0) {
    s.bd1 = static_cast<uint32_t>(bd1);
    s.sa1 = static_cast<uint32_t>(p.sa[static_cast<size_t>(d1)]);
    s.sb1 = static_cast<uint32_t>(p.sb[static_cast<size_t>(d1)]);
  }
  if (d0 >= 0) {
    s.sa0 = static_cast<uint32_t>(p.sa[static_cast<size_t>(d0)]);
    s.sb0 = static_cast<uint32_t>(p.sb[static_cast<size_t>(d0)]);
  }
  std::array<int64_t, GRL_MAX_DIMS> idx{};
  for (;;) {
    int64_t oa = 0, ob = 0, oc = 0;
    for (int i = 0; i < host_nd; ++i) {
      const size_t q = static_cast<size_t>(i);
      oa += idx[q] * p.sa[q];
      ob += idx[q] * p.sb[q];
      oc += idx[q] * sc[q];
    }
    for (int64_t c0 = 0; c0 < n0; c0 += chunk) {
      const size_t q = static_cast<size_t>(std::max(d0, 0));
      s.oa = oa + (d0 >= 0 ? c0 * p.sa[q] : 0);
      s.ob = ob + (d0 >= 0 ? c0 * p.sb[q] : 0);
      s.oc = oc + (d0 >= 0 ? c0 * sc[q] : 0);
      s.z = static_cast<uint32_t>(std::min(chunk, n0 - c0) * bd1);
      f(s);
    }
    int i = host_nd - 1;
    for (; i >= 0; --i) {
      const size_t q = static_cast<size_t>(i);
      if (++idx[q] < p.bs[q]) break;
      idx[q] = 0;
    }
    if (i < 0) break;
  }
}

// The layout a tile loader uses for one operand: its 4 elements per thread step along the first
// dim given (k) or the second (m or n), and whether they can be one aligned 4-wide load.
struct Layout {
  bool kfast = true;
  bool vec = false;
};

bool vec_ok(int64_t nfast, int64_t sfast, int64_t nslow, int64_t sslow) {
  return sfast == 1 && nfast % 4 == 0 && (nslow == 1 || sslow % 4 == 0);
}

Layout layout(int64_t K, int64_t sk, int64_t R, int64_t sr) {
  if (vec_ok(K, sk, R, sr)) return {true, true};
  if (vec_ok(R, sr, K, sk)) return {false, true};
  // Scalar loads: step along the smaller stride so that a warp's loads stay close together.
  if (K <= 1) return {false, false};
  if (R <= 1) return {true, false};
  return {sk <= sr, false};
}

bool batch_aligned(const Problem& p, bool of_a) {
  for (int i = 0; i < p.nb; ++i)
    if ((of_a ? p.sa : p.sb)[static_cast<size_t>(i)] % 4 != 0) return false;
  return true;
}

const Kernel& gemm_kernel(const char* fn, bool big, bool vec, grl_dtype dt) {
  static const KernelSet k128("linalg/gemm_128", {GRL_F32, GRL_F16, GRL_BF16});
  static const KernelSet k128s("linalg/gemm_128_strided", {GRL_F32, GRL_F16, GRL_BF16});
  static const KernelSet k64("linalg/gemm_64", {GRL_F32, GRL_F16, GRL_BF16});
  static const KernelSet k64s("linalg/gemm_64_strided", {GRL_F32, GRL_F16, GRL_BF16});
  const KernelSet& ks = big ? (vec ? k128 : k128s) : (vec ? k64 : k64s);
  return ks.get(fn, "a", dt);
}

void run_tiles(const char* fn, const Problem& p, Tensor& out) {
  Device& dev = out.dev();
  const grl_dtype dt = out.dtype;
  const uint64_t es = out.elsize();
  const int64_t batch = p.batch();
  const bool big = cdiv(p.M, 128) * cdiv(p.N, 128) * batch >= kBigTileMin && std::min(p.M, p.N) > 64;
  const int64_t tile = big ? 128 : 64, bk = big ? 8 : 16;

  const Layout la = layout(p.K, p.sak, p.M, p.sam), lb = layout(p.K, p.sbk, p.N, p.sbn);
  const uint64_t align = 4 * es;
  const bool vec = la.vec && lb.vec && p.a->address() % align == 0 && p.b->address() % align == 0 &&
                   batch_aligned(p, true) && batch_aligned(p, false);
  const Kernel& k = gemm_kernel(fn, big, vec, dt);

  // Split-k: a few output tiles with a long k would leave the device idle; each split writes f32
  // partial sums (laid out [batch][split][M][N]) and gemm_reduce adds them and the bias in the
  // output dtype.
  int64_t splits = 1, kc = std::max<int64_t>(p.K, 1);
  const int64_t tiles = cdiv(p.M, tile) * cdiv(p.N, tile) * batch;
  if (!big && tiles < kSplitBelowTiles && p.K >= 2 * kSplitMinK) {
    splits = std::min({cdiv(kSplitTargetGroups, tiles), p.K / kSplitMinK, int64_t{32}});
    kc = cdiv(cdiv(p.K, splits), bk) * bk;
    splits = cdiv(p.K, kc);
    if (batch * splits > kMaxGroups || batch * splits * p.M * p.N >= kU32) splits = 1, kc = std::max<int64_t>(p.K, 1);
  }

  TensorRef ws;
  if (splits > 1) ws = new_tensor(out.device(), GRL_F32, Shape::of(std::array<int64_t, 1>{batch * splits * p.M * p.N}));
  Tensor& dst = splits > 1 ? *ws : out;
  const uint64_t dst_es = splits > 1 ? 4 : es;

  GemmPush pc{};
  pc.K = static_cast<uint32_t>(p.K);
  pc.kc = static_cast<uint32_t>(kc);
  pc.sam = static_cast<uint32_t>(p.sam);
  pc.sak = static_cast<uint32_t>(p.sak);
  pc.sbk = static_cast<uint32_t>(p.sbk);
  pc.sbn = static_cast<uint32_t>(p.sbn);
  pc.ldc = static_cast<uint32_t>(p.N);
  pc.csb = static_cast<uint32_t>(p.M * p.N);
  pc.splits = static_cast<uint32_t>(splits);
  pc.flags = (la.kfast ? kAKFast : 0) | (lb.kfast ? kBKFast : 0) | (splits > 1 ? kPartial : 0) |
             (p.N % 4 == 0 ? kCVec4 : 0);
  Block* bias_block = p.bias && splits == 1 ? p.bias->block() : nullptr;

  // Rows and columns beyond the grid's limit go to further dispatches (offsets keep every
  // 4-wide access aligned: they are multiples of the tile).
  const int64_t mstep = kMaxGroups * tile, nstep = kMaxGroups * tile;
  for_each_slice(p, kMaxGroups / splits, [&](const Slice& s) {
    pc.bd1 = s.bd1;
    pc.sa0 = s.sa0;
    pc.sa1 = s.sa1;
    pc.sb0 = s.sb0;
    pc.sb1 = s.sb1;
    for (int64_t m0 = 0; m0 < p.M; m0 += mstep) {
      for (int64_t n0 = 0; n0 < p.N; n0 += nstep) {
        const int64_t mc = std::min(mstep, p.M - m0), nc = std::min(nstep, p.N - n0);
        pc.a = p.a->address() + static_cast<uint64_t>(s.oa + m0 * p.sam) * es;
        pc.b = p.b->address() + static_cast<uint64_t>(s.ob + n0 * p.sbn) * es;
        pc.c = dst.address() + static_cast<uint64_t>(s.oc * splits * p.M * p.N + m0 * p.N + n0) * dst_es;
        pc.bias = bias_block ? p.bias->address() + static_cast<uint64_t>(n0) * es : 0;
        pc.M = static_cast<uint32_t>(mc);
        pc.N = static_cast<uint32_t>(nc);
        dev.dispatch(k, &pc, sizeof pc, static_cast<uint32_t>(cdiv(nc, tile)), static_cast<uint32_t>(cdiv(mc, tile)),
                     s.z * static_cast<uint32_t>(splits), {p.a->block(), p.b->block(), bias_block}, {dst.block()});
      }
    }
  });

  if (splits > 1) {
    static const KernelSet kr("linalg/gemm_reduce", {GRL_F32, GRL_F16, GRL_BF16});
    ReducePush rp{};
    rp.partial = ws->address();
    rp.out = out.address();
    rp.bias = p.bias ? p.bias->address() : 0;
    rp.n = static_cast<uint32_t>(batch * p.M * p.N);
    rp.mn = static_cast<uint32_t>(p.M * p.N);
    rp.N = static_cast<uint32_t>(p.N);
    rp.splits = static_cast<uint32_t>(splits);
    dev.dispatch_1d(kr.get(fn, "a", dt), &rp, sizeof rp, groups_for(rp.n),
                    {ws->block(), p.bias ? p.bias->block() : nullptr}, {out.block()});
  }
}

// Skinny products, at most kGemvRows output rows (or columns): each output row r of R is
// y[r][j] = sum_k x[r][k] Mat[k][j], with x = A's rows and Mat = B, or (few columns) x = B's
// columns and Mat = A^T, so that the large operand is streamed once.
void run_gemv(const char* fn, const Problem& p, Tensor& out) {
  static const KernelSet kv("linalg/gemv", {GRL_F32, GRL_F16, GRL_BF16});
  const Kernel& k = kv.get(fn, "a", out.dtype);
  Device& dev = out.dev();
  const uint64_t es = out.elsize();
  const bool rows = p.M <= p.N;  // x holds A's rows (else B's columns)
  Tensor& x = rows ? *p.a : *p.b;
  Tensor& mat = rows ? *p.b : *p.a;
  const int64_t R = rows ? p.M : p.N, J = rows ? p.N : p.M;
  const int64_t sxk = rows ? p.sak : p.sbk, sxr = rows ? p.sam : p.sbn;
  const int64_t smk = rows ? p.sbk : p.sak, smj = rows ? p.sbn : p.sam;
  GemvPush pc{};
  pc.K = static_cast<uint32_t>(p.K);
  pc.J = static_cast<uint32_t>(J);
  pc.R = static_cast<uint32_t>(R);
  pc.sxk = static_cast<uint32_t>(sxk);
  pc.sxr = static_cast<uint32_t>(sxr);
  pc.smk = static_cast<uint32_t>(smk);
  pc.smj = static_cast<uint32_t>(smj);
  pc.syj = static_cast<uint32_t>(rows ? 1 : p.N);
  pc.syr = static_cast<uint32_t>(rows ? p.N : 1);
  pc.ysb = static_cast<uint32_t>(p.M * p.N);
  pc.sbj = rows ? 1 : 0;
  pc.sbr = rows ? 0 : 1;
  // Modes of shaders/linalg/gemv.comp: a warp per output walking k (Mat contiguous along k), or
  // lanes along j and the workgroup splitting k; 4-wide loads where strides, sizes and alignment
  // allow.
  const bool kmode = J == 1 || (p.K > 1 && smk <= smj);
  const uint64_t align = 4 * es;
  const bool x_aligned = x.address() % align == 0 && batch_aligned(p, rows);
  const bool m_aligned = mat.address() % align == 0 && batch_aligned(p, !rows);
  if (kmode)
    pc.mode = vec_ok(p.K, smk, J, smj) && vec_ok(p.K, sxk, R, sxr) && x_aligned && m_aligned ? 1 : 0;
  else
    pc.mode = vec_ok(J, smj, p.K, smk) && m_aligned ? 3 : 2;
  const int64_t groups = cdiv(J, kmode ? 8 : 16);
  const int64_t gx = std::min(groups, kMaxGroups), gy = cdiv(groups, gx);
  if (gy > kMaxGroups)
    fail(GRL_ERROR_UNSUPPORTED, "%s: %lld outputs per row exceed the device's grid", fn, static_cast<long long>(J));
  for_each_slice(p, kMaxGroups, [&](const Slice& s) {
    pc.x = x.address() + static_cast<uint64_t>(rows ? s.oa : s.ob) * es;
    pc.mat = mat.address() + static_cast<uint64_t>(rows ? s.ob : s.oa) * es;
    pc.y = out.address() + static_cast<uint64_t>(s.oc * p.M * p.N) * es;
    pc.bias = p.bias ? p.bias->address() : 0;
    pc.bd1 = s.bd1;
    pc.sx0 = rows ? s.sa0 : s.sb0;
    pc.sx1 = rows ? s.sa1 : s.sb1;
    pc.sm0 = rows ? s.sb0 : s.sa0;
    pc.sm1 = rows ? s.sb1 : s.sa1;
    dev.dispatch(k, &pc, sizeof pc, static_cast<uint32_t>(gx), static_cast<uint32_t>(gy), s.z,
                 {x.block(), mat.block(), p.bias ? p.bias->block() : nullptr}, {out.block()});
  });
}

// out (contiguous, [batch..., M, N] in some arrangement of those elements) = the product.
void run(const char* fn, Problem p, Tensor& out) {
  if (out.numel() == 0) return;
  simplify(p);
  check_limits(fn, p);
  if (std::min(p.M, p.N) <= kGemvRows && p.K > 0)
    run_gemv(fn, p, out);
  else
    run_tiles(fn, p, out);
}

// Common argument checks of two-operand products.
void check_pair(const char* fn, const char* na, Tensor& a, const char* nb, Tensor& b) {
  same_device(fn, na, a, nb, b);
  float_dtype(fn, na, a);
  same_dtype(fn, na, a, nb, b);
}

// Batch dims of an operand aligned to the output's batch dims: its stride, or 0 where it has no
// such dim or broadcasts a size-1 dim.
void align_batch(Problem& p, const Shape& ob, const Tensor& t, int tb, bool of_a) {
  for (int i = 0; i < ob.ndim; ++i) {
    const int j = i - (ob.ndim - tb);
    const int64_t s = (j < 0 || t.shape[j] == 1) ? 0 : t.stride[static_cast<size_t>(j)];
    (of_a ? p.sa : p.sb)[static_cast<size_t>(i)] = s;
    p.bs[static_cast<size_t>(i)] = ob[i];
  }
  p.nb = ob.ndim;
}

// A product as a forward op sets it up: the GEMM problem over the output's batch dims (p.bs), the
// output's shape, and whether that shape has an M and an N dim (a 1-d matmul operand drops one).
// The backward rules build it again from the saved operands, so that the geometry is written once.
struct Product {
  Problem p;
  Shape out;
  bool has_m = true, has_n = true;
};

TensorRef compute(const char* fn, Product& pr) {
  TensorRef out = new_tensor(pr.p.a->device(), pr.p.a->dtype, pr.out);
  run(fn, pr.p, *out);
  return out;
}

Product matmul_product(const char* fn, Tensor& a, Tensor& b) {
  check_pair(fn, "a", a, "b", b);
  if (a.shape.ndim == 0 || b.shape.ndim == 0)
    fail(GRL_ERROR_SHAPE, "%s: operands need at least 1 dim; 'a' has shape %s and 'b' has shape %s (use grl_mul "
         "to scale by a scalar)", fn, a.shape.str().c_str(), b.shape.str().c_str());
  const int na = a.shape.ndim, nbd = b.shape.ndim;
  Product pr;
  Problem& p = pr.p;
  p.a = &a;
  p.b = &b;
  if (na == 1) {
    p.M = 1;
    p.K = a.shape[0];
    p.sak = a.stride[0];
  } else {
    p.M = a.shape[na - 2];
    p.K = a.shape[na - 1];
    p.sam = a.stride[static_cast<size_t>(na - 2)];
    p.sak = a.stride[static_cast<size_t>(na - 1)];
  }
  int64_t kb;
  if (nbd == 1) {
    kb = b.shape[0];
    p.N = 1;
    p.sbk = b.stride[0];
  } else {
    kb = b.shape[nbd - 2];
    p.N = b.shape[nbd - 1];
    p.sbk = b.stride[static_cast<size_t>(nbd - 2)];
    p.sbn = b.stride[static_cast<size_t>(nbd - 1)];
  }
  if (kb != p.K)
    fail(GRL_ERROR_SHAPE, "%s: inner dims differ: 'a' has shape %s (k = %lld) but 'b' has shape %s (k = %lld)", fn,
         a.shape.str().c_str(), static_cast<long long>(p.K), b.shape.str().c_str(), static_cast<long long>(kb));
  // Batch dims broadcast numpy-style.
  const int ba = std::max(na - 2, 0), bb = std::max(nbd - 2, 0);
  Shape ob;
  ob.ndim = std::max(ba, bb);
  for (int i = 0; i < ob.ndim; ++i) {
    const int ia = i - (ob.ndim - ba), ib = i - (ob.ndim - bb);
    const int64_t da = ia >= 0 ? a.shape[ia] : 1, db = ib >= 0 ? b.shape[ib] : 1;
    if (da != db && da != 1 && db != 1)
      fail(GRL_ERROR_SHAPE, "%s: batch dims of 'a' (shape %s) and 'b' (shape %s) cannot be broadcast: %lld vs %lld",
           fn, a.shape.str().c_str(), b.shape.str().c_str(), static_cast<long long>(da), static_cast<long long>(db));
    ob[i] = da == 1 ? db : da;
  }
  align_batch(p, ob, a, ba, true);
  align_batch(p, ob, b, bb, false);
  pr.out = ob;
  pr.has_m = na > 1;
  pr.has_n = nbd > 1;
  if (pr.has_m) pr.out[pr.out.ndim++] = p.M;
  if (pr.has_n) pr.out[pr.out.ndim++] = p.N;
  return pr;
}

Product bmm_product(const char* fn, Tensor& a, Tensor& b) {
  check_pair(fn, "a", a, "b", b);
  if (a.shape.ndim != 3 || b.shape.ndim != 3 || a.shape[0] != b.shape[0] || a.shape[2] != b.shape[1])
    fail(GRL_ERROR_SHAPE, "%s: expected 'a' [B, M, K] and 'b' [B, K, N] with the same B and K, got %s and %s", fn,
         a.shape.str().c_str(), b.shape.str().c_str());
  Product pr;
  Problem& p = pr.p;
  p.a = &a;
  p.b = &b;
  p.M = a.shape[1];
  p.K = a.shape[2];
  p.N = b.shape[2];
  p.sam = a.stride[1];
  p.sak = a.stride[2];
  p.sbk = b.stride[1];
  p.sbn = b.stride[2];
  p.nb = 1;
  p.bs[0] = a.shape[0];
  p.sa[0] = a.stride[0];
  p.sb[0] = b.stride[0];
  const int64_t os[3] = {a.shape[0], p.M, p.N};
  pr.out = Shape::of(os);
  return pr;
}

Product outer_product(const char* fn, Tensor& a, Tensor& b) {
  check_pair(fn, "a", a, "b", b);
  if (a.shape.ndim != 1 || b.shape.ndim != 1)
    fail(GRL_ERROR_SHAPE, "%s: expected two 1-d tensors, got 'a' of shape %s and 'b' of shape %s", fn,
         a.shape.str().c_str(), b.shape.str().c_str());
  Product pr;
  Problem& p = pr.p;
  p.a = &a;
  p.b = &b;
  p.M = a.shape[0];
  p.N = b.shape[0];
  p.K = 1;
  p.sam = a.stride[0];
  p.sak = 1;
  p.sbk = 1;
  p.sbn = b.stride[0];
  const int64_t os[2] = {p.M, p.N};
  pr.out = Shape::of(os);
  return pr;
}

// Checks linear's arguments and sets up x W^T (+ bias) with W^T read in place: B(k, n) = W[n][k].
Product linear_product(const char* fn, Tensor& x, Tensor& w, Tensor* bias) {
  check_pair(fn, "x", x, "weight", w);
  if (bias) {
    same_device(fn, "x", x, "bias", *bias);
    same_dtype(fn, "x", x, "bias", *bias);
  }
  if (w.shape.ndim != 2)
    fail(GRL_ERROR_SHAPE, "%s: 'weight' has shape %s; expected 2 dims [out_features, in_features]", fn,
         w.shape.str().c_str());
  const int nx = x.shape.ndim;
  if (nx == 0 || x.shape[nx - 1] != w.shape[1])
    fail(GRL_ERROR_SHAPE, "%s: 'x' has shape %s but 'weight' has shape %s; expected x of shape [..., %lld]", fn,
         x.shape.str().c_str(), w.shape.str().c_str(), static_cast<long long>(w.shape[1]));
  if (bias && (bias->shape.ndim != 1 || bias->shape[0] != w.shape[0]))
    fail(GRL_ERROR_SHAPE, "%s: 'bias' has shape %s; expected [%lld] (weight's out_features)", fn,
         bias->shape.str().c_str(), static_cast<long long>(w.shape[0]));
  Product pr;
  Problem& p = pr.p;
  p.a = &x;
  p.b = &w;
  p.K = w.shape[1];
  p.N = w.shape[0];
  p.sbk = w.stride[1];
  p.sbn = w.stride[0];
  if (nx == 1) {
    p.M = 1;
    p.sak = x.stride[0];
  } else {
    p.M = x.shape[nx - 2];
    p.sam = x.stride[static_cast<size_t>(nx - 2)];
    p.sak = x.stride[static_cast<size_t>(nx - 1)];
    p.nb = nx - 2;
    for (int i = 0; i < p.nb; ++i) {
      const size_t s = static_cast<size_t>(i);
      p.bs[s] = x.shape[i];
      p.sa[s] = x.stride[s];
      p.sb[s] = 0;
    }
  }
  pr.out = x.shape;
  pr.out[nx - 1] = p.N;
  return pr;
}

// ---- backward -----------------------------------------------------------------------------------
// Every gradient is one GEMM through the core: transposed operands are read in place by swapping
// their strides, never copied. Where an operand was broadcast over batch dims, its gradient sums
// over them; those dims are folded into the GEMM's reduction dim when both factors walk them as a
// continuation of k (a [B, M, K] @ [K, N] product gives dB as one [K, B*M] @ [B*M, N] GEMM), and
// the engine sums over the others.

// Output batch dims (of p.bs) over which an operand with `nbatch` leading batch dims was broadcast.
std::array<bool, GRL_MAX_DIMS> broadcast_dims(const Problem& p, const Tensor& t, int nbatch) {
  std::array<bool, GRL_MAX_DIMS> r{};
  for (int i = 0; i < p.nb; ++i) {
    const int j = i - (p.nb - nbatch);
    r[static_cast<size_t>(i)] = p.bs[static_cast<size_t>(i)] != 1 && (j < 0 || t.shape[j] == 1);
  }
  return r;
}

// Folds the batch dims marked in `into_k` into q's reduction dim where both operands continue
// k's run of memory through them: address(i, k) = i * s + k * sk with s == K * sk. A folded dim
// keeps size 1 in q.bs (and in the GEMM's output).
void fold_into_k(Problem& q, const std::array<bool, GRL_MAX_DIMS>& into_k) {
  for (int i = q.nb - 1; i >= 0; --i) {
    const size_t d = static_cast<size_t>(i);
    if (!into_k[d] || q.bs[d] == 1) continue;
    int64_t sak = q.sak, sbk = q.sbk;
    if (q.K == 1) {
      sak = q.sa[d];
      sbk = q.sb[d];
    } else if (q.K != 0 && (q.sa[d] != q.K * q.sak || q.sb[d] != q.K * q.sbk)) {
      continue;
    }
    const int64_t K = q.K * q.bs[d];
    if (K >= kU32 / 2 || span(q.M, q.sam, K, sak) >= kU32 || span(K, sbk, q.N, q.sbn) >= kU32) continue;
    q.K = K;
    q.sak = sak;
    q.sbk = sbk;
    q.bs[d] = 1;
    q.sa[d] = 0;
    q.sb[d] = 0;
  }
}

// Runs q into a new gradient for `target`: of target's shape when the GEMM covers exactly its
// elements, else [q.bs..., (M), (N)] (M or N left out where the target has no such dim) for the
// engine to sum over the batch dims that were not folded.
TensorRef grad_product(const char* fn, Problem& q, const Tensor& target, bool keep_m, bool keep_n) {
  Shape full;
  full.ndim = q.nb;
  for (int i = 0; i < q.nb; ++i) full[i] = q.bs[static_cast<size_t>(i)];
  if (keep_m) full[full.ndim++] = q.M;
  if (keep_n) full[full.ndim++] = q.N;
  const Shape& shape = q.batch() * q.M * q.N == target.numel() ? target.shape : full;
  TensorRef out = new_tensor(target.device(), target.dtype, shape);
  run(fn, q, *out);
  return out;
}

// dA = g B^T and dB = A^T g of a product (pr built again from the saved operands).
// The engine hands g over in the output's dtype (it casts every gradient to its input's dtype).
std::vector<TensorRef> product_backward(const char* fn, Product& pr, Tensor& g, bool need_a, bool need_b) {
  Problem& p = pr.p;
  Tensor& a = *p.a;
  Tensor& b = *p.b;
  // g's strides along the output's batch dims, M and N (0 where it has no such dim).
  std::array<int64_t, GRL_MAX_DIMS> sg{};
  for (int i = 0; i < p.nb; ++i) sg[static_cast<size_t>(i)] = g.shape[i] == 1 ? 0 : g.stride[static_cast<size_t>(i)];
  const size_t im = static_cast<size_t>(p.nb), in = im + (pr.has_m ? 1 : 0);
  const int64_t sgm = pr.has_m ? g.stride[im] : 0, sgn = pr.has_n ? g.stride[in] : 0;
  std::vector<TensorRef> r(2);
  if (need_a) {  // [M, K] = g [M, N] x B^T [N, K]
    Problem q;
    q.a = &g;
    q.b = &b;
    q.M = p.M;
    q.N = p.K;
    q.K = p.N;
    q.sam = sgm;
    q.sak = sgn;
    q.sbk = p.sbn;
    q.sbn = p.sbk;
    q.nb = p.nb;
    q.bs = p.bs;
    q.sa = sg;
    q.sb = p.sb;
    fold_into_k(q, broadcast_dims(p, a, std::max(a.shape.ndim - 2, 0)));
    r[0] = grad_product(fn, q, a, a.shape.ndim > 1, true);
  }
  if (need_b) {  // [K, N] = A^T [K, M] x g [M, N]
    Problem q;
    q.a = &a;
    q.b = &g;
    q.M = p.K;
    q.N = p.N;
    q.K = p.M;
    q.sam = p.sak;
    q.sak = p.sam;
    q.sbk = sgm;
    q.sbn = sgn;
    q.nb = p.nb;
    q.bs = p.bs;
    q.sa = p.sa;
    q.sb = sg;
    fold_into_k(q, broadcast_dims(p, b, std::max(b.shape.ndim - 2, 0)));
    r[1] = grad_product(fn, q, b, true, b.shape.ndim > 1);
  }
  return r;
}

// Element stride between the rows of t seen as [rows, last dim] with every leading dim flattened,
// or -1 when those dims are not one run of memory.
int64_t row_stride(const Tensor& t) {
  const int nd = t.shape.ndim;
  if (nd < 2) return 0;
  int64_t s = t.stride[static_cast<size_t>(nd - 2)], n = t.shape[nd - 2];
  for (int i = nd - 3; i >= 0; --i) {
    if (t.shape[i] == 1) continue;
    if (n == 1) {
      s = t.stride[static_cast<size_t>(i)];
      n = t.shape[i];
    } else if (t.stride[static_cast<size_t>(i)] == s * n) {
      n *= t.shape[i];
    } else {
      return -1;
    }
  }
  return s;
}

// dx = g W, dW = g^T x over all rows of x at once (one GEMM with k = rows), db = g summed over
// its leading dims. x is saved only when dW is needed, W only when dx is.
std::vector<TensorRef> linear_backward(const char* fn, Tensor& g, Tensor* x, Tensor* w, int64_t in_features,
                                       bool need_x, bool need_w, bool need_b) {
  const int nd = g.shape.ndim;
  const int64_t out_features = g.shape[nd - 1];
  std::vector<TensorRef> r(3);
  if (need_x) {  // [rows, in] = g [rows, out] x W [out, in]: the forward's batch handling
    Problem q;
    q.a = &g;
    q.b = w;
    q.K = out_features;
    q.N = in_features;
    q.sak = g.stride[static_cast<size_t>(nd - 1)];
    q.sbk = w->stride[0];
    q.sbn = w->stride[1];
    if (nd == 1) {
      q.M = 1;
    } else {
      q.M = g.shape[nd - 2];
      q.sam = g.stride[static_cast<size_t>(nd - 2)];
      q.nb = nd - 2;
      for (int i = 0; i < q.nb; ++i) {
        const size_t s = static_cast<size_t>(i);
        q.bs[s] = g.shape[i];
        q.sa[s] = g.stride[s];
      }
    }
    Shape xs = g.shape;
    xs[nd - 1] = in_features;
    TensorRef dx = new_tensor(g.device(), g.dtype, xs);
    run(fn, q, *dx);
    r[0] = dx;
  }
  if (need_w) {  // [out, in] = g^T [out, rows] x x [rows, in]
    TensorRef gc = TensorRef::retain(&g), xc = TensorRef::retain(x);
    int64_t rg = row_stride(g), rx = row_stride(*x);
    if (rg < 0) {
      gc = contiguous(g);
      rg = out_features;
    }
    if (rx < 0) {
      xc = contiguous(*x);
      rx = in_features;
    }
    Problem q;
    q.a = gc.get();
    q.b = xc.get();
    q.M = out_features;
    q.N = in_features;
    q.K = 1;
    for (int i = 0; i < nd - 1; ++i) q.K *= g.shape[i];
    q.sam = gc->stride[static_cast<size_t>(nd - 1)];
    q.sak = rg;
    q.sbk = rx;
    q.sbn = xc->stride[static_cast<size_t>(nd - 1)];
    const int64_t ws[2] = {out_features, in_features};
    TensorRef dw = new_tensor(g.device(), g.dtype, Shape::of(ws));
    run(fn, q, *dw);
    r[1] = dw;
  }
  if (need_b) {
    if (nd == 1) {
      r[2] = TensorRef::retain(&g);
    } else {
      std::array<int32_t, GRL_MAX_DIMS> axes{};
      for (int i = 0; i < nd - 1; ++i) axes[static_cast<size_t>(i)] = i;
      r[2] = op::call(grl_sum, &g, axes.data(), nd - 1, 0u);
    }
  }
  return r;
}

// Records matmul, bmm or outer: `build` sets the product up again from the saved operands.
template <typename Build>
void record_product(const char* name, const char* fn, Build build, Tensor& a, Tensor& b, Tensor& out) {
  if (!autograd::needs_grad({&a, &b})) return;
  const bool need_a = autograd::requires_grad(&a), need_b = autograd::requires_grad(&b);
  TensorRef sa = autograd::saved(a), sb = autograd::saved(b);
  autograd::record(name, out, {&a, &b}, [=](Tensor& g) {
    Product pr = build(fn, *sa, *sb);
    return product_backward(fn, pr, g, need_a, need_b);
  });
}

void record_linear(Tensor& x, Tensor& w, Tensor* bias, Tensor& out) {
  if (!autograd::needs_grad({&x, &w, bias})) return;
  const bool need_x = autograd::requires_grad(&x), need_w = autograd::requires_grad(&w);
  const bool need_b = autograd::requires_grad(bias);
  // dx needs W and dW needs x: keep only what the gradients read.
  TensorRef sx = need_w ? autograd::saved(x) : TensorRef();
  TensorRef sw = need_x ? autograd::saved(w) : TensorRef();
  const int64_t in_features = w.shape[1];
  autograd::record("linear", out, {&x, &w, bias}, [=](Tensor& g) {
    return linear_backward("grl_linear (backward)", g, sx.get(), sw.get(), in_features, need_x, need_w, need_b);
  });
}

}  // namespace

GRL_BACKWARD_RULE(matmul);
GRL_BACKWARD_RULE(linear);
GRL_BACKWARD_RULE(bmm);
GRL_BACKWARD_RULE(outer);

}  // namespace grl

using namespace grl;

extern "C" GRL_API grl_status grl_matmul(grl_tensor a, grl_tensor b, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& ta = arg_tensor(__func__, "a", a);
  Tensor& tb = arg_tensor(__func__, "b", b);
  GRL_CHECK_OUT(out);
  DeviceLock lock(ta.dev().mutex());
  Product pr = matmul_product(__func__, ta, tb);
  TensorRef r = compute(__func__, pr);
  record_product("matmul", "grl_matmul (backward)", matmul_product, ta, tb, *r);
  *out = r.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_linear(grl_tensor x, grl_tensor weight, grl_tensor bias, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tx = arg_tensor(__func__, "x", x);
  Tensor& tw = arg_tensor(__func__, "weight", weight);
  Tensor* tb = opt_tensor(__func__, "bias", bias);
  GRL_CHECK_OUT(out);
  DeviceLock lock(tx.dev().mutex());
  Product pr = linear_product(__func__, tx, tw, tb);
  TensorRef bc;
  if (tb) {
    bc = contiguous(*tb);
    pr.p.bias = bc.get();
  }
  TensorRef r = compute(__func__, pr);
  record_linear(tx, tw, tb, *r);
  *out = r.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_bmm(grl_tensor a, grl_tensor b, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& ta = arg_tensor(__func__, "a", a);
  Tensor& tb = arg_tensor(__func__, "b", b);
  GRL_CHECK_OUT(out);
  DeviceLock lock(ta.dev().mutex());
  Product pr = bmm_product(__func__, ta, tb);
  TensorRef r = compute(__func__, pr);
  record_product("bmm", "grl_bmm (backward)", bmm_product, ta, tb, *r);
  *out = r.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_outer(grl_tensor a, grl_tensor b, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& ta = arg_tensor(__func__, "a", a);
  Tensor& tb = arg_tensor(__func__, "b", b);
  GRL_CHECK_OUT(out);
  DeviceLock lock(ta.dev().mutex());
  Product pr = outer_product(__func__, ta, tb);
  TensorRef r = compute(__func__, pr);
  record_product("outer", "grl_outer (backward)", outer_product, ta, tb, *r);
  *out = r.release();
  GRL_API_END();
}
