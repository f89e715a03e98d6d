//! evaluate_csv and the per-user artifact.

use std::io::Write;

use attnlab_eval::*;

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

fn m(s: &str) -> Metric {
    Metric::parse(s).unwrap()
}

#[test]
fn pointwise_csv() {
    let f = file("user,label,score\n1,1,0.9\n1,0,0.4\n2,0,0.8\n2,1,0.3\r\n2,0,0.1\n\n");
    let r = evaluate_csv(f.path(), &[m("auc"), m("gauc"), m("gauc_unweighted"), m("logloss"), m("mrr@2")]).unwrap();
    assert!((r[0].1 - 4.0 / 6.0).abs() < 1e-12);
    assert!((r[1].1 - 0.7).abs() < 1e-12);
    assert!((r[2].1 - 0.75).abs() < 1e-12);
    // mrr@2: user 1 hit at rank 1, user 2 at rank 2
    assert!((r[4].1 - 0.75).abs() < 1e-12);
}

#[test]
fn ranking_csv_groups_users_in_any_order() {
    // columns in another order, users interleaved
    let f = file("item,user,score,label\n10,1,0.9,0\n11,2,0.5,1\n12,1,0.8,1\n10,2,0.7,0\n13,1,0.1,0\n");
    let r = evaluate_csv(f.path(), &[m("hit@1"), m("mrr@3"), m("ndcg@2"), m("itemcoverage@1"), m("averagepopularity@1"), m("auc")])
        .unwrap();
    let v: Vec<f64> = r.iter().map(|x| x.1).collect();
    assert_eq!(v[0], 0.0); // both users rank a negative first
    assert!((v[1] - 0.5).abs() < 1e-12);
    let d2 = 1.0 / 3f64.log2();
    assert!((v[2] - d2).abs() < 1e-12);
    // top-1 items: 10 and 10 -> 1 of 4 distinct items
    assert!((v[3] - 0.25).abs() < 1e-12);
    // popularity from label-1 rows in the file: item 10 has none
    assert_eq!(v[4], 0.0);
    // with training popularity given instead
    let opts = RankingOptions { num_items: Some(100), item_popularity: Some(vec![5; 20]), exclude_history: false };
    let csv = CsvOptions { ranking: Some(opts), ..CsvOptions::default() };
    let r = evaluate_csv_with(f.path(), &[m("averagepopularity@1"), m("itemcoverage@1")], &csv).unwrap();
    assert_eq!(r[0].1, 5.0);
    assert!((r[1].1 - 0.01).abs() < 1e-12);
}

/// Ids are text: string ids give exactly what integer ids for the same
/// users and items give.
#[test]
fn string_ids_evaluate_as_integer_ids_do() {
    let numbers = file("user,item,score,label\n1,10,0.9,0\n2,11,0.5,1\n1,12,0.8,1\n2,10,0.7,0\n1,13,0.1,0\n3,12,0.4,1\n3,13,0.6,0\n");
    let strings = file("user,item,score,label\nu1,i-a,0.9,0\n9f3c,x y,0.5,1\nu1,007,0.8,1\n9f3c,i-a,0.7,0\nu1,i13,0.1,0\n1,007,0.4,1\n1,i13,0.6,0\n");
    let all = [m("auc"), m("gauc"), m("ndcg@2"), m("mrr@3"), m("itemcoverage@1"), m("averagepopularity@1")];
    let a = evaluate_csv(numbers.path(), &all).unwrap();
    let b = evaluate_csv(strings.path(), &all).unwrap();
    assert_eq!(a, b);
    assert!(a[1].1 > 0.0 && a[1].1 < 1.0, "gauc groups by user: {a:?}");
}

