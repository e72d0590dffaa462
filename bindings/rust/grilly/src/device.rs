use crate::error::{check, Result};
use crate::sys;
use std::ffi::{CStr, CString};
use std::ptr::NonNull;

/// A Vulkan device with its memory pool and command stream (`grl_device`).
///
/// `Send + Sync`: the C library serialises calls on one device (docs/threading.md).
#[derive(Debug)]
pub struct Device {
    raw: NonNull<sys::grl_device_s>,
}

// SAFETY: docs/threading.md: a grl_device may be used from several threads at once; retain and
// release are atomic and may run on any thread.
unsafe impl Send for Device {}
unsafe impl Sync for Device {}

impl Clone for Device {
    /// Another reference to the same device (`grl_device_retain`).
    fn clone(&self) -> Device {
        // SAFETY: raw is a live handle we hold a reference to.
        unsafe { sys::grl_device_retain(self.raw.as_ptr()) };
        Device { raw: self.raw }
    }
}

impl Drop for Device {
    /// Drops this reference (`grl_device_release`); the device closes when no tensor uses it.
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe { sys::grl_device_release(self.raw.as_ptr()) }
    }
}

/// Options for [`Device::with_options`] (`grl_device_options`).
#[derive(Debug, Clone, Default)]
pub struct DeviceOptions {
    /// This enumeration index (`None`: choose, or `VK_GPU_INDEX`).
    pub index: Option<u32>,
    /// The first device whose name contains this (or `VK_GPU_NAME`).
    pub name_contains: Option<String>,
    /// Allow CPU devices (`None`: from `ALLOW_CPU_VULKAN`, default allowed).
    pub allow_cpu: Option<bool>,
    /// Enable the Vulkan validation layer (`None`: from `GRILLY_VALIDATION`).
    pub validation: Option<bool>,
}

/// A description of a device (`grl_device_info`).
#[derive(Debug, Clone)]
pub struct DeviceInfo {
    /// The device name.
    pub name: String,
    /// Position in the enumeration.
    pub index: u32,
    /// PCI vendor id.
    pub vendor_id: u32,
    /// Device id.
    pub device_id: u32,
    /// `GRL_DEVICE_*` type (4: CPU).
    pub device_type: i32,
    /// Device-local memory in bytes.
    pub device_local_bytes: u64,
    /// Subgroup size.
    pub subgroup_size: u32,
    /// shaderFloat16 and 16-bit storage.
    pub supports_fp16: bool,
    /// The raw C struct, with every field.
    pub raw: sys::grl_device_info,
}

impl From<sys::grl_device_info> for DeviceInfo {
    fn from(raw: sys::grl_device_info) -> DeviceInfo {
        // SAFETY: name is NUL-terminated within its 256 bytes.
        let name = unsafe { CStr::from_ptr(raw.name.as_ptr()) }.to_string_lossy().into_owned();
        DeviceInfo {
            name,
            index: raw.index,
            vendor_id: raw.vendor_id,
            device_id: raw.device_id,
            device_type: raw.r#type,
            device_local_bytes: raw.device_local_bytes,
            subgroup_size: raw.subgroup_size,
            supports_fp16: raw.supports_fp16 != 0,
            raw,
        }
    }
}

/// Memory pool statistics (`grl_memory_stats`).
pub type MemoryStats = sys::grl_memory_stats;

impl Device {
    /// Opens the automatically chosen device (`grl_device_create` with NULL options).
    pub fn new() -> Result<Device> {
        let mut out = std::ptr::null_mut();
        // SAFETY: NULL options are allowed; out is written on success.
        check(unsafe { sys::grl_device_create(std::ptr::null(), &mut out) })?;
        Ok(unsafe { Device::from_raw(out) })
    }

    /// Opens a device chosen by `opts` (`grl_device_create`).
    pub fn with_options(opts: &DeviceOptions) -> Result<Device> {
        let name = opts.name_contains.as_ref().map(|s| CString::new(s.as_str()).expect("name_contains has a NUL byte"));
        let tri = |b: Option<bool>| b.map_or(-1, |v| v as i32);
        let raw = sys::grl_device_options {
            version: sys::GRL_DEVICE_OPTIONS_VERSION,
            index: opts.index.map_or(-1, |i| i as i32),
            name_contains: name.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            allow_cpu: tri(opts.allow_cpu),
            validation: tri(opts.validation),
        };
        let mut out = std::ptr::null_mut();
        // SAFETY: raw and the string it points to outlive the call.
        check(unsafe { sys::grl_device_create(&raw, &mut out) })?;
        Ok(unsafe { Device::from_raw(out) })
    }

