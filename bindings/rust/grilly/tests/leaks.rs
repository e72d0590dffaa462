//! The safe wrappers release every handle they receive: after a round of calls through the
//! neuromorphic modules and their owning types, the process holds as many live tensors and
//! devices as before (`grl_live_handle_counts`). One test in its own binary, so that no other
//! test creates handles meanwhile.
use grilly::memory::{self, EpisodicMemory, Eviction, MemoryPool};
use grilly::online;
use grilly::search::{self, IndexFlat, IndexFlatOptions};
use grilly::snn::{self, NeuronKind, NeuronOptions, Snn, SnnOptions};
use grilly::synapse;
use grilly::{DType, Device, Tensor};

#[test]
fn wrappers_release_what_they_receive() {
    let before = grilly::live_handles().unwrap();
    {
        let dev = Device::new().unwrap();
        let after_open = grilly::live_handles().unwrap();
        assert_eq!(after_open.devices, before.devices + 1);
        let t = |v: &[f32], s: &[i64]| Tensor::from_slice(&dev, v, s).unwrap();
        let x = t(&[0.5; 12], &[3, 4]);
        let shared = x.clone();
        assert_eq!(grilly::live_handles().unwrap().tensors, after_open.tensors + 1, "a clone is the same tensor");
        drop(shared);

        let out = snn::spiking_neuron(&x, None, None, None, &NeuronOptions { kind: NeuronKind::Alif, ..Default::default() }).unwrap();
        assert!(out.w.is_some());
        let mut sim = Snn::new(&dev, 4, &SnnOptions::default()).unwrap();
        sim.process(&t(&[1.0; 4], &[4])).unwrap();
        let (_m, _r) = sim.state().unwrap();
        synapse::synapse_exp(&x, None, 1.0, 5.0, 1.0).unwrap();
        let (_mean, _w) = online::zca_fit(&x, 1e-5, 10).unwrap();
        let (_v, _i) = search::topk(&x, 2, true).unwrap();
        let index = IndexFlat::new(&dev, 4, &IndexFlatOptions::default()).unwrap();
        index.add(&x, None).unwrap();
        let (_d, _l) = index.clone().search(&x, 2).unwrap();
        let store = EpisodicMemory::new(&dev, 8, 4, 4, Eviction::Oldest).unwrap();
        store.write(&x, &x).unwrap();
        let _read = store.clone().read(&x, 2).unwrap();
        memory::memory_pool(&x.reshape(&[1, 3, 4]).unwrap(), MemoryPool::Max).unwrap();
        let _tuning = memory::time_cells_tuning(&dev, 5, 1.0, 10.0, true, 0.2, DType::F32).unwrap();
        dev.synchronize().unwrap();
    }
    let after = grilly::live_handles().unwrap();
    assert_eq!((after.tensors, after.devices), (before.tensors, before.devices), "before {before:?}, after {after:?}");
}
