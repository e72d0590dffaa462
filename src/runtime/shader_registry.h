// The embedded SPIR-V kernels, generated at build time by cmake/shaders.cmake.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

namespace grl {

struct ShaderBlob {
  const char* name;  // "<family>/<kernel>[.<variant>]"
  const uint32_t* words;
  size_t word_count;
};

std::span<const ShaderBlob> shader_registry();

}  // namespace grl
