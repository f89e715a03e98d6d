//! Mixed precision on CUDA: the forward pass under libtorch autocast in
//! bf16 or fp16, with dynamic loss scaling for fp16. Requesting it on the
//! CPU is an error, never a silent fallback to fp32.

use tch::{Device, Tensor};

use crate::{Result, TrainError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Amp {
    #[default]
    None,
    Bf16,
    Fp16,
}

impl Amp {
    pub fn parse(s: &str) -> Option<Amp> {
        match s {
            "none" => Some(Amp::None),
            "bf16" => Some(Amp::Bf16),
            "fp16" => Some(Amp::Fp16),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Amp::None => "none",
            Amp::Bf16 => "bf16",
            Amp::Fp16 => "fp16",
        }
    }

    /// `amp` other than `none` needs a CUDA device.
    pub fn check(self, device: Device) -> Result<()> {
        if self != Amp::None && !device.is_cuda() {
            return Err(TrainError::Config(format!(
                "amp `{}` needs a CUDA device, but training runs on {device:?}; use amp: none on the CPU",
                self.name()
            )));
        }
        Ok(())
    }
}

// tch 0.26 exposes autocast on/off but not its dtype (always fp16 on CUDA);
// libtorch exports the setter, so it is declared here with its C++ name.
// c10::DeviceType and c10::ScalarType are `enum class : int8_t`.
unsafe extern "C" {
    #[link_name = "_ZN2at8autocast18set_autocast_dtypeEN3c1010DeviceTypeENS1_10ScalarTypeE"]
    fn at_set_autocast_dtype(device_type: i8, dtype: i8);
    #[link_name = "_ZN2at8autocast18get_autocast_dtypeEN3c1010DeviceTypeE"]
    fn at_get_autocast_dtype(device_type: i8) -> i8;
}

const DEVICE_TYPE_CUDA: i8 = 1;
const SCALAR_HALF: i8 = 5;
const SCALAR_BFLOAT16: i8 = 15;

/// Runs `f` (the forward pass) under autocast as `amp` asks; `Amp::None`
/// runs it as is. Call [`Amp::check`] first.
pub fn autocast<T>(amp: Amp, f: impl FnOnce() -> T) -> T {
    let dtype = match amp {
        Amp::None => return f(),
        Amp::Bf16 => SCALAR_BFLOAT16,
        Amp::Fp16 => SCALAR_HALF,
    };
    // SAFETY: plain setters/getters of libtorch's thread-local autocast state.
    let previous = unsafe {
        let previous = at_get_autocast_dtype(DEVICE_TYPE_CUDA);
        at_set_autocast_dtype(DEVICE_TYPE_CUDA, dtype);
        previous
    };
    let out = tch::autocast(true, f);
    unsafe { at_set_autocast_dtype(DEVICE_TYPE_CUDA, previous) };
    out
}

/// The autocast dtype libtorch will use on CUDA (for tests).
pub fn cuda_autocast_dtype_code() -> i8 {
    unsafe { at_get_autocast_dtype(DEVICE_TYPE_CUDA) }
}

/// Dynamic loss scaling for fp16 (as `torch.amp.GradScaler`): the loss is
/// multiplied by `scale` before backward; gradients are unscaled before
/// clipping and the step; a step whose gradients overflow is skipped and
/// halves the scale; 2000 clean steps double it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossScaler {
    pub scale: f64,
    pub clean_steps: usize,
}

impl Default for LossScaler {
    fn default() -> Self {
        LossScaler { scale: 65536.0, clean_steps: 0 }
    }
}

impl LossScaler {
    const GROWTH_INTERVAL: usize = 2000;

    pub fn scale_loss(&self, loss: &Tensor) -> Tensor {
        loss * self.scale
    }

    /// Divides every gradient by the scale; true if all are finite.
    pub fn unscale(&self, grads: &[Tensor]) -> bool {
        let _guard = tch::no_grad_guard();
        let mut finite = Vec::new();
        for g in grads.iter().filter(|g| g.defined()) {
            let mut g = g.shallow_clone();
            let _ = g.g_mul_scalar_(1.0 / self.scale);
            // (a sparse gradient's values: isfinite has no sparse kernel)
            let values = if g.is_sparse() { g.coalesce().values() } else { g };
            finite.push(values.isfinite().all());
        }
        finite.is_empty() || bool::try_from(Tensor::stack(&finite, 0).all()).unwrap_or(false)
    }

    /// After a step: `finite` = the gradients were usable (the step ran).
    pub fn update(&mut self, finite: bool) {
        if finite {
            self.clean_steps += 1;
            if self.clean_steps >= Self::GROWTH_INTERVAL {
                self.scale *= 2.0;
                self.clean_steps = 0;
            }
        } else {
            self.scale = (self.scale / 2.0).max(1.0);
            self.clean_steps = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amp_needs_cuda() {
        assert!(Amp::None.check(Device::Cpu).is_ok());
        let e = Amp::Bf16.check(Device::Cpu).unwrap_err().to_string();
        assert!(e.contains("amp `bf16` needs a CUDA device"), "{e}");
        assert!(Amp::Fp16.check(Device::Cpu).is_err());
        assert_eq!(Amp::parse("fp16"), Some(Amp::Fp16));
        assert_eq!(Amp::parse("fp32"), None);
    }

    #[test]
    fn loss_scaler_backs_off_and_grows() {
        let mut s = LossScaler::default();
        let g = Tensor::from_slice(&[65536.0f32, f32::INFINITY]);
        assert!(!s.unscale(&[g.shallow_clone()]));
        s.update(false);
        assert_eq!(s.scale, 32768.0);
        let g = Tensor::from_slice(&[32768.0f32]);
        assert!(s.unscale(&[g.shallow_clone()]));
        assert_eq!(f64::try_from(&g).unwrap(), 1.0);
        for _ in 0..2000 {
            s.update(true);
        }
        assert_eq!(s.scale, 65536.0);
    }

    #[test]
    fn the_autocast_dtype_setter_links_and_is_restored() {
        let before = cuda_autocast_dtype_code();
        let inside = autocast(Amp::Bf16, cuda_autocast_dtype_code);
        assert_eq!(inside, SCALAR_BFLOAT16);
        assert_eq!(cuda_autocast_dtype_code(), before);
    }
}
