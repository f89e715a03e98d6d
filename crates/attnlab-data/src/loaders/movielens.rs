//! MovieLens raw files: ml-100k (`u.data` tab-separated, `u.user` and
//! `u.item` `|`-separated, `u.item` in Latin-1), ml-1m and ml-10m
//! (`ratings.dat`, `users.dat`, `movies.dat`, `::`-separated, `movies.dat`
//! in Latin-1; ml-10m has no `users.dat`) and ml-20m, ml-25m and the
//! "latest" releases (`ratings.csv` and `movies.csv` with headers, UTF-8,
//! `movies.csv` quoting titles that hold commas; no user file).

use std::path::Path;

use super::atomic::scatter;
use super::reader::{Delimiter, Encoding, LineReader};
use super::table::{Col, ColSpec, TableFormat, read_rows};
use super::{LoadReport, OnBadRow};
use crate::Result;
use crate::interactions::{Column, ColumnData, FeatureTable, Interactions, Vocab};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MovieLensFormat {
    /// `u.data`, `u.user`, `u.item`.
    Ml100k,
    /// `ratings.dat`, `users.dat`, `movies.dat`.
    Ml1m,
    /// `ratings.csv` (`userId,movieId,rating,timestamp`).
    Ml20m,
}

/// The header line of ml-20m's `ratings.csv`.
pub const ML20M_RATINGS_HEADER: &str = "userId,movieId,rating,timestamp";
/// The header line of ml-20m's `movies.csv`.
pub const ML20M_MOVIES_HEADER: &str = "movieId,title,genres";

/// The 19 genres of `u.item`'s flag columns, in file order.
pub const ML100K_GENRES: [&str; 19] = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
];

impl MovieLensFormat {
    /// File names of ratings, users and items (ml-20m has no user file).
    pub fn files(self) -> [&'static str; 3] {
        match self {
            MovieLensFormat::Ml100k => ["u.data", "u.user", "u.item"],
            MovieLensFormat::Ml1m => ["ratings.dat", "users.dat", "movies.dat"],
            MovieLensFormat::Ml20m => ["ratings.csv", "users.csv", "movies.csv"],
        }
    }

    /// The layout of the MovieLens folder `dir`: the first of `u.data`,
    /// `ratings.dat`, `ratings.csv` it holds.
    pub fn detect(dir: &Path) -> Option<MovieLensFormat> {
        [MovieLensFormat::Ml100k, MovieLensFormat::Ml1m, MovieLensFormat::Ml20m]
            .into_iter()
            .find(|f| dir.join(f.files()[0]).is_file())
    }

    fn delimiter(self, item_or_user: bool) -> Delimiter {
        match (self, item_or_user) {
            (MovieLensFormat::Ml100k, false) => Delimiter::Byte(b'\t'),
            (MovieLensFormat::Ml100k, true) => Delimiter::Byte(b'|'),
            (MovieLensFormat::Ml1m, _) => Delimiter::Str("::"),
            (MovieLensFormat::Ml20m, false) => Delimiter::Byte(b','),
            (MovieLensFormat::Ml20m, true) => Delimiter::QuotedComma,
        }
    }

    /// The item file's encoding: Latin-1 before ml-20m.
    fn item_encoding(self) -> Encoding {
        match self {
            MovieLensFormat::Ml20m => Encoding::Utf8,
            MovieLensFormat::Ml100k | MovieLensFormat::Ml1m => Encoding::Latin1,
        }
    }

    /// The header line of a file with one (ml-20m's).
    fn header(self, item_or_user: bool) -> Option<&'static str> {
        match (self, item_or_user) {
            (MovieLensFormat::Ml20m, false) => Some(ML20M_RATINGS_HEADER),
            (MovieLensFormat::Ml20m, true) => Some(ML20M_MOVIES_HEADER),
            _ => None,
        }
    }
}

/// Reads `reader`'s first line, which must be `header`.
fn expect_header(reader: &mut LineReader, path: &Path, header: &str) -> Result<()> {
    match reader.next_line()? {
        Some((_, line)) if line == header => Ok(()),
        Some((n, line)) => Err(crate::DataError::Parse {
            path: path.to_path_buf(),
            line: n,
            field: String::new(),
            message: format!("header {} is not `{header}`", super::reader::quoted(line)),
        }),
        None => Err(crate::DataError::Schema { path: path.to_path_buf(), message: "empty file: no header".into() }),
    }
}

