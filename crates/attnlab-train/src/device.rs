use tch::{Cuda, Device};

use crate::{Result, TrainError};

/// A requested device (the spec's `train.device`, parsed by the caller:
/// train knows no spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// CUDA device 0 when there is one, else the CPU.
    Auto,
    Cpu,
    Cuda(usize),
}

/// What `train.device` resolved to, for provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    pub device: Device,
    pub label: String,
}

pub fn resolve_device(choice: DeviceChoice) -> Result<DeviceInfo> {
    let cuda_count = if Cuda::is_available() { Cuda::device_count() as usize } else { 0 };
    match choice {
        DeviceChoice::Cpu => Ok(DeviceInfo { device: Device::Cpu, label: "cpu".into() }),
        DeviceChoice::Auto if cuda_count > 0 => Ok(DeviceInfo { device: Device::Cuda(0), label: "cuda:0".into() }),
        DeviceChoice::Auto => Ok(DeviceInfo { device: Device::Cpu, label: "cpu".into() }),
        DeviceChoice::Cuda(i) if i < cuda_count => Ok(DeviceInfo { device: Device::Cuda(i), label: format!("cuda:{i}") }),
        DeviceChoice::Cuda(i) => Err(TrainError::Device {
            requested: format!("cuda:{i}"),
            reason: format!("{cuda_count} CUDA device(s) visible"),
        }),
    }
}
