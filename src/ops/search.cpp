// Vector search family: pairwise distances, top-k along the last axis, and the flat index (tiled
// base, fused distance + per-chunk top-k kernel, candidate merge). Kernels in shaders/search/.
#include <algorithm>
#include <cmath>
#include <unordered_set>
#include <vector>

#include "ops/launch.h"

namespace grl {

namespace {

struct DistPush {
  uint64_t q, b, bn, qa, okey, opos;
  uint32_t Q, N, D, metric, mode, k, chunk_rows, nchunk, chunk0, pos0, ldo, flags;
};
static_assert(sizeof(DistPush) == 96);

struct TopkPush {
  uint64_t x, pos, vals, idx, aux;
  uint32_t n, k, rows, flags, ldx, ldo, pos_base, post, seg_len, nseg, aux_ld, pad;
};
static_assert(sizeof(TopkPush) == 88);

struct NormsPush {
  uint64_t x, out;
  uint32_t rows, D, mode, pad;
};
static_assert(sizeof(NormsPush) == 32);

struct MapPush {
  uint64_t pos, labels, ids;
  uint32_t n, rows;
  uint64_t p0;
};
static_assert(sizeof(MapPush) == 40);

// Must match shaders/search/dist.glsl and topk.comp.
constexpr int64_t kTile = 128;        // queries and base rows per step of the distance kernel
constexpr int64_t kFusedMaxK = 16;    // KMAX of dist.glsl's running lists
constexpr int64_t kMaxChunk = 65408;  // chunk-relative positions in dist.glsl are 16 bits (0xffff: none)
constexpr int64_t kTopkMaxK = 2048;   // KMAX of topk.comp
constexpr int64_t kSegmentGroups = 512;  // grl_topk splits rows while fewer workgroups would run
constexpr uint32_t kModeDistance = 0, kModeKey = 1;
constexpr uint32_t kTopkLargest = 1, kTopkPayload = 2, kTopkU32 = 4, kTopkReread = 8;
constexpr int64_t kMaxGroups = 65535;
// Scratch (distance blocks, candidates) is sized to stay under this many bytes per buffer.
constexpr int64_t kScratchBytes = int64_t{256} << 20;
constexpr int64_t kU32 = int64_t{1} << 32;

int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

void check_metric(const char* fn, grl_metric m) {
  if (static_cast<uint32_t>(m) > GRL_METRIC_COSINE)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: argument 'metric' is %d; expected GRL_METRIC_L2SQR, GRL_METRIC_L2, "
         "GRL_METRIC_INNER_PRODUCT or GRL_METRIC_COSINE (0..3)", fn, static_cast<int>(m));
}

bool uses_norms(grl_metric m) { return m != GRL_METRIC_INNER_PRODUCT; }
uint32_t norm_mode(grl_metric m) { return m == GRL_METRIC_COSINE ? 1u : 0u; }

// Norm terms of `rows` contiguous rows of D elements at x's element offset `row0`, into out
// (f32) at element offset `out0`.
void row_norms(Tensor& x, int64_t row0, int64_t rows, int64_t D, Tensor& out, int64_t out0, uint32_t mode) {
  if (rows == 0) return;
  static const KernelSet ks("search/norms", {GRL_F32, GRL_F16, GRL_BF16});
  NormsPush p{};
  p.x = x.address() + static_cast<uint64_t>(row0 * D) * x.elsize();
  p.out = out.address() + static_cast<uint64_t>(out0) * 4;
  p.rows = static_cast<uint32_t>(rows);
  p.D = static_cast<uint32_t>(D);
  p.mode = mode;
  x.dev().dispatch_1d(ks.get("norms", "x", x.dtype), &p, sizeof p, groups_for(rows), {x.block()}, {out.block()});
}

const Kernel& dist_kernel(const char* fn, grl_dtype dt, bool vec) {
  static const KernelSet kv("search/dist_vec", {GRL_F32, GRL_F16, GRL_BF16});
  static const KernelSet ks("search/dist", {GRL_F32, GRL_F16, GRL_BF16});
  return (vec ? kv : ks).get(fn, "queries", dt);
}

// Whether every row of both operands starts on a 4-element boundary.
bool rows_vec4(int64_t D, std::initializer_list<uint64_t> addrs, size_t es) {
  if (D % 4 != 0) return false;
  for (uint64_t a : addrs)
    if (a % (4 * es) != 0) return false;
  return true;
}

// Records dense distances or keys: out[i][j] (f32, row stride ldo) for queries q [Q, D] and
// `N` base rows starting at row `b0` of b; base terms bn (f32 per base row, same offset), query
// terms qa. Column blocks beyond the grid limit go to separate dispatches.
void dense_launch(const char* fn, Tensor& q, Tensor& b, int64_t b0, int64_t N, Tensor* bn, Tensor* qa, Tensor& out,
                  uint64_t out_off, int64_t ldo, int64_t D, grl_metric metric, uint32_t mode) {
  const int64_t Q = q.shape[0];
  if (Q == 0 || N == 0) return;
  if (cdiv(Q, kTile) > kMaxGroups)
    fail(GRL_ERROR_UNSUPPORTED, "%s: %lld queries exceed the kernel grid (at most %lld)", fn, static_cast<long long>(Q),
         static_cast<long long>(kMaxGroups * kTile));
  const size_t es = q.elsize();
  const uint64_t base = b.address() + static_cast<uint64_t>(b0 * D) * es;
  const bool vec = rows_vec4(D, {q.address(), base}, es);
  const Kernel& k = dist_kernel(fn, q.dtype, vec);
  const int64_t span = kMaxGroups * kTile;
  for (int64_t c0 = 0; c0 < N; c0 += span) {
    const int64_t n = std::min(span, N - c0);
    DistPush p{};
    p.q = q.address();
    p.b = base + static_cast<uint64_t>(c0 * D) * es;
    p.bn = bn ? bn->address() + static_cast<uint64_t>(b0 + c0) * 4 : 0;
    p.qa = qa ? qa->address() : 0;
    p.okey = out.address() + out_off + static_cast<uint64_t>(c0) * 4;
    p.Q = static_cast<uint32_t>(Q);
    p.N = static_cast<uint32_t>(n);
    p.D = static_cast<uint32_t>(D);
    p.metric = static_cast<uint32_t>(metric);
    p.mode = mode;
    p.ldo = static_cast<uint32_t>(ldo);
    p.flags = (ldo % 4 == 0 && (p.okey % 16) == 0) ? 1u : 0u;
    q.dev().dispatch(k, &p, sizeof p, static_cast<uint32_t>(cdiv(n, kTile)), static_cast<uint32_t>(cdiv(Q, kTile)), 1,
                     {q.block(), b.block(), bn ? bn->block() : nullptr, qa ? qa->block() : nullptr}, {out.block()});
  }
}

// One topk launch over `rows` rows of n values (row stride ldx) at x's byte offset x_off.
struct TopkArgs {
  Tensor* x = nullptr;
  uint64_t x_off = 0;
  Tensor* pos = nullptr;  // payload positions laid out as x (u32), or null
  Tensor* vals = nullptr;
  uint64_t vals_off = 0;
  Tensor* idx = nullptr;
  uint64_t idx_off = 0;
  Tensor* aux = nullptr;
  uint64_t aux_off = 0;
  int64_t rows = 0, n = 0, k = 0, ldx = 0, ldo = 0;
  uint32_t flags = 0, post = 0, pos_base = 0;
  int64_t seg_len = 0, nseg = 1;  // rows are segments of rows / nseg rows of x (see topk.comp)
  int64_t aux_ld = 0;
};

void topk_launch(const char* fn, const TopkArgs& a) {
  if (a.rows == 0 || a.k == 0) return;
  static const KernelSet ks("search/topk", {GRL_F32, GRL_F16, GRL_BF16});
  const Kernel& k = ks.get(fn, "x", a.x->dtype);
  TopkPush p{};
  p.x = a.x->address() + a.x_off;
  p.pos = a.pos ? a.pos->address() + a.x_off : 0;
  p.vals = a.vals->address() + a.vals_off;
  p.idx = a.idx->address() + a.idx_off;
  p.aux = a.aux ? a.aux->address() + a.aux_off : 0;
  p.n = static_cast<uint32_t>(a.n);
  p.k = static_cast<uint32_t>(a.k);
  p.rows = static_cast<uint32_t>(a.rows);
  p.flags = a.flags | (a.pos ? kTopkPayload : 0u);
  p.ldx = static_cast<uint32_t>(a.ldx);
  p.ldo = static_cast<uint32_t>(a.ldo);
  p.pos_base = a.pos_base;
  p.post = a.post;
  p.seg_len = static_cast<uint32_t>(a.seg_len);
  p.nseg = static_cast<uint32_t>(a.nseg);
  p.aux_ld = static_cast<uint32_t>(a.aux_ld);
  Device& dev = a.x->dev();
  dev.dispatch_1d(k, &p, sizeof p, static_cast<uint64_t>(a.rows),
                  {a.x->block(), a.pos ? a.pos->block() : nullptr, a.aux ? a.aux->block() : nullptr},
                  {a.vals->block(), a.idx->block()});
}

Tensor& float_2d(const char* fn, const char* name, grl_tensor t) {
  Tensor& x = arg_tensor(fn, name, t);
  if (x.shape.ndim != 2)
    fail(GRL_ERROR_SHAPE, "%s: '%s' must be 2-d [rows, dim]; got shape %s", fn, name, x.shape.str().c_str());
  if (x.dtype != GRL_F32 && x.dtype != GRL_F16 && x.dtype != GRL_BF16)
    fail(GRL_ERROR_DTYPE, "%s: '%s' has dtype %s; this op takes f32, f16, bf16", fn, name, dtype_name(x.dtype));
  return x;
}

}  // namespace

}  // namespace grl

