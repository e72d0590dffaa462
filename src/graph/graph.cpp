// C ABI for graph capture and replay: the device records op calls into one command buffer that
// replays with a single submission; inputs are rebound by copying into their storage.
#include "graph/graph.h"

#include <cstring>

#include "capi/api.h"

using namespace grl;

grl_graph_s::~grl_graph_s() {
  if (!owner) return;
  {
    std::lock_guard<std::recursive_mutex> lock(owner->impl->mutex());
    inputs.clear();
    outputs.clear();
    if (capture) owner->impl->destroy_capture(*capture);
  }
  if (owner->refs.fetch_sub(1) == 1) delete owner;
}

namespace {

grl_graph_s& arg_graph(const char* fn, grl_graph g) {
  if (!g) fail(GRL_ERROR_NULL_ARGUMENT, "%s: argument 'graph' is NULL (expected a grl_graph)", fn);
  return *g;
}

std::string arg_name(const char* fn, const char* name) {
  if (!name || !*name) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'name' must be a non-empty string", fn);
  return name;
}

TensorRef& named(const char* fn, std::map<std::string, TensorRef>& m, const std::string& name, const char* what) {
  auto it = m.find(name);
  if (it == m.end()) {
    std::string known;
    for (auto& [k, v] : m) known += (known.empty() ? "" : ", ") + k;
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: the graph has no %s named '%s' (it has: %s)", fn, what, name.c_str(),
         known.empty() ? "none" : known.c_str());
  }
  return it->second;
}

}  // namespace

extern "C" {

GRL_API grl_status grl_graph_begin_capture(grl_device device) {
  GRL_API_BEGIN();
  auto& d = arg_device(__func__, "device", device);
  DeviceLock lock(d.impl->mutex());
  d.impl->begin_capture();
  GRL_API_END();
}

GRL_API grl_status grl_graph_end_capture(grl_device device, grl_graph* out) {
  GRL_API_BEGIN();
  auto& d = arg_device(__func__, "device", device);
  DeviceLock lock(d.impl->mutex());
  if (!out) {  // still end the capture, so the device is usable again
    d.impl->destroy_capture(*d.impl->end_capture());
    fail(GRL_ERROR_NULL_ARGUMENT, "%s: argument 'out' is NULL (the capture was discarded)", __func__);
  }
  std::unique_ptr<Capture> capture = d.impl->end_capture();
  auto g = std::make_unique<grl_graph_s>();
  g->capture = std::move(capture);
  g->owner = &d;
  d.refs.fetch_add(1);
  *out = g.release();
  GRL_API_END();
}

GRL_API void grl_graph_retain(grl_graph graph) {
  if (graph) graph->refs.fetch_add(1);
}

GRL_API void grl_graph_release(grl_graph graph) {
  if (graph && graph->refs.fetch_sub(1) == 1) delete graph;
}

GRL_API grl_status grl_graph_set_input(grl_graph graph, const char* name, grl_tensor tensor) {
  GRL_API_BEGIN();
  auto& g = arg_graph(__func__, graph);
  std::string n = arg_name(__func__, name);
  Tensor& t = arg_tensor(__func__, "tensor", tensor);
  if (t.device() != g.owner)
    fail(GRL_ERROR_DEVICE_MISMATCH, "%s: the tensor is on another device than the graph", __func__);
  if (!t.contiguous())
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: input '%s' must be contiguous (it is rebound by copying into it)", __func__,
         n.c_str());
  DeviceLock lock(g.owner->impl->mutex());
  g.inputs[n] = TensorRef::retain(&t);
  GRL_API_END();
}

GRL_API grl_status grl_graph_set_output(grl_graph graph, const char* name, grl_tensor tensor) {
  GRL_API_BEGIN();
  auto& g = arg_graph(__func__, graph);
  std::string n = arg_name(__func__, name);
  Tensor& t = arg_tensor(__func__, "tensor", tensor);
  if (t.device() != g.owner)
    fail(GRL_ERROR_DEVICE_MISMATCH, "%s: the tensor is on another device than the graph", __func__);
  DeviceLock lock(g.owner->impl->mutex());
  g.outputs[n] = TensorRef::retain(&t);
  GRL_API_END();
}

