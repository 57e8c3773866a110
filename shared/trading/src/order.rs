//! Orders: what a client asks for ([`OrderRequest`]), how it is validated, and
//! the order as it lives ([`Order`]) through its states:
//!
//! ```text
//! new ─► accepted ─► partially_filled ─► filled
//!  │         │               │
//!  │         └───────────────┴─► canceled | expired
//!  └─► rejected
//! ```
//!
//! `new` is the instant between the request and risk's answer; it is never
//! stored. Every other state is reached by an event in ORDERS.

use model::{Decimal, Side, Symbol, Timeframe, UnixNanos};
use serde::{Deserialize, Serialize};

use crate::money::{self, MoneyError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderType {
    Market,
    Limit,
    Stop,
    StopLimit,
    /// A stop that follows the market by `trailing.offset` (see [`Trailing`]).
    TrailingStop,
    /// A trailing stop that becomes a limit `trailing.limit_offset` beyond
    /// its level when triggered.
    TrailingStopLimit,
    /// Market-if-touched: a market order once the price touches `stop_price`
    /// (the trigger) from the favourable side (buy below, sell above the market).
    MarketIfTouched,
    /// Limit-if-touched: a limit at `limit_price` once `stop_price` is touched.
    LimitIfTouched,
}

/// How a trailing offset is expressed.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OffsetType {
    /// An amount of price.
    #[default]
    Price,
    /// Basis points of the reference price (100 = 1 %).
    Bps,
}

/// What a trailing stop (or trailing stop limit) follows the market by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Trailing {
    /// Distance of the stop from the best price since activation (> 0).
    pub offset: Decimal,
    #[serde(default)]
    pub offset_type: OffsetType,
    /// The trail starts once the market reaches this price (a sell: at or
    /// above it; a buy: at or below it). Absent: from the first eligible bar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_price: Option<Decimal>,
    /// Trailing stop limit only: the limit is the stop level minus (sell) or
    /// plus (buy) this, in the same units as `offset` (≥ 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_offset: Option<Decimal>,
}

impl Trailing {
    /// `price` moved by `amount` (in this trailing's units) towards `down`
    /// (true: lower). Checked arithmetic.
    pub fn shift(
        &self,
        price: Decimal,
        amount: Decimal,
        down: bool,
    ) -> Result<Decimal, MoneyError> {
        let delta = match self.offset_type {
            OffsetType::Price => amount,
            OffsetType::Bps => money::mul(
                price,
                money::div(amount, Decimal::from(10_000), "trailing offset")?,
                "trailing offset",
            )?,
        };
        if down {
            money::sub(price, delta, "trailing level")
        } else {
            money::add(price, delta, "trailing level")
        }
    }
}

/// Time in force.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum TimeInForce {
    /// Good till canceled.
    #[default]
    #[serde(rename = "GTC")]
    Gtc,
    /// Immediate or cancel: whatever the first eligible bar can fill, the rest expires.
    #[serde(rename = "IOC")]
    Ioc,
    /// Fill or kill: all on the first eligible bar, or nothing.
    #[serde(rename = "FOK")]
    Fok,
    /// Expires at the end of the UTC day (market time) it was placed in.
    #[serde(rename = "DAY")]
    Day,
    /// Good till date: works until `expire_at` (UTC ns, market time).
    #[serde(rename = "GTD")]
    Gtd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    New,
    Accepted,
    PartiallyFilled,
    Filled,
    Canceled,
    Rejected,
    Expired,
}

impl OrderStatus {
    /// Still working at the exchange (can fill, can be canceled).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            OrderStatus::New | OrderStatus::Accepted | OrderStatus::PartiallyFilled
        )
    }

    pub fn parse(s: &str) -> Option<OrderStatus> {
        use OrderStatus::*;
        Some(match s {
            "new" => New,
            "accepted" => Accepted,
            "partially_filled" => PartiallyFilled,
            "filled" => Filled,
            "canceled" => Canceled,
            "rejected" => Rejected,
            "expired" => Expired,
            _ => return None,
        })
    }
}

