/* train_digits.c: trains a multilayer perceptron (64-128-128-10, ReLU, Adam) on the 8x8 digits
 * (examples/data/digits.u8: 1,797 images, 80/20 train/test split with a fixed shuffle) from plain
 * C, and reports test accuracy. With --graph the whole training step (forward, backward, Adam) is
 * captured once into a grl_graph and replayed with one submission per batch.
 * Usage: train_digits [--graph] [--epochs N] [--data PATH] [--quiet] */
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

enum { N_IMAGES = 1797, PIXELS = 64, CLASSES = 10, HIDDEN = 128, BATCH = 32 };

typedef struct {
  grl_tensor w1, b1, w2, b2, w3, b3;
} Mlp;

static grl_tensor param(grl_device dev, int64_t rows, int64_t cols, uint64_t seed) {
  /* PyTorch's nn.Linear initialisation: kaiming_uniform(a = sqrt(5)) for the weight, uniform
   * +-1/sqrt(fan_in) for the bias. */
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

static grl_tensor forward(const Mlp* m, grl_tensor x) {
  grl_tensor h1, a1, h2, a2, logits;
  CHECK(grl_linear(x, m->w1, m->b1, &h1));
  CHECK(grl_relu(h1, &a1));
  CHECK(grl_linear(a1, m->w2, m->b2, &h2));
  CHECK(grl_relu(h2, &a2));
  CHECK(grl_linear(a2, m->w3, m->b3, &logits));
  grl_tensor_release(h1);
  grl_tensor_release(a1);
  grl_tensor_release(h2);
  grl_tensor_release(a2);
  return logits;
}

/* One training step on the batch held in x, y; returns the loss tensor. */
static grl_tensor train_step(const Mlp* m, grl_optimizer opt, grl_tensor x, grl_tensor y) {
  CHECK(grl_optimizer_zero_grad(opt));
  grl_tensor logits = forward(m, x), loss;
  CHECK(grl_cross_entropy(logits, y, -100, 0.0, GRL_REDUCTION_MEAN, &loss));
  CHECK(grl_tensor_backward(loss, NULL, 0));
  CHECK(grl_optimizer_step(opt));
  grl_tensor_release(logits);
  return loss;
}

static double accuracy(grl_device dev, const Mlp* m, const float* x, const int64_t* y, int n) {
  uint32_t prev;
  CHECK(grl_set_grad_enabled(0, &prev));
  int64_t shape[2] = {n, PIXELS};
  grl_tensor tx, logits, pred;
  CHECK(grl_tensor_from_host(dev, GRL_F32, shape, 2, x, sizeof(float) * (size_t)n * PIXELS, &tx));
  logits = forward(m, tx);
  CHECK(grl_argmax(logits, 1, 0, &pred));
  int64_t* got = malloc(sizeof(int64_t) * (size_t)n);
  CHECK(grl_tensor_download(pred, got, sizeof(int64_t) * (size_t)n));
  int correct = 0;
  for (int i = 0; i < n; ++i) correct += got[i] == y[i];
  free(got);
  grl_tensor_release(tx);
  grl_tensor_release(logits);
  grl_tensor_release(pred);
  CHECK(grl_set_grad_enabled(prev, NULL));
  return (double)correct / n;
}

int main(int argc, char** argv) {
  const char* path = "examples/data/digits.u8";
  int use_graph = 0, epochs = 40, quiet = 0;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--graph")) use_graph = 1;
    else if (!strcmp(argv[i], "--quiet")) quiet = 1;
    else if (!strcmp(argv[i], "--epochs") && i + 1 < argc) epochs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--data") && i + 1 < argc) path = argv[++i];
    else {
      fprintf(stderr, "usage: %s [--graph] [--epochs N] [--data PATH] [--quiet]\n", argv[0]);
      return 2;
    }
  }
  static unsigned char raw[N_IMAGES * (PIXELS + 1)];
  if (!digits_read(path, raw)) return 1;

  /* A fixed shuffle, then 80% train / 20% test. */
  static int order[N_IMAGES];
  unsigned long long state = digits_shuffle(order); /* drawn on for the epoch shuffles */
  enum { N_TRAIN = 1437, N_TEST = N_IMAGES - N_TRAIN };
  static float xtr[N_TRAIN * PIXELS], xte[N_TEST * PIXELS];
  static int64_t ytr[N_TRAIN], yte[N_TEST];
  for (int i = 0; i < N_IMAGES; ++i) {
    const unsigned char* r = raw + order[i] * (PIXELS + 1);
    float* dst = i < N_TRAIN ? xtr + i * PIXELS : xte + (i - N_TRAIN) * PIXELS;
    for (int p = 0; p < PIXELS; ++p) dst[p] = r[p] / 16.0f;
    if (i < N_TRAIN) ytr[i] = r[PIXELS];
    else yte[i - N_TRAIN] = r[PIXELS];
  }

  grl_device dev;
  CHECK(grl_device_create(NULL, &dev));
  grl_device_info info;
  CHECK(grl_device_get_info(dev, &info));
  printf("training a 64-128-128-10 MLP on %d digits (%d held out) on %s, %s\n", N_TRAIN, N_TEST, info.name,
         use_graph ? "replaying a captured graph" : "eager");

  Mlp m = {param(dev, HIDDEN, PIXELS, 1), param(dev, HIDDEN, -PIXELS, 2), param(dev, HIDDEN, HIDDEN, 3),
           param(dev, HIDDEN, -HIDDEN, 4), param(dev, CLASSES, HIDDEN, 5), param(dev, CLASSES, -HIDDEN, 6)};
  grl_tensor params[6] = {m.w1, m.b1, m.w2, m.b2, m.w3, m.b3};
  grl_optimizer_options oo = GRL_OPTIMIZER_OPTIONS_INIT(GRL_OPTIM_ADAM);
  oo.lr = 1e-3;
  grl_optimizer opt;
  CHECK(grl_optimizer_create(params, 6, &oo, &opt));

  /* Batch buffers: the eager loop uploads into them; the graph rebinds them. */
  int64_t xs[2] = {BATCH, PIXELS}, ys[1] = {BATCH};
  grl_tensor bx, by;
  CHECK(grl_tensor_zeros(dev, GRL_F32, xs, 2, &bx));
  CHECK(grl_tensor_zeros(dev, GRL_I64, ys, 1, &by));
  grl_graph graph = NULL;
  grl_tensor graph_loss = NULL;
  if (use_graph) {
    CHECK(grl_graph_begin_capture(dev));
    graph_loss = train_step(&m, opt, bx, by);
    CHECK(grl_graph_end_capture(dev, &graph));
    CHECK(grl_graph_set_input(graph, "x", bx));
    CHECK(grl_graph_set_input(graph, "y", by));
    CHECK(grl_graph_set_output(graph, "loss", graph_loss));
    int64_t ops = 0;
    CHECK(grl_graph_op_count(graph, &ops));
    printf("captured one training step: %lld kernels, replayed as one submission per batch\n", (long long)ops);
  }

  static int perm[N_TRAIN];
  for (int i = 0; i < N_TRAIN; ++i) perm[i] = i;
  static float batch_x[BATCH * PIXELS];
  static int64_t batch_y[BATCH];
  double last_acc = 0;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    for (int i = N_TRAIN - 1; i > 0; --i) { /* reshuffle each epoch, same sequence in both modes */
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      int j = (int)((state >> 33) % (unsigned long long)(i + 1));
      int t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    double loss_sum = 0;
    int batches = 0;
    for (int start = 0; start + BATCH <= N_TRAIN; start += BATCH) { /* drop_last */
      for (int b = 0; b < BATCH; ++b) {
        memcpy(batch_x + b * PIXELS, xtr + perm[start + b] * PIXELS, sizeof(float) * PIXELS);
        batch_y[b] = ytr[perm[start + b]];
      }
      grl_tensor loss;
      if (use_graph) {
        CHECK(grl_graph_bind_host(graph, "x", batch_x, sizeof batch_x));
        CHECK(grl_graph_bind_host(graph, "y", batch_y, sizeof batch_y));
        CHECK(grl_graph_replay(graph));
        loss = graph_loss;
        grl_tensor_retain(loss);
      } else {
        CHECK(grl_tensor_upload(bx, batch_x, sizeof batch_x));
        CHECK(grl_tensor_upload(by, batch_y, sizeof batch_y));
        loss = train_step(&m, opt, bx, by);
      }
      if (start + 2 * BATCH > N_TRAIN) { /* read the loss once per epoch, not per step */
        float l;
        CHECK(grl_tensor_download(loss, &l, sizeof l));
        loss_sum = l;
        batches = 1;
      }
      grl_tensor_release(loss);
    }
    if (!quiet && (epoch % 5 == 0 || epoch == 1)) {
      last_acc = accuracy(dev, &m, xte, yte, N_TEST);
      printf("epoch %3d  last batch loss %.4f  test accuracy %.2f%%\n", epoch, loss_sum / batches, 100 * last_acc);
    }
  }
  last_acc = accuracy(dev, &m, xte, yte, N_TEST);
  double train_acc = accuracy(dev, &m, xtr, ytr, N_TRAIN);
  printf("final: train accuracy %.2f%%, test accuracy %.2f%% (%d test images)\n", 100 * train_acc, 100 * last_acc,
         N_TEST);

  grl_graph_release(graph);
  grl_tensor_release(graph_loss);
  grl_tensor_release(bx);
  grl_tensor_release(by);
  grl_optimizer_release(opt);
  for (int i = 0; i < 6; ++i) grl_tensor_release(params[i]);
  grl_device_release(dev);
  if (last_acc < 0.96) {
    fprintf(stderr, "FAILED: test accuracy %.2f%% is below 96%%\n", 100 * last_acc);
    return 1;
  }
  return 0;
}