    /// Number of Vulkan physical devices (`grl_device_count`).
    pub fn count() -> Result<u32> {
        let mut n = 0;
        check(unsafe { sys::grl_device_count(&mut n) })?;
        Ok(n)
    }

    /// Describes device `index` without opening it (`grl_device_describe`).
    pub fn describe(index: u32) -> Result<DeviceInfo> {
        let mut info = std::mem::MaybeUninit::<sys::grl_device_info>::zeroed();
        check(unsafe { sys::grl_device_describe(index, info.as_mut_ptr()) })?;
        Ok(unsafe { info.assume_init() }.into())
    }

    /// Wraps a raw handle, taking over one reference.
    ///
    /// # Safety
    /// `raw` must be a live, non-NULL `grl_device` whose reference the caller gives up.
    pub unsafe fn from_raw(raw: sys::grl_device) -> Device {
        Device { raw: NonNull::new(raw).expect("grl_device is NULL") }
    }

    /// The raw handle (still owned by `self`).
    pub fn as_raw(&self) -> sys::grl_device {
        self.raw.as_ptr()
    }

    /// The device description (`grl_device_get_info`).
    pub fn info(&self) -> Result<DeviceInfo> {
        let mut info = std::mem::MaybeUninit::<sys::grl_device_info>::zeroed();
        check(unsafe { sys::grl_device_get_info(self.as_raw(), info.as_mut_ptr()) })?;
        Ok(unsafe { info.assume_init() }.into())
    }

    /// Submits all recorded work and waits; reports errors detected on the device such as an
    /// out-of-range index (`grl_device_synchronize`).
    pub fn synchronize(&self) -> Result<()> {
        check(unsafe { sys::grl_device_synchronize(self.as_raw()) })
    }

    /// Memory pool statistics (`grl_device_memory_stats`).
    pub fn memory_stats(&self) -> Result<MemoryStats> {
        let mut s = std::mem::MaybeUninit::<sys::grl_memory_stats>::zeroed();
        check(unsafe { sys::grl_device_memory_stats(self.as_raw(), s.as_mut_ptr()) })?;
        Ok(unsafe { s.assume_init() })
    }

    /// Frees cached pool memory (`grl_device_empty_cache`).
    pub fn empty_cache(&self) -> Result<()> {
        check(unsafe { sys::grl_device_empty_cache(self.as_raw()) })
    }

    /// Messages the validation layer reported on this device (`grl_device_validation_messages`).
    pub fn validation_messages(&self) -> Result<u64> {
        let mut n = 0;
        check(unsafe { sys::grl_device_validation_messages(self.as_raw(), &mut n) })?;
        Ok(n)
    }

    /// Starts recording ops on this device into a graph (`grl_graph_begin_capture`); finish with
    /// [`Device::end_capture`]. See also [`Device::capture`].
    pub fn begin_capture(&self) -> Result<()> {
        check(unsafe { sys::grl_graph_begin_capture(self.as_raw()) })
    }

    /// Ends the capture and returns the graph (`grl_graph_end_capture`).
    pub fn end_capture(&self) -> Result<crate::Graph> {
        let mut out = std::ptr::null_mut();
        check(unsafe { sys::grl_graph_end_capture(self.as_raw(), &mut out) })?;
        Ok(unsafe { crate::Graph::from_raw(out) })
    }

    /// Captures the ops `f` records into a graph (`grl_graph_begin_capture`, then
    /// `grl_graph_end_capture`, which also runs when `f` fails). While capturing, every op on
    /// this device is recorded, whichever thread makes it, and host reads fail.
    pub fn capture<R>(&self, f: impl FnOnce() -> Result<R>) -> Result<(crate::Graph, R)> {
        self.begin_capture()?;
        let r = f();
        let g = self.end_capture();
        let r = r?;
        Ok((g?, r))
    }
}
