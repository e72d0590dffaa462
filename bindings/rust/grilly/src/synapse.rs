//! Synapses (`@section synapse` of grilly.h, docs/neuro.md): exponential synapses, Tsodyks-Markram
//! short-term plasticity, spike encoders and decoders, and the spike-matmul.
use crate::error::{check, Result};
use crate::ffi::{out1, raw_or_null};
use crate::{sys, DType, Tensor};

/// One exponential-synapse step in place: `current = current * exp(-dt / tau_syn) + weight * spikes`
/// (`grl_synapse_exp_step_`). `current` and `spikes` share a shape and a floating dtype; dt and
/// tau_syn > 0 in one time unit. Not recorded by autograd (train with [`synapse_exp`]).
pub fn synapse_exp_step_(current: &Tensor, spikes: &Tensor, dt: f64, tau_syn: f64, weight: f64) -> Result<()> {
    check(unsafe { sys::grl_synapse_exp_step_(current.as_raw(), spikes.as_raw(), dt, tau_syn, weight) })
}

/// The exponential synapse over a spike sequence `spikes [T, ...]` in one pass
/// (`grl_synapse_exp`): `I_t = exp(-dt / tau_syn) I_{t-1} + weight * s_t` from
/// `I_{-1} = current0` (`None`: zeros); returns `[T, ...]` holding `I_0 .. I_{T-1}`.
/// Differentiable in `spikes` and `current0`.
pub fn synapse_exp(spikes: &Tensor, current0: Option<&Tensor>, dt: f64, tau_syn: f64, weight: f64) -> Result<Tensor> {
    out1(|out| unsafe { sys::grl_synapse_exp(spikes.as_raw(), raw_or_null(current0), dt, tau_syn, weight, out) })
}

/// Tsodyks-Markram short-term plasticity parameters (`grl_stp_options`), times in the unit of
/// `dt` (ms). `Default` is `GRL_STP_OPTIONS_INIT`, a depressing synapse.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StpOptions {
    /// Baseline release probability and facilitation increment `U`, in (0, 1] (0.5).
    pub u: f64,
    /// Recovery time constant of the resources x, > 0 (200).
    pub tau_d: f64,
    /// Decay time constant of the facilitation u, > 0 (20).
    pub tau_f: f64,
    /// Step, > 0 (1).
    pub dt: f64,
}

impl Default for StpOptions {
    fn default() -> StpOptions {
        StpOptions { u: 0.5, tau_d: 200.0, tau_f: 20.0, dt: 1.0 }
    }
}

impl StpOptions {
    /// The C struct.
    pub fn raw(&self) -> sys::grl_stp_options {
        sys::grl_stp_options { version: sys::GRL_STP_OPTIONS_VERSION, U: self.u, tau_d: self.tau_d, tau_f: self.tau_f, dt: self.dt }
    }
}

/// One Tsodyks-Markram step in place on the facilitation `u` and the resources `x`
/// (`grl_stp_step_`): both relax over `dt`; where a presynaptic spike arrives,
/// `u += U (1 - u)`, then `r = u x` is released and `x -= r`. Returns `r` (u's shape); `spikes`
/// broadcast to it. Start from `u = U`, `x = 1`.
pub fn stp_step_(u: &Tensor, x: &Tensor, spikes: &Tensor, opts: &StpOptions) -> Result<Tensor> {
    let o = opts.raw();
    out1(|out| unsafe { sys::grl_stp_step_(u.as_raw(), x.as_raw(), spikes.as_raw(), &o, out) })
}

/// [`stp_step_`] over a spike train `spikes [T, ...]` (each step broadcast to the state's shape)
/// in one dispatch (`grl_stp_sequence_`): returns the efficacy of every step, `[T, ...state]`, and
/// leaves `u` and `x` as after T calls of [`stp_step_`].
pub fn stp_sequence_(u: &Tensor, x: &Tensor, spikes: &Tensor, opts: &StpOptions) -> Result<Tensor> {
    let o = opts.raw();
    out1(|out| unsafe { sys::grl_stp_sequence_(u.as_raw(), x.as_raw(), spikes.as_raw(), &o, out) })
}