#[test]
fn bad_rows_name_file_line_and_column() {
    let f = file("user,label,score\n1,1,0.9\n1,0,abc\n");
    let e = evaluate_csv(f.path(), &[m("auc")]).unwrap_err();
    let text = e.to_string();
    assert!(matches!(&e, EvalError::Csv { line: 3, column, .. } if column == "score"), "{text}");
    assert!(text.contains(&f.path().display().to_string()) && text.contains(":3:") && text.contains("`score`"), "{text}");

    let f = file("user,label,score\nx,1,0.9\n,0,0.1\n");
    assert!(matches!(evaluate_csv(f.path(), &[m("auc")]).unwrap_err(), EvalError::Csv { line: 3, column, .. } if column == "user"));
    let f = file("user,label,score\n1,1\n");
    assert!(matches!(evaluate_csv(f.path(), &[m("auc")]).unwrap_err(), EvalError::Csv { line: 2, column, .. } if column == "row"));
    let f = file("user,label,score\n1,nan,0.5\n");
    assert!(matches!(evaluate_csv(f.path(), &[m("auc")]).unwrap_err(), EvalError::Csv { line: 2, column, .. } if column == "label"));
    let f = file("user,item,score,label\n1,-3,0.5,1\n");
    let popularity = RankingOptions { num_items: Some(10), item_popularity: Some(vec![1; 10]), exclude_history: false };
    let csv = CsvOptions { ranking: Some(popularity), ..CsvOptions::default() };
    let e = evaluate_csv_with(f.path(), &[m("hit@1")], &csv).unwrap_err();
    assert!(matches!(&e, EvalError::Csv { line: 2, column, .. } if column == "item"), "{e}");
    assert!(e.to_string().contains("indexed by integer item ids"), "{e}");
    let f = file("user,lable,score\n");
    assert!(matches!(evaluate_csv(f.path(), &[m("auc")]).unwrap_err(), EvalError::Csv { line: 1, column, .. } if column == "header"));
    let f = file("");
    assert!(matches!(evaluate_csv(f.path(), &[m("auc")]).unwrap_err(), EvalError::Csv { line: 1, .. }));
    // coverage without an item column
    let f = file("user,label,score\n1,1,0.5\n");
    assert!(matches!(evaluate_csv(f.path(), &[m("itemcoverage@5")]).unwrap_err(), EvalError::Csv { line: 1, .. }));
    // one class only: AUC undefined
    let f = file("user,label,score\n1,1,0.5\n");
    assert!(matches!(evaluate_csv(f.path(), &[m("auc")]).unwrap_err(), EvalError::Undefined { .. }));
    assert!(matches!(evaluate_csv(std::path::Path::new("/nonexistent/x.csv"), &[m("auc")]).unwrap_err(), EvalError::Io { .. }));
}

#[test]
fn per_user_round_trip() {
    let results = vec![
        PerUser { metric: "ndcg@10".into(), users: vec![3, 1, 2], values: vec![0.1, 1.0 / 3.0, 0.0] },
        PerUser { metric: "gauc".into(), users: vec![7], values: vec![std::f64::consts::PI] },
    ];
    let mut buf = Vec::new();
    write_per_user(&mut buf, &results).unwrap();
    let text = String::from_utf8(buf.clone()).unwrap();
    assert!(text.starts_with("user,metric,value\n3,ndcg@10,0.1\n"), "{text}");
    let as_text: Vec<PerUser<String>> = results.iter().map(|p| p.named(|u| u.to_string())).collect();
    assert_eq!(read_per_user(&buf[..], "mem").unwrap(), as_text);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("per_user.csv");
    write_per_user_file(&path, &results).unwrap();
    assert_eq!(read_per_user_file(&path).unwrap(), as_text);

    // original ids of any text, quoted where CSV needs it; a line break is refused
    let names = ["u0", "a,b", "say \"hi\"", "u17"];
    let named = [results[0].named(|u| names[u as usize])];
    let mut buf = Vec::new();
    write_per_user(&mut buf, &named).unwrap();
    let text = String::from_utf8(buf.clone()).unwrap();
    assert_eq!(text, "user,metric,value\nu17,ndcg@10,0.1\n\"a,b\",ndcg@10,0.3333333333333333\n\"say \"\"hi\"\"\",ndcg@10,0.0\n");
    let back = read_per_user(&buf[..], "mem").unwrap();
    assert_eq!(back[0].users, ["u17", "a,b", "say \"hi\""]);
    assert_eq!(back[0].values, named[0].values);
    assert!(write_per_user(Vec::new(), &[results[0].named(|_| "line\nbreak")]).is_err());
    for bad in ["\"u1,ndcg@10,0.5", "\"u1\"x,ndcg@10,0.5", ",ndcg@10,0.5"] {
        let e = read_per_user(format!("user,metric,value\n{bad}\n").as_bytes(), "f.csv").unwrap_err();
        assert!(matches!(&e, EvalError::Csv { line: 2, column, .. } if column == "user"), "{bad}: {e}");
    }

    let e = read_per_user(&b"user,metric,value\n1,auc,zz\n"[..], "f.csv").unwrap_err();
    assert!(matches!(&e, EvalError::Csv { line: 2, column, .. } if column == "value"), "{e}");
    assert!(read_per_user(&b"u,m,v\n"[..], "f.csv").is_err());
    let bad = [PerUser { metric: "a,b".into(), users: vec![1], values: vec![1.0] }];
    assert!(write_per_user(Vec::new(), &bad).is_err());
}

