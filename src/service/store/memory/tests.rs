//! The memory store's own tests: what is specific to it (fair-share
//! room, the monotonic clock, memory per entry); the ReplayStore contract
//! is in `store/scenarios.rs`.
use super::*;
use std::time::Duration;
use RecordKind::{Nonce, Session, Ticket};

#[test]
#[cfg(feature = "test-util")]
fn keeps_the_replay_store_contract() {
    crate::service::store::scenarios::store_scenarios(&|| Arc::new(MemoryStore::new(64)));
}

#[test]
#[cfg(feature = "test-util")]
fn a_manual_clock_lets_records_expire_in_simulated_time() {
    use crate::service::clock::{Clock, ManualClock};
    let clock = Arc::new(ManualClock::new(1_000));
    let s = MemoryStore::with_manual_clock(10, clock.clone());
    s.record_use(Ticket, "a", 1_010, 1, clock.now()).unwrap();
    clock.advance(5);
    s.record_use(Ticket, "b", 1_100, 1, clock.now()).unwrap();
    assert_eq!(s.len_of(Ticket), 2);
    clock.advance(6);
    // "a" expired by both clocks: dropped when the table is next used.
    s.record_use(Ticket, "c", 1_100, 1, clock.now()).unwrap();
    assert_eq!(s.len_of(Ticket), 2);
    assert!(
        !s.record_use(Ticket, "b", 1_100, 1, clock.now())
            .unwrap()
            .allowed
    );
    // With the OS's monotonic clock the same hour of simulated time
    // expires nothing.
    let os = MemoryStore::new(10);
    os.record_use(Ticket, "a", 1_010, 1, 1_000).unwrap();
    os.record_use(Ticket, "c", 1_100, 1, 1_011).unwrap();
    assert_eq!(os.len_of(Ticket), 2);
}

#[test]
fn keeps_one_entry_per_kind_and_id() {
    let s = MemoryStore::new(10);
    for now in [10, 20, 99] {
        s.record_use(Ticket, "x", 100, 2, now).unwrap();
    }
    assert_eq!(s.len(), 1);
    s.record_use(Session, "x", 100, 2, 20).unwrap();
    assert_eq!(s.len_of(Ticket), 1);
    assert_eq!(s.len_of(Session), 1);
}

#[test]
fn expired_entries_go_once_both_clocks_say_so() {
    let s = MemoryStore::new(10);
    // Lifetime 0 on the monotonic clock (expires_at == now + 0 is
    // already expired and not kept), so try a 1-second entry written
    // "late": expires_at 101 at now 100 has 1 s left on both clocks.
    s.record_use(Ticket, "a", 101, 1, 100).unwrap();
    // The wall clock jumps far ahead: the monotonic deadline has not
    // passed, so the entry stays and the id stays used.
    assert!(
        !s.record_use(Ticket, "a", 101, 1, 100 + 3600)
            .unwrap()
            .allowed
    );
    std::thread::sleep(Duration::from_millis(1100));
    // Both passed now: purged on the next use of the table.
    s.record_use(Ticket, "other", 10_000, 1, 200).unwrap();
    assert_eq!(s.len_of(Ticket), 1);
    assert!(s.record_use(Ticket, "a", 101, 1, 200).unwrap().allowed);
}

#[test]
fn wall_clock_back_keeps_entries_until_the_wall_catches_up() {
    let s = MemoryStore::new(10);
    s.record_use(Ticket, "a", 101, 1, 100).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    // Monotonic deadline passed, but the wall clock went back: still
    // live by the token's own expiry, so still remembered.
    s.record_use(Ticket, "b", 10_000, 1, 50).unwrap();
    s.record_use(Ticket, "c", 10_000, 1, 60).unwrap();
    assert_eq!(s.len_of(Ticket), 3);
    // Once the wall clock passes 101 it goes.
    s.record_use(Ticket, "d", 10_000, 1, 101).unwrap();
    assert_eq!(s.len_of(Ticket), 3); // b, c and d
                                     // A use while waiting for the wall clock is refused (and keeps it).
    let s = MemoryStore::new(10);
    s.record_use(Ticket, "a", 101, 1, 100).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    s.record_use(Ticket, "b", 10_000, 1, 50).unwrap();
    assert!(!s.record_use(Ticket, "a", 101, 1, 60).unwrap().allowed);
}

