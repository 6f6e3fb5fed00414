//! The listener: accepts TCP connections (optionally TLS) and serves the router with
//! hyper. While the simulated SDDC Manager is down every `/v1` request gets its connection
//! closed without an answer (new and kept-alive connections alike), so clients see
//! transport errors while the port stays bound and comes back by itself. The `/sim/`
//! control endpoints keep answering, so a test can end an `unreachable` fault.

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::routes::App;
use crate::state::ApiPhase;

/// Error returned to hyper to drop a connection without an answer.
#[derive(Debug)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("simulated SDDC Manager is down")
    }
}

impl std::error::Error for Refused {}

fn refusing(app: &App) -> bool {
    app.lock().api_phase() == ApiPhase::Refused
}

/// Accepts connections until `shutdown` fires.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    app: App,
    tls: Option<TlsAcceptor>,
    shutdown: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            a = listener.accept() => a,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                continue;
            }
        };
        let router = router.clone();
        let app = app.clone();
        let tls = tls.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            connection(stream, router, app, tls, shutdown).await;
        });
    }
}

async fn connection(
    stream: TcpStream,
    router: Router,
    app: App,
    tls: Option<TlsAcceptor>,
    shutdown: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let router = router.clone();
        let app = app.clone();
        async move {
            if !req.uri().path().starts_with("/sim/") && refusing(&app) {
                return Err(Refused);
            }
            let resp = router.oneshot(req.map(Body::new)).await;
            // The router's error type is Infallible.
            let resp: Result<_, Infallible> = resp;
            resp.map_err(|never| match never {})
        }
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    match tls {
        Some(acceptor) => {
            let Ok(stream) = acceptor.accept(stream).await else {
                return;
            };
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = shutdown.cancelled() => {}
            }
        }
        None => {
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = shutdown.cancelled() => {}
            }
        }
    }
}