/// `orders.submit`: a new order. `(account, client_order_id)` identifies it:
/// submitting the same pair again returns the existing order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    /// 1 to 64 of `A-Z a-z 0-9 - _`, unique per account.
    pub client_order_id: String,
    pub account: String,
    pub symbol: Symbol,
    pub side: Side,
    #[serde(rename = "type")]
    pub order_type: OrderType,
    /// Positive, at most 1e12, at most 12 decimal places.
    #[serde(deserialize_with = "crate::money::de::qty")]
    #[schemars(with = "Decimal")]
    pub qty: Decimal,
    /// Required for `limit` and `stop_limit` (bounded like `qty`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::money::de::limit_price"
    )]
    #[schemars(with = "Option<Decimal>")]
    pub limit_price: Option<Decimal>,
    /// Required for `stop` and `stop_limit` (bounded like `qty`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::money::de::stop_price"
    )]
    #[schemars(with = "Option<Decimal>")]
    pub stop_price: Option<Decimal>,
    /// Trailing stop (limit) orders: the offset and activation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trailing: Option<Trailing>,
    /// `tif: GTD` only: the market time (UTC ns) from which it no longer works.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_at: Option<UnixNanos>,
    /// Limit orders only: never takes liquidity (expires instead, see the
    /// exchange rules).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub post_only: bool,
    #[serde(default)]
    pub tif: TimeInForce,
    /// Only ever reduces a position (rejected if it would increase one).
    #[serde(default)]
    pub reduce_only: bool,
    /// Bars the paper exchange matches against; default: the symbol's newest series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeframe: Option<Timeframe>,
    /// The strategy whose signal made this order, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy_id: Option<String>,
    /// Market time after which the order may fill (default: the newest bar's
    /// time at acceptance). Paper strategies set the time of their signal's bar,
    /// so replayed history fills on the bar after the signal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_ts: Option<UnixNanos>,
    /// A market order placed for a signal: its quantity is decided (or
    /// capped) at the fill from the account then; `qty` is the estimate risk
    /// checks. See [`crate::sizing`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sizing: Option<crate::FillSizing>,
    /// Take-profit and/or stop-loss children, released when this order has
    /// filled completely (one child: OTO; both: a bracket, the two an OCO pair).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bracket: Option<Bracket>,
    /// Orders that work together with this one, one-cancels-the-others: the
    /// first fill of any cancels the rest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oco: Vec<Leg>,
}

/// A bracket's children (client order ids `<client_order_id>-tp` / `-sl`, the
/// other side, the entry's quantity, GTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bracket {
    /// A limit at `limit_price`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub take_profit: Option<TakeProfit>,
    /// `stop_price` → stop; with `limit_price` → stop-limit; `trailing` →
    /// trailing stop (with `trailing.limit_offset`: trailing stop limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_loss: Option<StopLoss>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TakeProfit {
    pub limit_price: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StopLoss {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_price: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_price: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trailing: Option<Trailing>,
}

/// Another order of an OCO group: the submitted order's symbol, account,
/// timeframe and time in force; side and qty default to its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Leg {
    pub client_order_id: String,
    #[serde(rename = "type")]
    pub order_type: OrderType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<Side>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qty: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_price: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_price: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trailing: Option<Trailing>,
}

/// How an order is tied to others (on `ORDER_ACCEPTED`, so a replay of
/// ORDERS rebuilds the same links).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    pub parent_id: Option<String>,
    pub children: Vec<String>,
    pub oco: Vec<String>,
    pub held: bool,
}

/// One order of a submit: its request and its links. The last one is the
/// anchor (the submitted order itself), stored last.
pub type Planned = (OrderRequest, Links);

