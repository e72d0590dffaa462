//! Spiking neurons (`@section snn` of grilly.h, docs/neuro.md): the in-place LIF step, multi-step
//! neuron nodes trained with surrogate gradients, and the [`Snn`] simulator.
use crate::error::{check, Result};
use crate::ffi::{out1, raw_or_null};
use crate::{sys, DType, Device, Tensor};
use std::ptr::{null_mut, NonNull};

/// Parameters of the leaky integrate-and-fire step (`grl_lif_options`). `Default` is
/// `GRL_LIF_OPTIONS_INIT`; times share one unit (ms in the defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LifOptions {
    /// Time step, > 0 (0.001).
    pub dt: f64,
    /// Membrane time constant, > 0 (20).
    pub tau_mem: f64,
    /// Resting potential the leak pulls towards (0).
    pub v_rest: f64,
    /// Potential after a spike and during the refractory period (0).
    pub v_reset: f64,
    /// Spike threshold (1).
    pub v_thresh: f64,
    /// Membrane resistance: the drive is `r_m * input` (1).
    pub r_m: f64,
    /// Refractory period, >= 0; must be 0 when no refractory tensor is passed (0).
    pub t_ref: f64,
    /// dtype of the 0/1 spikes: `None` for the state's dtype, or `Some(DType::U8)` (`None`).
    pub spike_dtype: Option<DType>,
}

impl Default for LifOptions {
    fn default() -> LifOptions {
        LifOptions { dt: 0.001, tau_mem: 20.0, v_rest: 0.0, v_reset: 0.0, v_thresh: 1.0, r_m: 1.0, t_ref: 0.0, spike_dtype: None }
    }
}

impl LifOptions {
    /// The C struct.
    pub fn raw(&self) -> sys::grl_lif_options {
        sys::grl_lif_options {
            version: sys::GRL_LIF_OPTIONS_VERSION,
            dt: self.dt,
            tau_mem: self.tau_mem,
            v_rest: self.v_rest,
            v_reset: self.v_reset,
            v_thresh: self.v_thresh,
            r_m: self.r_m,
            t_ref: self.t_ref,
            spike_dtype: self.spike_dtype.map_or(-1, DType::raw),
        }
    }
}

/// One LIF step in place on the membrane `v` and the refractory counters (`grl_lif_step_`):
/// refractory neurons count down and stay at `v_reset`; the others integrate
/// `v += dt (-(v - v_rest) + r_m input) / tau_mem` and spike at `v >= v_thresh` (then
/// `v = v_reset`, `refractory = t_ref`). `refractory` is `None` for no refractory period
/// (`t_ref` must then be 0); `input` broadcasts to `v`'s shape. Returns the spikes (0/1, `v`'s
/// shape, `opts.spike_dtype`). Not differentiable: train with [`spiking_neuron`].
pub fn lif_step_(v: &Tensor, refractory: Option<&Tensor>, input: &Tensor, opts: &LifOptions) -> Result<Tensor> {
    let o = opts.raw();
    out1(|out| unsafe { sys::grl_lif_step_(v.as_raw(), raw_or_null(refractory), input.as_raw(), &o, out) })
}

/// The neuron model of [`spiking_neuron`] (`grl_neuron_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeuronKind {
    /// `GRL_NEURON_IF`: integrate-and-fire, `h = v + x`.
    If,
    /// `GRL_NEURON_LIF`: leaky integrate-and-fire.
    Lif,
    /// `GRL_NEURON_ALIF`: LIF with an adaptation current `w`.
    Alif,
}

impl NeuronKind {
    /// The C value.
    pub fn raw(self) -> sys::grl_neuron_kind {
        match self {
            NeuronKind::If => sys::GRL_NEURON_IF,
            NeuronKind::Lif => sys::GRL_NEURON_LIF,
            NeuronKind::Alif => sys::GRL_NEURON_ALIF,
        }
    }
}

/// The surrogate gradient of the spike (`grl_surrogate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surrogate {
    /// `GRL_SURROGATE_ATAN` (alpha 2).
    Atan,
    /// `GRL_SURROGATE_SIGMOID` (alpha 4).
    Sigmoid,
    /// `GRL_SURROGATE_FAST_SIGMOID` (alpha 2).
    FastSigmoid,
    /// `GRL_SURROGATE_TRIANGLE` (alpha 1).
    Triangle,
}

impl Surrogate {
    /// The C value.
    pub fn raw(self) -> sys::grl_surrogate {
        match self {
            Surrogate::Atan => sys::GRL_SURROGATE_ATAN,
            Surrogate::Sigmoid => sys::GRL_SURROGATE_SIGMOID,
            Surrogate::FastSigmoid => sys::GRL_SURROGATE_FAST_SIGMOID,
            Surrogate::Triangle => sys::GRL_SURROGATE_TRIANGLE,
        }
    }
}

