// Compile-time element type for kernels built per dtype (//! variants: f32 f16 bf16 i32 i64 u8).
// Defines CT (the type arithmetic is done in), LD(addr, i) and ST(addr, i, value).
#if defined(T_F32)
#define CT float
#define IS_FLOAT 1
#define LD(p, i) F32Buf(p).v[i]
#define ST(p, i, x) F32Buf(p).v[i] = (x)
#elif defined(T_F16)
#define CT float
#define IS_FLOAT 1
#define LD(p, i) float(F16Buf(p).v[i])
#define ST(p, i, x) F16Buf(p).v[i] = float16_t(x)
#elif defined(T_BF16)
#define CT float
#define IS_FLOAT 1
#define LD(p, i) bf16_to_f32(U16Buf(p).v[i])
#define ST(p, i, x) U16Buf(p).v[i] = f32_to_bf16(x)
#elif defined(T_I32)
#define CT int
#define IS_FLOAT 0
#define LD(p, i) I32Buf(p).v[i]
#define ST(p, i, x) I32Buf(p).v[i] = (x)
#elif defined(T_I64)
#define CT int64_t
#define IS_FLOAT 0
#define LD(p, i) I64Buf(p).v[i]
#define ST(p, i, x) I64Buf(p).v[i] = (x)
#elif defined(T_U8)
#define CT uint
#define IS_FLOAT 0
#define LD(p, i) uint(U8Buf(p).v[i])
#define ST(p, i, x) U8Buf(p).v[i] = uint8_t(x)
#else
#error "typed.glsl needs one of T_F32 T_F16 T_BF16 T_I32 T_I64 T_U8"
#endif

// Four consecutive elements at 4*q as one 16-byte access (f32 kernels; the caller checks alignment).
#if defined(T_F32)
#define LD4(p, q) F32x4Buf(p).v[q]
#define ST4(p, q, x) F32x4Buf(p).v[q] = (x)
#endif
