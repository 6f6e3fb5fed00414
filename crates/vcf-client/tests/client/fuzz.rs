//! A bounded, seeded mutation fuzz of list-answer parsing: real simulator answers (domains,
//! clusters, hosts, releases, future releases, upgradables), mutated thousands of ways, read
//! with [`vcf_client::parse_list`] exactly as the client reads each page. Every case must end
//! in an error naming the endpoint, or in a list that satisfies the model's invariants (checked
//! here independently of the client's own checks). A panic fails the test.

use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use vcf_client::{
    AnswerLimits, Checked, Cluster, Domain, FutureRelease, Host, Release, Upgradable, VcfError,
    parse_list,
};
use vcf_sim::{Scenario, SimOptions};

/// Cases per endpoint; six endpoints.
const CASES: usize = 500;
/// Fixed so a failure reproduces; printed with every failure.
const SEED: u64 = 0x5eed_0013;

/// xorshift64*: deterministic, no dependency on `rand`'s API.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Hostile replacement values.
fn garbage(rng: &mut Rng) -> Value {
    match rng.below(12) {
        0 => Value::Null,
        1 => json!({}),
        2 => json!([]),
        3 => json!(""),
        4 => json!("   "),
        5 => json!(-1),
        6 => json!(1e300),
        7 => json!(4_000_000_000_i64),
        8 => json!(true),
        9 => json!("x".repeat(rng.below(5000))),
        10 => Value::Array(vec![json!({}); rng.below(3000)]),
        _ => json!({"elements": [{}], "pageMetadata": {"totalPages": 1_000_000_000}}),
    }
}

