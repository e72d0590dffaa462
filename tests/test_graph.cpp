// Graph capture and replay: replays equal eager calls bit for bit (forward, and a whole training
// step with backward and Adam), inputs rebind, summaries, and the errors of the graph API.
#include <cstring>

#include "testing.h"

using namespace gt;

class Graph : public DeviceTest {};

namespace {

struct Net {
  T w1, b1, w2, b2;
};

Net make_net(grl_device dev, uint64_t seed) {
  Net n;
  int64_t s1[2] = {16, 8}, s2[1] = {16}, s3[2] = {4, 16}, s4[1] = {4};
  EXPECT_EQ(grl_rand_normal(dev, s1, 2, GRL_F32, 0, 0.3, seed, 0, n.w1.out()), GRL_OK);
  EXPECT_EQ(grl_rand_normal(dev, s2, 1, GRL_F32, 0, 0.3, seed, 1000, n.b1.out()), GRL_OK);
  EXPECT_EQ(grl_rand_normal(dev, s3, 2, GRL_F32, 0, 0.3, seed, 2000, n.w2.out()), GRL_OK);
  EXPECT_EQ(grl_rand_normal(dev, s4, 1, GRL_F32, 0, 0.3, seed, 3000, n.b2.out()), GRL_OK);
  for (grl_tensor t : {n.w1.t, n.b1.t, n.w2.t, n.b2.t}) EXPECT_EQ(grl_tensor_set_requires_grad(t, 1), GRL_OK);
  return n;
}

grl_tensor step(Net& n, grl_optimizer opt, grl_tensor x, grl_tensor y) {
  T h, a, logits;
  grl_tensor loss = nullptr;
  EXPECT_EQ(grl_optimizer_zero_grad(opt), GRL_OK);
  EXPECT_EQ(grl_linear(x, n.w1, n.b1, h.out()), GRL_OK);
  EXPECT_EQ(grl_tanh(h, a.out()), GRL_OK);
  EXPECT_EQ(grl_linear(a, n.w2, n.b2, logits.out()), GRL_OK);
  EXPECT_EQ(grl_cross_entropy(logits, y, -100, 0.0, GRL_REDUCTION_MEAN, &loss), GRL_OK);
  EXPECT_EQ(grl_tensor_backward(loss, nullptr, 0), GRL_OK);
  EXPECT_EQ(grl_optimizer_step(opt), GRL_OK);
  return loss;
}

}  // namespace

TEST_F(Graph, TrainingStepReplayEqualsEagerBitForBit) {
  Net eager = make_net(dev, 7), replayed = make_net(dev, 7);
  grl_optimizer_options oo = GRL_OPTIMIZER_OPTIONS_INIT(GRL_OPTIM_ADAM);
  oo.lr = 0.01;
  grl_tensor pe[4] = {eager.w1, eager.b1, eager.w2, eager.b2}, pr[4] = {replayed.w1, replayed.b1, replayed.w2, replayed.b2};
  grl_optimizer oe = nullptr, orp = nullptr;
  ASSERT_GRL_OK(grl_optimizer_create(pe, 4, &oo, &oe));
  ASSERT_GRL_OK(grl_optimizer_create(pr, 4, &oo, &orp));
  int64_t xs[2] = {5, 8}, ys[1] = {5};
  T x, y, gx, gy;
  ASSERT_GRL_OK(grl_tensor_zeros(dev, GRL_F32, xs, 2, gx.out()));
  ASSERT_GRL_OK(grl_tensor_zeros(dev, GRL_I64, ys, 1, gy.out()));
  ASSERT_GRL_OK(grl_graph_begin_capture(dev));
  T graph_loss(step(replayed, orp, gx, gy));
  grl_graph g = nullptr;
  ASSERT_GRL_OK(grl_graph_end_capture(dev, &g));
  ASSERT_GRL_OK(grl_graph_set_input(g, "x", gx));
  ASSERT_GRL_OK(grl_graph_set_input(g, "y", gy));
  ASSERT_GRL_OK(grl_graph_set_output(g, "loss", graph_loss));
  for (int it = 0; it < 4; ++it) {
    Host hx = Host::random({5, 8}, rng());
    std::vector<int64_t> hy = {0, 3, 1, 2, static_cast<int64_t>(it % 4)};
    for (auto& v : hx.v) v = static_cast<float>(v);
    T tx(upload(dev, hx)), ty(upload_i64(dev, hy, {5}));
    T le(step(eager, oe, tx, ty));
    ASSERT_GRL_OK(grl_graph_bind(g, "x", tx));
    ASSERT_GRL_OK(grl_graph_bind(g, "y", ty));
    ASSERT_GRL_OK(grl_graph_replay(g));
    T lr;
    ASSERT_GRL_OK(grl_graph_output(g, "loss", lr.out()));
    EXPECT_EQ(download(le).v, download(lr).v) << "step " << it;
  }
  for (int i = 0; i < 4; ++i) EXPECT_EQ(download(pe[i]).v, download(pr[i]).v) << "parameter " << i;
  int64_t ops = 0;
  ASSERT_GRL_OK(grl_graph_op_count(g, &ops));
  EXPECT_GT(ops, 8);
  size_t need = 0;
  ASSERT_GRL_OK(grl_graph_summary(g, nullptr, 0, &need));
  std::string text(need, '\0');
  ASSERT_GRL_OK(grl_graph_summary(g, text.data(), text.size(), nullptr));
  EXPECT_NE(text.find("input x: [5, 8] f32"), std::string::npos) << text;
  EXPECT_NE(text.find("linalg/"), std::string::npos) << text;
  EXPECT_NE(text.find("output loss: [] f32"), std::string::npos) << text;
  grl_graph_release(g);
  grl_optimizer_release(oe);
  grl_optimizer_release(orp);
}

