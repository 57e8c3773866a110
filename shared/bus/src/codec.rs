//! Payload formats. JSON is the default so the `nats` CLI and any client can talk
//! to every endpoint; protobuf is offered on hot endpoints and chosen per request
//! by `Content-Type: application/protobuf` (the reply uses the same format unless
//! `Accept` says otherwise). Error replies are always JSON.

use bytes::Bytes;
use serde::{de::DeserializeOwned, Serialize};

use crate::error::ServiceError;

pub const JSON: &str = "application/json";
pub const PROTOBUF: &str = "application/protobuf";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Protobuf,
}

impl Format {
    /// Reads a `Content-Type`/`Accept` value; `None` for an absent header means JSON.
    pub fn from_header(value: Option<&str>) -> Result<Format, ServiceError> {
        let Some(value) = value else {
            return Ok(Format::Json);
        };
        let essence = value
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "" | JSON | "text/json" | "*/*" => Ok(Format::Json),
            PROTOBUF | "application/x-protobuf" | "application/vnd.google.protobuf" => {
                Ok(Format::Protobuf)
            }
            other => Err(ServiceError::bad_request(format!(
                "unsupported content type {other:?}: use {JSON} or {PROTOBUF}"
            ))),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => JSON,
            Format::Protobuf => PROTOBUF,
        }
    }
}

/// A type with a protobuf twin. Prost types never leak into the domain: they are
/// converted here, at the edge.
pub trait ProtoConvert: Sized {
    type Proto: prost::Message + Default;
    fn from_proto(proto: Self::Proto) -> Result<Self, String>;
    fn to_proto(&self) -> Self::Proto;
}

/// Decodes a JSON request body. An empty body reads as `{}` so that requests
/// whose fields are all optional can be sent with `nats req <subject> ''`.
pub fn decode_json<T: DeserializeOwned>(payload: &[u8]) -> Result<T, ServiceError> {
    let body: &[u8] = if payload.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        payload
    };
    serde_json::from_slice(body).map_err(|e| {
        let what = if e.is_syntax() || e.is_eof() {
            "malformed JSON"
        } else {
            "invalid request"
        };
        ServiceError::bad_request(format!("{what}: {e}"))
    })
}

pub fn encode_json<T: Serialize>(value: &T) -> Result<Bytes, ServiceError> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| ServiceError::internal(format!("cannot encode response: {e}")))
}

pub fn decode_proto<T: ProtoConvert>(payload: &[u8]) -> Result<T, ServiceError> {
    let proto = <T::Proto as prost::Message>::decode(payload)
        .map_err(|e| ServiceError::bad_request(format!("malformed protobuf: {e}")))?;
    T::from_proto(proto).map_err(|e| ServiceError::bad_request(format!("invalid request: {e}")))
}

pub fn encode_proto<T: ProtoConvert>(value: &T) -> Bytes {
    Bytes::from(prost::Message::encode_to_vec(&value.to_proto()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_headers() {
        assert_eq!(Format::from_header(None).unwrap(), Format::Json);
        assert_eq!(
            Format::from_header(Some("application/json; charset=utf-8")).unwrap(),
            Format::Json
        );
        assert_eq!(
            Format::from_header(Some("application/x-protobuf")).unwrap(),
            Format::Protobuf
        );
        assert!(Format::from_header(Some("text/csv")).is_err());
    }

    #[test]
    fn empty_body_is_an_empty_object() {
        #[derive(serde::Deserialize)]
        struct Opt {
            #[allow(dead_code)]
            a: Option<u8>,
        }
        assert!(decode_json::<Opt>(b"").is_ok());
        let err = decode_json::<Opt>(b"{nope").err().unwrap();
        assert!(err.message.starts_with("malformed JSON"), "{}", err.message);
    }
}
