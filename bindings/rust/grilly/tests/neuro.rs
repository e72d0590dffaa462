//! The neuromorphic op families (grilly::{snn, synapse, plasticity, online, search, memory}):
//! values against references computed here in Rust, one error case per family, and the option
//! structs' defaults against the C `_INIT` macros of grilly.h.
use grilly::memory::{self, CellWidths, EpisodicMemory, Eviction};
use grilly::online::{self, FisherMode, NlmsOptions};
use grilly::plasticity::{self, StdpBound, StdpOptions, StdpTraces};
use grilly::search::{self, IndexFlat, IndexFlatOptions, Metric};
use grilly::snn::{self, LifOptions, NeuronKind, NeuronOptions, Snn, SnnOptions};
use grilly::synapse::{self, StpOptions};
use grilly::{DType, Device, ErrorKind, Tensor};
use std::collections::BTreeMap;
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

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

// ------------------------------------------------------------------ defaults vs the C macros

/// The numbers of a `#define GRL_..._INIT {...}` of grilly.h, nested macros expanded and enum or
/// version names resolved through grilly-sys's constants.
fn init_macro(header: &str, consts: &BTreeMap<String, f64>, name: &str) -> Vec<f64> {
    let start = header.find(&format!("#define {name} ")).unwrap_or_else(|| panic!("{name} is not in grilly.h"));
    let body_start = header[start..].find('{').unwrap() + start;
    let body_end = header[body_start..].find('}').unwrap() + body_start;
    let mut depth_end = body_end;
    // Nested braces (an _INIT inside an _INIT is a name, not a brace, but allow literal ones).
    while header[body_start + 1..depth_end].matches('{').count() > header[body_start + 1..depth_end].matches('}').count() {
        depth_end = header[depth_end + 1..].find('}').unwrap() + depth_end + 1;
    }
    let body = header[body_start + 1..depth_end].replace(['\\', '\n', '{', '}'], " ");
    let mut out = Vec::new();
    for tok in body.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if tok.ends_with("_INIT") {
            out.extend(init_macro(header, consts, tok));
        } else if let Some(v) = consts.get(tok) {
            out.push(*v);
        } else {
            out.push(tok.parse::<f64>().unwrap_or_else(|_| panic!("{name}: cannot read {tok:?}")));
        }
    }
    out
}

/// The numeric fields of a C struct in declaration order, read from its `Debug` text.
fn struct_numbers(debug: &str) -> Vec<f64> {
    debug
        .split([',', '{', '}'])
        .filter_map(|f| f.split_once(": ").map(|(_, v)| v.trim()))
        .filter_map(|v| v.parse::<f64>().ok())
        .collect()
}

#[test]
fn option_defaults_match_the_c_init_macros() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let header = std::fs::read_to_string(format!("{dir}/../../../include/grilly.h")).unwrap();
    let decls = std::fs::read_to_string(format!("{dir}/../grilly-sys/src/bindings.rs")).unwrap();
    let consts: BTreeMap<String, f64> = decls
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub const "))
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            let value = rest.split_once('=')?.1.trim().trim_end_matches(';');
            Some((name.trim().to_string(), value.parse::<f64>().ok()?))
        })
        .collect();
    let cases: Vec<(&str, String)> = vec![
        ("GRL_LIF_OPTIONS_INIT", format!("{:?}", LifOptions::default().raw())),
        ("GRL_NEURON_OPTIONS_INIT", format!("{:?}", NeuronOptions::default().raw())),
        ("GRL_SNN_OPTIONS_INIT", format!("{:?}", SnnOptions::default().raw())),
        ("GRL_STP_OPTIONS_INIT", format!("{:?}", StpOptions::default().raw())),
        ("GRL_STDP_OPTIONS_INIT", format!("{:?}", StdpOptions::default().raw())),
        ("GRL_NLMS_OPTIONS_INIT", format!("{:?}", NlmsOptions::default().raw())),
        ("GRL_INDEX_FLAT_OPTIONS_INIT", format!("{:?}", IndexFlatOptions::default().raw())),
    ];
    for (name, debug) in cases {
        assert_eq!(struct_numbers(&debug), init_macro(&header, &consts, name), "{name} vs Default: {debug}");
    }
}

// ------------------------------------------------------------------ snn

/// The LIF step of grilly.h in f32: refractory neurons count down at v_reset; the others integrate.
fn ref_lif(v: &mut [f32], r: &mut [f32], input: &[f32], o: &LifOptions) -> Vec<f32> {
    let k = (o.dt / o.tau_mem) as f32;
    let mut s = vec![0f32; v.len()];
    for i in 0..v.len() {
        if r[i] > 0.0 {
            r[i] = (r[i] - o.dt as f32).max(0.0);
            v[i] = o.v_reset as f32;
            continue;
        }
        v[i] += k * (o.r_m as f32 * input[i] - (v[i] - o.v_rest as f32));
        if v[i] >= o.v_thresh as f32 {
            v[i] = o.v_reset as f32;
            r[i] = o.t_ref as f32;
            s[i] = 1.0;
        }
    }
    s
}

