//! The order book of record: every order and every account's cash and
//! positions, rebuilt from ORDERS (the source of truth) and kept current by
//! following it. All instances hold the same state; handlers wait until their
//! own writes are applied before they answer.

use std::collections::HashMap;

use model::{Decimal, Event, Side, Symbol};
use tokio::sync::mpsc;
use trading::event::OrderEvent;
use trading::money::{self, MoneyError};
use trading::{AccountLedger, Order, OrderStatus};

/// What the paper exchange needs to hear about.
#[derive(Debug, Clone)]
pub enum Notice {
    /// A new working order.
    Accepted(Box<Order>),
    /// An order stopped working (filled, canceled, expired).
    Closed(String),
    /// A held order starts working (its parent filled, or its OCO group is complete).
    Released(Box<Order>),
}

#[derive(Default)]
pub struct Oms {
    orders: HashMap<String, Order>,
    /// Order ids per account, oldest first.
    by_account: HashMap<String, Vec<String>>,
    ledgers: HashMap<String, AccountLedger>,
    notices: Option<mpsc::UnboundedSender<Notice>>,
}

impl Oms {
    pub fn new(notices: mpsc::UnboundedSender<Notice>) -> Oms {
        Oms {
            notices: Some(notices),
            ..Default::default()
        }
    }

    fn notify(&self, notice: Notice) {
        if let Some(tx) = &self.notices {
            let _ = tx.send(notice);
        }
    }

    /// Applies one ORDERS event, all or nothing: a fill whose numbers do not
    /// fit (in its order or its account's ledger) changes neither.
    pub fn apply(&mut self, sequence: u64, event: &Event<OrderEvent>) -> Result<(), MoneyError> {
        let ts = event.ts;
        match &event.data {
            OrderEvent::AccountOpened(a) => {
                self.ledgers
                    .entry(a.account.clone())
                    .or_insert_with(|| AccountLedger::open(&a.account, a.cash));
            }
            OrderEvent::OrderAccepted { order } | OrderEvent::OrderRejected { order, .. } => {
                if self.orders.contains_key(&order.id) {
                    return Ok(()); // the first decision stands
                }
                let mut order = order.clone();
                order.sequence = sequence;
                self.by_account
                    .entry(order.account.clone())
                    .or_default()
                    .push(order.id.clone());
                if order.status.is_open() {
                    self.notify(Notice::Accepted(Box::new(order.clone())));
                }
                let release = order.status.is_open() && !order.held;
                let group = order.oco.clone();
                self.orders.insert(order.id.clone(), order);
                if release {
                    // The group's last acceptance releases its held OCO legs.
                    for id in group {
                        self.release(&id, None, false);
                    }
                }
            }
            OrderEvent::OrderCanceled {
                order_id, reason, ..
            }
            | OrderEvent::OrderExpired {
                order_id, reason, ..
            } => {
                let status = if matches!(event.data, OrderEvent::OrderCanceled { .. }) {
                    OrderStatus::Canceled
                } else {
                    OrderStatus::Expired
                };
                if let Some(order) = self.orders.get_mut(order_id) {
                    if order.status.is_open() {
                        order.status = status;
                        order.reason = Some(reason.clone());
                        order.updated_ts = ts;
                        order.sequence = sequence;
                    }
                }
                self.notify(Notice::Closed(order_id.clone()));
            }
            OrderEvent::OrderFilled { fill } => {
                // Both new states are computed before either is written.
                let order = match self.orders.get(&fill.order_id) {
                    Some(order) => {
                        let mut order = order.clone();
                        if order.sizing.is_some() && order.fills == 0 {
                            // Sized at the fill: the exchange decided the quantity.
                            order.qty =
                                money::add(fill.cum_qty, fill.leaves_qty, "fill.cum_qty + leaves")?;
                        }
                        order.apply_fill(fill.qty, fill.price, fill.commission, fill.market_ts)?;
                        order.status = fill.status;
                        order.updated_ts = ts;
                        order.sequence = sequence;
                        Some(order)
                    }
                    None => None,
                };
                if let Some(ledger) = self.ledgers.get_mut(&fill.account) {
                    ledger.apply_fill(fill)?;
                }
                if let Some(order) = order {
                    let closed = !order.status.is_open();
                    let children = if order.status == OrderStatus::Filled {
                        order.children.clone()
                    } else {
                        Vec::new()
                    };
                    self.orders.insert(order.id.clone(), order);
                    if closed {
                        self.notify(Notice::Closed(fill.order_id.clone()));
                    }
                    // A parent filled completely releases its children, to
                    // work on the bars after its last fill.
                    for id in children {
                        self.release(&id, Some(fill.market_ts), true);
                    }
                }
            }
            OrderEvent::ProtectionSet(_) => {}
        }
        Ok(())
    }