using namespace grl;

// ---------------------------------------------------------------------------------------------
// Flat index
// ---------------------------------------------------------------------------------------------

namespace {

struct Tile {
  TensorRef vec;    // f32 [cap, dim]
  TensorRef terms;  // f32 [cap]: |b|^2 or 1 / max(|b|, eps)
  TensorRef ids;    // i64 [cap]
  int64_t rows = 0;
  int64_t cap = 0;
};

}  // namespace

struct grl_index_flat_s {
  std::atomic<int64_t> refs{1};
  grl_device_s* device = nullptr;  // holds a reference
  int64_t dim = 0;
  grl_metric metric = GRL_METRIC_L2SQR;
  int64_t tile_rows = 0;
  int64_t chunk_rows = 0;  // 0: automatic
  std::vector<Tile> tiles;
  std::vector<int64_t> ids;  // host mirror, by position
  int64_t next_id = 0;
  bool positional = true;    // every id equals its position: labels need no mapping
  ~grl_index_flat_s() {
    tiles.clear();
    grl_device_release(device);
  }
  Device& dev() const { return *device->impl; }
  int64_t ntotal() const { return static_cast<int64_t>(ids.size()); }
};

namespace {

grl_index_flat_s& arg_index(const char* fn, grl_index_flat index) {
  if (!index) fail(GRL_ERROR_NULL_ARGUMENT, "%s: argument 'index' is NULL (expected a grl_index_flat)", fn);
  return *index;
}

// A tile's buffers grow geometrically up to tile_rows (a small index does not hold a whole
// 256 MiB tile); growing copies the rows held so far.
void reserve(grl_index_flat_s& s, Tile& t, int64_t cap) {
  Shape sv, s1;
  sv.ndim = 2;
  sv[0] = cap;
  sv[1] = s.dim;
  s1.ndim = 1;
  s1[0] = cap;
  Tile n;
  n.vec = new_tensor(s.device, GRL_F32, sv);
  n.terms = new_tensor(s.device, GRL_F32, s1);
  n.ids = new_tensor(s.device, GRL_I64, s1);
  n.rows = t.rows;
  n.cap = cap;
  if (t.rows > 0) {
    Shape hv = sv, h1 = s1;
    hv[0] = t.rows;
    h1[0] = t.rows;
    const auto stv = contiguous_strides(hv), st1 = contiguous_strides(h1);
    copy_into(*make_view(*n.vec, hv, stv, 0), *make_view(*t.vec, hv, stv, 0));
    copy_into(*make_view(*n.terms, h1, st1, 0), *make_view(*t.terms, h1, st1, 0));
    copy_into(*make_view(*n.ids, h1, st1, 0), *make_view(*t.ids, h1, st1, 0));
  }
  t = std::move(n);
}

// Appends rows [r0, r0 + n) of src (contiguous [*, dim], any float dtype) with the given ids.
void append_rows(grl_index_flat_s& s, Tensor& src, int64_t r0, int64_t n, const int64_t* ids) {
  int64_t done = 0;
  while (done < n) {
    if (s.tiles.empty() || s.tiles.back().rows == s.tile_rows) s.tiles.emplace_back();
    Tile& t = s.tiles.back();
    const int64_t m = std::min(n - done, s.tile_rows - t.rows);
    if (t.rows + m > t.cap) reserve(s, t, std::min(s.tile_rows, std::max({t.rows + m, 2 * t.cap, int64_t{1024}})));
    Shape sh;
    sh.ndim = 2;
    sh[0] = m;
    sh[1] = s.dim;
    const auto st = contiguous_strides(sh);
    TensorRef dst = make_view(*t.vec, sh, st, t.rows * s.dim);
    TensorRef from = make_view(src, sh, st, src.offset + (r0 + done) * s.dim);
    copy_into(*dst, *from);
    if (uses_norms(s.metric)) row_norms(*t.vec, t.rows, m, s.dim, *t.terms, t.rows, norm_mode(s.metric));
    s.dev().upload(t.ids->block(), static_cast<size_t>(t.rows) * 8, ids + done, static_cast<size_t>(m) * 8);
    t.rows += m;
    done += m;
  }
}

// The longest chunks that still give about two workgroups per SM of a large GPU (240; an H100
// has 132 SMs): a chunk's first steps push many candidates (every key beats an empty list), so
// longer chunks amortise them, but fewer than one wave of workgroups leaves SMs idle. Measured on
// an H100 at 1M x 128: 32768 rows for 1024 queries, 8192 for 256, 4096 for 64.
int64_t auto_chunk(int64_t Q, const std::vector<Tile>& tiles) {
  int64_t chunk = 32768;
  auto groups = [&](int64_t c) {
    int64_t n = 0;
    for (const Tile& t : tiles) n += cdiv(t.rows, c);
    return n * cdiv(Q, kTile);
  };
  while (chunk > 512 && groups(chunk) < 240) chunk /= 2;
  return chunk;
}

void search(const char* fn, grl_index_flat_s& s, Tensor& queries, int64_t k, TensorRef& dist, TensorRef& labels) {
  Device& dev = s.dev();
  const int64_t Q = queries.shape[0], D = s.dim;
  TensorRef q = TensorRef::retain(&queries);
  if (q->dtype != GRL_F32) {
    TensorRef c = new_tensor(s.device, GRL_F32, q->shape);
    copy_into(*c, *q);
    q = c;
  } else {
    q = contiguous(*q);
  }
  if (Q == 0) return;
  const bool fused = k <= kFusedMaxK;
  // Candidate columns per query: k per chunk (fused) or per distance block, over every tile.
  const int64_t chunk = fused ? (s.chunk_rows > 0 ? s.chunk_rows : auto_chunk(Q, s.tiles)) : 0;
  // Distance blocks (k > 16): as many base rows as fit kScratchBytes for a query batch.
  int64_t qb = Q;
  auto columns = [&](int64_t block) {
    int64_t c = 0;
    for (const Tile& t : s.tiles) c += cdiv(t.rows, block) * k;
    return c;
  };
  int64_t block = 0;
  if (fused) {
    while (qb > kTile && qb * columns(chunk) * 8 > kScratchBytes) qb = cdiv(qb, 2);
  } else {
    const int64_t fit = kScratchBytes / 4 / Q / kTile * kTile;
    block = std::clamp<int64_t>(fit, std::max<int64_t>(4096, cdiv(k, kTile) * kTile), int64_t{1} << 20);
    while (qb > 1 && (qb * block * 4 > kScratchBytes || qb * columns(block) * 8 > kScratchBytes)) qb = cdiv(qb, 2);
  }
  const int64_t ncol = columns(fused ? chunk : block);
  // The merge writes positions; with ids other than the positions they go through map_ids.
  TensorRef positions = s.positional ? labels : new_tensor(s.device, GRL_I64, labels->shape);
  if (ncol >= kU32 || qb * ncol >= kU32)
    fail(GRL_ERROR_UNSUPPORTED,
         "%s: %lld candidates per query exceed the kernels' 32-bit indexing; use larger chunk_rows",
         fn, static_cast<long long>(ncol));
  if (cdiv(qb, kTile) > kMaxGroups)
    fail(GRL_ERROR_UNSUPPORTED, "%s: %lld queries exceed the kernel grid", fn, static_cast<long long>(Q));

  Shape sc;
  sc.ndim = 2;
  sc[0] = qb;
  sc[1] = ncol;
  TensorRef ckey = new_tensor(s.device, GRL_F32, sc);
  TensorRef cpos = new_tensor(s.device, GRL_I32, sc);
  TensorRef blk;
  if (!fused) {
    // Blocks shorter than k leave sentinel candidates (+inf, position 2^32 - 1) that never win.
    Shape sb;
    sb.ndim = 2;
    sb[0] = qb;
    sb[1] = block;
    blk = new_tensor(s.device, GRL_F32, sb);
  }
  Shape s1;
  s1.ndim = 1;
  s1[0] = Q;
  TensorRef qterm;
  if (uses_norms(s.metric)) {
    qterm = new_tensor(s.device, GRL_F32, s1);
    row_norms(*q, 0, Q, D, *qterm, 0, norm_mode(s.metric));
  }
  const bool vec = rows_vec4(D, {q->address()}, 4);  // tile rows are aligned when D % 4 == 0
  static const KernelSet ksel_vec("search/select_vec", {GRL_F32}), ksel("search/select", {GRL_F32});
  const Kernel& kd = (vec ? ksel_vec : ksel).get(fn, "queries", GRL_F32);
  for (int64_t q0 = 0; q0 < Q; q0 += qb) {
    const int64_t nq = std::min(qb, Q - q0);
    const uint64_t qaddr = q->address() + static_cast<uint64_t>(q0 * D) * 4;
    int64_t col = 0;  // candidate column of the current tile's first chunk / block
    int64_t pos0 = 0;
    if (!fused) {
      fill(*ckey, INFINITY);
      fill(*cpos, -1.0);
    }
    for (const Tile& t : s.tiles) {
      if (fused) {
        const int64_t nch = cdiv(t.rows, chunk);
        for (int64_t c0 = 0; c0 < nch; c0 += kMaxGroups) {
          DistPush p{};
          p.q = qaddr;
          p.b = t.vec->address();
          p.bn = uses_norms(s.metric) ? t.terms->address() : 0;
          p.okey = ckey->address();
          p.opos = cpos->address();
          p.Q = static_cast<uint32_t>(nq);
          p.N = static_cast<uint32_t>(t.rows);
          p.D = static_cast<uint32_t>(D);
          p.metric = static_cast<uint32_t>(s.metric);
          p.k = static_cast<uint32_t>(k);
          p.chunk_rows = static_cast<uint32_t>(chunk);
          p.nchunk = static_cast<uint32_t>(ncol / k);
          p.chunk0 = static_cast<uint32_t>(col / k + c0);
          p.pos0 = static_cast<uint32_t>(pos0);
          // Later dispatches start at chunk c0: shift the base instead of the chunk index.
          p.b += static_cast<uint64_t>(c0 * chunk * D) * 4;
          p.bn += p.bn ? static_cast<uint64_t>(c0 * chunk) * 4 : 0;
          p.N = static_cast<uint32_t>(t.rows - c0 * chunk);
          p.pos0 += static_cast<uint32_t>(c0 * chunk);
          const int64_t g = std::min(kMaxGroups, nch - c0);
          dev.dispatch(kd, &p, sizeof p, static_cast<uint32_t>(cdiv(nq, kTile)), static_cast<uint32_t>(g), 1,
                       {q->block(), t.vec->block(), t.terms->block()}, {ckey->block(), cpos->block()});
        }
        col += nch * k;
      } else {
        for (int64_t b0 = 0; b0 < t.rows; b0 += block) {
          const int64_t n = std::min(block, t.rows - b0);
          Shape sq;
          sq.ndim = 2;
          sq[0] = nq;
          sq[1] = D;
          TensorRef qv = make_view(*q, sq, contiguous_strides(sq), q->offset + q0 * D);
          Tensor* terms = uses_norms(s.metric) ? t.terms.get() : nullptr;
          dense_launch(fn, *qv, *t.vec, b0, n, terms, nullptr, *blk, 0, block, D,
                       s.metric, kModeKey);
          TopkArgs a;
          a.x = blk.get();
          a.vals = ckey.get();
          a.vals_off = static_cast<uint64_t>(col) * 4;
          a.idx = cpos.get();
          a.idx_off = static_cast<uint64_t>(col) * 4;
          a.rows = nq;
          a.n = n;
          a.k = std::min(k, n);
          a.ldx = block;
          a.ldo = ncol;
          a.flags = kTopkU32;
          a.pos_base = static_cast<uint32_t>(pos0 + b0);
          topk_launch(fn, a);
          col += k;
        }
      }
      pos0 += t.rows;
    }
    // Merge: the k best candidates per query, finished into distances, positions as labels.
    TopkArgs m;
    m.x = ckey.get();
    m.pos = cpos.get();
    m.vals = dist.get();
    m.vals_off = static_cast<uint64_t>(q0 * k) * 4;
    m.idx = positions.get();
    m.idx_off = static_cast<uint64_t>(q0 * k) * 8;
    m.aux = qterm.get();
    m.aux_off = static_cast<uint64_t>(q0) * 4;
    m.rows = nq;
    m.n = ncol;
    m.k = k;
    m.ldx = ncol;
    m.ldo = k;
    m.post = static_cast<uint32_t>(s.metric) + 1;
    topk_launch(fn, m);
  }
  if (!s.positional) {
    static const Kernel km("search/map_ids");
    int64_t p0 = 0;
    for (const Tile& t : s.tiles) {
      MapPush p{};
      p.pos = positions->address();
      p.labels = labels->address();
      p.ids = t.ids->address();
      p.n = static_cast<uint32_t>(Q * k);
      p.rows = static_cast<uint32_t>(t.rows);
      p.p0 = static_cast<uint64_t>(p0);
      dev.dispatch_1d(km, &p, sizeof p, groups_for(Q * k), {positions->block(), t.ids->block()}, {labels->block()});
      p0 += t.rows;
    }
  }
}

}  // namespace

