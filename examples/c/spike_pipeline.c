/* spike_pipeline.c: rates -> Poisson spikes -> spike-matmul -> exponential synapse -> rate readout.
 * Checks each stage against what theory predicts (decoded rates, group means, steady-state current)
 * and exits non-zero when one is off. Usage: spike_pipeline [--quiet] */
#include <grilly.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                                    \
  do {                                                                                 \
    grl_status s_ = (call);                                                            \
    if (s_ != GRL_OK) {                                                                \
      fprintf(stderr, "%s failed: %s\n", #call, grl_last_error_message());             \
      exit(1);                                                                         \
    }                                                                                  \
  } while (0)

enum { N_IN = 64, GROUPS = 4, T = 2000 };

int main(int argc, char** argv) {
  int quiet = argc > 1 && strcmp(argv[1], "--quiet") == 0;
  grl_device dev;
  CHECK(grl_device_create(NULL, &dev));

  /* Input i fires at i / (N_IN - 1) * 100 Hz, steps of 1 ms (p up to 0.1 per step). */
  float rates[N_IN];
  for (int i = 0; i < N_IN; ++i) rates[i] = 100.0f * (float)i / (N_IN - 1);
  int64_t rshape[1] = {N_IN};
  grl_tensor r, spikes;
  CHECK(grl_tensor_from_host(dev, GRL_F32, rshape, 1, rates, sizeof rates, &r));
  CHECK(grl_encode_poisson(r, T, 1.0, GRL_F32, 2024, 0, &spikes));

  /* 1. The rate decoder recovers each input's probability per step. */
  grl_tensor est;
  float got[N_IN];
  CHECK(grl_decode_rate(spikes, 0, &est));
  CHECK(grl_tensor_download(est, got, sizeof got));
  int bad = 0;
  for (int i = 0; i < N_IN; ++i) {
    double p = rates[i] / 1000.0, se = sqrt(p * (1 - p) / T);
    if (fabs(got[i] - p) > 5 * se + 1e-6) {
      fprintf(stderr, "input %d: decoded %.4f, expected %.4f\n", i, got[i], p);
      bad = 1;
    }
  }

  /* 2. Spike-matmul pools groups of 16 inputs: W[k][g] = 1/16 where k / 16 == g. */
  float w[N_IN * GROUPS];
  memset(w, 0, sizeof w);
  for (int k = 0; k < N_IN; ++k) w[k * GROUPS + k / (N_IN / GROUPS)] = 1.0f / (N_IN / GROUPS);
  int64_t wshape[2] = {N_IN, GROUPS};
  grl_tensor tw, pooled, pooled_rate;
  CHECK(grl_tensor_from_host(dev, GRL_F32, wshape, 2, w, sizeof w, &tw));
  CHECK(grl_spike_matmul(spikes, tw, &pooled)); /* [T, N_IN] x [N_IN, GROUPS] -> [T, GROUPS] */
  CHECK(grl_decode_rate(pooled, 0, &pooled_rate));
  float gr[GROUPS];
  CHECK(grl_tensor_download(pooled_rate, gr, sizeof gr));
  double want[GROUPS];
  for (int g = 0; g < GROUPS; ++g) {
    want[g] = 0;
    for (int k = g * 16; k < (g + 1) * 16; ++k) want[g] += got[k] / 16.0; /* the same spikes, pooled */
    if (fabs(gr[g] - want[g]) > 1e-5) {
      fprintf(stderr, "group %d: pooled rate %.6f, mean of its inputs %.6f\n", g, gr[g], want[g]);
      bad = 1;
    }
  }

  /* 3. An exponential synapse (tau 5 ms) on the pooled input: over the second half its mean
   *    current is that half's input rate / (1 - exp(-dt / tau)), up to edge terms of order
   *    tau / (T / 2). */
  const double tau = 5.0, a = exp(-1.0 / tau);
  grl_tensor cur, late_mean, late_in;
  CHECK(grl_synapse_exp(pooled, NULL, 1.0, tau, 1.0, &cur));
  CHECK(grl_decode_rate(cur, T / 2, &late_mean));
  CHECK(grl_decode_rate(pooled, T / 2, &late_in));
  float cm[GROUPS], li[GROUPS];
  CHECK(grl_tensor_download(late_mean, cm, sizeof cm));
  CHECK(grl_tensor_download(late_in, li, sizeof li));
  for (int g = 0; g < GROUPS; ++g) {
    double theory = li[g] / (1 - a);
    if (fabs(cm[g] - theory) > 0.02 * theory + 1e-3) {
      fprintf(stderr, "group %d: mean current %.4f, steady state %.4f\n", g, cm[g], theory);
      bad = 1;
    }
    if (!quiet)
      printf("group %d: rate %.4f per ms, mean synaptic current %.4f (steady state %.4f)\n", g, gr[g], cm[g], theory);
  }

  grl_tensor all[] = {r, spikes, est, tw, pooled, pooled_rate, cur, late_mean, late_in};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) grl_tensor_release(all[i]);
  grl_device_release(dev);
  printf("%s\n", bad ? "spike_pipeline: FAILED" : "spike_pipeline: ok");
  return bad;
}
