use crate::error::{Error, ErrorKind, Result};
use crate::{Device, Element, Tensor};
use ndarray::{ArrayBase, ArrayD, Data, Dimension, IxDyn};

impl Tensor {
    /// A tensor holding a copy of an ndarray array of any layout (feature `ndarray`;
    /// `grl_tensor_from_host`).
    pub fn from_array<T: Element, S: Data<Elem = T>, D: Dimension>(dev: &Device, a: &ArrayBase<S, D>) -> Result<Tensor> {
        let shape: Vec<i64> = a.shape().iter().map(|&d| d as i64).collect();
        match a.as_slice() {
            Some(s) => Tensor::from_slice(dev, s, &shape),
            None => Tensor::from_slice(dev, &a.iter().copied().collect::<Vec<T>>(), &shape),
        }
    }

    /// The elements as an ndarray array of the tensor's shape (feature `ndarray`;
    /// `grl_tensor_download`).
    pub fn to_array<T: Element>(&self) -> Result<ArrayD<T>> {
        let shape: Vec<usize> = self.shape().iter().map(|&d| d as usize).collect();
        ArrayD::from_shape_vec(IxDyn(&shape), self.to_vec::<T>()?)
            .map_err(|e| Error::new(ErrorKind::Internal, format!("Tensor::to_array: {e}")))
    }
}
