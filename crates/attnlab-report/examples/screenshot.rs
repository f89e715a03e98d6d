//! `cargo run -p attnlab-report --example screenshot -- PAGE.html OUT`:
//! opens a report in headless Chromium (as the browser tests do) and writes
//! `OUT-1400.png` and `OUT-400.png`, the top of the page at desktop and
//! phone width; prints the page's size and the time it took to open. Used
//! for the pictures in `reports/examples/` (`scripts/report-screenshots.sh`).

use attnlab_testkit::chromium;

use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [page, out] = args.as_slice() else {
        eprintln!("usage: screenshot PAGE.html OUT (writes OUT-1400.png and OUT-400.png)");
        std::process::exit(2);
    };
    let page = PathBuf::from(page);
    let bytes = match std::fs::metadata(&page) {
        Ok(m) => m.len(),
        Err(e) => {
            eprintln!("{}: {e}", page.display());
            std::process::exit(2);
        }
    };
    let mut browser = chromium::Browser::launch();
    for (width, height) in [(1400, 1000), (400, 860)] {
        browser.set_width(width, height);
        let took = browser.open(&page);
        let errors = browser.console_errors();
        if !errors.is_empty() {
            eprintln!("{}: console errors: {errors:?}", page.display());
            std::process::exit(1);
        }
        let png = format!("{out}-{width}.png");
        if let Err(e) = std::fs::write(&png, browser.screenshot()) {
            eprintln!("{png}: {e}");
            std::process::exit(1);
        }
        println!("{}: {bytes} bytes, opened at {width} px in {:.0} ms -> {png}", page.display(), took.as_secs_f64() * 1000.0);
    }
}
