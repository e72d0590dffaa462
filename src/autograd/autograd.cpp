// The backward engine: topological order over the recorded nodes, gradient accumulation per node,
// un-broadcasting, leaf accumulation, and the rule registry.
#include "autograd/autograd.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "ops/compose.h"

namespace grl::autograd {

namespace {
thread_local bool t_grad_enabled = true;

Meta& meta(Tensor& t) {
  if (!t.ag) t.ag = std::make_shared<Meta>();
  return *t.ag;
}

std::shared_ptr<Node> edge_for(Tensor& t) {
  if (!t.ag || !t.ag->requires_grad) return nullptr;
  if (t.ag->grad_fn) return t.ag->grad_fn;
  auto acc = t.ag->accumulator.lock();
  if (!acc) {
    acc = std::make_shared<Node>();
    acc->name = "AccumulateGrad";
    acc->leaf = TensorRef::retain(&t);
    t.ag->accumulator = acc;
  }
  return acc;
}
}  // namespace

bool grad_enabled() { return t_grad_enabled; }
void set_grad_enabled(bool on) { t_grad_enabled = on; }

bool requires_grad(const Tensor* t) { return t && t->ag && t->ag->requires_grad; }

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!t_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (requires_grad(t)) return true;
  return false;
}

TensorRef saved(const Tensor& t) { return make_view(t, t.shape, t.stride, t.offset); }

void record(const char* name, Tensor& out, std::initializer_list<Tensor*> inputs, BackwardFn fn) {
  record_n(name, out, std::span<Tensor* const>(inputs.begin(), inputs.size()), std::move(fn));
}

void record_n(const char* name, Tensor& out, std::span<Tensor* const> inputs, BackwardFn fn) {
  bool any = false;
  for (Tensor* t : inputs) any = any || requires_grad(t);
  if (!t_grad_enabled || !any) return;
  auto node = std::make_shared<Node>();
  node->name = name;
  for (Tensor* t : inputs) {
    node->next.push_back(t ? edge_for(*t) : nullptr);
    node->input_shapes.push_back(t ? t->shape : Shape{});
    node->input_dtypes.push_back(t ? t->dtype : GRL_F32);
  }
  node->backward = std::move(fn);
  Meta& m = meta(out);
  m.requires_grad = true;
  m.grad_fn = std::move(node);
}

void accumulate(Tensor& leaf, TensorRef grad) {
  Meta& m = meta(leaf);
  if (grad->dtype != leaf.dtype) grad = op::call(grl_cast, grad.get(), leaf.dtype);
  if (!(grad->shape == leaf.shape)) grad = op::sum_to(*grad, leaf.shape);
  if (m.grad)
    m.grad = op::call(grl_add, m.grad.get(), grad.get());
  else
    m.grad = (grad->refs.load() > 1 || grad->storage.use_count() > 1) ? op::call(grl_clone, grad.get()) : grad;
}

void backward(Tensor& root, Tensor* grad_output, bool retain_graph) {
  if (!requires_grad(&root))
    fail(GRL_ERROR_INVALID_ARGUMENT, "grl_tensor_backward: the tensor does not require gradients (mark a "
         "leaf with grl_tensor_set_requires_grad before the ops that lead to it)");
  GradMode no_grad(false);
  TensorRef seed;
  if (grad_output) {
    if (!(grad_output->shape == root.shape))
      fail(GRL_ERROR_SHAPE, "grl_tensor_backward: grad_output has shape %s but the tensor has %s",
           grad_output->shape.str().c_str(), root.shape.str().c_str());
    seed = TensorRef::retain(grad_output);
  } else {
    if (root.numel() != 1)
      fail(GRL_ERROR_INVALID_ARGUMENT, "grl_tensor_backward: grad_output may be NULL only for a one-element "
           "tensor; this one has shape %s", root.shape.str().c_str());
    seed = op::scalar_like(root, 1.0, root.shape);
  }
  std::shared_ptr<Node> start = root.ag->grad_fn;
  if (!start) {  // backward on a leaf: its gradient is the seed
    accumulate(root, seed);
    return;
  }
  // Dependency counts over the reachable graph.
  std::unordered_map<Node*, int> deps;
  std::vector<Node*> stack{start.get()};
  deps[start.get()] = 0;
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (auto& nx : n->next) {
      if (!nx) continue;
      auto [it, fresh] = deps.try_emplace(nx.get(), 0);
      ++it->second;
      if (fresh) stack.push_back(nx.get());
    }
  }
  std::unordered_map<Node*, TensorRef> pending;
  pending[start.get()] = seed;
  std::vector<Node*> ready{start.get()};
  std::vector<std::shared_ptr<Node>> keep{start};  // nodes stay alive while the engine runs
  while (!ready.empty()) {
    Node* n = ready.back();
    ready.pop_back();
    TensorRef g = std::move(pending[n]);
    pending.erase(n);
    if (n->leaf) {
      if (g) accumulate(*n->leaf, std::move(g));
      continue;
    }
    if (n->released)
      fail(GRL_ERROR_INVALID_ARGUMENT, "grl_tensor_backward: the graph through '%s' was already freed by an "
           "earlier backward; pass retain_graph = 1 to the first backward to run it twice", n->name);
    std::vector<TensorRef> grads;
    if (g) grads = n->backward(*g);
    if (!retain_graph) {
      n->backward = nullptr;
      n->released = true;
    }
    for (size_t i = 0; i < n->next.size(); ++i) {
      Node* nx = n->next[i].get();
      if (!nx) continue;
      keep.push_back(n->next[i]);
      if (i < grads.size() && grads[i]) {
        TensorRef gi = std::move(grads[i]);
        if (!(gi->shape == n->input_shapes[i])) gi = op::sum_to(*gi, n->input_shapes[i]);
        if (gi->dtype != n->input_dtypes[i]) gi = op::call(grl_cast, gi.get(), n->input_dtypes[i]);
        auto& slot = pending[nx];
        slot = slot ? op::call(grl_add, slot.get(), gi.get()) : gi;
      }
      if (--deps[nx] == 0) ready.push_back(nx);
    }
  }
}

Rule::Rule(const char* name) {
  auto& r = const_cast<std::vector<const char*>&>(rules());
  r.push_back(name);
}

const std::vector<const char*>& rules() {
  static std::vector<const char*> r;
  return r;
}

}  // namespace grl::autograd

namespace grl::op {

TensorRef sum_to(Tensor& g, const Shape& shape) {
  int lead = g.shape.ndim - shape.ndim;
  if (lead < 0) fail(GRL_ERROR_INTERNAL, "sum_to: gradient %s has fewer dims than %s", g.shape.str().c_str(),
                     shape.str().c_str());
  std::vector<int32_t> axes;
  for (int i = 0; i < g.shape.ndim; ++i) {
    int j = i - lead;
    if (j < 0 || (shape[j] == 1 && g.shape[i] != 1)) axes.push_back(i);
  }
  TensorRef r = TensorRef::retain(&g);
  if (!axes.empty()) r = call(grl_sum, &g, axes.data(), static_cast<int32_t>(axes.size()), 1u);
  return call(grl_reshape, r.get(), shape.d.data(), shape.ndim);
}

TensorRef zeros_like(Tensor& t) { return call(grl_tensor_zeros, t.device(), t.dtype, t.shape.d.data(), t.shape.ndim); }

TensorRef scalar_like(Tensor& t, double value, const Shape& shape) {
  return call(grl_full, t.device(), shape.d.data(), shape.ndim, value, t.dtype);
}

}  // namespace grl::op
