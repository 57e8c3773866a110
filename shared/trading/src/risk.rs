//! Pre-trade risk: per-account limits, the account's trading state, and the
//! check of one order against both. Pure: the risk service feeds it what it
//! knows of the account ([`RiskInput`]) and publishes what it says.

use model::{Decimal, Side, Symbol};
use serde::{Deserialize, Serialize};

use crate::money::{self, MoneyError};

/// Limits of one account; `None` is "no limit". Stored as JSON in the
/// `risk-limits` KV bucket under the account id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RiskLimits {
    /// Largest quantity of one order.
    pub max_order_qty: Option<Decimal>,
    /// Largest `qty × price` of one order.
    pub max_order_notional: Option<Decimal>,
    /// Largest |position| in any one symbol, counting working orders on the same side.
    pub max_position: Option<Decimal>,
    /// Largest Σ |position| × price over all symbols, this order included.
    pub max_gross_exposure: Option<Decimal>,
    /// Most working orders at once.
    pub max_open_orders: Option<u32>,
    /// Most orders accepted per second (per account, however many risk
    /// instances run: the account's partition owner counts them).
    pub max_orders_per_second: Option<u32>,
    /// Loss since the start of the market day that halts the account.
    pub daily_loss_limit: Option<Decimal>,
    /// Symbols the account may trade; `None` allows all.
    pub allowed_symbols: Option<Vec<Symbol>>,
    /// What the account may hold for its money; `None` checks nothing.
    pub buying_power: Option<BuyingPower>,
}

/// Buying power of an account (see subjects.md, "Buying power").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum BuyingPower {
    /// Buys only with the cash it has, commission included; never short.
    Cash,
    /// Gross exposure up to `leverage` × equity (backtesting.py's
    /// `margin = 1 / leverage`), shorts allowed; below `maintenance_margin`
    /// (equity / gross exposure) only orders that reduce pass.
    Margin {
        leverage: Decimal,
        #[serde(default)]
        maintenance_margin: Decimal,
    },
}

impl BuyingPower {
    pub fn validate(&self) -> Result<(), String> {
        match self {
            BuyingPower::Cash => Ok(()),
            BuyingPower::Margin {
                leverage,
                maintenance_margin,
            } => {
                if *leverage < Decimal::ONE || *leverage > Decimal::ONE_HUNDRED {
                    return Err(format!("leverage must be in [1, 100], got {leverage}"));
                }
                if *maintenance_margin < Decimal::ZERO || *maintenance_margin > Decimal::ONE {
                    return Err(format!(
                        "maintenance_margin must be in [0, 1], got {maintenance_margin}"
                    ));
                }
                Ok(())
            }
        }
    }
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TradingState {
    /// Every order that passes the limits.
    #[default]
    Active,
    /// Only orders that reduce a position.
    Reducing,
    /// Nothing.
    Halted,
}

/// Machine-readable reason of a rejection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    UnknownAccount,
    Halted,
    ReducingOnly,
    ReduceOnly,
    SymbolNotAllowed,
    MaxOrderQty,
    MaxOrderNotional,
    MaxPosition,
    MaxGrossExposure,
    MaxOpenOrders,
    Throttled,
    DailyLossLimit,
    /// The order costs more than the cash (cash account) or takes the gross
    /// exposure past leverage × equity (margin account).
    InsufficientBuyingPower,
    /// A sell that opens or grows a short in a cash account.
    ShortNotAllowed,
    /// Equity / gross exposure is below the maintenance margin: only
    /// reducing orders pass.
    MaintenanceMargin,
}

/// One limit an order breaks: which, its value, and what the order would make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Violation {
    pub code: RejectCode,
    /// The limit's field name (`max_position`, …) or the state (`HALTED`).
    pub limit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_value: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<Decimal>,
    pub message: String,
}

