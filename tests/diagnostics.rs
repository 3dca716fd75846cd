//! Every kind of schema error: a small bad fixture each, rendered (no colour) and snapshotted.
//! Each problem must carry file:line:column, a stable code and a help line.

mod common;

use chx::diag::Source;

fn fixtures() -> Vec<(String, String)> {
    let dir = common::repo_path("tests/fixtures/bad_schemas");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "yaml"))
        .map(|e| {
            let stem = e.path().file_stem().unwrap().to_string_lossy().to_string();
            (stem, std::fs::read_to_string(e.path()).unwrap())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_bad_schema_is_reported_with_location_code_and_help() {
    let fixtures = fixtures();
    assert!(fixtures.len() >= 10);
    for (stem, text) in fixtures {
        let src = Source::new(format!("{stem}.yaml"), text);
        let diags = chx::schema::from_source(&src).expect_err(&stem);
        for d in diags.iter() {
            let loc = d
                .location()
                .unwrap_or_else(|| panic!("{stem}: `{}` has no location", d.message));
            assert!(loc.starts_with(&format!("{stem}.yaml:")), "{loc}");
            assert!(d.code.starts_with("chx::schema::"), "{}", d.code);
            assert!(d.help.is_some(), "{stem}: `{}` has no help", d.message);
        }
        let rendered = format!("{}\n{}", diags.render_plain(), diags.render(false));
        common::snapshots("diagnostics").bind(|| insta::assert_snapshot!(stem.clone(), rendered));
    }
}

#[test]
fn all_problems_of_a_file_come_at_once() {
    let text = std::fs::read_to_string(common::repo_path(
        "tests/fixtures/bad_schemas/many_problems.yaml",
    ))
    .unwrap();
    let diags = chx::schema::from_source(&Source::new("many_problems.yaml", text)).unwrap_err();
    let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
    for code in [
        "chx::schema::bad_timezone",
        "chx::schema::unknown_engine",
        "chx::schema::bad_type",
        "chx::schema::duplicate_column",
        "chx::schema::unknown_column",
        "chx::schema::missing_order_by",
        "chx::schema::missing_field",
        "chx::schema::unknown_view_kind",
        "chx::schema::unknown_table",
    ] {
        assert!(codes.contains(&code), "missing {code} in {codes:?}");
    }
    // Sorted top to bottom.
    let offsets: Vec<usize> = diags.iter().map(|d| d.span.unwrap().offset).collect();
    assert!(offsets.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn the_shipped_schema_is_valid() {
    let s = common::ecommerce();
    let t = s.taxonomy.as_ref().unwrap();
    assert_eq!(t.events.len(), 21);
    for role in [
        "view_item",
        "add_to_cart",
        "begin_checkout",
        "add_payment_info",
        "purchase",
        "refund",
    ] {
        assert_eq!(t.events_for(role).len(), 1, "{role}");
    }
    // Presets map the other seeds' names onto these events.
    assert_eq!(t.event("order.completed").unwrap().name, "purchase");
    assert_eq!(t.event("completed_checkout").unwrap().name, "purchase");
    assert_eq!(t.event("Order Completed").unwrap().name, "purchase");
    assert_eq!(t.event("Product Added").unwrap().name, "add_to_cart");
    assert_eq!(t.event("viewed_product").unwrap().name, "view_item");
    // The journey seed's five: Product Viewed, Product Added, Checkout Started, Checkout Step
    // Completed (after the payment information), Order Completed.
    for (name, canonical) in [
        ("Product Viewed", "view_item"),
        ("Checkout Started", "begin_checkout"),
        ("Checkout Step Completed", "add_payment_info"),
        // The other seeds' events beyond the API's 13.
        ("viewed_collection", "view_item_list"),
        ("applied_discount", "apply_coupon"),
        ("Coupon Applied", "apply_coupon"),
        ("payment.captured", "payment_captured"),
        // The journey seed's email events, under Segment's names.
        ("Email Delivered", "email_delivered"),
        ("Email Opened", "email_opened"),
        ("Email Link Clicked", "email_clicked"),
        ("Unsubscribed", "email_unsubscribed"),
    ] {
        assert_eq!(t.event(name).unwrap().name, canonical, "{name}");
    }
}

#[test]
fn no_unreferenced_snapshots() {
    let names: Vec<String> = fixtures().into_iter().map(|(stem, _)| stem).collect();
    common::assert_no_unreferenced_snapshots("diagnostics", &names);
}
