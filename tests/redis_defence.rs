//! No off-switch on Redis (issue 20), on every deployment (plain, TLS,
//! Cluster, TLS Cluster): a holder (business and client network) keeps at
//! most its fair share of live ids in Redis, and a flood that fills its
//! share pays with its own oldest ids, never a person's; wrong answers
//! that fill a share leave a person's right answer its ticket
//! (scenario 3); and every limit still holds once a flood has counted
//! thousands of userIps and filled its shares (scenario 4: Redis has no
//! rate table to fill, its counters simply expire).

#![cfg(feature = "redis")]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use qcaptcha::store::RecordKind;
use qcaptcha::testing::ManualClock;
use qcaptcha::{Limits, RedisStore, ReplayStore};

mod common;
#[path = "common/servers.rs"]
#[macro_use]
mod servers;
use common::price::session_of;
use common::{json, minute_start, CHECK_FIELDS, CLIENT};
use servers::{Kind, Redis};

on_every_deployment!(
    wrong_answers_filling_a_share_do_not_refuse_a_person,
    every_limit_holds_once_the_shares_are_full,
);

/// The fair share of the stores in these tests.
const SHARE: u64 = 64;

/// A store of `server` with its own prefix and the test's share.
fn store(server: &Redis, prefix: &str) -> RedisStore {
    server.store().with_prefix(prefix).with_holder_share(SHARE)
}

/// How many live ids the holder `holder` has of kind `tag` (`s`, `t`,
/// `n`), and whether it has a watermark (it lost ids).
fn share_of(server: &Redis, prefix: &str, tag: &str, holder: &str) -> (u64, bool) {
    let mut admin = server.admin();
    let live = format!("{prefix}{{h{tag}:{holder}}}");
    let count: u64 = redis::cmd("ZCARD").arg(&live).query(&mut *admin).unwrap();
    let mark: u64 = redis::cmd("EXISTS")
        .arg(format!("{live}:mark"))
        .query(&mut *admin)
        .unwrap();
    (count, mark == 1)
}

/// Scenario 3 of issue 20 on Redis: wrong answers from one network of one
/// business, and from 41 other businesses, ten times the share; the
/// flood's holder stays within its share and a person's session, opened
/// before the flood, still gets its ticket.
fn wrong_answers_filling_a_share_do_not_refuse_a_person(kind: Kind) {
    let server = Redis::start(kind);
    let clock = Arc::new(ManualClock::new(minute_start()));
    let s =
        common::service_without_pow(Arc::new(store(&server, "s3:")), &clock, Limits::unlimited());
    let (mine, _) = session_of(&s, "10.77.0.77", 1);
    let wrong = |ip: &str, business: u64| {
        let (c, _) = session_of(&s, ip, business);
        let body = json(&s.handle_verify(&common::form(&c, "XXXX"), CLIENT));
        assert_eq!(body["code"], 5100, "{body}");
    };
    for i in 0..10 * SHARE {
        wrong(&format!("10.9.0.{}", i % 250 + 1), 1);
    }
    for i in 0..200u64 {
        wrong(&format!("10.{}.{}.1", i % 41, i / 41), i % 41 + 2);
    }
    let (held, lost) = share_of(&server, "s3:", "s", "1/10.9.0.0/24");
    assert!(held <= SHARE && lost, "the flood holds {held} sessions");
    let ticket = common::solve(&s, &mine);
    // The person's network lost nothing; its session is its one record.
    assert_eq!(share_of(&server, "s3:", "s", "1/10.77.0.0/24"), (1, false));
    let fields = CHECK_FIELDS.replace("121.14.96.121", "10.77.0.77");
    assert_eq!(json(&common::check(&s, &ticket, &fields))["code"], 0);
}

/// Scenario 4 and "after any table fills, every limit still holds", on
/// Redis: every limit scenario against a store where a flood has already
/// counted 1,000 userIps and clients and filled a network's shares of
/// sessions, tickets and Nonces four times over.
fn every_limit_holds_once_the_shares_are_full(kind: Kind) {
    let server = Redis::start(kind);
    let n = AtomicU32::new(0);
    let make = |clock: &Arc<ManualClock>, limits: Limits| {
        let prefix = format!("full-{}:", n.fetch_add(1, Ordering::SeqCst));
        let store = store(&server, &prefix);
        let now = qcaptcha::Clock::now(clock.as_ref());
        for i in 0..1_000u32 {
            let ip = std::net::Ipv4Addr::from(0xac10_0000 + i); // 172.16/12
            store.count_hit(&format!("q:u:{ip}"), 60, now).unwrap();
            store.count_hit(&format!("w:a:{ip}"), 60, now).unwrap();
        }
        let flood = "1/172.16.0.0/24";
        for kind in RecordKind::ALL {
            for i in 0..4 * SHARE {
                let id = format!("flood-{i}");
                let r = store.record_held_use(kind, flood, &id, now + 600 + i, 1, now);
                assert_eq!(r.unwrap().uses, 1, "{kind} {id}");
            }
        }
        for tag in ["s", "t", "n"] {
            assert_eq!(share_of(&server, &prefix, tag, flood), (SHARE, true));
        }
        common::service_without_pow(Arc::new(store), clock, limits)
    };
    common::scenario_every_limit(&make, 3);
}

/// Redis's own memory for one holder's full share: what bounds Redis is
/// `share` × live holders × kinds × this. Ids like the service's (22
/// base64 characters, a ticket's or session's); measured with
/// `INFO memory` (`used_memory`) around 10,000 uses.
#[test]
fn a_share_costs_redis_under_300_bytes_an_id() {
    let server = Redis::start(Kind::Plain);
    let store = server.store().with_holder_share(10_000);
    let used = || -> u64 {
        let info: String = redis::cmd("INFO")
            .arg("memory")
            .query(&mut *server.admin())
            .unwrap();
        let line = info.lines().find(|l| l.starts_with("used_memory:"));
        line.and_then(|l| l[12..].trim().parse().ok()).unwrap()
    };
    let now = minute_start();
    let before = used();
    for i in 0..10_000u64 {
        let id = format!("{i:0>22}");
        let r = store.record_held_use(RecordKind::Ticket, "1/10.9.0.0/24", &id, now + 300, 1, now);
        assert_eq!(r.unwrap().uses, 1);
    }
    let per_id = (used() - before) / 10_000;
    println!("Redis memory per held id: {per_id} bytes");
    assert!((20..300).contains(&per_id), "{per_id} bytes an id");
}
