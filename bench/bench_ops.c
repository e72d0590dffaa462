/* Times grilly ops at GPU-filling sizes and prints JSON with the same workload names as
 * torch_baseline.py, so the two can be compared side by side (bench/compare.py).
 * Usage: grilly_bench [--json FILE] [--small] [--only SUBSTRING]
 * Each workload: warm-up, then the median over repetitions of (issue N ops, synchronize) / N. */
#define _POSIX_C_SOURCE 200809L
#include <grilly.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(call)                                                                         \
  do {                                                                                      \
    grl_status s_ = (call);                                                                 \
    if (s_ != GRL_OK) {                                                                     \
      fprintf(stderr, "%s:%d %s failed: %s\n", __FILE__, __LINE__, #call, grl_last_error_message()); \
      exit(1);                                                                              \
    }                                                                                       \
  } while (0)

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

static grl_device dev;
static FILE* json;
static int first_result = 1;
static const char* only;

static void record(const char* name, double ms, double rate, const char* unit) {
  printf("%-36s %10.4f ms %12.1f %s\n", name, ms, rate, unit);
  fflush(stdout);
  if (json) {
    fprintf(json, "%s\n  \"%s\": {\"ms\": %.6f, \"rate\": %.6f, \"unit\": \"%s\"}", first_result ? "" : ",", name, ms,
            rate, unit);
    first_result = 0;
  }
}

static int wanted(const char* name) { return !only || strstr(name, only) != NULL; }

static grl_tensor randn(const int64_t* shape, int32_t ndim, grl_dtype dt, uint64_t seed) {
  grl_tensor t;
  CHECK(grl_rand_normal(dev, shape, ndim, dt, 0.0, 1.0, seed, 0, &t));
  return t;
}

typedef grl_status (*op_fn)(void* ctx, grl_tensor* out);

/* Median milliseconds per call of fn over `reps` timed batches of `inner` calls each. */
static double time_op(op_fn fn, void* ctx, int reps, int inner) {
  double times[64];
  if (reps > 64) reps = 64;
  for (int w = 0; w < 3; ++w) {
    grl_tensor out = NULL;
    CHECK(fn(ctx, &out));
    grl_tensor_release(out);
  }
  CHECK(grl_device_synchronize(dev));
  for (int r = 0; r < reps; ++r) {
    double t0 = now_s();
    for (int i = 0; i < inner; ++i) {
      grl_tensor out = NULL;
      CHECK(fn(ctx, &out));
      grl_tensor_release(out);
    }
    CHECK(grl_device_synchronize(dev));
    times[r] = (now_s() - t0) * 1e3 / inner;
  }
  qsort(times, (size_t)reps, sizeof(double), cmp_double);
  return times[reps / 2];
}

typedef struct {
  grl_tensor a, b, c;
  int kind;
} Ctx;

static grl_status op_matmul(void* p, grl_tensor* out) { Ctx* c = p; return grl_matmul(c->a, c->b, out); }
static grl_status op_linear(void* p, grl_tensor* out) { Ctx* c = p; return grl_linear(c->a, c->b, c->c, out); }
static grl_status op_relu(void* p, grl_tensor* out) { return grl_relu(((Ctx*)p)->a, out); }
static grl_status op_gelu(void* p, grl_tensor* out) { return grl_gelu(((Ctx*)p)->a, GRL_GELU_EXACT, out); }
static grl_status op_silu(void* p, grl_tensor* out) { return grl_silu(((Ctx*)p)->a, out); }
static grl_status op_add(void* p, grl_tensor* out) { Ctx* c = p; return grl_add(c->a, c->b, out); }
static grl_status op_softmax(void* p, grl_tensor* out) { return grl_softmax(((Ctx*)p)->a, -1, out); }
static grl_status op_layernorm(void* p, grl_tensor* out) {
  Ctx* c = p;
  return grl_layer_norm(c->a, 1, c->b, c->c, 1e-5, out);
}
static grl_status op_sum_rows(void* p, grl_tensor* out) {
  int32_t ax = -1;
  return grl_sum(((Ctx*)p)->a, &ax, 1, 0, out);
}

static void bench_matmul(int n, grl_dtype dt, const char* dtname, int reps) {
  char name[64];
  snprintf(name, sizeof name, "matmul_%s_%d", dtname, n);
  if (!wanted(name)) return;
  int64_t shape[2] = {n, n};
  Ctx c = {randn(shape, 2, dt, 1), randn(shape, 2, dt, 2), NULL, 0};
  double ms = time_op(op_matmul, &c, reps, 1);
  record(name, ms, 2.0 * n * (double)n * n / ms / 1e9, "TFLOP/s");
  grl_tensor_release(c.a);
  grl_tensor_release(c.b);
}

static void bench_memory_bound(int small) {
  int64_t n = small ? 1024 : 8192;
  int64_t shape[2] = {n, n};
  char name[64];
  double gb = 2.0 * (double)(n * n) * 4 / 1e6; /* bytes read + written, in units for GB/s with ms */
  Ctx c = {randn(shape, 2, GRL_F32, 3), NULL, NULL, 0};
  struct {
    const char* name;
    op_fn fn;
  } ops[] = {{"relu", op_relu}, {"gelu", op_gelu}, {"silu", op_silu}, {"softmax", op_softmax}};
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; ++i) {
    snprintf(name, sizeof name, "%s_f32_%lldx%lld", ops[i].name, (long long)n, (long long)n);
    if (!wanted(name)) continue;
    double ms = time_op(ops[i].fn, &c, 20, 5);
    record(name, ms, gb / ms, "GB/s");
  }
  snprintf(name, sizeof name, "add_f32_%lldx%lld", (long long)n, (long long)n);
  if (wanted(name)) {
    c.b = randn(shape, 2, GRL_F32, 4);
    double ms = time_op(op_add, &c, 20, 5);
    record(name, ms, 1.5 * gb / ms, "GB/s");
    grl_tensor_release(c.b);
    c.b = NULL;
  }
  snprintf(name, sizeof name, "layernorm_f32_%lldx%lld", (long long)n, (long long)n);
  if (wanted(name)) {
    int64_t row[1] = {n};
    c.b = randn(row, 1, GRL_F32, 5);
    c.c = randn(row, 1, GRL_F32, 6);
    double ms = time_op(op_layernorm, &c, 20, 5);
    record(name, ms, gb / ms, "GB/s");
    grl_tensor_release(c.b);
    grl_tensor_release(c.c);
  }
  snprintf(name, sizeof name, "sum_rows_f32_%lldx%lld", (long long)n, (long long)n);
  if (wanted(name)) {
    double ms = time_op(op_sum_rows, &c, 20, 5);
    record(name, ms, (double)(n * n) * 4 / 1e6 / ms, "GB/s");
  }
  grl_tensor_release(c.a);
}

