/* stdp_receptive_fields.c: unsupervised spike-timing-dependent plasticity on the 8x8 digits
 * (examples/data/digits.u8). Poisson-coded pixels drive a layer of leaky integrate-and-fire output
 * neurons with winner-take-all lateral inhibition (the first neuron to fire silences the others for
 * the rest of the image) and adaptive thresholds; their input weights learn with soft-bounded pair
 * STDP (grl_stdp_step_) and are renormalised (L2, per neuron) after every batch. The
 * learned receptive fields are written as a PNG grid, and the program prints how well each field
 * matches its closest class-mean digit (Pearson correlation) before and after training.
 * Usage: stdp_receptive_fields [--out PATH] [--data PATH] [--images N] [--quiet] [--check] */
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

enum { N_IMAGES = 1797, PIXELS = 64, CLASSES = 10, N_OUT = 16, BATCH = 32, STEPS = 30 };

/* Network constants (dt = 1 ms). */
static const double TOTAL_RATE = 5.0;   /* input spikes per ms per image, shared by its pixels */
static const double V_DECAY = 0.95;     /* membrane leak per ms (tau_m about 20 ms) */
static const double V_THRESHOLD = 1.0;  /* base threshold, in units of summed weight */
static const double THETA_PLUS = 0.2;   /* threshold increase per output spike (homeostasis) */
static const double THETA_DECAY = 0.98; /* per batch */
static const double ROW_NORM = 1.2;     /* every neuron's 64 weights are rescaled to this L2 norm */

/* ---- a dependency-free PNG writer: 8-bit greyscale, zlib stored blocks ---- */
static uint32_t crc_table[256];
static void crc_init(void) {
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    crc_table[n] = c;
  }
}
static uint32_t crc_update(uint32_t crc, const unsigned char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return crc;
}
static void put_u32(unsigned char* p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}
static int write_chunk(FILE* f, const char* type, const unsigned char* data, size_t n) {
  unsigned char hdr[8];
  put_u32(hdr, (uint32_t)n);
  memcpy(hdr + 4, type, 4);
  uint32_t crc = crc_update(0xffffffffu, hdr + 4, 4);
  crc = crc_update(crc, data, n) ^ 0xffffffffu;
  unsigned char tail[4];
  put_u32(tail, crc);
  return fwrite(hdr, 1, 8, f) == 8 && (n == 0 || fwrite(data, 1, n, f) == n) && fwrite(tail, 1, 4, f) == 4;
}
static int write_png_gray(const char* path, const unsigned char* pixels, int width, int height) {
  /* Raw scanlines (filter byte 0 each), wrapped in zlib "stored" blocks of at most 65535 bytes. */
  size_t raw_n = (size_t)height * (size_t)(width + 1);
  unsigned char* raw = malloc(raw_n);
  for (int y = 0; y < height; ++y) {
    raw[(size_t)y * (size_t)(width + 1)] = 0;
    memcpy(raw + (size_t)y * (size_t)(width + 1) + 1, pixels + (size_t)y * (size_t)width, (size_t)width);
  }
  size_t blocks = (raw_n + 65534) / 65535;
  size_t z_n = 2 + raw_n + 5 * (blocks ? blocks : 1) + 4;
  unsigned char* z = malloc(z_n);
  size_t o = 0;
  z[o++] = 0x78; /* deflate, 32K window */
  z[o++] = 0x01; /* no preset dictionary, fastest; 0x7801 is a multiple of 31 */
  size_t done = 0;
  do {
    size_t len = raw_n - done < 65535 ? raw_n - done : 65535;
    z[o++] = done + len == raw_n ? 1 : 0; /* BFINAL, BTYPE = 00 (stored) */
    z[o++] = (unsigned char)(len & 0xff);
    z[o++] = (unsigned char)(len >> 8);
    z[o++] = (unsigned char)(~len & 0xff);
    z[o++] = (unsigned char)((~len >> 8) & 0xff);
    memcpy(z + o, raw + done, len);
    o += len;
    done += len;
  } while (done < raw_n);
  uint32_t a = 1, b = 0; /* Adler-32 of the uncompressed data */
  for (size_t i = 0; i < raw_n; ++i) {
    a = (a + raw[i]) % 65521u;
    b = (b + a) % 65521u;
  }
  put_u32(z + o, (b << 16) | a);
  o += 4;
  unsigned char ihdr[13];
  put_u32(ihdr, (uint32_t)width);
  put_u32(ihdr + 4, (uint32_t)height);
  ihdr[8] = 8;  /* bit depth */
  ihdr[9] = 0;  /* greyscale */
  ihdr[10] = 0; /* deflate */
  ihdr[11] = 0; /* adaptive filtering */
  ihdr[12] = 0; /* no interlace */
  static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  FILE* f = fopen(path, "wb");
  int ok = f && fwrite(sig, 1, 8, f) == 8 && write_chunk(f, "IHDR", ihdr, 13) && write_chunk(f, "IDAT", z, o) &&
           write_chunk(f, "IEND", NULL, 0);
  if (f && fclose(f) != 0) ok = 0;
  free(raw);
  free(z);
  return ok;
}

