// The elementwise losses and their derivatives, shared by pointwise.comp and pointwise_grad.comp.
// Op codes match src/ops/loss.cpp; x is the input, t the target, w the optional third operand.
#define OP_MSE 0u
#define OP_L1 1u
#define OP_SMOOTH_L1 2u
#define OP_HUBER 3u
#define OP_BCE 4u
#define OP_BCE_LOGITS 5u
#define OP_KL 6u
#define OP_KL_LOG 7u
#define OP_MARGIN 8u

// log(1 + exp(-x)) without overflow.
float softplus_neg(float x) { return max(-x, 0.0) + log1p_x(exp(-abs(x))); }

float pointwise_loss(uint op, float x, float t, float w, bool has_w, float p) {
  float d = x - t, ad = abs(d);
  switch (op) {
    case OP_MSE: return d * d;
    case OP_L1: return ad;
    case OP_SMOOTH_L1: return ad < p ? 0.5 * d * d / p : ad - 0.5 * p;
    case OP_HUBER: return ad < p ? 0.5 * d * d : p * (ad - 0.5 * p);
    case OP_BCE: {
      // PyTorch clamps both logs at -100, so a probability of exactly 0 or 1 stays finite.
      float l = t * max(log(x), -100.0) + (1.0 - t) * max(log1p_x(-x), -100.0);
      return -w * l;
    }
    case OP_BCE_LOGITS: {
      float lw = has_w ? 1.0 + (w - 1.0) * t : 1.0;  // w is pos_weight
      return (1.0 - t) * x + lw * softplus_neg(x);
    }
    case OP_KL: return (t == 0.0 ? 0.0 : t * log(t)) - t * x;  // xlogy(t, t) - t x
    case OP_KL_LOG: return exp(t) * (t - x);
    default: return max(-w * (x - t) + p, 0.0);  // margin ranking: t is x2, w is y
  }
}

// Gradients of one element's loss: (d/dx, d/dt, d/dw); d/dw only for margin ranking's y.
vec3 pointwise_grad(uint op, float x, float t, float w, bool has_w, float p) {
  float d = x - t, ad = abs(d), s = sign(d);
  switch (op) {
    case OP_MSE: return vec3(2.0 * d, -2.0 * d, 0.0);
    case OP_L1: return vec3(s, -s, 0.0);
    case OP_SMOOTH_L1: {
      float g = ad < p ? d / p : s;
      return vec3(g, -g, 0.0);
    }
    case OP_HUBER: {
      float g = ad < p ? d : p * s;
      return vec3(g, -g, 0.0);
    }
    case OP_BCE: {
      // PyTorch's form: (x - t) / max(x (1 - x), 1e-12), and the target's log-odds.
      float gx = w * (x - t) / max((1.0 - x) * x, 1e-12);
      float gt = w * (max(log1p_x(-x), -100.0) - max(log(x), -100.0));
      return vec3(gx, gt, 0.0);
    }
    case OP_BCE_LOGITS: {
      float lw = has_w ? 1.0 + (w - 1.0) * t : 1.0;
      float sig_neg = 1.0 / (1.0 + exp(x));  // sigmoid(-x)
      float gx = (1.0 - t) - lw * sig_neg;
      float gt = -x + (has_w ? (w - 1.0) * softplus_neg(x) : 0.0);
      return vec3(gx, gt, 0.0);
    }
    case OP_KL: return vec3(-t, log(t) + 1.0 - x, 0.0);
    case OP_KL_LOG: {
      float e = exp(t);
      return vec3(-e, e * (t - x + 1.0), 0.0);
    }
    default: {
      // clamp_min passes the gradient where its input is >= 0, as PyTorch's.
      float on = -w * d + p >= 0.0 ? 1.0 : 0.0;
      return vec3(-w * on, w * on, -d * on);
    }
  }
}
