// Gradient checks of the synapse family: the exponential synapse over a sequence (spikes and the
// initial current), the rate and weighted decoders, and spike-matmul (weight and dense spikes).
#include <cmath>

#include "gradcheck.h"

using namespace gt;

namespace {

using Run = std::function<grl_status(const std::vector<grl_tensor>&, grl_tensor*)>;
using Ref = std::function<Host(const std::vector<Host>&)>;

// I_t = a I_{t-1} + w s_t over [T, n], I_{-1} = c0 (or 0).
Host exp_ref(const Host& s, const Host* c0, double a, double w) {
  Host r = Host::zeros(s.shape);
  const int64_t T = s.shape[0], n = T ? s.numel() / T : 0;
  for (int64_t i = 0; i < n; ++i) {
    double y = c0 ? (*c0)[i] : 0.0;
    for (int64_t t = 0; t < T; ++t) r[t * n + i] = y = a * y + w * s[t * n + i];
  }
  return r;
}

Host weighted_ref(const Host& s, const std::vector<double>& w) {
  const int64_t T = s.shape[0], n = s.numel() / T;
  Host r = Host::zeros(Shape(s.shape.begin() + 1, s.shape.end()));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < T; ++t) r[i] += w[static_cast<size_t>(t)] * s[t * n + i];
  return r;
}

const double kA = std::exp(-1.0 / 4.0);

}  // namespace

GRAD_CASE({"synapse_exp", {{5, 2, 3}, {2, 3}},
           Run([](const std::vector<grl_tensor>& t, grl_tensor* out) { return grl_synapse_exp(t[0], t[1], 1.0, 4.0, 0.8, out); }),
           Ref([](const std::vector<Host>& x) { return exp_ref(x[0], &x[1], kA, 0.8); })});
GRAD_CASE({"synapse_exp", {{7, 4}},
           Run([](const std::vector<grl_tensor>& t, grl_tensor* out) { return grl_synapse_exp(t[0], nullptr, 1.0, 4.0, -1.3, out); }),
           Ref([](const std::vector<Host>& x) { return exp_ref(x[0], nullptr, kA, -1.3); })});
GRAD_CASE({"decode_rate", {{6, 2, 3}},
           Run([](const std::vector<grl_tensor>& t, grl_tensor* out) { return grl_decode_rate(t[0], 4, out); }),
           Ref([](const std::vector<Host>& x) { return weighted_ref(x[0], {0, 0, 0.25, 0.25, 0.25, 0.25}); })});
GRAD_CASE({"decode_weighted", {{5, 4}},
           Run([](const std::vector<grl_tensor>& t, grl_tensor* out) { return grl_decode_weighted(t[0], nullptr, 2.0, out); }),
           Ref([](const std::vector<Host>& x) {
             std::vector<double> w;
             for (int t = 0; t < 5; ++t) w.push_back(std::exp(-(4.0 - t) / 2.0));
             return weighted_ref(x[0], w);
           })});
GRAD_CASE({"decode_weighted", {{5, 2, 2}, {5}},
           Run([](const std::vector<grl_tensor>& t, grl_tensor* out) { return grl_decode_weighted(t[0], t[1], 0, out); }),
           Ref([](const std::vector<Host>& x) { return weighted_ref(x[0], x[1].v); })});
GRAD_CASE({"spike_matmul", {{3, 9}, {9, 5}},
           Run([](const std::vector<grl_tensor>& t, grl_tensor* out) { return grl_spike_matmul(t[0], t[1], out); }),
           Ref([](const std::vector<Host>& x) {
             Host r = Host::zeros({3, 5});
             for (int b = 0; b < 3; ++b)
               for (int k = 0; k < 9; ++k)
                 for (int n = 0; n < 5; ++n) r[b * 5 + n] += x[0][b * 9 + k] * x[1][k * 5 + n];
             return r;
           })});
// Spikes as a fixed 0/1 input: only the weight is differentiated.
GRAD_CASE({"spike_matmul", {{4, 6}, {6, 3}},
           Run([](const std::vector<grl_tensor>& t, grl_tensor* out) { return grl_spike_matmul(t[0], t[1], out); }),
           Ref([](const std::vector<Host>& x) {
             Host r = Host::zeros({4, 3});
             for (int b = 0; b < 4; ++b)
               for (int k = 0; k < 6; ++k)
                 for (int n = 0; n < 3; ++n) r[b * 3 + n] += x[0][b * 6 + k] * x[1][k * 3 + n];
             return r;
           }),
           -2, 2, {0}, [](std::vector<Host>& x) {
             for (auto& v : x[0].v) v = v > 0.5 ? 1.0 : 0.0;
           }});
