// Gradient checks of the elementwise ops and the view/layout ops.
#include <cmath>

#include "gradcheck.h"

using namespace gt;

namespace {

using BinFn = grl_status (*)(grl_tensor, grl_tensor, grl_tensor*);
using ScalarFn = grl_status (*)(grl_tensor, double, grl_tensor*);
using UnFn = grl_status (*)(grl_tensor, grl_tensor*);

std::function<Host(const std::vector<Host>&)> bin_ref(double (*f)(double, double)) {
  return [f](const std::vector<Host>& x) {
    Shape s = broadcast(x[0].shape, x[1].shape);
    Host r = Host::zeros(s);
    for (int64_t i = 0; i < r.numel(); ++i) r[i] = f(x[0][bcast_index(s, x[0].shape, i)], x[1][bcast_index(s, x[1].shape, i)]);
    return r;
  };
}

std::function<grl_status(const std::vector<grl_tensor>&, grl_tensor*)> bin_run(BinFn fn) {
  return [fn](const std::vector<grl_tensor>& t, grl_tensor* out) { return fn(t[0], t[1], out); };
}

std::function<Host(const std::vector<Host>&)> un_ref(std::function<double(double)> f) {
  return [f](const std::vector<Host>& x) {
    Host r = x[0];
    for (auto& v : r.v) v = f(v);
    return r;
  };
}

std::function<grl_status(const std::vector<grl_tensor>&, grl_tensor*)> un_run(UnFn fn) {
  return [fn](const std::vector<grl_tensor>& t, grl_tensor* out) { return fn(t[0], out); };
}

std::function<grl_status(const std::vector<grl_tensor>&, grl_tensor*)> sc_run(ScalarFn fn, double s) {
  return [fn, s](const std::vector<grl_tensor>& t, grl_tensor* out) { return fn(t[0], s, out); };
}

// Keeps values away from points where the derivative jumps (|x| small, x equal to a scalar).
void away_from(std::vector<Host>& xs, double point, double gap) {
  for (auto& x : xs)
    for (auto& v : x.v)
      if (std::abs(v - point) < gap) v = point + (v >= point ? gap : -gap);
}

double sig(double x) { return 1 / (1 + std::exp(-x)); }

}  // namespace

GRAD_CASE({"add", {{2, 3}, {3}}, bin_run(grl_add), bin_ref([](double a, double b) { return a + b; })});
GRAD_CASE({"sub", {{2, 1, 3}, {4, 1}}, bin_run(grl_sub), bin_ref([](double a, double b) { return a - b; })});
GRAD_CASE({"mul", {{3, 4}, {3, 1}}, bin_run(grl_mul), bin_ref([](double a, double b) { return a * b; })});
GRAD_CASE({"div", {{5}, {5}}, bin_run(grl_div), bin_ref([](double a, double b) { return a / b; }), 0.5, 2.0});
GRAD_CASE({"pow", {{2, 3}, {2, 3}}, bin_run(grl_pow), bin_ref([](double a, double b) { return std::pow(a, b); }), 0.5, 2.0});
GRAD_CASE({"minimum", {{4, 3}, {3}}, bin_run(grl_minimum), bin_ref([](double a, double b) { return std::min(a, b); })});
GRAD_CASE({"maximum", {{4, 3}, {4, 1}}, bin_run(grl_maximum), bin_ref([](double a, double b) { return std::max(a, b); })});

