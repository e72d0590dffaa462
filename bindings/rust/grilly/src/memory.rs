//! Memory (`@section memory` of grilly.h, docs/neuro.md): key-value memory reads and writes, set
//! pooling and memory injection, the [`EpisodicMemory`] store, place, grid and time cells,
//! theta-gamma phase coding and sparse expansion.
use crate::error::{check, Result};
use crate::ffi::{out1, out2, raw_or_null};
use crate::{sys, DType, Device, Tensor};
use std::ptr::{null_mut, NonNull};

/// The tuning widths of [`place_cells`].
#[derive(Debug, Clone, Copy)]
pub enum CellWidths<'a> {
    /// One sigma (> 0) for every cell.
    Scalar(f64),
    /// Per-cell sigmas `[N]` of the positions' dtype.
    PerCell(&'a Tensor),
}

/// Place cells, `rate[b, n] = baseline + max_rate exp(-||x_b - c_n||^2 / (2 sigma_n^2))` for
/// `positions [B, D]` and `centers [N, D]` (1 <= D <= 8), in Hz (`grl_place_cells`).
/// Differentiable w.r.t. positions, centers and per-cell sigmas.
pub fn place_cells(positions: &Tensor, centers: &Tensor, widths: CellWidths, max_rate: f64, baseline: f64) -> Result<Tensor> {
    let (sigmas, sigma) = match widths {
        CellWidths::Scalar(s) => (null_mut(), s),
        CellWidths::PerCell(t) => (t.as_raw(), 1.0),
    };
    out1(|out| unsafe { sys::grl_place_cells(positions.as_raw(), centers.as_raw(), sigmas, sigma, max_rate, baseline, out) })
}

/// Grid cells (Solstad et al. 2006) for `positions [B, 2]` and per-cell `spacing [N]`,
/// `orientation [N]` (radians) and `phase [N, 2]`; peak rate `max_rate` (`grl_grid_cells`).
/// Differentiable w.r.t. positions only.
pub fn grid_cells(positions: &Tensor, spacing: &Tensor, orientation: &Tensor, phase: &Tensor, max_rate: f64) -> Result<Tensor> {
    out1(|out| unsafe { sys::grl_grid_cells(positions.as_raw(), spacing.as_raw(), orientation.as_raw(), phase.as_raw(), max_rate, out) })
}

/// Time cells, `rate[..., i] = max_rate exp(-(t - t_i)^2 / (2 sigma_i^2))` for times `t [...]`
/// and `preferred`, `sigmas` `[N]`: `[..., N]` (`grl_time_cells`). Differentiable.
pub fn time_cells(t: &Tensor, preferred: &Tensor, sigmas: &Tensor, max_rate: f64) -> Result<Tensor> {
    out1(|out| unsafe { sys::grl_time_cells(t.as_raw(), preferred.as_raw(), sigmas.as_raw(), max_rate, out) })
}

/// The tuning of `n` time cells: preferred times from `t_min` to `t_max`, linear or (`log_spaced`)
/// geometric, and widths `weber * t_i` (`grl_time_cells_tuning`). Returns `(preferred, sigmas)`,
/// `[n]` each.
pub fn time_cells_tuning(dev: &Device, n: i64, t_min: f64, t_max: f64, log_spaced: bool, weber: f64, dtype: DType) -> Result<(Tensor, Tensor)> {
    out2(|p, s| unsafe { sys::grl_time_cells_tuning(dev.as_raw(), n, t_min, t_max, log_spaced as u32, weber, dtype.raw(), p, s) })
}

/// Theta-gamma phase code of `progress [..., n]` (n items in one theta cycle): the phases
/// `mod(2 pi i / n - precession progress_i, 2 pi)` and spike times `theta_period phase / 2 pi`,
/// each of progress's shape (`grl_theta_gamma_code`).
pub fn theta_gamma_code(progress: &Tensor, theta_period: f64, precession: f64) -> Result<(Tensor, Tensor)> {
    out2(|p, t| unsafe { sys::grl_theta_gamma_code(progress.as_raw(), theta_period, precession, p, t) })
}

/// Soft attention over memory slots, `softmax(q k^T / tau) V` (`grl_kv_memory_read`).
/// `keys [M, d]`, `values [M, dv]` shared by `q [..., d]`, or batched `[B, M, *]` with
/// `q [B, Q, d]`. `tau` `None` means sqrt(d). Differentiable w.r.t. q, keys and values.
pub fn kv_memory_read(q: &Tensor, keys: &Tensor, values: &Tensor, tau: Option<f64>) -> Result<Tensor> {
    out1(|out| unsafe { sys::grl_kv_memory_read(q.as_raw(), keys.as_raw(), values.as_raw(), tau.unwrap_or(0.0), out) })
}

