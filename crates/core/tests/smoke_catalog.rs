use genmux_core::{Catalog, GenerationRequest};

#[test]
fn every_example_quotes() {
    let c = Catalog::builtin();
    for m in c.models() {
        for ex in &m.examples {
            let mut body = ex.clone();
            body.insert("model".into(), m.id.clone().into());
            let req: GenerationRequest = serde_json::from_value(body.clone().into()).unwrap();
            let q = c.quote(&req);
            assert!(q.is_ok(), "{} {:?}: {:?}", m.id, body, q.err());
            println!(
                "{} {} → {}",
                m.id,
                serde_json::Value::Object(body),
                q.unwrap().points
            );
        }
    }
}