impl Violation {
    fn new(
        code: RejectCode,
        limit: &str,
        limit_value: Option<Decimal>,
        actual: Option<Decimal>,
        message: String,
    ) -> Violation {
        Violation {
            code,
            limit: limit.to_string(),
            limit_value,
            actual,
            message,
        }
    }
}

/// An order and what is known of its account when it is checked.
#[derive(Debug, Clone)]
pub struct RiskInput<'a> {
    pub symbol: &'a Symbol,
    pub side: Side,
    pub qty: Decimal,
    /// Price used for notional and exposure (limit price, or the last price).
    pub price: Decimal,
    pub reduce_only: bool,
    /// Signed position in the symbol.
    pub position: Decimal,
    /// Unfilled quantity of working buy / sell orders in the symbol.
    pub open_buy_qty: Decimal,
    pub open_sell_qty: Decimal,
    /// Σ |position| × price over all symbols now.
    pub gross_exposure: Decimal,
    /// |position| × price of this symbol now (part of `gross_exposure`).
    pub symbol_exposure: Decimal,
    pub open_orders: u32,
    /// Orders accepted in the last second.
    pub recent_orders: u32,
    /// Equity now minus equity at the start of the market day.
    pub daily_pnl: Decimal,
    /// Cash now (after every fill's value and commission).
    pub cash: Decimal,
    /// Cash plus every position marked (this symbol at `price`).
    pub equity: Decimal,
    /// Commission the order will pay.
    pub fees: crate::Fees,
}

impl RiskInput<'_> {
    fn signed_qty(&self) -> Decimal {
        match self.side {
            Side::Buy => self.qty,
            Side::Sell => -self.qty,
        }
    }

    /// True when the order only shrinks the position (never flips it), counting
    /// working orders on the same side.
    pub fn reduces(&self) -> Result<bool, MoneyError> {
        let working_same_side = match self.side {
            Side::Buy => self.open_buy_qty,
            Side::Sell => self.open_sell_qty,
        };
        let opposite = match self.side {
            Side::Buy => self.position.is_sign_negative(),
            Side::Sell => self.position.is_sign_positive(),
        };
        if self.position.is_zero() || !opposite {
            return Ok(false);
        }
        let total = money::add(self.qty, working_same_side, "qty + working orders")?;
        Ok(total <= self.position.abs())
    }
}

