use crate::error::{check, Error, ErrorKind, Result};
use crate::sys;
use crate::Device;
use std::marker::PhantomData;
use std::ops;
use std::ptr::{null, null_mut, NonNull};

/// Element types (`grl_dtype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// `GRL_F32`
    F32,
    /// `GRL_F16`
    F16,
    /// `GRL_BF16`
    BF16,
    /// `GRL_I32`
    I32,
    /// `GRL_I64`
    I64,
    /// `GRL_U8` (comparisons return U8 masks of 0/1)
    U8,
}

impl DType {
    /// The C value.
    pub fn raw(self) -> sys::grl_dtype {
        match self {
            DType::F32 => sys::GRL_F32,
            DType::F16 => sys::GRL_F16,
            DType::BF16 => sys::GRL_BF16,
            DType::I32 => sys::GRL_I32,
            DType::I64 => sys::GRL_I64,
            DType::U8 => sys::GRL_U8,
        }
    }
    /// From the C value (`None` when invalid).
    pub fn from_raw(d: sys::grl_dtype) -> Option<DType> {
        Some(match d {
            sys::GRL_F32 => DType::F32,
            sys::GRL_F16 => DType::F16,
            sys::GRL_BF16 => DType::BF16,
            sys::GRL_I32 => DType::I32,
            sys::GRL_I64 => DType::I64,
            sys::GRL_U8 => DType::U8,
            _ => return None,
        })
    }
    /// Size of one element in bytes (`grl_dtype_size`).
    pub fn size(self) -> usize {
        unsafe { sys::grl_dtype_size(self.raw()) }
    }
    /// The name, e.g. `"f32"` (`grl_dtype_name`).
    pub fn name(self) -> &'static str {
        unsafe { crate::error::cstr_static(sys::grl_dtype_name(self.raw())) }
    }
}

mod sealed {
    pub trait Sealed {}
}

/// Rust element types with a grilly dtype: `f32`, `i32`, `i64`, `u8`.
pub trait Element: Copy + Default + sealed::Sealed + 'static {
    /// The matching dtype.
    const DTYPE: DType;
}
macro_rules! element {
    ($t:ty, $d:ident) => {
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$d;
        }
    };
}
element!(f32, F32);
element!(i32, I32);
element!(i64, I64);
element!(u8, U8);

/// How a loss reduces its per-element values (`grl_reduction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduction {
    /// `GRL_REDUCTION_NONE`: keep every value.
    None,
    /// `GRL_REDUCTION_MEAN`: average (a 0-d result).
    Mean,
    /// `GRL_REDUCTION_SUM`: sum (a 0-d result).
    Sum,
}
impl Reduction {
    fn raw(self) -> sys::grl_reduction {
        match self {
            Reduction::None => sys::GRL_REDUCTION_NONE,
            Reduction::Mean => sys::GRL_REDUCTION_MEAN,
            Reduction::Sum => sys::GRL_REDUCTION_SUM,
        }
    }
}

/// The GELU formula (`grl_gelu_approximation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeluApproximation {
    /// `GRL_GELU_EXACT`: x Phi(x) with erf.
    Exact,
    /// `GRL_GELU_TANH`: the tanh approximation.
    Tanh,
}

/// Fan mode of the Kaiming initialisers (`grl_fan_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanMode {
    /// `GRL_FAN_IN`
    FanIn,
    /// `GRL_FAN_OUT`
    FanOut,
}

/// An n-d array, or a view of one, on a device (`grl_tensor`).
///
/// `Clone` adds a reference to the same tensor (`grl_tensor_retain`): clones share data and
/// autograd state. `Send + Sync` as docs/threading.md promises; writing a tensor's data
/// ([`Tensor::upload`], [`Tensor::fill_`], [`Tensor::copy_from`]) while another thread reads it
/// is a data race in the caller's logic (the values read are unspecified), not memory unsafety.
#[derive(Debug)]
pub struct Tensor {
    raw: NonNull<sys::grl_tensor_s>,
}

// SAFETY: docs/threading.md: retain/release are atomic on any thread; ops on tensors are safe from
// several threads; the library keeps itself consistent under concurrent writes.
unsafe impl Send for Tensor {}
unsafe impl Sync for Tensor {}

impl Clone for Tensor {
    /// Another reference to the same tensor (`grl_tensor_retain`).
    fn clone(&self) -> Tensor {
        unsafe { sys::grl_tensor_retain(self.as_raw()) };
        Tensor { raw: self.raw }
    }
}

impl Drop for Tensor {
    /// Drops this reference (`grl_tensor_release`).
    fn drop(&mut self) {
        unsafe { sys::grl_tensor_release(self.as_raw()) }
    }
}

/// Calls a C function writing a tensor through its last argument and wraps the result.
macro_rules! out_tensor {
    ($f:ident ( $($arg:expr),* )) => {{
        let mut out: sys::grl_tensor = null_mut();
        check(unsafe { sys::$f($($arg,)* &mut out) })?;
        Ok(unsafe { Tensor::from_raw(out) })
    }};
}

fn ndim_of(shape: &[i64]) -> Result<i32> {
    if shape.len() > sys::GRL_MAX_DIMS as usize {
        return Err(Error::new(ErrorKind::Shape, format!("shape {shape:?} has more than {} dims", sys::GRL_MAX_DIMS)));
    }
    Ok(shape.len() as i32)
}

fn opt_raw(t: Option<&Tensor>) -> sys::grl_tensor {
    t.map_or(null_mut(), |t| t.as_raw())
}

