//! Telegram commands: each is a NATS request to the service that owns the
//! answer, rendered as a monospace table. Roles: a viewer reads; a trader
//! also starts and stops strategies and cancels orders; only an admin halts
//! and resumes the account.

use bus::api::notify::{Chat, Role};
use bus::subjects;
use serde_json::{json, Value};

use super::table::{escape, pairs, pre, table};
use crate::{Ctx, TelegramBot};

/// (command, least role, description)
const COMMANDS: &[(&str, Role, &str)] = &[
    (
        "/status",
        Role::Viewer,
        "trading state, equity, open orders",
    ),
    ("/positions", Role::Viewer, "open positions"),
    ("/orders", Role::Viewer, "working orders"),
    ("/profit", Role::Viewer, "realized and unrealized P&L"),
    ("/balance", Role::Viewer, "cash, market value, equity"),
    ("/daily", Role::Viewer, "today's P&L"),
    ("/strategies", Role::Viewer, "strategies and their state"),
    (
        "/start <strategy>",
        Role::Trader,
        "start a stopped strategy again",
    ),
    ("/stop <strategy>", Role::Trader, "stop a strategy"),
    (
        "/cancel <order>",
        Role::Trader,
        "cancel a working order (client order id)",
    ),
    (
        "/halt [reason]",
        Role::Admin,
        "halt the account: every order rejected",
    ),
    ("/resume", Role::Admin, "resume trading"),
    ("/help", Role::Viewer, "this list"),
];

/// The HTML reply to `text` from `chat`, or none (not a command).
pub async fn answer(ctx: &Ctx, bot: &TelegramBot, chat: &Chat, text: &str) -> Option<String> {
    let mut words = text.split_whitespace();
    let first = words.next()?;
    if !first.starts_with('/') {
        return Some("Send /help for the commands.".to_string());
    }
    // `/status@my_bot` in groups.
    let command = first
        .split('@')
        .next()
        .unwrap_or(first)
        .to_ascii_lowercase();
    let arg: Vec<&str> = words.collect();
    let arg = arg.join(" ");
    let needed = COMMANDS
        .iter()
        .find(|(c, _, _)| c.split(' ').next() == Some(command.as_str()))
        .map(|(_, r, _)| *r);
    let Some(needed) = needed else {
        return Some(format!("Unknown command {}. Send /help.", escape(&command)));
    };
    if chat.role < needed {
        return Some(
            format!(
                "{} needs the {:?} role; this chat is {:?}.",
                escape(&command),
                needed,
                chat.role
            )
            .to_lowercase(),
        );
    }
    let q = Query {
        ctx,
        bot,
        account: &chat.account,
    };
    let reply = match command.as_str() {
        "/help" => Ok(help(chat.role)),
        "/status" => q.status().await,
        "/positions" => q.positions().await,
        "/orders" => q.orders().await,
        "/profit" => q.profit().await,
        "/balance" => q.balance().await,
        "/daily" => q.daily().await,
        "/strategies" => q.strategies().await,
        "/start" => q.start(&arg).await,
        "/stop" => q.stop(&arg).await,
        "/cancel" => q.cancel(&arg).await,
        "/halt" => q.halt(&arg).await,
        "/resume" => q.resume().await,
        _ => Ok(help(chat.role)),
    };
    Some(reply.unwrap_or_else(|e| format!("{}: {}", escape(&command), escape(&e))))
}

fn help(role: Role) -> String {
    let rows: Vec<Vec<String>> = COMMANDS
        .iter()
        .filter(|(_, r, _)| *r <= role)
        .map(|(c, _, d)| vec![c.to_string(), d.to_string()])
        .collect();
    table(&["command", "what"], &rows)
}

struct Query<'a> {
    ctx: &'a Ctx,
    bot: &'a TelegramBot,
    account: &'a str,
}

