//! Checked money arithmetic and the bounds of what a request may carry.
//! `Decimal`'s operators panic on overflow; every computation over request or
//! event data goes through these helpers instead and answers a [`MoneyError`]
//! naming what could not be computed. The edge bounds ([`check_qty`],
//! [`check_price`], [`check_cash`]) keep ordinary requests far from the
//! limits; the checked arithmetic is what guarantees nothing panics.

use model::Decimal;
use serde::{Deserialize, Deserializer};

/// Largest quantity or price a request may carry (1e12).
pub const MAX_QTY: Decimal = Decimal::from_parts(0xD4A5_1000, 0xE8, 0, false, 0);
/// Largest price a request may carry (1e12).
pub const MAX_PRICE: Decimal = MAX_QTY;
/// Largest opening cash of an account (1e18).
pub const MAX_CASH: Decimal = Decimal::from_parts(0xA764_0000, 0x0DE0_B6B3, 0, false, 0);
/// Most decimal places of a quantity, price or cash amount.
pub const MAX_SCALE: u32 = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MoneyErrorKind {
    /// The result does not fit in a `Decimal` (or divides by zero).
    Overflow,
    /// The value is zero or negative where it must be positive.
    NotPositive,
    /// The value is beyond the sane bound of its field.
    TooLarge,
    /// The value has more decimal places than [`MAX_SCALE`].
    TooPrecise,
}

impl MoneyErrorKind {
    /// Machine-readable code (the service error's `details.code`).
    pub fn code(self) -> &'static str {
        match self {
            MoneyErrorKind::Overflow => "overflow",
            MoneyErrorKind::NotPositive => "not_positive",
            MoneyErrorKind::TooLarge => "too_large",
            MoneyErrorKind::TooPrecise => "too_precise",
        }
    }
}

/// A computation or a value that is not allowed; `field` names the input(s).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct MoneyError {
    pub kind: MoneyErrorKind,
    /// The field or fields whose values made it, e.g. `qty × price`.
    pub field: String,
    pub message: String,
}

impl MoneyError {
    pub fn new(kind: MoneyErrorKind, field: &str, message: impl Into<String>) -> MoneyError {
        MoneyError {
            kind,
            field: field.to_string(),
            message: message.into(),
        }
    }

    pub fn overflow(field: &str) -> MoneyError {
        MoneyError::new(
            MoneyErrorKind::Overflow,
            field,
            "the result overflows the decimal range",
        )
    }

    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

pub fn mul(a: Decimal, b: Decimal, field: &str) -> Result<Decimal, MoneyError> {
    a.checked_mul(b).ok_or_else(|| MoneyError::overflow(field))
}

pub fn add(a: Decimal, b: Decimal, field: &str) -> Result<Decimal, MoneyError> {
    a.checked_add(b).ok_or_else(|| MoneyError::overflow(field))
}

pub fn sub(a: Decimal, b: Decimal, field: &str) -> Result<Decimal, MoneyError> {
    a.checked_sub(b).ok_or_else(|| MoneyError::overflow(field))
}

/// Division; a zero divisor is an error too.
pub fn div(a: Decimal, b: Decimal, field: &str) -> Result<Decimal, MoneyError> {
    a.checked_div(b).ok_or_else(|| MoneyError::overflow(field))
}

/// Σ of `values`, checked.
pub fn sum(values: impl IntoIterator<Item = Decimal>, field: &str) -> Result<Decimal, MoneyError> {
    values
        .into_iter()
        .try_fold(Decimal::ZERO, |acc, v| add(acc, v, field))
}

fn bounded(field: &str, v: Decimal, max: Decimal, positive: bool) -> Result<(), MoneyError> {
    if positive && v <= Decimal::ZERO {
        return Err(MoneyError::new(
            MoneyErrorKind::NotPositive,
            field,
            format!("must be positive, got {v}"),
        ));
    }
    if v.abs() > max {
        return Err(MoneyError::new(
            MoneyErrorKind::TooLarge,
            field,
            format!("must be at most {max}, got {v}"),
        ));
    }
    if v.normalize().scale() > MAX_SCALE {
        return Err(MoneyError::new(
            MoneyErrorKind::TooPrecise,
            field,
            format!("must have at most {MAX_SCALE} decimal places, got {v}"),
        ));
    }
    Ok(())
}

/// A request's quantity: 0 < qty ≤ [`MAX_QTY`], at most [`MAX_SCALE`] places.
pub fn check_qty(field: &str, v: Decimal) -> Result<(), MoneyError> {
    bounded(field, v, MAX_QTY, true)
}

/// A request's price: 0 < price ≤ [`MAX_PRICE`], at most [`MAX_SCALE`] places.
pub fn check_price(field: &str, v: Decimal) -> Result<(), MoneyError> {
    bounded(field, v, MAX_PRICE, true)
}

/// An opening balance: 0 ≤ cash ≤ [`MAX_CASH`], at most [`MAX_SCALE`] places.
pub fn check_cash(field: &str, v: Decimal) -> Result<(), MoneyError> {
    if v < Decimal::ZERO {
        return Err(MoneyError::new(
            MoneyErrorKind::NotPositive,
            field,
            format!("must not be negative, got {v}"),
        ));
    }
    bounded(field, v, MAX_CASH, false)
}

/// `deserialize_with` helpers: a decimal that does not parse ("NaN", "1e30",
/// too many digits) is an error naming its field, not only a line and column.
pub mod de {
    use super::*;

