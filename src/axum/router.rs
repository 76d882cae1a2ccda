//! [`router`]: the framework-neutral routes on an axum [`Router`].

use std::net::SocketAddr;
use std::sync::Arc;

use ::axum::body::Body;
use ::axum::extract::connect_info::MockConnectInfo;
use ::axum::extract::{ConnectInfo, Request};
use ::axum::Router;
use tower::ServiceExt;

use crate::service::captcha_service::CaptchaService;
use crate::tower::{PeerAddr, RouterConfig, Routes};

/// The API and the widget's routes for `service`, configured by `config`.
///
/// The widget's routes are mounted under the path of the service's base
/// URL (`/captcha` for `https://example.com/captcha`). The router needs
/// the peer address: serve it with [`crate::axum::serve`], or with
/// `axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())`.
/// Merge it into your own router, or nest your routes in it, as usual.
pub fn router(service: Arc<CaptchaService>, config: RouterConfig) -> Router {
    let paths = Routes::new(service.clone(), config.clone()).paths();
    // axum records the peer as `ConnectInfo` (or, in tests,
    // `MockConnectInfo`); the routes read `PeerAddr`.
    let routes = crate::tower::service::<Body>(service, config).map_request(|mut req: Request| {
        if let Some(peer) = peer_of(&req) {
            req.extensions_mut().insert(PeerAddr(peer));
        }
        req
    });
    let routes = routes.map_response(|resp| resp.map(Body::new));
    paths
        .iter()
        .fold(Router::new(), |router, path| {
            router.route_service(path, routes.clone())
        })
        .fallback_service(routes)
}

/// The peer axum's connection info gives, as its `ConnectInfo` extractor
/// reads it.
fn peer_of(req: &Request) -> Option<SocketAddr> {
    let ext = req.extensions();
    match ext.get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(peer)) => Some(*peer),
        None => ext.get::<MockConnectInfo<SocketAddr>>().map(|m| m.0),
    }
}
