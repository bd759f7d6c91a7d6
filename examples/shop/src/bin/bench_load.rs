//! The load generator of `cargo xtask generate-bench`: keep-alive HTTP/1.1 connections to a
//! `bench_server`, each sending its next request as soon as the previous answer is read.
//!
//! ```text
//! bench_load --addr HOST:PORT --op create|get [--connections 32] [--warmup 1] [--seconds 5]
//! ```
//!
//! Runs on one thread (a current-thread tokio runtime over hyper's bare HTTP/1 connections),
//! so the server keeps most of the machine. Requests answered during the warm-up are not
//! counted. Prints one JSON line: requests, seconds, rps, errors, latency percentiles (µs).
//!
//! `create` is `POST /orders` with a `NewOrder` body, `Authorization: Bearer …` and a fresh
//! `Idempotency-Key` per request (createOrder requires one; a repeated key would be replayed
//! instead of running the handler); `get` is `GET /orders/{id}` of the order the server seeds.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use contractor_runtime::bytes::Bytes;
use contractor_runtime::http::{Request, header};
use contractor_runtime::tokio;
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;

const ORDER: &str = r#"{"customer":"ada@example.com","items":[{"sku":"TEA-0001","quantity":2},{"sku":"MUG-0042","quantity":1}],"note":"leave at the door","shipping":{"line1":"1 Loop Road","city":"Localhost","country":"NZ"},"payment":{"method":"card","token":"tok_visa"}}"#;

/// The order `bench_server` seeds.
const SEEDED_ORDER: &str = "00000000-0000-4000-8000-000000000001";

#[derive(Default)]
struct Tally {
    requests: u64,
    errors: u64,
    /// Latencies of the counted requests, µs.
    latencies: Vec<u32>,
    first_error: Option<String>,
}

struct Options {
    addr: String,
    create: bool,
    connections: usize,
    warmup: Duration,
    measure: Duration,
}

fn options() -> Result<Options, Box<dyn std::error::Error>> {
    let mut o = Options {
        addr: String::new(),
        create: true,
        connections: 32,
        warmup: Duration::from_secs(1),
        measure: Duration::from_secs(5),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--addr" => o.addr = value()?,
            "--op" => {
                o.create = match value()?.as_str() {
                    "create" => true,
                    "get" => false,
                    other => return Err(format!("--op create|get, not {other}").into()),
                }
            }
            "--connections" => o.connections = value()?.parse()?,
            "--warmup" => o.warmup = Duration::from_secs_f64(value()?.parse()?),
            "--seconds" => o.measure = Duration::from_secs_f64(value()?.parse()?),
            other => return Err(format!("unexpected argument `{other}`").into()),
        }
    }
    if o.addr.is_empty() {
        return Err("--addr HOST:PORT is required".into());
    }
    Ok(o)
}

fn request(o: &Options, connection: usize, n: u64) -> Request<Full<Bytes>> {
    let builder = Request::builder().header(header::HOST, &o.addr);
    if o.create {
        builder
            .method("POST")
            .uri("/orders")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, "Bearer bench-token")
            .header("idempotency-key", format!("bench-{connection}-{n}"))
            .body(Full::new(Bytes::from_static(ORDER.as_bytes())))
    } else {
        builder
            .method("GET")
            .uri(format!("/orders/{SEEDED_ORDER}"))
            .header(header::AUTHORIZATION, "Bearer bench-token")
            .body(Full::new(Bytes::new()))
    }
    .expect("a valid request")
}

async fn connection(
    o: Rc<Options>,
    index: usize,
    start: Instant,
    tally: Rc<RefCell<Tally>>,
) -> Result<(), Box<dyn std::error::Error>> {
    let stream = tokio::net::TcpStream::connect(&o.addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::task::spawn_local(conn);
    let (from, until) = (start + o.warmup, start + o.warmup + o.measure);
    let expected = if o.create { 201 } else { 200 };
    let mut n = 0;
    loop {
        let sent = Instant::now();
        if sent >= until {
            return Ok(());
        }
        sender.ready().await?;
        let resp = sender.send_request(request(&o, index, n)).await?;
        n += 1;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await?.to_bytes();
        let done = Instant::now();
        if sent < from || done > until {
            continue;
        }
        let mut t = tally.borrow_mut();
        t.requests += 1;
        if status == expected {
            let micros = done.duration_since(sent).as_micros();
            t.latencies.push(u32::try_from(micros).unwrap_or(u32::MAX));
        } else {
            t.errors += 1;
            if t.first_error.is_none() {
                t.first_error = Some(format!("{status}: {}", String::from_utf8_lossy(&body)));
            }
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o = Rc::new(options()?);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let tally = Rc::new(RefCell::new(Tally::default()));
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let start = Instant::now();
        let tasks: Vec<_> = (0..o.connections)
            .map(|i| tokio::task::spawn_local(connection(o.clone(), i, start, tally.clone())))
            .collect();
        for task in tasks {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => eprintln!("bench_load: a connection failed: {e}"),
                Err(e) => eprintln!("bench_load: a connection panicked: {e}"),
            }
        }
    });
    let mut t = tally.take();
    if let Some(e) = &t.first_error {
        eprintln!("bench_load: first unexpected answer: {e}");
    }
    t.latencies.sort_unstable();
    let pct = |p: f64| {
        let i = ((t.latencies.len() as f64 * p) as usize).min(t.latencies.len().saturating_sub(1));
        t.latencies.get(i).copied().unwrap_or(0)
    };
    let seconds = o.measure.as_secs_f64();
    println!(
        "{{\"requests\":{},\"seconds\":{seconds},\"rps\":{:.1},\"errors\":{},\"p50_us\":{},\"p99_us\":{}}}",
        t.requests,
        (t.requests - t.errors) as f64 / seconds,
        t.errors,
        pct(0.50),
        pct(0.99),
    );
    Ok(())
}
