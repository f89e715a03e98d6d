//! Simulator throughput: `cargo bench -p attnlab-data --bench simulate`
//! (release). Prints impressions/s for 1M rows (set `SIM_BENCH_ROWS` for
//! another size, e.g. 10000000) and the attention-log writer's rows/s.
//! Besides wall time it prints the process CPU time (Linux `/proc`), which
//! stays meaningful on a loaded machine.

use std::time::Instant;

use attnlab_data::{simulate, write_attention_log, AdsConfig, SimulatorConfig};

/// User + system CPU seconds of this process (NaN where `/proc` is missing).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return f64::NAN };
    // fields after the parenthesised command name; utime and stime are 14 and 15
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(f64::NAN);
    (ticks(11) + ticks(12)) / 100.0 // USER_HZ is 100 on Linux
}

fn main() {
    let rows: usize = std::env::var("SIM_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let (sessions_per_user, slots) = (10, 8);
    let config = SimulatorConfig {
        seed: 1,
        users: rows.div_ceil(sessions_per_user * slots),
        items: 5_000,
        topics: 50,
        sessions_per_user,
        slots,
        interest_sharpness: 3.0,
        history_len: 20,
        ads: AdsConfig { advertisers: 100, ..AdsConfig::default() },
    };
    for (label, config) in [("ads on", config.clone()), ("ads off", SimulatorConfig { ads: AdsConfig::off(), ..config })] {
        let (start, cpu) = (Instant::now(), cpu_seconds());
        let data = simulate(&config).expect("valid config");
        let (secs, cpu) = (start.elapsed().as_secs_f64(), cpu_seconds() - cpu);
        println!(
            "simulate ({label}): {} impressions in {secs:.2} s wall ({cpu:.2} s CPU) = {:.2} M impressions/s wall, {:.2} M/s per CPU second",
            data.len(),
            data.len() as f64 / secs / 1e6,
            data.len() as f64 / cpu / 1e6
        );
        let (start, cpu) = (Instant::now(), cpu_seconds());
        let events = write_attention_log(&data, std::io::sink()).expect("sink");
        let (secs, cpu) = (start.elapsed().as_secs_f64(), cpu_seconds() - cpu);
        println!(
            "write_attention_log ({label}): {events} rows in {secs:.2} s wall ({cpu:.2} s CPU) = {:.2} M rows/s wall",
            events as f64 / secs / 1e6
        );
    }
}