#[test]
fn snn_lif_step_and_simulator_match_the_reference() {
    let o = LifOptions { dt: 1.0, tau_mem: 4.0, t_ref: 2.0, v_reset: -0.1, ..LifOptions::default() };
    let input = [3.0f32, 0.5, 1.7, -1.0, 5.0, 0.2];
    let (mut v, mut r) = (vec![0.0f32, 0.3, 0.6, 0.2, 0.0, 0.9], vec![0.0f32; 6]);
    let (tv, tr, ti) = (t(&v, &[2, 3]), t(&r, &[2, 3]), t(&input, &[2, 3]));
    let mut sim = Snn::new(dev(), 6, &SnnOptions { lif: o, dtype: DType::F32 }).unwrap();
    sim.set_state(&t(&v, &[6]), None).unwrap();
    let flat_input = t(&input, &[6]);
    let mut fired = 0.0;
    for step in 0..5 {
        let want = ref_lif(&mut v, &mut r, &input, &o);
        fired += want.iter().sum::<f32>();
        let s = snn::lif_step_(&tv, Some(&tr), &ti, &o).unwrap();
        assert_eq!(s.shape(), vec![2, 3]);
        close(&s.to_vec().unwrap(), &want, 0.0);
        close(&tv.to_vec().unwrap(), &v, 1e-6);
        close(&tr.to_vec().unwrap(), &r, 1e-6);
        close(&sim.process(&flat_input).unwrap().to_vec().unwrap(), &want, 0.0);
        let (m, rc) = sim.state().unwrap();
        close(&m.to_vec().unwrap(), &v, 1e-6);
        close(&rc.to_vec().unwrap(), &r, 1e-6);
        assert!(step > 0 || want.contains(&1.0), "the first step fires somewhere");
    }
    assert!(fired > 2.0);
    sim.reset().unwrap();
    close(&sim.state().unwrap().0.to_vec().unwrap(), &[0.0; 6], 0.0);
    // u8 spikes, a 0-d input broadcast to every neuron, no refractory counters.
    let o8 = LifOptions { dt: 1.0, tau_mem: 2.0, spike_dtype: Some(DType::U8), ..LifOptions::default() };
    let v8 = t(&[0.0, 0.5, 0.9], &[3]);
    let s = snn::lif_step_(&v8, None, &t(&[1.2], &[]), &o8).unwrap();
    assert_eq!(s.dtype(), DType::U8);
    // v + (1.2 - v) / 2: 0.6, 0.85, 1.05 -> only the last fires.
    assert_eq!(s.to_vec::<u8>().unwrap(), vec![0, 0, 1]);
    close(&v8.to_vec().unwrap(), &[0.6, 0.85, 0.0], 1e-6);
}

#[test]
fn snn_spiking_neuron_runs_a_sequence() {
    // LIF, tau 2, decay_input: h = v + (x - v) / 2, spike at h >= 1, hard reset to 0.
    let (steps, n) = (6usize, 4usize);
    let x: Vec<f32> = data(steps * n, 21).iter().map(|v| v * 1.5 + 1.0).collect();
    let o = NeuronOptions::default();
    let out = snn::spiking_neuron(&t(&x, &[steps as i64, n as i64]), None, None, None, &o).unwrap();
    let mut v = vec![0f32; n];
    let mut want = Vec::new();
    for step in 0..steps {
        for i in 0..n {
            let h = v[i] + 0.5 * (x[step * n + i] - v[i]);
            let s = if h >= 1.0 { 1.0 } else { 0.0 };
            v[i] = h * (1.0 - s);
            want.push(s);
        }
    }
    close(&out.spikes.to_vec().unwrap(), &want, 0.0);
    close(&out.v.to_vec().unwrap(), &v, 1e-5);
    assert!(out.w.is_none());
    let alif = NeuronOptions { kind: NeuronKind::Alif, ..o };
    let out = snn::spiking_neuron(&t(&x, &[steps as i64, n as i64]), None, None, None, &alif).unwrap();
    assert_eq!(out.w.unwrap().shape(), vec![n as i64]);
}

#[test]
fn snn_errors() {
    let v = t(&[0.0; 4], &[4]);
    let bad = LifOptions { tau_mem: 0.0, ..LifOptions::default() };
    let e = snn::lif_step_(&v, None, &t(&[1.0; 4], &[4]), &bad).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("grl_lif_step_") && e.message().contains("tau_mem"), "{}", e.message());
    let e = snn::lif_step_(&v, None, &t(&[1.0; 5], &[5]), &LifOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Shape);
    let mut sim = Snn::new(dev(), 4, &SnnOptions::default()).unwrap();
    assert_eq!(sim.process(&t(&[1.0; 3], &[3])).unwrap_err().kind(), ErrorKind::Shape);
    assert_eq!(Snn::new(dev(), -1, &SnnOptions::default()).unwrap_err().kind(), ErrorKind::InvalidArgument);
}

