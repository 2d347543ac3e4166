//! The reconnect rules in virtual time: backoff bounds and jitter, the reset, redirects and
//! their loops, pairing retries.

use std::time::{Duration, Instant};

use super::*;

const S: fn(u64) -> Duration = Duration::from_secs;

fn policy() -> ReconnectPolicy {
    ReconnectPolicy::new(S(1), S(60))
}

fn lost(r: &mut Reconnect, now: Instant, random: u64) -> Plan {
    r.ended(now, Ended::Lost, random).unwrap()
}

#[test]
fn backoff_doubles_its_ceiling_up_to_the_maximum() {
    let p = policy();
    let ceilings: Vec<u64> = (0..9).map(|n| p.ceiling(n).as_secs()).collect();
    assert_eq!(ceilings, vec![2, 4, 8, 16, 32, 60, 60, 60, 60]);
    assert_eq!(p.ceiling(u32::MAX), S(60));
}

#[test]
fn jitter_spans_the_whole_range_between_the_bounds() {
    let p = policy();
    for n in 0..40 {
        assert_eq!(p.delay(n, 0), S(1), "random 0 is the lower bound");
        let top = p.delay(n, u64::MAX);
        assert!(top <= p.ceiling(n) && p.ceiling(n) - top < Duration::from_micros(1));
        let mid = p.delay(n, u64::MAX / 2);
        let half = (S(1) + p.ceiling(n)) / 2;
        assert!(
            mid.abs_diff(half) < Duration::from_micros(1),
            "{mid:?} vs {half:?}"
        );
    }
}

#[test]
fn a_zero_minimum_still_waits_the_floor() {
    let p = ReconnectPolicy::new(Duration::ZERO, Duration::ZERO);
    assert_eq!(p.delay(0, 0), MIN_DELAY);
    assert_eq!(p.delay(10, u64::MAX), MIN_DELAY);
    let mut r = Reconnect::new(p, "a:1");
    let now = Instant::now();
    for _ in 0..100 {
        assert!(lost(&mut r, now, 0).delay >= MIN_DELAY);
    }
}

#[test]
fn a_maximum_below_the_minimum_is_the_minimum() {
    let p = ReconnectPolicy::new(S(5), S(1));
    assert_eq!(p.delay(3, u64::MAX), S(5));
}

#[test]
fn failures_in_a_row_grow_the_wait_and_stay_within_the_bounds() {
    let mut r = Reconnect::new(policy(), "a:1");
    let mut now = Instant::now();
    let mut tops = Vec::new();
    for _ in 0..10 {
        let plan = lost(&mut r, now, u64::MAX);
        assert_eq!(plan.server, "a:1");
        assert_eq!(plan.state, LinkState::Disconnected);
        assert!(plan.delay >= S(1) && plan.delay <= S(60));
        tops.push(plan.delay.as_secs_f64().round() as u64);
        now += plan.delay;
    }
    assert_eq!(tops, vec![2, 4, 8, 16, 32, 60, 60, 60, 60, 60]);
}

#[test]
fn a_connection_registered_long_enough_resets_the_backoff() {
    let mut r = Reconnect::new(policy(), "a:1");
    let mut now = Instant::now();
    for _ in 0..6 {
        now += lost(&mut r, now, 0).delay;
    }
    assert_eq!(r.failures(), 6);
    r.registered(now);
    now += STABLE_AFTER;
    let plan = lost(&mut r, now, u64::MAX);
    assert_eq!(r.failures(), 1);
    assert!(plan.delay <= S(2), "{plan:?}");
}

#[test]
fn a_connection_that_flaps_right_after_registering_keeps_backing_off() {
    let mut r = Reconnect::new(policy(), "a:1");
    let mut now = Instant::now();
    for n in 0..8 {
        r.registered(now);
        now += S(5);
        let plan = lost(&mut r, now, u64::MAX);
        assert_eq!(r.failures(), n + 1);
        now += plan.delay;
    }
    let top = lost(&mut r, now, u64::MAX).delay;
    assert!(S(60) - top < Duration::from_micros(1), "{top:?}");
}

#[test]
fn waits_beyond_a_day_count_as_a_day_and_never_panic() {
    let huge = Duration::MAX;
    let policy = ReconnectPolicy::new(huge, huge);
    for (failures, random) in [(0, 0), (0, u64::MAX), (u32::MAX, u64::MAX)] {
        assert_eq!(policy.delay(failures, random), MAX_WAIT);
    }
    let policy = ReconnectPolicy::new(S(1), huge);
    assert!(policy.delay(u32::MAX, u64::MAX) <= MAX_WAIT);
    assert!(policy.delay(u32::MAX, u64::MAX) > S(3600));
}

#[test]
fn stable_after_is_capped_by_the_maximum_wait() {
    assert_eq!(policy().stable_after(), STABLE_AFTER);
    assert_eq!(ReconnectPolicy::new(S(1), S(5)).stable_after(), S(5));
}

