//! Conversions from and to ndarray (feature `ndarray`).
#![cfg(feature = "ndarray")]
use grilly::{Device, Tensor};
use ndarray::{array, Array2};

#[test]
fn ndarray_roundtrip() {
    let dev = Device::new().unwrap();
    let a: Array2<f32> = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
    let t = Tensor::from_array(&dev, &a).unwrap();
    assert_eq!(t.shape(), vec![2, 3]);
    // A transposed (non-contiguous) ndarray view is copied in logical order.
    let tt = Tensor::from_array(&dev, &a.t()).unwrap();
    assert_eq!(tt.shape(), vec![3, 2]);
    assert_eq!(tt.to_array::<f32>().unwrap(), a.t().into_dyn());
    let back = t.matmul(&tt).unwrap().to_array::<f32>().unwrap();
    assert_eq!(back, a.dot(&a.t()).into_dyn());
}
