//! `protocol.providers`: disparity of exposure among the providers named
//! by an item column, through a real run of the popularity model, against
//! values computed by hand; the refusals of a bad column.

use crate::util::Scratch;

/// Six users in `shop/`. Training: everyone has `a1`, u0..u3 also `b1`, so
/// the popularity ranking's top 2 is `a1`, `b1` for every user (history
/// stays rankable). Valid: `v1`. Test: `a2` for u0, u2, u4, `b2` for u1,
/// u3, u5. Provider A holds a1, a2, v1; B holds b1, b2.
fn write_shop(s: &Scratch) -> String {
    std::fs::create_dir_all(s.path("shop")).unwrap();
    let mut inter = String::from("user_id:token\titem_id:token\ttimestamp:float\n");
    for u in 0..6 {
        inter += &format!("u{u}\ta1\t1\n");
        if u < 4 {
            inter += &format!("u{u}\tb1\t2\n");
        }
        inter += &format!("u{u}\tv1\t3\n");
        inter += &format!("u{u}\t{}\t4\n", if u % 2 == 0 { "a2" } else { "b2" });
    }
    s.write("shop/shop.inter", &inter);
    let items = "item_id:token\tprovider:token\tprice:float\na1\tA\t1\na2\tA\t2\nb1\tB\t3\nb2\tB\t4\nv1\tA\t5\n";
    s.write("shop/shop.item", items);
    let spec = "name: shop\ndataset: { source: recbole-atomic, path: shop }\n\
                protocol: { split: leave-one-out, order: time, exclude_history: false, metrics: [ndcg@2, exposuregini@2], valid_metric: ndcg@2 }\n\
                train: { epochs: 1, batch_size: 8, threads: 1 }\nmodels:\n  - { name: pop, model: Pop }\n";
    s.write("shop.yaml", spec).display().to_string()
}

/// Every user's top 2 is [a1, b1]: A gets 6 first places (exposure 6),
/// B 6 second places (6 / log2 3); the test rows are half A's, half B's.
/// So A's exposure share is 1 / (1 + c) with c = 1 / log2 3, its ratio
/// twice that, and the disparity 2 (1 - c) / (1 + c).
#[test]
fn disparity_of_exposure_among_providers_by_hand() {
    let s = Scratch::new();
    let spec = write_shop(&s);
    s.attnlab(&["run", &spec, "protocol.providers=provider"]).ok();
    let runs: serde_json::Value = serde_json::from_str(&s.attnlab(&["runs", "list", "shop", "--json"]).ok().stdout()).unwrap();
    let m = &runs[0]["metrics"];
    let get = |k: &str| m[k].as_f64().unwrap_or_else(|| panic!("no {k} in {m}"));
    let c = 1.0 / 3f64.log2();
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert!(close(get("test.exposure.share.A@2"), 1.0 / (1.0 + c)), "{m}");
    assert!(close(get("test.exposure.share.B@2"), c / (1.0 + c)), "{m}");
    assert!(close(get("test.exposure.relevance.A@2"), 0.5) && close(get("test.exposure.relevance.B@2"), 0.5), "{m}");
    assert!(close(get("test.exposure.disparity@2"), 2.0 * (1.0 - c) / (1.0 + c)), "{m}");
    assert!(m["test.exposuregini@2"].is_number(), "{m}");
    // `runs show` lists it beside the exposure Gini
    let id = runs[0]["id"].as_str().unwrap();
    let shown = s.attnlab(&["runs", "show", id]).ok().stdout();
    let keys: Vec<&str> = shown.lines().filter_map(|l| l.split_whitespace().next()).filter(|k| k.starts_with("test.exposure")).collect();
    assert_eq!(keys.iter().position(|k| *k == "test.exposure.disparity@2").map(|i| keys[i + 5]), Some("test.exposuregini@2"), "{shown}");
    // without providers: no disparity
    s.attnlab(&["run", &spec, "name=shop-plain"]).ok();
    let runs: serde_json::Value = serde_json::from_str(&s.attnlab(&["runs", "list", "shop-plain", "--json"]).ok().stdout()).unwrap();
    assert!(runs[0]["metrics"].get("test.exposure.disparity@2").is_none(), "{}", runs[0]["metrics"]);
}

#[test]
fn bad_providers_exit_2_naming_the_key() {
    let s = Scratch::new();
    let spec = write_shop(&s);
    let run = s.attnlab(&["run", &spec, "protocol.providers=seller"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("shop.yaml: protocol.providers: `seller` is not an item column (the item file has: provider, price)"), "{}", run.stderr());
    let run = s.attnlab(&["run", &spec, "protocol.providers=price"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("protocol.providers: `price` is a float column"), "{}", run.stderr());
    let run = s.attnlab(&["run", &spec, "protocol.providers=provider", "protocol.metrics=[ndcg@2, exposure.disparity@2]"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("protocol.metrics[1]: `exposure.disparity@2` is logged at every K of the metrics"), "{}", run.stderr());
    let run = s.attnlab(&["run", &crate::util::quickstart(), "protocol.providers=advertiser"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("protocol.providers"), "{}", run.stderr());
    assert!(!s.db().exists(), "nothing written");
}

/// `attnlab metrics` reads providers from a predictions file's `provider`
/// column: provider A's item is first for two users of three, B's for one,
/// and B holds two of the three relevant rows (disparity 2 - 1/2).
#[test]
fn metrics_command_reads_a_provider_column() {
    let s = Scratch::new();
    let rows = "user,item,score,label,provider\nu1,a1,0.9,1,A\nu1,b1,0.5,0,B\nu2,a1,0.9,0,A\nu2,b1,0.8,1,B\nu3,b1,0.9,1,B\nu3,a1,0.3,0,A\n";
    let csv = s.write("predictions.csv", rows);
    let out = s.attnlab(&["metrics", csv.to_str().unwrap(), "--metrics", "hit@1,exposure.disparity@1", "--json"]).ok().stdout();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["exposure.disparity@1"].as_f64().is_some_and(|d| (d - 1.5).abs() < 1e-12), "{out}");
    let bad = s.write("bad.csv", "user,item,score,label,provider\nu1,a1,0.9,1,A\nu2,a1,0.5,1,B\n");
    let run = s.attnlab(&["metrics", bad.to_str().unwrap(), "--metrics", "exposure.disparity@1"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("bad.csv") && run.stderr().contains("provider"), "{}", run.stderr());
}
