// Gradient checks of the indexing/shape and random families: embedding, index_select, gather,
// scatter_add, concat, stack, split, pad and dropout against float64 forwards written here.
#include <array>
#include <cstdint>
#include <vector>

#include "gradcheck.h"

namespace gt {
namespace {

// Integer indices are made inside `run` (gradcheck uploads every input as f32).
grl_tensor make_index(grl_tensor like, const std::vector<int64_t>& v, Shape s, grl_dtype dt = GRL_I64) {
  grl_tensor t = nullptr;
  if (dt == GRL_I64) {
    grl_tensor_from_host(grl_tensor_device(like), GRL_I64, s.data(), static_cast<int32_t>(s.size()), v.data(),
                         v.size() * sizeof(int64_t), &t);
  } else {
    std::vector<int32_t> w(v.begin(), v.end());
    grl_tensor_from_host(grl_tensor_device(like), GRL_I32, s.data(), static_cast<int32_t>(s.size()), w.data(),
                         w.size() * sizeof(int32_t), &t);
  }
  return t;
}

std::vector<int64_t> unravel(int64_t i, const Shape& s) {
  std::vector<int64_t> c(s.size());
  for (size_t d = s.size(); d-- > 0;) {
    c[d] = i % s[d];
    i /= s[d];
  }
  return c;
}

int64_t ravel(const std::vector<int64_t>& c, const Shape& s) {
  int64_t i = 0;
  for (size_t d = 0; d < s.size(); ++d) i = i * s[d] + c[d];
  return i;
}

// ---- embedding: weight [5, 3], indices [2, 3]; row 1 is picked three times, row 2 never ----
const std::vector<int64_t> kEmbIdx = {1, 4, 1, 0, 1, 3};

GRAD_CASE({"embedding", {{5, 3}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             grl_tensor ix = make_index(x[0], kEmbIdx, {2, 3});
             grl_status s = grl_embedding(x[0], ix, out);
             grl_tensor_release(ix);  // the rule keeps what it needs
             return s;
           },
           [](const std::vector<Host>& x) {
             Host y = Host::zeros({2, 3, 3});
             for (int64_t j = 0; j < 6; ++j)
               for (int64_t k = 0; k < 3; ++k) y[j * 3 + k] = x[0][kEmbIdx[static_cast<size_t>(j)] * 3 + k];
             return y;
           }});

// ---- index_select: x [3, 4, 2] along axis 1 (and -1 of a 2-d x), i32 and i64 indices ----
const std::vector<int64_t> kSelIdx = {3, 0, 3, 3, 1};

GRAD_CASE({"index_select", {{3, 4, 2}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             grl_tensor ix = make_index(x[0], kSelIdx, {5}, GRL_I32);
             grl_status s = grl_index_select(x[0], 1, ix, out);
             grl_tensor_release(ix);
             return s;
           },
           [](const std::vector<Host>& x) {
             Host y = Host::zeros({3, 5, 2});
             for (int64_t o = 0; o < 3; ++o)
               for (int64_t j = 0; j < 5; ++j)
                 for (int64_t k = 0; k < 2; ++k)
                   y[(o * 5 + j) * 2 + k] = x[0][(o * 4 + kSelIdx[static_cast<size_t>(j)]) * 2 + k];
             return y;
           }});

GRAD_CASE({"index_select", {{2, 4}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             grl_tensor ix = make_index(x[0], kSelIdx, {5});
             grl_status s = grl_index_select(x[0], -1, ix, out);
             grl_tensor_release(ix);
             return s;
           },
           [](const std::vector<Host>& x) {
             Host y = Host::zeros({2, 5});
             for (int64_t o = 0; o < 2; ++o)
               for (int64_t j = 0; j < 5; ++j) y[o * 5 + j] = x[0][o * 4 + kSelIdx[static_cast<size_t>(j)]];
             return y;
           }});

// ---- gather: torch.gather with repeated indices, and an index smaller than x outside axis ----
Host gather_ref(const Host& x, int axis, const std::vector<int64_t>& idx, const Shape& is) {
  Host y = Host::zeros(is);
  for (int64_t i = 0; i < y.numel(); ++i) {
    auto c = unravel(i, is);
    c[static_cast<size_t>(axis)] = idx[static_cast<size_t>(i)];
    y[i] = x[ravel(c, x.shape)];
  }
  return y;
}

const std::vector<int64_t> kGatherIdx1 = {0, 3, 3, 1, 3, 2, 2, 2, 0, 1};  // [2, 5] into x [3, 4], axis 1
const std::vector<int64_t> kGatherIdx0 = {1, 0, 1, 1, 0, 0};              // [3, 2, 1] into x [2, 3, 2], axis 0

GRAD_CASE({"gather", {{3, 4}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             grl_tensor ix = make_index(x[0], kGatherIdx1, {2, 5});
             grl_status s = grl_gather(x[0], 1, ix, out);
             grl_tensor_release(ix);
             return s;
           },
           [](const std::vector<Host>& x) { return gather_ref(x[0], 1, kGatherIdx1, {2, 5}); }});

GRAD_CASE({"gather", {{2, 3, 2}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             grl_tensor ix = make_index(x[0], kGatherIdx0, {3, 2, 1}, GRL_I32);
             grl_status s = grl_gather(x[0], 0, ix, out);
             grl_tensor_release(ix);
             return s;
           },
           [](const std::vector<Host>& x) { return gather_ref(x[0], 0, kGatherIdx0, {3, 2, 1}); }});

// ---- scatter_add: x [3, 4], src [2, 5], index [2, 3] (src's last two columns take no part) ----
const std::vector<int64_t> kScatIdx = {2, 0, 2, 1, 1, 3};

GRAD_CASE({"scatter_add", {{3, 4}, {2, 5}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             grl_tensor ix = make_index(x[0], kScatIdx, {2, 3});
             grl_status s = grl_scatter_add(x[0], 1, ix, x[1], out);
             grl_tensor_release(ix);
             return s;
           },
           [](const std::vector<Host>& x) {
             Host y = x[0];
             for (int64_t i = 0; i < 2; ++i)
               for (int64_t j = 0; j < 3; ++j) y[i * 4 + kScatIdx[static_cast<size_t>(i * 3 + j)]] += x[1][i * 5 + j];
             return y;
           }});

// A constant src: only x is differentiated.
GRAD_CASE({"scatter_add", {{2, 3}, {2, 3}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             grl_tensor ix = make_index(x[0], {1, 1, 0, 0, 1, 1}, {2, 3}, GRL_I32);
             grl_status s = grl_scatter_add(x[0], 0, ix, x[1], out);
             grl_tensor_release(ix);
             return s;
           },
           [](const std::vector<Host>& x) {
             const int64_t idx[] = {1, 1, 0, 0, 1, 1};
             Host y = x[0];
             for (int64_t i = 0; i < 6; ++i) y[idx[i] * 3 + i % 3] += x[1][i];
             return y;
           },
           -2, 2, {1}});

// ---- concat / stack ----
Host concat_ref(const std::vector<Host>& xs, int axis) {
  Shape s = xs[0].shape;
  s[static_cast<size_t>(axis)] = 0;
  for (const auto& x : xs) s[static_cast<size_t>(axis)] += x.shape[static_cast<size_t>(axis)];
  Host y = Host::zeros(s);
  int64_t at = 0;
  for (const auto& x : xs) {
    for (int64_t i = 0; i < x.numel(); ++i) {
      auto c = unravel(i, x.shape);
      c[static_cast<size_t>(axis)] += at;
      y[ravel(c, s)] = x[i];
    }
    at += x.shape[static_cast<size_t>(axis)];
  }
  return y;
}

Host stack_ref(const std::vector<Host>& xs, int axis) {
  Shape s = xs[0].shape;
  s.insert(s.begin() + axis, static_cast<int64_t>(xs.size()));
  Host y = Host::zeros(s);
  for (size_t k = 0; k < xs.size(); ++k)
    for (int64_t i = 0; i < xs[k].numel(); ++i) {
      auto c = unravel(i, xs[k].shape);
      c.insert(c.begin() + axis, static_cast<int64_t>(k));
      y[ravel(c, s)] = xs[k][i];
    }
  return y;
}

GRAD_CASE({"concat", {{2, 3}, {2, 1}, {2, 4}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) { return grl_concat(x.data(), 3, -1, out); },
           [](const std::vector<Host>& x) { return concat_ref(x, 1); }});

// The middle input is a constant: the others still get their slabs.
GRAD_CASE({"concat", {{1, 2, 2}, {3, 2, 2}, {2, 2, 2}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) { return grl_concat(x.data(), 3, 0, out); },
           [](const std::vector<Host>& x) { return concat_ref(x, 0); }, -2, 2, {1}});

GRAD_CASE({"stack", {{2, 3}, {2, 3}, {2, 3}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) { return grl_stack(x.data(), 3, 1, out); },
           [](const std::vector<Host>& x) { return stack_ref(x, 1); }});

GRAD_CASE({"stack", {{3, 2}, {3, 2}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) { return grl_stack(x.data(), 2, -1, out); },
           [](const std::vector<Host>& x) { return stack_ref(x, 2); }});

// ---- split: pieces are views of x; y = 1 p0 + 2 p1 + 3 p2 sums weighted pieces ----
GRAD_CASE({"split", {{4, 6}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             const int64_t sizes[] = {2, 2, 2};
             grl_tensor p[3] = {};
             grl_status s = grl_split(x[0], sizes, 3, 1, p);
             if (s != GRL_OK) return s;
             grl_tensor w1 = nullptr, w2 = nullptr, acc = nullptr;
             if ((s = grl_mul_scalar(p[1], 2.0, &w1)) == GRL_OK && (s = grl_mul_scalar(p[2], 3.0, &w2)) == GRL_OK &&
                 (s = grl_add(p[0], w1, &acc)) == GRL_OK)
               s = grl_add(acc, w2, out);
             for (grl_tensor t : {p[0], p[1], p[2], w1, w2, acc}) grl_tensor_release(t);
             return s;
           },
           [](const std::vector<Host>& x) {
             Host y = Host::zeros({4, 2});
             for (int64_t i = 0; i < 4; ++i)
               for (int64_t j = 0; j < 2; ++j)
                 y[i * 2 + j] = x[0][i * 6 + j] + 2 * x[0][i * 6 + 2 + j] + 3 * x[0][i * 6 + 4 + j];
             return y;
           }});

// Unequal pieces of a transposed (strided) x, one of them empty and one unused: y = concat(p3, p0).
GRAD_CASE({"split", {{3, 6}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             grl_tensor xt = nullptr;
             grl_status s = grl_transpose(x[0], 0, 1, &xt);  // [6, 3]
             if (s != GRL_OK) return s;
             const int64_t sizes[] = {1, 0, 2, 3};
             grl_tensor p[4] = {};
             s = grl_split(xt, sizes, 4, 0, p);
             grl_tensor_release(xt);
             if (s != GRL_OK) return s;
             grl_tensor both[2] = {p[3], p[0]};
             s = grl_concat(both, 2, 0, out);
             for (grl_tensor t : p) grl_tensor_release(t);
             return s;
           },
           [](const std::vector<Host>& x) {
             Host y = Host::zeros({4, 3});  // rows 3..5 of x^T, then row 0
             for (int64_t r = 0; r < 4; ++r)
               for (int64_t c = 0; c < 3; ++c) y[r * 3 + c] = x[0][c * 6 + (r < 3 ? 3 + r : 0)];
             return y;
           }});

// ---- pad: padding, cropping and both on one dim ----
Host pad_ref(const Host& x, const std::vector<int64_t>& pads, double value) {
  size_t nd = x.shape.size();
  Shape s = x.shape;
  std::vector<int64_t> lo(nd, 0);
  for (size_t k = 0; k < pads.size() / 2; ++k) {
    size_t d = nd - 1 - k;
    lo[d] = pads[2 * k];
    s[d] += pads[2 * k] + pads[2 * k + 1];
  }
  Host y = Host::zeros(s);
  for (int64_t i = 0; i < y.numel(); ++i) {
    auto c = unravel(i, s);
    bool inside = true;
    for (size_t d = 0; d < nd; ++d) {
      c[d] -= lo[d];
      inside = inside && c[d] >= 0 && c[d] < x.shape[d];
    }
    y[i] = inside ? x[ravel(c, x.shape)] : value;
  }
  return y;
}

const std::vector<int64_t> kPads = {1, 2, -1, 1};  // last dim: +1 / +2; second last: crop 1 / +1

GRAD_CASE({"pad", {{2, 3, 4}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             return grl_pad(x[0], kPads.data(), static_cast<int32_t>(kPads.size()), 0.5, out);
           },
           [](const std::vector<Host>& x) { return pad_ref(x[0], kPads, 0.5); }});

const std::vector<int64_t> kCrop = {-1, -2, 0, 0, 2, -1};

GRAD_CASE({"pad", {{3, 2, 5}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             return grl_pad(x[0], kCrop.data(), static_cast<int32_t>(kCrop.size()), -1.0, out);
           },
           [](const std::vector<Host>& x) { return pad_ref(x[0], kCrop, -1.0); }});

// ---- dropout: the mask from the Philox recipe of include/grilly.h, recomputed here ----
std::array<uint32_t, 4> philox(std::array<uint32_t, 4> ctr, std::array<uint32_t, 2> key) {
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      key[0] += 0x9E3779B9u;
      key[1] += 0xBB67AE85u;
    }
    uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * ctr[0];
    uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * ctr[2];
    ctr = {static_cast<uint32_t>(p1 >> 32) ^ ctr[1] ^ key[0], static_cast<uint32_t>(p1),
           static_cast<uint32_t>(p0 >> 32) ^ ctr[3] ^ key[1], static_cast<uint32_t>(p0)};
  }
  return ctr;
}

