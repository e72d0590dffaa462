// Row losses over pairs of [N, D] rows, shared by pair_rows.comp and pair_rows_grad.comp. Op codes
// match src/ops/loss.cpp.
#define OP_COSINE 0u
#define OP_TRIPLET 1u
#define OP_CONTRASTIVE 2u
#define COS_EPS 1e-12   // PyTorch's cosine_embedding_loss adds it to both squared norms
#define TRIPLET_EPS 1e-6  // pairwise_distance adds it to the difference

// |v|^p for the p-norms (exact forms for the common p).
float pw_abs(float v, float p) {
  float a = abs(v);
  return p == 2.0 ? a * a : (p == 1.0 ? a : pow(a, p));
}
float root_p(float s, float p) { return p == 2.0 ? sqrt(s) : (p == 1.0 ? s : pow(s, 1.0 / p)); }