fn axes_arg(axes: &[i32]) -> (*const i32, i32) {
    if axes.is_empty() { (null(), 0) } else { (axes.as_ptr(), axes.len() as i32) }
}

impl Tensor {
    /// Wraps a raw handle, taking over one reference.
    ///
    /// # Safety
    /// `raw` must be a live, non-NULL `grl_tensor` whose reference the caller gives up.
    pub unsafe fn from_raw(raw: sys::grl_tensor) -> Tensor {
        Tensor { raw: NonNull::new(raw).expect("grl_tensor is NULL") }
    }

    /// The raw handle (still owned by `self`).
    pub fn as_raw(&self) -> sys::grl_tensor {
        self.raw.as_ptr()
    }

    // ---------------------------------------------------------------- creation and transfer

    /// A tensor holding a copy of `data` with the given shape (`grl_tensor_from_host`).
    pub fn from_slice<T: Element>(dev: &Device, data: &[T], shape: &[i64]) -> Result<Tensor> {
        let nd = ndim_of(shape)?;
        out_tensor!(grl_tensor_from_host(dev.as_raw(), T::DTYPE.raw(), shape.as_ptr(), nd,
            data.as_ptr().cast(), std::mem::size_of_val(data)))
    }

    /// A 1-d tensor holding a copy of `data` (`grl_tensor_from_host`).
    pub fn from_vec<T: Element>(dev: &Device, data: Vec<T>) -> Result<Tensor> {
        Tensor::from_slice(dev, &data, &[data.len() as i64])
    }

    /// A 0-d f32 tensor holding `value` (`grl_full`).
    pub fn scalar(dev: &Device, value: f64) -> Result<Tensor> {
        Tensor::full(dev, &[], value, DType::F32)
    }

    /// Zeros (`grl_tensor_zeros`).
    pub fn zeros(dev: &Device, shape: &[i64], dtype: DType) -> Result<Tensor> {
        let nd = ndim_of(shape)?;
        out_tensor!(grl_tensor_zeros(dev.as_raw(), dtype.raw(), shape.as_ptr(), nd))
    }

    /// Uninitialised contents (`grl_tensor_empty`).
    pub fn empty(dev: &Device, shape: &[i64], dtype: DType) -> Result<Tensor> {
        let nd = ndim_of(shape)?;
        out_tensor!(grl_tensor_empty(dev.as_raw(), dtype.raw(), shape.as_ptr(), nd))
    }

    /// Every element `value` (`grl_full`).
    pub fn full(dev: &Device, shape: &[i64], value: f64, dtype: DType) -> Result<Tensor> {
        let nd = ndim_of(shape)?;
        out_tensor!(grl_full(dev.as_raw(), shape.as_ptr(), nd, value, dtype.raw()))
    }

    /// start, start + step, ... < end (`grl_arange`).
    pub fn arange(dev: &Device, start: f64, end: f64, step: f64, dtype: DType) -> Result<Tensor> {
        out_tensor!(grl_arange(dev.as_raw(), start, end, step, dtype.raw()))
    }

    /// Uniform random numbers in [low, high) by Philox (`grl_rand_uniform`).
    pub fn rand_uniform(dev: &Device, shape: &[i64], dtype: DType, low: f64, high: f64, seed: u64, offset: u64) -> Result<Tensor> {
        let nd = ndim_of(shape)?;
        out_tensor!(grl_rand_uniform(dev.as_raw(), shape.as_ptr(), nd, dtype.raw(), low, high, seed, offset))
    }

    /// Normal random numbers (`grl_rand_normal`).
    pub fn rand_normal(dev: &Device, shape: &[i64], dtype: DType, mean: f64, std: f64, seed: u64, offset: u64) -> Result<Tensor> {
        let nd = ndim_of(shape)?;
        out_tensor!(grl_rand_normal(dev.as_raw(), shape.as_ptr(), nd, dtype.raw(), mean, std, seed, offset))
    }

