//! Where generation time goes, phase by phase, on each OpenAPI document given:
//! `cargo run --release -p contractor-rust --example phases -- FILE...`
//! (the best of 3 runs per phase).

use std::time::{Duration, Instant};

fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = f();
        best = best.min(start.elapsed());
        last = Some(value);
    }
    (best, last.expect("at least one run"))
}

fn main() {
    for path in std::env::args().skip(1) {
        let (load, docs) = best(3, || contractor_openapi::load(&path));
        let mut docs = match docs {
            Ok(d) => d,
            Err(e) => {
                println!("{path}: {e}");
                continue;
            }
        };
        let (lower, api) = best(3, || contractor_openapi::lower::lower(&mut docs));
        let Ok(api) = api else { continue };
        let (plan, _) = best(3, || contractor_rust::http::HttpApi::plan(&api));
        let planned = contractor_rust::http::HttpApi::plan(&api);
        let mut per_section = Vec::new();
        for section in planned.sections(true, true) {
            let (render, tokens) = best(1, || planned.render_section(&section));
            let (parse, file) = best(1, || syn::parse2::<syn::File>(tokens.clone()));
            let Ok(file) = file else { continue };
            let (format, _) = best(1, || prettyplease::unparse(&file));
            let name = match section {
                contractor_rust::http::Section::Types(_) => "types".to_string(),
                other => format!("{other:?}"),
            };
            per_section.push((name, render + parse + format));
        }
        let (total, generated) = best(3, || {
            contractor_rust::openapi(&api, contractor_rust::Options::default())
        });
        let text = generated.map(|g| g.code).unwrap_or_default();
        let (render, parse, unparse) = (total, Duration::ZERO, Duration::ZERO);
        for (name, d) in &per_section {
            if d.as_millis() > 20 {
                println!("  {name}: {:.0} ms", d.as_secs_f64() * 1000.0);
            }
        }
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{path}: load {:.0} ms, lower {:.0} ms, plan {:.0} ms, generate (parallel) {:.0} ms{:.0}{:.0}; {} lines",
            ms(load),
            ms(lower),
            ms(plan),
            ms(render),
            ms(parse),
            ms(unparse),
            text.lines().count()
        );
    }
}