    /// A held order starts working (`child`: released by its parent's fill,
    /// after `after`; else an OCO leg, released by its group's acceptance).
    fn release(&mut self, id: &str, after: Option<model::UnixNanos>, child: bool) {
        let Some(o) = self.orders.get_mut(id) else {
            return;
        };
        if !o.held || !o.status.is_open() || o.parent_id.is_some() != child {
            return;
        }
        o.held = false;
        if let Some(ts) = after {
            o.after_ts = o.after_ts.max(ts);
        }
        let o = o.clone();
        self.notify(Notice::Released(Box::new(o)));
    }

    /// Open orders that must be canceled because of others: a child whose
    /// parent ended without filling completely, an OCO leg whose sibling has
    /// filled. The exchange cancels them as it decides those events, and
    /// again from this list when it starts (a crash in between).
    pub fn orphans(&self) -> Vec<(Order, String)> {
        let mut out = Vec::new();
        for o in self.orders.values().filter(|o| o.status.is_open()) {
            if let Some(p) = o.parent_id.as_ref().and_then(|p| self.orders.get(p)) {
                if !p.status.is_open() && p.status != OrderStatus::Filled {
                    out.push((
                        o.clone(),
                        format!("parent {} {:?}", p.id, p.status).to_lowercase(),
                    ));
                    continue;
                }
            }
            if let Some(s) = o
                .oco
                .iter()
                .filter_map(|id| self.orders.get(id))
                .find(|s| s.fills > 0)
            {
                out.push((o.clone(), format!("oco: {} filled", s.id)));
            }
        }
        out.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        out
    }

    pub fn order(&self, order_id: &str) -> Option<&Order> {
        self.orders.get(order_id)
    }

    pub fn account_known(&self, account: &str) -> bool {
        self.ledgers.contains_key(account)
    }

    pub fn open_orders(&self) -> Vec<Order> {
        self.orders
            .values()
            .filter(|o| o.status.is_open())
            .cloned()
            .collect()
    }

    /// Orders matching the filters, newest first.
    pub fn list(
        &self,
        account: Option<&str>,
        symbol: Option<&Symbol>,
        status: Option<OrderStatus>,
        open: bool,
        limit: usize,
    ) -> Vec<Order> {
        let mut out: Vec<&Order> = match account {
            Some(a) => self
                .by_account
                .get(a)
                .map(|ids| ids.iter().filter_map(|id| self.orders.get(id)).collect())
                .unwrap_or_default(),
            None => self.orders.values().collect(),
        };
        out.retain(|o| {
            symbol.is_none_or(|s| &o.symbol == s)
                && status.is_none_or(|s| o.status == s)
                && (!open || o.status.is_open())
        });
        out.sort_by(|a, b| b.sequence.cmp(&a.sequence).then(b.id.cmp(&a.id)));
        out.into_iter().take(limit).cloned().collect()
    }

    /// Position plus working orders (signed) of an account in a symbol: what
    /// it will hold once everything working fills.
    pub fn expected_position(&self, account: &str, symbol: &Symbol) -> Result<Decimal, MoneyError> {
        let held = self
            .ledgers
            .get(account)
            .map(|l| l.position_qty(symbol))
            .unwrap_or_default();
        let working = money::sum(
            self.by_account
                .get(account)
                .into_iter()
                .flatten()
                .filter_map(|id| self.orders.get(id))
                .filter(|o| &o.symbol == symbol && o.status.is_open() && !o.held)
                // Of an OCO group only one leg can fill: count the first.
                .filter(|o| {
                    !o.oco.iter().any(|s| {
                        s < &o.id && self.orders.get(s).is_some_and(|s| s.status.is_open())
                    })
                })
                .map(|o| match o.side {
                    Side::Buy => o.leaves_qty(),
                    Side::Sell => -o.leaves_qty(),
                }),
            "working orders",
        )?;
        money::add(held, working, "position + working orders")
    }

