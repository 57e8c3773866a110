//! Trading client commands: orders, accounts, positions.

use std::time::Duration;

use bus::api::orders::{ListRequest, ListResponse};
use bus::{request, subjects, RequestOptions};
use model::{Decimal, Side, Symbol};
use trading::{Order, OrderRequest, OrderType, TimeInForce};

use crate::Connection;

async fn connect(c: &Connection) -> anyhow::Result<async_nats::Client> {
    Ok(bus::connect::connect(&c.nats_url, "trader-cli", Some(Duration::from_secs(5))).await?)
}

fn print_orders(orders: &[Order]) {
    println!(
        "{:<28} {:<10} {:<5} {:<10} {:>10} {:>10} {:>12} {:<16}",
        "order", "symbol", "side", "type", "qty", "filled", "avg price", "status"
    );
    for o in orders {
        println!(
            "{:<28} {:<10} {:<5} {:<10} {:>10} {:>10} {:>12} {:<16}",
            o.id,
            o.symbol.as_str(),
            format!("{:?}", o.side).to_lowercase(),
            o.order_type.name(),
            o.qty,
            o.filled_qty,
            o.avg_fill_price.round_dp(4),
            format!("{:?}", o.status).to_lowercase(),
        );
    }
}

#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum SideArg {
    Buy,
    Sell,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum TypeArg {
    Market,
    Limit,
    Stop,
    StopLimit,
}

#[derive(clap::Args, Debug)]
pub struct OrderArgs {
    #[command(flatten)]
    connection: Connection,
    /// Account to trade in.
    #[arg(long, default_value = bus::api::strategy::DEFAULT_PAPER_ACCOUNT)]
    account: String,
    /// Symbol, e.g. SIM-A.
    #[arg(long)]
    symbol: String,
    /// buy or sell.
    #[arg(long, value_enum)]
    side: SideArg,
    /// Quantity (positive).
    #[arg(long)]
    qty: Decimal,
    /// Order type.
    #[arg(long = "type", value_enum, default_value = "market")]
    order_type: TypeArg,
    /// Limit price (limit and stop-limit orders).
    #[arg(long)]
    limit_price: Option<Decimal>,
    /// Stop (trigger) price (stop and stop-limit orders).
    #[arg(long)]
    stop_price: Option<Decimal>,
    /// GTC, IOC, FOK or DAY.
    #[arg(long, default_value = "GTC")]
    tif: String,
    /// Client order id (default: a new one). Resubmitting one returns its order.
    #[arg(long)]
    id: Option<String>,
}

pub async fn order(args: OrderArgs) -> anyhow::Result<()> {
    let tif: TimeInForce =
        serde_json::from_value(serde_json::Value::String(args.tif.to_uppercase()))
            .map_err(|_| anyhow::anyhow!("tif is one of GTC, IOC, FOK, DAY"))?;
    let req = OrderRequest {
        client_order_id: args
            .id
            .unwrap_or_else(|| format!("cli-{}", model::ids::new_id())),
        account: args.account,
        symbol: Symbol::new(&args.symbol)?,
        side: match args.side {
            SideArg::Buy => Side::Buy,
            SideArg::Sell => Side::Sell,
        },
        order_type: match args.order_type {
            TypeArg::Market => OrderType::Market,
            TypeArg::Limit => OrderType::Limit,
            TypeArg::Stop => OrderType::Stop,
            TypeArg::StopLimit => OrderType::StopLimit,
        },
        qty: args.qty,
        limit_price: args.limit_price,
        stop_price: args.stop_price,
        trailing: None,
        expire_at: None,
        post_only: false,
        tif,
        reduce_only: false,
        timeframe: None,
        strategy_id: None,
        after_ts: None,
        sizing: None,
        bracket: None,
        oco: Vec::new(),
    };
    let client = connect(&args.connection).await?;
    let order: Order = request(
        &client,
        subjects::execution::SUBMIT,
        &req,
        RequestOptions::default(),
    )
    .await?;
    print_orders(std::slice::from_ref(&order));
    if let Some(reason) = &order.reason {
        println!("reason: {reason}");
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct OrdersArgs {
    #[command(flatten)]
    connection: Connection,
    /// Only this account's orders (default: every account).
    #[arg(long)]
    account: Option<String>,
    /// Only working orders.
    #[arg(long)]
    open: bool,
    /// Most orders to list, newest first.
    #[arg(long, default_value_t = 50)]
    limit: u32,
}

pub async fn orders(args: OrdersArgs) -> anyhow::Result<()> {
    let client = connect(&args.connection).await?;
    let list: ListResponse = request(
        &client,
        subjects::execution::LIST,
        &ListRequest {
            account: args.account,
            open: args.open,
            limit: Some(args.limit),
            ..Default::default()
        },
        RequestOptions::default(),
    )
    .await?;
    print_orders(&list.orders);
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct AccountArgs {
    #[command(flatten)]
    connection: Connection,
    /// Account to show.
    #[arg(long, default_value = bus::api::strategy::DEFAULT_PAPER_ACCOUNT)]
    account: String,
    /// Open the account with this cash first (a no-op if it exists).
    #[arg(long)]
    open: Option<Decimal>,
}

/// `portfolio.summary.get` and `portfolio.positions.get` (after opening, if asked).
pub async fn account(args: AccountArgs) -> anyhow::Result<()> {
    use bus::api::portfolio::{AccountRequest, OpenAccountRequest, PositionsResponse, Summary};
    let client = connect(&args.connection).await?;
    if let Some(cash) = args.open {
        let _: Summary = request(
            &client,
            subjects::portfolio::ACCOUNT_OPEN,
            &OpenAccountRequest {
                account: args.account.clone(),
                cash,
            },
            RequestOptions::default(),
        )
        .await?;
    }
    let req = AccountRequest {
        account: args.account.clone(),
    };
    let s: Summary = request(
        &client,
        subjects::portfolio::SUMMARY_GET,
        &req,
        RequestOptions::default(),
    )
    .await?;
    let p: PositionsResponse = request(
        &client,
        subjects::portfolio::POSITIONS_GET,
        &req,
        RequestOptions::default(),
    )
    .await?;
    println!("account     {}", s.account);
    println!("equity      {}", s.equity.round_dp(2));
    println!("cash        {}", s.cash.round_dp(2));
    println!("realized    {}", s.realized_pnl.round_dp(2));
    println!("unrealized  {}", s.unrealized_pnl.round_dp(2));
    println!("daily P&L   {}", s.daily_pnl.round_dp(2));
    println!("commissions {}", s.commissions.round_dp(2));
    println!("fills       {}", s.fills);
    println!();
    println!(
        "{:<10} {:>12} {:>12} {:>12} {:>14}",
        "symbol", "qty", "avg price", "last", "unrealized"
    );
    for pos in &p.positions {
        println!(
            "{:<10} {:>12} {:>12} {:>12} {:>14}",
            pos.symbol.as_str(),
            pos.qty,
            pos.avg_price.round_dp(4),
            pos.last_price,
            pos.unrealized_pnl().round_dp(2)
        );
    }
    Ok(())
}