fn format(delimiter: Delimiter, on_bad_row: OnBadRow) -> TableFormat {
    TableFormat {
        delimiter,
        seq_separator: b'|',
        reject_quotes: false,
        on_bad_row,
    }
}

/// Reads all three files of `dir` (users and items when present).
pub fn load_movielens(
    dir: &Path,
    format: MovieLensFormat,
    on_bad_row: OnBadRow,
) -> Result<(Interactions, Vec<LoadReport>)> {
    let [ratings, users, items] = format.files().map(|f| dir.join(f));
    let (mut data, report) = load_movielens_ratings(&ratings, format, on_bad_row)?;
    let mut reports = vec![report];
    if users.exists() && format != MovieLensFormat::Ml20m {
        let (t, r) = load_movielens_users(&users, format, &mut data.users, on_bad_row)?;
        data.user_features = Some(t);
        reports.push(r);
    }
    if items.exists() {
        let (t, r) = load_movielens_items(&items, format, &mut data.items, on_bad_row)?;
        data.item_features = Some(t);
        reports.push(r);
    }
    Ok((data, reports))
}

/// `u.data` (`user \t item \t rating \t timestamp`) or `ratings.dat`
/// (`UserID::MovieID::Rating::Timestamp`), no header; or `ratings.csv`
/// after its header [`ML20M_RATINGS_HEADER`].
pub fn load_movielens_ratings(
    path: &Path,
    format: MovieLensFormat,
    on_bad_row: OnBadRow,
) -> Result<(Interactions, LoadReport)> {
    let delimiter = format.delimiter(false);
    let mut reader = LineReader::open(path, Encoding::Utf8, delimiter)?;
    if let Some(header) = format.header(false) {
        expect_header(&mut reader, path, header)?;
    }
    let mut cols = vec![
        ColSpec {
            name: "user_id".into(),
            col: Col::token(Vocab::unpadded(), true),
        },
        ColSpec {
            name: "item_id".into(),
            col: Col::token(Vocab::padded(), true),
        },
        ColSpec {
            name: "rating".into(),
            col: Col::float(true),
        },
        ColSpec {
            name: "timestamp".into(),
            col: Col::Int { values: Vec::new() },
        },
    ];
    let mut report = LoadReport::new(path);
    read_rows(
        &mut reader,
        &mut cols,
        self::format(delimiter, on_bad_row),
        &mut report,
    )?;
    let mut out = Interactions::empty();
    let mut it = cols.into_iter().map(|c| c.col);
    if let (
        Some(Col::Token {
            ids: u, vocab: uv, ..
        }),
        Some(Col::Token {
            ids: i, vocab: iv, ..
        }),
        Some(Col::Float { values: r, .. }),
        Some(Col::Int { values: t }),
    ) = (it.next(), it.next(), it.next(), it.next())
    {
        (
            out.user,
            out.users,
            out.item,
            out.items,
            out.rating,
            out.timestamp,
        ) = (u, uv, i, iv, Some(r), Some(t));
    }
    Ok((out, report))
}

/// `u.user` (`id|age|gender|occupation|zip`) or `users.dat`
/// (`UserID::Gender::Age::Occupation::Zip-code`); all values are tokens.
pub fn load_movielens_users(
    path: &Path,
    format: MovieLensFormat,
    users: &mut Vocab,
    on_bad_row: OnBadRow,
) -> Result<(FeatureTable, LoadReport)> {
    let names: &[&str] = match format {
        MovieLensFormat::Ml100k => &["user_id", "age", "gender", "occupation", "zip_code"],
        MovieLensFormat::Ml1m | MovieLensFormat::Ml20m => &["user_id", "gender", "age", "occupation", "zip_code"],
    };
    let cols = names
        .iter()
        .map(|n| ColSpec {
            name: n.to_string(),
            col: Col::token(Vocab::padded(), false),
        })
        .collect();
    features(
        path,
        format.delimiter(true),
        Encoding::Utf8,
        cols,
        users,
        on_bad_row,
    )
}

