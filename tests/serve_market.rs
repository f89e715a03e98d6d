//! `POST /v1/rank` of a real `attnlab serve` process against the offline
//! A/B test's ranking of the same candidates: fresh sessions of the run's
//! world are scored and ranked by the A/B replay's code (`score_run`,
//! `feed_policy`, `rank_feed`), then sent one by one as requests; the
//! served feed must place the same items with the same prices and scores.

use attnlab_data::{FeedRequest, MarketSessions, SessionDraw, SessionSampler};
use attnlab_eval::market::{rank_feed, ArmPredictions, BidKind, FeedPolicy, Placement, Session};
use attnlab_experiment::ab_test::scoring::{score_run, score_sessions};
use attnlab_experiment::ab_test::sessions::{arm_predictions, replay_sessions};
use attnlab_experiment::ab_test::{default_cvr, feed_policy};
use attnlab_experiment::load_run::RunSpec;
use attnlab_experiment::{load_run, simulator_config};
use serde_json::{json, Value};

use crate::serve::{Server, TOKEN};
use crate::util::Scratch;

/// A small market with a VCG auction and a reserve in its `ab_test:`
/// section; DIN (clicks) and ESMM (clicks and conversions), one epoch.
const SPEC: &str = "\
name: rankserve
dataset:
  source: simulator
  seed: 7
  simulator:
    users: 300
    items: 150
    topics: 6
    sessions_per_user: 6
    slots: 6
    ads: { advertisers: 6, ad_share: 0.2, slots: [1, 3] }
protocol:
  history_len: 5
  metrics: [auc, ctr_auc]
  valid_metric: auc
train:
  epochs: 1
  batch_size: 256
  threads: 1
models:
  - { name: din, model: DIN, params: { embed_dim: 8 } }
  - { name: esmm, model: ESMM, params: { embed_dim: 8 } }
seeds: [3]
ab_test:
  arms:
    - { name: by-bid, policy: bid-only }
    - { name: din, model: din }
  sessions: 100
  seed: 5
  mechanism: vcg
  reserve: 0.02
";

fn trained(s: &Scratch) -> (String, String) {
    let spec = s.write("market.yaml", SPEC);
    s.attnlab(&["run", spec.to_str().unwrap()]).ok();
    let runs: Value = serde_json::from_str(&s.attnlab(&["runs", "list", "rankserve", "--json"]).ok().stdout()).unwrap();
    let id = |name: &str| runs.as_array().unwrap().iter().find(|r| r["name"] == name).unwrap()["id"].as_str().unwrap().to_string();
    (id("din"), id("esmm"))
}

fn cpu() -> attnlab_train::DeviceInfo {
    attnlab_train::DeviceInfo { device: tch::Device::Cpu, label: "cpu".into() }
}

/// The A/B replay's view of run `id` on `fresh`: each session with its
/// predictions, and the run's world.
struct Replay {
    sessions: Vec<Session>,
    predictions: Vec<ArmPredictions>,
    spec: attnlab_spec::Spec,
}

fn replayed(s: &Scratch, id: &str, fresh: &MarketSessions) -> Replay {
    let store = attnlab_track::Store::open_for_reading(&s.db()).unwrap();
    let run = store.run(id).unwrap();
    let spec = RunSpec::of(&run).unwrap().spec;
    let world = simulator_config(&spec);
    let scores = score_run(&run, &world, fresh, default_cvr(spec.ab_test.as_ref(), fresh), &cpu()).unwrap();
    Replay { sessions: replay_sessions(fresh), predictions: arm_predictions(fresh, &scores), spec }
}

