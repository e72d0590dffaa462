// Vulkan instance creation, validation messages, enumeration and the device-choice policy.
#include "runtime/instance.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

namespace grl {

bool env_flag(const char* name, bool fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return !(std::strcmp(v, "0") == 0 || std::strcmp(v, "false") == 0 || std::strcmp(v, "off") == 0);
}

std::shared_ptr<Instance> Instance::get(bool validation) {
  static std::mutex mu;
  static std::weak_ptr<Instance> cached[2];
  std::lock_guard<std::mutex> lock(mu);
  auto inst = cached[validation].lock();
  if (!inst) {
    inst = std::shared_ptr<Instance>(new Instance(validation));
    cached[validation] = inst;
  }
  return inst;
}

static bool has_layer(const char* name) {
  uint32_t n = 0;
  vk::vkEnumerateInstanceLayerProperties(&n, nullptr);
  std::vector<VkLayerProperties> layers(n);
  vk::vkEnumerateInstanceLayerProperties(&n, layers.data());
  for (auto& l : layers)
    if (std::strcmp(l.layerName, name) == 0) return true;
  return false;
}

static bool has_instance_ext(const char* name) {
  uint32_t n = 0;
  vk::vkEnumerateInstanceExtensionProperties(nullptr, &n, nullptr);
  std::vector<VkExtensionProperties> exts(n);
  vk::vkEnumerateInstanceExtensionProperties(nullptr, &n, exts.data());
  for (auto& e : exts)
    if (std::strcmp(e.extensionName, name) == 0) return true;
  return false;
}

Instance::Instance(bool validation) : validation_(validation) {
  vk::load_loader();
  uint32_t api = VK_API_VERSION_1_0;
  if (vk::vkEnumerateInstanceVersion) vk::vkEnumerateInstanceVersion(&api);
  if (api < VK_API_VERSION_1_2)
    fail(GRL_ERROR_NO_DEVICE, "the Vulkan loader supports version %u.%u; grilly needs 1.2 or newer",
         VK_API_VERSION_MAJOR(api), VK_API_VERSION_MINOR(api));

  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "grilly";
  app.pEngineName = "grilly";
  app.engineVersion = grl_version();
  app.apiVersion = VK_API_VERSION_1_3;

  std::vector<const char*> layers, exts;
  bool debug_utils = has_instance_ext(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
  if (validation) {
    if (!has_layer("VK_LAYER_KHRONOS_validation"))
      fail(GRL_ERROR_UNSUPPORTED,
           "validation was requested but VK_LAYER_KHRONOS_validation is not installed (on Debian: "
           "apt-get install vulkan-validationlayers)");
    layers.push_back("VK_LAYER_KHRONOS_validation");
  }
  if (validation && debug_utils) exts.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);

  VkDebugUtilsMessengerCreateInfoEXT dbg{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  dbg.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                        VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  dbg.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                    VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                    VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  dbg.pfnUserCallback = &Instance::on_message;
  dbg.pUserData = this;

  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ci.pApplicationInfo = &app;
  ci.enabledLayerCount = static_cast<uint32_t>(layers.size());
  ci.ppEnabledLayerNames = layers.data();
  ci.enabledExtensionCount = static_cast<uint32_t>(exts.size());
  ci.ppEnabledExtensionNames = exts.data();
  if (validation && debug_utils) ci.pNext = &dbg;
  VkResult r = vk::vkCreateInstance(&ci, nullptr, &instance_);
  if (r != VK_SUCCESS)
    fail(GRL_ERROR_NO_DEVICE, "vkCreateInstance failed with %s: no usable Vulkan driver is installed "
         "(on Debian: apt-get install mesa-vulkan-drivers for the CPU driver)", vk::result_name(r));
  vk::load_instance(instance_);
  vk::load_device_funcs(instance_);
  if (validation && debug_utils && vk::vkCreateDebugUtilsMessengerEXT)
    GRL_VK_CHECK(vk::vkCreateDebugUtilsMessengerEXT(instance_, &dbg, nullptr, &messenger_));

  uint32_t n = 0;
  GRL_VK_CHECK(vk::vkEnumeratePhysicalDevices(instance_, &n, nullptr));
  std::vector<VkPhysicalDevice> all(n);
  GRL_VK_CHECK(vk::vkEnumeratePhysicalDevices(instance_, &n, all.data()));
  for (VkPhysicalDevice pd : all) {
    VkPhysicalDeviceProperties p;
    vk::vkGetPhysicalDeviceProperties(pd, &p);
    if (p.apiVersion >= VK_API_VERSION_1_2) physical_.push_back(pd);  // older ones cannot run us
  }
}

Instance::~Instance() {
  if (messenger_) vk::vkDestroyDebugUtilsMessengerEXT(instance_, messenger_, nullptr);
  if (instance_) vk::vkDestroyInstance(instance_, nullptr);
}

VkBool32 Instance::on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                              VkDebugUtilsMessageTypeFlagsEXT, const VkDebugUtilsMessengerCallbackDataEXT* data,
                              void* user) {
  auto* self = static_cast<Instance*>(user);
  // The loader reports its own informational notes through the same channel; count what the
  // validation layer says.
  if (data->pMessageIdName && std::strstr(data->pMessageIdName, "Loader")) return VK_FALSE;
  self->messages_.fetch_add(1);
  std::fprintf(stderr, "grilly: Vulkan validation %s: %s\n",
               severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error" : "warning",
               data->pMessage ? data->pMessage : "");
  return VK_FALSE;
}

static bool has_device_ext(VkPhysicalDevice pd, const char* name) {
  uint32_t n = 0;
  vk::vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, nullptr);
  std::vector<VkExtensionProperties> exts(n);
  vk::vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, exts.data());
  for (auto& e : exts)
    if (std::strcmp(e.extensionName, name) == 0) return true;
  return false;
}

