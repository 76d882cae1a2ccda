//! The [`ReplayStore`] contract as scenarios any backend can run
//! (`qcaptcha::testing::store_scenarios`, feature `test-util`): the memory
//! store's tests and the Redis tests run these same ones.

use std::sync::{Arc, Barrier};

use crate::service::store::{RateCount, RecordKind, ReplayStore, StoreError, MAX_ID_LEN};

/// A Unix time for the scenarios, at the start of a minute.
const NOW: u64 = 1_700_000_040;

/// Runs every scenario of the [`ReplayStore`] contract, each on a fresh
/// store from `make` (fresh and empty each call); panics, naming the scenario's rule, at the first
/// store answer that breaks it. The racing scenarios use 16 threads.
///
/// ```
/// use std::sync::Arc;
/// use qcaptcha::MemoryStore;
///
/// qcaptcha::testing::store_scenarios(&|| Arc::new(MemoryStore::new(64)));
/// ```
pub fn store_scenarios(make: &dyn Fn() -> Arc<dyn ReplayStore>) {
    uses_are_counted_per_kind_and_id(make());
    the_later_expiry_is_kept(make());
    bad_ids_are_refused(make());
    racing_uses_are_counted_once_each(make());
    advance_moves_only_from_the_expected_value(make());
    hits_are_counted_per_window_and_race_cleanly(make());
    a_heavy_holder_pays_with_its_own_oldest_ids(make());
}

fn uses_are_counted_per_kind_and_id(s: Arc<dyn ReplayStore>) {
    use RecordKind::*;
    let exp = NOW + 100;
    let uses = |kind, id| {
        let r = s.record_use(kind, id, exp, 2, NOW).expect("record_use");
        (r.uses, r.allowed)
    };
    assert_eq!(uses(Ticket, "x"), (1, true), "first use");
    assert_eq!(uses(Ticket, "x"), (2, true), "second use, max_uses 2");
    assert_eq!(uses(Ticket, "x"), (3, false), "third use is over max_uses");
    for kind in [Session, Nonce] {
        assert_eq!(uses(kind, "x"), (1, true), "{kind}: kinds never meet");
    }
    assert_eq!(uses(Ticket, "y"), (1, true), "ids never meet");
}

fn the_later_expiry_is_kept(s: Arc<dyn ReplayStore>) {
    let t = RecordKind::Ticket;
    s.record_use(t, "a", NOW + 10, 1, NOW).expect("record_use");
    s.record_use(t, "a", NOW + 50, 1, NOW).expect("record_use");
    let r = s
        .record_use(t, "a", NOW + 10, 1, NOW + 20)
        .expect("record_use");
    assert_eq!(r.uses, 3, "an entry lives until its latest expiry");
}

fn bad_ids_are_refused(s: Arc<dyn ReplayStore>) {
    let t = RecordKind::Ticket;
    let long = "x".repeat(MAX_ID_LEN + 1);
    for id in ["", long.as_str()] {
        let invalid = StoreError::InvalidId { len: id.len() };
        let refused = |r: Result<_, StoreError>, call: &str| {
            assert_eq!(
                r.err(),
                Some(invalid.clone()),
                "{call} of a {}-byte id",
                id.len()
            );
        };
        refused(
            s.record_use(t, id, NOW + 10, 1, NOW).map(|_| ()),
            "record_use",
        );
        refused(s.advance(t, id, 0, NOW + 10, NOW).map(|_| ()), "advance");
        refused(s.count_hit(id, 60, NOW).map(|_| ()), "count_hit");
    }
    let longest = "x".repeat(MAX_ID_LEN);
    assert!(
        s.record_use(t, &longest, NOW + 10, 1, NOW).is_ok(),
        "a MAX_ID_LEN id"
    );
}

fn racing_uses_are_counted_once_each(s: Arc<dyn ReplayStore>) {
    let mut seen = race(&s, |s| {
        let r = s.record_use(RecordKind::Ticket, "t", NOW + 100, 1, NOW);
        r.expect("record_use").uses
    });
    seen.sort_unstable();
    let want: Vec<u64> = (1..=THREADS as u64).collect();
    assert_eq!(seen, want, "racing uses of one id each see their own count");
}

