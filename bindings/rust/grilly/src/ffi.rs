//! Calling conventions shared by the neuromorphic op families (snn, synapse, plasticity, online,
//! search, memory): C functions that write one or two new tensors through out-parameters.
use crate::error::{check, Result};
use crate::{sys, Tensor};
use std::ptr::null_mut;

/// Calls `f` with a slot for one new tensor and wraps the reference it wrote on success.
pub(crate) fn out1(f: impl FnOnce(*mut sys::grl_tensor) -> sys::grl_status) -> Result<Tensor> {
    let mut out: sys::grl_tensor = null_mut();
    check(f(&mut out))?;
    // SAFETY: on GRL_OK the C function wrote a new reference that we now own.
    Ok(unsafe { Tensor::from_raw(out) })
}

/// As [`out1`] for functions writing two tensors.
pub(crate) fn out2(
    f: impl FnOnce(*mut sys::grl_tensor, *mut sys::grl_tensor) -> sys::grl_status,
) -> Result<(Tensor, Tensor)> {
    let (mut a, mut b): (sys::grl_tensor, sys::grl_tensor) = (null_mut(), null_mut());
    check(f(&mut a, &mut b))?;
    // SAFETY: on GRL_OK both slots hold new references that we now own.
    Ok(unsafe { (Tensor::from_raw(a), Tensor::from_raw(b)) })
}

/// The handle of an optional tensor argument (NULL for `None`).
pub(crate) fn raw_or_null(t: Option<&Tensor>) -> sys::grl_tensor {
    t.map_or(null_mut(), Tensor::as_raw)
}