// ------------------------------------------------------------------ synapse

#[test]
fn synapse_exp_and_stp_match_the_reference() {
    let (steps, n) = (5usize, 3usize);
    let s: Vec<f32> = (0..steps * n).map(|i| ((i * 7) % 3 == 0) as u8 as f32).collect();
    let i0 = [0.5f32, -0.25, 1.0];
    let (dt, tau, w) = (1.0f64, 5.0f64, 0.8f64);
    let a = (-dt / tau).exp() as f32;
    let mut cur = i0.to_vec();
    let mut want = Vec::new();
    for step in 0..steps {
        for i in 0..n {
            cur[i] = a * cur[i] + w as f32 * s[step * n + i];
        }
        want.extend_from_slice(&cur);
    }
    let out = synapse::synapse_exp(&t(&s, &[steps as i64, n as i64]), Some(&t(&i0, &[3])), dt, tau, w).unwrap();
    assert_eq!(out.shape(), vec![steps as i64, n as i64]);
    close(&out.to_vec().unwrap(), &want, 1e-5);
    // The in-place step agrees with the sequence.
    let c = t(&i0, &[3]);
    for step in 0..steps {
        synapse::synapse_exp_step_(&c, &t(&s[step * n..(step + 1) * n], &[3]), dt, tau, w).unwrap();
    }
    close(&c.to_vec().unwrap(), &cur, 1e-5);

    // Tsodyks-Markram: relax, then facilitate, release and deplete where a spike arrives.
    let o = StpOptions { u: 0.2, tau_d: 50.0, tau_f: 100.0, dt: 5.0 };
    let spikes = [[1.0f32, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 1.0]];
    let (tu, tx) = (t(&[0.2, 0.2], &[2]), t(&[1.0, 1.0], &[2]));
    let (mut u, mut x) = ([0.2f32; 2], [1.0f32; 2]);
    let (ed, ef) = ((-o.dt / o.tau_d).exp() as f32, (-o.dt / o.tau_f).exp() as f32);
    let mut all_r = Vec::new();
    for sp in spikes {
        let mut r = [0f32; 2];
        for i in 0..2 {
            x[i] = 1.0 - (1.0 - x[i]) * ed;
            u[i] = 0.2 + (u[i] - 0.2) * ef;
            if sp[i] != 0.0 {
                u[i] += 0.2 * (1.0 - u[i]);
                r[i] = u[i] * x[i];
                x[i] -= r[i];
            }
        }
        let got = synapse::stp_step_(&tu, &tx, &t(&sp, &[2]), &o).unwrap();
        close(&got.to_vec().unwrap(), &r, 1e-5);
        all_r.extend_from_slice(&r);
    }
    close(&tu.to_vec().unwrap(), &u, 1e-5);
    close(&tx.to_vec().unwrap(), &x, 1e-5);
    // The whole train in one call gives every step's efficacy and the same final state.
    let (su, sx) = (t(&[0.2, 0.2], &[2]), t(&[1.0, 1.0], &[2]));
    let train = t(&spikes.concat(), &[4, 2]);
    let seq = synapse::stp_sequence_(&su, &sx, &train, &o).unwrap();
    assert_eq!(seq.shape(), vec![4, 2]);
    close(&seq.to_vec().unwrap(), &all_r, 1e-5);
    close(&su.to_vec().unwrap(), &u, 1e-5);
    close(&sx.to_vec().unwrap(), &x, 1e-5);
}