    /// Copies the elements (row-major, views included) to a `Vec`; waits for the device
    /// (`grl_tensor_download`). `T` must match the dtype (else [`ErrorKind::Dtype`]).
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        if self.dtype() != T::DTYPE {
            return Err(Error::new(ErrorKind::Dtype, format!(
                "Tensor::to_vec: the tensor is {}, the requested element type is {} (cast first)",
                self.dtype().name(), T::DTYPE.name())));
        }
        let mut v = vec![T::default(); self.numel() as usize];
        check(unsafe { sys::grl_tensor_download(self.as_raw(), v.as_mut_ptr().cast(), std::mem::size_of_val(v.as_slice())) })?;
        Ok(v)
    }

    /// The single element as f64 (any dtype; casts to f32 or i64 first).
    pub fn item(&self) -> Result<f64> {
        if self.numel() != 1 {
            return Err(Error::new(ErrorKind::Shape, format!("Tensor::item: the tensor has {} elements, expected 1", self.numel())));
        }
        match self.dtype() {
            DType::F32 => Ok(self.to_vec::<f32>()?[0] as f64),
            DType::I64 => Ok(self.to_vec::<i64>()?[0] as f64),
            DType::I32 | DType::U8 => Ok(self.cast(DType::I64)?.to_vec::<i64>()?[0] as f64),
            DType::F16 | DType::BF16 => Ok(self.cast(DType::F32)?.to_vec::<f32>()?[0] as f64),
        }
    }

    /// Copies host data into the tensor (`grl_tensor_upload`).
    pub fn upload<T: Element>(&self, data: &[T]) -> Result<()> {
        if self.dtype() != T::DTYPE {
            return Err(Error::new(ErrorKind::Dtype, format!(
                "Tensor::upload: the tensor is {}, the data is {}", self.dtype().name(), T::DTYPE.name())));
        }
        check(unsafe { sys::grl_tensor_upload(self.as_raw(), data.as_ptr().cast(), std::mem::size_of_val(data)) })
    }

    /// Sets every element to `value` (`grl_tensor_fill_`).
    pub fn fill_(&self, value: f64) -> Result<()> {
        check(unsafe { sys::grl_tensor_fill_(self.as_raw(), value) })
    }

    /// Copies `src` (broadcast, converted) into `self`, which may be a view (`grl_copy_`).
    pub fn copy_from(&self, src: &Tensor) -> Result<()> {
        check(unsafe { sys::grl_copy_(self.as_raw(), src.as_raw()) })
    }

    // ---------------------------------------------------------------- metadata

    /// Number of dims (`grl_tensor_ndim`).
    pub fn ndim(&self) -> usize {
        unsafe { sys::grl_tensor_ndim(self.as_raw()) as usize }
    }
    /// The shape (`grl_tensor_shape`).
    pub fn shape(&self) -> Vec<i64> {
        let mut s = [0i64; sys::GRL_MAX_DIMS as usize];
        check(unsafe { sys::grl_tensor_shape(self.as_raw(), s.as_mut_ptr()) }).expect("grl_tensor_shape");
        s[..self.ndim()].to_vec()
    }
    /// Size of one dim, negative axes from the end (`grl_tensor_dim`).
    pub fn dim(&self, axis: i32) -> i64 {
        unsafe { sys::grl_tensor_dim(self.as_raw(), axis) }
    }
    /// Strides in elements (`grl_tensor_stride`).
    pub fn strides(&self) -> Vec<i64> {
        (0..self.ndim() as i32).map(|a| unsafe { sys::grl_tensor_stride(self.as_raw(), a) }).collect()
    }
    /// Number of elements (`grl_tensor_numel`).
    pub fn numel(&self) -> i64 {
        unsafe { sys::grl_tensor_numel(self.as_raw()) }
    }
    /// The dtype (`grl_tensor_dtype`).
    pub fn dtype(&self) -> DType {
        DType::from_raw(unsafe { sys::grl_tensor_dtype(self.as_raw()) }).expect("invalid dtype")
    }
    /// Whether the layout is row-major contiguous (`grl_tensor_is_contiguous`).
    pub fn is_contiguous(&self) -> bool {
        unsafe { sys::grl_tensor_is_contiguous(self.as_raw()) != 0 }
    }
    /// The tensor's device (`grl_tensor_device`, plus a reference of our own).
    pub fn device(&self) -> Device {
        unsafe {
            let d = sys::grl_tensor_device(self.as_raw());
            sys::grl_device_retain(d);
            Device::from_raw(d)
        }
    }

    // ---------------------------------------------------------------- views and layout

    /// New shape, one dim may be -1 (`grl_reshape`).
    pub fn reshape(&self, shape: &[i64]) -> Result<Tensor> {
        let nd = ndim_of(shape)?;
        out_tensor!(grl_reshape(self.as_raw(), shape.as_ptr(), nd))
    }
    /// Swaps two axes (`grl_transpose`).
    pub fn transpose(&self, axis0: i32, axis1: i32) -> Result<Tensor> {
        out_tensor!(grl_transpose(self.as_raw(), axis0, axis1))
    }
    /// Reorders the axes (`grl_permute`).
    pub fn permute(&self, axes: &[i32]) -> Result<Tensor> {
        out_tensor!(grl_permute(self.as_raw(), axes.as_ptr(), axes.len() as i32))
    }
    /// Elements start, start+step, ... < end along axis (`grl_slice`).
    pub fn slice(&self, axis: i32, start: i64, end: i64, step: i64) -> Result<Tensor> {
        out_tensor!(grl_slice(self.as_raw(), axis, start, end, step))
    }
    /// Broadcast view (`grl_expand`).
    pub fn expand(&self, shape: &[i64]) -> Result<Tensor> {
        let nd = ndim_of(shape)?;
        out_tensor!(grl_expand(self.as_raw(), shape.as_ptr(), nd))
    }
    /// Removes a size-1 axis (`grl_squeeze`).
    pub fn squeeze(&self, axis: i32) -> Result<Tensor> {
        out_tensor!(grl_squeeze(self.as_raw(), axis))
    }
    /// Inserts a size-1 axis (`grl_unsqueeze`).
    pub fn unsqueeze(&self, axis: i32) -> Result<Tensor> {
        out_tensor!(grl_unsqueeze(self.as_raw(), axis))
    }
    /// A contiguous tensor with the same values (`grl_contiguous`).
    pub fn contiguous(&self) -> Result<Tensor> {
        out_tensor!(grl_contiguous(self.as_raw()))
    }
    /// A contiguous copy in new storage (`grl_clone`; `Clone::clone` only adds a reference).
    pub fn copy(&self) -> Result<Tensor> {
        out_tensor!(grl_clone(self.as_raw()))
    }
    /// Converts to another dtype (`grl_cast`).
    pub fn cast(&self, dtype: DType) -> Result<Tensor> {
        out_tensor!(grl_cast(self.as_raw(), dtype.raw()))
    }
    /// Joins tensors along an existing axis (`grl_concat`).
    pub fn concat(xs: &[&Tensor], axis: i32) -> Result<Tensor> {
        let raw: Vec<_> = xs.iter().map(|t| t.as_raw()).collect();
        out_tensor!(grl_concat(raw.as_ptr(), raw.len() as i32, axis))
    }
    /// Joins tensors along a new axis (`grl_stack`).
    pub fn stack(xs: &[&Tensor], axis: i32) -> Result<Tensor> {
        let raw: Vec<_> = xs.iter().map(|t| t.as_raw()).collect();
        out_tensor!(grl_stack(raw.as_ptr(), raw.len() as i32, axis))
    }
    /// Splits along axis into pieces of the given sizes (`grl_split`).
    pub fn split(&self, sizes: &[i64], axis: i32) -> Result<Vec<Tensor>> {
        let mut out = vec![null_mut(); sizes.len()];
        check(unsafe { sys::grl_split(self.as_raw(), sizes.as_ptr(), sizes.len() as i32, axis, out.as_mut_ptr()) })?;
        Ok(out.into_iter().map(|p| unsafe { Tensor::from_raw(p) }).collect())
    }
    /// Constant padding, PyTorch order (`grl_pad`).
    pub fn pad(&self, pads: &[i64], value: f64) -> Result<Tensor> {
        out_tensor!(grl_pad(self.as_raw(), pads.as_ptr(), pads.len() as i32, value))
    }

    // ---------------------------------------------------------------- indexing

    /// Rows of an embedding table `self` [num, dim] by `indices` (`grl_embedding`).
    pub fn embedding(&self, indices: &Tensor) -> Result<Tensor> {
        out_tensor!(grl_embedding(self.as_raw(), indices.as_raw()))
    }
    /// Entries along axis by a 1-d index (`grl_index_select`).
    pub fn index_select(&self, axis: i32, index: &Tensor) -> Result<Tensor> {
        out_tensor!(grl_index_select(self.as_raw(), axis, index.as_raw()))
    }
    /// torch.gather (`grl_gather`).
    pub fn gather(&self, axis: i32, index: &Tensor) -> Result<Tensor> {
        out_tensor!(grl_gather(self.as_raw(), axis, index.as_raw()))
    }
    /// torch.scatter_add, out of place (`grl_scatter_add`).
    pub fn scatter_add(&self, axis: i32, index: &Tensor, src: &Tensor) -> Result<Tensor> {
        out_tensor!(grl_scatter_add(self.as_raw(), axis, index.as_raw(), src.as_raw()))
    }
    /// One-hot encoding of integer indices (`grl_one_hot`).
    pub fn one_hot(&self, num_classes: i64, dtype: DType) -> Result<Tensor> {
        out_tensor!(grl_one_hot(self.as_raw(), num_classes, dtype.raw()))
    }
    /// `cond ? a : b` with `self` the U8 condition (`grl_where`).
    pub fn where_(&self, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        out_tensor!(grl_where(self.as_raw(), a.as_raw(), b.as_raw()))
    }

    // ---------------------------------------------------------------- elementwise (see macros below)

    /// min(max(x, lo), hi) (`grl_clamp`).
    pub fn clamp(&self, lo: f64, hi: f64) -> Result<Tensor> {
        out_tensor!(grl_clamp(self.as_raw(), lo, hi))
    }

    // ---------------------------------------------------------------- activations

    /// Leaky ReLU (`grl_leaky_relu`).
    pub fn leaky_relu(&self, negative_slope: f64) -> Result<Tensor> {
        out_tensor!(grl_leaky_relu(self.as_raw(), negative_slope))
    }
    /// ELU (`grl_elu`).
    pub fn elu(&self, alpha: f64) -> Result<Tensor> {
        out_tensor!(grl_elu(self.as_raw(), alpha))
    }
    /// GELU, exact (erf) form (`grl_gelu` with `GRL_GELU_EXACT`).
    pub fn gelu(&self) -> Result<Tensor> {
        self.gelu_with(GeluApproximation::Exact)
    }
    /// GELU with a chosen formula (`grl_gelu`).
    pub fn gelu_with(&self, approximate: GeluApproximation) -> Result<Tensor> {
        let a = match approximate {
            GeluApproximation::Exact => sys::GRL_GELU_EXACT,
            GeluApproximation::Tanh => sys::GRL_GELU_TANH,
        };
        out_tensor!(grl_gelu(self.as_raw(), a))
    }
    /// Softplus (`grl_softplus`; PyTorch's defaults are beta 1, threshold 20).
    pub fn softplus(&self, beta: f64, threshold: f64) -> Result<Tensor> {
        out_tensor!(grl_softplus(self.as_raw(), beta, threshold))
    }
    /// RoSwish (`grl_roswish`).
    pub fn roswish(&self, alpha: f64, beta: f64) -> Result<Tensor> {
        out_tensor!(grl_roswish(self.as_raw(), alpha, beta))
    }
    /// Softmax along axis (`grl_softmax`).
    pub fn softmax(&self, axis: i32) -> Result<Tensor> {
        out_tensor!(grl_softmax(self.as_raw(), axis))
    }
    /// Log-softmax along axis (`grl_log_softmax`).
    pub fn log_softmax(&self, axis: i32) -> Result<Tensor> {
        out_tensor!(grl_log_softmax(self.as_raw(), axis))
    }
    /// Dropout (`grl_dropout`).
    pub fn dropout(&self, p: f64, training: bool, seed: u64, offset: u64) -> Result<Tensor> {
        out_tensor!(grl_dropout(self.as_raw(), p, training as u32, seed, offset))
    }

    // ---------------------------------------------------------------- reductions

    /// Sum over `axes` (empty: all) (`grl_sum`).
    pub fn sum(&self, axes: &[i32], keepdim: bool) -> Result<Tensor> {
        let (p, n) = axes_arg(axes);
        out_tensor!(grl_sum(self.as_raw(), p, n, keepdim as u32))
    }
    /// Mean over `axes` (empty: all) (`grl_mean`).
    pub fn mean(&self, axes: &[i32], keepdim: bool) -> Result<Tensor> {
        let (p, n) = axes_arg(axes);
        out_tensor!(grl_mean(self.as_raw(), p, n, keepdim as u32))
    }
    /// Maximum over `axes` (`grl_max`).
    pub fn max(&self, axes: &[i32], keepdim: bool) -> Result<Tensor> {
        let (p, n) = axes_arg(axes);
        out_tensor!(grl_max(self.as_raw(), p, n, keepdim as u32))
    }
    /// Minimum over `axes` (`grl_min`).
    pub fn min(&self, axes: &[i32], keepdim: bool) -> Result<Tensor> {
        let (p, n) = axes_arg(axes);
        out_tensor!(grl_min(self.as_raw(), p, n, keepdim as u32))
    }
    /// Variance with a correction (1 unbiased) (`grl_var`).
    pub fn var(&self, axes: &[i32], correction: i32, keepdim: bool) -> Result<Tensor> {
        let (p, n) = axes_arg(axes);
        out_tensor!(grl_var(self.as_raw(), p, n, correction, keepdim as u32))
    }
    /// Standard deviation (`grl_std`).
    pub fn std(&self, axes: &[i32], correction: i32, keepdim: bool) -> Result<Tensor> {
        let (p, n) = axes_arg(axes);
        out_tensor!(grl_std(self.as_raw(), p, n, correction, keepdim as u32))
    }
    /// p-norm (`grl_norm`).
    pub fn norm(&self, p: f64, axes: &[i32], keepdim: bool) -> Result<Tensor> {
        let (ap, n) = axes_arg(axes);
        out_tensor!(grl_norm(self.as_raw(), p, ap, n, keepdim as u32))
    }
    /// log(sum(exp(x))) (`grl_logsumexp`).
    pub fn logsumexp(&self, axes: &[i32], keepdim: bool) -> Result<Tensor> {
        let (p, n) = axes_arg(axes);
        out_tensor!(grl_logsumexp(self.as_raw(), p, n, keepdim as u32))
    }
    /// Index (I64) of the first maximum along axis (`grl_argmax`).
    pub fn argmax(&self, axis: i32, keepdim: bool) -> Result<Tensor> {
        out_tensor!(grl_argmax(self.as_raw(), axis, keepdim as u32))
    }
    /// Index (I64) of the first minimum along axis (`grl_argmin`).
    pub fn argmin(&self, axis: i32, keepdim: bool) -> Result<Tensor> {
        out_tensor!(grl_argmin(self.as_raw(), axis, keepdim as u32))
    }
    /// Inclusive prefix sums (`grl_cumsum`).
    pub fn cumsum(&self, axis: i32) -> Result<Tensor> {
        out_tensor!(grl_cumsum(self.as_raw(), axis))
    }

    // ---------------------------------------------------------------- linear algebra, norms

    /// numpy matmul (`grl_matmul`).
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        out_tensor!(grl_matmul(self.as_raw(), other.as_raw()))
    }
    /// y = x W^T + b with x = `self` `[..., in]`, weight `[out, in]`, bias `[out]` (`grl_linear`).
    pub fn linear(&self, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
        out_tensor!(grl_linear(self.as_raw(), weight.as_raw(), opt_raw(bias)))
    }
    /// Batched matmul [B, M, K] x [B, K, N] (`grl_bmm`).
    pub fn bmm(&self, other: &Tensor) -> Result<Tensor> {
        out_tensor!(grl_bmm(self.as_raw(), other.as_raw()))
    }
    /// Outer product of two 1-d tensors (`grl_outer`).
    pub fn outer(&self, other: &Tensor) -> Result<Tensor> {
        out_tensor!(grl_outer(self.as_raw(), other.as_raw()))
    }
    /// Layer normalisation over the last `normalized_ndim` axes (`grl_layer_norm`).
    pub fn layer_norm(&self, normalized_ndim: i32, weight: Option<&Tensor>, bias: Option<&Tensor>, eps: f64) -> Result<Tensor> {
        out_tensor!(grl_layer_norm(self.as_raw(), normalized_ndim, opt_raw(weight), opt_raw(bias), eps))
    }
    /// RMS normalisation (`grl_rms_norm`).
    pub fn rms_norm(&self, normalized_ndim: i32, weight: Option<&Tensor>, eps: f64) -> Result<Tensor> {
        out_tensor!(grl_rms_norm(self.as_raw(), normalized_ndim, opt_raw(weight), eps))
    }

    // ---------------------------------------------------------------- losses

    /// Cross entropy of logits `self` against class indices or probabilities
    /// (`grl_cross_entropy`; PyTorch's defaults: ignore_index -100, label_smoothing 0).
    pub fn cross_entropy(&self, target: &Tensor, ignore_index: i64, label_smoothing: f64, reduction: Reduction) -> Result<Tensor> {
        out_tensor!(grl_cross_entropy(self.as_raw(), target.as_raw(), ignore_index, label_smoothing, reduction.raw()))
    }
    /// Negative log likelihood of log-probabilities `self` (`grl_nll_loss`).
    pub fn nll_loss(&self, target: &Tensor, ignore_index: i64, reduction: Reduction) -> Result<Tensor> {
        out_tensor!(grl_nll_loss(self.as_raw(), target.as_raw(), ignore_index, reduction.raw()))
    }
    /// Squared error (`grl_mse_loss`).
    pub fn mse_loss(&self, target: &Tensor, reduction: Reduction) -> Result<Tensor> {
        out_tensor!(grl_mse_loss(self.as_raw(), target.as_raw(), reduction.raw()))
    }
    /// Absolute error (`grl_l1_loss`).
    pub fn l1_loss(&self, target: &Tensor, reduction: Reduction) -> Result<Tensor> {
        out_tensor!(grl_l1_loss(self.as_raw(), target.as_raw(), reduction.raw()))
    }
    /// Smooth L1 (`grl_smooth_l1_loss`).
    pub fn smooth_l1_loss(&self, target: &Tensor, beta: f64, reduction: Reduction) -> Result<Tensor> {
        out_tensor!(grl_smooth_l1_loss(self.as_raw(), target.as_raw(), beta, reduction.raw()))
    }
    /// Huber (`grl_huber_loss`).
    pub fn huber_loss(&self, target: &Tensor, delta: f64, reduction: Reduction) -> Result<Tensor> {
        out_tensor!(grl_huber_loss(self.as_raw(), target.as_raw(), delta, reduction.raw()))
    }
    /// Binary cross entropy of probabilities (`grl_binary_cross_entropy`).
    pub fn binary_cross_entropy(&self, target: &Tensor, weight: Option<&Tensor>, reduction: Reduction) -> Result<Tensor> {
        out_tensor!(grl_binary_cross_entropy(self.as_raw(), target.as_raw(), opt_raw(weight), reduction.raw()))
    }
    /// Binary cross entropy of logits (`grl_bce_with_logits`).
    pub fn bce_with_logits(&self, target: &Tensor, pos_weight: Option<&Tensor>, reduction: Reduction) -> Result<Tensor> {
        out_tensor!(grl_bce_with_logits(self.as_raw(), target.as_raw(), opt_raw(pos_weight), reduction.raw()))
    }
    /// KL divergence (`grl_kl_div`).
    pub fn kl_div(&self, target: &Tensor, log_target: bool, reduction: Reduction) -> Result<Tensor> {
        out_tensor!(grl_kl_div(self.as_raw(), target.as_raw(), log_target as u32, reduction.raw()))
    }

    /// Cosine embedding loss of `self` and `x2` with labels y of +1/-1
    /// (`grl_cosine_embedding_loss`).
    pub fn cosine_embedding_loss(&self, x2: &Tensor, y: &Tensor, margin: f64, reduction: Reduction) -> Result<Tensor> {
        out_tensor!(grl_cosine_embedding_loss(self.as_raw(), x2.as_raw(), y.as_raw(), margin, reduction.raw()))
    }
    /// max(0, -y (x1 - x2) + margin) (`grl_margin_ranking_loss`).
    pub fn margin_ranking_loss(&self, x2: &Tensor, y: &Tensor, margin: f64, reduction: Reduction) -> Result<Tensor> {
        out_tensor!(grl_margin_ranking_loss(self.as_raw(), x2.as_raw(), y.as_raw(), margin, reduction.raw()))
    }
    /// Triplet margin loss with `self` the anchor (`grl_triplet_margin_loss`).
    pub fn triplet_margin_loss(&self, positive: &Tensor, negative: &Tensor, margin: f64, p: f64, reduction: Reduction) -> Result<Tensor> {
        out_tensor!(grl_triplet_margin_loss(self.as_raw(), positive.as_raw(), negative.as_raw(), margin, p, reduction.raw()))
    }
    /// Contrastive loss (Hadsell et al.) (`grl_contrastive_loss`).
    pub fn contrastive_loss(&self, x2: &Tensor, y: &Tensor, margin: f64, reduction: Reduction) -> Result<Tensor> {
        out_tensor!(grl_contrastive_loss(self.as_raw(), x2.as_raw(), y.as_raw(), margin, reduction.raw()))
    }

    /// 1 with probability p, else 0 (`grl_bernoulli`).
    pub fn bernoulli(dev: &Device, shape: &[i64], p: f64, dtype: DType, seed: u64, offset: u64) -> Result<Tensor> {
        let nd = ndim_of(shape)?;
        out_tensor!(grl_bernoulli(dev.as_raw(), shape.as_ptr(), nd, p, dtype.raw(), seed, offset))
    }

    // ---------------------------------------------------------------- initialisers

    /// Xavier uniform initialisation in place (`grl_init_xavier_uniform_`).
    pub fn init_xavier_uniform_(&self, gain: f64, seed: u64) -> Result<()> {
        check(unsafe { sys::grl_init_xavier_uniform_(self.as_raw(), gain, seed) })
    }
    /// Xavier normal initialisation in place (`grl_init_xavier_normal_`).
    pub fn init_xavier_normal_(&self, gain: f64, seed: u64) -> Result<()> {
        check(unsafe { sys::grl_init_xavier_normal_(self.as_raw(), gain, seed) })
    }
    /// Kaiming uniform initialisation in place (`grl_init_kaiming_uniform_`).
    pub fn init_kaiming_uniform_(&self, a: f64, mode: FanMode, seed: u64) -> Result<()> {
        let m = if mode == FanMode::FanIn { sys::GRL_FAN_IN } else { sys::GRL_FAN_OUT };
        check(unsafe { sys::grl_init_kaiming_uniform_(self.as_raw(), a, m, seed) })
    }
    /// Kaiming normal initialisation in place (`grl_init_kaiming_normal_`).
    pub fn init_kaiming_normal_(&self, a: f64, mode: FanMode, seed: u64) -> Result<()> {
        let m = if mode == FanMode::FanIn { sys::GRL_FAN_IN } else { sys::GRL_FAN_OUT };
        check(unsafe { sys::grl_init_kaiming_normal_(self.as_raw(), a, m, seed) })
    }

    // ---------------------------------------------------------------- autograd

    /// Marks a floating leaf as requiring gradients, or clears the mark
    /// (`grl_tensor_set_requires_grad`).
    pub fn set_requires_grad(&self, requires_grad: bool) -> Result<()> {
        check(unsafe { sys::grl_tensor_set_requires_grad(self.as_raw(), requires_grad as u32) })
    }
    /// `set_requires_grad(true)`, returning `self` for chaining.
    pub fn requires_grad_(self) -> Result<Tensor> {
        self.set_requires_grad(true)?;
        Ok(self)
    }
    /// Whether gradients flow to this tensor (`grl_tensor_requires_grad`).
    pub fn requires_grad(&self) -> bool {
        unsafe { sys::grl_tensor_requires_grad(self.as_raw()) != 0 }
    }
    /// Whether no recorded op produced this tensor (`grl_tensor_is_leaf`).
    pub fn is_leaf(&self) -> bool {
        unsafe { sys::grl_tensor_is_leaf(self.as_raw()) != 0 }
    }
    /// The name of the op that produced it, "" for leaves (`grl_tensor_grad_fn_name`).
    pub fn grad_fn_name(&self) -> String {
        let p = unsafe { sys::grl_tensor_grad_fn_name(self.as_raw()) };
        if p.is_null() { String::new() } else { unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy().into_owned() }
    }
    /// The accumulated gradient, `None` when none was computed (`grl_tensor_grad`).
    pub fn grad(&self) -> Result<Option<Tensor>> {
        let mut out: sys::grl_tensor = null_mut();
        check(unsafe { sys::grl_tensor_grad(self.as_raw(), &mut out) })?;
        Ok(NonNull::new(out).map(|raw| Tensor { raw }))
    }
    /// Replaces or clears `.grad` (`grl_tensor_set_grad`).
    pub fn set_grad(&self, grad: Option<&Tensor>) -> Result<()> {
        check(unsafe { sys::grl_tensor_set_grad(self.as_raw(), opt_raw(grad)) })
    }
    /// Clears `.grad` (`grl_tensor_zero_grad`).
    pub fn zero_grad(&self) -> Result<()> {
        check(unsafe { sys::grl_tensor_zero_grad(self.as_raw()) })
    }
    /// Backward from a one-element tensor (`grl_tensor_backward` with NULL grad_output).
    pub fn backward(&self) -> Result<()> {
        self.backward_with(None, false)
    }
    /// Backward with an explicit output gradient and tape retention (`grl_tensor_backward`).
    pub fn backward_with(&self, grad_output: Option<&Tensor>, retain_graph: bool) -> Result<()> {
        check(unsafe { sys::grl_tensor_backward(self.as_raw(), opt_raw(grad_output), retain_graph as u32) })
    }
    /// A tensor sharing the data, outside autograd (`grl_tensor_detach`).
    pub fn detach(&self) -> Result<Tensor> {
        out_tensor!(grl_tensor_detach(self.as_raw()))
    }
}

