//! What risk knows of each account, rebuilt from the streams at start and kept
//! current by following them:
//! - ORDERS: opened accounts, working orders, positions (from fills), last
//!   fill prices;
//! - PORTFOLIO: equity, daily P&L and marks (from the portfolio service).
//!
//! Between risk's answer and the order's event arriving in ORDERS, an accepted
//! order is held as a reservation, so a burst of orders cannot all squeeze
//! through the same free room. Reservations (and the rate history) are kept
//! by the instance that owns the account's partition and expire; a new owner
//! starts without them.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bus::api::portfolio::PortfolioUpdate;
use bus::api::risk::AccountView;
use model::{Decimal, Event, Side, Symbol};
use trading::event::OrderEvent;
use trading::money::{self, MoneyError};
use trading::risk::RiskInput;

#[derive(Debug, Clone)]
struct Working {
    symbol: Symbol,
    side: Side,
    leaves: Decimal,
}

#[derive(Debug, Clone)]
struct Reservation {
    working: Working,
    at: Instant,
}

#[derive(Debug, Default)]
pub struct Account {
    pub known: bool,
    open: HashMap<String, Working>,
    reservations: HashMap<String, Reservation>,
    positions: HashMap<Symbol, Decimal>,
    marks: HashMap<Symbol, Decimal>,
    /// When the orders of the last second were accepted, oldest first.
    recent: VecDeque<Instant>,
    pub equity: Option<Decimal>,
    pub daily_pnl: Decimal,
    /// Cash from ORDERS: the opening deposit, less every fill's value and
    /// commission (buying power is decided on it, not on PORTFOLIO's view,
    /// so it is current with the fills risk has seen).
    pub cash: Decimal,
}

impl Account {
    fn expire(&mut self, now: Instant, ttl: Duration) {
        self.reservations
            .retain(|_, r| now.duration_since(r.at) < ttl);
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            self.recent.pop_front();
        }
    }

    /// Working orders and reservations, but for the reservation of `order_id`
    /// (the order being checked again: it must not make room for itself).
    fn workings<'a>(&'a self, order_id: Option<&'a str>) -> impl Iterator<Item = &'a Working> {
        self.open.values().chain(
            self.reservations
                .iter()
                .filter(move |(id, _)| Some(id.as_str()) != order_id)
                .map(|(_, r)| &r.working),
        )
    }

    fn price_of(&self, symbol: &Symbol, last: &HashMap<Symbol, Decimal>) -> Decimal {
        self.marks
            .get(symbol)
            .or_else(|| last.get(symbol))
            .copied()
            .unwrap_or(Decimal::ZERO)
    }
}

#[derive(Debug, Default)]
pub struct View {
    pub accounts: HashMap<String, Account>,
    /// Last fill price per symbol.
    last_price: HashMap<Symbol, Decimal>,
}

/// An order being checked, with the view's facts filled in.
pub struct Facts {
    pub position: Decimal,
    pub open_buy_qty: Decimal,
    pub open_sell_qty: Decimal,
    pub gross_exposure: Decimal,
    pub symbol_exposure: Decimal,
    pub open_orders: u32,
    pub recent_orders: u32,
    pub daily_pnl: Decimal,
    pub cash: Decimal,
    /// Cash plus positions, this symbol at the check's price.
    pub equity: Decimal,
}

impl Facts {
    pub fn input<'a>(
        &self,
        symbol: &'a Symbol,
        side: Side,
        qty: Decimal,
        price: Decimal,
        reduce_only: bool,
        fees: trading::Fees,
    ) -> RiskInput<'a> {
        RiskInput {
            symbol,
            side,
            qty,
            price,
            reduce_only,
            position: self.position,
            open_buy_qty: self.open_buy_qty,
            open_sell_qty: self.open_sell_qty,
            gross_exposure: self.gross_exposure,
            symbol_exposure: self.symbol_exposure,
            open_orders: self.open_orders,
            recent_orders: self.recent_orders,
            daily_pnl: self.daily_pnl,
            cash: self.cash,
            equity: self.equity,
            fees,
        }
    }
}