/// Every limit the order breaks, most fundamental first; empty means accept.
/// An order whose numbers cannot be computed (notional or exposure beyond the
/// decimal range) is an error naming them, never a panic.
pub fn check(
    limits: &RiskLimits,
    state: TradingState,
    input: &RiskInput,
) -> Result<Vec<Violation>, MoneyError> {
    use RejectCode::*;
    let mut out = Vec::new();
    let reduces = input.reduces()?;
    match state {
        TradingState::Halted => out.push(Violation::new(
            Halted,
            "HALTED",
            None,
            None,
            "the account is halted: no orders".into(),
        )),
        TradingState::Reducing if !reduces => out.push(Violation::new(
            ReducingOnly,
            "REDUCING",
            None,
            None,
            "the account is reducing: only orders that reduce a position pass".into(),
        )),
        _ => {}
    }
    if input.reduce_only && !reduces {
        out.push(Violation::new(
            ReduceOnly,
            "reduce_only",
            None,
            Some(input.position),
            format!(
                "reduce_only order would not reduce the position of {}",
                input.position
            ),
        ));
    }
    if let Some(allowed) = &limits.allowed_symbols {
        if !allowed.contains(input.symbol) {
            out.push(Violation::new(
                SymbolNotAllowed,
                "allowed_symbols",
                None,
                None,
                format!(
                    "{} is not among the account's allowed symbols",
                    input.symbol
                ),
            ));
        }
    }
    if let Some(max) = limits.max_order_qty {
        if input.qty > max {
            out.push(Violation::new(
                MaxOrderQty,
                "max_order_qty",
                Some(max),
                Some(input.qty),
                format!("qty {} exceeds max_order_qty {max}", input.qty),
            ));
        }
    }
    // Computed whether or not a limit needs it: an order whose notional does
    // not exist is not an order.
    let notional = money::mul(input.qty, input.price, "qty × price")?;
    if let Some(max) = limits.max_order_notional {
        if notional > max {
            out.push(Violation::new(
                MaxOrderNotional,
                "max_order_notional",
                Some(max),
                Some(notional),
                format!("notional {notional} exceeds max_order_notional {max}"),
            ));
        }
    }
    if let Some(max) = limits.max_position {
        let working = match input.side {
            Side::Buy => input.open_buy_qty,
            Side::Sell => -input.open_sell_qty,
        };
        let projected = money::add(
            money::add(input.position, working, "position + working orders")?,
            input.signed_qty(),
            "position + qty",
        )?;
        if projected.abs() > max && projected.abs() > input.position.abs() {
            out.push(Violation::new(
                MaxPosition,
                "max_position",
                Some(max),
                Some(projected.abs()),
                format!(
                    "position would reach {} (with working orders) above max_position {max}",
                    projected.abs()
                ),
            ));
        }
    }
    if let Some(max) = limits.max_gross_exposure {
        if !reduces {
            let new_qty = money::add(input.position, input.signed_qty(), "position + qty")?;
            let new_symbol = money::mul(new_qty.abs(), input.price, "position × price")?;
            let projected = money::add(
                money::sub(
                    input.gross_exposure,
                    input.symbol_exposure,
                    "gross_exposure",
                )?,
                new_symbol,
                "gross_exposure",
            )?;
            if projected > max && projected > input.gross_exposure {
                out.push(Violation::new(
                    MaxGrossExposure,
                    "max_gross_exposure",
                    Some(max),
                    Some(projected),
                    format!(
                        "gross exposure would reach {projected} above max_gross_exposure {max}"
                    ),
                ));
            }
        }
    }
    if let Some(max) = limits.max_open_orders {
        if input.open_orders >= max {
            out.push(Violation::new(
                MaxOpenOrders,
                "max_open_orders",
                Some(max.into()),
                Some(input.open_orders.into()),
                format!(
                    "{} orders are working; max_open_orders is {max}",
                    input.open_orders
                ),
            ));
        }
    }
    if let Some(max) = limits.max_orders_per_second {
        if input.recent_orders >= max {
            out.push(Violation::new(
                Throttled,
                "max_orders_per_second",
                Some(max.into()),
                Some(input.recent_orders.into()),
                format!(
                    "{} orders in the last second; max_orders_per_second is {max}",
                    input.recent_orders
                ),
            ));
        }
    }
    if let Some(bp) = &limits.buying_power {
        if let Some(v) = buying_power(bp, input, reduces)? {
            out.push(v);
        }
    }
    if let Some(max) = limits.daily_loss_limit {
        if -input.daily_pnl >= max {
            out.push(Violation::new(
                DailyLossLimit,
                "daily_loss_limit",
                Some(max),
                Some(-input.daily_pnl),
                format!(
                    "daily loss {} reached daily_loss_limit {max}",
                    -input.daily_pnl
                ),
            ));
        }
    }
    Ok(out)
}