/// Writes `rows [K, D]` into `memory [M, D]` in place at `indices [K]` (i32 or i64):
/// `memory[i] = (1 - alpha) memory[i] + alpha row` (`grl_kv_memory_write_`). An index out of range
/// is reported at the next synchronize (`ErrorKind::Index`). Not recorded by autograd.
pub fn kv_memory_write_(memory: &Tensor, indices: &Tensor, rows: &Tensor, alpha: f64) -> Result<()> {
    check(unsafe { sys::grl_kv_memory_write_(memory.as_raw(), indices.as_raw(), rows.as_raw(), alpha) })
}

/// How [`memory_pool`] pools a set (`grl_memory_pool_mode`).
#[derive(Debug, Clone, Copy)]
pub enum MemoryPool<'a> {
    /// `GRL_MEMORY_POOL_MEAN`: the mean over the set.
    Mean,
    /// `GRL_MEMORY_POOL_MAX`: the elementwise max over the set.
    Max,
    /// `GRL_MEMORY_POOL_ATTENTION`: `sum_i softmax_i(x_i . w / tau) x_i` with a learned `w [d]`.
    Attention {
        /// The query vector `[d]`, x's dtype.
        w: &'a Tensor,
        /// The temperature; `None` means sqrt(d).
        tau: Option<f64>,
    },
}

/// Pools a set `x [B, n, d]` to `[B, d]` (`grl_memory_pool`). Differentiable.
pub fn memory_pool(x: &Tensor, mode: MemoryPool) -> Result<Tensor> {
    let (m, w, tau) = match mode {
        MemoryPool::Mean => (sys::GRL_MEMORY_POOL_MEAN, null_mut(), 0.0),
        MemoryPool::Max => (sys::GRL_MEMORY_POOL_MAX, null_mut(), 0.0),
        MemoryPool::Attention { w, tau } => (sys::GRL_MEMORY_POOL_ATTENTION, w.as_raw(), tau.unwrap_or(0.0)),
    };
    out1(|out| unsafe { sys::grl_memory_pool(x.as_raw(), m, w, tau, out) })
}

/// How [`memory_inject`] combines hidden states h and a memory readout m
/// (`grl_memory_inject_mode`).
#[derive(Debug, Clone, Copy)]
pub enum MemoryInject<'a> {
    /// `GRL_MEMORY_INJECT_CONCAT`: `[h, m]` along the last axis.
    Concat,
    /// `GRL_MEMORY_INJECT_GATED`: `h + sigmoid(g) m`, g broadcast to h's shape.
    Gated(&'a Tensor),
    /// `GRL_MEMORY_INJECT_MIX`: `g m + (1 - g) h`, g used as given.
    Mix(&'a Tensor),
    /// `GRL_MEMORY_INJECT_RESIDUAL`: `h + m`.
    Residual,
}

/// Injects a memory readout `m` into hidden states `h` (`grl_memory_inject`). Differentiable
/// w.r.t. h, m and the gate.
pub fn memory_inject(h: &Tensor, m: &Tensor, mode: MemoryInject) -> Result<Tensor> {
    let (mode, gate) = match mode {
        MemoryInject::Concat => (sys::GRL_MEMORY_INJECT_CONCAT, None),
        MemoryInject::Gated(g) => (sys::GRL_MEMORY_INJECT_GATED, Some(g)),
        MemoryInject::Mix(g) => (sys::GRL_MEMORY_INJECT_MIX, Some(g)),
        MemoryInject::Residual => (sys::GRL_MEMORY_INJECT_RESIDUAL, None),
    };
    out1(|out| unsafe { sys::grl_memory_inject(h.as_raw(), m.as_raw(), mode, raw_or_null(gate), out) })
}

/// A k-winners-take-all expansion: `z = x W^T + b`, the k largest of each row kept, the rest
/// zeroed, the row L2-normalised; 1 <= k <= min(H, 32) (`grl_sparse_expansion`). Differentiable
/// with the selection held fixed.
pub fn sparse_expansion(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>, k: i32) -> Result<Tensor> {
    out1(|out| unsafe { sys::grl_sparse_expansion(x.as_raw(), weight.as_raw(), raw_or_null(bias), k, out) })
}

/// Which slot a full [`EpisodicMemory`] overwrites (`grl_episodic_eviction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eviction {
    /// `GRL_EPISODIC_EVICT_OLDEST`: the slot written longest ago (FIFO).
    Oldest,
    /// `GRL_EPISODIC_EVICT_LEAST_USED`: the lowest usage count; ties: the oldest.
    LeastUsed,
}

/// What [`EpisodicMemory::read`] returns, best match first.
#[derive(Debug, Clone)]
pub struct EpisodicRead {
    /// The stored values `[Q, k, value_dim]` (f32).
    pub values: Tensor,
    /// The cosine similarities `[Q, k]` (f32).
    pub scores: Tensor,
    /// The slots `[Q, k]` (i64).
    pub slots: Tensor,
}