#[test]
fn a_full_table_takes_room_from_its_heaviest_holder_and_forgets_nothing() {
    let s = MemoryStore::new(4);
    for (i, id) in ["a", "b", "c"].iter().enumerate() {
        let r = s.record_held_use(Session, "flood", id, 100 + i as u64, 1, 0);
        assert!(r.unwrap().allowed);
    }
    assert!(
        s.record_held_use(Session, "person", "p", 500, 1, 0)
            .unwrap()
            .allowed
    );
    // Full. A newcomer gets in; the flood loses "a" (its first to expire) ...
    assert!(
        s.record_held_use(Session, "other", "o", 500, 1, 0)
            .unwrap()
            .allowed
    );
    assert_eq!(s.len_of(Session), 4);
    // ... and "a" stays used, while what the others hold is exact.
    assert!(
        !s.record_held_use(Session, "flood", "a", 100, 1, 1)
            .unwrap()
            .allowed
    );
    assert!(
        !s.record_held_use(Session, "person", "p", 500, 1, 1)
            .unwrap()
            .allowed
    );
    // A new id of the flood that expires later than what it lost is new.
    assert!(
        s.record_held_use(Session, "flood", "d", 200, 1, 1)
            .unwrap()
            .allowed
    );
    // Advance too: an unknown session the flood may have lost is used.
    assert!(!s.advance_held(Session, "flood", "a", 0, 100, 1).unwrap());
    assert!(s.advance_held(Session, "person", "q", 0, 500, 1).unwrap());
    // Tickets and Nonces have their own room.
    for id in ["a", "b", "c"] {
        assert!(s.record_use(Ticket, id, 1000, 1, 0).unwrap().allowed);
        assert!(s.record_use(Nonce, id, 1000, 1, 0).unwrap().allowed);
    }
}

#[test]
fn a_flood_never_pushes_out_a_person() {
    let s = MemoryStore::new(100);
    assert!(
        s.record_held_use(Nonce, "person", "mine", 7_200, 1, 0)
            .unwrap()
            .allowed
    );
    for i in 0..10_000u64 {
        let id = format!("n{i}");
        let r = s
            .record_held_use(Nonce, "flood", &id, 1_000 + i, 1, 0)
            .unwrap();
        assert!(r.allowed);
        assert!(s.len_of(Nonce) <= 100);
    }
    assert!(
        !s.record_held_use(Nonce, "person", "mine", 7_200, 1, 0)
            .unwrap()
            .allowed
    );
    // Every id of the flood stays used: kept, or older than its mark.
    for i in (0..10_000u64).step_by(97) {
        let id = format!("n{i}");
        assert!(
            !s.record_held_use(Nonce, "flood", &id, 1_000 + i, 1, 0)
                .unwrap()
                .allowed
        );
    }
}

#[test]
fn advance_shares_the_use_counter_and_the_table() {
    let s = MemoryStore::new(2);
    assert!(s.advance(Session, "s1", 0, 100, 0).unwrap());
    assert!(s.advance(Session, "s1", 1, 100, 0).unwrap());
    assert_eq!(s.record_use(Session, "s1", 100, 9, 0).unwrap().uses, 3);
    // Expired and unknown: moves, nothing kept.
    assert!(s.advance(Session, "old", 0, 10, 10).unwrap());
    assert_eq!(s.len_of(Session), 1);
    // A full table makes room for a new session; the one it dropped
    // (the first to expire) counts as used up from then on.
    s.advance(Session, "s2", 0, 50, 0).unwrap();
    assert!(s.advance(Session, "s3", 0, 100, 0).unwrap());
    assert!(!s.advance(Session, "s2", 1, 50, 0).unwrap());
    assert!(!s.advance(Session, "s2", 0, 50, 0).unwrap());
}

#[test]
fn a_full_rate_table_still_counts_every_new_id() {
    let s = MemoryStore::new(4);
    assert_eq!(s.count_hit("ip", 60, 300).unwrap(), RateCount::new(1, 0));
    // The calmest counter makes room (ties: the oldest), and a busy
    // one stays.
    for _ in 0..5 {
        s.count_hit("busy", 60, 300).unwrap();
    }
    for id in ["b", "c"] {
        assert_eq!(s.count_hit(id, 60, 300).unwrap().current, 1);
    }
    for i in 0..100 {
        assert_eq!(s.count_hit(&format!("e{i}"), 60, 300).unwrap().current, 1);
        assert_eq!(s.count_hit(&format!("e{i}"), 60, 300).unwrap().current, 2);
        assert!(s.rate_counters() <= 4);
    }
    assert_eq!(s.count_hit("busy", 60, 300).unwrap().current, 6);
}

