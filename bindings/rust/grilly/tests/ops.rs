//! Values checked against references computed in Rust, and errors for bad input.
use grilly::{DType, Device, ErrorKind, Optimizer, OptimizerOptions, Reduction, Tensor};
use std::sync::OnceLock;

fn dev() -> &'static Device {
    static DEV: OnceLock<Device> = OnceLock::new();
    DEV.get_or_init(|| Device::new().expect("no Vulkan device (set ALLOW_CPU_VULKAN=1 and install lavapipe)"))
}

fn t(data: &[f32], shape: &[i64]) -> Tensor {
    Tensor::from_slice(dev(), data, shape).unwrap()
}

fn close(got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "lengths differ: {got:?} vs {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "element {i}: got {g}, want {w}\n got {got:?}\nwant {want:?}");
    }
}

/// A deterministic pseudo-random vector in [-1, 1).
fn data(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn ref_matmul(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    let mut c = vec![0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
        }
    }
    c
}

#[test]
fn roundtrip_and_metadata() {
    let x = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    assert_eq!(x.shape(), vec![2, 3]);
    assert_eq!(x.ndim(), 2);
    assert_eq!(x.numel(), 6);
    assert_eq!(x.dtype(), DType::F32);
    assert!(x.is_contiguous());
    assert_eq!(x.to_vec::<f32>().unwrap(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let i = Tensor::from_slice(dev(), &[1i64, -2, 3], &[3]).unwrap();
    assert_eq!(i.dtype(), DType::I64);
    assert_eq!(i.to_vec::<i64>().unwrap(), vec![1, -2, 3]);
    let z = Tensor::zeros(dev(), &[2, 2], DType::I32).unwrap();
    assert_eq!(z.to_vec::<i32>().unwrap(), vec![0; 4]);
    let f = Tensor::full(dev(), &[3], 2.5, DType::F32).unwrap();
    assert_eq!(f.to_vec::<f32>().unwrap(), vec![2.5; 3]);
    let s = Tensor::scalar(dev(), 7.0).unwrap();
    assert_eq!(s.ndim(), 0);
    assert_eq!(s.item().unwrap(), 7.0);
    let a = Tensor::arange(dev(), 0.0, 5.0, 1.0, DType::I64).unwrap();
    assert_eq!(a.to_vec::<i64>().unwrap(), vec![0, 1, 2, 3, 4]);
    x.upload(&[6.0f32, 5.0, 4.0, 3.0, 2.0, 1.0]).unwrap();
    assert_eq!(x.to_vec::<f32>().unwrap(), vec![6.0, 5.0, 4.0, 3.0, 2.0, 1.0]);
    x.fill_(1.5).unwrap();
    assert_eq!(x.to_vec::<f32>().unwrap(), vec![1.5; 6]);
    assert!(grilly::version().starts_with("0."));
    assert!(!dev().info().unwrap().name.is_empty());
}

#[test]
fn clone_shares_and_copy_does_not() {
    let x = t(&[1.0, 2.0], &[2]);
    let shared = x.clone();
    let copied = x.copy().unwrap();
    x.fill_(9.0).unwrap();
    assert_eq!(shared.to_vec::<f32>().unwrap(), vec![9.0, 9.0]);
    assert_eq!(copied.to_vec::<f32>().unwrap(), vec![1.0, 2.0]);
    drop(x);
    assert_eq!(shared.to_vec::<f32>().unwrap(), vec![9.0, 9.0]); // still alive through the clone
    let d = shared.device();
    assert_eq!(d.as_raw(), dev().as_raw());
}

#[test]
fn elementwise_and_operators() {
    let (a, b) = (data(12, 1), data(12, 2));
    let (ta, tb) = (t(&a, &[3, 4]), t(&b, &[3, 4]));
    let zip = |f: fn(f32, f32) -> f32| a.iter().zip(&b).map(|(x, y)| f(*x, *y)).collect::<Vec<_>>();
    close(&(&ta + &tb).to_vec().unwrap(), &zip(|x, y| x + y), 1e-6);
    close(&(&ta - &tb).to_vec().unwrap(), &zip(|x, y| x - y), 1e-6);
    close(&(&ta * &tb).to_vec().unwrap(), &zip(|x, y| x * y), 1e-6);
    close(&(&ta / (&tb + 3.0)).to_vec().unwrap(), &zip(|x, y| x / (y + 3.0)), 1e-5);
    close(&(-&ta).to_vec().unwrap(), &a.iter().map(|x| -x).collect::<Vec<_>>(), 0.0);
    close(&(&ta * 2.0 - 1.0).to_vec().unwrap(), &a.iter().map(|x| x * 2.0 - 1.0).collect::<Vec<_>>(), 1e-6);
    close(&(1.0 - &ta).to_vec().unwrap(), &a.iter().map(|x| 1.0 - x).collect::<Vec<_>>(), 1e-6);
    close(&(2.0 / (&ta + 2.0)).to_vec().unwrap(), &a.iter().map(|x| 2.0 / (x + 2.0)).collect::<Vec<_>>(), 1e-5);
    close(&ta.exp().unwrap().to_vec().unwrap(), &a.iter().map(|x| x.exp()).collect::<Vec<_>>(), 1e-5);
    close(&ta.tanh().unwrap().to_vec().unwrap(), &a.iter().map(|x| x.tanh()).collect::<Vec<_>>(), 1e-5);
    close(&ta.sigmoid().unwrap().to_vec().unwrap(), &a.iter().map(|x| 1.0 / (1.0 + (-x).exp())).collect::<Vec<_>>(), 1e-5);
    close(&ta.abs().unwrap().sqrt().unwrap().to_vec().unwrap(), &a.iter().map(|x| x.abs().sqrt()).collect::<Vec<_>>(), 1e-5);
    close(&ta.maximum(&tb).unwrap().to_vec().unwrap(), &zip(f32::max), 0.0);
    close(&ta.clamp(-0.5, 0.5).unwrap().to_vec().unwrap(), &a.iter().map(|x| x.clamp(-0.5, 0.5)).collect::<Vec<_>>(), 0.0);
    // Broadcasting: [3, 4] + [4].
    let row = t(&b[..4], &[4]);
    let want: Vec<f32> = (0..12).map(|i| a[i] + b[i % 4]).collect();
    close(&(&ta + &row).to_vec().unwrap(), &want, 1e-6);
    // Comparisons give U8 masks.
    let m = ta.gt(&tb).unwrap();
    assert_eq!(m.dtype(), DType::U8);
    assert_eq!(m.to_vec::<u8>().unwrap(), zip(|x, y| (x > y) as u8 as f32).iter().map(|&v| v as u8).collect::<Vec<_>>());
}

#[test]
fn activations() {
    let a = data(16, 3);
    let x = t(&a, &[4, 4]);
    close(&x.relu().unwrap().to_vec().unwrap(), &a.iter().map(|v| v.max(0.0)).collect::<Vec<_>>(), 0.0);
    let gelu_tanh = |v: f32| 0.5 * v * (1.0 + ((2.0 / std::f32::consts::PI).sqrt() * (v + 0.044715 * v * v * v)).tanh());
    close(&x.gelu_with(grilly::GeluApproximation::Tanh).unwrap().to_vec().unwrap(), &a.iter().map(|&v| gelu_tanh(v)).collect::<Vec<_>>(), 1e-5);
    // Exact GELU is within 1e-3 of the tanh form on [-1, 1].
    close(&x.gelu().unwrap().to_vec().unwrap(), &a.iter().map(|&v| gelu_tanh(v)).collect::<Vec<_>>(), 1e-3);
    close(&x.silu().unwrap().to_vec().unwrap(), &a.iter().map(|v| v / (1.0 + (-v).exp())).collect::<Vec<_>>(), 1e-5);
    let sm = x.softmax(-1).unwrap().to_vec::<f32>().unwrap();
    let mut want = Vec::new();
    for r in a.chunks(4) {
        let mx = r.iter().cloned().fold(f32::MIN, f32::max);
        let s: f32 = r.iter().map(|v| (v - mx).exp()).sum();
        want.extend(r.iter().map(|v| (v - mx).exp() / s));
    }
    close(&sm, &want, 1e-5);
    let lsm = x.log_softmax(1).unwrap().to_vec::<f32>().unwrap();
    close(&lsm, &want.iter().map(|v| v.ln()).collect::<Vec<_>>(), 1e-5);
}

#[test]
fn reductions() {
    let a = data(24, 4);
    let x = t(&a, &[2, 3, 4]);
    let total: f32 = a.iter().sum();
    close(&x.sum(&[], false).unwrap().to_vec().unwrap(), &[total], 1e-5);
    assert_eq!(x.sum(&[], false).unwrap().ndim(), 0);
    close(&x.mean(&[], false).unwrap().to_vec().unwrap(), &[total / 24.0], 1e-5);
    // Sum over axis 1 (size 3), keepdim.
    let s = x.sum(&[1], true).unwrap();
    assert_eq!(s.shape(), vec![2, 1, 4]);
    let want: Vec<f32> = (0..2).flat_map(|i| (0..4).map(move |k| (i, k))).map(|(i, k)| (0..3).map(|j| a[i * 12 + j * 4 + k]).sum()).collect();
    close(&s.to_vec().unwrap(), &want, 1e-5);
    let mx = x.max(&[-1], false).unwrap();
    assert_eq!(mx.shape(), vec![2, 3]);
    close(&mx.to_vec().unwrap(), &a.chunks(4).map(|r| r.iter().cloned().fold(f32::MIN, f32::max)).collect::<Vec<_>>(), 0.0);
    let am = x.argmax(-1, false).unwrap();
    assert_eq!(am.dtype(), DType::I64);
    let want_am: Vec<i64> = a
        .chunks(4)
        .map(|r| r.iter().enumerate().fold((0, f32::MIN), |best, (i, &v)| if v > best.1 { (i, v) } else { best }).0 as i64)
        .collect();
    assert_eq!(am.to_vec::<i64>().unwrap(), want_am);
    let mean = total / 24.0;
    let var = a.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / 23.0;
    close(&x.var(&[], 1, false).unwrap().to_vec().unwrap(), &[var], 1e-4);
}

#[test]
fn linear_algebra_and_views() {
    let (a, b) = (data(6, 5), data(12, 6));
    let ta = t(&a, &[2, 3]);
    let tb = t(&b, &[3, 4]);
    close(&ta.matmul(&tb).unwrap().to_vec().unwrap(), &ref_matmul(&a, &b, 2, 3, 4), 1e-5);
    // linear: x [2, 3] W [4, 3] b [4] -> x W^T + b.
    let w = data(12, 7);
    let bias = data(4, 8);
    let tw = t(&w, &[4, 3]);
    let y = ta.linear(&tw, Some(&t(&bias, &[4]))).unwrap();
    let wt: Vec<f32> = (0..3).flat_map(|k| (0..4).map(move |o| (k, o))).map(|(k, o)| w[o * 3 + k]).collect();
    let want: Vec<f32> = ref_matmul(&a, &wt, 2, 3, 4).iter().enumerate().map(|(i, v)| v + bias[i % 4]).collect();
    close(&y.to_vec().unwrap(), &want, 1e-5);
    // transpose is a view; to_vec reads it row-major.
    let tt = tb.transpose(0, 1).unwrap();
    assert_eq!(tt.shape(), vec![4, 3]);
    assert_eq!(tt.to_vec::<f32>().unwrap(), wt_of(&b, 3, 4));
    let r = tb.reshape(&[2, -1]).unwrap();
    assert_eq!(r.shape(), vec![2, 6]);
    assert_eq!(r.to_vec::<f32>().unwrap(), b);
    let sl = tb.slice(1, 1, 4, 2).unwrap();
    assert_eq!(sl.to_vec::<f32>().unwrap(), vec![b[1], b[3], b[5], b[7], b[9], b[11]]);
    let cat = Tensor::concat(&[&ta, &ta], 0).unwrap();
    assert_eq!(cat.shape(), vec![4, 3]);
    let parts = cat.split(&[1, 3], 0).unwrap();
    assert_eq!(parts[0].to_vec::<f32>().unwrap(), a[..3].to_vec());
    assert_eq!(parts[1].shape(), vec![3, 3]);
    assert_eq!(ta.unsqueeze(0).unwrap().shape(), vec![1, 2, 3]);
    let c = ta.cast(DType::I32).unwrap();
    assert_eq!(c.dtype(), DType::I32);
}

fn wt_of(b: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..cols).flat_map(|j| (0..rows).map(move |i| b[i * cols + j])).collect()
}

#[test]
fn shape_mismatch_is_a_shape_error_with_the_c_message() {
    let a = t(&[1.0, 2.0, 3.0], &[3]);
    let b = t(&[1.0, 2.0], &[2]);
    let e = a.add(&b).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Shape);
    assert!(e.message().contains("grl_add"), "message names the C function: {}", e.message());
    assert_eq!(e.status_name(), "GRL_ERROR_SHAPE");
    assert!(e.to_string().starts_with("GRL_ERROR_SHAPE: "));
    let e = a.matmul(&t(&[1.0; 4], &[2, 2])).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Shape);
    assert!(e.message().contains("grl_matmul"), "{}", e.message());
}

