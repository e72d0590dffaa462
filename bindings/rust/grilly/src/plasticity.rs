//! Local plasticity rules (`@section plasticity` of grilly.h, docs/neuro.md): Hebbian, Oja,
//! Sanger (GHA), pair and triplet STDP, each updating a weight matrix in place.
//!
//! `w [n_post, n_pre]` is a contiguous f32, f16 or bf16 tensor that does not require gradients
//! and shares no memory with the other arguments; activities and spikes come as one sample `[n]`
//! or a batch `[B, n]` in w's dtype, and the update is the batch mean unless said otherwise.
use crate::error::{check, Result};
use crate::ffi::raw_or_null;
use crate::{sys, DType, Device, Reduction, Tensor};

/// Hebbian rule with weight decay, `W += eta * mean_b(y_b x_b^T) - decay * W`
/// (`grl_hebbian_update_`). `y` `None` uses the linear neuron `y = W x` (from the old W).
pub fn hebbian_update_(w: &Tensor, x: &Tensor, y: Option<&Tensor>, eta: f64, decay: f64) -> Result<()> {
    check(unsafe { sys::grl_hebbian_update_(w.as_raw(), x.as_raw(), raw_or_null(y), eta, decay) })
}

/// Oja's rule, `dW_ij = eta * mean_b(y_bi (x_bj - y_bi W_ij))` (`grl_oja_update_`); `y` `None`
/// means `y = W x`.
pub fn oja_update_(w: &Tensor, x: &Tensor, y: Option<&Tensor>, eta: f64) -> Result<()> {
    check(unsafe { sys::grl_oja_update_(w.as_raw(), x.as_raw(), raw_or_null(y), eta) })
}

/// Sanger's rule (the generalized Hebbian algorithm),
/// `dW_ij = eta * mean_b(y_bi (x_bj - sum_{k <= i} y_bk W_kj))` (`grl_sanger_update_`); `y`
/// `None` means `y = W x`, and row i converges to the i-th principal component.
pub fn sanger_update_(w: &Tensor, x: &Tensor, y: Option<&Tensor>, eta: f64) -> Result<()> {
    check(unsafe { sys::grl_sanger_update_(w.as_raw(), x.as_raw(), raw_or_null(y), eta) })
}

/// How a spike changes its traces (`grl_stdp_trace_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdpTraceMode {
    /// `GRL_STDP_ALL_TO_ALL`: a spike adds 1, so every earlier spike pairs with it.
    AllToAll,
    /// `GRL_STDP_NEAREST`: a spike sets its traces to 1, so only the nearest earlier one counts.
    Nearest,
}

/// How STDP bounds the weights (`grl_stdp_bound`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdpBound {
    /// `GRL_STDP_BOUND_NONE`: `W += dW`.
    None,
    /// `GRL_STDP_BOUND_HARD`: `W = clamp(W + dW, w_min, w_max)`.
    Hard,
    /// `GRL_STDP_BOUND_SOFT`: LTP scaled by `w_max - W`, LTD by `W - w_min`.
    Soft,
}

/// STDP parameters (`grl_stdp_options`), times in ms. `Default` is `GRL_STDP_OPTIONS_INIT`:
/// Song, Miller & Abbott (2000) pair STDP with hard bounds [0, 1], batch mean, triplet off with
/// Pfister & Gerstner's (2006) visual-cortex values for the triplet terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StdpOptions {
    /// Time step (1).
    pub dt: f64,
    /// Presynaptic trace time constant (20).
    pub tau_plus: f64,
    /// Postsynaptic trace time constant (20).
    pub tau_minus: f64,
    /// LTP amplitude, A2+ of the triplet rule (0.01).
    pub a_plus: f64,
    /// LTD amplitude, A2- of the triplet rule, a positive number (0.0105).
    pub a_minus: f64,
    /// How spikes update the traces (`AllToAll`).
    pub trace_mode: StdpTraceMode,
    /// The weight bounds (`Hard`).
    pub bound: StdpBound,
    /// Lower weight bound (0).
    pub w_min: f64,
    /// Upper weight bound (1).
    pub w_max: f64,
    /// `Reduction::Mean` or `Reduction::Sum` over the batch (`Mean`).
    pub batch_reduction: Reduction,
    /// Add the Pfister-Gerstner triplet terms; needs the slow traces (false).
    pub triplet: bool,
    /// Slow presynaptic trace time constant (101).
    pub tau_x: f64,
    /// Slow postsynaptic trace time constant (125).
    pub tau_y: f64,
    /// Triplet LTP amplitude, post-pre-post (6.2e-3).
    pub a3_plus: f64,
    /// Triplet LTD amplitude, pre-post-pre (2.3e-4).
    pub a3_minus: f64,
}