/// Session `k` of `fresh` as a request body, with `bids` for its ads.
fn request(fresh: &MarketSessions, k: usize, model: &str, bids: &[f64]) -> Value {
    let (d, s) = (&fresh.candidates, &fresh.sessions[k]);
    let organic: Vec<String> = s.organic.clone().map(|r| d.item[r].to_string()).collect();
    let ads: Vec<Value> = s
        .ads
        .clone()
        .zip(bids)
        .map(|(r, bid)| {
            let kind = fresh.advertisers[d.advertiser[r] as usize - 1].bidding;
            let bid_type = if kind == attnlab_data::Bidding::Cpa { "cpa" } else { "cpc" };
            json!({ "item": d.item[r].to_string(), "advertiser": d.advertiser[r], "bid": bid, "bid_type": bid_type })
        })
        .collect();
    json!({ "model": model, "user": s.user.to_string(), "organic": organic, "ads": ads })
}

/// Asserts that `served` places what `rank_feed` places for session `k`.
fn assert_same_feed(served: &Value, fresh: &MarketSessions, k: usize, session: &Session, pred: &ArmPredictions, replay: &Replay) {
    let world = simulator_config(&replay.spec);
    // the answer's attention weight: the spec's, or the request's
    let lambda = served["lambda"].as_f64().unwrap();
    let policy = FeedPolicy { attention_weight: lambda, ..feed_policy(replay.spec.ab_test.as_ref(), &world) };
    let expected = rank_feed(session, pred, &policy, &fresh.examination, |a| a.bid).unwrap();
    let (d, s) = (&fresh.candidates, &fresh.sessions[k]);
    let feed = served["feed"].as_array().unwrap();
    assert_eq!(feed.len(), expected.len(), "{served}");
    let close = |a: &Value, b: f64| (a.as_f64().unwrap() - b).abs() < 1e-5;
    for (p, (got, want)) in feed.iter().zip(&expected).enumerate() {
        match want {
            Some(Placement::Organic(i)) => {
                assert_eq!((got["kind"].as_str(), got["item"].as_str()), (Some("organic"), Some(d.item[s.organic.start + i].to_string().as_str())), "position {p}: {served}");
                assert!(close(&got["pctr"], pred.organic[*i]), "position {p}: {got} vs {}", pred.organic[*i]);
            }
            Some(Placement::Ad(w)) => {
                assert_eq!((got["kind"].as_str(), got["item"].as_str()), (Some("ad"), Some(d.item[s.ads.start + w.candidate].to_string().as_str())), "position {p}: {served}");
                assert!(close(&got["price"], w.price) && close(&got["ecpm"], w.ecpm) && close(&got["price_per_click"], w.price_per_click), "position {p}: {got} vs {w:?}");
                assert!(close(&got["pctr"], pred.ad_pctr[w.candidate]) && close(&got["pcvr"], pred.ad_pcvr[w.candidate]), "position {p}: {got}");
            }
            None => assert_eq!(got, &Value::Null, "position {p}: {served}"),
        }
    }
    assert_eq!(served["slots_filled"].as_u64(), Some(expected.iter().filter(|p| p.is_some()).count() as u64));
}

