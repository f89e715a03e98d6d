//! Writes an [`Impressions`] table as a behaviour/attention log: the CSV
//! format real users bring (DESIGN.md, "Data"), so simulated and real logs
//! go through the same loader.
//!
//! Header: [`ATTENTION_LOG_HEADER`] (the loader's; `crate::loaders` reads
//! this format back). Per impression, in table order:
//!
//! | event        | when                 | timestamp (s)             | dwell_ms | price |
//! |--------------|----------------------|---------------------------|----------|-------|
//! | `impression` | always               | the impression's          | empty    | empty |
//! | `click`      | `click = 1`          | the impression's          | dwell    | empty |
//! | `cart`       | `cart = 1`           | impression + dwell_ms/1000 | empty    | empty |
//! | `purchase`   | `conversion = 1`     | impression + dwell_ms/1000 | empty    | item price |
//!
//! `user` is the 0-based user id, `item` the 1-based item id, `position`
//! the 0-based slot, all on every row; so are the optional columns
//! `category` (the item's 1-based topic) and `session` (the feed the row
//! was shown in, counted from 0: the simulator's rows come feed by feed,
//! each from slot 0), with which the loader rebuilds exactly the
//! simulator's behaviour histories and category ids. `is_ad` is `0`/`1` on every row, and
//! `bid` the ad's bid on every row of an ad impression (empty for organic).
//! Empty means "not applicable", never zero. Numbers are plain decimals
//! (Rust's shortest round-trip form for prices and bids). Rows are in table
//! order: the simulator's sessions by start time, so the log is ordered by
//! time except where sessions overlap and for cart/purchase rows, which
//! come at the end of the visit.

use std::io::{self, BufWriter, Write};

use crate::loaders::ATTENTION_LOG_HEADER;
use crate::Impressions;

/// Writes `data` as an attention log with its header line; returns the
/// number of event rows written (not counting the header). Streams through
/// a buffer: memory does not grow with the table.
pub fn write_attention_log(data: &Impressions, writer: impl Write) -> io::Result<u64> {
    let mut w = BufWriter::with_capacity(1 << 16, writer);
    writeln!(w, "{ATTENTION_LOG_HEADER},category,session")?;
    let mut rows = 0u64;
    let mut session = 0u64;
    for i in 0..data.len() {
        let (user, item, ts, pos) = (data.user[i], data.item[i], data.timestamp[i], data.position[i]);
        if pos == 0 && i > 0 {
            session += 1;
        }
        let tail = Tail { category: data.category[i], session };
        let is_ad = u8::from(data.is_ad[i]);
        // the bid field, shared by every row of the impression
        let bid = Bid(data.is_ad[i].then_some(data.bid[i]));
        writeln!(w, "{user},{item},{ts},impression,{pos},,{is_ad},{bid},{tail}")?;
        rows += 1;
        if data.click[i] > 0.5 {
            let dwell = data.dwell_ms[i];
            writeln!(w, "{user},{item},{ts},click,{pos},{dwell},{is_ad},{bid},{tail}")?;
            let end = ts + u64::from(dwell) / 1000;
            if data.cart[i] > 0.5 {
                writeln!(w, "{user},{item},{end},cart,{pos},,{is_ad},{bid},{tail}")?;
                rows += 1;
            }
            if data.conversion[i] > 0.5 {
                writeln!(w, "{user},{item},{end},purchase,{pos},,{is_ad},{bid},{}{tail}", data.price[i])?;
                rows += 1;
            }
            rows += 1;
        }
    }
    w.flush()?;
    Ok(rows)
}

/// The optional columns that end every row: `,category,session`.
struct Tail {
    category: u32,
    session: u64,
}

impl std::fmt::Display for Tail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, ",{},{}", self.category, self.session)
    }
}

struct Bid(Option<f32>);