#[test]
fn synapse_encoders_decoders_and_spike_matmul() {
    // Probabilities 0 and 1 are deterministic.
    let p = synapse::encode_poisson(&t(&[0.0, 1.0, 1.0], &[3]), 4, 0.0, DType::U8, 7, 0).unwrap();
    assert_eq!(p.shape(), vec![4, 3]);
    assert_eq!(p.to_vec::<u8>().unwrap(), [0u8, 1, 1].repeat(4));
    // Linear latency: x = 1 fires at step 0, x = 0 at step T - 1, x = 0.5 at round(1.5) = 2.
    let l = synapse::encode_latency(&t(&[1.0, 0.0, 0.5], &[3]), 4, synapse::LatencyMode::Linear, DType::F32).unwrap();
    close(&l.to_vec().unwrap(), &[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0], 0.0);
    let d = synapse::encode_delta(&t(&[0.0, 0.6, 0.7, 0.0], &[4, 1]), 0.5, false, DType::F32).unwrap();
    close(&d.to_vec().unwrap(), &[0.0, 1.0, 0.0, -1.0], 0.0);
    let s: Vec<f32> = (0..12).map(|i| (i % 3 == 0) as u8 as f32).collect();
    let ts = t(&s, &[4, 3]);
    let mean_last2: Vec<f32> = (0..3).map(|j| (s[6 + j] + s[9 + j]) / 2.0).collect();
    close(&synapse::decode_rate(&ts, 2).unwrap().to_vec().unwrap(), &mean_last2, 1e-6);
    let wts = [0.1f32, 0.2, 0.3, 0.4];
    let want: Vec<f32> = (0..3).map(|j| (0..4).map(|k| wts[k] * s[k * 3 + j]).sum()).collect();
    close(&synapse::decode_weighted(&ts, &t(&wts, &[4])).unwrap().to_vec().unwrap(), &want, 1e-6);
    let want: Vec<f32> = (0..3).map(|j| (0..4).map(|k| (-((3 - k) as f32) / 2.0).exp() * s[k * 3 + j]).sum()).collect();
    close(&synapse::decode_exponential(&ts, 2.0).unwrap().to_vec().unwrap(), &want, 1e-5);
    // spike_matmul = spikes @ W.
    let w = data(3 * 5, 22);
    let got = synapse::spike_matmul(&ts, &t(&w, &[3, 5])).unwrap();
    let want: Vec<f32> = (0..4).flat_map(|b| (0..5).map(move |nn| (b, nn))).map(|(b, nn)| (0..3).map(|k| s[b * 3 + k] * w[k * 5 + nn]).sum()).collect();
    close(&got.to_vec().unwrap(), &want, 1e-5);
}

#[test]
fn synapse_errors() {
    let c = t(&[0.0; 3], &[3]);
    let e = synapse::synapse_exp_step_(&c, &t(&[1.0; 3], &[3]), 1.0, 0.0, 1.0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("grl_synapse_exp_step_"), "{}", e.message());
    assert_eq!(synapse::synapse_exp_step_(&c, &t(&[1.0; 2], &[2]), 1.0, 5.0, 1.0).unwrap_err().kind(), ErrorKind::Shape);
    assert_eq!(synapse::spike_matmul(&c.reshape(&[1, 3]).unwrap(), &t(&[1.0; 4], &[2, 2])).unwrap_err().kind(), ErrorKind::Shape);
}

// ------------------------------------------------------------------ plasticity

#[test]
fn plasticity_hebbian_oja_and_stdp_match_the_reference() {
    let (b, n_pre, n_post) = (3usize, 4usize, 2usize);
    let (x, y, w0) = (data(b * n_pre, 31), data(b * n_post, 32), data(n_post * n_pre, 33));
    let (eta, decay) = (0.1f32, 0.01f32);
    let w = t(&w0, &[n_post as i64, n_pre as i64]);
    plasticity::hebbian_update_(&w, &t(&x, &[b as i64, n_pre as i64]), Some(&t(&y, &[b as i64, n_post as i64])), eta as f64, decay as f64).unwrap();
    let mut want = w0.clone();
    for i in 0..n_post {
        for j in 0..n_pre {
            let yx: f32 = (0..b).map(|r| y[r * n_post + i] * x[r * n_pre + j]).sum::<f32>() / b as f32;
            want[i * n_pre + j] = w0[i * n_pre + j] + eta * yx - decay * w0[i * n_pre + j];
        }
    }
    close(&w.to_vec().unwrap(), &want, 1e-5);
    // Oja with y = W x (one sample): dW_ij = eta y_i (x_j - y_i W_ij).
    let w = t(&w0, &[n_post as i64, n_pre as i64]);
    let x1 = &x[..n_pre];
    plasticity::oja_update_(&w, &t(x1, &[n_pre as i64]), None, eta as f64).unwrap();
    let yy: Vec<f32> = (0..n_post).map(|i| dot(&w0[i * n_pre..(i + 1) * n_pre], x1)).collect();
    let want: Vec<f32> = (0..n_post * n_pre).map(|k| {
        let (i, j) = (k / n_pre, k % n_pre);
        w0[k] + eta * yy[i] * (x1[j] - yy[i] * w0[k])
    }).collect();
    close(&w.to_vec().unwrap(), &want, 1e-5);

    // Pair STDP without bounds: a pre spike 3 steps before a post spike adds a_plus exp(-3 dt / tau_plus);
    // a post spike 2 steps before a pre spike then subtracts a_minus exp(-2 dt / tau_minus).
    let o = StdpOptions { bound: StdpBound::None, ..StdpOptions::default() };
    let w = t(&[0.5], &[1, 1]);
    let tr = StdpTraces::zeros(dev(), &[1], &[1], false).unwrap();
    let (one, zero) = (t(&[1.0], &[1]), t(&[0.0], &[1]));
    let schedule = [(1, 0), (0, 0), (0, 0), (0, 1), (0, 0), (1, 0)];
    for (pre, post) in schedule {
        let p = if pre == 1 { &one } else { &zero };
        let q = if post == 1 { &one } else { &zero };
        plasticity::stdp_step_(&w, p, q, &tr, &o).unwrap();
    }
    let want = 0.5 + 0.01 * (-3.0f64 / 20.0).exp() - 0.0105 * (-2.0f64 / 20.0).exp();
    close(&w.to_vec().unwrap(), &[want as f32], 1e-6);
    // Triplet traces are made and passed when asked for.
    let tr3 = StdpTraces::zeros(dev(), &[1], &[1], true).unwrap();
    plasticity::stdp_step_(&w, &one, &one, &tr3, &StdpOptions { triplet: true, ..o }).unwrap();
    close(&tr3.pre_slow.as_ref().unwrap().to_vec().unwrap(), &[1.0], 0.0);
}