#[test]
fn rank_equals_the_ab_replay_ranking_and_prices_and_refuses_bad_requests_by_field() {
    let s = Scratch::new();
    let (din, esmm) = trained(&s);
    let server = Server::start(&s, &["--run", &din, "--run", &esmm, "--max-batch", "8", "--max-wait-us", "2000"]);
    let store = attnlab_track::Store::open_for_reading(&s.db()).unwrap();
    let world = simulator_config(&RunSpec::of(&store.run(&din).unwrap()).unwrap().spec);
    let sampler = SessionSampler::new(&world).unwrap();
    let fresh = sampler.draw(&SessionDraw { sessions: 12, seed: 99, organic_candidates: 10, ad_candidates: 5 }).unwrap();

    // the served feed is the replay's, for a click model and a click+conversion model
    for (id, name) in [(&din, "din"), (&esmm, "esmm")] {
        let replay = replayed(&s, id, &fresh);
        let mut sold = 0;
        for k in 0..fresh.sessions.len() {
            let session = &replay.sessions[k];
            let bids: Vec<f64> = session.ads.iter().map(|a| a.bid).collect();
            let (status, served) = server.post("/v1/rank", &request(&fresh, k, name, &bids).to_string(), None);
            assert_eq!((status, served["model"].as_str()), (200, Some(id.as_str())), "{served}");
            assert_same_feed(&served, &fresh, k, session, &replay.predictions[k], &replay);
            sold += served["feed"].as_array().unwrap().iter().filter(|p| p["kind"] == "ad" && p["price"].as_f64().unwrap() > 0.0).count();
        }
        assert!(sold >= fresh.sessions.len(), "the auction sold {sold} slots in {} feeds", fresh.sessions.len());
        // an attention weight in the request: the replay's money/attention ranking at that weight
        for k in 0..fresh.sessions.len() {
            let session = &replay.sessions[k];
            let mut body = request(&fresh, k, name, &session.ads.iter().map(|a| a.bid).collect::<Vec<_>>());
            body["lambda"] = json!(0.05);
            let (status, served) = server.post("/v1/rank", &body.to_string(), None);
            assert_eq!((status, served["lambda"].as_f64()), (200, Some(0.05)), "{served}");
            assert_same_feed(&served, &fresh, k, session, &replay.predictions[k], &replay);
        }
        // the request's bids, not the world's, enter the auction
        let mut session = replay.sessions[0].clone();
        session.ads[0].bid *= 40.0;
        session.ads[1].bid_kind = BidKind::Cpa;
        let mut body = request(&fresh, 0, name, &session.ads.iter().map(|a| a.bid).collect::<Vec<_>>());
        body["ads"][1]["bid_type"] = json!("cpa");
        // an ad's advertiser may be left to the world
        body["ads"][2].as_object_mut().unwrap().remove("advertiser");
        let (status, served) = server.post("/v1/rank", &body.to_string(), None);
        assert_eq!(status, 200, "{served}");
        assert_same_feed(&served, &fresh, 0, &session, &replay.predictions[0], &replay);
        assert!(served["feed"].as_array().unwrap().iter().any(|p| p["item"] == body["ads"][0]["item"]), "a 40x bid wins a slot: {served}");
    }

    // a click joins the user's history: the next feed is scored with it
    let user = fresh.sessions[3].user as usize;
    let clicked = fresh.candidates.item[fresh.sessions[3].organic.start + 2];
    let event = json!({ "events": [{ "user": user.to_string(), "item": clicked.to_string(), "type": "click" }] });
    assert_eq!(server.post("/v1/events", &event.to_string(), Some(TOKEN)).0, 200);
    let body = request(&fresh, 3, "din", &replayed(&s, &din, &fresh).sessions[3].ads.iter().map(|a| a.bid).collect::<Vec<_>>());
    let (status, served) = server.post("/v1/rank", &body.to_string(), None);
    assert_eq!(status, 200, "{served}");
    let mut history = sampler.history(user).to_vec();
    history.push(clicked);
    assert_eq!(served["history"], json!(history.iter().map(u32::to_string).collect::<Vec<_>>()));
    let s3 = &fresh.sessions[3];
    let items = |r: std::ops::Range<usize>| fresh.candidates.item[r].to_vec();
    let live = sampler.requests(&[FeedRequest { user, organic: items(s3.organic.clone()), ads: items(s3.ads.clone()), history }]).unwrap();
    let loaded = load_run(&store, &din, &cpu(), &s.path("store/cache")).unwrap();
    let scores = score_sessions(&loaded.net, &world, &live, default_cvr(loaded.spec.ab_test.as_ref(), &live), tch::Device::Cpu).unwrap();
    let served_pctr: Vec<f64> = served["organic"].as_array().unwrap().iter().map(|o| o["pctr"].as_f64().unwrap()).collect();
    for (a, b) in served_pctr.iter().zip(&scores.pctr) {
        assert!((a - b).abs() < 1e-5, "{served_pctr:?} vs {:?}", scores.pctr);
    }

    // client mistakes: 400 naming the field
    let (d, s0) = (&fresh.candidates, &fresh.sessions[0]);
    let (organic, ad, advertiser) = (d.item[s0.organic.start].to_string(), d.item[s0.ads.start].to_string(), d.advertiser[s0.ads.start]);
    let ad_of = |item: &str, advertiser: u32, bid: Value, kind: &str| json!([{ "item": item, "advertiser": advertiser, "bid": bid, "bid_type": kind }]);
    let cases = [
        (json!({ "organic": [organic] }), "user"),
        (json!({ "user": "0", "organic": [organic], "slots": 3 }), "slots"),
        (json!({ "user": "300", "organic": [organic] }), "user"),
        (json!({ "user": "0" }), "organic"),
        (json!({ "user": "0", "organic": [organic, organic] }), "organic[1]"),
        (json!({ "user": "0", "organic": [ad] }), "organic[0]"),
        (json!({ "user": "0", "organic": ["151"] }), "organic[0]"),
        (json!({ "user": "0", "organic": [organic], "ads": ad_of(&organic, 1, json!(1.0), "cpc") }), "ads[0].item"),
        (json!({ "user": "0", "ads": ad_of(&ad, advertiser % 6 + 1, json!(1.0), "cpc") }), "ads[0].advertiser"),
        (json!({ "user": "0", "ads": ad_of(&ad, advertiser, json!(0.0), "cpc") }), "ads[0].bid"),
        (json!({ "user": "0", "ads": ad_of(&ad, advertiser, json!("1"), "cpc") }), "ads[0].bid"),
        (json!({ "user": "0", "ads": ad_of(&ad, advertiser, json!(1.0), "cpm") }), "ads[0].bid_type"),
        (json!({ "user": "0", "organic": [organic], "model": "nope" }), "model"),
        (json!({ "user": "0", "organic": [organic], "lambda": -1 }), "lambda"),
    ];
    for (body, field) in cases {
        let (status, v) = server.post("/v1/rank", &body.to_string(), None);
        assert_eq!((status, v["field"].as_str()), (400, Some(field)), "{body}: {v}");
    }
    // no next-item run is served here
    let (status, v) = server.post("/v1/recommend", &json!({ "user": "0" }).to_string(), None);
    assert_eq!(status, 503, "{v}");
    let (_, models) = server.get("/v1/models");
    let models: Value = serde_json::from_str(&models).unwrap();
    assert_eq!(models["models"][0]["serves"], json!("/v1/rank"), "{models}");
    assert_eq!(models["models"][0]["ad_slots"], json!([1, 3]), "{models}");
    let first_ad = (1..=150).find(|&i| sampler.advertiser_of(i) != Some(0)).unwrap();
    assert_eq!((models["models"][0]["items"].as_u64(), models["models"][0]["organic_items"].as_u64()), (Some(150), Some(u64::from(first_ad) - 1)), "{models}");
}