impl std::fmt::Display for Bid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(b) => write!(f, "{b}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{simulate, SimulatorConfig};

    fn data() -> Impressions {
        simulate(&SimulatorConfig {
            users: 80,
            items: 90,
            topics: 5,
            sessions_per_user: 4,
            slots: 6,
            history_len: 3,
            ads: crate::AdsConfig { advertisers: 5, ..Default::default() },
            ..SimulatorConfig::default()
        })
        .unwrap()
    }

    /// A tiny CSV parser: no quoting in this format, so split on commas.
    fn parse(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
        let mut lines = text.lines();
        let header = lines.next().unwrap().split(',').map(str::to_string).collect();
        let rows = lines.map(|l| l.split(',').map(str::to_string).collect()).collect();
        (header, rows)
    }

    #[test]
    fn header_and_counts_match_the_columns() {
        let d = data();
        let mut buf = Vec::new();
        let n = write_attention_log(&d, &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(text.lines().next().unwrap(), format!("{ATTENTION_LOG_HEADER},category,session"));
        assert_eq!(ATTENTION_LOG_HEADER, "user,item,timestamp,event,position,dwell_ms,is_ad,bid,price");
        assert!(text.ends_with('\n'));
        let (_, rows) = parse(&text);
        assert_eq!(rows.len() as u64, n);
        let count = |e: &str| rows.iter().filter(|r| r[3] == e).count();
        let sum = |c: &[f32]| c.iter().filter(|&&v| v > 0.5).count();
        assert_eq!(count("impression"), d.len());
        assert_eq!(count("click"), sum(&d.click));
        assert_eq!(count("cart"), sum(&d.cart));
        assert_eq!(count("purchase"), sum(&d.conversion));
        assert!(count("purchase") > 0 && count("cart") > count("purchase"), "the sample exercises carts and purchases");
        assert_eq!(n as usize, d.len() + sum(&d.click) + sum(&d.cart) + sum(&d.conversion));
        assert!(rows.iter().all(|r| r.len() == 11));
    }

    #[test]
    fn round_trip_rebuilds_the_columns() {
        let d = data();
        let mut buf = Vec::new();
        write_attention_log(&d, &mut buf).unwrap();
        let (header, rows) = parse(std::str::from_utf8(&buf).unwrap());
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        let (cu, ci, ct, ce, cp, cd, ca, cb, cr) =
            (col("user"), col("item"), col("timestamp"), col("event"), col("position"), col("dwell_ms"), col("is_ad"), col("bid"), col("price"));
        let mut row = usize::MAX; // index of the current impression
        let (mut clicks, mut carts, mut buys) = (vec![0.0f32; d.len()], vec![0.0f32; d.len()], vec![0.0f32; d.len()]);
        for r in &rows {
            if r[ce] == "impression" {
                row = row.wrapping_add(1);
                assert_eq!(r[ct].parse::<u64>().unwrap(), d.timestamp[row]);
                assert!(r[cd].is_empty() && r[cr].is_empty());
            }
            // every event row names its impression
            assert_eq!(r[cu].parse::<u32>().unwrap(), d.user[row]);
            assert_eq!(r[ci].parse::<u32>().unwrap(), d.item[row]);
            assert_eq!(r[cp].parse::<u32>().unwrap(), d.position[row]);
            assert_eq!(r[ca] == "1", d.is_ad[row]);
            if d.is_ad[row] {
                assert_eq!(r[cb].parse::<f32>().unwrap(), d.bid[row]);
            } else {
                assert!(r[cb].is_empty() && r[ca] == "0");
            }
            match r[ce].as_str() {
                "impression" => {}
                "click" => {
                    clicks[row] = 1.0;
                    assert_eq!(r[cd].parse::<u32>().unwrap(), d.dwell_ms[row]);
                    assert_eq!(r[ct].parse::<u64>().unwrap(), d.timestamp[row]);
                }
                "cart" => {
                    assert_eq!(clicks[row], 1.0, "cart after click");
                    carts[row] = 1.0;
                }
                "purchase" => {
                    assert_eq!(carts[row], 1.0, "purchase after cart");
                    buys[row] = 1.0;
                    assert_eq!(r[cr].parse::<f32>().unwrap(), d.price[row]);
                    assert!(r[ct].parse::<u64>().unwrap() >= d.timestamp[row]);
                }
                other => panic!("unknown event {other}"),
            }
        }
        assert_eq!(row + 1, d.len());
        assert_eq!((clicks, carts, buys), (d.click.clone(), d.cart.clone(), d.conversion.clone()));
    }

    #[test]
    fn the_crate_loader_reads_the_written_log() {
        use crate::loaders::{load_attention_log, Event};
        let d = data();
        let file = tempfile::NamedTempFile::new().unwrap();
        let n = write_attention_log(&d, std::fs::File::create(file.path()).unwrap()).unwrap();
        let (log, _) = load_attention_log(file.path(), crate::OnBadRow::Error).unwrap();
        assert_eq!(log.len() as u64, n);
        let count = |e: Event| log.event.iter().filter(|&&x| x == e).count();
        let labels = |c: &[f32]| c.iter().filter(|&&v| v > 0.5).count();
        assert_eq!(count(Event::Impression), d.len());
        assert_eq!((count(Event::Click), count(Event::Cart), count(Event::Purchase)), (labels(&d.click), labels(&d.cart), labels(&d.conversion)));
        let (ads, dwells, prices) = (log.is_ad.iter().filter(|&&a| a).count(), log.dwell_ms.iter().flatten().count(), log.price.iter().filter(|p| !p.is_nan()).count());
        assert_eq!((dwells, prices), (labels(&d.click), labels(&d.conversion)));
        assert!(ads > 0 && log.bid.iter().zip(&log.is_ad).all(|(b, &a)| a != b.is_nan()));
    }

    #[test]
    fn empty_table_writes_only_the_header() {
        let mut buf = Vec::new();
        assert_eq!(write_attention_log(&Impressions::default(), &mut buf).unwrap(), 0);
        assert_eq!(buf, format!("{ATTENTION_LOG_HEADER},category,session\n").into_bytes());
    }
}