#[test]
fn other_errors() {
    let f = t(&[1.0, 2.0], &[2]);
    let i = Tensor::from_slice(dev(), &[1i32, 2], &[2]).unwrap();
    assert_eq!(f.add(&i).unwrap_err().kind(), ErrorKind::Dtype);
    assert_eq!(i.exp().unwrap_err().kind(), ErrorKind::Dtype);
    // The binding checks the element type of to_vec.
    assert_eq!(f.to_vec::<i64>().unwrap_err().kind(), ErrorKind::Dtype);
    // Data of the wrong length.
    let e = Tensor::from_slice(dev(), &[1.0f32, 2.0, 3.0], &[2, 2]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(!e.message().is_empty());
    assert_eq!(f.reshape(&[3]).unwrap_err().kind(), ErrorKind::Shape);
    assert_eq!(f.softmax(5).unwrap_err().kind(), ErrorKind::InvalidArgument);
    // An out-of-range class index is reported at the next download (GRL_ERROR_INDEX). Its own
    // device: the report goes to whichever download on the device comes next.
    let own = Device::new().unwrap();
    let logits = Tensor::from_slice(&own, &[0.0f32; 6], &[2, 3]).unwrap();
    let y = Tensor::from_slice(&own, &[0i64, 7], &[2]).unwrap();
    let loss = logits.cross_entropy(&y, -100, 0.0, Reduction::Mean).unwrap();
    let e = loss.to_vec::<f32>().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Index, "{e}");
    assert!(loss.to_vec::<f32>().is_ok(), "the report is cleared after it was returned");
    assert_eq!(own.validation_messages().unwrap(), 0);
}

