/* place_recall.c: place cells and an episodic memory: an agent walks a unit arena, stores the
 * place-cell code of every visited position with the position itself, then recalls where it is
 * from the code of new positions (cosine top-k of the stored codes, similarity-weighted mean of
 * the recalled positions). Exits 1 unless the mean recall error is under 0.05 arena widths. */
#include <grilly.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                                  \
  do {                                                                               \
    grl_status s_ = (call);                                                          \
    if (s_ != GRL_OK) {                                                              \
      fprintf(stderr, "%s failed: %s\n", #call, grl_last_error_message());           \
      exit(2);                                                                       \
    }                                                                                \
  } while (0)

enum { SIDE = 10, CELLS = SIDE * SIDE, VISITS = 400, QUERIES = 100, K = 4 };

static uint64_t state = 0x9e3779b97f4a7c15ull;
static float uniform(void) { /* xorshift64*, enough for an example */
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return (float)((state * 0x2545f4914f6cdd1dull) >> 40) / 16777216.0f;
}

static grl_tensor place_code(grl_device dev, grl_tensor centers, const float* xy, int64_t n) {
  int64_t shape[2] = {n, 2};
  grl_tensor pos = NULL, code = NULL;
  CHECK(grl_tensor_from_host(dev, GRL_F32, shape, 2, xy, (size_t)n * 2 * sizeof(float), &pos));
  /* sigma 0.08 arena widths, 1 Hz peak (the scale does not matter for cosine recall). */
  CHECK(grl_place_cells(pos, centers, NULL, 0.08, 1.0, 0.0, &code));
  grl_tensor_release(pos);
  return code;
}

int main(int argc, char** argv) {
  int quiet = argc > 1 && strcmp(argv[1], "--quiet") == 0;
  grl_device dev = NULL;
  CHECK(grl_device_create(NULL, &dev));

  static float centers_xy[CELLS * 2], visits[VISITS * 2], queries[QUERIES * 2];
  for (int i = 0; i < CELLS; ++i) {
    centers_xy[2 * i] = (i % SIDE + 0.5f) / SIDE;
    centers_xy[2 * i + 1] = (i / SIDE + 0.5f) / SIDE;
  }
  for (int i = 0; i < VISITS * 2; ++i) visits[i] = uniform();
  for (int i = 0; i < QUERIES * 2; ++i) queries[i] = uniform();
  int64_t cshape[2] = {CELLS, 2}, vshape[2] = {VISITS, 2};
  grl_tensor centers = NULL, where = NULL;
  CHECK(grl_tensor_from_host(dev, GRL_F32, cshape, 2, centers_xy, sizeof centers_xy, &centers));
  CHECK(grl_tensor_from_host(dev, GRL_F32, vshape, 2, visits, sizeof visits, &where));

  grl_episodic_memory mem = NULL;
  CHECK(grl_episodic_memory_create(dev, VISITS, CELLS, 2, GRL_EPISODIC_EVICT_OLDEST, &mem));
  grl_tensor codes = place_code(dev, centers, visits, VISITS);
  CHECK(grl_episodic_memory_write(mem, codes, where));

  grl_tensor qcodes = place_code(dev, centers, queries, QUERIES);
  grl_tensor recalled = NULL, scores = NULL;
  CHECK(grl_episodic_memory_read(mem, qcodes, K, &recalled, &scores, NULL));
  static float rec[QUERIES * K * 2], sc[QUERIES * K];
  CHECK(grl_tensor_download(recalled, rec, sizeof rec));
  CHECK(grl_tensor_download(scores, sc, sizeof sc));

  double err = 0;
  for (int q = 0; q < QUERIES; ++q) {
    double wx = 0, wy = 0, w = 0;
    for (int r = 0; r < K; ++r) {
      double s = sc[q * K + r] > 0 ? sc[q * K + r] : 0;
      wx += s * rec[(q * K + r) * 2];
      wy += s * rec[(q * K + r) * 2 + 1];
      w += s;
    }
    double dx = wx / w - queries[2 * q], dy = wy / w - queries[2 * q + 1];
    err += sqrt(dx * dx + dy * dy);
  }
  err /= QUERIES;
  if (!quiet)
    printf("stored %d visits in %d place cells; recalled %d positions, mean error %.4f arena widths\n", VISITS,
           CELLS, QUERIES, err);

  grl_tensor_release(scores);
  grl_tensor_release(recalled);
  grl_tensor_release(qcodes);
  grl_tensor_release(codes);
  grl_episodic_memory_release(mem);
  grl_tensor_release(where);
  grl_tensor_release(centers);
  grl_device_release(dev);
  if (err >= 0.05) {
    fprintf(stderr, "mean recall error %.4f is not under 0.05\n", err);
    return 1;
  }
  return 0;
}
