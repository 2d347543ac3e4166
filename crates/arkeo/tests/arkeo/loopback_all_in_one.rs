//! The client against the All-in-One simulator on 127.0.0.1.

use std::time::Duration;

use arkeo::all_in_one::{RoutineState, TestStatus, led, main, mux, routine, tmpctl};
use arkeo::nonfinite::as_f64;
use arkeo::workflow::{WorkflowEvent, WorkflowOptions, measure};
use arkeo::{Dialect, Error, ErrorCode, Request};
use serde_json::json;
use tokio::io::AsyncReadExt;

use crate::support::{client, frame, simulator, within, write};

fn fast_workflow() -> WorkflowOptions {
    WorkflowOptions {
        poll_interval: Duration::from_millis(10),
        ready_timeout: Duration::from_secs(5),
        measurement_timeout: Duration::from_secs(10),
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
async fn workflow_runs_a_jv_routine_to_its_data() {
    within(async {
        let sim = simulator(Dialect::AllInOne).await;
        let mut c = client(&sim, Dialect::AllInOne).await;
        let mut events = Vec::new();
        let m = measure(
            &mut c,
            "JV",
            Some(json!({"points": 30})),
            fast_workflow(),
            |e| events.push(e.clone()),
        )
        .await
        .unwrap();
        assert_eq!(m.data["voltage_V"].as_array().unwrap().len(), 30);
        assert_eq!(
            as_f64(&m.data["parameters"]["Rsh_ohm_cm2"]),
            Some(f64::INFINITY)
        );
        assert!(as_f64(&m.data["parameters"]["Voc_V"]).unwrap() > 1.0);
        assert_eq!(
            events.first(),
            Some(&WorkflowEvent::RoutineStarted {
                routine: "JV".into()
            })
        );
        assert_eq!(events.last(), Some(&WorkflowEvent::RoutineClosed));
        assert!(events.contains(&WorkflowEvent::SettingsApplied));
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
async fn workflow_with_bad_settings_fails_and_closes_the_routine() {
    within(async {
        let sim = simulator(Dialect::AllInOne).await;
        let mut c = client(&sim, Dialect::AllInOne).await;
        let err = measure(
            &mut c,
            "JV",
            Some(json!({"points": 1})),
            fast_workflow(),
            |_| {},
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.rejection().unwrap().code,
            Some(ErrorCode::INVALID_PARAMETERS)
        );
        let active = c.request(&main::get_active_routine()).await.unwrap();
        assert_eq!(
            active.data().unwrap()["routine"],
            json!(null),
            "routine was closed"
        );
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
        assert_eq!(
            code(c.request(&led::set_values("COM1", &[0.5])).await),
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
async fn measurement_already_running_is_5005() {
    within(async {
        let sim = simulator(Dialect::AllInOne).await;
        let mut c = client(&sim, Dialect::AllInOne).await;
        c.request(&main::start_routine("Luminescence"))
            .await
            .unwrap();
        // Poll (bounded) until Ready.
        let mut ready = false;
        for _ in 0..200 {
            let s = TestStatus::from_reply(&c.request(&routine::get_test_status()).await.unwrap())
                .unwrap();
            if s.state == RoutineState::Ready {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(ready, "routine never became Ready");
        c.request(&routine::start_measurement()).await.unwrap();
        assert_eq!(
            code(c.request(&routine::start_measurement()).await),
            Some(5005)
        );
        c.request(&routine::stop_measurement()).await.unwrap();
        let data = c.request(&routine::get_test_data()).await.unwrap();
        assert!(
            as_f64(&data.data().unwrap()["PLQY"]).unwrap().is_nan(),
            "NaN survives the wire"
        );
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
        let custom = b.request(&routine::get_custom_commands()).await.unwrap();
        assert!(
            custom.data().unwrap()["CustomCommands"]
                .as_array()
                .unwrap()
                .contains(&json!("SetWavelength"))
        );
        // A custom command is just a request.
        b.request(&routine::custom(
            "SetWavelength",
            json!({"wavelength": 550}),
        ))
        .await
        .unwrap();
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
async fn raw_requests_reach_any_command() {
    within(async {
        let sim = simulator(Dialect::AllInOne).await;
        let mut c = client(&sim, Dialect::AllInOne).await;
        let reply = c
            .request(&Request::new("main", "GetAvailableRoutines"))
            .await
            .unwrap();
        assert!(reply.data().unwrap()["routines"].as_array().unwrap().len() >= 10);
        assert_eq!(
            code(c.request(&Request::new("MAIN", "SelfDestruct")).await),
            Some(101)
        );
        sim.shutdown().await;
    })
    .await;
}
