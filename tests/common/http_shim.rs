//! A loopback HTTP endpoint that speaks the part of ClickHouse's HTTP interface the `clickhouse`
//! crate uses, answered by the embedded engine. It lets the HTTP backend be tested against real
//! ClickHouse semantics here, where no ClickHouse server can run: queries travel in the POST body,
//! `param_*` / `database` / `default_format` in the query string, errors as HTTP 500 with
//! ClickHouse's text. Result rows are formatted by ClickHouse itself (`formatRow`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::OnceLock;

use chx::engine::Engine;
use chx::sql::{Statement, quote};

static URL: OnceLock<String> = OnceLock::new();

/// Start the shim once per process; returns its base URL.
pub fn url() -> &'static str {
    URL.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let _ = serve(conn);
                });
            }
        });
        url
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => out.push(b),
                    Err(_) => out.push(b'%'),
                }
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn serve(mut conn: TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let target = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let (mut length, mut chunked, mut boundary) = (0usize, false, None);
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("content-type:")
            && let Some(at) = line.find("boundary=")
        {
            boundary = Some(line[at + "boundary=".len()..].trim().to_string());
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    }
    let body = String::from_utf8_lossy(&body).into_owned();
    let mut params = Vec::new();
    // Parameters travel as multipart/form-data fields beside the `query` field.
    let query = match &boundary {
        None => body,
        Some(b) => {
            let mut query = String::new();
            for part in body.split(&format!("--{b}")) {
                let Some((head, value)) = part.split_once("\r\n\r\n") else {
                    continue;
                };
                let Some(at) = head.find("name=\"") else {
                    continue;
                };
                let name = head[at + 6..].split('"').next().unwrap_or_default();
                let value = value.strip_suffix("\r\n").unwrap_or(value).to_string();
                match name.strip_prefix("param_") {
                    Some(p) => params.push((p.to_string(), value)),
                    None if name == "query" => query = value,
                    None => {}
                }
            }
            query
        }
    };
    let mut database = None;
    let mut format = None;
    let mut settings = Vec::new();
    if let Some((_, qs)) = target.split_once('?') {
        for pair in qs.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let (k, v) = (percent_decode(k), percent_decode(v));
            if let Some(name) = k.strip_prefix("param_") {
                params.push((name.to_string(), v));
            } else if k == "database" {
                database = Some(v);
            } else if k == "default_format" {
                format = Some(v);
            } else if k.starts_with("output_format_") {
                settings.push(format!("{k} = {v}"));
            }
        }
    }
    let (status, out) = match answer(
        &query,
        &params,
        database.as_deref(),
        format.as_deref(),
        &settings,
    ) {
        Ok(text) => ("200 OK", text),
        Err(e) => ("500 Internal Server Error", e),
    };
    write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{out}",
        out.len()
    )?;
    conn.flush()
}

/// Run one request on the embedded engine; the text of an error is ClickHouse's own.
fn answer(
    query: &str,
    params: &[(String, String)],
    database: Option<&str>,
    format: Option<&str>,
    settings: &[String],
) -> Result<String, String> {
    let engine = Engine::connect(super::embedded_target(), database).map_err(|e| e.to_string())?;
    let with_params = |sql: String| {
        // The values arrive in ClickHouse's parameter text form already: pass them through as
        // strings, which is how the server itself receives them.
        let mut st = Statement::new(sql);
        for (name, text) in params {
            st.params.push(chx::sql::Param::new(
                name.clone(),
                "String",
                chx::sql::ParamValue::Raw(text.clone()),
            ));
        }
        st
    };
    let server_text = |e: chx::Error| match e {
        chx::Error::Server(s) => format!(
            "Code: {}. DB::Exception: {}",
            s.code.unwrap_or(0),
            s.message
        ),
        other => other.to_string(),
    };
    let trimmed = query.trim().trim_end_matches(';');
    let describe = engine.run(with_params(format!("DESCRIBE TABLE ({trimmed})")));
    match (format, describe) {
        (Some("JSONCompactEachRowWithNamesAndTypes"), Ok(desc)) => {
            let names: Vec<String> = desc
                .rows
                .iter()
                .map(|r| r[0].as_str().unwrap().to_string())
                .collect();
            let types: Vec<String> = desc
                .rows
                .iter()
                .map(|r| r[1].as_str().unwrap().to_string())
                .collect();
            let cols: Vec<String> = (1..=names.len()).map(|i| format!("c{i}")).collect();
            let renamed: Vec<String> = names
                .iter()
                .zip(&cols)
                .map(|(n, c)| format!("{} AS {c}", quote::ident(n)))
                .collect();
            let settings = if settings.is_empty() {
                String::new()
            } else {
                format!(" SETTINGS {}", settings.join(", "))
            };
            let sql = format!(
                "SELECT formatRow('JSONCompactEachRow', {}) FROM (SELECT {} FROM ({trimmed})){settings}",
                cols.join(", "),
                renamed.join(", ")
            );
            let rows = engine.run(with_params(sql)).map_err(server_text)?;
            let mut out = serde_json::to_string(&names).unwrap()
                + "\n"
                + &serde_json::to_string(&types).unwrap()
                + "\n";
            for r in rows.rows {
                out.push_str(r[0].as_str().unwrap());
            }
            Ok(out)
        }
        _ => engine
            .run(with_params(query.to_string()))
            .map(|_| String::new())
            .map_err(server_text),
    }
}
