//! The Multichannel tracking workflow: the sans-IO `Tracker` against the sans-IO simulator
//! on a virtual clock (no sockets, no waiting), and the tokio driver end to end.

use std::time::{Duration, Instant};

use arkeo::multichannel::{ChannelSettings, ChannelStatus, SettingsEncoding, command, measurement};
use arkeo::simulator::{Instrument, SimulatorConfig, Timing};
use arkeo::workflow::{StopReason, TrackEvent, TrackOptions, TrackStep, Tracker, track};
use arkeo::{Dialect, Error, reply};
use serde_json::json;

use crate::support::{client, commands_on, simulator_with, within};

/// Drives `tracker` against a simulated instrument whose clock is `now`, jumping to each
/// wake-up time; stops the tracker once `stop_at` is reached. Returns the events.
fn run_virtual(
    tracker: &mut Tracker,
    sim: &mut Instrument,
    start: Instant,
    stop_at: Option<Duration>,
) -> Vec<TrackEvent> {
    let mut now = start;
    let mut events = Vec::new();
    for _ in 0..100_000 {
        while let Some(e) = tracker.next_event() {
            events.push(e);
        }
        if stop_at.is_some_and(|s| now >= start + s) {
            tracker.stop();
        }
        match tracker.poll(now) {
            TrackStep::Send(request) => {
                let mut bytes = Vec::new();
                request
                    .write_json(Dialect::Multichannel, None, &mut bytes)
                    .unwrap();
                let answer = sim.handle_payload(&bytes, now);
                let result = reply::classify(&answer, Dialect::Multichannel, None);
                tracker.handle(result, true, now);
            }
            TrackStep::Wait(until) => now = until.max(now),
            TrackStep::Done => {
                while let Some(e) = tracker.next_event() {
                    events.push(e);
                }
                return events;
            }
        }
    }
    panic!("the tracker never finished");
}

fn instrument(start: Instant) -> Instrument {
    // Speed 1 on the virtual clock: every duration is the instrument's own.
    let config = SimulatorConfig::new(Dialect::Multichannel).timing(Timing::realistic());
    Instrument::new(&config, start, 1_700_000_000.0)
}

fn settings(jv_interval_s: f64) -> serde_json::Value {
    json!({"User": "ada", "Device": "cell", "Tracking": {"jvInterval": {"Value": jv_interval_s, "Unit": "s"}}})
}

fn jvs(events: &[TrackEvent], channel: u32) -> Vec<&arkeo::jv::JvData> {
    events
        .iter()
        .filter_map(|e| match e {
            TrackEvent::Jv { channel: c, jv } if *c == channel => Some(jv),
            _ => None,
        })
        .collect()
}

#[test]
fn tracking_follows_the_documented_sequence_and_reports_each_complete_jv_once() {
    let start = Instant::now();
    let mut sim = instrument(start);
    let options = TrackOptions {
        duration: Some(Duration::from_secs(300)),
        ..TrackOptions::new(vec![0, 2], settings(30.0))
    };
    let mut tracker = Tracker::new(options, start).unwrap();
    let events = run_virtual(&mut tracker, &mut sim, start, None);
    let summary = tracker.finish().unwrap();
    assert_eq!(summary.reason, StopReason::Duration);

    let commands: Vec<String> = sim.received().into_iter().map(|r| r.command).collect();
    assert_eq!(
        commands[..4],
        [
            command::GET_IV,
            command::SET_CHANNEL_SETTINGS,
            command::GET_CHANNEL_SETTINGS,
            command::GET_CHANNEL_STATE
        ]
    );
    assert!(commands.contains(&command::START_MEASUREMENT.to_string()));
    assert_eq!(
        commands.last().map(String::as_str),
        Some(command::STOP_CHANNEL)
    );

    // A 13.2 s sweep every 43.2 s: complete ones start at 0, 43.2, ..., 259.2 s.
    for channel in [0, 2] {
        let reported = jvs(&events, channel);
        assert_eq!(reported.len(), 7, "channel {channel}");
        let mut times: Vec<&str> = reported
            .iter()
            .map(|j| j.acquisition_time.as_deref().unwrap())
            .collect();
        times.dedup();
        assert_eq!(times.len(), 7, "each JV once");
        for jv in reported {
            assert_eq!(jv.user, "ada");
            assert_eq!(jv.scans.len(), 2);
            assert!(jv.scans.iter().all(|s| s.data.len() == 66), "complete");
        }
    }
    assert_eq!(summary.jv_count, 14);
    assert!(events.iter().any(|e| matches!(e,
        TrackEvent::ChannelChanged { state } if state.measurement.as_deref() == Some(measurement::TRACKING))));
    assert!(matches!(events.first(), Some(TrackEvent::IvChecked { .. })));
    let Some(TrackEvent::Stopped { channels }) = events.last() else {
        panic!("{:?}", events.last())
    };
    assert!(
        channels
            .iter()
            .all(|c| c.result == "stopped" && c.new_state == ChannelStatus::Stopped)
    );
    // IV every 10 s over 300 s.
    assert!(
        (29..=32).contains(&summary.iv_count),
        "{}",
        summary.iv_count
    );
}