#[test]
fn plasticity_errors() {
    let w = t(&[0.0; 6], &[2, 3]);
    let e = plasticity::hebbian_update_(&w, &t(&[1.0; 4], &[4]), None, 0.1, 0.0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Shape);
    assert!(e.message().contains("grl_hebbian_update_"), "{}", e.message());
    assert_eq!(plasticity::oja_update_(&w, &t(&[1.0; 3], &[3]), None, -1.0).unwrap_err().kind(), ErrorKind::InvalidArgument);
    // The triplet rule needs the slow traces.
    let tr = StdpTraces::zeros(dev(), &[3], &[2], false).unwrap();
    let o = StdpOptions { triplet: true, ..StdpOptions::default() };
    assert!(plasticity::stdp_step_(&w, &t(&[0.0; 3], &[3]), &t(&[0.0; 2], &[2]), &tr, &o).is_err());
}

// ------------------------------------------------------------------ online

#[test]
fn online_ewc_fisher_natural_gradient_and_nlms_match_the_reference() {
    let (th, st, f) = (data(10, 41), data(10, 42), data(10, 43).iter().map(|v| v.abs()).collect::<Vec<_>>());
    let lambda = 3.0f32;
    let want: f32 = 0.5 * lambda * (0..10).map(|i| f[i] * (th[i] - st[i]).powi(2)).sum::<f32>();
    let pen = online::ewc_penalty(&t(&th, &[2, 5]), &t(&st, &[2, 5]), &t(&f, &[2, 5]), lambda as f64).unwrap();
    assert_eq!(pen.ndim(), 0);
    close(&pen.to_vec().unwrap(), &[want], 1e-5);
    // Its gradient w.r.t. theta is lambda F (theta - theta_star).
    let theta = t(&th, &[2, 5]).requires_grad_().unwrap();
    online::ewc_penalty(&theta, &t(&st, &[2, 5]), &t(&f, &[2, 5]), lambda as f64).unwrap().backward().unwrap();
    let grad: Vec<f32> = (0..10).map(|i| lambda * f[i] * (th[i] - st[i])).collect();
    close(&theta.grad().unwrap().unwrap().to_vec().unwrap(), &grad, 1e-5);

    let g = data(10, 44);
    let tf = t(&f, &[10]);
    online::fisher_info_update_(&tf, &t(&g, &[10]), FisherMode::Ema { decay: 0.9 }).unwrap();
    let f2: Vec<f32> = (0..10).map(|i| 0.9 * f[i] + 0.1 * g[i] * g[i]).collect();
    close(&tf.to_vec().unwrap(), &f2, 1e-5);
    online::fisher_info_update_(&tf, &t(&g, &[10]), FisherMode::Accumulate { scale: 0.5 }).unwrap();
    let f3: Vec<f32> = (0..10).map(|i| f2[i] + 0.5 * g[i] * g[i]).collect();
    close(&tf.to_vec().unwrap(), &f3, 1e-5);
    let theta = t(&th, &[10]);
    online::natural_gradient_step_(&theta, &t(&g, &[10]), &tf, 0.01, 1e-3).unwrap();
    close(&theta.to_vec().unwrap(), &(0..10).map(|i| th[i] - 0.01 * g[i] / (f3[i] + 1e-3)).collect::<Vec<_>>(), 1e-5);

    // Sequential NLMS over a batch of 4 samples, with a bias and a decaying mu.
    let (bsz, d) = (4usize, 3usize);
    let xs = data(bsz * d, 45);
    let ys: Vec<f32> = data(bsz, 46);
    let o = NlmsOptions { mu_decay: 0.9, ..NlmsOptions::default() };
    let (tw, tb, tmu) = (t(&[0.1, -0.2, 0.3], &[3]), t(&[0.05], &[1]), t(&[0.5], &[1]));
    let errs = online::nlms_update_(&tw, Some(&tb), &tmu, &t(&xs, &[bsz as i64, d as i64]), &t(&ys, &[bsz as i64]), &o).unwrap();
    let (mut w, mut b, mut mu) = (vec![0.1f32, -0.2, 0.3], 0.05f32, 0.5f32);
    let mut want_e = Vec::new();
    for s in 0..bsz {
        let xn = &xs[s * d..(s + 1) * d];
        let e = ys[s] - (dot(&w, xn) + b);
        let nrm = dot(xn, xn) + 1e-6;
        for j in 0..d {
            w[j] += mu * e * xn[j] / nrm;
        }
        b += mu * e;
        mu *= 0.9;
        want_e.push(e);
    }
    close(&errs.to_vec().unwrap(), &want_e, 1e-5);
    close(&tw.to_vec().unwrap(), &w, 1e-5);
    close(&tb.to_vec().unwrap(), &[b], 1e-5);
    close(&tmu.to_vec().unwrap(), &[mu], 1e-6);
    let pred = online::nlms_predict(&t(&xs, &[bsz as i64, d as i64]), &tw, Some(&tb)).unwrap();
    close(&pred.to_vec().unwrap(), &(0..bsz).map(|s| dot(&w, &xs[s * d..(s + 1) * d]) + b).collect::<Vec<_>>(), 1e-5);
}