impl View {
    /// Applies one ORDERS event, all or nothing: a fill whose position does
    /// not fit in a decimal changes nothing and is an error for the caller to
    /// report.
    pub fn apply_order_event(&mut self, event: &OrderEvent) -> Result<(), MoneyError> {
        let account = self
            .accounts
            .entry(event.account().to_string())
            .or_default();
        match event {
            OrderEvent::AccountOpened(a) => {
                if !account.known {
                    account.cash = a.cash;
                }
                account.known = true;
            }
            OrderEvent::OrderAccepted { order } => {
                account.reservations.remove(&order.id);
                if order.status.is_open() {
                    account.open.insert(
                        order.id.clone(),
                        Working {
                            symbol: order.symbol.clone(),
                            side: order.side,
                            leaves: order.qty - order.filled_qty,
                        },
                    );
                }
            }
            OrderEvent::OrderRejected { order, .. } => {
                account.reservations.remove(&order.id);
            }
            OrderEvent::OrderCanceled { order_id, .. }
            | OrderEvent::OrderExpired { order_id, .. } => {
                account.open.remove(order_id);
            }
            OrderEvent::OrderFilled { fill } => {
                let signed = match fill.side {
                    Side::Buy => fill.qty,
                    Side::Sell => -fill.qty,
                };
                let held = account.positions.get(&fill.symbol).copied();
                let position = money::add(held.unwrap_or_default(), signed, "position + fill.qty")?;
                let value = money::mul(signed, fill.price, "fill.qty × fill.price")?;
                let outflow = money::add(value, fill.commission, "fill value + commission")?;
                let cash = money::sub(account.cash, outflow, "cash")?;
                account.positions.insert(fill.symbol.clone(), position);
                account.cash = cash;
                if fill.status.is_open() {
                    if let Some(w) = account.open.get_mut(&fill.order_id) {
                        w.leaves = fill.leaves_qty;
                    }
                } else {
                    account.open.remove(&fill.order_id);
                }
                self.last_price.insert(fill.symbol.clone(), fill.price);
            }
            OrderEvent::ProtectionSet(_) => {}
        }
        Ok(())
    }

    pub fn apply_portfolio(&mut self, update: &Event<PortfolioUpdate>) {
        let summary = &update.data.summary;
        let account = self.accounts.entry(summary.account.clone()).or_default();
        account.equity = Some(summary.equity);
        account.daily_pnl = summary.daily_pnl;
        for p in &update.data.positions {
            account.marks.insert(p.symbol.clone(), p.last_price);
        }
    }

    pub fn known(&self, account: &str) -> bool {
        self.accounts.get(account).is_some_and(|a| a.known)
    }

    /// The newest price known for a symbol (portfolio marks, then fills).
    pub fn price(&self, account: &str, symbol: &Symbol) -> Option<Decimal> {
        let p = match self.accounts.get(account) {
            Some(a) => a.price_of(symbol, &self.last_price),
            None => self.last_price.get(symbol).copied().unwrap_or_default(),
        };
        (p > Decimal::ZERO).then_some(p)
    }