/// The numbers of a served feed, position by position: kind, item, and
/// pCTR, pCVR, eCPM and price where the position has them.
fn feed_numbers(served: &Value) -> Vec<(String, String, Vec<f64>)> {
    let nums = |p: &Value| ["pctr", "pcvr", "ecpm", "price", "price_per_click"].iter().filter_map(|k| p[k].as_f64()).collect();
    served["feed"].as_array().unwrap().iter().map(|p| (p["kind"].to_string(), p["item"].to_string(), nums(p))).collect()
}

#[test]
fn concurrent_batched_feeds_equal_one_at_a_time_feeds() {
    let s = Scratch::new();
    let (din, esmm) = trained(&s);
    // 8 requests a model sent at once fill one batch of 8 each; the long
    // wait only ever runs if fewer than 8 arrive
    let batched = Server::start(&s, &["--run", &din, "--run", &esmm, "--max-batch", "8", "--max-wait-us", "10000000"]);
    let single = Server::start(&s, &["--run", &din, "--run", &esmm, "--max-batch", "1"]);
    let store = attnlab_track::Store::open_for_reading(&s.db()).unwrap();
    let world = simulator_config(&RunSpec::of(&store.run(&din).unwrap()).unwrap().spec);
    let fresh = SessionSampler::new(&world).unwrap().draw(&SessionDraw { sessions: 8, seed: 41, organic_candidates: 12, ad_candidates: 6 }).unwrap();
    let bodies: Vec<String> = ["din", "esmm"]
        .iter()
        .flat_map(|model| (0..8).map(|k| request(&fresh, k, model, &[0.4, 1.1, 2.5, 0.7, 3.0, 1.9]).to_string()))
        .collect();
    let together: Vec<Value> = std::thread::scope(|scope| {
        let sent: Vec<_> = bodies.iter().map(|b| scope.spawn(|| batched.post("/v1/rank", b, None))).collect();
        sent.into_iter().map(|h| h.join().unwrap()).map(|(status, v)| { assert_eq!(status, 200, "{v}"); v }).collect()
    });
    // two forward passes of 8 requests: the rows were scored together
    let (_, metrics) = batched.get("/metrics");
    assert!(metrics.contains("attnlab_batch_size_count 2\n") && metrics.contains("attnlab_batch_size_sum 16\n"), "{metrics}");
    let mut ads_sold = 0;
    for (body, got) in bodies.iter().zip(&together) {
        let (status, alone) = single.post("/v1/rank", body, None);
        assert_eq!(status, 200, "{alone}");
        let (a, b) = (feed_numbers(got), feed_numbers(&alone));
        assert_eq!(a.len(), b.len(), "{got} vs {alone}");
        for (p, ((kind_a, item_a, num_a), (kind_b, item_b, num_b))) in a.iter().zip(&b).enumerate() {
            assert_eq!((kind_a, item_a), (kind_b, item_b), "position {p}: {got} vs {alone}");
            assert_eq!(num_a.len(), num_b.len(), "position {p}");
            assert!(num_a.iter().zip(num_b).all(|(x, y)| (x - y).abs() <= 1e-6 * y.abs().max(1.0)), "position {p}: {num_a:?} vs {num_b:?}");
        }
        let pctr = |v: &Value, list: &str| v[list].as_array().unwrap().iter().map(|c| c["pctr"].as_f64().unwrap()).collect::<Vec<_>>();
        for list in ["organic", "ads"] {
            let (x, y) = (pctr(got, list), pctr(&alone, list));
            assert!(x.len() == y.len() && x.iter().zip(&y).all(|(x, y)| (x - y).abs() <= 1e-6), "{list}: {x:?} vs {y:?}");
        }
        ads_sold += a.iter().filter(|(kind, _, _)| kind == "\"ad\"").count();
    }
    assert!(ads_sold > 0, "no ad was placed: the comparison never covered prices");
    let (_, metrics) = single.get("/metrics");
    assert!(metrics.contains("attnlab_batch_size_count 16\n") && metrics.contains("attnlab_batch_size_sum 16\n"), "{metrics}");
}