#[test]
fn online_whitening() {
    let (n, d) = (64usize, 3usize);
    let raw = data(n * d, 47);
    // Correlated columns: c1 = x0 + 0.5 x1, c2 = 2 x2 - x0.
    let x: Vec<f32> = (0..n).flat_map(|r| {
        let v = &raw[r * d..(r + 1) * d];
        [v[0], v[0] + 0.5 * v[1], 2.0 * v[2] - v[0]]
    }).collect();
    let tx = t(&x, &[n as i64, d as i64]);
    let wb = online::whiten_batch(&tx, None, 0.1, 0.0).unwrap().to_vec::<f32>().unwrap();
    for j in 0..d {
        let col: Vec<f32> = (0..n).map(|r| wb[r * d + j]).collect();
        let mean = col.iter().sum::<f32>() / n as f32;
        let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n as f32;
        assert!(mean.abs() < 1e-4 && (var - 1.0).abs() < 1e-3, "column {j}: mean {mean}, var {var}");
    }
    // ZCA: the whitened data has the identity as its population covariance.
    let (mean, wz) = online::zca_fit(&tx, 1e-6, 30).unwrap();
    assert_eq!((mean.shape(), wz.shape()), (vec![d as i64], vec![d as i64, d as i64]));
    let z = online::zca_apply(&tx, &mean, &wz).unwrap().to_vec::<f32>().unwrap();
    for a in 0..d {
        for b in 0..d {
            let c: f32 = (0..n).map(|r| z[r * d + a] * z[r * d + b]).sum::<f32>() / n as f32;
            assert!((c - (a == b) as u8 as f32).abs() < 2e-2, "cov[{a}][{b}] = {c}");
        }
    }
}

#[test]
fn online_errors() {
    let a = t(&[1.0, 2.0], &[2]);
    let e = online::natural_gradient_step_(&a, &a.copy().unwrap(), &a.copy().unwrap(), 0.1, 0.0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("grl_natural_gradient_step_"), "{}", e.message());
    assert_eq!(online::ewc_penalty(&a, &t(&[1.0; 3], &[3]), &a, 1.0).unwrap_err().kind(), ErrorKind::Shape);
    assert_eq!(online::zca_from_covariance(&t(&[1.0, 0.0, 0.0, 1.0], &[2, 2]), 1e-5, 0).unwrap_err().kind(), ErrorKind::InvalidArgument);
}

// ------------------------------------------------------------------ search

