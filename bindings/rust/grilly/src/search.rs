//! Vector search (`@section search` of grilly.h, docs/neuro.md): pairwise distances, top-k, and
//! the exhaustive [`IndexFlat`] (FAISS's IndexFlat).
use crate::error::{check, Error, ErrorKind, Result};
use crate::ffi::{out1, out2};
use crate::{sys, Device, Tensor};
use std::ptr::{null_mut, NonNull};

/// Distance or similarity of two rows (`grl_metric`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// `GRL_METRIC_L2SQR`: `|q - b|^2` (FAISS's METRIC_L2); smaller is nearer.
    L2Sqr,
    /// `GRL_METRIC_L2`: `|q - b|`; smaller is nearer.
    L2,
    /// `GRL_METRIC_INNER_PRODUCT`: `q . b`; larger is nearer.
    InnerProduct,
    /// `GRL_METRIC_COSINE`: `q . b / (max(|q|, 1e-8) max(|b|, 1e-8))`; larger is nearer.
    Cosine,
}

impl Metric {
    /// The C value.
    pub fn raw(self) -> sys::grl_metric {
        match self {
            Metric::L2Sqr => sys::GRL_METRIC_L2SQR,
            Metric::L2 => sys::GRL_METRIC_L2,
            Metric::InnerProduct => sys::GRL_METRIC_INNER_PRODUCT,
            Metric::Cosine => sys::GRL_METRIC_COSINE,
        }
    }
}

/// `metric(queries[i], base[j])` for every pair of rows of `queries [Q, D]` and `base [N, D]`
/// (f32, f16 or bf16), as f32 `[Q, N]` (`grl_pairwise_distances`). Not differentiable.
pub fn pairwise_distances(queries: &Tensor, base: &Tensor, metric: Metric) -> Result<Tensor> {
    out1(|out| unsafe { sys::grl_pairwise_distances(queries.as_raw(), base.as_raw(), metric.raw(), out) })
}

/// The `k` largest (or smallest) entries along the last axis of `x`, best first, and their
/// positions (i64): `([..., k], [..., k])` (`grl_topk`). Ties go to the lower position;
/// 0 <= k <= min(n, 2048). Not differentiable.
pub fn topk(x: &Tensor, k: i64, largest: bool) -> Result<(Tensor, Tensor)> {
    out2(|v, i| unsafe { sys::grl_topk(x.as_raw(), k, largest as u32, v, i) })
}

/// Options of [`IndexFlat::new`] (`grl_index_flat_options`); `Default` is
/// `GRL_INDEX_FLAT_OPTIONS_INIT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexFlatOptions {
    /// The metric (`L2Sqr`).
    pub metric: Metric,
    /// Rows per base tile (one device buffer each); 0: 256 MiB worth (0).
    pub tile_rows: i64,
    /// Base rows one workgroup of the fused search scans; 0: automatic, else rounded up to a
    /// multiple of 128, at most 65408 (0).
    pub chunk_rows: i64,
}

impl Default for IndexFlatOptions {
    fn default() -> IndexFlatOptions {
        IndexFlatOptions { metric: Metric::L2Sqr, tile_rows: 0, chunk_rows: 0 }
    }
}

impl IndexFlatOptions {
    /// The C struct.
    pub fn raw(&self) -> sys::grl_index_flat_options {
        sys::grl_index_flat_options {
            version: sys::GRL_INDEX_FLAT_OPTIONS_VERSION,
            metric: self.metric.raw(),
            tile_rows: self.tile_rows,
            chunk_rows: self.chunk_rows,
        }
    }
}

/// An exact (exhaustive) index of f32 vectors with i64 ids (`grl_index_flat`).
///
/// `Clone` adds a reference to the same index (`grl_index_flat_retain`). `Send + Sync`: grilly.h
/// says its calls lock the device, so an index may be used from several threads.
///
/// ```
/// use grilly::{Device, Tensor, search::{IndexFlat, IndexFlatOptions}};
/// let dev = Device::new()?;
/// let index = IndexFlat::new(&dev, 2, &IndexFlatOptions::default())?;
/// index.add(&Tensor::from_slice(&dev, &[0.0f32, 0.0, 1.0, 0.0, 5.0, 5.0], &[3, 2])?, Some(&[10, 11, 12]))?;
/// let (dist, labels) = index.search(&Tensor::from_slice(&dev, &[0.9f32, 0.1], &[1, 2])?, 2)?;
/// assert_eq!(labels.to_vec::<i64>()?, vec![11, 10]);
/// assert_eq!(dist.shape(), vec![1, 2]);
/// # Ok::<(), grilly::Error>(())
/// ```
#[derive(Debug)]
pub struct IndexFlat {
    raw: NonNull<sys::grl_index_flat_s>,
}

