// Scratch: interleaved timing of SQL statements (one per file) on a store, in one process.
use chx::engine::{Engine, Target};
use std::time::Instant;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let engine = Engine::connect(
        &Target::Embedded {
            store: args[1].clone().into(),
        },
        None,
    )
    .unwrap();
    let files = &args[2..];
    let sqls: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    let mut first = Vec::new();
    for (f, sql) in files.iter().zip(&sqls) {
        match engine.run(sql.as_str()) {
            Ok(r) => first.push(format!(
                "{} rows, {}",
                r.len(),
                r.rows
                    .first()
                    .map(|r| format!("{r:?}"))
                    .unwrap_or_default()
                    .chars()
                    .take(80)
                    .collect::<String>()
            )),
            Err(e) => first.push(format!("ERROR {e}").chars().take(300).collect()),
        }
        let _ = f;
    }
    let mut times = vec![Vec::new(); files.len()];
    for _ in 0..rounds {
        for (i, sql) in sqls.iter().enumerate() {
            if first[i].starts_with("ERROR") {
                continue;
            }
            let t = Instant::now();
            engine.run(sql.as_str()).unwrap();
            times[i].push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    for (i, f) in files.iter().enumerate() {
        let v = &mut times[i];
        v.sort_by(|a, b| a.total_cmp(b));
        let (min, med) = v.first().map_or((0.0, 0.0), |m| (*m, v[v.len() / 2]));
        println!("{f}: min {min:.1} med {med:.1} ms | {}", first[i]);
    }
}