macro_rules! unary {
    ($($name:ident => $c:ident, $doc:literal;)*) => {
        impl Tensor {
            $(
            #[doc = concat!($doc, " (`", stringify!($c), "`).")]
            pub fn $name(&self) -> Result<Tensor> {
                out_tensor!($c(self.as_raw()))
            }
            )*
        }
    };
}
unary! {
    neg => grl_neg, "Elementwise -x";
    abs => grl_abs, "Elementwise |x|";
    exp => grl_exp, "Elementwise e^x";
    log => grl_log, "Elementwise natural log";
    sqrt => grl_sqrt, "Elementwise square root";
    rsqrt => grl_rsqrt, "Elementwise 1/sqrt(x)";
    sin => grl_sin, "Elementwise sine";
    cos => grl_cos, "Elementwise cosine";
    tanh => grl_tanh, "Elementwise tanh";
    sigmoid => grl_sigmoid, "Elementwise logistic sigmoid";
    relu => grl_relu, "ReLU";
    silu => grl_silu, "SiLU (swish)";
    mish => grl_mish, "Mish";
    hardswish => grl_hardswish, "Hard swish";
    hardsigmoid => grl_hardsigmoid, "Hard sigmoid";
    gcu => grl_gcu, "Growing cosine unit x cos(x)";
    swiglu => grl_swiglu, "SwiGLU over the last axis split in halves";
    geglu => grl_geglu, "GeGLU over the last axis split in halves";
    reglu => grl_reglu, "ReGLU over the last axis split in halves";
}