/// Every path (object keys and array indexes) in `v`, up to a bound.
fn paths(v: &Value, prefix: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    if out.len() > 2000 {
        return;
    }
    out.push(prefix.clone());
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                prefix.push(json!(k));
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                prefix.push(json!(i));
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn at<'a>(v: &'a mut Value, path: &[Value]) -> Option<&'a mut Value> {
    let mut cur = v;
    for step in path {
        cur = match step {
            Value::String(k) => cur.get_mut(k.as_str())?,
            Value::Number(i) => cur.get_mut(usize::try_from(i.as_u64()?).ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// One mutated answer, as bytes (some mutations break the JSON itself).
fn mutate(original: &Value, rng: &mut Rng) -> Vec<u8> {
    let mut v = original.clone();
    let rounds = 1 + rng.below(3);
    for _ in 0..rounds {
        let mut all = Vec::new();
        paths(&v, &mut Vec::new(), &mut all);
        let path = all[rng.below(all.len())].clone();
        match rng.below(7) {
            // Remove the value (from its object or array).
            0 if !path.is_empty() => {
                let (last, parent) = path.split_last().expect("non-empty");
                match (at(&mut v, parent), last) {
                    (Some(Value::Object(m)), Value::String(k)) => {
                        m.remove(k);
                    }
                    (Some(Value::Array(a)), Value::Number(i)) => {
                        let i = usize::try_from(i.as_u64().unwrap_or(0)).unwrap_or(0);
                        if i < a.len() {
                            a.remove(i);
                        }
                    }
                    _ => {}
                }
            }
            // Duplicate an array's items (repeated ids, floods).
            1 => {
                if let Some(Value::Array(a)) = at(&mut v, &path) {
                    if let Some(first) = a.first().cloned() {
                        let most = if rng.below(4) == 0 { 5000 } else { 3 };
                        let n = 1 + rng.below(most);
                        a.extend(std::iter::repeat_n(first, n));
                    }
                }
            }
            // Contradicting page information.
            2 => {
                if let Value::Object(m) = &mut v {
                    let total_elements = [0, 1, 7, 4_000_000][rng.below(4)];
                    let total_pages = [0, 1, 2, 1_000_000_000][rng.below(4)];
                    m.insert(
                        "pageMetadata".into(),
                        json!({"pageNumber": rng.below(3), "pageSize": rng.below(5),
                               "totalElements": total_elements, "totalPages": total_pages}),
                    );
                }
            }
            _ => {
                if let Some(slot) = at(&mut v, &path) {
                    *slot = garbage(rng);
                }
            }
        }
    }
    let mut bytes = serde_json::to_vec(&v).expect("serialise");
    match rng.below(10) {
        // Cut short.
        0 => bytes.truncate(rng.below(bytes.len())),
        // One byte flipped.
        1 if !bytes.is_empty() => {
            let i = rng.below(bytes.len());
            bytes[i] = b"{}[]\",:0 \\x"[rng.below(11)];
        }
        _ => {}
    }
    bytes
}

/// Runs `CASES` mutations of `original` through `parse_list::<T>` and checks each outcome.
fn fuzz<T: DeserializeOwned + Checked>(
    endpoint: &str,
    original: &Value,
    limits: &AnswerLimits,
    invariant: impl Fn(&T) -> bool,
    id: impl Fn(&T) -> Option<String>,
    rng: &mut Rng,
) -> (usize, usize) {
    let (mut errors, mut lists) = (0, 0);
    for case in 0..CASES {
        let body = mutate(original, rng);
        match parse_list::<T>(endpoint, &body, limits) {
            Ok(items) => {
                lists += 1;
                assert!(
                    items.len() <= limits.max_elements,
                    "{endpoint} case {case}: too many"
                );
                let mut ids = std::collections::HashSet::new();
                for (i, item) in items.iter().enumerate() {
                    assert!(
                        invariant(item),
                        "{endpoint} case {case} (seed {SEED:#x}): elements[{i}] broke its \
                         invariant; body: {}",
                        String::from_utf8_lossy(&body[..body.len().min(400)])
                    );
                    if let Some(id) = id(item) {
                        assert!(ids.insert(id), "{endpoint} case {case}: an id twice");
                    }
                }
            }
            Err(e) => {
                errors += 1;
                assert_eq!(e.endpoint(), Some(endpoint), "case {case}: {e}");
                assert!(
                    matches!(e, VcfError::Parse { .. } | VcfError::Unavailable { .. }),
                    "case {case}: {e:?}"
                );
            }
        }
    }
    (errors, lists)
}

fn filled(s: &str) -> bool {
    !s.trim().is_empty()
}

async fn answers() -> Vec<(String, Value)> {
    let sim = vcf_sim::start(
        Scenario::builtin("default").expect("default scenario"),
        SimOptions {
            listen: "127.0.0.1:0".parse().expect("addr"),
            tls: false,
            time_scale: 1.0,
        },
    )
    .await
    .expect("simulator");
    let http = reqwest::Client::new();
    let tokens: Value = http
        .post(format!("{}/v1/tokens", sim.url))
        .json(&json!({"username": sim.username, "password": sim.password}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("token pair");
    let token = tokens["accessToken"]
        .as_str()
        .expect("access token")
        .to_owned();
    let get = |p: String| {
        let (http, url, token) = (http.clone(), sim.url.clone(), token.clone());
        async move {
            let v: Value = http
                .get(format!("{url}{p}"))
                .bearer_auth(token)
                .send()
                .await
                .expect("answer")
                .json()
                .await
                .expect("JSON");
            (p, v)
        }
    };
    let (_, domains) = get("/v1/domains".into()).await;
    let d = domains["elements"][0]["id"]
        .as_str()
        .expect("a domain")
        .to_owned();
    let mut out = vec![(String::from("/v1/domains"), domains)];
    for p in [
        "/v1/clusters".to_owned(),
        "/v1/hosts".to_owned(),
        format!("/v1/releases?domainId={d}"),
        format!("/v1/releases/domains/{d}/future-releases"),
    ] {
        out.push(get(p).await);
    }
    // Upgradables are empty until a target is set: give the fuzz a real-shaped entry.
    out.push((
        format!("/v1/upgradables/domains/{d}"),
        json!({"elements": [{"bundleId": "b-1", "bundleType": "SDDC_MANAGER",
                             "resource": {"resourceId": d, "type": "DOMAIN"},
                             "softwareComponents": [{"id": "c1", "type": "SDDC_MANAGER"}],
                             "status": "AVAILABLE", "errors": []}],
               "pageMetadata": {"pageNumber": 0, "pageSize": 1, "totalElements": 1, "totalPages": 1}}),
    ));
    sim.shutdown().await;
    out
}

#[tokio::test]
async fn mutated_answers_are_errors_or_lists_that_keep_the_invariants() {
    let started = Instant::now();
    let mut rng = Rng(SEED);
    let mut totals = (0, 0);
    for (p, original) in answers().await {
        assert!(
            original["elements"]
                .as_array()
                .is_some_and(|a| !a.is_empty()),
            "{p}: the simulator's answer has elements"
        );
        let endpoint = format!("GET {}", p.split('?').next().unwrap_or(&p));
        let (e, l) = match p.as_str() {
            "/v1/domains" => fuzz::<Domain>(
                &endpoint,
                &original,
                &AnswerLimits::INVENTORY,
                |d| filled(&d.id) && filled(&d.name),
                |d| Some(d.id.clone()),
                &mut rng,
            ),
            "/v1/clusters" => fuzz::<Cluster>(
                &endpoint,
                &original,
                &AnswerLimits::INVENTORY,
                |c| filled(&c.id) && filled(&c.name),
                |c| Some(c.id.clone()),
                &mut rng,
            ),
            "/v1/hosts" => fuzz::<Host>(
                &endpoint,
                &original,
                &AnswerLimits::HOSTS,
                |h| filled(&h.id) && h.fqdn.as_deref().is_some_and(filled),
                |h| Some(h.id.clone()),
                &mut rng,
            ),
            p if p.starts_with("/v1/releases?") => fuzz::<Release>(
                &endpoint,
                &original,
                &AnswerLimits::RELEASES,
                |r| filled(&r.version),
                |_| None,
                &mut rng,
            ),
            p if p.ends_with("future-releases") => fuzz::<FutureRelease>(
                &endpoint,
                &original,
                &AnswerLimits::RELEASES,
                |r| filled(&r.version),
                |_| None,
                &mut rng,
            ),
            _ => fuzz::<Upgradable>(
                &endpoint,
                &original,
                &AnswerLimits::UPGRADABLES,
                |u| filled(&u.bundle_id),
                |_| None,
                &mut rng,
            ),
        };
        println!("{endpoint}: {CASES} cases, {e} errors, {l} lists");
        assert!(
            e > 0 && l > 0,
            "{endpoint}: the mutations reach both outcomes"
        );
        totals = (totals.0 + e, totals.1 + l);
    }
    println!(
        "fuzz: {} cases, {} errors, {} lists, {:?}",
        totals.0 + totals.1,
        totals.0,
        totals.1,
        started.elapsed()
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}
