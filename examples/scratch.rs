use chx::engine::{Engine, Target};
use chx::sql::Statement;
fn main() {
    let e = Engine::connect(
        &Target::Embedded {
            store: "/tmp/chx-scratch".into(),
        },
        None,
    )
    .unwrap();
    println!("{}", e.version().unwrap());
    for v in [
        "plain",
        "it's",
        "back\\slash",
        "tab\there",
        "new\nline",
        "ünï",
        "{x:String}",
    ] {
        let r = e
            .run(
                Statement::new("SELECT {v:String} AS v, length({v:String}) AS n")
                    .param("v", "String", v),
            )
            .unwrap();
        println!(
            "{:?} -> {:?} ok={}",
            v,
            r.rows[0],
            r.rows[0][0] == serde_json::json!(v)
        );
    }
    let r = e
        .run(
            Statement::new("SELECT has({a:Array(String)}, 'x\\'y') AS h").param(
                "a",
                "Array(String)",
                chx::sql::ParamValue::Array(vec!["x'y".into(), "b".into()]),
            ),
        )
        .unwrap();
    println!("{:?}", r.rows);
    e.run("CREATE DATABASE IF NOT EXISTS scratch").unwrap();
    e.run("CREATE TABLE IF NOT EXISTS scratch.t (ts DateTime64(3,'UTC'), d Date, n Nullable(UInt64), lc LowCardinality(String), m Map(String,String), a Array(Tuple(id String, q UInt32)), dec Decimal(18,2), u UUID, b Bool, e Enum8('a'=1,'b'=2), ip IPv4, dt DateTime('Europe/Berlin')) ENGINE=MergeTree ORDER BY ts").unwrap();
    e.insert_json_rows("scratch.t", "{\"ts\":\"2026-01-15 10:30:00.123\",\"d\":\"2026-01-15\",\"n\":null,\"lc\":\"x\",\"m\":{\"k\":\"v\"},\"a\":[{\"id\":\"s1\",\"q\":2}],\"dec\":\"12.34\",\"u\":\"00000000-0000-0000-0000-000000000001\",\"b\":true,\"e\":\"b\",\"ip\":\"1.2.3.4\",\"dt\":\"2026-01-15 10:30:00\"}\n").unwrap();
    let r = e.run("SELECT * FROM scratch.t").unwrap();
    for c in &r.columns {
        print!("{}:{}  ", c.name, c.ty);
    }
    println!("\n{:?}", r.rows);
    let e2 = Engine::connect(
        &Target::Embedded {
            store: "/tmp/chx-scratch".into(),
        },
        Some("scratch"),
    )
    .unwrap();
    println!("{:?}", e2.run("SELECT count() FROM t").unwrap().rows);
    println!("{:?}", e2.run("SELECT currentDatabase()").unwrap().rows);
    println!("{:?}", e.run("SELECT 1 FORMAT JSONEachRow").map(|r| r.rows));
    println!("{:?}", e.run("SELECT nosuch()").err().unwrap());
    println!("{:?}", e.format_query("CREATE TABLE a ON CLUSTER c (x UInt8) ENGINE=ReplicatedMergeTree('/p/{shard}', '{replica}') ORDER BY x"));
    println!(
        "{:?}",
        e.run("SELECT toDateTime('2026-01-01 00:00:00') AS t, now() AS n, timezone() AS tz")
            .unwrap()
    );
}
