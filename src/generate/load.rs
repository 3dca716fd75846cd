//! Streaming generated events into the engine (Arrow batches through ADBC ingest on the
//! embedded engine) and, optionally, into an NDJSON file in the ingest format.
//!
//! Three threads: the generator builds the next batch while two connections insert the
//! previous ones (measured on 2 cores at 3M events: one insert at a time 390k events/s,
//! two at a time 560-580k events/s). At most about four batches are in memory.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use super::{Batch, Generator, Options, to_track_json};
use crate::engine::Engine;
use crate::error::Error;
use crate::schema::Schema;
use crate::sql::Statement;

/// Rows per Arrow batch: large enough for fast ingest, small enough for flat memory. Each
/// batch becomes parts of the events table and of every view's target (five views when this
/// was measured) that background merges then combine on the same two cores, so fewer, bigger
/// batches pay: 10M events went from 437-459k events/s at 262k rows to 510-525k at 524k (peak
/// RSS 1.3 -> 2.0-2.3 GB, whatever the event count; 655k rows: 553k/s at 2.5 GB).
const MAX_BATCH_ROWS: usize = 524_288;
/// Small loads take at least eight batches: filling and draining the pipeline (the first
/// batch generated alone, the last inserted alone) costs a batch's time, which 524k-row
/// batches made dominate at 2M events (440k events/s against 460-510k at 262k rows).
const MIN_BATCH_ROWS: usize = 131_072;

/// The first batch is small: the engine idles until it arrives (at 1M events, 450-529k
/// events/s against 404-497k with a full first batch, interleaved runs).
const FIRST_BATCH_ROWS: usize = 32_768;

fn batch_rows(events: u64) -> usize {
    usize::try_from(events / 8)
        .unwrap_or(MAX_BATCH_ROWS)
        .clamp(MIN_BATCH_ROWS, MAX_BATCH_ROWS)
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LoadReport {
    pub events: u64,
    pub seconds: f64,
    pub events_per_second: f64,
}

/// Generate `opts.events` events into `database.events` (the taxonomy's table).
pub fn load(
    engine: &Engine,
    schema: &Schema,
    database: &str,
    opts: &Options,
    ndjson: Option<&Path>,
) -> Result<LoadReport, Error> {
    let table = schema.events_table().to_string();
    let started = Instant::now();
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(opts.events);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} events {per_sec} {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let ndjson_error = |source| Error::Io {
        path: ndjson.map(Path::to_path_buf).unwrap_or_default(),
        source,
    };
    let mut file = match ndjson {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(ndjson_error)?,
        )),
        None => None,
    };
    // The generator runs on its own thread, one batch ahead of the engine (a rendezvous of
    // finished batches keeps memory at about two batches): the two cores overlap generating
    // with ClickHouse's insert instead of taking turns.
    let (tx, rx) = std::sync::mpsc::sync_channel::<arrow_array::RecordBatch>(1);
    let generated_opts = opts.clone();
    // A second insert connection where the backend has one (embedded engine): one insert
    // keeps about 1.3 of the 2 cores busy (sorting and writing a part is single-threaded).
    let second = engine.another_connection()?;
    let receiver = std::sync::Mutex::new(Some(rx));
    // Each insert thread takes the next batch. Dropping the receiver (on the first error, or
    // when inserting ends) makes a blocked producer's send fail, so it stops too.
    let insert = |engine: &Engine| -> Result<(), Error> {
        loop {
            let b = {
                let Ok(guard) = receiver.lock() else {
                    return Ok(());
                };
                match guard.as_ref().map(|rx| rx.recv()) {
                    Some(Ok(b)) => b,
                    _ => return Ok(()),
                }
            };
            let n = b.num_rows() as u64;
            if let Err(e) = engine.insert_arrow(database, &table, b) {
                receiver.lock().map(|mut r| r.take()).ok();
                return Err(e);
            }
            bar.inc(n);
        }
    };
    let (generated, inserted) = std::thread::scope(|scope| {
        let producer = scope.spawn(move || -> Result<u64, Error> {
            let opts = generated_opts;
            let full = batch_rows(opts.events);
            let mut rows = FIRST_BATCH_ROWS.min(full);
            let mut g = Generator::new(opts);
            let mut batch = Batch::new();
            let mut failure: Option<Error> = None;
            loop {
                let more = g.next_session(&mut |e| {
                    batch.push(e);
                    if let Some(f) = file.as_mut() {
                        let exp = schema.currency_exponent(e.currency).unwrap_or(2);
                        if let Err(source) = writeln!(f, "{}", to_track_json(e, exp)) {
                            failure.get_or_insert(ndjson_error(source));
                        }
                    }
                });
                if let Some(e) = failure.take() {
                    return Err(e);
                }
                if batch.len() >= rows || (!more && !batch.is_empty()) {
                    rows = full;
                    if tx.send(batch.finish()).is_err() {
                        // The engine side stopped on an error; it reports it.
                        break;
                    }
                }
                if !more {
                    break;
                }
            }
            drop(tx);
            if let Some(mut f) = file {
                f.flush().map_err(ndjson_error)?;
            }
            Ok(g.emitted())
        });
        let inserted = match &second {
            Some(second) => {
                let helper = scope.spawn(|| insert(second));
                let first = insert(engine);
                let helped = helper.join().unwrap_or_else(|_| {
                    Err(Error::Engine {
                        message: "an insert thread panicked".into(),
                    })
                });
                first.and(helped)
            }
            None => insert(engine),
        };
        receiver.lock().map(|mut r| r.take()).ok();
        let generated = producer.join().unwrap_or_else(|_| {
            Err(Error::Engine {
                message: "the generator thread panicked".into(),
            })
        });
        (generated, inserted)
    });
    inserted?;
    let emitted = generated?;
    load_rates(engine, schema, database, opts)?;
    load_spend(engine, schema, database)?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    Ok(LoadReport {
        events: emitted,
        seconds,
        events_per_second: emitted as f64 / seconds.max(1e-9),
    })
}