GRAD_CASE({"add_scalar", {{6}}, sc_run(grl_add_scalar, 1.5), un_ref([](double a) { return a + 1.5; })});
GRAD_CASE({"sub_scalar", {{6}}, sc_run(grl_sub_scalar, 1.5), un_ref([](double a) { return a - 1.5; })});
GRAD_CASE({"rsub_scalar", {{6}}, sc_run(grl_rsub_scalar, 1.5), un_ref([](double a) { return 1.5 - a; })});
GRAD_CASE({"mul_scalar", {{6}}, sc_run(grl_mul_scalar, -2.5), un_ref([](double a) { return a * -2.5; })});
GRAD_CASE({"div_scalar", {{6}}, sc_run(grl_div_scalar, 4.0), un_ref([](double a) { return a / 4.0; })});
GRAD_CASE({"rdiv_scalar", {{6}}, sc_run(grl_rdiv_scalar, 3.0), un_ref([](double a) { return 3.0 / a; }), 0.5, 2.0});
GRAD_CASE({"pow_scalar", {{6}}, sc_run(grl_pow_scalar, 2.5), un_ref([](double a) { return std::pow(a, 2.5); }), 0.5, 2.0});
GRAD_CASE({"rpow_scalar", {{6}}, sc_run(grl_rpow_scalar, 1.7), un_ref([](double a) { return std::pow(1.7, a); })});
GRAD_CASE({"minimum_scalar", {{8}}, sc_run(grl_minimum_scalar, 0.3), un_ref([](double a) { return std::min(a, 0.3); }),
           -2, 2, {}, [](std::vector<Host>& x) { away_from(x, 0.3, 0.05); }});
GRAD_CASE({"maximum_scalar", {{8}}, sc_run(grl_maximum_scalar, 0.3), un_ref([](double a) { return std::max(a, 0.3); }),
           -2, 2, {}, [](std::vector<Host>& x) { away_from(x, 0.3, 0.05); }});

GRAD_CASE({"neg", {{7}}, un_run(grl_neg), un_ref([](double a) { return -a; })});
GRAD_CASE({"abs", {{7}}, un_run(grl_abs), un_ref([](double a) { return std::abs(a); }), -2, 2, {},
           [](std::vector<Host>& x) { away_from(x, 0, 0.05); }});
GRAD_CASE({"exp", {{7}}, un_run(grl_exp), un_ref([](double a) { return std::exp(a); })});
GRAD_CASE({"log", {{7}}, un_run(grl_log), un_ref([](double a) { return std::log(a); }), 0.2, 3});
GRAD_CASE({"sqrt", {{7}}, un_run(grl_sqrt), un_ref([](double a) { return std::sqrt(a); }), 0.2, 3});
GRAD_CASE({"rsqrt", {{7}}, un_run(grl_rsqrt), un_ref([](double a) { return 1 / std::sqrt(a); }), 0.2, 3});
GRAD_CASE({"sin", {{7}}, un_run(grl_sin), un_ref([](double a) { return std::sin(a); })});
GRAD_CASE({"cos", {{7}}, un_run(grl_cos), un_ref([](double a) { return std::cos(a); })});
GRAD_CASE({"tanh", {{7}}, un_run(grl_tanh), un_ref([](double a) { return std::tanh(a); })});
GRAD_CASE({"sigmoid", {{7}}, un_run(grl_sigmoid), un_ref(sig)});
GRAD_CASE({"clamp", {{9}},
           [](const std::vector<grl_tensor>& t, grl_tensor* out) { return grl_clamp(t[0], -0.5, 1.0, out); },
           un_ref([](double a) { return std::min(std::max(a, -0.5), 1.0); }), -2, 2, {},
           [](std::vector<Host>& x) { away_from(x, -0.5, 0.05); away_from(x, 1.0, 0.05); }});
GRAD_CASE({"where", {{3, 1}, {3, 4}, {4}},
           [](const std::vector<grl_tensor>& t, grl_tensor* out) {
             grl_tensor mask = nullptr;
             grl_status s = grl_gt_scalar(t[0], 0.0, &mask);
             if (s != GRL_OK) return s;
             s = grl_where(mask, t[1], t[2], out);
             grl_tensor_release(mask);
             return s;
           },
           [](const std::vector<Host>& x) {
             Host r = Host::zeros({3, 4});
             for (int i = 0; i < 3; ++i)
               for (int j = 0; j < 4; ++j) r[i * 4 + j] = x[0][i] > 0 ? x[1][i * 4 + j] : x[2][j];
             return r;
           },
           -2, 2, {0}});

