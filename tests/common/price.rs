//! The price scenarios, run on the memory store (`tests/defence.rs`) and
//! on Redis (`tests/redis_store.rs`): two nodes sharing one store see the
//! same level, which rises with a business's volume and with one client
//! network's tickets, and falls once they stop.

use std::sync::Arc;

use qcaptcha::api::CaptchaQuery;
use qcaptcha::pow::{self, PowLevel, PowPolicy, Puzzle};
use qcaptcha::testing::ManualClock;
use qcaptcha::{CaptchaService, Clock, Limits};

use super::{form, json, minute_start, CLIENT, QUERY};

/// The default policy's thresholds with levels a debug build solves at
/// once (the ladder's shape, not its cost, is under test).
pub fn cheap_policy() -> PowPolicy {
    PowPolicy::default().levels(vec![
        PowLevel::NONE,
        PowLevel::new(1, 2),
        PowLevel::new(2, 2),
        PowLevel::new(3, 2),
    ])
}

/// Two services ("nodes") sharing one store, the given clock, the
/// [`cheap_policy`] and no rate limits.
pub type MakePair<'a> = &'a dyn Fn(&Arc<ManualClock>, Limits) -> (CaptchaService, CaptchaService);

/// The level index of `puzzle` in [`cheap_policy`].
pub fn level_of(puzzle: &Puzzle) -> usize {
    cheap_policy()
        .levels
        .iter()
        .position(|l| *l == puzzle.level())
        .expect("a level of the policy")
}

/// A new session of `business` for `user_ip` on `node`: its puzzle and
/// challenge.
pub fn session_of(node: &CaptchaService, user_ip: &str, business: u64) -> (String, Puzzle) {
    let q = QUERY
        .replace("121.14.96.121", user_ip)
        .replace("businessId=1", &format!("businessId={business}"));
    let w = node
        .widget(&CaptchaQuery::from_query_string(&q).unwrap())
        .expect("CaptchaQuery");
    (w.challenge, w.puzzle)
}

/// Answers `challenge` right with its proof on `node`; whether a ticket
/// came back.
pub fn answer_right(node: &CaptchaService, challenge: &str, puzzle: &Puzzle) -> bool {
    let answer = node.answer_for_challenge(challenge).unwrap();
    let counter = pow::solve(challenge, puzzle).unwrap();
    let f = format!("{}&pow={counter}", form(challenge, answer.as_str()));
    json(&node.handle_verify(&f, CLIENT))
        .get("ticket")
        .is_some()
}

/// A business's volume raises the level of its new sessions on both
/// nodes, whichever node took the traffic; another business stays calm;
/// the level falls once the surge is over.
pub fn scenario_surge(make: MakePair<'_>) {
    let clock = Arc::new(ManualClock::new(minute_start()));
    let (a, b) = make(&clock, Limits::unlimited());
    assert_eq!(level_of(&session_of(&b, "10.200.0.1", 1).1), 0);
    // 60 sessions on node A within a few seconds, each from its own
    // network (no client is busy; the business is).
    let mut seen = Vec::new();
    for i in 0..60 {
        let (_, p) = session_of(&a, &format!("10.{i}.0.1"), 1);
        seen.push(level_of(&p));
        if i % 12 == 11 {
            clock.advance(1);
        }
    }
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert_eq!(seen[0], 0, "{seen:?}");
    assert_eq!(*seen.last().unwrap(), 3, "{seen:?}");
    // Node B, which served none of them, prices a newcomer alike.
    assert_eq!(level_of(&session_of(&b, "10.201.0.1", 1).1), 3);
    // Another business is calm.
    assert_eq!(level_of(&session_of(&b, "10.202.0.1", 2).1), 0);
    // The surge over: within ten minutes the level is back to 0.
    clock.advance(10 * 60);
    assert_eq!(level_of(&session_of(&b, "10.203.0.1", 1).1), 0);
    assert_eq!(level_of(&session_of(&a, "10.204.0.1", 1).1), 0);
}

/// `count` new sessions of `business`, one every `every` seconds,
/// alternating between the nodes, each from a network of its own (so
/// only the business is busy, no client): their level indexes.
fn steady(
    nodes: [&CaptchaService; 2],
    clock: &ManualClock,
    business: u64,
    every: u64,
    count: u64,
) -> Vec<usize> {
    (0..count)
        .map(|i| {
            clock.advance(every);
            let n = clock.now(); // a new network for every session
            let ip = format!("10.{}.{}.1", n / 256 % 256, n % 256);
            level_of(&session_of(nodes[(i % 2) as usize], &ip, business).1)
        })
        .collect()
}

/// The top level, once reached, holds on both nodes while the volume
/// stays over the hold ratio (1.5 times the normal), even where it alone
/// would ask for level 2; volume at that level that never reached the
/// top stays at 2; the hold lapses once the volume is under the ratio.
pub fn scenario_surge_hold(make: MakePair<'_>) {
    let clock = Arc::new(ManualClock::new(minute_start()));
    let (a, b) = make(&clock, Limits::unlimited());
    // A burst takes business 1 to the top.
    let burst = steady([&a, &b], &clock, 1, 1, 60);
    assert_eq!(*burst.last().unwrap(), 3, "{burst:?}");
    // Then 15 a minute (2.5 times the floor's 6: level 2 by volume
    // alone) for five minutes: held at the top, on both nodes.
    let held = steady([&a, &b], &clock, 1, 4, 75);
    assert!(held.iter().all(|l| *l == 3), "{held:?}");
    // Business 2 at the same 15 a minute from calm: level 2, never 3.
    let climb = steady([&a, &b], &clock, 2, 4, 75);
    assert_eq!(*climb.iter().max().unwrap(), 2, "{climb:?}");
    // Business 1 at 5 a minute (under the hold ratio): after three
    // minutes, calm again.
    let calm = steady([&a, &b], &clock, 1, 12, 15);
    assert_eq!(*calm.last().unwrap(), 0, "{calm:?}");
    // The hold has lapsed: 15 a minute again is level 2, not 3.
    let again = steady([&a, &b], &clock, 1, 4, 75);
    assert_eq!(*again.iter().max().unwrap(), 2, "{again:?}");
}

/// An accurate client that fails nothing still pays more as its network's
/// tickets a minute rise (seen by the other node too); another network
/// stays calm; its price falls when it stops.
pub fn scenario_ticket_rate(make: MakePair<'_>) {
    let clock = Arc::new(ManualClock::new(minute_start()));
    let (a, b) = make(&clock, Limits::unlimited());
    let mut seen = Vec::new();
    // One ticket every 5 s from hosts of one /24, each session in its own
    // business (so no business surges): only the network is busy.
    for i in 0..30u64 {
        let ip = format!("172.16.5.{}", i % 200 + 1);
        let (c, p) = session_of(&a, &ip, 100 + i);
        seen.push(level_of(&p));
        assert!(answer_right(&a, &c, &p), "ticket {i}");
        clock.advance(5);
    }
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert_eq!(seen[0], 0, "{seen:?}");
    assert!(*seen.last().unwrap() >= 2, "{seen:?}");
    // The other node prices that network alike, and another network not.
    assert_eq!(
        level_of(&session_of(&b, "172.16.5.250", 999).1),
        *seen.last().unwrap()
    );
    assert_eq!(level_of(&session_of(&b, "172.16.6.1", 998).1), 0);
    // Half an hour without tickets and it is calm again.
    clock.advance(30 * 60);
    assert_eq!(level_of(&session_of(&b, "172.16.5.251", 997).1), 0);
}
