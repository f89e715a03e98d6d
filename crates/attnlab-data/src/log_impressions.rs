//! An attention log as the impression table that click and multi-task
//! models train on: one row per `impression` event, in file order,
//! labelled by the `click`, `cart` and `purchase` rows that name the same
//! user, item and position after it, with each row's behaviour history
//! rebuilt from the log's clicks.
//!
//! Ids are numbered in sorted token order (tokens that are whole numbers
//! first, by value, then the others as text), not in order of appearance:
//! a log's ids then do not depend on how its rows are ordered, and the log
//! `attnlab data simulate` writes gets back exactly the simulator's ids.
//!
//! The history of an impression is its user's last `history_len` clicked
//! items (ordered by time, then item id) strictly before the impression's
//! session began (the earliest impression of its `session`), or before the
//! impression itself when the log has no `session` column: the simulator's
//! definition, so a simulated log trains exactly as the simulator's table.

use std::collections::HashMap;
use std::path::Path;

use crate::loaders::{AttentionLog, Event};
use crate::{Cardinalities, DataError, ExtraFields, Impressions, Result, Vocab, PAD};

/// The impressions of `log` (read from `path`, named in errors) with
/// histories of `history_len` items, their id spaces, and the vocabularies
/// of users, items and categories in the ids the table uses.
pub fn impressions_from_log(path: &Path, log: &AttentionLog, history_len: usize) -> Result<LogImpressions> {
    let (users, user_id) = sorted(&log.users);
    let (items, item_id) = sorted(&log.items);
    let (categories, category_id) = sorted(&log.categories);
    let error = |r: usize, field: &str, message: String| DataError::Parse { path: path.to_path_buf(), line: log.line[r], field: field.into(), message };
    let mut out = Impressions { history_len, ..Default::default() };
    // the latest impression of each (user, item, position), for the events after it
    let mut shown: HashMap<(u32, u32, u32), usize> = HashMap::new();
    let mut item_category: HashMap<u32, (u32, usize)> = HashMap::new();
    let mut clicks: Vec<Vec<(u64, u32)>> = vec![Vec::new(); users.id_space()];
    let mut session_of_row = Vec::new();
    for r in 0..log.len() {
        let (user, item, position) = (user_id[log.user[r] as usize], item_id[log.item[r] as usize], log.position[r]);
        let timestamp = u64::try_from(log.timestamp[r]).map_err(|_| error(r, "field 3 (timestamp)", format!("`{}` is before 0", log.timestamp[r])))?;
        if log.event[r] == Event::Impression {
            let category = log.category.as_ref().map_or(PAD, |c| category_id[c[r] as usize]);
            match item_category.get(&item) {
                Some(&(known, first)) if known != category => {
                    return Err(error(
                        r,
                        "category",
                        format!("item `{}` has category `{}` on line {}", items.display(item), categories.display(known), log.line[first]),
                    ));
                }
                Some(_) => {}
                None => {
                    item_category.insert(item, (category, r));
                }
            }
            shown.insert((user, item, position), out.len());
            session_of_row.push(log.session.as_ref().map(|s| s[r]));
            push_impression(&mut out, user, item, category, position, timestamp, log.is_ad[r], log.bid[r]);
            continue;
        }
        let Some(&row) = shown.get(&(user, item, position)) else {
            return Err(error(
                r,
                "field 4 (event)",
                format!(
                    "`{}` of user `{}`, item `{}` at position {position} follows no impression of that item to that user at that position",
                    log.event[r].as_str(),
                    users.display(user),
                    items.display(item)
                ),
            ));
        };
        match log.event[r] {
            Event::Click => {
                out.click[row] = 1.0;
                out.dwell_ms[row] = log.dwell_ms[r].unwrap_or(0);
                clicks[user as usize].push((timestamp, item));
            }
            Event::Cart => out.cart[row] = 1.0,
            Event::Purchase => {
                out.conversion[row] = 1.0;
                if log.price[r].is_finite() {
                    out.price[row] = log.price[r];
                }
            }
            Event::Impression => {}
        }
    }
    fill_histories(&mut out, &mut clicks, &session_of_row, &item_category);
    let sizes = Cardinalities {
        users: users.id_space(),
        items: items.id_space(),
        categories: if log.category.is_some() { categories.id_space() } else { 1 },
        positions: out.position.iter().max().map_or(1, |&p| p as usize + 1),
        extra: ExtraFields::NONE,
    };
    Ok(LogImpressions { data: out, sizes, users, items, categories })
}