macro_rules! binary {
    ($($name:ident => $c:ident, $doc:literal;)*) => {
        impl Tensor {
            $(
            #[doc = concat!($doc, ", broadcasting numpy-style (`", stringify!($c), "`).")]
            pub fn $name(&self, other: &Tensor) -> Result<Tensor> {
                out_tensor!($c(self.as_raw(), other.as_raw()))
            }
            )*
        }
    };
}
binary! {
    add => grl_add, "Elementwise a + b";
    sub => grl_sub, "Elementwise a - b";
    mul => grl_mul, "Elementwise a * b";
    div => grl_div, "Elementwise a / b (integers truncate)";
    pow => grl_pow, "Elementwise a ** b";
    minimum => grl_minimum, "Elementwise minimum";
    maximum => grl_maximum, "Elementwise maximum";
    eq => grl_eq, "U8 mask of a == b";
    ne => grl_ne, "U8 mask of a != b";
    lt => grl_lt, "U8 mask of a < b";
    le => grl_le, "U8 mask of a <= b";
    gt => grl_gt, "U8 mask of a > b";
    ge => grl_ge, "U8 mask of a >= b";
}

macro_rules! scalar {
    ($($name:ident => $c:ident, $doc:literal;)*) => {
        impl Tensor {
            $(
            #[doc = concat!($doc, " (`", stringify!($c), "`).")]
            pub fn $name(&self, s: f64) -> Result<Tensor> {
                out_tensor!($c(self.as_raw(), s))
            }
            )*
        }
    };
}
scalar! {
    add_scalar => grl_add_scalar, "a + s";
    sub_scalar => grl_sub_scalar, "a - s";
    rsub_scalar => grl_rsub_scalar, "s - a";
    mul_scalar => grl_mul_scalar, "a * s";
    div_scalar => grl_div_scalar, "a / s";
    rdiv_scalar => grl_rdiv_scalar, "s / a";
    pow_scalar => grl_pow_scalar, "a ** s";
    rpow_scalar => grl_rpow_scalar, "s ** a";
    minimum_scalar => grl_minimum_scalar, "min(a, s)";
    maximum_scalar => grl_maximum_scalar, "max(a, s)";
    eq_scalar => grl_eq_scalar, "U8 mask of a == s";
    ne_scalar => grl_ne_scalar, "U8 mask of a != s";
    lt_scalar => grl_lt_scalar, "U8 mask of a < s";
    le_scalar => grl_le_scalar, "U8 mask of a <= s";
    gt_scalar => grl_gt_scalar, "U8 mask of a > s";
    ge_scalar => grl_ge_scalar, "U8 mask of a >= s";
}

