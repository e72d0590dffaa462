use crate::error::{check, Result};
use crate::sys;
use crate::Tensor;
use std::ptr::{null_mut, NonNull};

/// The optimizer algorithm (`grl_optimizer_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptimizerKind {
    /// `GRL_OPTIM_SGD`
    Sgd,
    /// `GRL_OPTIM_ADAM`
    Adam,
    /// `GRL_OPTIM_ADAMW`
    AdamW,
    /// `GRL_OPTIM_RMSPROP`
    RmsProp,
    /// `GRL_OPTIM_ADAGRAD`
    Adagrad,
    /// `GRL_OPTIM_NLMS`
    Nlms,
    /// `GRL_OPTIM_NATURAL_GRADIENT`
    NaturalGradient,
}

impl OptimizerKind {
    fn raw(self) -> sys::grl_optimizer_kind {
        match self {
            OptimizerKind::Sgd => sys::GRL_OPTIM_SGD,
            OptimizerKind::Adam => sys::GRL_OPTIM_ADAM,
            OptimizerKind::AdamW => sys::GRL_OPTIM_ADAMW,
            OptimizerKind::RmsProp => sys::GRL_OPTIM_RMSPROP,
            OptimizerKind::Adagrad => sys::GRL_OPTIM_ADAGRAD,
            OptimizerKind::Nlms => sys::GRL_OPTIM_NLMS,
            OptimizerKind::NaturalGradient => sys::GRL_OPTIM_NATURAL_GRADIENT,
        }
    }
}

/// Optimizer options (`grl_optimizer_options`), starting from PyTorch's defaults for the kind
/// (`GRL_OPTIMIZER_OPTIONS_INIT`). Every field of the C struct is public through [`Self::raw`].
#[derive(Debug, Clone, Copy)]
pub struct OptimizerOptions {
    /// The C struct passed to `grl_optimizer_create`.
    pub raw: sys::grl_optimizer_options,
}

impl OptimizerOptions {
    /// The defaults of `kind` (`GRL_OPTIMIZER_OPTIONS_INIT(kind)`).
    pub fn new(kind: OptimizerKind) -> OptimizerOptions {
        OptimizerOptions {
            raw: sys::grl_optimizer_options {
                version: sys::GRL_OPTIMIZER_OPTIONS_VERSION,
                kind: kind.raw(),
                lr: -1.0,
                momentum: 0.0,
                dampening: 0.0,
                nesterov: 0,
                weight_decay: -1.0,
                beta1: 0.9,
                beta2: 0.999,
                eps: -1.0,
                amsgrad: 0,
                alpha: 0.99,
                centered: 0,
                lr_decay: 0.0,
                initial_accumulator_value: 0.0,
                mu_decay: 1.0,
                mu_min: 0.0,
                fisher_decay: 0.95,
            },
        }
    }
    /// Adam with learning rate `lr` (other fields PyTorch's defaults).
    pub fn adam(lr: f64) -> OptimizerOptions {
        OptimizerOptions::new(OptimizerKind::Adam).lr(lr)
    }
    /// AdamW with learning rate `lr`.
    pub fn adamw(lr: f64) -> OptimizerOptions {
        OptimizerOptions::new(OptimizerKind::AdamW).lr(lr)
    }
    /// SGD with learning rate `lr` (no momentum).
    pub fn sgd(lr: f64) -> OptimizerOptions {
        OptimizerOptions::new(OptimizerKind::Sgd).lr(lr)
    }
    /// Sets the learning rate.
    pub fn lr(mut self, lr: f64) -> Self {
        self.raw.lr = lr;
        self
    }
    /// Sets momentum (SGD, RMSprop).
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.raw.momentum = momentum;
        self
    }
    /// Sets Nesterov momentum (SGD).
    pub fn nesterov(mut self, on: bool) -> Self {
        self.raw.nesterov = on as u32;
        self
    }
    /// Sets weight decay.
    pub fn weight_decay(mut self, wd: f64) -> Self {
        self.raw.weight_decay = wd;
        self
    }
    /// Sets Adam's betas.
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.raw.beta1 = beta1;
        self.raw.beta2 = beta2;
        self
    }
    /// Sets eps.
    pub fn eps(mut self, eps: f64) -> Self {
        self.raw.eps = eps;
        self
    }
    /// Sets AMSGrad (Adam, AdamW).
    pub fn amsgrad(mut self, on: bool) -> Self {
        self.raw.amsgrad = on as u32;
        self
    }
}

/// An optimizer over a set of parameters (`grl_optimizer`).
///
/// `Send + Sync`: its calls lock its device (grilly.h).
#[derive(Debug)]
pub struct Optimizer {
    raw: NonNull<sys::grl_optimizer_s>,
}

// SAFETY: grilly.h: "an optimizer's calls lock its device, so it may be used from several threads".
unsafe impl Send for Optimizer {}
unsafe impl Sync for Optimizer {}

impl Clone for Optimizer {
    /// Another reference to the same optimizer (`grl_optimizer_retain`).
    fn clone(&self) -> Optimizer {
        unsafe { sys::grl_optimizer_retain(self.raw.as_ptr()) };
        Optimizer { raw: self.raw }
    }
}

impl Drop for Optimizer {
    /// `grl_optimizer_release`.
    fn drop(&mut self) {
        unsafe { sys::grl_optimizer_release(self.raw.as_ptr()) }
    }
}