    /// True while a market order of the account in the symbol placed before
    /// `ts` (market time) is still working: it fills on a bar that exists by
    /// the time a later signal arrives, so sizing waits for it.
    pub fn market_order_pending(
        &self,
        account: &str,
        symbol: &Symbol,
        ts: model::UnixNanos,
    ) -> bool {
        self.by_account
            .get(account)
            .into_iter()
            .flatten()
            .filter_map(|id| self.orders.get(id))
            .any(|o| {
                &o.symbol == symbol
                    && o.status.is_open()
                    && o.order_type == trading::OrderType::Market
                    && o.after_ts < ts
            })
    }

    /// The account as sizing sees it for `symbol`: cash, the position held
    /// and the other positions at their last fill price; `None` for an
    /// account that is not open. Rebuilt from ORDERS alone, so every
    /// instance (and a restarted one) sees the same numbers at the same
    /// point of the stream.
    pub fn account_at(
        &self,
        account: &str,
        symbol: &Symbol,
    ) -> Result<Option<trading::AccountAt>, MoneyError> {
        let Some(ledger) = self.ledgers.get(account) else {
            return Ok(None);
        };
        let mut other_value = Decimal::ZERO;
        for p in ledger.positions.values().filter(|p| &p.symbol != symbol) {
            let value = money::mul(p.qty, p.last_price, "position × last price")?;
            other_value = money::add(other_value, value, "other positions")?;
        }
        Ok(Some(trading::AccountAt {
            cash: ledger.cash,
            held: ledger.position_qty(symbol),
            other_value,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{Timeframe, UnixNanos};
    use rust_decimal_macros::dec;
    use trading::event::{AccountOpened, Fill};
    use trading::{OrderRequest, OrderType, TimeInForce};

    fn event(data: OrderEvent) -> Event<OrderEvent> {
        Event::new("e", data.event_type(), "c", "test", data)
    }

    fn fill(qty: Decimal, price: Decimal) -> OrderEvent {
        OrderEvent::OrderFilled {
            fill: Fill {
                fill_id: "acc.o.1".into(),
                order_id: "acc.o".into(),
                client_order_id: "o".into(),
                account: "acc".into(),
                symbol: Symbol::new("X").unwrap(),
                side: Side::Buy,
                qty,
                price,
                commission: Decimal::ZERO,
                market_ts: UnixNanos(1),
                status: OrderStatus::Filled,
                cum_qty: qty,
                leaves_qty: Decimal::ZERO,
                strategy_id: None,
            },
        }
    }

    #[test]
    fn a_fill_that_overflows_changes_neither_the_order_nor_the_ledger() {
        let (tx, _rx) = mpsc::unbounded_channel();
        let mut oms = Oms::new(tx);
        let opened = OrderEvent::AccountOpened(AccountOpened {
            account: "acc".into(),
            cash: dec!(1000),
        });
        oms.apply(1, &event(opened)).unwrap();
        let req = OrderRequest {
            client_order_id: "o".into(),
            account: "acc".into(),
            symbol: Symbol::new("X").unwrap(),
            side: Side::Buy,
            order_type: OrderType::Market,
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
        };
        let mut order = Order::new(&req, Timeframe::DAY, UnixNanos(0), UnixNanos(0), "c");
        order.status = OrderStatus::Accepted;
        oms.apply(2, &event(OrderEvent::OrderAccepted { order }))
            .unwrap();
        let huge = dec!(1_000_000_000_000_000);
        assert!(oms.apply(3, &event(fill(huge, huge))).is_err());
        let o = oms.order("acc.o").unwrap();
        assert_eq!(
            (o.status, o.filled_qty, o.sequence),
            (OrderStatus::Accepted, dec!(0), 2)
        );
        assert_eq!(oms.ledgers["acc"].cash, dec!(1000));
        assert_eq!(oms.ledgers["acc"].fills, 0);
        // The order could take this one, the ledger cannot: neither does.
        let mut f = fill(dec!(10), dec!(5));
        if let OrderEvent::OrderFilled { fill } = &mut f {
            fill.commission = Decimal::MAX;
        }
        assert!(oms.apply(4, &event(f)).is_err());
        assert_eq!(oms.order("acc.o").unwrap().status, OrderStatus::Accepted);
        assert_eq!(oms.ledgers["acc"].cash, dec!(1000));
        // A sane fill after it applies to both.
        oms.apply(5, &event(fill(dec!(10), dec!(5)))).unwrap();
        assert_eq!(oms.order("acc.o").unwrap().status, OrderStatus::Filled);
        assert_eq!(oms.ledgers["acc"].cash, dec!(950));
    }
}