fn or_panic(r: Result<Tensor>, op: &str) -> Tensor {
    match r {
        Ok(t) => t,
        Err(e) => panic!("grilly: operator {op} failed: {e}"),
    }
}

macro_rules! operator {
    ($tr:ident, $m:ident, $method:ident, $scalar:ident, $rscalar:ident, $sym:literal) => {
        /// Panics with the C message on failure; the method of the same name returns a `Result`.
        impl ops::$tr<&Tensor> for &Tensor {
            type Output = Tensor;
            fn $m(self, rhs: &Tensor) -> Tensor { or_panic(Tensor::$method(self, rhs), $sym) }
        }
        impl ops::$tr<Tensor> for &Tensor {
            type Output = Tensor;
            fn $m(self, rhs: Tensor) -> Tensor { or_panic(Tensor::$method(self, &rhs), $sym) }
        }
        impl ops::$tr<&Tensor> for Tensor {
            type Output = Tensor;
            fn $m(self, rhs: &Tensor) -> Tensor { or_panic(Tensor::$method(&self, rhs), $sym) }
        }
        impl ops::$tr<Tensor> for Tensor {
            type Output = Tensor;
            fn $m(self, rhs: Tensor) -> Tensor { or_panic(Tensor::$method(&self, &rhs), $sym) }
        }
        impl ops::$tr<f64> for &Tensor {
            type Output = Tensor;
            fn $m(self, rhs: f64) -> Tensor { or_panic(self.$scalar(rhs), $sym) }
        }
        impl ops::$tr<f64> for Tensor {
            type Output = Tensor;
            fn $m(self, rhs: f64) -> Tensor { or_panic(self.$scalar(rhs), $sym) }
        }
        impl ops::$tr<&Tensor> for f64 {
            type Output = Tensor;
            fn $m(self, rhs: &Tensor) -> Tensor { or_panic(rhs.$rscalar(self), $sym) }
        }
        impl ops::$tr<Tensor> for f64 {
            type Output = Tensor;
            fn $m(self, rhs: Tensor) -> Tensor { or_panic(rhs.$rscalar(self), $sym) }
        }
    };
}
operator!(Add, add, add, add_scalar, add_scalar, "+");
operator!(Sub, sub, sub, sub_scalar, rsub_scalar, "-");
operator!(Mul, mul, mul, mul_scalar, mul_scalar, "*");
operator!(Div, div, div, div_scalar, rdiv_scalar, "/");

