//! `scripts/make-certs.sh` + `nats/tls.conf` on a real nats-server: a client
//! trusting the local CA and holding the client certificate gets in (and still
//! logs in with its password), through raw async-nats and through the services'
//! own `bus::connect`; without the client certificate, or without trusting the
//! CA, it does not.

mod auth_common;

use std::path::Path;
use std::time::Duration;

use auth_common::{options, server_with, Violations};
use testkit::paths::repo_root;

/// Runs the script exactly as the README shows it, into `<dir>/certs`.
fn make_certs(dir: &Path) {
    let status = std::process::Command::new(repo_root().join("scripts/make-certs.sh"))
        .arg(dir.join("certs"))
        .status()
        .expect("scripts/make-certs.sh runs (needs bash and openssl)");
    assert!(status.success(), "make-certs.sh failed: {status}");
}

#[tokio::test]
async fn clients_with_the_local_ca_and_a_client_certificate_connect_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path());
    // tls.conf names certs/… relative to where nats-server runs.
    let server = server_with("nats/tls.conf", Some(dir.path().to_path_buf())).await;
    let certs = dir.path().join("certs");

    let violations = Violations::default();
    let client = options("client", &violations)
        .require_tls(true)
        .add_root_certificates(certs.join("ca.pem"))
        .add_client_certificate(certs.join("client-cert.pem"), certs.join("client-key.pem"))
        .connect(server.url())
        .await
        .expect("TLS with the local CA and the client certificate");
    let account = async_nats::jetstream::new(client.clone())
        .query_account()
        .await
        .expect("a JetStream request over TLS");
    assert_eq!(account.streams, 0);
    // The user's permissions still apply over TLS.
    client.publish("evt.order.x.y", "{}".into()).await.unwrap();
    client.flush().await.unwrap();
    violations.wait_for("evt.order.x.y").await;

    // The services' own connect (what NATS_USER, NATS_PASSWORD, NATS_TLS_CA,
    // NATS_TLS_CERT and NATS_TLS_KEY configure) gets in the same way.
    let config = bus::connect::NatsConfig {
        auth: bus::connect::Auth::UserPassword {
            user: "risk".to_string(),
            password: auth_common::password("risk"),
        },
        tls: bus::connect::Tls {
            ca: Some(certs.join("ca.pem")),
            cert: Some(certs.join("client-cert.pem")),
            key: Some(certs.join("client-key.pem")),
        },
        ..bus::connect::NatsConfig::new(server.url()).unwrap()
    };
    let risk = bus::connect::connect_with(&config, "tls-test", Some(Duration::from_secs(5)))
        .await
        .expect("bus::connect over TLS");
    risk.flush().await.unwrap();

    // No client certificate: the server refuses the handshake (mutual TLS).
    let no_cert = options("client", &Violations::default())
        .require_tls(true)
        .add_root_certificates(certs.join("ca.pem"))
        .connection_timeout(Duration::from_secs(3))
        .connect(server.url())
        .await;
    assert!(no_cert.is_err(), "connected without a client certificate");

    // Not trusting the local CA: the client refuses the server.
    let untrusted = options("client", &Violations::default())
        .require_tls(true)
        .add_client_certificate(certs.join("client-cert.pem"), certs.join("client-key.pem"))
        .connection_timeout(Duration::from_secs(3))
        .connect(server.url())
        .await;
    assert!(
        untrusted.is_err(),
        "trusted a server certificate of an unknown CA"
    );
}