/* Tiles of 8x8 fields, each upscaled SCALE times and stretched to its own min..max, in a grid. */
static int write_fields(const char* path, const float* w) {
  enum { SCALE = 8, GAP = 2, COLS = 4 };
  const int rows = (N_OUT + COLS - 1) / COLS, tile = 8 * SCALE;
  const int width = GAP + COLS * (tile + GAP), height = GAP + rows * (tile + GAP);
  unsigned char* img = malloc((size_t)width * (size_t)height);
  memset(img, 64, (size_t)width * (size_t)height);
  for (int n = 0; n < N_OUT; ++n) {
    const float* f = w + n * PIXELS;
    float lo = f[0], hi = f[0];
    for (int p = 1; p < PIXELS; ++p) lo = f[p] < lo ? f[p] : lo, hi = f[p] > hi ? f[p] : hi;
    const int x0 = GAP + (n % COLS) * (tile + GAP), y0 = GAP + (n / COLS) * (tile + GAP);
    for (int y = 0; y < tile; ++y)
      for (int x = 0; x < tile; ++x) {
        float v = hi > lo ? (f[(y / SCALE) * 8 + x / SCALE] - lo) / (hi - lo) : 0.f;
        img[(size_t)(y0 + y) * (size_t)width + (size_t)(x0 + x)] = (unsigned char)(v * 255.f + 0.5f);
      }
  }
  int ok = write_png_gray(path, img, width, height);
  free(img);
  return ok;
}

/* ---- the measure: each field's best Pearson correlation with a class-mean digit ---- */
static double pearson(const float* a, const double* b) {
  double ma = 0, mb = 0;
  for (int p = 0; p < PIXELS; ++p) ma += a[p], mb += b[p];
  ma /= PIXELS;
  mb /= PIXELS;
  double ab = 0, aa = 0, bb = 0;
  for (int p = 0; p < PIXELS; ++p) {
    ab += (a[p] - ma) * (b[p] - mb);
    aa += (a[p] - ma) * (a[p] - ma);
    bb += (b[p] - mb) * (b[p] - mb);
  }
  return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0.0;
}
static double field_match(const float* w, const double means[CLASSES][PIXELS], int* classes_covered) {
  double total = 0;
  int seen[CLASSES] = {0};
  for (int n = 0; n < N_OUT; ++n) {
    double best = -2;
    int arg = 0;
    for (int c = 0; c < CLASSES; ++c) {
      double r = pearson(w + n * PIXELS, means[c]);
      if (r > best) best = r, arg = c;
    }
    seen[arg] = 1;
    total += best;
  }
  *classes_covered = 0;
  for (int c = 0; c < CLASSES; ++c) *classes_covered += seen[c];
  return total / N_OUT;
}

static grl_tensor take(grl_tensor* slot, grl_tensor fresh) {
  grl_tensor_release(*slot);
  *slot = fresh;
  return fresh;
}

/* w (N_OUT x 64) rows rescaled to the L2 norm ROW_NORM, in place: a neuron's response then
 * measures how well the image matches its field's shape, not how much ink either has. */
static void normalise_rows(grl_tensor w) {
  int32_t axis = 1;
  grl_tensor s, q, r;
  CHECK(grl_norm(w, 2.0, &axis, 1, 1, &s));
  CHECK(grl_div(w, s, &q));
  CHECK(grl_mul_scalar(q, ROW_NORM, &r));
  CHECK(grl_copy_(w, r));
  grl_tensor_release(s);
  grl_tensor_release(q);
  grl_tensor_release(r);
}