#[test]
#[should_panic(expected = "GRL_ERROR_SHAPE")]
fn operator_panics_with_the_message() {
    let _ = &t(&[1.0, 2.0, 3.0], &[3]) + &t(&[1.0, 2.0], &[2]);
}

#[test]
fn autograd_matches_analytic_gradients() {
    // loss = sum((x W^T + b)^2) / 2 -> dW = g^T x, db = sum_rows g, g = y.
    let (xa, wa, ba) = (data(6, 9), data(9, 10), data(3, 11));
    let x = t(&xa, &[2, 3]);
    let w = t(&wa, &[3, 3]).requires_grad_().unwrap();
    let b = t(&ba, &[3]).requires_grad_().unwrap();
    assert!(w.requires_grad() && w.is_leaf());
    let y = x.linear(&w, Some(&b)).unwrap();
    assert!(y.requires_grad() && !y.is_leaf());
    assert!(!y.grad_fn_name().is_empty());
    let loss = (&y * &y).sum(&[], false).unwrap() * 0.5;
    loss.backward().unwrap();
    let yv = y.to_vec::<f32>().unwrap();
    let mut dw = vec![0f32; 9];
    for o in 0..3 {
        for k in 0..3 {
            dw[o * 3 + k] = (0..2).map(|r| yv[r * 3 + o] * xa[r * 3 + k]).sum();
        }
    }
    let db: Vec<f32> = (0..3).map(|o| yv[o] + yv[3 + o]).collect();
    close(&w.grad().unwrap().unwrap().to_vec().unwrap(), &dw, 1e-5);
    close(&b.grad().unwrap().unwrap().to_vec().unwrap(), &db, 1e-5);
    assert!(x.grad().unwrap().is_none());
    w.zero_grad().unwrap();
    assert!(w.grad().unwrap().is_none());
    // no_grad stops recording and restores the mode.
    {
        let _g = grilly::no_grad();
        assert!(!grilly::is_grad_enabled());
        assert!(!x.linear(&w, None).unwrap().requires_grad());
    }
    assert!(grilly::is_grad_enabled());
    assert!(!w.detach().unwrap().requires_grad());
}

