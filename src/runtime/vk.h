// Vulkan entry points, loaded at run time from the system loader (libvulkan.so.1) so that
// libgrilly.so loads, and reports a clear error, on machines without Vulkan.
#pragma once
#include <vulkan/vulkan.h>

#include "runtime/error.h"

namespace grl::vk {

#define GRL_VK_GLOBAL_FUNCS(X)            \
  X(vkCreateInstance)                     \
  X(vkEnumerateInstanceExtensionProperties) \
  X(vkEnumerateInstanceLayerProperties)   \
  X(vkEnumerateInstanceVersion)

#define GRL_VK_INSTANCE_FUNCS(X)               \
  X(vkDestroyInstance)                         \
  X(vkEnumeratePhysicalDevices)                \
  X(vkGetPhysicalDeviceProperties)             \
  X(vkGetPhysicalDeviceProperties2)            \
  X(vkGetPhysicalDeviceFeatures2)              \
  X(vkGetPhysicalDeviceMemoryProperties)       \
  X(vkGetPhysicalDeviceQueueFamilyProperties)  \
  X(vkEnumerateDeviceExtensionProperties)      \
  X(vkCreateDevice)                            \
  X(vkGetDeviceProcAddr)

#define GRL_VK_DEVICE_FUNCS(X)        \
  X(vkDestroyDevice)                  \
  X(vkGetDeviceQueue)                 \
  X(vkCreateBuffer)                   \
  X(vkDestroyBuffer)                  \
  X(vkGetBufferMemoryRequirements)    \
  X(vkAllocateMemory)                 \
  X(vkFreeMemory)                     \
  X(vkBindBufferMemory)               \
  X(vkMapMemory)                      \
  X(vkUnmapMemory)                    \
  X(vkGetBufferDeviceAddress)         \
  X(vkCreateShaderModule)             \
  X(vkDestroyShaderModule)            \
  X(vkCreatePipelineLayout)           \
  X(vkDestroyPipelineLayout)          \
  X(vkCreateComputePipelines)         \
  X(vkDestroyPipeline)                \
  X(vkCreateCommandPool)              \
  X(vkDestroyCommandPool)             \
  X(vkResetCommandPool)               \
  X(vkAllocateCommandBuffers)         \
  X(vkBeginCommandBuffer)             \
  X(vkEndCommandBuffer)               \
  X(vkCmdBindPipeline)                \
  X(vkCmdPushConstants)               \
  X(vkCmdDispatch)                    \
  X(vkCmdPipelineBarrier)             \
  X(vkCmdCopyBuffer)                  \
  X(vkCmdFillBuffer)                  \
  X(vkCmdUpdateBuffer)                \
  X(vkCmdWriteTimestamp)              \
  X(vkCreateQueryPool)                \
  X(vkDestroyQueryPool)               \
  X(vkCmdResetQueryPool)              \
  X(vkGetQueryPoolResults)            \
  X(vkQueueSubmit)                    \
  X(vkDeviceWaitIdle)                 \
  X(vkCreateSemaphore)                \
  X(vkDestroySemaphore)               \
  X(vkWaitSemaphores)                 \
  X(vkGetSemaphoreCounterValue)

#define GRL_VK_DECLARE(name) extern PFN_##name name;
extern PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr;
GRL_VK_GLOBAL_FUNCS(GRL_VK_DECLARE)
GRL_VK_INSTANCE_FUNCS(GRL_VK_DECLARE)
GRL_VK_DEVICE_FUNCS(GRL_VK_DECLARE)
extern PFN_vkCreateDebugUtilsMessengerEXT vkCreateDebugUtilsMessengerEXT;
extern PFN_vkDestroyDebugUtilsMessengerEXT vkDestroyDebugUtilsMessengerEXT;
#undef GRL_VK_DECLARE

// Opens the loader once per process; throws Error(GRL_ERROR_NO_DEVICE) when it is missing.
void load_loader();
// Loads instance-level entry points (the instance stays the process-wide one; see instance.cpp).
void load_instance(VkInstance instance);
// Loads device-level entry points. All open devices share the same driver, so one table suffices
// for devices of one ICD; entries are fetched through vkGetInstanceProcAddr for that reason.
void load_device_funcs(VkInstance instance);

const char* result_name(VkResult r);

}  // namespace grl::vk

// Checks a VkResult; throws a device error naming the call.
#define GRL_VK_CHECK(call)                                                                        \
  do {                                                                                            \
    VkResult grl_vk_r_ = (call);                                                                  \
    if (grl_vk_r_ != VK_SUCCESS) ::grl::vk_fail(#call, grl_vk_r_);                                \
  } while (0)

namespace grl {
[[noreturn]] void vk_fail(const char* what, VkResult r);
}