    /// What the limits need to know of `account` for an order in `symbol`.
    /// `order_id` is the order being checked, when it has one: checked again
    /// (two execution instances racing on one client order id), its own
    /// reservation and acceptance do not count against it, so both checks
    /// answer alike. Sums that do not fit in a decimal are an error naming them.
    pub fn facts(
        &mut self,
        account: &str,
        symbol: &Symbol,
        price: Decimal,
        ttl: Duration,
        order_id: Option<&str>,
    ) -> Result<Facts, MoneyError> {
        let last = &self.last_price;
        let a = self.accounts.entry(account.to_string()).or_default();
        a.expire(Instant::now(), ttl);
        // A reservation is made with its acceptance, at the same instant.
        let own_at = order_id.and_then(|id| a.reservations.get(id)).map(|r| r.at);
        let own = usize::from(own_at.is_some());
        let own_recent =
            usize::from(own_at.is_some_and(|at| at.elapsed() < Duration::from_secs(1)));
        let (mut open_buy_qty, mut open_sell_qty) = (Decimal::ZERO, Decimal::ZERO);
        for w in a.workings(order_id).filter(|w| &w.symbol == symbol) {
            match w.side {
                Side::Buy => open_buy_qty = money::add(open_buy_qty, w.leaves, "working buy qty")?,
                Side::Sell => {
                    open_sell_qty = money::add(open_sell_qty, w.leaves, "working sell qty")?
                }
            }
        }
        let mut gross_exposure = Decimal::ZERO;
        let mut symbol_exposure = Decimal::ZERO;
        let mut equity = a.cash;
        for (s, q) in &a.positions {
            let p = if s == symbol {
                price
            } else {
                a.price_of(s, last)
            };
            let value = money::mul(*q, p, "position × price")?;
            equity = money::add(equity, value, "equity")?;
            let exposure = money::mul(q.abs(), p, "position × price")?;
            gross_exposure = money::add(gross_exposure, exposure, "gross_exposure")?;
            if s == symbol {
                symbol_exposure = exposure;
            }
        }
        Ok(Facts {
            position: a.positions.get(symbol).copied().unwrap_or_default(),
            open_buy_qty,
            open_sell_qty,
            gross_exposure,
            symbol_exposure,
            open_orders: u32::try_from((a.open.len() + a.reservations.len()).saturating_sub(own))
                .unwrap_or(u32::MAX),
            recent_orders: u32::try_from(a.recent.len().saturating_sub(own_recent))
                .unwrap_or(u32::MAX),
            daily_pnl: a.daily_pnl,
            cash: a.cash,
            equity,
        })
    }

    /// Holds room for an accepted order until its event arrives.
    pub fn reserve(
        &mut self,
        account: &str,
        order_id: String,
        symbol: &Symbol,
        side: Side,
        qty: Decimal,
    ) {
        let a = self.accounts.entry(account.to_string()).or_default();
        let now = Instant::now();
        // Recorded already, or reserved and counted by an earlier check.
        if a.open.contains_key(&order_id) || a.reservations.contains_key(&order_id) {
            return;
        }
        a.recent.push_back(now);
        a.reservations.insert(
            order_id,
            Reservation {
                working: Working {
                    symbol: symbol.clone(),
                    side,
                    leaves: qty,
                },
                at: now,
            },
        );
    }

    pub fn account_view(&self, account: &str) -> Result<AccountView, MoneyError> {
        let Some(a) = self.accounts.get(account) else {
            return Ok(AccountView::default());
        };
        let mut gross_exposure = Decimal::ZERO;
        for (s, q) in &a.positions {
            let exposure =
                money::mul(q.abs(), a.price_of(s, &self.last_price), "position × price")?;
            gross_exposure = money::add(gross_exposure, exposure, "gross_exposure")?;
        }
        Ok(AccountView {
            open_orders: (a.open.len() + a.reservations.len()) as u32,
            positions: a
                .positions
                .iter()
                .filter(|(_, q)| !q.is_zero())
                .map(|(s, q)| (s.clone(), *q))
                .collect(),
            gross_exposure,
            equity: a.equity,
            daily_pnl: a.daily_pnl,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_checked_again_does_not_count_against_itself() {
        let mut view = View::default();
        let goog = Symbol::new("GOOG").unwrap();
        let ttl = Duration::from_secs(5);
        let p = Decimal::ONE;
        view.reserve("acc", "acc.o1".into(), &goog, Side::Buy, Decimal::TEN);
        let other = view.facts("acc", &goog, p, ttl, Some("acc.o2")).unwrap();
        assert_eq!(
            (other.open_orders, other.recent_orders, other.open_buy_qty),
            (1, 1, Decimal::TEN)
        );
        let again = view.facts("acc", &goog, p, ttl, Some("acc.o1")).unwrap();
        assert_eq!(
            (again.open_orders, again.recent_orders, again.open_buy_qty),
            (0, 0, Decimal::ZERO)
        );
        // Reserving it again neither counts it twice nor adds room.
        view.reserve("acc", "acc.o1".into(), &goog, Side::Buy, Decimal::TEN);
        let other = view.facts("acc", &goog, p, ttl, None).unwrap();
        assert_eq!(
            (other.open_orders, other.recent_orders, other.open_buy_qty),
            (1, 1, Decimal::TEN)
        );
    }
}