#[test]
fn labels_other_than_0_and_1_are_errors_at_their_line_unless_graded() {
    for bad in ["2", "-1", "0.5"] {
        let f = file(&format!("user,label,score\n1,1,0.9\n1,{bad},0.4\n"));
        let e = evaluate_csv(f.path(), &[m("auc")]).unwrap_err();
        assert!(matches!(&e, EvalError::Csv { line: 3, column, .. } if column == "label"), "{bad}: {e}");
        assert!(e.to_string().contains(&format!("`{bad}` is not a label")), "{e}");
    }
    let f = file("user,label,score\n1,4,3.5\n1,2,2.5\n");
    let graded = CsvOptions { graded_labels: true, ..CsvOptions::default() };
    let r = evaluate_csv_with(f.path(), &[m("rmse"), m("mae")], &graded).unwrap();
    assert_eq!(r[0].1, 0.5);
    assert_eq!(r[1].1, 0.5);
    let e = evaluate_csv_with(f.path(), &[m("auc")], &graded).unwrap_err();
    assert!(e.to_string().contains("auc needs labels 0 or 1"), "{e}");
}

#[test]
fn log_loss_refuses_scores_outside_0_1_unless_clipped() {
    for bad in ["1.5", "-0.2", "0", "1"] {
        let f = file(&format!("user,label,score\n1,1,0.9\n1,0,{bad}\n"));
        let e = evaluate_csv(f.path(), &[m("logloss")]).unwrap_err();
        assert!(matches!(&e, EvalError::Csv { line: 3, column, .. } if column == "score"), "{bad}: {e}");
        // other metrics read any score
        evaluate_csv(f.path(), &[m("auc")]).unwrap();
    }
    let f = file("user,label,score\n1,1,1.5\n1,0,-0.2\n");
    let clip = CsvOptions { clip_scores: true, ..CsvOptions::default() };
    let r = evaluate_csv_with(f.path(), &[m("logloss")], &clip).unwrap();
    // both clipped to the right side of 1e-7: -ln(1 - 1e-7) each
    assert!((r[0].1 - 1e-7).abs() < 1e-12, "{r:?}");
}

#[test]
fn a_byte_order_mark_before_the_header_is_skipped() {
    let f = file("\u{feff}user,label,score\n1,1,0.9\n1,0,0.4\n");
    let r = evaluate_csv(f.path(), &[m("auc")]).unwrap();
    assert_eq!(r[0].1, 1.0);
}

#[test]
fn dwell_column_feeds_the_metrics_of_time() {
    let t = |s: &str| TaskMetric::parse(s).unwrap();
    // user a: dwell 10 at score 0.5, dwell 5 at 0.1, none at 0.9; user b: no dwell
    let f = file("user,label,score,dwell\na,0,0.9,0\na,1,0.5,10\na,1,0.1,5\nb,0,0.3,0\n");
    let metrics = [t("auc"), t("dwell@2"), t("dwell_ndcg@2"), t("dwell_auc")];
    let r = evaluate_csv_metrics(f.path(), &metrics, &CsvOptions::default()).unwrap();
    assert_eq!(r.iter().map(|x| x.0).collect::<Vec<_>>(), metrics);
    // plain AUC: positives (0.5, 0.1) against negatives (0.9, 0.3): 1 of 4 pairs
    assert!((r[0].1 - 0.25).abs() < 1e-12, "{r:?}");
    assert!((r[1].1 - 10.0).abs() < 1e-9, "{r:?}");
    let l3 = 3f64.log2();
    assert!((r[2].1 - (10.0 / l3) / (10.0 + 5.0 / l3)).abs() < 1e-9, "{r:?}");
    // dwell-weighted: (10·1 + 5·0) / (15·2)
    assert!((r[3].1 - 10.0 / 30.0).abs() < 1e-9, "{r:?}");
    // scores as predicted log1p(dwell): exact for the clicked rows
    let f = file(&format!("user,label,score,dwell\na,1,{},3\na,1,{},1\na,0,9,0\n", 4f64.ln(), 2f64.ln()));
    let r = evaluate_csv_metrics(f.path(), &[t("dwell_rmse"), t("dwell_mae")], &CsvOptions::default()).unwrap();
    assert!(r[0].1 < 1e-6 && r[1].1 < 1e-6, "{r:?}");
}