#[test]
fn without_tracking_each_channel_reports_its_one_jv_and_the_run_ends() {
    let start = Instant::now();
    let mut sim = instrument(start);
    let settings = ChannelSettings {
        tracking: Some(arkeo::multichannel::Tracking {
            track_enable: Some(false),
            ..Default::default()
        }),
        ..ChannelSettings::default()
    };
    let options = TrackOptions {
        encoding: SettingsEncoding::String,
        ..TrackOptions::new(vec![1], settings.to_value())
    };
    let mut tracker = Tracker::new(options, start).unwrap();
    let events = run_virtual(&mut tracker, &mut sim, start, None);
    let summary = tracker.finish().unwrap();
    assert_eq!(summary.reason, StopReason::ChannelsDone);
    assert_eq!(jvs(&events, 1).len(), 1);
    assert_eq!(
        summary.stopped[0].result, "ignored",
        "it had stopped by itself"
    );
}

#[test]
fn a_stop_request_stops_every_channel() {
    let start = Instant::now();
    let mut sim = instrument(start);
    let mut tracker =
        Tracker::new(TrackOptions::new(vec![0, 1, 2], settings(60.0)), start).unwrap();
    let events = run_virtual(&mut tracker, &mut sim, start, Some(Duration::from_secs(20)));
    let summary = tracker.finish().unwrap();
    assert_eq!(summary.reason, StopReason::Requested);
    assert_eq!(summary.stopped.len(), 3);
    assert!(summary.stopped.iter().all(|c| c.result == "stopped"));
    assert_eq!(jvs(&events, 0).len(), 1);
}

#[test]
fn a_measurement_already_running_is_joined_not_restarted() {
    let start = Instant::now();
    let mut sim = instrument(start);
    let now = start;
    // Someone else runs channel 5.
    for request in [
        json!({"command": "SetChannelSettings", "indices": [5], "parameter": {"settings": {"Enable": true}}}),
        json!({"command": "StartMeasurement"}),
    ] {
        sim.handle_payload(request.to_string().as_bytes(), now);
    }
    let options = TrackOptions {
        duration: Some(Duration::from_secs(30)),
        ..TrackOptions::new(vec![0], settings(60.0))
    };
    let mut tracker = Tracker::new(options, start).unwrap();
    let events = run_virtual(&mut tracker, &mut sim, start, None);
    tracker.finish().unwrap();
    assert!(events.contains(&TrackEvent::MeasurementStarted {
        already_running: true
    }));
    let starts = sim
        .received()
        .iter()
        .filter(|r| r.command == command::START_MEASUREMENT)
        .count();
    assert_eq!(starts, 1, "only the other user's");
}

#[test]
fn refused_settings_end_the_run_after_stopping_the_channels() {
    let start = Instant::now();
    let mut sim = instrument(start);
    let bad = json!({"JV": {"Vmax (V)": 50.0}});
    let mut tracker = Tracker::new(TrackOptions::new(vec![0], bad), start).unwrap();
    run_virtual(&mut tracker, &mut sim, start, None);
    let err = tracker.finish().unwrap_err();
    assert_eq!(err.rejection().unwrap().code.map(|c| c.0), Some(101));
    let commands: Vec<String> = sim.received().into_iter().map(|r| r.command).collect();
    assert_eq!(
        commands.last().map(String::as_str),
        Some(command::STOP_CHANNEL)
    );
}

