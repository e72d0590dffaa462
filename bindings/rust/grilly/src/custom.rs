use crate::error::{check, Error, ErrorKind, Result};
use crate::sys;
use crate::Tensor;
use std::ffi::CString;
use std::os::raw::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::null_mut;

type Forward = dyn Fn(&[Tensor]) -> Result<Tensor> + Send + Sync;
type Backward = dyn Fn(&Tensor, &[Tensor]) -> Result<Vec<Option<Tensor>>> + Send + Sync;

struct Ctx {
    _name: CString,
    forward: Box<Forward>,
    backward: Box<Backward>,
}

/// Borrowed C handles as owned tensors (each takes a reference of its own).
unsafe fn borrow_all(inputs: *const sys::grl_tensor, n: i32) -> Vec<Tensor> {
    (0..n as usize)
        .map(|i| {
            let t = *inputs.add(i);
            sys::grl_tensor_retain(t);
            Tensor::from_raw(t)
        })
        .collect()
}

fn status_of(r: std::thread::Result<Result<()>>) -> sys::grl_status {
    match r {
        Ok(Ok(())) => sys::GRL_OK,
        Ok(Err(e)) => e.kind().status(),
        Err(_) => sys::GRL_ERROR_INTERNAL, // a panic must not unwind into C
    }
}

unsafe extern "C" fn forward_tramp(ctx: *mut c_void, inputs: *const sys::grl_tensor, n: i32, out: *mut sys::grl_tensor) -> sys::grl_status {
    let ctx = &*(ctx as *const Ctx);
    status_of(catch_unwind(AssertUnwindSafe(|| {
        let ins = borrow_all(inputs, n);
        let y = (ctx.forward)(&ins)?;
        *out = y.into_raw();
        Ok(())
    })))
}

unsafe extern "C" fn backward_tramp(
    ctx: *mut c_void,
    grad_output: sys::grl_tensor,
    inputs: *const sys::grl_tensor,
    n: i32,
    grad_inputs: *mut sys::grl_tensor,
) -> sys::grl_status {
    let ctx = &*(ctx as *const Ctx);
    status_of(catch_unwind(AssertUnwindSafe(|| {
        let ins = borrow_all(inputs, n);
        sys::grl_tensor_retain(grad_output);
        let g = Tensor::from_raw(grad_output);
        let grads = (ctx.backward)(&g, &ins)?;
        if grads.len() != n as usize {
            return Err(Error::new(ErrorKind::InvalidArgument, "custom backward returned the wrong number of gradients"));
        }
        for (i, gi) in grads.into_iter().enumerate() {
            *grad_inputs.add(i) = gi.map_or(null_mut(), Tensor::into_raw);
        }
        Ok(())
    })))
}

unsafe extern "C" fn release_tramp(ctx: *mut c_void) {
    drop(Box::from_raw(ctx as *mut Ctx));
}

impl Tensor {
    /// Gives up ownership of the handle without releasing it (the caller now owns the reference).
    pub fn into_raw(self) -> sys::grl_tensor {
        let raw = self.as_raw();
        std::mem::forget(self);
        raw
    }

    /// Applies a custom differentiable function written in Rust (`grl_custom_apply`).
    ///
    /// `forward` computes the output from the inputs (grad mode is off inside it); `backward`
    /// receives the output's gradient and the inputs and returns one gradient per input (`None`
    /// where an input needs none), each of its input's shape and dtype. An `Err` or a panic in a
    /// callback fails the C call with its status kind (a panic as `GRL_ERROR_INTERNAL`).
    pub fn custom_apply<F, B>(name: &str, inputs: &[&Tensor], forward: F, backward: B) -> Result<Tensor>
    where
        F: Fn(&[Tensor]) -> Result<Tensor> + Send + Sync + 'static,
        B: Fn(&Tensor, &[Tensor]) -> Result<Vec<Option<Tensor>>> + Send + Sync + 'static,
    {
        if inputs.len() > 64 {
            return Err(Error::new(ErrorKind::InvalidArgument, format!("custom_apply: {} inputs; at most 64", inputs.len())));
        }
        let cname = CString::new(name).map_err(|_| Error::new(ErrorKind::InvalidArgument, "custom function name contains a NUL byte"))?;
        let name_ptr = cname.as_ptr();
        let ctx = Box::into_raw(Box::new(Ctx { _name: cname, forward: Box::new(forward), backward: Box::new(backward) }));
        let f = sys::grl_custom_function {
            version: sys::GRL_CUSTOM_FUNCTION_VERSION,
            name: name_ptr,
            forward: Some(forward_tramp),
            backward: Some(backward_tramp),
            release: Some(release_tramp),
            ctx: ctx.cast(),
        };
        let raw: Vec<_> = inputs.iter().map(|t| t.as_raw()).collect();
        let mut out = null_mut();
        check(unsafe { sys::grl_custom_apply(&f, raw.as_ptr(), raw.len() as i32, &mut out) })?;
        Ok(unsafe { Tensor::from_raw(out) })
    }
}
