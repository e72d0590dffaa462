// The process-wide Vulkan instance (one with and one without the validation layer), physical
// device enumeration, capability queries and the device-choice policy.
#pragma once
#include <grilly.h>

#include <atomic>
#include <memory>
#include <vector>

#include "runtime/vk.h"

namespace grl {

class Instance {
 public:
  // Shared instance for the given validation setting; created on first use.
  static std::shared_ptr<Instance> get(bool validation);
  ~Instance();

  VkInstance handle() const { return instance_; }
  const std::vector<VkPhysicalDevice>& physical_devices() const { return physical_; }
  grl_device_info describe(uint32_t index) const;
  uint64_t messages() const { return messages_.load(); }
  bool validation() const { return validation_; }

  // Applies options and the environment (VK_GPU_INDEX, VK_GPU_NAME, ALLOW_CPU_VULKAN) to pick a
  // physical device; throws GRL_ERROR_NO_DEVICE with the reason when none fits.
  uint32_t choose(const grl_device_options& opts) const;

 private:
  explicit Instance(bool validation);
  static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                   VkDebugUtilsMessageTypeFlagsEXT types,
                                                   const VkDebugUtilsMessengerCallbackDataEXT* data,
                                                   void* user);
  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  std::vector<VkPhysicalDevice> physical_;
  std::atomic<uint64_t> messages_{0};
  bool validation_ = false;
};

bool env_flag(const char* name, bool fallback);

}  // namespace grl
