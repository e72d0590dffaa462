// Device creation, the memory pool, transfers, pipelines and the deferred command stream.
#include "runtime/device.h"

#include <algorithm>
#include <cstring>

#include "runtime/instance.h"
#include "runtime/shader_registry.h"

namespace grl {

namespace {
constexpr uint32_t kPushBytes = 128;
constexpr uint32_t kMaxRecorded = 1024;  // dispatches per command buffer before it is submitted
constexpr size_t kUpdateLimit = 65536;   // vkCmdUpdateBuffer's per-call limit
}  // namespace

// ------------------------------------------------------------------------------------------------
// Kernels
// ------------------------------------------------------------------------------------------------
Kernel::Kernel(const char* name) : name_(name) {
  auto reg = shader_registry();
  auto it = std::lower_bound(reg.begin(), reg.end(), name,
                             [](const ShaderBlob& b, const char* n) { return std::strcmp(b.name, n) < 0; });
  if (it == reg.end() || std::strcmp(it->name, name) != 0)
    throw Error(GRL_ERROR_INTERNAL, std::string("kernel '") + name + "' is not in the shader registry");
  index_ = static_cast<uint32_t>(it - reg.begin());
}

VkDeviceSize size_class(size_t bytes) {
  if (bytes <= 256) return 256;
  if (bytes <= 4096) {
    VkDeviceSize s = 256;
    while (s < bytes) s <<= 1;
    return s;
  }
  // Four classes per octave: 2^k * {4, 5, 6, 7} / 4, so at most 25% is wasted.
  VkDeviceSize octave = 4096;
  while (octave * 2 <= bytes) octave <<= 1;
  VkDeviceSize step = octave / 4;
  return (bytes + step - 1) / step * step;
}

// ------------------------------------------------------------------------------------------------
// Creation
// ------------------------------------------------------------------------------------------------
Device::Device(std::shared_ptr<Instance> instance, uint32_t physical_index, bool validation)
    : instance_(std::move(instance)) {
  physical_ = instance_->physical_devices()[physical_index];
  info_ = instance_->describe(physical_index);

  uint32_t nq = 0;
  vk::vkGetPhysicalDeviceQueueFamilyProperties(physical_, &nq, nullptr);
  std::vector<VkQueueFamilyProperties> qf(nq);
  vk::vkGetPhysicalDeviceQueueFamilyProperties(physical_, &nq, qf.data());
  int family = -1;
  for (uint32_t i = 0; i < nq; ++i) {  // prefer a compute queue without graphics (async compute)
    if ((qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && !(qf[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) {
      family = static_cast<int>(i);
      break;
    }
  }
  if (family < 0)
    for (uint32_t i = 0; i < nq; ++i)
      if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
        family = static_cast<int>(i);
        break;
      }
  if (family < 0) fail(GRL_ERROR_NO_DEVICE, "device '%s' has no compute queue", info_.name);
  queue_family_ = static_cast<uint32_t>(family);

  // Features grilly relies on: buffer device addresses, timeline semaphores, 64-bit integers in
  // shaders; 16/8-bit storage and float16 where available.
  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  f11.pNext = &f12;
  VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  f2.pNext = &f11;
  vk::vkGetPhysicalDeviceFeatures2(physical_, &f2);
  if (!f12.bufferDeviceAddress || !f12.timelineSemaphore || !f2.features.shaderInt64)
    fail(GRL_ERROR_UNSUPPORTED, "device '%s' lacks a required feature (bufferDeviceAddress %u, "
         "timelineSemaphore %u, shaderInt64 %u)", info_.name, f12.bufferDeviceAddress,
         f12.timelineSemaphore, f2.features.shaderInt64);
  if (!f11.storageBuffer16BitAccess || !f12.storageBuffer8BitAccess || !f12.shaderFloat16 ||
      !f12.shaderInt8 || !f2.features.shaderInt16)
    fail(GRL_ERROR_UNSUPPORTED, "device '%s' lacks 8/16-bit storage or float16/int8/int16 shader "
         "arithmetic, which grilly's kernels need", info_.name);

  VkPhysicalDeviceVulkan12Features e12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  e12.bufferDeviceAddress = VK_TRUE;
  e12.timelineSemaphore = VK_TRUE;
  e12.storageBuffer8BitAccess = VK_TRUE;
  e12.uniformAndStorageBuffer8BitAccess = f12.uniformAndStorageBuffer8BitAccess;
  e12.shaderFloat16 = VK_TRUE;
  e12.shaderInt8 = VK_TRUE;
  e12.scalarBlockLayout = f12.scalarBlockLayout;
  e12.shaderBufferInt64Atomics = f12.shaderBufferInt64Atomics;
  VkPhysicalDeviceVulkan11Features e11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  e11.pNext = &e12;
  e11.storageBuffer16BitAccess = VK_TRUE;
  e11.uniformAndStorageBuffer16BitAccess = f11.uniformAndStorageBuffer16BitAccess;
  VkPhysicalDeviceFeatures2 e2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  e2.pNext = &e11;
  e2.features.shaderInt64 = VK_TRUE;
  e2.features.shaderInt16 = VK_TRUE;
  e2.features.shaderFloat64 = f2.features.shaderFloat64;

  float priority = 1.0f;
  VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qci.queueFamilyIndex = queue_family_;
  qci.queueCount = 1;
  qci.pQueuePriorities = &priority;
  VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  dci.pNext = &e2;
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  GRL_VK_CHECK(vk::vkCreateDevice(physical_, &dci, nullptr, &device_));
  vk::vkGetDeviceQueue(device_, queue_family_, 0, &queue_);

  VkPhysicalDeviceProperties props;
  vk::vkGetPhysicalDeviceProperties(physical_, &props);
  for (int i = 0; i < 3; ++i) max_groups_[i] = props.limits.maxComputeWorkGroupCount[i];

  choose_memory_types();

  VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, kPushBytes};
  VkPipelineLayoutCreateInfo lci{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  lci.pushConstantRangeCount = 1;
  lci.pPushConstantRanges = &range;
  GRL_VK_CHECK(vk::vkCreatePipelineLayout(device_, &lci, nullptr, &layout_));
  pipelines_.assign(shader_registry().size(), VK_NULL_HANDLE);

  VkSemaphoreTypeCreateInfo tci{VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO};
  tci.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE;
  tci.initialValue = 0;
  VkSemaphoreCreateInfo sci{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
  sci.pNext = &tci;
  GRL_VK_CHECK(vk::vkCreateSemaphore(device_, &sci, nullptr, &timeline_));

  error_block_ = alloc(16);
  fill_zero(error_block_, 0, 16);
  (void)validation;
}

Device::~Device() {
  try {
    synchronize();
  } catch (...) {
    // The device may be lost; destruction goes on regardless.
  }
  if (device_) vk::vkDeviceWaitIdle(device_);
  if (error_block_) free(error_block_);
  for (auto& [size, blocks] : free_blocks_)
    for (Block* b : blocks) destroy_block(b);
  for (auto& [size, blocks] : free_staging_)
    for (Block* b : blocks) destroy_block(b);
  for (Block* b : pending_staging_) destroy_block(b);
  for (auto& f : in_flight_) vk::vkDestroyCommandPool(device_, f.pool, nullptr);
  for (auto& f : spare_frames_) vk::vkDestroyCommandPool(device_, f.pool, nullptr);
  if (open_.pool) vk::vkDestroyCommandPool(device_, open_.pool, nullptr);
  for (VkPipeline p : pipelines_)
    if (p) vk::vkDestroyPipeline(device_, p, nullptr);
  if (layout_) vk::vkDestroyPipelineLayout(device_, layout_, nullptr);
  if (timeline_) vk::vkDestroySemaphore(device_, timeline_, nullptr);
  if (device_) vk::vkDestroyDevice(device_, nullptr);
}

uint64_t Device::validation_messages() const { return instance_->messages(); }

void Device::choose_memory_types() {
  VkPhysicalDeviceMemoryProperties mem;
  vk::vkGetPhysicalDeviceMemoryProperties(physical_, &mem);
  auto find = [&](VkMemoryPropertyFlags want, VkMemoryPropertyFlags avoid) -> int {
    for (uint32_t t = 0; t < mem.memoryTypeCount; ++t) {
      auto f = mem.memoryTypes[t].propertyFlags;
      if ((f & want) == want && !(f & avoid)) return static_cast<int>(t);
    }
    return -1;
  };
  const auto local = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
  const auto host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  int dev = -1;
  // Zero-copy only where host and device share memory (integrated GPUs, CPU drivers): on discrete
  // GPUs with resizable BAR, host reads of device memory cross PCIe uncached, so transfers go
  // through staging copies instead.
  bool unified = info_.type == GRL_DEVICE_INTEGRATED_GPU || info_.type == GRL_DEVICE_CPU;
  if (info_.host_visible_device_memory && unified) {
    for (uint32_t t = 0; t < mem.memoryTypeCount; ++t) {
      auto f = mem.memoryTypes[t].propertyFlags;
      if ((f & (local | host)) == (local | host) &&
          mem.memoryHeaps[mem.memoryTypes[t].heapIndex].size >= info_.device_local_bytes) {
        dev = static_cast<int>(t);
        break;
      }
    }
  }
  if (dev < 0) dev = find(local, 0);
  if (dev < 0) dev = find(0, 0);
  int staging = find(host | VK_MEMORY_PROPERTY_HOST_CACHED_BIT, 0);
  if (staging < 0) staging = find(host, 0);
  if (dev < 0 || staging < 0) fail(GRL_ERROR_NO_DEVICE, "device '%s' has no usable memory type", info_.name);
  device_memory_type_ = static_cast<uint32_t>(dev);
  staging_memory_type_ = static_cast<uint32_t>(staging);
  auto f = mem.memoryTypes[dev].propertyFlags;
  device_memory_mapped_ = (f & host) == host;
}

// ------------------------------------------------------------------------------------------------
// Memory pool
// ------------------------------------------------------------------------------------------------
Block* Device::create_block(VkDeviceSize size, bool staging) {
  VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = size;
  bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
              VK_BUFFER_USAGE_TRANSFER_DST_BIT | VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT;
  bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  auto b = std::make_unique<Block>();
  b->size = size;
  b->staging = staging;
  GRL_VK_CHECK(vk::vkCreateBuffer(device_, &bci, nullptr, &b->buffer));
  VkMemoryRequirements req;
  vk::vkGetBufferMemoryRequirements(device_, b->buffer, &req);
  uint32_t type = staging ? staging_memory_type_ : device_memory_type_;
  if (!(req.memoryTypeBits & (1u << type))) {
    vk::vkDestroyBuffer(device_, b->buffer, nullptr);
    fail(GRL_ERROR_UNSUPPORTED, "device '%s': buffers cannot live in memory type %u", info_.name, type);
  }
  VkMemoryAllocateFlagsInfo flags{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO};
  flags.flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT;
  VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  mai.pNext = &flags;
  mai.allocationSize = req.size;
  mai.memoryTypeIndex = type;
  VkResult r = vk::vkAllocateMemory(device_, &mai, nullptr, &b->memory);
  if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY) {
    // Give cached blocks back to the driver and try once more before reporting.
    vk::vkDestroyBuffer(device_, b->buffer, nullptr);
    empty_cache();
    GRL_VK_CHECK(vk::vkCreateBuffer(device_, &bci, nullptr, &b->buffer));
    r = vk::vkAllocateMemory(device_, &mai, nullptr, &b->memory);
    if (r != VK_SUCCESS) {
      vk::vkDestroyBuffer(device_, b->buffer, nullptr);
      fail(GRL_ERROR_OUT_OF_MEMORY, "device '%s' is out of memory allocating %llu bytes (%llu in use)",
           info_.name, static_cast<unsigned long long>(size),
           static_cast<unsigned long long>(stats_.bytes_in_use));
    }
  } else if (r != VK_SUCCESS) {
    vk::vkDestroyBuffer(device_, b->buffer, nullptr);
    vk_fail("vkAllocateMemory", r);
  }
  GRL_VK_CHECK(vk::vkBindBufferMemory(device_, b->buffer, b->memory, 0));
  if (staging || device_memory_mapped_) {
    void* p = nullptr;
    GRL_VK_CHECK(vk::vkMapMemory(device_, b->memory, 0, VK_WHOLE_SIZE, 0, &p));
    b->mapped = static_cast<uint8_t*>(p);
  }
  VkBufferDeviceAddressInfo ai{VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO};
  ai.buffer = b->buffer;
  b->address = vk::vkGetBufferDeviceAddress(device_, &ai);
  if (staging)
    stats_.staging_bytes += size;
  else
    stats_.bytes_reserved += size;
  return b.release();
}

void Device::destroy_block(Block* b) {
  if (b->staging)
    stats_.staging_bytes -= b->size;
  else
    stats_.bytes_reserved -= b->size;
  vk::vkDestroyBuffer(device_, b->buffer, nullptr);
  vk::vkFreeMemory(device_, b->memory, nullptr);
  delete b;
}

Block* Device::alloc(size_t bytes) {
  VkDeviceSize size = size_class(bytes);
  ++stats_.allocations;
  Block* b = nullptr;
  auto it = free_blocks_.find(size);
  if (it != free_blocks_.end() && !it->second.empty()) {
    b = it->second.back();
    it->second.pop_back();
    ++stats_.pool_hits;
    stats_.bytes_cached -= size;
  } else {
    b = create_block(size, false);
  }
  stats_.bytes_in_use += size;
  stats_.peak_bytes_in_use = std::max(stats_.peak_bytes_in_use, stats_.bytes_in_use);
  b->holders = 1;
  return b;
}

void Device::free(Block* b) {
  if (!b || --b->holders > 0) return;  // a captured graph may still use it
  if (capture_) labels_.erase(b);
  stats_.bytes_in_use -= b->size;
  stats_.bytes_cached += b->size;
  free_blocks_[b->size].push_back(b);
}

Block* Device::alloc_staging(size_t bytes) {
  VkDeviceSize size = size_class(bytes);
  // Recycle staging blocks whose transfers have completed.
  if (!pending_staging_.empty()) {
    uint64_t done = completed_serial();
    auto keep = pending_staging_.begin();
    for (Block* b : pending_staging_) {
      if (b->last_serial <= done)
        free_staging_[b->size].push_back(b);
      else
        *keep++ = b;
    }
    pending_staging_.erase(keep, pending_staging_.end());
  }
  auto it = free_staging_.find(size);
  if (it != free_staging_.end() && !it->second.empty()) {
    Block* b = it->second.back();
    it->second.pop_back();
    return b;
  }
  return create_block(size, true);
}

void Device::free_staging(Block* b) {
  if (b->last_serial <= completed_serial())
    free_staging_[b->size].push_back(b);
  else
    pending_staging_.push_back(b);
}

void Device::empty_cache() {
  synchronize();
  for (auto& [size, blocks] : free_blocks_) {
    for (Block* b : blocks) destroy_block(b);
    stats_.bytes_cached -= size * blocks.size();
  }
  free_blocks_.clear();
  for (auto& [size, blocks] : free_staging_)
    for (Block* b : blocks) destroy_block(b);
  free_staging_.clear();
  for (Block* b : pending_staging_) destroy_block(b);
  pending_staging_.clear();
}

// ------------------------------------------------------------------------------------------------
// Command stream
// ------------------------------------------------------------------------------------------------
uint64_t Device::completed_serial() {
  if (completed_serial_ < submitted_serial_) {
    uint64_t v = 0;
    GRL_VK_CHECK(vk::vkGetSemaphoreCounterValue(device_, timeline_, &v));
    completed_serial_ = v;
  }
  return completed_serial_;
}

VkCommandBuffer Device::cmd() {
  if (capture_) return capture_->cb;
  if (recording_) return open_.cb;
  if (!open_.pool) {
    // Reuse a finished frame's pool when there is one.
    uint64_t done = completed_serial();
    auto it = std::find_if(in_flight_.begin(), in_flight_.end(), [&](const Frame& f) { return f.serial <= done; });
    if (it != in_flight_.end()) {
      open_ = *it;
      in_flight_.erase(it);
      GRL_VK_CHECK(vk::vkResetCommandPool(device_, open_.pool, 0));
    } else if (!spare_frames_.empty()) {
      open_ = spare_frames_.back();
      spare_frames_.pop_back();
    } else {
      VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
      pci.flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT;
      pci.queueFamilyIndex = queue_family_;
      GRL_VK_CHECK(vk::vkCreateCommandPool(device_, &pci, nullptr, &open_.pool));
      VkCommandBufferAllocateInfo cai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
      cai.commandPool = open_.pool;
      cai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
      cai.commandBufferCount = 1;
      GRL_VK_CHECK(vk::vkAllocateCommandBuffers(device_, &cai, &open_.cb));
    }
  }
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  GRL_VK_CHECK(vk::vkBeginCommandBuffer(open_.cb, &bi));
  recording_ = true;
  recorded_ = 0;
  return open_.cb;
}

void Device::barrier() {
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT |
                     VK_ACCESS_TRANSFER_READ_BIT;
  mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                     VK_ACCESS_TRANSFER_WRITE_BIT;
  const auto stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  vk::vkCmdPipelineBarrier(cmd(), stages, stages, 0, 1, &mb, 0, nullptr, 0, nullptr);
  ++epoch_;
}

void Device::track(std::initializer_list<Block*> reads, std::initializer_list<Block*> writes) {
  bool hazard = false;
  for (Block* b : reads)
    if (b && b->write_epoch == epoch_) hazard = true;
  for (Block* b : writes)
    if (b && (b->write_epoch == epoch_ || b->read_epoch == epoch_)) hazard = true;
  if (hazard) barrier();
  uint64_t serial = open_serial();
  for (Block* b : reads)
    if (b) b->read_epoch = epoch_, b->last_serial = serial;
  for (Block* b : writes)
    if (b) b->write_epoch = epoch_, b->last_serial = serial;
  if (capture_) {
    for (auto list : {reads, writes})
      for (Block* b : list)
        if (b && b->capture_id != capture_->id) {
          b->capture_id = capture_->id;
          ++b->holders;
          capture_->blocks.push_back(b);
        }
  }
}

VkPipeline Device::pipeline(const Kernel& kernel) {
  VkPipeline& p = pipelines_[kernel.index()];
  if (p) return p;
  const ShaderBlob& blob = shader_registry()[kernel.index()];
  VkShaderModuleCreateInfo mci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  mci.codeSize = blob.word_count * 4;
  mci.pCode = blob.words;
  VkShaderModule module;
  GRL_VK_CHECK(vk::vkCreateShaderModule(device_, &mci, nullptr, &module));
  VkComputePipelineCreateInfo cci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  cci.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  cci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  cci.stage.module = module;
  cci.stage.pName = "main";
  cci.layout = layout_;
  VkResult r = vk::vkCreateComputePipelines(device_, VK_NULL_HANDLE, 1, &cci, nullptr, &p);
  vk::vkDestroyShaderModule(device_, module, nullptr);
  if (r != VK_SUCCESS) {
    p = VK_NULL_HANDLE;
    vk_fail((std::string("vkCreateComputePipelines(") + blob.name + ")").c_str(), r);
  }
  return p;
}

void Device::dispatch(const Kernel& kernel, const void* push, uint32_t push_bytes, uint32_t gx, uint32_t gy,
                      uint32_t gz, std::initializer_list<Block*> reads, std::initializer_list<Block*> writes) {
  if (gx == 0 || gy == 0 || gz == 0) return;
  if (push_bytes > kPushBytes) fail(GRL_ERROR_INTERNAL, "kernel %s: push constants of %u bytes", kernel.name(), push_bytes);
  VkPipeline p = pipeline(kernel);
  VkCommandBuffer cb = cmd();
  track(reads, writes);
  vk::vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, p);
  if (push_bytes) vk::vkCmdPushConstants(cb, layout_, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, push);
  vk::vkCmdDispatch(cb, gx, gy, gz);
  if (capture_) {
    std::string line = kernel.name();
    auto describe = [&](Block* b) {
      auto it = labels_.find(b);
      return it == labels_.end() ? std::string("?") : it->second;
    };
    line += "(";
    bool first = true;
    for (Block* b : reads) {
      if (!b) continue;
      line += (first ? "" : ", ") + describe(b);
      first = false;
    }
    line += ") -> ";
    first = true;
    for (Block* b : writes) {
      if (!b || b == error_block_) continue;
      line += (first ? "" : ", ") + describe(b);
      first = false;
    }
    capture_->ops.push_back(std::move(line));
    return;
  }
  if (++recorded_ >= kMaxRecorded) flush();
}

void Device::dispatch_1d(const Kernel& kernel, const void* push, uint32_t push_bytes, uint64_t groups,
                         std::initializer_list<Block*> reads, std::initializer_list<Block*> writes) {
  if (groups == 0) return;
  uint64_t gx = std::min<uint64_t>(groups, max_groups_[0]);
  uint64_t gy = (groups + gx - 1) / gx;
  if (gy > max_groups_[1]) fail(GRL_ERROR_UNSUPPORTED, "kernel %s: %llu workgroups exceed the device's grid", kernel.name(),
                                static_cast<unsigned long long>(groups));
  dispatch(kernel, push, push_bytes, static_cast<uint32_t>(gx), static_cast<uint32_t>(gy), 1, reads, writes);
}

uint64_t Device::submit(VkCommandBuffer cb) {
  uint64_t serial = submitted_serial_ + 1;
  VkTimelineSemaphoreSubmitInfo ts{VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO};
  ts.signalSemaphoreValueCount = 1;
  ts.pSignalSemaphoreValues = &serial;
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.pNext = &ts;
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cb;
  si.signalSemaphoreCount = 1;
  si.pSignalSemaphores = &timeline_;
  GRL_VK_CHECK(vk::vkQueueSubmit(queue_, 1, &si, VK_NULL_HANDLE));
  submitted_serial_ = serial;
  ++stats_.submissions;
  return serial;
}

void Device::flush() {
  if (capture_)
    fail(GRL_ERROR_INVALID_ARGUMENT, "the device is capturing a graph: host reads and synchronization are not "
         "possible until grl_graph_end_capture");
  if (!recording_) return;
  // Make everything written visible to host reads after the wait.
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  vk::vkCmdPipelineBarrier(open_.cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                           VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr, 0, nullptr);
  GRL_VK_CHECK(vk::vkEndCommandBuffer(open_.cb));
  recording_ = false;
  open_.serial = submit(open_.cb);
  in_flight_.push_back(open_);
  open_ = Frame{};
  // A new command buffer starts a new barrier epoch only through an explicit barrier; hazards
  // across submissions on one queue are ordered by the first barrier of the next buffer.
}

void Device::wait_serial(uint64_t serial) {
  if (serial >= open_serial() && recording_) flush();
  if (serial > submitted_serial_) serial = submitted_serial_;
  if (completed_serial() >= serial) return;
  VkSemaphoreWaitInfo wi{VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO};
  wi.semaphoreCount = 1;
  wi.pSemaphores = &timeline_;
  wi.pValues = &serial;
  GRL_VK_CHECK(vk::vkWaitSemaphores(device_, &wi, UINT64_MAX));
  completed_serial_ = serial;
}

void Device::synchronize() {
  flush();
  wait_serial(submitted_serial_);
  check_device_errors();
}

// ------------------------------------------------------------------------------------------------
// Transfers
// ------------------------------------------------------------------------------------------------
void Device::upload(Block* dst, size_t offset, const void* src, size_t bytes) {
  if (bytes == 0) return;
  if (dst->mapped && idle(dst) && dst->write_epoch != epoch_ && dst->read_epoch != epoch_) {
    std::memcpy(dst->mapped + offset, src, bytes);  // zero-copy: the next submit makes it visible
    return;
  }
  if (bytes <= kUpdateLimit && bytes % 4 == 0 && offset % 4 == 0) {
    VkCommandBuffer cb = cmd();
    track({}, {dst});
    vk::vkCmdUpdateBuffer(cb, dst->buffer, offset, bytes, src);
    return;
  }
  Block* st = alloc_staging(bytes);
  std::memcpy(st->mapped, src, bytes);
  VkCommandBuffer cb = cmd();
  track({st}, {dst});
  VkBufferCopy region{0, offset, bytes};
  vk::vkCmdCopyBuffer(cb, st->buffer, dst->buffer, 1, &region);
  if (capture_)
    capture_->staging.push_back(st);  // replays copy from it again
  else
    free_staging(st);
}

void Device::download(Block* src, size_t offset, void* dst, size_t bytes) {
  if (bytes == 0) return;
  if (capture_) flush();  // reports the capture error
  if (src->mapped) {
    if (!idle(src)) wait_serial(src->last_serial);
    std::memcpy(dst, src->mapped + offset, bytes);
    return;
  }
  Block* st = alloc_staging(bytes);
  VkCommandBuffer cb = cmd();
  track({src}, {st});
  VkBufferCopy region{offset, 0, bytes};
  vk::vkCmdCopyBuffer(cb, src->buffer, st->buffer, 1, &region);
  wait_serial(st->last_serial);
  std::memcpy(dst, st->mapped, bytes);
  free_staging(st);
}

void Device::fill_zero(Block* dst, size_t offset, size_t bytes) {
  if (bytes == 0) return;
  VkCommandBuffer cb = cmd();
  track({}, {dst});
  vk::vkCmdFillBuffer(cb, dst->buffer, offset, (bytes + 3) / 4 * 4, 0);
}

// ------------------------------------------------------------------------------------------------
// Device-side error reports
// ------------------------------------------------------------------------------------------------
uint64_t Device::error_address() {
  error_check_pending_ = true;
  if (capture_) capture_->checks_errors = true;
  return error_block_->address;
}

uint32_t Device::error_tag(const char* op_name) {
  for (size_t i = 0; i < error_tags_.size(); ++i)
    if (error_tags_[i] == op_name || std::strcmp(error_tags_[i], op_name) == 0) return static_cast<uint32_t>(i);
  error_tags_.push_back(op_name);
  return static_cast<uint32_t>(error_tags_.size() - 1);
}

void Device::check_device_errors() {
  if (!error_check_pending_) return;
  error_check_pending_ = false;
  uint32_t words[4] = {0, 0, 0, 0};
  download(error_block_, 0, words, sizeof words);
  if (words[0] == 0) return;
  fill_zero(error_block_, 0, 16);
  int64_t value = static_cast<int64_t>(static_cast<uint64_t>(words[2]) | (static_cast<uint64_t>(words[3]) << 32));
  const char* op = words[1] < error_tags_.size() ? error_tags_[words[1]] : "a kernel";
  fail(GRL_ERROR_INDEX, "%s: index %lld is out of range (detected on the device; the affected "
       "output elements were set to zero)", op, static_cast<long long>(value));
}


// ------------------------------------------------------------------------------------------------
// Capture and replay
// ------------------------------------------------------------------------------------------------
void Device::label(Block* b, std::string text) {
  if (capture_ && b) labels_[b] = std::move(text);
}

void Device::begin_capture() {
  if (capture_) fail(GRL_ERROR_INVALID_ARGUMENT, "grl_graph_begin_capture: the device is already capturing");
  flush();  // earlier work goes first, in its own submission
  auto c = std::make_unique<Capture>();
  c->id = ++capture_ids_;
  VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pci.queueFamilyIndex = queue_family_;
  GRL_VK_CHECK(vk::vkCreateCommandPool(device_, &pci, nullptr, &c->pool));
  VkCommandBufferAllocateInfo cai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  cai.commandPool = c->pool;
  cai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  cai.commandBufferCount = 1;
  GRL_VK_CHECK(vk::vkAllocateCommandBuffers(device_, &cai, &c->cb));
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_SIMULTANEOUS_USE_BIT;
  GRL_VK_CHECK(vk::vkBeginCommandBuffer(c->cb, &bi));
  capture_ = std::move(c);
  barrier();  // orders the graph after everything submitted before it, on every replay
}

std::unique_ptr<Capture> Device::end_capture() {
  if (!capture_) fail(GRL_ERROR_INVALID_ARGUMENT, "grl_graph_end_capture: the device is not capturing");
  barrier();  // and everything submitted after a replay after the graph
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  vk::vkCmdPipelineBarrier(capture_->cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                           VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr, 0, nullptr);
  VkResult r = vk::vkEndCommandBuffer(capture_->cb);
  std::unique_ptr<Capture> c = std::move(capture_);
  labels_.clear();
  if (r != VK_SUCCESS) {
    destroy_capture(*c);
    vk_fail("vkEndCommandBuffer", r);
  }
  // The recorded work has not run: blocks it touched have no pending use from it yet.
  return c;
}

void Device::replay(Capture& c) {
  flush();  // bindings and earlier ops go first
  uint64_t serial = submit(c.cb);
  c.last_serial = serial;
  for (Block* b : c.blocks) b->last_serial = serial;
  if (c.checks_errors) error_check_pending_ = true;
}

void Device::destroy_capture(Capture& c) {
  if (c.last_serial) wait_serial(c.last_serial);
  for (Block* b : c.blocks) {
    b->capture_id = 0;
    free(b);
  }
  c.blocks.clear();
  for (Block* st : c.staging) {
    st->last_serial = c.last_serial;
    free_staging(st);
  }
  c.staging.clear();
  if (c.pool) vk::vkDestroyCommandPool(device_, c.pool, nullptr);
  c.pool = VK_NULL_HANDLE;
}

}  // namespace grl