GRL_API grl_status grl_graph_bind(grl_graph graph, const char* name, grl_tensor value) {
  GRL_API_BEGIN();
  auto& g = arg_graph(__func__, graph);
  std::string n = arg_name(__func__, name);
  Tensor& v = arg_tensor(__func__, "value", value);
  DeviceLock lock(g.owner->impl->mutex());
  Tensor& in = *named(__func__, g.inputs, n, "input");
  same_device(__func__, "input", in, "value", v);
  if (!(v.shape == in.shape))
    fail(GRL_ERROR_SHAPE, "%s: input '%s' was captured with shape %s; the value has shape %s (capture a new graph "
         "for new shapes)", __func__, n.c_str(), in.shape.str().c_str(), v.shape.str().c_str());
  if (v.dtype != in.dtype)
    fail(GRL_ERROR_DTYPE, "%s: input '%s' has dtype %s; the value has %s", __func__, n.c_str(), dtype_name(in.dtype),
         dtype_name(v.dtype));
  copy_into(in, v);
  GRL_API_END();
}

GRL_API grl_status grl_graph_bind_host(grl_graph graph, const char* name, const void* data, size_t nbytes) {
  GRL_API_BEGIN();
  auto& g = arg_graph(__func__, graph);
  std::string n = arg_name(__func__, name);
  DeviceLock lock(g.owner->impl->mutex());
  Tensor& in = *named(__func__, g.inputs, n, "input");
  size_t want = static_cast<size_t>(in.numel()) * in.elsize();
  if (nbytes != want)
    fail(GRL_ERROR_SHAPE, "%s: input '%s' (%s %s) takes %zu bytes; %zu were given", __func__, n.c_str(),
         dtype_name(in.dtype), in.shape.str().c_str(), want, nbytes);
  if (nbytes) arg_not_null(__func__, "data", data);
  in.dev().upload(in.block(), static_cast<size_t>(in.offset) * in.elsize(), data, nbytes);
  GRL_API_END();
}

GRL_API grl_status grl_graph_replay(grl_graph graph) {
  GRL_API_BEGIN();
  auto& g = arg_graph(__func__, graph);
  DeviceLock lock(g.owner->impl->mutex());
  g.owner->impl->replay(*g.capture);
  GRL_API_END();
}

GRL_API grl_status grl_graph_output(grl_graph graph, const char* name, grl_tensor* out) {
  GRL_API_BEGIN();
  auto& g = arg_graph(__func__, graph);
  std::string n = arg_name(__func__, name);
  GRL_CHECK_OUT(out);
  DeviceLock lock(g.owner->impl->mutex());
  *out = TensorRef(named(__func__, g.outputs, n, "output")).release();
  GRL_API_END();
}

GRL_API grl_status grl_graph_op_count(grl_graph graph, int64_t* out) {
  GRL_API_BEGIN();
  auto& g = arg_graph(__func__, graph);
  GRL_CHECK_OUT(out);
  *out = static_cast<int64_t>(g.capture->ops.size());
  GRL_API_END();
}

GRL_API grl_status grl_graph_summary(grl_graph graph, char* buffer, size_t capacity, size_t* out) {
  GRL_API_BEGIN();
  auto& g = arg_graph(__func__, graph);
  std::string text;
  for (auto& [n, t] : g.inputs) text += "input " + n + ": " + t->shape.str() + " " + dtype_name(t->dtype) + "\n";
  for (size_t i = 0; i < g.capture->ops.size(); ++i) text += std::to_string(i) + ": " + g.capture->ops[i] + "\n";
  for (auto& [n, t] : g.outputs) text += "output " + n + ": " + t->shape.str() + " " + dtype_name(t->dtype) + "\n";
  if (out) *out = text.size() + 1;
  if (buffer && capacity) {
    size_t n = std::min(capacity - 1, text.size());
    std::memcpy(buffer, text.data(), n);
    buffer[n] = '\0';
  }
  GRL_API_END();
}

}  // extern "C"