/// Whether the database has the schema's table `name` (a database migrated to an earlier
/// version of the schema may not).
fn has_table(engine: &Engine, schema: &Schema, database: &str, name: &str) -> Result<bool, Error> {
    let exists = Statement::new(
        "SELECT name FROM system.tables WHERE database = {db:String} AND name = {table:String}",
    )
    .param("db", "String", database)
    .param("table", "String", name);
    Ok(schema.table(name).is_some() && !engine.run(exists)?.rows.is_empty())
}

/// Daily ad spend of the generated paid channels, where the database has the spend table.
fn load_spend(engine: &Engine, schema: &Schema, database: &str) -> Result<(), Error> {
    if has_table(
        engine,
        schema,
        database,
        crate::query::acquisition::SPEND_TABLE,
    )? {
        engine.run(spend_insert(schema, database))?;
    }
    Ok(())
}

/// The statement that writes the generated paid channels' daily ad spend (search ads in USD,
/// social ads billed in EUR, the newsletter's sending cost) from the loaded events: clicks
/// are the channel's sessions of the day, impressions 20-39 per click, and the cost per click
/// varies by ±20 % around the channel's own (a hash of the day and channel: deterministic for
/// the events). One statement over the events table.
pub fn spend_insert(schema: &Schema, database: &str) -> Statement {
    use crate::query::acquisition::SPEND_TABLE;
    use crate::sql::quote::ident;
    let events = schema.events_table();
    Statement::new(format!(
        "INSERT INTO {db}.{spend} (day, utm_campaign, utm_source, utm_medium, currency, spend, impressions, clicks)\n\
         SELECT day, utm_campaign, utm_source, utm_medium, if(utm_medium = 'social', 'EUR', 'USD') AS currency,\n    \
         toInt64(round(clicks * multiIf(utm_medium = 'cpc', 85, utm_medium = 'social', 60, 4) * (80 + cityHash64(day, utm_campaign, utm_source) % 41) / 100)) AS spend,\n    \
         clicks * (20 + cityHash64(utm_campaign, day) % 20) AS impressions, clicks\n\
         FROM (\n    SELECT toDate(timestamp) AS day, utm_campaign, utm_source, utm_medium, uniqExact(session_id) AS clicks\n    \
         FROM {db}.{events}\n    WHERE utm_medium IN ('cpc', 'social', 'newsletter')\n    GROUP BY day, utm_campaign, utm_source, utm_medium\n)",
        db = ident(database),
        spend = ident(SPEND_TABLE),
        events = ident(events),
    ))
}

/// The generated currencies' daily rates into the schema's base currency, where the database
/// has the rates table (`currency=base` reports read it).
fn load_rates(
    engine: &Engine,
    schema: &Schema,
    database: &str,
    opts: &Options,
) -> Result<(), Error> {
    if has_table(engine, schema, database, crate::query::money::RATES_TABLE)? {
        engine.run(rates_insert(schema, database, opts))?;
    }
    Ok(())
}

/// The statement that writes [`rates`](super::rates) for `opts`: one statement, the rows as
/// array parameters.
pub fn rates_insert(schema: &Schema, database: &str, opts: &Options) -> Statement {
    use crate::query::money::RATES_TABLE;
    use crate::sql::{ParamValue, quote::ident};
    let rates = super::rates(opts, &schema.base_currency, |c| schema.currency_exponent(c));
    let column = |f: &dyn Fn(&(chrono::NaiveDate, &str, String)) -> String| {
        ParamValue::Array(rates.iter().map(|r| ParamValue::String(f(r))).collect())
    };
    let sql = format!(
        "INSERT INTO {}.{} (day, currency, rate)\nSELECT toDate(r.1), r.2, toDecimal128(r.3, 18)\n\
         FROM (SELECT arrayJoin(arrayZip({{days:Array(String)}}, {{currencies:Array(String)}}, {{rates:Array(String)}})) AS r)",
        ident(database),
        ident(RATES_TABLE)
    );
    Statement::new(sql)
        .param("days", "Array(String)", column(&|r| r.0.to_string()))
        .param("currencies", "Array(String)", column(&|r| r.1.to_string()))
        .param("rates", "Array(String)", column(&|r| r.2.clone()))
}