#[test]
fn bad_options_are_refused_up_front() {
    let now = Instant::now();
    for (channels, settings) in [
        (vec![], json!({})),
        (vec![0, 0], json!({})),
        (vec![0], json!("Enable")),
    ] {
        assert!(Tracker::new(TrackOptions::new(channels, settings), now).is_err());
    }
}

fn fast_options(channels: Vec<u32>) -> TrackOptions {
    TrackOptions {
        poll_interval: Duration::from_millis(5),
        iv_interval: Duration::from_millis(20),
        ready_timeout: Duration::from_secs(5),
        ..TrackOptions::new(channels, settings(10.0))
    }
}

#[tokio::test]
async fn track_end_to_end_reaches_tracking_reports_jvs_and_stops_at_the_end() {
    within(async {
        // Speed 1000: a 13.2 s sweep takes 13 ms, a 10 s interval 10 ms.
        let config = SimulatorConfig::new(Dialect::Multichannel).speed(1000.0);
        let sim = simulator_with(config).await;
        let mut c = client(&sim, Dialect::Multichannel).await;
        let mut events = Vec::new();
        let options = TrackOptions {
            duration: Some(Duration::from_millis(300)),
            ..fast_options(vec![0, 3])
        };
        let summary = track(&mut c, options, std::future::pending(), |e| {
            events.push(e.clone())
        })
        .await
        .unwrap();
        assert_eq!(summary.reason, StopReason::Duration);
        assert!(jvs(&events, 0).len() >= 2, "{}", jvs(&events, 0).len());
        assert!(jvs(&events, 3).len() >= 2);
        assert!(events.iter().any(|e| matches!(e,
            TrackEvent::ChannelChanged { state } if state.tracking())));
        assert!(summary.iv_count >= 2);
        assert_eq!(
            commands_on(&sim, 1).last().map(String::as_str),
            Some(command::STOP_CHANNEL)
        );
        assert!(
            summary
                .stopped
                .iter()
                .all(|c| c.new_state == ChannelStatus::Stopped)
        );
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn an_interrupt_stops_every_listed_channel() {
    within(async {
        let config = SimulatorConfig::new(Dialect::Multichannel).speed(1000.0);
        let sim = simulator_with(config).await;
        let mut c = client(&sim, Dialect::Multichannel).await;
        let (interrupt, interrupted) = tokio::sync::oneshot::channel::<()>();
        let mut interrupt = Some(interrupt);
        let stop = async {
            let _ = interrupted.await;
        };
        let summary = track(&mut c, fast_options(vec![0, 1, 2]), stop, |e| {
            // "Ctrl-C" once the first JV is in.
            if matches!(e, TrackEvent::Jv { .. })
                && let Some(tx) = interrupt.take()
            {
                let _ = tx.send(());
            }
        })
        .await
        .unwrap();
        assert_eq!(summary.reason, StopReason::Requested);
        assert_eq!(summary.stopped.len(), 3);
        assert!(summary.stopped.iter().all(|c| c.result == "stopped"));
        let stops: Vec<_> = sim
            .received()
            .into_iter()
            .filter(|r| r.command == command::STOP_CHANNEL)
            .collect();
        assert_eq!(stops.len(), 1);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_lost_connection_leaves_the_stop_to_a_fresh_connection() {
    within(async {
        let config = SimulatorConfig::new(Dialect::Multichannel).speed(1000.0);
        let sim = simulator_with(config).await;
        let mut c = client(&sim, Dialect::Multichannel).await;
        let mut left = None;
        let err = track(
            &mut c,
            fast_options(vec![0]),
            std::future::pending(),
            |e| match e {
                TrackEvent::MeasurementStarted { .. } => sim.inject_fault(
                    command::GET_CHANNEL_STATE,
                    arkeo::simulator::Fault::CloseConnection,
                ),
                TrackEvent::ChannelsLeftRunning { channels, .. } => left = Some(channels.clone()),
                _ => {}
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(err, Error::Closed { .. }), "{err}");
        assert_eq!(left, Some(vec![0]));
        let stopped = arkeo::workflow::stop_channels_at(
            &sim.local_addr().to_string(),
            &[0],
            arkeo::ClientOptions::default(),
        )
        .await
        .unwrap();
        assert_eq!(stopped[0].result, "stopped");
        assert_eq!(commands_on(&sim, 2), [command::STOP_CHANNEL]);
        sim.shutdown().await;
    })
    .await;
}