extern "C" {

GRL_API grl_status grl_pairwise_distances(grl_tensor queries, grl_tensor base, grl_metric metric, grl_tensor* out) {
  GRL_API_BEGIN();
  GRL_CHECK_OUT(out);
  Tensor& q = float_2d(__func__, "queries", queries);
  Tensor& b = float_2d(__func__, "base", base);
  same_device(__func__, "queries", q, "base", b);
  same_dtype(__func__, "queries", q, "base", b);
  check_metric(__func__, metric);
  if (q.shape[1] != b.shape[1])
    fail(GRL_ERROR_SHAPE, "%s: 'queries' %s and 'base' %s must have the same number of columns (the vector dim)",
         __func__, q.shape.str().c_str(), b.shape.str().c_str());
  const int64_t Q = q.shape[0], N = b.shape[0], D = q.shape[1];
  check_numel_u32(__func__, Q * N);
  check_numel_u32(__func__, Q * D);
  check_numel_u32(__func__, N * D);
  DeviceLock lock(q.dev().mutex());
  Shape so;
  so.ndim = 2;
  so[0] = Q;
  so[1] = N;
  TensorRef o = new_tensor(q.device(), GRL_F32, so);
  if (Q > 0 && N > 0) {
    TensorRef qc = contiguous(q), bc = contiguous(b);
    TensorRef qa, bt;
    if (uses_norms(metric)) {
      Shape s1;
      s1.ndim = 1;
      s1[0] = Q;
      qa = new_tensor(q.device(), GRL_F32, s1);
      s1[0] = N;
      bt = new_tensor(q.device(), GRL_F32, s1);
      row_norms(*qc, 0, Q, D, *qa, 0, norm_mode(metric));
      row_norms(*bc, 0, N, D, *bt, 0, norm_mode(metric));
    }
    dense_launch(__func__, *qc, *bc, 0, N, bt.get(), qa.get(), *o, 0, N, D, metric, kModeDistance);
  }
  *out = o.release();
  GRL_API_END();
}

GRL_API grl_status grl_topk(grl_tensor x, int64_t k, uint32_t largest, grl_tensor* out_values,
                            grl_tensor* out_indices) {
  GRL_API_BEGIN();
  arg_not_null(__func__, "out_values", out_values);
  arg_not_null(__func__, "out_indices", out_indices);
  Tensor& t = arg_tensor(__func__, "x", x);
  if (t.dtype != GRL_F32 && t.dtype != GRL_F16 && t.dtype != GRL_BF16)
    fail(GRL_ERROR_DTYPE, "%s: 'x' has dtype %s; this op takes f32, f16, bf16", __func__, dtype_name(t.dtype));
  if (t.shape.ndim < 1) fail(GRL_ERROR_SHAPE, "%s: 'x' must have at least 1 dim; got a 0-d tensor", __func__);
  if (largest > 1) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'largest' must be 0 or 1; got %u", __func__, largest);
  const int64_t n = t.shape[t.shape.ndim - 1];
  if (k < 0 || k > n || k > kTopkMaxK)
    fail(GRL_ERROR_INVALID_ARGUMENT,
         "%s: 'k' is %lld; expected 0 <= k <= min(n, %lld) with n = %lld (the last axis of %s)",
         __func__, static_cast<long long>(k), static_cast<long long>(kTopkMaxK), static_cast<long long>(n),
         t.shape.str().c_str());
  if (n >= kU32 - 1)
    fail(GRL_ERROR_UNSUPPORTED, "%s: rows of %lld exceed 2^32 - 2", __func__, static_cast<long long>(n));
  check_numel_u32(__func__, t.numel());
  DeviceLock lock(t.dev().mutex());
  Shape so = t.shape;
  so[so.ndim - 1] = k;
  const int64_t rows = n > 0 ? t.numel() / n : so.numel() / std::max<int64_t>(k, 1);
  TensorRef vals = new_tensor(t.device(), t.dtype, so);
  TensorRef idx = new_tensor(t.device(), GRL_I64, so);
  if (k > 0 && rows > 0) {
    TensorRef xc = contiguous(t);
    TopkArgs a;
    a.x = xc.get();
    a.vals = vals.get();
    a.idx = idx.get();
    a.rows = rows;
    a.n = n;
    a.k = k;
    a.ldx = n;
    a.ldo = k;
    a.flags = largest ? kTopkLargest : 0u;
    // Few long rows would leave the device idle with one workgroup each: split every row into
    // nseg segments of at least max(4096, k) elements, keep k per segment, then merge.
    const int64_t nseg = std::min(n / std::max<int64_t>(4096, k), cdiv(kSegmentGroups, rows));
    TensorRef cv, ci;  // the segments' candidates (alive until the merge is recorded)
    if (nseg >= 2 && rows * nseg * k < kU32) {
      Shape sc;
      sc.ndim = 2;
      sc[0] = rows * nseg;
      sc[1] = k;
      cv = new_tensor(t.device(), t.dtype, sc);
      ci = new_tensor(t.device(), GRL_I32, sc);
      TopkArgs s1 = a;
      s1.vals = cv.get();
      s1.idx = ci.get();
      s1.rows = rows * nseg;
      s1.seg_len = n / nseg;
      s1.nseg = nseg;
      s1.flags |= kTopkU32;
      topk_launch(__func__, s1);
      a.x = cv.get();
      a.pos = ci.get();
      a.n = nseg * k;
      a.ldx = nseg * k;
      a.aux = xc.get();
      a.aux_ld = n;
      a.flags |= kTopkReread;
    }
    topk_launch(__func__, a);
  }
  *out_values = vals.release();
  *out_indices = idx.release();
  GRL_API_END();
}

GRL_API grl_status grl_index_flat_create(grl_device device, int64_t dim, const grl_index_flat_options* opts,
                                         grl_index_flat* out) {
  GRL_API_BEGIN();
  GRL_CHECK_OUT(out);
  grl_device_s& d = arg_device(__func__, "device", device);
  grl_index_flat_options o = GRL_INDEX_FLAT_OPTIONS_INIT;
  if (opts) {
    if (opts->version < 1 || opts->version > GRL_INDEX_FLAT_OPTIONS_VERSION)
      fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->version is %u; expected 1..%d (GRL_INDEX_FLAT_OPTIONS_VERSION)",
           __func__,
           opts->version, GRL_INDEX_FLAT_OPTIONS_VERSION);
    o = *opts;
  }
  if (dim < 1 || dim >= kU32 / 8)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'dim' must satisfy 1 <= dim < 2^29; got %lld", __func__, static_cast<long long>(dim));
  check_metric(__func__, o.metric);
  if (o.tile_rows < 0)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->tile_rows must be >= 0 (0: automatic); got %lld", __func__,
         static_cast<long long>(o.tile_rows));
  if (o.chunk_rows < 0)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->chunk_rows must be >= 0 (0: automatic); got %lld", __func__,
         static_cast<long long>(o.chunk_rows));
  auto s = std::make_unique<grl_index_flat_s>();
  const int64_t row_bytes = dim * 4;
  const int64_t max_bytes = static_cast<int64_t>(std::min<uint64_t>(d.impl->info().max_buffer_bytes, kU32 - 1));
  int64_t rows = o.tile_rows > 0 ? o.tile_rows : (int64_t{256} << 20) / row_bytes;
  rows = std::max<int64_t>(1, std::min(rows, max_bytes / row_bytes));
  s->dim = dim;
  s->metric = o.metric;
  s->tile_rows = rows;
  if (o.chunk_rows > kMaxChunk)
    fail(GRL_ERROR_INVALID_ARGUMENT,
         "%s: opts->chunk_rows must be at most %lld (positions in a chunk are 16 bits); got %lld",
         __func__, static_cast<long long>(kMaxChunk), static_cast<long long>(o.chunk_rows));
  s->chunk_rows = o.chunk_rows > 0 ? cdiv(o.chunk_rows, kTile) * kTile : 0;
  grl_device_retain(device);
  s->device = device;
  *out = s.release();
  GRL_API_END();
}