static void bench_linear(int small) {
  int64_t n = small ? 512 : 4096;
  char name[64];
  snprintf(name, sizeof name, "linear_f32_%lld", (long long)n);
  if (!wanted(name)) return;
  int64_t sq[2] = {n, n}, row[1] = {n};
  Ctx c = {randn(sq, 2, GRL_F32, 7), randn(sq, 2, GRL_F32, 8), randn(row, 1, GRL_F32, 9), 0};
  double ms = time_op(op_linear, &c, 10, 1);
  record(name, ms, 2.0 * (double)n * n * n / ms / 1e9, "TFLOP/s");
  grl_tensor_release(c.a);
  grl_tensor_release(c.b);
  grl_tensor_release(c.c);
}

/* CPU cost of recording one tiny op, and the end-to-end time per op of 10,000 tiny ops. */
static void bench_tiny_ops(void) {
  if (!wanted("tiny_op")) return;
  int64_t shape[1] = {16};
  grl_tensor t;
  CHECK(grl_tensor_zeros(dev, GRL_F32, shape, 1, &t));
  enum { N = 10000 };
  static double rec[N];
  for (int round = 0; round < 2; ++round) { /* the first round warms the pool and pipelines */
    CHECK(grl_device_synchronize(dev));
    double t0 = now_s();
    for (int i = 0; i < N; ++i) {
      double a = now_s();
      grl_tensor next;
      CHECK(grl_add_scalar(t, 1.0, &next));
      grl_tensor_release(t);
      t = next;
      rec[i] = (now_s() - a) * 1e6;
    }
    CHECK(grl_device_synchronize(dev));
    double total_us = (now_s() - t0) * 1e6 / N;
    if (round == 1) {
      qsort(rec, N, sizeof(double), cmp_double);
      record("tiny_op_record_cpu", rec[N / 2] / 1e3, rec[N / 2], "us/op");
      record("tiny_op_latency", total_us / 1e3, total_us, "us/op");
    }
  }
  float check[16];
  CHECK(grl_tensor_download(t, check, sizeof check));
  if (check[0] != 2.0f * N) {
    fprintf(stderr, "tiny op chain computed %g, expected %g\n", check[0], 2.0 * N);
    exit(1);
  }
  grl_tensor_release(t);
}

