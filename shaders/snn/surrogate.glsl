// Surrogate spike functions of the neuron nodes: g (a smooth step with g(0) = 1/2, used as the
// spike in soft-spike mode) and g' (the backward's stand-in for the Heaviside's derivative).
// Codes match grl_surrogate; x = h - v_thresh, a = alpha.
#define SG_ATAN 0u
#define SG_SIGMOID 1u
#define SG_FAST_SIGMOID 2u
#define SG_TRIANGLE 3u

float surrogate_g(uint kind, float a, float x) {
  switch (kind) {
    case SG_ATAN: return atan(1.5707963267948966 * a * x) * 0.3183098861837907 + 0.5;
    case SG_SIGMOID: return 1.0 / (1.0 + exp(-a * x));
    case SG_FAST_SIGMOID: return 0.5 + 0.5 * a * x / (1.0 + a * abs(x));
    default: {
      float u = a * x;
      if (u <= -1.0) return 0.0;
      if (u < 0.0) return 0.5 * (u + 1.0) * (u + 1.0);
      if (u < 1.0) return 1.0 - 0.5 * (1.0 - u) * (1.0 - u);
      return 1.0;
    }
  }
}

float surrogate_dg(uint kind, float a, float x) {
  switch (kind) {
    case SG_ATAN: {
      float u = 1.5707963267948966 * a * x;
      return 0.5 * a / (1.0 + u * u);
    }
    case SG_SIGMOID: {
      float s = 1.0 / (1.0 + exp(-a * x));
      return a * s * (1.0 - s);
    }
    case SG_FAST_SIGMOID: {
      float d = 1.0 + a * abs(x);
      return 0.5 * a / (d * d);
    }
    default: return a * max(0.0, 1.0 - a * abs(x));
  }
}
