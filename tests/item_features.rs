//! Item side features from the RecBole `.item` file fused into next-item
//! models, cold items measured apart, user groups from the `.user` file
//! compared, and the refusals of bad settings.

use crate::util::{quickstart, Scratch};

const GENRES: usize = 4;
const ITEMS: usize = 24;

/// A toy RecBole data set in `toy/`: 40 users with 6 items each, all of the
/// user's genre; `toy.item` gives each item its genre (plus `new` on even
/// items: 5 tokens) and a float score.
fn write_toy(s: &Scratch, score_of_item_2: &str) {
    std::fs::create_dir_all(s.path("toy")).unwrap();
    let mut inter = String::from("user_id:token\titem_id:token\ttimestamp:float\n");
    for u in 0..40 {
        for k in 0..6 {
            let item = 1 + (u % GENRES) + GENRES * ((u + k) % (ITEMS / GENRES));
            inter += &format!("u{u}\ti{item}\t{}\n", 1000 + 10 * k);
        }
    }
    s.write("toy/toy.inter", &inter);
    let mut items = String::from("item_id:token\tclass:token_seq\tscore:float\n");
    for i in 1..=ITEMS {
        let new = if i % 2 == 0 { " new" } else { "" };
        let score = if i == 2 { score_of_item_2.to_string() } else { format!("{}", i as f32 / 4.0) };
        items += &format!("i{i}\tg{}{new}\t{score}\n", i % GENRES);
    }
    s.write("toy/toy.item", &items);
    let users: String = (0..40).map(|u| format!("u{u}\t{}\t{}\n", if u % 2 == 0 { "M" } else { "F" }, 20 + u)).collect();
    s.write("toy/toy.user", &format!("user_id:token\tgender:token\tage:float\n{users}"));
}

fn spec(s: &Scratch) -> String {
    let text = "name: toy\ndataset: { source: recbole-atomic, path: toy }\ntrain: { epochs: 1, batch_size: 64, threads: 1 }\n\
                models:\n  - { name: sasrec, model: SASRec, params: { hidden: 8, layers: 1, heads: 1, inner: 16 } }\n";
    s.write("toy.yaml", text).display().to_string()
}

/// The trainable parameters of each run of `experiment`, by run name.
fn parameters(s: &Scratch, experiment: &str) -> std::collections::BTreeMap<String, u64> {
    let runs: serde_json::Value = serde_json::from_str(&s.attnlab(&["runs", "list", experiment, "--json"]).ok().stdout()).unwrap();
    let runs = runs.as_array().unwrap();
    runs.iter().map(|r| (r["name"].as_str().unwrap().to_string(), r["tags"]["model.parameters"].as_str().unwrap().parse().unwrap())).collect()
}

/// With `[class, score]` a model gains exactly a class table (5 tokens +
/// padding, 8 wide) and one score vector (8): 56 parameters; a model's own
/// `item_features: []` keeps it on ids, its `[score]` takes only the vector.
#[test]
fn item_features_add_their_tables_to_the_model() {
    let s = Scratch::new();
    write_toy(&s, "0.5");
    let spec = spec(&s);
    let params = "params: { hidden: 8, layers: 1, heads: 1, inner: 16 }";
    let models = format!(
        "models=[{{name: ids, model: SASRec, {params}, item_features: []}}, {{name: fused, model: SASRec, {params}}}, \
         {{name: score, model: SASRec, {params}, item_features: [score]}}]"
    );
    let out = s.attnlab(&["run", &spec, "dataset.item_features=[class, score]", &models]).ok().stdout();
    assert!(out.contains("test.ndcg@10"), "{out}");
    let p = parameters(&s, "toy");
    assert_eq!((p["fused"] - p["ids"], p["score"] - p["ids"]), (6 * 8 + 8, 8), "{p:?}");
}

