//! execution service: `orders.submit`, `orders.cancel`, `orders.get`,
//! `orders.list`.

use model::Symbol;
use serde::{Deserialize, Serialize};
pub use trading::event::{Fill, OrderEvent};
pub use trading::{Order, OrderRequest, OrderStatus, OrderType, TimeInForce};

/// `orders.submit` request: an [`OrderRequest`]. The response is the [`Order`]:
/// `accepted` (or further along) when risk passed it, `rejected` with the
/// violations when not. A repeated `(account, client_order_id)` returns the
/// existing order.
pub type SubmitRequest = OrderRequest;

/// `orders.cancel` and `orders.get`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRef {
    pub account: String,
    pub client_order_id: String,
}

/// `orders.list`: filters (all optional), newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListRequest {
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub symbol: Option<Symbol>,
    #[serde(default)]
    pub status: Option<OrderStatus>,
    /// Only working orders (accepted, partially filled).
    #[serde(default)]
    pub open: bool,
    /// At most this many (default 1000).
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ListResponse {
    pub orders: Vec<Order>,
}

/// Internal request to the paper exchange's instance
/// (`execution.exchange.cancel`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExchangeCancel {
    pub order_id: String,
    pub reason: String,
}

/// The paper exchange stored the cancel at this ORDERS sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExchangeCancelResponse {
    pub sequence: u64,
}