impl Optimizer {
    /// Creates an optimizer over floating, contiguous leaves of one device
    /// (`grl_optimizer_create`).
    pub fn new(params: &[&Tensor], opts: &OptimizerOptions) -> Result<Optimizer> {
        let raw: Vec<_> = params.iter().map(|t| t.as_raw()).collect();
        let mut out = null_mut();
        check(unsafe { sys::grl_optimizer_create(raw.as_ptr(), raw.len() as i32, &opts.raw, &mut out) })?;
        Ok(Optimizer { raw: NonNull::new(out).expect("grl_optimizer_create gave NULL") })
    }
    /// The raw handle (still owned by `self`).
    pub fn as_raw(&self) -> sys::grl_optimizer {
        self.raw.as_ptr()
    }
    /// Records one step (`grl_optimizer_step`; may be captured in a graph).
    pub fn step(&self) -> Result<()> {
        check(unsafe { sys::grl_optimizer_step(self.as_raw()) })
    }
    /// Clears the gradients of all its parameters (`grl_optimizer_zero_grad`).
    pub fn zero_grad(&self) -> Result<()> {
        check(unsafe { sys::grl_optimizer_zero_grad(self.as_raw()) })
    }
    /// Sets the learning rate for the next step or replay (`grl_optimizer_set_lr`).
    pub fn set_lr(&self, lr: f64) -> Result<()> {
        check(unsafe { sys::grl_optimizer_set_lr(self.as_raw(), lr) })
    }
    /// The learning rate last set (`grl_optimizer_get_lr`).
    pub fn lr(&self) -> Result<f64> {
        let mut v = 0.0;
        check(unsafe { sys::grl_optimizer_get_lr(self.as_raw(), &mut v) })?;
        Ok(v)
    }
    /// Steps taken so far, replays included; waits for the device (`grl_optimizer_step_count`).
    pub fn step_count(&self) -> Result<i64> {
        let mut v = 0;
        check(unsafe { sys::grl_optimizer_step_count(self.as_raw(), &mut v) })?;
        Ok(v)
    }
    /// Scalar state: [step count, lr, NLMS mu] (`grl_optimizer_get_scalars`; waits).
    pub fn scalars(&self) -> Result<[f64; 3]> {
        let mut v = [0.0; 3];
        check(unsafe { sys::grl_optimizer_get_scalars(self.as_raw(), v.as_mut_ptr()) })?;
        Ok(v)
    }
    /// Sets the scalar state (`grl_optimizer_set_scalars`).
    pub fn set_scalars(&self, values: [f64; 3]) -> Result<()> {
        check(unsafe { sys::grl_optimizer_set_scalars(self.as_raw(), values.as_ptr()) })
    }
    /// Named state tensors (`grl_optimizer_state_count`, `_state_name`, `_state_tensor`).
    pub fn state(&self) -> Result<Vec<(String, Tensor)>> {
        let mut n = 0;
        check(unsafe { sys::grl_optimizer_state_count(self.as_raw(), &mut n) })?;
        let mut v = Vec::with_capacity(n as usize);
        for i in 0..n {
            let mut name = std::ptr::null();
            check(unsafe { sys::grl_optimizer_state_name(self.as_raw(), i, &mut name) })?;
            let name = unsafe { std::ffi::CStr::from_ptr(name) }.to_string_lossy().into_owned();
            let mut t = null_mut();
            check(unsafe { sys::grl_optimizer_state_tensor(self.as_raw(), i, &mut t) })?;
            v.push((name, unsafe { Tensor::from_raw(t) }));
        }
        Ok(v)
    }
}

/// A learning-rate schedule driving an optimizer (`grl_lr_scheduler`).
///
/// `Send` but not `Sync`: a scheduler must not be stepped from two threads at once (grilly.h).
#[derive(Debug)]
pub struct LrScheduler {
    raw: NonNull<sys::grl_lr_scheduler_s>,
    _opt: Optimizer,
}

// SAFETY: release may run on any thread; concurrent stepping is excluded by !Sync and &mut self.
unsafe impl Send for LrScheduler {}

impl Drop for LrScheduler {
    /// `grl_lr_scheduler_release`.
    fn drop(&mut self) {
        unsafe { sys::grl_lr_scheduler_release(self.raw.as_ptr()) }
    }
}

impl LrScheduler {
    /// Creates a schedule (`grl_lr_scheduler_create`). `opts` is the C struct; start from
    /// [`LrScheduler::options`]. `opts.milestones` must stay valid for this call only.
    pub fn new(opt: &Optimizer, opts: &sys::grl_lr_schedule_options) -> Result<LrScheduler> {
        let mut out = null_mut();
        check(unsafe { sys::grl_lr_scheduler_create(opt.as_raw(), opts, &mut out) })?;
        Ok(LrScheduler { raw: NonNull::new(out).expect("NULL scheduler"), _opt: opt.clone() })
    }
    /// `GRL_LR_SCHEDULE_OPTIONS_INIT(kind)`, kind a `sys::GRL_LR_*` constant.
    pub fn options(kind: sys::grl_lr_schedule_kind) -> sys::grl_lr_schedule_options {
        sys::grl_lr_schedule_options {
            version: sys::GRL_LR_SCHEDULE_OPTIONS_VERSION,
            kind,
            gamma: 0.1,
            step_size: 1,
            milestones: std::ptr::null(),
            n_milestones: 0,
            t_max: 1,
            eta_min: 0.0,
            t_0: 1,
            t_mult: 1,
            warmup_steps: 0,
            start_factor: 1.0 / 3.0,
            pct_start: 0.3,
            div_factor: 25.0,
            final_div_factor: 1e4,
            mode_max: 0,
            patience: 10,
            threshold: 1e-4,
            cooldown: 0,
            min_lr: 0.0,
        }
    }
    /// Advances the schedule and returns the new lr (`grl_lr_scheduler_step`).
    pub fn step(&mut self, metric: f64) -> Result<f64> {
        let mut lr = 0.0;
        check(unsafe { sys::grl_lr_scheduler_step(self.raw.as_ptr(), metric, &mut lr) })?;
        Ok(lr)
    }
}