GRL_API void grl_index_flat_retain(grl_index_flat index) {
  if (index) index->refs.fetch_add(1);
}

GRL_API void grl_index_flat_release(grl_index_flat index) {
  if (index && index->refs.fetch_sub(1) == 1) {
    // The index holds the device; keep it alive past the lock.
    grl_device d = index->device;
    grl_device_retain(d);
    {
      DeviceLock lock(d->impl->mutex());
      delete index;
    }
    grl_device_release(d);
  }
}

GRL_API grl_status grl_index_flat_add(grl_index_flat index, grl_tensor vectors, const int64_t* ids) {
  GRL_API_BEGIN();
  auto& s = arg_index(__func__, index);
  Tensor& v = float_2d(__func__, "vectors", vectors);
  if (v.device() != s.device)
    fail(GRL_ERROR_DEVICE_MISMATCH, "%s: 'vectors' lives on another device than the index", __func__);
  if (v.shape[1] != s.dim)
    fail(GRL_ERROR_SHAPE, "%s: 'vectors' must be [n, %lld] (the index's dim); got %s", __func__,
         static_cast<long long>(s.dim), v.shape.str().c_str());
  const int64_t n = v.shape[0];
  if (s.ntotal() + n >= kU32 - 1)
    fail(GRL_ERROR_UNSUPPORTED, "%s: an index holds fewer than 2^32 - 1 vectors; it has %lld, adding %lld", __func__,
         static_cast<long long>(s.ntotal()), static_cast<long long>(n));
  DeviceLock lock(s.dev().mutex());
  if (n == 0) return GRL_OK;
  std::vector<int64_t> id(static_cast<size_t>(n));
  bool positional = s.positional;
  for (int64_t i = 0; i < n; ++i) {
    id[static_cast<size_t>(i)] = ids ? ids[i] : s.next_id + i;
    if (id[static_cast<size_t>(i)] != s.ntotal() + i) positional = false;
  }
  TensorRef vc = contiguous(v);
  append_rows(s, *vc, 0, n, id.data());
  s.ids.insert(s.ids.end(), id.begin(), id.end());
  s.next_id += n;
  s.positional = positional;
  GRL_API_END();
}

