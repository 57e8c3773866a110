//! SMTP email through lettre. The Message-ID is derived from the delivery's
//! idempotency key, so a mail sent twice carries the same Message-ID (what
//! mail clients thread and de-duplicate by).

use bus::api::notify::{Channel, SmtpTls};
use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Delivery, SendError};
use crate::store::hex;
use crate::{Ctx, SecretRef};

pub async fn send(
    ctx: &Ctx,
    channel: &Channel,
    secret: &SecretRef,
    delivery: &Delivery,
) -> Result<(), SendError> {
    let smtp = channel
        .smtp
        .as_ref()
        .ok_or_else(|| SendError::permanent("an email channel needs smtp"))?;
    let mailbox = |a: &str| {
        a.parse::<Mailbox>()
            .map_err(|e| SendError::permanent(format!("address {a:?}: {e}")))
    };
    let digest = ring::digest::digest(&ring::digest::SHA256, delivery.key.as_bytes());
    let mut builder = Message::builder()
        .from(mailbox(&smtp.from)?)
        .subject(delivery.title())
        .message_id(Some(format!(
            "<{}@trader-notify>",
            hex(&digest.as_ref()[..16])
        )));
    for to in &smtp.to {
        builder = builder.to(mailbox(to)?);
    }
    let message = builder
        .header(ContentType::TEXT_PLAIN)
        .body(delivery.text(100_000))
        .map_err(|e| SendError::permanent(format!("cannot build the mail: {e}")))?;
    let mut transport = match smtp.tls {
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
            .port(smtp.port.unwrap_or(25)),
        SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
            .map_err(|e| SendError::permanent(format!("smtp: {e}")))?
            .port(smtp.port.unwrap_or(587)),
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
            .map_err(|e| SendError::permanent(format!("smtp: {e}")))?
            .port(smtp.port.unwrap_or(465)),
    }
    .timeout(Some(ctx.config.delivery.timeout));
    if let Some(user) = &smtp.username {
        let password = secret.require("smtp login").map_err(SendError::permanent)?;
        transport = transport.credentials(Credentials::new(user.clone(), password));
    }
    let transport = transport.build();
    match transport.send(message).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_permanent() => Err(SendError::permanent(format!("smtp: {e}"))),
        Err(e) => Err(SendError::transient(format!("smtp: {e}"))),
    }
}
