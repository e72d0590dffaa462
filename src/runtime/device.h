// The Vulkan device: instance and device choice, the size-bucketed memory pool, staging, compute
// pipelines and the deferred command stream with hazard-tracked barriers.
#pragma once
#include <grilly.h>

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/vk.h"

namespace grl {

class Instance;

// One pool allocation: a VkBuffer with its own memory, addressed by shaders through its device
// address. Hazard state lives here because barriers are about memory, not about tensors.
struct Block {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkDeviceSize size = 0;
  uint64_t address = 0;
  uint8_t* mapped = nullptr;  // non-null when host-visible (persistently mapped)
  bool staging = false;       // host memory used for transfers
  uint64_t last_serial = 0;   // the submission that last used it (0: never)
  uint64_t read_epoch = 0;    // barrier epoch of the last GPU read / write
  uint64_t write_epoch = 0;
  uint32_t holders = 0;       // tensor storage and captured graphs holding it
  uint32_t capture_id = 0;    // capture that last touched it (to collect a graph's blocks once)
};

// Work recorded between begin_capture and end_capture: one command buffer that replays with a
// single submission, and the blocks it touches (held until the graph goes away).
struct Capture {
  VkCommandPool pool = VK_NULL_HANDLE;
  VkCommandBuffer cb = VK_NULL_HANDLE;
  std::vector<Block*> blocks;     // every block the work reads or writes (held)
  std::vector<Block*> staging;    // upload sources the recorded copies read on every replay
  std::vector<std::string> ops;   // one line per recorded kernel, for summaries
  uint64_t last_serial = 0;       // submission of the latest replay
  bool checks_errors = false;     // some kernel reports bad indices: check after replays
  uint32_t id = 0;
};

// A kernel reference, resolved once per call site: `static Kernel k("elementwise/binary.f32")`.
class Kernel {
 public:
  explicit Kernel(const char* name);
  uint32_t index() const { return index_; }
  const char* name() const { return name_; }

 private:
  const char* name_;
  uint32_t index_;
};

class Device {
 public:
  Device(std::shared_ptr<Instance> instance, uint32_t physical_index, bool validation);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  std::recursive_mutex& mutex() { return mutex_; }
  const grl_device_info& info() const { return info_; }
  uint64_t validation_messages() const;

  // ---- memory ----
  // Device storage of at least `bytes` (rounded to a size class), stream-ordered reuse: a block
  // freed by a tensor may be handed out while earlier recorded work still uses it; the hazard
  // tracking below orders the accesses.
  Block* alloc(size_t bytes);
  void free(Block* block);
  Block* alloc_staging(size_t bytes);  // host-visible, idle (safe to write from the host now)
  void free_staging(Block* block);
  void empty_cache();
  grl_memory_stats stats() const { return stats_; }

  // ---- transfers ----
  void upload(Block* dst, size_t offset, const void* src, size_t bytes);
  void download(Block* src, size_t offset, void* dst, size_t bytes);  // waits
  void fill_zero(Block* dst, size_t offset, size_t bytes);

  // ---- kernels ----
  // Records one dispatch. `push` (at most 128 bytes) is the kernel's push-constant block. `reads`
  // and `writes` name the blocks it touches; a barrier is recorded only when one of them was
  // written (or, for writes, read) since the last barrier.
  void dispatch(const Kernel& kernel, const void* push, uint32_t push_bytes, uint32_t gx, uint32_t gy,
                uint32_t gz, std::initializer_list<Block*> reads, std::initializer_list<Block*> writes);
  // Splits a 1-d count of workgroups into a grid within maxComputeWorkGroupCount.
  void dispatch_1d(const Kernel& kernel, const void* push, uint32_t push_bytes, uint64_t groups,
                   std::initializer_list<Block*> reads, std::initializer_list<Block*> writes);

  // ---- device-side error reports (e.g. an out-of-range index found by a kernel) ----
  // The address kernels write {code, tag, value_lo, value_hi} to, and the tag naming the op.
  uint64_t error_address();
  uint32_t error_tag(const char* op_name);
  Block* error_block() { return error_block_; }

  // ---- capture (see src/graph) ----
  void begin_capture();
  std::unique_ptr<Capture> end_capture();
  bool capturing() const { return capture_ != nullptr; }
  void replay(Capture& c);
  void destroy_capture(Capture& c);  // gives the blocks back; waits for the last replay
  // Describes a block's tensor for capture summaries (shape and dtype of its latest tensor).
  void label(Block* b, std::string text);

  void retain_block(Block* b) { ++b->holders; }

  // ---- stream ----
  void flush();                    // submit recorded work without waiting
  void synchronize();              // submit and wait for everything, then report device errors
  void wait_serial(uint64_t serial);
  uint64_t open_serial() const { return submitted_serial_ + 1; }
  uint64_t completed_serial();
  bool idle(const Block* b) { return b->last_serial <= completed_serial(); }

  VkDevice handle() const { return device_; }

 private:
  struct Frame {
    VkCommandPool pool = VK_NULL_HANDLE;
    VkCommandBuffer cb = VK_NULL_HANDLE;
    uint64_t serial = 0;
  };

  void choose_memory_types();
  Block* create_block(VkDeviceSize size, bool staging);
  void destroy_block(Block* b);
  VkCommandBuffer cmd();
  uint64_t submit(VkCommandBuffer cb);  // signals the next serial on the timeline
  void track(std::initializer_list<Block*> reads, std::initializer_list<Block*> writes);
  void barrier();
  VkPipeline pipeline(const Kernel& kernel);
  void check_device_errors();

  std::shared_ptr<Instance> instance_;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  uint32_t queue_family_ = 0;
  grl_device_info info_{};
  uint32_t max_groups_[3] = {65535, 65535, 65535};
  uint32_t device_memory_type_ = 0;
  uint32_t staging_memory_type_ = 0;
  bool device_memory_mapped_ = false;

  mutable std::recursive_mutex mutex_;
  std::map<VkDeviceSize, std::vector<Block*>> free_blocks_;
  std::map<VkDeviceSize, std::vector<Block*>> free_staging_;
  std::vector<Block*> pending_staging_;  // freed staging blocks whose GPU work may be running
  grl_memory_stats stats_{};

  VkPipelineLayout layout_ = VK_NULL_HANDLE;
  std::vector<VkPipeline> pipelines_;

  VkSemaphore timeline_ = VK_NULL_HANDLE;
  uint64_t submitted_serial_ = 0;
  uint64_t completed_serial_ = 0;
  Frame open_{};
  bool recording_ = false;
  uint32_t recorded_ = 0;
  std::vector<Frame> in_flight_;
  std::vector<Frame> spare_frames_;
  uint64_t epoch_ = 1;

  std::unique_ptr<Capture> capture_;
  uint32_t capture_ids_ = 0;
  std::map<Block*, std::string> labels_;

  Block* error_block_ = nullptr;
  bool error_check_pending_ = false;
  std::vector<const char*> error_tags_;
};

// Rounds a request to its pool size class: powers of two up to 4 KiB, then four steps per octave.
VkDeviceSize size_class(size_t bytes);

}  // namespace grl