/// The buying-power violation of an order, if any.
fn buying_power(
    bp: &BuyingPower,
    input: &RiskInput,
    reduces: bool,
) -> Result<Option<Violation>, MoneyError> {
    use RejectCode::*;
    let notional = money::mul(input.qty, input.price, "qty × price")?;
    let commission = money::add(
        money::mul(notional, input.fees.pct, "commission")?,
        input.fees.fixed,
        "commission",
    )?;
    // Working orders count as if filled: the position they leave is what
    // this order starts from (as the paper path sizes it).
    let working = match input.side {
        Side::Buy => input.open_buy_qty,
        Side::Sell => input.open_sell_qty,
    };
    let net_working = money::sub(input.open_buy_qty, input.open_sell_qty, "working orders")?;
    let before = money::add(input.position, net_working, "position + working orders")?;
    let after = money::add(before, input.signed_qty(), "position + qty")?;
    match bp {
        BuyingPower::Cash => {
            if input.side == Side::Sell && after < Decimal::ZERO {
                return Ok(Some(Violation::new(
                    ShortNotAllowed,
                    "buying_power",
                    Some(before.max(Decimal::ZERO)),
                    Some(input.qty),
                    format!(
                        "a cash account cannot short: selling {} with {} held (working orders included) leaves {after}",
                        input.qty, before
                    ),
                )));
            }
            if input.side == Side::Buy {
                let working_cost = money::mul(working, input.price, "working orders × price")?;
                let available = money::sub(input.cash, working_cost, "cash − working orders")?;
                let cost = money::add(notional, commission, "qty × price + commission")?;
                if cost > available {
                    return Ok(Some(Violation::new(
                        InsufficientBuyingPower,
                        "buying_power",
                        Some(available),
                        Some(cost),
                        format!(
                            "buying {} at {} costs {cost} (commission {commission} included); the cash account has {available}",
                            input.qty, input.price
                        ),
                    )));
                }
            }
            Ok(None)
        }
        BuyingPower::Margin {
            leverage,
            maintenance_margin,
        } => {
            if reduces
                || after.abs() <= before.abs()
                    && (after >= Decimal::ZERO) == (before >= Decimal::ZERO)
            {
                return Ok(None);
            }
            let others = money::sub(
                input.gross_exposure,
                input.symbol_exposure,
                "gross_exposure",
            )?;
            if !input.gross_exposure.is_zero() && !maintenance_margin.is_zero() {
                let ratio = money::div(input.equity, input.gross_exposure, "equity / exposure")?;
                if ratio < *maintenance_margin {
                    return Ok(Some(Violation::new(
                        MaintenanceMargin,
                        "buying_power",
                        Some(*maintenance_margin),
                        Some(ratio),
                        format!(
                            "equity / gross exposure is {ratio}, below the maintenance margin {maintenance_margin}: only orders that reduce pass"
                        ),
                    )));
                }
            }
            let symbol_after = money::mul(after.abs(), input.price, "position × price")?;
            let projected = money::add(others, symbol_after, "gross_exposure")?;
            let equity_after = money::sub(input.equity, commission, "equity − commission")?;
            let power = money::mul(
                equity_after.max(Decimal::ZERO),
                *leverage,
                "equity × leverage",
            )?;
            if projected > power {
                return Ok(Some(Violation::new(
                    InsufficientBuyingPower,
                    "buying_power",
                    Some(power),
                    Some(projected),
                    format!(
                        "gross exposure would reach {projected}, above {power} (equity {equity_after} after commission × leverage {leverage})"
                    ),
                )));
            }
            Ok(None)
        }
    }
}

