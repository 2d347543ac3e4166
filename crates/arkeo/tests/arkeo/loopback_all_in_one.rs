//! The client against the All-in-One simulator on 127.0.0.1: routines on the clock, JV data
//! in the vendor's shape, the documented errors.

use std::time::Duration;

use arkeo::all_in_one::{
    ActiveRoutine, AvailableRoutines, JvData, JvSettings, RoutineState, TestStatus, led, main, mux,
    routine, tmpctl,
};
use arkeo::simulator::SimulatorConfig;
use arkeo::workflow::{WorkflowEvent, WorkflowOptions, measure};
use arkeo::{Dialect, Error, ErrorCode, Request};
use serde_json::json;
use tokio::io::AsyncReadExt;

use crate::support::{client, frame, instant_phases, simulator, simulator_with, within, write};

pub(crate) fn fast_workflow() -> WorkflowOptions {
    WorkflowOptions {
        poll_interval: Duration::from_millis(5),
        ready_timeout: Duration::from_secs(5),
        measurement_timeout: Duration::from_secs(10),
        ..WorkflowOptions::default()
    }
}

fn code(result: Result<arkeo::Reply, Error>) -> Option<i64> {
    match result {
        Err(Error::Rejected(r)) => r.code.map(|c| c.0),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn request_ids_are_generated_and_echoed() {
    within(async {
        let sim = simulator(Dialect::AllInOne).await;
        let mut c = client(&sim, Dialect::AllInOne).await;
        for want in 1..=3 {
            let reply = c.request(&main::get_active_routine()).await.unwrap();
            assert_eq!(reply.request_id(), Some(want));
        }
        let reply = c
            .request(&main::get_active_routine().request_id(900))
            .await
            .unwrap();
        assert_eq!(reply.request_id(), Some(900));
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn workflow_runs_a_jv_routine_to_its_vendor_shaped_data() {
    within(async {
        let sim = simulator(Dialect::AllInOne).await;
        let mut c = client(&sim, Dialect::AllInOne).await;
        let mut events = Vec::new();
        let options = WorkflowOptions {
            info: Some(arkeo::all_in_one::RoutineInfo {
                user_name: Some("ada".into()),
                device_name: Some("cell-7".into()),
                device_area: Some(0.09),
            }),
            ..fast_workflow()
        };
        let m = measure(
            &mut c,
            "JV",
            Some(JvSettings::sweep(0.0, 1.2, 0.04).to_value()),
            options,
            |e| events.push(e.clone()),
        )
        .await
        .unwrap();
        let data: JvData = serde_json::from_value(m.data).unwrap();
        assert_eq!(
            (data.user.as_str(), data.device.as_str()),
            ("ada", "cell-7")
        );
        assert_eq!(data.area_cm2, Some(0.09));
        assert_eq!(data.scans.len(), 2);
        assert_eq!(data.scans[0].name, "forward");
        assert_eq!(data.scans[0].data.len(), 31);
        assert_eq!(data.scans[0].data_schema[1].unit, "mA/cm^2");
        let voc = data.scans[0].parameters.voc.as_ref().unwrap();
        assert!(voc.value > 1.0 && voc.unit == "V", "{voc:?}");
        assert_eq!(
            events.first(),
            Some(&WorkflowEvent::RoutineStarted {
                routine: "JV".into()
            })
        );
        assert_eq!(events.last(), Some(&WorkflowEvent::RoutineClosed));
        for want in [WorkflowEvent::InfoSet, WorkflowEvent::SettingsApplied] {
            assert!(events.contains(&want), "{want:?}");
        }
        assert!(events.iter().any(|e| matches!(
            e,
            WorkflowEvent::Progress {
                state: RoutineState::Running,
                ..
            }
        )));
        // Closed: ROUTINE commands are refused again.
        assert_eq!(
            code(c.request(&routine::get_test_status()).await),
            Some(4006)
        );
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn routine_status_shows_jv_progress_with_the_vendor_spelling() {
    within(async {
        let sim =
            simulator_with(SimulatorConfig::new(Dialect::AllInOne).timing(instant_phases())).await;
        let mut c = client(&sim, Dialect::AllInOne).await;
        c.request(&main::start_routine("JV")).await.unwrap();
        c.request(&routine::start_measurement()).await.unwrap();
        let reply = c.request(&routine::get_test_status()).await.unwrap();
        let status = TestStatus::from_reply(&reply).unwrap();
        assert_eq!(status.state, RoutineState::Running);
        let progress = status.progress.unwrap();
        assert_eq!(progress.total_points, Some(66));
        assert_eq!(progress.total_scans, Some(2));
        assert_eq!(progress.direction.as_deref(), Some("forward"));
        assert!(
            reply.data().unwrap()["progress"]
                .get("progres_pct")
                .is_some()
        );
        assert!(reply.data().unwrap()["error"].is_null());
        // Mid-measurement data is the partial curve.
        let data = c.request(&routine::get_test_data()).await.unwrap();
        let data: JvData = reply_data(&data);
        assert!(data.scans.len() <= 1);
        c.request(&routine::stop_measurement()).await.unwrap();
        let reply = c.request(&routine::get_test_status()).await.unwrap();
        let status = TestStatus::from_reply(&reply).unwrap();
        assert_eq!(status.state, RoutineState::Ready);
        assert!(status.progress.is_none(), "progress is null unless Running");
        sim.shutdown().await;
    })
    .await;
}

fn reply_data(reply: &arkeo::Reply) -> JvData {
    reply.data_as("GetTestData").unwrap()
}

#[tokio::test]
async fn workflow_with_bad_settings_fails_and_closes_the_routine() {
    within(async {
        let sim = simulator(Dialect::AllInOne).await;
        let mut c = client(&sim, Dialect::AllInOne).await;
        let bad = json!({"scan_settings": {"scan": {"Step (V)": "fast"}}});
        let err = measure(&mut c, "JV", Some(bad), fast_workflow(), |_| {})
            .await
            .unwrap_err();
        assert_eq!(
            err.rejection().unwrap().code,
            Some(ErrorCode::INVALID_PARAMETERS)
        );
        let active = c.request(&main::get_active_routine()).await.unwrap();
        let active: ActiveRoutine = active.data_as("GetActiveRoutine").unwrap();
        assert_eq!(active.name(), None, "routine was closed");
        assert_eq!(active.routine, "", "the vendor's empty string");
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn documented_error_codes_reach_the_client() {
    within(async {
        let sim = simulator(Dialect::AllInOne).await;
        let mut c = client(&sim, Dialect::AllInOne).await;
        assert_eq!(
            code(c.request(&routine::start_measurement()).await),
            Some(4006)
        );
        assert_eq!(
            code(c.request(&main::start_routine("Nope")).await),
            Some(101)
        );
        assert_eq!(code(c.request(&main::start_routine("jv")).await), Some(101));
        assert_eq!(
            code(c.request(&led::set_values(1, &[0.5])).await),
            Some(1001)
        );
        assert_eq!(code(c.request(&mux::set_status(&[true])).await), Some(101));
        // Rejections leave the connection usable.
        c.request(&tmpctl::set_temperature(40.0)).await.unwrap();
        let status = c.request(&tmpctl::get_status()).await.unwrap();
        assert!(
            status.data().unwrap().is_array(),
            "TMPCTL GetStatus data is an array"
        );
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn measurement_already_running_is_5005_and_compliance_is_an_error_state() {
    within(async {
        let sim =
            simulator_with(SimulatorConfig::new(Dialect::AllInOne).timing(instant_phases())).await;
        let mut c = client(&sim, Dialect::AllInOne).await;
        c.request(&main::start_routine("JV")).await.unwrap();
        c.request(&routine::start_measurement()).await.unwrap();
        assert_eq!(
            code(c.request(&routine::start_measurement()).await),
            Some(5005)
        );
        assert_eq!(
            code(c.request(&routine::apply_settings(json!({}))).await),
            Some(5005),
            "settings are locked while measuring"
        );
        c.request(&routine::stop_measurement()).await.unwrap();
        c.request(&routine::close_routine()).await.unwrap();
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn several_clients_share_one_instrument() {
    within(async {
        let sim = simulator(Dialect::AllInOne).await;
        let mut a = client(&sim, Dialect::AllInOne).await;
        let mut b = client(&sim, Dialect::AllInOne).await;
        a.request(&main::start_routine("IPCE")).await.unwrap();
        let seen = b.request(&main::get_active_routine()).await.unwrap();
        assert_eq!(seen.data().unwrap()["routine"], "IPCE");
        let routines = b.request(&main::get_available_routines()).await.unwrap();
        let routines: AvailableRoutines = routines.data_as("GetAvailableRoutines").unwrap();
        assert!(routines.routines.contains(&"Connection Test".to_string()));
        let connections: Vec<u64> = sim.received().iter().map(|r| r.connection).collect();
        assert_eq!(connections, [1, 2, 2]);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn simulator_accepts_the_vendor_example_bytes() {
    within(async {
        let sim = simulator(Dialect::AllInOne).await;
        let mut socket = tokio::net::TcpStream::connect(sim.local_addr()).await.unwrap();
        // The vendor's Python example: legacy "params", request_id 1001.
        let request = br#"{"target": "MAIN", "command": "StartRoutine", "params": {"routine": "Luminescence"}, "request_id": 1001}"#;
        write(&mut socket, &frame(request)).await;
        let mut head = [0u8; 4];
        socket.read_exact(&mut head).await.unwrap();
        let mut payload = vec![0u8; u32::from_be_bytes(head) as usize];
        socket.read_exact(&mut payload).await.unwrap();
        let reply: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(reply["status"], "OK");
        assert_eq!(reply["request_id"], 1001);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn unknown_targets_and_commands_get_error_objects_with_a_hint() {
    within(async {
        let sim = simulator(Dialect::AllInOne).await;
        let mut c = client(&sim, Dialect::AllInOne).await;
        let cases = [
            (
                Request::new("main", "GetAvailableRoutines"),
                "did you mean MAIN?",
            ),
            (
                Request::new("MAIN", "getactiveroutine"),
                "did you mean GetActiveRoutine?",
            ),
            (
                Request::new("MAIN", "SelfDestruct"),
                "Unknown command SelfDestruct",
            ),
            (Request::new("NOPE", "X"), "Unknown target NOPE"),
        ];
        for (request, hint) in cases {
            let err = c.request(&request).await.unwrap_err();
            let r = err.rejection().unwrap();
            assert_eq!(r.code.map(|c| c.0), Some(101));
            assert!(r.message.contains(hint), "{}", r.message);
        }
        sim.shutdown().await;
    })
    .await;
}
