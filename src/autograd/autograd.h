// The autograd tape: nodes recorded by ops on tensors that require gradients, the backward
// engine, grad mode, and the registry of ops that have a backward rule.
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "tensor/tensor.h"

namespace grl::autograd {

struct Node;

// Per-tensor autograd state, created on first need.
struct Meta {
  bool requires_grad = false;      // leaves marked by the user, or results of recorded ops
  TensorRef grad;                  // accumulated gradient (leaves)
  std::shared_ptr<Node> grad_fn;   // the node that produced this tensor (non-leaves)
  std::weak_ptr<Node> accumulator; // the leaf's AccumulateGrad node, shared by every use
};

// Gradients of the inputs from the gradient of the output; an empty TensorRef means "none".
using BackwardFn = std::function<std::vector<TensorRef>(Tensor& grad_out)>;

struct Node {
  const char* name = "";
  std::vector<std::shared_ptr<Node>> next;  // per input: the node its gradient flows to, or null
  std::vector<Shape> input_shapes;          // gradients are summed back to these shapes
  std::vector<grl_dtype> input_dtypes;
  BackwardFn backward;                      // empty once released
  TensorRef leaf;                           // AccumulateGrad: the leaf tensor
  bool released = false;
};

bool grad_enabled();
void set_grad_enabled(bool on);

// Scoped grad-mode switch.
class GradMode {
 public:
  explicit GradMode(bool on) : prev_(grad_enabled()) { set_grad_enabled(on); }
  ~GradMode() { set_grad_enabled(prev_); }
  GradMode(const GradMode&) = delete;
  GradMode& operator=(const GradMode&) = delete;

 private:
  bool prev_;
};

bool requires_grad(const Tensor* t);
// True when grad mode is on and any input requires gradients.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
// Attaches a node to `out` when needs_grad(inputs). The backward function receives the output's
// gradient (same shape as out) and returns one gradient per input (any broadcast shape: they are
// summed back to the input's shape by the engine).
void record(const char* name, Tensor& out, std::initializer_list<Tensor*> inputs, BackwardFn backward);
void record_n(const char* name, Tensor& out, std::span<Tensor* const> inputs, BackwardFn backward);
// A handle to t's data outside autograd, for backward closures (avoids reference cycles).
TensorRef saved(const Tensor& t);

void backward(Tensor& root, Tensor* grad_output, bool retain_graph);
void accumulate(Tensor& leaf, TensorRef grad);

// Names of ops with a backward rule; one static Rule per rule.
struct Rule {
  explicit Rule(const char* name);
};
const std::vector<const char*>& rules();

}  // namespace grl::autograd

// Registers a backward rule name at load time: GRL_BACKWARD_RULE(add)
#define GRL_BACKWARD_RULE_CAT2(a, b) a##b
#define GRL_BACKWARD_RULE_CAT(a, b) GRL_BACKWARD_RULE_CAT2(a, b)
#define GRL_BACKWARD_RULE(name) \
  static const ::grl::autograd::Rule GRL_BACKWARD_RULE_CAT(grl_rule_, __LINE__)(#name)