TEST_F(Graph, ForwardReplayWithHostBindingAndErrors) {
  int64_t s[2] = {3, 4};
  T x;
  ASSERT_GRL_OK(grl_tensor_zeros(dev, GRL_F32, s, 2, x.out()));
  ASSERT_GRL_OK(grl_graph_begin_capture(dev));
  EXPECT_GRL_ERROR(grl_graph_begin_capture(dev), GRL_ERROR_INVALID_ARGUMENT, "already capturing");
  T y, z;
  ASSERT_GRL_OK(grl_exp(x, y.out()));
  ASSERT_GRL_OK(grl_mul_scalar(y, 2.0, z.out()));
  float tmp[12];
  EXPECT_GRL_ERROR(grl_tensor_download(z, tmp, sizeof tmp), GRL_ERROR_INVALID_ARGUMENT, "capturing");
  EXPECT_GRL_ERROR(grl_device_synchronize(dev), GRL_ERROR_INVALID_ARGUMENT, "capturing");
  grl_graph g = nullptr;
  ASSERT_GRL_OK(grl_graph_end_capture(dev, &g));
  ASSERT_GRL_OK(grl_graph_set_input(g, "x", x));
  ASSERT_GRL_OK(grl_graph_set_output(g, "z", z));
  for (int rep = 0; rep < 3; ++rep) {
    float data[12];
    for (int i = 0; i < 12; ++i) data[i] = 0.1f * static_cast<float>(i - rep);
    ASSERT_GRL_OK(grl_graph_bind_host(g, "x", data, sizeof data));
    ASSERT_GRL_OK(grl_graph_replay(g));
    Host hz = download(z);
    for (int i = 0; i < 12; ++i) EXPECT_NEAR(hz[i], 2 * std::exp(data[i]), 1e-6 * 2 * std::exp(data[i]));
  }
  float small[3] = {0, 0, 0};
  EXPECT_GRL_ERROR(grl_graph_bind_host(g, "x", small, sizeof small), GRL_ERROR_SHAPE, "takes 48 bytes");
  EXPECT_GRL_ERROR(grl_graph_bind_host(g, "nope", small, sizeof small), GRL_ERROR_INVALID_ARGUMENT, "no input named 'nope'");
  int64_t other[2] = {4, 3};
  T wrong;
  ASSERT_GRL_OK(grl_tensor_zeros(dev, GRL_F32, other, 2, wrong.out()));
  EXPECT_GRL_ERROR(grl_graph_bind(g, "x", wrong), GRL_ERROR_SHAPE, "captured with shape [3, 4]");
  T wrong_dt;
  ASSERT_GRL_OK(grl_tensor_zeros(dev, GRL_I32, s, 2, wrong_dt.out()));
  EXPECT_GRL_ERROR(grl_graph_bind(g, "x", wrong_dt), GRL_ERROR_DTYPE, "dtype f32");
  grl_tensor o = nullptr;
  EXPECT_GRL_ERROR(grl_graph_output(g, "missing", &o), GRL_ERROR_INVALID_ARGUMENT, "has: z");
  EXPECT_GRL_ERROR(grl_graph_replay(nullptr), GRL_ERROR_NULL_ARGUMENT, "'graph'");
  EXPECT_GRL_ERROR(grl_graph_end_capture(dev, &g), GRL_ERROR_INVALID_ARGUMENT, "not capturing");
  grl_graph_release(g);
  // Memory held by the graph comes back when it goes.
  ASSERT_GRL_OK(grl_device_synchronize(dev));
}
