//! Every account's ledger, and what an ORDERS event does to it.

use std::collections::BTreeMap;

use bus::api::portfolio::{PortfolioUpdate, Summary};
use model::{Decimal, UnixNanos};
use trading::event::OrderEvent;
use trading::AccountLedger;

#[derive(Debug, Default, Clone)]
pub struct Book {
    pub ledgers: BTreeMap<String, AccountLedger>,
    /// ORDERS sequence applied.
    pub sequence: u64,
}

impl Book {
    /// Applies one ORDERS event; returns the account it changed, if any.
    pub fn apply(&mut self, sequence: u64, event: &OrderEvent) -> Option<String> {
        self.sequence = self.sequence.max(sequence);
        match event {
            OrderEvent::AccountOpened(a) => {
                if self.ledgers.contains_key(&a.account) {
                    return None;
                }
                self.ledgers
                    .insert(a.account.clone(), AccountLedger::open(&a.account, a.cash));
                Some(a.account.clone())
            }
            OrderEvent::OrderFilled { fill } => {
                let ledger = self.ledgers.get_mut(&fill.account)?;
                ledger.apply_fill(fill);
                Some(fill.account.clone())
            }
            OrderEvent::ProtectionSet(p) => {
                let ledger = self.ledgers.get_mut(&p.account)?;
                ledger.set_protection(&p.symbol, p.stop_loss, p.take_profit);
                Some(p.account.clone())
            }
            _ => None,
        }
    }

    pub fn summary(&self, account: &str) -> Option<Summary> {
        let l = self.ledgers.get(account)?;
        let market_value: Decimal = l.positions.values().map(|p| p.market_value()).sum();
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
            equity: l.equity(),
            market_value,
            realized_pnl: l.realized_pnl,
            unrealized_pnl: l.unrealized_pnl(),
            commissions: l.commissions,
            gross_exposure: l.gross_exposure(),
            daily_pnl: l.daily_pnl(),
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