#[test]
fn stale_rate_counters_go_within_a_minute_though_the_table_has_room() {
    let s = MemoryStore::new(1_000);
    for i in 0..50 {
        s.count_hit(&format!("old{i}"), 60, 1_000).unwrap();
    }
    s.count_hit("mid", 60, 1_030).unwrap();
    assert_eq!(s.rate_counters(), 51, "swept at most once a minute");
    // A minute after the last sweep, a new counter sweeps the stale ones;
    // the one of the window before stays, with its count.
    s.count_hit("late", 60, 1_090).unwrap();
    assert_eq!(s.rate_counters(), 2);
    assert_eq!(s.count_hit("mid", 60, 1_090).unwrap(), RateCount::new(1, 1));
}

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split(' ')
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Bytes per entry of a full table, by kind, with ids as the service
/// makes them (Linux; run with `cargo test --release --lib
/// memory_per_entry -- --ignored --nocapture`). The README's memory
/// table comes from it.
#[test]
#[ignore]
fn memory_per_entry() {
    use base64::Engine as _;
    let n = DEFAULT_MEMORY_CAPACITY;
    let id = |i: usize| {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&(i as u64).to_le_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    };
    // Every store stays alive, so that no measurement reuses memory
    // freed by another.
    let mut alive = Vec::new();
    for (label, make) in [
        ("session/ticket", &id as &dyn Fn(usize) -> String),
        ("nonce", &|i: usize| {
            format!("AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA:{}", 1_000_000_000 + i)
        }),
    ] {
        let s = MemoryStore::new(n);
        let before = rss_bytes();
        for i in 0..n {
            s.record_use(Session, &make(i), 1_000_000, 1, 0).unwrap();
        }
        let after = rss_bytes();
        println!("{label}: {} bytes per entry", (after - before) / n);
        alive.push(s);
    }
    let s = MemoryStore::new(n);
    let before = rss_bytes();
    for i in 0..n {
        s.count_hit(
            &format!("w:a:10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255),
            60,
            0,
        )
        .unwrap();
    }
    println!("rate: {} bytes per entry", (rss_bytes() - before) / n);
    assert_eq!(s.rate_counters(), n);
    let before = rss_bytes();
    for i in 0..n {
        let id = format!("v:t:10.{}.{}.0/24", i >> 8, i & 255);
        s.decay_add(&id, 1.0, &[120.0], 0).unwrap();
    }
    println!("pressure: {} bytes per entry", (rss_bytes() - before) / n);
    alive.push(s);
    assert_eq!(alive.iter().map(MemoryStore::len).sum::<usize>(), 2 * n);
}

#[test]
fn the_fair_shares_and_orders_follow_every_entry() {
    // Evictions, renewals and new ids of seven holders in a small table:
    // the per-holder shares and the expiry order name exactly the live
    // entries (they find entries by the keys the table keeps).
    let store = MemoryStore::new(50);
    for i in 0..400u64 {
        let (holder, id) = (format!("h{}", i % 7), format!("id{i}"));
        let now = i / 10;
        let _ = store.record_held_use(RecordKind::Ticket, &holder, &id, 100 + i % 40, 2, now);
        if i % 3 == 0 {
            let _ = store.record_held_use(RecordKind::Ticket, &holder, &id, 200 + i, 2, now);
        }
    }
    let t = store.tables[RecordKind::Ticket.index()].lock().unwrap();
    let held: usize = (0..7)
        .map(|h| t.fair.count(store.keys.holder(&format!("h{h}"))))
        .sum();
    assert_eq!(t.entries.len(), 50);
    assert_eq!(held, t.entries.len());
    assert_eq!(t.by_deadline.len() + t.waiting.len(), t.entries.len());
}

#[test]
#[cfg(feature = "test-util")]
fn the_holder_index_is_kept_only_from_half_full_and_drops_below_a_quarter() {
    use crate::service::clock::{Clock, ManualClock};
    let clock = Arc::new(ManualClock::new(1_000));
    let store = MemoryStore::with_manual_clock(40, clock.clone());
    let sharing = || store.tables[Ticket.index()].lock().unwrap().sharing;
    let held = || {
        let t = store.tables[Ticket.index()].lock().unwrap();
        ["h0", "h1", "h2", "h3", "h9"]
            .map(|h| t.fair.count(store.keys.holder(h)))
            .iter()
            .sum::<usize>()
    };
    // Short-lived ids of four holders, the table under half full: no index.
    for i in 0..19 {
        let id = format!("a{i}");
        store
            .record_held_use(Ticket, &format!("h{}", i % 4), &id, 1_030, 1, clock.now())
            .unwrap();
    }
    assert!(!sharing());
    assert_eq!(held(), 0);
    // At half: every entry is indexed, old and new, and stays so.
    for i in 0..30 {
        let id = format!("b{i}");
        store
            .record_held_use(Ticket, &format!("h{}", i % 4), &id, 1_100, 1, clock.now())
            .unwrap();
    }
    assert!(sharing());
    assert_eq!(store.len_of(Ticket), 40);
    assert_eq!(held(), 40);
    // Full: the heaviest holder made room, and its dropped id stays used.
    assert!(
        !store
            .record_held_use(Ticket, "h0", "a0", 1_030, 1, clock.now())
            .unwrap()
            .allowed
    );
    // The short-lived ids expire: 30 left, still over a quarter, indexed.
    clock.advance(31);
    store
        .record_held_use(Ticket, "h9", "c", 1_100, 1, clock.now())
        .unwrap();
    assert!(sharing());
    assert_eq!(held(), store.len_of(Ticket));
    // All but one expire: under a quarter, the index goes; the watermark
    // of the holder that lost an id does not.
    clock.advance(70);
    store
        .record_held_use(Ticket, "h1", "d", 1_200, 1, clock.now())
        .unwrap();
    assert!(!sharing());
    assert_eq!(held(), 0);
    let t = store.tables[Ticket.index()].lock().unwrap();
    assert!(t.fair.maybe_dropped(store.keys.holder("h0"), 1_030));
}