/// Why a request is not an order (answered as a bad request; nothing is written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("client_order_id {0:?} is invalid: use 1 to 64 of A-Z a-z 0-9 - _")]
    ClientOrderId(String),
    #[error("account {0:?} is invalid: use 1 to 64 of A-Z a-z 0-9 - _")]
    Account(String),
    #[error("qty must be positive, got {0}")]
    Quantity(Decimal),
    #[error("a {0} order needs a limit_price")]
    MissingLimitPrice(&'static str),
    #[error("a {0} order needs a stop_price")]
    MissingStopPrice(&'static str),
    #[error("a {0} order takes no {1}")]
    Unexpected(&'static str, &'static str),
    #[error("{0} must be positive, got {1}")]
    Price(&'static str, Decimal),
    /// Beyond the bounds of `trading::money` (too large, too precise).
    #[error("{0}")]
    Bounds(MoneyError),
    #[error("only a market order can be sized at its fill")]
    SizingNotMarket,
    #[error("a {0} order needs trailing (offset, offset_type?, activation_price?, limit_offset?)")]
    MissingTrailing(&'static str),
    #[error("{0}: {1}")]
    Trailing(&'static str, String),
    #[error("tif GTD needs expire_at, and only GTD takes one")]
    ExpireAt,
    #[error("post_only: only a limit order that may rest (GTC, DAY, GTD) can be post-only")]
    PostOnly,
    #[error("{0}: {1}")]
    Contingent(&'static str, String),
}

impl OrderError {
    /// Machine-readable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            OrderError::ClientOrderId(_) => "invalid_client_order_id",
            OrderError::Account(_) => "invalid_account",
            OrderError::Quantity(_) => "invalid_qty",
            OrderError::MissingLimitPrice(_) => "missing_limit_price",
            OrderError::MissingStopPrice(_) => "missing_stop_price",
            OrderError::Unexpected(..) => "unexpected_price",
            OrderError::Price(..) => "invalid_price",
            OrderError::Bounds(e) => e.code(),
            OrderError::SizingNotMarket => "sizing_not_market",
            OrderError::MissingTrailing(_) => "missing_trailing",
            OrderError::Trailing(..) => "invalid_trailing",
            OrderError::ExpireAt => "invalid_expire_at",
            OrderError::PostOnly => "invalid_post_only",
            OrderError::Contingent(..) => "invalid_contingent",
        }
    }

    /// The request field that is wrong, if it is one field.
    pub fn field(&self) -> Option<&str> {
        match self {
            OrderError::ClientOrderId(_) => Some("client_order_id"),
            OrderError::Account(_) => Some("account"),
            OrderError::Quantity(_) => Some("qty"),
            OrderError::MissingLimitPrice(_) => Some("limit_price"),
            OrderError::MissingStopPrice(_) => Some("stop_price"),
            OrderError::Unexpected(_, f) | OrderError::Price(f, _) => Some(f),
            OrderError::Bounds(e) => Some(&e.field),
            OrderError::SizingNotMarket => Some("sizing"),
            OrderError::MissingTrailing(_) => Some("trailing"),
            OrderError::Trailing(f, _) => Some(f),
            OrderError::ExpireAt => Some("expire_at"),
            OrderError::PostOnly => Some("post_only"),
            OrderError::Contingent(f, _) => Some(f),
        }
    }
}

impl OrderType {
    pub fn name(self) -> &'static str {
        match self {
            OrderType::Market => "market",
            OrderType::Limit => "limit",
            OrderType::Stop => "stop",
            OrderType::StopLimit => "stop_limit",
            OrderType::TrailingStop => "trailing_stop",
            OrderType::TrailingStopLimit => "trailing_stop_limit",
            OrderType::MarketIfTouched => "market_if_touched",
            OrderType::LimitIfTouched => "limit_if_touched",
        }
    }

    /// Orders that trail the market.
    pub fn is_trailing(self) -> bool {
        matches!(self, OrderType::TrailingStop | OrderType::TrailingStopLimit)
    }
}

impl OrderRequest {
    /// Checks the request on its own (not against accounts, markets or limits).
    pub fn validate(&self) -> Result<(), OrderError> {
        if !crate::valid_id(&self.client_order_id) {
            return Err(OrderError::ClientOrderId(self.client_order_id.clone()));
        }
        if !crate::valid_id(&self.account) {
            return Err(OrderError::Account(self.account.clone()));
        }
        if self.qty <= Decimal::ZERO {
            return Err(OrderError::Quantity(self.qty));
        }
        money::check_qty("qty", self.qty).map_err(OrderError::Bounds)?;
        if self.sizing.is_some() && self.order_type != OrderType::Market {
            return Err(OrderError::SizingNotMarket);
        }
        let name = self.order_type.name();
        let needs_limit = matches!(
            self.order_type,
            OrderType::Limit | OrderType::StopLimit | OrderType::LimitIfTouched
        );
        // `stop_price` is the trigger of stops and of the if-touched orders.
        let needs_stop = matches!(
            self.order_type,
            OrderType::Stop
                | OrderType::StopLimit
                | OrderType::MarketIfTouched
                | OrderType::LimitIfTouched
        );
        match (needs_limit, self.limit_price) {
            (true, None) => return Err(OrderError::MissingLimitPrice(name)),
            (false, Some(_)) => return Err(OrderError::Unexpected(name, "limit_price")),
            (true, Some(p)) if p <= Decimal::ZERO => {
                return Err(OrderError::Price("limit_price", p))
            }
            (true, Some(p)) => money::check_price("limit_price", p).map_err(OrderError::Bounds)?,
            _ => {}
        }
        match (needs_stop, self.stop_price) {
            (true, None) => return Err(OrderError::MissingStopPrice(name)),
            (false, Some(_)) => return Err(OrderError::Unexpected(name, "stop_price")),
            (true, Some(p)) if p <= Decimal::ZERO => {
                return Err(OrderError::Price("stop_price", p))
            }
            (true, Some(p)) => money::check_price("stop_price", p).map_err(OrderError::Bounds)?,
            _ => {}
        }
        self.validate_trailing()?;
        match (self.tif, self.expire_at) {
            (TimeInForce::Gtd, Some(t)) if t.0 > 0 => {}
            (TimeInForce::Gtd, _) | (_, Some(_)) => return Err(OrderError::ExpireAt),
            _ => {}
        }
        if self.post_only
            && (self.order_type != OrderType::Limit
                || matches!(self.tif, TimeInForce::Ioc | TimeInForce::Fok))
        {
            return Err(OrderError::PostOnly);
        }
        Ok(())
    }

    fn validate_trailing(&self) -> Result<(), OrderError> {
        let name = self.order_type.name();
        let Some(t) = &self.trailing else {
            if self.order_type.is_trailing() {
                return Err(OrderError::MissingTrailing(name));
            }
            return Ok(());
        };
        if !self.order_type.is_trailing() {
            return Err(OrderError::Unexpected(name, "trailing"));
        }
        let bad = |f: &'static str, m: &str| Err(OrderError::Trailing(f, m.to_string()));
        if t.offset <= Decimal::ZERO {
            return bad("trailing.offset", "must be positive");
        }
        if t.offset_type == OffsetType::Bps && t.offset >= Decimal::from(10_000) {
            return bad("trailing.offset", "in bps it must be below 10000");
        }
        money::check_price("trailing.offset", t.offset).map_err(OrderError::Bounds)?;
        if let Some(a) = t.activation_price {
            if a <= Decimal::ZERO {
                return Err(OrderError::Price("trailing.activation_price", a));
            }
            money::check_price("trailing.activation_price", a).map_err(OrderError::Bounds)?;
        }
        match (self.order_type, t.limit_offset) {
            (OrderType::TrailingStopLimit, None) => {
                bad("trailing.limit_offset", "a trailing_stop_limit needs one")
            }
            (OrderType::TrailingStopLimit, Some(l)) if l < Decimal::ZERO => {
                bad("trailing.limit_offset", "must not be negative")
            }
            (OrderType::TrailingStopLimit, Some(l)) if !l.is_zero() => {
                money::check_price("trailing.limit_offset", l).map_err(OrderError::Bounds)
            }
            (OrderType::TrailingStop, Some(_)) => bad(
                "trailing.limit_offset",
                "only a trailing_stop_limit takes one",
            ),
            _ => Ok(()),
        }
    }

    /// The orders this request makes, validated, with their links: bracket
    /// children (held until this order has filled), OCO legs (held until
    /// this order, stored last, is accepted), then this order.
    pub fn plan(&self) -> Result<Vec<Planned>, OrderError> {
        let bad = |f: &'static str, m: String| Err(OrderError::Contingent(f, m));
        let mut anchor = self.clone();
        anchor.bracket = None;
        anchor.oco = Vec::new();
        anchor.validate()?;
        if self.bracket.is_none() && self.oco.is_empty() {
            return Ok(vec![(anchor, Links::default())]);
        }
        if self.bracket.is_some() && !self.oco.is_empty() {
            return bad(
                "oco",
                "an order is either a bracket entry or in an OCO group".into(),
            );
        }
        if self.sizing.is_some() {
            return bad("sizing", "a contingent order's quantity is fixed".into());
        }
        let id = order_id(&self.account, &self.client_order_id);
        let mut out = Vec::new();
        let leg = |cid: String, side, order_type, qty, limit_price, stop_price, trailing| {
            let mut r = anchor.clone();
            r.client_order_id = cid;
            r.side = side;
            r.order_type = order_type;
            r.qty = qty;
            r.limit_price = limit_price;
            r.stop_price = stop_price;
            r.trailing = trailing;
            r.post_only = false;
            r.reduce_only = false;
            r
        };
        if let Some(b) = &self.bracket {
            if self.client_order_id.len() > 61 {
                return bad(
                    "client_order_id",
                    "a bracket entry's id is at most 61 characters (children add -tp / -sl)".into(),
                );
            }
            let exit = match self.side {
                Side::Buy => Side::Sell,
                Side::Sell => Side::Buy,
            };
            let mut children = Vec::new();
            if let Some(tp) = &b.take_profit {
                let mut r = leg(
                    format!("{}-tp", self.client_order_id),
                    exit,
                    OrderType::Limit,
                    self.qty,
                    Some(tp.limit_price),
                    None,
                    None,
                );
                r.tif = TimeInForce::Gtc;
                r.expire_at = None;
                children.push(("bracket.take_profit", r));
            }
            if let Some(sl) = &b.stop_loss {
                let order_type = match (&sl.trailing, sl.stop_price, sl.limit_price) {
                    (Some(t), None, None) if t.limit_offset.is_some() => {
                        OrderType::TrailingStopLimit
                    }
                    (Some(_), None, None) => OrderType::TrailingStop,
                    (None, Some(_), None) => OrderType::Stop,
                    (None, Some(_), Some(_)) => OrderType::StopLimit,
                    _ => {
                        return bad(
                            "bracket.stop_loss",
                            "give stop_price (and limit_price), or trailing".into(),
                        )
                    }
                };
                let mut r = leg(
                    format!("{}-sl", self.client_order_id),
                    exit,
                    order_type,
                    self.qty,
                    sl.limit_price,
                    sl.stop_price,
                    sl.trailing.clone(),
                );
                r.tif = TimeInForce::Gtc;
                r.expire_at = None;
                children.push(("bracket.stop_loss", r));
            }
            if children.is_empty() {
                return bad("bracket", "needs a take_profit, a stop_loss or both".into());
            }
            // A buy's take-profit above its stop-loss (a sell's below).
            if let (Some(tp), Some(sl)) = (
                &b.take_profit,
                b.stop_loss.as_ref().and_then(|s| s.stop_price),
            ) {
                let ordered = match self.side {
                    Side::Buy => tp.limit_price > sl,
                    Side::Sell => tp.limit_price < sl,
                };
                if !ordered {
                    return bad("bracket", "the take-profit must be beyond the stop-loss on the side the entry profits".into());
                }
            }
            let ids: Vec<String> = children
                .iter()
                .map(|(_, r)| order_id(&r.account, &r.client_order_id))
                .collect();
            for (i, (field, r)) in children.into_iter().enumerate() {
                r.validate()
                    .map_err(|e| OrderError::Contingent(field, e.to_string()))?;
                let oco = ids
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, x)| x.clone())
                    .collect();
                out.push((
                    r,
                    Links {
                        parent_id: Some(id.clone()),
                        children: Vec::new(),
                        oco,
                        held: true,
                    },
                ));
            }
            out.push((
                anchor,
                Links {
                    children: ids,
                    ..Default::default()
                },
            ));
            return Ok(out);
        }
        let mut ids = vec![id.clone()];
        let mut legs = Vec::new();
        for l in &self.oco {
            let r = leg(
                l.client_order_id.clone(),
                l.side.unwrap_or(self.side),
                l.order_type,
                l.qty.unwrap_or(self.qty),
                l.limit_price,
                l.stop_price,
                l.trailing.clone(),
            );
            r.validate().map_err(|e| {
                OrderError::Contingent("oco", format!("{}: {e}", l.client_order_id))
            })?;
            let lid = order_id(&r.account, &r.client_order_id);
            if ids.contains(&lid) {
                return bad(
                    "oco",
                    format!("{} is used twice in the group", l.client_order_id),
                );
            }
            ids.push(lid);
            legs.push(r);
        }
        let others = |me: &str| {
            ids.iter()
                .filter(|x| x.as_str() != me)
                .cloned()
                .collect::<Vec<_>>()
        };
        for r in legs {
            let me = order_id(&r.account, &r.client_order_id);
            out.push((
                r,
                Links {
                    oco: others(&me),
                    held: true,
                    ..Default::default()
                },
            ));
        }
        out.push((
            anchor,
            Links {
                oco: others(&id),
                ..Default::default()
            },
        ));
        Ok(out)
    }
}

