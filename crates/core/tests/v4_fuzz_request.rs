//! V4 (`design/RELIABILITY.md` "Input"): `Catalog::parse_request` on arbitrary JSON never
//! panics and refuses with an `InvalidRequest` whose message starts with the JSON path of
//! the problem (V2); what it accepts, `Catalog::quote` prices or refuses the same way.
//!
//! Two sources of bodies: arbitrary JSON values, and the catalog's own example bodies with
//! one field replaced by an arbitrary value, added or removed — so the per-field rules (V3:
//! integers in range, negatives and overflow refused) are reached, not just the top-level
//! "not an object".

use genmux_core::{Catalog, ErrorKind};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![
            Just(-1i64),
            Just(0),
            Just(1),
            Just(5),
            Just(10),
            Just(i64::MAX)
        ]
        .prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![Just(5.5f64), Just(-0.0), Just(1e300)]
            .prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,16}".prop_map(Value::String),
        prop_oneof![
            Just("data:image/png;base64,AAAA"),
            Just("https://example.com/a.png"),
            Just("16:9"),
            Just("pro"),
            Just("")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every example body of the catalog, with its model's field names.
fn examples() -> Vec<(Map<String, Value>, Vec<String>)> {
    let mut out = Vec::new();
    for m in Catalog::builtin().models() {
        let mut names: Vec<String> = m.fields.iter().map(|f| f.name.clone()).collect();
        names.extend(["model", "projectId", "callbackUrl", "externalTaskId"].map(String::from));
        for ex in &m.examples {
            let mut body = ex.clone();
            body.entry("model")
                .or_insert_with(|| Value::String(m.id.clone()));
            out.push((body, names.clone()));
        }
    }
    out
}

/// One change to a valid body.
#[derive(Clone, Debug)]
enum Mutation {
    Set(usize, Value),
    SetUnknown(String, Value),
    Remove(usize),
}

fn mutated_example() -> impl Strategy<Value = (Value, Mutation)> {
    let all = examples();
    assert!(!all.is_empty(), "the catalog has example bodies");
    (
        0..all.len(),
        prop_oneof![
            4 => (any::<usize>(), any_json()).prop_map(|(i, v)| Mutation::Set(i, v)),
            1 => ("[a-zA-Z_]{1,12}", any_json()).prop_map(|(k, v)| Mutation::SetUnknown(k, v)),
            1 => any::<usize>().prop_map(Mutation::Remove),
        ],
    )
        .prop_map(move |(i, m)| {
            let (mut body, names) = all[i].clone();
            match &m {
                Mutation::Set(f, v) => {
                    body.insert(names[f % names.len()].clone(), v.clone());
                }
                Mutation::SetUnknown(k, v) => {
                    body.insert(k.clone(), v.clone());
                }
                Mutation::Remove(f) => {
                    body.remove(&names[f % names.len()]);
                }
            }
            (Value::Object(body), m)
        })
}

/// `field: …`, `field[3].sub: …`, `request: …`, or for a rule between fields
/// `videoId + videoUrl: …` — the message names where the problem is.
fn names_a_path(message: &str) -> bool {
    let Some((paths, rest)) = message.split_once(": ") else {
        return false;
    };
    !rest.trim().is_empty()
        && paths.split(" + ").all(|path| {
            !path.is_empty()
                && path
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'))
        })
}

fn check(body: &Value) -> Result<(), TestCaseError> {
    let catalog = Catalog::builtin();
    match catalog.parse_request(body) {
        Err(e) => {
            prop_assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{}", e.message());
            prop_assert!(names_a_path(e.message()), "no path in {:?}", e.message());
        }
        Ok(req) => match catalog.quote(&req) {
            Ok(q) => {
                prop_assert!(q.points >= 0, "negative price {} for {}", q.points, body);
            }
            Err(e) => {
                prop_assert!(
                    matches!(e.kind(), ErrorKind::InvalidRequest | ErrorKind::Unsupported),
                    "{:?}: {}",
                    e.kind(),
                    e.message()
                );
                prop_assert!(names_a_path(e.message()), "no path in {:?}", e.message());
            }
        },
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_is_refused_with_a_path(body in any_json()) {
        check(&body)?;
    }

    #[test]
    fn mutated_examples_parse_or_are_refused_with_a_path((body, _m) in mutated_example()) {
        check(&body)?;
    }
}

/// The unmutated examples are valid: the mutation test starts from accepted bodies.
#[test]
fn every_example_is_accepted() {
    for (body, _) in examples() {
        let body = Value::Object(body);
        let req = Catalog::builtin()
            .parse_request(&body)
            .unwrap_or_else(|e| panic!("{body}: {}", e.message()));
        Catalog::builtin()
            .quote(&req)
            .unwrap_or_else(|e| panic!("{body}: {}", e.message()));
    }
}