#[test]
fn sgd_and_adam_steps() {
    // SGD: p <- p - lr * g, with g = d/dp sum(p * c) = c.
    let p = t(&[1.0, 2.0, 3.0], &[3]).requires_grad_().unwrap();
    let c = t(&[0.5, -1.0, 2.0], &[3]);
    let opt = Optimizer::new(&[&p], &OptimizerOptions::sgd(0.1)).unwrap();
    (&p * &c).sum(&[], false).unwrap().backward().unwrap();
    opt.step().unwrap();
    close(&p.to_vec().unwrap(), &[0.95, 2.1, 2.8], 1e-6);
    assert_eq!(opt.step_count().unwrap(), 1);
    assert_eq!(opt.lr().unwrap(), 0.1);
    opt.zero_grad().unwrap();
    assert!(p.grad().unwrap().is_none());
    // Adam's first step moves each parameter by lr * sign(g) (bias-corrected m / sqrt(v)).
    let q = t(&[1.0, 2.0, 3.0], &[3]).requires_grad_().unwrap();
    let adam = Optimizer::new(&[&q], &OptimizerOptions::adam(0.01)).unwrap();
    (&q * &c).sum(&[], false).unwrap().backward().unwrap();
    adam.step().unwrap();
    close(&q.to_vec().unwrap(), &[0.99, 2.01, 2.99], 1e-5);
    let names: Vec<String> = adam.state().unwrap().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["0.step", "0.exp_avg", "0.exp_avg_sq"]);
    // Invalid options are InvalidArgument naming the field.
    let e = Optimizer::new(&[&q], &OptimizerOptions::adam(0.01).betas(1.5, 0.999)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("beta1"), "{}", e.message());
}