/// What [`impressions_from_log`] gives.
#[derive(Debug, Clone)]
pub struct LogImpressions {
    pub data: Impressions,
    pub sizes: Cardinalities,
    /// The original tokens of the table's user, item and category ids.
    pub users: Vocab,
    pub items: Vocab,
    pub categories: Vocab,
}

#[allow(clippy::too_many_arguments)]
fn push_impression(out: &mut Impressions, user: u32, item: u32, category: u32, position: u32, timestamp: u64, is_ad: bool, bid: f32) {
    out.user.push(user);
    out.item.push(item);
    out.category.push(category);
    out.position.push(position);
    out.timestamp.push(timestamp);
    out.click.push(0.0);
    out.dwell_ms.push(0);
    out.true_ctr.push(f32::NAN);
    out.is_ad.push(is_ad);
    out.advertiser.push(0);
    out.bid.push(if is_ad && bid.is_finite() { bid } else { 0.0 });
    out.charge.push(0.0);
    out.cart.push(0.0);
    out.conversion.push(0.0);
    out.true_cvr.push(f32::NAN);
    out.price.push(0.0);
}

/// Each row's history: its user's last clicks before its session began.
fn fill_histories(out: &mut Impressions, clicks: &mut [Vec<(u64, u32)>], session_of_row: &[Option<u32>], item_category: &HashMap<u32, (u32, usize)>) {
    let k = out.history_len;
    for user_clicks in clicks.iter_mut() {
        user_clicks.sort_unstable();
    }
    let mut session_start: HashMap<u32, u64> = HashMap::new();
    for (row, session) in session_of_row.iter().enumerate() {
        if let Some(s) = session {
            let start = session_start.entry(*s).or_insert(u64::MAX);
            *start = (*start).min(out.timestamp[row]);
        }
    }
    out.history_items = Vec::with_capacity(out.len() * k);
    out.history_categories = Vec::with_capacity(out.len() * k);
    for row in 0..out.len() {
        let start = session_of_row[row].map_or(out.timestamp[row], |s| session_start[&s]);
        let user_clicks = &clicks[out.user[row] as usize];
        let before = user_clicks.partition_point(|&(t, _)| t < start);
        let recent = &user_clicks[before.saturating_sub(k)..before];
        out.history_items.extend(std::iter::repeat_n(PAD, k - recent.len()));
        out.history_categories.extend(std::iter::repeat_n(PAD, k - recent.len()));
        out.history_items.extend(recent.iter().map(|&(_, i)| i));
        out.history_categories.extend(recent.iter().map(|&(_, i)| item_category.get(&i).map_or(PAD, |&(c, _)| c)));
    }
}