/// `u.item` (`id|title|release date|video release date|IMDb URL|19 genre
/// flags`, Latin-1) -> columns `title`, `release_date`,
/// `video_release_date`, `imdb_url` (tokens) and `genres` (token_seq of
/// [`ML100K_GENRES`], genre `k` has id `k + 1`); or `movies.dat`
/// (`MovieID::Title::Genres`, genres `|`-separated, Latin-1) or ml-20m's
/// `movies.csv` (`movieId,title,genres` after that header, UTF-8, titles
/// with commas quoted) -> `title`, `genres`.
pub fn load_movielens_items(
    path: &Path,
    format: MovieLensFormat,
    items: &mut Vocab,
    on_bad_row: OnBadRow,
) -> Result<(FeatureTable, LoadReport)> {
    let token = |n: &str| ColSpec {
        name: n.into(),
        col: Col::token(Vocab::padded(), false),
    };
    let mut cols = vec![token("item_id"), token("title")];
    match format {
        MovieLensFormat::Ml100k => {
            cols.extend(["release_date", "video_release_date", "imdb_url"].map(token));
            cols.extend(ML100K_GENRES.map(|g| ColSpec {
                name: g.into(),
                col: Col::Bool { values: Vec::new() },
            }));
        }
        MovieLensFormat::Ml1m | MovieLensFormat::Ml20m => {
            cols.push(ColSpec {
                name: "genres".into(),
                col: Col::of_type(crate::FieldType::TokenSeq),
            });
        }
    }
    let (flags, mut table, report) = features_with_flags(
        path,
        format.delimiter(true),
        format.item_encoding(),
        format.header(true),
        cols,
        items,
        on_bad_row,
    )?;
    if format == MovieLensFormat::Ml100k {
        let mut vocab = Vocab::padded();
        for g in ML100K_GENRES {
            vocab.intern(g);
        }
        let (mut offsets, mut values) = (vec![0u32], Vec::new());
        for row in &flags {
            if let Some(f) = row {
                values.extend(
                    f.iter()
                        .enumerate()
                        .filter(|(_, set)| **set)
                        .map(|(k, _)| k as u32 + 1),
                );
            }
            offsets.push(values.len() as u32);
        }
        table.columns.push(Column {
            name: "genres".into(),
            data: ColumnData::TokenSeq { offsets, values },
            vocab: Some(vocab),
        });
    }
    Ok((table, report))
}

fn features(
    path: &Path,
    delimiter: Delimiter,
    encoding: Encoding,
    cols: Vec<ColSpec>,
    ids: &mut Vocab,
    on_bad_row: OnBadRow,
) -> Result<(FeatureTable, LoadReport)> {
    let (_, table, report) = features_with_flags(path, delimiter, encoding, None, cols, ids, on_bad_row)?;
    Ok((table, report))
}

/// Reads a feature file (after its `header` line, if it has one) whose
/// first column is the id. Boolean columns come back per id (`None` for ids
/// without a row), the others as the feature table.
#[allow(clippy::type_complexity, clippy::too_many_arguments)]
fn features_with_flags(
    path: &Path,
    delimiter: Delimiter,
    encoding: Encoding,
    header: Option<&str>,
    mut cols: Vec<ColSpec>,
    ids: &mut Vocab,
    on_bad_row: OnBadRow,
) -> Result<(Vec<Option<Vec<bool>>>, FeatureTable, LoadReport)> {
    let mut reader = LineReader::open(path, encoding, delimiter)?;
    if let Some(header) = header {
        expect_header(&mut reader, path, header)?;
    }
    cols[0].col = Col::Token {
        ids: Vec::new(),
        vocab: std::mem::take(ids),
        required: true,
        missing_token: None,
        unique: Some(Vec::new()),
    };
    let mut report = LoadReport::new(path);
    let result = read_rows(
        &mut reader,
        &mut cols,
        format(delimiter, on_bad_row),
        &mut report,
    );
    let row_ids = match &mut cols[0].col {
        Col::Token {
            ids: row_ids,
            vocab,
            ..
        } => {
            *ids = std::mem::take(vocab);
            std::mem::take(row_ids)
        }
        _ => unreachable!(),
    };
    result?;
    let rows = ids.id_space();
    let mut flag_cols = Vec::new();
    for c in &mut cols {
        if let Col::Bool { values } = &mut c.col {
            flag_cols.push(std::mem::take(values));
            c.col = Col::Skip;
        }
    }
    let mut flags = vec![None; rows];
    if !flag_cols.is_empty() {
        for (r, &id) in row_ids.iter().enumerate() {
            flags[id as usize] = Some(flag_cols.iter().map(|c| c[r]).collect());
        }
    }
    Ok((flags, scatter(cols, 0, &row_ids, rows), report))
}
