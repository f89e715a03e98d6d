//! `attnlab serve --bundle DIR`: a bundle written by `attnlab export`
//! served without the store. The model is built from the bundle's resolved
//! spec (`spec.yaml`) and id spaces, its weights read from
//! `weights.safetensors` (an int8 table, `NAME` with its `NAME.scale`, is
//! dequantized to f32 here, as the export evaluated it), its vocabularies
//! from `vocab.json`, its users' state from `serving.json` and what
//! `GET /v1/models` shows from `model_card.json`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use attnlab_data::Vocab;
use attnlab_models::NextItemSizes;
use serde_json::Value;
use tch::{Kind, Tensor};

use crate::catalog::Identity;
use crate::state::ServingState;
use crate::{Batching, Metrics, Result, ServeError, ServedModel};

/// The files of a bundle.
pub const WEIGHTS: &str = "weights.safetensors";
pub const VOCAB: &str = "vocab.json";
pub const SPEC: &str = "spec.yaml";
pub const CARD: &str = "model_card.json";
pub const STATE: &str = "serving.json";

fn read(dir: &Path, name: &str) -> Result<String> {
    let path = dir.join(name);
    std::fs::read_to_string(&path).map_err(|e| ServeError::bad(format!("{}: {e} (is {} a bundle written by attnlab export?)", path.display(), dir.display())))
}

fn read_json(dir: &Path, name: &str) -> Result<Value> {
    let path = dir.join(name);
    serde_json::from_str(&read(dir, name)?).map_err(|e| ServeError::bad(format!("{}: line {}: {e}", path.display(), e.line())))
}

fn text(v: &Value, file: &str, name: &str) -> Result<String> {
    v.get(name).and_then(Value::as_str).map(str::to_string).ok_or_else(|| ServeError::bad(format!("{file}: field `{name}` is missing or not a string")))
}

/// The vocabulary listed under `name`: token `k` gets id `specials + k`.
fn vocab(v: &Value, file: &str, name: &str, mut vocab: Vocab) -> Result<Vocab> {
    let tokens = v.get(name).and_then(Value::as_array).ok_or_else(|| ServeError::bad(format!("{file}: field `{name}` is missing or not a list")))?;
    for (k, token) in tokens.iter().enumerate() {
        let token = token.as_str().ok_or_else(|| ServeError::bad(format!("{file}: field `{name}[{k}]` is not a string")))?;
        if vocab.get(token).is_some() {
            return Err(ServeError::bad(format!("{file}: field `{name}[{k}]`: `{token}` is listed twice")));
        }
        vocab.intern(token);
    }
    Ok(vocab)
}

/// Loads the bundle in `dir` and starts its scoring thread.
pub fn load_bundle(dir: &Path, batching: Batching, metrics: Arc<Metrics>, device: tch::Device) -> Result<ServedModel> {
    let shown = |name: &str| dir.join(name).display().to_string();
    let card = read_json(dir, CARD)?;
    let vocabs = read_json(dir, VOCAB)?;
    let users = vocab(&vocabs, &shown(VOCAB), "users", Vocab::unpadded())?;
    // item ids start after PAD, as the trained model's do
    if vocabs.get("item_ids_start_at").and_then(Value::as_u64) != Some(1) {
        return Err(ServeError::bad(format!("{}: field `item_ids_start_at` must be 1 (item id 0 is padding)", shown(VOCAB))));
    }
    let items = vocab(&vocabs, &shown(VOCAB), "items", Vocab::padded())?;
    let state = ServingState::from_json(&read_json(dir, STATE)?, &shown(STATE), users.len())?;
    if items.len() + items.specials() as usize != state.num_items {
        return Err(ServeError::bad(format!("{}: {} items, but {} says the model has {}", shown(VOCAB), items.len(), shown(STATE), state.num_items - 1)));
    }

    let name = text(&card, &shown(CARD), "name")?;
    let spec = attnlab_spec::parse_spec(&read(dir, SPEC)?, &dir.join(SPEC), &[]).map_err(|e| ServeError::bad(e.to_string()))?;
    let model_spec = spec.models.iter().find(|m| m.name == name).ok_or_else(|| ServeError::bad(format!("{}: no model named `{name}` (the model card's)", shown(SPEC))))?;
    // a bundle holds no item feature values to rebuild the fused item table from
    if !model_spec.item_features.as_ref().unwrap_or(&spec.dataset.item_features).is_empty() {
        return Err(ServeError::bad(format!("{}: model `{name}` fuses item side features, which cannot be served yet", shown(SPEC))));
    }
    let vs = tch::nn::VarStore::new(device);
    let sizes = NextItemSizes { users: users.len(), items: state.num_items, max_len: state.max_len };
    let net = attnlab_models::build_next_item(&model_spec.model, &vs.root(), &sizes, &model_spec.params, Some(state.popularity.as_slice()), None)
        .map_err(|e| ServeError::bad(format!("{}: model `{name}`: {e}", shown(SPEC))))?;
    if state.sequential && !net.sequential() {
        return Err(ServeError::bad(format!("{}: field `sequential`: the model `{name}` does not read histories", shown(STATE))));
    }
    load_weights(&vs, &dir.join(WEIGHTS))?;

    let tag = |key: &str| card.get("provenance").and_then(|p| p.get(key)).and_then(Value::as_str).unwrap_or_default().to_string();
    let metrics_of_run: BTreeMap<String, f64> = card
        .get("metrics")
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| v.as_f64().map(|v| (k.clone(), v))).collect())
        .unwrap_or_default();
    let identity = Identity {
        run_id: text(&card, &shown(CARD), "run")?,
        name,
        model: text(&card, &shown(CARD), "model")?,
        experiment: text(&card, &shown(CARD), "experiment")?,
        spec_fingerprint: tag("spec.fingerprint"),
        data_fingerprint: text(&card, &shown(CARD), "data_fingerprint")?,
        metrics: metrics_of_run,
    };
    ServedModel::assemble(identity, state, (users, items), net, vs, batching, metrics, device)
}

/// Copies every variable of `vs` from `path`, int8 tables dequantized
/// (`code * scale` per row); a variable missing or of another shape is
/// refused by name.
fn load_weights(vs: &tch::nn::VarStore, path: &Path) -> Result<()> {
    let shown = path.display();
    let stored: HashMap<String, Tensor> = Tensor::read_safetensors(path)
        .map_err(|e| ServeError::bad(format!("{shown}: {e}")))?
        .into_iter()
        .collect();
    for (name, mut var) in vs.variables() {
        let t = stored.get(&name).ok_or_else(|| ServeError::bad(format!("{shown}: the model's variable `{name}` is missing")))?;
        let value = match t.kind() {
            Kind::Int8 => {
                let scale = stored.get(&format!("{name}.scale")).ok_or_else(|| ServeError::bad(format!("{shown}: `{name}` is int8 but `{name}.scale` is missing")))?;
                if t.dim() != 2 || scale.size() != [t.size()[0]] {
                    return Err(ServeError::bad(format!("{shown}: `{name}.scale` has shape {:?}, not one scale per row of {:?}", scale.size(), t.size())));
                }
                t.to_kind(Kind::Float) * scale.to_kind(Kind::Float).view([-1, 1])
            }
            _ => t.to_kind(var.kind()),
        };
        if value.size() != var.size() {
            return Err(ServeError::bad(format!("{shown}: `{name}` has shape {:?}, the model {:?}", value.size(), var.size())));
        }
        tch::no_grad(|| var.copy_(&value));
    }
    Ok(())
}
