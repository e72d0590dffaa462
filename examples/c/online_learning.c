/* online_learning.c: the continual-learning ops on a stream. A gated ensemble of NLMS filters
 * tracks a linear system that switches abruptly halfway; ZCA whitens correlated features; the
 * EWC penalty is checked against the host. Exits 1 when a result is off (it is also a test).
 * Build against an installed grilly:  cc online_learning.c $(pkg-config --cflags --libs grilly) -lm */
#include <grilly.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                                  \
  do {                                                                               \
    grl_status s_ = (call);                                                          \
    if (s_ != GRL_OK) {                                                              \
      fprintf(stderr, "%s failed (%s): %s\n", #call, grl_status_string(s_), grl_last_error_message()); \
      exit(1);                                                                       \
    }                                                                                \
  } while (0)

enum { D = 6, E = 3, BATCH = 50, BATCHES = 80, N_ZCA = 2000 };

static unsigned rng_state = 7;
static double urand(void) { /* uniform in [-1, 1) */
  rng_state = rng_state * 1664525u + 1013904223u;
  return (double)(rng_state >> 8) / 8388608.0 - 1.0;
}
static double nrand(void) { /* approximately N(0, 1): sum of 12 uniforms in [0, 1), minus 6 */
  double s = 0;
  for (int i = 0; i < 12; ++i) s += 0.5 * (urand() + 1.0);
  return s - 6.0;
}

static grl_tensor upload(grl_device dev, const float* data, const int64_t* shape, int32_t ndim) {
  int64_t n = 1;
  for (int i = 0; i < ndim; ++i) n *= shape[i];
  grl_tensor t;
  CHECK(grl_tensor_from_host(dev, GRL_F32, shape, ndim, data, (size_t)n * sizeof(float), &t));
  return t;
}

int main(int argc, char** argv) {
  int quiet = argc > 1 && strcmp(argv[1], "--quiet") == 0;
  int failures = 0;
  grl_device dev;
  CHECK(grl_device_create(NULL, &dev));

  /* ---- NLMS ensemble tracking a system that switches at batch BATCHES / 2 ---- */
  float w_sys[2][D];
  for (int k = 0; k < 2; ++k)
    for (int j = 0; j < D; ++j) w_sys[k][j] = (float)urand();
  static float w0[E * D], b0[E], mu0[E] = {0.02f, 0.2f, 0.9f}, msq0[E];
  int64_t s_w[2] = {E, D}, s_e[1] = {E}, s_x[2] = {BATCH, D}, s_t[1] = {BATCH};
  grl_tensor w = upload(dev, w0, s_w, 2), b = upload(dev, b0, s_e, 1), mu = upload(dev, mu0, s_e, 1);
  grl_tensor msq = upload(dev, msq0, s_e, 1);
  grl_nlms_options opts = GRL_NLMS_OPTIONS_INIT;
  opts.rmse_decay = 0.95;
  double sq_err_before = 0, sq_err_after = 0;
  for (int it = 0; it < BATCHES; ++it) {
    const float* ws = w_sys[it < BATCHES / 2 ? 0 : 1];
    static float x[BATCH * D], t[BATCH], y[BATCH];
    for (int r = 0; r < BATCH; ++r) {
      double s = 0.01 * nrand(); /* measurement noise, std 0.01 */
      for (int j = 0; j < D; ++j) {
        x[r * D + j] = (float)urand();
        s += ws[j] * x[r * D + j];
      }
      t[r] = (float)s;
    }
    grl_tensor tx = upload(dev, x, s_x, 2), tt = upload(dev, t, s_t, 1), pred;
    /* Predict first (the gated mixture), then learn from the same batch. */
    CHECK(grl_nlms_ensemble_predict(tx, w, b, msq, 0.05, &pred));
    CHECK(grl_nlms_ensemble_update_(w, b, mu, msq, tx, tt, &opts, NULL));
    CHECK(grl_tensor_download(pred, y, sizeof y));
    double se = 0;
    for (int r = 0; r < BATCH; ++r) se += (y[r] - t[r]) * (y[r] - t[r]);
    if (it >= BATCHES / 2 - 10 && it < BATCHES / 2) sq_err_before += se;
    if (it >= BATCHES - 10) sq_err_after += se;
    if (!quiet && it % 10 == 0) printf("batch %2d  gated rmse %.4f\n", it, sqrt(se / BATCH));
    grl_tensor_release(pred);
    grl_tensor_release(tx);
    grl_tensor_release(tt);
  }
  double rmse_before = sqrt(sq_err_before / (10 * BATCH)), rmse_after = sqrt(sq_err_after / (10 * BATCH));
  float msq_h[E];
  CHECK(grl_tensor_download(msq, msq_h, sizeof msq_h));
  printf("NLMS ensemble: rmse %.4f before the switch, %.4f at the end (expert rmse %.3f %.3f %.3f)\n", rmse_before,
         rmse_after, sqrt(msq_h[0]), sqrt(msq_h[1]), sqrt(msq_h[2]));
  if (!(rmse_before < 0.05 && rmse_after < 0.05)) {
    fprintf(stderr, "FAIL: the ensemble did not track the system (rmse above 0.05)\n");
    ++failures;
  }

  /* ---- ZCA whitening of correlated features ---- */
  static float xz[N_ZCA * D];
  for (int r = 0; r < N_ZCA; ++r) {
    double z[D];
    for (int j = 0; j < D; ++j) z[j] = nrand();
    for (int j = 0; j < D; ++j) xz[r * D + j] = (float)(5.0 + z[j] + 0.5 * z[(j + 1) % D] + (j == 0 ? 2.0 * z[3] : 0.0));
  }
  int64_t s_z[2] = {N_ZCA, D};
  grl_tensor tz = upload(dev, xz, s_z, 2), mean, wz, yz;
  CHECK(grl_zca_fit(tz, 1e-5, 30, &mean, &wz));
  CHECK(grl_zca_apply(tz, mean, wz, &yz));
  static float yh[N_ZCA * D];
  CHECK(grl_tensor_download(yz, yh, sizeof yh));
  double worst = 0;
  for (int i = 0; i < D; ++i)
    for (int j = 0; j < D; ++j) {
      double c = 0;
      for (int r = 0; r < N_ZCA; ++r) c += (double)yh[r * D + i] * yh[r * D + j];
      worst = fmax(worst, fabs(c / N_ZCA - (i == j ? 1.0 : 0.0)));
    }
  printf("ZCA: largest deviation of the whitened covariance from I: %.2e\n", worst);
  if (!(worst < 1e-3)) {
    fprintf(stderr, "FAIL: whitened covariance is not the identity\n");
    ++failures;
  }

  /* ---- EWC: Fisher from squared gradients, then the penalty of moving away from theta* ---- */
  enum { P = 1000 };
  static float theta[P], star[P], grad[P], fisher0[P];
  double ref = 0;
  for (int i = 0; i < P; ++i) {
    star[i] = (float)urand();
    theta[i] = star[i] + 0.1f * (float)urand();
    grad[i] = (float)urand();
  }
  int64_t s_p[1] = {P};
  grl_tensor tth = upload(dev, theta, s_p, 1), tst = upload(dev, star, s_p, 1), tg = upload(dev, grad, s_p, 1);
  grl_tensor tf = upload(dev, fisher0, s_p, 1), pen;
  for (int k = 0; k < 4; ++k) CHECK(grl_fisher_info_update_(tf, tg, GRL_FISHER_ACCUMULATE, 0.0, 0.25));
  CHECK(grl_ewc_penalty(tth, tst, tf, 100.0, &pen));
  float got;
  CHECK(grl_tensor_download(pen, &got, sizeof got));
  for (int i = 0; i < P; ++i) {
    double f = (double)grad[i] * grad[i], d = (double)theta[i] - star[i];
    ref += 0.5 * 100.0 * f * d * d;
  }
  printf("EWC penalty %.5f (host %.5f)\n", got, ref);
  if (!(fabs(got - ref) <= 1e-4 * fabs(ref))) {
    fprintf(stderr, "FAIL: EWC penalty differs from the host\n");
    ++failures;
  }

  grl_tensor all[] = {w, b, mu, msq, tz, mean, wz, yz, tth, tst, tg, tf, pen};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) grl_tensor_release(all[i]);
  grl_device_release(dev);
  return failures ? 1 : 0;
}
