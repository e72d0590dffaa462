//! Continual and online learning (`@section online` of grilly.h, docs/neuro.md): diagonal Fisher
//! information, EWC, natural gradient, NLMS and NLMS ensembles, whitening and ZCA.
//!
//! Functions ending in `_` update contiguous tensors in place. Nothing here waits for the device,
//! so these calls may be captured in a graph and replayed.
use crate::error::{check, Result};
use crate::ffi::{out1, out2, raw_or_null};
use crate::{sys, Tensor};

/// How [`fisher_info_update_`] folds in `g^2` (`grl_fisher_mode`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FisherMode {
    /// `GRL_FISHER_EMA`: `F = decay F + (1 - decay) g^2`, decay in [0, 1] (typical 0.95).
    Ema {
        /// The EMA decay.
        decay: f64,
    },
    /// `GRL_FISHER_ACCUMULATE`: `F += scale g^2`, scale >= 0 (1 / batches: the empirical mean).
    Accumulate {
        /// The weight of this gradient.
        scale: f64,
    },
}

/// Updates a diagonal Fisher estimate in place from a gradient of its shape and dtype
/// (`grl_fisher_info_update_`).
pub fn fisher_info_update_(fisher: &Tensor, grad: &Tensor, mode: FisherMode) -> Result<()> {
    let (m, decay, scale) = match mode {
        FisherMode::Ema { decay } => (sys::GRL_FISHER_EMA, decay, 0.0),
        FisherMode::Accumulate { scale } => (sys::GRL_FISHER_ACCUMULATE, 0.0, scale),
    };
    check(unsafe { sys::grl_fisher_info_update_(fisher.as_raw(), grad.as_raw(), m, decay, scale) })
}

/// Elastic weight consolidation, `0.5 lambda sum_i F_i (theta_i - theta_star_i)^2` as a 0-d
/// tensor (`grl_ewc_penalty`). Deterministic; differentiable in all three inputs.
pub fn ewc_penalty(theta: &Tensor, theta_star: &Tensor, fisher: &Tensor, lambda: f64) -> Result<Tensor> {
    out1(|out| unsafe { sys::grl_ewc_penalty(theta.as_raw(), theta_star.as_raw(), fisher.as_raw(), lambda, out) })
}

/// Diagonal natural-gradient step in place, `theta -= lr g / (F + eps)`
/// (`grl_natural_gradient_step_`); eps > 0 (typical 1e-8).
pub fn natural_gradient_step_(theta: &Tensor, grad: &Tensor, fisher: &Tensor, lr: f64, eps: f64) -> Result<()> {
    check(unsafe { sys::grl_natural_gradient_step_(theta.as_raw(), grad.as_raw(), fisher.as_raw(), lr, eps) })
}

/// NLMS options (`grl_nlms_options`); `Default` is `GRL_NLMS_OPTIONS_INIT`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NlmsOptions {
    /// Regulariser of `||x||^2`, > 0 (1e-6).
    pub eps: f64,
    /// `mu = max(mu * mu_decay, mu_min)` after every sample, in (0, 1] (1).
    pub mu_decay: f64,
    /// Floor of mu, >= 0 (0).
    pub mu_min: f64,
    /// Update the bias too, when one is given (true).
    pub update_bias: bool,
    /// Ensembles: `msq = r msq + (1 - r) e^2` per sample, r in [0, 1) (0.9).
    pub rmse_decay: f64,
}

impl Default for NlmsOptions {
    fn default() -> NlmsOptions {
        NlmsOptions { eps: 1e-6, mu_decay: 1.0, mu_min: 0.0, update_bias: true, rmse_decay: 0.9 }
    }
}

impl NlmsOptions {
    /// The C struct.
    pub fn raw(&self) -> sys::grl_nlms_options {
        sys::grl_nlms_options {
            version: sys::GRL_NLMS_OPTIONS_VERSION,
            eps: self.eps,
            mu_decay: self.mu_decay,
            mu_min: self.mu_min,
            update_bias: self.update_bias as u32,
            rmse_decay: self.rmse_decay,
        }
    }
}