    fn named<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
        field: &str,
    ) -> Result<T, D::Error> {
        T::deserialize(d).map_err(|e| serde::de::Error::custom(format!("{field}: {e}")))
    }

    pub fn qty<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        named(d, "qty")
    }
    pub fn cash<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        named(d, "cash")
    }
    pub fn price<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        named(d, "price")
    }
    pub fn limit_price<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        named(d, "limit_price")
    }
    pub fn stop_price<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        named(d, "stop_price")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn constants_are_what_they_say() {
        assert_eq!(MAX_QTY, dec!(1_000_000_000_000));
        assert_eq!(MAX_CASH, dec!(1_000_000_000_000_000_000));
    }

    #[test]
    fn checked_ops_name_the_field() {
        let big = dec!(1_000_000_000_000_000);
        let e = mul(big, big, "qty × price").unwrap_err();
        assert_eq!(
            (e.kind, e.field.as_str()),
            (MoneyErrorKind::Overflow, "qty × price")
        );
        assert_eq!(e.code(), "overflow");
        assert!(add(Decimal::MAX, Decimal::ONE, "cash").is_err());
        assert!(sub(Decimal::MIN, Decimal::ONE, "cash").is_err());
        assert!(div(Decimal::ONE, Decimal::ZERO, "avg").is_err());
        assert!(sum([Decimal::MAX, Decimal::MAX], "equity").is_err());
        assert_eq!(sum([dec!(1), dec!(2)], "equity"), Ok(dec!(3)));
        assert_eq!(mul(dec!(2), dec!(3), "x"), Ok(dec!(6)));
    }

    #[test]
    fn bounds() {
        assert!(check_qty("qty", dec!(10)).is_ok());
        assert!(check_qty("qty", MAX_QTY).is_ok());
        assert_eq!(
            check_qty("qty", dec!(0)).unwrap_err().kind,
            MoneyErrorKind::NotPositive
        );
        assert_eq!(
            check_qty("qty", dec!(-1)).unwrap_err().kind,
            MoneyErrorKind::NotPositive
        );
        assert_eq!(
            check_qty("qty", MAX_QTY + dec!(1)).unwrap_err().kind,
            MoneyErrorKind::TooLarge
        );
        assert_eq!(
            check_price("price", Decimal::MAX).unwrap_err().field,
            "price"
        );
        assert_eq!(
            check_price("price", dec!(0.0000000000000000000000000001))
                .unwrap_err()
                .kind,
            MoneyErrorKind::TooPrecise
        );
        // Trailing zeros are not precision.
        assert!(check_price("price", dec!(1.50000000000000000000)).is_ok());
        assert!(check_cash("cash", dec!(0)).is_ok());
        assert!(check_cash("cash", dec!(-1)).is_err());
        assert!(check_cash("cash", MAX_CASH + dec!(1)).is_err());
    }

    #[test]
    fn parse_errors_name_the_field() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct R {
            #[serde(deserialize_with = "de::qty")]
            qty: Decimal,
            #[serde(default, deserialize_with = "de::price")]
            price: Option<Decimal>,
        }
        for body in [
            r#"{"qty":"NaN"}"#,
            r#"{"qty":"Infinity"}"#,
            r#"{"qty":"1e30"}"#,
            r#"{"qty":1e30}"#,
        ] {
            let e = serde_json::from_str::<R>(body).unwrap_err().to_string();
            assert!(e.starts_with("qty: "), "{body}: {e}");
        }
        let e = serde_json::from_str::<R>(r#"{"qty":"1","price":"NaN"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("price: "), "{e}");
        let r: R = serde_json::from_str(r#"{"qty":"1"}"#).unwrap();
        assert_eq!(r.price, None);
    }
}
