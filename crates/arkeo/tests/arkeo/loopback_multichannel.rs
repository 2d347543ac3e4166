//! The client against the Multichannel simulator on 127.0.0.1: the channel life cycle in
//! the vendor's keys, and the documented errors.

use arkeo::multichannel::{
    self, ChannelSettings, ChannelSettingsEntry, ChannelState, ChannelStatus, ChannelTransition,
    DayNight, Environment, ForceJvResult, IvReading, SettingsEncoding, TimeSpan, Tracking,
    latest_jv,
};
use arkeo::simulator::SimulatorConfig;
use arkeo::{Dialect, Error, Request};
use serde_json::json;

use crate::support::{client, simulator, simulator_with, within};

fn code(result: Result<arkeo::Reply, Error>) -> Option<i64> {
    match result {
        Err(Error::Rejected(r)) => r.code.map(|c| c.0),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn the_vendor_enable_key_arms_a_channel_and_start_measurement_runs_it() {
    within(async {
        let sim = simulator(Dialect::Multichannel).await;
        let mut c = client(&sim, Dialect::Multichannel).await;
        assert_eq!(
            code(c.request(&multichannel::start_measurement()).await),
            Some(5006)
        );
        // The report: the vendor's key, then StartMeasurement.
        for encoding in [SettingsEncoding::Object, SettingsEncoding::String] {
            let settings = json!({"Enable": true, "User": "ada", "Device": "cell-7"});
            c.request(&multichannel::set_channel_settings(
                &[0, 3],
                &settings,
                encoding,
            ))
            .await
            .unwrap();
        }
        let states = c
            .request(&multichannel::get_channel_state(&[0, 1, 3]))
            .await
            .unwrap();
        let states = ChannelState::from_reply(&states).unwrap();
        assert_eq!(states[0].state, ChannelStatus::ReadyToStart);
        assert_eq!(states[0].user, "ada");
        assert_eq!(states[1].state, ChannelStatus::Idle);
        let started = c.request(&multichannel::start_measurement()).await.unwrap();
        assert_eq!(ChannelTransition::from_reply(&started).unwrap().len(), 2);
        assert_eq!(
            code(c.request(&multichannel::start_measurement()).await),
            Some(5005)
        );
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_lowercase_enable_is_refused_with_the_vendor_spelling() {
    within(async {
        let sim = simulator(Dialect::Multichannel).await;
        let mut c = client(&sim, Dialect::Multichannel).await;
        let err = c
            .request(&multichannel::set_channel_settings(
                &[0],
                &json!({"enable": true}),
                SettingsEncoding::Object,
            ))
            .await
            .unwrap_err();
        let r = err.rejection().unwrap();
        assert_eq!(r.code.map(|c| c.0), Some(101));
        assert!(r.message.contains("spells it \"Enable\""), "{}", r.message);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn partial_settings_merge_and_unknown_keys_are_kept() {
    within(async {
        let sim = simulator(Dialect::Multichannel).await;
        let mut c = client(&sim, Dialect::Multichannel).await;
        let update = ChannelSettings {
            tracking: Some(Tracking {
                jv_interval: Some(TimeSpan::new(30.0, "s")),
                ..Tracking::default()
            }),
            ..ChannelSettings::default()
        };
        let mut value = update.to_value();
        value["JV Timing"] = json!({"Delay (ms)": 5});
        c.request(&multichannel::set_channel_settings(
            &[2],
            &value,
            SettingsEncoding::Object,
        ))
        .await
        .unwrap();
        let reply = c
            .request(&multichannel::get_channel_settings(&[2]))
            .await
            .unwrap();
        let entry = &ChannelSettingsEntry::from_reply(&reply).unwrap()[0];
        let tracking = entry.settings.tracking.as_ref().unwrap();
        assert_eq!(tracking.jv_interval.as_ref().unwrap().value, Some(30.0));
        assert_eq!(tracking.algorithm.as_deref(), Some("MPPT"), "unchanged");
        assert_eq!(entry.settings.enable, Some(false), "unchanged");
        assert_eq!(entry.settings.extra["JV Timing"]["Delay (ms)"], 5);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn stop_channel_ignores_channels_that_are_not_running_and_re_enable_restarts() {
    within(async {
        let sim = simulator(Dialect::Multichannel).await;
        let mut c = client(&sim, Dialect::Multichannel).await;
        let enable = ChannelSettings::enabled(true).to_value();
        c.request(&multichannel::set_channel_settings(
            &[0],
            &enable,
            SettingsEncoding::Object,
        ))
        .await
        .unwrap();
        c.request(&multichannel::start_measurement()).await.unwrap();
        let stopped = c
            .request(&multichannel::stop_channel(&[0, 1]))
            .await
            .unwrap();
        let stopped = ChannelTransition::from_reply(&stopped).unwrap();
        assert_eq!(stopped[0].result, "stopped");
        assert_eq!(stopped[0].previous_state, ChannelStatus::Running);
        assert_eq!(stopped[0].new_state, ChannelStatus::Stopped);
        assert_eq!(stopped[1].result, "ignored");
        assert_eq!(stopped[1].new_state, ChannelStatus::Idle);
        // The simulator's restart rule: "Enable": true again.
        c.request(&multichannel::set_channel_settings(
            &[0],
            &enable,
            SettingsEncoding::Object,
        ))
        .await
        .unwrap();
        let state = c
            .request(&multichannel::get_channel_state(&[0]))
            .await
            .unwrap();
        assert_eq!(
            ChannelState::from_reply(&state).unwrap()[0].state,
            ChannelStatus::ReadyToStart
        );
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn force_jv_reports_why_it_is_ignored() {
    within(async {
        // Speed 1: the first sweep (13.2 s) is surely still running.
        let sim = simulator_with(SimulatorConfig::new(Dialect::Multichannel)).await;
        let mut c = client(&sim, Dialect::Multichannel).await;
        let enable = ChannelSettings::enabled(true).to_value();
        c.request(&multichannel::set_channel_settings(
            &[0, 1],
            &enable,
            SettingsEncoding::Object,
        ))
        .await
        .unwrap();
        c.request(&multichannel::start_measurement()).await.unwrap();
        c.request(&multichannel::stop_channel(&[1])).await.unwrap();
        let reply = c
            .request(&multichannel::force_jv(&[0, 1, 2]))
            .await
            .unwrap();
        let results = ForceJvResult::from_reply(&reply).unwrap();
        let reasons: Vec<_> = results.iter().map(|r| r.reason.as_deref()).collect();
        assert_eq!(
            reasons,
            [
                Some("already in JV"),
                Some("not running"),
                Some("not enabled")
            ]
        );
        assert!(results.iter().all(|r| r.result == "ignored"));
        // Mid-scan, GetLatestJV answers with the partial curve.
        let jv = c.request(&multichannel::get_latest_jv(&[0])).await.unwrap();
        let jv = &latest_jv(&jv).unwrap()[0];
        assert!(jv.acquisition_time.is_some());
        assert!(jv.scans.len() <= 1, "partial: {}", jv.scans.len());
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn live_iv_uses_the_vendor_schema_and_iso_time() {
    within(async {
        let sim = simulator(Dialect::Multichannel).await;
        let mut c = client(&sim, Dialect::Multichannel).await;
        let reply = c.request(&multichannel::get_iv(&[0, 1])).await.unwrap();
        let iv = IvReading::from_reply(&reply).unwrap();
        assert!(iv.has_voltage_and_current());
        assert_eq!(iv.schema[1].unit, "A");
        assert!(iv.data[0][0].is_nan(), "idle channel");
        assert!(
            iv.timestamp.ends_with('Z') && iv.timestamp.contains('T'),
            "{}",
            iv.timestamp
        );
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn environment_sensor_and_day_night_commands() {
    within(async {
        let sim = simulator(Dialect::Multichannel).await;
        let mut c = client(&sim, Dialect::Multichannel).await;
        assert_eq!(
            code(
                c.request(&multichannel::set_device_environment(&[0], "mars"))
                    .await
            ),
            Some(5002)
        );
        c.request(&multichannel::set_device_environment(&[0], "Outdoor"))
            .await
            .unwrap();
        let envs = c.request(&multichannel::get_environments()).await.unwrap();
        let envs = Environment::from_reply(&envs).unwrap();
        assert_eq!(envs[1].sensor_channels, vec![3]);
        let dn = c
            .request(&multichannel::set_global_day_night(
                &json!({"enable": true, "threshold_value": 2000.0}),
                SettingsEncoding::String,
            ))
            .await
            .unwrap();
        let dn = DayNight::from_reply(&dn).unwrap();
        assert_eq!(dn.settings.enable, Some(true));
        assert!(!dn.status.is_day, "the chamber never reaches 2000 W/m2");
        let bad = Request::command("SetChannelSettings")
            .indices([0])
            .parameter(json!({"settings": "{broken"}));
        assert_eq!(code(c.request(&bad).await), Some(5001));
        assert_eq!(
            code(c.request(&Request::command("Frobnicate")).await),
            Some(101)
        );
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn mandatory_parts_are_enforced() {
    within(async {
        let sim = simulator(Dialect::Multichannel).await;
        let mut c = client(&sim, Dialect::Multichannel).await;
        let cases = [
            Request::command("GetChannelState"),
            Request::command("GetChannelState").indices([0, 0, 0, 0]),
            Request::command("GetChannelState").indices([8]),
            Request::command("SetChannelSettings").indices([0]),
            Request::command("SetDeviceEnvironment").indices([0]),
            Request::command("StartMeasurement").indices([0]),
            Request::command("GetEnvironments").indices([0]),
        ];
        for request in cases {
            assert_eq!(code(c.request(&request).await), Some(101), "{request:?}");
        }
        sim.shutdown().await;
    })
    .await;
}