/// The id of the order `(account, client_order_id)` names: the same pair is
/// always the same order, on every instance and after every restart.
pub fn order_id(account: &str, client_order_id: &str) -> String {
    format!("{account}.{client_order_id}")
}

/// An order as the OMS knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Order {
    /// `<account>.<client_order_id>`.
    pub id: String,
    pub client_order_id: String,
    pub account: String,
    pub symbol: Symbol,
    pub side: Side,
    #[serde(rename = "type")]
    pub order_type: OrderType,
    pub qty: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_price: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_price: Option<Decimal>,
    /// Trailing stop (limit) orders: the offset and activation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trailing: Option<Trailing>,
    /// `tif: GTD` only: the market time (UTC ns) from which it no longer works.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_at: Option<UnixNanos>,
    /// Limit orders only: never takes liquidity (expires instead, see the
    /// exchange rules).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub post_only: bool,
    pub tif: TimeInForce,
    pub reduce_only: bool,
    /// Series the paper exchange matches against.
    pub timeframe: Timeframe,
    /// Fills only on bars that open after this market time.
    pub after_ts: UnixNanos,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy_id: Option<String>,
    /// Sized (or capped) at the fill: `qty` becomes the resolved quantity with
    /// the first fill (see [`crate::sizing`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sizing: Option<crate::FillSizing>,
    pub status: OrderStatus,
    pub filled_qty: Decimal,
    /// Volume-weighted price of the fills so far (zero before the first).
    pub avg_fill_price: Decimal,
    pub commission: Decimal,
    /// Number of fills so far (fill ids are `<order id>.<n>`).
    pub fills: u32,
    /// Market time of the bar of the last fill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_fill_bar_ts: Option<UnixNanos>,
    /// Why it was rejected, canceled or expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The limits a rejected order broke.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<crate::risk::Violation>,
    pub created_ts: UnixNanos,
    pub updated_ts: UnixNanos,
    pub correlation_id: String,
    /// W3C `traceparent` of the span that placed it: its fills join that trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// ORDERS sequence of the last event applied to this order.
    pub sequence: u64,
    /// OTO / bracket child: released when this order has filled completely.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// Released by this order's complete fill; canceled with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<String>,
    /// One-cancels-the-others: the first fill of any of these cancels the rest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oco: Vec<String>,
    /// Accepted but not working yet (a child before its parent's fill, an
    /// OCO leg before its group's last acceptance).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held: bool,
}