/// Options of [`spiking_neuron`] (`grl_neuron_options`). `Default` is `GRL_NEURON_OPTIONS_INIT`
/// (a LIF node with tau 2 steps, hard reset to 0, threshold 1, the atan surrogate).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NeuronOptions {
    /// The model (`Lif`).
    pub kind: NeuronKind,
    /// Membrane time constant in steps, > 0 (2); ignored with a `tau_param` or for `If`.
    pub tau: f64,
    /// LIF charge `h = v + (x - (v - v_rest)) / tau` (true) or `h = v - (v - v_rest) / tau + x`
    /// (false) (true).
    pub decay_input: bool,
    /// Threshold (1).
    pub v_thresh: f64,
    /// Potential after a hard reset (0).
    pub v_reset: f64,
    /// Reset by subtracting `v_thresh` instead of setting `v_reset` (false).
    pub soft_reset: bool,
    /// Treat the spike as a constant in the reset's gradient (false).
    pub detach_reset: bool,
    /// The potential the leak pulls towards (0).
    pub v_rest: f64,
    /// The surrogate gradient (`Atan`).
    pub surrogate: Surrogate,
    /// Surrogate sharpness, > 0; `None` for the surrogate's default (`None`).
    pub alpha: Option<f64>,
    /// Spikes are the surrogate's smooth step in [0, 1] instead of Heaviside 0/1 (false).
    pub soft_spike: bool,
    /// ALIF adaptation time constant in steps, > 0 (100).
    pub tau_w: f64,
    /// ALIF subthreshold coupling (0).
    pub a: f64,
    /// ALIF spike-triggered jump of `w` (0.1).
    pub b: f64,
}

impl Default for NeuronOptions {
    fn default() -> NeuronOptions {
        NeuronOptions {
            kind: NeuronKind::Lif,
            tau: 2.0,
            decay_input: true,
            v_thresh: 1.0,
            v_reset: 0.0,
            soft_reset: false,
            detach_reset: false,
            v_rest: 0.0,
            surrogate: Surrogate::Atan,
            alpha: None,
            soft_spike: false,
            tau_w: 100.0,
            a: 0.0,
            b: 0.1,
        }
    }
}

impl NeuronOptions {
    /// The C struct.
    pub fn raw(&self) -> sys::grl_neuron_options {
        sys::grl_neuron_options {
            version: sys::GRL_NEURON_OPTIONS_VERSION,
            kind: self.kind.raw(),
            tau: self.tau,
            decay_input: self.decay_input as u32,
            v_thresh: self.v_thresh,
            v_reset: self.v_reset,
            soft_reset: self.soft_reset as u32,
            detach_reset: self.detach_reset as u32,
            v_rest: self.v_rest,
            surrogate: self.surrogate.raw(),
            alpha: self.alpha.unwrap_or(-1.0),
            soft_spike: self.soft_spike as u32,
            tau_w: self.tau_w,
            a: self.a,
            b: self.b,
        }
    }
}

/// What [`spiking_neuron`] returns.
#[derive(Debug, Clone)]
pub struct NeuronOutput {
    /// The spikes `[T, ...]` in x's dtype.
    pub spikes: Tensor,
    /// The final membrane, of the neuron shape `x.shape[1..]`.
    pub v: Tensor,
    /// The final adaptation current (`Some` for [`NeuronKind::Alif`] only).
    pub w: Option<Tensor>,
}

/// Runs a spiking neuron node over a sequence `x [T, ...]` (f32, f16, bf16), differentiably
/// through surrogate gradients (`grl_spiking_neuron`, autograd rule `spiking_neuron`).
///
/// `v0` and `w0` (ALIF only) are the initial state of the neuron shape `x.shape[1..]` (`None`:
/// `v_rest` and 0); `tau_param` is the learnable `w` of PLIF (`k = sigmoid(w)`), broadcast to the
/// neuron shape. The final `w` is returned for ALIF only.
pub fn spiking_neuron(
    x: &Tensor,
    v0: Option<&Tensor>,
    w0: Option<&Tensor>,
    tau_param: Option<&Tensor>,
    opts: &NeuronOptions,
) -> Result<NeuronOutput> {
    let o = opts.raw();
    let (mut s, mut v, mut w): (sys::grl_tensor, sys::grl_tensor, sys::grl_tensor) = (null_mut(), null_mut(), null_mut());
    let w_slot: *mut sys::grl_tensor = if opts.kind == NeuronKind::Alif { &mut w } else { null_mut() };
    check(unsafe {
        sys::grl_spiking_neuron(x.as_raw(), raw_or_null(v0), raw_or_null(w0), raw_or_null(tau_param), &o, &mut s, &mut v, w_slot)
    })?;
    // SAFETY: on success every requested slot holds a new reference.
    unsafe {
        Ok(NeuronOutput {
            spikes: Tensor::from_raw(s),
            v: Tensor::from_raw(v),
            w: if w.is_null() { None } else { Some(Tensor::from_raw(w)) },
        })
    }
}

