/* quickstart.c: open the default device, run a small network forward pass on it
 * (linear -> gelu -> linear -> softmax), and check the result against plain C on the host.
 * Build against an installed grilly:  cc quickstart.c $(pkg-config --cflags --libs grilly) -lm */
#include <grilly.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(call)                                                                  \
  do {                                                                               \
    grl_status s_ = (call);                                                          \
    if (s_ != GRL_OK) {                                                              \
      fprintf(stderr, "%s failed (%s): %s\n", #call, grl_status_string(s_), grl_last_error_message()); \
      exit(1);                                                                       \
    }                                                                                \
  } while (0)

enum { BATCH = 8, IN = 32, HIDDEN = 64, OUT = 10 };

static float frand(unsigned* state) {
  *state = *state * 1664525u + 1013904223u;
  return (float)((*state >> 8) & 0xffff) / 65536.0f - 0.5f;
}

int main(void) {
  grl_device dev;
  CHECK(grl_device_create(NULL, &dev));
  grl_device_info info;
  CHECK(grl_device_get_info(dev, &info));
  printf("grilly %s on %s (subgroup %u, fp16 %s, cooperative matrix %s)\n", grl_version_string(), info.name,
         info.subgroup_size, info.supports_fp16 ? "yes" : "no", info.supports_cooperative_matrix ? "yes" : "no");

  static float x[BATCH * IN], w1[HIDDEN * IN], b1[HIDDEN], w2[OUT * HIDDEN], b2[OUT];
  unsigned seed = 42;
  for (int i = 0; i < BATCH * IN; ++i) x[i] = frand(&seed) * 4;
  for (int i = 0; i < HIDDEN * IN; ++i) w1[i] = frand(&seed) / 2;
  for (int i = 0; i < HIDDEN; ++i) b1[i] = frand(&seed);
  for (int i = 0; i < OUT * HIDDEN; ++i) w2[i] = frand(&seed) / 2;
  for (int i = 0; i < OUT; ++i) b2[i] = frand(&seed);

  int64_t sx[2] = {BATCH, IN}, sw1[2] = {HIDDEN, IN}, sb1[1] = {HIDDEN}, sw2[2] = {OUT, HIDDEN}, sb2[1] = {OUT};
  grl_tensor tx, tw1, tb1, tw2, tb2, h, a, logits, probs;
  CHECK(grl_tensor_from_host(dev, GRL_F32, sx, 2, x, sizeof x, &tx));
  CHECK(grl_tensor_from_host(dev, GRL_F32, sw1, 2, w1, sizeof w1, &tw1));
  CHECK(grl_tensor_from_host(dev, GRL_F32, sb1, 1, b1, sizeof b1, &tb1));
  CHECK(grl_tensor_from_host(dev, GRL_F32, sw2, 2, w2, sizeof w2, &tw2));
  CHECK(grl_tensor_from_host(dev, GRL_F32, sb2, 1, b2, sizeof b2, &tb2));

  /* Four ops recorded back to back; the host waits only at the download. */
  CHECK(grl_linear(tx, tw1, tb1, &h));
  CHECK(grl_gelu(h, GRL_GELU_EXACT, &a));
  CHECK(grl_linear(a, tw2, tb2, &logits));
  CHECK(grl_softmax(logits, -1, &probs));
  static float got[BATCH * OUT];
  CHECK(grl_tensor_download(probs, got, sizeof got));

  /* The same forward pass on the host, in double precision. */
  double max_err = 0;
  for (int b = 0; b < BATCH; ++b) {
    double hid[HIDDEN], lo[OUT], mx = -INFINITY, sum = 0;
    for (int j = 0; j < HIDDEN; ++j) {
      double acc = b1[j];
      for (int k = 0; k < IN; ++k) acc += (double)x[b * IN + k] * w1[j * IN + k];
      hid[j] = 0.5 * acc * (1 + erf(acc / sqrt(2.0)));
    }
    for (int o = 0; o < OUT; ++o) {
      double acc = b2[o];
      for (int j = 0; j < HIDDEN; ++j) acc += hid[j] * w2[o * HIDDEN + j];
      lo[o] = acc;
      if (acc > mx) mx = acc;
    }
    for (int o = 0; o < OUT; ++o) sum += exp(lo[o] - mx);
    for (int o = 0; o < OUT; ++o) {
      double ref = exp(lo[o] - mx) / sum, err = fabs(ref - got[b * OUT + o]);
      if (err > max_err) max_err = err;
    }
  }
  printf("probabilities of sample 0:");
  for (int o = 0; o < OUT; ++o) printf(" %.4f", got[o]);
  printf("\nmax |grilly - host| over %d x %d probabilities: %.2e\n", BATCH, OUT, max_err);

  grl_memory_stats st;
  CHECK(grl_device_memory_stats(dev, &st));
  printf("device memory: %llu bytes in use, %llu reserved, %llu submissions\n",
         (unsigned long long)st.bytes_in_use, (unsigned long long)st.bytes_reserved,
         (unsigned long long)st.submissions);

  grl_tensor all[] = {tx, tw1, tb1, tw2, tb2, h, a, logits, probs};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) grl_tensor_release(all[i]);
  grl_device_release(dev);
  if (max_err > 1e-5) {
    fprintf(stderr, "FAILED: the device result differs from the host reference\n");
    return 1;
  }
  printf("OK\n");
  return 0;
}