impl Order {
    /// The order a validated request becomes, in state `new`.
    pub fn new(
        req: &OrderRequest,
        timeframe: Timeframe,
        after_ts: UnixNanos,
        now: UnixNanos,
        correlation_id: &str,
    ) -> Order {
        Order {
            id: order_id(&req.account, &req.client_order_id),
            client_order_id: req.client_order_id.clone(),
            account: req.account.clone(),
            symbol: req.symbol.clone(),
            side: req.side,
            order_type: req.order_type,
            qty: req.qty,
            limit_price: req.limit_price,
            stop_price: req.stop_price,
            trailing: req.trailing.clone(),
            expire_at: req.expire_at,
            post_only: req.post_only,
            tif: req.tif,
            reduce_only: req.reduce_only,
            timeframe,
            after_ts,
            strategy_id: req.strategy_id.clone(),
            sizing: req.sizing.clone(),
            status: OrderStatus::New,
            filled_qty: Decimal::ZERO,
            avg_fill_price: Decimal::ZERO,
            commission: Decimal::ZERO,
            fills: 0,
            last_fill_bar_ts: None,
            reason: None,
            violations: Vec::new(),
            created_ts: now,
            updated_ts: now,
            correlation_id: correlation_id.to_string(),
            traceparent: None,
            sequence: 0,
            parent_id: None,
            children: Vec::new(),
            oco: Vec::new(),
            held: false,
        }
    }