fn l2sqr(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

#[test]
fn search_pairwise_topk_and_index_flat_match_brute_force() {
    let (q, nb, d) = (5usize, 40usize, 8usize);
    let (qs, base) = (data(q * d, 51), data(nb * d, 52));
    let (tq, tbase) = (t(&qs, &[q as i64, d as i64]), t(&base, &[nb as i64, d as i64]));
    let row = |v: &[f32], i: usize| v[i * d..(i + 1) * d].to_vec();
    let want: Vec<f32> = (0..q).flat_map(|i| (0..nb).map(move |j| (i, j))).map(|(i, j)| l2sqr(&row(&qs, i), &row(&base, j))).collect();
    let dist = search::pairwise_distances(&tq, &tbase, Metric::L2Sqr).unwrap();
    assert_eq!(dist.shape(), vec![q as i64, nb as i64]);
    close(&dist.to_vec().unwrap(), &want, 1e-4);
    let cos: Vec<f32> = (0..q).flat_map(|i| (0..nb).map(move |j| (i, j))).map(|(i, j)| {
        let (a, b) = (row(&qs, i), row(&base, j));
        dot(&a, &b) / (dot(&a, &a).sqrt() * dot(&b, &b).sqrt())
    }).collect();
    close(&search::pairwise_distances(&tq, &tbase, Metric::Cosine).unwrap().to_vec().unwrap(), &cos, 1e-5);

    // topk along the last axis, smallest first, against a sort (distinct values).
    let k = 4usize;
    let (vals, idx) = search::topk(&dist, k as i64, false).unwrap();
    assert_eq!(idx.dtype(), DType::I64);
    let mut want_i = Vec::new();
    for i in 0..q {
        let mut order: Vec<usize> = (0..nb).collect();
        order.sort_by(|&a, &b| want[i * nb + a].total_cmp(&want[i * nb + b]).then(a.cmp(&b)));
        want_i.extend(order[..k].iter().map(|&j| j as i64));
    }
    assert_eq!(idx.to_vec::<i64>().unwrap(), want_i);
    close(&vals.to_vec().unwrap(), &want_i.iter().enumerate().map(|(p, &j)| want[(p / k) * nb + j as usize]).collect::<Vec<_>>(), 1e-4);

    // The flat index returns the same neighbours, as ids.
    let index = IndexFlat::new(dev(), d as i64, &IndexFlatOptions::default()).unwrap();
    let ids: Vec<i64> = (0..nb as i64).map(|j| 1000 + j).collect();
    index.add(&tbase, Some(&ids)).unwrap();
    assert_eq!((index.ntotal().unwrap(), index.dim().unwrap()), (nb as i64, d as i64));
    let (dd, labels) = index.search(&tq, k as i64).unwrap();
    assert_eq!(labels.to_vec::<i64>().unwrap(), want_i.iter().map(|j| j + 1000).collect::<Vec<_>>());
    close(&dd.to_vec().unwrap(), &vals.to_vec().unwrap(), 1e-4);
    // A clone shares the index; removing the nearest neighbour of query 0 promotes the next one.
    let shared = index.clone();
    assert_eq!(shared.remove(&[1000 + want_i[0], 99_999]).unwrap(), 1);
    assert_eq!(index.ntotal().unwrap(), nb as i64 - 1);
    let (_, l0) = index.search(&tq.slice(0, 0, 1, 1).unwrap(), 1).unwrap();
    assert_eq!(l0.to_vec::<i64>().unwrap(), vec![1000 + want_i[1]]);
    index.reset().unwrap();
    assert_eq!(shared.ntotal().unwrap(), 0);
    index.add(&tbase.slice(0, 0, 2, 1).unwrap(), None).unwrap();
    let (_, l) = index.search(&tbase.slice(0, 1, 2, 1).unwrap(), 1).unwrap();
    assert_eq!(l.to_vec::<i64>().unwrap(), vec![1], "automatic ids restart at 0 after reset");
}

#[test]
fn search_errors() {
    let index = IndexFlat::new(dev(), 2, &IndexFlatOptions { metric: Metric::InnerProduct, ..Default::default() }).unwrap();
    index.add(&t(&[1.0, 0.0, 0.0, 1.0], &[2, 2]), None).unwrap();
    let e = index.search(&t(&[1.0, 1.0], &[1, 2]), 3).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("grl_index_flat_search"), "{}", e.message());
    // One id per row, checked before the C call reads the slice.
    let e = index.add(&t(&[1.0, 0.0, 0.0, 1.0], &[2, 2]), Some(&[7])).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Shape);
    assert!(e.message().contains("ids"), "{}", e.message());
    assert_eq!(IndexFlat::new(dev(), 0, &IndexFlatOptions::default()).unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(search::pairwise_distances(&t(&[1.0; 4], &[2, 2]), &t(&[1.0; 3], &[1, 3]), Metric::L2).unwrap_err().kind(), ErrorKind::Shape);
    assert_eq!(search::topk(&t(&[1.0; 4], &[4]), 5, true).unwrap_err().kind(), ErrorKind::InvalidArgument);
}

// ------------------------------------------------------------------ memory

