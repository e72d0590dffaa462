// Gradient checks of the online family: the EWC penalty with respect to theta, theta_star and
// the Fisher diagonal.
#include <grilly.h>

#include "gradcheck.h"

using namespace gt;

namespace {

Host ewc_ref(const std::vector<Host>& x, double lambda) {
  double s = 0;
  for (int64_t i = 0; i < x[0].numel(); ++i) {
    double d = x[0][i] - x[1][i];
    s += x[2][i] * d * d;
  }
  Host r = Host::zeros({});
  r[0] = 0.5 * lambda * s;
  return r;
}

}  // namespace

GRAD_CASE({"ewc_penalty", {{2, 5}, {2, 5}, {2, 5}},
           [](const std::vector<grl_tensor>& t, grl_tensor* out) { return grl_ewc_penalty(t[0], t[1], t[2], 0.7, out); },
           [](const std::vector<Host>& x) { return ewc_ref(x, 0.7); }});