GRL_API grl_status grl_index_flat_search(grl_index_flat index, grl_tensor queries, int64_t k, grl_tensor* out_distances,
                                         grl_tensor* out_labels) {
  GRL_API_BEGIN();
  auto& s = arg_index(__func__, index);
  arg_not_null(__func__, "out_distances", out_distances);
  arg_not_null(__func__, "out_labels", out_labels);
  Tensor& q = float_2d(__func__, "queries", queries);
  if (q.device() != s.device)
    fail(GRL_ERROR_DEVICE_MISMATCH, "%s: 'queries' lives on another device than the index", __func__);
  if (q.shape[1] != s.dim)
    fail(GRL_ERROR_SHAPE, "%s: 'queries' must be [Q, %lld] (the index's dim); got %s", __func__,
         static_cast<long long>(s.dim), q.shape.str().c_str());
  if (k < 1 || k > s.ntotal() || k > kTopkMaxK)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'k' is %lld; expected 1 <= k <= min(ntotal, %lld) with ntotal = %lld",
         __func__,
         static_cast<long long>(k), static_cast<long long>(kTopkMaxK), static_cast<long long>(s.ntotal()));
  check_numel_u32(__func__, q.numel());
  check_numel_u32(__func__, q.shape[0] * k);
  DeviceLock lock(s.dev().mutex());
  Shape so;
  so.ndim = 2;
  so[0] = q.shape[0];
  so[1] = k;
  TensorRef dist = new_tensor(s.device, GRL_F32, so);
  TensorRef labels = new_tensor(s.device, GRL_I64, so);
  search(__func__, s, q, k, dist, labels);
  *out_distances = dist.release();
  *out_labels = labels.release();
  GRL_API_END();
}

