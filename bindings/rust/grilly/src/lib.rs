//! Safe Rust bindings for grilly, a Vulkan compute library for neural networks.
//!
//! Every type owns one reference to a C handle: `Drop` releases it (`grl_*_release`) and `Clone`
//! takes another (`grl_*_retain`), so a clone of a [`Tensor`] shares its data (use
//! [`Tensor::copy`] for new storage). Fallible calls return [`Result`], whose [`Error`] carries the
//! status kind and the C library's message. The operators (`&a + &b`, `&a * 2.0`, `-&a`) panic
//! with that message on failure; the methods of the same name (`a.add(&b)`) return a `Result`.
//!
//! Thread safety follows `docs/threading.md`: [`Device`], [`Tensor`] and [`Optimizer`] are
//! `Send + Sync`; [`Graph`] and [`NoGradGuard`] are neither; [`LrScheduler`] is `Send` only.
//!
//! The neuromorphic op families live in one module each: [`snn`], [`synapse`], [`plasticity`],
//! [`online`], [`search`] and [`memory`] (free functions named after the C ops, option structs
//! whose `Default` is the C `_INIT` macro, and the owning types [`Snn`], [`IndexFlat`] and
//! [`EpisodicMemory`]). [`IndexFlat`] and [`EpisodicMemory`] are `Send + Sync`; [`Snn`] is `Send`
//! only and has one owner.
//!
//! ```
//! use grilly::{Device, Tensor};
//! let dev = Device::new()?;
//! let a = Tensor::from_slice(&dev, &[1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
//! let b = (&a.matmul(&a)? + 1.0).relu()?;
//! assert_eq!(b.to_vec::<f32>()?, vec![8.0, 11.0, 16.0, 23.0]);
//! # Ok::<(), grilly::Error>(())
//! ```
#![warn(missing_docs)]

pub use grilly_sys as sys;

mod custom;
mod device;
mod error;
mod ffi;
mod graph;
mod io;
#[cfg(feature = "ndarray")]
mod nd;
mod optim;
mod tensor;

// The neuromorphic op families, one module per section of grilly.h.
pub mod memory;
pub mod online;
pub mod plasticity;
pub mod search;
pub mod snn;
pub mod synapse;

pub use device::{Device, DeviceInfo, DeviceOptions, MemoryStats};
/// Handles alive in this process, by kind (`grl_live_handles`): see [`live_handles`].
pub type LiveHandles = sys::grl_live_handles;
pub use error::{Error, ErrorKind, Result};
pub use graph::Graph;
pub use memory::EpisodicMemory;
pub use search::IndexFlat;
pub use snn::Snn;
pub use io::{clip_grad_norm, clip_grad_value, load_safetensors, save_safetensors};
pub use optim::{LrScheduler, Optimizer, OptimizerKind, OptimizerOptions};
pub use tensor::{no_grad, set_grad_enabled, is_grad_enabled, DType, Element, FanMode, GeluApproximation, NoGradGuard, Reduction, Tensor};

/// The library version as (major << 22) | (minor << 12) | patch (`grl_version`).
pub fn version_number() -> u32 {
    unsafe { sys::grl_version() }
}

/// The names of the ops that have a backward rule (`grl_autograd_rule_count`,
/// `grl_autograd_rule_name`).
pub fn autograd_rules() -> Vec<&'static str> {
    let n = unsafe { sys::grl_autograd_rule_count() };
    (0..n).map(|i| unsafe { error::cstr_static(sys::grl_autograd_rule_name(i)) }).collect()
}

/// The library version string, e.g. `"0.1.0"` (`grl_version_string`).
pub fn version() -> &'static str {
    // SAFETY: returns a static string.
    unsafe { error::cstr_static(sys::grl_version_string()) }
}

/// The handles alive in this process (created and not yet destroyed), for leak checks: tensors,
/// devices, graphs and optimizers, internal holders included (`grl_live_handle_counts`). Counts
/// are read without locking and may lag calls running on other threads.
pub fn live_handles() -> Result<LiveHandles> {
    let mut out = LiveHandles { tensors: 0, devices: 0, graphs: 0, optimizers: 0 };
    error::check(unsafe { sys::grl_live_handle_counts(&mut out) })?;
    Ok(out)
}