/// The daily loss limit is breached (the risk service then halts the account).
pub fn daily_loss_breached(limits: &RiskLimits, daily_pnl: Decimal) -> bool {
    limits.daily_loss_limit.is_some_and(|max| -daily_pnl >= max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn input(symbol: &Symbol) -> RiskInput<'_> {
        RiskInput {
            symbol,
            side: Side::Buy,
            qty: dec!(10),
            price: dec!(100),
            reduce_only: false,
            position: Decimal::ZERO,
            open_buy_qty: Decimal::ZERO,
            open_sell_qty: Decimal::ZERO,
            gross_exposure: Decimal::ZERO,
            symbol_exposure: Decimal::ZERO,
            open_orders: 0,
            recent_orders: 0,
            daily_pnl: Decimal::ZERO,
            cash: dec!(10000),
            equity: dec!(10000),
            fees: crate::Fees::default(),
        }
    }

    fn codes(v: Vec<Violation>) -> Vec<RejectCode> {
        v.into_iter().map(|v| v.code).collect()
    }

    #[test]
    fn each_limit_has_its_code() {
        use RejectCode::*;
        let s = Symbol::new("X").unwrap();
        let base = input(&s);
        assert!(check(&RiskLimits::default(), TradingState::Active, &base)
            .unwrap()
            .is_empty());
        let cases: Vec<(RiskLimits, RejectCode)> = vec![
            (
                RiskLimits {
                    max_order_qty: Some(dec!(5)),
                    ..Default::default()
                },
                MaxOrderQty,
            ),
            (
                RiskLimits {
                    max_order_notional: Some(dec!(999)),
                    ..Default::default()
                },
                MaxOrderNotional,
            ),
            (
                RiskLimits {
                    max_position: Some(dec!(9)),
                    ..Default::default()
                },
                MaxPosition,
            ),
            (
                RiskLimits {
                    max_gross_exposure: Some(dec!(999)),
                    ..Default::default()
                },
                MaxGrossExposure,
            ),
            (
                RiskLimits {
                    max_open_orders: Some(0),
                    ..Default::default()
                },
                MaxOpenOrders,
            ),
            (
                RiskLimits {
                    max_orders_per_second: Some(0),
                    ..Default::default()
                },
                Throttled,
            ),
            (
                RiskLimits {
                    daily_loss_limit: Some(dec!(0)),
                    ..Default::default()
                },
                DailyLossLimit,
            ),
            (
                RiskLimits {
                    allowed_symbols: Some(vec![Symbol::new("Y").unwrap()]),
                    ..Default::default()
                },
                SymbolNotAllowed,
            ),
        ];
        for (limits, code) in cases {
            let v = check(&limits, TradingState::Active, &base).unwrap();
            assert_eq!(codes(v.clone()), vec![code], "{limits:?}");
            assert!(!v[0].message.is_empty());
        }
    }

    #[test]
    fn working_orders_count_toward_the_position_limit() {
        let s = Symbol::new("X").unwrap();
        let limits = RiskLimits {
            max_position: Some(dec!(25)),
            ..Default::default()
        };
        let mut i = input(&s);
        i.position = dec!(10);
        assert!(check(&limits, TradingState::Active, &i).unwrap().is_empty());
        i.open_buy_qty = dec!(10);
        assert_eq!(
            codes(check(&limits, TradingState::Active, &i).unwrap()),
            vec![RejectCode::MaxPosition]
        );
        // Selling is never blocked by the position limit while long.
        i.side = Side::Sell;
        assert!(check(&limits, TradingState::Active, &i).unwrap().is_empty());
    }

    #[test]
    fn numbers_beyond_the_decimal_range_are_errors_not_panics() {
        let s = Symbol::new("X").unwrap();
        let l = RiskLimits::default();
        let mut i = input(&s);
        i.qty = dec!(1_000_000_000_000_000);
        i.price = dec!(1_000_000_000_000_000);
        let e = check(&l, TradingState::Active, &i).unwrap_err();
        assert_eq!(e.field, "qty × price");
        assert_eq!(e.code(), "overflow");
        // Position plus working orders plus the order.
        let mut i = input(&s);
        i.qty = Decimal::MAX;
        i.price = dec!(0.5);
        i.open_buy_qty = Decimal::MAX;
        let limits = RiskLimits {
            max_position: Some(dec!(1)),
            ..Default::default()
        };
        assert!(check(&limits, TradingState::Active, &i).is_err());
        // Exposure: a huge position at the order's price.
        let mut i = input(&s);
        i.position = Decimal::MAX / dec!(2);
        i.price = dec!(3);
        i.qty = dec!(1);
        let limits = RiskLimits {
            max_gross_exposure: Some(dec!(1)),
            ..Default::default()
        };
        assert_eq!(
            check(&limits, TradingState::Active, &i).unwrap_err().field,
            "position × price"
        );
        // Reducing: qty plus working sells.
        let mut i = input(&s);
        i.position = dec!(10);
        i.side = Side::Sell;
        i.qty = Decimal::MAX;
        i.price = dec!(0.1);
        i.open_sell_qty = Decimal::MAX;
        assert_eq!(i.reduces().unwrap_err().field, "qty + working orders");
    }

    #[test]
    fn states_and_reducing() {
        let s = Symbol::new("X").unwrap();
        let l = RiskLimits::default();
        let mut i = input(&s);
        assert_eq!(
            codes(check(&l, TradingState::Halted, &i).unwrap()),
            vec![RejectCode::Halted]
        );
        assert_eq!(
            codes(check(&l, TradingState::Reducing, &i).unwrap()),
            vec![RejectCode::ReducingOnly]
        );
        i.position = dec!(10);
        i.side = Side::Sell;
        assert!(
            check(&l, TradingState::Reducing, &i).unwrap().is_empty(),
            "selling 10 of a long 10 reduces"
        );
        i.qty = dec!(11);
        assert_eq!(
            codes(check(&l, TradingState::Reducing, &i).unwrap()),
            vec![RejectCode::ReducingOnly],
            "flipping is not reducing"
        );
        i.qty = dec!(5);
        i.reduce_only = true;
        assert!(check(&l, TradingState::Active, &i).unwrap().is_empty());
        i.side = Side::Buy;
        assert_eq!(
            codes(check(&l, TradingState::Active, &i).unwrap()),
            vec![RejectCode::ReduceOnly]
        );
    }

    #[test]
    fn buying_power_of_cash_and_margin_accounts() {
        use RejectCode::*;
        let s = Symbol::new("X").unwrap();
        let cash = RiskLimits {
            buying_power: Some(BuyingPower::Cash),
            ..Default::default()
        };
        let run = |limits: &RiskLimits, input: &RiskInput| {
            check(limits, TradingState::Active, input).unwrap()
        };
        // 100 × 100 = all the cash: passes; with 0.1 % commission it does not.
        let mut i = input(&s);
        i.qty = dec!(100);
        assert!(run(&cash, &i).is_empty());
        i.fees.pct = dec!(0.001);
        let v = run(&cash, &i);
        assert_eq!(codes(v.clone()), [InsufficientBuyingPower]);
        assert_eq!(
            (v[0].limit_value, v[0].actual),
            (Some(dec!(10000)), Some(dec!(10010.000)))
        );
        // Selling what is held passes; one more is a short.
        let mut i = input(&s);
        (i.side, i.position, i.qty) = (Side::Sell, dec!(10), dec!(10));
        assert!(run(&cash, &i).is_empty());
        i.qty = dec!(11);
        assert_eq!(codes(run(&cash, &i)), [ShortNotAllowed]);

        // Leverage 2 on 10,000 equity: 20,000 of exposure, long or short.
        let margin = RiskLimits {
            buying_power: Some(BuyingPower::Margin {
                leverage: dec!(2),
                maintenance_margin: dec!(0.25),
            }),
            ..Default::default()
        };
        let mut i = input(&s);
        i.qty = dec!(200);
        assert!(run(&margin, &i).is_empty());
        i.side = Side::Sell;
        assert!(run(&margin, &i).is_empty());
        i.qty = dec!(201);
        let v = run(&margin, &i);
        assert_eq!(codes(v.clone()), [InsufficientBuyingPower]);
        assert_eq!(
            (v[0].limit_value, v[0].actual),
            (Some(dec!(20000)), Some(dec!(20100)))
        );
        // Under maintenance: only reducing passes.
        let mut i = input(&s);
        (i.position, i.gross_exposure, i.symbol_exposure, i.equity) =
            (dec!(100), dec!(10000), dec!(10000), dec!(2000));
        assert_eq!(codes(run(&margin, &i)), [MaintenanceMargin]);
        i.side = Side::Sell;
        assert!(run(&margin, &i).is_empty());
        assert!(BuyingPower::Margin {
            leverage: dec!(0.5),
            maintenance_margin: dec!(0)
        }
        .validate()
        .is_err());
    }
}
