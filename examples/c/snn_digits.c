/* snn_digits.c: trains a spiking network on the 8x8 digits (examples/data/digits.u8, the same
 * 80/20 split with a fixed shuffle as train_digits.c) with surrogate gradients, from plain C.
 * Input: deterministic rate coding over T steps: a pixel of intensity p = value / 16 in [0, 1]
 * spikes at step t (0-based) when floor((t + 1) p + 1/2) > floor(t p + 1/2), round(T p) spikes in
 * all, evenly spaced; with --poisson, Poisson (Bernoulli per step) draws with probability p from
 * grl_rand_uniform: a spike where u < p. Network: linear 64 -> HIDDEN, a multi-step LIF node (tau 2, threshold 1,
 * hard reset to 0, ATan surrogate, detached reset), linear HIDDEN -> 10, and a non-firing LIF
 * readout whose final membrane potential is the logits; cross-entropy, Adam. Exits 1 below 90%
 * test accuracy. Usage: snn_digits [--poisson] [--epochs N] [--data PATH] [--quiet] */
#include <grilly.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digits.h"

#define CHECK(call)                                                                  \
  do {                                                                               \
    grl_status s_ = (call);                                                          \
    if (s_ != GRL_OK) {                                                              \
      fprintf(stderr, "%s:%d %s failed (%s): %s\n", __FILE__, __LINE__, #call, grl_status_string(s_), \
              grl_last_error_message());                                             \
      exit(1);                                                                       \
    }                                                                                \
  } while (0)

enum { N_IMAGES = 1797, PIXELS = 64, CLASSES = 10, HIDDEN = 96, BATCH = 64, STEPS = 6 };
enum { N_TRAIN = 1437, N_TEST = N_IMAGES - N_TRAIN };

typedef struct {
  grl_tensor w1, b1, w2, b2;
} Snn;

static grl_tensor param(grl_device dev, int64_t rows, int64_t cols, uint64_t seed) {
  /* nn.Linear's initialisation: kaiming_uniform(a = sqrt(5)) weights, uniform +-1/sqrt(fan_in) bias. */
  grl_tensor t;
  if (cols > 0) {
    int64_t shape[2] = {rows, cols};
    CHECK(grl_tensor_empty(dev, GRL_F32, shape, 2, &t));
    CHECK(grl_init_kaiming_uniform_(t, sqrt(5.0), GRL_FAN_IN, seed));
  } else {
    int64_t shape[1] = {rows};
    double bound = 1.0 / sqrt((double)-cols);
    CHECK(grl_rand_uniform(dev, shape, 1, GRL_F32, -bound, bound, seed, 0, &t));
  }
  CHECK(grl_tensor_set_requires_grad(t, 1));
  return t;
}

/* x [STEPS, n, PIXELS] of input spikes -> logits [n, CLASSES] (the readout's final membrane). */
static grl_tensor forward(const Snn* m, grl_tensor x) {
  grl_neuron_options hidden = GRL_NEURON_OPTIONS_INIT; /* LIF, tau 2, threshold 1, ATan */
  hidden.detach_reset = 1;
  grl_neuron_options readout = GRL_NEURON_OPTIONS_INIT;
  readout.v_thresh = 1e9; /* never fires: a leaky integrator of the output currents */
  grl_tensor h1, s1, h2, s2, logits;
  CHECK(grl_linear(x, m->w1, m->b1, &h1));
  CHECK(grl_spiking_neuron(h1, NULL, NULL, NULL, &hidden, &s1, NULL, NULL));
  CHECK(grl_linear(s1, m->w2, m->b2, &h2));
  CHECK(grl_spiking_neuron(h2, NULL, NULL, NULL, &readout, &s2, &logits, NULL));
  grl_tensor_release(h1);
  grl_tensor_release(s1);
  grl_tensor_release(h2);
  grl_tensor_release(s2);
  return logits;
}

static int poisson = 0;
static uint64_t draws = 0; /* Philox offset of the next Poisson draw */

