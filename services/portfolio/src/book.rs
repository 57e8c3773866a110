//! Every account's ledger, and what an ORDERS event does to it.

use std::collections::BTreeMap;

use bus::api::portfolio::{PortfolioUpdate, Summary};
use model::{Decimal, UnixNanos};
use trading::event::OrderEvent;
use trading::{AccountLedger, MoneyError, Totals};

#[derive(Debug, Default, Clone)]
pub struct Book {
    pub ledgers: BTreeMap<String, AccountLedger>,
    /// ORDERS sequence applied.
    pub sequence: u64,
}

impl Book {
    /// Applies one ORDERS event; returns the account it changed, if any. A
    /// fill whose numbers do not fit in a decimal is an error and changes no
    /// ledger (the sequence still counts as applied: the event is skipped).
    pub fn apply(
        &mut self,
        sequence: u64,
        event: &OrderEvent,
    ) -> Result<Option<String>, MoneyError> {
        self.sequence = self.sequence.max(sequence);
        self.apply_event(event)
    }

    fn apply_event(&mut self, event: &OrderEvent) -> Result<Option<String>, MoneyError> {
        Ok(match event {
            OrderEvent::AccountOpened(a) => {
                if self.ledgers.contains_key(&a.account) {
                    return Ok(None);
                }
                self.ledgers
                    .insert(a.account.clone(), AccountLedger::open(&a.account, a.cash));
                Some(a.account.clone())
            }
            OrderEvent::OrderFilled { fill } => {
                let Some(ledger) = self.ledgers.get_mut(&fill.account) else {
                    return Ok(None);
                };
                let before = ledger.position_qty(&fill.symbol);
                ledger.apply_fill(fill)?;
                let after = ledger.position_qty(&fill.symbol);
                // Protection belongs to the position it was set on: once that
                // is closed or reversed, its levels must not trip the next one
                // (a long's stop under a new short would fire at once).
                if !before.is_zero()
                    && (after.is_zero() || after.is_sign_positive() != before.is_sign_positive())
                {
                    ledger.set_protection(&fill.symbol, None, None);
                }
                Some(fill.account.clone())
            }
            OrderEvent::ProtectionSet(p) => {
                let Some(ledger) = self.ledgers.get_mut(&p.account) else {
                    return Ok(None);
                };
                ledger.set_protection(&p.symbol, p.stop_loss, p.take_profit);
                Some(p.account.clone())
            }
            _ => None,
        })
    }

    pub fn summary(&self, account: &str) -> Option<Summary> {
        let l = self.ledgers.get(account)?;
        // Every fill and mark keeps these computable; a ledger that is not
        // (a hand-edited snapshot) reports the top of the range, not a panic.
        let t = l.totals().unwrap_or_else(|e| {
            tracing::error!(account, error = %e, "ledger totals beyond the decimal range");
            Totals {
                market_value: Decimal::MAX,
                equity: Decimal::MAX,
                unrealized_pnl: Decimal::MAX,
                gross_exposure: Decimal::MAX,
                daily_pnl: Decimal::MAX,
            }
        });
        let market_ts = l
            .positions
            .values()
            .map(|p| p.last_ts)
            .max()
            .unwrap_or(UnixNanos(0));
        Some(Summary {
            account: account.to_string(),
            deposits: l.deposits,
            cash: l.cash,
            equity: t.equity,
            market_value: t.market_value,
            realized_pnl: l.realized_pnl,
            unrealized_pnl: t.unrealized_pnl,
            commissions: l.commissions,
            gross_exposure: t.gross_exposure,
            daily_pnl: t.daily_pnl,
            open_positions: l.positions.values().filter(|p| !p.qty.is_zero()).count() as u32,
            fills: l.fills,
            sequence: self.sequence,
            market_ts,
        })
    }

