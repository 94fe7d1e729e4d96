use crate::dto::Health;
use crate::reply::Reply;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

/// `GET /healthz`, served by every function and the local server. Stateless on purpose.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/healthz", get(health))
}

/// Liveness.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn health() -> Reply<Health> {
    Reply(
        StatusCode::OK,
        Health {
            status: "ok".into(),
        },
    )
}
