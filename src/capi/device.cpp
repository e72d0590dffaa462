// C ABI for devices: enumeration, creation, info, synchronisation, memory statistics.
#include "capi/api.h"
#include "runtime/instance.h"

using namespace grl;

namespace {
std::shared_ptr<Instance> default_instance() { return Instance::get(env_flag("GRILLY_VALIDATION", false)); }
}  // namespace

extern "C" {

GRL_API grl_status grl_device_count(uint32_t* out) {
  GRL_API_BEGIN();
  GRL_CHECK_OUT(out);
  *out = static_cast<uint32_t>(default_instance()->physical_devices().size());
  GRL_API_END();
}

GRL_API grl_status grl_device_describe(uint32_t index, grl_device_info* out) {
  GRL_API_BEGIN();
  GRL_CHECK_OUT(out);
  *out = default_instance()->describe(index);
  GRL_API_END();
}

GRL_API grl_status grl_device_create(const grl_device_options* opts, grl_device* out) {
  GRL_API_BEGIN();
  GRL_CHECK_OUT(out);
  grl_device_options o = GRL_DEVICE_OPTIONS_INIT;
  if (opts) {
    if (opts->version < 1 || opts->version > GRL_DEVICE_OPTIONS_VERSION)
      fail(GRL_ERROR_INVALID_ARGUMENT, "grl_device_create: opts->version is %u; expected 1..%u "
           "(start from GRL_DEVICE_OPTIONS_INIT)", opts->version, GRL_DEVICE_OPTIONS_VERSION);
    o = *opts;
  }
  bool validation = o.validation < 0 ? env_flag("GRILLY_VALIDATION", false) : o.validation != 0;
  auto inst = Instance::get(validation);
  uint32_t index = inst->choose(o);
  auto handle = std::make_unique<grl_device_s>();
  handle->impl = std::make_unique<Device>(inst, index, validation);
  *out = handle.release();
  GRL_API_END();
}

GRL_API void grl_device_retain(grl_device device) {
  if (device) device->refs.fetch_add(1);
}

GRL_API void grl_device_release(grl_device device) {
  if (device && device->refs.fetch_sub(1) == 1) delete device;
}

GRL_API grl_status grl_device_get_info(grl_device device, grl_device_info* out) {
  GRL_API_BEGIN();
  auto& d = arg_device(__func__, "device", device);
  GRL_CHECK_OUT(out);
  *out = d.impl->info();
  GRL_API_END();
}

GRL_API grl_status grl_device_synchronize(grl_device device) {
  GRL_API_BEGIN();
  auto& d = arg_device(__func__, "device", device);
  DeviceLock lock(d.impl->mutex());
  d.impl->synchronize();
  GRL_API_END();
}

GRL_API grl_status grl_device_memory_stats(grl_device device, grl_memory_stats* out) {
  GRL_API_BEGIN();
  auto& d = arg_device(__func__, "device", device);
  GRL_CHECK_OUT(out);
  DeviceLock lock(d.impl->mutex());
  *out = d.impl->stats();
  GRL_API_END();
}

GRL_API grl_status grl_device_empty_cache(grl_device device) {
  GRL_API_BEGIN();
  auto& d = arg_device(__func__, "device", device);
  DeviceLock lock(d.impl->mutex());
  d.impl->empty_cache();
  GRL_API_END();
}

GRL_API grl_status grl_device_validation_messages(grl_device device, uint64_t* out) {
  GRL_API_BEGIN();
  auto& d = arg_device(__func__, "device", device);
  GRL_CHECK_OUT(out);
  *out = d.impl->validation_messages();
  GRL_API_END();
}

}  // extern "C"

namespace grl {
std::atomic<int64_t>& live_handles(HandleKind kind) {
  static std::atomic<int64_t> counts[static_cast<int>(HandleKind::count)];
  return counts[static_cast<int>(kind)];
}
}  // namespace grl

GRL_API grl_status grl_live_handle_counts(grl_live_handles* out) {
  GRL_API_BEGIN();
  GRL_CHECK_OUT(out);
  using grl::HandleKind;
  auto get = [](HandleKind k) { return grl::live_handles(k).load(std::memory_order_relaxed); };
  *out = {get(HandleKind::tensor), get(HandleKind::device), get(HandleKind::graph), get(HandleKind::optimizer)};
  GRL_API_END();
}
