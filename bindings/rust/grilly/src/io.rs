use crate::error::{check, Error, ErrorKind, Result};
use crate::sys;
use crate::{Device, Optimizer, Tensor};
use std::ffi::{CStr, CString};
use std::path::Path;
use std::ptr::null_mut;

fn cpath(path: &Path) -> Result<CString> {
    let s = path.to_str().ok_or_else(|| Error::new(ErrorKind::InvalidArgument, format!("path {path:?} is not UTF-8")))?;
    CString::new(s).map_err(|_| Error::new(ErrorKind::InvalidArgument, format!("path {path:?} contains a NUL byte")))
}

/// Saves named tensors in the safetensors format, atomically (`grl_save_safetensors`).
pub fn save_safetensors(path: impl AsRef<Path>, tensors: &[(&str, &Tensor)]) -> Result<()> {
    let p = cpath(path.as_ref())?;
    let names = tensors
        .iter()
        .map(|(n, _)| CString::new(*n).map_err(|_| Error::new(ErrorKind::InvalidArgument, format!("tensor name {n:?} contains a NUL byte"))))
        .collect::<Result<Vec<_>>>()?;
    let name_ptrs: Vec<_> = names.iter().map(|n| n.as_ptr()).collect();
    let raw: Vec<_> = tensors.iter().map(|(_, t)| t.as_raw()).collect();
    check(unsafe { sys::grl_save_safetensors(p.as_ptr(), name_ptrs.as_ptr(), raw.as_ptr(), raw.len() as i32) })
}

/// Loads every tensor of a safetensors file onto `dev`, in file order (`grl_load_safetensors`,
/// `grl_tensor_map_count`, `grl_tensor_map_name`, `grl_tensor_map_get`, `grl_tensor_map_release`).
pub fn load_safetensors(dev: &Device, path: impl AsRef<Path>) -> Result<Vec<(String, Tensor)>> {
    let p = cpath(path.as_ref())?;
    let mut map = null_mut();
    check(unsafe { sys::grl_load_safetensors(dev.as_raw(), p.as_ptr(), &mut map) })?;
    struct Map(sys::grl_tensor_map);
    impl Drop for Map {
        fn drop(&mut self) {
            unsafe { sys::grl_tensor_map_release(self.0) }
        }
    }
    let map = Map(map);
    let mut n = 0;
    check(unsafe { sys::grl_tensor_map_count(map.0, &mut n) })?;
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        let mut name = std::ptr::null();
        check(unsafe { sys::grl_tensor_map_name(map.0, i, &mut name) })?;
        let mut t = null_mut();
        check(unsafe { sys::grl_tensor_map_get(map.0, name, &mut t) })?;
        let name = unsafe { CStr::from_ptr(name) }.to_string_lossy().into_owned();
        out.push((name, unsafe { Tensor::from_raw(t) }));
    }
    Ok(out)
}

impl Optimizer {
    /// Saves the optimizer's state and scalars (`grl_save_optimizer`).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let p = cpath(path.as_ref())?;
        check(unsafe { sys::grl_save_optimizer(p.as_ptr(), self.as_raw()) })
    }
    /// Restores state saved by [`Optimizer::save`] (`grl_load_optimizer`).
    pub fn load(&self, path: impl AsRef<Path>) -> Result<()> {
        let p = cpath(path.as_ref())?;
        check(unsafe { sys::grl_load_optimizer(p.as_ptr(), self.as_raw()) })
    }
}

/// Scales all gradients so that their joint `norm_type` norm is at most `max_norm`; returns the
/// norm before clipping as an f32 0-d tensor (`grl_clip_grad_norm`).
pub fn clip_grad_norm(params: &[&Tensor], max_norm: f64, norm_type: f64) -> Result<Tensor> {
    let raw: Vec<_> = params.iter().map(|t| t.as_raw()).collect();
    let mut out = null_mut();
    check(unsafe { sys::grl_clip_grad_norm(raw.as_ptr(), raw.len() as i32, max_norm, norm_type, &mut out) })?;
    Ok(unsafe { Tensor::from_raw(out) })
}

/// Clamps every gradient to [-clip_value, clip_value] (`grl_clip_grad_value`).
pub fn clip_grad_value(params: &[&Tensor], clip_value: f64) -> Result<()> {
    let raw: Vec<_> = params.iter().map(|t| t.as_raw()).collect();
    check(unsafe { sys::grl_clip_grad_value(raw.as_ptr(), raw.len() as i32, clip_value) })
}
