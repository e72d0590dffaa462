// The autograd engine: fan-out, broadcasting, retain_graph, grad mode, detach, leaves, custom
// functions from C, and its errors.
#include <cmath>

#include "testing.h"

using namespace gt;

class Autograd : public DeviceTest {
 protected:
  Host grad_of(grl_tensor t) {
    grl_tensor g = nullptr;
    EXPECT_EQ(grl_tensor_grad(t, &g), GRL_OK);
    EXPECT_NE(g, nullptr);
    if (!g) return {};
    Host h = download(g);
    grl_tensor_release(g);
    return h;
  }
};

TEST_F(Autograd, FanOutIsSummedAndBroadcastIsReduced) {
  Host a = Host::random({2, 3}, rng()), b = Host::random({3}, rng());
  T ta(upload(dev, a)), tb(upload(dev, b));
  ASSERT_GRL_OK(grl_tensor_set_requires_grad(ta, 1));
  ASSERT_GRL_OK(grl_tensor_set_requires_grad(tb, 1));
  // y = a*b + a  (a used twice, b broadcast over rows)
  T ab, y;
  ASSERT_GRL_OK(grl_mul(ta, tb, ab.out()));
  ASSERT_GRL_OK(grl_add(ab, ta, y.out()));
  EXPECT_TRUE(grl_tensor_requires_grad(y));
  EXPECT_FALSE(grl_tensor_is_leaf(y));
  EXPECT_STREQ(grl_tensor_grad_fn_name(y), "add");
  Host ones = Host::zeros({2, 3});
  for (auto& v : ones.v) v = 1;
  T g(upload(dev, ones));
  ASSERT_GRL_OK(grl_tensor_backward(y, g, 0));
  Host ga = grad_of(ta), gb = grad_of(tb);
  ASSERT_EQ(gb.shape, (Shape{3}));
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(ga[i * 3 + j], static_cast<float>(b[j]) + 1.0, 1e-6);
  for (int j = 0; j < 3; ++j) EXPECT_NEAR(gb[j], static_cast<float>(a[j]) + static_cast<float>(a[3 + j]), 1e-5);
}

TEST_F(Autograd, GradientsAccumulateAcrossBackwardsUntilZeroed) {
  Host a = Host::random({4}, rng());
  T ta(upload(dev, a));
  ASSERT_GRL_OK(grl_tensor_set_requires_grad(ta, 1));
  for (int k = 0; k < 2; ++k) {
    T y;
    ASSERT_GRL_OK(grl_mul_scalar(ta, 3.0, y.out()));
    Host w = Host::zeros({4});
    for (auto& v : w.v) v = 1;
    T tw(upload(dev, w));
    ASSERT_GRL_OK(grl_tensor_backward(y, tw, 0));
  }
  for (double v : grad_of(ta).v) EXPECT_EQ(v, 6.0);
  ASSERT_GRL_OK(grl_tensor_zero_grad(ta));
  grl_tensor g = nullptr;
  ASSERT_GRL_OK(grl_tensor_grad(ta, &g));
  EXPECT_EQ(g, nullptr);
}

TEST_F(Autograd, RetainGraphAndFreedGraphError) {
  Host a = Host::random({3}, rng());
  T ta(upload(dev, a)), y, s;
  ASSERT_GRL_OK(grl_tensor_set_requires_grad(ta, 1));
  ASSERT_GRL_OK(grl_exp(ta, y.out()));
  int32_t ax = 0;
  ASSERT_GRL_OK(grl_sum(y, &ax, 1, 0, s.out()));
  ASSERT_GRL_OK(grl_tensor_backward(s, nullptr, 1));
  ASSERT_GRL_OK(grl_tensor_backward(s, nullptr, 0));
  Host g = grad_of(ta);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(g[i], 2 * std::exp(static_cast<float>(a[i])), 1e-5 * std::exp(2.0) + 1e-5);
  EXPECT_GRL_ERROR(grl_tensor_backward(s, nullptr, 0), GRL_ERROR_INVALID_ARGUMENT, "retain_graph");
}

TEST_F(Autograd, GradModeDetachAndErrors) {
  Host a = Host::random({2, 2}, rng());
  T ta(upload(dev, a)), y, d, z;
  ASSERT_GRL_OK(grl_tensor_set_requires_grad(ta, 1));
  uint32_t prev = 7;
  ASSERT_GRL_OK(grl_set_grad_enabled(0, &prev));
  EXPECT_EQ(prev, 1u);
  EXPECT_EQ(grl_is_grad_enabled(), 0u);
  ASSERT_GRL_OK(grl_mul(ta, ta, y.out()));
  EXPECT_FALSE(grl_tensor_requires_grad(y));
  ASSERT_GRL_OK(grl_tensor_fill_(ta, 1.0));  // in-place is fine with grad mode off
  ASSERT_GRL_OK(grl_set_grad_enabled(1, nullptr));
  EXPECT_GRL_ERROR(grl_tensor_fill_(ta, 2.0), GRL_ERROR_INVALID_ARGUMENT, "requires gradients");
  ASSERT_GRL_OK(grl_tensor_detach(ta, d.out()));
  EXPECT_FALSE(grl_tensor_requires_grad(d));
  ASSERT_GRL_OK(grl_mul(d, ta, z.out()));
  EXPECT_TRUE(grl_tensor_requires_grad(z));
  EXPECT_GRL_ERROR(grl_tensor_backward(z, nullptr, 0), GRL_ERROR_INVALID_ARGUMENT, "one-element");
  EXPECT_GRL_ERROR(grl_tensor_backward(d, nullptr, 0), GRL_ERROR_INVALID_ARGUMENT, "does not require");
  EXPECT_GRL_ERROR(grl_tensor_set_requires_grad(z, 1), GRL_ERROR_INVALID_ARGUMENT, "only leaves");
  T ti(upload(dev, a, GRL_I32));
  EXPECT_GRL_ERROR(grl_tensor_set_requires_grad(ti, 1), GRL_ERROR_DTYPE, "i32");
  T wrong(upload(dev, Host::random({3}, rng())));
  EXPECT_GRL_ERROR(grl_tensor_backward(z, wrong, 0), GRL_ERROR_SHAPE, "grad_output");
}