// Views and layout.
GRAD_CASE({"reshape", {{2, 6}},
           [](const std::vector<grl_tensor>& t, grl_tensor* out) {
             int64_t s[3] = {3, 2, 2};
             return grl_reshape(t[0], s, 3, out);
           },
           [](const std::vector<Host>& x) { Host r = x[0]; r.shape = {3, 2, 2}; return r; }});
GRAD_CASE({"transpose", {{2, 3}},
           [](const std::vector<grl_tensor>& t, grl_tensor* out) { return grl_transpose(t[0], 0, 1, out); },
           [](const std::vector<Host>& x) {
             Host r = Host::zeros({3, 2});
             for (int i = 0; i < 2; ++i)
               for (int j = 0; j < 3; ++j) r[j * 2 + i] = x[0][i * 3 + j];
             return r;
           }});
GRAD_CASE({"permute", {{2, 3, 4}},
           [](const std::vector<grl_tensor>& t, grl_tensor* out) {
             int32_t a[3] = {2, 0, 1};
             return grl_permute(t[0], a, 3, out);
           },
           [](const std::vector<Host>& x) {
             Host r = Host::zeros({4, 2, 3});
             for (int i = 0; i < 2; ++i)
               for (int j = 0; j < 3; ++j)
                 for (int k = 0; k < 4; ++k) r[(k * 2 + i) * 3 + j] = x[0][(i * 3 + j) * 4 + k];
             return r;
           }});
GRAD_CASE({"slice", {{3, 7}},
           [](const std::vector<grl_tensor>& t, grl_tensor* out) { return grl_slice(t[0], 1, 1, 7, 2, out); },
           [](const std::vector<Host>& x) {
             Host r = Host::zeros({3, 3});
             for (int i = 0; i < 3; ++i)
               for (int j = 0; j < 3; ++j) r[i * 3 + j] = x[0][i * 7 + 1 + 2 * j];
             return r;
           }});
GRAD_CASE({"expand", {{3, 1}},
           [](const std::vector<grl_tensor>& t, grl_tensor* out) {
             int64_t s[3] = {2, 3, 4};
             return grl_expand(t[0], s, 3, out);
           },
           [](const std::vector<Host>& x) {
             Host r = Host::zeros({2, 3, 4});
             for (int64_t i = 0; i < 24; ++i) r[i] = x[0][(i / 4) % 3];
             return r;
           }});
GRAD_CASE({"squeeze", {{3, 1, 2}},
           [](const std::vector<grl_tensor>& t, grl_tensor* out) { return grl_squeeze(t[0], 1, out); },
           [](const std::vector<Host>& x) { Host r = x[0]; r.shape = {3, 2}; return r; }});
GRAD_CASE({"unsqueeze", {{3, 2}},
           [](const std::vector<grl_tensor>& t, grl_tensor* out) { return grl_unsqueeze(t[0], 0, out); },
           [](const std::vector<Host>& x) { Host r = x[0]; r.shape = {1, 3, 2}; return r; }});
GRAD_CASE({"contiguous", {{3, 4}},
           [](const std::vector<grl_tensor>& t, grl_tensor* out) {
             grl_tensor tr = nullptr;
             grl_status s = grl_transpose(t[0], 0, 1, &tr);
             if (s == GRL_OK) s = grl_contiguous(tr, out);
             grl_tensor_release(tr);
             return s;
           },
           [](const std::vector<Host>& x) {
             Host r = Host::zeros({4, 3});
             for (int i = 0; i < 3; ++i)
               for (int j = 0; j < 4; ++j) r[j * 3 + i] = x[0][i * 4 + j];
             return r;
           }});
GRAD_CASE({"clone", {{5}}, un_run(grl_clone), un_ref([](double a) { return a; })});
GRAD_CASE({"cast", {{5}},
           [](const std::vector<grl_tensor>& t, grl_tensor* out) {
             grl_tensor h = nullptr;  // f32 -> f32 cast (exact) exercises the rule without rounding noise
             grl_status s = grl_cast(t[0], GRL_F32, &h);
             if (s == GRL_OK) s = grl_mul_scalar(h, 2.0, out);
             grl_tensor_release(h);
             return s;
           },
           un_ref([](double a) { return 2 * a; })});
