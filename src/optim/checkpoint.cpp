// Optimizer checkpoints: the state tensors and scalars of an optimizer saved to / restored from a
// safetensors file (through grl_save_safetensors / grl_load_safetensors), names prefixed "optimizer.".
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "optim/optim.h"

using namespace grl;
using namespace grl::optim;

namespace {

// "optimizer.scalars", I64 [4]: the step count, the bit patterns of lr and NLMS mu as IEEE-754
// doubles, and the optimizer kind (grilly has no f64 dtype; the bits keep lr exact).
constexpr const char* kPrefix = "optimizer.";
constexpr const char* kScalars = "optimizer.scalars";
constexpr int64_t kScalarCount = 4;

void check(grl_status s) {
  if (s != GRL_OK) throw Error(s, grl_last_error_message());
}

int64_t double_bits(double v) {
  int64_t b;
  std::memcpy(&b, &v, 8);
  return b;
}

double bits_double(int64_t b) {
  double v;
  std::memcpy(&v, &b, 8);
  return v;
}

struct MapRelease {
  void operator()(grl_tensor_map m) const { grl_tensor_map_release(m); }
};
using MapPtr = std::unique_ptr<grl_tensor_map_s, MapRelease>;

}  // namespace

extern "C" {

GRL_API grl_status grl_save_optimizer(const char* path, grl_optimizer opt) {
  GRL_API_BEGIN();
  arg_not_null(__func__, "path", path);
  auto& s = arg_optimizer(__func__, opt);
  std::vector<std::string> names;
  std::vector<grl_tensor> tensors;
  TensorRef scalars;
  {
    DeviceLock lock(s.dev().mutex());
    if (s.dev().capturing())
      fail(GRL_ERROR_INVALID_ARGUMENT, "%s: the device is capturing a graph; save after grl_graph_end_capture",
           __func__);
    uint32_t w[4];
    read_header(s, w);
    float mu;
    std::memcpy(&mu, &w[kWordMu], 4);
    int64_t vals[kScalarCount] = {w[kWordT], double_bits(s.lr), double_bits(mu), static_cast<int64_t>(s.o.kind)};
    scalars = new_tensor(s.device(), GRL_I64, Shape::of(std::span<const int64_t>(&kScalarCount, 1)));
    s.dev().upload(scalars->block(), 0, vals, sizeof vals);
  }
  for (size_t i = 0; i < s.names.size(); ++i) {
    names.push_back(kPrefix + s.names[i]);
    tensors.push_back(s.tensors[i].get());
  }
  names.push_back(kScalars);
  tensors.push_back(scalars.get());
  std::vector<const char*> cnames;
  for (auto& n : names) cnames.push_back(n.c_str());
  check(grl_save_safetensors(path, cnames.data(), tensors.data(), static_cast<int32_t>(tensors.size())));
  GRL_API_END();
}

GRL_API grl_status grl_load_optimizer(const char* path, grl_optimizer opt) {
  GRL_API_BEGIN();
  arg_not_null(__func__, "path", path);
  auto& s = arg_optimizer(__func__, opt);
  grl_tensor_map raw = nullptr;
  check(grl_load_safetensors(s.device(), path, &raw));
  MapPtr map(raw);
  // Every check comes before the first write, so a mismatched file leaves the optimizer as it was.
  int32_t count = 0;
  check(grl_tensor_map_count(map.get(), &count));
  size_t ours = 0;
  for (int32_t i = 0; i < count; ++i) {
    const char* name = nullptr;
    check(grl_tensor_map_name(map.get(), i, &name));
    if (std::strncmp(name, kPrefix, std::strlen(kPrefix)) != 0) continue;  // other tensors in the file
    ++ours;
    std::string key = name + std::strlen(kPrefix);
    if (key != "scalars" && std::find(s.names.begin(), s.names.end(), key) == s.names.end())
      fail(GRL_ERROR_INVALID_ARGUMENT, "%s: '%s' holds '%s', which this %s optimizer over %zu parameters does not "
           "have (was it saved from a different optimizer?)", __func__, path, name, kind_name(s.o.kind),
           s.params.size());
  }
  auto get = [&](const std::string& name) {
    grl_tensor t = nullptr;
    grl_status st = grl_tensor_map_get(map.get(), name.c_str(), &t);
    if (st != GRL_OK)
      fail(GRL_ERROR_INVALID_ARGUMENT, "%s: '%s' has no '%s', which this %s optimizer needs (was it saved from a "
           "different optimizer?)", __func__, path, name.c_str(), kind_name(s.o.kind));
    return TensorRef(t);
  };
  TensorRef sc = get(kScalars);
  if (sc->dtype != GRL_I64 || sc->shape.ndim != 1 || sc->shape[0] != kScalarCount)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: '%s' in '%s' is %s %s; expected i64 [%lld]", __func__, kScalars, path,
         dtype_name(sc->dtype), sc->shape.str().c_str(), static_cast<long long>(kScalarCount));
  std::vector<TensorRef> loaded;
  for (size_t i = 0; i < s.names.size(); ++i) {
    TensorRef t = get(kPrefix + s.names[i]);
    const Tensor& want = *s.tensors[i];
    if (t->dtype != want.dtype || !(t->shape == want.shape))
      fail(GRL_ERROR_INVALID_ARGUMENT, "%s: '%s%s' in '%s' is %s %s; this optimizer's is %s %s", __func__, kPrefix,
           s.names[i].c_str(), path, dtype_name(t->dtype), t->shape.str().c_str(), dtype_name(want.dtype),
           want.shape.str().c_str());
    loaded.push_back(std::move(t));
  }
  if (ours != s.names.size() + 1)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: '%s' holds %zu optimizer tensors; this optimizer has %zu", __func__, path,
         ours, s.names.size() + 1);
  int64_t vals[kScalarCount];
  check(grl_tensor_download(sc.get(), vals, sizeof vals));
  double lr = bits_double(vals[1]), mu = bits_double(vals[2]);
  if (vals[3] != static_cast<int64_t>(s.o.kind))
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: '%s' was saved by an optimizer of kind %s; this one is %s", __func__, path,
         kind_name(static_cast<grl_optimizer_kind>(vals[3])), kind_name(s.o.kind));
  if (vals[0] < 0 || vals[0] > UINT32_MAX || !std::isfinite(lr) || lr < 0 || !std::isfinite(mu) || mu < 0)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: '%s' holds invalid scalars (step %lld, lr %g, mu %g)", __func__, path,
         static_cast<long long>(vals[0]), lr, mu);
  DeviceLock lock(s.dev().mutex());
  if (s.dev().capturing())
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: the device is capturing a graph; load after grl_graph_end_capture",
         __func__);
  for (size_t i = 0; i < loaded.size(); ++i) copy_into(*s.tensors[i], *loaded[i]);
  write_scalars(s, static_cast<uint32_t>(vals[0]), lr, mu);
  GRL_API_END();
}

}  // extern "C"
