//! `attnlab-load URL BODIES.jsonl RATE CONCURRENCY SECONDS`: posts the JSON
//! bodies of BODIES (one a line, round robin) to URL at RATE requests per
//! second over CONCURRENCY connections for SECONDS (RATE 0: closed loop,
//! as fast as answered), then prints one JSON line: requests sent, errors,
//! achieved rate, p50/p90/p99/p99.9 latency in milliseconds and the
//! generator's own CPU seconds. Exit code 2 on bad arguments.

use std::process::ExitCode;
use std::time::Duration;

use attnlab_load::stats::process_cpu_seconds;
use attnlab_load::{run, Load, LoadError, Target};

const USAGE: &str = "usage: attnlab-load URL BODIES.jsonl RATE CONCURRENCY SECONDS   (RATE 0: closed loop)";

fn main() -> ExitCode {
    match parse(&std::env::args().skip(1).collect::<Vec<_>>()) {
        Ok((target, requests, load)) => {
            let outcome = run(&target, &requests, &load);
            println!("{}", outcome.summary().to_json(process_cpu_seconds()));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("attnlab-load: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn parse(args: &[String]) -> Result<(Target, Vec<Vec<u8>>, Load), LoadError> {
    let [url, bodies, rate, concurrency, seconds] = args else {
        return Err(LoadError::Bad(format!("{} arguments, 5 expected", args.len())));
    };
    let number = |name: &str, v: &str| v.parse::<f64>().ok().filter(|x| x.is_finite() && *x >= 0.0).ok_or_else(|| LoadError::Bad(format!("{name} `{v}` is not a number >= 0")));
    let rate = number("RATE", rate)?;
    let seconds = number("SECONDS", seconds)?;
    let concurrency = concurrency.parse::<usize>().ok().filter(|&c| (1..=4096).contains(&c)).ok_or_else(|| LoadError::Bad(format!("CONCURRENCY `{concurrency}` is not in 1..=4096")))?;
    let target = Target::parse(url)?;
    let text = std::fs::read_to_string(bodies).map_err(|source| LoadError::Io { what: format!("reading {bodies}"), source })?;
    let requests: Vec<Vec<u8>> = text.lines().map(str::trim).filter(|l| !l.is_empty()).map(|l| target.post_bytes(l.as_bytes())).collect();
    if requests.is_empty() {
        return Err(LoadError::Bad(format!("{bodies}: no request body (one JSON body a line)")));
    }
    Ok((target, requests, Load { rate, concurrency, duration: Duration::from_secs_f64(seconds) }))
}