/// Poisson rate encoding: `rates [...]` to spikes `[steps, ...]` of `dtype`, each 1 with
/// probability `p` per step (`grl_encode_poisson`). `per_step_ms` 0: rates are probabilities per
/// step; > 0: rates in Hz and steps of that many ms. Bit-reproducible from (`seed`, `offset`);
/// advance `offset` by `steps * rates.numel()` for fresh draws.
pub fn encode_poisson(rates: &Tensor, steps: i64, per_step_ms: f64, dtype: DType, seed: u64, offset: u64) -> Result<Tensor> {
    out1(|out| unsafe { sys::grl_encode_poisson(rates.as_raw(), steps, per_step_ms, dtype.raw(), seed, offset, out) })
}

/// When an input fires in [`encode_latency`] (`grl_latency_mode`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LatencyMode {
    /// `GRL_LATENCY_LINEAR`: at step `(T - 1)(1 - x)`; every input fires once.
    Linear,
    /// `GRL_LATENCY_LOG`: at step `tau ln(x / (x - theta))` for `x > theta`, else never;
    /// tau > 0 in steps (e.g. 5), theta in [0, 1) (e.g. 0.01).
    Log {
        /// Time constant in steps.
        tau: f64,
        /// Threshold below which nothing fires.
        theta: f64,
    },
}

/// Time-to-first-spike encoding: `x [...]` (clamped to [0, 1]) to spikes `[steps, ...]` of
/// `dtype` with at most one spike per input, larger inputs earlier (`grl_encode_latency`).
pub fn encode_latency(x: &Tensor, steps: i64, mode: LatencyMode, dtype: DType) -> Result<Tensor> {
    let (m, tau, theta) = match mode {
        LatencyMode::Linear => (sys::GRL_LATENCY_LINEAR, 0.0, 0.0),
        LatencyMode::Log { tau, theta } => (sys::GRL_LATENCY_LOG, tau, theta),
    };
    out1(|out| unsafe { sys::grl_encode_latency(x.as_raw(), steps, m, tau, theta, dtype.raw(), out) })
}

/// Delta (threshold-crossing) encoding of a signal `x [T, ...]` (`grl_encode_delta`): a spike of
/// sign `x_t - r` where `|x_t - r| >= threshold`, then `r = x_t` (r starts at 0). `two_channels`
/// false: signed spikes `[T, ...]`; true: `[T, 2, ...]`, ON events in channel 0 and OFF in 1.
pub fn encode_delta(x: &Tensor, threshold: f64, two_channels: bool, dtype: DType) -> Result<Tensor> {
    out1(|out| unsafe { sys::grl_encode_delta(x.as_raw(), threshold, two_channels as u32, dtype.raw(), out) })
}

/// Rate decoding: the mean of `spikes [T, ...]` over the last `window` steps (0, or >= T: all
/// of them) (`grl_decode_rate`). u8 spikes give f32. Differentiable in floating spikes.
pub fn decode_rate(spikes: &Tensor, window: usize) -> Result<Tensor> {
    let window = i64::try_from(window).unwrap_or(i64::MAX);
    out1(|out| unsafe { sys::grl_decode_rate(spikes.as_raw(), window, out) })
}

/// Weighted temporal decoding `sum_t weights[t] * spikes[t]` over `spikes [T, ...]` with
/// `weights [T]` (`grl_decode_weighted`). Differentiable in floating spikes and in the weights.
pub fn decode_weighted(spikes: &Tensor, weights: &Tensor) -> Result<Tensor> {
    out1(|out| unsafe { sys::grl_decode_weighted(spikes.as_raw(), weights.as_raw(), 1.0, out) })
}

/// Exponentially weighted decoding `sum_t exp(-(T - 1 - t) / tau) spikes[t]` (the last step
/// weighs 1; tau > 0 in steps) (`grl_decode_weighted` with NULL weights).
pub fn decode_exponential(spikes: &Tensor, tau: f64) -> Result<Tensor> {
    out1(|out| unsafe { sys::grl_decode_weighted(spikes.as_raw(), std::ptr::null_mut(), tau, out) })
}

/// `spikes [B, K] @ weight [K, N]`, skipping zero spikes so the cost follows the spike density
/// (`grl_spike_matmul`). Spikes u8 or weight's dtype. Differentiable in weight and floating spikes.
pub fn spike_matmul(spikes: &Tensor, weight: &Tensor) -> Result<Tensor> {
    out1(|out| unsafe { sys::grl_spike_matmul(spikes.as_raw(), weight.as_raw(), out) })
}
