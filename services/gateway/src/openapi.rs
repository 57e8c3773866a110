//! The OpenAPI 3.1 document, generated from [`crate::routes::ROUTES`] and the
//! request/response types' JSON Schemas (schemars emits JSON Schema 2020-12,
//! the dialect of OpenAPI 3.1), with every named schema under
//! `components/schemas`.

use schemars::generate::SchemaSettings;
use serde_json::{json, Map, Value};

use crate::routes::{Route, Scope, Target, ROUTES};

/// Error statuses every route may answer, besides its own.
const COMMON_ERRORS: [(&str, &str); 6] = [
    ("400", "bad request"),
    ("404", "not found"),
    ("500", "internal error"),
    ("503", "service unavailable (none running, or retry)"),
    ("504", "the service did not answer in time"),
    ("422", "unprocessable"),
];

pub fn document(version: &str) -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator();
    let error = generator.subschema_for::<bus::ServiceError>();
    let mut paths = Map::new();
    for route in ROUTES {
        let op = operation(route, &mut generator);
        let item = paths
            .entry(route.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(item) = item {
            item.insert(route.verb.as_str().to_string(), op);
        }
    }
    let mut schemas = generator.take_definitions(true);
    // Query parameters take their schema from the request type's field.
    for route in ROUTES.iter().filter(|r| !r.query.is_empty()) {
        fill_query_schemas(&mut paths, route, &schemas);
    }
    schemas.sort_keys();
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "trader gateway",
            "version": version,
            "description": "REST over the platform's NATS endpoints (path and query parameters are merged into the JSON request of the NATS subject in `x-nats-subject`), the WebSocket `/ws`, login and keys. Roles: viewer < trader < admin (`x-role`); keys and users scoped to accounts may only touch those (`x-account-scope`).",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "an API key (`k_….…`) or a JWT from /api/v1/auth/login"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
            },
            "responses": {
                "Error": {
                    "description": "the error envelope (the same body as the NATS error reply)",
                    "content": {"application/json": {"schema": error}},
                },
            },
        },
    })
}

fn operation(route: &Route, generator: &mut schemars::SchemaGenerator) -> Value {
    let mut op = Map::new();
    op.insert("operationId".into(), json!(route.operation_id()));
    op.insert("summary".into(), json!(route.summary));
    op.insert("tags".into(), json!([route.tag]));
    if let Target::Nats(subject) = route.target {
        op.insert("x-nats-subject".into(), json!(subject));
    }
    match route.role {
        Some(role) => {
            op.insert("x-role".into(), json!(role));
            op.insert("security".into(), json!([{"bearer": []}, {"apiKey": []}]));
        }
        None => {
            op.insert("security".into(), json!([]));
        }
    }
    let scope = match route.scope {
        Scope::Global => None,
        Scope::Account { at, .. } | Scope::Optional(at) => Some(at.to_string()),
        Scope::OrderId => Some("order_id".to_string()),
    };
    if let Some(at) = scope {
        op.insert("x-account-scope".into(), json!(at));
    }
    let mut parameters: Vec<Value> = route
        .path_params()
        .into_iter()
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    parameters.extend(
        route
            .query
            .iter()
            .map(|name| json!({"name": name, "in": "query", "required": false, "schema": {}})),
    );
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    let request = (route.request)(generator);
    if route.verb.has_body() {
        op.insert(
            "requestBody".into(),
            json!({"required": false, "content": {"application/json": {"schema": request}}}),
        );
    } else if matches!(route.target, Target::Nats(_)) {
        op.insert("x-request-schema".into(), request.to_value());
    }
    let response = (route.response)(generator);
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({"description": "the reply", "content": {"application/json": {"schema": response}}}),
    );
    let error = json!({"$ref": "#/components/responses/Error"});
    for (code, _) in COMMON_ERRORS {
        responses.insert(code.into(), error.clone());
    }
    if route.role.is_some() {
        for code in ["401", "403", "429"] {
            responses.insert(code.into(), error.clone());
        }
    }
    if route.verb.has_body() {
        responses.insert("413".into(), error.clone());
    }
    if matches!(route.target, Target::Nats(_)) {
        responses.insert("409".into(), error);
    }
    op.insert("responses".into(), Value::Object(responses));
    Value::Object(op)
}

fn fill_query_schemas(paths: &mut Map<String, Value>, route: &Route, schemas: &Map<String, Value>) {
    let Some(op) = paths
        .get_mut(route.path)
        .and_then(|item| item.get_mut(route.verb.as_str()))
    else {
        return;
    };
    let name = op
        .pointer("/x-request-schema/$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
        .map(str::to_string);
    let Some(properties) = name
        .and_then(|n| schemas.get(&n))
        .and_then(|s| s.get("properties"))
        .cloned()
    else {
        return;
    };
    if let Some(Value::Array(params)) = op.get_mut("parameters") {
        for p in params.iter_mut() {
            let name = p["name"].as_str().unwrap_or_default().to_string();
            if p["in"] == "query" {
                if let Some(schema) = properties.get(&name) {
                    p["schema"] = schema.clone();
                }
            }
        }
    }
}
