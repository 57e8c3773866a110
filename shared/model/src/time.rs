//! UTC timestamps as nanoseconds since the Unix epoch.
//!
//! On the wire a timestamp is a JSON integer. Where people type one (request
//! bounds, CSV dates) an RFC 3339 string or a plain `YYYY-MM-DD` date is accepted
//! too: see [`UnixNanos::parse`].

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

/// Nanoseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct UnixNanos(pub i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp {input:?}: expected nanoseconds since the epoch, RFC 3339 or YYYY-MM-DD[ HH:MM[:SS]]")]
pub struct TimeError {
    pub input: String,
}

pub const NANOS_PER_SECOND: i64 = 1_000_000_000;

impl UnixNanos {
    pub fn now() -> Self {
        UnixNanos(OffsetDateTime::now_utc().unix_timestamp_nanos() as i64)
    }

    pub fn from_seconds(seconds: i64) -> Self {
        UnixNanos(seconds * NANOS_PER_SECOND)
    }

    pub fn as_i64(self) -> i64 {
        self.0
    }

    /// Parses nanoseconds (`1092873600000000000`), RFC 3339
    /// (`2004-08-19T13:30:00Z`, `2004-08-19T09:30:00-04:00`), a UTC date-time
    /// (`2004-08-19 13:30`, `2004-08-19 13:30:00`, `2004-08-19T13:30:00`) or a
    /// date (`2004-08-19`, read as midnight UTC).
    pub fn parse(input: &str) -> Result<Self, TimeError> {
        let s = input.trim();
        let err = || TimeError {
            input: input.to_string(),
        };
        if s.is_empty() {
            return Err(err());
        }
        if s.bytes().all(|b| b.is_ascii_digit())
            || (s.starts_with('-') && s.len() > 1 && s[1..].bytes().all(|b| b.is_ascii_digit()))
        {
            return s.parse::<i64>().map(UnixNanos).map_err(|_| err());
        }
        if let Ok(dt) = OffsetDateTime::parse(s, &Rfc3339) {
            return Self::from_datetime(dt).ok_or_else(err);
        }
        let date_time_formats = [
            format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
            format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
            format_description!("[year]-[month]-[day] [hour]:[minute]"),
            format_description!("[year]-[month]-[day]T[hour]:[minute]"),
        ];
        for format in date_time_formats {
            if let Ok(dt) = PrimitiveDateTime::parse(s, &format) {
                return Self::from_datetime(dt.assume_utc()).ok_or_else(err);
            }
        }
        if let Ok(date) = Date::parse(s, &format_description!("[year]-[month]-[day]")) {
            return Self::from_datetime(date.midnight().assume_utc()).ok_or_else(err);
        }
        Err(err())
    }

    fn from_datetime(dt: OffsetDateTime) -> Option<Self> {
        i64::try_from(dt.unix_timestamp_nanos()).ok().map(UnixNanos)
    }

    /// RFC 3339 in UTC, for logs and reports.
    pub fn to_rfc3339(self) -> String {
        OffsetDateTime::from_unix_timestamp_nanos(self.0 as i128)
            .ok()
            .and_then(|dt| dt.format(&Rfc3339).ok())
            .unwrap_or_else(|| self.0.to_string())
    }
}

impl fmt::Display for UnixNanos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for UnixNanos {
    /// An integer (nanoseconds) or a string in any form [`UnixNanos::parse`] takes.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(i64),
            Str(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Int(n) => Ok(UnixNanos(n)),
            Raw::Str(s) => UnixNanos::parse(&s).map_err(serde::de::Error::custom),
        }
    }
}

impl schemars::JsonSchema for UnixNanos {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "UnixNanos".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "UTC nanoseconds since the Unix epoch; requests also take RFC 3339 or YYYY-MM-DD strings",
            "type": ["integer", "string"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_accepted_form() {
        let day = UnixNanos::parse("2004-08-19").unwrap();
        assert_eq!(day, UnixNanos(1_092_873_600 * NANOS_PER_SECOND));
        assert_eq!(UnixNanos::parse("2004-08-19T00:00:00Z").unwrap(), day);
        assert_eq!(UnixNanos::parse("2004-08-19 00:00").unwrap(), day);
        assert_eq!(UnixNanos::parse("2004-08-19T02:00:00+02:00").unwrap(), day);
        assert_eq!(UnixNanos::parse("1092873600000000000").unwrap(), day);
        assert_eq!(day.to_rfc3339(), "2004-08-19T00:00:00Z");
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "yesterday", "2004-13-01", "2004-08-19T25:00:00Z", "12a"] {
            assert!(UnixNanos::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn deserializes_int_and_string() {
        let a: UnixNanos = serde_json::from_str("5").unwrap();
        let b: UnixNanos = serde_json::from_str("\"1970-01-01T00:00:00.000000005Z\"").unwrap();
        assert_eq!(a, b);
    }
}
