// Buffer-reference views of device memory for every dtype, dtype codes matching grl_dtype, the
// bf16 conversions, and the flat global index. Included by every kernel.
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#extension GL_EXT_shader_explicit_arithmetic_types_int16 : require
#extension GL_EXT_shader_explicit_arithmetic_types_int8 : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_8bit_storage : require

layout(buffer_reference, std430, buffer_reference_align = 4) buffer F32Buf { float v[]; };
layout(buffer_reference, std430, buffer_reference_align = 16) buffer F32x4Buf { vec4 v[]; };
layout(buffer_reference, std430, buffer_reference_align = 2) buffer F16Buf { float16_t v[]; };
layout(buffer_reference, std430, buffer_reference_align = 2) buffer U16Buf { uint16_t v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) buffer I32Buf { int v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) buffer U32Buf { uint v[]; };
layout(buffer_reference, std430, buffer_reference_align = 8) buffer I64Buf { int64_t v[]; };
layout(buffer_reference, std430, buffer_reference_align = 1) buffer U8Buf { uint8_t v[]; };

#define DT_F32 0u
#define DT_F16 1u
#define DT_BF16 2u
#define DT_I32 3u
#define DT_I64 4u
#define DT_U8 5u

float bf16_to_f32(uint16_t h) { return uintBitsToFloat(uint(h) << 16); }
uint16_t f32_to_bf16(float x) {
  if (isnan(x)) return uint16_t(0x7fc0u);
  uint u = floatBitsToUint(x);
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even
  return uint16_t(u >> 16);
}

// Workgroups are laid out in a 2-d grid when one dimension would exceed the device limit.
uint flat_group() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }

// Runtime-typed access for kernels that take any dtype (copy, cast, fill, indexing).
float load_as_float(uint64_t base, uint dt, uint i) {
  switch (dt) {
    case DT_F32: return F32Buf(base).v[i];
    case DT_F16: return float(F16Buf(base).v[i]);
    case DT_BF16: return bf16_to_f32(U16Buf(base).v[i]);
    case DT_I32: return float(I32Buf(base).v[i]);
    case DT_I64: return float(I64Buf(base).v[i]);
    default: return float(uint(U8Buf(base).v[i]));
  }
}
int64_t load_as_int(uint64_t base, uint dt, uint i) {
  switch (dt) {
    case DT_F32: return int64_t(F32Buf(base).v[i]);
    case DT_F16: return int64_t(float(F16Buf(base).v[i]));
    case DT_BF16: return int64_t(bf16_to_f32(U16Buf(base).v[i]));
    case DT_I32: return int64_t(I32Buf(base).v[i]);
    case DT_I64: return I64Buf(base).v[i];
    default: return int64_t(uint(U8Buf(base).v[i]));
  }
}
void store_float(uint64_t base, uint dt, uint i, float x) {
  switch (dt) {
    case DT_F32: F32Buf(base).v[i] = x; break;
    case DT_F16: F16Buf(base).v[i] = float16_t(x); break;
    case DT_BF16: U16Buf(base).v[i] = f32_to_bf16(x); break;
    case DT_I32: I32Buf(base).v[i] = int(x); break;
    case DT_I64: I64Buf(base).v[i] = int64_t(x); break;
    default: U8Buf(base).v[i] = uint8_t(uint(int(x))); break;
  }
}
void store_int(uint64_t base, uint dt, uint i, int64_t x) {
  switch (dt) {
    case DT_F32: F32Buf(base).v[i] = float(x); break;
    case DT_F16: F16Buf(base).v[i] = float16_t(float(x)); break;
    case DT_BF16: U16Buf(base).v[i] = f32_to_bf16(float(x)); break;
    case DT_I32: I32Buf(base).v[i] = int(x); break;
    case DT_I64: I64Buf(base).v[i] = x; break;
    default: U8Buf(base).v[i] = uint8_t(x); break;
  }
}
bool dt_is_int(uint dt) { return dt == DT_I32 || dt == DT_I64 || dt == DT_U8; }