/// Options of the [`Snn`] simulator (`grl_snn_options`); `Default` is `GRL_SNN_OPTIONS_INIT`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SnnOptions {
    /// The LIF parameters (`LifOptions::default()`).
    pub lif: LifOptions,
    /// The state dtype: f32, f16 or bf16 (f32).
    pub dtype: DType,
}

impl Default for SnnOptions {
    fn default() -> SnnOptions {
        SnnOptions { lif: LifOptions::default(), dtype: DType::F32 }
    }
}

impl SnnOptions {
    /// The C struct.
    pub fn raw(&self) -> sys::grl_snn_options {
        sys::grl_snn_options { version: sys::GRL_SNN_OPTIONS_VERSION, lif: self.lif.raw(), dtype: self.dtype.raw() }
    }
}

/// A population of LIF neurons with their own state, stepped by [`lif_step_`] (`grl_snn`).
///
/// `Send` but neither `Sync` nor `Clone`: grilly.h says a simulator must not be stepped from two
/// threads at once, so stepping takes `&mut self` and there is one owner.
///
/// ```compile_fail
/// fn needs_sync<T: Sync>() {}
/// needs_sync::<grilly::Snn>();
/// ```
#[derive(Debug)]
pub struct Snn {
    raw: NonNull<sys::grl_snn_s>,
}

// SAFETY: grilly.h: an snn's calls lock the device and release may run on any thread; concurrent
// stepping is excluded by !Sync, one owner and &mut self.
unsafe impl Send for Snn {}

impl Drop for Snn {
    /// `grl_snn_release`.
    fn drop(&mut self) {
        unsafe { sys::grl_snn_release(self.raw.as_ptr()) }
    }
}

impl Snn {
    /// `n_neurons` (>= 0) neurons at `v = v_rest`, no refractory time left (`grl_snn_create`).
    pub fn new(dev: &Device, n_neurons: i64, opts: &SnnOptions) -> Result<Snn> {
        let o = opts.raw();
        let mut out = null_mut();
        check(unsafe { sys::grl_snn_create(dev.as_raw(), n_neurons, &o, &mut out) })?;
        Ok(unsafe { Snn::from_raw(out) })
    }

    /// Wraps a raw handle, taking over one reference.
    ///
    /// # Safety
    /// `raw` must be a live, non-NULL `grl_snn` whose reference the caller gives up, and nothing
    /// else may step it.
    pub unsafe fn from_raw(raw: sys::grl_snn) -> Snn {
        Snn { raw: NonNull::new(raw).expect("grl_snn is NULL") }
    }

    /// Wraps a raw handle the caller keeps, taking a reference of its own (`grl_snn_retain`).
    ///
    /// # Safety
    /// `raw` must be a live, non-NULL `grl_snn`, and the caller must not step it through its own
    /// reference while this `Snn` is in use.
    pub unsafe fn from_raw_retained(raw: sys::grl_snn) -> Snn {
        sys::grl_snn_retain(raw);
        Snn::from_raw(raw)
    }

    /// The raw handle (still owned by `self`).
    pub fn as_raw(&self) -> sys::grl_snn {
        self.raw.as_ptr()
    }

    /// One time step with input current `input` (the state's dtype, `[n_neurons]` or
    /// broadcastable to it); returns the spikes `[n_neurons]` (`grl_snn_process`; no host wait).
    pub fn process(&mut self, input: &Tensor) -> Result<Tensor> {
        out1(|out| unsafe { sys::grl_snn_process(self.as_raw(), input.as_raw(), out) })
    }

    /// Back to `v = v_rest` with no refractory time left (`grl_snn_reset`).
    pub fn reset(&mut self) -> Result<()> {
        check(unsafe { sys::grl_snn_reset(self.as_raw()) })
    }

    /// Copies of the membrane and the refractory counters, `[n_neurons]` each
    /// (`grl_snn_get_state`).
    pub fn state(&self) -> Result<(Tensor, Tensor)> {
        crate::ffi::out2(|m, r| unsafe { sys::grl_snn_get_state(self.as_raw(), m, r) })
    }

    /// Copies a new state in (same shape, dtype and device); `refractory` `None` means zeros
    /// (`grl_snn_set_state`).
    pub fn set_state(&mut self, membrane: &Tensor, refractory: Option<&Tensor>) -> Result<()> {
        check(unsafe { sys::grl_snn_set_state(self.as_raw(), membrane.as_raw(), raw_or_null(refractory)) })
    }
}
