// Accurate helpers where GLSL's built-ins fall short on some drivers: sin/cos with an explicit
// range reduction (Vulkan bounds their error only on [-pi, pi]), log1p and expm1.
float reduce_2pi(float x) {
  // Cody-Waite: 2*pi = C1 + C2 + C3 where k*C1 and k*C2 are exact in f32 for |k| < 2^12, so the
  // reduction needs no fused multiply-add (which not every driver provides).
  precise float k = round(x * 0.15915494309189535);
  precise float r = x - k * 6.28125;
  r = r - k * 0.0019350051879882812;
  r = r - k * 3.019916050561733e-07;
  return r;
}
float sin_r(float x) { return sin(reduce_2pi(x)); }
float cos_r(float x) { return cos(reduce_2pi(x)); }
float log1p_x(float u) {
  precise float w = 1.0 + u;
  if (w == 1.0) return u;
  precise float d = w - 1.0;
  return log(w) * (u / d);
}
float expm1_x(float x) {
  precise float u = exp(x);
  if (u == 1.0) return x;
  precise float um1 = u - 1.0;
  if (um1 == -1.0) return -1.0;
  return um1 * (x / log(u));
}