    /// Ties the order to the others of its submit.
    pub fn with_links(mut self, links: Links) -> Order {
        self.parent_id = links.parent_id;
        self.children = links.children;
        self.oco = links.oco;
        self.held = links.held;
        self
    }

    pub fn leaves_qty(&self) -> Decimal {
        if self.status.is_open() {
            self.qty - self.filled_qty
        } else {
            Decimal::ZERO
        }
    }

    /// +1 for buys, -1 for sells.
    pub fn sign(&self) -> Decimal {
        match self.side {
            Side::Buy => Decimal::ONE,
            Side::Sell => Decimal::NEGATIVE_ONE,
        }
    }

    /// Applies a fill; returns the new status. A fill whose numbers do not
    /// fit changes nothing.
    pub fn apply_fill(
        &mut self,
        qty: Decimal,
        price: Decimal,
        commission: Decimal,
        bar_ts: UnixNanos,
    ) -> Result<OrderStatus, MoneyError> {
        let total = money::add(self.filled_qty, qty, "filled_qty")?;
        let avg_fill_price = if total.is_zero() {
            Decimal::ZERO
        } else {
            let before = money::mul(self.avg_fill_price, self.filled_qty, "avg_fill_price")?;
            let this = money::mul(price, qty, "fill qty × price")?;
            money::div(
                money::add(before, this, "avg_fill_price")?,
                total,
                "avg_fill_price",
            )?
        };
        let commission = money::add(self.commission, commission, "commission")?;
        self.avg_fill_price = avg_fill_price;
        self.filled_qty = total;
        self.commission = commission;
        self.fills += 1;
        self.last_fill_bar_ts = Some(bar_ts);
        self.status = if self.filled_qty >= self.qty {
            OrderStatus::Filled
        } else {
            OrderStatus::PartiallyFilled
        };
        Ok(self.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    pub fn request(order_type: OrderType) -> OrderRequest {
        OrderRequest {
            client_order_id: "c1".into(),
            account: "acc".into(),
            symbol: Symbol::new("GOOG").unwrap(),
            side: Side::Buy,
            order_type,
            qty: dec!(10),
            limit_price: None,
            stop_price: None,
            trailing: None,
            expire_at: None,
            post_only: false,
            tif: TimeInForce::Gtc,
            reduce_only: false,
            timeframe: None,
            strategy_id: None,
            after_ts: None,
            sizing: None,
            bracket: None,
            oco: Vec::new(),
        }
    }

    #[test]
    fn validation_names_what_is_wrong() {
        assert_eq!(request(OrderType::Market).validate(), Ok(()));
        let mut r = request(OrderType::Market);
        r.qty = dec!(0);
        assert_eq!(r.validate().unwrap_err().code(), "invalid_qty");
        r.qty = dec!(-1);
        assert_eq!(r.validate().unwrap_err().code(), "invalid_qty");
        let r = request(OrderType::Limit);
        assert_eq!(r.validate().unwrap_err().code(), "missing_limit_price");
        let mut r = request(OrderType::StopLimit);
        r.limit_price = Some(dec!(10));
        assert_eq!(r.validate().unwrap_err().code(), "missing_stop_price");
        let mut r = request(OrderType::Market);
        r.limit_price = Some(dec!(10));
        assert_eq!(r.validate().unwrap_err().code(), "unexpected_price");
        let mut r = request(OrderType::Market);
        r.client_order_id = "a.b".into();
        assert_eq!(r.validate().unwrap_err().code(), "invalid_client_order_id");
    }

    #[test]
    fn quantities_and_prices_are_bounded() {
        let mut r = request(OrderType::Market);
        r.qty = Decimal::MAX;
        let e = r.validate().unwrap_err();
        assert_eq!((e.code(), e.field()), ("too_large", Some("qty")));
        r.qty = dec!(0.0000000000000000000000000001);
        assert_eq!(r.validate().unwrap_err().code(), "too_precise");
        r.qty = dec!(1_000_000_000_000);
        assert_eq!(r.validate(), Ok(()));
        let mut r = request(OrderType::StopLimit);
        r.stop_price = Some(dec!(10));
        r.limit_price = Some(dec!(1_000_000_000_000_000));
        let e = r.validate().unwrap_err();
        assert_eq!((e.code(), e.field()), ("too_large", Some("limit_price")));
        r.limit_price = Some(dec!(10));
        r.stop_price = Some(dec!(1_000_000_000_000_000));
        assert_eq!(r.validate().unwrap_err().field(), Some("stop_price"));
    }

    #[test]
    fn parse_errors_name_the_field() {
        let body = |qty: &str, limit: &str| {
            format!(
                r#"{{"client_order_id":"c","account":"a","symbol":"X","side":"buy","type":"limit","qty":{qty},"limit_price":{limit}}}"#
            )
        };
        let e = serde_json::from_str::<OrderRequest>(&body(r#""NaN""#, r#""1""#)).unwrap_err();
        assert!(e.to_string().starts_with("qty: "), "{e}");
        let e = serde_json::from_str::<OrderRequest>(&body(r#""1""#, r#""1e30""#)).unwrap_err();
        assert!(e.to_string().starts_with("limit_price: "), "{e}");
        let r: OrderRequest = serde_json::from_str(&body(r#""1""#, r#""2.5""#)).unwrap();
        assert_eq!(r.limit_price, Some(dec!(2.5)));
    }

    #[test]
    fn fills_move_the_state() {
        let r = request(OrderType::Market);
        let mut o = Order::new(&r, Timeframe::DAY, UnixNanos(0), UnixNanos(0), "c");
        o.status = OrderStatus::Accepted;
        assert_eq!(o.leaves_qty(), dec!(10));
        assert_eq!(
            o.apply_fill(dec!(4), dec!(100), dec!(1), UnixNanos(1)),
            Ok(OrderStatus::PartiallyFilled)
        );
        assert_eq!(
            o.apply_fill(dec!(6), dec!(110), dec!(1), UnixNanos(2)),
            Ok(OrderStatus::Filled)
        );
        assert_eq!(o.avg_fill_price, dec!(106));
        assert_eq!(o.leaves_qty(), dec!(0));
        assert_eq!(o.commission, dec!(2));
        // A fill whose value does not fit changes nothing.
        let before = o.clone();
        assert!(o
            .apply_fill(dec!(1), Decimal::MAX, dec!(0), UnixNanos(3))
            .is_err());
        assert_eq!(o, before);
        assert_eq!(
            OrderStatus::parse("partially_filled"),
            Some(OrderStatus::PartiallyFilled)
        );
    }

    #[test]
    fn new_order_types_validate() {
        let trail = |offset, bps, lo| Trailing {
            offset,
            offset_type: if bps {
                OffsetType::Bps
            } else {
                OffsetType::Price
            },
            activation_price: None,
            limit_offset: lo,
        };
        let mut r = request(OrderType::TrailingStop);
        assert_eq!(r.validate().unwrap_err().code(), "missing_trailing");
        r.trailing = Some(trail(dec!(5), false, None));
        assert_eq!(r.validate(), Ok(()));
        r.trailing = Some(trail(dec!(10000), true, None));
        let e = r.validate().unwrap_err();
        assert_eq!(
            (e.code(), e.field()),
            ("invalid_trailing", Some("trailing.offset"))
        );
        r.trailing = Some(trail(dec!(5), false, Some(dec!(1))));
        assert_eq!(
            r.validate().unwrap_err().field(),
            Some("trailing.limit_offset")
        );
        let mut r = request(OrderType::TrailingStopLimit);
        r.trailing = Some(trail(dec!(50), true, None));
        assert_eq!(
            r.validate().unwrap_err().field(),
            Some("trailing.limit_offset")
        );
        r.trailing = Some(trail(dec!(50), true, Some(dec!(10))));
        assert_eq!(r.validate(), Ok(()));
        let mut r = request(OrderType::Limit);
        r.limit_price = Some(dec!(10));
        r.trailing = Some(trail(dec!(5), false, None));
        assert_eq!(r.validate().unwrap_err().code(), "unexpected_price");
        // If-touched orders take their trigger in stop_price.
        let mut r = request(OrderType::LimitIfTouched);
        r.limit_price = Some(dec!(10));
        assert_eq!(r.validate().unwrap_err().code(), "missing_stop_price");
        r.stop_price = Some(dec!(11));
        assert_eq!(r.validate(), Ok(()));
        let mut r = request(OrderType::MarketIfTouched);
        r.stop_price = Some(dec!(11));
        assert_eq!(r.validate(), Ok(()));
        // GTD takes expire_at, nothing else does.
        let mut r = request(OrderType::Market);
        r.tif = TimeInForce::Gtd;
        assert_eq!(r.validate().unwrap_err().code(), "invalid_expire_at");
        r.expire_at = Some(UnixNanos(5));
        assert_eq!(r.validate(), Ok(()));
        r.tif = TimeInForce::Gtc;
        assert_eq!(r.validate().unwrap_err().field(), Some("expire_at"));
        // Post-only: a limit that may rest.
        let mut r = request(OrderType::Market);
        r.post_only = true;
        assert_eq!(r.validate().unwrap_err().code(), "invalid_post_only");
        let mut r = request(OrderType::Limit);
        r.limit_price = Some(dec!(10));
        r.post_only = true;
        assert_eq!(r.validate(), Ok(()));
        r.tif = TimeInForce::Ioc;
        assert_eq!(r.validate().unwrap_err().code(), "invalid_post_only");
        // The JSON shape.
        let r: OrderRequest = serde_json::from_str(
            r#"{"client_order_id":"c","account":"a","symbol":"X","side":"sell","type":"trailing_stop","qty":"1","trailing":{"offset":"25","offset_type":"bps","activation_price":"110"},"tif":"GTD","expire_at":99}"#,
        )
        .unwrap();
        assert_eq!(r.validate(), Ok(()));
        assert_eq!(r.trailing.unwrap().activation_price, Some(dec!(110)));
    }
}