/// The vocabulary with its tokens renumbered in sorted order (whole
/// numbers first, by value, then text), and the old id -> new id map
/// (reserved ids map to themselves).
fn sorted(vocab: &Vocab) -> (Vocab, Vec<u32>) {
    let specials = vocab.specials();
    let mut order: Vec<(u32, &str)> = vocab.tokens().enumerate().map(|(i, t)| (specials + i as u32, t)).collect();
    order.sort_by(|(_, a), (_, b)| {
        let key = |t: &str| (t.parse::<u64>().is_err(), t.parse::<u64>().unwrap_or(0));
        key(a).cmp(&key(b)).then_with(|| a.cmp(b))
    });
    let mut out = match specials {
        0 => Vocab::unpadded(),
        _ => Vocab::padded(),
    };
    let mut map: Vec<u32> = (0..vocab.id_space() as u32).collect();
    for (old, token) in order {
        map[old as usize] = out.intern(token);
    }
    (out, map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loaders::load_attention_log;
    use crate::{simulate, write_attention_log, AdsConfig, OnBadRow, SimulatorConfig};

    fn read_back(text: &str, history_len: usize) -> Result<LogImpressions> {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        let (log, _) = load_attention_log(file.path(), OnBadRow::Error)?;
        impressions_from_log(file.path(), &log, history_len)
    }

    /// The simulator's table, written as a log and read back, is the same
    /// table: ids, labels, ads, histories and id spaces (what a log cannot
    /// hold, the true probabilities, advertisers and charges, stays unknown).
    #[test]
    fn a_simulated_log_reads_back_as_the_simulators_impressions() {
        let config = SimulatorConfig { users: 80, items: 90, topics: 5, sessions_per_user: 4, slots: 6, history_len: 3, ads: AdsConfig { advertisers: 5, ..Default::default() }, ..SimulatorConfig::default() };
        let d = simulate(&config).unwrap();
        let mut text = Vec::new();
        write_attention_log(&d, &mut text).unwrap();
        let back = read_back(std::str::from_utf8(&text).unwrap(), config.history_len).unwrap();
        let b = &back.data;
        assert_eq!(back.sizes, config.cardinalities());
        assert_eq!((&b.user, &b.item, &b.category, &b.position, &b.timestamp), (&d.user, &d.item, &d.category, &d.position, &d.timestamp));
        assert_eq!((&b.click, &b.dwell_ms, &b.cart, &b.conversion, &b.is_ad), (&d.click, &d.dwell_ms, &d.cart, &d.conversion, &d.is_ad));
        assert_eq!((&b.history_items, &b.history_categories, b.history_len), (&d.history_items, &d.history_categories, d.history_len));
        assert!(d.history_items.iter().any(|&h| h != PAD), "the sample has histories");
        assert_eq!(b.bid, d.bid, "ads carry their bid, organic rows 0 in both");
        let revenue = |t: &Impressions| t.conversion.iter().zip(&t.price).map(|(c, p)| c * p).sum::<f32>();
        assert_eq!(revenue(b), revenue(&d));
        assert_eq!(back.users.display(0), "0", "ids show the log's tokens");
    }

    #[test]
    fn without_a_session_column_the_history_ends_at_the_impression() {
        let header = crate::loaders::ATTENTION_LOG_HEADER;
        let rows = "u,a,10,impression,0,,0,,\nu,a,10,click,0,5,0,,\nu,b,20,impression,1,,0,,\nv,b,5,impression,0,,0,,\n";
        let t = read_back(&format!("{header}\n{rows}"), 2).unwrap();
        let a = t.items.get("a").unwrap();
        assert_eq!(t.data.history_items, [PAD, PAD, PAD, a, PAD, PAD]);
        assert_eq!((t.sizes.categories, t.sizes.positions, t.data.click.clone()), (1, 2, vec![1.0, 0.0, 0.0]));
    }

    #[test]
    fn an_event_without_its_impression_names_file_line_and_field() {
        let header = crate::loaders::ATTENTION_LOG_HEADER;
        let e = read_back(&format!("{header}\nu,a,10,impression,0,,0,,\nu,a,11,click,1,5,0,,\n"), 2).unwrap_err().to_string();
        assert!(e.contains(":3: field 4 (event): `click` of user `u`, item `a` at position 1 follows no impression"), "{e}");
        let e = read_back(&format!("{header},category\nu,a,1,impression,0,,0,,,x\nu,a,2,impression,0,,0,,,y\n"), 2).unwrap_err().to_string();
        assert!(e.contains(":3: category: item `a` has category `x` on line 2"), "{e}");
        let e = read_back(&format!("{header}\nu,a,-4,impression,0,,0,,\n"), 2).unwrap_err().to_string();
        assert!(e.contains(":2: field 3 (timestamp): `-4` is before 0"), "{e}");
    }

    #[test]
    fn sorted_numbers_come_first_by_value_then_text() {
        let mut v = Vocab::padded();
        for t in ["b", "10", "9", "a", "007"] {
            v.intern(t);
        }
        let (s, map) = sorted(&v);
        assert_eq!(s.tokens().collect::<Vec<_>>(), ["007", "9", "10", "a", "b"]);
        assert_eq!(map, [0, 5, 3, 2, 4, 1]);
    }
}