#[test]
fn graph_capture_and_replay() {
    // Its own device: capture records every op on the device, whichever thread makes it.
    let dev = Device::new().unwrap();
    let x = Tensor::zeros(&dev, &[2, 2], DType::F32).unwrap();
    let w = Tensor::from_slice(&dev, &[1.0f32, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    let (g, y) = dev.capture(|| (x.matmul(&w)? + 1.0).relu()).unwrap();
    g.set_input("x", &x).unwrap();
    g.set_output("y", &y).unwrap();
    assert!(g.op_count().unwrap() >= 2);
    assert!(g.summary().unwrap().contains("input x"));
    for k in 0..3 {
        let xs: Vec<f32> = (0..4).map(|i| (i + k) as f32 - 2.0).collect();
        g.bind_host("x", &xs).unwrap();
        g.replay().unwrap();
        let want: Vec<f32> = ref_matmul(&xs, &[1.0, 2.0, 3.0, 4.0], 2, 2, 2).iter().map(|v| (v + 1.0).max(0.0)).collect();
        close(&g.output("y").unwrap().to_vec().unwrap(), &want, 1e-6);
    }
    // Binding data of the wrong size is an error.
    assert!(g.bind_host("x", &[1.0f32]).is_err());
    let bad = Tensor::from_slice(&dev, &[1.0f32; 3], &[3]).unwrap();
    assert_eq!(g.bind("x", &bad).unwrap_err().kind(), ErrorKind::Shape);
    assert_eq!(dev.validation_messages().unwrap(), 0);
    // A graph keeps working after its device handle and inputs are dropped here.
    drop((x, w, dev));
    g.bind_host("x", &[1.0f32, 0.0, 0.0, 1.0]).unwrap();
    g.replay().unwrap();
    close(&g.output("y").unwrap().to_vec().unwrap(), &[2.0, 3.0, 4.0, 5.0], 1e-6);
}

#[test]
fn tensors_cross_threads() {
    let x = t(&data(64, 12), &[8, 8]);
    let want = x.sum(&[], false).unwrap().item().unwrap();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (x, d) = (x.clone(), dev().clone());
            std::thread::spawn(move || {
                let y = Tensor::full(&d, &[8, 8], 1.0, DType::F32).unwrap();
                ((&x * &y).sum(&[], false).unwrap().item().unwrap(), x)
            })
        })
        .collect();
    for h in handles {
        let (v, _x) = h.join().unwrap();
        assert!((v - want).abs() < 1e-4);
    }
}

