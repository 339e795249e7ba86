//! The chat's WebSocket side: `$connect` (a session in the `Authorization` header, or `?session=` for clients that
//! cannot set headers) records the connection under the customer the login is and the staff member whose account it
//! is; `$disconnect` forgets it; a committed message is pushed to the receiver's open connections, and a connection
//! API Gateway reports gone is forgotten. Polling works the same with or without a connection.
use serde::Serialize;

use crate::clock::now_secs;
use crate::deps::Deps;
use crate::domain::chat::Side;
use crate::lambda::SocketEvent;
use crate::services::chat::{MessageView, Party};
use crate::services::customers;
use crate::store::chat as store;

/// Pushes go to at most this many connections of one login (phones, tablets, a desktop).
const CONNECTIONS_PER_LOGIN: i32 = 10;

/// `$connect`: 200 accepts the connection, 401 refuses it.
pub async fn connect(deps: &Deps, event: SocketEvent) -> u16 {
    let token = event
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .or_else(|| event.query("session"));
    let Some(token) = token else { return 401 };
    let Ok(session) = customers::session(deps, token).await else {
        return 401;
    };
    let connection = &event.request_context.connection_id;
    if connection.is_empty() {
        return 400;
    }
    let pk = session.pk();
    let result = async {
        let staff = store::staff_of_account(&deps.table, &pk, &session.sub).await?;
        store::add_connection(
            &deps.table,
            &pk,
            connection,
            &session.sub,
            staff.as_deref(),
            now_secs(),
        )
        .await
    }
    .await;
    match result {
        Ok(()) => 200,
        Err(e) => {
            tracing::error!(error = %crate::error::chain(&e), "socket connect not recorded");
            500
        }
    }
}

/// `$disconnect`.
pub async fn disconnect(deps: &Deps, event: SocketEvent) -> u16 {
    match store::remove_connection(&deps.table, &event.request_context.connection_id).await {
        Ok(()) => 200,
        Err(e) => {
            tracing::error!(error = %crate::error::chain(&e), "socket disconnect not recorded");
            500
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Push<'a> {
    r#type: &'static str,
    staff_id: &'a str,
    customer_id: &'a str,
    message: &'a MessageView,
}

/// Delivers a committed message to the receiver's open connections. Best effort: the message is stored already
/// and polling finds it, so a failed push is logged, never an error of the send.
pub async fn push(deps: &Deps, party: &Party, message: &MessageView) {
    let Some(sockets) = &deps.sockets else { return };
    let receiver = match message.from {
        Side::Customer => (Side::Staff, &party.staff_id),
        Side::Staff => (Side::Customer, &party.customer_id),
    };
    let connections = match store::connections(
        &deps.table,
        &party.pk,
        receiver.0,
        receiver.1,
        now_secs(),
        CONNECTIONS_PER_LOGIN,
    )
    .await
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %crate::error::chain(&e), "socket connections not read");
            return;
        }
    };
    let data = serde_json::to_vec(&Push {
        r#type: "chat.message",
        staff_id: &party.staff_id,
        customer_id: &party.customer_id,
        message,
    })
    .expect("a push serialises");
    let sends = connections.iter().map(|c| {
        let data = data.clone();
        async move { (c, sockets.post(c, data).await) }
    });
    let mut delivered = 0;
    let outcomes = futures::future::join_all(sends).await;
    for (connection, outcome) in &outcomes {
        match outcome {
            Ok(true) => delivered += 1,
            Ok(false) => {
                if let Err(e) = store::remove_connection(&deps.table, connection).await {
                    tracing::warn!(error = %crate::error::chain(&e), "gone socket not forgotten");
                }
            }
            Err(e) => tracing::warn!(error = %crate::error::chain(e), "socket push failed"),
        }
    }
    tracing::info!(
        connections = outcomes.len(),
        delivered,
        "chat message pushed"
    );
}
