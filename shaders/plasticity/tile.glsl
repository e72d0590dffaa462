// Tiling shared by the plasticity weight kernels: a workgroup of 32 x 8 threads owns a tile of
// 128 columns (presynaptic j) x 32 rows (postsynaptic i) of W; each thread owns 4 columns (strided
// by 32, so a warp's accesses stay contiguous) x 4 rows (strided by 8) and keeps their sums in
// registers. Batch rows are staged through shared memory BC at a time. (On an H100, 8 rows per
// thread or BC = 16 measured no faster.)
#define TX 32u
#define TY 8u
#define CPT 4u
#define RPT 4u
#define TILE_C 128u
#define TILE_R 32u
#define BC 8u
#define NTHREADS 256u
layout(local_size_x = 32, local_size_y = 8) in;