#[test]
fn bad_item_features_exit_2_naming_the_place() {
    let s = Scratch::new();
    write_toy(&s, "0.5");
    let spec = spec(&s);
    let run = s.attnlab(&["run", &spec, "dataset.item_features=[class, genre]"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("toy.yaml: dataset.item_features[1]: `genre` is not an item column (the item file has: class, score)"), "{}", run.stderr());
    let run = s.attnlab(&["run", &spec, "dataset.item_features=[class, class]"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("dataset.item_features[1]: `class` is named twice"), "{}", run.stderr());
    let run = s.attnlab(&["run", &spec, "models=[{name: a, model: BPR}, {name: b, model: BPR, item_features: [year]}]"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("toy.yaml: models[1].item_features[0]: `year` is not an item column"), "{}", run.stderr());
    let run = s.attnlab(&["run", &quickstart(), "dataset.item_features=[class]"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("dataset.item_features"), "{}", run.stderr());
    write_toy(&s, "lots");
    let run = s.attnlab(&["run", &spec, "dataset.item_features=[class]"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("toy.item:3: field 3 (score)"), "{}", run.stderr());
    assert!(!s.db().exists(), "nothing written");
}

/// The test metrics of the one run of `experiment`.
fn test_metrics(s: &Scratch, experiment: &str) -> serde_json::Value {
    let runs: serde_json::Value = serde_json::from_str(&s.attnlab(&["runs", "list", experiment, "--json"]).ok().stdout()).unwrap();
    runs[0]["metrics"].clone()
}

/// `protocol.cold_items`: the run reports its metrics on the held-out
/// items' test rows beside the overall ones; a share outside (0, 1) exits 2.
#[test]
fn cold_items_are_measured_apart() {
    let s = Scratch::new();
    write_toy(&s, "0.5");
    let spec = spec(&s);
    let run = s.attnlab(&["run", &spec, "protocol.cold_items=1.5"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("protocol.cold_items"), "{}", run.stderr());
    let run = s.attnlab(&["run", &spec, "name=toy-cold", "protocol.cold_items=0.25", "dataset.item_features=[class]"]).ok();
    assert!(run.stderr().contains("sequences of 50, 25% of the items cold"), "{}", run.stderr());
    let metrics = test_metrics(&s, "toy-cold");
    for key in ["test.ndcg@10", "test.cold.ndcg@10", "test.cold.hit@10"] {
        let v = metrics[key].as_f64().unwrap_or_else(|| panic!("no {key} in {metrics}"));
        assert!((0.0..=1.0).contains(&v), "{key} {v}");
    }
    let run = s.attnlab(&["run", &spec, "name=toy-cold-exposure", "protocol.cold_items=0.25", "protocol.metrics=[ndcg@10, exposuregini@10]"]).ok();
    let metrics = test_metrics(&s, "toy-cold-exposure");
    assert!(metrics["test.exposuregini@10"].is_number() && metrics["test.cold.ndcg@10"].is_number(), "{metrics}");
    assert!(metrics.get("test.cold.exposuregini@10").is_none(), "no exposure metric of cold-only lists: {metrics} {}", run.stderr());
    s.attnlab(&["run", &spec, "name=toy-warm"]).ok();
    let warm = test_metrics(&s, "toy-warm");
    assert!(warm["test.ndcg@10"].is_number() && warm.get("test.cold.ndcg@10").is_none(), "{warm}");
}

/// `protocol.user_groups: [gender]`: the gap between the genders' mean
/// per-user metrics, with a CI around it; a float or unknown column exits 2.
#[test]
fn user_groups_report_their_gap() {
    let s = Scratch::new();
    write_toy(&s, "0.5");
    let spec = spec(&s);
    let run = s.attnlab(&["run", &spec, "protocol.user_groups=[age]"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("protocol.user_groups[0]: `age` is a float column"), "{}", run.stderr());
    let run = s.attnlab(&["run", &spec, "protocol.user_groups=[job]"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("protocol.user_groups[0]: `job` is not a user column (the user file has: gender, age)"), "{}", run.stderr());
    s.attnlab(&["run", &spec, "protocol.user_groups=[gender]"]).ok();
    let m = test_metrics(&s, "toy");
    let get = |k: &str| m[k].as_f64().unwrap_or_else(|| panic!("no {k} in {m}"));
    let (gap, low, high) = (get("test.gap.gender.ndcg@10"), get("test.gap.gender.ndcg@10.ci_low"), get("test.gap.gender.ndcg@10.ci_high"));
    assert!(gap >= 0.0 && low <= high && high - low > 0.0, "{gap} [{low}, {high}]");
    assert!(get("test.gap.gender.hit@10") >= 0.0);
}

/// `dataset.item_embeddings`: a CSV of vectors keyed by the original item
/// ids, named in `item_features`; a model gains only its adapter (4 x 8
/// weights + 8 biases); items without a line are counted; a line of another
/// width or a repeated id exits 2 naming the file, line and id.
#[test]
fn pretrained_item_embeddings_from_a_file() {
    let s = Scratch::new();
    write_toy(&s, "0.5");
    let spec = spec(&s);
    // one-hot genre vectors for every item but i24, and one unknown item
    let mut csv: String = (1..ITEMS).map(|i| format!("i{i},{}\n", (0..GENRES).map(|g| if i % GENRES == g { "1" } else { "0" }).collect::<Vec<_>>().join(","))).collect();
    csv += "i99,0,0,0,1\n";
    s.write("toy/emb.csv", &csv);
    let params = "params: { hidden: 8, layers: 1, heads: 1, inner: 16 }";
    let models = format!("models=[{{name: ids, model: SASRec, {params}}}, {{name: text, model: SASRec, {params}, item_features: [text]}}]");
    let run = s.attnlab(&["run", &spec, "dataset.item_embeddings={file: emb.csv, name: text}", &models]).ok();
    let said = format!("{}{}", run.stdout(), run.stderr());
    assert!(said.contains("emb.csv: 4-dimensional vectors for 23 items (1 items without one: zero vectors; 1 lines of unknown items skipped)"), "{said}");
    let p = parameters(&s, "toy");
    assert_eq!(p["text"] - p["ids"], 4 * 8 + 8, "{p:?}");
    s.write("toy/emb.csv", &format!("{csv}i24,1,0\n"));
    let run = s.attnlab(&["run", &spec, "name=toy-bad", "dataset.item_embeddings={file: emb.csv, name: text}", &models]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("emb.csv:25: item `i24` has 2 values, the first line 4"), "{}", run.stderr());
    s.write("toy/emb.csv", &format!("{csv}i3,1,0,0,0\n"));
    let run = s.attnlab(&["run", &spec, "name=toy-bad", "dataset.item_embeddings={file: emb.csv, name: text}", &models]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("emb.csv:25: item `i3` is listed twice"), "{}", run.stderr());
}

/// The item file changes no row, but the runs of a spec that fuses its
/// columns read it: editing it makes the next `run` train again instead of
/// taking the finished runs (the data fingerprint hashes it).
#[test]
fn editing_the_item_file_makes_new_runs_of_a_spec_that_reads_it() {
    let s = Scratch::new();
    write_toy(&s, "0.5");
    let spec = spec(&s);
    let params = "params: { hidden: 8, layers: 1, heads: 1, inner: 16 }";
    let models = format!("models=[{{name: ids, model: SASRec, {params}, item_features: []}}, {{name: fused, model: SASRec, {params}}}]");
    let run = |s: &Scratch| s.attnlab(&["run", &spec, "dataset.item_features=[class, score]", &models]).ok();
    let finished = |s: &Scratch| {
        let runs: serde_json::Value = serde_json::from_str(&s.attnlab(&["runs", "list", "toy", "--json"]).ok().stdout()).unwrap();
        let mut names: Vec<String> = runs.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_string()).collect();
        names.sort();
        names
    };
    run(&s);
    run(&s);
    assert_eq!(finished(&s), ["fused", "ids"], "unchanged files: both runs are taken as finished");
    write_toy(&s, "7.5");
    run(&s);
    assert_eq!(finished(&s), ["fused", "fused", "ids", "ids"], "an edited item file: the spec's runs train again");
}

/// `dataset.item_embeddings` from a NumPy `.npy` matrix or a
/// `.safetensors` tensor, the row ids in a key file (default `<stem>.keys`,
/// or `key:`): the same vectors as the CSV form, the same counts; a key
/// file with a repeated id, one with too few ids, or an array that is not a
/// matrix exits 2 naming the file (and the line and id).
#[test]
fn pretrained_item_embeddings_from_npy_and_safetensors() {
    let s = Scratch::new();
    write_toy(&s, "0.5");
    let spec = spec(&s);
    // one-hot genre rows for i1..i23 and the unknown i99
    let ids: Vec<String> = (1..ITEMS).map(|i| format!("i{i}")).chain(["i99".to_string()]).collect();
    let values: Vec<f32> = (1..ITEMS).flat_map(|i| (0..GENRES).map(move |g| f32::from(u8::from(i % GENRES == g)))).chain([0.0, 0.0, 0.0, 1.0]).collect();
    let matrix = tch::Tensor::from_slice(&values).view([ITEMS as i64, GENRES as i64]);
    matrix.write_npy(s.path("toy/emb.npy")).unwrap();
    tch::Tensor::write_safetensors(&[("embeddings", &matrix)], s.path("toy/emb.safetensors")).unwrap();
    s.write("toy/emb.keys", &(ids.join("\n") + "\n"));
    s.write("toy/ids.txt", &(ids.join("\n") + "\n"));
    let params = "params: { hidden: 8, layers: 1, heads: 1, inner: 16 }";
    let models = format!("models=[{{name: ids, model: SASRec, {params}}}, {{name: text, model: SASRec, {params}, item_features: [text]}}]");
    for (name, file) in [("npy", "{file: emb.npy, name: text}"), ("st", "{file: emb.safetensors, key: ids.txt, name: text}")] {
        let run = s.attnlab(&["run", &spec, &format!("name=toy-{name}"), &format!("dataset.item_embeddings={file}"), &models]).ok();
        let said = format!("{}{}", run.stdout(), run.stderr());
        assert!(said.contains("4-dimensional vectors for 23 items (1 items without one: zero vectors; 1 lines of unknown items skipped)"), "{said}");
        let p = parameters(&s, &format!("toy-{name}"));
        assert_eq!(p["text"] - p["ids"], 4 * 8 + 8, "{name}: {p:?}");
    }
    let refused = |setting: &str, says: &str| {
        let run = s.attnlab(&["run", &spec, "name=toy-bad", &format!("dataset.item_embeddings={setting}"), &models]);
        assert_eq!(run.code(), 2, "{}", run.stderr());
        assert!(run.stderr().contains(says), "{setting}: {}", run.stderr());
    };
    let mut twice = ids.clone();
    twice[3] = "i3".into();
    s.write("toy/ids.txt", &twice.join("\n"));
    refused("{file: emb.safetensors, key: ids.txt, name: text}", "ids.txt:4: item `i3` is listed twice");
    s.write("toy/emb.keys", &ids[..20].join("\n"));
    refused("{file: emb.npy, name: text}", "emb.keys: 20 ids for the 24 rows of");
    matrix.view([2, 12, 4]).write_npy(s.path("toy/emb.npy")).unwrap();
    refused("{file: emb.npy, name: text}", "emb.npy: holds a 3-dimensional array [2, 12, 4]; expected a matrix [items, dim]");
    assert!(!s.attnlab(&["runs", "list"]).ok().stdout().contains("toy-bad"), "no run of a refused spec");
}

/// `dataset.user_embeddings`: vectors keyed by the original user ids, here
/// a `.npy` matrix and its key file; BPR adds them to its user vectors
/// through an adapter (2 x 16 weights + 16 biases), SASRec has no user
/// vector and is unchanged; users without a row are counted; a repeated
/// user id exits 2 naming the key file, line and id.
#[test]
fn pretrained_user_embeddings_reach_bpr() {
    let s = Scratch::new();
    write_toy(&s, "0.5");
    let spec = spec(&s);
    let ids: Vec<String> = (0..39).map(|u| format!("u{u}")).chain(["nobody".to_string()]).collect();
    let values: Vec<f32> = (0..40).flat_map(|u| [f32::from(u8::from(u % 2 == 0)), f32::from(u8::from(u % 2 == 1))]).collect();
    tch::Tensor::from_slice(&values).view([40, 2]).write_npy(s.path("toy/users.npy")).unwrap();
    s.write("toy/users.keys", &ids.join("\n"));
    let models = "models=[{name: bpr, model: BPR, params: {embed_dim: 16}}, {name: sasrec, model: SASRec, params: { hidden: 8, layers: 1, heads: 1, inner: 16 }}]";
    s.attnlab(&["run", &spec, "name=toy-ids", models]).ok();
    let run = s.attnlab(&["run", &spec, "dataset.user_embeddings={file: users.npy}", models]).ok();
    let said = format!("{}{}", run.stdout(), run.stderr());
    assert!(said.contains("users.npy: 2-dimensional vectors for 39 users (1 users without one: zero vectors; 1 lines of unknown users skipped)"), "{said}");
    let (with, without) = (parameters(&s, "toy"), parameters(&s, "toy-ids"));
    assert_eq!(with["bpr"] - without["bpr"], 2 * 16 + 16, "{with:?} {without:?}");
    assert_eq!(with["sasrec"], without["sasrec"]);
    let mut twice = ids.clone();
    twice[5] = "u2".into();
    s.write("toy/users.keys", &twice.join("\n"));
    let run = s.attnlab(&["run", &spec, "name=toy-bad", "dataset.user_embeddings={file: users.npy}", models]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("users.keys:6: user `u2` is listed twice"), "{}", run.stderr());
}

/// `text:<column>` is the column's hashed n-gram bag: a table of 4096
/// buckets + padding (8 wide); `item_fusion: concat` adds the `[2 x 8, 8]`
/// projection to the class table; a float column is no text (exit 2).
#[test]
fn text_features_and_concat_fusion_from_the_spec() {
    let s = Scratch::new();
    write_toy(&s, "0.5");
    let spec = spec(&s);
    let params = "params: { hidden: 8, layers: 1, heads: 1, inner: 16 }";
    let models = format!(
        "models=[{{name: ids, model: SASRec, {params}, item_features: []}}, {{name: text, model: SASRec, {params}, item_features: [\"text:class\"]}}, \
         {{name: concat, model: SASRec, {params}, item_features: [class], item_fusion: concat}}]"
    );
    s.attnlab(&["run", &spec, &models]).ok();
    let p = parameters(&s, "toy");
    assert_eq!((p["text"] - p["ids"], p["concat"] - p["ids"]), (4097 * 8, 6 * 8 + 16 * 8), "{p:?}");
    let run = s.attnlab(&["run", &spec, "name=toy-bad", "dataset.item_features=[\"text:score\"]"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("dataset.item_features[0]: invalid text feature: `score` is a float column"), "{}", run.stderr());
    let run = s.attnlab(&["run", &spec, "name=toy-bad", &format!("models=[{{name: a, model: SASRec, {params}, item_fusion: concat}}]")]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("models[0].item_fusion"), "{}", run.stderr());
}

/// `dataset.user_features: [gender, age]`: BPR and Caser add a gender
/// table (2 tokens + padding, 16 wide) and an age vector (16) to their user
/// vectors, SASRec has none and is unchanged, a model's own `[]` keeps BPR
/// on ids; an unknown column or a missing user file exits 2 naming the key
/// and the file.
#[test]
fn user_features_reach_the_models_with_a_user_vector() {
    let s = Scratch::new();
    write_toy(&s, "0.5");
    let spec = spec(&s);
    let models = "models=[{name: bpr, model: BPR, params: {embed_dim: 16}}, {name: caser, model: Caser, params: {embed_dim: 16, window: 2, horizontal: 2, vertical: 1}}, \
                  {name: ids, model: BPR, params: {embed_dim: 16}, user_features: []}, {name: sasrec, model: SASRec, params: { hidden: 8, layers: 1, heads: 1, inner: 16 }}]";
    s.attnlab(&["run", &spec, "name=toy-ids", models]).ok();
    s.attnlab(&["run", &spec, models, "dataset.user_features=[gender, age]"]).ok();
    let (with, without) = (parameters(&s, "toy"), parameters(&s, "toy-ids"));
    assert_eq!((with["bpr"] - without["bpr"], with["caser"] - without["caser"]), (3 * 16 + 16, 3 * 16 + 16), "{with:?} {without:?}");
    assert_eq!((with["ids"], with["sasrec"]), (without["ids"], without["sasrec"]), "{with:?} {without:?}");
    let run = s.attnlab(&["run", &spec, "name=toy-bad", models, "dataset.user_features=[gender, job]"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("toy.yaml: dataset.user_features[1]: `job` is not a user column (the user file has: gender, age)"), "{}", run.stderr());
    std::fs::remove_file(s.path("toy/toy.user")).unwrap();
    let run = s.attnlab(&["run", &spec, "name=toy-nofile", models, "dataset.user_features=[gender]"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("toy.yaml: dataset.user_features[0]: the data beside") && run.stderr().contains("toy.inter have no user file"), "{}", run.stderr());
    let run = s.attnlab(&["run", &crate::util::quickstart(), "dataset.user_features=[gender]"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("dataset.user_features"), "{}", run.stderr());
}