/// `y = w . x + b` for every row of `x [B, D]` (or one sample `[D]`, giving a 0-d result), f32
/// (`grl_nlms_predict`). `b` is `None` or one element.
pub fn nlms_predict(x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Result<Tensor> {
    out1(|out| unsafe { sys::grl_nlms_predict(x.as_raw(), w.as_raw(), raw_or_null(b), out) })
}

/// Sequential NLMS over the samples of a batch, in order (`grl_nlms_update_`): per sample
/// `e = target - (w . x + b)`, `w += mu e x / (||x||^2 + eps)`, `b += mu e`, then mu decays.
/// `w [D]`, `b` (one element, optional) and `mu` (one element) are f32 state updated in place.
/// Returns the a-priori errors, `[B]` (0-d for one sample).
pub fn nlms_update_(w: &Tensor, b: Option<&Tensor>, mu: &Tensor, x: &Tensor, target: &Tensor, opts: &NlmsOptions) -> Result<Tensor> {
    let o = opts.raw();
    out1(|out| unsafe { sys::grl_nlms_update_(w.as_raw(), raw_or_null(b), mu.as_raw(), x.as_raw(), target.as_raw(), &o, out) })
}

/// Gated mixture of E NLMS experts, `y = sum_e g_e (w_e . x + b_e)` with
/// `g = softmax(-sqrt(msq) / temperature)` (`grl_nlms_ensemble_predict`). `w [E, D]`, `b [E]`
/// (optional), `msq [E]`, f32.
pub fn nlms_ensemble_predict(x: &Tensor, w: &Tensor, b: Option<&Tensor>, msq: &Tensor, temperature: f64) -> Result<Tensor> {
    out1(|out| unsafe { sys::grl_nlms_ensemble_predict(x.as_raw(), w.as_raw(), raw_or_null(b), msq.as_raw(), temperature, out) })
}

/// Updates every expert with its own error and mu, sample by sample, and its running squared
/// error `msq` (`grl_nlms_ensemble_update_`). Returns the a-priori errors `[B, E]` (`[E]` for one
/// sample).
pub fn nlms_ensemble_update_(
    w: &Tensor,
    b: Option<&Tensor>,
    mu: &Tensor,
    msq: &Tensor,
    x: &Tensor,
    target: &Tensor,
    opts: &NlmsOptions,
) -> Result<Tensor> {
    let o = opts.raw();
    out1(|out| unsafe {
        sys::grl_nlms_ensemble_update_(w.as_raw(), raw_or_null(b), mu.as_raw(), msq.as_raw(), x.as_raw(), target.as_raw(), &o, out)
    })
}

/// Per-feature standardisation of `x [N, D]` with the batch's mean and population variance,
/// `(x - mean) / sqrt(var + eps)` (`grl_whiten_batch`). `running` holds f32 `[D]` running mean and
/// variance updated in place as BatchNorm does (momentum 0.1 typical; needs N >= 2).
pub fn whiten_batch(x: &Tensor, running: Option<(&Tensor, &Tensor)>, momentum: f64, eps: f64) -> Result<Tensor> {
    let (rm, rv) = running.map_or((None, None), |(m, v)| (Some(m), Some(v)));
    out1(|out| unsafe { sys::grl_whiten_batch(x.as_raw(), raw_or_null(rm), raw_or_null(rv), momentum, eps, out) })
}

/// `(x - mean) / sqrt(var + eps)` with given f32 `[D]` statistics (`grl_whiten_apply`).
pub fn whiten_apply(x: &Tensor, mean: &Tensor, var: &Tensor, eps: f64) -> Result<Tensor> {
    out1(|out| unsafe { sys::grl_whiten_apply(x.as_raw(), mean.as_raw(), var.as_raw(), eps, out) })
}

/// The ZCA matrix `(C + eps I)^(-1/2)` of a symmetric PSD covariance `C [D, D]` (f32), by the
/// coupled Newton-Schulz iteration on the device (`grl_zca_from_covariance`; eps 1e-5 and 30
/// iterations are typical).
pub fn zca_from_covariance(cov: &Tensor, eps: f64, iterations: i32) -> Result<Tensor> {
    out1(|out| unsafe { sys::grl_zca_from_covariance(cov.as_raw(), eps, iterations, out) })
}

/// Fits ZCA whitening to `x [N, D]` (f32): returns the column means `[D]` and the whitening
/// matrix `[D, D]` of the population covariance (`grl_zca_fit`).
pub fn zca_fit(x: &Tensor, eps: f64, iterations: i32) -> Result<(Tensor, Tensor)> {
    out2(|mean, w| unsafe { sys::grl_zca_fit(x.as_raw(), eps, iterations, mean, w) })
}

/// `(x - mean) W` (`grl_zca_apply`); differentiable.
pub fn zca_apply(x: &Tensor, mean: &Tensor, whitening: &Tensor) -> Result<Tensor> {
    out1(|out| unsafe { sys::grl_zca_apply(x.as_raw(), mean.as_raw(), whitening.as_raw(), out) })
}
