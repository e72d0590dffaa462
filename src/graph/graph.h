// A captured graph: the device's recorded command buffer plus named inputs and outputs.
#pragma once
#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "tensor/tensor.h"

struct grl_graph_s {
  std::atomic<int64_t> refs{1};
  grl::LiveHandle<grl::HandleKind::graph> live;
  grl_device_s* owner = nullptr;  // holds a reference
  std::unique_ptr<grl::Capture> capture;
  std::map<std::string, grl::TensorRef> inputs, outputs;
  ~grl_graph_s();
};