Host dropout_ref(const Host& x, double p, uint64_t seed, uint64_t offset) {
  Host y = x;
  double scale = static_cast<float>(1.0 / (1.0 - p));
  for (int64_t i = 0; i < x.numel(); ++i) {
    uint64_t c = offset + static_cast<uint64_t>(i);
    uint32_t w0 = philox({static_cast<uint32_t>(c), static_cast<uint32_t>(c >> 32), 0, 0},
                         {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)})[0];
    y[i] = static_cast<double>(w0 >> 8) < p * 16777216.0 ? 0.0 : x[i] * scale;
  }
  return y;
}

GRAD_CASE({"dropout", {{6, 7}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) { return grl_dropout(x[0], 0.3, 1, 0x1234abcd5678ull, 11, out); },
           [](const std::vector<Host>& x) { return dropout_ref(x[0], 0.3, 0x1234abcd5678ull, 11); }});

// Not training: the identity rule.
GRAD_CASE({"dropout", {{3, 5}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) { return grl_dropout(x[0], 0.5, 0, 7, 0, out); },
           [](const std::vector<Host>& x) { return x[0]; }});

// p = 1: everything dropped, a zero gradient.
GRAD_CASE({"dropout", {{4}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) { return grl_dropout(x[0], 1.0, 1, 7, 0, out); },
           [](const std::vector<Host>& x) { return Host::zeros(x[0].shape); }});

}  // namespace
}  // namespace gt