#[test]
fn redirect_is_followed_at_once() {
    let mut r = Reconnect::new(policy(), "a:1");
    let now = Instant::now();
    let plan = r.ended(now, Ended::Redirected("b:2".into()), 0).unwrap();
    assert_eq!(plan.server, "b:2");
    assert_eq!(plan.delay, Duration::ZERO);
    assert_eq!(plan.state, LinkState::Connecting);
    assert_eq!(r.server(), "b:2");
}

#[test]
fn a_failing_redirect_target_sends_the_client_back_to_the_configured_server() {
    let mut r = Reconnect::new(policy(), "a:1");
    let now = Instant::now();
    r.ended(now, Ended::Redirected("b:2".into()), 0).unwrap();
    let plan = lost(&mut r, now, 0);
    assert_eq!(plan.server, "a:1");
    assert!(plan.delay >= S(1));
}

#[test]
fn a_redirect_loop_is_broken_with_backoff_to_the_configured_server() {
    let mut r = Reconnect::new(policy(), "a:1");
    let now = Instant::now();
    r.ended(now, Ended::Redirected("b:2".into()), 0).unwrap();
    let plan = r.ended(now, Ended::Redirected("a:1".into()), 0).unwrap();
    assert_eq!(plan.server, "a:1");
    assert!(plan.delay >= S(1));
    assert_eq!(
        plan.notice,
        Some(Notice::RedirectLoop {
            target: "a:1".into()
        })
    );
    // b -> c -> b is a loop too.
    r.ended(now, Ended::Redirected("b:2".into()), 0).unwrap();
    r.ended(now, Ended::Redirected("c:3".into()), 0).unwrap();
    let plan = r.ended(now, Ended::Redirected("b:2".into()), 0).unwrap();
    assert_eq!(plan.server, "a:1");
    assert!(matches!(plan.notice, Some(Notice::RedirectLoop { .. })));
    // A server redirecting to itself as well.
    r.ended(now, Ended::Redirected("d:4".into()), 0).unwrap();
    let plan = r.ended(now, Ended::Redirected("d:4".into()), 0).unwrap();
    assert_eq!(plan.server, "a:1");
}

#[test]
fn too_many_redirects_in_a_row_go_back_to_the_configured_server() {
    let mut r = Reconnect::new(policy(), "a:1");
    let now = Instant::now();
    for i in 0..MAX_REDIRECTS {
        let plan = r
            .ended(now, Ended::Redirected(format!("r{i}:1")), 0)
            .unwrap();
        assert_eq!(plan.delay, Duration::ZERO);
    }
    let plan = r.ended(now, Ended::Redirected("z:9".into()), 0).unwrap();
    assert_eq!(plan.server, "a:1");
    assert!(plan.delay >= S(1));
    assert!(matches!(plan.notice, Some(Notice::TooManyRedirects { .. })));
}

#[test]
fn a_redirect_loop_never_spins_over_an_hour_of_virtual_time() {
    // a -> b -> a -> b ...: every lap costs a backoff wait.
    let mut r = Reconnect::new(policy(), "a:1");
    let start = Instant::now();
    let mut now = start;
    let mut attempts = 0;
    while now < start + S(3600) {
        let next = if r.server() == "a:1" { "b:2" } else { "a:1" };
        now += r
            .ended(now, Ended::Redirected(next.into()), u64::MAX / 2)
            .unwrap()
            .delay;
        attempts += 1;
        assert!(attempts < 1000, "too many attempts in an hour");
    }
    assert!(attempts > 60, "still retrying: {attempts}");
}

#[test]
fn redirects_after_a_stable_connection_start_a_new_chain() {
    let mut r = Reconnect::new(policy(), "a:1");
    let mut now = Instant::now();
    r.ended(now, Ended::Redirected("b:2".into()), 0).unwrap();
    r.registered(now);
    now += S(3600);
    // b moves us to c, and later c back to b: no loop, b was an hour ago.
    assert_eq!(
        r.ended(now, Ended::Redirected("c:3".into()), 0)
            .unwrap()
            .server,
        "c:3"
    );
    r.registered(now);
    now += S(3600);
    assert_eq!(
        r.ended(now, Ended::Redirected("b:2".into()), 0)
            .unwrap()
            .server,
        "b:2"
    );
}

#[test]
fn unauthorized_is_retried_forever_and_told_once() {
    let mut r = Reconnect::new(policy(), "a:1");
    let start = Instant::now();
    let mut now = start;
    let mut notices = 0;
    // A week of virtual time, never giving up.
    while now < start + S(7 * 24 * 3600) {
        let plan = r
            .ended(now, Ended::Refused(code::UNAUTHORIZED), u64::MAX)
            .unwrap();
        assert_eq!(plan.state, LinkState::Unauthorized);
        assert_eq!(plan.server, "a:1");
        assert!(plan.delay >= S(1) && plan.delay <= S(60));
        if plan.notice == Some(Notice::NotPaired) {
            notices += 1;
        }
        now += plan.delay;
    }
    assert_eq!(notices, 1);
}