impl Default for StdpOptions {
    fn default() -> StdpOptions {
        StdpOptions {
            dt: 1.0,
            tau_plus: 20.0,
            tau_minus: 20.0,
            a_plus: 0.01,
            a_minus: 0.0105,
            trace_mode: StdpTraceMode::AllToAll,
            bound: StdpBound::Hard,
            w_min: 0.0,
            w_max: 1.0,
            batch_reduction: Reduction::Mean,
            triplet: false,
            tau_x: 101.0,
            tau_y: 125.0,
            a3_plus: 6.2e-3,
            a3_minus: 2.3e-4,
        }
    }
}

impl StdpOptions {
    /// The C struct.
    pub fn raw(&self) -> sys::grl_stdp_options {
        sys::grl_stdp_options {
            version: sys::GRL_STDP_OPTIONS_VERSION,
            dt: self.dt,
            tau_plus: self.tau_plus,
            tau_minus: self.tau_minus,
            a_plus: self.a_plus,
            a_minus: self.a_minus,
            trace_mode: match self.trace_mode {
                StdpTraceMode::AllToAll => sys::GRL_STDP_ALL_TO_ALL,
                StdpTraceMode::Nearest => sys::GRL_STDP_NEAREST,
            },
            bound: match self.bound {
                StdpBound::None => sys::GRL_STDP_BOUND_NONE,
                StdpBound::Hard => sys::GRL_STDP_BOUND_HARD,
                StdpBound::Soft => sys::GRL_STDP_BOUND_SOFT,
            },
            w_min: self.w_min,
            w_max: self.w_max,
            batch_reduction: match self.batch_reduction {
                Reduction::None => sys::GRL_REDUCTION_NONE,
                Reduction::Mean => sys::GRL_REDUCTION_MEAN,
                Reduction::Sum => sys::GRL_REDUCTION_SUM,
            },
            triplet: self.triplet as u32,
            tau_x: self.tau_x,
            tau_y: self.tau_y,
            a3_plus: self.a3_plus,
            a3_minus: self.a3_minus,
        }
    }
}

/// The f32 trace state of [`stdp_step_`], one state per batch row: `pre` and `post` (x1, y1) of
/// the pre- and postsynaptic spike shapes, and the slow traces (x2, y2) the triplet rule needs.
#[derive(Debug, Clone)]
pub struct StdpTraces {
    /// Presynaptic trace x1, of the presynaptic spikes' shape.
    pub pre: Tensor,
    /// Postsynaptic trace y1, of the postsynaptic spikes' shape.
    pub post: Tensor,
    /// Slow presynaptic trace x2 (triplet rule only).
    pub pre_slow: Option<Tensor>,
    /// Slow postsynaptic trace y2 (triplet rule only).
    pub post_slow: Option<Tensor>,
}

impl StdpTraces {
    /// Zero traces for spikes of shapes `pre_shape` (`[n_pre]` or `[B, n_pre]`) and `post_shape`,
    /// with the slow traces when `triplet` (`grl_tensor_zeros`).
    pub fn zeros(dev: &Device, pre_shape: &[i64], post_shape: &[i64], triplet: bool) -> Result<StdpTraces> {
        let z = |s: &[i64]| Tensor::zeros(dev, s, DType::F32);
        Ok(StdpTraces {
            pre: z(pre_shape)?,
            post: z(post_shape)?,
            pre_slow: if triplet { Some(z(pre_shape)?) } else { None },
            post_slow: if triplet { Some(z(post_shape)?) } else { None },
        })
    }
}

/// One time step of trace STDP (`grl_stdp_step_`): decay the traces, update `w` from them (a pre
/// spike k steps before a post spike adds `a_plus exp(-k dt / tau_plus)`, the reverse order
/// subtracts `a_minus exp(-k dt / tau_minus)`), then add this step's spikes to the traces, which
/// are updated in place. Spikes are nonzero where a neuron fired, in w's dtype.
pub fn stdp_step_(w: &Tensor, pre_spikes: &Tensor, post_spikes: &Tensor, traces: &StdpTraces, opts: &StdpOptions) -> Result<()> {
    let o = opts.raw();
    check(unsafe {
        sys::grl_stdp_step_(
            w.as_raw(),
            pre_spikes.as_raw(),
            post_spikes.as_raw(),
            traces.pre.as_raw(),
            traces.post.as_raw(),
            raw_or_null(traces.pre_slow.as_ref()),
            raw_or_null(traces.post_slow.as_ref()),
            &o,
        )
    })
}