#[test]
fn send_sync_where_promised() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Device>();
    send_sync::<Tensor>();
    send_sync::<Optimizer>();
    send_sync::<grilly::Error>();
    send::<grilly::LrScheduler>();
}

#[test]
fn losses() {
    let (p, q) = (data(6, 13), data(6, 14));
    let (tp, tq) = (t(&p, &[2, 3]), t(&q, &[2, 3]));
    let mse: f32 = p.iter().zip(&q).map(|(a, b)| (a - b) * (a - b)).sum::<f32>() / 6.0;
    close(&tp.mse_loss(&tq, Reduction::Mean).unwrap().to_vec().unwrap(), &[mse], 1e-5);
    let y = Tensor::from_slice(dev(), &[2i64, 0], &[2]).unwrap();
    let lse = |r: &[f32]| r.iter().map(|v| v.exp()).sum::<f32>().ln();
    let ce = ((lse(&p[..3]) - p[2]) + (lse(&p[3..]) - p[3])) / 2.0;
    close(&tp.cross_entropy(&y, -100, 0.0, Reduction::Mean).unwrap().to_vec().unwrap(), &[ce], 1e-5);
    let e = tp.mse_loss(&t(&q[..3], &[3, 1]), Reduction::Mean).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Shape);
}

#[test]
fn checkpoints_and_gradient_clipping() {
    let dir = std::env::temp_dir().join(format!("grilly-rust-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let b = Tensor::from_slice(dev(), &[7i64, 8], &[2]).unwrap();
    let path = dir.join("t.safetensors");
    grilly::save_safetensors(&path, &[("a", &a), ("b", &b)]).unwrap();
    let mut loaded = grilly::load_safetensors(dev(), &path).unwrap();
    loaded.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(loaded[0].0, "a");
    assert_eq!(loaded[0].1.shape(), vec![2, 2]);
    assert_eq!(loaded[0].1.to_vec::<f32>().unwrap(), vec![1.0, 2.0, 3.0, 4.0]);
    assert_eq!(loaded[1].1.to_vec::<i64>().unwrap(), vec![7, 8]);
    std::fs::write(dir.join("bad.safetensors"), b"not a safetensors file").unwrap();
    assert_eq!(grilly::load_safetensors(dev(), dir.join("bad.safetensors")).unwrap_err().kind(), ErrorKind::Io);

    // Gradient 3-4 (norm 5) clipped to norm 1.
    let p = t(&[0.0, 0.0], &[2]).requires_grad_().unwrap();
    (&p * &t(&[3.0, 4.0], &[2])).sum(&[], false).unwrap().backward().unwrap();
    let norm = grilly::clip_grad_norm(&[&p], 1.0, 2.0).unwrap();
    close(&norm.to_vec().unwrap(), &[5.0], 1e-6);
    close(&p.grad().unwrap().unwrap().to_vec().unwrap(), &[0.6, 0.8], 1e-5);
    grilly::clip_grad_value(&[&p], 0.7).unwrap();
    close(&p.grad().unwrap().unwrap().to_vec().unwrap(), &[0.6, 0.7], 1e-5);

    // Optimizer state round trip.
    let opt = Optimizer::new(&[&p], &OptimizerOptions::adam(0.1)).unwrap();
    opt.step().unwrap();
    opt.save(dir.join("opt.safetensors")).unwrap();
    assert_eq!(opt.scalars().unwrap()[0], 1.0);
    opt.set_scalars([5.0, 0.2, 0.0]).unwrap();
    assert_eq!(opt.step_count().unwrap(), 5);
    opt.load(dir.join("opt.safetensors")).unwrap();
    assert_eq!(opt.step_count().unwrap(), 1);
    assert_eq!(opt.lr().unwrap(), 0.1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn misc_library_queries() {
    assert_eq!(grilly::version_number() >> 22, 0);
    let rules = grilly::autograd_rules();
    assert!(rules.contains(&"linear") || rules.iter().any(|r| r.contains("linear")), "{rules:?}");
    let m = Tensor::bernoulli(dev(), &[1000], 0.25, DType::F32, 7, 0).unwrap();
    let frac = m.mean(&[], false).unwrap().item().unwrap();
    assert!((frac - 0.25).abs() < 0.05, "{frac}");
    let (x1, x2) = (t(&[1.0, 2.0], &[2]), t(&[2.0, 1.0], &[2]));
    let y = t(&[1.0, -1.0], &[2]);
    // max(0, -y (x1 - x2) + 0.5): [max(0, 1 + 0.5), max(0, 1 + 0.5)].
    close(&x1.margin_ranking_loss(&x2, &y, 0.5, Reduction::None).unwrap().to_vec().unwrap(), &[1.5, 1.5], 1e-6);
    let (a, b) = (t(&[1.0, 2.0, 3.0], &[3]), t(&[1.0, 2.0], &[2]));
    let e = a.add(&b).unwrap_err();
    assert_eq!(grilly::Error::last(), Some(e));
}

#[test]
fn custom_function_from_rust() {
    // cube(x) = x^3 with the gradient 3 x^2 g, written as Rust closures.
    let x = t(&[1.0, -2.0, 0.5], &[3]).requires_grad_().unwrap();
    let y = Tensor::custom_apply(
        "cube",
        &[&x],
        |ins| ins[0].pow_scalar(3.0),
        |g, ins| Ok(vec![Some(&(&ins[0] * &ins[0]) * 3.0 * g)]),
    )
    .unwrap();
    assert_eq!(y.grad_fn_name(), "cube");
    close(&y.to_vec().unwrap(), &[1.0, -8.0, 0.125], 1e-6);
    y.sum(&[], false).unwrap().backward().unwrap();
    close(&x.grad().unwrap().unwrap().to_vec().unwrap(), &[3.0, 12.0, 0.75], 1e-5);
    // An error in the Rust forward fails the call with its kind.
    let e = Tensor::custom_apply("bad", &[&x], |ins| ins[0].reshape(&[7]), |_, _| Ok(vec![None])).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Shape);
    assert!(e.message().contains("bad"), "{}", e.message());
    // A panic does not unwind into C.
    let e = Tensor::custom_apply("boom", &[&x], |_| panic!("boom"), |_, _| Ok(vec![None])).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Internal);
}

#[test]
fn lr_scheduler_steps_the_optimizer() {
    let p = t(&[1.0], &[1]).requires_grad_().unwrap();
    let opt = Optimizer::new(&[&p], &OptimizerOptions::sgd(0.1)).unwrap();
    let mut o = grilly::LrScheduler::options(grilly::sys::GRL_LR_STEP);
    o.gamma = 0.5;
    o.step_size = 2;
    let mut s = grilly::LrScheduler::new(&opt, &o).unwrap();
    let lrs: Vec<f64> = (0..4).map(|_| s.step(0.0).unwrap()).collect();
    assert_eq!(lrs, vec![0.1, 0.05, 0.05, 0.025]);
    assert_eq!(opt.lr().unwrap(), 0.025);
    o.step_size = 0;
    assert_eq!(grilly::LrScheduler::new(&opt, &o).unwrap_err().kind(), ErrorKind::InvalidArgument);
}
