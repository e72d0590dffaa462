/* knn_search.c: k-nearest-neighbour classification of the 8x8 digits (examples/data/digits.u8,
 * the same 80/20 split as train_digits) with a grl_index_flat: the training images go into the
 * index, each test image takes the majority label of its k nearest (L2) training images, and the
 * example prints the accuracy and the search rate in queries per second.
 * Usage: knn_search [--k K] [--data PATH] [--min-accuracy A] [--quiet]
 * Exits 1 when the accuracy is below --min-accuracy (default 0). */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include <grilly.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

enum { N_IMAGES = 1797, PIXELS = 64, CLASSES = 10, N_TRAIN = 1437, N_TEST = N_IMAGES - N_TRAIN, MAX_K = 64 };

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char** argv) {
  const char* path = "examples/data/digits.u8";
  int k = 3, quiet = 0;
  double min_accuracy = 0.0;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--quiet")) quiet = 1;
    else if (!strcmp(argv[i], "--k") && i + 1 < argc) k = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--data") && i + 1 < argc) path = argv[++i];
    else if (!strcmp(argv[i], "--min-accuracy") && i + 1 < argc) min_accuracy = atof(argv[++i]);
    else {
      fprintf(stderr, "usage: %s [--k K] [--data PATH] [--min-accuracy A] [--quiet]\n", argv[0]);
      return 2;
    }
  }
  if (k < 1 || k > MAX_K) {
    fprintf(stderr, "--k must be in 1..%d\n", MAX_K);
    return 2;
  }
  static unsigned char raw[N_IMAGES * (PIXELS + 1)];
  if (!digits_read(path, raw)) return 1;

  /* train_digits' fixed shuffle and split. */
  static int order[N_IMAGES];
  (void)digits_shuffle(order);
  static float xtr[N_TRAIN * PIXELS], xte[N_TEST * PIXELS];
  static int ytr[N_TRAIN], yte[N_TEST];
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
  if (!quiet) printf("device: %s\n", info.name);

  /* The index: training images with their positions as ids (the default). */
  grl_index_flat index;
  CHECK(grl_index_flat_create(dev, PIXELS, NULL, &index));
  int64_t shape_tr[2] = {N_TRAIN, PIXELS}, shape_te[2] = {N_TEST, PIXELS};
  grl_tensor train, test;
  CHECK(grl_tensor_from_host(dev, GRL_F32, shape_tr, 2, xtr, sizeof xtr, &train));
  CHECK(grl_tensor_from_host(dev, GRL_F32, shape_te, 2, xte, sizeof xte, &test));
  CHECK(grl_index_flat_add(index, train, NULL));

  /* One warm-up search (pipelines), then timed ones. */
  grl_tensor dist, labels;
  CHECK(grl_index_flat_search(index, test, k, &dist, &labels));
  CHECK(grl_device_synchronize(dev));
  grl_tensor_release(dist);
  grl_tensor_release(labels);
  const int reps = 20;
  double t0 = now();
  for (int r = 0; r < reps; ++r) {
    CHECK(grl_index_flat_search(index, test, k, &dist, &labels));
    if (r + 1 < reps) {
      grl_tensor_release(dist);
      grl_tensor_release(labels);
    }
  }
  CHECK(grl_device_synchronize(dev));
  double secs = (now() - t0) / reps;

  static int64_t nn[N_TEST * MAX_K];
  static float nd[N_TEST * MAX_K];
  CHECK(grl_tensor_download(labels, nn, sizeof(int64_t) * (size_t)N_TEST * (size_t)k));
  CHECK(grl_tensor_download(dist, nd, sizeof(float) * (size_t)N_TEST * (size_t)k));
  int correct = 0;
  for (int i = 0; i < N_TEST; ++i) {
    /* Majority vote; a tie goes to the class whose nearest member comes first. */
    int votes[CLASSES] = {0}, first[CLASSES];
    for (int c = 0; c < CLASSES; ++c) first[c] = k;
    for (int j = 0; j < k; ++j) {
      int c = ytr[nn[i * k + j]];
      if (votes[c]++ == 0) first[c] = j;
    }
    int best = 0;
    for (int c = 1; c < CLASSES; ++c)
      if (votes[c] > votes[best] || (votes[c] == votes[best] && first[c] < first[best])) best = c;
    correct += best == yte[i];
  }
  double acc = (double)correct / N_TEST;
  printf("kNN (k = %d, L2) on digits: test accuracy %.2f%% (%d / %d), %.0f queries/s "
         "(%d queries against %d in %.3f ms)\n",
         k, 100.0 * acc, correct, N_TEST, N_TEST / secs, N_TEST, N_TRAIN, 1e3 * secs);
  if (!quiet)
    printf("nearest training image of test image 0: %lld at squared distance %.3f\n", (long long)nn[0], nd[0]);

  grl_tensor_release(dist);
  grl_tensor_release(labels);
  grl_tensor_release(train);
  grl_tensor_release(test);
  grl_index_flat_release(index);
  grl_device_release(dev);
  if (acc < min_accuracy) {
    fprintf(stderr, "accuracy %.4f is below the required %.4f\n", acc, min_accuracy);
    return 1;
  }
  return 0;
}
