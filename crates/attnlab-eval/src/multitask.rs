//! Multi-task (ESMM-style) AUCs: CTR over impressions, CVR over clicked
//! impressions only, CTCVR over impressions.

use crate::{auc, EvalError, Result};

/// Labels and predictions of a click + conversion model, one row per impression.
#[derive(Debug, Clone, Copy)]
pub struct MultiTask<'a> {
    pub clicks: &'a [f32],
    /// Conversions; only rows with a click are read for CVR.
    pub conversions: &'a [f32],
    pub pctr: &'a [f32],
    /// pCVR = P(conversion | click, impression).
    pub pcvr: &'a [f32],
}

/// The three AUCs; each `None` when its labels have one class only.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MultiTaskAuc {
    /// AUC of pCTR against clicks over all impressions.
    pub ctr: Option<f64>,
    /// AUC of pCVR against conversions over clicked impressions only.
    pub cvr: Option<f64>,
    /// AUC of pCTR * pCVR against click * conversion over all impressions.
    pub ctcvr: Option<f64>,
}

/// CTR AUC: pCTR against clicks over all impressions.
pub fn ctr_auc(clicks: &[f32], pctr: &[f32]) -> Option<f64> {
    auc(clicks, pctr)
}

/// CVR AUC over clicked impressions only (click > 0.5).
pub fn cvr_auc(clicks: &[f32], conversions: &[f32], pcvr: &[f32]) -> Option<f64> {
    let (mut l, mut s) = (Vec::new(), Vec::new());
    for ((&c, &y), &p) in clicks.iter().zip(conversions).zip(pcvr) {
        if c > 0.5 {
            l.push(y);
            s.push(p);
        }
    }
    auc(&l, &s)
}

/// CTCVR AUC over all impressions: label click * conversion, score pCTR *
/// pCVR (the product taken in `f32`).
pub fn ctcvr_auc(clicks: &[f32], conversions: &[f32], pctr: &[f32], pcvr: &[f32]) -> Option<f64> {
    let l: Vec<f32> = clicks.iter().zip(conversions).map(|(&c, &y)| if c > 0.5 && y > 0.5 { 1.0 } else { 0.0 }).collect();
    let s: Vec<f32> = pctr.iter().zip(pcvr).map(|(&a, &b)| a * b).collect();
    auc(&l, &s)
}

/// All three AUCs; errors when the columns differ in length or a score is not finite.
pub fn multitask_auc(m: &MultiTask) -> Result<MultiTaskAuc> {
    let n = m.clicks.len();
    if m.conversions.len() != n || m.pctr.len() != n || m.pcvr.len() != n {
        return Err(EvalError::InvalidArgument(format!(
            "multi-task columns differ in length: {} clicks, {} conversions, {} pctr, {} pcvr",
            n,
            m.conversions.len(),
            m.pctr.len(),
            m.pcvr.len()
        )));
    }
    for col in [m.pctr, m.pcvr] {
        if let Some(index) = col.iter().position(|s| !s.is_finite()) {
            return Err(EvalError::NonFiniteScore { index });
        }
    }
    Ok(MultiTaskAuc {
        ctr: ctr_auc(m.clicks, m.pctr),
        cvr: cvr_auc(m.clicks, m.conversions, m.pcvr),
        ctcvr: ctcvr_auc(m.clicks, m.conversions, m.pctr, m.pcvr),
    })
}
