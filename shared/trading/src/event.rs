//! What the ORDERS stream holds. ORDERS is the source of truth of orders,
//! fills and account cash: the OMS, risk's view and the portfolio are all
//! rebuilt from it. Events are past tense; each travels in a `model::Event`
//! envelope whose `type` is [`OrderEvent::event_type`].

use model::{Decimal, Side, Symbol, UnixNanos};
use serde::{Deserialize, Serialize};

use crate::risk::Violation;
use crate::{Order, OrderStatus};

/// One fill (event type `ORDER_EXECUTED`, subject `evt.fill.<account>.<symbol>`).
/// It also moves its order to `partially_filled` or `filled`: one message, so an
/// order and the position it made can never disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Fill {
    /// `<order id>.<n>`, n = 1, 2, … per order.
    pub fill_id: String,
    pub order_id: String,
    pub client_order_id: String,
    pub account: String,
    pub symbol: Symbol,
    pub side: Side,
    pub qty: Decimal,
    pub price: Decimal,
    pub commission: Decimal,
    /// Market time of the bar (or quote) it filled on.
    pub market_ts: UnixNanos,
    /// The order after this fill.
    pub status: OrderStatus,
    pub cum_qty: Decimal,
    pub leaves_qty: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy_id: Option<String>,
}

/// An account starts with cash (event type `ACCOUNT_OPENED`,
/// subject `evt.account.<account>.opened`); opening it twice is a no-op.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AccountOpened {
    pub account: String,
    pub cash: Decimal,
}

/// Stop-loss / take-profit of a position (event type `PROTECTION_SET`,
/// subject `evt.account.<account>.protection`). `None` clears a level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProtectionSet {
    pub account: String,
    pub symbol: Symbol,
    #[serde(default)]
    pub stop_loss: Option<Decimal>,
    #[serde(default)]
    pub take_profit: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum OrderEvent {
    /// Risk passed it; it works at the exchange.
    OrderAccepted {
        order: Order,
    },
    /// Risk refused it (the violations say why).
    OrderRejected {
        order: Order,
        violations: Vec<Violation>,
    },
    OrderCanceled {
        order_id: String,
        account: String,
        reason: String,
        ts: UnixNanos,
    },
    OrderExpired {
        order_id: String,
        account: String,
        reason: String,
        /// Market time at which it expired.
        market_ts: UnixNanos,
    },
    OrderFilled {
        fill: Fill,
    },
    AccountOpened(AccountOpened),
    ProtectionSet(ProtectionSet),
}

impl OrderEvent {
    /// The envelope's `type`.
    pub fn event_type(&self) -> &'static str {
        use model::event::types;
        match self {
            OrderEvent::OrderAccepted { .. } => types::ORDER_ACCEPTED,
            OrderEvent::OrderRejected { .. } => types::ORDER_REJECTED,
            OrderEvent::OrderCanceled { .. } => types::ORDER_CANCELED,
            OrderEvent::OrderExpired { .. } => types::ORDER_EXPIRED,
            OrderEvent::OrderFilled { .. } => types::ORDER_EXECUTED,
            OrderEvent::AccountOpened(_) => types::ACCOUNT_OPENED,
            OrderEvent::ProtectionSet(_) => types::PROTECTION_SET,
        }
    }

    pub fn account(&self) -> &str {
        match self {
            OrderEvent::OrderAccepted { order } | OrderEvent::OrderRejected { order, .. } => {
                &order.account
            }
            OrderEvent::OrderCanceled { account, .. }
            | OrderEvent::OrderExpired { account, .. } => account,
            OrderEvent::OrderFilled { fill } => &fill.account,
            OrderEvent::AccountOpened(a) => &a.account,
            OrderEvent::ProtectionSet(p) => &p.account,
        }
    }
}
