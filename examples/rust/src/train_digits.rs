//! Trains a multilayer perceptron (64-128-128-10, ReLU, Adam) on the 8x8 digits
//! (examples/data/digits.u8: 1,797 images, 80/20 train/test split with a fixed shuffle) through
//! the safe Rust binding, and reports test accuracy; the same data, split, architecture,
//! initialisation and batches as examples/c/train_digits.c. With --graph the whole training step
//! (forward, backward, Adam) is captured once into a Graph and replayed per batch.
//! Usage: train_digits [--graph] [--epochs N] [--data PATH] [--quiet]
use grilly::{Device, DType, FanMode, Optimizer, OptimizerOptions, Reduction, Result, Tensor};
use std::process::ExitCode;

const N_IMAGES: usize = 1797;
const PIXELS: usize = 64;
const CLASSES: i64 = 10;
const HIDDEN: i64 = 128;
const BATCH: usize = 32;
const N_TRAIN: usize = 1437;

struct Mlp {
    w1: Tensor,
    b1: Tensor,
    w2: Tensor,
    b2: Tensor,
    w3: Tensor,
    b3: Tensor,
}

/// PyTorch's nn.Linear initialisation: kaiming_uniform(a = sqrt(5)) for the weight, uniform
/// +-1/sqrt(fan_in) for the bias.
fn layer(dev: &Device, out: i64, inp: i64, seed: u64) -> Result<(Tensor, Tensor)> {
    let w = Tensor::empty(dev, &[out, inp], DType::F32)?;
    w.init_kaiming_uniform_(5f64.sqrt(), FanMode::FanIn, seed)?;
    let bound = 1.0 / (inp as f64).sqrt();
    let b = Tensor::rand_uniform(dev, &[out], DType::F32, -bound, bound, seed + 1, 0)?;
    Ok((w.requires_grad_()?, b.requires_grad_()?))
}

impl Mlp {
    fn new(dev: &Device) -> Result<Mlp> {
        let (w1, b1) = layer(dev, HIDDEN, PIXELS as i64, 1)?;
        let (w2, b2) = layer(dev, HIDDEN, HIDDEN, 3)?;
        let (w3, b3) = layer(dev, CLASSES, HIDDEN, 5)?;
        Ok(Mlp { w1, b1, w2, b2, w3, b3 })
    }
    fn params(&self) -> [&Tensor; 6] {
        [&self.w1, &self.b1, &self.w2, &self.b2, &self.w3, &self.b3]
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = x.linear(&self.w1, Some(&self.b1))?.relu()?;
        let h = h.linear(&self.w2, Some(&self.b2))?.relu()?;
        h.linear(&self.w3, Some(&self.b3))
    }
}

fn train_step(m: &Mlp, opt: &Optimizer, x: &Tensor, y: &Tensor) -> Result<Tensor> {
    opt.zero_grad()?;
    let loss = m.forward(x)?.cross_entropy(y, -100, 0.0, Reduction::Mean)?;
    loss.backward()?;
    opt.step()?;
    Ok(loss)
}

fn accuracy(dev: &Device, m: &Mlp, x: &[f32], y: &[i64]) -> Result<f64> {
    let _no_grad = grilly::no_grad();
    let tx = Tensor::from_slice(dev, x, &[y.len() as i64, PIXELS as i64])?;
    let pred = m.forward(&tx)?.argmax(1, false)?.to_vec::<i64>()?;
    Ok(pred.iter().zip(y).filter(|(p, t)| p == t).count() as f64 / y.len() as f64)
}

fn lcg(state: &mut u64) -> u64 {
    *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    *state >> 33
}