int main(int argc, char** argv) {
  const char* path = "examples/data/digits.u8";
  const char* out = "stdp_receptive_fields.png";
  int quiet = 0, check = 0, n_train = 1024;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--quiet")) quiet = 1;
    else if (!strcmp(argv[i], "--check")) check = 1;
    else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
    else if (!strcmp(argv[i], "--data") && i + 1 < argc) path = argv[++i];
    else if (!strcmp(argv[i], "--images") && i + 1 < argc) n_train = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: %s [--out PATH] [--data PATH] [--images N] [--quiet] [--check]\n", argv[0]);
      return 2;
    }
  }
  if (n_train < BATCH || n_train > N_IMAGES) {
    fprintf(stderr, "--images must be in [%d, %d]\n", BATCH, N_IMAGES);
    return 2;
  }
  static unsigned char raw[N_IMAGES * (PIXELS + 1)];
  if (!digits_read(path, raw)) return 1;
  crc_init();

  /* Class means (for the measure only: learning never sees a label) and a fixed shuffle. */
  static double means[CLASSES][PIXELS];
  int counts[CLASSES] = {0};
  for (int i = 0; i < N_IMAGES; ++i) {
    const unsigned char* r = raw + i * (PIXELS + 1);
    for (int p = 0; p < PIXELS; ++p) means[r[PIXELS]][p] += r[p];
    counts[r[PIXELS]]++;
  }
  for (int c = 0; c < CLASSES; ++c)
    for (int p = 0; p < PIXELS; ++p) means[c][p] /= counts[c] ? counts[c] : 1;
  static int order[N_IMAGES];
  (void)digits_shuffle(order);

  grl_device dev;
  CHECK(grl_device_create(NULL, &dev));
  grl_device_info info;
  CHECK(grl_device_get_info(dev, &info));
  if (!quiet)
    printf("STDP on %d digits, %d LIF neurons with winner-take-all, %d ms per image, batches of %d, on %s\n",
           n_train, N_OUT, STEPS, BATCH, info.name);

  /* Weights start uniform in [0, 1], rows rescaled to ROW_NORM. */
  const int64_t w_shape[2] = {N_OUT, PIXELS}, x_shape[2] = {BATCH, PIXELS}, y_shape[2] = {BATCH, N_OUT};
  const int64_t n_shape[1] = {N_OUT};
  grl_tensor w, theta, pre_trace, post_trace;
  CHECK(grl_rand_uniform(dev, w_shape, 2, GRL_F32, 0.0, 1.0, 7, 0, &w));
  normalise_rows(w);
  CHECK(grl_tensor_zeros(dev, GRL_F32, n_shape, 1, &theta));
  CHECK(grl_tensor_zeros(dev, GRL_F32, x_shape, 2, &pre_trace));
  CHECK(grl_tensor_zeros(dev, GRL_F32, y_shape, 2, &post_trace));
  static float w_host[N_OUT * PIXELS];
  CHECK(grl_tensor_download(w, w_host, sizeof w_host));
  int covered_before, covered_after;
  const double before = field_match(w_host, (const double(*)[PIXELS])means, &covered_before);

  grl_stdp_options o = GRL_STDP_OPTIONS_INIT;
  o.bound = GRL_STDP_BOUND_SOFT;
  o.w_min = 0.0;
  o.w_max = 1.0;
  o.a_plus = 0.01;
  o.a_minus = 0.001;
  o.batch_reduction = GRL_REDUCTION_SUM; /* each image of the batch teaches as if alone */

  static float rates[BATCH * PIXELS];
  uint64_t offset = 0;
  const int32_t ax1 = 1, ax0 = 0;
  long long out_spikes = 0;
  for (int start = 0; start + BATCH <= n_train; start += BATCH) {
    for (int b = 0; b < BATCH; ++b) {
      const unsigned char* r = raw + order[start + b] * (PIXELS + 1);
      double ink = 0;
      for (int p = 0; p < PIXELS; ++p) ink += r[p];
      for (int p = 0; p < PIXELS; ++p) {
        double q = ink > 0 ? r[p] / ink * TOTAL_RATE : 0.0;
        rates[b * PIXELS + p] = (float)(q < 1.0 ? q : 1.0);
      }
    }
    grl_tensor rate, v, open;
    const int64_t row_shape[2] = {BATCH, 1};
    CHECK(grl_tensor_from_host(dev, GRL_F32, x_shape, 2, rates, sizeof rates, &rate));
    CHECK(grl_tensor_zeros(dev, GRL_F32, y_shape, 2, &v));
    CHECK(grl_full(dev, row_shape, 2, 1.0, GRL_F32, &open)); /* 1 until the image's first spike */
    CHECK(grl_tensor_fill_(pre_trace, 0.0));
    CHECK(grl_tensor_fill_(post_trace, 0.0));
    grl_tensor spike_count;
    CHECK(grl_tensor_zeros(dev, GRL_F32, n_shape, 1, &spike_count));
    for (int t = 0; t < STEPS; ++t) {
      grl_tensor u = NULL, m = NULL, pre = NULL, cur = NULL, d = NULL, mx = NULL, win = NULL, pos = NULL,
                 fire = NULL, fired = NULL, post = NULL, any = NULL, thr = NULL, cnt = NULL;
      /* Poisson input: a pixel spikes this ms with probability rate. */
      CHECK(grl_rand_uniform(dev, x_shape, 2, GRL_F32, 0.0, 1.0, 11, offset, &u));
      offset += BATCH * PIXELS;
      CHECK(grl_lt(u, rate, &m));
      CHECK(grl_cast(m, GRL_F32, &pre));
      /* Leaky integration of the weighted input spikes. */
      CHECK(grl_linear(pre, w, NULL, &cur));
      CHECK(grl_mul_scalar(v, V_DECAY, &d));
      take(&v, NULL);
      CHECK(grl_add(d, cur, &v));
      /* Winner-take-all: only the neuron furthest above its threshold may fire. */
      CHECK(grl_add_scalar(theta, V_THRESHOLD, &thr));
      take(&d, NULL);
      CHECK(grl_sub(v, thr, &d));
      CHECK(grl_max(d, &ax1, 1, 1, &mx));
      CHECK(grl_ge(d, mx, &win));
      CHECK(grl_gt_scalar(d, 0.0, &pos));
      CHECK(grl_mul(win, pos, &fire));
      CHECK(grl_cast(fire, GRL_F32, &fired));
      /* Lateral inhibition: after an image's first output spike no other neuron may fire. */
      CHECK(grl_mul(fired, open, &post));
      CHECK(grl_max(post, &ax1, 1, 1, &any));
      grl_tensor still;
      CHECK(grl_sub(open, any, &still));
      take(&open, still);
      CHECK(grl_stdp_step_(w, pre, post, pre_trace, post_trace, NULL, NULL, &o));
      CHECK(grl_sum(post, &ax0, 1, 0, &cnt));
      grl_tensor acc;
      CHECK(grl_add(spike_count, cnt, &acc));
      take(&spike_count, acc);
      grl_tensor tmp[] = {u, m, pre, cur, d, mx, win, pos, fire, fired, post, any, thr, cnt};
      for (size_t k = 0; k < sizeof tmp / sizeof tmp[0]; ++k) grl_tensor_release(tmp[k]);
    }
    /* Homeostasis: thresholds rise with each neuron's spikes and relax slowly. */
    grl_tensor inc, dec, th;
    CHECK(grl_mul_scalar(spike_count, THETA_PLUS, &inc));
    CHECK(grl_mul_scalar(theta, THETA_DECAY, &dec));
    CHECK(grl_add(dec, inc, &th));
    take(&theta, th);
    float counts_host[N_OUT];
    CHECK(grl_tensor_download(spike_count, counts_host, sizeof counts_host));
    for (int n = 0; n < N_OUT; ++n) out_spikes += (long long)counts_host[n];
    grl_tensor_release(inc);
    grl_tensor_release(dec);
    grl_tensor_release(spike_count);
    grl_tensor_release(rate);
    grl_tensor_release(v);
    grl_tensor_release(open);
    normalise_rows(w);
  }
  CHECK(grl_tensor_download(w, w_host, sizeof w_host));
  const double after = field_match(w_host, (const double(*)[PIXELS])means, &covered_after);
  int ok = write_fields(out, w_host);
  printf("receptive fields: mean best correlation with a class-mean digit %.3f before, %.3f after training "
         "(%d -> %d classes matched, %.1f output spikes per image); wrote %s\n",
         before, after, covered_before, covered_after, (double)out_spikes / n_train, ok ? out : "nothing");
  uint64_t messages = 0;
  CHECK(grl_device_validation_messages(dev, &messages));
  grl_tensor_release(w);
  grl_tensor_release(theta);
  grl_tensor_release(pre_trace);
  grl_tensor_release(post_trace);
  grl_device_release(dev);
  if (check && messages > 0) {
    fprintf(stderr, "FAILED: the Vulkan validation layer reported %llu messages\n", (unsigned long long)messages);
    return 1;
  }
  if (!ok) {
    fprintf(stderr, "cannot write %s\n", out);
    return 1;
  }
  /* --check: the fields must have emerged (the ctest). */
  if (check && !(after > before + 0.25 && after > 0.6 && covered_after >= 5)) {
    fprintf(stderr, "FAILED: receptive fields did not emerge (%.3f -> %.3f, %d classes)\n", before, after,
            covered_after);
    return 1;
  }
  return 0;
}