/* Rate-codes images [n, PIXELS] (values 0..16) into dst [STEPS, n, PIXELS]. */
static void encode(const unsigned char* const* rows, int n, float* dst) {
  for (int t = 0; t < STEPS; ++t)
    for (int i = 0; i < n; ++i)
      for (int p = 0; p < PIXELS; ++p) {
        double q = rows[i][p] / 16.0;
        dst[((size_t)t * n + i) * PIXELS + p] = (float)(floor((t + 1) * q + 0.5) - floor(t * q + 0.5));
      }
}

/* Input spikes [STEPS, n, PIXELS] on the device for images [n, PIXELS]: the deterministic code, or
 * Poisson draws (u < p with u uniform in [0, 1), one Philox counter per element). */
static grl_tensor spikes_for(grl_device dev, const unsigned char* const* rows, int n, float* scratch) {
  grl_tensor tx;
  if (!poisson) {
    int64_t shape[3] = {STEPS, n, PIXELS};
    encode(rows, n, scratch);
    CHECK(grl_tensor_from_host(dev, GRL_F32, shape, 3, scratch, sizeof(float) * (size_t)STEPS * n * PIXELS, &tx));
    return tx;
  }
  for (int i = 0; i < n; ++i)
    for (int p = 0; p < PIXELS; ++p) scratch[(size_t)i * PIXELS + p] = rows[i][p] / 16.0f;
  int64_t ps[2] = {n, PIXELS}, us[3] = {STEPS, n, PIXELS};
  grl_tensor prob, u, mask;
  CHECK(grl_tensor_from_host(dev, GRL_F32, ps, 2, scratch, sizeof(float) * (size_t)n * PIXELS, &prob));
  CHECK(grl_rand_uniform(dev, us, 3, GRL_F32, 0.0, 1.0, 7, draws, &u));
  draws += (uint64_t)STEPS * n * PIXELS;
  CHECK(grl_lt(u, prob, &mask)); /* [STEPS, n, PIXELS] < [n, PIXELS], broadcast */
  CHECK(grl_cast(mask, GRL_F32, &tx));
  grl_tensor_release(prob);
  grl_tensor_release(u);
  grl_tensor_release(mask);
  return tx;
}

static double accuracy(grl_device dev, const Snn* m, const unsigned char* const* rows, const int64_t* y, int n) {
  uint32_t prev;
  CHECK(grl_set_grad_enabled(0, &prev));
  float* x = malloc(sizeof(float) * (size_t)STEPS * n * PIXELS);
  grl_tensor tx = spikes_for(dev, rows, n, x), logits, pred;
  logits = forward(m, tx);
  CHECK(grl_argmax(logits, 1, 0, &pred));
  int64_t* got = malloc(sizeof(int64_t) * (size_t)n);
  CHECK(grl_tensor_download(pred, got, sizeof(int64_t) * (size_t)n));
  int correct = 0;
  for (int i = 0; i < n; ++i) correct += got[i] == y[i];
  free(got);
  free(x);
  grl_tensor_release(tx);
  grl_tensor_release(logits);
  grl_tensor_release(pred);
  CHECK(grl_set_grad_enabled(prev, NULL));
  return (double)correct / n;
}