fn run() -> std::result::Result<f64, Box<dyn std::error::Error>> {
    let (mut path, mut use_graph, mut epochs, mut quiet) = ("examples/data/digits.u8".to_string(), false, 40, false);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--graph" => use_graph = true,
            "--quiet" => quiet = true,
            "--epochs" => epochs = args.next().ok_or("--epochs needs a value")?.parse()?,
            "--data" => path = args.next().ok_or("--data needs a value")?,
            _ => return Err("usage: train_digits [--graph] [--epochs N] [--data PATH] [--quiet]".into()),
        }
    }
    let raw = std::fs::read(&path).map_err(|e| format!("cannot read {path}: {e} (see examples/data/README.md)"))?;
    if raw.len() != N_IMAGES * (PIXELS + 1) {
        return Err(format!("{path} has {} bytes, expected 1,797 x 65", raw.len()).into());
    }

    // A fixed shuffle, then 80% train / 20% test (the C example's generator and order).
    let mut order: Vec<usize> = (0..N_IMAGES).collect();
    let mut state = 20261123u64;
    for i in (1..N_IMAGES).rev() {
        let j = (lcg(&mut state) % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    let (mut xtr, mut ytr, mut xte, mut yte) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, &o) in order.iter().enumerate() {
        let r = &raw[o * (PIXELS + 1)..(o + 1) * (PIXELS + 1)];
        let (x, y) = if i < N_TRAIN { (&mut xtr, &mut ytr) } else { (&mut xte, &mut yte) };
        x.extend(r[..PIXELS].iter().map(|&p| p as f32 / 16.0));
        y.push(r[PIXELS] as i64);
    }

    let dev = Device::new()?;
    let info = dev.info()?;
    println!(
        "training a 64-128-128-10 MLP on {} digits ({} held out) on {}, {}",
        N_TRAIN, yte.len(), info.name, if use_graph { "replaying a captured graph" } else { "eager" }
    );
    let m = Mlp::new(&dev)?;
    let opt = Optimizer::new(&m.params(), &OptimizerOptions::adam(1e-3))?;

    let bx = Tensor::zeros(&dev, &[BATCH as i64, PIXELS as i64], DType::F32)?;
    let by = Tensor::zeros(&dev, &[BATCH as i64], DType::I64)?;
    let graph = if use_graph {
        let (g, loss) = dev.capture(|| train_step(&m, &opt, &bx, &by))?;
        g.set_input("x", &bx)?;
        g.set_input("y", &by)?;
        g.set_output("loss", &loss)?;
        println!("captured one training step: {} kernels, replayed as one submission per batch", g.op_count()?);
        Some(g)
    } else {
        None
    };

    let mut perm: Vec<usize> = (0..N_TRAIN).collect();
    let mut batch_x = vec![0f32; BATCH * PIXELS];
    let mut batch_y = vec![0i64; BATCH];
    for epoch in 1..=epochs {
        for i in (1..N_TRAIN).rev() {
            let j = (lcg(&mut state) % (i as u64 + 1)) as usize;
            perm.swap(i, j);
        }
        let mut last_loss = 0.0;
        let mut start = 0;
        while start + BATCH <= N_TRAIN {
            for b in 0..BATCH {
                let k = perm[start + b];
                batch_x[b * PIXELS..(b + 1) * PIXELS].copy_from_slice(&xtr[k * PIXELS..(k + 1) * PIXELS]);
                batch_y[b] = ytr[k];
            }
            let loss = match &graph {
                Some(g) => {
                    g.bind_host("x", &batch_x)?;
                    g.bind_host("y", &batch_y)?;
                    g.replay()?;
                    g.output("loss")?
                }
                None => {
                    bx.upload(&batch_x)?;
                    by.upload(&batch_y)?;
                    train_step(&m, &opt, &bx, &by)?
                }
            };
            if start + 2 * BATCH > N_TRAIN {
                last_loss = loss.item()?; // read the loss once per epoch, not per step
            }
            start += BATCH;
        }
        if !quiet && (epoch % 5 == 0 || epoch == 1) {
            let acc = accuracy(&dev, &m, &xte, &yte)?;
            println!("epoch {epoch:3}  last batch loss {last_loss:.4}  test accuracy {:.2}%", 100.0 * acc);
        }
    }
    let test_acc = accuracy(&dev, &m, &xte, &yte)?;
    let train_acc = accuracy(&dev, &m, &xtr, &ytr)?;
    println!(
        "final: train accuracy {:.2}%, test accuracy {:.2}% ({} test images)",
        100.0 * train_acc, 100.0 * test_acc, yte.len()
    );
    Ok(test_acc)
}

fn main() -> ExitCode {
    match run() {
        Ok(acc) if acc >= 0.96 => ExitCode::SUCCESS,
        Ok(acc) => {
            eprintln!("FAILED: test accuracy {:.2}% is below 96%", 100.0 * acc);
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("train_digits: {e}");
            ExitCode::FAILURE
        }
    }
}