// SAFETY: grilly.h: an index's calls lock the device; retain and release may run on any thread.
unsafe impl Send for IndexFlat {}
unsafe impl Sync for IndexFlat {}

impl Clone for IndexFlat {
    /// Another reference to the same index (`grl_index_flat_retain`).
    fn clone(&self) -> IndexFlat {
        unsafe { sys::grl_index_flat_retain(self.as_raw()) };
        IndexFlat { raw: self.raw }
    }
}

impl Drop for IndexFlat {
    /// `grl_index_flat_release`.
    fn drop(&mut self) {
        unsafe { sys::grl_index_flat_release(self.as_raw()) }
    }
}

impl IndexFlat {
    /// An empty index of `dim`-float vectors on `dev` (`grl_index_flat_create`).
    pub fn new(dev: &Device, dim: i64, opts: &IndexFlatOptions) -> Result<IndexFlat> {
        let o = opts.raw();
        let mut out = null_mut();
        check(unsafe { sys::grl_index_flat_create(dev.as_raw(), dim, &o, &mut out) })?;
        Ok(unsafe { IndexFlat::from_raw(out) })
    }

    /// Wraps a raw handle, taking over one reference.
    ///
    /// # Safety
    /// `raw` must be a live, non-NULL `grl_index_flat` whose reference the caller gives up.
    pub unsafe fn from_raw(raw: sys::grl_index_flat) -> IndexFlat {
        IndexFlat { raw: NonNull::new(raw).expect("grl_index_flat is NULL") }
    }

    /// The raw handle (still owned by `self`).
    pub fn as_raw(&self) -> sys::grl_index_flat {
        self.raw.as_ptr()
    }

    /// Appends `vectors [n, dim]` (f32, f16 or bf16) with one id each, or (`None`) the ids
    /// c, c + 1, ... where c counts the vectors added since creation or the last reset
    /// (`grl_index_flat_add`).
    pub fn add(&self, vectors: &Tensor, ids: Option<&[i64]>) -> Result<()> {
        let ids_ptr = match ids {
            None => std::ptr::null(),
            Some(ids) => {
                // The C function reads one id per row: check the count before handing it the slice.
                let rows = if vectors.ndim() == 2 { vectors.dim(0) } else { -1 };
                if rows != ids.len() as i64 {
                    return Err(Error::new(ErrorKind::Shape, format!(
                        "IndexFlat::add: ids has {} entries; expected one per row of vectors, whose shape is {:?} \
                         (expected [n, dim])", ids.len(), vectors.shape())));
                }
                ids.as_ptr()
            }
        };
        check(unsafe { sys::grl_index_flat_add(self.as_raw(), vectors.as_raw(), ids_ptr) })
    }

    /// The `k` nearest stored vectors of each query `[Q, dim]`: distances f32 `[Q, k]` (nearest
    /// first, as the metric reports them) and their ids i64 `[Q, k]` (`grl_index_flat_search`).
    /// 1 <= k <= min(ntotal, 2048).
    pub fn search(&self, queries: &Tensor, k: i64) -> Result<(Tensor, Tensor)> {
        out2(|d, l| unsafe { sys::grl_index_flat_search(self.as_raw(), queries.as_raw(), k, d, l) })
    }

    /// Removes every vector whose id is in `ids` and returns how many were removed
    /// (`grl_index_flat_remove`).
    pub fn remove(&self, ids: &[i64]) -> Result<i64> {
        let mut n = 0;
        check(unsafe { sys::grl_index_flat_remove(self.as_raw(), ids.as_ptr(), ids.len() as i64, &mut n) })?;
        Ok(n)
    }

    /// Removes every vector and restarts the automatic ids at 0 (`grl_index_flat_reset`).
    pub fn reset(&self) -> Result<()> {
        check(unsafe { sys::grl_index_flat_reset(self.as_raw()) })
    }

    /// The number of vectors held (`grl_index_flat_ntotal`).
    pub fn ntotal(&self) -> Result<i64> {
        let mut n = 0;
        check(unsafe { sys::grl_index_flat_ntotal(self.as_raw(), &mut n) })?;
        Ok(n)
    }

    /// The dimension of the vectors (`grl_index_flat_dim`).
    pub fn dim(&self) -> Result<i64> {
        let mut n = 0;
        check(unsafe { sys::grl_index_flat_dim(self.as_raw(), &mut n) })?;
        Ok(n)
    }
}