int main(int argc, char** argv) {
  const char* path = "examples/data/digits.u8";
  int epochs = 12, quiet = 0;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--quiet")) quiet = 1;
    else if (!strcmp(argv[i], "--poisson")) poisson = 1;
    else if (!strcmp(argv[i], "--epochs") && i + 1 < argc) epochs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--data") && i + 1 < argc) path = argv[++i];
    else {
      fprintf(stderr, "usage: %s [--poisson] [--epochs N] [--data PATH] [--quiet]\n", argv[0]);
      return 2;
    }
  }
  static unsigned char raw[N_IMAGES * (PIXELS + 1)];
  if (!digits_read(path, raw)) return 1;

  /* The fixed shuffle and 80/20 split of train_digits.c. */
  static int order[N_IMAGES];
  unsigned long long state = digits_shuffle(order); /* drawn on for the epoch shuffles */
  static const unsigned char* xtr[N_TRAIN];
  static const unsigned char* xte[N_TEST];
  static int64_t ytr[N_TRAIN], yte[N_TEST];
  for (int i = 0; i < N_IMAGES; ++i) {
    const unsigned char* r = raw + order[i] * (PIXELS + 1);
    if (i < N_TRAIN) {
      xtr[i] = r;
      ytr[i] = r[PIXELS];
    } else {
      xte[i - N_TRAIN] = r;
      yte[i - N_TRAIN] = r[PIXELS];
    }
  }

  grl_device dev;
  CHECK(grl_device_create(NULL, &dev));
  grl_device_info info;
  CHECK(grl_device_get_info(dev, &info));
  printf("training a 64-%d-10 spiking network (%d steps, %s rate coding) on %d digits (%d held out) on %s\n",
         HIDDEN, STEPS, poisson ? "Poisson" : "deterministic", N_TRAIN, N_TEST, info.name);

  Snn m = {param(dev, HIDDEN, PIXELS, 1), param(dev, HIDDEN, -PIXELS, 2), param(dev, CLASSES, HIDDEN, 3),
           param(dev, CLASSES, -HIDDEN, 4)};
  grl_tensor params[4] = {m.w1, m.b1, m.w2, m.b2};
  grl_optimizer_options oo = GRL_OPTIMIZER_OPTIONS_INIT(GRL_OPTIM_ADAM);
  oo.lr = 5e-3;
  grl_optimizer opt;
  CHECK(grl_optimizer_create(params, 4, &oo, &opt));

  static int perm[N_TRAIN];
  for (int i = 0; i < N_TRAIN; ++i) perm[i] = i;
  static float batch_x[STEPS * BATCH * PIXELS];
  static int64_t batch_y[BATCH];
  const unsigned char* rows[BATCH];
  int64_t ys[1] = {BATCH};
  grl_tensor by;
  CHECK(grl_tensor_zeros(dev, GRL_I64, ys, 1, &by));
  double acc = 0;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    for (int i = N_TRAIN - 1; i > 0; --i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      int j = (int)((state >> 33) % (unsigned long long)(i + 1));
      int t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    float last_loss = 0;
    for (int start = 0; start + BATCH <= N_TRAIN; start += BATCH) { /* drop_last */
      for (int b = 0; b < BATCH; ++b) {
        rows[b] = xtr[perm[start + b]];
        batch_y[b] = ytr[perm[start + b]];
      }
      grl_tensor bx = spikes_for(dev, rows, BATCH, batch_x);
      CHECK(grl_tensor_upload(by, batch_y, sizeof batch_y));
      CHECK(grl_optimizer_zero_grad(opt));
      grl_tensor logits = forward(&m, bx), loss;
      CHECK(grl_cross_entropy(logits, by, -100, 0.0, GRL_REDUCTION_MEAN, &loss));
      CHECK(grl_tensor_backward(loss, NULL, 0));
      CHECK(grl_optimizer_step(opt));
      if (start + 2 * BATCH > N_TRAIN) CHECK(grl_tensor_download(loss, &last_loss, sizeof last_loss));
      grl_tensor_release(logits);
      grl_tensor_release(loss);
      grl_tensor_release(bx);
    }
    if (!quiet || epoch == epochs) {
      acc = accuracy(dev, &m, xte, yte, N_TEST);
      printf("epoch %3d  last batch loss %.4f  test accuracy %.2f%%\n", epoch, last_loss, 100 * acc);
    }
  }
  double train_acc = accuracy(dev, &m, xtr, ytr, N_TRAIN);
  printf("final: train accuracy %.2f%%, test accuracy %.2f%% (%d test images)\n", 100 * train_acc, 100 * acc,
         N_TEST);

  grl_tensor_release(by);
  grl_optimizer_release(opt);
  for (int i = 0; i < 4; ++i) grl_tensor_release(params[i]);
  grl_device_release(dev);
  if (acc < 0.90) {
    fprintf(stderr, "FAILED: test accuracy %.2f%% is below 90%%\n", 100 * acc);
    return 1;
  }
  return 0;
}