#[test]
fn unauthorized_after_having_been_paired_is_told_again() {
    let mut r = Reconnect::new(policy(), "a:1");
    let now = Instant::now();
    let first = r.ended(now, Ended::Refused(code::UNAUTHORIZED), 0).unwrap();
    assert_eq!(first.notice, Some(Notice::NotPaired));
    r.registered(now);
    lost(&mut r, now, 0);
    let again = r.ended(now, Ended::Refused(code::UNAUTHORIZED), 0).unwrap();
    assert_eq!(again.notice, Some(Notice::NotPaired));
}

#[test]
fn a_redirect_target_without_v2_sends_the_client_back_instead_of_ending_it() {
    let mut r = Reconnect::new(policy(), "a:1");
    let now = Instant::now();
    r.ended(now, Ended::Redirected("b:2".into()), 0).unwrap();
    let plan = r
        .ended(now, Ended::Refused(code::UNSUPPORTED_PROTOCOL_VERSION), 0)
        .expect("only the configured server saying so is fatal");
    assert_eq!(plan.server, "a:1");
    assert!(plan.delay >= S(1));
    assert_eq!(
        plan.notice,
        Some(Notice::RedirectTargetUnsupported {
            target: "b:2".into()
        })
    );
    // The configured server saying it is still fatal.
    assert!(
        r.ended(now, Ended::Refused(code::UNSUPPORTED_PROTOCOL_VERSION), 0)
            .is_err()
    );
}

#[test]
fn unsupported_protocol_version_is_fatal() {
    let mut r = Reconnect::new(policy(), "a:1");
    let err = r
        .ended(
            Instant::now(),
            Ended::Refused(code::UNSUPPORTED_PROTOCOL_VERSION),
            0,
        )
        .unwrap_err();
    assert_eq!(
        err,
        Fatal::UnsupportedVersion {
            server: "a:1".into()
        }
    );
    assert!(err.to_string().contains("Arrow protocol v2"));
}

#[test]
fn other_refusals_are_retried_with_backoff() {
    let mut r = Reconnect::new(policy(), "a:1");
    let plan = r
        .ended(
            Instant::now(),
            Ended::Refused(code::INTERNAL_SERVER_ERROR),
            0,
        )
        .unwrap();
    assert_eq!(plan.state, LinkState::Disconnected);
    assert!(plan.delay >= S(1));
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn ended() -> impl Strategy<Value = Ended> {
        prop_oneof![
            Just(Ended::Lost),
            (0u32..6).prop_map(|c| Ended::Refused(if c == 1 { 2 } else { c })),
            (0u8..5).prop_map(|t| Ended::Redirected(format!("r{t}:1"))),
        ]
    }

    proptest! {
        #[test]
        fn every_wait_is_within_the_bounds(
            min_ms in 0u64..120_000,
            max_ms in 0u64..600_000,
            failures in any::<u32>(),
            random in any::<u64>(),
        ) {
            let p = ReconnectPolicy::new(Duration::from_millis(min_ms), Duration::from_millis(max_ms));
            let lo = Duration::from_millis(min_ms).max(MIN_DELAY);
            let hi = Duration::from_millis(max_ms).max(lo);
            let d = p.delay(failures, random);
            prop_assert!(d >= lo && d <= hi, "{d:?} not in {lo:?}..={hi:?}");
            prop_assert!(p.delay(failures, random / 2) <= d, "monotone in the random number");
        }

        #[test]
        fn no_sequence_of_endings_spins(
            endings in proptest::collection::vec((ended(), any::<u64>(), any::<bool>()), 1..200),
        ) {
            let mut r = Reconnect::new(ReconnectPolicy::new(Duration::ZERO, Duration::from_secs(5)), "home:1");
            let mut now = Instant::now();
            let mut at_once_in_a_row = 0;
            for (how, random, registered) in endings {
                if registered {
                    r.registered(now);
                }
                match r.ended(now, how, random) {
                    Ok(plan) => {
                        if plan.delay.is_zero() {
                            at_once_in_a_row += 1;
                            prop_assert!(at_once_in_a_row <= MAX_REDIRECTS, "redirects without a wait");
                        } else {
                            at_once_in_a_row = 0;
                            prop_assert!(plan.delay >= MIN_DELAY);
                            prop_assert_eq!(plan.server.as_str(), "home:1");
                        }
                        now += plan.delay;
                    }
                    Err(Fatal::UnsupportedVersion { .. }) => {}
                }
            }
        }
    }
}