/// A store of `capacity` (key, value) pairs in f32 on the device, with a usage count per slot
/// (`grl_episodic_memory`).
///
/// `Clone` adds a reference to the same store (`grl_episodic_memory_retain`). `Send + Sync`:
/// grilly.h says every call locks the memory's device, so a store may be used from several
/// threads (the calls are serialised).
#[derive(Debug)]
pub struct EpisodicMemory {
    raw: NonNull<sys::grl_episodic_memory_s>,
}

// SAFETY: grilly.h: every call locks the memory's device; retain and release may run on any thread.
unsafe impl Send for EpisodicMemory {}
unsafe impl Sync for EpisodicMemory {}

impl Clone for EpisodicMemory {
    /// Another reference to the same store (`grl_episodic_memory_retain`).
    fn clone(&self) -> EpisodicMemory {
        unsafe { sys::grl_episodic_memory_retain(self.as_raw()) };
        EpisodicMemory { raw: self.raw }
    }
}

impl Drop for EpisodicMemory {
    /// `grl_episodic_memory_release`.
    fn drop(&mut self) {
        unsafe { sys::grl_episodic_memory_release(self.as_raw()) }
    }
}

impl EpisodicMemory {
    /// An empty store (`grl_episodic_memory_create`); capacity (<= 2^24), key_dim and value_dim
    /// >= 1.
    pub fn new(dev: &Device, capacity: i64, key_dim: i64, value_dim: i64, eviction: Eviction) -> Result<EpisodicMemory> {
        let ev = match eviction {
            Eviction::Oldest => sys::GRL_EPISODIC_EVICT_OLDEST,
            Eviction::LeastUsed => sys::GRL_EPISODIC_EVICT_LEAST_USED,
        };
        let mut out = null_mut();
        check(unsafe { sys::grl_episodic_memory_create(dev.as_raw(), capacity, key_dim, value_dim, ev, &mut out) })?;
        Ok(unsafe { EpisodicMemory::from_raw(out) })
    }

    /// Wraps a raw handle, taking over one reference.
    ///
    /// # Safety
    /// `raw` must be a live, non-NULL `grl_episodic_memory` whose reference the caller gives up.
    pub unsafe fn from_raw(raw: sys::grl_episodic_memory) -> EpisodicMemory {
        EpisodicMemory { raw: NonNull::new(raw).expect("grl_episodic_memory is NULL") }
    }

    /// The raw handle (still owned by `self`).
    pub fn as_raw(&self) -> sys::grl_episodic_memory {
        self.raw.as_ptr()
    }

    /// Appends `keys [K, key_dim]` and `values [K, value_dim]` (f32): free slots first, then each
    /// item evicts one slot by the policy (`grl_episodic_memory_write`).
    pub fn write(&self, keys: &Tensor, values: &Tensor) -> Result<()> {
        check(unsafe { sys::grl_episodic_memory_write(self.as_raw(), keys.as_raw(), values.as_raw()) })
    }

    /// The `k` (1 <= k <= min(32, size)) stored items most similar by cosine to each query of
    /// `queries [Q, key_dim]`; each returned slot's usage count grows by one
    /// (`grl_episodic_memory_read`).
    pub fn read(&self, queries: &Tensor, k: i32) -> Result<EpisodicRead> {
        let (mut v, mut s, mut i): (sys::grl_tensor, sys::grl_tensor, sys::grl_tensor) = (null_mut(), null_mut(), null_mut());
        check(unsafe { sys::grl_episodic_memory_read(self.as_raw(), queries.as_raw(), k, &mut v, &mut s, &mut i) })?;
        // SAFETY: on success the three slots hold new references.
        unsafe { Ok(EpisodicRead { values: Tensor::from_raw(v), scores: Tensor::from_raw(s), slots: Tensor::from_raw(i) }) }
    }

    /// Empties the store; capacity kept (`grl_episodic_memory_clear`).
    pub fn clear(&self) -> Result<()> {
        check(unsafe { sys::grl_episodic_memory_clear(self.as_raw()) })
    }

    /// The number of stored items (`grl_episodic_memory_size`; no wait).
    pub fn size(&self) -> Result<i64> {
        let mut n = 0;
        check(unsafe { sys::grl_episodic_memory_size(self.as_raw(), &mut n) })?;
        Ok(n)
    }

    /// A copy of the usage counts `[capacity]` (i32) (`grl_episodic_memory_usage`).
    pub fn usage(&self) -> Result<Tensor> {
        out1(|out| unsafe { sys::grl_episodic_memory_usage(self.as_raw(), out) })
    }
}
