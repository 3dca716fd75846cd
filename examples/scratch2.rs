use chx::engine::{Engine, Target};
fn main() {
    let schema = match chx::schema::load("schema/ecommerce.yaml".as_ref()) {
        Ok(s) => s,
        Err(chx::Error::Diagnostics(d)) => {
            eprintln!("{}", d.render(false));
            std::process::exit(1)
        }
        Err(e) => panic!("{e}"),
    };
    let opts = chx::ddl::DdlOptions::new()
        .database("scratch2")
        .if_not_exists(true);
    let stmts = chx::ddl::compile(&schema, &opts);
    print!("{}", chx::ddl::to_script(&stmts));
    let e = Engine::connect(
        &Target::Embedded {
            store: "/tmp/chx-scratch".into(),
        },
        None,
    )
    .unwrap();
    e.run("DROP DATABASE IF EXISTS scratch2").unwrap();
    for s in &stmts {
        if let Err(err) = e.run(s.to_statement()) {
            println!("FAILED {}: {err}", s.name);
        }
    }
    let c = chx::ddl::compile(
        &schema,
        &chx::ddl::DdlOptions::new()
            .database("scratch2")
            .cluster("c1"),
    );
    for s in &c {
        if let Err(err) = e.format_query(&s.sql) {
            println!("FORMAT FAILED {}: {err}", s.name);
        }
    }
    print!("{}", chx::ddl::to_script(&c[1..2]));
    print!("{}", chx::ddl::to_script(&c[c.len() - 6..]));
}
