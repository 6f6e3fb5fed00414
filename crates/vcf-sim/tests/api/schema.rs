//! The official OpenAPI specs (vendored in `tests/data/vcf-api/`) as a strict checker of JSON
//! bodies: the simulator's answers (`conformance`) and the requests the product sends (the
//! orchestrator's flows against the simulator include this file).
//!
//! Stricter than OpenAPI itself, so that a renamed or invented field fails: object schemas with
//! `properties` are closed unless they declare `additionalProperties`; a bare
//! `{"type": "object"}` accepts any object; `required`, JSON types, `int32` ranges, real `enum`s
//! and the spec's "One among: A, B, C" texts are enforced.

#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::Value;

/// The official VCF 5.2.1 spec, vendored as test data in `tests/data/vcf-api/` (see its NOTICE).
pub fn load_spec() -> Value {
    load_spec_of("5.2.1")
}

/// The official spec of VCF `version` (`5.2.1`, `9.0.2`), vendored as test data.
pub fn load_spec_of(version: &str) -> Value {
    // The workspace root: the nearest ancestor of this package that holds the test data.
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let data = here
        .ancestors()
        .map(|d| d.join("tests/data/vcf-api"))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| panic!("tests/data/vcf-api not found above {}", here.display()));
    let path = data.join(format!("vcf-{version}-openapi.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("spec not readable at {}: {e}", path.display()));
    serde_json::from_str(&text).expect("the spec is JSON")
}

/// Resolves `$ref` chains.
pub fn resolve<'a>(spec: &'a Value, mut schema: &'a Value) -> &'a Value {
    while let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/components/schemas/");
        schema = &spec["components"]["schemas"][name];
    }
    schema
}

/// The values of a "One among: A, B, C" text.
pub fn one_among(text: &str) -> Option<Vec<String>> {
    let start = text.find("One among:")? + "One among:".len();
    let rest = &text[start..];
    let list = rest.split(". ").next().unwrap_or(rest);
    let values: Vec<String> = list
        .split(',')
        .map(|v| v.trim().trim_end_matches('.').trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    (!values.is_empty()).then_some(values)
}

/// Validates `v` against `schema`; pushes violations as "path: problem".
pub fn validate(spec: &Value, schema: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
    let schema = resolve(spec, schema);
    let ty = schema.get("type").and_then(Value::as_str);
    let props = schema.get("properties").and_then(Value::as_object);
    let extra = schema.get("additionalProperties");
    if ty == Some("object") && props.is_none() && extra.is_none() {
        // Free-form Java Object: any keys, but an object.
        if !v.is_object() {
            errs.push(format!("{at}: expected an object, got {v}"));
        }
        return;
    }
    if props.is_some() || ty == Some("object") {
        let Some(obj) = v.as_object() else {
            errs.push(format!("{at}: expected an object, got {v}"));
            return;
        };
        if let Some(req) = schema.get("required").and_then(Value::as_array) {
            for r in req.iter().filter_map(Value::as_str) {
                if !obj.contains_key(r) {
                    errs.push(format!("{at}: required field {r} missing"));
                }
            }
        }
        for (k, val) in obj {
            let child = format!("{at}.{k}");
            match (props.and_then(|p| p.get(k)), extra) {
                (Some(ps), _) => validate(spec, ps, val, &child, errs),
                (None, Some(ap)) if ap.is_object() => validate(spec, ap, val, &child, errs),
                (None, Some(Value::Bool(true))) => {}
                _ => errs.push(format!("{at}: field {k} is not in the schema")),
            }
        }
        return;
    }
    match ty {
        Some("array") => {
            let Some(items) = v.as_array() else {
                errs.push(format!("{at}: expected an array, got {v}"));
                return;
            };
            for (i, item) in items.iter().enumerate() {
                validate(spec, &schema["items"], item, &format!("{at}[{i}]"), errs);
            }
        }
        Some("string") => {
            let Some(s) = v.as_str() else {
                errs.push(format!("{at}: expected a string, got {v}"));
                return;
            };
            if let Some(values) = schema.get("enum").and_then(Value::as_array)
                && !values.iter().any(|e| e == s)
            {
                errs.push(format!("{at}: {s:?} is not in enum {values:?}"));
            }
            for key in ["example", "description"] {
                let text = schema.get(key).and_then(Value::as_str).unwrap_or("");
                if let Some(values) = one_among(text)
                    && !values.iter().any(|e| e == s)
                {
                    errs.push(format!("{at}: {s:?} is not one among {values:?}"));
                }
            }
        }
        Some("integer") => {
            let ok = v.is_i64() || v.is_u64();
            if !ok {
                errs.push(format!("{at}: expected an integer, got {v}"));
            } else if schema.get("format").and_then(Value::as_str) == Some("int32")
                && v.as_i64().is_none_or(|n| i32::try_from(n).is_err())
            {
                errs.push(format!("{at}: {v} is out of int32 range"));
            }
        }
        Some("number") if !v.is_number() => {
            errs.push(format!("{at}: expected a number, got {v}"));
        }
        Some("boolean") if !v.is_boolean() => {
            errs.push(format!("{at}: expected a boolean, got {v}"));
        }
        _ => {}
    }
}

/// The spec path template of a concrete path for a method (most literal segments wins).
pub fn operation<'a>(spec: &'a Value, method: &str, path: &str) -> Option<(String, &'a Value)> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut best: Option<(usize, String, &Value)> = None;
    for (template, item) in spec["paths"].as_object()? {
        let Some(op) = item.get(method.to_lowercase()) else {
            continue;
        };
        let tsegs: Vec<&str> = template.trim_start_matches('/').split('/').collect();
        if tsegs.len() != segs.len() {
            continue;
        }
        let mut literal = 0;
        let fits = tsegs.iter().zip(&segs).all(|(t, s)| {
            if t.starts_with('{') {
                true
            } else {
                literal += 1;
                t == s
            }
        });
        if fits && best.as_ref().is_none_or(|(n, _, _)| literal > *n) {
            best = Some((literal, template.clone(), op));
        }
    }
    best.map(|(_, t, op)| (t, op))
}

/// Checks one request against `spec` (named `version` in the messages): the operation exists,
/// its query parameters are the spec's, and a JSON body fits the operation's request schema.
pub fn check_request(
    spec: &Value,
    version: &str,
    method: &str,
    path: &str,
    query: &str,
    body: Option<&Value>,
    errs: &mut Vec<String>,
) {
    let Some((template, op)) = operation(spec, method, path) else {
        errs.push(format!(
            "{method} {path}: not an operation of the {version} spec"
        ));
        return;
    };
    let at = format!("{version} {method} {template}");
    let declared: Vec<&str> = op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["in"] == "query")
        .filter_map(|p| p["name"].as_str())
        .collect();
    for pair in query.split('&') {
        let name = pair.split('=').next().unwrap_or("");
        if !name.is_empty() && !declared.contains(&name) {
            errs.push(format!("{at}: query parameter {name} is not in the spec"));
        }
    }
    if let Some(body) = body.filter(|b| !b.is_null()) {
        match op.pointer("/requestBody/content/application~1json/schema") {
            Some(schema) => validate(spec, schema, body, &at, errs),
            None => errs.push(format!("{at}: the spec takes no JSON body, got {body}")),
        }
    }
}
