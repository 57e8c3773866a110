//! The gateway's own NATS endpoints, one file each; admin over NATS (whoever
//! may request them is an administrator: NATS permissions decide), and the
//! REST routes `/api/v1/keys` and `/api/v1/users` reach them too.

mod info;
mod keys_create;
mod keys_list;
mod keys_revoke;
mod users_create;
mod users_delete;
mod users_list;

use std::sync::Arc;

use bus::{runner::Endpoints, subjects::gateway as s};

use crate::Ctx;

pub(crate) fn endpoints(ctx: Arc<Ctx>) -> Endpoints {
    let c = ctx.clone();
    let e = Endpoints::new().json(
        s::INFO,
        "This instance's HTTP address and version",
        move |rc, req| info::handle(c.clone(), rc, req),
    );
    let c = ctx.clone();
    let e = e.json(
        s::KEYS_CREATE,
        "Create an API key (role, accounts); the key is shown once",
        move |rc, req| keys_create::handle(c.clone(), rc, req),
    );
    let c = ctx.clone();
    let e = e.json(
        s::KEYS_LIST,
        "API keys (ids, roles, accounts; no secrets)",
        move |rc, req| keys_list::handle(c.clone(), rc, req),
    );
    let c = ctx.clone();
    let e = e.json(s::KEYS_REVOKE, "Revoke an API key by id", move |rc, req| {
        keys_revoke::handle(c.clone(), rc, req)
    });
    let c = ctx.clone();
    let e = e.json(
        s::USERS_CREATE,
        "Create a user who logs in with a password",
        move |rc, req| users_create::handle(c.clone(), rc, req),
    );
    let c = ctx.clone();
    let e = e.json(
        s::USERS_LIST,
        "Users (no password hashes)",
        move |rc, req| users_list::handle(c.clone(), rc, req),
    );
    let c = ctx;
    e.json(s::USERS_DELETE, "Delete a user", move |rc, req| {
        users_delete::handle(c.clone(), rc, req)
    })
}
