use crate::error::{check, Error, ErrorKind, Result};
use crate::sys;
use crate::{Element, Tensor};
use std::ffi::CString;
use std::ptr::{null_mut, NonNull};

/// A captured, replayable sequence of ops (`grl_graph`); make one with [`crate::Device::capture`].
///
/// Neither `Send` nor `Sync`: docs/threading.md promises nothing for graphs.
///
/// ```compile_fail
/// fn needs_send<T: Send>() {}
/// needs_send::<grilly::Graph>();
/// ```
#[derive(Debug)]
pub struct Graph {
    raw: NonNull<sys::grl_graph_s>,
}

impl Clone for Graph {
    /// Another reference to the same graph (`grl_graph_retain`).
    fn clone(&self) -> Graph {
        unsafe { sys::grl_graph_retain(self.raw.as_ptr()) };
        Graph { raw: self.raw }
    }
}

impl Drop for Graph {
    /// `grl_graph_release`.
    fn drop(&mut self) {
        unsafe { sys::grl_graph_release(self.raw.as_ptr()) }
    }
}

fn cname(name: &str) -> Result<CString> {
    CString::new(name).map_err(|_| Error::new(ErrorKind::InvalidArgument, format!("graph name {name:?} contains a NUL byte")))
}

impl Graph {
    /// Wraps a raw handle, taking over one reference.
    ///
    /// # Safety
    /// `raw` must be a live, non-NULL `grl_graph` whose reference the caller gives up.
    pub unsafe fn from_raw(raw: sys::grl_graph) -> Graph {
        Graph { raw: NonNull::new(raw).expect("grl_graph is NULL") }
    }
    /// The raw handle (still owned by `self`).
    pub fn as_raw(&self) -> sys::grl_graph {
        self.raw.as_ptr()
    }
    /// Names a tensor used by the captured work as an input (`grl_graph_set_input`).
    pub fn set_input(&self, name: &str, t: &Tensor) -> Result<()> {
        let n = cname(name)?;
        check(unsafe { sys::grl_graph_set_input(self.as_raw(), n.as_ptr(), t.as_raw()) })
    }
    /// Names a result as an output (`grl_graph_set_output`).
    pub fn set_output(&self, name: &str, t: &Tensor) -> Result<()> {
        let n = cname(name)?;
        check(unsafe { sys::grl_graph_set_output(self.as_raw(), n.as_ptr(), t.as_raw()) })
    }
    /// Copies a tensor's data into a named input (`grl_graph_bind`).
    pub fn bind(&self, name: &str, value: &Tensor) -> Result<()> {
        let n = cname(name)?;
        check(unsafe { sys::grl_graph_bind(self.as_raw(), n.as_ptr(), value.as_raw()) })
    }
    /// Copies host data into a named input (`grl_graph_bind_host`).
    pub fn bind_host<T: Element>(&self, name: &str, data: &[T]) -> Result<()> {
        let n = cname(name)?;
        check(unsafe { sys::grl_graph_bind_host(self.as_raw(), n.as_ptr(), data.as_ptr().cast(), std::mem::size_of_val(data)) })
    }
    /// Runs the graph once, without waiting (`grl_graph_replay`).
    pub fn replay(&self) -> Result<()> {
        check(unsafe { sys::grl_graph_replay(self.as_raw()) })
    }
    /// The named output (`grl_graph_output`).
    pub fn output(&self, name: &str) -> Result<Tensor> {
        let n = cname(name)?;
        let mut out = null_mut();
        check(unsafe { sys::grl_graph_output(self.as_raw(), n.as_ptr(), &mut out) })?;
        Ok(unsafe { Tensor::from_raw(out) })
    }
    /// Number of captured ops (`grl_graph_op_count`).
    pub fn op_count(&self) -> Result<i64> {
        let mut n = 0;
        check(unsafe { sys::grl_graph_op_count(self.as_raw(), &mut n) })?;
        Ok(n)
    }
    /// A printable summary, one line per op (`grl_graph_summary`).
    pub fn summary(&self) -> Result<String> {
        let mut need = 0usize;
        check(unsafe { sys::grl_graph_summary(self.as_raw(), std::ptr::null_mut(), 0, &mut need) })?;
        let mut buf = vec![0u8; need + 1];
        check(unsafe { sys::grl_graph_summary(self.as_raw(), buf.as_mut_ptr().cast(), buf.len(), &mut need) })?;
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
    }
}
