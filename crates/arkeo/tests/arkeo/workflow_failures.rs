//! `workflow::measure` after each failure: the routine is stopped and closed on the same
//! connection, or, when that connection died, on a fresh one by the caller. What the
//! simulator received is the evidence.

use std::time::Duration;

use arkeo::all_in_one::{ActiveRoutine, JvSettings, main, routine};
use arkeo::simulator::{Fault, Simulator, SimulatorConfig, Timing};
use arkeo::workflow::{WorkflowEvent, WorkflowOptions, close_routine_at, measure};
use arkeo::{ClientOptions, Dialect, Error, ErrorCode};

use crate::support::{client, commands_on, instant_phases, simulator_with, within};

fn options() -> WorkflowOptions {
    WorkflowOptions {
        poll_interval: Duration::from_millis(5),
        ready_timeout: Duration::from_secs(5),
        measurement_timeout: Duration::from_secs(10),
        ..WorkflowOptions::default()
    }
}

/// The routine is open no more.
async fn assert_closed(sim: &Simulator) {
    let mut c = client(sim, Dialect::AllInOne).await;
    let reply = c.request(&main::get_active_routine()).await.unwrap();
    let active: ActiveRoutine = reply.data_as("GetActiveRoutine").unwrap();
    assert_eq!(active.name(), None);
}

/// The last two commands of connection 1 are the clean-up.
fn assert_cleaned_up_on_the_same_connection(sim: &Simulator) {
    let commands = commands_on(sim, 1);
    assert_eq!(
        commands[commands.len() - 2..],
        [routine::STOP_MEASUREMENT, routine::CLOSE_ROUTINE],
        "{commands:?}"
    );
}

/// The error code each StopMeasurement was answered with, in order.
fn stop_measurement_answers(sim: &Simulator) -> Vec<Option<i64>> {
    sim.received()
        .into_iter()
        .filter(|r| r.command == routine::STOP_MEASUREMENT)
        .map(|r| r.error)
        .collect()
}