impl ops::Neg for &Tensor {
    type Output = Tensor;
    /// `grl_neg`; panics with the C message on failure.
    fn neg(self) -> Tensor { or_panic(Tensor::neg(self), "-") }
}
impl ops::Neg for Tensor {
    type Output = Tensor;
    /// `grl_neg`; panics with the C message on failure.
    fn neg(self) -> Tensor { or_panic(Tensor::neg(&self), "-") }
}

/// Sets this thread's grad mode, returning the previous one (`grl_set_grad_enabled`).
pub fn set_grad_enabled(enabled: bool) -> bool {
    let mut prev = 0u32;
    check(unsafe { sys::grl_set_grad_enabled(enabled as u32, &mut prev) }).expect("grl_set_grad_enabled");
    prev != 0
}

/// This thread's grad mode (`grl_is_grad_enabled`).
pub fn is_grad_enabled() -> bool {
    unsafe { sys::grl_is_grad_enabled() != 0 }
}

/// Turns grad mode off on this thread until dropped, then restores the previous mode
/// (`grl_set_grad_enabled`). Neither `Send` nor `Sync`: grad mode belongs to a thread.
#[derive(Debug)]
pub struct NoGradGuard {
    prev: bool,
    _thread_bound: PhantomData<*const ()>,
}

/// Disables autograd recording on this thread while the guard lives.
///
/// ```
/// let _guard = grilly::no_grad();
/// assert!(!grilly::is_grad_enabled());
/// ```
pub fn no_grad() -> NoGradGuard {
    NoGradGuard { prev: set_grad_enabled(false), _thread_bound: PhantomData }
}

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        set_grad_enabled(self.prev);
    }
}