/* 100,000 op calls with results released: memory in use must return to its start. */
static void bench_memory_return(int small) {
  if (!wanted("memory_return")) return;
  int64_t shape[1] = {4096};
  grl_tensor x;
  CHECK(grl_tensor_zeros(dev, GRL_F32, shape, 1, &x));
  CHECK(grl_device_synchronize(dev));
  grl_memory_stats before, after;
  CHECK(grl_device_memory_stats(dev, &before));
  int n = small ? 10000 : 100000;
  double t0 = now_s();
  for (int i = 0; i < n; ++i) {
    grl_tensor y;
    CHECK(grl_mul_scalar(x, 0.5, &y));
    grl_tensor_release(y);
  }
  CHECK(grl_device_synchronize(dev));
  double ms = (now_s() - t0) * 1e3;
  CHECK(grl_device_memory_stats(dev, &after));
  printf("memory_return: %d ops, in use before %llu after %llu bytes, reserved %llu -> %llu\n", n,
         (unsigned long long)before.bytes_in_use, (unsigned long long)after.bytes_in_use,
         (unsigned long long)before.bytes_reserved, (unsigned long long)after.bytes_reserved);
  record("memory_return_delta_bytes", ms / n, (double)after.bytes_in_use - (double)before.bytes_in_use, "bytes");
  grl_tensor_release(x);
}


/* MLP 784-256-256-10 training step, batch 64, Adam: eager, and replayed from a captured graph. */
typedef struct {
  grl_tensor w[6];
  grl_optimizer opt;
  grl_tensor x, y;
} MlpBench;

static grl_tensor mlp_step(MlpBench* m) {
  grl_tensor h1, a1, h2, a2, logits, loss;
  CHECK(grl_optimizer_zero_grad(m->opt));
  CHECK(grl_linear(m->x, m->w[0], m->w[1], &h1));
  CHECK(grl_relu(h1, &a1));
  CHECK(grl_linear(a1, m->w[2], m->w[3], &h2));
  CHECK(grl_relu(h2, &a2));
  CHECK(grl_linear(a2, m->w[4], m->w[5], &logits));
  CHECK(grl_cross_entropy(logits, m->y, -100, 0.0, GRL_REDUCTION_MEAN, &loss));
  CHECK(grl_tensor_backward(loss, NULL, 0));
  CHECK(grl_optimizer_step(m->opt));
  grl_tensor_release(h1);
  grl_tensor_release(a1);
  grl_tensor_release(h2);
  grl_tensor_release(a2);
  grl_tensor_release(logits);
  return loss;
}

static void bench_mlp(void) {
  if (!wanted("mlp_train_step")) return;
  const int64_t sizes[4] = {784, 256, 256, 10};
  MlpBench m;
  for (int l = 0; l < 3; ++l) {
    int64_t ws[2] = {sizes[l + 1], sizes[l]}, bs[1] = {sizes[l + 1]};
    CHECK(grl_tensor_empty(dev, GRL_F32, ws, 2, &m.w[2 * l]));
    CHECK(grl_init_kaiming_uniform_(m.w[2 * l], sqrt(5.0), GRL_FAN_IN, 10 + l));
    double bound = 1.0 / sqrt((double)sizes[l]);
    CHECK(grl_rand_uniform(dev, bs, 1, GRL_F32, -bound, bound, 20 + l, 0, &m.w[2 * l + 1]));
    CHECK(grl_tensor_set_requires_grad(m.w[2 * l], 1));
    CHECK(grl_tensor_set_requires_grad(m.w[2 * l + 1], 1));
  }
  grl_optimizer_options oo = GRL_OPTIMIZER_OPTIONS_INIT(GRL_OPTIM_ADAM);
  oo.lr = 1e-3;
  CHECK(grl_optimizer_create(m.w, 6, &oo, &m.opt));
  int64_t xs[2] = {64, 784}, ys[1] = {64};
  m.x = randn(xs, 2, GRL_F32, 30);
  grl_tensor yf;
  CHECK(grl_rand_uniform(dev, ys, 1, GRL_F32, 0.0, 10.0, 31, 0, &yf));
  CHECK(grl_cast(yf, GRL_I64, &m.y));
  grl_tensor_release(yf);

  enum { STEPS = 100 };
  double times[16];
  for (int round = 0; round < 16; ++round) {
    double t0 = now_s();
    for (int i = 0; i < STEPS; ++i) grl_tensor_release(mlp_step(&m));
    CHECK(grl_device_synchronize(dev));
    times[round] = (now_s() - t0) * 1e3 / STEPS;
  }
  qsort(times + 1, 15, sizeof(double), cmp_double);
  record("mlp_train_step_b64", times[8], 1000.0 / times[8], "steps/s");

  grl_graph graph;
  CHECK(grl_graph_begin_capture(dev));
  grl_tensor loss = mlp_step(&m);
  CHECK(grl_graph_end_capture(dev, &graph));
  for (int round = 0; round < 16; ++round) {
    double t0 = now_s();
    for (int i = 0; i < STEPS; ++i) CHECK(grl_graph_replay(graph));
    CHECK(grl_device_synchronize(dev));
    times[round] = (now_s() - t0) * 1e3 / STEPS;
  }
  qsort(times + 1, 15, sizeof(double), cmp_double);
  record("mlp_train_step_b64_graph", times[8], 1000.0 / times[8], "steps/s");
  float l;
  CHECK(grl_tensor_download(loss, &l, sizeof l));
  if (!(l == l) || l > 100) {
    fprintf(stderr, "mlp loss after training is %g\n", l);
    exit(1);
  }
  grl_tensor_release(loss);
  grl_graph_release(graph);
  grl_optimizer_release(m.opt);
  for (int i = 0; i < 6; ++i) grl_tensor_release(m.w[i]);
  grl_tensor_release(m.x);
  grl_tensor_release(m.y);
}

