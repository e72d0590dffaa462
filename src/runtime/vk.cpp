// Run-time loading of the Vulkan loader and its entry points (no link-time dependency on Vulkan).
#include "runtime/vk.h"

#include <dlfcn.h>

#include <mutex>

namespace grl::vk {

#define GRL_VK_DEFINE(name) PFN_##name name = nullptr;
PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr = nullptr;
GRL_VK_GLOBAL_FUNCS(GRL_VK_DEFINE)
GRL_VK_INSTANCE_FUNCS(GRL_VK_DEFINE)
GRL_VK_DEVICE_FUNCS(GRL_VK_DEFINE)
PFN_vkCreateDebugUtilsMessengerEXT vkCreateDebugUtilsMessengerEXT = nullptr;
PFN_vkDestroyDebugUtilsMessengerEXT vkDestroyDebugUtilsMessengerEXT = nullptr;
#undef GRL_VK_DEFINE

void load_loader() {
  static std::once_flag once;
  static std::string failure;
  std::call_once(once, [] {
    void* lib = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) lib = dlopen("libvulkan.so", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      failure = "no Vulkan loader (libvulkan.so.1) could be opened: install the Vulkan loader and a "
                "driver (on Debian: apt-get install libvulkan1 mesa-vulkan-drivers)";
      return;
    }
    vkGetInstanceProcAddr =
        reinterpret_cast<PFN_vkGetInstanceProcAddr>(dlsym(lib, "vkGetInstanceProcAddr"));
    if (!vkGetInstanceProcAddr) {
      failure = "the Vulkan loader has no vkGetInstanceProcAddr";
      return;
    }
#define GRL_VK_LOAD(name) \
  name = reinterpret_cast<PFN_##name>(vkGetInstanceProcAddr(VK_NULL_HANDLE, #name));
    GRL_VK_GLOBAL_FUNCS(GRL_VK_LOAD)
#undef GRL_VK_LOAD
    if (!vkCreateInstance) failure = "the Vulkan loader has no vkCreateInstance";
  });
  if (!failure.empty()) throw Error(GRL_ERROR_NO_DEVICE, failure);
}

void load_instance(VkInstance instance) {
#define GRL_VK_LOAD(name) \
  if (!name) name = reinterpret_cast<PFN_##name>(vkGetInstanceProcAddr(instance, #name));
  GRL_VK_INSTANCE_FUNCS(GRL_VK_LOAD)
  GRL_VK_LOAD(vkCreateDebugUtilsMessengerEXT)
  GRL_VK_LOAD(vkDestroyDebugUtilsMessengerEXT)
#undef GRL_VK_LOAD
}

void load_device_funcs(VkInstance instance) {
  // Loader trampolines from vkGetInstanceProcAddr dispatch on the device handle, so they work for
  // every device of every driver.
#define GRL_VK_LOAD(name) \
  if (!name) name = reinterpret_cast<PFN_##name>(vkGetInstanceProcAddr(instance, #name));
  GRL_VK_DEVICE_FUNCS(GRL_VK_LOAD)
#undef GRL_VK_LOAD
}

const char* result_name(VkResult r) {
  switch (r) {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_NOT_READY: return "VK_NOT_READY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    default: return "VkResult error";
  }
}

}  // namespace grl::vk

namespace grl {
void vk_fail(const char* what, VkResult r) {
  grl_status s = GRL_ERROR_DEVICE;
  if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
    s = GRL_ERROR_OUT_OF_MEMORY;
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER || r == VK_ERROR_INITIALIZATION_FAILED) s = GRL_ERROR_NO_DEVICE;
  throw Error(s, std::string(what) + " failed with " + vk::result_name(r) + " (" +
                     std::to_string(static_cast<int>(r)) + ")");
}
}  // namespace grl