TEST_F(Autograd, BackwardOnALeafSetsItsGradient) {
  Host a = Host::random({1}, rng());
  T ta(upload(dev, a));
  ASSERT_GRL_OK(grl_tensor_set_requires_grad(ta, 1));
  ASSERT_GRL_OK(grl_tensor_backward(ta, nullptr, 0));
  EXPECT_EQ(grad_of(ta).v, std::vector<double>{1.0});
}

namespace {
// A custom op y = x^3 with backward 3 x^2 g, written against the C ABI only.
struct CubeCtx {
  int releases = 0;
  int backwards = 0;
};
grl_status cube_forward(void*, const grl_tensor* in, int32_t, grl_tensor* out) {
  grl_tensor sq = nullptr;
  grl_status s = grl_mul(in[0], in[0], &sq);
  if (s == GRL_OK) s = grl_mul(sq, in[0], out);
  grl_tensor_release(sq);
  return s;
}
grl_status cube_backward(void* ctx, grl_tensor g, const grl_tensor* in, int32_t, grl_tensor* grads) {
  static_cast<CubeCtx*>(ctx)->backwards++;
  grl_tensor sq = nullptr, t = nullptr;
  grl_status s = grl_mul(in[0], in[0], &sq);
  if (s == GRL_OK) s = grl_mul_scalar(sq, 3.0, &t);
  if (s == GRL_OK) s = grl_mul(t, g, &grads[0]);
  grl_tensor_release(sq);
  grl_tensor_release(t);
  return s;
}
void cube_release(void* ctx) { static_cast<CubeCtx*>(ctx)->releases++; }
// An identity whose forward hands back its input itself (a new reference to the same handle).
grl_status identity_forward(void*, const grl_tensor* in, int32_t, grl_tensor* out) {
  grl_tensor_retain(in[0]);
  *out = in[0];
  return GRL_OK;
}
grl_status identity_backward(void*, grl_tensor g, const grl_tensor*, int32_t, grl_tensor* grads) {
  return grl_mul_scalar(g, 2.0, &grads[0]);  // a deliberately different rule, to see it ran
}
}  // namespace

TEST_F(Autograd, CustomFunctionReturningItsInputKeepsTheInputALeaf) {
  grl_custom_function fn = {GRL_CUSTOM_FUNCTION_VERSION, "twice_grad", identity_forward, identity_backward,
                            nullptr, nullptr};
  Host a = Host::random({4}, rng());
  T ta(upload(dev, a)), y, s;
  ASSERT_GRL_OK(grl_tensor_set_requires_grad(ta, 1));
  grl_tensor ins[1] = {ta};
  ASSERT_GRL_OK(grl_custom_apply(&fn, ins, 1, y.out()));
  EXPECT_EQ(grl_tensor_is_leaf(ta), 1u);
  EXPECT_STREQ(grl_tensor_grad_fn_name(ta), "");
  EXPECT_STREQ(grl_tensor_grad_fn_name(y), "twice_grad");
  int32_t ax = 0;
  ASSERT_GRL_OK(grl_sum(y, &ax, 1, 0, s.out()));
  ASSERT_GRL_OK(grl_tensor_backward(s, nullptr, 0));
  EXPECT_EQ(grad_of(ta).v, std::vector<double>(4, 2.0));
}

TEST_F(Autograd, CustomFunctionFromC) {
  CubeCtx ctx;
  grl_custom_function fn = {GRL_CUSTOM_FUNCTION_VERSION, "cube", cube_forward, cube_backward, cube_release, &ctx};
  Host a = Host::random({5}, rng());
  {
    T ta(upload(dev, a)), y, s;
    ASSERT_GRL_OK(grl_tensor_set_requires_grad(ta, 1));
    grl_tensor ins[1] = {ta};
    ASSERT_GRL_OK(grl_custom_apply(&fn, ins, 1, y.out()));
    EXPECT_STREQ(grl_tensor_grad_fn_name(y), "cube");
    Host hy = download(y);
    for (int i = 0; i < 5; ++i) EXPECT_NEAR(hy[i], std::pow(static_cast<float>(a[i]), 3), 1e-5);
    int32_t ax = 0;
    ASSERT_GRL_OK(grl_sum(y, &ax, 1, 0, s.out()));
    ASSERT_GRL_OK(grl_tensor_backward(s, nullptr, 0));
    Host g = grad_of(ta);
    for (int i = 0; i < 5; ++i) EXPECT_NEAR(g[i], 3 * std::pow(static_cast<float>(a[i]), 2), 1e-5);
    EXPECT_EQ(ctx.backwards, 1);
  }
  EXPECT_EQ(ctx.releases, 1);
  grl_custom_function bad = fn;
  bad.version = 9;
  grl_tensor out = nullptr;
  T ta(upload(dev, a));
  grl_tensor ins[1] = {ta};
  EXPECT_GRL_ERROR(grl_custom_apply(&bad, ins, 1, &out), GRL_ERROR_INVALID_ARGUMENT, "version");
}
