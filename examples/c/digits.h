/* digits.h: reading the 8x8 digits file (examples/data/digits.u8: 1,797 records of 64 pixels in
 * 0..16 and a label byte) and the fixed shuffle every digits example splits by (80/20). */
#ifndef GRILLY_EXAMPLES_DIGITS_H
#define GRILLY_EXAMPLES_DIGITS_H

#include <stdio.h>

enum { DIGITS_IMAGES = 1797, DIGITS_RECORD = 65 };

/* Reads the whole file into raw (DIGITS_IMAGES * DIGITS_RECORD bytes). Returns 0 after saying
 * why on stderr when the file is missing or short. */
static int digits_read(const char* path, unsigned char* raw) {
  FILE* f = fopen(path, "rb");
  size_t want = (size_t)DIGITS_IMAGES * DIGITS_RECORD;
  size_t got = f ? fread(raw, 1, want, f) : 0;
  if (f) fclose(f);
  if (got != want) {
    fprintf(stderr, "cannot read %s (1,797 x 65 bytes; see examples/data/README.md)\n", path);
    return 0;
  }
  return 1;
}

/* order[i]: the record at position i of the shuffle (Fisher-Yates driven by a 64-bit LCG with a
 * fixed seed), so every example holds out the same 360 images. Returns the generator's state,
 * from which an example may go on drawing (its per-epoch shuffles). */
static unsigned long long digits_shuffle(int order[DIGITS_IMAGES]) {
  for (int i = 0; i < DIGITS_IMAGES; ++i) order[i] = i;
  unsigned long long state = 20261123ull;
  for (int i = DIGITS_IMAGES - 1; i > 0; --i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    int j = (int)((state >> 33) % (unsigned long long)(i + 1));
    int t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return state;
}

#endif
