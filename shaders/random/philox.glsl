// Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), the
// generator behind every random kernel. Include after common/types.glsl.
uvec4 philox4x32_10(uvec4 ctr, uvec2 key) {
  for (int r = 0; r < 10; ++r) {
    if (r > 0) key += uvec2(0x9E3779B9u, 0xBB67AE85u);  // the Weyl key schedule
    uint hi0, lo0, hi1, lo1;
    umulExtended(0xD2511F53u, ctr.x, hi0, lo0);
    umulExtended(0xCD9E8D57u, ctr.z, hi1, lo1);
    ctr = uvec4(hi1 ^ ctr.y ^ key.x, lo1, hi0 ^ ctr.w ^ key.y, lo0);
  }
  return ctr;
}