#[tokio::test]
async fn close_routine_at_closes_a_ready_routine_although_stop_measurement_is_refused() {
    within(async {
        let sim =
            simulator_with(SimulatorConfig::new(Dialect::AllInOne).timing(instant_phases())).await;
        let mut c = client(&sim, Dialect::AllInOne).await;
        c.request(&main::start_routine("JV")).await.unwrap();
        close_routine_at(&sim.local_addr().to_string(), ClientOptions::default())
            .await
            .unwrap();
        assert_eq!(stop_measurement_answers(&sim), [Some(101)]);
        assert_closed(&sim).await;
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn ready_timeout_still_stops_and_closes_the_routine() {
    within(async {
        let timing = Timing {
            initialize: Duration::from_secs(3600),
            ..instant_phases()
        };
        let sim = simulator_with(SimulatorConfig::new(Dialect::AllInOne).timing(timing)).await;
        let mut c = client(&sim, Dialect::AllInOne).await;
        let mut events = Vec::new();
        let opts = WorkflowOptions {
            ready_timeout: Duration::from_millis(30),
            ..options()
        };
        let err = measure(&mut c, "JV", None, opts, |e| events.push(e.clone()))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err}");
        assert!(err.to_string().contains("to be Ready"), "{err}");
        assert_eq!(events.last(), Some(&WorkflowEvent::RoutineClosed));
        assert_cleaned_up_on_the_same_connection(&sim);
        assert_eq!(
            stop_measurement_answers(&sim),
            [Some(101)],
            "nothing ran: StopMeasurement is refused, and the routine is closed all the same"
        );
        assert_closed(&sim).await;
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn measurement_timeout_still_stops_and_closes_the_routine() {
    within(async {
        // Speed 1: the default sweep takes 13.2 s, far beyond the 30 ms allowed.
        let sim =
            simulator_with(SimulatorConfig::new(Dialect::AllInOne).timing(instant_phases())).await;
        let mut c = client(&sim, Dialect::AllInOne).await;
        let opts = WorkflowOptions {
            measurement_timeout: Duration::from_millis(30),
            ..options()
        };
        let err = measure(&mut c, "JV", None, opts, |_| {}).await.unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err}");
        assert!(err.is_transport(), "a timeout exits like any timeout");
        assert!(
            c.is_usable(),
            "the workflow's own timeout leaves the connection healthy"
        );
        assert_cleaned_up_on_the_same_connection(&sim);
        assert_closed(&sim).await;
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn an_error_reply_mid_measurement_stops_and_closes_the_routine() {
    within(async {
        let sim =
            simulator_with(SimulatorConfig::new(Dialect::AllInOne).timing(instant_phases())).await;
        let mut c = client(&sim, Dialect::AllInOne).await;
        let err = measure(&mut c, "JV", None, options(), |e| {
            if *e == WorkflowEvent::MeasurementStarted {
                sim.inject_fault(
                    routine::GET_TEST_STATUS,
                    Fault::Reject {
                        code: ErrorCode(4100),
                        message: "SMU not responding".into(),
                    },
                );
            }
        })
        .await
        .unwrap_err();
        assert_eq!(err.rejection().unwrap().code, Some(ErrorCode(4100)));
        assert_cleaned_up_on_the_same_connection(&sim);
        assert_closed(&sim).await;
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_routine_error_state_mid_measurement_stops_and_closes_the_routine() {
    within(async {
        let sim = simulator_with(
            SimulatorConfig::new(Dialect::AllInOne).timing(instant_phases().with_speed(100.0)),
        )
        .await;
        let mut c = client(&sim, Dialect::AllInOne).await;
        // Past Voc the current grows until it exceeds a 1 mA compliance.
        let mut settings = JvSettings::sweep(0.0, 1.4, 0.02).to_value();
        settings["device_settings"] = serde_json::json!({"Compliance (A)": 0.001});
        let err = measure(&mut c, "JV", Some(settings), options(), |_| {})
            .await
            .unwrap_err();
        let message = &err.rejection().unwrap().message;
        assert!(message.contains("Compliance reached"), "{message}");
        assert_cleaned_up_on_the_same_connection(&sim);
        assert_closed(&sim).await;
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_lost_connection_is_reported_and_a_fresh_connection_closes_the_routine() {
    within(async {
        let sim =
            simulator_with(SimulatorConfig::new(Dialect::AllInOne).timing(instant_phases())).await;
        let mut c = client(&sim, Dialect::AllInOne).await;
        let mut left_open = None;
        let err = measure(&mut c, "JV", None, options(), |e| match e {
            WorkflowEvent::MeasurementStarted => {
                sim.inject_fault(routine::GET_TEST_STATUS, Fault::CloseConnection)
            }
            WorkflowEvent::RoutineLeftOpen {
                connection_lost, ..
            } => left_open = Some(*connection_lost),
            _ => {}
        })
        .await
        .unwrap_err();
        assert!(matches!(err, Error::Closed { .. }), "{err}");
        assert_eq!(left_open, Some(true));
        let on_first = commands_on(&sim, 1);
        assert_eq!(
            on_first.last().map(String::as_str),
            Some(routine::GET_TEST_STATUS)
        );
        // The caller's part: a fresh connection (number 2) closes the routine.
        close_routine_at(&sim.local_addr().to_string(), ClientOptions::default())
            .await
            .unwrap();
        assert_eq!(
            commands_on(&sim, 2),
            [routine::STOP_MEASUREMENT, routine::CLOSE_ROUTINE]
        );
        assert_closed(&sim).await;
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn the_reply_limit_of_the_workflow_applies_to_its_data() {
    within(async {
        let sim =
            simulator_with(SimulatorConfig::new(Dialect::AllInOne).timing(Timing::fast())).await;
        let mut c = client(&sim, Dialect::AllInOne).await;
        let opts = WorkflowOptions {
            max_reply: Some(512),
            ..options()
        };
        let mut events = Vec::new();
        let err = measure(&mut c, "JV", None, opts, |e| events.push(e.clone()))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("over the limit of 512"), "{err}");
        assert!(
            events.iter().any(|e| matches!(
                e,
                WorkflowEvent::RoutineLeftOpen {
                    connection_lost: true,
                    ..
                }
            )),
            "{events:?}"
        );
        sim.shutdown().await;
    })
    .await;
}