#[test]
fn memory_kv_read_cells_and_episodic_store_match_the_reference() {
    let (m, dk, dv, nq) = (6usize, 4usize, 3usize, 2usize);
    let (q, k, v) = (data(nq * dk, 61), data(m * dk, 62), data(m * dv, 63));
    let out = memory::kv_memory_read(&t(&q, &[nq as i64, dk as i64]), &t(&k, &[m as i64, dk as i64]), &t(&v, &[m as i64, dv as i64]), None).unwrap();
    let mut want = Vec::new();
    for i in 0..nq {
        let s: Vec<f32> = (0..m).map(|j| dot(&q[i * dk..(i + 1) * dk], &k[j * dk..(j + 1) * dk]) / (dk as f32).sqrt()).collect();
        let mx = s.iter().cloned().fold(f32::MIN, f32::max);
        let z: f32 = s.iter().map(|x| (x - mx).exp()).sum();
        want.extend((0..dv).map(|c| (0..m).map(|j| (s[j] - mx).exp() / z * v[j * dv + c]).sum::<f32>()));
    }
    close(&out.to_vec().unwrap(), &want, 1e-5);

    // Place cells with a scalar width.
    let (pos, cen) = ([0.1f32, 0.2, 0.5, 0.5], [0.0f32, 0.0, 0.5, 0.4, 1.0, 1.0]);
    let pc = memory::place_cells(&t(&pos, &[2, 2]), &t(&cen, &[3, 2]), CellWidths::Scalar(0.3), 20.0, 1.0).unwrap();
    let want: Vec<f32> = (0..2).flat_map(|b| (0..3).map(move |n| (b, n))).map(|(b, n)| {
        1.0 + 20.0 * (-l2sqr(&pos[b * 2..b * 2 + 2], &cen[n * 2..n * 2 + 2]) / (2.0 * 0.09)).exp()
    }).collect();
    close(&pc.to_vec().unwrap(), &want, 1e-5);
    let per_cell = memory::place_cells(&t(&pos, &[2, 2]), &t(&cen, &[3, 2]), CellWidths::PerCell(&t(&[0.3; 3], &[3])), 20.0, 1.0).unwrap();
    close(&per_cell.to_vec().unwrap(), &want, 1e-5);

    // Episodic memory: cosine read, best first, usage counts.
    let store = EpisodicMemory::new(dev(), 4, 2, 1, Eviction::Oldest).unwrap();
    store.write(&t(&[1.0, 0.0, 0.0, 1.0, 1.0, 1.0], &[3, 2]), &t(&[10.0, 20.0, 30.0], &[3, 1])).unwrap();
    assert_eq!(store.size().unwrap(), 3);
    let r = store.read(&t(&[1.0, 0.2], &[1, 2]), 2).unwrap();
    let c = |a: [f32; 2], b: [f32; 2]| dot(&a, &b) / (dot(&a, &a).sqrt() * dot(&b, &b).sqrt());
    // cos to (1,0) = 0.981, to (1,1) = 0.832, to (0,1) = 0.196.
    assert_eq!(r.slots.to_vec::<i64>().unwrap(), vec![0, 2]);
    close(&r.scores.to_vec().unwrap(), &[c([1.0, 0.2], [1.0, 0.0]), c([1.0, 0.2], [1.0, 1.0])], 1e-5);
    close(&r.values.to_vec().unwrap(), &[10.0, 30.0], 0.0);
    assert_eq!(r.values.shape(), vec![1, 2, 1]);
    assert_eq!(store.usage().unwrap().to_vec::<i32>().unwrap(), vec![1, 0, 1, 0]);
    // Two more writes fill the last slot, then evict the oldest (slot 0).
    let shared = store.clone();
    shared.write(&t(&[0.0, -1.0, -1.0, 0.0], &[2, 2]), &t(&[40.0, 50.0], &[2, 1])).unwrap();
    assert_eq!(store.size().unwrap(), 4);
    let r = store.read(&t(&[-1.0, 0.0], &[1, 2]), 1).unwrap();
    assert_eq!((r.slots.to_vec::<i64>().unwrap(), r.values.to_vec::<f32>().unwrap()), (vec![0], vec![50.0]));
    store.clear().unwrap();
    assert_eq!(shared.size().unwrap(), 0);
}

#[test]
fn memory_errors() {
    let store = EpisodicMemory::new(dev(), 4, 2, 1, Eviction::LeastUsed).unwrap();
    store.write(&t(&[1.0, 0.0], &[1, 2]), &t(&[1.0], &[1, 1])).unwrap();
    let e = store.read(&t(&[1.0, 0.0], &[1, 2]), 2).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("grl_episodic_memory_read"), "{}", e.message());
    assert_eq!(store.write(&t(&[1.0; 3], &[1, 3]), &t(&[1.0], &[1, 1])).unwrap_err().kind(), ErrorKind::Shape);
    let e = memory::kv_memory_read(&t(&[1.0; 3], &[1, 3]), &t(&[1.0; 4], &[2, 2]), &t(&[1.0; 2], &[2, 1]), None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Shape);
    assert_eq!(EpisodicMemory::new(dev(), 0, 2, 1, Eviction::Oldest).unwrap_err().kind(), ErrorKind::InvalidArgument);
}

#[test]
fn owning_types_are_send_or_sync_as_promised() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<IndexFlat>();
    send_sync::<EpisodicMemory>();
    send::<Snn>();
}