#[test]
fn clicks_on_served_ads_spend_live_budgets_and_a_spent_advertiser_leaves_the_auction() {
    let s = Scratch::new();
    // the market above with tiny budgets, paced in its `ab_test:`
    let paced = SPEC
        .replace("name: rankserve", "name: paced")
        .replace("slots: [1, 3] }", "slots: [1, 3], mean_daily_budget: 0.05 }")
        .replace("  reserve: 0.02\n", "  reserve: 0.02\n  pacing: true\n");
    let spec = s.write("paced.yaml", &paced);
    s.attnlab(&["run", spec.to_str().unwrap()]).ok();
    let runs: Value = serde_json::from_str(&s.attnlab(&["runs", "list", "paced", "--json"]).ok().stdout()).unwrap();
    let din = runs.as_array().unwrap().iter().find(|r| r["name"] == "din").unwrap()["id"].as_str().unwrap().to_string();
    let server = Server::start(&s, &["--run", &din]);
    let store = attnlab_track::Store::open_for_reading(&s.db()).unwrap();
    let world = simulator_config(&RunSpec::of(&store.run(&din).unwrap()).unwrap().spec);
    let fresh = SessionSampler::new(&world).unwrap().draw(&SessionDraw { sessions: 40, seed: 17, organic_candidates: 10, ad_candidates: 6 }).unwrap();
    let budgets = || -> Value {
        let models: Value = serde_json::from_str(&server.get("/v1/models").1).unwrap();
        models["models"][0]["budgets"].clone()
    };
    let daily: Vec<f64> = budgets()["advertisers"].as_array().unwrap().iter().map(|a| a["daily_budget"].as_f64().unwrap()).collect();
    assert_eq!(daily, fresh.advertisers.iter().map(|a| f64::from(a.daily_budget)).collect::<Vec<_>>());
    // (40 requests stay within the first day of 60 sessions)
    let mut spent = vec![0.0; daily.len()];
    let mut left_out = 0;
    for k in 0..fresh.sessions.len() {
        // every ad bids 3.0 per click
        let mut body = request(&fresh, k, "din", &[3.0; 6]);
        body["ads"].as_array_mut().unwrap().iter_mut().for_each(|a| a["bid_type"] = json!("cpc"));
        let (status, served) = server.post("/v1/rank", &body.to_string(), None);
        assert_eq!(status, 200, "{served}");
        let placed: Vec<&Value> = served["feed"].as_array().unwrap().iter().filter(|p| p["kind"] == "ad").collect();
        for (ad, asked) in served["ads"].as_array().unwrap().iter().zip(body["ads"].as_array().unwrap()) {
            let a = asked["advertiser"].as_u64().unwrap() as usize;
            let entered = ad["entered_bid"].as_f64().unwrap();
            if spent[a - 1] >= daily[a - 1] {
                // spent: the ad bids 0 and is not placed
                assert_eq!(entered, 0.0, "{served}");
                assert!(placed.iter().all(|p| p["item"] != asked["item"]), "a spent advertiser's ad was placed: {served}");
                left_out += 1;
            } else {
                assert!(entered > 0.0 && entered <= 3.0, "{served}");
            }
        }
        // a click on each placed ad charges its price, once
        let user = served["user"].as_str().unwrap();
        for p in &placed {
            let click = json!({ "events": [{ "user": user, "item": p["item"], "type": "click" }] });
            for _ in 0..2 {
                assert_eq!(server.post("/v1/events", &click.to_string(), Some(TOKEN)).0, 200);
            }
            spent[p["advertiser"].as_u64().unwrap() as usize - 1] += p["price"].as_f64().unwrap();
        }
        // an impression charges nothing
        let seen = json!({ "events": [{ "user": user, "item": body["organic"][0], "type": "impression" }] });
        assert_eq!(server.post("/v1/events", &seen.to_string(), Some(TOKEN)).0, 200);
        let live = budgets();
        assert_eq!((live["day"].as_u64(), live["requests"].as_u64()), (Some(0), Some(k as u64 + 1)), "{live}");
        for (a, want) in spent.iter().enumerate() {
            let got = live["advertisers"][a]["spend"].as_f64().unwrap();
            assert!((got - want).abs() < 1e-9, "advertiser {}: spend {got}, clicks charged {want}", a + 1);
        }
    }
    assert!(spent.iter().zip(&daily).any(|(s, d)| s >= d) && left_out > 0, "no budget was spent in 40 feeds: {spent:?} of {daily:?}");
}
