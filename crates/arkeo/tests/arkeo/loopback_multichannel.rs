//! The client against the Multichannel simulator on 127.0.0.1.

use arkeo::multichannel::{self, ChannelState, ChannelStatus, SettingsEncoding, settings_value};
use arkeo::nonfinite::as_f64;
use arkeo::{Dialect, Error, Request};
use serde_json::json;

use crate::support::{client, simulator, within};

fn code(result: Result<arkeo::Reply, Error>) -> Option<i64> {
    match result {
        Err(Error::Rejected(r)) => r.code.map(|c| c.0),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn channels_enable_start_stop() {
    within(async {
        let sim = simulator(Dialect::Multichannel).await;
        let mut c = client(&sim, Dialect::Multichannel).await;
        assert_eq!(
            code(c.request(&multichannel::start_measurement()).await),
            Some(5006)
        );
        for encoding in [SettingsEncoding::Object, SettingsEncoding::String] {
            let settings = json!({"enable": true, "user": "ada", "device": "cell-7"});
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
        assert_eq!(states[1].state, ChannelStatus::Idle);
        let started = c.request(&multichannel::start_measurement()).await.unwrap();
        assert_eq!(
            started.get("channels").unwrap().as_array().unwrap().len(),
            2
        );
        assert_eq!(
            code(c.request(&multichannel::start_measurement()).await),
            Some(5005)
        );
        c.request(&multichannel::force_jv(&[0])).await.unwrap();
        let jv = c.request(&multichannel::get_latest_jv(&[0])).await.unwrap();
        assert!(jv.get("channels").unwrap()[0]["jv"]["parameters"].is_object());
        c.request(&multichannel::stop_channel(&[0, 3]))
            .await
            .unwrap();
        let states = c
            .request(&multichannel::get_channel_state(&[0]))
            .await
            .unwrap();
        assert_eq!(
            ChannelState::from_reply(&states).unwrap()[0].state,
            ChannelStatus::Stopped
        );
        let settings = c
            .request(&multichannel::get_channel_settings(&[3]))
            .await
            .unwrap();
        let s = settings_value(&settings.get("channels").unwrap()[0]["settings"]).unwrap();
        assert_eq!(s["user"], "ada");
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn live_iv_with_nan_parses() {
    within(async {
        let sim = simulator(Dialect::Multichannel).await;
        let mut c = client(&sim, Dialect::Multichannel).await;
        let iv = c.request(&multichannel::get_iv(&[0, 1])).await.unwrap();
        assert!(as_f64(&iv.get("data").unwrap()[0][1]).unwrap().is_nan());
        assert!(iv.get("schema").unwrap().is_array());
        assert!(iv.get("timestamp").unwrap().as_f64().unwrap() > 1.0e9);
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
        c.request(&multichannel::set_device_environment(&[0], "chamber-a"))
            .await
            .unwrap();
        let envs = c.request(&multichannel::get_environments()).await.unwrap();
        assert_eq!(envs.get("environments").unwrap()[1]["channels"], json!([0]));
        let info = c.request(&multichannel::get_sensors_info()).await.unwrap();
        assert_eq!(info.get("sensors").unwrap().as_array().unwrap().len(), 3);
        c.request(&multichannel::get_sensors_data()).await.unwrap();
        let dn = c
            .request(&multichannel::set_global_day_night(
                &json!({"enabled": true}),
                SettingsEncoding::String,
            ))
            .await
            .unwrap();
        assert_eq!(dn.get("day_night").unwrap()["enabled"], true);
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
