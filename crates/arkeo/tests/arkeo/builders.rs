//! Every typed builder against the simulator, its reply read with the typed reader.

use arkeo::all_in_one::custom::{connection_test, ipce, luminescence, resistivity, tcspc};
use arkeo::all_in_one::{
    ActiveRoutine, AutoExposure, AvailableRoutines, ChopperFrequency, CountRates, CustomCommands,
    JvData, JvSettings, MonochromatorStatus, MuxStatus, RoutineInfo, RoutineState, Spectrum,
    TestStatus, led, main, mux, routine, routines, tmpctl,
};
use arkeo::multichannel::{
    self, ChannelAck, ChannelSettings, ChannelSettingsEntry, ChannelState, ChannelTransition,
    DayNight, DayNightSettings, Environment, ForceJvResult, IvReading, SensorInfo, SensorsData,
    SettingsEncoding, latest_jv,
};
use arkeo::simulator::SimulatorConfig;
use arkeo::{Client, Dialect, Reply, Request};
use serde::de::DeserializeOwned;

use crate::support::{client, instant_phases, simulator, simulator_with, within};

async fn ok(c: &mut Client, request: Request) -> Reply {
    let name = request.command_name().to_string();
    c.request(&request)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

async fn data<T: DeserializeOwned>(c: &mut Client, request: Request) -> T {
    let name = request.command_name().to_string();
    ok(c, request).await.data_as(&name).unwrap()
}

async fn acked(c: &mut Client, request: Request) {
    let reply = ok(c, request).await;
    assert_eq!(reply.data().unwrap()["state"], "OK");
}

#[tokio::test]
async fn every_all_in_one_builder_is_answered() {
    within(async {
        let config = SimulatorConfig::new(Dialect::AllInOne).timing(instant_phases());
        let sim = simulator_with(config).await;
        let mut c = client(&sim, Dialect::AllInOne).await;

        let all: AvailableRoutines = data(&mut c, main::get_available_routines()).await;
        assert_eq!(all.routines, routines::ALL);
        acked(&mut c, main::start_routine(routines::JV)).await;
        let active: ActiveRoutine = data(&mut c, main::get_active_routine()).await;
        assert_eq!(active.name(), Some("JV"));

        acked(&mut c, routine::set_info(Some("ada"), None, None)).await;
        acked(
            &mut c,
            routine::set_info_from(&RoutineInfo {
                device_name: Some("cell-7".into()),
                device_area: Some(0.1),
                ..RoutineInfo::default()
            }),
        )
        .await;
        acked(
            &mut c,
            routine::apply_settings(JvSettings::sweep(0.0, 0.2, 0.1).to_value()),
        )
        .await;
        let settings: JvSettings = data(&mut c, routine::get_settings()).await;
        let scan = settings.scan_settings.unwrap().scan.unwrap();
        assert_eq!((scan.start_v, scan.end_v), (Some(0.0), Some(0.2)));
        assert_eq!(scan.rate_v_per_s, Some(0.2), "kept from the defaults");
        let commands: CustomCommands = data(&mut c, routine::get_custom_commands()).await;
        assert!(commands.commands.is_empty());
        acked(&mut c, routine::start_measurement()).await;
        let status: TestStatus = data(&mut c, routine::get_test_status()).await;
        assert_eq!(status.state, RoutineState::Running);
        acked(&mut c, routine::stop_measurement()).await;
        let jv: JvData = data(&mut c, routine::get_test_data()).await;
        assert_eq!(jv.user, "ada");
        acked(&mut c, routine::clear_errors()).await;
        acked(&mut c, routine::close_routine()).await;

        acked(&mut c, main::start_routine(routines::LUMINESCENCE)).await;
        let dark: Spectrum = data(&mut c, luminescence::acquire_dark()).await;
        assert_eq!(dark.spectrum.len(), 2);
        let reference: Spectrum = data(&mut c, luminescence::acquire_reference()).await;
        assert_eq!(reference.spectrum.len(), 2);
        acked(&mut c, luminescence::set_laser(true, Some(10.0))).await;
        let single: Spectrum = data(&mut c, luminescence::acquire_single()).await;
        assert_eq!(single.spectrum.len(), 3);
        assert_eq!(single.wavelengths().len(), single.spectrum[1].len());
        let exposure: AutoExposure = data(&mut c, luminescence::auto_exposure()).await;
        assert!(exposure.integration_time > 0.0);
        let custom = routine::custom(
            luminescence::SET_LASER,
            serde_json::json!({"enable": false}),
        );
        acked(&mut c, custom).await;

        acked(&mut c, main::start_routine(routines::IPCE)).await;
        acked(&mut c, ipce::set_shutter(true)).await;
        acked(&mut c, ipce::set_wavelength(800.0)).await;
        acked(&mut c, ipce::start_calibration()).await;
        let chopper: ChopperFrequency = data(&mut c, ipce::get_chopper_frequency()).await;
        assert!(chopper.frequency > 0.0);
        let mono: MonochromatorStatus = data(&mut c, ipce::get_monochromator_status()).await;
        assert_eq!(mono.wavelength, Some(800.0));
        assert_eq!(mono.shutter, "open");

        acked(&mut c, main::start_routine(routines::RESISTIVITY)).await;
        acked(&mut c, resistivity::apply_current(0.002)).await;

        acked(&mut c, main::start_routine(routines::TCSPC)).await;
        acked(&mut c, tcspc::set_laser(true, None)).await;
        let rates: CountRates = data(&mut c, tcspc::get_rates()).await;
        assert!(rates.ratio > 0.0 && rates.ratio < 1.0);

        acked(&mut c, main::start_routine(routines::CONNECTION_TEST)).await;
        acked(&mut c, connection_test::set_output(0.5)).await;
        acked(&mut c, routine::close_routine()).await;

        acked(&mut c, tmpctl::set_controller(4, 1)).await;
        acked(&mut c, tmpctl::set_temperature(30.0)).await;
        acked(&mut c, tmpctl::set_enable(true)).await;
        let t = ok(&mut c, tmpctl::get_status()).await;
        assert_eq!(t.data().unwrap()[0]["address"], 4);

        acked(&mut c, mux::connect()).await;
        acked(
            &mut c,
            mux::set_status(&[true, false, true, false, false, false, false, false]),
        )
        .await;
        let status: MuxStatus = data(&mut c, mux::get_status()).await;
        assert!(status.connected && status.status[2]);
        assert_eq!(status.relays, 8);
        acked(&mut c, mux::disconnect()).await;

        let mut values = [0.0; 12];
        values[3] = 0.4;
        acked(&mut c, led::set_values(1, &values)).await;
        let led = ok(&mut c, led::get_status()).await;
        assert_eq!(led.data().unwrap()["boards"][0]["values"][3], 0.4);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn every_multichannel_builder_is_answered() {
    within(async {
        let sim = simulator(Dialect::Multichannel).await;
        let mut c = client(&sim, Dialect::Multichannel).await;
        let settings = ChannelSettings {
            user: Some("ada".into()),
            ..ChannelSettings::enabled(true)
        };
        let reply = ok(
            &mut c,
            multichannel::set_channel_settings(
                &[0, 1],
                &settings.to_value(),
                SettingsEncoding::String,
            ),
        )
        .await;
        assert_eq!(ChannelAck::from_reply(&reply).unwrap().len(), 2);
        let reply = ok(&mut c, multichannel::get_channel_settings(&[1])).await;
        let entries = ChannelSettingsEntry::from_reply(&reply).unwrap();
        assert_eq!(entries[0].settings.user.as_deref(), Some("ada"));
        let reply = ok(&mut c, multichannel::start_measurement()).await;
        assert_eq!(
            ChannelTransition::from_reply(&reply).unwrap()[0].result,
            "started"
        );
        let reply = ok(&mut c, multichannel::get_channel_state(&[0])).await;
        assert!(ChannelState::from_reply(&reply).unwrap()[0].enabled);
        let reply = ok(&mut c, multichannel::force_jv(&[1])).await;
        assert_eq!(ForceJvResult::from_reply(&reply).unwrap()[0].index, 1);
        let reply = ok(&mut c, multichannel::get_latest_jv(&[0, 1])).await;
        assert_eq!(latest_jv(&reply).unwrap().len(), 2);
        let reply = ok(&mut c, multichannel::get_iv(&[0])).await;
        assert_eq!(IvReading::from_reply(&reply).unwrap().data.len(), 1);
        let reply = ok(&mut c, multichannel::stop_channel(&[0, 1])).await;
        assert_eq!(ChannelTransition::from_reply(&reply).unwrap().len(), 2);
        let reply = ok(
            &mut c,
            multichannel::set_device_environment(&[1], "Outdoor"),
        )
        .await;
        assert_eq!(
            ChannelAck::from_reply(&reply).unwrap()[0].extra["environment"],
            "Outdoor"
        );
        let reply = ok(&mut c, multichannel::get_sensors_info()).await;
        let sensors = SensorInfo::from_reply(&reply).unwrap();
        let reply = ok(&mut c, multichannel::get_sensors_data()).await;
        let values = SensorsData::from_reply(&reply).unwrap();
        assert_eq!(values.sensors.len(), sensors.len());
        assert!(values.value(sensors[0].common.channel).unwrap() > 900.0);
        let reply = ok(&mut c, multichannel::get_environments()).await;
        assert!(!Environment::from_reply(&reply).unwrap().is_empty());
        let reply = ok(&mut c, multichannel::get_global_day_night()).await;
        assert!(DayNight::from_reply(&reply).unwrap().status.is_day);
        let update = DayNightSettings {
            night_jv: Some(true),
            ..DayNightSettings::default()
        };
        let reply = ok(
            &mut c,
            multichannel::set_global_day_night(&update.to_value(), SettingsEncoding::Object),
        )
        .await;
        let dn = DayNight::from_reply(&reply).unwrap();
        assert_eq!(dn.settings.night_jv, Some(true));
        assert_eq!(dn.settings.enable, Some(false), "unchanged");
        sim.shutdown().await;
    })
    .await;
}