fn s(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

impl Query<'_> {
    async fn ask(&self, subject: &str, body: Value) -> Result<Value, String> {
        bus::request::<Value, Value>(
            &self.ctx.client,
            subject,
            &body,
            bus::RequestOptions::timeout(self.bot.request_timeout),
        )
        .await
        .map_err(|e| match e.service_error() {
            Some(se) => se.message.clone(),
            None => e.to_string(),
        })
    }

    async fn summary(&self) -> Result<Value, String> {
        self.ask(
            subjects::portfolio::SUMMARY_GET,
            json!({"account": self.account}),
        )
        .await
    }

    async fn status(&self) -> Result<String, String> {
        let risk = self
            .ask(subjects::risk::STATUS, json!({"account": self.account}))
            .await?;
        let summary = self.summary().await?;
        let open = self
            .ask(
                subjects::execution::LIST,
                json!({"account": self.account, "open": true}),
            )
            .await?;
        let state = risk.get("state").cloned().unwrap_or(Value::Null);
        Ok(pairs(&[
            ("account", self.account.to_string()),
            ("state", s(&state, "state")),
            ("reason", s(&state, "reason")),
            ("equity", s(&summary, "equity")),
            ("cash", s(&summary, "cash")),
            ("daily P&L", s(&summary, "daily_pnl")),
            ("positions", s(&summary, "open_positions")),
            (
                "open orders",
                open["orders"].as_array().map_or(0, Vec::len).to_string(),
            ),
        ]))
    }

    async fn positions(&self) -> Result<String, String> {
        let p = self
            .ask(
                subjects::portfolio::POSITIONS_GET,
                json!({"account": self.account}),
            )
            .await?;
        let rows: Vec<Vec<String>> = p["positions"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| {
                        vec![
                            s(p, "symbol"),
                            s(p, "qty"),
                            s(p, "avg_price"),
                            s(p, "last_price"),
                            s(p, "realized_pnl"),
                        ]
                    })
                    .collect()
            })
            .unwrap_or_default();
        if rows.is_empty() {
            return Ok(format!("No open positions in {}.", escape(self.account)));
        }
        Ok(table(&["symbol", "qty", "avg", "last", "realized"], &rows))
    }

    async fn orders(&self) -> Result<String, String> {
        let o = self
            .ask(
                subjects::execution::LIST,
                json!({"account": self.account, "open": true}),
            )
            .await?;
        let rows: Vec<Vec<String>> = o["orders"]
            .as_array()
            .map(|os| {
                os.iter()
                    .map(|o| {
                        vec![
                            s(o, "client_order_id"),
                            s(o, "symbol"),
                            s(o, "side"),
                            s(o, "qty"),
                            s(o, "type"),
                            s(o, "limit_price"),
                            s(o, "status"),
                        ]
                    })
                    .collect()
            })
            .unwrap_or_default();
        if rows.is_empty() {
            return Ok(format!("No working orders in {}.", escape(self.account)));
        }
        Ok(table(
            &["order", "symbol", "side", "qty", "type", "limit", "status"],
            &rows,
        ))
    }

    async fn profit(&self) -> Result<String, String> {
        let sm = self.summary().await?;
        Ok(pairs(&[
            ("realized", s(&sm, "realized_pnl")),
            ("unrealized", s(&sm, "unrealized_pnl")),
            ("commissions", s(&sm, "commissions")),
            ("fills", s(&sm, "fills")),
        ]))
    }

    async fn balance(&self) -> Result<String, String> {
        let sm = self.summary().await?;
        Ok(pairs(&[
            ("deposits", s(&sm, "deposits")),
            ("cash", s(&sm, "cash")),
            ("market value", s(&sm, "market_value")),
            ("equity", s(&sm, "equity")),
            ("exposure", s(&sm, "gross_exposure")),
        ]))
    }

    async fn daily(&self) -> Result<String, String> {
        let sm = self.summary().await?;
        Ok(pairs(&[
            ("daily P&L", s(&sm, "daily_pnl")),
            ("equity", s(&sm, "equity")),
        ]))
    }

    async fn strategies(&self) -> Result<String, String> {
        let l = self.ask(subjects::strategy::LIST, json!({})).await?;
        let rows: Vec<Vec<String>> = l["strategies"]
            .as_array()
            .map(|ss| {
                ss.iter()
                    .map(|st| {
                        let r = &st["record"];
                        let symbols = r["symbols"]
                            .as_array()
                            .map(|a| {
                                a.iter()
                                    .filter_map(Value::as_str)
                                    .collect::<Vec<_>>()
                                    .join(",")
                            })
                            .unwrap_or_default();
                        vec![
                            s(r, "id"),
                            s(r, "kind"),
                            s(r, "state"),
                            s(r, "mode"),
                            symbols,
                            s(st, "signals"),
                        ]
                    })
                    .collect()
            })
            .unwrap_or_default();
        if rows.is_empty() {
            return Ok("No strategies.".to_string());
        }
        Ok(table(
            &["id", "kind", "state", "mode", "symbols", "signals"],
            &rows,
        ))
    }

    /// Starts a known strategy again with its stored definition.
    async fn start(&self, id: &str) -> Result<String, String> {
        let id = one_arg(id, "/start <strategy>")?;
        let status = self
            .ask(subjects::strategy::STATUS, json!({"id": id}))
            .await?;
        let r = &status["record"];
        let mut start = json!({
            "id": r["id"], "kind": r["kind"], "params": r["params"],
            "symbols": r["symbols"], "timeframe": r["timeframe"], "mode": r["mode"],
        });
        if let Some(paper) = r.get("paper").filter(|p| !p.is_null()) {
            start["account"] = paper["account"].clone();
            start["sizing"] = paper["sizing"].clone();
        }
        let record = self.ask(subjects::strategy::START, start).await?;
        Ok(pre(&format!(
            "strategy {} is {}",
            s(&record, "id"),
            s(&record, "state")
        )))
    }

    async fn stop(&self, id: &str) -> Result<String, String> {
        let id = one_arg(id, "/stop <strategy>")?;
        let record = self
            .ask(subjects::strategy::STOP, json!({"id": id}))
            .await?;
        Ok(pre(&format!(
            "strategy {} is {}",
            s(&record, "id"),
            s(&record, "state")
        )))
    }

    async fn cancel(&self, order: &str) -> Result<String, String> {
        let order = one_arg(order, "/cancel <order>")?;
        let o = self
            .ask(
                subjects::execution::CANCEL,
                json!({"account": self.account, "client_order_id": order}),
            )
            .await?;
        Ok(pre(&format!(
            "order {} is {}",
            s(&o, "client_order_id"),
            s(&o, "status")
        )))
    }

    async fn halt(&self, reason: &str) -> Result<String, String> {
        let reason = if reason.is_empty() {
            "halted from Telegram".to_string()
        } else {
            reason.to_string()
        };
        let st = self
            .ask(
                subjects::risk::HALT,
                json!({"account": self.account, "reason": reason}),
            )
            .await?;
        Ok(pre(&format!(
            "account {} is {}: {}",
            s(&st, "account"),
            s(&st, "state"),
            s(&st, "reason")
        )))
    }

    async fn resume(&self) -> Result<String, String> {
        let st = self
            .ask(subjects::risk::RESUME, json!({"account": self.account}))
            .await?;
        Ok(pre(&format!(
            "account {} is {}",
            s(&st, "account"),
            s(&st, "state")
        )))
    }
}

fn one_arg<'a>(arg: &'a str, usage: &str) -> Result<&'a str, String> {
    let arg = arg.trim();
    if arg.is_empty() || arg.contains(' ') {
        Err(format!("usage: {usage}"))
    } else {
        Ok(arg)
    }
}