#[test]
fn dwell_refusals_name_line_and_column() {
    let t = |s: &str| TaskMetric::parse(s).unwrap();
    let f = file("user,label,score,dwell\na,1,0.5,10\na,0,0.4,-2\n");
    let e = evaluate_csv_metrics(f.path(), &[t("dwell@1")], &CsvOptions::default()).unwrap_err();
    assert!(matches!(&e, EvalError::Csv { line: 3, column, .. } if column == "dwell"), "{e}");
    assert!(e.to_string().contains("`-2`"), "{e}");
    let f = file("user,label,score\na,1,0.5\n");
    let e = evaluate_csv_metrics(f.path(), &[t("dwell_ndcg@10")], &CsvOptions::default()).unwrap_err();
    assert!(matches!(&e, EvalError::Csv { line: 1, column, .. } if column == "header"), "{e}");
    let e = evaluate_csv_metrics(f.path(), &[t("cvr_auc")], &CsvOptions::default()).unwrap_err();
    assert!(matches!(&e, EvalError::Undefined { .. }), "{e}");
    // a plain metric ignores the dwell column
    let f = file("user,label,score,dwell\na,1,0.5,10\na,0,0.4,0\n");
    assert_eq!(evaluate_csv(f.path(), &[m("auc")]).unwrap()[0].1, 1.0);
}

/// Three users' lists over a1, a2 (provider A) and b1 (B). Relevance (rows
/// with label 1): a1 once, b1 twice, so A holds 1/3 and B 2/3. Top 1: a1,
/// a1, b1: A's exposure share 2/3, its ratio 2, B's 1/2: disparity 3/2.
/// Top 2 adds b1, b1, a1 at second place (d = 1/log2 3): the ratios are
/// (2 + d)/(1 + d) and (1 + 2d)/(2 + 2d), their difference 3/(2 + 2d).
#[test]
fn provider_column_feeds_the_disparity_of_exposure() {
    let t = |s: &str| TaskMetric::parse(s).unwrap();
    let f = file(
        "user,item,score,label,provider\n\
         u1,a1,0.9,1,A\nu1,b1,0.5,0,B\nu1,a2,0.1,0,A\n\
         u2,a1,0.9,0,A\nu2,b1,0.8,1,B\nu2,a2,0.2,0,A\n\
         u3,b1,0.9,1,B\nu3,a1,0.3,0,A\nu3,a2,0.1,0,A\n",
    );
    let metrics = [t("ndcg@2"), t("exposure.disparity@1"), t("exposure.disparity@2")];
    let r = evaluate_csv_metrics(f.path(), &metrics, &CsvOptions::default()).unwrap();
    assert_eq!(r.iter().map(|x| x.0).collect::<Vec<_>>(), metrics);
    let d = 1.0 / 3f64.log2();
    assert!((r[1].1 - 1.5).abs() < 1e-12, "{r:?}");
    assert!((r[2].1 - 3.0 / (2.0 + 2.0 * d)).abs() < 1e-12, "{r:?}");
    // exposure following relevance: each provider's one relevant item first
    let f = file("user,item,score,label,provider\nu1,a1,0.9,1,A\nu1,b1,0.1,0,B\nu2,b1,0.9,1,B\nu2,a1,0.1,0,A\n");
    let r = evaluate_csv_metrics(f.path(), &[t("exposure.disparity@1")], &CsvOptions::default()).unwrap();
    assert_eq!(r[0].1, 0.0);
}

#[test]
fn provider_refusals_name_line_and_column() {
    let t = |s: &str| TaskMetric::parse(s).unwrap();
    let f = file("user,item,score,label,provider\nu1,a1,0.9,1,A\nu2,a1,0.5,1,B\n");
    let e = evaluate_csv_metrics(f.path(), &[t("exposure.disparity@1")], &CsvOptions::default()).unwrap_err();
    assert!(matches!(&e, EvalError::Csv { line: 3, column, .. } if column == "provider"), "{e}");
    assert!(e.to_string().contains("item `a1` has provider `B` here and `A` on an earlier line"), "{e}");
    let f = file("user,item,score,label\nu1,a1,0.9,1\n");
    let e = evaluate_csv_metrics(f.path(), &[t("exposure.disparity@1")], &CsvOptions::default()).unwrap_err();
    assert!(matches!(&e, EvalError::Csv { line: 1, column, .. } if column == "header"), "{e}");
    assert!(e.to_string().contains("needs `item` and `provider` columns"), "{e}");
    // one provider only: nothing to compare
    let f = file("user,item,score,label,provider\nu1,a1,0.9,1,A\nu1,a2,0.5,0,A\n");
    let e = evaluate_csv_metrics(f.path(), &[t("exposure.disparity@1")], &CsvOptions::default()).unwrap_err();
    assert!(matches!(&e, EvalError::Undefined { .. }), "{e}");
    // plain metrics ignore the column
    assert_eq!(evaluate_csv(f.path(), &[m("hit@1")]).unwrap()[0].1, 1.0);
}