GRL_API grl_status grl_index_flat_remove(grl_index_flat index, const int64_t* ids, int64_t n, int64_t* out) {
  GRL_API_BEGIN();
  auto& s = arg_index(__func__, index);
  if (n < 0) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'n' must be >= 0; got %lld", __func__, static_cast<long long>(n));
  if (n > 0) arg_not_null(__func__, "ids", ids);
  DeviceLock lock(s.dev().mutex());
  std::unordered_set<int64_t> drop(ids, ids + n);
  std::vector<int64_t> keep_pos, keep_ids;
  for (size_t p = 0; p < s.ids.size(); ++p)
    if (!drop.count(s.ids[p])) {
      keep_pos.push_back(static_cast<int64_t>(p));
      keep_ids.push_back(s.ids[p]);
    }
  const int64_t removed = s.ntotal() - static_cast<int64_t>(keep_pos.size());
  if (removed > 0) {
    // Kept rows move in runs that are contiguous in one old tile, into fresh tiles (old and new
    // positions overlap, so copying in place would race).
    std::vector<Tile> old;
    old.swap(s.tiles);
    std::vector<int64_t> start(old.size() + 1, 0);
    for (size_t i = 0; i < old.size(); ++i) start[i + 1] = start[i] + old[i].rows;
    size_t r = 0;
    while (r < keep_pos.size()) {
      const int64_t p = keep_pos[r];
      const size_t ti = static_cast<size_t>(std::upper_bound(start.begin(), start.end(), p) - start.begin() - 1);
      size_t e = r + 1;
      while (e < keep_pos.size() && keep_pos[e] == keep_pos[e - 1] + 1 && keep_pos[e] < start[ti + 1]) ++e;
      append_rows(s, *old[ti].vec, p - start[ti], static_cast<int64_t>(e - r), keep_ids.data() + r);
      r = e;
    }
    s.ids = std::move(keep_ids);
    s.positional = true;
    for (size_t p = 0; p < s.ids.size(); ++p)
      if (s.ids[p] != static_cast<int64_t>(p)) s.positional = false;
  }
  if (out) *out = removed;
  GRL_API_END();
}

GRL_API grl_status grl_index_flat_reset(grl_index_flat index) {
  GRL_API_BEGIN();
  auto& s = arg_index(__func__, index);
  DeviceLock lock(s.dev().mutex());
  s.tiles.clear();
  s.ids.clear();
  s.next_id = 0;
  s.positional = true;
  GRL_API_END();
}

GRL_API grl_status grl_index_flat_ntotal(grl_index_flat index, int64_t* out) {
  GRL_API_BEGIN();
  GRL_CHECK_OUT(out);
  auto& s = arg_index(__func__, index);
  DeviceLock lock(s.dev().mutex());
  *out = s.ntotal();
  GRL_API_END();
}

GRL_API grl_status grl_index_flat_dim(grl_index_flat index, int64_t* out) {
  GRL_API_BEGIN();
  GRL_CHECK_OUT(out);
  auto& s = arg_index(__func__, index);
  *out = s.dim;
  GRL_API_END();
}

}  // extern "C"