grl_device_info Instance::describe(uint32_t index) const {
  if (index >= physical_.size())
    fail(GRL_ERROR_INVALID_ARGUMENT, "device index %u is out of range: %zu Vulkan device(s) found",
         index, physical_.size());
  VkPhysicalDevice pd = physical_[index];
  VkPhysicalDeviceSubgroupProperties sub{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceMaintenance3Properties m3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  m3.pNext = &sub;
  VkPhysicalDeviceProperties2 p2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  p2.pNext = &m3;
  vk::vkGetPhysicalDeviceProperties2(pd, &p2);
  const VkPhysicalDeviceProperties& p = p2.properties;

  VkPhysicalDevice16BitStorageFeatures s16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  VkPhysicalDevice8BitStorageFeatures s8{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES};
  VkPhysicalDeviceShaderFloat16Int8Features f16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  s16.pNext = &s8;
  s8.pNext = &f16;
  VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  f2.pNext = &s16;
  vk::vkGetPhysicalDeviceFeatures2(pd, &f2);

  VkPhysicalDeviceMemoryProperties mem;
  vk::vkGetPhysicalDeviceMemoryProperties(pd, &mem);
  uint64_t local = 0;
  bool host_visible_local = false;
  for (uint32_t h = 0; h < mem.memoryHeapCount; ++h)
    if (mem.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) local = std::max<uint64_t>(local, mem.memoryHeaps[h].size);
  for (uint32_t t = 0; t < mem.memoryTypeCount; ++t) {
    auto f = mem.memoryTypes[t].propertyFlags;
    auto heap = mem.memoryHeaps[mem.memoryTypes[t].heapIndex];
    if ((f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) && (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) &&
        (f & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) && heap.size >= local)
      host_visible_local = true;
  }

  grl_device_info info{};
  std::snprintf(info.name, sizeof info.name, "%s", p.deviceName);
  info.index = index;
  info.vendor_id = p.vendorID;
  info.device_id = p.deviceID;
  switch (p.deviceType) {
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: info.type = GRL_DEVICE_INTEGRATED_GPU; break;
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: info.type = GRL_DEVICE_DISCRETE_GPU; break;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: info.type = GRL_DEVICE_VIRTUAL_GPU; break;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: info.type = GRL_DEVICE_CPU; break;
    default: info.type = GRL_DEVICE_OTHER; break;
  }
  info.api_version = p.apiVersion;
  info.device_local_bytes = local;
  info.max_buffer_bytes = m3.maxMemoryAllocationSize;
  info.subgroup_size = sub.subgroupSize;
  info.max_workgroup_invocations = p.limits.maxComputeWorkGroupInvocations;
  info.max_shared_memory_bytes = p.limits.maxComputeSharedMemorySize;
  info.supports_fp16 = f16.shaderFloat16 && s16.storageBuffer16BitAccess;
  info.supports_bf16 = has_device_ext(pd, "VK_KHR_shader_bfloat16");
  info.supports_int8 = f16.shaderInt8 && s8.storageBuffer8BitAccess;
  info.supports_cooperative_matrix =
      has_device_ext(pd, "VK_KHR_cooperative_matrix") || has_device_ext(pd, "VK_NV_cooperative_matrix");
  info.host_visible_device_memory = host_visible_local;
  return info;
}

uint32_t Instance::choose(const grl_device_options& opts) const {
  if (physical_.empty())
    fail(GRL_ERROR_NO_DEVICE, "Vulkan found no device supporting Vulkan 1.2 (install a GPU driver, or "
         "mesa-vulkan-drivers for the CPU driver lavapipe)");
  int allow_cpu = opts.allow_cpu;
  if (allow_cpu < 0) allow_cpu = env_flag("ALLOW_CPU_VULKAN", true) ? 1 : 0;
  int64_t index = opts.index;
  const char* env_index = std::getenv("VK_GPU_INDEX");
  if (index < 0 && env_index && *env_index) {
    char* end = nullptr;
    long v = std::strtol(env_index, &end, 10);
    if (*end || v < 0)
      fail(GRL_ERROR_INVALID_ARGUMENT, "VK_GPU_INDEX must be a device index >= 0, got '%s'", env_index);
    index = v;
  }
  std::string name = opts.name_contains ? opts.name_contains : "";
  const char* env_name = std::getenv("VK_GPU_NAME");
  if (name.empty() && index < 0 && env_name) name = env_name;

  auto reject_cpu = [&](const grl_device_info& d) {
    if (d.type == GRL_DEVICE_CPU && !allow_cpu)
      fail(GRL_ERROR_NO_DEVICE, "device %u (%s) is a CPU device and CPU devices are forbidden "
           "(ALLOW_CPU_VULKAN=0 or allow_cpu = 0)", d.index, d.name);
  };
  if (index >= 0) {
    if (static_cast<size_t>(index) >= physical_.size())
      fail(GRL_ERROR_NO_DEVICE, "device index %lld requested but only %zu Vulkan device(s) exist",
           static_cast<long long>(index), physical_.size());
    auto d = describe(static_cast<uint32_t>(index));
    reject_cpu(d);
    return static_cast<uint32_t>(index);
  }
  if (!name.empty()) {
    std::string names;
    for (uint32_t i = 0; i < physical_.size(); ++i) {
      auto d = describe(i);
      if (std::strstr(d.name, name.c_str())) {
        reject_cpu(d);
        return i;
      }
      names += (names.empty() ? "" : ", ") + std::string(d.name);
    }
    fail(GRL_ERROR_NO_DEVICE, "no Vulkan device name contains '%s' (devices: %s)", name.c_str(), names.c_str());
  }
  auto rank = [](grl_device_type t) {
    switch (t) {
      case GRL_DEVICE_DISCRETE_GPU: return 0;
      case GRL_DEVICE_INTEGRATED_GPU: return 1;
      case GRL_DEVICE_VIRTUAL_GPU: return 2;
      case GRL_DEVICE_OTHER: return 3;
      default: return 4;
    }
  };
  int best = -1, best_rank = 99;
  for (uint32_t i = 0; i < physical_.size(); ++i) {
    auto d = describe(i);
    if (d.type == GRL_DEVICE_CPU && !allow_cpu) continue;
    if (rank(d.type) < best_rank) best = static_cast<int>(i), best_rank = rank(d.type);
  }
  if (best < 0)
    fail(GRL_ERROR_NO_DEVICE, "only CPU Vulkan devices were found and CPU devices are forbidden "
         "(ALLOW_CPU_VULKAN=0)");
  if (best_rank == 4 && env_flag("GRILLY_QUIET", false) == false) {
    static std::once_flag notice;
    std::call_once(notice, [&] {
      std::fprintf(stderr, "grilly: no GPU found, running on the CPU Vulkan device '%s'\n",
                   describe(static_cast<uint32_t>(best)).name);
    });
  }
  return static_cast<uint32_t>(best);
}

}  // namespace grl