    pub fn update(&self, account: &str) -> Option<PortfolioUpdate> {
        let summary = self.summary(account)?;
        let positions = self.ledgers[account]
            .positions
            .values()
            .filter(|p| !p.qty.is_zero())
            .cloned()
            .collect();
        Some(PortfolioUpdate { summary, positions })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{Side, Symbol};
    use rust_decimal::Decimal;
    use trading::event::{AccountOpened, Fill, ProtectionSet};
    use trading::OrderStatus;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn filled(account: &str, side: Side, qty: &str, price: &str) -> OrderEvent {
        OrderEvent::OrderFilled {
            fill: Fill {
                fill_id: "o.1".into(),
                order_id: "o".into(),
                client_order_id: "c".into(),
                account: account.into(),
                symbol: Symbol::new("AAA").unwrap(),
                side,
                qty: d(qty),
                price: d(price),
                commission: Decimal::ZERO,
                market_ts: UnixNanos(1),
                status: OrderStatus::Filled,
                cum_qty: d(qty),
                leaves_qty: Decimal::ZERO,
                strategy_id: None,
            },
        }
    }

    fn protect(stop_loss: &str) -> OrderEvent {
        OrderEvent::ProtectionSet(ProtectionSet {
            account: "a".into(),
            symbol: Symbol::new("AAA").unwrap(),
            stop_loss: Some(d(stop_loss)),
            take_profit: None,
        })
    }

    fn stop(book: &Book) -> Option<Decimal> {
        book.ledgers["a"].positions[&Symbol::new("AAA").unwrap()].stop_loss
    }

    fn open(book: &mut Book, sequence: u64, cash: &str) -> Option<String> {
        book.apply(
            sequence,
            &OrderEvent::AccountOpened(AccountOpened {
                account: "a".into(),
                cash: d(cash),
            }),
        )
        .unwrap()
    }

    #[test]
    fn an_account_opens_once_and_fills_of_unknown_accounts_change_nothing() {
        let mut book = Book::default();
        assert_eq!(open(&mut book, 1, "100"), Some("a".into()));
        assert_eq!(open(&mut book, 2, "5"), None);
        assert_eq!(book.ledgers["a"].cash, d("100"));
        assert_eq!(
            book.apply(3, &filled("ghost", Side::Buy, "1", "10")),
            Ok(None)
        );
        assert_eq!(book.sequence, 3);
        assert!(book.summary("ghost").is_none());
        assert_eq!(book.summary("a").unwrap().sequence, 3);
    }

    #[test]
    fn a_fill_that_overflows_is_skipped_and_changes_no_ledger() {
        let mut book = Book::default();
        open(&mut book, 1, "1000000000000000000");
        let before = book.ledgers["a"].clone();
        let huge = "1000000000000000";
        let e = book
            .apply(2, &filled("a", Side::Buy, huge, huge))
            .unwrap_err();
        assert_eq!(e.code(), "overflow");
        assert_eq!(book.ledgers["a"], before);
        assert_eq!(book.sequence, 2, "the event counts as passed over");
        assert_eq!(
            book.apply(3, &filled("a", Side::Buy, "10", "10")),
            Ok(Some("a".into()))
        );
        assert_eq!(book.summary("a").unwrap().cash, d("999999999999999900"));
    }

    #[test]
    fn protection_goes_with_the_position_it_was_set_on() {
        let mut book = Book::default();
        open(&mut book, 1, "1000");
        // Set while flat: kept for the position that opens.
        book.apply(2, &protect("9")).unwrap();
        book.apply(3, &filled("a", Side::Buy, "10", "10")).unwrap();
        assert_eq!(stop(&book), Some(d("9")));
        // Reduced: still the same position.
        book.apply(4, &filled("a", Side::Sell, "4", "11")).unwrap();
        assert_eq!(stop(&book), Some(d("9")));
        // Closed: gone.
        book.apply(5, &filled("a", Side::Sell, "6", "11")).unwrap();
        assert_eq!(stop(&book), None);
        // Reversed: gone (a long's stop below a new short would trip at once).
        book.apply(6, &filled("a", Side::Buy, "5", "10")).unwrap();
        book.apply(7, &protect("8")).unwrap();
        book.apply(8, &filled("a", Side::Sell, "7", "10")).unwrap();
        assert_eq!(
            book.ledgers["a"].position_qty(&Symbol::new("AAA").unwrap()),
            d("-2")
        );
        assert_eq!(stop(&book), None);
    }
}