fn advance_moves_only_from_the_expected_value(s: Arc<dyn ReplayStore>) {
    let session = RecordKind::Session;
    let advance = |id, from| {
        s.advance(session, id, from, NOW + 60, NOW)
            .expect("advance")
    };
    assert!(advance("s1", 0), "an unknown counter is at 0");
    assert!(!advance("s1", 0), "a replayed move changes nothing");
    assert!(!advance("s1", 2), "a move from ahead changes nothing");
    assert!(advance("s1", 1), "the next move works");
    let moved = race(&s, |s| {
        s.advance(RecordKind::Session, "r", 0, NOW + 60, NOW)
            .expect("advance")
    });
    let winners = moved.into_iter().filter(|m| *m).count();
    assert_eq!(
        winners, 1,
        "of racing moves from one value, exactly one moves it"
    );
}

fn hits_are_counted_per_window_and_race_cleanly(s: Arc<dyn ReplayStore>) {
    let mut seen = race(&s, |s| {
        s.count_hit("ip", 60, NOW).expect("count_hit").current
    });
    seen.sort_unstable();
    let want: Vec<u64> = (1..=THREADS as u64).collect();
    assert_eq!(seen, want, "racing hits each see their own count");
    let n = THREADS as u64;
    let hit = |now| s.count_hit("ip", 60, now).expect("count_hit");
    assert_eq!(hit(NOW + 59), RateCount::new(n + 1, 0), "same window");
    assert_eq!(
        hit(NOW + 60),
        RateCount::new(1, n + 1),
        "the next window sees this one"
    );
    assert_eq!(
        hit(NOW + 120),
        RateCount::new(1, 1),
        "and the one after, its own before"
    );
    assert_eq!(
        hit(NOW + 240),
        RateCount::new(1, 0),
        "an older window is forgotten"
    );
}

/// Ids the flooding holder records in
/// [`a_heavy_holder_pays_with_its_own_oldest_ids`]: more than a bounded
/// store built for the scenarios holds (64 in this crate's tests).
const FLOOD_IDS: u64 = 300;

/// A holder that records far more ids than the store keeps never gets one
/// of them back as unused, never makes another holder's ids forgotten, and
/// its fresh ids stay usable: a bounded store takes room from the heavy
/// holder's oldest ids (an unbounded store passes trivially).
fn a_heavy_holder_pays_with_its_own_oldest_ids(s: Arc<dyn ReplayStore>) {
    use RecordKind::{Session, Ticket};
    let use_of = |holder: &str, id: &str, exp: u64| {
        let r = s.record_held_use(Ticket, holder, id, exp, 1, NOW);
        r.expect("record_held_use").uses
    };
    let advance = |holder: &str, id: &str, from: u64, exp: u64| {
        s.advance_held(Session, holder, id, from, exp, NOW)
            .expect("advance_held")
    };
    assert_eq!(
        use_of("person", "p1", NOW + 500),
        1,
        "the person's first use"
    );
    assert!(
        advance("person", "ps", 0, NOW + 500),
        "the person's session"
    );
    for i in 0..FLOOD_IDS {
        let exp = NOW + 100 + i;
        assert_eq!(
            use_of("flood", &format!("b{i}"), exp),
            1,
            "fresh flood id {i}"
        );
        assert!(
            advance("flood", &format!("s{i}"), 0, exp),
            "fresh flood session {i}"
        );
    }
    for i in 0..FLOOD_IDS {
        let exp = NOW + 100 + i;
        assert!(
            use_of("flood", &format!("b{i}"), exp) > 1,
            "flood id {i} used again"
        );
        assert!(
            !advance("flood", &format!("s{i}"), 0, exp),
            "flood session {i} replayed"
        );
    }
    assert_eq!(
        use_of("person", "p1", NOW + 500),
        2,
        "the person's id is kept exactly"
    );
    assert!(
        !advance("person", "ps", 0, NOW + 500),
        "the person's session replayed"
    );
    assert!(
        advance("person", "ps", 1, NOW + 500),
        "the person's session moves on"
    );
    assert_eq!(
        use_of("person", "p2", NOW + 500),
        1,
        "a new id of the person"
    );
    assert_eq!(
        use_of("flood", "fresh", NOW + 100 + FLOOD_IDS),
        1,
        "a fresh id of the flood, newer than all it lost"
    );
}

/// Threads in each racing scenario.
const THREADS: usize = 16;

/// Runs `attempt` on [`THREADS`] threads released together; the results.
fn race<T: Send + 'static>(
    store: &Arc<dyn ReplayStore>,
    attempt: fn(&dyn ReplayStore) -> T,
) -> Vec<T> {
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (store, barrier) = (store.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                attempt(store.as_ref())
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("a racing thread panicked"))
        .collect()
}