/* LIF step on 10M f32 neurons without refractory period, u8 spikes: the state is updated in
 * place, so one call reads v and the input and writes v and the spike byte (13 B per neuron). */
typedef struct {
  grl_tensor v, input;
  grl_lif_options opts;
} LifCtx;
static grl_status op_lif(void* p, grl_tensor* out) {
  LifCtx* c = p;
  return grl_lif_step_(c->v, NULL, c->input, &c->opts, out);
}
static void bench_lif(int small) {
  if (!wanted("lif_step_10M")) return;
  int64_t n = small ? 100000 : 10000000;
  LifCtx c = {NULL, randn(&n, 1, GRL_F32, 7), GRL_LIF_OPTIONS_INIT};
  CHECK(grl_tensor_zeros(dev, GRL_F32, &n, 1, &c.v));
  c.opts.dt = 1.0;
  c.opts.tau_mem = 20.0;
  c.opts.spike_dtype = GRL_U8;
  double ms = time_op(op_lif, &c, 21, 100); /* back-to-back steps, as a simulation runs them */
  record(small ? "lif_step_10M_small" : "lif_step_10M", ms, (double)n / ms / 1e6, "Gneuron-updates/s");
  grl_tensor_release(c.v);
  grl_tensor_release(c.input);
}

/* Exact kNN: 1M x 128 f32 base in a flat index, 1,024 queries, k = 10 (squared L2). */
typedef struct {
  grl_index_flat index;
  grl_tensor queries;
} KnnCtx;
static grl_status op_knn(void* p, grl_tensor* out) {
  KnnCtx* c = p;
  grl_tensor labels = NULL;
  grl_status st = grl_index_flat_search(c->index, c->queries, 10, out, &labels);
  grl_tensor_release(labels);
  return st;
}
static void bench_knn(int small) {
  if (!wanted("knn_1Mx128_q1024_k10")) return;
  int64_t base_shape[2] = {small ? 20000 : 1000000, 128}, q_shape[2] = {1024, 128};
  KnnCtx c = {NULL, randn(q_shape, 2, GRL_F32, 9)};
  grl_tensor base = randn(base_shape, 2, GRL_F32, 8);
  CHECK(grl_index_flat_create(dev, 128, NULL, &c.index));
  CHECK(grl_index_flat_add(c.index, base, NULL));
  grl_tensor_release(base);
  double ms = time_op(op_knn, &c, 11, 1);
  record(small ? "knn_1Mx128_q1024_k10_small" : "knn_1Mx128_q1024_k10", ms, 1024.0 / ms * 1e3, "queries/s");
  grl_index_flat_release(c.index);
  grl_tensor_release(c.queries);
}

int main(int argc, char** argv) {
  const char* json_path = NULL;
  int small = 0;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--json") && i + 1 < argc) json_path = argv[++i];
    else if (!strcmp(argv[i], "--small")) small = 1;
    else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
    else {
      fprintf(stderr, "usage: %s [--json FILE] [--small] [--only SUBSTRING]\n", argv[0]);
      return 2;
    }
  }
  CHECK(grl_device_create(NULL, &dev));
  grl_device_info info;
  CHECK(grl_device_get_info(dev, &info));
  printf("device: %s\n", info.name);
  if (json_path) {
    json = fopen(json_path, "w");
    if (!json) {
      perror(json_path);
      return 1;
    }
    fprintf(json, "{\"device\": \"%s\", \"grilly\": \"%s\", \"results\": {", info.name, grl_version_string());
  }
  bench_tiny_ops();
  bench_memory_bound(small);
  bench_memory_return(small);
  if (small) {
    bench_matmul(256, GRL_F32, "float32", 5);
  } else {
    bench_matmul(1024, GRL_F32, "float32", 20);
    bench_matmul(4096, GRL_F32, "float32", 10);
    bench_matmul(4096, GRL_F16, "float16", 10);
  }
  bench_linear(small);
  bench_mlp();
  bench_lif(small);
  bench_knn(small);
  if (json) {
    fprintf(json, "\n}}\n");
    fclose(json);
  }
  grl_device_release(dev);
  return 0;
}
